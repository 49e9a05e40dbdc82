//! The session state machine, in quinn-proto's shape: `handle_*(now, …)`
//! and commands in, `poll_*()` out, no IO and no clock.
//!
//! ```text
//! LoggedOut ──login ok──> Active ──refresh ok──> Active
//!                           │  └─transient failure─> Active (backoff timer)
//!                           └─terminal failure / refresh token expired─> Ended
//! ```
//!
//! One exchange (login or refresh) is in flight at a time; `refresh` joins
//! it. A response for any other id is stale and ignored, so spurious or late
//! inputs never change state. `SessionEnded` is emitted once per session.

use super::config::{Config, Profile};
use super::error::{EndReason, Error};
use super::expiry;
use super::json_text::ObjectText;
use super::persist::{self, Owner, StoredSession};
use super::request::{self, Credentials, HttpRequest};
use super::response::{self, HttpResponse, TransportError};
use super::secret::{AccessToken, RefreshToken};
use super::time::UnixMillis;
use super::tokens::{Renewal, Timing, TokenSet};
use serde_json::Value;
use std::collections::VecDeque;

/// Names one request the session asked to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// A change for the token store.
#[derive(Debug, Clone)]
pub enum PersistOp {
    /// Write this session, replacing the previous one in one write (access
    /// and refresh tokens change together: RFC 6749 §6).
    Save(StoredSession),
    /// Delete the stored session.
    Clear,
}

/// Something the app may want to know. No event carries a secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A login succeeded.
    LoggedIn,
    /// A login failed; any previous session is unchanged.
    LoginFailed {
        /// Why.
        error: Error,
    },
    /// A refresh request is on its way.
    Refreshing,
    /// New tokens arrived.
    Refreshed {
        /// Whether a new refresh token replaced the old one.
        rotated: bool,
    },
    /// A refresh failed.
    RefreshFailed {
        /// Why.
        error: Error,
        /// Whether the error itself is transient ([`Error::is_transient`]).
        transient: bool,
        /// When the session retries, if it does.
        retry_in_ms: Option<u64>,
    },
    /// The session ended for good; a new login is needed. Emitted once.
    SessionEnded {
        /// Why.
        reason: EndReason,
    },
    /// Tokens were adopted from storage (at start-up, or another context
    /// refreshed them).
    Restored,
    /// The app logged out; storage is cleared.
    LoggedOut,
    /// A token was revoked (RFC 7009 §2.2).
    Revoked,
    /// Revocation failed; the token may still be live at the server
    /// (RFC 7009 §2.2.1). The local logout has completed anyway.
    RevocationFailed {
        /// Why.
        error: Error,
    },
    /// The token store failed (reported by the driver).
    StorageFailed {
        /// Why.
        error: Error,
    },
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No tokens: never logged in, or logged out.
    LoggedOut,
    /// Tokens are held.
    Active,
    /// The session ended; a new login is needed.
    Ended(EndReason),
}

/// A read-only view for the app: no secrets.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `"loggedOut"`, `"active"` or `"ended"`.
    pub status: &'static str,
    /// Why the session ended, if it did.
    pub ended_reason: Option<&'static str>,
    /// Whether a login or refresh is in flight.
    pub busy: bool,
    /// Access token expiry, epoch ms.
    pub expires_at: Option<u64>,
    /// Refresh token expiry, epoch ms.
    pub refresh_expires_at: Option<u64>,
    /// When the next refresh (or retry after a failure) is planned, epoch
    /// ms; jitter included.
    pub refresh_at: Option<u64>,
    /// The granted scope.
    pub scope: Option<String>,
    /// The access token's JWT claims, UNVERIFIED: display only.
    pub claims: Option<Value>,
}

impl Snapshot {
    /// The JSON form the JS `state` getter hands out, camelCase names.
    #[must_use]
    pub fn to_json(&self) -> String {
        ObjectText::new()
            .string("status", self.status)
            .opt_string("endedReason", self.ended_reason)
            .bool("busy", self.busy)
            .number("expiresAt", self.expires_at)
            .number("refreshExpiresAt", self.refresh_expires_at)
            .number("refreshAt", self.refresh_at)
            .opt_string("scope", self.scope.as_deref())
            .value("claims", self.claims.as_ref())
            .finish()
    }
}

