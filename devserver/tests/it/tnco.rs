use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use devserver::Config;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;

/// `application/x-www-form-urlencoded` encoding, as RFC 6749 §2.3.1 asks.
fn form_urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                char::from(b).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn token_with_header(srv: &Server, path: &str, authorization: &str) -> reqwest::Response {
    srv.http
        .post(srv.url(path))
        .header("authorization", authorization)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn resources(srv: &Server, token: &str) -> reqwest::Response {
    srv.http
        .get(srv.url("/tnco/api/resources"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn client_credentials_with_basic() {
    let srv = start().await;
    srv.set(serde_json::json!({"tnco_reissue": false})).await;
    for path in ["/tnco/oauth/token", "/oauth/token"] {
        let r = token_with_header(&srv, path, &basic("LmClient", "tnco-demo-secret")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b.as_object().unwrap().len(), 4, "{b}");
        assert_eq!(b["token_type"], "bearer");
        assert_eq!(b["expires_in"], 1199);
        assert_eq!(b["scope"], "all");
        let t = uuid::Uuid::parse_str(s(&b["access_token"])).unwrap();
        assert_eq!(t.get_version_num(), 4);
        assert_eq!(
            resources(&srv, s(&b["access_token"])).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(srv.stats().await["requests"]["tnco.token"], 2);
}

#[tokio::test]
async fn basic_credentials_are_form_urldecoded() {
    let srv = start().await;
    let c = devserver::seed::TNCO_SPECIAL_CLIENT;
    let (id, secret) = (c.id, c.secret.unwrap());
    let encoded = basic(&form_urlencode(id), &form_urlencode(secret));
    let r = token_with_header(&srv, "/tnco/oauth/token", &encoded).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Sent raw, '+' decodes to a space and "%&=" is no escape: refused.
    let r = token_with_header(&srv, "/tnco/oauth/token", &basic(id, secret)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rejections() {
    let srv = start().await;
    // Wrong secret: 401 invalid_client with a Basic challenge.
    let r = token_with_header(&srv, "/oauth/token", &basic("LmClient", "nope")).await;
    assert!(header(&r, "www-authenticate").starts_with("Basic realm="));
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    // Garbage Basic.
    let r = token_with_header(&srv, "/oauth/token", "Basic %%%").await;
    assert_eq!(oauth_error(r).await.1, "invalid_client");
    // Credentials in the body are not accepted.
    let r = srv
        .http
        .post(srv.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "LmClient"),
            ("client_secret", "tnco-demo-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_client");
    // Wrong grant, wrong scope.
    let r = srv
        .http
        .post(srv.url("/oauth/token"))
        .header("authorization", basic("LmClient", "tnco-demo-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "unsupported_grant_type");
    let r = srv
        .http
        .post(srv.url("/oauth/token"))
        .header("authorization", basic("LmClient", "tnco-demo-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "root")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_scope");
    // Protected API.
    let r = srv
        .http
        .get(srv.url("/tnco/api/resources"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "www-authenticate"), "Bearer realm=\"tnco\"");
    let r = resources(&srv, &uuid::Uuid::new_v4().to_string()).await;
    assert!(header(&r, "www-authenticate").contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn lifetime_is_configurable_and_expiry_enforced() {
    let mut cfg = Config::default();
    cfg.settings.tnco_ttl = 5;
    let srv = start_with(cfg).await;
    let b: Value = token_with_header(&srv, "/oauth/token", &basic("LmClient", "tnco-demo-secret"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["expires_in"], 5);
    let t = s(&b["access_token"]);
    assert_eq!(resources(&srv, t).await.status(), StatusCode::OK);
    srv.advance(5).await;
    let r = resources(&srv, t).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains("expired"));
    assert_eq!(srv.stats().await["expired_token_calls"], 1);
}

async fn lm_token(srv: &Server) -> Value {
    let r = token_with_header(
        srv,
        "/tnco/oauth/token",
        &basic("LmClient", "tnco-demo-secret"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn an_unexpired_token_is_reissued_with_the_remaining_whole_seconds() {
    let mut cfg = Config::default();
    cfg.settings.tnco_ttl = 3;
    let srv = start_with(cfg).await;
    assert_eq!(srv.set(serde_json::json!({})).await["tnco_reissue"], true);
    // The server issues at some instant in [before, after].
    let before = real_now_ms();
    let first = lm_token(&srv).await;
    let after = real_now_ms();
    assert!(
        matches!(first["expires_in"].as_i64(), Some(2 | 3)),
        "{first}"
    );
    let token = s(&first["access_token"]).to_string();
    // The token expires in [before + 3000, after + 3000]; the checks below
    // need that window narrower than 900 ms.
    assert!(
        after - before < 900,
        "the token request took {} ms",
        after - before
    );

    // Asked again at once: the same token, never a longer life.
    let again = lm_token(&srv).await;
    assert_eq!(again["access_token"], first["access_token"]);
    assert!(again["expires_in"].as_i64().unwrap() <= first["expires_in"].as_i64().unwrap());
    assert_eq!(again.as_object().unwrap().len(), 4, "{again}");

    // 1.1 s after the latest possible issue: 1 whole second left (the
    // remaining 1.9 s, truncated) …
    srv.clock_at(after + 1100).await;
    let b = lm_token(&srv).await;
    assert_eq!(
        (s(&b["access_token"]), b["expires_in"].as_i64()),
        (token.as_str(), Some(1))
    );
    // … and in its last second, 0, still the same token, still accepted.
    srv.clock_at(after + 2100).await;
    let b = lm_token(&srv).await;
    assert_eq!(
        (s(&b["access_token"]), b["expires_in"].as_i64()),
        (token.as_str(), Some(0))
    );
    assert_eq!(resources(&srv, &token).await.status(), StatusCode::OK);

    // Once expired (in ms): refused by the API, and a new token is issued.
    srv.clock_at(after + 3050).await;
    assert_eq!(
        resources(&srv, &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let b = lm_token(&srv).await;
    assert_ne!(s(&b["access_token"]), token);
    assert_eq!(b["expires_in"], 3);
    assert_eq!(
        resources(&srv, s(&b["access_token"])).await.status(),
        StatusCode::OK
    );

    let st = srv.stats().await;
    assert_eq!(st["requests"]["tnco.token"], 5);
    assert_eq!(st["client_credentials"]["tnco"], 5);
    assert_eq!(st["tnco_tokens"]["new"], 2);
    assert_eq!(st["tnco_tokens"]["reissued"], 3);
    let marks: Vec<&str> = st["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["endpoint"] == "tnco.token")
        .map(|l| l["token"].as_str().unwrap())
        .collect();
    assert_eq!(marks, ["new", "reissued", "reissued", "reissued", "new"]);
}

#[tokio::test]
async fn reissue_is_per_client_skips_revoked_tokens_and_can_be_turned_off() {
    let srv = start().await;
    let a = lm_token(&srv).await;
    let c = devserver::seed::TNCO_SPECIAL_CLIENT;
    let special = basic(&form_urlencode(c.id), &form_urlencode(c.secret.unwrap()));
    let other: Value = token_with_header(&srv, "/oauth/token", &special)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(other["access_token"], a["access_token"]);
    // The alias path is the same token endpoint.
    let b: Value = token_with_header(&srv, "/oauth/token", &basic("LmClient", "tnco-demo-secret"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["access_token"], a["access_token"]);
    // A revoked token is never handed back (Spring's revokeToken removes it).
    let r = srv
        .http
        .post(srv.url("/admin/revoke"))
        .json(&serde_json::json!({"token": s(&a["access_token"])}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c2 = lm_token(&srv).await;
    assert_ne!(c2["access_token"], a["access_token"]);
    assert_eq!(c2["expires_in"], 1199);
    // Off: a new token for every request, each with the full lifetime.
    srv.set(serde_json::json!({"tnco_reissue": false})).await;
    let d = lm_token(&srv).await;
    let e = lm_token(&srv).await;
    assert_ne!(d["access_token"], c2["access_token"]);
    assert_ne!(d["access_token"], e["access_token"]);
    assert_eq!(
        (d["expires_in"].as_i64(), e["expires_in"].as_i64()),
        (Some(1199), Some(1199))
    );
    let st = srv.stats().await;
    assert_eq!(st["tnco_tokens"]["new"], 5);
    assert_eq!(st["tnco_tokens"]["reissued"], 1);
}
