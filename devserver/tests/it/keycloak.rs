use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Verifies an ES256 JWT with the key the JWKS publishes (what WebCrypto does).
async fn verify_with_jwks(srv: &Server, jwt: &str) -> bool {
    let jwks: Value = srv
        .http
        .get(srv.url(&format!("{KC}/certs")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("EC"), Some("ES256"))
    );
    let x = URL_SAFE_NO_PAD.decode(s(&key["x"])).unwrap();
    let y = URL_SAFE_NO_PAD.decode(s(&key["y"])).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(x);
    sec1.extend(y);
    let vk = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(input.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], key["kid"]);
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    vk.verify(input.as_bytes(), &sig).is_ok()
}

#[tokio::test]
async fn password_grant_issues_keycloak_shaped_tokens() {
    let srv = start().await;
    let b = srv.kc_login("openid").await;
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 30);
    assert_eq!(b["refresh_expires_in"], 300);
    assert_eq!(b["scope"], "openid profile email");
    assert_eq!(b["not-before-policy"], 0);
    assert!(b["session_state"].is_string());
    let access = s(&b["access_token"]);
    assert!(verify_with_jwks(&srv, access).await);
    let c = claims(access);
    assert_eq!(c["iss"], srv.url("/realms/tokenkeeper"));
    assert_eq!(c["azp"], "tokenkeeper-demo");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 30);
    let id = s(&b["id_token"]);
    assert!(verify_with_jwks(&srv, id).await);
    let ic = claims(id);
    assert_eq!(ic["aud"], "tokenkeeper-demo");
    assert_eq!(ic["sub"], c["sub"]);
    let at_hash = URL_SAFE_NO_PAD.encode(&Sha256::digest(access.as_bytes())[..16]);
    assert_eq!(ic["at_hash"], at_hash);
    // A tampered token fails the same check.
    // Change one character of the claims part.
    let i = access.find('.').unwrap() + 10;
    let swap = if access.as_bytes()[i] == b'A' {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{swap}{}", &access[..i], &access[i + 1..]);
    assert!(!verify_with_jwks(&srv, &tampered).await);
    // Without openid: no id_token.
    let b = srv.kc_login("").await;
    assert!(b.get("id_token").is_none());
    assert_eq!(b["scope"], "profile email");
}

#[tokio::test]
async fn discovery_points_at_working_endpoints() {
    let srv = start().await;
    let d: Value = srv
        .http
        .get(srv.url("/realms/tokenkeeper/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], srv.url("/realms/tokenkeeper"));
    assert_eq!(d["token_endpoint"], srv.url(&format!("{KC}/token")));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let jwks = srv.http.get(s(&d["jwks_uri"])).send().await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
    // An unknown realm is a 404, as in Keycloak.
    let r = srv
        .http
        .get(srv.url("/realms/nope/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wrong_password_is_401_invalid_grant() {
    let srv = start().await;
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "password"),
                ("client_id", "tokenkeeper-demo"),
                ("username", "demo"),
                ("password", "wrong"),
            ],
        )
        .await;
    let (st, err, desc) = oauth_error(r).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(err, "invalid_grant");
    assert_eq!(desc, "Invalid user credentials");
}

#[tokio::test]
async fn client_authentication() {
    let srv = start().await;
    let token = srv.url(&format!("{KC}/token"));
    let cc = [("grant_type", "client_credentials")];
    // Basic and post both work for the confidential client.
    let r = srv
        .http
        .post(&token)
        .basic_auth("tokenkeeper-confidential", Some("confidential-secret"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["refresh_expires_in"], 0);
    assert!(b.get("refresh_token").is_none());
    assert!(verify_with_jwks(&srv, s(&b["access_token"])).await);
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "tokenkeeper-confidential"),
                ("client_secret", "confidential-secret"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Wrong secret by Basic: 401 with a Basic challenge.
    let r = srv
        .http
        .post(&token)
        .basic_auth("tokenkeeper-confidential", Some("nope"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert!(header(&r, "www-authenticate").starts_with("Basic "));
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    // Wrong secret by post, unknown client, missing client.
    for form in [
        vec![
            ("client_id", "tokenkeeper-confidential"),
            ("client_secret", "nope"),
        ],
        vec![("client_id", "who"), ("client_secret", "x")],
        vec![],
    ] {
        let mut f = form.clone();
        f.push(("grant_type", "client_credentials"));
        let (st, err, _) = oauth_error(srv.kc_post("token", &f).await).await;
        assert_eq!(
            (st, err.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{form:?}"
        );
    }
    // Two methods at once.
    let r = srv
        .http
        .post(&token)
        .basic_auth("tokenkeeper-confidential", Some("confidential-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", "confidential-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
    // The public client may not use client_credentials.
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "tokenkeeper-demo"),
            ],
        )
        .await;
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
}

#[tokio::test]
async fn bad_requests_get_oauth_errors() {
    let srv = start().await;
    // JSON instead of a form.
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/token")))
        .json(&serde_json::json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("client_id", "tokenkeeper-demo")], "invalid_request"),
        (
            &[("grant_type", "magic"), ("client_id", "tokenkeeper-demo")],
            "unsupported_grant_type",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", "tokenkeeper-demo"),
                ("username", "demo"),
                ("password", "demo-password"),
                ("scope", "openid admin"),
            ],
            "invalid_scope",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "tokenkeeper-demo"),
            ],
            "invalid_request",
        ),
    ];
    for (form, want) in cases {
        let (st, err, _) = oauth_error(srv.kc_post("token", form).await).await;
        assert_eq!(
            (st, err.as_str()),
            (StatusCode::BAD_REQUEST, want),
            "{form:?}"
        );
    }
    // A repeated parameter is refused too.
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/token")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&grant_type=password&client_id=tokenkeeper-demo")
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_old_token_valid() {
    let srv = start().await;
    let b = srv.kc_login("openid").await;
    let r1 = s(&b["refresh_token"]);
    for _ in 0..2 {
        let r = srv.kc_refresh(r1).await;
        assert_eq!(r.status(), StatusCode::OK);
        let n: Value = r.json().await.unwrap();
        assert!(n["id_token"].is_string());
        assert_eq!(n["session_state"], b["session_state"]);
    }
    let st = srv.stats().await;
    assert_eq!(st["refreshes"]["kc"], 2);
    assert_eq!(st["reuse_detections"]["total"], 0);
}

