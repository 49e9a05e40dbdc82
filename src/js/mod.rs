//! The JS API: the only `#[wasm_bindgen]` exports of the package.
//!
//! `KeeperCore` is the wasm half of the `TokenKeeper` class; the other half
//! is `keeper.js` beside this file: an `EventTarget` subclass that keeps the
//! current token on the JS side, so a cached lookup never crosses into
//! wasm, and that wraps `fetch`.

mod error;
mod events;
mod keeper;
mod options;

pub use keeper::KeeperCore;

use wasm_bindgen::prelude::*;

use crate::core::{expiry, time::UnixMillis};

/// The package version, e.g. `"0.1.0"`.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_owned()
}

/// The delay in milliseconds to arm a timer with so that it fires at `at`
/// (both in epoch milliseconds): 0 when `at` is past, at most 2^31 − 1.
#[wasm_bindgen(js_name = timerDelay)]
pub fn timer_delay(now: f64, at: f64) -> u32 {
    expiry::timer_delay(epoch_millis(now), epoch_millis(at))
}

/// Epoch milliseconds from a JS number; NaN and negatives count as 0.
fn epoch_millis(ms: f64) -> UnixMillis {
    // `as` saturates for floats: NaN → 0, negative → 0, huge → u64::MAX.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    UnixMillis(ms as u64)
}
