//! Property tests: arbitrary responses never panic, and never change the
//! held or stored tokens unless they are a valid token response.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use proptest::prelude::*;
use support::*;
use tokenkeeper::core::challenge;
use tokenkeeper::core::response::{self, HttpResponse};
use tokenkeeper::core::session::{Event, Session};

fn header() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            Just("Content-Type".to_owned()),
            Just("Retry-After".to_owned()),
            Just("Date".to_owned()),
            Just("WWW-Authenticate".to_owned()),
            "[a-zA-Z-]{1,12}",
        ],
        prop_oneof![
            Just("application/json".to_owned()),
            Just("text/html".to_owned()),
            Just("Tue, 14 Nov 2023 22:13:20 GMT".to_owned()),
            Just("Bearer error=\"invalid_token\"".to_owned()),
            ".{0,40}",
        ],
    )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        ".{0,200}".prop_map(String::into_bytes),
        Just(
            br#"{"access_token":"SENTINEL_AT_new","token_type":"bearer","expires_in":60}"#.to_vec()
        ),
        Just(br#"{"error":"invalid_grant"}"#.to_vec()),
        (
            any::<bool>(),
            "[ -~]{0,20}",
            prop_oneof![
                Just("1".to_owned()),
                Just("\"x\"".to_owned()),
                Just("null".to_owned()),
                Just("[]".to_owned())
            ]
        )
            .prop_map(|(tt, tok, ex)| format!(
                r#"{{"access_token":"{tok}","token_type":"{}","expires_in":{ex}}}"#,
                if tt { "Bearer" } else { "mac" }
            )
            .into_bytes()),
    ]
}

fn resp() -> impl Strategy<Value = HttpResponse> {
    (
        prop_oneof![
            Just(200u16),
            Just(400),
            Just(401),
            Just(429),
            Just(503),
            Just(302),
            100u16..600
        ],
        proptest::collection::vec(header(), 0..4),
        body(),
    )
        .prop_map(|(status, headers, body)| HttpResponse {
            status,
            headers,
            body,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_refresh_answers_change_state_only_when_valid(r in resp()) {
        for cfg in [keycloak(), lgdx()] {
            let mut s = match cfg.profile {
                tokenkeeper::core::config::Profile::OAuth2(_) => kc_session(),
                tokenkeeper::core::config::Profile::Json(_) => logged_in(cfg.clone(), &password("a", "SENTINEL_PW_1"),
                    r#"{"accessToken":"SENTINEL_AT_1","refreshToken":"SENTINEL_RT_1","expiresIn":300}"#),
            };
            let before = held(&s);
            let now = T0.plus_millis(250_000);
            let valid = response::parse_token_response(&s.config().profile, &r, now).is_ok();
            let id = s.refresh(now).unwrap();
            drain(&mut s);
            s.handle_response(now, id, &r);
            let out = drain(&mut s);
            if valid {
                let refreshed = matches!(out.events[..], [Event::Refreshed { .. }]);
                prop_assert!(refreshed);
                prop_assert_eq!(out.saves(), 1);
            } else {
                prop_assert_eq!(out.saves(), 0);
                let ended = out.ended() == 1;
                prop_assert!(held(&s) == before || (ended && held(&s).is_none()));
                if let Some(e) = out.error() {
                    assert_no_leak(&format!("{e} {e:?}"));
                }
            }
        }
    }

    #[test]
    fn arbitrary_stored_text_never_panics(text in ".{0,200}") {
        let mut s = Session::new(keycloak()).unwrap();
        let ok = s.handle_restored(T0, Some(&text)).is_ok();
        prop_assert!(ok || s.tokens().is_none());
    }

    #[test]
    fn challenge_parser_never_panics(h in ".{0,300}") {
        let _ = challenge::parse(&h);
    }

    #[test]
    fn retry_after_is_capped(v in ".{0,40}") {
        let r = response(429, &[("Retry-After", &v)], "");
        prop_assert!(response::retry_after(&r, T0, 3_600_000).is_none_or(|ms| ms <= 3_600_000));
    }
}
