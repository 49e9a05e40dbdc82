//! The renewal timing model through the driver, against token servers
//! simulated on the manual clock: short-lived tokens with many callers at
//! expiry, Spring Security OAuth's re-issued tokens, callers waiting out a
//! backoff, tokens an API rejected, and the order of a logout.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures::executor::{LocalPool, block_on};
use futures::future::join_all;
use futures::task::LocalSpawnExt;
use serde_json::json;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use support::*;
use tokenkeeper::core::config::Config;
use tokenkeeper::core::error::{EndReason, Error};
use tokenkeeper::core::request::HttpRequest;
use tokenkeeper::core::response::{HttpResponse, TransportError};
use tokenkeeper::core::session::Event;
use tokenkeeper::core::time::UnixMillis;
use tokenkeeper::driver::{Driver, DriverOptions};
use tokenkeeper::platform::fake::{
    FakeProofKey, FakeSleeper, LocalLock, ManualClock, MemoryStore, SeededRandom,
};
use tokenkeeper::platform::{Clock, CrossTabLock, HttpTransport, Platform, TokenStore};

const KC_URL: &str = "https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/token";
const KC_REVOKE: &str = "https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/revoke";
const KEY: &str = "tokenkeeper";

/// Yields once, so that a request is really asynchronous.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// How the simulated token endpoint behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Keycloak with rotation: password and refresh_token grants, each
    /// refresh token works once.
    Rotating,
    /// Spring Security OAuth's `DefaultTokenServices`: client credentials;
    /// while the stored token is unexpired the same one comes back with
    /// `expires_in` = the remaining whole seconds (truncated).
    Spring,
}

struct Server {
    style: Style,
    clock: ManualClock,
    ttl_ms: u64,
    /// Half of the round trip, spent before and after the server's work.
    half_rtt_ms: u64,
    /// The live access token and its expiry (server time).
    token: Option<(String, u64)>,
    refresh_token: Option<String>,
    issued: u32,
    reissued: u32,
    requests: u32,
    /// Answers to give before the real ones: status and Retry-After.
    faults: Vec<(u16, Option<&'static str>)>,
    /// Everything that happened, in order (`token`, `revoke <token>`).
    log: Rc<RefCell<Vec<String>>>,
    /// While set, answers are held back after the server acted on them.
    hold: bool,
    held: Option<std::task::Waker>,
}

impl Server {
    fn new(style: Style, clock: &ManualClock, ttl_ms: u64) -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(Self {
            style,
            clock: clock.clone(),
            ttl_ms,
            half_rtt_ms: 10,
            token: None,
            refresh_token: None,
            issued: 0,
            reissued: 0,
            requests: 0,
            faults: Vec::new(),
            log: Rc::new(RefCell::new(Vec::new())),
            hold: false,
            held: None,
        }))
    }

    /// Whether `token` is live at the server now.
    fn accepts(&self, token: &str) -> bool {
        let now = self.clock.now().0;
        self.token
            .as_ref()
            .is_some_and(|(t, exp)| t == token && now < *exp)
    }

    fn answer(&mut self, req: &HttpRequest) -> HttpResponse {
        let now = self.clock.now().0;
        let form = tokenkeeper::platform::fake::decode_form(&req.body);
        let param = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if req.url == KC_REVOKE {
            self.log
                .borrow_mut()
                .push(format!("revoke {}", param("token").unwrap_or_default()));
            self.refresh_token = None;
            self.token = None;
            return json_response(200, "");
        }
        self.requests += 1;
        self.log.borrow_mut().push("token".into());
        if !self.faults.is_empty() {
            let (status, retry_after) = self.faults.remove(0);
            let headers: Vec<(&str, &str)> =
                retry_after.iter().map(|v| ("retry-after", *v)).collect();
            return response(status, &headers, r#"{"error":"temporarily_unavailable"}"#);
        }
        match self.style {
            Style::Spring => {
                if let Some((t, exp)) = self.token.clone().filter(|(_, exp)| now < *exp) {
                    self.reissued += 1;
                    return self.tokens(&t, None, exp.saturating_sub(now) / 1_000);
                }
            }
            Style::Rotating => {
                if param("grant_type").as_deref() == Some("refresh_token") {
                    let sent = param("refresh_token");
                    if sent.is_none() || sent != self.refresh_token {
                        self.refresh_token = None;
                        return json_response(
                            400,
                            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
                        );
                    }
                }
            }
        }
        self.issued += 1;
        let access = format!("AT_{}", self.issued);
        self.token = Some((access.clone(), now + self.ttl_ms));
        let refresh = (self.style == Style::Rotating).then(|| format!("RT_{}", self.issued));
        self.refresh_token.clone_from(&refresh);
        // Serialised a millisecond later, as a real server's clock moves on.
        self.tokens(&access, refresh.as_deref(), (self.ttl_ms - 1) / 1_000)
    }

    fn tokens(&self, access: &str, refresh: Option<&str>, expires_in: u64) -> HttpResponse {
        let mut body = json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": "all",
        });
        if let Some(rt) = refresh {
            body["refresh_token"] = json!(rt);
            body["refresh_expires_in"] = json!(1_800);
        }
        json_response(200, &body.to_string())
    }
}

