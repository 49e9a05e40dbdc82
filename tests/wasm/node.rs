//! wasm-bindgen tests run in Node.
#![cfg(target_arch = "wasm32")]

mod common;
