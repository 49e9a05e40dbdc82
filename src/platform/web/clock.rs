//! [`Clock`] over `Date.now()` or a user's `now` function.

use wasm_bindgen::prelude::*;

use crate::core::time::UnixMillis;
use crate::platform::Clock;

/// Reads `Date.now()`, or calls the `now` option when one was given (for
/// deterministic tests of the caller's own code).
#[derive(Debug, Default)]
pub struct WebClock {
    now: Option<js_sys::Function>,
}

impl WebClock {
    /// A clock that calls `now()` when given, else `Date.now()`.
    #[must_use]
    pub fn new(now: Option<js_sys::Function>) -> Self {
        Self { now }
    }
}

impl Clock for WebClock {
    fn now(&self) -> UnixMillis {
        let ms = self
            .now
            .as_ref()
            .and_then(|f| f.call0(&JsValue::UNDEFINED).ok())
            .and_then(|v| v.as_f64())
            .filter(|ms| ms.is_finite())
            .unwrap_or_else(js_sys::Date::now);
        // `as` saturates: negative → 0.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        UnixMillis(ms as u64)
    }
}
