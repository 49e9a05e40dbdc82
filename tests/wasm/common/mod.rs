//! wasm-bindgen tests shared by the Node, the page and the worker suites:
//! the adapters on their own (`adapters`), and the wasm `KeeperCore` against
//! the real devserver over loopback, whose URL
//! `cargo xtask test` passes in at compile time as `TOKENKEEPER_DEVSERVER`
//! (started with `--access-ttl 3`, CORS for the test page's origin).

mod adapters;

use js_sys::{Function, Promise, Reflect};
use tokenkeeper::js::KeeperCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

const DEVSERVER: Option<&str> = option_env!("TOKENKEEPER_DEVSERVER");

fn server() -> &'static str {
    DEVSERVER.expect("TOKENKEEPER_DEVSERVER is set by `cargo xtask test`")
}

/// A JS function from source, for the bits of test glue that are JS.
pub(crate) fn js(args: &str, body: &str) -> Function {
    Function::new_with_args(args, body)
}

pub(crate) async fn wait(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

/// Calls the devserver's admin API: `method path body` → parsed JSON.
async fn admin(method: &str, path: &str, body: &str) -> JsValue {
    let f = js(
        "url, method, body",
        "return fetch(url, { method, headers: { 'content-type': 'application/json' }, \
         body: method === 'GET' ? undefined : body }).then(r => r.json())",
    );
    let url = format!("{}/admin/{path}", server());
    let p: Promise = f
        .call3(&JsValue::NULL, &url.into(), &method.into(), &body.into())
        .unwrap()
        .into();
    wait(p).await.unwrap()
}

/// `stats[group][key]` as a number (0 when absent).
pub(crate) async fn stat(group: &str, key: &str) -> f64 {
    let stats = admin("GET", "stats", "").await;
    let g = Reflect::get(&stats, &group.into()).unwrap();
    Reflect::get(&g, &key.into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// Events received, as `type` strings, shared with the emit function.
pub(crate) fn recorder() -> (Function, js_sys::Array) {
    let log = js_sys::Array::new();
    let f = js("log", "return (type, detail) => log.push(type)")
        .call1(&JsValue::NULL, &log)
        .unwrap();
    (f.into(), log)
}

pub(crate) fn events(log: &js_sys::Array) -> Vec<String> {
    log.iter().filter_map(|v| v.as_string()).collect()
}

/// Options from JSON with the devserver URL put in for `$`.
pub(crate) fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(&json.replace('$', server())).unwrap()
}

const FAST: &str = r#""refresh": { "leadFraction": 0.5, "minLeadMs": 200, "maxLeadMs": 1000,
    "maxJitterMs": 0, "minIntervalMs": 100, "backoffBaseMs": 200 }"#;

pub(crate) fn lgdx(extra: &str) -> JsValue {
    options(&format!(
        r#"{{ "profile": {{ "kind": "json", "loginUrl": "$/Identity/Auth/Login",
        "refreshUrl": "$/Identity/Auth/Refresh", "headers": {{ "X-API-Key": "lgdx-demo-api-key" }} }},
        {FAST} {extra} }}"#
    ))
}

