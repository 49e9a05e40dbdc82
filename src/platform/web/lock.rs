//! [`CrossTabLock`] over Web Locks (`navigator.locks`), with a
//! `localStorage` lease where Web Locks are missing.
//!
//! `acquire` calls `navigator.locks.request(name, { signal }, cb)`; `cb`
//! resolves the acquisition and returns a promise that the guard resolves
//! when dropped, which releases the lock. The signal is a [`Deadline`]'s:
//! a lock not granted in time is a [`Error::LockTimeout`]. A context that dies while holding the lock
//! releases it with it (the browser does this), so a closed tab never
//! blocks the others.
//!
//! Without Web Locks (older engines, some embedded webviews) a shared store
//! falls back to a lease in `localStorage` under `<name>.lock`: the text
//! `"<owner> <expiry ms>"` with a random owner id. A context takes a free
//! or expired lease by writing its own, waits [`LEASE_RECHECK_MS`] for
//! competing writes from other tabs to land, and holds the lease only if
//! its owner id is still there; otherwise it retries after a random pause
//! until the timeout. The holder renews the lease every
//! [`LEASE_RENEW_MS`] and removes it when done; a tab closed while holding
//! it blocks the others for at most [`LEASE_TTL_MS`]. A lease that expires
//! further out than a holder writes one (now plus [`LEASE_TTL_MS`], plus
//! [`LEASE_CLOCK_SLACK_MS`]) counts as free, so a far-future expiry that a
//! script of the origin planted cannot block refreshes. Two tabs may still
//! both win in a rare race: the later refresh then spends a used refresh
//! token, which a server with reuse detection answers by ending the
//! session; otherwise the driver adopts the winner's stored tokens.
//!
//! Where the tokens are not shared (memory or `sessionStorage`) or neither
//! lock exists (Node 20, workerd), the driver's per-context single-flight
//! is the only lock needed: `acquire` succeeds at once.

use wasm_bindgen::prelude::*;
use web_sys::Storage;

use super::timer::{Deadline, Interval};
use super::{TimerSleeper, WebRandom, scope, window};
use crate::core::error::Error;
use crate::platform::{CrossTabLock, Random, Sleeper};

/// How long a fallback lease lives without renewal.
const LEASE_TTL_MS: u32 = 5_000;
/// How often the holder renews its fallback lease.
const LEASE_RENEW_MS: u32 = 1_000;
/// How long a context waits after writing a lease before checking it won.
const LEASE_RECHECK_MS: u32 = 50;
/// How far beyond [`LEASE_TTL_MS`] from now a lease may expire and still
/// be held: allowance for a coarse or jittered `Date.now()` (reduced timer
/// precision) between the holder's write and this context's read.
const LEASE_CLOCK_SLACK_MS: u32 = 1_000;

// Web Locks. web-sys has `LockManager`, `LockOptions` and
// `navigator.locks` only behind `--cfg=web_sys_unstable_apis`, a flag every
// wasm32 build would need in its rustflags (which `RUSTFLAGS` in the
// environment replaces): these bindings are written here instead, in
// web-sys's shape.
#[wasm_bindgen]
extern "C" {
    /// `navigator` (a `Navigator` or a `WorkerNavigator`), for its `locks`.
    #[wasm_bindgen(extends = web_sys::WorkerNavigator)]
    type LocksNavigator;

    /// `navigator.locks`; `None` where the runtime has no Web Locks.
    #[wasm_bindgen(method, getter)]
    fn locks(this: &LocksNavigator) -> Option<LockManager>;

    /// `navigator.locks`.
    #[wasm_bindgen(extends = js_sys::Object)]
    type LockManager;

    /// `locks.request(name, options, callback)`.
    #[wasm_bindgen(method, catch)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &LockOptions,
        callback: &js_sys::Function,
    ) -> Result<js_sys::Promise, JsValue>;

    /// The options of `request`; only `signal` is set.
    #[wasm_bindgen(extends = js_sys::Object)]
    type LockOptions;

    /// `options.signal`.
    #[wasm_bindgen(method, setter)]
    fn set_signal(this: &LockOptions, signal: &web_sys::AbortSignal);
}

/// Web Locks, or the `localStorage` lease without them, when the tokens
/// are shared.
#[derive(Debug, Default)]
pub struct WebLock {
    shared: bool,
}

impl WebLock {
    /// A lock that serialises refreshes across contexts when `shared` (the
    /// tokens live in storage other contexts read), and is free otherwise.
    #[must_use]
    pub fn new(shared: bool) -> Self {
        Self { shared }
    }
}

/// Holds a Web Lock or a lease until dropped.
#[derive(Debug, Default)]
pub struct WebLockGuard {
    release: Option<js_sys::Function>,
    _granted: Option<Closure<dyn FnMut(JsValue) -> JsValue>>,
    _lease: Option<Lease>,
}

impl Drop for WebLockGuard {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// A held `localStorage` lease: renewed by an interval, removed on drop.
#[derive(Debug)]
struct Lease {
    storage: Storage,
    key: String,
    owner: String,
    _renew: Interval,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if lease_owner(&self.storage, &self.key).as_deref() == Some(&self.owner) {
            let _ = self.storage.remove_item(&self.key);
        }
    }
}

