//! Typed values from JS objects through `JSON.stringify` and serde_json,
//! which the package links anyway for token responses: one deserializer in
//! the module instead of two.

use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

/// Deserialises `value` (a plain JS object: functions and `undefined`
/// members are left out, as `JSON.stringify` does). The error is serde's
/// account of it, without serde_json's "at line … column …" position.
pub(crate) fn from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| "must be a JSON-compatible object".to_owned())?;
    serde_json::from_str(&text).map_err(|e| {
        let msg = e.to_string();
        match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_owned(),
            None => msg,
        }
    })
}
