//! Core events as `(type, detail)` pairs for the JS `EventTarget`.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::core::session::Event;
use crate::driver::EventListener;
use crate::platform::web::set;

/// A driver listener that calls `emit(type, detail)` for every event. No
/// detail carries a secret; errors are reduced to their code and status.
pub(crate) fn listener(emit: js_sys::Function) -> EventListener {
    Rc::new(move |event: &Event| {
        let detail = js_sys::Object::new();
        let kind = match event {
            Event::LoggedIn => "login",
            Event::LoginFailed { error } => {
                set(&detail, "error", &super::error::to_js(error));
                "loginfailed"
            }
            Event::Refreshing => "refreshing",
            Event::Refreshed { rotated } => {
                set(&detail, "rotated", &JsValue::from(*rotated));
                "refreshed"
            }
            Event::RefreshFailed {
                error,
                transient,
                retry_in_ms,
            } => {
                set(&detail, "error", &super::error::to_js(error));
                set(&detail, "transient", &JsValue::from(*transient));
                #[allow(clippy::cast_precision_loss)]
                let retry = retry_in_ms.map_or(JsValue::NULL, |ms| JsValue::from(ms as f64));
                set(&detail, "retryIn", &retry);
                "refreshfailed"
            }
            Event::SessionEnded { reason } => {
                set(&detail, "reason", &JsValue::from_str(reason.as_str()));
                "sessionended"
            }
            Event::Restored => "restored",
            Event::LoggedOut => "logout",
            Event::Revoked => "revoked",
            Event::RevocationFailed { error } => {
                set(&detail, "error", &super::error::to_js(error));
                "revocationfailed"
            }
            Event::StorageFailed { error } => {
                set(&detail, "error", &super::error::to_js(error));
                "storageerror"
            }
        };
        let _ = emit.call2(&JsValue::UNDEFINED, &JsValue::from_str(kind), &detail);
    })
}
