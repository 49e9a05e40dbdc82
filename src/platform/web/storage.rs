//! [`TokenStore`] over memory, Web Storage or a user adapter.
//!
//! A store that throws (Safari private mode's `QuotaExceededError`, a
//! sandboxed iframe's `SecurityError`, a failing adapter) never crashes the
//! keeper: the failure is reported once through the `on_error` hook and the
//! keeper carries on in memory for the rest of its life.

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::prelude::*;

use super::{call_method, global};
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
    memory: RefCell<HashMap<String, String>>,
    on_error: Option<js_sys::Function>,
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
            memory: RefCell::new(HashMap::new()),
            on_error,
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

    /// Stops using the backend and tells the listener; called at most once,
    /// since the backend is gone afterwards.
    fn fall_back(&self) {
        self.backend.borrow_mut().take();
        if let Some(f) = &self.on_error {
            let _ = f.call2(
                &JsValue::UNDEFINED,
                &JsValue::from_str("AUTH_STORAGE"),
                &JsValue::from_str(self.kind),
            );
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
            None => Ok(self.memory.borrow().get(key).cloned()),
        }
    }

    async fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        self.memory
            .borrow_mut()
            .insert(key.to_owned(), value.to_owned());
        let args = [JsValue::from_str(key), JsValue::from_str(value)];
        self.backend_call(self.method("setItem", "set"), &args)
            .await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.memory.borrow_mut().remove(key);
        let args = [JsValue::from_str(key)];
        self.backend_call(self.method("removeItem", "delete"), &args)
            .await;
        Ok(())
    }
}
