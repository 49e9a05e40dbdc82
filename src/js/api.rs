//! The resource-API exports: `KeeperCore.apiHeaders` and
//! `KeeperCore.rejects`, the wasm half of `TokenKeeper.fetch`.
//!
//! The core's [`ApiPolicy`] decides; this side only carries a request's
//! origin in and a response's status and `WWW-Authenticate` header out of
//! the JS world. Both run on every `keeper.fetch`, so each is one crossing:
//! the header pairs are built once, frozen, and handed out as they are, and
//! the challenge is read only for a status it can change the answer for.

use std::fmt;

use wasm_bindgen::prelude::*;

use super::error;
use super::keeper::KeeperCore;
use crate::core::api::ApiPolicy;
use crate::core::config::Config;
use crate::core::response::HttpResponse;
use crate::core::secret::AccessToken;
use crate::platform::web::{call, get};

/// A keeper's resource-API policy and what the JS class needs of it.
pub(crate) struct Api {
    policy: ApiPolicy,
    /// The `apiHeaders` as a frozen array of frozen `[name, value]` pairs.
    headers: js_sys::Array,
    /// The `isRejected(response)` option: when set, it decides instead of
    /// the policy.
    is_rejected: Option<js_sys::Function>,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The header array holds the values, which are secrets.
        f.debug_struct("Api")
            .field("policy", &self.policy)
            .field("is_rejected", &self.is_rejected.is_some())
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The policy of a validated `config`; `page_origin` is `location.origin`
    /// where there is one.
    pub(crate) fn new(
        config: &Config,
        page_origin: Option<&str>,
        is_rejected: Option<js_sys::Function>,
    ) -> Result<Self, JsValue> {
        let policy = ApiPolicy::new(config, page_origin).map_err(|e| error::to_js(&e))?;
        let headers = js_sys::Array::new();
        for (name, value) in &policy.headers().0 {
            let pair = js_sys::Array::of2(&JsValue::from_str(name), &JsValue::from_str(value));
            js_sys::Object::freeze(&pair);
            headers.push(&pair);
        }
        js_sys::Object::freeze(&headers);
        Ok(Self {
            policy,
            headers,
            is_rejected,
        })
    }
}

#[wasm_bindgen]
impl KeeperCore {
    /// The headers to send with the token to `origin` (a `URL.origin`), as
    /// a frozen array of `[name, value]` pairs (empty without
    /// `apiHeaders`); throws `AUTH_ORIGIN_NOT_ALLOWED` for an origin that
    /// may not have the token.
    #[wasm_bindgen(js_name = apiHeaders)]
    pub fn api_headers(&self, origin: &str) -> Result<js_sys::Array, JsValue> {
        self.api
            .policy
            .check_origin(origin)
            .map_err(|e| error::to_js(&e))?;
        Ok(self.api.headers.clone())
    }

    /// Whether `response` means the resource server did not accept the
    /// token: the `isRejected` option's result (a boolean or a promise of
    /// one) when it is set, else the policy's answer from the status and
    /// `WWW-Authenticate`.
    pub fn rejects(&self, response: &JsValue) -> Result<JsValue, JsValue> {
        if let Some(f) = &self.api.is_rejected {
            return f.call1(&JsValue::UNDEFINED, response);
        }
        let status = get(response, "status")
            .as_f64()
            .filter(|s| s.is_finite() && (0.0..=999.0).contains(s));
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let status = status.map_or(0, |s| s as u16);
        let policy = &self.api.policy;
        let challenge = if policy.reads_challenge(status) {
            call(
                &get(response, "headers"),
                "get",
                &[JsValue::from_str("www-authenticate")],
            )
            .and_then(|v| v.as_string())
        } else {
            None
        };
        Ok(JsValue::from_bool(
            policy.rejects(status, challenge.as_deref()),
        ))
    }

    /// Whether requests carry DPoP proofs (the option `dpop`).
    #[wasm_bindgen(getter)]
    pub fn dpop(&self) -> bool {
        self.shared.driver.dpop()
    }

    /// Resolves to a DPoP proof (RFC 9449 §7) for sending `token` with
    /// `method url` to a resource server.
    pub fn proof(&self, method: String, url: String, token: String) -> js_sys::Promise {
        self.run(|shared| async move {
            let token = AccessToken::new(token);
            let proof = shared.driver.proof(&method, &url, Some(&token)).await?;
            Ok(proof.map_or(JsValue::UNDEFINED, |p| JsValue::from_str(p.secret())))
        })
    }

    /// Keeps the `DPoP-Nonce` of a resource server's `response` to a
    /// request to `url`; whether the response asks for that nonce, so that
    /// the request is worth sending once more (RFC 9449 §9).
    #[wasm_bindgen(js_name = nonceRetry)]
    pub fn nonce_retry(&self, url: &str, response: &JsValue) -> bool {
        let headers = get(response, "headers");
        let header = |name: &str| {
            call(&headers, "get", &[JsValue::from_str(name)])
                .and_then(|v| v.as_string())
                .map(|v| (name.to_owned(), v))
        };
        let status = get(response, "status").as_f64().unwrap_or(0.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let resp = HttpResponse {
            status: status.clamp(0.0, 999.0) as u16,
            headers: ["dpop-nonce", "www-authenticate"]
                .into_iter()
                .filter_map(header)
                .collect(),
            body: Vec::new(),
        };
        self.shared.driver.resource_wants_nonce(url, &resp)
    }
}
