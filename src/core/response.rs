//! Responses as plain values, and their validation into tokens or typed
//! errors (RFC 6749 §5.1, §5.2; RFC 6750 §3; RFC 7009 §2.2).
//!
//! Pinned decisions (tested in `tests/catalogue.rs`):
//!
//! - Success is `200` for OAuth (RFC 6749 §5.1) and any `2xx` for the JSON
//!   profile. A `3xx` is an error and is never followed. A token body on a
//!   `4xx` is an error: the status is checked first.
//! - A success needs a JSON `Content-Type` (`application/json` or
//!   `application/*+json`, case-insensitive, parameters allowed). A valid
//!   JSON body labelled `text/plain` is rejected, as oauth2-rs does.
//! - Bodies above [`MAX_BODY_BYTES`] (64 KiB) are rejected; transports should
//!   stop reading there. A leading UTF-8 BOM is skipped (as
//!   `Response.json()` does); invalid UTF-8 is a parse error; `serde_json`'s
//!   recursion limit (128) bounds nesting.
//! - The top level must be an object; a repeated member is rejected
//!   (RFC 6749 §3.2: parameters "MUST NOT be included more than once").
//! - `expires_in` may be a number or a numeric string; it must be finite and
//!   at least 0; fractions are floored (`3600.7` → 3600). A JSON profile's
//!   lifetimes in other units (`"minutes"`) and epoch times
//!   (`"epochSeconds"`, `"epochMillis"`) follow the same rules.
//! - An expiry is read from the first source of the profile's list that the
//!   response has: OAuth 2.0 reads `expires_in`, else the access token's JWT
//!   `exp`; a JSON profile its `expiry` option. `"jwt"` counts as absent when
//!   the token has no readable `exp`. A present access expiry that cannot be
//!   read is an error naming the member; a refresh token's expiry is
//!   advisory, and an unreadable one counts as absent.
//! - An absolute expiry (epoch or RFC 3339, not the JWT's) must lie from
//!   2000-01-01T00:00:00Z through 9999-12-31T23:59:59.999Z, else it is
//!   unreadable: a lifetime or a count of seconds read as a time lands in
//!   1970, one of milliseconds read as seconds beyond the year 50000.
//! - Errors never hold the body or a token: at most a length and a field.

use super::challenge;
use super::claims::{self, UntrustedClaims};
use super::config::{ExpirySource, ExpiryUnit, Profile};
use super::dpop;
use super::error::{self, Error};
use super::httpdate;
use super::secret::{AccessToken, IdToken, RefreshToken};
use super::time::UnixMillis;
use super::timestamp;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// The largest body read, in bytes (64 KiB). Token responses are a few KiB;
/// anything larger is refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An HTTP response as the transport received it (redirects not followed).
#[derive(Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body bytes (the transport may stop at [`MAX_BODY_BYTES`] + 1).
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl HttpResponse {
    /// The first header named `name` (ASCII case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::core::request::find_header(&self.headers, name)
    }
}

/// Why a request produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// The network failed (fetch rejected, DNS, TLS, CORS, offline).
    Network,
    /// The request timed out.
    Timeout,
    /// The caller aborted the request.
    Aborted,
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Network => Self::Network,
            TransportError::Timeout => Self::Timeout,
            TransportError::Aborted => Self::Aborted,
        }
    }
}

/// The earliest absolute expiry read from a member: 2000-01-01T00:00:00Z.
pub const EARLIEST_EXPIRY: UnixMillis = UnixMillis(946_684_800_000);

/// The latest absolute expiry read from a member:
/// 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write.
pub const LATEST_EXPIRY: UnixMillis = UnixMillis(253_402_300_799_999);

