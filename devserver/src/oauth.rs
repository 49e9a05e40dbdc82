//! Shared OAuth plumbing: error bodies, form parsing, client and bearer
//! credentials, and the RFC 6750 challenge.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// A JSON response that no cache may keep (token endpoint rule, RFC 6749 §5.1).
pub(crate) fn no_store_json(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// An OAuth-style error: `{"error": code, "error_description": desc}`.
pub(crate) fn error(status: StatusCode, code: &str, desc: &str) -> Response {
    no_store_json(status, &json!({"error": code, "error_description": desc}))
}

/// `400 invalid_request`.
pub(crate) fn invalid_request(desc: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request", desc)
}

/// `400 invalid_grant`.
pub(crate) fn invalid_grant(desc: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_grant", desc)
}

/// `401 invalid_client`, with a Basic challenge when the client used Basic.
pub(crate) fn invalid_client(desc: &str, basic_realm: Option<&str>) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, "invalid_client", desc);
    if let Some(realm) = basic_realm {
        if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    r
}

/// Form parameters, each named once.
#[derive(Debug, Default, Clone)]
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    /// The value of `name`, `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` is present at all (even empty).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// All parameters (for re-rendering a form).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    /// Sets `name` to `value`, replacing what it had.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_string(), value.to_string());
    }

    /// Removes `name`.
    pub(crate) fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }
}

/// Parses an `application/x-www-form-urlencoded` body; a repeated parameter
/// is `invalid_request` (RFC 6749 §3.1).
pub(crate) fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Form, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    parse_query(body).map_err(|e| invalid_request(&e))
}

/// Parses url-encoded pairs (a body or a query string).
pub(crate) fn parse_query(raw: &[u8]) -> Result<Form, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(raw).map_err(|_| "malformed form body".to_string())?;
    let mut map = HashMap::new();
    for (k, v) in pairs {
        if map.insert(k.clone(), v).is_some() {
            return Err(format!("parameter {k:?} repeated"));
        }
    }
    Ok(Form(map))
}

/// What the `Authorization: Basic` header holds.
#[derive(Debug)]
pub(crate) enum Basic {
    /// No Basic credentials.
    Absent,
    /// Present but undecodable.
    Malformed,
    /// `(client_id, client_secret)` after base64 and form-urldecoding.
    Credentials(String, String),
}

/// Reads HTTP Basic client credentials the RFC 6749 §2.3.1 way: base64, then
/// form-urldecode the id and the secret separately.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Basic {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Basic::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Basic::Malformed;
    };
    let Some((scheme, rest)) = value.trim().split_once(' ') else {
        return Basic::Absent;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let Ok(decoded) = STANDARD.decode(rest.trim()) else {
        return Basic::Malformed;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return Basic::Malformed;
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return Basic::Malformed;
    };
    match (form_urldecode(id), form_urldecode(secret)) {
        (Some(id), Some(secret)) => Basic::Credentials(id, secret),
        _ => Basic::Malformed,
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a
/// space, `%XX` a byte; the result must be UTF-8.
pub(crate) fn form_urldecode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a value for a query string.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What the `Authorization: Bearer` (or another token scheme's) header holds.
#[derive(Debug)]
pub(crate) enum Bearer<'a> {
    /// No Authorization header (or another scheme).
    Missing,
    /// `Bearer` with an empty or non-ASCII token.
    Malformed,
    /// The token.
    Token(&'a str),
}

/// Reads `Authorization: Bearer <token>` (scheme case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    token_of(headers, "Bearer")
}

/// Reads `Authorization: <scheme> <token>` (scheme case-insensitive), e.g.
/// `DPoP` (RFC 9449 §7.1); another scheme is [`Bearer::Missing`].
pub(crate) fn token_of<'a>(headers: &'a HeaderMap, scheme: &str) -> Bearer<'a> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Bearer::Missing;
    };
    let Ok(v) = v.to_str() else {
        return Bearer::Malformed;
    };
    match v.trim().split_once(' ') {
        Some((given, token)) if given.eq_ignore_ascii_case(scheme) => {
            let token = token.trim();
            if token.is_empty() {
                Bearer::Malformed
            } else {
                Bearer::Token(token)
            }
        }
        _ if v.trim().eq_ignore_ascii_case(scheme) => Bearer::Malformed,
        _ => Bearer::Missing,
    }
}

/// 401 with an RFC 6750 challenge. `error: None` is the "no credentials"
/// case, where the RFC says to send no error code.
pub(crate) fn bearer_challenge(realm: &str, error: Option<(&str, &str)>) -> Response {
    let (challenge, body) = match error {
        Some((code, desc)) => (
            format!("Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{desc}\""),
            json!({"error": code, "error_description": desc}),
        ),
        None => (
            format!("Bearer realm=\"{realm}\""),
            json!({"error": "unauthorized", "error_description": "Bearer token required"}),
        ),
    };
    let mut r = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_urldecode_rfc6749_2_3_1() {
        assert_eq!(form_urldecode("a+b%40c%3A%2F").as_deref(), Some("a b@c:/"));
        assert_eq!(form_urldecode("%zz"), None);
        assert_eq!(form_urldecode("%4"), None);
        assert_eq!(form_urldecode("%FF"), None);
        assert_eq!(form_urldecode("%C3%A9").as_deref(), Some("é"));
    }

    #[test]
    fn urlencode_round_trips() {
        let s = "s3cr3t:with/special+chars%&= é";
        assert_eq!(form_urldecode(&urlencode(s)).as_deref(), Some(s));
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert!(matches!(bearer(&h), Bearer::Missing));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("BEARER abc"),
        );
        assert!(matches!(bearer(&h), Bearer::Token("abc")));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(matches!(bearer(&h), Bearer::Malformed));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eA=="),
        );
        assert!(matches!(bearer(&h), Bearer::Missing));
    }

    #[test]
    fn repeated_parameter_refused() {
        assert!(parse_query(b"a=1&a=2").is_err());
        assert_eq!(parse_query(b"a=1&b=").map(|f| f.has("b")), Ok(true));
    }
}
