//! [`Random`] over `crypto.getRandomValues`.

use std::cell::RefCell;
use std::fmt;

use wasm_bindgen::prelude::*;

use crate::platform::Random;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// Bytes drawn from the CSPRNG per call: one call covers the jitter of many
/// requests instead of one call each.
const POOL: usize = 256;

/// Web Crypto's CSPRNG, present in browsers, Workers, workerd, Node ≥ 20
/// and Deno, drawn [`POOL`] bytes at a time.
pub struct WebRandom {
    pool: RefCell<Pool>,
}

struct Pool {
    bytes: [u8; POOL],
    used: usize,
}

impl Default for WebRandom {
    fn default() -> Self {
        Self {
            pool: RefCell::new(Pool {
                bytes: [0; POOL],
                used: POOL,
            }),
        }
    }
}

/// Shows no bytes: they become PKCE verifiers, states and nonces.
impl fmt::Debug for WebRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebRandom")
    }
}

impl Random for WebRandom {
    fn fill(&self, buf: &mut [u8]) {
        let Ok(mut pool) = self.pool.try_borrow_mut() else {
            return fill_direct(buf);
        };
        if buf.len() > POOL {
            return fill_direct(buf);
        }
        if POOL - pool.used < buf.len() {
            get_random_values(&mut pool.bytes);
            pool.used = 0;
        }
        let start = pool.used;
        let taken = &mut pool.bytes[start..start + buf.len()];
        buf.copy_from_slice(taken);
        // A byte handed out is never handed out again.
        taken.fill(0);
        pool.used += buf.len();
    }
}

fn fill_direct(buf: &mut [u8]) {
    // getRandomValues takes at most 65,536 bytes per call.
    for chunk in buf.chunks_mut(65_536) {
        get_random_values(chunk);
    }
}
