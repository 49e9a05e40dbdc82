//! The wasm32 adapters: each carries one platform trait into the JS world.
//!
//! Platform APIs are web-sys's typed bindings, reached through the global
//! scope ([`scope`]), never through `web_sys::window()`: the same module runs
//! in a page, a dedicated, shared or service worker, workerd, Node and Deno.
//! web-sys calls members structurally (`globalThis.fetch(…)`), so the cast
//! holds wherever the member exists; an optional one (`navigator.locks`,
//! `localStorage`, `BroadcastChannel`, `document`) is checked before use,
//! and the adapters fall back without it.

mod clock;
mod dpop;
mod fetch;
mod lock;
mod random;
mod storage;
mod timer;

pub use clock::WebClock;
pub use dpop::WebProofKey;
pub use fetch::FetchHttp;
pub use lock::WebLock;
pub use random::WebRandom;
pub use storage::{StorageKind, StoreWatch, WebStore};
pub use timer::{Timeout, TimerSleeper};

use wasm_bindgen::prelude::*;

use super::Platform;

/// Every adapter for one keeper, as the options chose them.
#[derive(Debug)]
pub struct WebPlatform {
    /// `Date.now()`, or the injected `now`.
    pub clock: WebClock,
    /// `fetch`, or the injected one.
    pub http: FetchHttp,
    /// `setTimeout`.
    pub sleeper: TimerSleeper,
    /// Memory, Web Storage or a user adapter.
    pub store: WebStore,
    /// Web Locks, or a lock local to this context.
    pub lock: WebLock,
    /// `crypto.getRandomValues`.
    pub random: WebRandom,
    /// The DPoP key, with the option `dpop`.
    pub proof_key: Option<WebProofKey>,
}

impl Platform for WebPlatform {
    type Clock = WebClock;
    type Http = FetchHttp;
    type Sleeper = TimerSleeper;
    type Store = WebStore;
    type Lock = WebLock;
    type Random = WebRandom;
    type ProofKey = WebProofKey;

    fn clock(&self) -> &WebClock {
        &self.clock
    }
    fn http(&self) -> &FetchHttp {
        &self.http
    }
    fn sleeper(&self) -> &TimerSleeper {
        &self.sleeper
    }
    fn store(&self) -> &WebStore {
        &self.store
    }
    fn lock(&self) -> &WebLock {
        &self.lock
    }
    fn random(&self) -> &WebRandom {
        &self.random
    }
    fn proof_key(&self) -> Option<&WebProofKey> {
        self.proof_key.as_ref()
    }
}

/// The global scope, typed as web-sys's `WorkerGlobalScope`: `fetch`,
/// `setTimeout`, `crypto`, `navigator`, `location` and `queueMicrotask`
/// have these names in a window, every worker, workerd, Node and Deno.
/// `navigator` and `location` may be missing (Node 20, a Worker without a
/// location): check them with `is_object()` before calling their members.
pub(crate) fn scope() -> web_sys::WorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// The global scope typed as a `Window`, for what only a page has: its
/// getters of `document`, `localStorage` and `sessionStorage` are nullable
/// (and catch a throwing getter), so elsewhere they read as absent.
pub(crate) fn window() -> web_sys::Window {
    js_sys::global().unchecked_into()
}

/// Whether this runs in a page: the global scope has a `document`.
pub(crate) fn is_page() -> bool {
    window().document().is_some()
}

// Reading and calling JS values handed in by the caller (options, storage
// adapters, responses): untyped by nature, through `Reflect`.

/// `target[key]`, or `undefined` when reading it throws.
pub(crate) fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_object() || target.is_function() {
        js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// Sets `target[key] = value` on a plain object built by this crate.
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Reflect.set only throws on a non-object target; ours are fresh objects.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

/// `target[method](...args)`, synchronously; `None` when it throws.
pub(crate) fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
    let f: js_sys::Function = get(target, method).dyn_into().ok()?;
    f.apply(target, &args.iter().collect()).ok()
}

/// Calls `target[method](...args)` and awaits the result if it is a promise.
pub(crate) async fn call_method(
    target: &JsValue,
    method: &str,
    args: &[JsValue],
) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = get(target, method)
        .dyn_into()
        .map_err(|_| JsValue::from_str("not a function"))?;
    let arr: js_sys::Array = args.iter().collect();
    let out = f.apply(target, &arr)?;
    resolve(out).await
}

/// Awaits `value` when it is a thenable; returns it as it is otherwise.
pub(crate) async fn resolve(value: JsValue) -> Result<JsValue, JsValue> {
    match value.dyn_into::<js_sys::Promise>() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await,
        Err(v) if get(&v, "then").is_function() => {
            wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&v)).await
        }
        Err(v) => Ok(v),
    }
}