/// What a response says about a token's expiry, before it is placed on
/// the local clock ([`crate::core::tokens::TokenSet::from_response`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryHint {
    /// A lifetime of `count` units of `unit_ms` milliseconds, counted from
    /// when the request was sent and truncated to whole units by the
    /// server.
    In {
        /// Whole units (fractions floored).
        count: u64,
        /// The unit's length in milliseconds (1000 for seconds).
        unit_ms: u64,
    },
    /// An absolute instant read from a response member, in the server's
    /// clock.
    At(UnixMillis),
    /// The token's JWT `exp` (RFC 7519 §4.1.4), in the server's clock.
    Jwt(UnixMillis),
}

/// A validated token response (RFC 6749 §5.1), expiries still as the
/// server stated them.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub(crate) access_token: AccessToken,
    pub(crate) refresh_token: Option<RefreshToken>,
    pub(crate) id_token: Option<IdToken>,
    pub(crate) expires: Option<ExpiryHint>,
    pub(crate) refresh_expires: Option<ExpiryHint>,
    pub(crate) scope: Option<String>,
    /// The access token's claims, peeked once here for its expiry, the
    /// clock offset (`iat`) and display.
    pub(crate) access_claims: Option<UntrustedClaims>,
    /// A token exchange's `issued_token_type` (RFC 8693 §2.2.1).
    pub(crate) issued_token_type: Option<String>,
}

impl TokenResponse {
    /// The access token.
    #[must_use]
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    /// The refresh token, if the server issued one.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    /// The OpenID Connect ID token, if any.
    #[must_use]
    pub fn id_token(&self) -> Option<&IdToken> {
        self.id_token.as_ref()
    }
    /// The access token's expiry, from the first source the response has.
    #[must_use]
    pub fn expires(&self) -> Option<ExpiryHint> {
        self.expires
    }
    /// The refresh token's expiry likewise (e.g. Keycloak's
    /// `refresh_expires_in`); a lifetime of 0 means no fixed maximum.
    #[must_use]
    pub fn refresh_expires(&self) -> Option<ExpiryHint> {
        self.refresh_expires
    }
    /// The granted scope (RFC 6749 §3.3); `""` is kept.
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
    /// A token exchange's `issued_token_type` (RFC 8693 §2.2.1).
    #[must_use]
    pub fn issued_token_type(&self) -> Option<&str> {
        self.issued_token_type.as_deref()
    }
}

/// Member names and expiry sources to read, per profile.
struct Names<'a> {
    access_token: &'a str,
    refresh_token: &'a str,
    expiry: Cow<'a, [ExpirySource]>,
    refresh_expiry: Cow<'a, [ExpirySource]>,
    oauth: bool,
    dpop: bool,
}

fn names(profile: &Profile) -> Names<'_> {
    match profile {
        Profile::OAuth2(p) => Names {
            access_token: "access_token",
            refresh_token: "refresh_token",
            expiry: Cow::Owned(ExpirySource::seconds_then_jwt("expires_in")),
            refresh_expiry: Cow::Owned(ExpirySource::seconds_then_jwt("refresh_expires_in")),
            oauth: true,
            dpop: p.dpop,
        },
        Profile::Json(j) => Names {
            access_token: &j.fields.access_token,
            refresh_token: &j.fields.refresh_token,
            expiry: Cow::Borrowed(&j.expiry),
            refresh_expiry: Cow::Borrowed(&j.refresh_expiry),
            oauth: false,
            dpop: false,
        },
    }
}

