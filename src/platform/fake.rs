//! Test doubles of the platform traits (feature `fakes`, never in the wasm
//! release build): a manual clock, a scripted HTTP transport that asserts
//! what was sent, an in-memory store, a local lock, seeded randomness.
//!
//! A fake fails the test the way a test does: by panicking, with a message
//! that names what was unexpected.
#![allow(clippy::panic)]

use super::{Clock, CrossTabLock, HttpTransport, Platform, ProofKey, Random, Sleeper, TokenStore};
use crate::core::dpop::PublicJwk;
use crate::core::error::Error;
use crate::core::request::HttpRequest;
use crate::core::response::{HttpResponse, TransportError};
use crate::core::time::UnixMillis;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Returns `Pending` once, so other tasks run in between (as a real
/// network round trip would let them).
async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    YieldNow(false).await;
}

/// A clock that moves only when told. Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Rc<Cell<u64>>);

impl ManualClock {
    /// A clock at `t`.
    #[must_use]
    pub fn at(t: UnixMillis) -> Self {
        Self(Rc::new(Cell::new(t.0)))
    }
    /// Jumps to `t` (backwards too).
    pub fn set(&self, t: UnixMillis) {
        self.0.set(t.0);
    }
    /// Moves forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.set(self.0.get().saturating_add(ms));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.get())
    }
}

/// A sleeper that advances a [`ManualClock`] instead of waiting.
#[derive(Debug, Clone, Default)]
pub struct FakeSleeper(pub ManualClock);

impl Sleeper for FakeSleeper {
    async fn sleep(&self, ms: u32) {
        self.0.advance(u64::from(ms));
        yield_now().await;
    }
}

/// What a scripted request must look like.
#[derive(Debug, Clone)]
pub struct Expect {
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    absent: Vec<String>,
    body: Option<Body>,
}

#[derive(Debug, Clone)]
enum Body {
    Exact(Vec<u8>),
    Form(Vec<(String, String)>),
    Json(Value),
}

impl Expect {
    /// A `POST` to exactly `url`.
    #[must_use]
    pub fn post(url: &str) -> Self {
        Self {
            method: "POST",
            url: url.to_owned(),
            headers: Vec::new(),
            absent: Vec::new(),
            body: None,
        }
    }
    /// Requires header `name` (case-insensitive) with exactly `value`.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    /// Requires that header `name` is absent.
    #[must_use]
    pub fn no_header(mut self, name: &str) -> Self {
        self.absent.push(name.to_owned());
        self
    }
    /// Requires these exact body bytes.
    #[must_use]
    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = Some(Body::Exact(body.to_vec()));
        self
    }
    /// Requires a form body with exactly these pairs, in any order.
    #[must_use]
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let pairs = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        self.body = Some(Body::Form(pairs.collect()));
        self
    }
    /// Requires a JSON body equal to `value`.
    #[must_use]
    pub fn json(mut self, value: Value) -> Self {
        self.body = Some(Body::Json(value));
        self
    }

    fn check(&self, req: &HttpRequest) {
        let what = format!("{} {}", req.method, req.url);
        assert_eq!(req.method, self.method, "method of {what}");
        assert_eq!(req.url, self.url, "url of {what}");
        for (k, v) in &self.headers {
            assert_eq!(req.header(k), Some(v.as_str()), "header {k} of {what}");
        }
        for k in &self.absent {
            assert!(
                req.header(k).is_none(),
                "header {k} must be absent from {what}"
            );
        }
        match &self.body {
            None => {}
            Some(Body::Exact(b)) => assert_eq!(
                String::from_utf8_lossy(&req.body),
                String::from_utf8_lossy(b),
                "body of {what}"
            ),
            Some(Body::Form(pairs)) => {
                let mut got = decode_form(&req.body);
                let mut want = pairs.clone();
                got.sort();
                want.sort();
                assert_eq!(got, want, "form body of {what}");
            }
            Some(Body::Json(v)) => {
                let got: Value = serde_json::from_slice(&req.body)
                    .unwrap_or_else(|_| panic!("body of {what} is not JSON"));
                assert_eq!(&got, v, "JSON body of {what}");
            }
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body as `URLSearchParams`
/// does.
#[must_use]
pub fn decode_form(body: &[u8]) -> Vec<(String, String)> {
    fn unescape(s: &[u8]) -> String {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    let hex = std::str::from_utf8(&s[i + 1..i + 3]).unwrap_or("zz");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let k = it.next().unwrap_or_default();
            let v = it.next().unwrap_or_default();
            (unescape(k), unescape(v))
        })
        .collect()
}

/// The scripted answer to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A response.
    Response(HttpResponse),
    /// A transport failure.
    Fail(TransportError),
}

