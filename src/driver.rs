//! The async glue between the sans-IO [`Session`] and a [`Platform`].
//!
//! A [`Driver`] performs what the session decides: it sends requests,
//! writes the store, takes the cross-context lock around refreshes, and
//! hands out valid access tokens. It is generic and single-threaded: state
//! is shared with `Rc`/`RefCell` (no borrow is held across an `await`), and
//! concurrent callers of [`Driver::access_token`] share one refresh through
//! a waiter list (single-flight).
//!
//! A refresh runs as: take the lock → reload the store (another context may
//! have refreshed already) → refresh only if still due → persist → release.
//! Another context's change to the store is adopted at once through
//! [`Driver::handle_store_changed`].
//! The answer to a refresh is fed back only after the store was re-read:
//! tokens that another context rotated meanwhile are adopted instead of a
//! refusal ending the session, and a logout elsewhere discards the answer
//! instead of new tokens being stored over it.

use crate::core::config::{Config, Profile};
use crate::core::device::{self, DeviceAuthorization};
use crate::core::dpop::{self, NonceCache, Proof, ProofRequest};
use crate::core::error::Error;
use crate::core::expiry;
use crate::core::redirect;
use crate::core::request::HttpRequest;
use crate::core::request::{self, Credentials};
use crate::core::response::{self, HttpResponse, TokenResponse, TransportError};
use crate::core::secret::AccessToken;
use crate::core::session::{Event, PersistOp, RequestId, Session, Snapshot, Status};
use crate::core::time::UnixMillis;
use crate::core::tokens::Timing;
use crate::platform::{
    Clock, CrossTabLock, HttpTransport, Platform, ProofKey, Random, Sleeper, TokenStore,
};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Driver settings beyond the core configuration.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// The store key and lock name (default `"tokenkeeper"`).
    pub storage_key: String,
    /// How long to wait for the cross-context lock (default 10 s).
    pub lock_timeout_ms: u32,
    /// Before a refresh under the lock, wait this long and re-read the
    /// store once more (default 0: no wait). Another context's write made
    /// just before it released the lock may become visible here a moment
    /// after the lock is granted: Chromium's localStorage reaches other
    /// tabs by a different route than Web Locks' grants, and a read right
    /// at the grant can be stale, which with single-use refresh tokens
    /// would spend an old one and trip reuse detection.
    pub store_settle_ms: u32,
}

impl Default for DriverOptions {
    fn default() -> Self {
        Self {
            storage_key: "tokenkeeper".into(),
            lock_timeout_ms: 10_000,
            store_settle_ms: 0,
        }
    }
}

/// A callback that receives every event, after the state change.
pub type EventListener = Rc<dyn Fn(&Event)>;

/// One shared refresh: its result and the callers waiting for it.
#[derive(Default)]
struct Flight {
    result: RefCell<Option<Result<(), Error>>>,
    wakers: RefCell<Vec<Waker>>,
}

struct Inner<P> {
    platform: P,
    config: Config,
    session: RefCell<Session>,
    options: DriverOptions,
    flight: RefCell<Option<Rc<Flight>>>,
    listener: RefCell<Option<EventListener>>,
    /// The DPoP nonces servers gave, per origin (RFC 9449 §8, §9).
    nonces: RefCell<NonceCache>,
    /// The token endpoint's clock minus ours, from its last `Date` header:
    /// a proof's `iat` is in the server's clock, whose window is seconds.
    server_offset_ms: Cell<i64>,
}

/// Keeps a session alive on a platform. Clones share the session.
pub struct Driver<P: Platform> {
    inner: Rc<Inner<P>>,
}