#[derive(Debug)]
enum FlightKind {
    Login(Renewal),
    /// The refresh token sent, to tell a stale failure from a real one.
    Refresh(Option<RefreshToken>),
}

#[derive(Debug)]
struct Flight {
    id: RequestId,
    kind: FlightKind,
    sent_at: UnixMillis,
    /// Secrets sent with the request, scrubbed from any echo in errors.
    sent_secrets: SentSecrets,
}

/// Copies of the secrets a request carried; `Debug` redacts them.
struct SentSecrets(Vec<String>);

impl SentSecrets {
    fn as_strs(&self) -> Vec<&str> {
        self.0.iter().map(String::as_str).collect()
    }
}

/// The token strings of a set, to scrub from server error texts.
fn token_secrets(t: &TokenSet) -> Vec<String> {
    let mut out = vec![t.access_token().secret().to_owned()];
    out.extend(t.refresh_token().map(|r| r.secret().to_owned()));
    out
}

impl std::fmt::Debug for SentSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy)]
struct Retry {
    at: UnixMillis,
    attempt: u32,
}

/// The sans-IO session. See the module docs.
#[derive(Debug)]
pub struct Session {
    config: Config,
    status: Status,
    tokens: Option<TokenSet>,
    flight: Option<Flight>,
    /// Revocations in flight, with the secrets they carry (scrubbed from
    /// any error the server echoes them in).
    revocations: Vec<(RequestId, SentSecrets)>,
    retry: Option<Retry>,
    /// Between [`Session::logout`] and [`Session::logout_stored`]: a
    /// session another context stores meanwhile is cleared, not adopted.
    logging_out: bool,
    jitter: u32,
    next_id: u64,
    transmits: VecDeque<(RequestId, HttpRequest)>,
    persists: VecDeque<PersistOp>,
    events: VecDeque<Event>,
}

