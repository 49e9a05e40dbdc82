//! Sessions ("token families"), refresh tokens, access tokens,
//! authorization codes, device codes (RFC 8628) and pushed authorization
//! requests (RFC 9126), all in memory. Token expiries are server
//! milliseconds, other times server seconds (both on the offset clock).
//! Tokens are keys here and never leave through the admin API.

use std::collections::HashMap;

use serde::Serialize;

use crate::expiry::is_expired;
use crate::oauth::Form;

/// What RFC 8628 §3.5 makes a `slow_down` add to the polling interval.
const SLOW_DOWN_SECS: u64 = 5;

/// One of the four emulated API styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Style {
    /// LGDX-style custom JSON (`/Identity/Auth/*`).
    Lgdx,
    /// Keycloak-style OIDC (`/realms/{realm}/...`).
    Kc,
    /// Identity-Manager-style client credentials (`/im/...`).
    Im,
    /// TNCO-style client credentials with Basic auth (`/tnco/...`).
    Tnco,
}

impl Style {
    /// Short name used in endpoint names and stats.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Lgdx => "lgdx",
            Self::Kc => "kc",
            Self::Im => "im",
            Self::Tnco => "tnco",
        }
    }
}

/// A login session: every token refreshed from one login shares it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Family {
    pub(crate) id: String,
    pub(crate) style: Style,
    pub(crate) subject: String,
    pub(crate) username: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) realm: Option<String>,
    pub(crate) scope: String,
    #[serde(skip)]
    pub(crate) nonce: Option<String>,
    pub(crate) auth_time: i64,
    pub(crate) created_at: i64,
    pub(crate) refreshes: u64,
    pub(crate) revoked: bool,
}

#[derive(Debug, Clone)]
struct RefreshRecord {
    family: String,
    /// Server milliseconds.
    expires_at_ms: i64,
    used: bool,
}

/// What the server knows of an access token it issued.
#[derive(Debug, Clone)]
pub(crate) struct AccessRecord {
    pub(crate) style: Style,
    pub(crate) family: Option<String>,
    pub(crate) subject: String,
    pub(crate) username: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) realm: Option<String>,
    /// Server milliseconds; for a JWT, its `exp` × 1000.
    pub(crate) expires_at_ms: i64,
    pub(crate) revoked: bool,
    /// The RFC 7638 thumbprint a DPoP-bound token is bound to (its `cnf.jkt`).
    pub(crate) jkt: Option<String>,
}

/// An authorization code waiting for its exchange.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) family: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    /// RFC 9449 §10: the thumbprint the exchange's DPoP proof key must have.
    pub(crate) dpop_jkt: Option<String>,
    pub(crate) realm: String,
    pub(crate) expires_at: i64,
    pub(crate) used: bool,
}

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    /// The user has not decided yet.
    Pending,
    /// The user approved: the tokens belong to this session.
    Approved(String),
    /// The user denied.
    Denied,
}

/// A device authorization (RFC 8628 §3.2), waiting for its user and
/// polled by its client.
#[derive(Debug, Clone)]
pub(crate) struct DeviceAuth {
    /// Eight letters, without the dash it is displayed with.
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) realm: String,
    pub(crate) scope: String,
    pub(crate) nonce: Option<String>,
    /// Server seconds: Keycloak's `OAuth2DeviceCodeModel.isExpired()`
    /// compares whole seconds.
    pub(crate) expires_at: i64,
    /// Server milliseconds from which the code is unknown.
    pub(crate) forget_at_ms: i64,
    /// Seconds the client must leave between two polls.
    pub(crate) interval: u64,
    /// Server milliseconds of the last poll.
    pub(crate) last_poll_ms: Option<i64>,
    pub(crate) status: DeviceStatus,
}

/// Why a user code cannot be decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceLookup {
    /// Never issued, already decided, or forgotten.
    Unknown,
    /// Past its device code's expiry.
    Expired,
}

/// What a poll of the token endpoint with a device code gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Unknown, spent, forgotten, or issued to another client or realm.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Sooner than the interval after the previous poll.
    SlowDown,
    /// The user denied.
    Denied,
    /// The user has not decided yet.
    Pending,
    /// The user approved in this session; the code is now spent.
    Approved(String),
}

