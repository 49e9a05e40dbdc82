//! [`HttpTransport`] over the global `fetch` (or an injected one).
//!
//! Every request goes out with `redirect: "manual"` (a token endpoint that
//! redirects is an error, never followed: RFC 9700 §4.12), `credentials:
//! "omit"` and a timeout signal. The body is read chunk by chunk and
//! reading stops past [`MAX_BODY_BYTES`], so a hostile server cannot make
//! the client buffer megabytes.

use wasm_bindgen::prelude::*;

use super::{call_method, get, global, resolve, set};
use crate::core::request::HttpRequest;
use crate::core::response::{HttpResponse, MAX_BODY_BYTES, TransportError};
use crate::platform::HttpTransport;

/// The response headers the core reads; nothing else crosses the boundary.
const READ_HEADERS: [&str; 4] = ["content-type", "date", "retry-after", "www-authenticate"];

/// Sends requests with `fetch`.
#[derive(Debug)]
pub struct FetchHttp {
    fetch: Option<js_sys::Function>,
    timeout_ms: u32,
}

impl FetchHttp {
    /// Uses `fetch` when given (the `fetch` option), else the global one;
    /// each request is aborted after `timeout_ms`.
    #[must_use]
    pub fn new(fetch: Option<js_sys::Function>, timeout_ms: u32) -> Self {
        Self { fetch, timeout_ms }
    }

    fn fetch_fn(&self) -> Result<js_sys::Function, TransportError> {
        match &self.fetch {
            Some(f) => Ok(f.clone()),
            None => global("fetch")
                .dyn_into()
                .map_err(|_| TransportError::Network),
        }
    }
}

impl HttpTransport for FetchHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let fetch = self.fetch_fn()?;
        let init = js_sys::Object::new();
        set(&init, "method", &JsValue::from_str(req.method));
        let headers = js_sys::Object::new();
        for (k, v) in &req.headers {
            set(&headers, k, &JsValue::from_str(v));
        }
        set(&init, "headers", &headers);
        if !req.body.is_empty() {
            set(
                &init,
                "body",
                &js_sys::Uint8Array::from(req.body.as_slice()),
            );
        }
        set(&init, "redirect", &JsValue::from_str("manual"));
        set(&init, "credentials", &JsValue::from_str("omit"));
        set(&init, "cache", &JsValue::from_str("no-store"));
        let signal = timeout_signal(self.timeout_ms);
        if let Some(s) = &signal {
            set(&init, "signal", s);
        }

        let sent = fetch
            .call2(&JsValue::UNDEFINED, &JsValue::from_str(&req.url), &init)
            .map_err(|_| TransportError::Network);
        let res = match sent {
            Ok(p) => resolve(p).await.map_err(|e| failure(&e, signal.as_ref())),
            Err(e) => Err(e),
        }?;
        read_response(&res)
            .await
            .map_err(|e| failure(&e, signal.as_ref()))
    }
}

/// `AbortSignal.timeout(ms)`, where the runtime has it.
fn timeout_signal(ms: u32) -> Option<JsValue> {
    let abort_signal = global("AbortSignal");
    let f: js_sys::Function = get(&abort_signal, "timeout").dyn_into().ok()?;
    f.call1(&abort_signal, &JsValue::from(ms)).ok()
}

/// A rejected fetch: a timeout when our signal fired, else a network error.
fn failure(err: &JsValue, signal: Option<&JsValue>) -> TransportError {
    let aborted = signal.is_some_and(|s| get(s, "aborted").is_truthy());
    let name = get(err, "name").as_string().unwrap_or_default();
    if aborted || name == "TimeoutError" {
        TransportError::Timeout
    } else if name == "AbortError" {
        TransportError::Aborted
    } else {
        TransportError::Network
    }
}

async fn read_response(res: &JsValue) -> Result<HttpResponse, JsValue> {
    // A manual redirect in a browser is an opaque response with status 0;
    // Node and Deno show the real 3xx. Either way it is a redirect.
    let opaque = get(res, "type").as_string().as_deref() == Some("opaqueredirect");
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let status = if opaque {
        302
    } else {
        get(res, "status").as_f64().unwrap_or(0.0) as u16
    };
    let js_headers = get(res, "headers");
    let mut headers = Vec::new();
    for name in READ_HEADERS {
        if let Ok(v) = call_method(&js_headers, "get", &[JsValue::from_str(name)]).await {
            if let Some(v) = v.as_string() {
                headers.push((name.to_owned(), v));
            }
        }
    }
    let body = if opaque {
        Vec::new()
    } else {
        read_body(res).await?
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Reads at most `MAX_BODY_BYTES + 1` bytes: enough for the core to see the
/// body is too large, and no more.
async fn read_body(res: &JsValue) -> Result<Vec<u8>, JsValue> {
    let limit = MAX_BODY_BYTES + 1;
    let stream = get(res, "body");
    if stream.is_null() || stream.is_undefined() {
        return Ok(Vec::new());
    }
    let reader = call_method(&stream, "getReader", &[]).await?;
    let mut out = Vec::new();
    loop {
        let chunk = call_method(&reader, "read", &[]).await?;
        if get(&chunk, "done").is_truthy() {
            break;
        }
        let bytes = js_sys::Uint8Array::new(&get(&chunk, "value"));
        let room = limit - out.len();
        let take = (bytes.length() as usize).min(room);
        #[allow(clippy::cast_possible_truncation)]
        out.extend_from_slice(&bytes.subarray(0, take as u32).to_vec());
        if out.len() >= limit {
            let _ = call_method(&reader, "cancel", &[]).await;
            break;
        }
    }
    Ok(out)
}
