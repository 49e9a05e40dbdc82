//! Golden requests and responses for the four seed API styles: the exact
//! method, URL, headers and body bytes of login and refresh, and how each
//! style's answers are read.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::*;
use tokenkeeper::core::request::HttpRequest;
use tokenkeeper::core::session::{Event, PersistOp, Session};
use tokenkeeper::core::time::UnixMillis;

fn headers(req: &HttpRequest) -> Vec<(&str, &str)> {
    req.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn body(req: &HttpRequest) -> &str {
    std::str::from_utf8(&req.body).unwrap()
}

/// Seed 000: JSON login with X-API-Key; refresh sends X-API-Key, the Bearer
/// access token and `{"refreshToken":…}`; expiry from the JWT `exp`.
#[test]
fn lgdx_json_login_and_refresh() {
    let at1 = jwt(&json!({"sub": "alice", "exp": secs(T0) + 900, "iat": secs(T0)}));
    let mut s = Session::new(lgdx()).unwrap();
    let id = s.login(T0, &password("alice", "SENTINEL_PW_1")).unwrap();
    let (_, req) = drain(&mut s).only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://localhost:5163/Identity/Auth/Login");
    assert_eq!(
        headers(&req),
        [
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("X-API-Key", "SENTINEL_APIKEY_1"),
        ]
    );
    assert_eq!(
        body(&req),
        r#"{"username":"alice","password":"SENTINEL_PW_1"}"#
    );
    assert_no_leak(&format!("{req:?}"));

    let login = fixture("lgdx_login.json").replace("JWT_PLACEHOLDER", &at1);
    s.handle_response(T0, id, &json_response(200, &login));
    let out = drain(&mut s);
    assert!(matches!(out.events[..], [Event::LoggedIn]));
    assert_eq!(out.saves(), 1);
    let t = s.tokens().unwrap();
    assert_eq!(t.expires_at(), Some(T0.plus_millis(900_000)));
    assert_eq!(t.refresh_token().unwrap().secret(), "SENTINEL_RT_lgdx1");
    assert_eq!(s.snapshot().claims.unwrap()["sub"], "alice");

    // 900 s lifetime: 20 % = 180 s ahead, jitter 0.
    let due = s.poll_timeout().unwrap();
    assert_eq!(due, T0.plus_millis(720_000));
    s.handle_timeout(due);
    let out = drain(&mut s);
    assert!(matches!(out.events[..], [Event::Refreshing]));
    let (id, req) = out.only_request();
    assert_eq!(req.url, "https://localhost:5163/Identity/Auth/Refresh");
    let bearer = format!("Bearer {at1}");
    assert_eq!(
        headers(&req),
        [
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("X-API-Key", "SENTINEL_APIKEY_1"),
            ("Authorization", bearer.as_str()),
        ]
    );
    assert_eq!(body(&req), r#"{"refreshToken":"SENTINEL_RT_lgdx1"}"#);

    let at2 = jwt(&json!({"exp": secs(due) + 900}));
    let answer = format!(r#"{{"accessToken":"{at2}","refreshToken":"SENTINEL_RT_lgdx2"}}"#);
    s.handle_response(due, id, &json_response(200, &answer));
    let out = drain(&mut s);
    assert!(matches!(
        out.events[..],
        [Event::Refreshed { rotated: true }]
    ));
    // One Save holds both new tokens (TR-35).
    assert_eq!(out.saves(), 1);
    let PersistOp::Save(stored) = &out.persists[0] else {
        panic!()
    };
    assert!(stored.secret().contains("SENTINEL_RT_lgdx2") && stored.secret().contains(&at2));
    assert!(!stored.secret().contains("SENTINEL_RT_lgdx1"));
}

/// Seed 001: Keycloak password grant, refresh_token grant, and
/// `refresh_expires_in`.
#[test]
fn keycloak_password_and_refresh() {
    let mut s = Session::new(keycloak()).unwrap();
    let id = s
        .login(T0, &password("alice@example.com", "SENTINEL_PW_1 &=+%"))
        .unwrap();
    let (_, req) = drain(&mut s).only_request();
    assert_eq!(
        req.url,
        "https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/token"
    );
    assert_eq!(
        headers(&req),
        [
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded")
        ]
    );
    assert_eq!(
        body(&req),
        "grant_type=password&username=alice%40example.com&password=SENTINEL_PW_1+%26%3D%2B%25&client_id=apiax-api"
    );

    s.handle_response(
        T0,
        id,
        &json_response(200, &fixture("keycloak_password.json")),
    );
    assert!(matches!(drain(&mut s).events[..], [Event::LoggedIn]));
    let t = s.tokens().unwrap();
    assert_eq!(t.expires_at(), Some(T0.plus_millis(300_000)));
    assert_eq!(t.refresh_expires_at(), Some(T0.plus_millis(1_209_600_000)));
    assert_eq!(t.scope(), Some("email profile"));

    // 300 s: 60 s ahead.
    let due = s.poll_timeout().unwrap();
    assert_eq!(due, T0.plus_millis(240_000));
    s.handle_timeout(due);
    let (id, req) = drain(&mut s).only_request();
    assert_eq!(
        body(&req),
        "grant_type=refresh_token&refresh_token=SENTINEL_RT_kc1&client_id=apiax-api"
    );
    assert!(req.header("authorization").is_none());
    s.handle_response(
        due,
        id,
        &json_response(200, &fixture("keycloak_refresh.json")),
    );
    assert!(matches!(
        drain(&mut s).events[..],
        [Event::Refreshed { rotated: true }]
    ));
    let t = s.tokens().unwrap();
    assert_eq!(t.access_token().secret(), "SENTINEL_AT_kc2");
    assert_eq!(t.refresh_expires_at(), Some(due.plus_millis(1_209_000_000)));
}

/// Seed 002: client_credentials at /connect/token with the secret and scope
/// in the body; `@` in the client id is form-encoded once (`%40`).
#[test]
fn identity_manager_client_credentials_post() {
    let mut s = Session::new(identity_manager()).unwrap();
    let id = s.login(T0, &client_credentials()).unwrap();
    let (_, req) = drain(&mut s).only_request();
    assert_eq!(req.url, "https://im.example/connect/token");
    assert_eq!(
        headers(&req),
        [
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded")
        ]
    );
    let expected = "grant_type=client_credentials&scope=usercube_api&client_id=Job%40contoso&client_secret=SENTINEL_CS_im";
    assert_eq!(body(&req), expected);

    s.handle_response(
        T0,
        id,
        &json_response(200, &fixture("identity_manager_cc.json")),
    );
    assert!(matches!(drain(&mut s).events[..], [Event::LoggedIn]));
    assert_eq!(s.tokens().unwrap().scope(), Some("usercube_api"));

    // "Refresh" re-runs the grant: the same request again.
    let due = s.poll_timeout().unwrap();
    assert_eq!(due, T0.plus_millis(3_300_000));
    s.handle_timeout(due);
    let (_, again) = drain(&mut s).only_request();
    assert_eq!(again, req);
}

/// Seed 003: client_credentials at /oauth/token with HTTP Basic; the
/// `{access_token: uuid, token_type: "bearer", expires_in: 1199, scope:
/// "all"}` answer.
#[test]
fn tnco_client_credentials_basic() {
    let mut s = Session::new(tnco()).unwrap();
    let id = s.login(T0, &client_credentials()).unwrap();
    let (_, req) = drain(&mut s).only_request();
    assert_eq!(req.url, "https://app.lm:32443/oauth/token");
    assert_eq!(
        headers(&req),
        [
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            // base64("LmClient:SENTINEL%5FCS%5Ftnco")
            (
                "Authorization",
                "Basic TG1DbGllbnQ6U0VOVElORUwlNUZDUyU1RnRuY28="
            ),
        ]
    );
    assert_eq!(body(&req), "grant_type=client_credentials&scope=all");

    s.handle_response(T0, id, &json_response(200, &fixture("tnco_cc.json")));
    assert!(matches!(drain(&mut s).events[..], [Event::LoggedIn]));
    let t = s.tokens().unwrap();
    assert_eq!(
        t.access_token().secret(),
        "fdf8e754-1abe-42ae-b064-7969b05788ca"
    );
    assert_eq!(t.expires_at(), Some(T0.plus_millis(1_199_000)));
    assert_eq!(t.scope(), Some("all"));
    assert!(t.refresh_token().is_none());
    // 1199 s: 239.8 s ahead (about 80 % of the lifetime).
    assert_eq!(s.poll_timeout(), Some(T0.plus_millis(959_200)));
    assert_eq!(
        s.access_token(T0.plus_millis(1_198_999)).unwrap().secret(),
        "fdf8e754-1abe-42ae-b064-7969b05788ca"
    );
    assert!(s.access_token(UnixMillis(T0.0 + 1_199_000)).is_none());
}

/// Seed 000 as LGDXRobot Cloud answers: `expiresMins` (whole minutes)
/// beside the JWTs, read first with `expiry: [{ field: "expiresMins",
/// unit: "minutes" }, "jwt"]`. The server's clock is 10 min ahead and
/// sends no `Date` and no `iat`: the JWT `exp` alone would put the expiry
/// 10 min late, the lifetime counts from the local send time.
#[test]
fn lgdx_expires_mins() {
    let cfg = config(json!({"profile": {
        "kind": "json",
        "loginUrl": "https://localhost:5163/Identity/Auth/Login",
        "refreshUrl": "https://localhost:5163/Identity/Auth/Refresh",
        "headers": {"X-API-Key": "SENTINEL_APIKEY_1"},
        "expiry": [{"field": "expiresMins", "unit": "minutes"}, "jwt"],
    }}));
    let skew = 600;
    let at1 = jwt(&json!({"sub": "alice", "exp": secs(T0) + skew + 900}));
    let mut s = Session::new(cfg).unwrap();
    let id = s.login(T0, &password("alice", "SENTINEL_PW_1")).unwrap();
    drain(&mut s);
    let login =
        format!(r#"{{"accessToken":"{at1}","refreshToken":"SENTINEL_RT_lgdx1","expiresMins":15}}"#);
    s.handle_response(T0.plus_millis(300), id, &json_response(200, &login));
    assert!(matches!(drain(&mut s).events[..], [Event::LoggedIn]));
    let t = s.tokens().unwrap();
    assert_eq!(t.expires_at(), Some(T0.plus_millis(900_000)));
    assert_eq!(s.snapshot().claims.unwrap()["sub"], "alice");

    // 15 min from the send time, 899.7 s of it left on arrival: 20 % of
    // that (179.94 s) ahead.
    let due = s.poll_timeout().unwrap();
    assert_eq!(due, T0.plus_millis(720_060));
    s.handle_timeout(due);
    let (id, req) = drain(&mut s).only_request();
    assert_eq!(body(&req), r#"{"refreshToken":"SENTINEL_RT_lgdx1"}"#);
    let at2 = jwt(&json!({"sub": "alice", "exp": secs(due) + skew + 900}));
    let answer =
        format!(r#"{{"accessToken":"{at2}","refreshToken":"SENTINEL_RT_lgdx2","expiresMins":15}}"#);
    s.handle_response(due.plus_millis(250), id, &json_response(200, &answer));
    assert!(matches!(
        drain(&mut s).events[..],
        [Event::Refreshed { rotated: true }]
    ));
    assert_eq!(
        s.tokens().unwrap().expires_at(),
        Some(due.plus_millis(900_000))
    );

    // An answer without `expiresMins` falls back to the JWT `exp`, in the
    // server's clock (no offset known here).
    let due = s.poll_timeout().unwrap();
    s.handle_timeout(due);
    let (id, _) = drain(&mut s).only_request();
    let at3 = jwt(&json!({"sub": "alice", "exp": secs(due) + skew + 900}));
    let answer = format!(r#"{{"accessToken":"{at3}","refreshToken":"SENTINEL_RT_lgdx3"}}"#);
    s.handle_response(due, id, &json_response(200, &answer));
    drain(&mut s);
    assert_eq!(
        s.tokens().unwrap().expires_at(),
        Some(UnixMillis(secs(due) * 1_000 + (skew + 900) * 1_000))
    );
}
