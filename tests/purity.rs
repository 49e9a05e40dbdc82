//! The core stays pure: no file under src/core names a JS binding crate.
//! And nothing registers an `unload`/`beforeunload` listener (TS-06).
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn core_imports_no_js_bindings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for banned in [
            "wasm_bindgen",
            "wasm-bindgen",
            "js_sys",
            "js-sys",
            "web_sys",
            "web-sys",
        ] {
            assert!(
                !text.contains(banned),
                "{} mentions {banned}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 10);
}

/// TS-06: no source of the library or its package entries mentions
/// `unload` (bfcache stays eligible; `pagehide` would be the one to use).
#[test]
fn no_unload_listeners() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("src"), root.join("pkg-templates")];
    let mut checked = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !["rs", "js", "mjs", "ts"].contains(&ext) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains("unload"),
                "{} mentions unload",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
}
