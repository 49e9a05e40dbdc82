//! `api_reject_status`: protected APIs answer a refused token with 401 and
//! a Bearer challenge (the default) or with a bare 403, as ASP.NET Core
//! does when an API-key scheme beside Bearer authenticated the call.

use devserver::Config;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

const KEY: &str = devserver::seed::LGDX_API_KEY;

fn forbidding() -> Config {
    let mut cfg = Config::default();
    cfg.settings.api_reject_status = 403;
    cfg
}

async fn realms(srv: &Server, key: Option<&str>, bearer: Option<&str>) -> Response {
    let mut req = srv.http.get(srv.url("/Navigation/Realms"));
    if let Some(k) = key {
        req = req.header("X-API-Key", k);
    }
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    req.send().await.unwrap()
}

async fn get(srv: &Server, path: &str, bearer: Option<&str>) -> Response {
    let mut req = srv.http.get(srv.url(path));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    req.send().await.unwrap()
}

/// A bare 403: no challenge, no body.
async fn assert_forbidden(r: Response, what: &str) {
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
    assert_eq!(header(&r, "www-authenticate"), "", "{what}");
    assert_eq!(r.text().await.unwrap(), "", "{what}");
}

fn assert_challenge(r: &Response, error: bool, what: &str) {
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
    let c = header(r, "www-authenticate");
    assert!(c.starts_with("Bearer realm="), "{what}: {c}");
    assert_eq!(c.contains("error=\"invalid_token\""), error, "{what}: {c}");
}

#[tokio::test]
async fn lgdx_forbids_once_the_api_key_authenticated_the_call() {
    let srv = start_with(forbidding()).await;
    let b: Value = srv
        .lgdx_login("demo", "demo-password")
        .await
        .json()
        .await
        .unwrap();
    let access = s(&b["accessToken"]).to_string();
    assert_eq!(
        realms(&srv, Some(KEY), Some(&access)).await.status(),
        StatusCode::OK
    );
    srv.advance(31).await;
    // Key good, token expired or absent: forbid.
    assert_forbidden(realms(&srv, Some(KEY), Some(&access)).await, "expired").await;
    assert_forbidden(realms(&srv, Some(KEY), None).await, "no token").await;
    assert_forbidden(realms(&srv, Some(KEY), Some("junk")).await, "unknown").await;
    // Key bad, token expired or absent: nothing authenticated, so the
    // Bearer challenge, whatever the setting.
    let r = realms(&srv, None, Some(&access)).await;
    assert_challenge(&r, true, "no key, expired");
    let r = realms(&srv, Some("wrong"), None).await;
    assert_challenge(&r, false, "wrong key, no token");
    let st = srv.stats().await;
    assert_eq!(st["expired_token_calls"], 2);
    assert_eq!(st["protected_calls"]["missing"], 2);
    assert_eq!(st["protected_calls"]["invalid"], 1);
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_forbidden_in_every_style() {
    let srv = start_with(forbidding()).await;
    let kc = srv.kc_login("openid").await;
    let im: Value = srv
        .http
        .post(srv.url("/im/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "Job@identitymanager.demo"),
            ("client_secret", "im-demo-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tnco: Value = srv
        .http
        .post(srv.url("/tnco/oauth/token"))
        .basic_auth("LmClient", Some("tnco-demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let userinfo = format!("{KC}/userinfo");
    let apis = [
        (userinfo.as_str(), s(&kc["access_token"]).to_string()),
        ("/im/?api-version=1.0", s(&im["access_token"]).to_string()),
        ("/tnco/api/resources", s(&tnco["access_token"]).to_string()),
    ];
    for (path, token) in &apis {
        assert_eq!(get(&srv, path, Some(token)).await.status(), StatusCode::OK);
        // No token at all: still the RFC 6750 challenge.
        assert_challenge(&get(&srv, path, None).await, false, path);
        assert_forbidden(get(&srv, path, Some("junk")).await, path).await;
    }
    // Revoked (the TNCO token alone; the Keycloak session).
    for token in [&apis[0].1, &apis[2].1] {
        let r = srv
            .http
            .post(srv.url("/admin/revoke"))
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_forbidden(get(&srv, apis[0].0, Some(&apis[0].1)).await, "kc revoked").await;
    assert_forbidden(get(&srv, apis[2].0, Some(&apis[2].1)).await, "tnco revoked").await;
    // Expired.
    srv.advance(1200).await;
    assert_forbidden(get(&srv, apis[1].0, Some(&apis[1].1)).await, "im expired").await;
    assert_eq!(srv.stats().await["expired_token_calls"], 1);

    // Back to 401: the challenge with invalid_token.
    srv.set(json!({"api_reject_status": 401})).await;
    for (path, token) in &apis {
        assert_challenge(&get(&srv, path, Some(token)).await, true, path);
    }
}

#[tokio::test]
async fn only_401_and_403_are_accepted() {
    let srv = start().await;
    for bad in [
        json!({"api_reject_status": 402}),
        json!({"api_reject_status": "403"}),
    ] {
        let r = srv
            .http
            .patch(srv.url("/admin/config"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let c = srv.set(json!({})).await;
    assert_eq!(c["api_reject_status"], 401);
    assert_eq!(
        srv.set(json!({"api_reject_status": 403})).await["api_reject_status"],
        403
    );
}
