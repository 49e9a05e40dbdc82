//! The untrusted JWT claims peek used for scheduling: any text, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::claims;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(c) = claims::peek(token) {
        let _ = (c.expires_at, c.issued_at, c.claims.len());
    }
});
