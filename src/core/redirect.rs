//! The redirect login, as two pure steps: [`begin`] builds the
//! authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3, and
//! OpenID Connect `nonce`, Core §3.1.2.1) and the [`PendingLogin`] to keep
//! until the browser comes back; [`complete`] reads the redirect back
//! (RFC 6749 §4.1.2) and turns it into [`Credentials::AuthorizationCode`].
//!
//! The core has no RNG: [`RedirectRandom`] carries the random bytes in.
//!
//! Checks of the authorization response, in this order:
//!
//! 1. the URL's query is at most [`MAX_CALLBACK_QUERY_BYTES`] and has
//!    `code`, `error` or `state`, no name more than once (RFC 6749 §3.1)
//!    → [`Error::InvalidCallback`];
//! 2. the pending login is younger than [`PENDING_MAX_AGE_MS`]
//!    (authorization codes live for minutes) → [`Error::NoPendingLogin`];
//! 3. `state` equals the one sent (RFC 6749 §10.12) → [`Error::StateMismatch`];
//! 4. `iss`, when present, equals the configured issuer exactly, and is
//!    present when the provider says it sends it (RFC 9207 §2.4) →
//!    [`Error::IssuerMismatch`], [`Error::InvalidCallback`];
//! 5. `error` → [`Error::Authorization`] with the server's code and
//!    description (RFC 6749 §4.1.2.1);
//! 6. a non-empty `code` → [`Error::InvalidCallback`] otherwise.
//!
//! `state` is single-use (RFC 6749 §10.12, RFC 9700 §4.7): from step 3 on,
//! and at step 2, the pending login is used up whatever the outcome, and
//! [`Refusal::used_up`] tells the caller to delete it.

use super::config::{Config, OAuth2Profile, Profile};
use super::error::{self, Error};
use super::json_text::ObjectText;
use super::members::Members;
use super::request::{self, Credentials, HttpRequest, Pkce};
use super::response::{self, HttpResponse};
use super::secret::{AuthCode, CodeVerifier};
use super::time::UnixMillis;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// How long a pending login may wait for its redirect (1 hour).
pub const PENDING_MAX_AGE_MS: u64 = 3_600_000;

/// The longest callback query read (16 KiB): an authorization response
/// holds a code, `state`, `iss` and perhaps an error text.
pub const MAX_CALLBACK_QUERY_BYTES: usize = 16 * 1024;

/// Authorization request parameters that set `state`, PKCE or the client:
/// `extraParams` cannot repeat them.
const RESERVED_AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "dpop_jkt",
];

/// Random bytes for one authorization request: 128-bit `state` and `nonce`,
/// a 256-bit PKCE verifier (RFC 7636 §7.1).
#[derive(Clone)]
pub struct RedirectRandom {
    /// Bytes of `state`.
    pub state: [u8; 16],
    /// Bytes of `nonce`.
    pub nonce: [u8; 16],
    /// Bytes of the code verifier.
    pub verifier: [u8; 32],
}

impl fmt::Debug for RedirectRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedirectRandom([redacted])")
    }
}

impl RedirectRandom {
    /// Splits 64 random bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        let mut r = Self {
            state: [0; 16],
            nonce: [0; 16],
            verifier: [0; 32],
        };
        r.state.copy_from_slice(&bytes[..16]);
        r.nonce.copy_from_slice(&bytes[16..32]);
        r.verifier.copy_from_slice(&bytes[32..]);
        r
    }
}

/// Per-login choices (the JS `loginWithRedirect` argument).
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    /// The redirect URI (RFC 6749 §3.1.2); default: the profile's.
    pub redirect_uri: Option<String>,
    /// The scope (RFC 6749 §3.3); default: the profile's.
    pub scope: Option<String>,
    /// Extra authorization request parameters, e.g. `prompt`, `login_hint`
    /// (OpenID Connect Core §3.1.2.1).
    pub extra_params: BTreeMap<String, String>,
    /// The DPoP key's thumbprint, binding the code to it (RFC 9449 §10);
    /// set by the keeper, not by the caller.
    pub dpop_jkt: Option<String>,
}

impl AuthorizeParams {
    /// Reads `{ redirectUri?, scope?, extraParams? }`.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        let m = Members::of(
            value,
            "params",
            "",
            &["redirectUri", "scope", "extraParams"],
        )?;
        Ok(Self {
            redirect_uri: m.string("redirectUri")?,
            scope: m.string("scope")?,
            extra_params: m.strings("extraParams")?,
            dpop_jkt: None,
        })
    }
}

