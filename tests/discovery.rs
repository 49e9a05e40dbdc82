//! Authorization server metadata (OpenID Connect Discovery, RFC 8414):
//! the request, and every rejection of the answer.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::*;
use tokenkeeper::core::discovery::{self, ProviderMetadata};
use tokenkeeper::core::error::Error;

const ISSUER: &str = "https://as.example/realms/tk";

fn doc() -> Value {
    json!({
        "issuer": ISSUER,
        "authorization_endpoint": "https://as.example/realms/tk/auth",
        "token_endpoint": "https://as.example/realms/tk/token",
        "revocation_endpoint": "https://as.example/realms/tk/revoke",
        "jwks_uri": "https://as.example/realms/tk/certs",
        "userinfo_endpoint": "https://as.example/realms/tk/userinfo",
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["ES256"]
    })
}

fn parse(v: &Value, allow_http: bool) -> Result<ProviderMetadata, Error> {
    discovery::parse_discovery_response(&json_response(200, &v.to_string()), ISSUER, allow_http, T0)
}

fn patched(k: &str, v: Value) -> Value {
    let mut d = doc();
    if v.is_null() {
        d.as_object_mut().unwrap().remove(k);
    } else {
        d[k] = v;
    }
    d
}

#[test]
fn rejections() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            patched("issuer", json!("https://as.example/realms/other")),
            "AUTH_ISSUER_MISMATCH",
            "\"issuer\" does not match the expected issuer",
        ),
        (
            patched("issuer", json!(format!("{ISSUER}/"))),
            "AUTH_ISSUER_MISMATCH",
            "\"issuer\" does not match the expected issuer",
        ),
        (
            patched("issuer", json!("HTTPS://as.example/realms/tk")),
            "AUTH_ISSUER_MISMATCH",
            "\"issuer\" does not match the expected issuer",
        ),
        (
            patched("issuer", Value::Null),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body \"issuer\" property is required",
        ),
        (
            patched("issuer", json!(1)),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body \"issuer\" property must be a non-empty string",
        ),
        (
            patched("token_endpoint", Value::Null),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body \"token_endpoint\" property is required",
        ),
        (
            patched("token_endpoint", json!("http://as.example/token")),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body \"token_endpoint\" property must use https (http only on loopback or with allowInsecureHttp)",
        ),
        (
            patched("jwks_uri", json!("/certs")),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body \"jwks_uri\" property must be an absolute http(s) URL",
        ),
        (
            patched("authorization_endpoint", json!(["x"])),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body \"authorization_endpoint\" property must be a string",
        ),
        (
            patched("revocation_endpoint", json!("https://u:p@as.example/r")),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body \"revocation_endpoint\" property must not contain user info",
        ),
        (
            json!([doc()]),
            "OAUTH_INVALID_RESPONSE",
            "\"response\" body must be a top level object",
        ),
    ];
    for (body, code, msg) in cases {
        let e = parse(&body, false).unwrap_err();
        assert_eq!((e.code(), e.to_string().as_str()), (code, msg), "{body}");
    }
    // Transport-level shapes, as for a token endpoint.
    let dup = r#"{"issuer":"https://as.example/realms/tk","issuer":"https://as.example/realms/tk","token_endpoint":"https://as.example/t"}"#;
    for (resp, code) in [
        (json_response(200, dup), "OAUTH_INVALID_RESPONSE"),
        (
            json_response(404, r#"{"error":"Realm does not exist"}"#),
            "OAUTH_RESPONSE_BODY_ERROR",
        ),
        (json_response(503, "{}"), "AUTH_SERVER_UNAVAILABLE"),
        (
            response(301, &[("Location", "https://evil.example/")], ""),
            "OAUTH_RESPONSE_IS_NOT_CONFORM",
        ),
        (
            response(200, &[("Content-Type", "text/html")], "<html>"),
            "OAUTH_RESPONSE_IS_NOT_JSON",
        ),
        (json_response(200, "{"), "OAUTH_PARSE_ERROR"),
        (
            json_response(200, &format!("{{\"x\":\"{}\"}}", "a".repeat(70_000))),
            "OAUTH_INVALID_RESPONSE",
        ),
    ] {
        let e = discovery::parse_discovery_response(&resp, ISSUER, false, T0).unwrap_err();
        assert_eq!(e.code(), code, "{resp:?}");
    }
}