impl Session {
    /// A logged-out session; the configuration is validated first.
    pub fn new(config: Config) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            status: Status::LoggedOut,
            tokens: None,
            flight: None,
            revocations: Vec::new(),
            retry: None,
            logging_out: false,
            jitter: 0,
            next_id: 0,
            transmits: VecDeque::new(),
            persists: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Supplies a random number for the next scheduling decisions (refresh
    /// jitter, backoff jitter). The core has no RNG; without a sample the
    /// jitter is 0.
    pub fn set_jitter(&mut self, sample: u32) {
        self.jitter = sample;
    }

    // ---- commands ------------------------------------------------------

    /// Starts a login; a login or refresh already in flight is superseded
    /// (its answer will be ignored). The current session, if any, stays
    /// until the login succeeds.
    pub fn login(
        &mut self,
        now: UnixMillis,
        credentials: &Credentials,
    ) -> Result<RequestId, Error> {
        let mut secrets = self.config_secrets();
        let (req, renewal) = match (&self.config.profile, credentials) {
            (Profile::OAuth2(p), c) => {
                let renewal = match c {
                    Credentials::ClientCredentials {} => Renewal::ClientCredentials,
                    _ => Renewal::RefreshToken,
                };
                (request::oauth_login(p, c), renewal)
            }
            (Profile::Json(p), Credentials::Password { username, password }) => (
                request::json_login(p, username, password),
                Renewal::RefreshToken,
            ),
            (Profile::Json(_), _) => {
                return Err(Error::config(
                    "credentials",
                    "must be {username, password} for a json profile",
                ));
            }
        };
        match credentials {
            Credentials::Password { password, .. } => secrets.push(password.secret().into()),
            Credentials::AuthorizationCode {
                code,
                code_verifier,
                ..
            } => {
                secrets.push(code.secret().into());
                secrets.push(code_verifier.secret().into());
            }
            Credentials::ClientCredentials {} => {}
            Credentials::DeviceCode(code) => secrets.push(code.secret().into()),
            Credentials::TokenExchange(x) => {
                secrets.push(x.subject_token.secret().into());
                if let Some((actor, _)) = &x.actor {
                    secrets.push(actor.secret().into());
                }
            }
        }
        let id = self.start(now, FlightKind::Login(renewal), req, secrets);
        Ok(id)
    }

    /// Starts a refresh, or returns the id of the exchange in flight.
    ///
    /// The timing model: a token that has expired, or that a resource
    /// server rejected ([`Session::handle_rejected`]), is renewed at once.
    /// `minIntervalMs` only spaces refreshes *ahead of* expiry (while the
    /// held token is still handed out); a re-issued token is not asked for
    /// again before its own expiry (see [`Session::poll_timeout`]). Failures
    /// alone are rate-limited: during backoff nothing is sent before the
    /// retry time.
    ///
    /// Errors: [`Error::NoSession`] without tokens, [`Error::SessionEnded`]
    /// after the end or once the refresh token has expired,
    /// [`Error::RetryLater`] during backoff, or ahead of expiry within the
    /// minimum interval after the last tokens arrived,
    /// [`Error::NoRefreshToken`] when nothing can renew.
    pub fn refresh(&mut self, now: UnixMillis) -> Result<RequestId, Error> {
        if let Some(f) = &self.flight {
            return Ok(f.id);
        }
        if let Status::Ended(reason) = self.status {
            return Err(Error::SessionEnded { reason });
        }
        let tokens = self.tokens.as_ref().ok_or(Error::NoSession)?;
        if tokens.refresh_expires_at.is_some_and(|at| at <= now) {
            self.end(EndReason::RefreshTokenExpired);
            return Err(Error::SessionEnded {
                reason: EndReason::RefreshTokenExpired,
            });
        }
        let ahead = !tokens.rejected && expiry::is_fresh(now, tokens.expires_at);
        let not_before = match self.retry {
            Some(r) => r.at,
            None if ahead => tokens
                .issued_at
                .plus_millis(self.config.refresh.min_interval_ms),
            None => now,
        };
        if now < not_before {
            return Err(Error::RetryLater {
                retry_in_ms: not_before.saturating_since(now),
            });
        }
        let mut secrets = self.config_secrets();
        let req = match (&self.config.profile, tokens.renewal, &tokens.refresh_token) {
            (Profile::OAuth2(p), Renewal::ClientCredentials, _) => request::client_credentials(p),
            (Profile::OAuth2(p), Renewal::RefreshToken, Some(rt)) => request::oauth_refresh(p, rt),
            (Profile::Json(p), _, Some(rt)) => request::json_refresh(p, &tokens.access_token, rt),
            (_, _, None) if !expiry::is_fresh(now, tokens.expires_at) => {
                self.end(EndReason::AccessTokenExpired);
                return Err(Error::SessionEnded {
                    reason: EndReason::AccessTokenExpired,
                });
            }
            (_, _, None) => return Err(Error::NoRefreshToken),
        };
        let sent = tokens.refresh_token.clone();
        if let Some(rt) = &sent {
            secrets.push(rt.secret().into());
        }
        let id = self.start(now, FlightKind::Refresh(sent), req, secrets);
        self.events.push_back(Event::Refreshing);
        Ok(id)
    }

    /// Logs out: forgets the tokens, clears storage, and returns the id of
    /// a revocation request (RFC 7009 §2.1) when a `revocationUrl` is set.
    /// The local logout is complete whatever the revocation's outcome.
    /// (`_now` keeps the shape of every other input; logout needs no time.)
    pub fn logout(&mut self, _now: UnixMillis) -> Option<RequestId> {
        self.flight = None;
        self.retry = None;
        let tokens = self.tokens.take();
        self.status = Status::LoggedOut;
        self.logging_out = true;
        self.persists.push_back(PersistOp::Clear);
        self.events.push_back(Event::LoggedOut);
        self.revoke(tokens?)
    }

    /// Ends a logout with what the store holds once other contexts are
    /// done (the driver reads it under the cross-context lock). A session
    /// another context stored since (a refresh it finished after this
    /// logout cleared the store) is this login's newest: the store is
    /// cleared again and that session's token revoked too. Text that is not
    /// this owner's session is left alone. From here on, stored sessions
    /// are adopted again. Returns the revocation's id, if one is queued.
    pub fn logout_stored(&mut self, stored: Option<&str>) -> Option<RequestId> {
        if !std::mem::take(&mut self.logging_out) || self.status != Status::LoggedOut {
            return None;
        }
        let t = persist::load(stored?, Owner::of(&self.config.profile)).ok()?;
        self.persists.push_back(PersistOp::Clear);
        self.revoke(t)
    }

    /// Queues the revocation of a token set's refresh token (else its
    /// access token) when a `revocationUrl` is set.
    fn revoke(&mut self, t: TokenSet) -> Option<RequestId> {
        let Profile::OAuth2(p) = &self.config.profile else {
            return None;
        };
        let req = match &t.refresh_token {
            Some(rt) => request::revocation(p, rt.secret(), "refresh_token"),
            None => request::revocation(p, t.access_token.secret(), "access_token"),
        }?;
        let mut secrets = self.config_secrets();
        secrets.extend(token_secrets(&t));
        let id = self.next_request_id();
        self.revocations.push((id, SentSecrets(secrets)));
        self.transmits.push_back((id, req));
        Some(id)
    }

    /// A resource server refused `token` (RFC 6750 §3.1 `invalid_token`, or
    /// whatever the app counts as a rejection). When it is the held access
    /// token it is no longer handed out, so the next read renews at once,
    /// past `minIntervalMs`. A token the server re-issued less than
    /// `minIntervalMs` ago is kept: asking again would bring the same one
    /// back. Returns whether the token was marked.
    pub fn handle_rejected(&mut self, now: UnixMillis, token: &str) -> bool {
        let min_interval = self.config.refresh.min_interval_ms;
        let Some(t) = self
            .tokens
            .as_mut()
            .filter(|t| t.access_token.secret() == token)
        else {
            return false;
        };
        if t.reissued && now < t.issued_at.plus_millis(min_interval) {
            return false;
        }
        t.rejected = true;
        true
    }

    /// Installs the tokens of a login whose exchange ran outside the
    /// session: an authorization code exchange (RFC 6749 §4.1.3) whose ID
    /// token the caller validated first (OpenID Connect Core §3.1.3.7), so
    /// that a rejected ID token leaves the session untouched. Supersedes an
    /// exchange in flight, as [`Session::login`] does; emits
    /// [`Event::LoggedIn`] and a store write.
    pub fn adopt_login(&mut self, tokens: response::TokenResponse, timing: &Timing) {
        if let Some(old) = self.flight.take() {
            self.transmits.retain(|(i, _)| *i != old.id);
        }
        let single_use =
            matches!(&self.config.profile, Profile::Json(j) if j.single_use_refresh_token);
        let set = TokenSet::from_response(tokens, timing, Renewal::RefreshToken, None, single_use);
        self.install(set);
        self.events.push_back(Event::LoggedIn);
    }

    // ---- inputs --------------------------------------------------------

    /// Feeds the response to request `id`. Stale ids are ignored.
    pub fn handle_response(&mut self, now: UnixMillis, id: RequestId, resp: &HttpResponse) {
        if let Some(secrets) = self.take_revocation(id) {
            let event = match response::parse_revocation_response(resp, now) {
                Ok(()) => Event::Revoked,
                Err(mut error) => {
                    error.scrub(&secrets.as_strs());
                    Event::RevocationFailed { error }
                }
            };
            self.events.push_back(event);
            return;
        }
        let Some(flight) = self.take_flight(id) else {
            return;
        };
        match response::parse_token_response(&self.config.profile, resp, now) {
            Ok(tr) => {
                let timing = Timing {
                    sent_at: flight.sent_at,
                    received_at: now,
                    server_date: response::server_date(resp),
                };
                self.accept(&flight, tr, &timing);
            }
            Err(error) => {
                let retry_after =
                    response::retry_after(resp, now, self.config.refresh.retry_after_max_ms);
                self.fail(now, &flight, error, retry_after);
            }
        }
    }

    /// Feeds a transport failure for request `id`. Stale ids are ignored.
    pub fn handle_transport_error(&mut self, now: UnixMillis, id: RequestId, err: TransportError) {
        if self.take_revocation(id).is_some() {
            self.events
                .push_back(Event::RevocationFailed { error: err.into() });
            return;
        }
        if let Some(flight) = self.take_flight(id) {
            self.fail(now, &flight, err.into(), None);
        }
    }

    /// Acts on timers: a due refresh or retry, an expired refresh token, an
    /// expired access token that nothing can renew. Spurious calls no-op.
    pub fn handle_timeout(&mut self, now: UnixMillis) {
        if self.flight.is_some() || self.status != Status::Active {
            return;
        }
        let Some(t) = &self.tokens else { return };
        if t.refresh_expires_at.is_some_and(|at| at <= now) {
            self.end(EndReason::RefreshTokenExpired);
        } else if !t.renewable() {
            if !expiry::is_fresh(now, t.expires_at) {
                self.end(EndReason::AccessTokenExpired);
            }
        } else if self.renew_at().is_some_and(|at| at <= now) {
            // Errors here (e.g. RetryLater) leave the timer to a later call.
            let _ = self.refresh(now);
        }
    }

    /// Adopts a stored session (`None`: the store is empty), e.g. at start-up
    /// or after another context refreshed. Unreadable text is an error and
    /// changes nothing. An empty store while active means another context
    /// logged out or ended the session.
    pub fn handle_restored(&mut self, now: UnixMillis, stored: Option<&str>) -> Result<(), Error> {
        let Some(text) = stored else {
            if self.status == Status::Active {
                self.tokens = None;
                self.retry = None;
                self.flight = None;
                self.status = Status::Ended(EndReason::ClearedElsewhere);
                self.events.push_back(Event::SessionEnded {
                    reason: EndReason::ClearedElsewhere,
                });
            }
            return Ok(());
        };
        if self.logging_out {
            // A refresh that finished elsewhere after this logout: the
            // logout clears and revokes it (`logout_stored`).
            return Ok(());
        }
        let loaded = persist::load(text, Owner::of(&self.config.profile))?;
        if self.tokens.as_ref().is_some_and(|t| t.same_tokens(&loaded)) {
            return Ok(());
        }
        self.tokens = Some(loaded);
        self.status = Status::Active;
        self.retry = None;
        self.events.push_back(Event::Restored);
        if self
            .tokens
            .as_ref()
            .is_some_and(|t| t.refresh_expires_at.is_some_and(|at| at <= now))
        {
            self.end(EndReason::RefreshTokenExpired);
        }
        Ok(())
    }

    // ---- outputs -------------------------------------------------------

    /// The next request to send.
    pub fn poll_transmit(&mut self) -> Option<(RequestId, HttpRequest)> {
        self.transmits.pop_front()
    }

    /// The next change for the token store.
    pub fn poll_persist(&mut self) -> Option<PersistOp> {
        self.persists.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] should next run: a refresh or retry,
    /// the refresh token's expiry, or (when nothing can renew) the access
    /// token's. `None` while an exchange is in flight or without a session.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<UnixMillis> {
        if self.flight.is_some() || self.status != Status::Active {
            return None;
        }
        let t = self.tokens.as_ref()?;
        let main = if t.renewable() {
            self.renew_at()
        } else {
            t.expires_at
        };
        [main, t.refresh_expires_at].into_iter().flatten().min()
    }