/// Validates a login or refresh response. `now` only dates `Retry-After`.
pub fn parse_token_response(
    profile: &Profile,
    resp: &HttpResponse,
    now: UnixMillis,
) -> Result<TokenResponse, Error> {
    let n = names(profile);
    let ok = if n.oauth {
        resp.status == 200
    } else {
        (200..300).contains(&resp.status)
    };
    if !ok {
        return Err(error_response(resp, now));
    }
    let map = json_object(resp, true)?;
    if map.get(n.access_token).is_none() {
        if let Some(e) = oauth_error(resp.status, &map) {
            return Err(e); // ER-08: an error body on a 200
        }
    }
    let access_token = token_field(&map, n.access_token)?
        .map(AccessToken::new)
        .ok_or_else(|| Error::invalid(owned(n.access_token), "is required"))?;
    let issued_token_type = match map.get("issued_token_type") {
        None => None,
        Some(Value::String(t)) if !t.is_empty() => Some(t.clone()),
        Some(_) => {
            return Err(Error::invalid(
                "issued_token_type",
                "must be a non-empty string",
            ));
        }
    };
    // RFC 8693 §2.2.1: a token that is not an access token is `N_A`.
    let not_access = issued_token_type
        .as_deref()
        .is_some_and(|t| t != "urn:ietf:params:oauth:token-type:access_token");
    if n.oauth {
        match map.get("token_type") {
            None => return Err(Error::invalid("token_type", "is required")),
            Some(Value::String(t)) if not_access && t == "N_A" => {}
            Some(Value::String(t)) if n.dpop || t.eq_ignore_ascii_case("dpop") => {
                dpop::check_token_type(n.dpop, t)?;
            }
            Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
            Some(Value::String(_)) => {
                return Err(Error::Unsupported {
                    field: "token_type".into(),
                });
            }
            Some(_) => return Err(Error::invalid("token_type", "must be a string")),
        }
    }
    let refresh_token = token_field(&map, n.refresh_token)?.map(RefreshToken::new);
    let access_claims = claims::peek(access_token.secret());
    let expires = expiry(
        &map,
        &n.expiry,
        &|| access_claims.as_ref().and_then(|c| c.expires_at),
        true,
    )?;
    // Advisory (Keycloak): an unreadable value is ignored, not fatal.
    let refresh_expires = expiry(
        &map,
        &n.refresh_expiry,
        &|| {
            let rt = refresh_token.as_ref()?;
            claims::peek(rt.secret())?.expires_at
        },
        false,
    )
    .unwrap_or(None);
    let (scope, id_token) = if n.oauth {
        (
            string_field(&map, "scope")?.map(str::to_owned),
            string_field(&map, "id_token")?.map(IdToken::new),
        )
    } else {
        (None, None)
    };
    Ok(TokenResponse {
        access_token,
        refresh_token,
        id_token,
        expires,
        refresh_expires,
        scope,
        access_claims,
        issued_token_type,
    })
}

/// A token's expiry: the first source in `sources` the response has;
/// `jwt` yields the token's `exp`, if readable. A member that is present
/// but unreadable is an error naming it when `strict` (the access token),
/// else it counts as absent (the refresh token's expiry is advisory).
fn expiry(
    map: &Map<String, Value>,
    sources: &[ExpirySource],
    jwt: &dyn Fn() -> Option<UnixMillis>,
    strict: bool,
) -> Result<Option<ExpiryHint>, Error> {
    for source in sources {
        let hint = match source {
            ExpirySource::Jwt => jwt().map(ExpiryHint::Jwt),
            ExpirySource::Field { name, unit } => match map.get(name) {
                None => None,
                Some(v) => {
                    let hint = read_expiry(v, *unit);
                    if hint.is_none() && strict {
                        return Err(Error::invalid(owned(name), unreadable(*unit)));
                    }
                    hint
                }
            },
        };
        if hint.is_some() {
            return Ok(hint);
        }
    }
    Ok(None)
}

/// Reads one expiry member in `unit`; `None` when it cannot be read.
fn read_expiry(v: &Value, unit: ExpiryUnit) -> Option<ExpiryHint> {
    if let Some(unit_ms) = unit.lifetime_ms() {
        return Some(ExpiryHint::In {
            count: floored(v)?,
            unit_ms,
        });
    }
    let at = match unit {
        ExpiryUnit::EpochMillis => UnixMillis(floored(v)?),
        ExpiryUnit::Iso8601 => timestamp::parse(v.as_str()?)?,
        _ => UnixMillis(floored(v)?.saturating_mul(1_000)),
    };
    (EARLIEST_EXPIRY..=LATEST_EXPIRY)
        .contains(&at)
        .then_some(ExpiryHint::At(at))
}

