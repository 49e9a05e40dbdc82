//! `KeeperCore`: the wasm half of the `TokenKeeper` JS class.
//!
//! It owns the [`Driver`] on the web platform, turns its events into
//! `(type, detail)` calls of the `emit` function the JS class passes in,
//! and arms one refresh-ahead timer, re-checked on `visibilitychange`,
//! `online` and `pageshow`. With a shared store in a page it also listens
//! for another tab's writes ([`WebStore::watch`](crate::platform::web::WebStore::watch))
//! and lets the driver adopt them. Nothing runs until a method is called:
//! no IO or timers at module load or in the constructor.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::json::read_js;
use super::redirect::Redemption;
use super::{error, events, options};
use crate::core::config::Profile;
use crate::core::error::Error;
use crate::core::expiry;
use crate::core::request::Credentials;
use crate::driver::Driver;
use crate::platform::Clock;
use crate::platform::web::{StoreWatch, Timeout, WebPlatform, window};

/// A browser, Worker or server-side token keeper. Use the `TokenKeeper`
/// class, which wraps this one.
#[wasm_bindgen]
#[derive(Debug)]
pub struct KeeperCore {
    pub(super) shared: Rc<Shared>,
    /// What `keeper.fetch` may do at resource servers (see `js/api.rs`).
    pub(super) api: super::api::Api,
}

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) driver: Driver<WebPlatform>,
    auto_refresh: bool,
    allow_confidential: bool,
    timer: RefCell<Option<Timeout>>,
    wake_listeners: RefCell<Vec<WakeListener>>,
    /// Whether the store watch was set up (it may be `None` even then).
    watching: Cell<bool>,
    store_watch: RefCell<Option<StoreWatch>>,
    /// Set by `close()`: nothing re-arms after it.
    closed: Cell<bool>,
    /// The authorization response being redeemed.
    pub(super) redemption: Redemption,
    /// The device flow under way (see `js/grants.rs`).
    pub(super) device: super::grants::DeviceFlow,
}

/// A lifecycle listener, removed on `close()`.
#[derive(Debug)]
struct WakeListener {
    target: web_sys::EventTarget,
    event: &'static str,
    callback: Closure<dyn FnMut()>,
}