impl<P: Platform> Clone for Driver<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<P: Platform> fmt::Debug for Driver<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Driver<P> {
    /// A driver for a new, logged-out session; invalid configuration fails
    /// here.
    pub fn new(config: Config, platform: P, options: DriverOptions) -> Result<Self, Error> {
        let dpop = matches!(&config.profile, Profile::OAuth2(p) if p.dpop);
        if dpop && platform.proof_key().is_none() {
            return Err(Error::config(
                "dpop",
                "needs a key the platform can sign with",
            ));
        }
        Ok(Self {
            inner: Rc::new(Inner {
                session: RefCell::new(Session::new(config.clone())?),
                config,
                platform,
                options,
                flight: RefCell::new(None),
                listener: RefCell::new(None),
                nonces: RefCell::new(NonceCache::new()),
                server_offset_ms: Cell::new(0),
            }),
        })
    }

    /// Sets the callback that receives every event.
    pub fn set_listener(&self, listener: Option<EventListener>) {
        *self.inner.listener.borrow_mut() = listener;
    }

    /// Loads the stored session, if any. Unreadable stored text is an
    /// [`Error::StoredFormat`] and leaves the session logged out.
    pub async fn restore(&self) -> Result<(), Error> {
        let stored = self
            .platform()
            .store()
            .get(&self.inner.options.storage_key)
            .await?;
        let now = self.now();
        let result = self.session().handle_restored(now, stored.as_deref());
        self.pump(None).await;
        result
    }

    /// Logs in with `credentials` and stores the session.
    pub async fn login(&self, credentials: Credentials) -> Result<(), Error> {
        self.check_proof_key().await?;
        let now = self.now();
        self.feed_jitter();
        self.session().login(now, &credentials)?;
        drop(credentials);
        let events = self.pump(None).await;
        events
            .iter()
            .find_map(|e| match e {
                Event::LoggedIn => Some(Ok(())),
                Event::LoginFailed { error } => Some(Err(error.clone())),
                _ => None,
            })
            .unwrap_or(Err(Error::Aborted))
    }

    /// Exchanges OAuth `credentials` at the token endpoint (an
    /// authorization code: RFC 6749 §4.1.3, RFC 7636 §4.5) without touching
    /// the session, so the caller can validate the answer (the ID token,
    /// OpenID Connect Core §3.1.3.7) before [`Driver::adopt_login`] installs
    /// it. Errors are returned, not emitted; secrets the request carried are
    /// scrubbed from a server's error description.
    pub async fn exchange(
        &self,
        credentials: &Credentials,
    ) -> Result<(TokenResponse, Timing), Error> {
        let profile = &self.inner.config.profile;
        let Profile::OAuth2(p) = profile else {
            return Err(Error::config(
                "profile",
                "must be oauth2 for a code exchange",
            ));
        };
        self.check_proof_key().await?;
        let req = request::oauth_login(p, credentials);
        let sent_at = self.now();
        let resp = self.send(req).await?;
        let now = self.now();
        match response::parse_token_response(profile, &resp, now) {
            Ok(tokens) => Ok((
                tokens,
                Timing {
                    sent_at,
                    received_at: now,
                    server_date: response::server_date(&resp),
                },
            )),
            Err(mut e) => {
                let mut secrets: Vec<&str> = p.client_secret.iter().map(|s| s.secret()).collect();
                match credentials {
                    Credentials::AuthorizationCode {
                        code,
                        code_verifier,
                        ..
                    } => secrets.extend([code.secret(), code_verifier.secret()]),
                    Credentials::DeviceCode(code) => secrets.push(code.secret()),
                    Credentials::TokenExchange(x) => {
                        secrets.push(x.subject_token.secret());
                        secrets.extend(x.actor.as_ref().map(|(t, _)| t.secret()));
                    }
                    _ => {}
                }
                e.scrub(&secrets);
                Err(e)
            }
        }
    }

