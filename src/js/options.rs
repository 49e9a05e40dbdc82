//! Reading the JS options object.

use wasm_bindgen::prelude::*;

use super::error;
use super::json::read_js;
use crate::core::config::{Config, Profile};
use crate::core::persist::Owner;
use crate::driver::DriverOptions;
use crate::platform::web::{
    FetchHttp, StorageKind, TimerSleeper, WebClock, WebLock, WebPlatform, WebProofKey, WebRandom,
    WebStore, get, is_page, scope, set,
};

/// Default timeout of every token request.
const DEFAULT_REQUEST_TIMEOUT_MS: u32 = 10_000;

/// With localStorage, the wait before a refresh for another tab's last
/// write to arrive (see [`DriverOptions::store_settle_ms`]). In Chromium a
/// read of localStorage right at a Web Lock's grant was stale in 7–23 % of
/// handoffs between 5 tabs, and in none of 1,500 once the tab had waited
/// 2 ms.
const STORE_SETTLE_MS: u32 = 50;

/// Everything a keeper is built from.
pub(crate) struct Options {
    pub(crate) config: Config,
    pub(crate) platform: WebPlatform,
    pub(crate) driver: DriverOptions,
    pub(crate) auto_refresh: bool,
    pub(crate) allow_confidential: bool,
    /// `location.origin` where there is a location (a page, a Worker
    /// script), joining the default `allowedOrigins`.
    pub(crate) page_origin: Option<String>,
    /// The `isRejected(response)` option.
    pub(crate) is_rejected: Option<js_sys::Function>,
}

/// Reads and validates `options`; an error names the offending field.
pub(crate) fn read(
    options: &JsValue,
    on_storage_error: js_sys::Function,
) -> Result<Options, JsValue> {
    if !options.is_object() {
        return Err(error::config("options", "must be an object"));
    }
    // Only what the core reads: a storage adapter may hold a binding that
    // does not serialise.
    let fields = js_sys::Object::new();
    for key in [
        "profile",
        "refresh",
        "allowInsecureHttp",
        "allowedOrigins",
        "rejectStatuses",
        "dpop",
    ] {
        set(&fields, key, &get(options, key));
    }
    let config = read_js(&fields, "options", Config::from_value)?;
    let allow_confidential = bool_option(options, "allowConfidentialInBrowser")?.unwrap_or(false);
    if in_browser() && has_client_secret(&config) {
        if !allow_confidential {
            return Err(error::config(
                "profile.clientSecret",
                "must not be used in a browser: use authorization code with PKCE, or set allowConfidentialInBrowser",
            ));
        }
        warn_confidential();
    }
    let storage = match get(options, "storage") {
        v if v.is_undefined() => StorageKind::Memory,
        v => match v.as_string().as_deref() {
            Some("memory") => StorageKind::Memory,
            Some("session") => StorageKind::Session,
            Some("local") => StorageKind::Local,
            Some(_) => {
                return Err(error::config(
                    "storage",
                    "must be \"memory\", \"session\", \"local\" or an adapter",
                ));
            }
            None if ["get", "set", "delete"]
                .iter()
                .all(|m| get(&v, m).is_function()) =>
            {
                StorageKind::Adapter(v)
            }
            None => {
                return Err(error::config(
                    "storage",
                    "adapter must have get, set and delete methods",
                ));
            }
        },
    };
    let local = matches!(storage, StorageKind::Local);
    let lasting = !matches!(storage, StorageKind::Memory);
    let store = WebStore::new(storage, Some(on_storage_error));
    let shared = store.is_shared();
    let platform = WebPlatform {
        clock: WebClock::new(function_option(options, "now")?),
        http: FetchHttp::new(
            function_option(options, "fetch")?,
            u32_option(options, "requestTimeoutMs")?.unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS),
        ),
        sleeper: TimerSleeper,
        store,
        lock: WebLock::new(shared),
        random: WebRandom,
        proof_key: None,
    };
    let mut driver = DriverOptions {
        storage_key: get(options, "storageKey")
            .as_string()
            .unwrap_or_else(|| Owner::of(&config.profile).storage_key()),
        ..DriverOptions::default()
    };
    let mut platform = platform;
    if matches!(&config.profile, Profile::OAuth2(p) if p.dpop) {
        // A key pair the caller made, or one made here: kept beside the
        // tokens when they outlive the page, as they are bound to it.
        let supplied = Some(get(&get(options, "dpop"), "keyPair")).filter(|k| !k.is_undefined());
        if supplied.as_ref().is_some_and(|k| !k.is_object()) {
            return Err(error::config("dpop.keyPair", "must be a CryptoKeyPair"));
        }
        let persist_as = lasting.then(|| format!("{}.dpop", driver.storage_key));
        platform.proof_key = Some(WebProofKey::new(supplied, persist_as));
    }
    if let Some(ms) = u32_option(options, "lockTimeoutMs")? {
        driver.lock_timeout_ms = ms;
    }
    if shared && local {
        driver.store_settle_ms = STORE_SETTLE_MS;
    }
    Ok(Options {
        config,
        platform,
        driver,
        auto_refresh: bool_option(options, "autoRefresh")?.unwrap_or(true),
        allow_confidential,
        page_origin: page_origin(),
        is_rejected: function_option(options, "isRejected")?,
    })
}

