//! [`TokenStore`] over memory, Web Storage or a user adapter.
//!
//! A store that throws (Safari private mode's `QuotaExceededError`, a
//! sandboxed iframe's `SecurityError`, a failing adapter) never crashes the
//! keeper: the failure is reported once through the `on_error` hook and the
//! keeper carries on in memory for the rest of its life.
//!
//! In a page, [`WebStore::watch`] tells the keeper when another tab changed
//! the stored session: a `storage` event for `localStorage`; for an adapter,
//! a message on the BroadcastChannel `tokenkeeper:<key>`, where this store
//! posts `"changed"` after each of its writes (never the value).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::{call, call_method, get, global};
use crate::core::error::Error;
use crate::platform::TokenStore;

/// Where the tokens live, as the `storage` option chose.
#[derive(Debug)]
pub enum StorageKind {
    /// In this context's memory only (the default): gone on reload.
    Memory,
    /// `sessionStorage`: survives a reload, one tab only.
    Session,
    /// `localStorage`: shared by every tab of the origin.
    Local,
    /// A user object with async `get(key)`, `set(key, value)`, `delete(key)`.
    Adapter(JsValue),
}

/// The token store of one keeper.
#[derive(Debug)]
pub struct WebStore {
    backend: RefCell<Option<JsValue>>,
    kind: &'static str,
    /// Every write, by key. A keeper uses a key or two: a list, not a hash
    /// map (which would link a hasher).
    memory: RefCell<Vec<(String, String)>>,
    on_error: Option<js_sys::Function>,
    /// An adapter's BroadcastChannel, opened on first use in a page.
    channel: RefCell<Option<JsValue>>,
}

/// Listens for changes other contexts make to the stored session; stops
/// when dropped.
#[derive(Debug)]
pub struct StoreWatch {
    target: JsValue,
    event: &'static str,
    callback: Closure<dyn FnMut(JsValue)>,
}

impl Drop for StoreWatch {
    fn drop(&mut self) {
        let _ = call(
            &self.target,
            "removeEventListener",
            &[
                JsValue::from_str(self.event),
                self.callback.as_ref().clone(),
            ],
        );
        if self.event == "message" {
            let _ = call(&self.target, "close", &[]);
        }
    }
}

impl WebStore {
    /// A store of `kind`; `on_error(code, message)` is called once if the
    /// backend fails and the store falls back to memory.
    ///
    /// Web Storage that does not exist (Node, Deno without `--location`,
    /// Workers) or that throws on access falls back at once.
    #[must_use]
    pub fn new(kind: StorageKind, on_error: Option<js_sys::Function>) -> Self {
        let (name, backend) = match kind {
            StorageKind::Memory => ("memory", None),
            StorageKind::Session => ("sessionStorage", Some(web_storage("sessionStorage"))),
            StorageKind::Local => ("localStorage", Some(web_storage("localStorage"))),
            StorageKind::Adapter(obj) => ("adapter", Some(Ok(obj))),
        };
        let store = Self {
            backend: RefCell::new(None),
            kind: name,
            memory: RefCell::new(Vec::new()),
            on_error,
            channel: RefCell::new(None),
        };
        match backend {
            Some(Ok(b)) => *store.backend.borrow_mut() = Some(b),
            Some(Err(())) => store.fall_back(),
            None => {}
        }
        store
    }

    /// Whether the tokens are shared beyond this context (so refreshes
    /// must take the cross-context lock).
    #[must_use]
    pub fn is_shared(&self) -> bool {
        self.backend.borrow().is_some() && self.kind != "sessionStorage"
    }

