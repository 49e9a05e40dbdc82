//! Authorization server metadata: OpenID Connect Discovery 1.0 and
//! RFC 8414, as plain values.
//!
//! [`discovery_request`] builds the `GET` of
//! `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery
//! §4.1: a trailing `/` of the issuer is removed first);
//! [`parse_discovery_response`] validates the answer:
//!
//! - `200` with a JSON object body (the size, content type and duplicate
//!   member checks of [`super::response`]); any other status is the typed
//!   error a token endpoint's would be.
//! - `issuer` must equal the expected issuer exactly, byte for byte
//!   (RFC 8414 §3.3, OpenID Connect Discovery §4.3): no case folding and no
//!   trailing-slash repair, or tokens of one issuer could be accepted for
//!   another ([`Error::IssuerMismatch`]).
//! - `token_endpoint` is required; `authorization_endpoint`,
//!   `revocation_endpoint`, `jwks_uri`, `userinfo_endpoint` and
//!   `end_session_endpoint` are optional. Each present one must be an
//!   absolute `https` URL (`http` only on loopback or with
//!   `allowInsecureHttp`), else [`Error::InvalidResponse`] names it.
//! - `authorization_response_iss_parameter_supported` (RFC 9207 §3), when
//!   present, must be a boolean; `true` makes `iss` required in every
//!   authorization response.
//! - Other members are ignored.

use super::config::{check_issuer, check_url};
use super::error::Error;
use super::request::HttpRequest;
use super::response::{HttpResponse, error_response, json_object};
use super::time::UnixMillis;
use serde_json::{Map, Value};

/// The path OpenID Connect Discovery §4.1 appends to the issuer.
pub const WELL_KNOWN_PATH: &str = "/.well-known/openid-configuration";

/// Validated authorization server metadata (RFC 8414 §2, OpenID Connect
/// Discovery §3). Serialises with the metadata member names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// `issuer`: equal to the expected issuer.
    pub issuer: String,
    /// `token_endpoint` (RFC 6749 §3.2).
    pub token_endpoint: String,
    /// `authorization_endpoint` (RFC 6749 §3.1).
    pub authorization_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009 §2, RFC 8414 §2).
    pub revocation_endpoint: Option<String>,
    /// `jwks_uri` (RFC 8414 §2): the issuer's signing keys.
    pub jwks_uri: Option<String>,
    /// `userinfo_endpoint` (OpenID Connect Core §5.3).
    pub userinfo_endpoint: Option<String>,
    /// `end_session_endpoint` (OpenID Connect RP-Initiated Logout §2.1).
    pub end_session_endpoint: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3):
    /// authorization responses carry `iss`, so one without it is refused.
    pub authorization_response_iss: bool,
    /// `device_authorization_endpoint` (RFC 8628 §4).
    pub device_authorization_endpoint: Option<String>,
    /// `pushed_authorization_request_endpoint` (RFC 9126 §5).
    pub par_endpoint: Option<String>,
    /// `require_pushed_authorization_requests` (RFC 9126 §5).
    pub require_par: bool,
}

/// The discovery URL of `issuer` (OpenID Connect Discovery §4.1): the
/// issuer without a trailing `/`, then [`WELL_KNOWN_PATH`].
///
/// The issuer must be an absolute `https` URL without query or fragment
/// (`http` only on loopback or with `allow_http`); the error names the
/// `issuer` option.
pub fn discovery_url(issuer: &str, allow_http: bool) -> Result<String, Error> {
    check_issuer("issuer", issuer, allow_http)?;
    Ok(format!(
        "{}{WELL_KNOWN_PATH}",
        issuer.strip_suffix('/').unwrap_or(issuer)
    ))
}

/// The discovery request (OpenID Connect Discovery §4.1): `GET` with
/// `Accept: application/json` and no body.
pub fn discovery_request(issuer: &str, allow_http: bool) -> Result<HttpRequest, Error> {
    Ok(get_json(discovery_url(issuer, allow_http)?))
}

/// A `GET` of a JSON document (metadata, a JWK Set).
pub(crate) fn get_json(url: String) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url,
        headers: vec![("Accept".into(), "application/json".into())],
        body: Vec::new(),
    }
}

/// Validates a discovery response against the `expected` issuer (OpenID
/// Connect Discovery §4.2–4.3, RFC 8414 §3.2–3.3). `now` only dates a
/// `Retry-After` of an error.
pub fn parse_discovery_response(
    resp: &HttpResponse,
    expected: &str,
    allow_http: bool,
    now: UnixMillis,
) -> Result<ProviderMetadata, Error> {
    if resp.status != 200 {
        return Err(error_response(resp, now));
    }
    let map = json_object(resp, true)?;
    let issuer = match map.get("issuer") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(_) => return Err(Error::invalid("issuer", "must be a non-empty string")),
        None => return Err(Error::invalid("issuer", "is required")),
    };
    if issuer != expected {
        return Err(Error::IssuerMismatch { field: "issuer" });
    }
    let token_endpoint = endpoint(&map, "token_endpoint", allow_http)?
        .ok_or_else(|| Error::invalid("token_endpoint", "is required"))?;
    Ok(ProviderMetadata {
        issuer: issuer.clone(),
        token_endpoint,
        authorization_endpoint: endpoint(&map, "authorization_endpoint", allow_http)?,
        revocation_endpoint: endpoint(&map, "revocation_endpoint", allow_http)?,
        jwks_uri: endpoint(&map, "jwks_uri", allow_http)?,
        userinfo_endpoint: endpoint(&map, "userinfo_endpoint", allow_http)?,
        end_session_endpoint: endpoint(&map, "end_session_endpoint", allow_http)?,
        authorization_response_iss: flag(&map, "authorization_response_iss_parameter_supported")?,
        device_authorization_endpoint: endpoint(&map, "device_authorization_endpoint", allow_http)?,
        par_endpoint: endpoint(&map, "pushed_authorization_request_endpoint", allow_http)?,
        require_par: flag(&map, "require_pushed_authorization_requests")?,
    })
}

/// An optional boolean member: absent → false.
fn flag(map: &Map<String, Value>, name: &'static str) -> Result<bool, Error> {
    match map.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Error::invalid(name, "must be a boolean")),
    }
}

/// An optional endpoint member: absent → `None`; else a string that passes
/// [`check_url`], or an [`Error::InvalidResponse`] naming the member.
fn endpoint(
    map: &Map<String, Value>,
    name: &'static str,
    allow_http: bool,
) -> Result<Option<String>, Error> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => match check_url(name, s, allow_http) {
            Ok(()) => Ok(Some(s.clone())),
            Err(Error::Config { reason, .. }) => Err(Error::invalid(name, reason)),
            Err(e) => Err(e),
        },
        Some(_) => Err(Error::invalid(name, "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_strips_one_trailing_slash() {
        assert_eq!(
            discovery_url("https://as.example/realms/x/", false).ok(),
            Some("https://as.example/realms/x/.well-known/openid-configuration".into())
        );
        assert!(discovery_url("https://as.example/?a=b", false).is_err());
        assert!(discovery_url("http://as.example", false).is_err());
        assert!(discovery_url("http://127.0.0.1:8080/r", false).is_ok());
    }
}