    /// Starts the device flow (RFC 8628 §3.1): asks the device authorization
    /// endpoint for the codes to show the user.
    pub async fn device_authorize(
        &self,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorization, Error> {
        let Profile::OAuth2(p) = &self.inner.config.profile else {
            return Err(Error::config(
                "profile",
                "must be oauth2 for the device flow",
            ));
        };
        self.check_proof_key().await?;
        let req = request::device_authorization(p, scope).ok_or_else(|| {
            Error::config("deviceAuthorizationUrl", "is required for the device flow")
        })?;
        let resp = self.send(req).await?;
        device::parse_device_authorization(&resp, self.now())
    }

    /// Polls the token endpoint until the user approved the device flow's
    /// codes (then logs in, as [`Driver::adopt_login`]), denied them, or
    /// they expired (RFC 8628 §3.4, §3.5); `cancelled` is asked before
    /// each poll. The session is unchanged unless it ends in a login.
    pub async fn device_login(
        &self,
        mut auth: DeviceAuthorization,
        cancelled: impl Fn() -> bool,
    ) -> Result<(), Error> {
        let credentials = Credentials::DeviceCode(auth.device_code.clone());
        let mut wait = auth.interval_ms;
        loop {
            self.platform()
                .sleeper()
                .sleep(u32::try_from(wait).unwrap_or(u32::MAX))
                .await;
            if cancelled() {
                return Err(Error::Aborted);
            }
            match self.exchange(&credentials).await {
                Ok((tokens, timing)) => {
                    self.adopt_login(tokens, &timing).await;
                    return Ok(());
                }
                Err(e) => match device::after_error(&mut auth, e, self.now()) {
                    device::Poll::Wait(ms) => wait = ms,
                    device::Poll::Stop(e) => return Err(e),
                },
            }
        }
    }

    /// Pushes the authorization request of `authorize_url` (RFC 9126 §2)
    /// and returns the URL that redeems it (§4): for a provider that
    /// requires pushed requests, or with `requirePushedAuthorizationRequests`.
    pub async fn push_authorization(&self, authorize_url: &str) -> Result<String, Error> {
        let req = redirect::pushed_request(&self.inner.config, authorize_url)?;
        let resp = self.send(req).await?;
        redirect::pushed_url(&self.inner.config, &resp, self.now())
    }

    /// Installs tokens from [`Driver::exchange`] as a new session: stores
    /// them and emits [`Event::LoggedIn`] (see [`Session::adopt_login`]).
    pub async fn adopt_login(&self, tokens: TokenResponse, timing: &Timing) {
        self.feed_jitter();
        self.session().adopt_login(tokens, timing);
        self.pump(None).await;
    }

    /// Reports a login that failed outside the session (e.g. a rejected ID
    /// token) as [`Event::LoginFailed`]; the session is unchanged.
    pub fn report_login_failure(&self, error: Error) {
        self.emit(&[Event::LoginFailed { error }]);
    }

    /// A valid access token: the held one while fresh and not yet due for
    /// refresh; otherwise after a refresh (joining one in flight). When the
    /// refresh fails but the held token is still fresh, that token is
    /// returned. A token that arrives already expired (`expires_in: 0`) is
    /// handed to the callers of that refresh only.
    ///
    /// During backoff, a caller without a valid token waits for the next
    /// attempt while it is due within the policy's `max_wait_ms` (counted
    /// from the call), and joins it. When the wait would be longer it fails
    /// at once: with the error of the attempt it took part in, else with
    /// [`Error::RetryLater`].
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        let deadline = self
            .now()
            .plus_millis(self.inner.config.refresh.max_wait_ms);
        loop {
            let error = match self.access_token_once().await {
                Err(e) if e.is_transient() => e,
                other => return other,
            };
            let now = self.now();
            let retry_at = self.inner.session.borrow().retry_at();
            let Some(at) = retry_at.filter(|at| *at <= deadline) else {
                return Err(error);
            };
            let ms = u32::try_from(at.saturating_since(now)).unwrap_or(u32::MAX);
            self.platform().sleeper().sleep(ms.max(1)).await;
        }
    }