/// What an unreadable expiry member must be, per unit.
fn unreadable(unit: ExpiryUnit) -> &'static str {
    match unit {
        ExpiryUnit::Seconds | ExpiryUnit::Minutes => "must be a non-negative number",
        ExpiryUnit::EpochSeconds => "must be epoch seconds from 2000 to 9999",
        ExpiryUnit::EpochMillis => "must be epoch milliseconds from 2000 to 9999",
        ExpiryUnit::Iso8601 => "must be an RFC 3339 date-time from 2000 to 9999",
    }
}

/// Validates a revocation response (RFC 7009 §2.2): 200 is success whatever
/// the body; an error body is an [`Error::OAuth`].
pub fn parse_revocation_response(resp: &HttpResponse, now: UnixMillis) -> Result<(), Error> {
    if resp.status == 200 {
        Ok(())
    } else {
        Err(error_response(resp, now))
    }
}

/// The server's clock from its `Date` header (RFC 9110 §6.6.1).
#[must_use]
pub fn server_date(resp: &HttpResponse) -> Option<UnixMillis> {
    httpdate::parse(resp.header("date")?)
}

/// `Retry-After` (RFC 9110 §10.2.3) in milliseconds from `now`: seconds or
/// an HTTP-date; a past date → 0; unreadable (`soon`, `-5`) → `None`;
/// capped at `cap_ms`.
#[must_use]
pub fn retry_after(resp: &HttpResponse, now: UnixMillis, cap_ms: u64) -> Option<u64> {
    let v = resp.header("retry-after")?.trim();
    let ms = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        v.parse::<u64>().unwrap_or(u64::MAX).saturating_mul(1_000)
    } else {
        httpdate::parse(v)?.saturating_since(now)
    };
    Some(ms.min(cap_ms))
}

/// The typed error for a non-success status.
pub(crate) fn error_response(resp: &HttpResponse, now: UnixMillis) -> Error {
    let status = resp.status;
    if !(300..400).contains(&status) {
        if let Some(e) = json_object(resp, false)
            .ok()
            .and_then(|m| oauth_error(status, &m))
        {
            return e;
        }
        if let Some(e) = challenge_error(resp) {
            return e;
        }
    }
    match status {
        429 => Error::RateLimited {
            retry_after_ms: retry_after(resp, now, u64::MAX),
        },
        s if error::transient_status(s) => Error::ServerUnavailable { status },
        _ => Error::Status { status },
    }
}

/// An RFC 6750 §3 error carried by a 401's `WWW-Authenticate` header.
fn challenge_error(resp: &HttpResponse) -> Option<Error> {
    if resp.status != 401 {
        return None;
    }
    let header = resp.header("www-authenticate")?;
    let challenges = challenge::parse(header.get(..MAX_BODY_BYTES).unwrap_or(header));
    challenges.iter().find_map(|c| {
        let code = c.param("error").filter(|e| !e.is_empty())?;
        Some(Error::OAuth {
            status: 401,
            error: error::server_text(code),
            description: c.param("error_description").map(error::server_text),
        })
    })
}

/// RFC 6749 §5.2: `error` must be a non-empty string; `error_description`
/// is kept truncated and stripped of control characters.
fn oauth_error(status: u16, map: &Map<String, Value>) -> Option<Error> {
    let code = map.get("error")?.as_str().filter(|e| !e.is_empty())?;
    Some(Error::OAuth {
        status,
        error: error::server_text(code),
        description: map
            .get("error_description")
            .and_then(Value::as_str)
            .map(error::server_text),
    })
}

fn owned(name: &str) -> Cow<'static, str> {
    Cow::Owned(name.to_owned())
}

/// `application/json` or `application/*+json`, case-insensitive,
/// parameters allowed (RFC 9110 §8.3.1).
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let lower = essence.to_ascii_lowercase();
    lower == "application/json" || (lower.starts_with("application/") && lower.ends_with("+json"))
}

