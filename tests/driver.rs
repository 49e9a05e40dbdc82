//! The async driver with the fakes: single-flight, cross-context refresh,
//! storage, logout, timers.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures::executor::{LocalPool, block_on};
use futures::future::join_all;
use std::cell::RefCell;
use std::rc::Rc;
use support::*;
use tokenkeeper::core::error::{EndReason, Error};
use tokenkeeper::core::response::TransportError;
use tokenkeeper::core::session::Event;
use tokenkeeper::driver::{Driver, DriverOptions};
use tokenkeeper::platform::fake::{Expect, FakePlatform, Reply};

const TOKEN_URL: &str = "https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/token";
const KEY: &str = "tokenkeeper";

fn kc_answer(at: &str, rt: &str, expires_in: u64) -> Reply {
    Reply::json(
        200,
        &format!(
            r#"{{"access_token":"{at}","token_type":"Bearer","expires_in":{expires_in},"refresh_token":"{rt}","refresh_expires_in":1800}}"#
        ),
    )
}

fn refresh_expect(rt: &str) -> Expect {
    Expect::post(TOKEN_URL).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", "apiax-api"),
    ])
}

fn logged_in_driver(p: &FakePlatform) -> Driver<FakePlatform> {
    let d = Driver::new(keycloak(), p.clone(), DriverOptions::default()).unwrap();
    p.http.expect(
        Expect::post(TOKEN_URL).form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "SENTINEL_PW_1"),
            ("client_id", "apiax-api"),
        ]),
        kc_answer("SENTINEL_AT_1", "SENTINEL_RT_1", 300),
    );
    block_on(d.login(password("alice", "SENTINEL_PW_1"))).unwrap();
    d
}

fn recorder(d: &Driver<FakePlatform>) -> Rc<RefCell<Vec<Event>>> {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&events);
    d.set_listener(Some(Rc::new(move |e: &Event| {
        sink.borrow_mut().push(e.clone())
    })));
    events
}

// CC single-flight: 1000 concurrent callers at expiry → exactly 1 refresh.
#[test]
fn thousand_callers_one_refresh() {
    let p = FakePlatform::at(T0);
    let d = logged_in_driver(&p);
    p.clock.advance(300_000); // exactly at expiry
    p.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        kc_answer("SENTINEL_AT_2", "SENTINEL_RT_2", 300),
    );
    let mut pool = LocalPool::new();
    let calls = (0..1000).map(|_| d.access_token());
    let tokens = pool.run_until(join_all(calls));
    assert!(
        tokens
            .iter()
            .all(|t| t.as_ref().unwrap().secret() == "SENTINEL_AT_2")
    );
    let refreshes = p
        .http
        .sent()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token"))
        .count();
    assert_eq!(refreshes, 1);
    assert_eq!(p.lock.acquired(), 1);
    p.http.assert_exhausted();
    assert!(p.store.peek(KEY).unwrap().contains("SENTINEL_RT_2"));
}

