//! JS values into JSON values through `JSON.stringify` and serde_json's
//! parser, which the package links anyway for token responses: the core
//! then reads the members it knows by hand (`core::members`).

use serde_json::Value;
use wasm_bindgen::prelude::*;

/// `value` (a plain JS object: functions and `undefined` members are left
/// out, as `JSON.stringify` does) as JSON; `None` when it has no JSON form.
pub(crate) fn from_js(value: &JsValue) -> Option<Value> {
    let text = js_sys::JSON::stringify(value).ok()?.as_string()?;
    serde_json::from_slice(text.as_bytes()).ok()
}