    /// One try of [`Driver::access_token`].
    async fn access_token_once(&self) -> Result<AccessToken, Error> {
        let now = self.now();
        {
            let s = self.inner.session.borrow();
            if let Some(t) = s.access_token(now).filter(|_| !s.refresh_due(now)) {
                return Ok(t.clone());
            }
        }
        let outcome = self.renew(false).await;
        let now = self.now();
        let s = self.inner.session.borrow();
        if let Some(t) = s.access_token(now) {
            return Ok(t.clone());
        }
        outcome?;
        s.current_access_token().cloned().ok_or(match s.status() {
            Status::Ended(reason) => Error::SessionEnded { reason },
            _ => Error::NoSession,
        })
    }

    /// Refreshes now, unless another context already did; joins a refresh
    /// in flight.
    pub async fn refresh(&self) -> Result<(), Error> {
        self.renew(true).await
    }

    /// A resource server rejected `token`: renews at once (see
    /// [`Session::handle_rejected`]) unless the held token already changed,
    /// and returns the token to retry with. That is `token` itself when
    /// nothing newer could be had (the server re-issued it, or the renewal
    /// failed).
    pub async fn token_rejected(&self, token: &str) -> Result<AccessToken, Error> {
        let now = self.now();
        let marked = self.session().handle_rejected(now, token);
        if marked {
            // A failure is an event already; the caller keeps its answer.
            let _ = self.renew(false).await;
        }
        match self.access_token().await {
            Ok(t) => Ok(t),
            Err(_) if !marked => Ok(AccessToken::new(token)),
            Err(e) => Err(e),
        }
    }

    /// Logs out: clears the session and the store and tells the other
    /// contexts at once; then waits for a refresh another context may have
    /// in flight (under the cross-context lock), so that the revocation
    /// (RFC 7009, when a `revocationUrl` is configured) cannot reject that
    /// refresh and covers the tokens it stored. A failed revocation is
    /// reported as [`Event::RevocationFailed`]; the local logout has
    /// completed anyway. Only a store failure is an error.
    pub async fn logout(&self) -> Result<(), Error> {
        let now = self.now();
        self.session().logout(now);
        let mut events = Vec::new();
        self.flush_store(&mut events).await;
        while let Some(e) = self.session().poll_event() {
            events.push(e);
        }
        self.emit(&events);
        let key = &self.inner.options.storage_key;
        // Without the lock (a timeout, none in this runtime) the logout goes
        // on: the local part is done and the revocation is still due.
        let guard = self
            .platform()
            .lock()
            .acquire(key, self.inner.options.lock_timeout_ms)
            .await;
        // Another context's last write may reach this one a moment after
        // the lock (see `DriverOptions::store_settle_ms`).
        let settle = self.inner.options.store_settle_ms;
        if settle > 0 {
            self.platform().sleeper().sleep(settle).await;
        }
        let stored = self.platform().store().get(key).await.ok().flatten();
        self.session().logout_stored(stored.as_deref());
        events.extend(self.pump(None).await);
        drop(guard);
        storage_error(&events).map_or(Ok(()), Err)
    }

    /// When the next attempt after a failure is due, during backoff.
    #[must_use]
    pub fn retry_at(&self) -> Option<UnixMillis> {
        self.inner.session.borrow().retry_at()
    }

    /// When the adapter's single timer should fire next (epoch ms).
    #[must_use]
    pub fn next_wakeup(&self) -> Option<UnixMillis> {
        self.inner.session.borrow().poll_timeout()
    }

    /// Call when the timer fires (or on `visibilitychange`, `online`…):
    /// refreshes if due, ends an expired session. Spurious calls are
    /// harmless; the wall clock decides.
    pub async fn handle_timer(&self) -> Result<(), Error> {
        let now = self.now();
        if self.inner.session.borrow().refresh_due(now) {
            return self.renew(false).await;
        }
        self.session().handle_timeout(now);
        self.pump(None).await;
        Ok(())
    }

