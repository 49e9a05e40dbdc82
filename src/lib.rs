//! # tokenkeeper
//!
//! Keeps a web app or an edge worker logged in: performs the login and refresh
//! requests against token endpoints, stores the tokens, refreshes them before
//! they expire, and hands out valid `Authorization: Bearer` headers.
//!
//! ## Design choices
//!
//! - [`core`] is sans-IO: it builds requests, parses responses and decides
//!   when to refresh, but never performs IO or reads a clock. Time is passed
//!   in as [`core::time::UnixMillis`].
//! - JS bindings live only in `js` and `platform::web`, compiled for wasm32
//!   alone, so the host build and host tests prove the core is pure.
//! - [`driver`] joins a [`core::session::Session`] to a
//!   [`platform::Platform`] (clock, HTTP, sleep, store, lock, randomness).
//!   It is generic and single-threaded (`Rc`, no `Send`), so the same code
//!   runs natively against `platform::fake` (feature `fakes`) in tests and
//!   against the JS adapters in wasm.
//! - The JS class `TokenKeeper` is hand-written (`src/js/keeper.js`): an
//!   `EventTarget` over the wasm `KeeperCore` export. It holds the current
//!   token and state on the JS side, so a cached lookup never crosses into
//!   wasm, and wraps `fetch`; every decision stays in Rust.

//!
//! ## The timing model
//!
//! - **Ahead of expiry**, a token is refreshed `clamp(leadFraction ×
//!   lifetime, minLeadMs, maxLeadMs)` (minus jitter) before it expires, and
//!   never sooner than `minIntervalMs` after the last tokens arrived.
//! - **A token that has expired, or that the API just rejected, is renewed
//!   at once:** one shared request for all callers. `minIntervalMs` never
//!   fails or delays such a caller.
//! - **Failures alone are rate-limited:** exponential backoff with jitter,
//!   or the server's `Retry-After`. During backoff a caller without a valid
//!   token waits for the next attempt when it is due within `maxWaitMs`
//!   (and its `signal`), else it fails at once as transient, with `retryIn`.
//! - **Lifetimes are truncated by servers.** `expires_in: n` means the token
//!   expires somewhere in `[sent + n s, received + n s + 1 s)`. A new token
//!   is kept to the earliest instant. A re-issued one (the same access
//!   token back, as Spring Security OAuth hands out while a token is
//!   unexpired) is kept to the latest, narrowed by every earlier answer
//!   for it, and not asked for again before it: the server would hand back
//!   the same token. `expires_in: 0` means
//!   "under a second", not "expired".
//! - A timer firing is a hint: every read checks the wall clock.

pub mod core;
pub mod driver;
pub mod platform;

#[cfg(target_arch = "wasm32")]
pub mod js;

/// The global allocator of the wasm build: talc, several KB smaller than
/// std's dlmalloc. Single-threaded, like the module.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The version of this crate, as published.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
