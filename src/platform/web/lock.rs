//! [`CrossTabLock`] over Web Locks (`navigator.locks`).
//!
//! `acquire` calls `navigator.locks.request(name, { signal }, cb)`; `cb`
//! resolves the acquisition and returns a promise that the guard resolves
//! when dropped, which releases the lock. The signal is
//! `AbortSignal.timeout(ms)`: a lock not granted in time is a
//! [`Error::LockTimeout`]. A context that dies while holding the lock
//! releases it with it (the browser does this), so a closed tab never
//! blocks the others.
//!
//! Where the tokens are not shared (memory or `sessionStorage`) or Web
//! Locks are missing (Node 20, workerd), the driver's per-context
//! single-flight is the only lock needed: `acquire` succeeds at once.

use wasm_bindgen::prelude::*;

use super::{get, global, set};
use crate::core::error::Error;
use crate::platform::CrossTabLock;

/// Web Locks where the runtime has them and the tokens are shared.
#[derive(Debug, Default)]
pub struct WebLock {
    shared: bool,
}

impl WebLock {
    /// A lock that serialises refreshes across contexts when `shared` (the
    /// tokens live in storage other contexts read), and is free otherwise.
    #[must_use]
    pub fn new(shared: bool) -> Self {
        Self { shared }
    }
}

/// Holds a Web Lock until dropped.
#[derive(Debug)]
pub struct WebLockGuard {
    release: Option<js_sys::Function>,
    _granted: Option<Closure<dyn FnMut(JsValue) -> JsValue>>,
}

impl Drop for WebLockGuard {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// A promise and its resolve function.
fn deferred() -> (js_sys::Promise, js_sys::Function) {
    let mut resolve_fn = None;
    let p = js_sys::Promise::new(&mut |resolve, _| resolve_fn = Some(resolve));
    // The executor runs synchronously inside `new Promise`.
    (
        p,
        resolve_fn.unwrap_or_else(|| js_sys::Function::new_no_args("")),
    )
}

impl CrossTabLock for WebLock {
    type Guard = WebLockGuard;

    async fn acquire(&self, name: &str, timeout_ms: u32) -> Result<WebLockGuard, Error> {
        let locks = get(&global("navigator"), "locks");
        let request: Option<js_sys::Function> = get(&locks, "request").dyn_into().ok();
        let Some(request) = request.filter(|_| self.shared) else {
            return Ok(WebLockGuard {
                release: None,
                _granted: None,
            });
        };
        let (granted, on_granted) = deferred();
        let (held, release) = deferred();
        let cb = Closure::once(move |_lock: JsValue| -> JsValue {
            let _ = on_granted.call0(&JsValue::UNDEFINED);
            held.into()
        });
        let options = js_sys::Object::new();
        let abort_signal = global("AbortSignal");
        if let Ok(timeout) = get(&abort_signal, "timeout").dyn_into::<js_sys::Function>() {
            if let Ok(signal) = timeout.call1(&abort_signal, &JsValue::from(timeout_ms)) {
                set(&options, "signal", &signal);
            }
        }
        let pending = request
            .call3(&locks, &JsValue::from_str(name), &options, cb.as_ref())
            .map_err(|_| Error::LockTimeout)?;
        // The request promise settles only after release, or rejects when
        // the signal aborts it first: whichever comes first decides.
        let both: js_sys::Array = [JsValue::from(granted), pending].iter().collect();
        let race = js_sys::Promise::race(&both);
        match wasm_bindgen_futures::JsFuture::from(race).await {
            Ok(_) => Ok(WebLockGuard {
                release: Some(release),
                _granted: Some(cb),
            }),
            Err(_) => Err(Error::LockTimeout),
        }
    }
}
