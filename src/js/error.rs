//! Core errors as JS `Error`s with a stable `code`.

use wasm_bindgen::prelude::*;

use crate::core::error::Error;
use crate::platform::web::set;

/// A JS `Error` named `TokenKeeperError` carrying `code`, and where they
/// apply `status`, `error`, `error_description`, `transient` and `retryIn`
/// (ms until the next attempt, for `AUTH_RETRY_LATER`; the keeper adds it
/// to any transient failure while a retry is planned). The message
/// is the core's lower-case fragment: never a token, password or secret.
pub(crate) fn to_js(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("TokenKeeperError");
    let v: JsValue = err.into();
    set(&v, "code", &JsValue::from_str(e.code()));
    if let Some(s) = e.status() {
        set(&v, "status", &JsValue::from(s));
    }
    if let Some(s) = e.error() {
        set(&v, "error", &JsValue::from_str(s));
    }
    if let Some(s) = e.error_description() {
        set(&v, "error_description", &JsValue::from_str(s));
    }
    set(&v, "transient", &JsValue::from(e.is_transient()));
    if let Error::RetryLater { retry_in_ms } = e {
        #[allow(clippy::cast_precision_loss)]
        set(&v, "retryIn", &JsValue::from(*retry_in_ms as f64));
    }
    v
}

/// A configuration error naming `field`.
pub(crate) fn config(field: &'static str, reason: &'static str) -> JsValue {
    to_js(&Error::Config {
        field: field.into(),
        reason,
    })
}