/// A pushed authorization request (RFC 9126 §2), waiting for its
/// `request_uri` to come back to the authorization endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Pushed {
    pub(crate) client_id: String,
    pub(crate) realm: String,
    /// The authorization request's parameters (no client secret).
    pub(crate) params: Form,
    /// Server milliseconds.
    pub(crate) expires_at_ms: i64,
}

/// Why a presented access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessError {
    /// Never issued here (or issued for another style/realm).
    Unknown,
    /// Issued here but past its `exp`.
    Expired,
    /// Revoked, or its session was.
    Revoked,
}

/// Why a refresh token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshError {
    /// Never issued here.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Its session was revoked (admin, revocation endpoint or reuse).
    FamilyRevoked,
    /// Already used with rotation on: the session is now revoked.
    Reused,
    /// Issued to another client or user.
    Mismatch,
}

/// All token state.
#[derive(Debug, Default)]
pub(crate) struct Store {
    families: HashMap<String, Family>,
    refresh: HashMap<String, RefreshRecord>,
    access: HashMap<String, AccessRecord>,
    codes: HashMap<String, AuthCode>,
    /// Device code → its authorization.
    devices: HashMap<String, DeviceAuth>,
    /// User code → device code, while the user code may be decided on.
    user_codes: HashMap<String, String>,
    /// `request_uri` → the pushed request.
    pushed: HashMap<String, Pushed>,
    next_family: u64,
}

impl Store {
    /// Opens a session and returns its id.
    pub(crate) fn new_family(&mut self, mut family: Family) -> String {
        self.next_family += 1;
        let id = format!("{}-{}", family.style.as_str(), self.next_family);
        family.id.clone_from(&id);
        self.families.insert(id.clone(), family);
        id
    }

    pub(crate) fn family(&self, id: &str) -> Option<&Family> {
        self.families.get(id)
    }

    pub(crate) fn families(&self) -> Vec<Family> {
        let mut v: Vec<Family> = self.families.values().cloned().collect();
        v.sort_by_key(|f| (f.created_at, f.id.clone()));
        v
    }

    pub(crate) fn add_refresh(&mut self, token: String, family: &str, expires_at_ms: i64) {
        self.refresh.insert(
            token,
            RefreshRecord {
                family: family.to_string(),
                expires_at_ms,
                used: false,
            },
        );
    }

    pub(crate) fn add_access(&mut self, token: String, record: AccessRecord) {
        self.access.insert(token, record);
    }

    /// Looks an access token up for `style` (and `realm`, where the style has
    /// realms); expired (by the style's rule), revoked and revoked-session
    /// tokens are refused.
    pub(crate) fn check_access(
        &self,
        token: &str,
        style: Style,
        realm: Option<&str>,
        now_ms: i64,
    ) -> Result<AccessRecord, AccessError> {
        let rec = self.access.get(token).ok_or(AccessError::Unknown)?;
        if rec.style != style || (realm.is_some() && rec.realm.as_deref() != realm) {
            return Err(AccessError::Unknown);
        }
        let family_revoked = rec
            .family
            .as_ref()
            .and_then(|f| self.families.get(f))
            .is_some_and(|f| f.revoked);
        if rec.revoked || family_revoked {
            return Err(AccessError::Revoked);
        }
        if is_expired(style, rec.expires_at_ms, now_ms) {
            return Err(AccessError::Expired);
        }
        Ok(rec.clone())
    }

    /// The unexpired, unrevoked session-less token of `style` issued to
    /// `client_id` (the latest-expiring one, should there be several), with
    /// its expiry: what Spring's `TokenStore.getAccessToken(authentication)`
    /// finds for a client-credentials request.
    pub(crate) fn live_client_token(
        &self,
        style: Style,
        client_id: &str,
        now_ms: i64,
    ) -> Option<(String, i64)> {
        self.access
            .iter()
            .filter(|(_, a)| {
                a.style == style
                    && a.family.is_none()
                    && !a.revoked
                    && a.client_id.as_deref() == Some(client_id)
                    && !is_expired(style, a.expires_at_ms, now_ms)
            })
            .max_by_key(|(_, a)| a.expires_at_ms)
            .map(|(t, a)| (t.clone(), a.expires_at_ms))
    }

