//! The device authorization grant (RFC 8628), token exchange (RFC 8693)
//! and pushed authorization requests (RFC 9126) through the driver with the
//! fakes: the requests, the polling timeline on the manual clock, and each
//! way a flow ends.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures::executor::block_on;
use serde_json::json;
use std::rc::Rc;
use support::*;
use tokenkeeper::core::config::Config;
use tokenkeeper::core::request::{Credentials, DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT};
use tokenkeeper::core::session::Event;
use tokenkeeper::driver::{Driver, DriverOptions};
use tokenkeeper::platform::Clock;
use tokenkeeper::platform::fake::{Expect, FakePlatform, Reply};

const TOKEN_URL: &str = "https://id.example/realms/app/protocol/openid-connect/token";
const DEVICE_URL: &str = "https://id.example/realms/app/protocol/openid-connect/auth/device";
const AUTH_URL: &str = "https://id.example/realms/app/protocol/openid-connect/auth";
const PAR_URL: &str = "https://id.example/realms/app/protocol/openid-connect/ext/par/request";

fn profile() -> Config {
    config(json!({"profile": {
        "kind": "oauth2",
        "tokenUrl": TOKEN_URL,
        "clientId": "cli",
        "scope": "openid offline_access",
        "deviceAuthorizationUrl": DEVICE_URL,
        "authorizationUrl": AUTH_URL,
        "redirectUri": "https://app.example/cb",
        "pushedAuthorizationRequestUrl": PAR_URL,
    }}))
}

fn codes(interval: u64, expires_in: u64) -> Reply {
    Reply::json(
        200,
        &format!(
            r#"{{"device_code":"SENTINEL_DC_1","user_code":"WDJB-MJHT","verification_uri":"https://id.example/device","verification_uri_complete":"https://id.example/device?user_code=WDJB-MJHT","expires_in":{expires_in},"interval":{interval}}}"#
        ),
    )
}

fn refused(code: &str) -> Reply {
    Reply::json(400, &format!(r#"{{"error":"{code}"}}"#))
}

fn tokens() -> Reply {
    Reply::json(
        200,
        r#"{"access_token":"SENTINEL_AT_1","token_type":"Bearer","expires_in":300,"refresh_token":"SENTINEL_RT_1"}"#,
    )
}

fn poll() -> Expect {
    Expect::post(TOKEN_URL).form(&[
        ("grant_type", DEVICE_CODE_GRANT),
        ("device_code", "SENTINEL_DC_1"),
        ("client_id", "cli"),
    ])
}

#[test]
fn device_flow_polls_at_the_interval_slows_down_by_five_seconds_and_logs_in() {
    let p = FakePlatform::at(T0);
    let d = Driver::new(profile(), p.clone(), DriverOptions::default()).unwrap();
    let events = Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = Rc::clone(&events);
    d.set_listener(Some(Rc::new(move |e: &Event| {
        sink.borrow_mut().push(e.clone())
    })));
    p.http.expect(
        Expect::post(DEVICE_URL).form(&[("scope", "openid offline_access"), ("client_id", "cli")]),
        codes(5, 600),
    );
    let auth = block_on(d.device_authorize(None)).unwrap();
    assert_eq!(auth.user_code, "WDJB-MJHT");
    assert_eq!(auth.verification_uri, "https://id.example/device");
    // Pending, slow down, pending, approved: polls at 5 s, 10 s, then
    // every 10 s (20 s, 30 s).
    for reply in [
        refused("authorization_pending"),
        refused("slow_down"),
        refused("authorization_pending"),
        tokens(),
    ] {
        p.http.expect(poll(), reply);
    }
    block_on(d.device_login(auth, || false)).unwrap();
    assert_eq!(
        p.clock.now().0 - T0.0,
        30_000,
        "5 s, then 10 s after slow_down"
    );
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
    assert!(events.borrow().iter().any(|e| matches!(e, Event::LoggedIn)));
    assert!(
        !events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::LoginFailed { .. })),
        "a pending poll is no failure"
    );
    p.http.assert_exhausted();
}

#[test]
fn device_flow_ends_on_denial_expiry_and_cancel_with_the_session_unchanged() {
    let p = FakePlatform::at(T0);
    let d = Driver::new(profile(), p.clone(), DriverOptions::default()).unwrap();
    // Denied.
    p.http.expect(Expect::post(DEVICE_URL), codes(5, 600));
    let auth = block_on(d.device_authorize(Some("openid"))).unwrap();
    p.http.expect(poll(), refused("access_denied"));
    let e = block_on(d.device_login(auth, || false)).unwrap_err();
    assert_eq!(
        (e.code(), e.error()),
        ("OAUTH_RESPONSE_BODY_ERROR", Some("access_denied"))
    );
    assert_eq!(d.state().status, "loggedOut");
    assert!(!format!("{e} {e:?}").contains("SENTINEL"));
    // Expired: no poll is planned past the codes' lifetime (12 s: polls at
    // 5 s and 10 s, then the next would be at 15 s).
    p.http.expect(Expect::post(DEVICE_URL), codes(5, 12));
    let auth = block_on(d.device_authorize(None)).unwrap();
    p.http
        .expect(poll(), refused("authorization_pending"))
        .expect(poll(), refused("authorization_pending"));
    let e = block_on(d.device_login(auth, || false)).unwrap_err();
    assert_eq!(e.code(), "AUTH_DEVICE_CODE_EXPIRED");
    // Cancelled: nothing more is sent.
    p.http.expect(Expect::post(DEVICE_URL), codes(5, 600));
    let auth = block_on(d.device_authorize(None)).unwrap();
    p.http.expect(poll(), refused("authorization_pending"));
    let polled = p.http.sent().len() + 1;
    let http = p.http.clone();
    let e = block_on(d.device_login(auth, || http.sent().len() >= polled)).unwrap_err();
    assert_eq!(e.code(), "AUTH_ABORTED");
    assert_eq!(d.state().status, "loggedOut");
    p.http.assert_exhausted();
}