/// What a login waits for while the browser is away. Stored as JSON
/// (`{"v":1,…}`) between the two steps; `Debug` shows the redirect URI
/// only, since `state`, `nonce` and the verifier must stay private.
#[derive(Clone)]
pub struct PendingLogin {
    /// The `state` sent.
    pub state: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The PKCE verifier of the `code_challenge` sent.
    pub code_verifier: String,
    /// The `redirect_uri` sent, repeated in the token request (RFC 6749
    /// §4.1.3).
    pub redirect_uri: String,
    /// When the request was built, epoch ms.
    pub created_at: u64,
    /// Whether the scope sent has `openid`: the token response must then
    /// carry an ID token (OpenID Connect Core §3.1.3.3).
    pub openid: bool,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("redirect_uri", &self.redirect_uri)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl PendingLogin {
    /// The stored form.
    #[must_use]
    pub fn to_stored(&self) -> String {
        ObjectText::new()
            .number("v", Some(1))
            .string("state", &self.state)
            .string("nonce", &self.nonce)
            .string("codeVerifier", &self.code_verifier)
            .string("redirectUri", &self.redirect_uri)
            .number("createdAt", Some(self.created_at))
            .bool("openid", self.openid)
            .finish()
    }

    /// Reads the stored form; anything else is [`Error::NoPendingLogin`].
    pub fn from_stored(text: &str) -> Result<Self, Error> {
        let value =
            serde_json::from_slice::<Value>(text.as_bytes()).map_err(|_| Error::NoPendingLogin)?;
        let string = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(Error::NoPendingLogin)
        };
        if value.get("v").and_then(Value::as_u64) != Some(1) {
            return Err(Error::NoPendingLogin);
        }
        Ok(Self {
            state: string("state")?,
            nonce: string("nonce")?,
            code_verifier: string("codeVerifier")?,
            redirect_uri: string("redirectUri")?,
            created_at: value
                .get("createdAt")
                .and_then(Value::as_u64)
                .ok_or(Error::NoPendingLogin)?,
            openid: value.get("openid").and_then(Value::as_bool) == Some(true),
        })
    }
}

/// An authorization request ready to navigate to. `Debug` leaves out the
/// query, which holds `state` and `nonce`.
#[derive(Clone)]
pub struct AuthorizationRequest {
    /// The URL of the authorization endpoint with every parameter.
    pub url: String,
    /// What to keep until the redirect comes back.
    pub pending: PendingLogin,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = self.url.split('?').next().unwrap_or_default();
        f.debug_struct("AuthorizationRequest")
            .field("endpoint", &endpoint)
            .field("pending", &self.pending)
            .finish()
    }
}

/// A checked authorization response. `Debug` redacts the nonce (the code
/// and verifier redact themselves).
#[derive(Clone)]
pub struct Completed {
    /// The code grant's credentials (RFC 6749 §4.1.3, RFC 7636 §4.5).
    pub credentials: Credentials,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// Whether the token response must carry an ID token (an `openid`
    /// login, OpenID Connect Core §3.1.3.3).
    pub id_token_required: bool,
}

impl fmt::Debug for Completed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completed")
            .field("credentials", &self.credentials)
            .field("id_token_required", &self.id_token_required)
            .finish_non_exhaustive()
    }
}

/// A refused authorization response.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Why it was refused.
    pub error: Error,
    /// Whether the pending login is used up and must be deleted (with the
    /// response parameters in the address bar): the response carried its
    /// `state`, or the pending login had expired.
    pub used_up: bool,
}

impl Refusal {
    fn keeps(error: Error) -> Self {
        Self {
            error,
            used_up: false,
        }
    }

    fn uses_up(error: Error) -> Self {
        Self {
            error,
            used_up: true,
        }
    }
}

