//! JS values into JSON values through `JSON.stringify` and serde_json's
//! parser, which the package links anyway for token responses: the core
//! then reads the members it knows by hand (`core::members`).

use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::error;
use crate::core::error::Error;

/// Reads `value` (a plain JS object: functions and `undefined` members are
/// left out, as `JSON.stringify` does) with `read`; the error is a JS
/// `TokenKeeperError` naming `name` or the member at fault.
pub(crate) fn read_js<T>(
    value: &JsValue,
    name: &'static str,
    read: impl FnOnce(&Value) -> Result<T, Error>,
) -> Result<T, JsValue> {
    let json = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .and_then(|text| serde_json::from_slice::<Value>(text.as_bytes()).ok())
        .ok_or_else(|| error::config(name, "must be a plain object"))?;
    read(&json).map_err(|e| error::to_js(&e))
}