#[tokio::test]
async fn rotation_reuse_revokes_the_session() {
    let srv = start().await;
    srv.set(serde_json::json!({"kc_rotation": true})).await;
    let b = srv.kc_login("").await;
    let r1 = s(&b["refresh_token"]).to_string();
    let n: Value = srv.kc_refresh(&r1).await.json().await.unwrap();
    let r2 = s(&n["refresh_token"]).to_string();
    let a2 = s(&n["access_token"]).to_string();

    let (st, err, _) = oauth_error(srv.kc_refresh(&r1).await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (_, err, desc) = oauth_error(srv.kc_refresh(&r2).await).await;
    assert_eq!(
        (err.as_str(), desc.as_str()),
        ("invalid_grant", "Session not active")
    );
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/userinfo")))
        .bearer_auth(&a2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let st = srv.stats().await;
    assert_eq!(st["reuse_detections"]["kc"], 1);
    assert_eq!(st["refreshes"]["kc"], 1);
}

#[tokio::test]
async fn expired_refresh_token_is_not_active() {
    let srv = start().await;
    let b = srv.kc_login("").await;
    srv.advance(301).await;
    let (st, err, desc) = oauth_error(srv.kc_refresh(s(&b["refresh_token"])).await).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        (err.as_str(), desc.as_str()),
        ("invalid_grant", "Token is not active")
    );
}

#[tokio::test]
async fn offline_access_has_no_refresh_expiry() {
    let srv = start().await;
    let b = srv.kc_login("openid offline_access").await;
    assert_eq!(b["refresh_expires_in"], 0);
    assert!(claims(s(&b["refresh_token"])).get("exp").is_none());
    srv.advance(10_000).await;
    assert_eq!(
        srv.kc_refresh(s(&b["refresh_token"])).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_by_another_client_or_forged_is_refused() {
    let srv = start().await;
    let b = srv.kc_login("").await;
    let rt = s(&b["refresh_token"]);
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "tokenkeeper-confidential"),
                ("client_secret", "confidential-secret"),
                ("refresh_token", rt),
            ],
        )
        .await;
    assert_eq!(oauth_error(r).await.1, "invalid_grant");
    let forged = format!("{rt}x");
    assert_eq!(
        oauth_error(srv.kc_refresh(&forged).await).await.1,
        "invalid_grant"
    );
    // The other realm does not accept this realm's token.
    let r = srv
        .http
        .post(srv.url("/realms/apiax/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "tokenkeeper-demo"),
            ("refresh_token", rt),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_grant");
}

fn auth_params(state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", "tokenkeeper-demo".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "openid".into()),
        ("state", state.into()),
        ("nonce", "n-0S6_WzA2Mj".into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

/// Logs in through the form and returns the code from the redirect.
async fn authorize(srv: &Server, state: &str) -> String {
    let mut form = auth_params(state);
    form.push(("username", "demo".into()));
    form.push(("password", "demo-password".into()));
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/auth")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = reqwest::Url::parse(&header(&r, "location")).unwrap();
    assert!(loc.as_str().starts_with(REDIRECT));
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], state);
    assert_eq!(q["iss"], srv.url("/realms/tokenkeeper"));
    q["code"].clone()
}

async fn exchange(srv: &Server, code: &str, verifier: &str, redirect: &str) -> reqwest::Response {
    srv.kc_post(
        "token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "tokenkeeper-demo"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
        ],
    )
    .await
}

#[tokio::test]
async fn authorization_code_with_pkce() {
    let srv = start().await;
    // The login page renders a form carrying the request.
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/auth")))
        .query(&auth_params("s1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-type").starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""));
    assert!(html.contains(CHALLENGE));
    // A wrong password re-renders the form with an error, no redirect.
    let mut form = auth_params("s1");
    form.push(("username", "demo".into()));
    form.push(("password", "bad".into()));
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/auth")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Invalid username or password.")
    );

    // Happy path.
    let code = authorize(&srv, "s2").await;
    let r = exchange(&srv, &code, VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(claims(s(&b["id_token"]))["nonce"], "n-0S6_WzA2Mj");
    assert!(b["refresh_token"].is_string());
    // The code works once.
    let (_, err, desc) = oauth_error(exchange(&srv, &code, VERIFIER, REDIRECT).await).await;
    assert_eq!(
        (err.as_str(), desc.as_str()),
        ("invalid_grant", "Code not valid")
    );

    // Wrong verifier, wrong redirect_uri, wrong client, missing verifier.
    let code = authorize(&srv, "s3").await;
    let wrong = "a".repeat(43);
    let (st, err, desc) = oauth_error(exchange(&srv, &code, &wrong, REDIRECT).await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(desc.contains("PKCE"), "{desc}");
    let code = authorize(&srv, "s4").await;
    let (_, err, desc) =
        oauth_error(exchange(&srv, &code, VERIFIER, "http://127.0.0.1:9/other").await).await;
    assert_eq!(
        (err.as_str(), desc.as_str()),
        ("invalid_grant", "Incorrect redirect_uri")
    );
    let code = authorize(&srv, "s5").await;
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "tokenkeeper-confidential"),
                ("client_secret", "confidential-secret"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(oauth_error(r).await.1, "invalid_grant");
    let code = authorize(&srv, "s6").await;
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "tokenkeeper-demo"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(oauth_error(r).await.1, "invalid_grant");
    let st = srv.stats().await;
    assert_eq!(st["code_exchanges"], 1);
    assert_eq!(st["login_failures"]["kc"], 1);
}

#[tokio::test]
async fn authorization_request_errors() {
    let srv = start().await;
    // A foreign redirect_uri gets an error page, never a redirect.
    let mut p = auth_params("x");
    p[2].1 = "https://evil.example/cb".into();
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/auth")))
        .query(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    // plain PKCE is refused by a redirect carrying the error and the state.
    let mut p = auth_params("st8");
    p[7].1 = "plain".into();
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/auth")))
        .query(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = reqwest::Url::parse(&header(&r, "location")).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st8");
    // Missing challenge.
    let p: Vec<_> = auth_params("s")
        .into_iter()
        .filter(|(k, _)| *k != "code_challenge")
        .collect();
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/auth")))
        .query(&p)
        .send()
        .await
        .unwrap();
    assert!(header(&r, "location").contains("error=invalid_request"));
}

#[tokio::test]
async fn revocation_rfc7009() {
    let srv = start().await;
    let b = srv.kc_login("").await;
    let (access, refresh) = (s(&b["access_token"]), s(&b["refresh_token"]));
    // Unknown tokens: 200. Bad hint: 400 unsupported_token_type.
    let r = srv
        .kc_post(
            "revoke",
            &[("client_id", "tokenkeeper-demo"), ("token", "unknown")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = srv
        .kc_post(
            "revoke",
            &[
                ("client_id", "tokenkeeper-demo"),
                ("token", refresh),
                ("token_type_hint", "id_token"),
            ],
        )
        .await;
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "unsupported_token_type")
    );
    // Another client may not revoke it.
    let r = srv
        .kc_post(
            "revoke",
            &[
                ("client_id", "tokenkeeper-confidential"),
                ("client_secret", "confidential-secret"),
                ("token", refresh),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(srv.kc_refresh(refresh).await.status(), StatusCode::OK);
    // The owner revokes the refresh token: the session ends.
    let r = srv
        .kc_post(
            "revoke",
            &[
                ("client_id", "tokenkeeper-demo"),
                ("token", refresh),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        oauth_error(srv.kc_refresh(refresh).await).await.1,
        "invalid_grant"
    );
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/userinfo")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(srv.stats().await["revocations"], 1);
}

#[tokio::test]
async fn userinfo() {
    let srv = start().await;
    let b = srv.kc_login("openid").await;
    let access = s(&b["access_token"]);
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/userinfo")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["preferred_username"], "demo");
    assert_eq!(u["sub"], claims(access)["sub"]);
    // The other realm does not know this token.
    let r = srv
        .http
        .get(srv.url("/realms/apiax/protocol/openid-connect/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains("invalid_token"));
    // Expired: Keycloak compares whole seconds (`currentTime > exp`), so
    // the token fails one second after its `exp`.
    srv.advance(31).await;
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/userinfo")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains("expired"));
    assert_eq!(srv.stats().await["expired_token_calls"], 1);
}
