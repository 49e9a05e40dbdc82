//! What `keeper.fetch` does with the access token at a resource server:
//! which origins get it (and the profile's `apiHeaders`), and which
//! answers mean the server did not accept it (RFC 6750 §3.1).
//!
//! The adapter computes a request's origin with the platform's WHATWG
//! `URL` parser and asks [`ApiPolicy::check_origin`]; the configured
//! origins are brought to the same serialisation here (scheme and host
//! lower-cased, default ports dropped, IPv6 literals compressed), so that
//! membership is an exact comparison. Anything this module cannot bring to
//! that form is refused at construction rather than matched loosely.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::challenge;
use super::config::{Config, Profile, StaticHeaders, check_headers};
use super::error::{Error, sanitize};
use super::members::Members;

/// The statuses that mean "token not accepted" unless `rejectStatuses` says
/// otherwise.
pub const DEFAULT_REJECT_STATUSES: [u16; 1] = [401];

/// The longest origin quoted in an [`Error::OriginNotAllowed`].
const MAX_ORIGIN_CHARS: usize = 256;

/// The resource-API options as read from the options object, before
/// [`ApiPolicy::new`] checks them.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// `allowedOrigins`: the origins `keeper.fetch` may send the token to;
    /// `None` for the default (the page's origin and the profile's
    /// endpoints').
    pub allowed_origins: Option<Vec<String>>,
    /// `rejectStatuses`: the statuses that mean the token was not accepted;
    /// `None` for [`DEFAULT_REJECT_STATUSES`].
    pub reject_statuses: Option<Vec<u16>>,
}

