//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1, RFC 6750 §3): any header
//! text parses in linear time without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::challenge;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    for c in challenge::parse(header) {
        let _ = c.param("error");
        let _ = c.param("realm");
    }
});
