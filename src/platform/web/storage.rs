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
use web_sys::{BroadcastChannel, EventTarget, Storage, StorageEvent};

use super::{call_method, is_page, scope, window};
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

/// Where a store writes besides its memory.
#[derive(Debug, Clone)]
enum Backend {
    /// `localStorage` or `sessionStorage`.
    Web(Storage),
    /// A user adapter.
    Adapter(JsValue),
}

/// One operation on the backend.
#[derive(Clone, Copy)]
enum Op<'a> {
    Get(&'a str),
    Set(&'a str, &'a str),
    Delete(&'a str),
}

/// The token store of one keeper.
#[derive(Debug)]
pub struct WebStore {
    backend: RefCell<Option<Backend>>,
    kind: &'static str,
    /// Every write, by key. A keeper uses a key or two: a list, not a hash
    /// map (which would link a hasher).
    memory: RefCell<Vec<(String, String)>>,
    on_error: Option<js_sys::Function>,
    /// An adapter's BroadcastChannel, opened on first use in a page.
    channel: RefCell<Option<BroadcastChannel>>,
}

/// Listens for changes other contexts make to the stored session; stops
/// when dropped.
#[derive(Debug)]
pub struct StoreWatch {
    target: EventTarget,
    event: &'static str,
    callback: Closure<dyn FnMut(web_sys::Event)>,
    /// The adapter's channel, closed with the watch.
    channel: Option<BroadcastChannel>,
}

impl Drop for StoreWatch {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback(
            self.event,
            self.callback.as_ref().unchecked_ref(),
        );
        if let Some(c) = &self.channel {
            c.close();
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
        // Reading `localStorage` itself throws a SecurityError in some
        // sandboxes; web-sys's getter catches it.
        let (name, backend) = match kind {
            StorageKind::Memory => ("memory", None),
            StorageKind::Session => (
                "sessionStorage",
                Some(window().session_storage().ok().flatten().map(Backend::Web)),
            ),
            StorageKind::Local => (
                "localStorage",
                Some(window().local_storage().ok().flatten().map(Backend::Web)),
            ),
            StorageKind::Adapter(obj) => ("adapter", Some(Some(Backend::Adapter(obj)))),
        };
        let store = Self {
            backend: RefCell::new(None),
            kind: name,
            memory: RefCell::new(Vec::new()),
            on_error,
            channel: RefCell::new(None),
        };
        match backend {
            Some(Some(b)) => *store.backend.borrow_mut() = Some(b),
            Some(None) => store.fall_back(),
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
        if !is_page() || !self.is_shared() {
            return None;
        }
        let (target, event, callback, channel) = match backend {
            Backend::Adapter(_) => {
                let channel = self.channel(key)?;
                let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_change());
                (channel.clone().into(), "message", cb, Some(channel))
            }
            Backend::Web(storage) => {
                let key = key.to_owned();
                let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                    let e: &StorageEvent = e.unchecked_ref();
                    // `key` is null when another tab called `localStorage.clear()`.
                    let changed = e.key();
                    if e.storage_area().as_ref() == Some(&storage)
                        && changed.as_ref().is_none_or(|k| *k == key)
                    {
                        on_change();
                    }
                });
                (scope().unchecked_into::<EventTarget>(), "storage", cb, None)
            }
        };
        target
            .add_event_listener_with_callback(event, callback.as_ref().unchecked_ref())
            .ok()?;
        Some(StoreWatch {
            target,
            event,
            callback,
            channel,
        })
    }

    /// The adapter's BroadcastChannel for `key`, opened on first use; only
    /// in a page with BroadcastChannel.
    fn channel(&self, key: &str) -> Option<BroadcastChannel> {
        if let Some(c) = self.channel.borrow().as_ref() {
            return Some(c.clone());
        }
        if self.kind != "adapter" || !is_page() {
            return None;
        }
        // Without BroadcastChannel the constructor throws, and web-sys
        // catches it.
        let c = BroadcastChannel::new(&format!("tokenkeeper:{key}")).ok()?;
        *self.channel.borrow_mut() = Some(c.clone());
        Some(c)
    }

    /// Tells the other contexts that `key` changed (adapters only).
    fn announce(&self, key: &str) {
        if self.backend.borrow().is_some() {
            if let Some(c) = self.channel(key) {
                let _ = c.post_message(&JsValue::from_str("changed"));
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
            scope().queue_microtask(report.unchecked_ref());
        }
    }

    /// Runs `op` on the backend: `Some` of the value read (`None` for a
    /// write or a missing key), or `None` when there is no backend or it
    /// just failed (and the store fell back to memory, which already holds
    /// every write).
    async fn on_backend(&self, op: Op<'_>) -> Option<Option<String>> {
        let backend = self.backend.borrow().clone()?;
        let done = match (&backend, op) {
            (Backend::Web(s), Op::Get(k)) => s.get_item(k),
            (Backend::Web(s), Op::Set(k, v)) => s.set_item(k, v).map(|()| None),
            (Backend::Web(s), Op::Delete(k)) => s.remove_item(k).map(|()| None),
            (Backend::Adapter(a), op) => {
                let (method, args) = match op {
                    Op::Get(k) => ("get", vec![JsValue::from_str(k)]),
                    Op::Set(k, v) => ("set", vec![JsValue::from_str(k), JsValue::from_str(v)]),
                    Op::Delete(k) => ("delete", vec![JsValue::from_str(k)]),
                };
                call_method(a, method, &args).await.map(|v| v.as_string())
            }
        };
        match done {
            Ok(v) => Some(v),
            Err(_) => {
                self.fall_back();
                None
            }
        }
    }
}

impl TokenStore for WebStore {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        match self.on_backend(Op::Get(key)).await {
            Some(v) => Ok(v),
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
        self.on_backend(Op::Set(key, value)).await;
        self.announce(key);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.memory.borrow_mut().retain(|(k, _)| k != key);
        self.on_backend(Op::Delete(key)).await;
        self.announce(key);
        Ok(())
    }
}
