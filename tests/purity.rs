//! The core stays pure: no file under src/core names a JS binding crate.
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