#[derive(Clone)]
struct SimHttp(Rc<RefCell<Server>>);

impl HttpTransport for SimHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (clock, half) = {
            let s = self.0.borrow();
            (s.clock.clone(), s.half_rtt_ms)
        };
        YieldNow(false).await;
        clock.advance(half);
        let resp = self.0.borrow_mut().answer(&req);
        std::future::poll_fn(|cx| {
            let mut s = self.0.borrow_mut();
            if s.hold {
                s.held = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        clock.advance(half);
        Ok(resp)
    }
}

/// A store that notes its deletes in the server's log, to check the order
/// of a logout.
#[derive(Clone)]
struct LoggedStore(MemoryStore, Rc<RefCell<Vec<String>>>);

impl TokenStore for LoggedStore {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        self.0.get(key).await
    }
    async fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        self.0.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.1.borrow_mut().push("store cleared".into());
        self.0.delete(key).await
    }
}

#[derive(Clone)]
struct Sim {
    clock: ManualClock,
    http: SimHttp,
    sleeper: FakeSleeper,
    store: LoggedStore,
    lock: LocalLock,
    random: SeededRandom,
}

impl Sim {
    fn new(style: Style, ttl_ms: u64) -> (Self, Rc<RefCell<Server>>) {
        let clock = ManualClock::at(T0);
        let server = Server::new(style, &clock, ttl_ms);
        let log = Rc::clone(&server.borrow().log);
        let sim = Self {
            sleeper: FakeSleeper(clock.clone()),
            clock,
            http: SimHttp(Rc::clone(&server)),
            store: LoggedStore(MemoryStore::new(), log),
            lock: LocalLock::new(),
            random: SeededRandom::new(7),
        };
        (sim, server)
    }

    fn driver(&self, config: Config) -> Driver<Sim> {
        Driver::new(config, self.clone(), DriverOptions::default()).unwrap()
    }
}

impl Platform for Sim {
    type Clock = ManualClock;
    type Http = SimHttp;
    type Sleeper = FakeSleeper;
    type Store = LoggedStore;
    type Lock = LocalLock;
    type Random = SeededRandom;
    type ProofKey = FakeProofKey;

    fn clock(&self) -> &ManualClock {
        &self.clock
    }
    fn http(&self) -> &SimHttp {
        &self.http
    }
    fn sleeper(&self) -> &FakeSleeper {
        &self.sleeper
    }
    fn store(&self) -> &LoggedStore {
        &self.store
    }
    fn lock(&self) -> &LocalLock {
        &self.lock
    }
    fn random(&self) -> &SeededRandom {
        &self.random
    }
    fn proof_key(&self) -> Option<&FakeProofKey> {
        None
    }
}

fn keycloak_with_revocation() -> Config {
    config(json!({"profile": {
        "kind": "oauth2",
        "tokenUrl": KC_URL,
        "clientId": "apiax-api",
        "revocationUrl": KC_REVOKE,
    }}))
}