#[test]
fn accepts_and_reads_endpoints() {
    let m = parse(&doc(), false).unwrap();
    assert_eq!(m.issuer, ISSUER);
    assert_eq!(m.token_endpoint, "https://as.example/realms/tk/token");
    assert_eq!(
        m.jwks_uri.as_deref(),
        Some("https://as.example/realms/tk/certs")
    );
    assert_eq!(m.end_session_endpoint, None);
    assert_eq!(
        m.revocation_endpoint.as_deref(),
        Some("https://as.example/realms/tk/revoke")
    );
    // Only token_endpoint is required.
    let minimal = json!({"issuer": ISSUER, "token_endpoint": "https://as.example/t"});
    let m = parse(&minimal, false).unwrap();
    assert_eq!(m.authorization_endpoint, None);
    // http endpoints: loopback always, elsewhere only when allowed.
    let http = patched("token_endpoint", json!("http://as.example/token"));
    assert!(parse(&http, true).is_ok());
    let lo = patched("token_endpoint", json!("http://127.0.0.1:8080/token"));
    assert!(parse(&lo, false).is_ok());
}

#[test]
fn request() {
    let e = discovery::discovery_request("http://as.example/realms/tk", false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"issuer\" must use https (http only on loopback or with allowInsecureHttp)"
    );
    for bad in [
        "",
        "as.example",
        "https://as.example/?x=1",
        "https://as.example/#f",
    ] {
        assert_eq!(
            discovery::discovery_request(bad, false).unwrap_err().code(),
            "AUTH_CONFIG",
            "{bad}"
        );
    }
    let r = discovery::discovery_request(ISSUER, false).unwrap();
    assert_eq!(r.method, "GET");
    assert_eq!(r.url, format!("{ISSUER}/.well-known/openid-configuration"));
    assert_eq!(r.header("accept"), Some("application/json"));
    assert!(r.body.is_empty());
    let lo = discovery::discovery_request("http://127.0.0.1:9/realms/tk/", false).unwrap();
    assert_eq!(
        lo.url,
        "http://127.0.0.1:9/realms/tk/.well-known/openid-configuration"
    );
    assert!(discovery::discovery_request("http://as.example/", true).is_ok());
}

#[test]
fn profile_accepts_issuer_and_jwks_uri() {
    let ok = tokenkeeper::core::config::Config::from_value(&json!({"profile": {
        "kind": "oauth2", "tokenUrl": "https://as.example/t", "clientId": "app",
        "issuer": ISSUER, "jwksUri": "https://as.example/certs"
    }}))
    .unwrap();
    assert!(ok.validate().is_ok());
    for (k, v, msg) in [
        (
            "issuer",
            "https://as.example/?q",
            "\"issuer\" must not contain a query",
        ),
        (
            "issuer",
            "http://as.example",
            "\"issuer\" must use https (http only on loopback or with allowInsecureHttp)",
        ),
        (
            "jwksUri",
            "/certs",
            "\"jwksUri\" must be an absolute http(s) URL",
        ),
    ] {
        let mut profile =
            json!({"kind": "oauth2", "tokenUrl": "https://as.example/t", "clientId": "app"});
        profile[k] = json!(v);
        let cfg =
            tokenkeeper::core::config::Config::from_value(&json!({ "profile": profile })).unwrap();
        assert_eq!(cfg.validate().unwrap_err().to_string(), msg);
    }
}