    /// Call when another context changed the stored session (a `storage`
    /// event, a BroadcastChannel message): re-reads the store and adopts
    /// what it holds, without a request. New tokens are
    /// [`Event::Restored`]; an emptied store ends an active session with
    /// [`EndReason::ClearedElsewhere`](crate::core::error::EndReason) (a
    /// logout, or an ended session, in another context), and the answer
    /// to a refresh this context has in flight is then discarded. Spurious
    /// calls change nothing.
    pub async fn handle_store_changed(&self) {
        self.reload().await;
    }

    /// Drives the timers with the platform's [`Sleeper`] until nothing is
    /// left to wait for (logged out or ended). For runtimes without an
    /// adapter-armed timer.
    pub async fn run(&self) {
        while let Some(at) = self.next_wakeup() {
            let delay = expiry::timer_delay(self.now(), at).max(1);
            self.platform().sleeper().sleep(delay).await;
            // A failed refresh is already reported as an event and backs
            // off by itself.
            let _ = self.handle_timer().await;
        }
    }

    /// A secret-free view of the session.
    #[must_use]
    pub fn state(&self) -> Snapshot {
        self.inner.session.borrow().snapshot()
    }

    /// Until when [`Driver::access_token`] would return the held token
    /// without any work (see [`Session::fresh_until`]); an adapter may cache
    /// the token on its side until then.
    #[must_use]
    pub fn fresh_until(&self) -> Option<UnixMillis> {
        self.inner.session.borrow().fresh_until()
    }

    /// The validated configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The platform's clock.
    #[must_use]
    pub fn platform_clock(&self) -> &P::Clock {
        self.platform().clock()
    }

    /// The platform's token store, for an adapter that watches it.
    #[must_use]
    pub fn platform_store(&self) -> &P::Store {
        self.platform().store()
    }

    /// The store key (and lock name).
    #[must_use]
    pub fn storage_key(&self) -> &str {
        &self.inner.options.storage_key
    }

    /// The platform's HTTP transport, for requests beside the session's
    /// (discovery, a JWK Set).
    #[must_use]
    pub fn platform_http(&self) -> &P::Http {
        self.platform().http()
    }

    fn platform(&self) -> &P {
        &self.inner.platform
    }

