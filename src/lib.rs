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
