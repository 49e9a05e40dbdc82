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
    for path in ["/tnco/oauth/token", "/oauth/token"] {
        let r = token_with_header(&srv, path, &basic("LmClient", "tnco-demo-secret")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let b: Value = r.json().await.unwrap();
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