impl Reply {
    /// A response with `Content-Type: application/json` and this body.
    #[must_use]
    pub fn json(status: u16, body: &str) -> Self {
        Self::with(
            status,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }
    /// A response with these headers and body.
    #[must_use]
    pub fn with(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Self {
        Self::Response(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_vec(),
        })
    }
}

#[derive(Debug, Default)]
struct Script {
    expected: VecDeque<(Expect, Reply)>,
    sent: Vec<HttpRequest>,
}

/// An HTTP transport that plays a script: each request must match the next
/// expectation, and gets its reply. An unexpected request fails the test;
/// [`ScriptedHttp::assert_exhausted`] fails it on unused expectations.
/// Clones share the script.
#[derive(Debug, Clone, Default)]
pub struct ScriptedHttp(Rc<RefCell<Script>>);

impl ScriptedHttp {
    /// An empty script.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends an expectation and its reply.
    pub fn expect(&self, expect: Expect, reply: Reply) -> &Self {
        self.0.borrow_mut().expected.push_back((expect, reply));
        self
    }
    /// Every request sent so far.
    #[must_use]
    pub fn sent(&self) -> Vec<HttpRequest> {
        self.0.borrow().sent.clone()
    }
    /// Fails the test if an expected request was never sent.
    pub fn assert_exhausted(&self) {
        let s = self.0.borrow();
        if let Some((e, _)) = s.expected.front() {
            panic!(
                "{} expected request(s) never sent; next: {} {}",
                s.expected.len(),
                e.method,
                e.url
            );
        }
    }
}

impl HttpTransport for ScriptedHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        yield_now().await;
        let next = self.0.borrow_mut().expected.pop_front();
        let Some((expect, reply)) = next else {
            panic!("unexpected request: {} {}", req.method, req.url);
        };
        expect.check(&req);
        self.0.borrow_mut().sent.push(req);
        match reply {
            Reply::Response(r) => Ok(r),
            Reply::Fail(e) => Err(e),
        }
    }
}

/// An in-memory store. Clones share the data (two "tabs" can share one).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Rc<RefCell<BTreeMap<String, String>>>,
    failing: Rc<Cell<bool>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// The value under `key`, read synchronously.
    #[must_use]
    pub fn peek(&self, key: &str) -> Option<String> {
        self.data.borrow().get(key).cloned()
    }
    /// Writes a value directly, as another context would.
    pub fn put(&self, key: &str, value: &str) {
        self.data
            .borrow_mut()
            .insert(key.to_owned(), value.to_owned());
    }
    /// Makes every operation fail (quota, `SecurityError`) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.set(failing);
    }
    fn check(&self) -> Result<(), Error> {
        if self.failing.get() {
            Err(Error::Storage {
                reason: "fake store set to fail",
            })
        } else {
            Ok(())
        }
    }
}

impl TokenStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        self.check()?;
        Ok(self.peek(key))
    }
    async fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        self.check()?;
        self.put(key, value);
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.check()?;
        self.data.borrow_mut().remove(key);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct LockState {
    held: BTreeSet<String>,
    waiters: Vec<Waker>,
    unavailable: bool,
    acquired: usize,
}

/// An in-process named lock with Web Locks' queueing. Clones share it.
/// It never times out by itself; [`LocalLock::set_unavailable`] makes
/// every acquisition fail with [`Error::LockTimeout`].
#[derive(Debug, Clone, Default)]
pub struct LocalLock(Rc<RefCell<LockState>>);

impl LocalLock {
    /// A free lock.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Makes acquisitions time out (or not).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.0.borrow_mut().unavailable = unavailable;
    }
    /// How many times the lock was acquired.
    #[must_use]
    pub fn acquired(&self) -> usize {
        self.0.borrow().acquired
    }
}

