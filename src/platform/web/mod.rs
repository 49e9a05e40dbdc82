//! The wasm32 adapters: each carries one platform trait into the JS world
//! through globals bound directly (`fetch`, `setTimeout`, `navigator.locks`,
//! `crypto`), never through `window`, so the same module runs in a page, a
//! Worker, workerd, Node and Deno.

mod clock;
mod fetch;
mod lock;
mod random;
mod storage;
mod timer;

pub use clock::WebClock;
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
}

impl Platform for WebPlatform {
    type Clock = WebClock;
    type Http = FetchHttp;
    type Sleeper = TimerSleeper;
    type Store = WebStore;
    type Lock = WebLock;
    type Random = WebRandom;

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
}

/// `globalThis[name]`, or `undefined` when the runtime has no such global.
pub(crate) fn global(name: &str) -> JsValue {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

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