// A fresh token is returned without any request; storage survives a reload.
#[test]
fn fresh_token_and_restore() {
    let p = FakePlatform::at(T0);
    let d = logged_in_driver(&p);
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
    assert_eq!(d.state().status, "active");
    // 240 s minus the seeded jitter (at most 5 s).
    let wake = d.next_wakeup().unwrap();
    assert!(
        (T0.0 + 235_000..=T0.0 + 240_000).contains(&wake.0),
        "{wake:?}"
    );
    let other = Driver::new(keycloak(), p.sibling(), DriverOptions::default()).unwrap();
    block_on(other.restore()).unwrap();
    assert_eq!(
        block_on(other.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
    p.http.assert_exhausted();
    // Garbage in the store is a typed error; nothing changes.
    p.store.put(KEY, "{not json");
    let third = Driver::new(keycloak(), p.sibling(), DriverOptions::default()).unwrap();
    assert_eq!(
        block_on(third.restore()).unwrap_err().code(),
        "AUTH_STORAGE_FORMAT"
    );
    assert_eq!(third.state().status, "loggedOut");
}

// Cross-tab: tab B finds tab A's rotated tokens inside the lock and sends
// nothing.
#[test]
fn second_tab_adopts_rotated_tokens() {
    let a_platform = FakePlatform::at(T0);
    let a = logged_in_driver(&a_platform);
    let b_platform = a_platform.sibling();
    let b = Driver::new(keycloak(), b_platform.clone(), DriverOptions::default()).unwrap();
    block_on(b.restore()).unwrap();
    a_platform.clock.advance(250_000);
    a_platform.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        kc_answer("SENTINEL_AT_2", "SENTINEL_RT_2", 300),
    );
    assert_eq!(
        block_on(a.access_token()).unwrap().secret(),
        "SENTINEL_AT_2"
    );
    let events = recorder(&b);
    assert_eq!(
        block_on(b.access_token()).unwrap().secret(),
        "SENTINEL_AT_2"
    );
    assert!(b_platform.http.sent().is_empty());
    assert!(matches!(events.borrow()[..], [Event::Restored]));
}

// A refresh rejected because another context already rotated the token is
// not an end: the newer stored tokens are adopted (driver re-reads the
// store on 400/401; the session ignores a failure about a token it no
// longer holds).
#[test]
fn invalid_grant_after_rotation_elsewhere_adopts() {
    let p = FakePlatform::at(T0);
    let d = logged_in_driver(&p);
    p.clock.advance(250_000);
    // Simulate a context without the lock that rotated and stored first.
    let mut other = tokenkeeper::core::session::Session::new(keycloak()).unwrap();
    other
        .handle_restored(p.clock.now_for_test(), p.store.peek(KEY).as_deref())
        .unwrap();
    let id = other.refresh(p.clock.now_for_test()).unwrap();
    drain(&mut other);
    other.handle_response(p.clock.now_for_test(), id, &json_response(200, r#"{"access_token":"SENTINEL_AT_9","token_type":"Bearer","expires_in":300,"refresh_token":"SENTINEL_RT_9"}"#));
    let out = drain(&mut other);
    let tokenkeeper::core::session::PersistOp::Save(saved) = &out.persists[0] else {
        panic!()
    };
    let saved = saved.secret().to_owned();
    // Our refresh goes out with RT_1 and the store changes while it flies.
    let store = p.store.clone();
    p.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        Reply::json(400, r#"{"error":"invalid_grant"}"#),
    );
    let events = recorder(&d);
    let mut pool = LocalPool::new();
    let token = pool.run_until(async {
        let mut call = std::pin::pin!(d.access_token());
        // Polls until the request is in flight (lock taken, store read).
        while p.http.sent().is_empty() {
            let pending = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::future::Future::poll(call.as_mut(), cx).is_pending())
            })
            .await;
            assert!(pending);
        }
        store.put(KEY, &saved);
        call.await
    });
    assert_eq!(token.unwrap().secret(), "SENTINEL_AT_9");
    assert_eq!(d.state().status, "active");
    assert!(
        !events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::SessionEnded { .. }))
    );
}

// CC-02: another tab rotated and stored; on the store-change signal this
// tab adopts the new tokens without a request, and a spurious signal
// changes nothing.
#[test]
fn store_change_adopts_rotation_elsewhere() {
    let a_platform = FakePlatform::at(T0);
    let a = logged_in_driver(&a_platform);
    let b_platform = a_platform.sibling();
    let b = Driver::new(keycloak(), b_platform.clone(), DriverOptions::default()).unwrap();
    block_on(b.restore()).unwrap();
    let events = recorder(&b);
    a_platform.clock.advance(250_000);
    a_platform.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        kc_answer("SENTINEL_AT_2", "SENTINEL_RT_2", 300),
    );
    block_on(a.refresh()).unwrap();
    block_on(b.handle_store_changed());
    assert!(matches!(events.borrow()[..], [Event::Restored]));
    assert_eq!(b.state().expires_at, a.state().expires_at);
    assert_eq!(
        block_on(b.access_token()).unwrap().secret(),
        "SENTINEL_AT_2"
    );
    block_on(b.handle_store_changed());
    assert_eq!(events.borrow().len(), 1);
    assert!(b_platform.http.sent().is_empty());
}

