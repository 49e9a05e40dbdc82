//! The web adapters on their own, in every runtime the suites run in
//! (Node, a page, a dedicated worker): the random source over getrandom and
//! the fetch transport over web-sys, with injected fetch functions.

use js_sys::Reflect;
use tokenkeeper::core::request::HttpRequest;
use tokenkeeper::core::response::{HttpResponse, MAX_BODY_BYTES, TransportError};
use tokenkeeper::platform::web::{FetchHttp, WebRandom};
use tokenkeeper::platform::{HttpTransport, Random};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

use super::js;

#[wasm_bindgen_test]
fn random_draws_differ_and_fill_buffers_past_one_get_random_values_call() {
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    WebRandom.fill(&mut a).unwrap();
    WebRandom.fill(&mut b).unwrap();
    assert_ne!(a, [0; 32]);
    assert_ne!(a, b);
    // getRandomValues takes at most 65,536 bytes a call: the tail comes
    // from a second call.
    let mut big = vec![0u8; 70_000];
    WebRandom.fill(&mut big).unwrap();
    assert!(big[66_000..].iter().any(|&x| x != 0));
    let mut words: Vec<u32> = (0..256).map(|_| WebRandom.next_u32()).collect();
    words.sort_unstable();
    words.dedup();
    assert!(words.len() >= 250, "{} distinct of 256", words.len());
}

#[wasm_bindgen_test]
fn without_web_crypto_random_bytes_are_a_typed_config_error() {
    let hide = js(
        "",
        "const d = Object.getOwnPropertyDescriptor(globalThis, 'crypto'); \
         Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true }); \
         return d;",
    );
    let restore = js(
        "d",
        "if (d) Object.defineProperty(globalThis, 'crypto', d); else delete globalThis.crypto;",
    );
    let saved = hide.call0(&JsValue::NULL).unwrap();
    let mut buf = [0u8; 16];
    let failed = WebRandom.fill(&mut buf);
    let jitter = WebRandom.next_u32();
    restore.call1(&JsValue::NULL, &saved).unwrap();
    let err = failed.unwrap_err();
    assert_eq!(err.code(), "AUTH_CONFIG");
    assert!(err.to_string().contains("crypto.getRandomValues"), "{err}");
    assert_eq!(jitter, 0, "no jitter without random bytes");
    WebRandom.fill(&mut buf).unwrap();
}

fn request(body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: "POST",
        url: "https://idp.example/token".into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
        ],
        body: body.to_vec(),
    }
}

async fn send(
    fetch: JsValue,
    timeout_ms: u32,
    body: &[u8],
) -> Result<HttpResponse, TransportError> {
    FetchHttp::new(Some(fetch.unchecked_into()), timeout_ms)
        .send(request(body))
        .await
}

fn member(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap()
}

#[wasm_bindgen_test]
async fn fetch_sends_a_manual_redirect_request_and_reads_only_the_headers_the_core_needs() {
    let seen = js_sys::Array::new();
    let fetch = js(
        "seen",
        "return async (url, init) => { seen.push(url, init, new Uint8Array(await new Request(url, init).arrayBuffer())); \
         return new Response('{\"a\":1}', { status: 201, headers: { 'content-type': 'application/json', \
         'retry-after': '3', 'x-other': 'not read' } }); }",
    )
    .call1(&JsValue::NULL, &seen)
    .unwrap();
    let res = match send(fetch, 5_000, b"grant_type=client_credentials").await {
        Ok(res) => res,
        Err(e) => panic!("{e:?}"),
    };
    let (url, init, body) = (seen.get(0), seen.get(1), seen.get(2));
    assert_eq!(url, "https://idp.example/token");
    assert_eq!(member(&init, "method"), "POST");
    assert_eq!(member(&init, "redirect"), "manual");
    assert_eq!(member(&init, "credentials"), "omit");
    assert_eq!(member(&init, "cache"), "no-store");
    let signal = member(&init, "signal");
    assert_eq!(member(&signal, "aborted"), JsValue::FALSE);
    let headers: web_sys::Headers = member(&init, "headers").unchecked_into();
    assert_eq!(
        headers.get("content-type").unwrap().as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        js_sys::Uint8Array::new(&body).to_vec(),
        b"grant_type=client_credentials"
    );
    assert_eq!(res.status, 201);
    assert_eq!(res.body, br#"{"a":1}"#);
    let mut names: Vec<&str> = res.headers.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["content-type", "retry-after"]);
}

#[wasm_bindgen_test]
async fn fetch_stops_reading_one_byte_past_the_cap_and_cancels_the_stream() {
    let state = js_sys::Object::new();
    let fetch = js(
        "state",
        "state.pulled = 0; state.cancelled = false; \
         return async () => new Response(new ReadableStream({ \
           pull(c) { state.pulled += 16384; c.enqueue(new Uint8Array(16384).fill(97)); }, \
           cancel() { state.cancelled = true; } }), { headers: { 'content-type': 'application/json' } });",
    )
    .call1(&JsValue::NULL, &state)
    .unwrap();
    let Ok(res) = send(fetch, 5_000, b"").await else {
        panic!("the capped read failed");
    };
    assert_eq!(res.body.len(), MAX_BODY_BYTES + 1);
    let pulled = member(&state, "pulled").as_f64().unwrap();
    assert!(pulled <= (MAX_BODY_BYTES + 3 * 16_384) as f64, "{pulled}");
    assert_eq!(member(&state, "cancelled"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn fetch_failures_are_timeout_abort_or_network() {
    // Rejects with the signal's reason once it aborts; a timer of its own
    // keeps Node's event loop alive meanwhile.
    let hang = js(
        "",
        "return (_, init) => new Promise((_, reject) => { \
           const alive = setTimeout(() => reject(new Error('the signal never fired')), 5000); \
           init.signal.addEventListener('abort', () => { clearTimeout(alive); reject(init.signal.reason); }); });",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let abort = js(
        "",
        "return async () => { throw new DOMException('aborted', 'AbortError'); }",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let offline = js(
        "",
        "return async () => { throw new TypeError('fetch failed'); }",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let not_a_response = js("", "return async () => undefined")
        .call0(&JsValue::NULL)
        .unwrap();
    let broken = js(
        "",
        "return async () => new Response(new ReadableStream({ start(c) { \
           c.enqueue(new TextEncoder().encode('{\"access_token\":')); c.error(new TypeError('reset')); } }))",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let cases = [
        (hang, TransportError::Timeout),
        (abort, TransportError::Aborted),
        (offline, TransportError::Network),
        (not_a_response, TransportError::Network),
        (broken, TransportError::Network),
    ];
    for (fetch, expected) in cases {
        let started = js_sys::Date::now();
        let got = send(fetch, 50, b"").await.err();
        assert_eq!(got, Some(expected));
        assert!(js_sys::Date::now() - started < 2_000.0);
    }
}

#[wasm_bindgen_test]
async fn an_opaque_redirect_is_a_redirect() {
    // What a browser's fetch hands back for a 3xx with `redirect: "manual"`.
    let fetch = js(
        "",
        "return async () => ({ type: 'opaqueredirect', status: 0, headers: new Headers(), body: null })",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let Ok(res) = send(fetch, 5_000, b"").await else {
        panic!("an opaque redirect is a response");
    };
    assert_eq!(res.status, 302);
    assert!(res.body.is_empty());
}