    /// The access token if it is fresh at `now` (unknown expiry counts as
    /// fresh; `expires_in: 0` never does).
    #[must_use]
    pub fn access_token(&self, now: UnixMillis) -> Option<&AccessToken> {
        let t = self.tokens.as_ref()?;
        (self.status == Status::Active && !t.rejected && expiry::is_fresh(now, t.expires_at))
            .then_some(&t.access_token)
    }

    /// The access token however old, e.g. to hand the single caller that
    /// waited for an exchange a token that expires at once.
    #[must_use]
    pub fn current_access_token(&self) -> Option<&AccessToken> {
        self.tokens
            .as_ref()
            .filter(|_| self.status == Status::Active)
            .map(|t| &t.access_token)
    }

    /// Whether a refresh is due at `now` (the proactive time has passed, or
    /// the token is no longer fresh or was rejected) and possible.
    #[must_use]
    pub fn refresh_due(&self, now: UnixMillis) -> bool {
        self.status == Status::Active
            && self.tokens.as_ref().is_some_and(|t| {
                t.renewable()
                    && (t.rejected
                        || !expiry::is_fresh(now, t.expires_at)
                        || self.renew_at().is_some_and(|at| at <= now))
            })
    }

    /// Until when the held access token may be used without a refresh: the
    /// earlier of its expiry and its refresh time (`UnixMillis(u64::MAX)`
    /// when neither is known). `None` without an active session, or once the
    /// token was rejected.
    #[must_use]
    pub fn fresh_until(&self) -> Option<UnixMillis> {
        let t = self
            .tokens
            .as_ref()
            .filter(|t| self.status == Status::Active && !t.rejected)?;
        let due = if t.renewable() { self.renew_at() } else { None };
        Some(
            [t.expires_at, due]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(UnixMillis(u64::MAX)),
        )
    }

