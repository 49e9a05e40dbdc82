//! Pushed authorization requests (RFC 9126), Keycloak style: the PAR
//! endpoint, the authorization endpoint redeeming a `request_uri` once,
//! its expiry, and `require_par`.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const PUBLIC: &str = "tokenkeeper-demo";
const CONFIDENTIAL: &str = "tokenkeeper-confidential";

/// The parameters of an authorization request, without `client_id`.
fn request(state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "openid".into()),
        ("state", state.into()),
        ("nonce", "n-par".into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

/// Pushes `params` as the public client; the response.
async fn push(srv: &Server, params: &[(&str, String)]) -> reqwest::Response {
    let mut form = params.to_vec();
    form.push(("client_id", PUBLIC.into()));
    srv.http
        .post(srv.url(&format!("{KC}/ext/par/request")))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Pushes a good request as the public client; its `request_uri`.
async fn pushed(srv: &Server, state: &str) -> String {
    let r = push(srv, &request(state)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["expires_in"], 60);
    s(&b["request_uri"]).to_string()
}

/// Signs in at the authorization endpoint with `request_uri` and these
/// front-channel parameters besides.
async fn login(
    srv: &Server,
    client_id: &str,
    uri: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("client_id", client_id),
        ("request_uri", uri),
        ("username", "demo"),
        ("password", "demo-password"),
    ];
    form.extend_from_slice(extra);
    srv.http
        .post(srv.url(&format!("{KC}/auth")))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn redirect_query(r: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = reqwest::Url::parse(&header(r, "location")).unwrap();
    assert!(loc.as_str().starts_with(REDIRECT), "{loc}");
    loc.query_pairs().into_owned().collect()
}

async fn auth_page(srv: &Server, client_id: &str, uri: &str) -> reqwest::Response {
    srv.http
        .get(srv.url(&format!("{KC}/auth")))
        .query(&[("client_id", client_id), ("request_uri", uri)])
        .send()
        .await
        .unwrap()
}

/// The "Invalid Request" page Keycloak shows for an unusable request_uri.
async fn assert_invalid_request_page(r: reqwest::Response) {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("Invalid Request"));
}

#[tokio::test]
async fn a_pushed_request_works_once() {
    let srv = start().await;
    let uri = pushed(&srv, "st-par").await;
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );
    // The login page carries client_id and request_uri, not the request.
    let r = auth_page(&srv, PUBLIC, &uri).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains(&uri));
    assert!(
        !html.contains(CHALLENGE) && !html.contains("st-par"),
        "{html}"
    );
    // A wrong password does not spend it.
    let mut bad = vec![("client_id", PUBLIC), ("request_uri", uri.as_str())];
    bad.extend([("username", "demo"), ("password", "nope")]);
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/auth")))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Invalid username or password.") && html.contains(&uri));
    // Front-channel parameters other than client_id are ignored.
    let r = login(
        &srv,
        PUBLIC,
        &uri,
        &[("state", "front"), ("scope", "admin")],
    )
    .await;
    let q = redirect_query(&r);
    assert_eq!(q["state"], "st-par");
    assert_eq!(q["iss"], srv.url("/realms/tokenkeeper"));
    let t = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", PUBLIC),
                ("code", &q["code"]),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(t.status(), StatusCode::OK);
    let t: Value = t.json().await.unwrap();
    assert_eq!(t["scope"], "openid profile email");
    assert_eq!(claims(s(&t["id_token"]))["nonce"], "n-par");
    // Spent: the page and the login both refuse it now.
    assert_invalid_request_page(auth_page(&srv, PUBLIC, &uri).await).await;
    assert_invalid_request_page(login(&srv, PUBLIC, &uri, &[]).await).await;
    let st = srv.stats().await;
    assert_eq!(st["par"], json!({"pushed": 1, "used": 1, "rejected": 2}));
    assert_eq!(st["requests"]["kc.par"], 1);
}

#[tokio::test]
async fn a_confidential_client_pushes_with_basic() {
    let srv = start().await;
    srv.set(json!({"dpop": "allowed"})).await;
    let mut params = request("st-c");
    params.push((
        "dpop_jkt",
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into(),
    ));
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/ext/par/request")))
        .basic_auth(CONFIDENTIAL, Some("confidential-secret"))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let uri = s(&r.json::<Value>().await.unwrap()["request_uri"]).to_string();
    // Another client cannot redeem it (and it is gone after that try).
    assert_invalid_request_page(auth_page(&srv, PUBLIC, &uri).await).await;
    assert_invalid_request_page(auth_page(&srv, CONFIDENTIAL, &uri).await).await;

    let r = srv
        .http
        .post(srv.url(&format!("{KC}/ext/par/request")))
        .basic_auth(CONFIDENTIAL, Some("confidential-secret"))
        .form(&params)
        .send()
        .await
        .unwrap();
    let uri = s(&r.json::<Value>().await.unwrap()["request_uri"]).to_string();
    let q = redirect_query(&login(&srv, CONFIDENTIAL, &uri, &[]).await);
    // The pushed dpop_jkt bound the code: no proof, no tokens.
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CONFIDENTIAL),
                ("client_secret", "confidential-secret"),
                ("code", &q["code"]),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(
        oauth_error(r).await,
        (
            StatusCode::BAD_REQUEST,
            "invalid_grant".into(),
            "DPoP proof is missing".into()
        )
    );
}

