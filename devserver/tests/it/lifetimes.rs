//! Lifetimes of a few seconds in every style, and where each style puts the
//! expiry boundary: Keycloak in whole seconds, the others in milliseconds.
//! The clock is placed with `clock_offset_ms`; the margins leave at least
//! 900 ms for the machine to be slow in.

use devserver::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const KEY: &str = devserver::seed::LGDX_API_KEY;

fn short() -> Config {
    let mut cfg = Config::default();
    cfg.settings.access_ttl = 2;
    cfg.settings.refresh_ttl = 4;
    cfg.settings.tnco_ttl = 3;
    cfg
}

async fn realms(srv: &Server, access: &str) -> StatusCode {
    srv.http
        .get(srv.url("/Navigation/Realms"))
        .header("X-API-Key", KEY)
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

async fn userinfo(srv: &Server, access: &str) -> StatusCode {
    srv.http
        .get(srv.url(&format!("{KC}/userinfo")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

async fn im_token(srv: &Server) -> Value {
    srv.http
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
        .unwrap()
}

async fn im_api(srv: &Server, access: &str) -> StatusCode {
    srv.http
        .get(srv.url("/im/?api-version=1.0"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

async fn tnco_token(srv: &Server) -> Value {
    srv.http
        .post(srv.url("/tnco/oauth/token"))
        .basic_auth("LmClient", Some("tnco-demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn tnco_api(srv: &Server, access: &str) -> StatusCode {
    srv.http
        .get(srv.url("/tnco/api/resources"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn two_second_tokens_of_every_style_live_and_expire_on_the_real_clock() {
    let srv = start_with(short()).await;
    srv.clock_at_second_start().await;
    let lgdx: Value = srv
        .lgdx_login("demo", "demo-password")
        .await
        .json()
        .await
        .unwrap();
    let kc = srv.kc_login("openid").await;
    let im = im_token(&srv).await;
    let tnco = tnco_token(&srv).await;

    // Nothing clamps the lifetimes.
    let la = s(&lgdx["accessToken"]);
    assert_eq!(
        exp_ms(la) - claims(la)["nbf"].as_i64().unwrap() * 1000,
        2000
    );
    assert_eq!(lgdx["expiresMins"], 0);
    let ka = s(&kc["access_token"]);
    assert_eq!(
        (kc["expires_in"].as_i64(), kc["refresh_expires_in"].as_i64()),
        (Some(2), Some(4))
    );
    assert_eq!(
        exp_ms(ka) - claims(ka)["iat"].as_i64().unwrap() * 1000,
        2000
    );
    assert_eq!(exp_ms(s(&kc["refresh_token"])) - exp_ms(ka), 2000);
    let ia = s(&im["access_token"]);
    assert_eq!(im["expires_in"], 2);
    assert_eq!(
        exp_ms(ia) - claims(ia)["iat"].as_i64().unwrap() * 1000,
        2000
    );
    let ta = s(&tnco["access_token"]);
    assert!(matches!(tnco["expires_in"].as_i64(), Some(2 | 3)), "{tnco}");

    // Valid now, on every protected API.
    assert_eq!(realms(&srv, la).await, StatusCode::OK);
    assert_eq!(userinfo(&srv, ka).await, StatusCode::OK);
    assert_eq!(im_api(&srv, ia).await, StatusCode::OK);
    assert_eq!(tnco_api(&srv, ta).await, StatusCode::OK);

    // 3.1 s later by the real clock, every one has expired (Keycloak's
    // whole-second check included: it fails from exp + 1 s).
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(realms(&srv, la).await, StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo(&srv, ka).await, StatusCode::UNAUTHORIZED);
    assert_eq!(im_api(&srv, ia).await, StatusCode::UNAUTHORIZED);
    assert_eq!(tnco_api(&srv, ta).await, StatusCode::UNAUTHORIZED);
    assert_eq!(srv.stats().await["expired_token_calls"], 4);

    // Refresh still works with 1–4 s lifetimes: the refresh token (4 s)
    // outlives the access token, and LGDX accepts the expired bearer.
    srv.clock_at_second_start().await;
    let l2: Value = srv
        .lgdx_login("demo", "demo-password")
        .await
        .json()
        .await
        .unwrap();
    let r = srv
        .lgdx_refresh(s(&l2["accessToken"]), s(&l2["refreshToken"]))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let k2 = srv.kc_login("").await;
    let r = srv.kc_refresh(s(&k2["refresh_token"])).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["expires_in"], 2);
}

#[tokio::test]
async fn lgdx_and_im_expire_one_millisecond_after_exp_keycloak_a_second_later() {
    let srv = start_with(short()).await;
    let lgdx: Value = srv
        .lgdx_login("demo", "demo-password")
        .await
        .json()
        .await
        .unwrap();
    let la = s(&lgdx["accessToken"]).to_string();
    let ka = s(&srv.kc_login("").await["access_token"]).to_string();
    let ia = s(&im_token(&srv).await["access_token"]).to_string();

    // Before exp (900 ms of margin): all accepted.
    let exp = exp_ms(&la);
    srv.clock_at(exp - 950).await;
    assert_eq!(realms(&srv, &la).await, StatusCode::OK);
    srv.clock_at(exp_ms(&ia) - 950).await;
    assert_eq!(im_api(&srv, &ia).await, StatusCode::OK);

    // 50 ms past exp: LGDX (JwtBearer, ClockSkew zero) and IM refuse it …
    srv.clock_at(exp + 50).await;
    assert_eq!(realms(&srv, &la).await, StatusCode::UNAUTHORIZED);
    srv.clock_at(exp_ms(&ia) + 50).await;
    assert_eq!(im_api(&srv, &ia).await, StatusCode::UNAUTHORIZED);
    // … while Keycloak accepts the token during its whole `exp` second.
    let kexp = exp_ms(&ka);
    srv.clock_at(kexp + 50).await;
    assert_eq!(userinfo(&srv, &ka).await, StatusCode::OK);
    srv.clock_at(kexp + 1050).await;
    assert_eq!(userinfo(&srv, &ka).await, StatusCode::UNAUTHORIZED);
    let st = srv.stats().await;
    assert_eq!(st["expired_token_calls"], 3);
    assert_eq!(st["protected_calls"]["ok"], 3);
}

#[tokio::test]
async fn clock_offset_ms_is_a_setting() {
    let srv = start().await;
    let c = srv.set(json!({"clock_offset_ms": -1500})).await;
    assert_eq!(c["clock_offset_ms"], -1500);
    let date = |r: &reqwest::Response| {
        let d = httpdate::parse_http_date(&header(r, "date")).unwrap();
        d.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    };
    srv.set(json!({"clock_offset": 100, "clock_offset_ms": 500}))
        .await;
    let r = srv.lgdx_login("demo", "demo-password").await;
    let seen = date(&r);
    let want = (real_now_ms() + 100_500) / 1000;
    assert!((seen - want).abs() <= 2, "date {seen}, want about {want}");
}
