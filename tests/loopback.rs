//! Plain `http:` without `allowInsecureHttp` on loopback only, by one rule
//! (`core::loopback`): loopback IP literals and `localhost` (RFC 8252
//! §8.3), never a name that only starts like one. Through every public
//! door a URL comes in by: the token, login and refresh endpoints, the
//! discovery issuer and the endpoints discovery returns, `allowedOrigins`.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{T0, json_response};
use tokenkeeper::core::api::ApiPolicy;
use tokenkeeper::core::config::Config;
use tokenkeeper::core::discovery;
use tokenkeeper::core::error::Error;

/// Hosts (with a port where it matters) that are loopback.
const LOOPBACK: &[&str] = &[
    "127.0.0.1",
    "127.0.0.1:8080",
    "127.1.2.3",
    "[::1]",
    "[::1]:8080",
    "[0:0:0:0:0:0:0:1]",
    "localhost",
    "LocalHost:3000",
];

/// Hosts that are not, though a lax check (or a lax URL parser) might take
/// them for loopback.
const NOT_LOOPBACK: &[&str] = &[
    "127.x.example",
    "127.attacker.example",
    "127.0.0.1.nip.io",
    "127.0.0.1.nip.io:8080",
    "localhost.example",
    "localhost.",
    "0x7f000001",
    "2130706433",
    "127.1",
    "0177.0.0.1",
    "127.000.0.1",
    "[::ffff:127.0.0.1]",
];

const NEEDS_HTTPS: &str = "must use https (http only on loopback or with allowInsecureHttp)";

fn oauth2(token_url: &str, allow_http: bool) -> Result<(), Error> {
    let c = Config::from_value(&json!({
        "profile": { "kind": "oauth2", "tokenUrl": token_url, "clientId": "c" },
        "allowInsecureHttp": allow_http,
    }))?;
    c.validate()
}

fn json_profile(login_url: &str, allow_http: bool) -> Result<(), Error> {
    let c = Config::from_value(&json!({
        "profile": {
            "kind": "json",
            "loginUrl": login_url,
            "refreshUrl": "https://as.example/refresh",
        },
        "allowInsecureHttp": allow_http,
    }))?;
    c.validate()
}

fn allowed_origin(origin: &str, allow_http: bool) -> Result<Vec<String>, Error> {
    let c = Config::from_value(&json!({
        "profile": { "kind": "oauth2", "tokenUrl": "https://as.example/token", "clientId": "c" },
        "allowedOrigins": [origin],
        "allowInsecureHttp": allow_http,
    }))?;
    c.validate()?;
    Ok(ApiPolicy::new(&c, None)?.origins().to_vec())
}

/// Discovery metadata for `issuer` whose token endpoint is `token_endpoint`.
fn discovered(issuer: &str, token_endpoint: &str, allow_http: bool) -> Result<(), Error> {
    let doc: Value = json!({ "issuer": issuer, "token_endpoint": token_endpoint });
    discovery::parse_discovery_response(
        &json_response(200, &doc.to_string()),
        issuer,
        allow_http,
        T0,
    )
    .map(|_| ())
}

#[test]
fn endpoints_over_http_need_a_loopback_literal() {
    for host in LOOPBACK {
        let url = format!("http://{host}/token");
        assert_eq!(
            oauth2(&url, false).map_err(|e| e.to_string()),
            Ok(()),
            "{url}"
        );
        assert_eq!(
            json_profile(&url, false).map_err(|e| e.to_string()),
            Ok(()),
            "{url}"
        );
        assert!(
            discovery::discovery_url(&format!("http://{host}/realms/tk"), false).is_ok(),
            "{url}"
        );
        assert_eq!(
            discovered("https://as.example", &url, false).map_err(|e| e.to_string()),
            Ok(()),
            "{url}"
        );
    }
    for host in NOT_LOOPBACK {
        let url = format!("http://{host}/token");
        let e = oauth2(&url, false).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string()),
            ("AUTH_CONFIG", format!("\"tokenUrl\" {NEEDS_HTTPS}")),
            "{url}"
        );
        let e = json_profile(&url, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("\"loginUrl\" {NEEDS_HTTPS}"),
            "{url}"
        );
        let e = discovery::discovery_url(&format!("http://{host}/realms/tk"), false).unwrap_err();
        assert_eq!(e.to_string(), format!("\"issuer\" {NEEDS_HTTPS}"), "{url}");
        let e = discovered("https://as.example", &url, false).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string()),
            (
                "OAUTH_INVALID_RESPONSE",
                format!("\"response\" body \"token_endpoint\" property {NEEDS_HTTPS}")
            ),
            "{url}"
        );
        // The explicit opt-in still allows them, and https is fine.
        assert!(oauth2(&url, true).is_ok(), "{url}");
        assert!(
            discovered("https://as.example", &url, true).is_ok(),
            "{url}"
        );
        assert!(
            oauth2(&format!("https://{host}/token"), false).is_ok(),
            "{url}"
        );
    }
}

#[test]
fn allowed_origins_over_http_need_a_loopback_literal() {
    for (entry, origin) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.1.2.3", "http://127.1.2.3"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://[0:0:0:0:0:0:0:1]", "http://[::1]"),
        ("http://LocalHost:3000", "http://localhost:3000"),
    ] {
        let got = allowed_origin(entry, false).map_err(|e| e.to_string());
        assert_eq!(got, Ok(vec![origin.to_owned()]), "{entry}");
    }
    for host in NOT_LOOPBACK {
        let entry = format!("http://{host}");
        let e = allowed_origin(&entry, false).unwrap_err();
        assert_eq!(e.code(), "AUTH_CONFIG", "{entry}");
        assert!(
            e.to_string().starts_with("\"allowedOrigins\" "),
            "{entry}: {e}"
        );
    }
}