    fn session(&self) -> std::cell::RefMut<'_, Session> {
        self.inner.session.borrow_mut()
    }

    fn now(&self) -> UnixMillis {
        self.platform().clock().now()
    }

    /// A DPoP proof (RFC 9449 §4) for `method url`, with the nonce last
    /// given by the URL's origin and, for a resource request, the hash of
    /// `access_token`; `None` when the keeper sends no proofs.
    pub async fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&AccessToken>,
    ) -> Result<Option<Proof>, Error> {
        let Some(key) = self.proof_key() else {
            return Ok(None);
        };
        let jwk = key.public_jwk().await?;
        let mut jti = [0u8; 16];
        self.platform().random().fill(&mut jti)?;
        let nonce = dpop::origin(url).and_then(|o| self.inner.nonces.borrow().get(&o).cloned());
        let input = dpop::signing_input(
            &jwk,
            &ProofRequest {
                method,
                url,
                iat: self.server_now().0 / 1000,
                jti: &jti,
                access_token,
                nonce: nonce.as_ref(),
            },
        )?;
        let signature = key.sign(input.bytes()).await?;
        input.into_proof(&signature).map(Some)
    }

    /// The `dpop_jkt` of an authorization request (RFC 9449 §10): the DPoP
    /// key's JWK thumbprint (RFC 7638), making or loading the key. `None`
    /// without DPoP, and when the key will not outlive the page: the code
    /// is then redeemed with a key made after the redirect, and the token
    /// exchange binds the tokens to that one.
    pub async fn dpop_jkt(&self) -> Result<Option<String>, Error> {
        let Some(key) = self.proof_key() else {
            return Ok(None);
        };
        let jwk = key.public_jwk().await?;
        Ok(key.outlives_page().then(|| jwk.thumbprint()))
    }

    /// Whether requests carry DPoP proofs.
    pub fn dpop(&self) -> bool {
        self.proof_key().is_some()
    }

    /// Keeps the `DPoP-Nonce` a server at `url` sent (RFC 9449 §8.2: every
    /// response may carry the next one); an invalid value is ignored.
    pub fn remember_nonce(&self, url: &str, header: Option<&str>) {
        if let (Some(origin), Some(nonce)) =
            (dpop::origin(url), header.and_then(dpop::Nonce::parse))
        {
            self.inner.nonces.borrow_mut().remember(&origin, nonce);
        }
    }

    /// Whether a resource server's answer asks for a DPoP nonce (RFC 9449
    /// §9): the nonce is kept, and the request is worth one more try.
    pub fn resource_wants_nonce(&self, url: &str, resp: &HttpResponse) -> bool {
        let nonce = resp.header("dpop-nonce");
        self.remember_nonce(url, nonce);
        dpop::resource_nonce_retry(resp.status, resp.header("www-authenticate"), nonce).is_some()
    }

    /// Makes or loads the DPoP key before a login, so that a runtime that
    /// cannot make one fails the login with its error.
    async fn check_proof_key(&self) -> Result<(), Error> {
        match self.proof_key() {
            Some(key) => key.public_jwk().await.map(drop),
            None => Ok(()),
        }
    }

    /// Sends a request to the token or revocation endpoint; with a DPoP key,
    /// with a proof, and once more with a new one when the server asks for
    /// a nonce (RFC 9449 §8) or refuses a proof dated in a clock its `Date`
    /// shows to be off (see [`dpop::clock_retry`]). A proof that cannot be made fails like the
    /// network: the key was made at login, so only a broken runtime gets
    /// here.
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.proof_key().is_none() {
            return self.platform().http().send(req).await;
        }
        // One retry for each cause: a nonce asked for, a clock found off.
        let (mut nonce_retried, mut clock_retried) = (false, false);
        loop {
            let carried = dpop::origin(&req.url).and_then(|o| {
                self.inner
                    .nonces
                    .borrow()
                    .get(&o)
                    .map(|n| n.secret().to_owned())
            });
            let proof = self
                .proof(req.method, &req.url, None)
                .await
                .map_err(|_| TransportError::Network)?
                .ok_or(TransportError::Network)?;
            let mut signed = req.clone();
            signed
                .headers
                .push(("DPoP".to_owned(), proof.secret().to_owned()));
            let sent_at = self.now();
            let mut resp = self.platform().http().send(signed).await?;
            let dated_with = self.inner.server_offset_ms.get();
            if let Some(date) = response::server_date(&resp) {
                // A `Date` has whole seconds: its midpoint (RFC 9110 §6.6.1).
                let offset = expiry::clock_offset(sent_at, self.now(), date.plus_millis(500));
                self.inner.server_offset_ms.set(offset);
            }
            let clock_moved = self.inner.server_offset_ms.get().abs_diff(dated_with);
            if resp.status != 200 {
                let received = resp.header("dpop-nonce").map(str::to_owned);
                let secrets = [
                    Some(proof.secret()),
                    carried.as_deref(),
                    received.as_deref(),
                ];
                dpop::redact(
                    &mut resp.body,
                    &secrets.into_iter().flatten().collect::<Vec<_>>(),
                );
            }
            let nonce = resp.header("dpop-nonce");
            self.remember_nonce(&req.url, nonce);
            if resp.status == 400 {
                let error = match response::error_response(&resp, self.now()) {
                    Error::OAuth { error, .. } => Some(error),
                    _ => None,
                };
                if !nonce_retried
                    && dpop::token_nonce_retry(resp.status, error.as_deref(), nonce).is_some()
                {
                    nonce_retried = true;
                    continue;
                }
                if !clock_retried && dpop::clock_retry(resp.status, error.as_deref(), clock_moved) {
                    clock_retried = true;
                    continue;
                }
            }
            return Ok(resp);
        }
    }

    /// Now in the token endpoint's clock, as far as its `Date` told.
    fn server_now(&self) -> UnixMillis {
        let now = i64::try_from(self.now().0).unwrap_or(i64::MAX);
        UnixMillis(
            u64::try_from(now.saturating_add(self.inner.server_offset_ms.get())).unwrap_or(0),
        )
    }

    /// The DPoP key, when the configuration asks for proofs.
    fn proof_key(&self) -> Option<&P::ProofKey> {
        match &self.inner.config.profile {
            Profile::OAuth2(p) if p.dpop => self.platform().proof_key(),
            _ => None,
        }
    }

    /// Draws a new jitter sample for the refresh about to be planned. A new
    /// one each time, not one per keeper: with a sample fixed per keeper,
    /// two tabs whose samples happen to lie close refresh at nearly the
    /// same moment at every rotation, and the one that waited for the lock
    /// then meets the other's write late far more often (5 tabs under load:
    /// a refresh token reused within 16 to 68 rotations, none in 100 with
    /// a new sample each time).
    fn feed_jitter(&self) {
        let sample = self.platform().random().next_u32();
        self.session().set_jitter(sample);
    }

    /// Runs or joins the single refresh flight.
    async fn renew(&self, force: bool) -> Result<(), Error> {
        let joined = self.inner.flight.borrow().clone();
        if let Some(flight) = joined {
            return Wait(flight).await;
        }
        let flight = Rc::new(Flight::default());
        *self.inner.flight.borrow_mut() = Some(Rc::clone(&flight));
        let mut done = Complete {
            inner: &self.inner,
            flight,
            result: Err(Error::Aborted),
        };
        let result = self.renew_locked(force).await;
        done.result = result.clone();
        result
    }

    async fn renew_locked(&self, force: bool) -> Result<(), Error> {
        let before = self.held_token();
        let key = &self.inner.options.storage_key;
        let _guard = self
            .platform()
            .lock()
            .acquire(key, self.inner.options.lock_timeout_ms)
            .await?;
        self.reload().await;
        let settle = self.inner.options.store_settle_ms;
        if settle > 0 && !self.refresh_done(force, before.as_deref()) {
            self.platform().sleeper().sleep(settle).await;
            self.reload().await;
        }
        if self.refresh_done(force, before.as_deref()) {
            return Ok(());
        }
        let now = self.now();
        self.feed_jitter();
        let started = self.session().refresh(now);
        let id = match started {
            Ok(id) => id,
            Err(e) => {
                self.pump(None).await;
                return Err(e);
            }
        };
        let events = self.pump(Some(id)).await;
        if let Some(reason) = events.iter().find_map(|e| match e {
            Event::SessionEnded { reason } => Some(*reason),
            _ => None,
        }) {
            return Err(Error::SessionEnded { reason });
        }
        events
            .iter()
            .find_map(|e| match e {
                Event::RefreshFailed { error, .. } => Some(Err(error.clone())),
                _ => None,
            })
            .unwrap_or(Ok(()))
    }

    /// Whether the tokens just read from the store make this refresh
    /// needless: fresh and not due, or (for a forced refresh) fresh and
    /// no longer the token held before (`before`) the lock was taken.
    fn refresh_done(&self, force: bool, before: Option<&str>) -> bool {
        let now = self.now();
        let adopted = self.held_token().as_deref() != before;
        let s = self.inner.session.borrow();
        !s.refresh_due(now) && s.access_token(now).is_some() && (adopted || !force)
    }

    /// The held access token's text, to notice adoption from the store.
    fn held_token(&self) -> Option<String> {
        let s = self.inner.session.borrow();
        s.tokens().map(|t| t.access_token().secret().to_owned())
    }

    /// Re-reads the store into the session. Unreadable data is reported
    /// and otherwise ignored: the session keeps what it holds.
    async fn reload(&self) {
        let key = &self.inner.options.storage_key;
        let stored = self.platform().store().get(key).await;
        let now = self.now();
        let result = stored.and_then(|s| self.session().handle_restored(now, s.as_deref()));
        let mut events = Vec::new();
        while let Some(e) = self.session().poll_event() {
            events.push(e);
        }
        if let Err(error) = result {
            events.push(Event::StorageFailed { error });
        }
        self.emit(&events);
    }

    /// Sends queued requests, feeds their answers back, applies store
    /// changes, and emits the events; returns them. Before the answer to
    /// a refresh (`refresh_id`) is fed back, the store is re-read.
    async fn pump(&self, refresh_id: Option<RequestId>) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            self.flush_store(&mut events).await;
            let next = self.session().poll_transmit();
            let Some((id, req)) = next else { break };
            let result = self.send(req).await;
            match result {
                Ok(resp) => {
                    if Some(id) == refresh_id {
                        // Another context may have rotated or logged out
                        // meanwhile: a refusal is then no end, and new
                        // tokens must not be stored over a logout. Its
                        // write may reach this one a moment late (see
                        // `DriverOptions::store_settle_ms`).
                        let settle = self.inner.options.store_settle_ms;
                        if settle > 0 {
                            self.platform().sleeper().sleep(settle).await;
                        }
                        self.reload().await;
                    }
                    let now = self.now();
                    self.session().handle_response(now, id, &resp);
                }
                Err(e) => {
                    let now = self.now();
                    self.session().handle_transport_error(now, id, e);
                }
            }
        }
        while let Some(e) = self.session().poll_event() {
            events.push(e);
        }
        self.emit(&events);
        events
    }

    /// Applies queued store changes in order; failures become events.
    async fn flush_store(&self, events: &mut Vec<Event>) {
        let key = &self.inner.options.storage_key;
        loop {
            let op = self.session().poll_persist();
            let result = match op {
                None => return,
                Some(PersistOp::Save(s)) => self.platform().store().set(key, s.secret()).await,
                Some(PersistOp::Clear) => self.platform().store().delete(key).await,
            };
            if let Err(error) = result {
                events.push(Event::StorageFailed { error });
            }
        }
    }

    fn emit(&self, events: &[Event]) {
        let listener = self.inner.listener.borrow().clone();
        if let Some(l) = listener {
            events.iter().for_each(|e| l(e));
        }
    }
}

fn storage_error(events: &[Event]) -> Option<Error> {
    events.iter().find_map(|e| match e {
        Event::StorageFailed { error } => Some(error.clone()),
        _ => None,
    })
}

/// Waits for a flight's result.
struct Wait(Rc<Flight>);

impl Future for Wait {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(r) = self.0.result.borrow().as_ref() {
            return Poll::Ready(r.clone());
        }
        self.0.wakers.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// Completes a flight when the leader finishes or is dropped mid-way (then
/// with [`Error::Aborted`]), so waiters never hang.
struct Complete<'a, P> {
    inner: &'a Inner<P>,
    flight: Rc<Flight>,
    result: Result<(), Error>,
}

impl<P> Drop for Complete<'_, P> {
    fn drop(&mut self) {
        let result = std::mem::replace(&mut self.result, Err(Error::Aborted));
        *self.flight.result.borrow_mut() = Some(result);
        {
            let mut slot = self.inner.flight.borrow_mut();
            if slot.as_ref().is_some_and(|f| Rc::ptr_eq(f, &self.flight)) {
                *slot = None;
            }
        }
        let wakers = std::mem::take(&mut *self.flight.wakers.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
    }
}