impl ApiOptions {
    /// Reads `allowedOrigins` (an array of strings) and `rejectStatuses` (an
    /// array of statuses from 400 to 599) from the top-level options.
    pub(crate) fn from_members(m: &Members<'_>) -> Result<Self, Error> {
        let allowed_origins = m
            .get("allowedOrigins")
            .map(|v| {
                let wrong = || Error::config("allowedOrigins", "must be an array of origins");
                v.as_array()
                    .ok_or_else(wrong)?
                    .iter()
                    .map(|o| o.as_str().map(str::to_owned).ok_or_else(wrong))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let reject_statuses = m
            .get("rejectStatuses")
            .map(|v| {
                let wrong = || {
                    Error::config(
                        "rejectStatuses",
                        "must be an array of HTTP statuses from 400 to 599",
                    )
                };
                v.as_array()
                    .ok_or_else(wrong)?
                    .iter()
                    .map(|s| {
                        Value::as_u64(s)
                            .filter(|s| (400..=599).contains(s))
                            .and_then(|s| u16::try_from(s).ok())
                            .ok_or_else(wrong)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Self {
            allowed_origins,
            reject_statuses,
        })
    }
}

/// The decisions of `keeper.fetch`, built once per keeper. `Debug` shows
/// header names only: `apiHeaders` values are secrets.
#[derive(Debug, Clone)]
pub struct ApiPolicy {
    /// Serialised origins (`https://api.example`, `http://[::1]:8080`).
    origins: Vec<String>,
    /// The profile's `apiHeaders`.
    headers: StaticHeaders,
    /// Statuses that mean the token was not accepted.
    reject_statuses: Vec<u16>,
}

impl ApiPolicy {
    /// The policy of `config`. `page_origin` is the page's own origin as
    /// the platform serialises it (`location.origin`), `None` outside a
    /// page; it joins the default origins only, and an opaque one
    /// (`"null"`) is ignored. An invalid `allowedOrigins` entry or
    /// `apiHeaders` member is an [`Error::Config`] naming the option.
    pub fn new(config: &Config, page_origin: Option<&str>) -> Result<Self, Error> {
        let mut origins = Vec::new();
        if let Some(list) = &config.api.allowed_origins {
            for entry in list {
                let origin = allowed_origin(entry, config.allow_insecure_http)
                    .map_err(|reason| Error::config("allowedOrigins", reason))?;
                push_new(&mut origins, origin);
            }
        } else {
            let page = page_origin
                .and_then(|p| parse(p).ok())
                .filter(|p| is_bare(p.rest));
            let endpoints = endpoint_urls(&config.profile)
                .into_iter()
                .filter_map(|url| parse(url).ok());
            for parsed in page.into_iter().chain(endpoints) {
                push_new(&mut origins, parsed.origin);
            }
        }
        let headers = api_headers(&config.profile);
        check_headers("apiHeaders", headers)?;
        Ok(Self {
            origins,
            headers: headers.clone(),
            reject_statuses: config
                .api
                .reject_statuses
                .clone()
                .unwrap_or_else(|| DEFAULT_REJECT_STATUSES.to_vec()),
        })
    }

    /// The origins that get the token, serialised as WHATWG `URL.origin`.
    #[must_use]
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// Whether `origin` (a WHATWG-serialised `URL.origin`) may receive the
    /// token and the API headers; else [`Error::OriginNotAllowed`], which
    /// names the origin (never a path or query).
    pub fn check_origin(&self, origin: &str) -> Result<(), Error> {
        if self.origins.iter().any(|o| o == origin) {
            Ok(())
        } else {
            Err(Error::OriginNotAllowed {
                origin: sanitize(origin, MAX_ORIGIN_CHARS),
            })
        }
    }

    /// The static headers sent with the token, to allowed origins only
    /// (see [`ApiPolicy::check_origin`]).
    #[must_use]
    pub fn headers(&self) -> &StaticHeaders {
        &self.headers
    }

    /// Whether the answer to a response with `status` depends on its
    /// `WWW-Authenticate` header: when it does not, [`ApiPolicy::rejects`]
    /// is `false` and the header need not be read.
    #[must_use]
    pub fn reads_challenge(&self, status: u16) -> bool {
        status == 401 || self.reject_statuses.contains(&status)
    }

    /// Whether a resource server's answer means it did not accept the
    /// token: its status is in `rejectStatuses`, except that a Bearer
    /// challenge with `error="insufficient_scope"` never is (a renewed
    /// token has no more scope, RFC 6750 §3.1), and a 401 with
    /// `error="invalid_token"` always is.
    #[must_use]
    pub fn rejects(&self, status: u16, www_authenticate: Option<&str>) -> bool {
        if !self.reads_challenge(status) {
            return false;
        }
        let error = www_authenticate.and_then(bearer_error);
        match error.as_deref() {
            Some("insufficient_scope") => false,
            Some("invalid_token") if status == 401 => true,
            _ => self.reject_statuses.contains(&status),
        }
    }
}

/// The `error` of the first Bearer challenge (RFC 6750 §3).
fn bearer_error(header: &str) -> Option<String> {
    challenge::parse(header)
        .into_iter()
        .find(|c| c.scheme == "bearer")
        .and_then(|c| c.param("error").map(str::to_owned))
}

/// The profile's `apiHeaders`.
fn api_headers(profile: &Profile) -> &StaticHeaders {
    match profile {
        Profile::OAuth2(p) => &p.api_headers,
        Profile::Json(p) => &p.api_headers,
    }
}

/// The endpoints whose origins get the token by default: the token
/// endpoint, or the login and refresh endpoints.
fn endpoint_urls(profile: &Profile) -> Vec<&str> {
    match profile {
        Profile::OAuth2(p) => vec![p.token_url.as_str()],
        Profile::Json(p) => vec![p.login_url.as_str(), p.refresh_url.as_str()],
    }
}

fn push_new(origins: &mut Vec<String>, origin: String) {
    if !origins.contains(&origin) {
        origins.push(origin);
    }
}

/// Why an `allowedOrigins` entry is refused.
const NOT_ORIGIN: &str = "entries must be absolute http(s) origins";

/// An `allowedOrigins` entry, serialised: an origin with at most a `/`
/// after it, `https:` unless on loopback or with `allowInsecureHttp`
/// (RFC 6750 §5.3).
fn allowed_origin(entry: &str, allow_http: bool) -> Result<String, &'static str> {
    let parsed = parse(entry)?;
    if !is_bare(parsed.rest) {
        return Err("entries must be origins without a path, query or fragment");
    }
    if !parsed.secure && !parsed.loopback && !allow_http {
        return Err("entries must use https (http only on loopback or with allowInsecureHttp)");
    }
    Ok(parsed.origin)
}

/// Nothing, or `/` alone, after the authority.
fn is_bare(rest: &str) -> bool {
    rest.is_empty() || rest == "/"
}

/// An absolute http(s) URL's origin and what follows its authority.
#[derive(Debug)]
pub(super) struct Parsed<'a> {
    /// `scheme://host[:port]`, as WHATWG `URL.origin` serialises it.
    pub(super) origin: String,
    /// `https:`.
    secure: bool,
    /// A loopback host (see [`super::loopback`]).
    loopback: bool,
    /// Path, query and fragment.
    pub(super) rest: &'a str,
}

/// An absolute http(s) URL split as the WHATWG parser would: the origin
/// serialised, the rest as written. Also reads DPoP's `htu`
/// ([`super::dpop::htu`]).
pub(super) fn parse(url: &str) -> Result<Parsed<'_>, &'static str> {
    if url.len() > 2048 || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(NOT_ORIGIN);
    }
    let (scheme, rest) = url.split_once("://").ok_or(NOT_ORIGIN)?;
    let secure = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return Err(NOT_ORIGIN);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(end);
    if authority.contains('@') {
        return Err("entries must not contain user info");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or(NOT_ORIGIN)?;
        let ip: Ipv6Addr = addr.parse().map_err(|_| NOT_ORIGIN)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(NOT_ORIGIN)?),
        };
        (format!("[{}]", ipv6_text(ip)), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        (host_text(host)?, port)
    };
    let loopback = super::loopback::is_loopback_host(&host);
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| NOT_ORIGIN)?)
        }
        Some(_) => return Err(NOT_ORIGIN),
    };
    let scheme = if secure { "https" } else { "http" };
    let origin = match port {
        Some(p) if p != if secure { 443 } else { 80 } => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    };
    Ok(Parsed {
        origin,
        secure,
        loopback,
        rest,
    })
}

