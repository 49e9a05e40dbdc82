//! wasm-bindgen tests run in a dedicated worker in headless Chromium: the
//! same module with no `window` and no `document`. The shared suite and the
//! Web Locks suite, plus what a worker lacks (Web Storage) and what still
//! makes it a browser (the guard against secrets).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod common;
mod web;

use tokenkeeper::js::KeeperCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::common::{events, lgdx, recorder, status, user, wait};

#[wasm_bindgen_test]
fn this_is_a_worker() {
    assert!(js_sys::global().is_instance_of::<web_sys::WorkerGlobalScope>());
    assert!(!js_sys::Reflect::has(&js_sys::global(), &"document".into()).unwrap());
}

#[wasm_bindgen_test]
async fn local_storage_is_missing_in_a_worker_and_the_keeper_keeps_the_session_in_memory() {
    let opts = lgdx(r#", "storage": "local", "storageKey": "tk-worker-local""#);
    let (emit, log) = recorder();
    let core = KeeperCore::new(opts, emit).unwrap();
    wait(core.login(user())).await.unwrap();
    assert!(
        events(&log).contains(&"storageerror".to_owned()),
        "{:?}",
        events(&log)
    );
    assert_eq!(status(&core), "active");
    assert!(wait(core.access_token()).await.unwrap().is_string());
    wait(core.logout()).await.unwrap();
    core.close();
}