/// The body as a JSON object with unique members. `success` selects the
/// checks and errors of a success response.
pub(crate) fn json_object(resp: &HttpResponse, success: bool) -> Result<Map<String, Value>, Error> {
    let body = &resp.body;
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::invalid("body", "exceeds 65536 bytes"));
    }
    let ct = resp.header("content-type");
    if !ct.is_some_and(is_json) {
        return Err(Error::NotJson {
            content_type: ct.map(|c| error::sanitize(c, 64)),
        });
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if success && body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("body", "must not be empty"));
    }
    match serde_json::from_slice::<TopLevel>(body) {
        Ok(TopLevel::Object(m)) => Ok(m),
        Ok(TopLevel::NotObject) => Err(Error::invalid("body", "must be a top level object")),
        Ok(TopLevel::Duplicate(name)) => Err(Error::invalid(
            Cow::Owned(error::sanitize(&name, 64)),
            "must not appear more than once",
        )),
        Err(_) => Err(Error::Parse {
            len: resp.body.len(),
        }),
    }
}

/// A token member: absent → `None`; else a non-empty string of visible
/// ASCII (RFC 6750 §2.1 b64token is a subset; RFC 6749 App. A.12 VSCHAR
/// minus space): CR, LF, NUL, space and non-ASCII are refused so a token can
/// never inject a header.
fn token_field(map: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => {
            Err(Error::invalid(owned(name), "must be a non-empty string"))
        }
        Some(Value::String(s)) if !s.bytes().all(|b| b.is_ascii_graphic()) => Err(Error::invalid(
            owned(name),
            "must contain only visible ASCII characters",
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid(owned(name), "must be a non-empty string")),
    }
}

/// An optional string member (`""` allowed).
fn string_field<'a>(
    map: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, Error> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(name, "must be a string")),
    }
}

/// A whole number from a finite non-negative number or numeric string
/// (`"3600"`, `"3600.5"`), floored; `None` otherwise.
fn floored(v: &Value) -> Option<u64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s)
            if !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && s.bytes().next().is_some_and(|b| b.is_ascii_digit()) =>
        {
            return floor_decimal(s);
        }
        _ => return None,
    };
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    // Saturating float-to-int cast: floors, and huge values become u64::MAX.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(f.floor() as u64)
}

/// `s.parse::<f64>()` floored and cast to `u64` (saturating), for `s` of
/// ASCII digits with at most one `.` and a digit first; `None` where the
/// parse fails. Exact, like the parse (round to nearest, ties to even),
/// without linking core's float parser and its tables (several KB of wasm).
fn floor_decimal(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.contains('.') {
        return None;
    }
    let mut i: u128 = 0;
    for b in int.bytes() {
        i = i * 10 + u128::from(b - b'0');
        if i >= 1 << 64 {
            // At least 2^64, which rounds to at least 2^64: saturates.
            return Some(u64::MAX);
        }
    }
    let frac = frac.trim_end_matches('0').as_bytes();
    let bits = 128 - i.leading_zeros();
    if bits > 53 {
        // The spacing of f64 here is 2^(bits-53) ≥ 2: round the integer
        // part to it; the fraction only breaks a tie.
        let shift = bits - 53;
        let half = 1_u128 << (shift - 1);
        let rest = i & ((1 << shift) - 1);
        let q = i >> shift;
        let up = rest > half || (rest == half && (!frac.is_empty() || q & 1 == 1));
        let r = (q + u128::from(up)) << shift;
        return Some(u64::try_from(r).unwrap_or(u64::MAX));
    }
    // Below 2^53 the result is `i` or `i + 1`: `i + 1` when the fraction
    // reaches 1 − 2^-k, half the spacing below `i + 1` away from it.
    let k = if i == 0 { 54 } else { 54 - bits };
    // 2^-k as k decimal digits, then 1 − 2^-k.
    let mut digits = vec![5_u8];
    for _ in 1..k {
        let mut carry = 0;
        for d in &mut digits {
            let v = carry * 10 + *d;
            *d = v / 2;
            carry = v % 2;
        }
        digits.push(5);
    }
    let last = digits.len() - 1;
    for (n, d) in digits.iter_mut().enumerate() {
        *d = if n == last { 10 - *d } else { 9 - *d };
    }
    let mut cmp = std::cmp::Ordering::Equal;
    for n in 0..digits.len().max(frac.len()) {
        let f = frac.get(n).map_or(0, |b| b - b'0');
        let t = digits.get(n).copied().unwrap_or(0);
        cmp = f.cmp(&t);
        if cmp.is_ne() {
            break;
        }
    }
    // A tie goes to the even neighbour: `i + 1` unless the spacing is 1
    // and `i` is even.
    let up = cmp.is_gt() || (cmp.is_eq() && (k > 1 || i & 1 == 1));
    u64::try_from(i + u128::from(up)).ok()
}