#[tokio::test]
async fn bad_pushes() {
    let srv = start().await;
    // Client authentication, as Keycloak's PAR endpoint answers it.
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/ext/par/request")))
        .basic_auth(CONFIDENTIAL, Some("nope"))
        .form(&request("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(r).await,
        (
            StatusCode::UNAUTHORIZED,
            "invalid_request".into(),
            "Authentication failed.".into()
        )
    );
    let with = |name: &'static str, value: &str| {
        let mut p: Vec<_> = request("x")
            .into_iter()
            .filter(|(k, _)| *k != name)
            .collect();
        if !value.is_empty() {
            p.push((name, value.to_string()));
        }
        p
    };
    let cases = [
        (
            with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "It is not allowed to include request_uri to PAR.",
        ),
        (
            with("redirect_uri", "https://evil.example/cb"),
            "Invalid parameter: redirect_uri",
        ),
        (with("scope", "openid admin"), "Invalid scopes: admin"),
        (
            with("code_challenge", ""),
            "Missing or invalid parameter: code_challenge",
        ),
        (
            with("response_type", "token"),
            "Only response_type=code is supported",
        ),
    ];
    for (params, desc) in cases {
        assert_eq!(
            oauth_error(push(&srv, &params).await).await,
            (
                StatusCode::BAD_REQUEST,
                "invalid_request".into(),
                desc.into()
            )
        );
    }
    assert_eq!(srv.stats().await["par"]["pushed"], 0);
}

#[tokio::test]
async fn unknown_expired_and_foreign_request_uris() {
    let srv = start().await;
    assert_invalid_request_page(
        auth_page(&srv, PUBLIC, "urn:ietf:params:oauth:request_uri:nope").await,
    )
    .await;
    // 60 s: still good at 59, gone at 61.
    let uri = pushed(&srv, "a").await;
    srv.advance(59).await;
    assert_eq!(auth_page(&srv, PUBLIC, &uri).await.status(), StatusCode::OK);
    srv.advance(2).await;
    assert_invalid_request_page(login(&srv, PUBLIC, &uri, &[]).await).await;
    // Pushed in one realm, useless in the other.
    let uri = pushed(&srv, "b").await;
    let r = srv
        .http
        .get(srv.url("/realms/apiax/protocol/openid-connect/auth"))
        .query(&[("client_id", PUBLIC), ("request_uri", uri.as_str())])
        .send()
        .await
        .unwrap();
    assert_invalid_request_page(r).await;
    assert_eq!(srv.stats().await["par"]["rejected"], 3);
}

#[tokio::test]
async fn require_par_refuses_plain_requests() {
    let srv = start().await;
    let discovery = |srv: &Server| {
        let url = srv.url("/realms/tokenkeeper/.well-known/openid-configuration");
        let http = srv.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let d = discovery(&srv).await;
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        srv.url(&format!("{KC}/ext/par/request"))
    );
    assert_eq!(d["require_pushed_authorization_requests"], false);
    let grants = d["grant_types_supported"].as_array().unwrap();
    for g in [
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ] {
        assert!(grants.contains(&json!(g)), "{g}");
    }

    let settings = srv.set(json!({"require_par": true})).await;
    assert_eq!(settings["require_par"], true);
    assert_eq!(
        discovery(&srv).await["require_pushed_authorization_requests"],
        true
    );
    let mut plain = request("st-plain");
    plain.push(("client_id", PUBLIC.into()));
    let r = srv
        .http
        .get(srv.url(&format!("{KC}/auth")))
        .query(&plain)
        .send()
        .await
        .unwrap();
    let q = redirect_query(&r);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(
        q["error_description"],
        "Pushed Authorization Request is only allowed."
    );
    assert_eq!(q["state"], "st-plain");
    plain.push(("username", "demo".into()));
    plain.push(("password", "demo-password".into()));
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/auth")))
        .form(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect_query(&r)["error"], "invalid_request");
    // A pushed request still works.
    let uri = pushed(&srv, "st-pushed").await;
    let q = redirect_query(&login(&srv, PUBLIC, &uri, &[]).await);
    assert!(q.contains_key("code"));
    assert_eq!(q["state"], "st-pushed");
}