/// Whether this runs in a browser: a page, or a dedicated, shared or
/// service worker. There a secret is readable by every script the origin
/// runs.
///
/// A page has a `document`. A browser worker has none, but its global scope
/// is a `WorkerGlobalScope` and its `navigator.userAgent` starts with
/// `Mozilla/`, as every browser's does in every context. Server runtimes
/// that also define `WorkerGlobalScope` say who they are instead (Deno
/// `Deno/…`, workerd `Cloudflare-Workers`, Bun `Bun/…`; Node `Node.js/…`,
/// where it has a `navigator` at all), and keep secrets without opt-in.
pub(crate) fn in_browser() -> bool {
    if is_page() {
        return true;
    }
    if !js_sys::global().is_instance_of::<web_sys::WorkerGlobalScope>() {
        return false;
    }
    let navigator = scope().navigator();
    navigator.is_object()
        && navigator
            .user_agent()
            .is_ok_and(|ua| ua.starts_with("Mozilla/"))
}

/// `location.origin` where there is a location (a page, a Worker script,
/// Deno with `--location`).
fn page_origin() -> Option<String> {
    let location = scope().location();
    location.is_object().then(|| location.origin())
}

/// Says once, on the console, that a secret is in a page by choice.
pub(crate) fn warn_confidential() {
    web_sys::console::warn_1(&JsValue::from_str(
        "tokenkeeper: a client secret or password grant is used in a browser (allowConfidentialInBrowser)",
    ));
}

fn has_client_secret(config: &Config) -> bool {
    matches!(&config.profile, Profile::OAuth2(p) if p.client_secret.is_some())
}

fn function_option(
    options: &JsValue,
    name: &'static str,
) -> Result<Option<js_sys::Function>, JsValue> {
    let v = get(options, name);
    if v.is_undefined() {
        return Ok(None);
    }
    v.dyn_into()
        .map(Some)
        .map_err(|_| error::config(name, "must be a function"))
}

fn bool_option(options: &JsValue, name: &'static str) -> Result<Option<bool>, JsValue> {
    let v = get(options, name);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_bool()
        .map(Some)
        .ok_or_else(|| error::config(name, "must be a boolean"))
}

fn u32_option(options: &JsValue, name: &'static str) -> Result<Option<u32>, JsValue> {
    let v = get(options, name);
    if v.is_undefined() {
        return Ok(None);
    }
    match v.as_f64() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(n) if n.is_finite() && n >= 1.0 && n <= f64::from(u32::MAX) => Ok(Some(n as u32)),
        _ => Err(error::config(
            name,
            "must be a positive number of milliseconds",
        )),
    }
}
