//! wasm-bindgen tests run in a page in headless Chromium: the shared suite
//! and the Web Locks suite, plus what only a page has (Web Storage, the
//! safety rails for secrets in a page).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;
mod web;

use js_sys::Reflect;
use tokenkeeper::js::KeeperCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

fn noop() -> js_sys::Function {
    js_sys::Function::new_no_args("")
}

fn parse(json: &str) -> JsValue {
    let url = option_env!("TOKENKEEPER_DEVSERVER").unwrap_or("http://127.0.0.1:9");
    js_sys::JSON::parse(&json.replace('$', url)).unwrap()
}

fn code(err: &JsValue) -> Option<String> {
    Reflect::get(err, &"code".into()).unwrap().as_string()
}

#[wasm_bindgen_test]
async fn the_oauth_password_grant_in_a_page_needs_the_explicit_opt_in() {
    let opts = r#"{ "profile": { "kind": "oauth2",
        "tokenUrl": "$/realms/tokenkeeper/protocol/openid-connect/token",
        "clientId": "tokenkeeper-demo", "clientAuth": "none" } }"#;
    let core = KeeperCore::new(parse(opts), noop()).unwrap();
    let creds = parse(r#"{ "username": "demo", "password": "demo-password" }"#);
    let err = wasm_bindgen_futures::JsFuture::from(core.login(creds))
        .await
        .unwrap_err();
    assert_eq!(code(&err).as_deref(), Some("AUTH_CONFIG"));
    assert_eq!(
        Reflect::get(&core.state().unwrap(), &"status".into()).unwrap(),
        "loggedOut"
    );
}

#[wasm_bindgen_test]
async fn local_storage_survives_a_new_keeper_and_holds_no_password() {
    let opts = || {
        parse(
            r#"{ "profile": { "kind": "json", "loginUrl": "$/Identity/Auth/Login",
            "refreshUrl": "$/Identity/Auth/Refresh", "headers": { "X-API-Key": "lgdx-demo-api-key" } },
            "storage": "local", "storageKey": "tk-browser-test" }"#,
        )
    };
    let a = KeeperCore::new(opts(), noop()).unwrap();
    let creds = parse(r#"{ "username": "demo", "password": "demo-password" }"#);
    wasm_bindgen_futures::JsFuture::from(a.login(creds))
        .await
        .unwrap();
    a.close();
    let stored = js_sys::Function::new_no_args("return localStorage.getItem('tk-browser-test')")
        .call0(&JsValue::NULL)
        .unwrap()
        .as_string()
        .unwrap();
    assert!(!stored.contains("demo-password"));
    let b = KeeperCore::new(opts(), noop()).unwrap();
    let active = wasm_bindgen_futures::JsFuture::from(b.restore())
        .await
        .unwrap();
    assert_eq!(active, JsValue::TRUE);
    wasm_bindgen_futures::JsFuture::from(b.logout())
        .await
        .unwrap();
    let after = js_sys::Function::new_no_args("return localStorage.getItem('tk-browser-test')")
        .call0(&JsValue::NULL)
        .unwrap();
    assert!(after.is_null(), "logout clears the stored session");
}

/// Without Web Locks, a `<key>.lock` lease with an expiry no holder writes
/// (another script of the origin planted `"x 99999999999999"`) does not
/// block refreshes: the refresh takes the lease and succeeds well within
/// the lease lifetime (5 s), and leaves no lease behind.
#[wasm_bindgen_test]
async fn a_planted_far_future_lease_does_not_block_a_refresh() {
    let hide_locks = js_sys::Function::new_no_args(
        "const d = Object.getOwnPropertyDescriptor(Navigator.prototype, 'locks'); \
         delete Navigator.prototype.locks; return d",
    );
    let restore_locks = js_sys::Function::new_with_args(
        "d",
        "if (d) Object.defineProperty(Navigator.prototype, 'locks', d)",
    );
    let local = js_sys::Function::new_with_args(
        "op, k, v",
        "return op === 'set' ? localStorage.setItem(k, v) : localStorage.getItem(k)",
    );
    let descriptor = hide_locks.call0(&JsValue::NULL).unwrap();
    let opts = parse(
        r#"{ "profile": { "kind": "json", "loginUrl": "$/Identity/Auth/Login",
        "refreshUrl": "$/Identity/Auth/Refresh", "headers": { "X-API-Key": "lgdx-demo-api-key" } },
        "storage": "local", "storageKey": "tk-planted-lease", "lockTimeoutMs": 5000,
        "autoRefresh": false, "refresh": { "minIntervalMs": 0 } }"#,
    );
    let core = KeeperCore::new(opts, noop()).unwrap();
    let creds = parse(r#"{ "username": "demo", "password": "demo-password" }"#);
    wasm_bindgen_futures::JsFuture::from(core.login(creds))
        .await
        .unwrap();
    let token = || wasm_bindgen_futures::JsFuture::from(core.access_token());
    let before = token().await.unwrap();
    local
        .call3(
            &JsValue::NULL,
            &"set".into(),
            &"tk-planted-lease.lock".into(),
            &"x 99999999999999".into(),
        )
        .unwrap();
    let started = js_sys::Date::now();
    let refreshed = wasm_bindgen_futures::JsFuture::from(core.refresh()).await;
    let elapsed = js_sys::Date::now() - started;
    let after = token().await.ok();
    let lease = local
        .call2(
            &JsValue::NULL,
            &"get".into(),
            &"tk-planted-lease.lock".into(),
        )
        .unwrap();
    let _ = wasm_bindgen_futures::JsFuture::from(core.logout()).await;
    core.close();
    restore_locks.call1(&JsValue::NULL, &descriptor).unwrap();
    if let Err(e) = &refreshed {
        panic!("refresh failed with {:?} after {elapsed} ms", code(e));
    }
    assert!(elapsed < 5_000.0, "refresh took {elapsed} ms");
    assert_ne!(Some(before), after, "the refresh got a new access token");
    assert!(
        lease.is_null(),
        "the refresh removed the lease it took: {lease:?}"
    );
}
