use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const KEY: &str = devserver::seed::LGDX_API_KEY;

async fn login(srv: &Server) -> (String, String) {
    let r = srv.lgdx_login("demo", "demo-password").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let b: Value = r.json().await.unwrap();
    (
        s(&b["accessToken"]).to_string(),
        s(&b["refreshToken"]).to_string(),
    )
}

async fn realms(srv: &Server, access: &str) -> reqwest::Response {
    srv.http
        .get(srv.url("/Navigation/Realms"))
        .header("X-API-Key", KEY)
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_call_refresh_happy_path() {
    let srv = start().await;
    let (a1, r1) = login(&srv).await;
    let c = claims(&a1);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 30);
    assert_eq!(c["sub"], devserver::seed::USERS[0].subject);

    let r = realms(&srv, &a1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list[0]["name"], "Demo Realm");

    let r = srv.lgdx_refresh(&a1, &r1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    let (a2, r2) = (s(&b["accessToken"]), s(&b["refreshToken"]));
    assert_ne!(a2, a1);
    assert_ne!(r2, r1);
    assert_eq!(realms(&srv, a2).await.status(), StatusCode::OK);

    let st = srv.stats().await;
    assert_eq!(st["logins"]["lgdx"], 1);
    assert_eq!(st["refreshes"]["total"], 1);
    assert_eq!(st["reuse_detections"]["total"], 0);
    assert_eq!(st["protected_calls"]["ok"], 2);
    assert_eq!(st["requests"]["lgdx.refresh"], 1);
}

#[tokio::test]
async fn login_rejections() {
    let srv = start().await;
    let body = json!({"username": "demo", "password": "demo-password"});
    // No key, wrong key: a bare 403, as ASP.NET Core answers when the
    // API-key and certificate schemes both fail.
    for key in [None, Some("wrong"), Some("")] {
        let mut req = srv.http.post(srv.url("/Identity/Auth/Login")).json(&body);
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{key:?}");
        assert_eq!(header(&r, "www-authenticate"), "");
        assert_eq!(r.text().await.unwrap(), "");
    }
    // Wrong password, unknown user.
    for (u, p) in [("demo", "nope"), ("mallory", "demo-password")] {
        let (st, err, _) = oauth_error(srv.lgdx_login(u, p).await).await;
        assert_eq!(
            (st, err.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_grant")
        );
    }
    // Not JSON, missing field.
    let r = srv
        .http
        .post(srv.url("/Identity/Auth/Login"))
        .header("X-API-Key", KEY)
        .body("username=demo")
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
    let r = srv
        .http
        .post(srv.url("/Identity/Auth/Login"))
        .header("X-API-Key", KEY)
        .json(&json!({"username": "demo"}))
        .send()
        .await
        .unwrap();
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert_eq!(srv.stats().await["login_failures"]["lgdx"], 2);
}

#[tokio::test]
async fn expired_access_token_is_refused_by_the_api_but_accepted_by_refresh() {
    let srv = start().await;
    let (a1, r1) = login(&srv).await;
    srv.advance(31).await;
    let r = realms(&srv, &a1).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(&r, "www-authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(srv.stats().await["expired_token_calls"], 1);

    let r = srv.lgdx_refresh(&a1, &r1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        realms(&srv, s(&b["accessToken"])).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_rejections() {
    let srv = start().await;
    let (a1, r1) = login(&srv).await;
    // A forged access token (signature broken).
    let forged = format!("{}x", &a1[..a1.len() - 1]);
    let r = srv.lgdx_refresh(&forged, &r1).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains("invalid_token"));
    // No bearer at all.
    let r = srv
        .http
        .post(srv.url("/Identity/Auth/Refresh"))
        .header("X-API-Key", KEY)
        .json(&json!({"refreshToken": r1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Unknown refresh token.
    let (st, err, _) = oauth_error(srv.lgdx_refresh(&a1, "not-a-token").await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // Another user's access token with demo's refresh token.
    let alice: Value = srv
        .lgdx_login("alice", "alice-password")
        .await
        .json()
        .await
        .unwrap();
    let (_, err, _) = oauth_error(srv.lgdx_refresh(s(&alice["accessToken"]), &r1).await).await;
    assert_eq!(err, "invalid_grant");
    // None of those spent the token: it still works once.
    assert_eq!(srv.lgdx_refresh(&a1, &r1).await.status(), StatusCode::OK);
    assert_eq!(srv.stats().await["reuse_detections"]["total"], 0);
}

#[tokio::test]
async fn expired_refresh_token_is_refused() {
    let srv = start().await;
    let (a1, r1) = login(&srv).await;
    srv.advance(301).await;
    let (st, err, desc) = oauth_error(srv.lgdx_refresh(&a1, &r1).await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(desc.contains("expired"), "{desc}");
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_family() {
    let srv = start().await;
    let (a1, r1) = login(&srv).await;
    let b: Value = srv.lgdx_refresh(&a1, &r1).await.json().await.unwrap();
    let (a2, r2) = (
        s(&b["accessToken"]).to_string(),
        s(&b["refreshToken"]).to_string(),
    );

    let (st, err, _) = oauth_error(srv.lgdx_refresh(&a1, &r1).await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // The whole family is gone: the newest refresh token and access token too.
    let (_, err, desc) = oauth_error(srv.lgdx_refresh(&a2, &r2).await).await;
    assert_eq!(err, "invalid_grant");
    assert!(desc.contains("revoked"), "{desc}");
    assert_eq!(realms(&srv, &a2).await.status(), StatusCode::UNAUTHORIZED);

    let st = srv.stats().await;
    assert_eq!(st["reuse_detections"]["lgdx"], 1);
    assert_eq!(st["refreshes"]["lgdx"], 1);
    assert_eq!(st["refresh_rejections"]["lgdx"], 2);
    // A new login is unaffected.
    let (a3, _) = login(&srv).await;
    assert_eq!(realms(&srv, &a3).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn protected_api_rejections() {
    let srv = start().await;
    let (a1, _) = login(&srv).await;
    // Missing bearer: a challenge without an error code (RFC 6750 §3.1).
    let r = srv
        .http
        .get(srv.url("/Navigation/Realms"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "www-authenticate"), "Bearer realm=\"lgdx\"");
    // Unknown token.
    let r = realms(&srv, "eyJhbGciOiJIUzI1NiJ9.e30.x").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains("error=\"invalid_token\""));
    // Valid token, missing or wrong API key: the key's bare 403.
    for key in [None, Some("wrong")] {
        let mut req = srv.http.get(srv.url("/Navigation/Realms")).bearer_auth(&a1);
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{key:?}");
        assert_eq!(header(&r, "www-authenticate"), "");
        assert_eq!(r.text().await.unwrap(), "");
    }
    let st = srv.stats().await;
    assert_eq!(st["protected_calls"]["missing"], 1);
    assert_eq!(st["protected_calls"]["invalid"], 1);
    assert_eq!(st["protected_calls"]["bad_api_key"], 2);
    assert_eq!(st["protected_calls"]["ok"], 0);
    assert_eq!(st["expired_token_calls"], 0);
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn responses_carry_expires_mins_as_lgdx_computes_it() {
    for (ttl, mins) in [(30, 0), (59, 0), (60, 1), (90, 1), (1800, 30)] {
        let mut cfg = devserver::Config::default();
        cfg.settings.access_ttl = ttl;
        let srv = start_with(cfg).await;
        let r = srv.lgdx_login("demo", "demo-password").await;
        let b: Value = r.json().await.unwrap();
        // The exact field set of LGDXRobot Cloud's LoginResponseDto.
        assert_eq!(
            keys(&b),
            [
                "accessToken",
                "expiresMins",
                "refreshToken",
                "requiresTwoFactor"
            ]
        );
        assert_eq!(b["expiresMins"], mins, "ttl {ttl}");
        assert_eq!(b["requiresTwoFactor"], false);
        let c = claims(s(&b["accessToken"]));
        assert_eq!(c["exp"].as_u64().unwrap() - c["nbf"].as_u64().unwrap(), ttl);
        let r = srv
            .lgdx_refresh(s(&b["accessToken"]), s(&b["refreshToken"]))
            .await;
        let b: Value = r.json().await.unwrap();
        // RefreshTokenResponseDto: no requiresTwoFactor.
        assert_eq!(keys(&b), ["accessToken", "expiresMins", "refreshToken"]);
        assert_eq!(b["expiresMins"], mins);
    }
}

#[tokio::test]
async fn refresh_needs_the_api_key() {
    let srv = start().await;
    let (a1, r1) = login(&srv).await;
    for key in [None, Some("wrong")] {
        let mut req = srv
            .http
            .post(srv.url("/Identity/Auth/Refresh"))
            .bearer_auth(&a1)
            .json(&json!({"refreshToken": r1}));
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.text().await.unwrap(), "");
    }
    // The refresh token was not spent by the refused calls.
    assert_eq!(srv.lgdx_refresh(&a1, &r1).await.status(), StatusCode::OK);
    assert_eq!(srv.stats().await["refreshes"]["lgdx"], 1);
}
