//! [`Sleeper`], RAII timeouts, intervals and deadlines over the global
//! timers.
//!
//! The timers are bound here, not through web-sys: web-sys types a timer
//! handle as `i32`, but Node hands back a `Timeout` object. A debug build's
//! glue rejects it (`setTimeout` then looks like it failed), and a release
//! build turns it into its id, losing `unref()`.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::platform::Sleeper;

#[wasm_bindgen]
extern "C" {
    /// What `setTimeout` and `setInterval` return: a number in pages,
    /// workers, workerd and Deno; a `Timeout` object in Node.
    #[derive(Debug)]
    type TimerHandle;

    /// The global `setTimeout`.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: u32) -> TimerHandle;

    /// The global `clearTimeout`.
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &TimerHandle);

    /// The global `setInterval`.
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(callback: &js_sys::Function, ms: u32) -> TimerHandle;

    /// The global `clearInterval`.
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(handle: &TimerHandle);

    /// Node's `Timeout.unref`; `None` for a number handle.
    #[wasm_bindgen(method, getter)]
    fn unref(this: &TimerHandle) -> Option<js_sys::Function>;
}

/// Sleeps with `setTimeout`.
#[derive(Debug, Default)]
pub struct TimerSleeper;

impl Sleeper for TimerSleeper {
    async fn sleep(&self, ms: u32) {
        // Unlike a [`Timeout`], a sleep keeps Node running: a caller awaits it.
        let p = js_sys::Promise::new(&mut |resolve, _| {
            set_timeout(&resolve, ms);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
}

/// A pending `setTimeout` that is cleared when dropped. In Node it does not
/// keep the process alive.
#[derive(Debug)]
#[must_use = "the timeout is cleared when dropped"]
pub struct Timeout {
    handle: TimerHandle,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `f` once after `ms` milliseconds, unless dropped first.
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Self {
        let callback = Closure::once(f);
        let handle = set_timeout(callback.as_ref().unchecked_ref(), ms);
        // In Node a pending timer keeps the process alive; a refresh-ahead
        // timer or a request deadline must not.
        if let Some(unref) = handle.unref() {
            let _ = unref.call0(&handle);
        }
        Self {
            handle,
            _callback: callback,
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.handle);
    }
}

/// A `setInterval` that is cleared when dropped.
#[derive(Debug)]
#[must_use = "the interval is cleared when dropped"]
pub(crate) struct Interval {
    handle: TimerHandle,
    _callback: Closure<dyn FnMut()>,
}

impl Interval {
    /// Calls `f` every `ms` milliseconds until dropped.
    pub(crate) fn new(ms: u32, f: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(f);
        let handle = set_interval(callback.as_ref().unchecked_ref(), ms);
        Self {
            handle,
            _callback: callback,
        }
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        clear_interval(&self.handle);
    }
}

/// An `AbortSignal` that aborts after a time: an `AbortController` and a
/// [`Timeout`]. Unlike `AbortSignal.timeout`, it tells its own expiry apart
/// from any other abort, and its timer is cleared when it is dropped.
#[derive(Debug)]
pub(crate) struct Deadline {
    controller: web_sys::AbortController,
    expired: Rc<Cell<bool>>,
    _timer: Timeout,
}

impl Deadline {
    /// A signal that aborts in `ms` milliseconds; `None` where the runtime
    /// has no `AbortController` (then nothing times out).
    pub(crate) fn new(ms: u32) -> Option<Self> {
        let controller = web_sys::AbortController::new().ok()?;
        let expired = Rc::new(Cell::new(false));
        let (c, e) = (controller.clone(), Rc::clone(&expired));
        let timer = Timeout::new(ms, move || {
            e.set(true);
            c.abort();
        });
        Some(Self {
            controller,
            expired,
            _timer: timer,
        })
    }

    /// The signal to pass to `fetch` or `navigator.locks.request`.
    pub(crate) fn signal(&self) -> web_sys::AbortSignal {
        self.controller.signal()
    }

    /// Whether the time ran out (and the signal aborted because of it).
    pub(crate) fn expired(&self) -> bool {
        self.expired.get()
    }
}