#[wasm_bindgen]
impl KeeperCore {
    /// Validates `options` and builds a logged-out keeper; `emit(type,
    /// detail)` receives every event.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, emit: js_sys::Function) -> Result<KeeperCore, JsValue> {
        let on_storage_error = {
            let emit = emit.clone();
            Closure::<dyn Fn(JsValue, JsValue)>::new(move |code: JsValue, backend: JsValue| {
                let detail = js_sys::Object::new();
                crate::platform::web::set(&detail, "code", &code);
                crate::platform::web::set(&detail, "storage", &backend);
                let _ = emit.call2(
                    &JsValue::UNDEFINED,
                    &JsValue::from_str("storageerror"),
                    &detail,
                );
            })
            .into_js_value()
            .unchecked_into()
        };
        let opts = options::read(&options, on_storage_error)?;
        let driver =
            Driver::new(opts.config, opts.platform, opts.driver).map_err(|e| error::to_js(&e))?;
        driver.set_listener(Some(events::listener(emit)));
        let api = super::api::Api::new(
            driver.config(),
            opts.page_origin.as_deref(),
            opts.is_rejected,
        )?;
        Ok(Self {
            api,
            shared: Rc::new(Shared {
                driver,
                auto_refresh: opts.auto_refresh,
                allow_confidential: opts.allow_confidential,
                timer: RefCell::new(None),
                wake_listeners: RefCell::new(Vec::new()),
                watching: Cell::new(false),
                store_watch: RefCell::new(None),
                closed: Cell::new(false),
                redemption: Redemption::default(),
                device: super::grants::DeviceFlow::default(),
            }),
        })
    }

    /// Loads a stored session; resolves to whether one is now active.
    pub fn restore(&self) -> js_sys::Promise {
        self.run(|shared| async move {
            shared.driver.restore().await?;
            Ok(JsValue::from(shared.driver.state().status == "active"))
        })
    }

    /// Logs in: `{ username, password }`, `{ code, codeVerifier,
    /// redirectUri }`, or nothing for client credentials.
    pub fn login(&self, credentials: JsValue) -> js_sys::Promise {
        let creds = match self.shared.credentials(credentials) {
            Ok(c) => c,
            Err(e) => return js_sys::Promise::reject(&e),
        };
        self.run(|shared| async move {
            shared.driver.login(creds).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A valid access token, refreshing first when due.
    #[wasm_bindgen(js_name = accessToken)]
    pub fn access_token(&self) -> js_sys::Promise {
        self.run(|shared| async move {
            let token = shared.driver.access_token().await?;
            Ok(JsValue::from_str(token.secret()))
        })
    }

    /// Refreshes now, unless another context just did.
    pub fn refresh(&self) -> js_sys::Promise {
        self.run(|shared| async move {
            shared.driver.refresh().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A resource server rejected `token`: renews at once unless the held
    /// token already changed; resolves to the token to retry with, which
    /// is `token` itself when nothing newer could be had.
    #[wasm_bindgen(js_name = tokenRejected)]
    pub fn token_rejected(&self, token: String) -> js_sys::Promise {
        self.run(|shared| async move {
            let fresh = shared.driver.token_rejected(&token).await?;
            Ok(JsValue::from_str(fresh.secret()))
        })
    }

    /// Logs out: clears the store, revokes where configured.
    pub fn logout(&self) -> js_sys::Promise {
        self.run(|shared| async move {
            shared.driver.logout().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The secret-free state: status, expiries, scope, unverified claims.
    ///
    /// It crosses as JSON text and `JSON.parse`: a claim named `__proto__`
    /// becomes an own property, where setting it on an object would replace
    /// the object's prototype.
    pub fn state(&self) -> Result<JsValue, JsValue> {
        let text = self.shared.driver.state().to_json();
        js_sys::JSON::parse(&text)
    }

    /// The storage key and lock name in use: the `storageKey` option, else
    /// one derived from the token endpoint and client.
    #[wasm_bindgen(getter, js_name = storageKey)]
    pub fn storage_key(&self) -> String {
        self.shared.driver.storage_key().to_owned()
    }

    /// Until when (epoch ms) the held token may be handed out without
    /// asking the core again; 0 when it must ask.
    #[wasm_bindgen(js_name = freshUntil)]
    pub fn fresh_until(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        self.shared.driver.fresh_until().map_or(0.0, |t| t.0 as f64)
    }

    /// Stops the timer, the lifecycle listeners and the store watch; an
    /// operation still running does not re-arm them.
    pub fn close(&self) {
        self.shared.closed.set(true);
        self.shared.store_watch.borrow_mut().take();
        self.shared.timer.borrow_mut().take();
        for l in self.shared.wake_listeners.borrow_mut().drain(..) {
            let _ = l
                .target
                .remove_event_listener_with_callback(l.event, l.callback.as_ref().unchecked_ref());
        }
    }
}

impl KeeperCore {
    /// Runs a driver operation as a promise, re-arming the timer after it
    /// whatever its outcome; core errors reject as JS errors.
    pub(super) fn run<F, Fut>(&self, op: F) -> js_sys::Promise
    where
        F: FnOnce(Rc<Shared>) -> Fut,
        Fut: Future<Output = Result<JsValue, Error>> + 'static,
    {
        let work = op(Rc::clone(&self.shared));
        self.promise(Box::pin(work))
    }

    /// The one promise wrapper of every export: boxing the work keeps a
    /// single instance of it in the module instead of one per export.
    fn promise(
        &self,
        work: Pin<Box<dyn Future<Output = Result<JsValue, Error>>>>,
    ) -> js_sys::Promise {
        let shared = Rc::clone(&self.shared);
        future_to_promise(async move {
            let result = work.await;
            Shared::rearm(&shared);
            result.map_err(|e| {
                let js = error::to_js(&e);
                // A transient failure names when the next attempt is due.
                let retry_at = shared.driver.retry_at().filter(|_| e.is_transient());
                if let (Some(at), false) = (retry_at, matches!(e, Error::RetryLater { .. })) {
                    let now = shared.driver.platform_clock().now();
                    #[allow(clippy::cast_precision_loss)]
                    let ms = at.saturating_since(now) as f64;
                    crate::platform::web::set(&js, "retryIn", &JsValue::from(ms));
                }
                js
            })
        })
    }
}

impl Shared {
    /// Reads login credentials; the password grant of an OAuth profile in a
    /// page needs the explicit opt-in.
    pub(super) fn credentials(&self, value: JsValue) -> Result<Credentials, JsValue> {
        let creds = if value.is_undefined() || value.is_null() {
            Credentials::ClientCredentials {}
        } else {
            read_js(&value, "credentials", Credentials::from_value)?
        };
        let oauth_password = matches!(creds, Credentials::Password { .. })
            && matches!(self.driver.config().profile, Profile::OAuth2(_));
        if oauth_password && options::in_browser() {
            if !self.allow_confidential {
                return Err(error::config(
                    "credentials",
                    "the OAuth password grant must not be used in a browser: use authorization code with PKCE, or set allowConfidentialInBrowser",
                ));
            }
            options::warn_confidential();
        }
        Ok(creds)
    }

    /// Arms the single timer for the driver's next wake-up, and the
    /// lifecycle listeners on first use.
    pub(super) fn rearm(this: &Rc<Self>) {
        if this.closed.get() {
            return;
        }
        this.watch_store(this);
        if !this.auto_refresh {
            return;
        }
        this.listen_for_wake(this);
        let next = this.driver.next_wakeup();
        let timer = next.map(|at| {
            let delay = expiry::timer_delay(this.driver.platform_clock().now(), at);
            let weak = Rc::downgrade(this);
            Timeout::new(delay, move || wake(&weak))
        });
        *this.timer.borrow_mut() = timer;
    }

    /// Starts listening, once, for another context's writes to the store.
    fn watch_store(&self, this: &Rc<Self>) {
        if self.watching.replace(true) {
            return;
        }
        let weak = Rc::downgrade(this);
        let store = self.driver.platform_store();
        *self.store_watch.borrow_mut() =
            store.watch(self.driver.storage_key(), move || store_changed(&weak));
    }

    fn listen_for_wake(&self, this: &Rc<Self>) {
        if !self.wake_listeners.borrow().is_empty() {
            return;
        }
        // The global scope is an EventTarget in a page, a worker, workerd
        // and Deno, not in Node.
        let global = js_sys::global().dyn_into::<web_sys::EventTarget>().ok();
        let document = window().document().map(web_sys::EventTarget::from);
        let targets = [
            (document, "visibilitychange"),
            (global.clone(), "online"),
            (global, "pageshow"),
        ];
        let mut listeners = self.wake_listeners.borrow_mut();
        for (target, event) in targets {
            let Some(target) = target else { continue };
            let weak = Rc::downgrade(this);
            let callback = Closure::<dyn FnMut()>::new(move || wake(&weak));
            if target
                .add_event_listener_with_callback(event, callback.as_ref().unchecked_ref())
                .is_ok()
            {
                listeners.push(WakeListener {
                    target,
                    event,
                    callback,
                });
            }
        }
    }
}

/// Another tab changed the stored session: adopt it (or end), re-arm.
fn store_changed(weak: &Weak<Shared>) {
    let Some(shared) = weak.upgrade() else { return };
    wasm_bindgen_futures::spawn_local(async move {
        shared.driver.handle_store_changed().await;
        Shared::rearm(&shared);
    });
}

/// The timer fired or the page woke: let the wall clock decide.
fn wake(weak: &Weak<Shared>) {
    let Some(shared) = weak.upgrade() else { return };
    wasm_bindgen_futures::spawn_local(async move {
        // A failure is already an event and backs off by itself.
        let _ = shared.driver.handle_timer().await;
        Shared::rearm(&shared);
    });
}
