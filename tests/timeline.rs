//! A manual-clock timeline through the session: login → scheduled refresh →
//! rotation → transient failure → backoff → terminal failure → ended once,
//! with no refresh after it.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::*;
use tokenkeeper::core::error::EndReason;
use tokenkeeper::core::response::TransportError;
use tokenkeeper::core::session::{Event, Session, Status};
use tokenkeeper::core::time::UnixMillis;
use tokenkeeper::platform::Clock;
use tokenkeeper::platform::fake::ManualClock;

fn kc(at: &str, rt: &str) -> String {
    format!(
        r#"{{"access_token":"{at}","token_type":"Bearer","expires_in":300,"refresh_token":"{rt}","refresh_expires_in":1800}}"#
    )
}

#[test]
fn login_refresh_rotate_backoff_end() {
    let clock = ManualClock::at(T0);
    let mut s = Session::new(keycloak()).unwrap();
    s.set_jitter(0);

    // Login.
    let id = s
        .login(clock.now(), &password("alice", "SENTINEL_PW_1"))
        .unwrap();
    drain(&mut s);
    s.handle_response(
        clock.now(),
        id,
        &json_response(200, &kc("SENTINEL_AT_1", "SENTINEL_RT_1")),
    );
    assert!(matches!(drain(&mut s).events[..], [Event::LoggedIn]));

    // A spurious early timer does nothing.
    s.handle_timeout(clock.now().plus_millis(1_000));
    assert!(drain(&mut s).transmits.is_empty());

    // The state names the planned refresh: 80 % of the 300 s lifetime.
    assert_eq!(s.snapshot().refresh_at, Some(T0.plus_millis(240_000).0));

    // Scheduled refresh at 240 s; the answer rotates the refresh token.
    clock.set(s.poll_timeout().unwrap());
    assert_eq!(clock.now(), T0.plus_millis(240_000));
    s.handle_timeout(clock.now());
    let out = drain(&mut s);
    assert!(matches!(out.events[..], [Event::Refreshing]));
    let (id, req) = out.only_request();
    assert!(String::from_utf8_lossy(&req.body).contains("refresh_token=SENTINEL_RT_1"));
    // While in flight: no timer, and a second refresh joins.
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.refresh(clock.now()).unwrap(), id);
    clock.advance(200);
    s.handle_response(
        clock.now(),
        id,
        &json_response(200, &kc("SENTINEL_AT_2", "SENTINEL_RT_2")),
    );
    let out = drain(&mut s);
    assert!(matches!(
        out.events[..],
        [Event::Refreshed { rotated: true }]
    ));
    assert_eq!(out.saves(), 1);
    // A late duplicate answer to the same id is stale.
    s.handle_response(
        clock.now(),
        id,
        &json_response(200, &kc("SENTINEL_AT_X", "SENTINEL_RT_X")),
    );
    assert!(drain(&mut s).events.is_empty());
    assert_eq!(s.tokens().unwrap().access_token().secret(), "SENTINEL_AT_2");

    // Next refresh fails on the network: backoff 500 ms (jitter 0), tokens kept.
    clock.set(s.poll_timeout().unwrap());
    s.handle_timeout(clock.now());
    let (id, _) = drain(&mut s).only_request();
    s.handle_transport_error(clock.now(), id, TransportError::Timeout);
    let out = drain(&mut s);
    assert!(matches!(
        out.events[..],
        [Event::RefreshFailed {
            transient: true,
            retry_in_ms: Some(500),
            ..
        }]
    ));
    assert_eq!(s.tokens().unwrap().access_token().secret(), "SENTINEL_AT_2");
    assert_eq!(s.poll_timeout(), Some(clock.now().plus_millis(500)));
    assert_eq!(
        s.snapshot().refresh_at,
        Some(clock.now().plus_millis(500).0)
    );

    // Then a 503: the next delay doubles.
    clock.advance(500);
    s.handle_timeout(clock.now());
    let (id, _) = drain(&mut s).only_request();
    s.handle_response(clock.now(), id, &response(503, &[], ""));
    let out = drain(&mut s);
    assert!(matches!(
        out.events[..],
        [Event::RefreshFailed {
            retry_in_ms: Some(1_000),
            ..
        }]
    ));

    // Then invalid_grant: the session ends exactly once and storage clears.
    clock.advance(1_000);
    s.handle_timeout(clock.now());
    let (id, _) = drain(&mut s).only_request();
    s.handle_response(
        clock.now(),
        id,
        &json_response(400, r#"{"error":"invalid_grant"}"#),
    );
    let out = drain(&mut s);
    assert_eq!(out.ended(), 1);
    assert_eq!(out.clears(), 1);
    assert_eq!(s.snapshot().refresh_at, None);
    assert!(matches!(
        out.events[..],
        [
            Event::RefreshFailed {
                transient: false,
                retry_in_ms: None,
                ..
            },
            Event::SessionEnded {
                reason: EndReason::InvalidGrant
            }
        ]
    ));
    assert_eq!(s.status(), Status::Ended(EndReason::InvalidGrant));
    assert!(s.access_token(clock.now()).is_none());

    // Nothing more, whatever time does.
    for step in [0, 1_000, 3_600_000, 86_400_000 * 30] {
        let t = UnixMillis(clock.now().0 + step);
        s.handle_timeout(t);
        assert!(s.refresh(t).is_err());
        s.handle_transport_error(t, id, TransportError::Network);
        let out = drain(&mut s);
        assert!(out.transmits.is_empty() && out.events.is_empty() && out.persists.is_empty());
        assert_eq!(s.poll_timeout(), None);
    }
}

// TS-03 variant on a timeline: the refresh token's own expiry ends the
// session at that instant, through the timer.
#[test]
fn refresh_token_expiry_ends_via_timer() {
    let mut s = logged_in(
        keycloak(),
        &password("a", "SENTINEL_PW_1"),
        r#"{"access_token":"SENTINEL_AT_1","token_type":"Bearer","expires_in":3600,"refresh_token":"SENTINEL_RT_1","refresh_expires_in":600}"#,
    );
    // The refresh token's refresh-ahead time comes first (600 s: 120 s ahead).
    assert_eq!(s.poll_timeout(), Some(T0.plus_millis(480_000)));
    // The app slept through it; at 600 s the session ends without a request.
    s.handle_timeout(T0.plus_millis(600_000));
    let out = drain(&mut s);
    assert_eq!((out.ended(), out.transmits.len()), (1, 0));
    assert_eq!(s.status(), Status::Ended(EndReason::RefreshTokenExpired));
}
