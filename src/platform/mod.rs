//! What the driver needs from its runtime: a clock, HTTP, sleeping, a token
//! store, a cross-context lock, random bytes and a DPoP key.
//!
//! Everything runs on one thread (wasm32 has no threads here; a Worker is a
//! single event loop), so the async methods carry no `Send` bounds and
//! implementations share state with `Rc`/`RefCell`, not `Arc`/`Mutex`.
//! `fake` (feature `fakes`) holds test doubles; the wasm adapters live
//! beside it.
// The futures are deliberately not `Send`: see the module docs.
#![allow(async_fn_in_trait)]

#[cfg(feature = "fakes")]
pub mod fake;
#[cfg(target_arch = "wasm32")]
pub mod web;

use crate::core::dpop::PublicJwk;
use crate::core::error::Error;
use crate::core::request::HttpRequest;
use crate::core::response::{HttpResponse, TransportError};
use crate::core::time::UnixMillis;

/// Wall-clock time, as `Date.now()` gives it.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> UnixMillis;
}

/// Sends one request and returns the response.
///
/// Contract: never follow redirects (`redirect: "manual"`; a 3xx comes back
/// as a response); time out (report [`TransportError::Timeout`]); stop
/// reading the body after [`crate::core::response::MAX_BODY_BYTES`] + 1
/// bytes; send no cookies unless configured.
pub trait HttpTransport {
    /// Sends `req` (RFC 9110 semantics; the body is already encoded).
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Waits, as `setTimeout` does.
pub trait Sleeper {
    /// Resolves after about `ms` milliseconds (timers may fire late).
    async fn sleep(&self, ms: u32);
}

/// Asynchronous string storage by key (Web Storage wrapped, Workers KV, a
/// user adapter).
pub trait TokenStore {
    /// The value under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<String>, Error>;
    /// Stores `value` under `key`, replacing it in one write.
    async fn set(&self, key: &str, value: &str) -> Result<(), Error>;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> Result<(), Error>;
}

/// A named lock shared by every context of an origin (tabs, workers).
///
/// It maps onto Web Locks: `acquire` calls `navigator.locks.request(name,
/// cb)` where `cb` returns a promise that the guard's `Drop` resolves, and a
/// timeout aborts the request with an `AbortSignal`.
pub trait CrossTabLock {
    /// Held while alive; dropping it releases the lock.
    type Guard;
    /// Waits for the lock, at most `timeout_ms` ([`Error::LockTimeout`]).
    async fn acquire(&self, name: &str, timeout_ms: u32) -> Result<Self::Guard, Error>;
}

/// Cryptographically strong random bytes (`crypto.getRandomValues`), for
/// jitter, PKCE verifiers, `state` and `nonce`.
pub trait Random {
    /// Fills `buf` with random bytes; an error (the runtime has no CSPRNG)
    /// leaves `buf` unusable.
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error>;

    /// A random `u32` for jitter; 0 (no jitter) when there are no random
    /// bytes to be had.
    fn next_u32(&self) -> u32 {
        let mut b = [0u8; 4];
        match self.fill(&mut b) {
            Ok(()) => u32::from_le_bytes(b),
            Err(_) => 0,
        }
    }
}

/// The key that signs DPoP proofs (RFC 9449): ES256, its private half
/// never leaving the platform's crypto. It is made or loaded on first use.
pub trait ProofKey {
    /// The public key, for the proof's `jwk` header and `dpop_jkt`.
    async fn public_jwk(&self) -> Result<PublicJwk, Error>;
    /// The ES256 signature of `input`: 64 bytes, `r || s`.
    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, Error>;
    /// Whether the key, once loaded, outlives the page (kept in IndexedDB,
    /// or the caller's own pair), so that a code bound to it with
    /// `dpop_jkt` can still be redeemed after the redirect.
    fn outlives_page(&self) -> bool;
}

/// One runtime's implementations, bundled for [`crate::driver::Driver`].
pub trait Platform {
    /// The clock.
    type Clock: Clock;
    /// The HTTP transport.
    type Http: HttpTransport;
    /// The sleeper.
    type Sleeper: Sleeper;
    /// The token store.
    type Store: TokenStore;
    /// The cross-context lock.
    type Lock: CrossTabLock;
    /// The random source.
    type Random: Random;
    /// The DPoP key.
    type ProofKey: ProofKey;

    /// The clock.
    fn clock(&self) -> &Self::Clock;
    /// The HTTP transport.
    fn http(&self) -> &Self::Http;
    /// The sleeper.
    fn sleeper(&self) -> &Self::Sleeper;
    /// The token store.
    fn store(&self) -> &Self::Store;
    /// The cross-context lock.
    fn lock(&self) -> &Self::Lock;
    /// The random source.
    fn random(&self) -> &Self::Random;
    /// The DPoP key, when the keeper sends proofs.
    fn proof_key(&self) -> Option<&Self::ProofKey>;
}
