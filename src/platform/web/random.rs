//! [`Random`] over Web Crypto's `crypto.getRandomValues`, through
//! getrandom's `wasm_js` backend.

use crate::core::error::Error;
use crate::platform::Random;

/// Web Crypto's CSPRNG, present in browsers, Workers, workerd, Node ≥ 20
/// and Deno. Every call draws exactly the bytes asked for: none are kept
/// in wasm memory between calls.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebRandom;

impl Random for WebRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|_| {
            Error::config(
                "crypto.getRandomValues",
                "must be available: the runtime has no Web Crypto",
            )
        })
    }
}