/// A host name, lower-cased: letters, digits, `-`, `_` and dots. A host
/// whose last label is a number is an IPv4 address to the WHATWG parser
/// (`127.1`, `0x7f.0.0.1`); only the dotted-quad form that parser would
/// produce is taken.
fn host_text(host: &str) -> Result<String, &'static str> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if host.is_empty() || !host.bytes().all(ok) {
        return Err(NOT_ORIGIN);
    }
    let host = host.to_ascii_lowercase();
    let last = host
        .strip_suffix('.')
        .unwrap_or(&host)
        .rsplit('.')
        .next()
        .unwrap_or_default();
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || last
                .strip_prefix("0x")
                .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit())));
    if numeric
        && !host
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.to_string() == host)
    {
        return Err("entries with a numeric host must be dotted-quad IPv4 addresses");
    }
    Ok(host)
}

/// An IPv6 address as the WHATWG URL serialiser writes it: lower-case hex
/// pieces, the first longest run of two or more zero pieces as `::`, no
/// embedded IPv4 form.
fn ipv6_text(ip: Ipv6Addr) -> String {
    let pieces = ip.segments();
    let (mut run_at, mut run_len) = (pieces.len(), 1);
    let mut i = 0;
    while i < pieces.len() {
        let start = i;
        while i < pieces.len() && pieces[i] == 0 {
            i += 1;
        }
        if i - start > run_len {
            (run_at, run_len) = (start, i - start);
        }
        i += 1;
    }
    let mut out = String::with_capacity(39);
    let mut i = 0;
    while i < pieces.len() {
        if i == run_at {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += run_len;
            continue;
        }
        out.push_str(&format!("{:x}", pieces[i]));
        if i + 1 < pieces.len() {
            out.push(':');
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: Value) -> Result<Config, Error> {
        let mut v = json!({
            "profile": {
                "kind": "json",
                "loginUrl": "https://Login.Example:443/Identity/Auth/Login",
                "refreshUrl": "https://refresh.example:8443/Identity/Auth/Refresh",
                "headers": { "X-API-Key": "LOGIN-KEY" },
                "apiHeaders": { "X-API-Key": "API-KEY-SENTINEL" },
            }
        });
        if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            for (k, e) in extra {
                v.insert(k.clone(), e.clone());
            }
        }
        Config::from_value(&v)
    }

    fn policy(extra: Value, page: Option<&str>) -> Result<ApiPolicy, Error> {
        let c = config(extra)?;
        c.validate()?;
        ApiPolicy::new(&c, page)
    }

    fn origins(list: &[&str]) -> Result<Vec<String>, String> {
        policy(json!({ "allowedOrigins": list }), None)
            .map(|p| p.origins().to_vec())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn entries_are_serialised_as_url_origin() {
        let table = [
            ("https://API.Example.com", "https://api.example.com"),
            ("HTTPS://api.example.com/", "https://api.example.com"),
            ("https://api.example.com:443", "https://api.example.com"),
            ("https://api.example.com:0443/", "https://api.example.com"),
            (
                "https://api.example.com:8443",
                "https://api.example.com:8443",
            ),
            ("https://api.example.com:", "https://api.example.com"),
            ("http://LOCALHOST:80", "http://localhost"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("http://127.0.0.1:3000/", "http://127.0.0.1:3000"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[0:0:0:0:0:0:0:1]:8080", "http://[::1]:8080"),
            ("https://[2001:DB8::1]", "https://[2001:db8::1]"),
            (
                "https://[2001:db8:0:0:1:0:0:1]",
                "https://[2001:db8::1:0:0:1]",
            ),
            (
                "https://[2001:db8:0:1:1:1:1:1]",
                "https://[2001:db8:0:1:1:1:1:1]",
            ),
            ("https://[1::]:443", "https://[1::]"),
            ("https://[::ffff:192.0.2.1]", "https://[::ffff:c000:201]"),
            ("https://api_1.example.", "https://api_1.example."),
        ];
        for (entry, want) in table {
            assert_eq!(origins(&[entry]), Ok(vec![want.to_owned()]), "{entry}");
        }
        // Duplicates after normalisation collapse.
        assert_eq!(
            origins(&["https://a.example", "https://A.example:443/"]),
            Ok(vec!["https://a.example".to_owned()])
        );
    }

    #[test]
    fn entries_that_are_not_bare_origins_are_refused_by_name() {
        let refused = [
            "https://api.example.com/v1",
            "https://api.example.com//",
            "https://api.example.com?x=1",
            "https://api.example.com/?x=1",
            "https://api.example.com#f",
            "https://user@api.example.com",
            "https://user:SENTINEL@api.example.com",
            "api.example.com",
            "//api.example.com",
            "ftp://api.example.com",
            "wss://api.example.com",
            "https://",
            "https://:443",
            "https://api.example.com:99999",
            "https://api.example.com:+443",
            "https://api.example.com:x",
            "https://*.example.com",
            "https://api.example.com\\evil",
            "https://exa%6Dple.com",
            "https://bücher.example",
            "https://api example.com",
            "https://[::1",
            "https://[::1]x",
            "https://[fe80::1%25eth0]",
            "http://127.1",
            "http://0x7f.0.0.1",
            "http://127.000.0.1",
            "https://example.123",
            "http://api.example.com",
            "http://[2001:db8::1]",
            "",
        ];
        for entry in refused {
            let e = origins(&[entry]).unwrap_err();
            assert!(e.starts_with("\"allowedOrigins\" "), "{entry}: {e}");
            assert!(!e.contains("SENTINEL"), "{e}");
        }
        let e = policy(json!({ "allowedOrigins": "https://a.example" }), None).unwrap_err();
        assert_eq!(e.code(), "AUTH_CONFIG");
        assert_eq!(
            e.to_string(),
            "\"allowedOrigins\" must be an array of origins"
        );
        // Plain http beyond loopback with the explicit opt-in only.
        assert_eq!(
            policy(
                json!({ "allowedOrigins": ["http://api.example.com"], "allowInsecureHttp": true }),
                None
            )
            .map(|p| p.origins().to_vec())
            .map_err(|e| e.to_string()),
            Ok(vec!["http://api.example.com".to_owned()])
        );
    }

    #[test]
    fn default_is_the_page_and_the_endpoints() {
        let p = policy(json!({}), Some("https://app.example")).unwrap();
        assert_eq!(
            p.origins(),
            [
                "https://app.example",
                "https://login.example",
                "https://refresh.example:8443"
            ]
        );
        // Outside a page, and with an opaque page origin.
        for page in [None, Some("null"), Some("file:///x")] {
            let p = policy(json!({}), page).unwrap();
            assert_eq!(
                p.origins(),
                ["https://login.example", "https://refresh.example:8443"]
            );
        }
        // An explicit list replaces the default, page included.
        let p = policy(
            json!({ "allowedOrigins": ["https://api.example"] }),
            Some("https://app.example"),
        )
        .unwrap();
        assert_eq!(p.origins(), ["https://api.example"]);
        assert!(p.check_origin("https://app.example").is_err());
        assert!(p.check_origin("https://login.example").is_err());
        // OAuth 2.0: the token endpoint's origin.
        let c = Config::from_value(&json!({ "profile": {
            "kind": "oauth2", "tokenUrl": "http://[::1]:9000/token", "clientId": "c" } }))
        .unwrap();
        let p = ApiPolicy::new(&c, None).unwrap();
        assert_eq!(p.origins(), ["http://[::1]:9000"]);
    }

    #[test]
    fn headers_go_to_allowed_origins_only() {
        let p = policy(
            json!({ "allowedOrigins": ["https://api.example", "http://[::1]:8080"] }),
            None,
        )
        .unwrap();
        let value = p.headers().0.get("X-API-Key").map(String::as_str);
        assert_eq!(value, Some("API-KEY-SENTINEL"));
        assert!(p.check_origin("https://api.example").is_ok());
        assert!(p.check_origin("http://[::1]:8080").is_ok());
        for foreign in [
            "https://api.example.evil",
            "https://evil.api.example",
            "http://api.example",
            "https://api.example:8443",
            "https://API.example",
            "http://[::1]",
            "null",
            "",
        ] {
            let e = p.check_origin(foreign).unwrap_err();
            assert_eq!(e.code(), "AUTH_ORIGIN_NOT_ALLOWED");
            assert_eq!(
                e.to_string(),
                format!("\"{foreign}\" is not an allowed origin for the access token")
            );
        }
        // Values are secrets: never in Debug, nor in any error.
        let debug = format!("{p:?}");
        assert!(debug.contains("X-API-Key") && !debug.contains("API-KEY-SENTINEL"));
        // The login headers are not API headers.
        assert!(!debug.contains("LOGIN-KEY"));
        let c = Config::from_value(&json!({ "profile": {
            "kind": "oauth2", "tokenUrl": "https://as.example/t", "clientId": "c" } }))
        .unwrap();
        assert!(ApiPolicy::new(&c, None).unwrap().headers().0.is_empty());
    }

    #[test]
    fn api_headers_are_checked_like_the_login_headers() {
        for headers in [
            json!({ "Authorization": "Bearer SENTINEL" }),
            json!({ "authorization": "SENTINEL" }),
            json!({ "Cookie": "SENTINEL" }),
            json!({ "Content-Type": "SENTINEL" }),
            json!({ "Host": "SENTINEL" }),
            json!({ "X Key": "SENTINEL" }),
            json!({ "": "SENTINEL" }),
            json!({ "X-Key": "SENTINEL\r\nX-Evil: 1" }),
            json!({ "X-Key": "SENTINEL\u{e9}" }),
        ] {
            for kind in ["oauth2", "json"] {
                let profile = json!({ "kind": kind, "tokenUrl": "https://as.example/t",
                    "clientId": "c", "loginUrl": "https://as.example/l",
                    "refreshUrl": "https://as.example/r", "apiHeaders": headers });
                let mut profile = profile;
                if let Some(p) = profile.as_object_mut() {
                    let drop: &[&str] = if kind == "json" {
                        &["tokenUrl", "clientId"]
                    } else {
                        &["loginUrl", "refreshUrl"]
                    };
                    for k in drop {
                        p.remove(*k);
                    }
                }
                let c = Config::from_value(&json!({ "profile": profile })).unwrap();
                let e = c.validate().unwrap_err();
                assert_eq!(e.code(), "AUTH_CONFIG");
                let text = e.to_string();
                assert!(text.starts_with("\"apiHeaders\" "), "{text}");
                assert!(!text.contains("SENTINEL"), "{text}");
                assert!(ApiPolicy::new(&c, None).is_err());
            }
        }
        let e = Config::from_value(&json!({ "profile": {
            "kind": "oauth2", "tokenUrl": "https://as.example/t", "clientId": "c",
            "apiHeaders": { "X-Key": 42 } } }))
        .unwrap_err();
        assert_eq!(e.to_string(), "\"apiHeaders\" must be an object of strings");
    }

    #[test]
    fn rejections_follow_the_statuses_and_rfc_6750() {
        let default = policy(json!({}), None).unwrap();
        let both = policy(json!({ "rejectStatuses": [401, 403] }), None).unwrap();
        let only403 = policy(json!({ "rejectStatuses": [403] }), None).unwrap();
        let none = policy(json!({ "rejectStatuses": [] }), None).unwrap();
        let invalid = Some(r#"Bearer realm="api", error="invalid_token""#);
        let scope = Some(r#"Bearer error="insufficient_scope", scope="write""#);
        let plain = Some(r#"Bearer realm="api""#);
        let second = Some(r#"Basic realm="x", Bearer error=invalid_token"#);
        let upper = Some(r#"BEARER ERROR="invalid_token""#);
        let scope2 = Some(r#"Basic realm="x", Bearer error="insufficient_scope""#);
        let basic = Some(r#"Basic error="insufficient_scope""#);
        // (status, WWW-Authenticate, default, [401, 403], [403], [])
        let table = [
            (200, None, false, false, false, false),
            (401, None, true, true, false, false),
            (401, plain, true, true, false, false),
            (401, invalid, true, true, true, true),
            (401, second, true, true, true, true),
            (401, upper, true, true, true, true),
            (401, scope, false, false, false, false),
            (403, None, false, true, true, false),
            (403, plain, false, true, true, false),
            (403, scope, false, false, false, false),
            (403, scope2, false, false, false, false),
            (403, invalid, false, true, true, false),
            (403, basic, false, true, true, false),
            (400, invalid, false, false, false, false),
            (404, None, false, false, false, false),
            (500, invalid, false, false, false, false),
        ];
        for (status, header, d, b, o, n) in table {
            let got = [&default, &both, &only403, &none].map(|p| p.rejects(status, header));
            assert_eq!(got, [d, b, o, n], "{status} {header:?}");
            for p in [&default, &both, &only403, &none] {
                if !p.reads_challenge(status) {
                    assert!(!p.rejects(status, invalid) && !p.rejects(status, None));
                }
            }
        }
        assert!(!default.reads_challenge(200) && !default.reads_challenge(403));
        assert!(both.reads_challenge(403) && none.reads_challenge(401));
    }

    #[test]
    fn reject_statuses_must_be_error_statuses() {
        for bad in [
            json!([200]),
            json!([399]),
            json!([600]),
            json!([401.5]),
            json!(["401"]),
            json!(401),
            json!([-401]),
        ] {
            let e = Config::from_value(&json!({
                "profile": { "kind": "oauth2", "tokenUrl": "https://as.example/t", "clientId": "c" },
                "rejectStatuses": bad }))
            .unwrap_err();
            assert_eq!(
                e.to_string(),
                "\"rejectStatuses\" must be an array of HTTP statuses from 400 to 599"
            );
        }
    }
}
