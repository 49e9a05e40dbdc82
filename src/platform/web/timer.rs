//! [`Sleeper`] and RAII timeouts over the global `setTimeout`.

use wasm_bindgen::prelude::*;

use crate::platform::Sleeper;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &js_sys::Function, ms: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Sleeps with `setTimeout`.
#[derive(Debug, Default)]
pub struct TimerSleeper;

impl Sleeper for TimerSleeper {
    async fn sleep(&self, ms: u32) {
        let p = js_sys::Promise::new(&mut |resolve, _| {
            set_timeout(&resolve, ms);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
}

/// A pending `setTimeout` that is cleared when dropped.
#[derive(Debug)]
#[must_use = "the timeout is cleared when dropped"]
pub struct Timeout {
    id: JsValue,
    _cb: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `f` once after `ms` milliseconds, unless dropped first.
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Self {
        let cb = Closure::once(f);
        let id = set_timeout(cb.as_ref().unchecked_ref(), ms);
        // In Node a pending timer keeps the process alive; a refresh-ahead
        // timer must not, so it is unref'd where that exists.
        let unref = super::get(&id, "unref");
        if let Ok(f) = unref.dyn_into::<js_sys::Function>() {
            let _ = f.call0(&id);
        }
        Self { id, _cb: cb }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}
