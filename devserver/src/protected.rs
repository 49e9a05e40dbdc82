//! The gate in front of every protected API: checks the Bearer token,
//! counts the outcome, and answers a refusal with 401 and an RFC 6750
//! challenge, or with a bare 403 when `api_reject_status` is 403.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::oauth::{Bearer, bearer, bearer_challenge};
use crate::state::AppState;
use crate::stats::Protected;
use crate::store::{AccessError, AccessRecord, Style};

/// Why a call to a protected API is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No Bearer token at all.
    Missing,
    /// `Authorization: Bearer` with nothing usable after it.
    Malformed,
    /// A token of this server, past its expiry.
    Expired,
    /// A token of this server, revoked (or its session was).
    Revoked,
    /// Not a token this server issued for the API.
    Unknown,
}

impl Refusal {
    fn counted_as(self) -> Protected {
        match self {
            Self::Missing => Protected::Missing,
            Self::Expired => Protected::Expired,
            Self::Malformed | Self::Revoked | Self::Unknown => Protected::Invalid,
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Missing => "Bearer token required",
            Self::Malformed => "Malformed bearer token",
            Self::Expired => "The access token expired",
            Self::Revoked => "The access token was revoked",
            Self::Unknown => "The access token is invalid",
        }
    }
}

/// Checks the Bearer token of a call to an API of `style` (and `realm`)
/// against the offset clock, in milliseconds. Counts nothing.
pub(crate) fn check(
    st: &AppState,
    headers: &HeaderMap,
    style: Style,
    realm: Option<&str>,
) -> Result<AccessRecord, Refusal> {
    let token = match bearer(headers) {
        Bearer::Token(t) => t,
        Bearer::Missing => return Err(Refusal::Missing),
        Bearer::Malformed => return Err(Refusal::Malformed),
    };
    let now_ms = st.now_ms();
    let result = st.store().check_access(token, style, realm, now_ms);
    result.map_err(|e| match e {
        AccessError::Expired => Refusal::Expired,
        AccessError::Revoked => Refusal::Revoked,
        AccessError::Unknown => Refusal::Unknown,
    })
}

/// Counts the outcome of [`check`] in `protected_calls`.
pub(crate) fn count(st: &AppState, result: &Result<AccessRecord, Refusal>) {
    let kind = match result {
        Ok(_) => Protected::Ok,
        Err(r) => r.counted_as(),
    };
    st.stats().protected(kind);
}

/// The answer to a refused call.
///
/// `api_reject_status` 403 answers every refused token with a bare 403
/// (no `WWW-Authenticate`, no body), as ASP.NET Core's authorization
/// middleware does when another scheme of the policy authenticated the
/// call: it forbids instead of challenging, and JwtBearer's forbid only
/// sets the status. A call with no token at all is forbidden only when
/// `other_scheme_ok` (LGDX's API key); otherwise it gets the challenge.
/// With 401, and for the challenge: RFC 6750 §3.1, `error="invalid_token"`
/// for a token refused, no error code when there was none.
pub(crate) fn refuse(
    st: &AppState,
    refusal: Refusal,
    challenge_realm: &str,
    other_scheme_ok: bool,
) -> Response {
    let forbid = st.settings().api_reject_status == StatusCode::FORBIDDEN.as_u16()
        && (refusal != Refusal::Missing || other_scheme_ok);
    if forbid {
        return StatusCode::FORBIDDEN.into_response();
    }
    challenge(refusal, challenge_realm)
}

/// The 401 RFC 6750 challenge for `refusal`, whatever the settings.
pub(crate) fn challenge(refusal: Refusal, challenge_realm: &str) -> Response {
    match refusal {
        Refusal::Missing => bearer_challenge(challenge_realm, None),
        r => bearer_challenge(challenge_realm, Some(("invalid_token", r.description()))),
    }
}

/// The whole gate for an API with Bearer as its only scheme: check, count,
/// and the refusal answer.
pub(crate) fn authorize(
    st: &AppState,
    headers: &HeaderMap,
    style: Style,
    realm: Option<&str>,
    challenge_realm: &str,
) -> Result<AccessRecord, Response> {
    let result = check(st, headers, style, realm);
    count(st, &result);
    result.map_err(|r| refuse(st, r, challenge_realm, false))
}