// CC-07: a logout in another tab ends this one on the store-change signal,
// once, with `cleared_elsewhere`, and without a request.
#[test]
fn store_change_logout_elsewhere_ends() {
    let a_platform = FakePlatform::at(T0);
    let a = logged_in_driver(&a_platform);
    let b_platform = a_platform.sibling();
    let b = Driver::new(keycloak(), b_platform.clone(), DriverOptions::default()).unwrap();
    block_on(b.restore()).unwrap();
    let events = recorder(&b);
    block_on(a.logout()).unwrap();
    block_on(b.handle_store_changed());
    block_on(b.handle_store_changed());
    assert!(matches!(
        events.borrow()[..],
        [Event::SessionEnded {
            reason: EndReason::ClearedElsewhere
        }]
    ));
    assert_eq!(b.state().ended_reason, Some("cleared_elsewhere"));
    assert_eq!(b.next_wakeup(), None);
    assert_eq!(
        block_on(b.access_token()).unwrap_err().code(),
        "AUTH_SESSION_ENDED"
    );
    assert!(b_platform.http.sent().is_empty());
    assert_eq!(a_platform.store.peek(KEY), None);
}

// CC-07/CC-09: a logout elsewhere while this tab's refresh is in flight:
// the answer is discarded, the store stays empty, no `Refreshed`.
#[test]
fn store_change_logout_discards_refresh_in_flight() {
    let a_platform = FakePlatform::at(T0);
    let a = logged_in_driver(&a_platform);
    let b_platform = a_platform.sibling();
    let b = Driver::new(keycloak(), b_platform.clone(), DriverOptions::default()).unwrap();
    block_on(b.restore()).unwrap();
    let events = recorder(&b);
    b_platform.clock.advance(250_000);
    b_platform.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        kc_answer("SENTINEL_AT_2", "SENTINEL_RT_2", 300),
    );
    let mut pool = LocalPool::new();
    let result = pool.run_until(async {
        let mut call = std::pin::pin!(b.access_token());
        while !b.state().busy {
            let pending = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::future::Future::poll(call.as_mut(), cx).is_pending())
            })
            .await;
            assert!(pending);
        }
        // A clears the store and tells the others at once; its revocation
        // waits for the lock B holds for its refresh.
        let mut logout = std::pin::pin!(a.logout());
        let pending = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(logout.as_mut(), cx).is_pending())
        })
        .await;
        assert!(pending);
        assert_eq!(a.state().status, "loggedOut");
        b.handle_store_changed().await;
        let result = call.await;
        logout.await.unwrap();
        result
    });
    assert_eq!(result.unwrap_err().code(), "AUTH_SESSION_ENDED");
    b_platform.http.assert_exhausted();
    assert_eq!(a_platform.store.peek(KEY), None);
    assert_eq!(b.state().status, "ended");
    assert!(
        !events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::Refreshed { .. }))
    );
}

// store_settle_ms: a tab about to refresh waits and re-reads; another
// tab's write that lands meanwhile is adopted and nothing is sent.
#[test]
fn settle_rereads_before_refreshing() {
    let a_platform = FakePlatform::at(T0);
    let a = logged_in_driver(&a_platform);
    let b_platform = a_platform.sibling();
    let options = DriverOptions {
        store_settle_ms: 50,
        ..DriverOptions::default()
    };
    let b = Driver::new(keycloak(), b_platform.clone(), options).unwrap();
    block_on(b.restore()).unwrap();
    let old = a_platform.store.peek(KEY).unwrap();
    a_platform.clock.advance(250_000);
    a_platform.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        kc_answer("SENTINEL_AT_2", "SENTINEL_RT_2", 300),
    );
    block_on(a.refresh()).unwrap();
    let rotated = a_platform.store.peek(KEY).unwrap();
    // B's read at the grant is stale: the store still shows the old pair
    // until the settle wait (which moves the fake clock) has passed.
    b_platform.store.put(KEY, &old);
    let start = b_platform.clock.now_for_test().0;
    let mut pool = LocalPool::new();
    let token = pool.run_until(async {
        let mut call = std::pin::pin!(b.access_token());
        while b_platform.clock.now_for_test().0 < start + 50 {
            let pending = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::future::Future::poll(call.as_mut(), cx).is_pending())
            })
            .await;
            assert!(pending);
        }
        b_platform.store.put(KEY, &rotated);
        call.await
    });
    assert_eq!(token.unwrap().secret(), "SENTINEL_AT_2");
    assert!(b_platform.http.sent().is_empty());
}