fn events(d: &Driver<Sim>) -> Rc<RefCell<Vec<Event>>> {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&events);
    d.set_listener(Some(Rc::new(move |e: &Event| {
        sink.borrow_mut().push(e.clone());
    })));
    events
}

// 3 s tokens (no refresh ahead: too short) and 20 callers at each expiry:
// exactly one request per expiry and no caller error, ten lifetimes in a
// row. The minimum interval (5 s) never holds back an expired token.
#[test]
fn short_tokens_many_callers_at_expiry_one_request_each() {
    let (sim, server) = Sim::new(Style::Rotating, 3_000);
    let d = sim.driver(keycloak());
    block_on(d.login(password("alice", "SENTINEL_PW_1"))).unwrap();
    // 3 s is too short to refresh ahead: the timer waits for the refresh
    // token's time.
    assert!(d.next_wakeup().unwrap().0 > d.state().expires_at.unwrap() + 60_000);
    let mut pool = LocalPool::new();
    for round in 1..=10 {
        let expires = d.state().expires_at.unwrap();
        sim.clock.set(UnixMillis(expires));
        let tokens = pool.run_until(join_all((0..20).map(|_| d.access_token())));
        let want = format!("AT_{}", round + 1);
        for t in &tokens {
            assert_eq!(t.as_ref().unwrap().secret(), want, "round {round}");
        }
        assert_eq!(server.borrow().requests, round + 1, "round {round}");
        assert!(server.borrow().accepts(&want));
    }
}

