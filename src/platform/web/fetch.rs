//! [`HttpTransport`] over the global `fetch` (or an injected one).
//!
//! Every request goes out with `redirect: "manual"` (a token endpoint that
//! redirects is an error, never followed: RFC 9700 §4.12), `credentials:
//! "omit"`, `cache: "no-store"` and a [`Deadline`]'s signal, which also
//! bounds the body read. The body is read chunk by chunk and reading stops
//! past [`MAX_BODY_BYTES`], so a hostile server cannot make the client
//! buffer megabytes. Only the response headers the core reads cross into
//! wasm.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Headers, ReadableStream, ReadableStreamDefaultReader, ReadableStreamReadResult, RequestCache,
    RequestCredentials, RequestInit, RequestRedirect, Response, ResponseType,
};

use super::timer::Deadline;
use super::{get, resolve, scope};
use crate::core::request::HttpRequest;
use crate::core::response::{HttpResponse, MAX_BODY_BYTES, TransportError};
use crate::platform::HttpTransport;

/// The response headers the core reads; nothing else crosses the boundary.
const READ_HEADERS: [&str; 5] = [
    "content-type",
    "date",
    "dpop-nonce",
    "retry-after",
    "www-authenticate",
];

/// Sends requests with `fetch`.
#[derive(Debug)]
pub struct FetchHttp {
    fetch: Option<js_sys::Function>,
    timeout_ms: u32,
}

impl FetchHttp {
    /// Uses `fetch` when given (the `fetch` option), else the global one at
    /// the time of each request; each request is aborted after `timeout_ms`.
    #[must_use]
    pub fn new(fetch: Option<js_sys::Function>, timeout_ms: u32) -> Self {
        Self { fetch, timeout_ms }
    }

    /// Sends `init` to `url` and reads the response; the error is what the
    /// fetch or the body read rejected with.
    async fn exchange(&self, url: &str, init: &RequestInit) -> Result<HttpResponse, JsValue> {
        let sent = match &self.fetch {
            Some(f) => f.call2(&JsValue::UNDEFINED, &JsValue::from_str(url), init)?,
            None => scope().fetch_with_str_and_init(url, init).into(),
        };
        let res = resolve(sent).await?;
        if !res.is_object() {
            // An injected fetch that resolved to something else.
            return Err(res);
        }
        let res: Response = res.unchecked_into();
        let headers = res.headers();
        let headers = READ_HEADERS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), headers.get(name).ok()??)))
            .collect();
        // A manual redirect in a browser is an opaque response with status
        // 0; Node and Deno show the real 3xx. Either way it is a redirect.
        if res.type_() == ResponseType::Opaqueredirect {
            return Ok(HttpResponse {
                status: 302,
                headers,
                body: Vec::new(),
            });
        }
        Ok(HttpResponse {
            status: res.status(),
            headers,
            body: read_capped(&res, MAX_BODY_BYTES + 1).await?,
        })
    }
}

impl HttpTransport for FetchHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let deadline = Deadline::new(self.timeout_ms);
        let init = request_init(&req, deadline.as_ref()).map_err(|_| TransportError::Network)?;
        self.exchange(&req.url, &init).await.map_err(|e| {
            let name = get(&e, "name").as_string();
            if deadline.as_ref().is_some_and(Deadline::expired)
                || name.as_deref() == Some("TimeoutError")
            {
                TransportError::Timeout
            } else if name.as_deref() == Some("AbortError") {
                TransportError::Aborted
            } else {
                TransportError::Network
            }
        })
    }
}

/// The `RequestInit` of `req`; fails on a header `Headers` refuses, as
/// `fetch` would.
fn request_init(req: &HttpRequest, deadline: Option<&Deadline>) -> Result<RequestInit, JsValue> {
    let headers = Headers::new()?;
    for (name, value) in &req.headers {
        headers.set(name, value)?;
    }
    let init = RequestInit::new();
    init.set_method(req.method);
    init.set_headers(&headers);
    init.set_redirect(RequestRedirect::Manual);
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    if let Some(d) = deadline {
        init.set_signal(Some(&d.signal()));
    }
    if !req.body.is_empty() {
        init.set_body(&js_sys::Uint8Array::from(req.body.as_slice()));
    }
    Ok(init)
}

/// Reads at most `limit` bytes of the body, then cancels the rest of the
/// stream. One byte past the cap is enough for the core to see the body is
/// too large.
async fn read_capped(res: &Response, limit: usize) -> Result<Vec<u8>, JsValue> {
    let mut body = Vec::new();
    let Some(stream) = res.body() else {
        return Ok(body);
    };
    if !stream.is_instance_of::<ReadableStream>() || stream.locked() {
        // Not a stream, or already read by whoever built the response (an
        // injected fetch): `getReader` would throw.
        return Err(JsValue::UNDEFINED);
    }
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    loop {
        let chunk: ReadableStreamReadResult = JsFuture::from(reader.read()).await?.unchecked_into();
        if chunk.get_done() == Some(true) {
            return Ok(body);
        }
        let value: js_sys::Uint8Array = chunk.get_value().dyn_into()?;
        let len = usize::try_from(value.length()).unwrap_or(usize::MAX);
        let take = len.min(limit - body.len());
        let at = body.len();
        body.resize(at + take, 0);
        #[allow(clippy::cast_possible_truncation)]
        value.subarray(0, take as u32).copy_to(&mut body[at..]);
        if body.len() >= limit {
            let _ = JsFuture::from(reader.cancel()).await;
            return Ok(body);
        }
    }
}