// ST-08: a store-change signal with hostile text in the store is reported
// and otherwise ignored: the session keeps its tokens.
#[test]
fn store_change_with_garbage_keeps_the_session() {
    let p = FakePlatform::at(T0);
    let d = logged_in_driver(&p);
    let events = recorder(&d);
    for text in ["{not json", r#"{"__proto__":{"polluted":1}}"#, r#"{"v":9}"#] {
        p.store.put(KEY, text);
        block_on(d.handle_store_changed());
        assert_eq!(d.state().status, "active");
        assert_eq!(
            block_on(d.access_token()).unwrap().secret(),
            "SENTINEL_AT_1"
        );
    }
    let failed = events
        .borrow()
        .iter()
        .filter(|e| matches!(e, Event::StorageFailed { error } if error.code() == "AUTH_STORAGE_FORMAT"))
        .count();
    assert_eq!(failed, 3);
    assert!(p.http.sent().len() == 1, "only the login was sent");
}

// A login in another tab is adopted by a logged-out tab.
#[test]
fn store_change_adopts_login_elsewhere() {
    let a_platform = FakePlatform::at(T0);
    let b = Driver::new(keycloak(), a_platform.sibling(), DriverOptions::default()).unwrap();
    block_on(b.restore()).unwrap();
    assert_eq!(b.state().status, "loggedOut");
    let _a = logged_in_driver(&a_platform);
    block_on(b.handle_store_changed());
    assert_eq!(b.state().status, "active");
    assert_eq!(
        block_on(b.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
}

// ER-01 through the driver: invalid_grant ends once, clears the store, and
// later calls fail fast without requests.
#[test]
fn invalid_grant_ends_once() {
    let p = FakePlatform::at(T0);
    let d = logged_in_driver(&p);
    let events = recorder(&d);
    p.clock.advance(300_000);
    p.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        Reply::json(400, r#"{"error":"invalid_grant"}"#),
    );
    let err = block_on(d.access_token()).unwrap_err();
    assert!(matches!(
        err,
        Error::SessionEnded {
            reason: EndReason::InvalidGrant
        }
    ));
    assert_eq!(p.store.peek(KEY), None);
    for _ in 0..3 {
        assert_eq!(
            block_on(d.access_token()).unwrap_err().code(),
            "AUTH_SESSION_ENDED"
        );
        block_on(d.handle_timer()).unwrap();
    }
    let ended = events
        .borrow()
        .iter()
        .filter(|e| matches!(e, Event::SessionEnded { .. }))
        .count();
    assert_eq!(ended, 1);
    p.http.assert_exhausted();
    assert_eq!(d.next_wakeup(), None);
}

// A transient failure while the token is still fresh returns that token.
#[test]
fn transient_failure_keeps_fresh_token() {
    let p = FakePlatform::at(T0);
    let d = logged_in_driver(&p);
    p.clock.advance(250_000); // due (240 s) but fresh until 300 s
    p.http.expect(
        refresh_expect("SENTINEL_RT_1"),
        Reply::Fail(TransportError::Network),
    );
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
    // During backoff, no request; the fresh token is still served.
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
    p.http.assert_exhausted();
}

// Lock timeout surfaces as AUTH_LOCK_TIMEOUT; nothing is sent.
#[test]
fn lock_timeout() {
    let p = FakePlatform::at(T0);
    let d = logged_in_driver(&p);
    p.clock.advance(300_000);
    p.lock.set_unavailable(true);
    assert_eq!(
        block_on(d.access_token()).unwrap_err().code(),
        "AUTH_LOCK_TIMEOUT"
    );
    assert_eq!(
        block_on(d.refresh()).unwrap_err().code(),
        "AUTH_LOCK_TIMEOUT"
    );
}

// ER-12: logout revokes; a 503 is reported and the local logout completes.
#[test]
fn logout_with_failing_revocation() {
    let cfg = config(
        serde_json::json!({"profile": {"kind": "oauth2", "tokenUrl": TOKEN_URL,
        "revocationUrl": "https://auth.example/revoke", "clientId": "apiax-api"}}),
    );
    let p = FakePlatform::at(T0);
    let d = Driver::new(cfg, p.clone(), DriverOptions::default()).unwrap();
    p.http.expect(
        Expect::post(TOKEN_URL),
        kc_answer("SENTINEL_AT_1", "SENTINEL_RT_1", 300),
    );
    block_on(d.login(password("a", "SENTINEL_PW_1"))).unwrap();
    assert!(p.store.peek(KEY).is_some());
    let events = recorder(&d);
    p.http.expect(
        Expect::post("https://auth.example/revoke").form(&[
            ("token", "SENTINEL_RT_1"),
            ("token_type_hint", "refresh_token"),
            ("client_id", "apiax-api"),
        ]),
        Reply::with(503, &[], b""),
    );
    block_on(d.logout()).unwrap();
    assert_eq!(p.store.peek(KEY), None);
    assert_eq!(d.state().status, "loggedOut");
    assert!(matches!(
        events.borrow()[..],
        [Event::LoggedOut, Event::RevocationFailed { .. }]
    ));
    assert_eq!(
        block_on(d.access_token()).unwrap_err().code(),
        "AUTH_NO_SESSION"
    );
}

// Store failures are reported, not fatal to the in-memory session.
#[test]
fn storage_failure_is_reported() {
    let p = FakePlatform::at(T0);
    let d = Driver::new(keycloak(), p.clone(), DriverOptions::default()).unwrap();
    let events = recorder(&d);
    p.store.set_failing(true);
    p.http.expect(
        Expect::post(TOKEN_URL),
        kc_answer("SENTINEL_AT_1", "SENTINEL_RT_1", 300),
    );
    block_on(d.login(password("a", "SENTINEL_PW_1"))).unwrap();
    assert!(
        events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::StorageFailed { error } if error.code() == "AUTH_STORAGE"))
    );
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
}

