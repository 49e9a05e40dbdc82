//! The reliability catalogue, sections 6.1 (TR), 6.2 (ER), 6.3 (RQ), 6.5
//! (CC), 6.6 (TS), 6.7 (NF) and 6.9 (SH), as table tests. Each test names
//! its catalogue ids; docs/reliability.md maps every id to its tests or
//! says why not.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::*;
use tokenkeeper::core::challenge;
use tokenkeeper::core::config::{Config, Profile};
use tokenkeeper::core::error::{EndReason, Error};
use tokenkeeper::core::persist::Owner;
use tokenkeeper::core::request::{self, Credentials, Pkce};
use tokenkeeper::core::response::{self, ExpiryHint, TransportError};
use tokenkeeper::core::secret::{AccessToken, ClientSecret, IdToken, Password, RefreshToken};
use tokenkeeper::core::session::{Event, PersistOp, Session, Status};
use tokenkeeper::core::time::UnixMillis;

const LATER: UnixMillis = UnixMillis(T0.0 + 10_000);

fn kc_body(extra: &str) -> String {
    format!(r#"{{"access_token":"SENTINEL_AT_2","token_type":"Bearer","expires_in":300{extra}}}"#)
}

fn parse_kc(body: &str) -> Result<response::TokenResponse, Error> {
    response::parse_token_response(&keycloak().profile, &json_response(200, body), T0)
}

// ---- 6.1 Token response parsing -----------------------------------------

// TR-01: HTML on 200 → NotJson naming the content type, not the body.
#[test]
fn tr01_html_is_not_json() {
    let html = response(
        200,
        &[("Content-Type", "text/html")],
        "<html>SENTINEL_AT_x</html>",
    );
    for cfg in [keycloak(), lgdx(), identity_manager(), tnco()] {
        let e = login_rejected(cfg, &html);
        assert_eq!(e.code(), "OAUTH_RESPONSE_IS_NOT_JSON");
        assert_eq!(
            e.to_string(),
            "\"response\" content-type must be JSON, got \"text/html\""
        );
    }
    let mut s = kc_session();
    let e = refresh_rejected_without_change(&mut s, LATER, &html);
    assert_eq!(e.code(), "OAUTH_RESPONSE_IS_NOT_JSON");
}

// TR-02, TR-03, TR-04, TR-24: truncated, non-object, empty, deeply nested.
#[test]
fn tr02_tr03_tr04_tr24_malformed_bodies() {
    // TR-24: inside 64 KiB; a closed 30,000-deep array inside an object.
    let deep = "[".repeat(60_000);
    let nested = format!(r#"{{"a":{}{}}}"#, "[".repeat(30_000), "]".repeat(30_000));
    let cases: &[(&str, &str)] = &[
        ("{\"", "OAUTH_PARSE_ERROR"),        // TR-02
        ("null", "OAUTH_INVALID_RESPONSE"),  // TR-03
        ("[]", "OAUTH_INVALID_RESPONSE"),    // TR-03
        ("\"x\"", "OAUTH_INVALID_RESPONSE"), // TR-03
        ("42", "OAUTH_INVALID_RESPONSE"),    // TR-03
        ("true", "OAUTH_INVALID_RESPONSE"),  // TR-03
        ("", "OAUTH_INVALID_RESPONSE"),      // TR-04
        (&deep, "OAUTH_PARSE_ERROR"),        // TR-24
        (&nested, "OAUTH_PARSE_ERROR"),      // TR-24 (recursion limit)
    ];
    for (body, code) in cases {
        let mut s = kc_session();
        let e = refresh_rejected_without_change(&mut s, LATER, &json_response(200, body));
        assert_eq!(e.code(), *code, "{}", &body[..body.len().min(10)]);
    }
    assert_eq!(
        parse_kc("[1]").unwrap_err().to_string(),
        "\"response\" body must be a top level object"
    );
    assert_eq!(
        parse_kc("").unwrap_err().to_string(),
        "\"response\" body must not be empty"
    );
}

// TR-05, TR-06: access token missing or not a non-empty string.
#[test]
fn tr05_tr06_access_token_required() {
    let e = parse_kc(r#"{"token_type":"Bearer"}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"response\" body \"access_token\" property is required"
    );
    for v in [r#""""#, "null", "123", "{}", r#"["a"]"#] {
        let e = parse_kc(&format!(r#"{{"access_token":{v},"token_type":"Bearer"}}"#)).unwrap_err();
        assert_eq!(e.code(), "OAUTH_INVALID_RESPONSE", "{v}");
    }
    let cj = response::parse_token_response(
        &lgdx().profile,
        &json_response(200, r#"{"refreshToken":"r"}"#),
        T0,
    );
    assert_eq!(
        cj.unwrap_err().to_string(),
        "\"response\" body \"accessToken\" property is required"
    );
    let mut s = kc_session();
    refresh_rejected_without_change(
        &mut s,
        LATER,
        &json_response(200, r#"{"token_type":"Bearer"}"#),
    );
}

// TR-07, TR-08, TR-09, TR-10: token_type required for OAuth; bearer in any
// case; others unsupported; the JSON profile declares bearer.
#[test]
fn tr07_to_tr10_token_type() {
    let e = parse_kc(r#"{"access_token":"a"}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"response\" body \"token_type\" property is required"
    );
    for t in ["Bearer", "bearer", "BEARER"] {
        assert!(parse_kc(&format!(r#"{{"access_token":"a","token_type":"{t}"}}"#)).is_ok());
    }
    for t in ["mac", "N_A", "pop", "DPoP", "unknown"] {
        let e = parse_kc(&format!(r#"{{"access_token":"a","token_type":"{t}"}}"#)).unwrap_err();
        // A DPoP-bound token without a proof sent (RFC 9449 §5) is unusable.
        let code = if t == "DPoP" {
            "AUTH_DPOP_TOKEN_TYPE"
        } else {
            "OAUTH_UNSUPPORTED_OPERATION"
        };
        assert_eq!(e.code(), code, "{t}");
        let mut s = kc_session();
        let body = format!(r#"{{"access_token":"SENTINEL_AT_9","token_type":"{t}"}}"#);
        refresh_rejected_without_change(&mut s, LATER, &json_response(200, &body));
    }
    assert!(parse_kc(r#"{"access_token":"a","token_type":7}"#).is_err());
    // With DPoP the token must be `DPoP`, any case; a Bearer one would
    // drop the binding asked for.
    let mut dpop = keycloak();
    if let Profile::OAuth2(p) = &mut dpop.profile {
        p.dpop = true;
    }
    let parse = |t: &str| {
        let body = format!(r#"{{"access_token":"a","token_type":"{t}"}}"#);
        response::parse_token_response(&dpop.profile, &json_response(200, &body), T0)
    };
    assert!(parse("DPoP").is_ok() && parse("dpop").is_ok());
    for t in ["Bearer", "mac"] {
        assert_eq!(parse(t).unwrap_err().code(), "AUTH_DPOP_TOKEN_TYPE", "{t}");
    }
    assert!(
        response::parse_token_response(
            &lgdx().profile,
            &json_response(200, r#"{"accessToken":"a"}"#),
            T0
        )
        .is_ok()
    );
}

// TR-11: no expires_in → accepted, no proactive timer, still usable.
#[test]
fn tr11_no_expires_in() {
    let s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        r#"{"access_token":"SENTINEL_AT_1","token_type":"bearer","refresh_token":"SENTINEL_RT_1"}"#,
    );
    assert_eq!(s.tokens().unwrap().expires_at(), None);
    assert_eq!(s.poll_timeout(), None);
    assert!(s.access_token(T0.plus_millis(86_400_000)).is_some());
}

// TR-12, TR-13, TR-15: expires_in forms (pinned: numeric strings accepted,
// fractions floored).
#[test]
fn tr12_tr13_tr15_expires_in_forms() {
    let ok: &[(&str, u64)] = &[
        ("3600", 3600),
        (r#""3600""#, 3600),
        ("3600.7", 3600),
        (r#""3600.7""#, 3600),
        ("0", 0),
    ];
    for (v, want) in ok {
        let r = parse_kc(&format!(
            r#"{{"access_token":"a","token_type":"bearer","expires_in":{v}}}"#
        ))
        .unwrap();
        assert_eq!(
            r.expires(),
            Some(ExpiryHint::In {
                count: *want,
                unit_ms: 1_000
            }),
            "{v}"
        );
    }
    for v in [
        r#""abc""#,
        r#""3600s""#,
        "-1",
        "true",
        "{}",
        "null",
        r#""""#,
        r#""-1""#,
    ] {
        let e = parse_kc(&format!(
            r#"{{"access_token":"a","token_type":"bearer","expires_in":{v}}}"#
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"response\" body \"expires_in\" property must be a non-negative number",
            "{v}"
        );
        let mut s = kc_session();
        let body =
            format!(r#"{{"access_token":"SENTINEL_AT_9","token_type":"bearer","expires_in":{v}}}"#);
        refresh_rejected_without_change(&mut s, LATER, &json_response(200, &body));
    }
    // 1e309 overflows f64: serde_json refuses the number, a parse error.
    let e =
        parse_kc(r#"{"access_token":"a","token_type":"bearer","expires_in":1e309}"#).unwrap_err();
    assert_eq!(e.code(), "OAUTH_PARSE_ERROR");
}

// TR-14: expires_in 0 means "under a second" (a truncated lifetime): the
// token is handed out until 1 s after it arrived, no refresh is planned
// ahead of that, and under continuous demand it is renewed at most once a
// second: at its expiry, at once, with no minimum interval.
#[test]
fn tr14_expires_in_zero() {
    let mut s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1""#).replace("300", "0"),
    );
    assert!(s.access_token(T0.plus_millis(999)).is_some());
    assert!(s.access_token(T0.plus_millis(1_000)).is_none());
    assert_eq!(s.poll_timeout(), None);
    // Ahead of expiry the minimum interval applies.
    assert!(matches!(
        s.refresh(T0.plus_millis(500)),
        Err(Error::RetryLater { retry_in_ms: 4_500 })
    ));
    // Expired: renewed at once.
    let id = s.refresh(T0.plus_millis(1_000)).unwrap();
    drain(&mut s);
    s.handle_response(
        T0.plus_millis(1_000),
        id,
        &json_response(200, &kc_body("").replace("300", "0")),
    );
    drain(&mut s);
    assert!(s.access_token(T0.plus_millis(1_999)).is_some());
    assert!(matches!(
        s.refresh(T0.plus_millis(1_500)),
        Err(Error::RetryLater { .. })
    ));
    assert!(drain(&mut s).transmits.is_empty());
    assert!(s.refresh(T0.plus_millis(2_000)).is_ok());
}

// TR-16: a 1000-year lifetime never fires at once; timer delays clamp.
#[test]
fn tr16_huge_lifetime() {
    let s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1""#).replace("300", "31536000000"),
    );
    let at = s.poll_timeout().unwrap();
    assert_eq!(at, T0.plus_millis(31_536_000_000_000 - 300_000));
    let delay = tokenkeeper::core::expiry::timer_delay(T0, at);
    assert_eq!(delay, tokenkeeper::core::expiry::MAX_TIMER_DELAY_MS);
}

// TR-17, TR-18, TR-19, TR-20, TR-21: refresh_token and scope types, unknown
// members ignored, duplicates rejected, `__proto__` is just a member.
#[test]
fn tr17_to_tr21_members() {
    for v in ["null", r#""""#, "123"] {
        let mut s = kc_session();
        let e = refresh_rejected_without_change(
            &mut s,
            LATER,
            &json_response(200, &kc_body(&format!(r#","refresh_token":{v}"#))),
        );
        assert_eq!(e.code(), "OAUTH_INVALID_RESPONSE"); // TR-17
    }
    for v in ["null", "5"] {
        let e = parse_kc(&kc_body(&format!(r#","scope":{v}"#))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"response\" body \"scope\" property must be a string"
        ); // TR-18
    }
    assert_eq!(
        parse_kc(&kc_body(r#","scope":"""#)).unwrap().scope(),
        Some("")
    );
    let extras = r#","example_parameter":"x","not-before-policy":0,"session_state":"s","id_token":"e30.e30.x","__proto__":{"polluted":1},"constructor":{}"#;
    assert!(parse_kc(&kc_body(extras)).is_ok()); // TR-19, TR-21
    let dup = r#"{"access_token":"A","access_token":"B","token_type":"bearer"}"#;
    let e = parse_kc(dup).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"response\" body \"access_token\" property must not appear more than once"
    ); // TR-20
    let mut s = kc_session();
    refresh_rejected_without_change(&mut s, LATER, &json_response(200, dup));
}

// TR-22: header-injection characters in the access token.
#[test]
fn tr22_token_charset() {
    for t in ["abc\\r\\nX-Evil: 1", "a b", "a\\u0000b", "tökén", "a\\tb"] {
        let e = parse_kc(&format!(
            r#"{{"access_token":"{t}","token_type":"bearer"}}"#
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"response\" body \"access_token\" property must contain only visible ASCII characters",
            "{t}"
        );
        let mut s = kc_session();
        refresh_rejected_without_change(
            &mut s,
            LATER,
            &json_response(
                200,
                &format!(r#"{{"access_token":"{t}","token_type":"bearer"}}"#),
            ),
        );
    }
    assert!(parse_kc(r#"{"access_token":"a-._~+/b==","token_type":"bearer"}"#).is_ok());
}

// TR-23: body cap of 64 KiB.
#[test]
fn tr23_body_cap() {
    let big = format!(
        r#"{{"access_token":"{}","token_type":"bearer"}}"#,
        "a".repeat(response::MAX_BODY_BYTES)
    );
    let mut s = kc_session();
    let e = refresh_rejected_without_change(&mut s, LATER, &json_response(200, &big));
    assert_eq!(e.to_string(), "\"response\" body exceeds 65536 bytes");
    let fits = format!(
        r#"{{"access_token":"{}","token_type":"bearer"}}"#,
        "a".repeat(60_000)
    );
    assert!(parse_kc(&fits).is_ok());
}

// TR-25, TR-26, TR-27: content-type variants, text/plain (pinned: reject),
// BOM (pinned: skipped), invalid UTF-8.
#[test]
fn tr25_tr26_tr27_content_type_and_encoding() {
    let body = kc_body("");
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        " application/json ",
        "application/vnd.api+json",
    ] {
        let r = response(200, &[("content-type", ct)], &body);
        assert!(
            response::parse_token_response(&keycloak().profile, &r, T0).is_ok(),
            "{ct}"
        );
    }
    let plain = response(200, &[("Content-Type", "text/plain")], &body);
    let e = response::parse_token_response(&keycloak().profile, &plain, T0).unwrap_err();
    assert_eq!(e.code(), "OAUTH_RESPONSE_IS_NOT_JSON");
    let none = response(200, &[], &body);
    assert_eq!(
        response::parse_token_response(&keycloak().profile, &none, T0)
            .unwrap_err()
            .to_string(),
        "\"response\" content-type must be JSON, got none"
    );
    assert!(parse_kc(&format!("\u{feff}{body}")).is_ok());
    let mut bad = json_response(200, &body);
    bad.body.splice(17..17, [0xff, 0xfe]);
    assert_eq!(
        response::parse_token_response(&keycloak().profile, &bad, T0)
            .unwrap_err()
            .code(),
        "OAUTH_PARSE_ERROR"
    );
}

// TR-28, TS-02: JWT exp corrected by the server clock offset from `Date`.
#[test]
fn tr28_ts02_jwt_exp_with_server_offset() {
    // Server 10 min ahead of the client; exp = server now + 900 s.
    let server_now = T0.plus_millis(600_000);
    let at = jwt(&json!({"exp": secs(server_now) + 900}));
    let mut s = Session::new(lgdx()).unwrap();
    let id = s.login(T0, &password("a", "SENTINEL_PW_1")).unwrap();
    drain(&mut s);
    let date = "Tue, 14 Nov 2023 22:23:20 GMT"; // T0 + 600 s
    let r = response(
        200,
        &[("Content-Type", "application/json"), ("Date", date)],
        &format!(r#"{{"accessToken":"{at}","refreshToken":"SENTINEL_RT_1"}}"#),
    );
    s.handle_response(T0, id, &r);
    // Local expiry = T0 + 900 s (+ ≤ 500 ms for the Date header's rounding).
    let exp = s.tokens().unwrap().expires_at().unwrap();
    assert!(exp.0.abs_diff(T0.0 + 900_000) <= 500, "{exp:?}");
    // Without Date, `iat` serves (client behind by 10 min).
    let at = jwt(&json!({"iat": secs(T0) - 600, "exp": secs(T0) - 600 + 300}));
    let s = logged_in(
        lgdx(),
        &password("a", "SENTINEL_PW_1"),
        &format!(r#"{{"accessToken":"{at}"}}"#),
    );
    assert_eq!(
        s.tokens().unwrap().expires_at(),
        Some(T0.plus_millis(300_000))
    );
}

// TR-29: opaque or malformed JWT → login succeeds, expiry unknown.
#[test]
fn tr29_opaque_or_malformed_jwt() {
    for at in ["opaque-token", "a.b", "!!.??.x", &jwt(&json!({"exp": "x"}))] {
        let s = logged_in(
            lgdx(),
            &password("a", "SENTINEL_PW_1"),
            &format!(r#"{{"accessToken":"{at}","refreshToken":"SENTINEL_RT_1"}}"#),
        );
        assert_eq!(s.tokens().unwrap().expires_at(), None, "{at}");
        assert!(s.snapshot().claims.is_none());
    }
}

// TR-30, TR-31: refresh_expires_in 0 → no fixed maximum; invalid → ignored.
#[test]
fn tr30_tr31_refresh_expires_in() {
    let s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1","refresh_expires_in":0"#),
    );
    assert_eq!(s.tokens().unwrap().refresh_expires_at(), None);
    assert_eq!(s.status(), Status::Active);
    for v in ["-5", r#""x""#, "null", "{}"] {
        let s = logged_in(
            keycloak(),
            &password("a", "SENTINEL_PW_1"),
            &kc_body(&format!(
                r#","refresh_token":"SENTINEL_RT_1","refresh_expires_in":{v}"#
            )),
        );
        assert_eq!(s.tokens().unwrap().refresh_expires_at(), None, "{v}");
    }
    let s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1","refresh_expires_in":"1800""#),
    );
    assert_eq!(
        s.tokens().unwrap().refresh_expires_at(),
        Some(T0.plus_millis(1_800_000))
    );
}

// TR-32: client credentials ignore a refresh_token.
#[test]
fn tr32_client_credentials_ignore_refresh_token() {
    let s = logged_in(
        tnco(),
        &client_credentials(),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1""#),
    );
    assert!(s.tokens().unwrap().refresh_token().is_none());
    assert!(s.tokens().unwrap().renewable());
}

// TR-33, TR-34, TR-35: refresh without a refresh token (OAuth keeps the old
// one; single-use JSON discards it and ends at expiry); rotation in one Save.
#[test]
fn tr33_tr34_tr35_rotation_rules() {
    let mut s = kc_session();
    let id = s.refresh(LATER).unwrap();
    drain(&mut s);
    s.handle_response(LATER, id, &json_response(200, &kc_body("")));
    let out = drain(&mut s);
    assert!(matches!(
        out.events[..],
        [Event::Refreshed { rotated: false }]
    ));
    assert_eq!(
        s.tokens().unwrap().refresh_token().unwrap().secret(),
        "SENTINEL_RT_1"
    ); // TR-33
    assert_eq!(
        s.tokens().unwrap().refresh_expires_at(),
        Some(T0.plus_millis(1_800_000))
    );

    let mut s = logged_in(
        lgdx(),
        &password("a", "SENTINEL_PW_1"),
        r#"{"accessToken":"SENTINEL_AT_1","refreshToken":"SENTINEL_RT_1","expiresIn":60}"#,
    );
    let id = s.refresh(LATER).unwrap();
    drain(&mut s);
    s.handle_response(
        LATER,
        id,
        &json_response(200, r#"{"accessToken":"SENTINEL_AT_2","expiresIn":60}"#),
    );
    let out = drain(&mut s);
    assert_eq!(out.saves(), 1);
    assert!(s.tokens().unwrap().refresh_token().is_none()); // TR-34
    assert!(matches!(
        s.refresh(LATER.plus_millis(10_000)),
        Err(Error::NoRefreshToken)
    ));
    assert_eq!(s.poll_timeout(), Some(LATER.plus_millis(60_000)));
    s.handle_timeout(LATER.plus_millis(60_000));
    let out = drain(&mut s);
    assert_eq!(out.ended(), 1);
    assert_eq!(s.status(), Status::Ended(EndReason::AccessTokenExpired));

    // TR-35: both tokens in the single Save (see also tests/golden.rs).
    let mut s = kc_session();
    let id = s.refresh(LATER).unwrap();
    drain(&mut s);
    s.handle_response(
        LATER,
        id,
        &json_response(200, &kc_body(r#","refresh_token":"SENTINEL_RT_2""#)),
    );
    let out = drain(&mut s);
    assert_eq!(out.persists.len(), 1);
    let tokenkeeper::core::session::PersistOp::Save(saved) = &out.persists[0] else {
        panic!()
    };
    assert!(saved.secret().contains("SENTINEL_AT_2") && saved.secret().contains("SENTINEL_RT_2"));
}

// ---- 6.2 Error responses and challenges ---------------------------------

fn kc_refresh_answer(resp: &tokenkeeper::core::response::HttpResponse) -> (Session, Out) {
    let mut s = kc_session();
    let id = s.refresh(LATER).unwrap();
    drain(&mut s);
    s.handle_response(LATER, id, resp);
    let out = drain(&mut s);
    (s, out)
}

// ER-01, RQ-10: invalid_grant (and a 401 on the JSON refresh) end the
// session once, clear storage, and never retry.
#[test]
fn er01_rq10_terminal_refresh_failures() {
    let (mut s, out) = kc_refresh_answer(&json_response(
        400,
        r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
    ));
    assert_eq!(out.ended(), 1);
    assert_eq!(out.clears(), 1);
    assert!(out.transmits.is_empty());
    assert_eq!(s.status(), Status::Ended(EndReason::InvalidGrant));
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(LATER.plus_millis(10_000_000));
    assert!(matches!(
        s.refresh(LATER),
        Err(Error::SessionEnded {
            reason: EndReason::InvalidGrant
        })
    ));
    let out = drain(&mut s);
    assert_eq!((out.ended(), out.transmits.len()), (0, 0));

    let mut s = logged_in(
        lgdx(),
        &password("a", "SENTINEL_PW_1"),
        r#"{"accessToken":"SENTINEL_AT_1","refreshToken":"SENTINEL_RT_1","expiresIn":60}"#,
    );
    let id = s.refresh(LATER).unwrap();
    drain(&mut s);
    s.handle_response(
        LATER,
        id,
        &response(
            401,
            &[("WWW-Authenticate", r#"Bearer error="invalid_token""#)],
            "",
        ),
    );
    let out = drain(&mut s);
    assert_eq!(out.ended(), 1);
    assert!(out.transmits.is_empty());
}

// ER-02, ER-03, ER-04: login errors keep their code and status; no retry.
#[test]
fn er02_er03_er04_login_errors() {
    let e = login_rejected(
        keycloak(),
        &json_response(
            401,
            r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
        ),
    );
    assert_eq!(
        (e.code(), e.status(), e.error()),
        (
            "OAUTH_RESPONSE_BODY_ERROR",
            Some(401),
            Some("invalid_grant")
        )
    );
    assert_eq!(e.error_description(), Some("Invalid user credentials"));
    let basic = response(
        401,
        &[
            ("WWW-Authenticate", r#"Basic realm="x""#),
            ("Content-Type", "application/json"),
        ],
        r#"{"error":"invalid_client"}"#,
    );
    assert_eq!(
        login_rejected(tnco(), &basic).error(),
        Some("invalid_client")
    );
    let only_header = response(
        401,
        &[(
            "WWW-Authenticate",
            r#"Bearer error="invalid_client", error_description="bad""#,
        )],
        "",
    );
    assert_eq!(
        login_rejected(tnco(), &only_header).error(),
        Some("invalid_client")
    );
    for code in [
        "invalid_scope",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_request",
    ] {
        let e = login_rejected(
            keycloak(),
            &json_response(400, &format!(r#"{{"error":"{code}"}}"#)),
        );
        assert_eq!(e.error(), Some(code));
        assert!(!e.is_transient());
    }
}

// ER-05, ER-06, ER-18: no OAuth error body → HttpStatus; 4xx success body is
// an error.
#[test]
fn er05_er06_er18_status_errors() {
    for body in [
        r#"{"error":123}"#,
        r#"{"error":""}"#,
        r#"{"foo":1}"#,
        &kc_body(""),
    ] {
        let e = login_rejected(keycloak(), &json_response(400, body));
        assert_eq!(
            (e.code(), e.status()),
            ("OAUTH_RESPONSE_IS_NOT_CONFORM", Some(400)),
            "{body}"
        );
        assert_eq!(e.to_string(), "unexpected response status 400");
    }
    let html = response(400, &[("Content-Type", "text/html")], "<h1>Bad</h1>");
    assert_eq!(
        login_rejected(keycloak(), &html).code(),
        "OAUTH_RESPONSE_IS_NOT_CONFORM"
    );
}

// ER-07, SH-01: error_description truncated, control characters stripped,
// echoed secrets scrubbed.
#[test]
fn er07_sh01_error_description_hygiene() {
    // Within the 64 KiB body cap (a 1 MiB body is refused whole: TR-23).
    let long = format!("SENTINEL_PW_1 \u{0007}<script>{}", "x".repeat(60_000));
    let body = json!({"error": "invalid_grant", "error_description": long}).to_string();
    let e = login_rejected(keycloak(), &json_response(400, &body));
    let d = e.error_description().unwrap();
    assert!(d.chars().count() <= 512);
    assert!(d.starts_with("[redacted] <script>"));
    assert!(!d.chars().any(char::is_control));
}

// ER-08: an error body on a 200.
#[test]
fn er08_error_on_200() {
    let e = login_rejected(
        keycloak(),
        &json_response(200, r#"{"error":"bad_verification_code"}"#),
    );
    assert_eq!(e.error(), Some("bad_verification_code"));
    assert_eq!(e.status(), Some(200));
}

// ER-09, ER-10, ER-11, TS-08: transient failures back off (Retry-After
// honoured), keep the tokens, and never end the session.
#[test]
fn er09_er10_er11_ts08_transient_backoff() {
    for status in [500, 502, 503, 504, 408] {
        let (s, out) = kc_refresh_answer(&response(
            status,
            &[("Content-Type", "text/html")],
            "<html/>",
        ));
        let e = out.error().unwrap();
        assert!(
            e.is_transient() && e.code() == "AUTH_SERVER_UNAVAILABLE",
            "{status}"
        );
        assert_eq!(out.ended(), 0);
        assert_eq!(s.status(), Status::Active);
        assert_eq!(s.poll_timeout(), Some(LATER.plus_millis(500)));
    }
    let (mut s, out) = kc_refresh_answer(&response(429, &[("Retry-After", "120")], ""));
    assert!(matches!(
        out.error(),
        Some(Error::RateLimited {
            retry_after_ms: Some(120_000)
        })
    ));
    assert_eq!(s.poll_timeout(), Some(LATER.plus_millis(120_000)));
    assert!(matches!(
        s.refresh(LATER.plus_millis(119_999)),
        Err(Error::RetryLater { retry_in_ms: 1 })
    ));
    s.handle_timeout(LATER.plus_millis(119_999));
    assert!(drain(&mut s).transmits.is_empty());
    s.handle_timeout(LATER.plus_millis(120_000));
    assert_eq!(drain(&mut s).transmits.len(), 1);

    // ER-11: Retry-After forms (now = LATER = Tue, 14 Nov 2023 22:13:30 GMT).
    let ra = |v: &str| {
        response::retry_after(&response(429, &[("Retry-After", v)], ""), LATER, 3_600_000)
    };
    assert_eq!(ra("Tue, 14 Nov 2023 22:14:30 GMT"), Some(60_000));
    assert_eq!(ra("Tue, 14 Nov 2023 22:00:00 GMT"), Some(0));
    assert_eq!(ra("soon"), None);
    assert_eq!(ra("-5"), None);
    assert_eq!(ra("999999999"), Some(3_600_000));
    assert_eq!(ra("99999999999999999999999"), Some(3_600_000));
    // A past date still waits the base backoff, not 0.
    let (s, _) = kc_refresh_answer(&response(
        503,
        &[("Retry-After", "Tue, 14 Nov 2023 22:00:00 GMT")],
        "",
    ));
    assert_eq!(s.poll_timeout(), Some(LATER.plus_millis(1_000)));

    // TS-08: offline — exponential, jittered, capped.
    let mut s = kc_session();
    let mut now = LATER;
    let mut delays = Vec::new();
    for _ in 0..12 {
        s.set_jitter(0);
        let id = s.refresh(now).unwrap();
        drain(&mut s);
        s.handle_transport_error(now, id, TransportError::Network);
        let out = drain(&mut s);
        let Some(Event::RefreshFailed {
            retry_in_ms: Some(d),
            transient: true,
            ..
        }) = out.events.first()
        else {
            panic!()
        };
        delays.push(*d);
        now = now.plus_millis(*d);
    }
    assert_eq!(
        &delays[..7],
        &[500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000]
    );
    assert!(delays.iter().all(|d| *d <= 60_000));
    assert_eq!(s.status(), Status::Active);
}

// ER-12, ER-13: revocation on logout; local logout completes regardless.
#[test]
fn er12_er13_revocation() {
    let cfg = config(
        json!({"profile": {"kind": "oauth2", "tokenUrl": "https://as.example/token",
        "revocationUrl": "https://as.example/revoke", "clientId": "app"}}),
    );
    for (resp, want) in [
        (response(503, &[], ""), "AUTH_SERVER_UNAVAILABLE"),
        (
            json_response(400, r#"{"error":"unsupported_token_type"}"#),
            "OAUTH_RESPONSE_BODY_ERROR",
        ),
        (response(200, &[], ""), ""),
    ] {
        let mut s = logged_in(
            cfg.clone(),
            &password("a", "SENTINEL_PW_1"),
            &kc_body(r#","refresh_token":"SENTINEL_RT_1""#),
        );
        let id = s.logout(T0).unwrap();
        let out = drain(&mut s);
        assert_eq!(s.status(), Status::LoggedOut);
        assert_eq!(out.clears(), 1);
        let (_, req) = out.only_request();
        assert_eq!(req.url, "https://as.example/revoke");
        assert_eq!(
            String::from_utf8_lossy(&req.body),
            "token=SENTINEL_RT_1&token_type_hint=refresh_token&client_id=app"
        );
        s.handle_response(T0, id, &resp);
        let events = drain(&mut s).events;
        match &events[..] {
            [Event::Revoked] => assert_eq!(want, ""),
            [Event::RevocationFailed { error }] => assert_eq!(error.code(), want),
            other => panic!("{other:?}"),
        }
    }
}

// ER-14: 3xx is an error and is never followed.
#[test]
fn er14_redirects_are_errors() {
    for status in [301, 302, 307, 308] {
        let r = response(status, &[("Location", "https://evil.example/")], "");
        let e = login_rejected(keycloak(), &r);
        assert_eq!(
            (e.code(), e.status()),
            ("OAUTH_RESPONSE_IS_NOT_CONFORM", Some(status))
        );
        let (_, out) = kc_refresh_answer(&r);
        assert!(out.transmits.is_empty());
    }
}

// ER-15, ER-16: WWW-Authenticate parsing is linear and panic-free.
#[test]
fn er15_er16_www_authenticate() {
    let hostile = [
        ",".repeat(65_536),
        r#"Scheme realm="basic"#.to_owned(),
        "Basic realm=\"x\", ".repeat(10_000),
        r"Bearer realm=\f\o\o".to_owned(),
        "=".repeat(65_536),
        "\"".repeat(65_536),
        "a ".repeat(32_768),
    ];
    for h in &hostile {
        let start = std::time::Instant::now();
        let _ = challenge::parse(h);
        assert!(start.elapsed().as_millis() < 500, "slow on {}", &h[..10]);
    }
    assert_eq!(challenge::parse(&hostile[2]).len(), 10_000);
    let c = challenge::parse(r#"bearer ERROR_DESCRIPTION="x \"y\"", Error=invalid_token"#);
    assert_eq!(c[0].param("error"), Some("invalid_token"));
    assert_eq!(c[0].param("error_description"), Some("x \"y\""));
}

// ER-19: WWW-Authenticate on a 200 is ignored.
#[test]
fn er19_challenge_on_success_ignored() {
    let r = response(
        200,
        &[
            ("Content-Type", "application/json"),
            ("WWW-Authenticate", r#"Key realm="kong""#),
        ],
        &kc_body(""),
    );
    assert!(response::parse_token_response(&keycloak().profile, &r, T0).is_ok());
}

// ---- 6.3 Request construction ---------------------------------------------

fn basic_cfg(id: &str, secret: &str, auth: &str) -> Config {
    config(
        json!({"profile": {"kind": "oauth2", "tokenUrl": "https://as.example/token",
        "clientId": id, "clientSecret": secret, "clientAuth": auth}}),
    )
}

fn login_request(cfg: Config, creds: &Credentials) -> tokenkeeper::core::request::HttpRequest {
    let mut s = Session::new(cfg).unwrap();
    s.login(T0, creds).unwrap();
    drain(&mut s).only_request().1
}

fn basic_decoded(req: &tokenkeeper::core::request::HttpRequest) -> String {
    use base64ct::{Base64, Encoding};
    let h = req
        .header("authorization")
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap();
    String::from_utf8(Base64::decode_vec(h).unwrap()).unwrap()
}

// RQ-01, RQ-02, RQ-03: Basic encoding per RFC 6749 §2.3.1, and raw interop.
#[test]
fn rq01_rq02_rq03_basic_encoding() {
    let v = "client %&+-_.!~*'()";
    let req = login_request(basic_cfg(v, v, "basic"), &client_credentials());
    let enc = "client+%25%26%2B%2D%5F%2E%21%7E%2A%27%28%29";
    assert_eq!(basic_decoded(&req), format!("{enc}:{enc}"));
    assert_eq!(
        String::from_utf8_lossy(&req.body),
        "grant_type=client_credentials"
    );
    let req = login_request(
        basic_cfg("app", "a:b/c=d+é", "basic"),
        &client_credentials(),
    );
    assert_eq!(basic_decoded(&req), "app:a%3Ab%2Fc%3Dd%2B%C3%A9");
    let req = login_request(
        basic_cfg("app", "a:b/c=d+é", "basic-plain"),
        &client_credentials(),
    );
    assert_eq!(basic_decoded(&req), "app:a:b/c=d+é");
}

// RQ-04, RQ-06, RQ-09: secrets only in the body; POST, headers, no repeated
// or empty parameters; no scope on refresh.
#[test]
fn rq04_rq06_rq09_request_shape() {
    let cfg = config(
        json!({"profile": {"kind": "oauth2", "tokenUrl": "https://as.example/token?tenant=a",
        "clientId": "app", "clientSecret": "SENTINEL_CS_1", "clientAuth": "post", "scope": "",
        "extraParams": {"audience": "api", "resource": "https://r.example/"}}}),
    );
    let req = login_request(cfg.clone(), &password("u", "SENTINEL_PW_1"));
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://as.example/token?tenant=a");
    assert!(req.header("authorization").is_none());
    let pairs = tokenkeeper::platform::fake::decode_form(&req.body);
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "grant_type",
            "username",
            "password",
            "client_id",
            "client_secret",
            "audience",
            "resource"
        ]
    );
    assert!(pairs.iter().all(|(_, v)| !v.is_empty()));
    // Reserved names cannot be added twice through extraParams.
    let dup = config(
        json!({"profile": {"kind": "oauth2", "tokenUrl": "https://as.example/token",
        "clientId": "app", "extraParams": {"scope": "x"}}}),
    );
    assert_eq!(
        Session::new(dup).unwrap_err().to_string(),
        "\"extraParams\" must not repeat a parameter the grant sets"
    );
    // RQ-09: the KC refresh carries no scope even when login did.
    let scoped = config(
        json!({"profile": {"kind": "oauth2", "tokenUrl": "https://as.example/token", "clientId": "app", "scope": "openid"}}),
    );
    let mut s = logged_in(
        scoped,
        &password("u", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1""#),
    );
    s.refresh(LATER).unwrap();
    let (_, req) = drain(&mut s).only_request();
    assert_eq!(
        String::from_utf8_lossy(&req.body),
        "grant_type=refresh_token&refresh_token=SENTINEL_RT_1&client_id=app"
    );
}

// RQ-05: awkward passwords round-trip through form decoding.
#[test]
fn rq05_password_round_trip() {
    let pw = format!("&=+% 😀{}", "p".repeat(10_000));
    let req = login_request(keycloak(), &password("u&=", &pw));
    let pairs = tokenkeeper::platform::fake::decode_form(&req.body);
    assert_eq!(pairs[1], ("username".into(), "u&=".into()));
    assert_eq!(pairs[2], ("password".into(), pw));
}

// RQ-07: endpoint URLs are checked at construction.
#[test]
fn rq07_endpoint_urls() {
    for (url, msg) in [
        (
            "http://as.example/token",
            "\"tokenUrl\" must use https (http only on loopback or with allowInsecureHttp)",
        ),
        (
            "javascript:alert(1)",
            "\"tokenUrl\" must be an absolute http(s) URL",
        ),
        (
            "data:text/plain,x",
            "\"tokenUrl\" must be an absolute http(s) URL",
        ),
        ("/token", "\"tokenUrl\" must be an absolute http(s) URL"),
    ] {
        let e = Session::new(config(
            json!({"profile": {"kind": "oauth2", "tokenUrl": url, "clientId": "a"}}),
        ))
        .unwrap_err();
        assert_eq!((e.code(), e.to_string().as_str()), ("AUTH_CONFIG", msg));
    }
    let dev = config(
        json!({"allowInsecureHttp": true, "profile": {"kind": "oauth2", "tokenUrl": "http://as.example/t", "clientId": "a"}}),
    );
    assert!(Session::new(dev).is_ok());
    let loopback = config(
        json!({"profile": {"kind": "json", "loginUrl": "http://127.0.0.1:8080/login", "refreshUrl": "http://localhost:8080/refresh"}}),
    );
    assert!(Session::new(loopback).is_ok());
    // Typos in option names fail too.
    let typo = Config::from_value(
        &json!({"profile": {"kind": "oauth2", "tokenUrl": "https://a/t", "clientId": "a", "clientSecert": "x"}}),
    );
    assert_eq!(
        typo.unwrap_err().to_string(),
        "\"clientSecert\" is not an option"
    );
}

// RQ-08, RQ-11: static headers only on the JSON profile's own requests; the
// core sets no forbidden headers.
#[test]
fn rq08_rq11_headers() {
    let req = login_request(lgdx(), &password("u", "SENTINEL_PW_1"));
    let names: Vec<&str> = req.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["Accept", "Content-Type", "X-API-Key"]);
    for cfg in [keycloak(), tnco(), identity_manager()] {
        let req = login_request(cfg, &client_credentials());
        assert!(
            req.headers
                .iter()
                .all(|(k, _)| ["Accept", "Content-Type", "Authorization"].contains(&k.as_str()))
        );
    }
    let bad = config(
        json!({"profile": {"kind": "json", "loginUrl": "https://a/l", "refreshUrl": "https://a/r", "headers": {"Cookie": "x"}}}),
    );
    assert_eq!(
        Session::new(bad).unwrap_err().to_string(),
        "\"headers\" must not set a header the client sets"
    );
}

// Authorization code + PKCE S256 request building (RFC 7636).
#[test]
fn authorization_code_with_pkce() {
    let cfg = config(
        json!({"profile": {"kind": "oauth2", "tokenUrl": "https://as.example/token",
        "authorizationUrl": "https://as.example/authorize", "redirectUri": "https://app.example/cb",
        "clientId": "spa", "scope": "openid profile"}}),
    );
    let tokenkeeper::core::config::Profile::OAuth2(p) = &cfg.profile else {
        panic!()
    };
    let pkce = Pkce::from_random(&[7u8; 32]);
    assert_eq!(pkce.verifier.secret().len(), 43);
    let url = request::authorize_url(p, "st", "nn", &pkce.challenge).unwrap();
    assert_eq!(
        url,
        format!(
            "https://as.example/authorize?response_type=code&client_id=spa&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+profile&state=st&nonce=nn&code_challenge={}&code_challenge_method=S256",
            pkce.challenge
        )
    );
    let creds = Credentials::AuthorizationCode {
        code: tokenkeeper::core::secret::AuthCode::new("c0de"),
        code_verifier: pkce.verifier.clone(),
        redirect_uri: "https://app.example/cb".into(),
    };
    let req = login_request(cfg.clone(), &creds);
    assert_eq!(
        String::from_utf8_lossy(&req.body),
        format!(
            "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={}&scope=openid+profile&client_id=spa",
            pkce.verifier.secret()
        )
    );
}

// ---- 6.5 Concurrency (the session's part) ---------------------------------

// CC-08: a login as another user while a session is active replaces it
// whole: nothing of the first session (not its refresh token) survives.
#[test]
fn cc08_login_replaces_the_previous_session() {
    let mut s = kc_session();
    let id = s.login(LATER, &password("bob", "SENTINEL_PW_2")).unwrap();
    drain(&mut s);
    s.handle_response(
        LATER,
        id,
        &json_response(
            200,
            r#"{"access_token":"SENTINEL_AT_B","token_type":"Bearer","expires_in":300}"#,
        ),
    );
    let out = drain(&mut s);
    assert!(matches!(out.events[..], [Event::LoggedIn]));
    assert_eq!(s.tokens().unwrap().access_token().secret(), "SENTINEL_AT_B");
    assert!(s.tokens().unwrap().refresh_token().is_none());
    let tokenkeeper::core::session::PersistOp::Save(saved) = &out.persists[0] else {
        panic!()
    };
    assert!(!saved.secret().contains("SENTINEL_AT_1") && !saved.secret().contains("SENTINEL_RT_1"));
}

// CC-09: logout while a refresh is in flight; its late answer is stale: no
// event, no store write, no tokens.
#[test]
fn cc09_logout_discards_a_refresh_in_flight() {
    let mut s = kc_session();
    let id = s.refresh(LATER).unwrap();
    drain(&mut s);
    assert_eq!(s.logout(LATER), None);
    let out = drain(&mut s);
    assert_eq!(out.clears(), 1);
    assert!(matches!(out.events[..], [Event::LoggedOut]));
    s.handle_response(
        LATER,
        id,
        &json_response(200, &kc_body(r#","refresh_token":"SENTINEL_RT_2""#)),
    );
    let out = drain(&mut s);
    assert!(out.events.is_empty() && out.persists.is_empty() && out.transmits.is_empty());
    assert!(s.tokens().is_none());
    assert_eq!(s.status(), Status::LoggedOut);
}

// ---- 6.7 Network faults (the session's part) ------------------------------

// NF-01, NF-02, NF-03: a failed login is a typed transport error with no
// state and no automatic retry; a failed refresh keeps the tokens and the
// session, and backs off. Network, Timeout and Aborted stay distinct.
#[test]
fn nf01_nf02_nf03_transport_errors() {
    for (err, code) in [
        (TransportError::Network, "AUTH_NETWORK"),
        (TransportError::Timeout, "AUTH_TIMEOUT"),
        (TransportError::Aborted, "AUTH_ABORTED"),
    ] {
        let mut s = Session::new(keycloak()).unwrap();
        let id = s.login(T0, &password("alice", "SENTINEL_PW_1")).unwrap();
        drain(&mut s);
        s.handle_transport_error(T0, id, err);
        let out = drain(&mut s);
        let e = out.error().unwrap();
        assert_eq!(e.code(), code);
        assert_no_leak(&format!("{e} {e:?} {:?}", out.events));
        assert!(out.transmits.is_empty() && out.persists.is_empty());
        assert!(s.tokens().is_none());
        assert_eq!(s.status(), Status::LoggedOut);
        s.handle_timeout(T0.plus_millis(3_600_000));
        assert!(drain(&mut s).transmits.is_empty(), "a login is not retried");

        let mut s = kc_session();
        let before = held(&s);
        let id = s.refresh(LATER).unwrap();
        drain(&mut s);
        s.handle_transport_error(LATER, id, err);
        let out = drain(&mut s);
        assert_eq!(out.error().unwrap().code(), code);
        assert_eq!(out.error().unwrap().is_transient(), code != "AUTH_ABORTED");
        assert_eq!((out.ended(), out.saves(), out.clears()), (0, 0, 0));
        assert_eq!(held(&s), before);
        assert_eq!(s.status(), Status::Active);
        assert!(s.poll_timeout().is_some());
    }
}

// ---- 6.6 Time and scheduling ----------------------------------------------

// TS-01: client clock 10 min ahead; expires_in counts from the local send
// time, so no refresh loop.
#[test]
fn ts01_expires_in_is_skew_immune() {
    let s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1""#),
    );
    assert_eq!(
        s.tokens().unwrap().expires_at(),
        Some(T0.plus_millis(300_000))
    );
    assert_eq!(s.poll_timeout(), Some(T0.plus_millis(240_000)));
}

// TS-03: after a 2 h sleep the wall clock decides: refresh, or end when the
// refresh token expired.
#[test]
fn ts03_sleep_and_wake() {
    let mut s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1","refresh_expires_in":3600"#)
            .replace("300", "900"),
    );
    let wake = T0.plus_millis(2 * 3_600_000);
    assert!(s.access_token(wake).is_none());
    s.handle_timeout(wake);
    let out = drain(&mut s);
    assert_eq!((out.ended(), out.transmits.len()), (1, 0));
    assert_eq!(s.status(), Status::Ended(EndReason::RefreshTokenExpired));
    let mut s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        &kc_body(r#","refresh_token":"SENTINEL_RT_1","refresh_expires_in":36000"#),
    );
    s.handle_timeout(wake);
    assert_eq!(drain(&mut s).transmits.len(), 1);
}

// TS-05, TS-10: several wake-ups at once → one refresh.
#[test]
fn ts05_ts10_coalesced_wakeups() {
    let mut s = kc_session();
    let wake = T0.plus_millis(400_000);
    for _ in 0..3 {
        s.handle_timeout(wake);
        let _ = s.refresh(wake);
    }
    assert_eq!(drain(&mut s).transmits.len(), 1);
}

// TS-07: clock jumps backwards: no negative delay, no refresh storm.
#[test]
fn ts07_clock_backwards() {
    let mut s = kc_session();
    let back = UnixMillis(T0.0 - 3_600_000);
    s.handle_timeout(back);
    assert!(drain(&mut s).transmits.is_empty());
    let at = s.poll_timeout().unwrap();
    assert_eq!(at, T0.plus_millis(240_000));
    assert_eq!(tokenkeeper::core::expiry::timer_delay(back, at), 3_840_000);
    assert!(s.access_token(back).is_some());
}

// ---- 6.9 Secret hygiene ---------------------------------------------------

// SH-02: Debug of secrets, config, requests, responses, sessions redacts.
#[test]
fn sh02_debug_redacts() {
    let items = [
        format!("{:?}", AccessToken::new("SENTINEL_AT_1")),
        format!("{:?}", RefreshToken::new("SENTINEL_RT_1")),
        format!("{:?}", IdToken::new("SENTINEL_AT_id")),
        format!("{:?}", ClientSecret::new("SENTINEL_CS_1")),
        format!("{:?}", Password::new("SENTINEL_PW_1")),
        format!("{:?} {:?} {:?}", lgdx(), tnco(), identity_manager()),
        format!("{:?}", password("u", "SENTINEL_PW_1")),
        format!("{:?}", login_request(tnco(), &client_credentials())),
        format!("{:?}", json_response(200, "SENTINEL_AT_1")),
    ];
    for s in &items {
        assert_no_leak(s);
    }
    assert_eq!(items[1], "RefreshToken([redacted])");
    let mut s = kc_session();
    s.refresh(LATER).unwrap();
    assert_no_leak(&format!("{s:?} {:?} {:?}", drain(&mut s), s.snapshot()));
    assert_no_leak(&s.snapshot().to_json());
}

// SH-03, SH-05: a failed parse holds no body bytes, no request form.
#[test]
fn sh03_sh05_errors_hold_no_body() {
    let body =
        r#"{"access_token":"SENTINEL_AT_1","token_type":123,"refresh_token":"SENTINEL_RT_1"}"#;
    let mut s = kc_session();
    let e = refresh_rejected_without_change(&mut s, LATER, &json_response(200, body));
    assert_eq!(
        e.to_string(),
        "\"response\" body \"token_type\" property must be a string"
    );
    let e = parse_kc("{\"access_token\":\"SENTINEL_AT_1\"").unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"response\" body (31 bytes) is not valid JSON"
    );
    let e = login_rejected(
        keycloak(),
        &json_response(
            400,
            r#"{"error":"invalid_grant","error_description":"password SENTINEL_PW_1 wrong"}"#,
        ),
    );
    assert_eq!(e.error_description(), Some("password [redacted] wrong"));
}

// SH-06: the stored form holds tokens only, never the password or secret.
#[test]
fn sh06_password_never_persisted() {
    let mut s = Session::new(identity_manager()).unwrap();
    let id = s.login(T0, &client_credentials()).unwrap();
    drain(&mut s);
    s.handle_response(T0, id, &json_response(200, &kc_body("")));
    let out = drain(&mut s);
    let tokenkeeper::core::session::PersistOp::Save(saved) = &out.persists[0] else {
        panic!()
    };
    assert!(!saved.secret().contains("SENTINEL_CS"));
    let mut s = Session::new(keycloak()).unwrap();
    let id = s.login(T0, &password("u", "SENTINEL_PW_1")).unwrap();
    drain(&mut s);
    s.handle_response(T0, id, &json_response(200, &kc_body("")));
    let tokenkeeper::core::session::PersistOp::Save(saved) = &drain(&mut s).persists[0] else {
        panic!()
    };
    assert!(!saved.secret().contains("SENTINEL_PW"));
    assert_eq!(
        serde_json::from_str::<Value>(saved.secret()).unwrap()["v"],
        1
    );
}

// Persisted form: unknown versions and garbage are typed errors, no change.
#[test]
fn persisted_form_versions() {
    let mut s = kc_session();
    let before = held(&s);
    for text in [
        "",
        "garbage",
        "[]",
        r#"{"v":2,"accessToken":"x"}"#,
        r#"{"v":1}"#,
        r#"{"v":1,"accessToken":"a b","issuedAt":0,"renewal":"refreshToken"}"#,
        &format!(r#"{{"v":1,"accessToken":"{}"#, "a".repeat(5 << 20)),
    ] {
        let e = s.handle_restored(T0, Some(text)).unwrap_err();
        assert_eq!(e.code(), "AUTH_STORAGE_FORMAT", "{text}");
        assert_eq!(held(&s), before);
        assert!(drain(&mut s).events.is_empty());
    }
    // A `__proto__` member is an ordinary, ignored one (ST-03).
    let mut s = Session::new(keycloak()).unwrap();
    s.handle_restored(
        T0,
        Some(&format!(
            r#"{{"v":1,{KC_OWNER},"accessToken":"a","issuedAt":0,"renewal":"refreshToken","__proto__":{{"polluted":1}}}}"#
        )),
    )
    .unwrap();
    assert_eq!(s.tokens().unwrap().access_token().secret(), "a");
}

/// The owner members of a session stored by `keycloak()`.
const KC_OWNER: &str = r#""clientId":"apiax-api","endpoint":"https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/token""#;

// A session stored under the same key by a keeper for another endpoint or
// client is refused: its refresh token never goes to an endpoint that did
// not issue it, and its access token never reaches another client's calls.
#[test]
fn stored_session_of_another_owner_is_refused() {
    let mut kc = Session::new(keycloak()).unwrap();
    let id = kc.login(T0, &password("u", "p")).unwrap();
    kc.handle_response(T0, id, &json_response(200, &kc_body("")));
    let PersistOp::Save(saved) = &drain(&mut kc).persists[0] else {
        panic!("the login is saved")
    };
    let text = saved.secret();
    let stored: Value = serde_json::from_str(text).unwrap();
    assert_eq!(stored["clientId"], "apiax-api");
    assert_eq!(
        stored["endpoint"],
        "https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/token"
    );
    let with = |name: &str, v: Value| {
        let mut s = stored.clone();
        match v {
            Value::Null => s.as_object_mut().unwrap().remove(name),
            v => s.as_object_mut().unwrap().insert(name.into(), v),
        };
        s.to_string()
    };
    let other_client = with("clientId", json!("other"));
    let other_realm = with(
        "endpoint",
        json!("https://auth.apiax.io/auth/realms/other/protocol/openid-connect/token"),
    );
    let no_client = with("clientId", Value::Null);
    let no_endpoint = with("endpoint", Value::Null);
    for (config, stored) in [
        (tnco(), text),
        (lgdx(), text),
        (keycloak(), other_client.as_str()),
        (keycloak(), other_realm.as_str()),
        (keycloak(), no_client.as_str()),
        (keycloak(), no_endpoint.as_str()),
    ] {
        let mut s = Session::new(config).unwrap();
        let e = s.handle_restored(T0, Some(stored)).unwrap_err();
        assert_eq!(e.code(), "AUTH_STORAGE_FORMAT");
        assert!(s.tokens().is_none());
        let out = drain(&mut s);
        assert!(out.events.is_empty() && out.transmits.is_empty());
    }
    // By default each owner has its own key, so the clash above needs a
    // shared `storageKey`.
    let key = |c: Config| Owner::of(&c.profile).storage_key();
    assert_eq!(
        key(keycloak()),
        "tokenkeeper:https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/token apiax-api"
    );
    assert_eq!(
        key(lgdx()),
        "tokenkeeper:https://localhost:5163/Identity/Auth/Refresh"
    );
    assert_ne!(key(tnco()), key(identity_manager()));
    // The keeper that wrote it restores it.
    let mut s = Session::new(keycloak()).unwrap();
    s.handle_restored(T0, Some(text)).unwrap();
    assert!(s.tokens().is_some());
}
