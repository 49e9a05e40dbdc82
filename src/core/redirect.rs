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
//! 1. the URL has a query with `code`, `error` or `state`, each at most once
//!    (RFC 6749 §3.1) → [`Error::InvalidCallback`];
//! 2. `iss`, when present, equals the configured issuer exactly (RFC 9207
//!    §2.4) → [`Error::IssuerMismatch`];
//! 3. `state` equals the one sent (RFC 6749 §10.12) → [`Error::StateMismatch`];
//! 4. `error` → [`Error::Authorization`] with the server's code and
//!    description (RFC 6749 §4.1.2.1);
//! 5. a non-empty `code` → [`Error::InvalidCallback`] otherwise.
//!
//! A pending login older than [`PENDING_MAX_AGE_MS`] is refused
//! ([`Error::NoPendingLogin`]): authorization codes live for minutes.

use super::config::{Config, Profile};
use super::error::{self, Error, MAX_DESCRIPTION_CHARS, MAX_ERROR_CODE_CHARS};
use super::json_text::ObjectText;
use super::members::Members;
use super::request::{self, Credentials, Pkce};
use super::secret::CodeVerifier;
use super::time::UnixMillis;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// How long a pending login may wait for its redirect (1 hour).
pub const PENDING_MAX_AGE_MS: u64 = 3_600_000;

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
        })
    }
}

/// An authorization request ready to navigate to.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The URL of the authorization endpoint with every parameter.
    pub url: String,
    /// What to keep until the redirect comes back.
    pub pending: PendingLogin,
}

/// A checked authorization response.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The code grant's credentials (RFC 6749 §4.1.3, RFC 7636 §4.5).
    pub credentials: Credentials,
    /// The nonce the ID token must carry.
    pub nonce: String,
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
    for (k, v) in &params.extra_params {
        url.push('&');
        url.push_str(&request::form_encode(k));
        url.push('=');
        url.push_str(&request::form_encode(v));
    }
    Ok(AuthorizationRequest {
        url,
        pending: PendingLogin {
            state,
            nonce,
            code_verifier: pkce.verifier.secret().to_owned(),
            redirect_uri,
            created_at: now.0,
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

/// Checks the redirect back (`callback_url`, e.g. `location.href`) against
/// the pending login and returns the code grant's credentials. `issuer` is
/// the configured issuer, if any. See the module docs for the order of the
/// checks.
pub fn complete(
    pending: &PendingLogin,
    callback_url: &str,
    issuer: Option<&str>,
    now: UnixMillis,
) -> Result<Completed, Error> {
    if now.0.saturating_sub(pending.created_at) > PENDING_MAX_AGE_MS {
        return Err(Error::NoPendingLogin);
    }
    let params = parse_query(callback_url)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("code").is_none() && get("error").is_none() && get("state").is_none() {
        return Err(Error::InvalidCallback {
            field: "code",
            reason: "is missing: the URL is not an authorization response",
        });
    }
    if let (Some(iss), Some(expected)) = (get("iss"), issuer) {
        if iss != expected {
            return Err(Error::IssuerMismatch { field: "iss" });
        }
    }
    if get("state") != Some(pending.state.as_str()) {
        return Err(Error::StateMismatch);
    }
    if let Some(code) = get("error") {
        return Err(Error::Authorization {
            error: error::sanitize(code, MAX_ERROR_CODE_CHARS),
            description: get("error_description")
                .map(|d| error::sanitize(d, MAX_DESCRIPTION_CHARS)),
        });
    }
    let code = get("code")
        .filter(|c| !c.is_empty())
        .ok_or(Error::InvalidCallback {
            field: "code",
            reason: "must be a non-empty string",
        })?;
    Ok(Completed {
        credentials: Credentials::AuthorizationCode {
            code: code.to_owned(),
            code_verifier: CodeVerifier::new(pending.code_verifier.clone()),
            redirect_uri: pending.redirect_uri.clone(),
        },
        nonce: pending.nonce.clone(),
    })
}

/// The query of `url` (between `?` and `#`) as decoded pairs; a repeated
/// name is refused (RFC 6749 §3.1).
fn parse_query(url: &str) -> Result<Vec<(String, String)>, Error> {
    let before_fragment = url.split('#').next().unwrap_or_default();
    let query = before_fragment
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k), form_decode(v));
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(Error::InvalidCallback {
                field: repeated_name(&k),
                reason: "must not appear more than once",
            });
        }
        out.push((k, v));
    }
    Ok(out)
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
    fn decodes_forms() {
        assert_eq!(form_decode("a+b%20c%2B%zz%"), "a b c+%zz%");
        assert_eq!(form_decode("%C3%A9"), "é");
    }
}