#[test]
fn device_flow_needs_its_endpoint() {
    let p = FakePlatform::at(T0);
    let d = Driver::new(keycloak(), p.clone(), DriverOptions::default()).unwrap();
    let e = block_on(d.device_authorize(None)).unwrap_err();
    assert_eq!(e.code(), "AUTH_CONFIG");
    assert!(e.to_string().contains("deviceAuthorizationUrl"));
}

#[test]
fn token_exchange_is_a_login_or_a_one_off_answer() {
    let p = FakePlatform::at(T0);
    let cfg = config(json!({"profile": {
        "kind": "oauth2", "tokenUrl": TOKEN_URL, "clientId": "edge",
        "clientSecret": "SENTINEL_CS_1", "clientAuth": "post",
    }}));
    let d = Driver::new(cfg, p.clone(), DriverOptions::default()).unwrap();
    let creds = Credentials::from_value(&json!({
        "subjectToken": "SENTINEL_SUBJECT",
        "subjectTokenType": "urn:ietf:params:oauth:token-type:access_token",
        "actorToken": "SENTINEL_ACTOR",
        "actorTokenType": "urn:ietf:params:oauth:token-type:access_token",
        "audience": ["orders", "billing"],
        "resource": "https://api.example/orders",
        "scope": "orders:read",
    }))
    .unwrap();
    let exchange = || {
        Expect::post(TOKEN_URL).form(&[
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token", "SENTINEL_SUBJECT"),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("actor_token", "SENTINEL_ACTOR"),
            (
                "actor_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("audience", "orders"),
            ("audience", "billing"),
            ("resource", "https://api.example/orders"),
            ("scope", "orders:read"),
            ("client_id", "edge"),
            ("client_secret", "SENTINEL_CS_1"),
        ])
    };
    // Kept: the session's token.
    p.http.expect(
        exchange(),
        Reply::json(
            200,
            r#"{"access_token":"SENTINEL_AT_X","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":300}"#,
        ),
    );
    block_on(d.login(creds.clone())).unwrap();
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_X"
    );
    // Returned once: a token that is not an access token may be `N_A`
    // (RFC 8693 §2.2.1); the session keeps its own.
    p.http.expect(
        exchange(),
        Reply::json(
            200,
            r#"{"access_token":"SENTINEL_ID_JAG","issued_token_type":"urn:ietf:params:oauth:token-type:id_token","token_type":"N_A","expires_in":60}"#,
        ),
    );
    let (answer, _) = block_on(d.exchange(&creds)).unwrap();
    assert_eq!(answer.access_token().secret(), "SENTINEL_ID_JAG");
    assert_eq!(
        answer.issued_token_type(),
        Some("urn:ietf:params:oauth:token-type:id_token")
    );
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_X"
    );
    // A refusal echoing the subject token shows none of it.
    p.http.expect(
        exchange(),
        Reply::json(400, r#"{"error":"invalid_request","error_description":"bad SENTINEL_SUBJECT SENTINEL_ACTOR"}"#),
    );
    let e = block_on(d.exchange(&creds)).unwrap_err();
    assert!(!e.to_string().contains("SENTINEL"), "{e}");
    p.http.assert_exhausted();
    // An actor token needs its type; nothing of another grant may come along.
    for bad in [
        json!({"subjectToken": "s", "subjectTokenType": "t", "actorToken": "a"}),
        json!({"subjectToken": "s", "subjectTokenType": "t", "password": "p"}),
        json!({"audience": "orders"}),
    ] {
        assert_eq!(
            Credentials::from_value(&bad).unwrap_err().code(),
            "AUTH_CONFIG",
            "{bad}"
        );
    }
}

#[test]
fn a_pushed_authorization_request_carries_the_parameters_and_the_url_only_its_reference() {
    let p = FakePlatform::at(T0);
    let cfg = profile();
    let d = Driver::new(cfg.clone(), p.clone(), DriverOptions::default()).unwrap();
    let params = tokenkeeper::core::redirect::AuthorizeParams::default();
    let random = tokenkeeper::core::redirect::RedirectRandom::from_bytes(&[7u8; 64]);
    let req = tokenkeeper::core::redirect::begin(&cfg, &params, None, &random, T0).unwrap();
    let state = req.pending.state.clone();
    p.http.expect(
        Expect::post(PAR_URL).form(&[
            ("response_type", "code"),
            ("redirect_uri", "https://app.example/cb"),
            ("scope", "openid offline_access"),
            ("state", &state),
            ("nonce", &req.pending.nonce),
            ("code_challenge", &tokenkeeper::core::request::Pkce::from_random(&random.verifier).challenge),
            ("code_challenge_method", "S256"),
            ("client_id", "cli"),
        ]),
        Reply::json(201, r#"{"request_uri":"urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c","expires_in":60}"#),
    );
    let url = block_on(d.push_authorization(&req.url)).unwrap();
    assert_eq!(
        url,
        format!(
            "{AUTH_URL}?client_id=cli&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A6esc_11ACC5bwc014ltc14eY22c"
        )
    );
    assert!(
        !url.contains(&state),
        "the parameters stay off the front channel"
    );
    // The server's refusal is the keeper's typed error.
    p.http
        .expect(Expect::post(PAR_URL), refused("invalid_request"));
    let e = block_on(d.push_authorization(&req.url)).unwrap_err();
    assert_eq!(e.error(), Some("invalid_request"));
    p.http.assert_exhausted();
}