/// Builds the authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3,
/// OpenID Connect Core §3.1.2.1). The redirect URI is the first of
/// `params.redirect_uri`, the profile's and `fallback_redirect_uri` (the
/// current page); the scope is the first of `params.scope` and the
/// profile's.
pub fn begin(
    config: &Config,
    params: &AuthorizeParams,
    fallback_redirect_uri: Option<&str>,
    random: &RedirectRandom,
    now: UnixMillis,
) -> Result<AuthorizationRequest, Error> {
    let mut config = config.clone();
    let Profile::OAuth2(p) = &mut config.profile else {
        return Err(Error::config(
            "profile",
            "must be oauth2 for a redirect login",
        ));
    };
    let redirect_uri = params
        .redirect_uri
        .clone()
        .or_else(|| p.redirect_uri.take())
        .or_else(|| fallback_redirect_uri.map(str::to_owned))
        .ok_or_else(|| Error::config("redirectUri", "is required for a redirect login"))?;
    check_redirect_uri(&redirect_uri)?;
    p.redirect_uri = Some(redirect_uri.clone());
    if let Some(scope) = &params.scope {
        p.scope = Some(scope.clone());
    }
    config.validate()?;
    let Profile::OAuth2(p) = &config.profile else {
        return Err(Error::config(
            "profile",
            "must be oauth2 for a redirect login",
        ));
    };
    for (k, v) in &params.extra_params {
        if k.is_empty() || v.is_empty() || RESERVED_AUTHORIZE_PARAMS.contains(&k.as_str()) {
            return Err(Error::config(
                "extraParams",
                "must not be empty or repeat a parameter the request sets",
            ));
        }
    }
    let pkce = Pkce::from_random(&random.verifier);
    let state = request::random_value(&random.state);
    let nonce = request::random_value(&random.nonce);
    let mut url = request::authorize_url(p, &state, &nonce, &pkce.challenge)?;
    let jkt = params.dpop_jkt.as_ref().map(|j| ("dpop_jkt", j));
    for (k, v) in params
        .extra_params
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .chain(jkt)
    {
        url.push('&');
        url.push_str(&request::form_encode(k));
        url.push('=');
        url.push_str(&request::form_encode(v));
    }
    let openid = p
        .scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|v| v == "openid"));
    Ok(AuthorizationRequest {
        url,
        pending: PendingLogin {
            state,
            nonce,
            code_verifier: pkce.verifier.secret().to_owned(),
            redirect_uri,
            created_at: now.0,
            openid,
        },
    })
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment.
fn check_redirect_uri(uri: &str) -> Result<(), Error> {
    let scheme = uri.split(':').next().unwrap_or_default();
    let absolute = uri.len() > scheme.len() + 1
        && scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !absolute || uri.len() > 2048 || !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::config("redirectUri", "must be an absolute URI"));
    }
    if uri.contains('#') {
        return Err(Error::config("redirectUri", "must not contain a fragment"));
    }
    Ok(())
}

/// What the authorization response must show besides `state`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected<'a> {
    /// The configured issuer, compared with `iss` when one is present.
    pub issuer: Option<&'a str>,
    /// Whether `iss` must be present (RFC 9207 §2.4).
    pub require_iss: bool,
}

/// Checks the redirect back (`callback_url`, e.g. `location.href`) against
/// the pending login and returns the code grant's credentials. See the
/// module docs for the order of the checks and when a refusal uses up the
/// pending login.
pub fn complete(
    pending: &PendingLogin,
    callback_url: &str,
    expected: Expected<'_>,
    now: UnixMillis,
) -> Result<Completed, Refusal> {
    let params = Query::parse(callback_url).map_err(Refusal::keeps)?;
    if params.get("code").is_none()
        && params.get("error").is_none()
        && params.get("state").is_none()
    {
        return Err(Refusal::keeps(Error::InvalidCallback {
            field: "code",
            reason: "is missing: the URL is not an authorization response",
        }));
    }
    if now.0.saturating_sub(pending.created_at) > PENDING_MAX_AGE_MS {
        return Err(Refusal::uses_up(Error::NoPendingLogin));
    }
    if params.get("state") != Some(pending.state.as_str()) {
        return Err(Refusal::keeps(Error::StateMismatch));
    }
    check_answer(&params, expected)
        .map(|code| Completed {
            credentials: Credentials::AuthorizationCode {
                code: AuthCode::new(code),
                code_verifier: CodeVerifier::new(pending.code_verifier.clone()),
                redirect_uri: pending.redirect_uri.clone(),
            },
            nonce: pending.nonce.clone(),
            id_token_required: pending.openid,
        })
        .map_err(Refusal::uses_up)
}

/// Steps 4 to 6 of the module docs, once `state` matched: the code.
fn check_answer(params: &Query, expected: Expected<'_>) -> Result<String, Error> {
    match (params.get("iss"), expected.issuer) {
        (Some(iss), Some(issuer)) if iss != issuer => {
            return Err(Error::IssuerMismatch { field: "iss" });
        }
        (None, _) if expected.require_iss => {
            return Err(Error::InvalidCallback {
                field: "iss",
                reason: "is missing, though the provider says it sends one (RFC 9207)",
            });
        }
        _ => {}
    }
    if let Some(code) = params.get("error") {
        return Err(Error::Authorization {
            error: error::server_text(code),
            description: params.get("error_description").map(error::server_text),
        });
    }
    params
        .get("code")
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .ok_or(Error::InvalidCallback {
            field: "code",
            reason: "must be a non-empty string",
        })
}

/// The `state` of a callback URL, if it has exactly one: what tells two
/// deliveries of the same authorization response apart from two responses.
#[must_use]
pub fn callback_state(callback_url: &str) -> Option<String> {
    Query::parse(callback_url)
        .ok()?
        .get("state")
        .map(str::to_owned)
}

