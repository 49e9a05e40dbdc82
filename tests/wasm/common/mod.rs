//! wasm-bindgen tests shared by the Node and the browser suites.

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn version_matches_the_crate() {
    assert_eq!(tokenkeeper::VERSION, env!("CARGO_PKG_VERSION"));
}

#[wasm_bindgen_test]
fn timer_delay_is_clamped_for_js_timers() {
    use tokenkeeper::core::{expiry, time::UnixMillis};
    assert_eq!(expiry::timer_delay(UnixMillis(10), UnixMillis(5)), 0);
    assert_eq!(
        expiry::timer_delay(UnixMillis(0), UnixMillis(u64::MAX)),
        expiry::MAX_TIMER_DELAY_MS
    );
}