    /// Spends a refresh token of `style`. `rotate`: a used token is refused
    /// and revokes its session (reuse detection). `owner` checks the session
    /// belongs to the presenting client (Keycloak) or user (LGDX).
    pub(crate) fn use_refresh(
        &mut self,
        token: &str,
        style: Style,
        rotate: bool,
        owner: &dyn Fn(&Family) -> bool,
        now_ms: i64,
    ) -> Result<Family, RefreshError> {
        let rec = self.refresh.get(token).ok_or(RefreshError::Unknown)?;
        let fam = self
            .families
            .get(&rec.family)
            .ok_or(RefreshError::Unknown)?;
        if fam.style != style {
            return Err(RefreshError::Unknown);
        }
        if is_expired(style, rec.expires_at_ms, now_ms) {
            return Err(RefreshError::Expired);
        }
        if !owner(fam) {
            return Err(RefreshError::Mismatch);
        }
        if fam.revoked {
            return Err(RefreshError::FamilyRevoked);
        }
        let family_id = rec.family.clone();
        if rec.used && rotate {
            self.revoke_family(&family_id);
            return Err(RefreshError::Reused);
        }
        if let Some(r) = self.refresh.get_mut(token) {
            r.used = true;
        }
        let fam = self
            .families
            .get_mut(&family_id)
            .ok_or(RefreshError::Unknown)?;
        fam.refreshes += 1;
        Ok(fam.clone())
    }

    /// Revokes a session; `true` if it existed and was live.
    pub(crate) fn revoke_family(&mut self, id: &str) -> bool {
        match self.families.get_mut(id) {
            Some(f) if !f.revoked => {
                f.revoked = true;
                true
            }
            _ => false,
        }
    }

    /// The session a refresh or access token belongs to.
    pub(crate) fn family_of_token(&self, token: &str) -> Option<String> {
        self.refresh
            .get(token)
            .map(|r| r.family.clone())
            .or_else(|| self.access.get(token).and_then(|a| a.family.clone()))
    }

    /// Marks one access token revoked; `true` if it was known.
    pub(crate) fn revoke_access(&mut self, token: &str) -> bool {
        self.access
            .get_mut(token)
            .map(|a| a.revoked = true)
            .is_some()
    }

    pub(crate) fn refresh_family(&self, token: &str) -> Option<&Family> {
        self.refresh
            .get(token)
            .and_then(|r| self.families.get(&r.family))
    }

    pub(crate) fn access_record(&self, token: &str) -> Option<&AccessRecord> {
        self.access.get(token)
    }

    /// Revokes every session matching `pred`; returns how many.
    pub(crate) fn revoke_where(&mut self, pred: impl Fn(&Family) -> bool) -> usize {
        let mut n = 0;
        for f in self.families.values_mut() {
            if !f.revoked && pred(f) {
                f.revoked = true;
                n += 1;
            }
        }
        n
    }

    /// Revokes every client-credentials access token (they have no
    /// session), of one style or of all.
    pub(crate) fn revoke_sessionless(&mut self, style: Option<&str>) -> usize {
        let mut n = 0;
        for a in self.access.values_mut() {
            let style_ok = style.is_none_or(|s| a.style.as_str() == s);
            if a.family.is_none() && !a.revoked && style_ok {
                a.revoked = true;
                n += 1;
            }
        }
        n
    }

    pub(crate) fn add_code(&mut self, code: String, record: AuthCode) {
        self.codes.insert(code, record);
    }

    /// Takes an authorization code. A second use fails and revokes the
    /// session the first use created (RFC 6749 §4.1.2).
    pub(crate) fn use_code(&mut self, code: &str, now: i64) -> Option<AuthCode> {
        let rec = self.codes.get_mut(code)?;
        if rec.used {
            let family = rec.family.clone();
            self.revoke_family(&family);
            return None;
        }
        rec.used = true;
        if now >= rec.expires_at {
            return None;
        }
        Some(rec.clone())
    }

    /// Records a device authorization under its device code.
    pub(crate) fn add_device(&mut self, device_code: String, auth: DeviceAuth) {
        self.user_codes
            .insert(auth.user_code.clone(), device_code.clone());
        self.devices.insert(device_code, auth);
    }

    /// The undecided device authorization with this user code.
    pub(crate) fn pending_device(
        &self,
        user_code: &str,
        now_ms: i64,
    ) -> Result<DeviceAuth, DeviceLookup> {
        let d = self
            .user_codes
            .get(user_code)
            .and_then(|code| self.devices.get(code))
            .filter(|d| d.status == DeviceStatus::Pending && now_ms < d.forget_at_ms)
            .ok_or(DeviceLookup::Unknown)?;
        if now_ms.div_euclid(1000) > d.expires_at {
            return Err(DeviceLookup::Expired);
        }
        Ok(d.clone())
    }

