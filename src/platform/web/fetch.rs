//! [`HttpTransport`] over the global `fetch` (or an injected one).
//!
//! Every request goes out with `redirect: "manual"` (a token endpoint that
//! redirects is an error, never followed: RFC 9700 §4.12), `credentials:
//! "omit"` and a timeout signal. The body is read chunk by chunk and
//! reading stops past [`MAX_BODY_BYTES`], so a hostile server cannot make
//! the client buffer megabytes. The JS half, `fetch.js`, does the sending
//! in one call, so a request crosses the boundary twice.

use wasm_bindgen::prelude::*;

use crate::core::request::HttpRequest;
use crate::core::response::{HttpResponse, MAX_BODY_BYTES, TransportError};
use crate::platform::HttpTransport;

/// The response headers the core reads, separated by spaces; nothing else
/// crosses the boundary.
const READ_HEADERS: &str = "content-type date retry-after www-authenticate";

#[wasm_bindgen(module = "/src/platform/web/fetch.js")]
extern "C" {
    /// fetch.js's `send`: resolves to `[status, body, ...headers]` or to the
    /// kind of failure; never rejects.
    #[wasm_bindgen(js_name = send)]
    #[allow(clippy::too_many_arguments)]
    fn js_send(
        fetch: &JsValue,
        url: &str,
        method: &str,
        headers: Vec<String>,
        body: &[u8],
        timeout_ms: u32,
        limit: u32,
        names: &str,
    ) -> js_sys::Promise;
}

/// Sends requests with `fetch`.
#[derive(Debug)]
pub struct FetchHttp {
    fetch: JsValue,
    timeout_ms: u32,
}

impl FetchHttp {
    /// Uses `fetch` when given (the `fetch` option), else the global one at
    /// the time of each request; each request is aborted after `timeout_ms`.
    #[must_use]
    pub fn new(fetch: Option<js_sys::Function>, timeout_ms: u32) -> Self {
        let fetch = fetch.map_or(JsValue::UNDEFINED, JsValue::from);
        Self { fetch, timeout_ms }
    }
}

impl HttpTransport for FetchHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let headers = req.headers.into_iter().flat_map(|(k, v)| [k, v]).collect();
        // One byte past the cap: enough for the core to see the body is too
        // large, and no more.
        #[allow(clippy::cast_possible_truncation)]
        let limit = (MAX_BODY_BYTES + 1) as u32;
        let sent = js_send(
            &self.fetch,
            &req.url,
            req.method,
            headers,
            &req.body,
            self.timeout_ms,
            limit,
            READ_HEADERS,
        );
        let out = wasm_bindgen_futures::JsFuture::from(sent)
            .await
            .map_err(|_| TransportError::Network)?;
        match out.as_string().as_deref() {
            Some("timeout") => return Err(TransportError::Timeout),
            Some("aborted") => return Err(TransportError::Aborted),
            Some(_) => return Err(TransportError::Network),
            None => {}
        }
        let out = js_sys::Array::from(&out);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let status = out.get(0).as_f64().unwrap_or(0.0) as u16;
        let body = js_sys::Uint8Array::new(&out.get(1)).to_vec();
        let headers = READ_HEADERS
            .split(' ')
            .zip(2..)
            .filter_map(|(name, i)| Some((name.to_owned(), out.get(i).as_string()?)))
            .collect();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