/// Holds a [`LocalLock`] name; dropping it releases the name.
#[derive(Debug)]
pub struct LocalGuard {
    lock: LocalLock,
    name: String,
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let waiters = {
            let mut s = self.lock.0.borrow_mut();
            s.held.remove(&self.name);
            std::mem::take(&mut s.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

impl CrossTabLock for LocalLock {
    type Guard = LocalGuard;

    async fn acquire(&self, name: &str, _timeout_ms: u32) -> Result<LocalGuard, Error> {
        yield_now().await;
        std::future::poll_fn(|cx| {
            let mut s = self.0.borrow_mut();
            if s.unavailable {
                return Poll::Ready(Err(Error::LockTimeout));
            }
            if s.held.insert(name.to_owned()) {
                s.acquired += 1;
                Poll::Ready(Ok(LocalGuard {
                    lock: self.clone(),
                    name: name.to_owned(),
                }))
            } else {
                s.waiters.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// A deterministic random source (xorshift64*), seeded by the test.
#[derive(Debug, Clone)]
pub struct SeededRandom(Rc<Cell<u64>>);

impl SeededRandom {
    /// A source seeded with `seed` (0 is replaced by a fixed non-zero seed).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(Rc::new(Cell::new(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })))
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.0.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0.set(x);
            let bytes = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// Every fake, bundled. Fields are public so a test keeps handles to them
/// (clones share state).
#[derive(Debug, Clone)]
pub struct FakePlatform {
    /// The clock.
    pub clock: ManualClock,
    /// The HTTP script.
    pub http: ScriptedHttp,
    /// The sleeper (advances `clock`).
    pub sleeper: FakeSleeper,
    /// The store.
    pub store: MemoryStore,
    /// The lock.
    pub lock: LocalLock,
    /// The random source.
    pub random: SeededRandom,
    /// The DPoP key, when set.
    pub proof_key: Option<FakeProofKey>,
}

/// A DPoP key that signs with a checkable stand-in: the signature is
/// SHA-256 of the input, twice, so a test can recompute it. It counts its
/// signatures.
#[derive(Debug, Clone, Default)]
pub struct FakeProofKey {
    signed: Rc<Cell<u32>>,
    /// What [`ProofKey::outlives_page`] answers.
    pub lasting: bool,
}

impl FakeProofKey {
    /// The public key's coordinates (RFC 9449's example key).
    pub const X: &'static str = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
    /// See [`Self::X`].
    pub const Y: &'static str = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";

    /// The stand-in signature of `input`.
    #[must_use]
    pub fn signature(input: &[u8]) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let half = Sha256::digest(input);
        [half.as_slice(), half.as_slice()].concat()
    }

    /// How many proofs it signed.
    #[must_use]
    pub fn signed(&self) -> u32 {
        self.signed.get()
    }
}

impl ProofKey for FakeProofKey {
    async fn public_jwk(&self) -> Result<PublicJwk, Error> {
        PublicJwk::from_jwk(&serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": Self::X, "y": Self::Y,
        }))
    }

    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, Error> {
        self.signed.set(self.signed.get() + 1);
        Ok(Self::signature(input))
    }

    fn outlives_page(&self) -> bool {
        self.lasting
    }
}

impl FakePlatform {
    /// Fresh fakes with the clock at `t`.
    #[must_use]
    pub fn at(t: UnixMillis) -> Self {
        let clock = ManualClock::at(t);
        Self {
            sleeper: FakeSleeper(clock.clone()),
            clock,
            http: ScriptedHttp::new(),
            store: MemoryStore::new(),
            lock: LocalLock::new(),
            random: SeededRandom::new(1),
            proof_key: None,
        }
    }

    /// Another "tab": same clock, store and lock; its own HTTP script and
    /// random source.
    #[must_use]
    pub fn sibling(&self) -> Self {
        Self {
            clock: self.clock.clone(),
            http: ScriptedHttp::new(),
            sleeper: self.sleeper.clone(),
            store: self.store.clone(),
            lock: self.lock.clone(),
            random: SeededRandom::new(2),
            proof_key: self.proof_key.clone(),
        }
    }
}

impl Platform for FakePlatform {
    type Clock = ManualClock;
    type Http = ScriptedHttp;
    type Sleeper = FakeSleeper;
    type Store = MemoryStore;
    type Lock = LocalLock;
    type Random = SeededRandom;
    type ProofKey = FakeProofKey;

    fn clock(&self) -> &ManualClock {
        &self.clock
    }
    fn http(&self) -> &ScriptedHttp {
        &self.http
    }
    fn sleeper(&self) -> &FakeSleeper {
        &self.sleeper
    }
    fn store(&self) -> &MemoryStore {
        &self.store
    }
    fn lock(&self) -> &LocalLock {
        &self.lock
    }
    fn random(&self) -> &SeededRandom {
        &self.random
    }
    fn proof_key(&self) -> Option<&FakeProofKey> {
        self.proof_key.as_ref()
    }
}