// run(): the Sleeper drives refreshes until the session ends; a client
// credentials session renews by re-running the grant.
#[test]
fn run_drives_timers_until_end() {
    let p = FakePlatform::at(T0);
    let d = Driver::new(tnco(), p.clone(), DriverOptions::default()).unwrap();
    let cc = || {
        Expect::post("https://app.lm:32443/oauth/token")
            .form(&[("grant_type", "client_credentials"), ("scope", "all")])
    };
    let answer = |n: u32| {
        Reply::json(
            200,
            &format!(
                r#"{{"access_token":"SENTINEL_AT_{n}","token_type":"bearer","expires_in":1199,"scope":"all"}}"#
            ),
        )
    };
    p.http
        .expect(cc(), answer(1))
        .expect(cc(), answer(2))
        .expect(cc(), answer(3));
    p.http
        .expect(cc(), Reply::json(401, r#"{"error":"invalid_client"}"#));
    block_on(d.login(client_credentials())).unwrap();
    let events = recorder(&d);
    block_on(d.run());
    p.http.assert_exhausted();
    assert_eq!(d.state().status, "ended");
    let refreshed = events
        .borrow()
        .iter()
        .filter(|e| matches!(e, Event::Refreshed { .. }))
        .count();
    assert_eq!(refreshed, 2);
    // Each renewal came ahead of expiry (jittered, at most 5 s earlier than 959.2 s).
    assert!(p.clock.now_for_test().0 - T0.0 <= 3 * 959_200);
}

/// Reads the manual clock without importing the trait at every call.
trait NowForTest {
    fn now_for_test(&self) -> tokenkeeper::core::time::UnixMillis;
}

impl NowForTest for tokenkeeper::platform::fake::ManualClock {
    fn now_for_test(&self) -> tokenkeeper::core::time::UnixMillis {
        tokenkeeper::platform::Clock::now(self)
    }
}
