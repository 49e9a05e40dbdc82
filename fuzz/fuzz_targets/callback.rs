//! Authorization responses (RFC 6749 §4.1.2): any callback URL is checked
//! against a pending login without panicking, and a refusal's message is
//! free of control characters and of the pending login's secrets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::redirect::{self, Expected, PendingLogin};
use tokenkeeper::core::time::UnixMillis;

fuzz_target!(|data: &[u8]| {
    let url = String::from_utf8_lossy(data);
    let pending = PendingLogin {
        state: "st".into(),
        nonce: "SENTINEL_NONCE".into(),
        code_verifier: "SENTINEL_VERIFIER".into(),
        redirect_uri: "https://app.example/cb".into(),
        created_at: 1_700_000_000_000,
        openid: true,
    };
    let expected = Expected {
        issuer: Some("https://as.example"),
        require_iss: data.first().is_some_and(|b| b & 1 == 1),
    };
    if let Err(r) = redirect::complete(&pending, &url, expected, UnixMillis(1_700_000_000_000)) {
        let message = r.error.to_string();
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(!format!("{r:?}").contains("SENTINEL"));
        if let Some(d) = r.error.error_description() {
            assert!(d.chars().count() <= tokenkeeper::core::error::MAX_DESCRIPTION_CHARS);
        }
    }
});
