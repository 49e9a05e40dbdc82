//! [`Random`] over `crypto.getRandomValues`.

use wasm_bindgen::prelude::*;

use crate::platform::Random;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// Web Crypto's CSPRNG, present in browsers, Workers, workerd, Node ≥ 20
/// and Deno.
#[derive(Debug, Default)]
pub struct WebRandom;

impl Random for WebRandom {
    fn fill(&self, buf: &mut [u8]) {
        // getRandomValues takes at most 65,536 bytes per call.
        for chunk in buf.chunks_mut(65_536) {
            get_random_values(chunk);
        }
    }
}