    /// Records the user's decision on a pending device authorization; its
    /// user code stops working. `false` if it was not pending.
    pub(crate) fn settle_device(&mut self, user_code: &str, status: DeviceStatus) -> bool {
        let Some(code) = self.user_codes.remove(user_code) else {
            return false;
        };
        match self.devices.get_mut(&code) {
            Some(d) if d.status == DeviceStatus::Pending => {
                d.status = status;
                true
            }
            _ => false,
        }
    }

    /// A poll by `client_id` in `realm`, checked in Keycloak's order
    /// (`DeviceGrantType.oauth2DeviceFlow`): unknown, expired, too soon,
    /// denied, pending, approved. Every poll of a live code counts as the
    /// previous poll of the next one, and one sooner than the interval
    /// after it lengthens the interval by 5 s (RFC 8628 §3.5). The poll
    /// that finds the code approved spends it.
    pub(crate) fn poll_device(
        &mut self,
        device_code: &str,
        client_id: &str,
        realm: &str,
        now_ms: i64,
    ) -> Poll {
        let Some(d) = self.devices.get_mut(device_code) else {
            return Poll::Invalid;
        };
        if d.client_id != client_id || d.realm != realm || now_ms >= d.forget_at_ms {
            return Poll::Invalid;
        }
        if now_ms.div_euclid(1000) > d.expires_at {
            return Poll::Expired;
        }
        let wait_ms = i64::try_from(d.interval)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let too_soon = d
            .last_poll_ms
            .is_some_and(|last| now_ms.saturating_sub(last) < wait_ms);
        d.last_poll_ms = Some(now_ms);
        if too_soon {
            d.interval = d.interval.saturating_add(SLOW_DOWN_SECS);
            return Poll::SlowDown;
        }
        match d.status.clone() {
            DeviceStatus::Pending => Poll::Pending,
            DeviceStatus::Denied => Poll::Denied,
            DeviceStatus::Approved(family) => {
                let user_code = d.user_code.clone();
                self.devices.remove(device_code);
                self.user_codes.remove(&user_code);
                Poll::Approved(family)
            }
        }
    }

    /// Records a pushed authorization request under its `request_uri`.
    pub(crate) fn add_pushed(&mut self, request_uri: String, pushed: Pushed) {
        self.pushed.insert(request_uri, pushed);
    }

    /// The parameters pushed under `request_uri` by `client_id` in `realm`.
    /// One that is unknown, expired, or another client's or realm's is
    /// refused and forgotten, as Keycloak takes it out of its single-use
    /// store on the first look.
    pub(crate) fn pushed(
        &mut self,
        request_uri: &str,
        client_id: Option<&str>,
        realm: &str,
        now_ms: i64,
    ) -> Option<Form> {
        let p = self.pushed.get(request_uri)?;
        if now_ms < p.expires_at_ms && client_id == Some(p.client_id.as_str()) && p.realm == realm {
            return Some(p.params.clone());
        }
        self.pushed.remove(request_uri);
        None
    }

    /// Spends a `request_uri`; `false` if it was spent already.
    pub(crate) fn take_pushed(&mut self, request_uri: &str) -> bool {
        self.pushed.remove(request_uri).is_some()
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Drops records an hour past expiry so a long demo run stays small.
    pub(crate) fn prune(&mut self, now_ms: i64) {
        const GRACE_S: i64 = 3600;
        const GRACE_MS: i64 = GRACE_S * 1000;
        let now_s = now_ms.div_euclid(1000);
        self.access
            .retain(|_, a| a.expires_at_ms.saturating_add(GRACE_MS) > now_ms);
        self.refresh
            .retain(|_, r| r.expires_at_ms.saturating_add(GRACE_MS) > now_ms);
        self.codes
            .retain(|_, c| c.expires_at.saturating_add(GRACE_S) > now_s);
        self.devices.retain(|_, d| d.forget_at_ms > now_ms);
        let devices = &self.devices;
        self.user_codes.retain(|_, code| devices.contains_key(code));
        self.pushed.retain(|_, p| p.expires_at_ms > now_ms);
    }
}