pub(crate) fn user() -> JsValue {
    options(r#"{ "username": "demo", "password": "demo-password" }"#)
}

pub(crate) async fn sleep(ms: i32) {
    let p = js("ms", "return new Promise(r => setTimeout(r, ms))")
        .call1(&JsValue::NULL, &ms.into())
        .unwrap();
    wait(p.into()).await.unwrap();
}

pub(crate) fn status(core: &KeeperCore) -> String {
    Reflect::get(&core.state().unwrap(), &"status".into())
        .unwrap()
        .as_string()
        .unwrap()
}

pub(crate) fn code(err: &JsValue) -> String {
    Reflect::get(err, &"code".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
fn version_matches_the_crate() {
    assert_eq!(tokenkeeper::VERSION, env!("CARGO_PKG_VERSION"));
}

#[wasm_bindgen_test]
fn invalid_options_name_the_field() {
    let (emit, _) = recorder();
    let err = KeeperCore::new(
        options(r#"{ "profile": { "kind": "oauth2", "clientId": "c" } }"#),
        emit,
    )
    .unwrap_err();
    assert_eq!(code(&err), "AUTH_CONFIG");
    let message = Reflect::get(&err, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(message.contains("tokenUrl"), "{message}");
}

#[wasm_bindgen_test]
async fn lgdx_login_timer_refresh_and_rotation() {
    let (emit, log) = recorder();
    let core = KeeperCore::new(lgdx(""), emit).unwrap();
    wait(core.login(user())).await.unwrap();
    let first = wait(core.access_token())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    // Access tokens live 3 s here; the timer refreshes ahead of expiry.
    sleep(3_500).await;
    let log_now = events(&log);
    assert!(log_now.contains(&"refreshed".to_owned()), "{log_now:?}");
    let second = wait(core.access_token())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(status(&core), "active");
    core.close();
}

#[wasm_bindgen_test]
async fn oauth_client_credentials_basic_and_post() {
    let tnco = options(
        r#"{ "profile": { "kind": "oauth2", "tokenUrl": "$/tnco/oauth/token", "clientId": "LmClient",
        "clientSecret": "tnco-demo-secret", "clientAuth": "basic" }, "allowConfidentialInBrowser": true }"#,
    );
    let im = options(
        r#"{ "profile": { "kind": "oauth2", "tokenUrl": "$/im/connect/token",
        "clientId": "Job@identitymanager.demo", "clientSecret": "im-demo-secret", "clientAuth": "post",
        "scope": "usercube_api" }, "allowConfidentialInBrowser": true }"#,
    );
    for opts in [tnco, im] {
        let (emit, log) = recorder();
        let core = KeeperCore::new(opts, emit).unwrap();
        wait(core.login(JsValue::UNDEFINED)).await.unwrap();
        assert!(wait(core.access_token()).await.unwrap().is_string());
        assert_eq!(events(&log), ["login"]);
        core.close();
    }
}

#[wasm_bindgen_test]
async fn keycloak_password_grant_with_refresh_expiry() {
    let opts = options(&format!(
        r#"{{ "profile": {{ "kind": "oauth2",
        "tokenUrl": "$/realms/tokenkeeper/protocol/openid-connect/token",
        "clientId": "tokenkeeper-demo", "clientAuth": "none" }},
        "allowConfidentialInBrowser": true, {FAST} }}"#
    ));
    let (emit, _) = recorder();
    let core = KeeperCore::new(opts, emit).unwrap();
    wait(core.login(user())).await.unwrap();
    let state = core.state().unwrap();
    let refresh_expires = Reflect::get(&state, &"refreshExpiresAt".into()).unwrap();
    assert!(refresh_expires.as_f64().unwrap() > js_sys::Date::now());
    let wrong = options(r#"{ "username": "demo", "password": "nope" }"#);
    let err = wait(core.login(wrong)).await.unwrap_err();
    assert_eq!(
        Reflect::get(&err, &"error".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("invalid_grant")
    );
    assert_eq!(
        status(&core),
        "active",
        "a failed login leaves the session as it was"
    );
    core.close();
}

/// A storage adapter over a `Map` (its `m`), as a user would write one.
pub(crate) fn memory_adapter() -> JsValue {
    js(
        "",
        "const m = new Map(); return { get: async k => m.get(k) ?? null, \
         set: async (k, v) => { m.set(k, v) }, delete: async k => { m.delete(k) }, m };",
    )
    .call0(&JsValue::NULL)
    .unwrap()
}

#[wasm_bindgen_test]
async fn restore_after_reload_through_a_storage_adapter() {
    let store = memory_adapter();
    let with_store = |core_opts: JsValue| {
        Reflect::set(&core_opts, &"storage".into(), &store).unwrap();
        Reflect::set(&core_opts, &"storageKey".into(), &"restore-test".into()).unwrap();
        core_opts
    };
    let (emit, _) = recorder();
    let a = KeeperCore::new(with_store(lgdx("")), emit).unwrap();
    wait(a.login(user())).await.unwrap();
    let token = wait(a.access_token()).await.unwrap();
    a.close();
    let (emit, _) = recorder();
    let b = KeeperCore::new(with_store(lgdx("")), emit).unwrap();
    assert_eq!(wait(b.restore()).await.unwrap(), JsValue::TRUE);
    assert_eq!(wait(b.access_token()).await.unwrap(), token);
    b.close();
}

#[wasm_bindgen_test]
async fn transient_fault_keeps_the_session_and_terminal_ends_it_once() {
    let (emit, log) = recorder();
    let core = KeeperCore::new(lgdx(r#", "autoRefresh": false"#), emit).unwrap();
    wait(core.login(user())).await.unwrap();
    sleep(150).await;
    admin(
        "POST",
        "faults",
        r#"{ "match": "lgdx.refresh", "kind": "error", "status": 500, "times": 1 }"#,
    )
    .await;
    let err = wait(core.refresh()).await.unwrap_err();
    assert_eq!(Reflect::get(&err, &"status".into()).unwrap(), 500);
    assert_eq!(
        Reflect::get(&err, &"transient".into()).unwrap(),
        JsValue::TRUE
    );
    assert_eq!(status(&core), "active");
    sleep(700).await;
    wait(core.refresh()).await.unwrap();
    // The server revokes every session of the user: the refresh token is
    // rejected, and the session ends exactly once.
    admin("POST", "revoke", r#"{ "user": "demo" }"#).await;
    sleep(150).await;
    let err = wait(core.refresh()).await.unwrap_err();
    assert_eq!(code(&err), "AUTH_SESSION_ENDED");
    assert!(wait(core.refresh()).await.is_err());
    assert_eq!(status(&core), "ended");
    let ended = events(&log).iter().filter(|e| *e == "sessionended").count();
    assert_eq!(ended, 1);
    core.close();
}

#[wasm_bindgen_test]
async fn one_refresh_for_a_hundred_concurrent_callers_at_expiry() {
    let clock = js(
        "",
        "const c = { t: Date.now() }; c.now = () => c.t; return c;",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let opts = lgdx(r#", "autoRefresh": false"#);
    Reflect::set(
        &opts,
        &"now".into(),
        &Reflect::get(&clock, &"now".into()).unwrap(),
    )
    .unwrap();
    let (emit, _) = recorder();
    let core = KeeperCore::new(opts, emit).unwrap();
    wait(core.login(user())).await.unwrap();
    let before = stat("refreshes", "lgdx").await;
    let expires = Reflect::get(&core.state().unwrap(), &"expiresAt".into()).unwrap();
    Reflect::set(
        &clock,
        &"t".into(),
        &(expires.as_f64().unwrap() + 1.0).into(),
    )
    .unwrap();
    let calls: js_sys::Array = (0..100)
        .map(|_| JsValue::from(core.access_token()))
        .collect();
    let tokens = wait(Promise::all(&calls)).await.unwrap();
    let tokens: js_sys::Array = tokens.into();
    let first = tokens.get(0);
    assert!(tokens.iter().all(|t| t == first));
    assert_eq!(stat("refreshes", "lgdx").await - before, 1.0);
    core.close();
}