/// The runtime's Web Locks, if it has them.
fn lock_manager() -> Option<LockManager> {
    let navigator = scope().navigator();
    // Node 20 has no `navigator`.
    if navigator.is_object() {
        navigator.unchecked_into::<LocksNavigator>().locks()
    } else {
        None
    }
}

/// The lease under `key`: its owner and expiry (epoch ms), if it is
/// well-formed.
fn read_lease(storage: &Storage, key: &str) -> Option<(String, u64)> {
    let text = storage.get_item(key).ok()??;
    let (owner, expiry) = text.split_once(' ')?;
    Some((owner.to_owned(), expiry.parse().ok()?))
}

/// `Date.now()` in whole milliseconds: leases are written and compared as
/// integers, so no float is parsed or printed.
fn now_ms() -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let now = js_sys::Date::now() as u64;
    now
}

/// The owner of a live lease under `key`: unexpired, and expiring no later
/// than a lease written now would ([`LEASE_TTL_MS`] from now, plus
/// [`LEASE_CLOCK_SLACK_MS`]). A lease further out was not written by a
/// holder and is free to take.
fn lease_owner(storage: &Storage, key: &str) -> Option<String> {
    let now = now_ms();
    let latest = now + u64::from(LEASE_TTL_MS) + u64::from(LEASE_CLOCK_SLACK_MS);
    read_lease(storage, key)
        .filter(|(_, expiry)| *expiry > now && *expiry <= latest)
        .map(|(owner, _)| owner)
}

/// Writes `owner`'s lease, valid for [`LEASE_TTL_MS`]; false when the
/// storage refuses.
fn write_lease(storage: &Storage, key: &str, owner: &str) -> bool {
    let text = format!("{owner} {}", now_ms() + u64::from(LEASE_TTL_MS));
    storage.set_item(key, &text).is_ok()
}

/// Takes the `localStorage` lease `<name>.lock` (see the module docs).
/// Without a writable `localStorage` there is nothing to share a lease
/// through, and the guard is free.
async fn lease(name: &str, timeout_ms: u32) -> Result<WebLockGuard, Error> {
    let Some(storage) = window().local_storage().ok().flatten() else {
        return Ok(WebLockGuard::default());
    };
    let key = format!("{name}.lock");
    let mut id = [0u8; 8];
    WebRandom.fill(&mut id)?;
    let owner = format!("{:016x}", u64::from_le_bytes(id));
    let deadline = js_sys::Date::now() + f64::from(timeout_ms);
    loop {
        if lease_owner(&storage, &key).is_none() {
            if !write_lease(&storage, &key, &owner) {
                return Ok(WebLockGuard::default());
            }
            TimerSleeper.sleep(LEASE_RECHECK_MS).await;
            if lease_owner(&storage, &key).as_deref() == Some(&owner) {
                let (s, k, o) = (storage.clone(), key.clone(), owner.clone());
                let renew = Interval::new(LEASE_RENEW_MS, move || {
                    if lease_owner(&s, &k).as_deref() == Some(&o) {
                        write_lease(&s, &k, &o);
                    }
                });
                return Ok(WebLockGuard {
                    release: None,
                    _granted: None,
                    _lease: Some(Lease {
                        storage,
                        key,
                        owner,
                        _renew: renew,
                    }),
                });
            }
        }
        if js_sys::Date::now() >= deadline {
            return Err(Error::LockTimeout);
        }
        TimerSleeper.sleep(20 + WebRandom.next_u32() % 60).await;
    }
}

/// A promise and its resolve function.
fn deferred() -> (js_sys::Promise, js_sys::Function) {
    let mut resolve_fn = None;
    let p = js_sys::Promise::new(&mut |resolve, _| resolve_fn = Some(resolve));
    // The executor runs synchronously inside `new Promise`.
    (
        p,
        resolve_fn.unwrap_or_else(|| js_sys::Function::new_no_args("")),
    )
}

impl CrossTabLock for WebLock {
    type Guard = WebLockGuard;

    async fn acquire(&self, name: &str, timeout_ms: u32) -> Result<WebLockGuard, Error> {
        if !self.shared {
            return Ok(WebLockGuard::default());
        }
        let Some(locks) = lock_manager() else {
            return lease(name, timeout_ms).await;
        };
        let (granted, on_granted) = deferred();
        let (held, release) = deferred();
        let cb = Closure::once(move |_lock: JsValue| -> JsValue {
            let _ = on_granted.call0(&JsValue::UNDEFINED);
            held.into()
        });
        let options: LockOptions = js_sys::Object::new().unchecked_into();
        let deadline = Deadline::new(timeout_ms);
        if let Some(d) = &deadline {
            options.set_signal(&d.signal());
        }
        let pending = locks
            .request(name, &options, cb.as_ref().unchecked_ref())
            .map_err(|_| Error::LockTimeout)?;
        // The request promise settles only after release, or rejects when
        // the signal aborts it first: whichever comes first decides.
        let both: js_sys::Array = [JsValue::from(granted), pending.into()].iter().collect();
        let race = js_sys::Promise::race(&both);
        match wasm_bindgen_futures::JsFuture::from(race).await {
            Ok(_) => Ok(WebLockGuard {
                release: Some(release),
                _granted: Some(cb),
                _lease: None,
            }),
            Err(_) => Err(Error::LockTimeout),
        }
    }
}