/// The pushed authorization request (RFC 9126 §2.1) for an authorization
/// URL that [`begin`] built: its parameters (after the endpoint's own query,
/// if it has one), with client authentication.
pub fn pushed_request(config: &Config, authorize_url: &str) -> Result<HttpRequest, Error> {
    let (p, base) = endpoint(config)?;
    let params = authorize_url
        .strip_prefix(base)
        .map(|rest| rest.trim_start_matches(['?', '&']))
        .ok_or_else(|| Error::config("url", "must be an authorization URL of this keeper"))?;
    let pairs: Vec<(String, String)> = params
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect();
    request::pushed_authorization(p, &pairs).ok_or_else(|| {
        Error::config(
            "pushedAuthorizationRequestUrl",
            "is required to push authorization requests",
        )
    })
}

/// The authorization URL that redeems a pushed request (RFC 9126 §4):
/// `client_id` and the `request_uri` of the server's 201 answer (§2.2).
pub fn pushed_url(config: &Config, resp: &HttpResponse, now: UnixMillis) -> Result<String, Error> {
    if resp.status != 201 && resp.status != 200 {
        return Err(response::error_response(resp, now));
    }
    let map = response::json_object(resp, true)?;
    let request_uri = match map.get("request_uri") {
        Some(Value::String(u)) if !u.is_empty() => u,
        Some(_) => return Err(Error::invalid("request_uri", "must be a non-empty string")),
        None => return Err(Error::invalid("request_uri", "is required")),
    };
    if !map.get("expires_in").is_some_and(Value::is_u64) {
        return Err(Error::invalid(
            "expires_in",
            "must be a whole number of seconds",
        ));
    }
    let (p, base) = endpoint(config)?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{base}{sep}client_id={}&request_uri={}",
        request::form_encode(&p.client_id),
        request::form_encode(request_uri)
    ))
}

/// The OAuth profile and its authorization endpoint.
fn endpoint(config: &Config) -> Result<(&OAuth2Profile, &str), Error> {
    let Profile::OAuth2(p) = &config.profile else {
        return Err(Error::config(
            "profile",
            "must be oauth2 for a redirect login",
        ));
    };
    let base = p
        .authorization_url
        .as_deref()
        .ok_or_else(|| Error::config("authorizationUrl", "is required for the code flow"))?;
    Ok((p, base))
}

/// The decoded query of a callback URL.
struct Query(Vec<(String, String)>);

impl Query {
    /// The query of `url` (between `?` and `#`), at most
    /// [`MAX_CALLBACK_QUERY_BYTES`], as decoded pairs; a repeated name is
    /// refused (RFC 6749 §3.1). Linear in the length, but for the set that
    /// finds repeats.
    fn parse(url: &str) -> Result<Self, Error> {
        let before_fragment = url.split('#').next().unwrap_or_default();
        let query = before_fragment
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default();
        if query.len() > MAX_CALLBACK_QUERY_BYTES {
            return Err(Error::InvalidCallback {
                field: "query",
                reason: "exceeds 16384 bytes",
            });
        }
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(k), form_decode(v))
            })
            .collect();
        // The least repeated name, as a sort would find it. The names go
        // into a JSON object's map, whose code the parser links anyway,
        // instead of through `sort_unstable`, whose quicksort nothing else
        // links.
        let mut seen = serde_json::Map::new();
        let mut repeated: Option<&str> = None;
        for (k, _) in &pairs {
            if seen.insert(k.clone(), Value::Null).is_some()
                && repeated.is_none_or(|r| k.as_str() < r)
            {
                repeated = Some(k);
            }
        }
        if let Some(name) = repeated {
            return Err(Error::InvalidCallback {
                field: repeated_name(name),
                reason: "must not appear more than once",
            });
        }
        Ok(Self(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A static name for a repeated parameter, so errors stay `'static`.
fn repeated_name(name: &str) -> &'static str {
    ["code", "state", "error", "error_description", "iss"]
        .into_iter()
        .find(|n| *n == name)
        .unwrap_or("query")
}

/// Decodes `application/x-www-form-urlencoded` (WHATWG URL §5.1): `+` is a
/// space, `%XX` a byte; invalid escapes stay as they are; invalid UTF-8
/// becomes U+FFFD.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_repeated_name_is_named() {
        let field = |url: &str| match Query::parse(url) {
            Err(Error::InvalidCallback { field, .. }) => field,
            Err(_) => "other error",
            Ok(_) => "none",
        };
        assert_eq!(field("https://a/cb?state=1&code=2&state=3&code=4"), "code");
        assert_eq!(field("https://a/cb?state=1&zz=2&zz=4&state=3"), "state");
        assert_eq!(field("https://a/cb?state=1&aa=2&state=3&aa=4"), "query");
        assert_eq!(field("https://a/cb?state=1&code=2&iss=3"), "none");
    }

    #[test]
    fn decodes_forms() {
        assert_eq!(form_decode("a+b%20c%2B%zz%"), "a b c+%zz%");
        assert_eq!(form_decode("%C3%A9"), "é");
    }
}