    /// Calls `on_change` whenever another context changes `key` (see the
    /// module docs); `None` when the store is not shared or this is not a
    /// page.
    pub fn watch(&self, key: &str, on_change: impl Fn() + 'static) -> Option<StoreWatch> {
        let backend = self.backend.borrow().clone()?;
        if !global("document").is_object() || !self.is_shared() {
            return None;
        }
        let (target, event, callback) = if self.kind == "adapter" {
            let channel = self.channel(key)?;
            let cb = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| on_change());
            (channel, "message", cb)
        } else {
            let key = key.to_owned();
            let cb = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                // `key` is null when another tab called `localStorage.clear()`.
                let changed = get(&e, "key");
                if get(&e, "storageArea") == backend
                    && (changed.is_null() || changed.as_string().as_deref() == Some(&key))
                {
                    on_change();
                }
            });
            (js_sys::global().into(), "storage", cb)
        };
        call(
            &target,
            "addEventListener",
            &[JsValue::from_str(event), callback.as_ref().clone()],
        )?;
        Some(StoreWatch {
            target,
            event,
            callback,
        })
    }

    /// The adapter's BroadcastChannel for `key`, opened on first use; only
    /// in a page with BroadcastChannel.
    fn channel(&self, key: &str) -> Option<JsValue> {
        if let Some(c) = self.channel.borrow().as_ref() {
            return Some(c.clone());
        }
        let ctor: js_sys::Function = global("BroadcastChannel").dyn_into().ok()?;
        if self.kind != "adapter" || !global("document").is_object() {
            return None;
        }
        let name = js_sys::Array::of1(&JsValue::from_str(&format!("tokenkeeper:{key}")));
        let c = js_sys::Reflect::construct(&ctor, &name).ok()?;
        *self.channel.borrow_mut() = Some(c.clone());
        Some(c)
    }

    /// Tells the other contexts that `key` changed (adapters only).
    fn announce(&self, key: &str) {
        if self.backend.borrow().is_some() {
            if let Some(c) = self.channel(key) {
                let _ = call(&c, "postMessage", &[JsValue::from_str("changed")]);
            }
        }
    }

    /// Stops using the backend and tells the listener; called at most once,
    /// since the backend is gone afterwards. The listener hears of it in a
    /// microtask: a failure found while the keeper is being constructed
    /// still reaches the listeners the caller adds right after.
    fn fall_back(&self) {
        self.backend.borrow_mut().take();
        if let Some(f) = &self.on_error {
            let report = f.bind2(
                &JsValue::UNDEFINED,
                &JsValue::from_str("AUTH_STORAGE"),
                &JsValue::from_str(self.kind),
            );
            let queue: Option<js_sys::Function> = global("queueMicrotask").dyn_into().ok();
            let _ = match queue {
                Some(q) => q.call1(&JsValue::UNDEFINED, &report),
                None => report.call0(&JsValue::UNDEFINED),
            };
        }
    }

    /// Calls the backend; `None` when there is none or it just failed (and
    /// the store fell back to memory, which already holds every write).
    async fn backend_call(&self, method: &str, args: &[JsValue]) -> Option<JsValue> {
        let backend = self.backend.borrow().clone()?;
        match call_method(&backend, method, args).await {
            Ok(v) => Some(v),
            Err(_) => {
                self.fall_back();
                None
            }
        }
    }

    fn method(&self, web_storage: &'static str, adapter: &'static str) -> &'static str {
        if self.kind == "adapter" {
            adapter
        } else {
            web_storage
        }
    }
}

/// `globalThis[name]` if reading it works and yields an object.
fn web_storage(name: &str) -> Result<JsValue, ()> {
    // Reading `localStorage` itself throws a SecurityError in some
    // sandboxes; `global` maps a throw to undefined.
    let s = global(name);
    if s.is_object() { Ok(s) } else { Err(()) }
}

impl TokenStore for WebStore {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        let args = [JsValue::from_str(key)];
        match self
            .backend_call(self.method("getItem", "get"), &args)
            .await
        {
            Some(v) => Ok(v.as_string()),
            None => Ok(self
                .memory
                .borrow()
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())),
        }
    }

    async fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        {
            let mut memory = self.memory.borrow_mut();
            memory.retain(|(k, _)| k != key);
            memory.push((key.to_owned(), value.to_owned()));
        }
        let args = [JsValue::from_str(key), JsValue::from_str(value)];
        self.backend_call(self.method("setItem", "set"), &args)
            .await;
        self.announce(key);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.memory.borrow_mut().retain(|(k, _)| k != key);
        let args = [JsValue::from_str(key)];
        self.backend_call(self.method("removeItem", "delete"), &args)
            .await;
        self.announce(key);
        Ok(())
    }
}