// Spring Security OAuth re-issues the stored token while it is unexpired,
// with a shrinking, truncated `expires_in`. 30 s tokens, read every 100 ms
// for 70 s with the refresh timer running: no caller error, each token is
// re-issued at most once (the refresh ahead), and a token is handed out
// past its server expiry only within the round trip of its first answer.
#[test]
fn reissued_tokens_read_every_100ms_for_70s() {
    let (sim, server) = Sim::new(Style::Spring, 30_000);
    let d = sim.driver(tnco());
    block_on(d.login(client_credentials())).unwrap();
    let (mut errors, mut late) = (0, 0);
    for tick in 1..=700 {
        let t = T0.plus_millis(tick * 100);
        if sim.clock.now() < t {
            sim.clock.set(t);
        }
        if d.next_wakeup().is_some_and(|at| at <= sim.clock.now()) {
            block_on(d.handle_timer()).unwrap();
        }
        match block_on(d.access_token()) {
            Ok(token) if !server.borrow().accepts(token.secret()) => late += 1,
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    let s = server.borrow();
    assert_eq!(errors, 0);
    assert_eq!(s.issued, 3, "70 s of 30 s tokens");
    assert!(s.reissued <= s.issued, "{} re-issues", s.reissued);
    assert_eq!(s.requests, s.issued + s.reissued);
    // The first answer bounds the expiry within a round trip (20 ms), and
    // a re-issue may only narrow that: at most one 100 ms read per
    // lifetime can land past the server's expiry.
    assert!(late <= 2, "{late} reads past a server expiry");
    println!(
        "requests {}, re-issues {}, reads past a server expiry {late}",
        s.requests, s.reissued
    );
}

// The same without a timer (a Worker renews on demand): still no error and
// no loop of requests at `expires_in: 0`.
#[test]
fn reissued_tokens_on_demand_only() {
    let (sim, server) = Sim::new(Style::Spring, 30_000);
    let d = sim.driver(tnco());
    block_on(d.login(client_credentials())).unwrap();
    for tick in 1..=700 {
        let t = T0.plus_millis(tick * 100);
        if sim.clock.now() < t {
            sim.clock.set(t);
        }
        block_on(d.access_token()).unwrap();
    }
    let s = server.borrow();
    assert_eq!(s.issued, 3);
    assert!(s.requests <= 2 * s.issued, "{} requests", s.requests);
}

// Backoff: a caller with no valid token waits for the next attempt when it
// is due within `maxWaitMs` (5 s) and gets the token; when the server asks
// for 30 s, the caller fails at once with the attempt's error, and a later
// caller with `AUTH_RETRY_LATER` naming the wait.
#[test]
fn backoff_waits_within_the_bound_and_fails_beyond_it() {
    let (sim, server) = Sim::new(Style::Rotating, 3_000);
    let d = sim.driver(keycloak());
    let seen = events(&d);
    block_on(d.login(password("alice", "SENTINEL_PW_1"))).unwrap();
    sim.clock.set(UnixMillis(d.state().expires_at.unwrap()));
    server.borrow_mut().faults.push((503, None));
    let start = sim.clock.now();
    assert_eq!(block_on(d.access_token()).unwrap().secret(), "AT_2");
    let waited = sim.clock.now().saturating_since(start);
    assert!((500..=1_100).contains(&waited), "waited {waited} ms");
    assert_eq!(server.borrow().requests, 3);
    assert!(seen.borrow().iter().any(|e| matches!(
        e,
        Event::RefreshFailed {
            transient: true,
            ..
        }
    )));

    sim.clock.set(UnixMillis(d.state().expires_at.unwrap()));
    server.borrow_mut().faults.push((503, Some("30")));
    let e = block_on(d.access_token()).unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.is_transient());
    sim.clock.advance(1_000);
    let e = block_on(d.access_token()).unwrap_err();
    assert!(
        matches!(e, Error::RetryLater { retry_in_ms } if (28_000..=29_100).contains(&retry_in_ms)),
        "{e:?}"
    );
    assert_eq!(server.borrow().requests, 4, "nothing sent during backoff");
    // Once the retry is due, the next caller gets a token.
    sim.clock.set(d.retry_at().unwrap());
    assert_eq!(block_on(d.access_token()).unwrap().secret(), "AT_3");
}

// A token the API rejected is renewed at once, even right after it
// arrived; a rejection of a token that already changed sends nothing.
#[test]
fn rejected_token_renews_at_once() {
    let (sim, server) = Sim::new(Style::Rotating, 300_000);
    let d = sim.driver(keycloak());
    block_on(d.login(password("alice", "SENTINEL_PW_1"))).unwrap();
    sim.clock.advance(100);
    assert_eq!(block_on(d.token_rejected("AT_1")).unwrap().secret(), "AT_2");
    assert_eq!(server.borrow().requests, 2);
    // A second caller that saw the old token rejected: no request.
    assert_eq!(block_on(d.token_rejected("AT_1")).unwrap().secret(), "AT_2");
    assert_eq!(server.borrow().requests, 2);
    assert_eq!(block_on(d.access_token()).unwrap().secret(), "AT_2");
}

// A re-issued token that the API rejects is not asked for again within
// the minimum interval: the endpoint would hand the same one back.
#[test]
fn rejected_reissued_token_is_not_asked_again_at_once() {
    let (sim, server) = Sim::new(Style::Spring, 30_000);
    let d = sim.driver(tnco());
    block_on(d.login(client_credentials())).unwrap();
    sim.clock.advance(100);
    assert_eq!(block_on(d.token_rejected("AT_1")).unwrap().secret(), "AT_1");
    assert_eq!(server.borrow().reissued, 1);
    sim.clock.advance(1_000);
    assert_eq!(block_on(d.token_rejected("AT_1")).unwrap().secret(), "AT_1");
    assert_eq!(server.borrow().requests, 2);
}

// Logout: the store is cleared and the app told before the revocation goes
// out; a refresh another context has in flight finishes first (the lock),
// and the tokens it stored after the clear are cleared and revoked too.
#[test]
fn logout_clears_first_and_waits_for_another_contexts_refresh() {
    let (sim, server) = Sim::new(Style::Rotating, 300_000);
    let d = sim.driver(keycloak_with_revocation());
    let seen = events(&d);
    block_on(d.login(password("alice", "SENTINEL_PW_1"))).unwrap();
    // Another context holds the lock while its refresh is in flight.
    let other = sim.driver(keycloak_with_revocation());
    block_on(other.restore()).unwrap();
    let guard = block_on(sim.lock.acquire(KEY, 10_000)).unwrap();
    let before = sim.store.0.peek(KEY).unwrap();
    let log = Rc::clone(&server.borrow().log);
    log.borrow_mut().clear();

    let mut pool = LocalPool::new();
    let d2 = d.clone();
    pool.spawner()
        .spawn_local(async move { d2.logout().await.unwrap() })
        .unwrap();
    pool.run_until_stalled();
    assert_eq!(*log.borrow(), ["store cleared"]);
    assert!(matches!(seen.borrow().last(), Some(Event::LoggedOut)));
    assert_eq!(d.state().status, "loggedOut");

    // The other context's refresh lands after the clear and stores its
    // tokens; then it releases the lock.
    block_on(
        sim.store
            .0
            .set(KEY, &stored_rotation(&sim, &server, &before)),
    )
    .unwrap();
    // Told of that write while it waits, the logging-out context does not
    // adopt it.
    block_on(d.handle_store_changed());
    assert_eq!(d.state().status, "loggedOut");
    drop(guard);
    pool.run();
    assert_eq!(
        *log.borrow(),
        [
            "store cleared",
            "token",
            "store cleared",
            "revoke RT_1",
            "revoke RT_2"
        ]
    );
    assert_eq!(sim.store.0.peek(KEY), None);
    // The other context ends as logged out elsewhere, not as rejected.
    block_on(other.handle_store_changed());
    assert_eq!(
        other.state().ended_reason,
        Some(EndReason::ClearedElsewhere.as_str())
    );
}

/// The other context's refresh from the session stored `before` the
/// logout: it spends RT_1 at the server and returns the stored form of the
/// new tokens.
fn stored_rotation(sim: &Sim, server: &Rc<RefCell<Server>>, before: &str) -> String {
    let third = Sim {
        store: LoggedStore(MemoryStore::new(), Rc::new(RefCell::new(Vec::new()))),
        lock: LocalLock::new(),
        ..sim.clone()
    };
    let d = third.driver(keycloak_with_revocation());
    block_on(third.store.0.set(KEY, before)).unwrap();
    block_on(d.restore()).unwrap();
    sim.clock.advance(6_000);
    block_on(d.refresh()).unwrap();
    assert_eq!(server.borrow().refresh_token.as_deref(), Some("RT_2"));
    third.store.0.peek(KEY).unwrap()
}

// A refresh answered while another context logs out is discarded, not
// stored over the logout: the refreshing context re-reads the store first
// and ends as cleared elsewhere; the store stays empty.
#[test]
fn refresh_answered_during_a_logout_elsewhere_is_not_stored() {
    let (sim, server) = Sim::new(Style::Rotating, 300_000);
    let a = sim.driver(keycloak_with_revocation());
    block_on(a.login(password("alice", "SENTINEL_PW_1"))).unwrap();
    let b = sim.driver(keycloak_with_revocation());
    block_on(b.restore()).unwrap();
    let b_events = events(&b);
    sim.clock.advance(6_000);
    let log = Rc::clone(&server.borrow().log);
    log.borrow_mut().clear();

    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    // B's refresh reaches the server, which rotates; its answer is on the
    // way when A logs out.
    server.borrow_mut().hold = true;
    let b2 = b.clone();
    spawner
        .spawn_local(async move {
            let _ = b2.refresh().await;
        })
        .unwrap();
    pool.run_until_stalled();
    assert_eq!(server.borrow().refresh_token.as_deref(), Some("RT_2"));
    let a2 = a.clone();
    spawner
        .spawn_local(async move { a2.logout().await.unwrap() })
        .unwrap();
    pool.run_until_stalled();
    let held = {
        let mut s = server.borrow_mut();
        s.hold = false;
        s.held.take()
    };
    held.unwrap().wake();
    pool.run();

    // B's answer arrived after the logout and was dropped.
    assert_eq!(
        *log.borrow(),
        ["token", "store cleared", "revoke RT_1"],
        "the refresh, the logout's clear, its revocation"
    );
    assert_eq!(sim.store.0.peek(KEY), None);
    assert_eq!(
        b.state().ended_reason,
        Some(EndReason::ClearedElsewhere.as_str())
    );
    let ended = b_events
        .borrow()
        .iter()
        .filter(|e| matches!(e, Event::SessionEnded { .. }))
        .count();
    assert_eq!(ended, 1);
    assert!(
        !b_events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::Refreshed { .. }))
    );
}
