//! OAuth error responses (RFC 6749 §5.2, RFC 7009 §2.2.1): any 4xx/5xx body
//! becomes a typed error whose message is short and free of control
//! characters, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::response::parse_revocation_response;
use tokenkeeper::core::time::UnixMillis;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some(mut resp) = common::response(data) else {
        return;
    };
    resp.status = 400 + resp.status % 200;
    let Err(e) = parse_revocation_response(&resp, UnixMillis(1_700_000_000_000)) else {
        panic!("an error status is never success");
    };
    let message = e.to_string();
    assert!(!message.chars().any(char::is_control), "{message:?}");
    if let Some(d) = e.error_description() {
        assert!(d.chars().count() <= tokenkeeper::core::error::MAX_DESCRIPTION_CHARS);
        assert!(!d.chars().any(char::is_control));
    }
    assert!(!e.code().is_empty());
});
