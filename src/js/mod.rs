//! The JS API: the only `#[wasm_bindgen]` exports of the package.
//!
//! `KeeperCore` is the wasm half of the `TokenKeeper` class; the other half
//! is `keeper.js` beside this file: an `EventTarget` subclass that keeps the
//! current token on the JS side, so a cached lookup never crosses into
//! wasm, and that wraps `fetch`.

mod api;
mod error;
mod events;
mod grants;
mod json;
mod keeper;
mod options;
mod redirect;

pub use keeper::KeeperCore;
pub use redirect::discover_provider;

use wasm_bindgen::prelude::*;

/// The package version, e.g. `"0.1.0"`.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_owned()
}
