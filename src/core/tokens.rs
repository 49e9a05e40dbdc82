//! The token set a session holds: tokens plus absolute expiries.

use super::expiry;
use super::response::{ExpiryHint, TokenResponse};
use super::secret::{AccessToken, RefreshToken};
use super::time::UnixMillis;
use serde_json::{Map, Value};

/// How a session renews its access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// With its refresh token (RFC 6749 §6), while it has one.
    RefreshToken,
    /// By running the client credentials grant again (RFC 6749 §4.4.3: no
    /// refresh token is issued).
    ClientCredentials,
}

/// When a response was obtained, for expiry and skew estimates.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Local time the request was sent.
    pub sent_at: UnixMillis,
    /// Local time the response arrived.
    pub received_at: UnixMillis,
    /// The server's `Date` header, if readable.
    pub server_date: Option<UnixMillis>,
}

/// Tokens and their absolute local expiries.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub(crate) access_token: AccessToken,
    pub(crate) refresh_token: Option<RefreshToken>,
    pub(crate) scope: Option<String>,
    pub(crate) issued_at: UnixMillis,
    pub(crate) expires_at: Option<UnixMillis>,
    pub(crate) refresh_expires_at: Option<UnixMillis>,
    pub(crate) renewal: Renewal,
    pub(crate) claims: Option<Map<String, Value>>,
    /// The server handed back the access token it had issued before (as
    /// Spring Security OAuth does while a token is unexpired): it keeps
    /// doing so until the token's own expiry, so asking again sooner is
    /// useless.
    pub(crate) reissued: bool,
    /// The latest instant the server's own expiry can be, given how it
    /// truncates lifetimes (not stored: a restored set starts afresh).
    pub(crate) expires_by: Option<UnixMillis>,
    /// A resource server refused the access token: it is not handed out
    /// again, and the next read renews at once.
    pub(crate) rejected: bool,
}

impl TokenSet {
    /// Builds a token set from a validated response.
    ///
    /// - A lifetime (`expires_in`, or a JSON profile's lifetime in any
    ///   unit) counts from `sent_at` (skew-immune, conservative). An
    ///   absolute expiry (a JWT `exp` or a JSON profile's epoch or RFC 3339
    ///   member) is in the server's clock and is shifted by the clock offset
    ///   estimated from the `Date` header, else from the JWT `iat`.
    /// - A refresh token lifetime of 0 (`refresh_expires_in: 0`) means "no
    ///   fixed maximum" (Keycloak offline sessions).
    /// - `previous` carries over what a refresh answer may omit: the scope,
    ///   the ID token and, unless `single_use`, the refresh token with its
    ///   expiry (RFC 6749 §6). Client credentials sessions keep no refresh
    ///   token (RFC 6749 §4.4.3).
    #[must_use]
    pub fn from_response(
        resp: TokenResponse,
        timing: &Timing,
        renewal: Renewal,
        previous: Option<&TokenSet>,
        single_use: bool,
    ) -> Self {
        let peeked = resp.access_claims;
        let offset = timing
            .server_date
            .map(|d| d.plus_millis(500))
            .or_else(|| peeked.as_ref().and_then(|c| c.issued_at))
            .map_or(0, |server| {
                expiry::clock_offset(timing.sent_at, timing.received_at, server)
            });
        let reissued =
            previous.is_some_and(|p| p.access_token.secret() == resp.access_token.secret());
        // A lifetime in whole units is truncated: the token expires
        // somewhere in [sent + n units, received + (n + 1) units). A new
        // token is kept to the earliest; a re-issued one to the latest,
        // since the server hands the same token back until then. A lifetime
        // of 0 means "under a unit", not "expired": it is kept to the
        // latest too. Every answer for a re-issued token bounds the same
        // server expiry, so its latest is kept below the earlier answers'.
        let (expires_at, expires_by) = match resp.expires {
            Some(ExpiryHint::In { count, unit_ms }) => {
                let earliest = expiry::expires_at(timing.sent_at, count, unit_ms);
                let latest =
                    expiry::expires_at(timing.received_at, count.saturating_add(1), unit_ms);
                let bound = previous
                    .filter(|_| reissued)
                    .and_then(|p| p.expires_by)
                    // A bound this answer contradicts (the token outlived
                    // it) says nothing.
                    .filter(|b| *b > earliest)
                    .map_or(latest, |b| b.min(latest));
                let at = if reissued || count == 0 {
                    bound.max(earliest)
                } else {
                    earliest
                };
                (Some(at), Some(bound))
            }
            Some(ExpiryHint::At(at) | ExpiryHint::Jwt(at)) => {
                let at = expiry::to_local(at, offset);
                (Some(at), Some(at))
            }
            None => (None, None),
        };
        let fresh_rt = match renewal {
            Renewal::ClientCredentials => None,
            Renewal::RefreshToken => resp.refresh_token,
        };
        let (refresh_token, refresh_expires_at) = match (fresh_rt, previous) {
            (Some(rt), _) => {
                let at = match resp.refresh_expires {
                    None | Some(ExpiryHint::In { count: 0, .. }) => None,
                    Some(ExpiryHint::In { count, unit_ms }) => {
                        Some(expiry::expires_at(timing.sent_at, count, unit_ms))
                    }
                    Some(ExpiryHint::At(at) | ExpiryHint::Jwt(at)) => {
                        Some(expiry::to_local(at, offset))
                    }
                };
                (Some(rt), at)
            }
            (None, Some(prev)) if !single_use => {
                (prev.refresh_token.clone(), prev.refresh_expires_at)
            }
            (None, _) => (None, None),
        };
        Self {
            access_token: resp.access_token,
            refresh_token,
            scope: resp
                .scope
                .or_else(|| previous.and_then(|p| p.scope.clone())),
            issued_at: timing.received_at,
            expires_at,
            refresh_expires_at,
            renewal,
            claims: peeked.map(|c| c.claims),
            reissued,
            expires_by,
            rejected: false,
        }
    }

    /// Whether this set can be renewed without a login.
    #[must_use]
    pub fn renewable(&self) -> bool {
        self.renewal == Renewal::ClientCredentials || self.refresh_token.is_some()
    }

    /// The access token.
    #[must_use]
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The refresh token, if any.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// Local instant the access token expires (`None`: unknown).
    #[must_use]
    pub fn expires_at(&self) -> Option<UnixMillis> {
        self.expires_at
    }

    /// Local instant the refresh token expires (`None`: unknown or no
    /// fixed maximum).
    #[must_use]
    pub fn refresh_expires_at(&self) -> Option<UnixMillis> {
        self.refresh_expires_at
    }

    /// The granted scope.
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Whether both tokens are byte-identical to `other`'s.
    pub(crate) fn same_tokens(&self, other: &TokenSet) -> bool {
        self.access_token.secret() == other.access_token.secret()
            && self.refresh_token.as_ref().map(RefreshToken::secret)
                == other.refresh_token.as_ref().map(RefreshToken::secret)
    }
}
