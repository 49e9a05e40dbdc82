//! wasm-bindgen tests shared by the page and the worker suites: the guard
//! against a client secret in a browser context, and Web Locks
//! (`navigator.locks`, a window's or a worker's) serialising refreshes of
//! keepers that share a store. Node 20 has no Web Locks.

use js_sys::{Promise, Reflect};
use tokenkeeper::js::KeeperCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::common::{code, js, lgdx, memory_adapter, options, recorder, sleep, stat, user, wait};

#[wasm_bindgen_test]
fn a_client_secret_in_a_page_or_a_browser_worker_needs_the_explicit_opt_in() {
    let opts = r#"{ "profile": { "kind": "oauth2", "tokenUrl": "$/tnco/oauth/token",
        "clientId": "LmClient", "clientSecret": "tnco-demo-secret" } }"#;
    let (emit, _) = recorder();
    let err = KeeperCore::new(options(opts), emit).unwrap_err();
    assert_eq!(code(&err), "AUTH_CONFIG");
    let message = Reflect::get(&err, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(message.contains("clientSecret"), "{message}");
    assert!(!message.contains("tnco-demo-secret"));
}

/// LGDX options without the timer, on `store` under `key`.
fn shared(store: &JsValue, key: &str, extra: &str) -> JsValue {
    let opts = lgdx(&format!(r#", "autoRefresh": false {extra}"#));
    Reflect::set(&opts, &"storage".into(), store).unwrap();
    Reflect::set(&opts, &"storageKey".into(), &key.into()).unwrap();
    opts
}

#[wasm_bindgen_test]
async fn two_keepers_sharing_a_store_refresh_once_under_web_locks() {
    let store = memory_adapter();
    let (emit, _) = recorder();
    let a = KeeperCore::new(shared(&store, "tk-web-locks", ""), emit).unwrap();
    wait(a.login(user())).await.unwrap();
    let (emit, _) = recorder();
    let b = KeeperCore::new(shared(&store, "tk-web-locks", ""), emit).unwrap();
    assert_eq!(wait(b.restore()).await.unwrap(), JsValue::TRUE);
    // Past the minimum interval between refreshes.
    sleep(150).await;
    let before = stat("refreshes", "lgdx").await;
    let both: js_sys::Array = [a.refresh(), b.refresh()]
        .iter()
        .map(JsValue::from)
        .collect();
    wait(Promise::all(&both)).await.unwrap();
    assert_eq!(
        stat("refreshes", "lgdx").await - before,
        1.0,
        "the second keeper took the lock after the first and adopted its tokens"
    );
    assert_eq!(
        wait(a.access_token()).await.unwrap(),
        wait(b.access_token()).await.unwrap()
    );
    wait(a.logout()).await.unwrap();
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn a_web_lock_held_elsewhere_is_an_auth_lock_timeout() {
    let store = memory_adapter();
    let (emit, _) = recorder();
    let key = "tk-lock-held";
    let core = KeeperCore::new(shared(&store, key, r#", "lockTimeoutMs": 200"#), emit).unwrap();
    wait(core.login(user())).await.unwrap();
    sleep(150).await;
    // Another context holds the lock until released.
    let release = js(
        "name",
        "let release; const held = new Promise((r) => (release = r)); \
         navigator.locks.request(name, () => held); return release;",
    )
    .call1(&JsValue::NULL, &key.into())
    .unwrap();
    let started = js_sys::Date::now();
    let err = wait(core.refresh()).await.unwrap_err();
    let elapsed = js_sys::Date::now() - started;
    release
        .unchecked_ref::<js_sys::Function>()
        .call0(&JsValue::NULL)
        .unwrap();
    assert_eq!(code(&err), "AUTH_LOCK_TIMEOUT");
    assert!((150.0..2_000.0).contains(&elapsed), "{elapsed} ms");
    // Released, the lock is free again.
    wait(core.refresh()).await.unwrap();
    wait(core.logout()).await.unwrap();
    core.close();
}