/// The top level of a body: an object with unique member names, or not.
enum TopLevel {
    Object(Map<String, Value>),
    NotObject,
    Duplicate(String),
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

macro_rules! not_object {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $t) -> Result<TopLevel, E> {
            Ok(TopLevel::NotObject)
        })*
    };
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    not_object!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::NotObject)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::NotObject)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<TopLevel, A::Error> {
        let mut map = Map::new();
        let mut duplicate = None;
        while let Some(key) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            if map.contains_key(&key) {
                duplicate.get_or_insert(key);
            } else {
                map.insert(key, value);
            }
        }
        Ok(duplicate.map_or(TopLevel::Object(map), TopLevel::Duplicate))
    }
}

// Not on wasm32: proptest is a native dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::floor_decimal;
    use proptest::prelude::*;

    /// What `floor_decimal` stands in for.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn reference(s: &str) -> Option<u64> {
        s.parse::<f64>().ok().map(|f| f.floor() as u64)
    }

    #[test]
    fn floors_like_the_float_parse() {
        let mut cases: Vec<String> = [
            "0",
            "0.",
            "1.",
            "3600",
            "3600.7",
            "1..2",
            "1.2.3",
            "0.5",
            "1.5",
            "2.5",
            "0.99999999999999994448884876874217",
            "0.99999999999999994448884876874218",
            "0.99999999999999994448884876874216",
            "0.9999999999999999444888487687421729788184165954589843750",
            "18446744073709551615",
            "18446744073709551616",
            "18446744073709550591.9",
            "18446744073709550592",
            "18446744073709549568.0001",
            "99999999999999999999999",
            "9007199254740993",
            "9007199254740993.0",
            "9007199254740993.1",
            "9007199254740995",
            "4503599627370497.5",
            "4503599627370496.5",
            "4503599627370497.9",
            "000000000000001.5",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for bits in 0..64_u32 {
            let p = 1_u128 << bits;
            for d in [-2_i128, -1, 0, 1, 2] {
                let n = (p as i128 + d).max(0);
                for frac in [
                    "",
                    ".0",
                    ".5",
                    ".49999999999999999999",
                    ".50000000000000000001",
                    ".9999999999999999",
                    ".99999999999999999999999",
                ] {
                    cases.push(format!("{n}{frac}"));
                }
            }
        }
        for s in &cases {
            assert_eq!(floor_decimal(s), reference(s), "{s}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20000, ..ProptestConfig::default() })]

        #[test]
        fn floors_arbitrary_decimals_like_the_float_parse(s in "[0-9]{1,22}(\\.[0-9]{0,30})?") {
            prop_assert_eq!(floor_decimal(&s), reference(&s), "{}", s);
        }

        #[test]
        fn floors_near_integers_like_the_float_parse(
            n in any::<u64>(),
            shift in 0_u32..64,
            frac in prop_oneof![Just(String::new()), "\\.[05]{0,3}", "\\.9{10,20}[0-9]{0,5}", "\\.[0-9]{1,20}"],
        ) {
            let s = format!("{}{frac}", n >> shift);
            prop_assert_eq!(floor_decimal(&s), reference(&s), "{}", s);
        }
    }
}
