//! The exports of the device flow (RFC 8628), a one-off token exchange
//! (RFC 8693) and pushed authorization requests (RFC 9126). The driver runs
//! them; the device code stays here, in wasm memory, and never crosses.

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;

use super::error;
use super::keeper::KeeperCore;
use crate::core::config::Profile;
use crate::core::device::DeviceAuthorization;
use crate::core::error::Error;
use crate::core::response::ExpiryHint;
use crate::platform::web::set;

/// The device flow of a keeper: its codes between `deviceAuthorize` and
/// `deviceComplete`, and whether it was cancelled.
#[derive(Debug, Default)]
pub(crate) struct DeviceFlow {
    codes: RefCell<Option<DeviceAuthorization>>,
    cancelled: Cell<bool>,
}

#[wasm_bindgen]
impl KeeperCore {
    /// Starts the device flow: resolves to `{ userCode, verificationUri,
    /// verificationUriComplete, expiresAt, interval }` (epoch ms, ms); the
    /// device code is kept for `deviceComplete`.
    #[wasm_bindgen(js_name = deviceAuthorize)]
    pub fn device_authorize(&self, scope: Option<String>) -> js_sys::Promise {
        self.run(|shared| async move {
            let codes = shared.driver.device_authorize(scope.as_deref()).await?;
            let out = js_sys::Object::new();
            set(&out, "userCode", &JsValue::from_str(&codes.user_code));
            set(
                &out,
                "verificationUri",
                &JsValue::from_str(&codes.verification_uri),
            );
            if let Some(uri) = &codes.verification_uri_complete {
                set(&out, "verificationUriComplete", &JsValue::from_str(uri));
            }
            #[allow(clippy::cast_precision_loss)]
            let (at, interval) = (codes.expires_at.0 as f64, codes.interval_ms as f64);
            set(&out, "expiresAt", &JsValue::from(at));
            set(&out, "interval", &JsValue::from(interval));
            shared.device.cancelled.set(false);
            *shared.device.codes.borrow_mut() = Some(codes);
            Ok(out.into())
        })
    }

    /// Polls until the user approved the codes of `deviceAuthorize` (then
    /// the keeper is logged in), denied them, they expired, or
    /// `deviceCancel` was called.
    #[wasm_bindgen(js_name = deviceComplete)]
    pub fn device_complete(&self) -> js_sys::Promise {
        self.run(|shared| async move {
            let codes =
                shared.device.codes.borrow_mut().take().ok_or_else(|| {
                    Error::config("deviceComplete", "needs deviceAuthorize first")
                })?;
            let flow = &shared.device;
            shared
                .driver
                .device_login(codes, || flow.cancelled.get())
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Stops the device flow before its next poll.
    #[wasm_bindgen(js_name = deviceCancel)]
    pub fn device_cancel(&self) {
        self.shared.device.cancelled.set(true);
    }

    /// A token exchange (RFC 8693) whose answer is returned, not kept:
    /// resolves to `{ accessToken, issuedTokenType, expiresIn, scope }`.
    #[wasm_bindgen(js_name = exchangeToken)]
    pub fn exchange_token(&self, params: JsValue) -> Result<js_sys::Promise, JsValue> {
        let creds = self.shared.credentials(params)?;
        if !matches!(creds, crate::core::request::Credentials::TokenExchange(_)) {
            return Err(error::config(
                "params",
                "must be { subjectToken, subjectTokenType, … }",
            ));
        }
        Ok(self.run(|shared| async move {
            let (tokens, _) = shared.driver.exchange(&creds).await?;
            let out = js_sys::Object::new();
            set(
                &out,
                "accessToken",
                &JsValue::from_str(tokens.access_token().secret()),
            );
            if let Some(t) = tokens.issued_token_type() {
                set(&out, "issuedTokenType", &JsValue::from_str(t));
            }
            if let Some(ExpiryHint::In { count, unit_ms }) = tokens.expires() {
                #[allow(clippy::cast_precision_loss)]
                let seconds = count.saturating_mul(unit_ms) as f64 / 1000.0;
                set(&out, "expiresIn", &JsValue::from(seconds));
            }
            if let Some(scope) = tokens.scope() {
                set(&out, "scope", &JsValue::from_str(scope));
            }
            Ok(out.into())
        }))
    }

    /// Whether a redirect login pushes its request first (RFC 9126).
    #[wasm_bindgen(getter, js_name = pushesAuthorization)]
    pub fn pushes_authorization(&self) -> bool {
        matches!(&self.shared.driver.config().profile, Profile::OAuth2(p) if p.require_par)
    }

    /// Pushes the authorization request of `url` (from `beginRedirect`) and
    /// resolves to the URL that redeems it.
    #[wasm_bindgen(js_name = pushAuthorization)]
    pub fn push_authorization(&self, url: String) -> js_sys::Promise {
        self.run(|shared| async move {
            let short = shared.driver.push_authorization(&url).await?;
            Ok(JsValue::from_str(&short))
        })
    }
}