    /// When the next attempt after a failure is due, during backoff.
    #[must_use]
    pub fn retry_at(&self) -> Option<UnixMillis> {
        self.retry.map(|r| r.at)
    }

    /// Whether a login or refresh is in flight.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.flight.is_some()
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> Status {
        self.status
    }

    /// The tokens held, if any.
    #[must_use]
    pub fn tokens(&self) -> Option<&TokenSet> {
        self.tokens.as_ref()
    }

    /// A secret-free view for the app.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let t = self.tokens.as_ref();
        let (status, ended_reason) = match self.status {
            Status::LoggedOut => ("loggedOut", None),
            Status::Active => ("active", None),
            Status::Ended(r) => ("ended", Some(r.as_str())),
        };
        Snapshot {
            status,
            ended_reason,
            busy: self.flight.is_some(),
            expires_at: t.and_then(|t| t.expires_at).map(|e| e.0),
            refresh_expires_at: t.and_then(|t| t.refresh_expires_at).map(|e| e.0),
            refresh_at: t
                .filter(|t| self.status == Status::Active && t.renewable())
                .and_then(|_| self.renew_at())
                .map(|e| e.0),
            scope: t.and_then(|t| t.scope.clone()),
            claims: t.and_then(|t| t.claims.clone()).map(Value::Object),
        }
    }

    // ---- internals -----------------------------------------------------

    fn next_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn start(
        &mut self,
        now: UnixMillis,
        kind: FlightKind,
        req: HttpRequest,
        sent_secrets: Vec<String>,
    ) -> RequestId {
        let id = self.next_request_id();
        // A superseded request may still be queued: drop it unsent.
        if let Some(old) = self.flight.take() {
            self.transmits.retain(|(i, _)| *i != old.id);
        }
        self.flight = Some(Flight {
            id,
            kind,
            sent_at: now,
            sent_secrets: SentSecrets(sent_secrets),
        });
        self.transmits.push_back((id, req));
        id
    }

    /// The configured secrets (client secret, header values such as API
    /// keys), scrubbed from any server text that echoes them.
    fn config_secrets(&self) -> Vec<String> {
        let (fixed, api): (Vec<String>, _) = match &self.config.profile {
            Profile::OAuth2(p) => (
                p.client_secret
                    .iter()
                    .map(|s| s.secret().to_owned())
                    .collect(),
                &p.api_headers,
            ),
            Profile::Json(p) => (p.headers.0.values().cloned().collect(), &p.api_headers),
        };
        fixed.into_iter().chain(api.0.values().cloned()).collect()
    }

    fn take_flight(&mut self, id: RequestId) -> Option<Flight> {
        if self.flight.as_ref().is_some_and(|f| f.id == id) {
            self.flight.take()
        } else {
            None
        }
    }

    fn take_revocation(&mut self, id: RequestId) -> Option<SentSecrets> {
        let i = self.revocations.iter().position(|(r, _)| *r == id)?;
        Some(self.revocations.remove(i).1)
    }

    /// The proactive refresh time: the retry time during backoff, else the
    /// earlier of the access and refresh tokens' refresh-ahead times. A
    /// re-issued access token is renewed at its expiry, not ahead of it:
    /// until then the server hands the same token back.
    fn renew_at(&self) -> Option<UnixMillis> {
        if let Some(r) = self.retry {
            return Some(r.at);
        }
        let t = self.tokens.as_ref()?;
        let p = &self.config.refresh;
        let access = t.expires_at.and_then(|e| {
            if t.reissued {
                Some(e)
            } else {
                expiry::refresh_at(p, t.issued_at, e, self.jitter)
            }
        });
        let refresh = t
            .refresh_expires_at
            .and_then(|e| expiry::refresh_at(p, t.issued_at, e, self.jitter));
        [access, refresh].into_iter().flatten().min()
    }

    fn accept(&mut self, flight: &Flight, tr: response::TokenResponse, timing: &Timing) {
        let single_use =
            matches!(&self.config.profile, Profile::Json(j) if j.single_use_refresh_token);
        match &flight.kind {
            FlightKind::Login(renewal) => {
                let set = TokenSet::from_response(tr, timing, *renewal, None, single_use);
                self.install(set);
                self.events.push_back(Event::LoggedIn);
            }
            FlightKind::Refresh(sent) => {
                let Some(prev) = self.tokens.as_ref() else {
                    return;
                };
                let set = TokenSet::from_response(tr, timing, prev.renewal, Some(prev), single_use);
                let rotated = set.refresh_token.is_some()
                    && set.refresh_token.as_ref().map(RefreshToken::secret)
                        != sent.as_ref().map(RefreshToken::secret);
                self.install(set);
                self.events.push_back(Event::Refreshed { rotated });
            }
        }
    }

    fn install(&mut self, set: TokenSet) {
        self.persists.push_back(PersistOp::Save(persist::save(
            &set,
            Owner::of(&self.config.profile),
        )));
        self.tokens = Some(set);
        self.status = Status::Active;
        self.logging_out = false;
        self.retry = None;
    }

    fn fail(
        &mut self,
        now: UnixMillis,
        flight: &Flight,
        mut error: Error,
        retry_after: Option<u64>,
    ) {
        // What was sent, and what is held (a server may echo either).
        let held = self.tokens.as_ref().map(token_secrets).unwrap_or_default();
        let mut secrets = flight.sent_secrets.as_strs();
        secrets.extend(held.iter().map(String::as_str));
        error.scrub(&secrets);
        let FlightKind::Refresh(sent) = &flight.kind else {
            self.events.push_back(Event::LoginFailed { error });
            return;
        };
        // Another context rotated the tokens meanwhile: this failure is
        // about a refresh token we no longer hold.
        let current = self.tokens.as_ref().and_then(|t| t.refresh_token.as_ref());
        if sent.as_ref().map(RefreshToken::secret) != current.map(RefreshToken::secret) {
            return;
        }
        let terminal = match (&error, error.status()) {
            (Error::OAuth { error: code, .. }, _) if code == "invalid_grant" => {
                Some(EndReason::InvalidGrant)
            }
            (_, Some(400 | 401)) => Some(EndReason::Rejected),
            _ => None,
        };
        let transient = error.is_transient();
        if let Some(reason) = terminal {
            self.events.push_back(Event::RefreshFailed {
                error,
                transient,
                retry_in_ms: None,
            });
            self.end(reason);
            return;
        }
        let attempt = self.retry.map_or(1, |r| r.attempt.saturating_add(1));
        let p = &self.config.refresh;
        let delay = retry_after.map_or_else(
            || expiry::backoff_delay(p, attempt, self.jitter),
            |ra| ra.max(p.backoff_base_ms),
        );
        self.retry = Some(Retry {
            at: now.plus_millis(delay),
            attempt,
        });
        self.events.push_back(Event::RefreshFailed {
            error,
            transient,
            retry_in_ms: Some(delay),
        });
    }

    /// Ends an active session once: forget tokens, clear storage, emit.
    fn end(&mut self, reason: EndReason) {
        if self.status != Status::Active {
            return;
        }
        self.tokens = None;
        self.retry = None;
        self.flight = None;
        self.status = Status::Ended(reason);
        self.persists.push_back(PersistOp::Clear);
        self.events.push_back(Event::SessionEnded { reason });
    }
}
