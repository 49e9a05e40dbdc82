//! The redirect login in the core: the authorization request, the checks of
//! the authorization response, ID token validation and JWK selection; and
//! the driver's exchange that leaves the session untouched until adopted.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64ct::{Base64UrlUnpadded, Encoding};
use futures::executor::block_on;
use serde_json::{Map, Value, json};
use support::*;
use tokenkeeper::core::config::Config;
use tokenkeeper::core::error::Error;
use tokenkeeper::core::id_token::{self, Expectations, JwsAlg};
use tokenkeeper::core::redirect::{
    self, AuthorizeParams, Expected, MAX_CALLBACK_QUERY_BYTES, PENDING_MAX_AGE_MS, PendingLogin,
    RedirectRandom, Refusal,
};
use tokenkeeper::core::request::{Credentials, s256_challenge};
use tokenkeeper::core::secret::IdToken;
use tokenkeeper::core::time::UnixMillis;
use tokenkeeper::driver::{Driver, DriverOptions};
use tokenkeeper::platform::fake::{Expect, FakePlatform, Reply};

const ISSUER: &str = "https://as.example/realms/tk";
const TOKEN_URL: &str = "https://as.example/realms/tk/token";
const AUTH_URL: &str = "https://as.example/realms/tk/auth";
const CALLBACK: &str = "https://app.example/callback";

fn oidc() -> Config {
    config(json!({"profile": {
        "kind": "oauth2",
        "tokenUrl": TOKEN_URL,
        "authorizationUrl": AUTH_URL,
        "clientId": "app",
        "scope": "openid profile",
        "issuer": ISSUER,
        "jwksUri": "https://as.example/realms/tk/certs"
    }}))
}

fn random() -> RedirectRandom {
    let mut bytes = [0u8; 64];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap();
    }
    RedirectRandom::from_bytes(&bytes)
}

fn begin(params: &AuthorizeParams) -> Result<redirect::AuthorizationRequest, Error> {
    redirect::begin(&oidc(), params, Some(CALLBACK), &random(), T0)
}

fn pending() -> PendingLogin {
    begin(&AuthorizeParams::default()).unwrap().pending
}

fn query(url: &str) -> Vec<(String, String)> {
    tokenkeeper::platform::fake::decode_form(url.split_once('?').unwrap().1.as_bytes())
}

fn callback(pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                tokenkeeper::core::request::form_encode(k),
                tokenkeeper::core::request::form_encode(v)
            )
        })
        .collect();
    format!("{CALLBACK}?{}#frag", q.join("&"))
}

// ---- the authorization request ------------------------------------------

#[test]
fn begin_rejects_bad_input() {
    let json = config(
        json!({"profile": {"kind": "json", "loginUrl": "https://a.example/l", "refreshUrl": "https://a.example/r"}}),
    );
    let e = redirect::begin(&json, &AuthorizeParams::default(), None, &random(), T0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"profile\" must be oauth2 for a redirect login"
    );
    let no_redirect =
        redirect::begin(&oidc(), &AuthorizeParams::default(), None, &random(), T0).unwrap_err();
    assert_eq!(
        no_redirect.to_string(),
        "\"redirectUri\" is required for a redirect login"
    );
    for (uri, msg) in [
        ("/callback", "\"redirectUri\" must be an absolute URI"),
        (
            "https://app.example/cb#x",
            "\"redirectUri\" must not contain a fragment",
        ),
        (
            "https://app.example/a b",
            "\"redirectUri\" must be an absolute URI",
        ),
    ] {
        let p = AuthorizeParams {
            redirect_uri: Some(uri.into()),
            ..AuthorizeParams::default()
        };
        assert_eq!(begin(&p).unwrap_err().to_string(), msg, "{uri}");
    }
    let bad_scope = AuthorizeParams {
        scope: Some("openid \"x\"".into()),
        ..AuthorizeParams::default()
    };
    assert_eq!(begin(&bad_scope).unwrap_err().code(), "AUTH_CONFIG");
    for name in ["state", "code_challenge", "nonce", "redirect_uri", ""] {
        let p = AuthorizeParams {
            extra_params: [(name.to_owned(), "x".to_owned())].into(),
            ..AuthorizeParams::default()
        };
        assert_eq!(begin(&p).unwrap_err().code(), "AUTH_CONFIG", "{name}");
    }
}

#[test]
fn begin_builds_the_request_and_the_pending_login() {
    let params = AuthorizeParams {
        redirect_uri: None,
        scope: Some("openid email".into()),
        extra_params: [("prompt".to_owned(), "login".to_owned())].into(),
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
    };
    let req = begin(&params).unwrap();
    assert!(req.url.starts_with(&format!("{AUTH_URL}?")));
    let q = query(&req.url);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("response_type"), Some("code"));
    assert_eq!(
        get("dpop_jkt"),
        Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    );
    assert_eq!(get("client_id"), Some("app"));
    assert_eq!(get("redirect_uri"), Some(CALLBACK));
    assert_eq!(get("scope"), Some("openid email"));
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert_eq!(get("prompt"), Some("login"));
    let p = &req.pending;
    assert_eq!(get("state"), Some(p.state.as_str()));
    assert_eq!(get("nonce"), Some(p.nonce.as_str()));
    assert_eq!(
        get("code_challenge"),
        Some(s256_challenge(&p.code_verifier).as_str())
    );
    assert_eq!(p.code_verifier.len(), 43);
    assert_eq!(p.state.len(), 22);
    assert_ne!(p.state, p.nonce);
    assert_eq!(p.redirect_uri, CALLBACK);
    // The profile's redirect URI wins over the page's; the parameter over both.
    let mut cfg = oidc();
    if let tokenkeeper::core::config::Profile::OAuth2(o) = &mut cfg.profile {
        o.redirect_uri = Some("https://app.example/profile-cb".into());
    }
    let r = redirect::begin(
        &cfg,
        &AuthorizeParams::default(),
        Some(CALLBACK),
        &random(),
        T0,
    );
    assert_eq!(
        r.unwrap().pending.redirect_uri,
        "https://app.example/profile-cb"
    );
    // Debug shows neither state, nonce nor verifier; the stored form round-trips.
    let debug = format!("{req:?}");
    for secret in [&p.state, &p.nonce, &p.code_verifier] {
        assert!(!format!("{p:?}").contains(secret.as_str()));
        assert!(req.url.contains(secret.as_str()) != (secret == &p.code_verifier));
        assert!(!debug.contains(secret.as_str()), "{debug}");
    }
    let back = PendingLogin::from_stored(&p.to_stored()).unwrap();
    assert_eq!(back.state, p.state);
    assert_eq!(back.code_verifier, p.code_verifier);
    for bad in [
        "",
        "{}",
        "null",
        r#"{"v":2,"state":"s","nonce":"n","codeVerifier":"v","redirectUri":"r","createdAt":1}"#,
    ] {
        assert_eq!(
            PendingLogin::from_stored(bad).unwrap_err().code(),
            "AUTH_NO_PENDING_LOGIN"
        );
    }
}

// ---- the authorization response -----------------------------------------

#[test]
fn complete_rejects_every_bad_response() {
    let p = pending();
    let state = p.state.clone();
    // (callback, code, message, whether the pending login is used up: once
    // the response carried its state, RFC 6749 §10.12)
    let cases: Vec<(String, &str, String, bool)> = vec![
        (
            CALLBACK.to_owned(),
            "AUTH_CALLBACK_INVALID",
            "authorization response \"code\" parameter is missing: the URL is not an authorization response".into(),
            false,
        ),
        (
            callback(&[("code", "c1"), ("state", "other")]),
            "AUTH_STATE_MISMATCH",
            "\"state\" of the authorization response does not match".into(),
            false,
        ),
        (
            callback(&[("code", "c1")]),
            "AUTH_STATE_MISMATCH",
            "\"state\" of the authorization response does not match".into(),
            false,
        ),
        (
            callback(&[("code", "c1"), ("state", &state.to_uppercase())]),
            "AUTH_STATE_MISMATCH",
            "\"state\" of the authorization response does not match".into(),
            false,
        ),
        (
            callback(&[("code", "c1"), ("state", &state), ("iss", "https://evil.example")]),
            "AUTH_ISSUER_MISMATCH",
            "\"iss\" does not match the expected issuer".into(),
            true,
        ),
        (
            callback(&[("code", "c1"), ("state", &state), ("state", &state)]),
            "AUTH_CALLBACK_INVALID",
            "authorization response \"state\" parameter must not appear more than once".into(),
            false,
        ),
        (
            callback(&[("code", ""), ("state", &state)]),
            "AUTH_CALLBACK_INVALID",
            "authorization response \"code\" parameter must be a non-empty string".into(),
            true,
        ),
        (
            callback(&[
                ("error", "access_denied"),
                ("error_description", "User said no\r\n"),
                ("state", &state),
            ]),
            "OAUTH_AUTHORIZATION_RESPONSE_ERROR",
            "authorization server responded with an error: \"access_denied\"".into(),
            true,
        ),
    ];
    let expected = Expected {
        issuer: Some(ISSUER),
        require_iss: false,
    };
    for (url, code, msg, used_up) in cases {
        let Refusal {
            error: e,
            used_up: u,
        } = redirect::complete(&p, &url, expected, T0).unwrap_err();
        assert_eq!(e.code(), code, "{url}");
        assert_eq!(e.to_string(), msg, "{url}");
        assert_eq!(u, used_up, "{url}");
        assert!(!e.to_string().contains("c1"));
        assert!(!format!("{e:?}").contains(&p.code_verifier));
    }
    let denied = callback(&[
        ("error", "access_denied"),
        ("error_description", "User said no\r\n"),
        ("state", &state),
    ]);
    let e = redirect::complete(&p, &denied, Expected::default(), T0)
        .unwrap_err()
        .error;
    assert_eq!(e.error(), Some("access_denied"));
    assert_eq!(e.error_description(), Some("User said no"));
    assert_eq!(e.status(), None);
    // Too old: refused, and of no further use.
    let ok = callback(&[("code", "c1"), ("state", &state)]);
    let late = UnixMillis(T0.0 + PENDING_MAX_AGE_MS + 1);
    let r = redirect::complete(&p, &ok, Expected::default(), late).unwrap_err();
    assert_eq!(r.error.code(), "AUTH_NO_PENDING_LOGIN");
    assert!(r.used_up);
}

#[test]
fn iss_is_required_when_the_provider_says_it_sends_one() {
    let p = pending();
    let without = callback(&[("code", "c1"), ("state", &p.state)]);
    let with = callback(&[("code", "c1"), ("state", &p.state), ("iss", ISSUER)]);
    let strict = Expected {
        issuer: Some(ISSUER),
        require_iss: true,
    };
    let r = redirect::complete(&p, &without, strict, T0).unwrap_err();
    assert_eq!(r.error.code(), "AUTH_CALLBACK_INVALID");
    assert_eq!(
        r.error.to_string(),
        "authorization response \"iss\" parameter is missing, though the provider says it sends one (RFC 9207)"
    );
    assert!(r.used_up);
    assert!(redirect::complete(&p, &with, strict, T0).is_ok());
    // Without the provider's word, a missing iss is accepted.
    let lax = Expected {
        issuer: Some(ISSUER),
        require_iss: false,
    };
    assert!(redirect::complete(&p, &without, lax, T0).is_ok());
    // requireIss without an issuer to compare with is a configuration error.
    let e = Config::from_value(&json!({"profile": {
        "kind": "oauth2", "tokenUrl": TOKEN_URL, "clientId": "app", "requireIss": true
    }}))
    .and_then(|c| c.validate().map(|()| c))
    .unwrap_err();
    assert_eq!(e.to_string(), "\"requireIss\" needs issuer");
}

#[test]
fn an_openid_login_expects_an_id_token() {
    let p = pending();
    assert!(p.openid);
    let url = callback(&[("code", "c1"), ("state", &p.state)]);
    let done = redirect::complete(&p, &url, Expected::default(), T0).unwrap();
    assert!(done.id_token_required);
    let plain = redirect::begin(
        &oidc(),
        &AuthorizeParams {
            scope: Some("profile openidish".into()),
            ..AuthorizeParams::default()
        },
        Some(CALLBACK),
        &random(),
        T0,
    )
    .unwrap()
    .pending;
    assert!(!plain.openid);
    let back = PendingLogin::from_stored(&p.to_stored()).unwrap();
    assert!(back.openid);
    let url = callback(&[("code", "c1"), ("state", &plain.state)]);
    let done = redirect::complete(&plain, &url, Expected::default(), T0).unwrap();
    assert!(!done.id_token_required);
    assert!(!format!("{done:?}").contains(&plain.nonce));
    assert!(!format!("{done:?}").contains("c1"));
}

#[test]
fn the_callback_query_is_bounded_and_read_in_one_pass() {
    let p = pending();
    // The largest query read: every name distinct, so the repeat check
    // must look at all of them.
    let mut pairs: Vec<String> = vec![format!("code=c1&state={}", p.state)];
    let mut i = 0;
    while pairs.iter().map(|s| s.len() + 1).sum::<usize>() + 12 < MAX_CALLBACK_QUERY_BYTES {
        pairs.push(format!("p{i}=v"));
        i += 1;
    }
    let query = pairs.join("&");
    assert!(query.len() <= MAX_CALLBACK_QUERY_BYTES);
    let url = format!("{CALLBACK}?{query}");
    assert!(redirect::complete(&p, &url, Expected::default(), T0).is_ok());
    // One byte more is refused before any decoding.
    let over = format!(
        "{url}{}",
        "x".repeat(MAX_CALLBACK_QUERY_BYTES + 1 - query.len())
    );
    let r = redirect::complete(&p, &over, Expected::default(), T0).unwrap_err();
    assert_eq!(r.error.code(), "AUTH_CALLBACK_INVALID");
    assert_eq!(
        r.error.to_string(),
        "authorization response \"query\" parameter exceeds 16384 bytes"
    );
    assert!(!r.used_up);
    // A repeat late in a long query is still found.
    let repeated = format!("{url}&p0=again");
    let r = redirect::complete(&p, &repeated, Expected::default(), T0).unwrap_err();
    assert_eq!(
        r.error.to_string(),
        "authorization response \"query\" parameter must not appear more than once"
    );
}

#[test]
fn complete_returns_code_credentials() {
    let p = pending();
    // iss may be absent, or equal; unknown parameters are ignored.
    for iss in [None, Some(ISSUER)] {
        let mut pairs = vec![
            ("code", "c+1/é"),
            ("state", p.state.as_str()),
            ("session_state", "x"),
        ];
        if let Some(i) = iss {
            pairs.push(("iss", i));
        }
        let expected = Expected {
            issuer: Some(ISSUER),
            require_iss: iss.is_some(),
        };
        let done = redirect::complete(&p, &callback(&pairs), expected, T0).unwrap();
        assert_eq!(done.nonce, p.nonce);
        let Credentials::AuthorizationCode {
            code,
            code_verifier,
            redirect_uri,
        } = done.credentials
        else {
            panic!("not a code")
        };
        assert_eq!(code.secret(), "c+1/é");
        assert_eq!(code_verifier.secret(), p.code_verifier);
        assert_eq!(redirect_uri, CALLBACK);
    }
    // Without a configured issuer, iss is not compared.
    let url = callback(&[
        ("code", "c"),
        ("state", &p.state),
        ("iss", "https://x.example"),
    ]);
    assert!(redirect::complete(&p, &url, Expected::default(), T0).is_ok());
}

// ---- ID token ------------------------------------------------------------

fn b64(v: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(v)
}

fn token(header: &Value, claims: &Value, sig_len: usize) -> IdToken {
    IdToken::new(format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&vec![7u8; sig_len])
    ))
}

fn good_claims() -> Value {
    json!({
        "iss": ISSUER, "aud": "app", "sub": "u1", "nonce": "N1",
        "exp": secs(T0) + 300, "iat": secs(T0), "auth_time": secs(T0)
    })
}

fn es256() -> Value {
    json!({"alg": "ES256", "kid": "k1", "typ": "JWT"})
}

const EXPECT: Expectations<'static> = Expectations {
    issuer: ISSUER,
    client_id: "app",
    nonce: Some("N1"),
    leeway_ms: 60_000,
};

fn check(
    header: &Value,
    claims: &Value,
    sig_len: usize,
) -> Result<id_token::UnverifiedIdToken, Error> {
    id_token::validate_claims(&token(header, claims, sig_len), &EXPECT, T0)
}

fn with(patch: &[(&str, Value)]) -> Value {
    let mut c = good_claims();
    for (k, v) in patch {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(*k);
        } else {
            c[*k] = v.clone();
        }
    }
    c
}

#[test]
fn id_token_rejections() {
    let now = secs(T0);
    let cases: Vec<(Value, Value, usize, &str)> = vec![
        (
            json!({"alg": "none"}),
            good_claims(),
            0,
            "\"id_token\" alg must not be \"none\"",
        ),
        (
            json!({"alg": "none"}),
            good_claims(),
            64,
            "\"id_token\" alg must not be \"none\"",
        ),
        (
            json!({"alg": "HS256"}),
            good_claims(),
            32,
            "\"id_token\" alg is not supported",
        ),
        (
            json!({"alg": "ES256", "crit": ["exp"]}),
            good_claims(),
            64,
            "\"id_token\" crit is not supported",
        ),
        (
            es256(),
            good_claims(),
            63,
            "\"id_token\" signature has the wrong length",
        ),
        (
            json!({"alg": "RS256"}),
            good_claims(),
            0,
            "\"id_token\" signature has the wrong length",
        ),
        (
            es256(),
            with(&[("iss", json!("https://as.example/realms/other"))]),
            64,
            "\"id_token\" iss does not match the issuer",
        ),
        (
            es256(),
            with(&[("iss", json!(format!("{ISSUER}/")))]),
            64,
            "\"id_token\" iss does not match the issuer",
        ),
        (
            es256(),
            with(&[("iss", Value::Null)]),
            64,
            "\"id_token\" iss is required",
        ),
        (
            es256(),
            with(&[("aud", json!("other"))]),
            64,
            "\"id_token\" aud does not contain the client id",
        ),
        (
            es256(),
            with(&[("aud", json!(["other", "x"]))]),
            64,
            "\"id_token\" aud does not contain the client id",
        ),
        (
            es256(),
            with(&[("aud", json!([]))]),
            64,
            "\"id_token\" aud must be a string or an array of strings",
        ),
        (
            es256(),
            with(&[("aud", json!(["app", 1]))]),
            64,
            "\"id_token\" aud must be a string or an array of strings",
        ),
        (
            es256(),
            with(&[("aud", Value::Null)]),
            64,
            "\"id_token\" aud is required",
        ),
        (
            es256(),
            with(&[("aud", json!(["app", "api"]))]),
            64,
            "\"id_token\" azp is required with several audiences",
        ),
        (
            es256(),
            with(&[("azp", json!("other"))]),
            64,
            "\"id_token\" azp is not the client id",
        ),
        (
            es256(),
            with(&[("sub", json!(""))]),
            64,
            "\"id_token\" sub must be a non-empty string",
        ),
        (
            es256(),
            with(&[("exp", json!(now - 61))]),
            64,
            "\"id_token\" exp has passed",
        ),
        (
            es256(),
            with(&[("exp", json!(now - 60))]),
            64,
            "\"id_token\" exp has passed",
        ),
        (
            es256(),
            with(&[("exp", Value::Null)]),
            64,
            "\"id_token\" exp is required",
        ),
        (
            es256(),
            with(&[("exp", json!("soon"))]),
            64,
            "\"id_token\" exp must be a non-negative number",
        ),
        (
            es256(),
            with(&[("iat", json!(now + 61))]),
            64,
            "\"id_token\" iat is in the future",
        ),
        (
            es256(),
            with(&[("iat", Value::Null)]),
            64,
            "\"id_token\" iat is required",
        ),
        (
            es256(),
            with(&[("nbf", json!(now + 120))]),
            64,
            "\"id_token\" nbf is in the future",
        ),
        (
            es256(),
            with(&[("nonce", json!("N2"))]),
            64,
            "\"id_token\" nonce does not match the nonce sent",
        ),
        (
            es256(),
            with(&[("nonce", Value::Null)]),
            64,
            "\"id_token\" nonce is required",
        ),
    ];
    for (header, claims, sig, msg) in cases {
        let e = check(&header, &claims, sig).unwrap_err();
        assert_eq!(e.to_string(), msg, "{header} {claims}");
        assert_eq!(e.code(), "AUTH_ID_TOKEN_INVALID");
        assert!(!e.is_transient());
    }
    for bad in ["", "a.b", "a.b.c.d", "!!.??.x", "e30.bm90IGpzb24.c2ln"] {
        let e = id_token::validate_claims(&IdToken::new(bad), &EXPECT, T0).unwrap_err();
        assert_eq!(e.code(), "AUTH_ID_TOKEN_INVALID", "{bad}");
    }
}

#[test]
fn id_token_accepts_and_hands_out_the_signature_parts() {
    let now = secs(T0);
    for claims in [
        good_claims(),
        with(&[("aud", json!(["api", "app"])), ("azp", json!("app"))]),
        with(&[("azp", json!("app"))]),
        with(&[("exp", json!(now - 59)), ("iat", json!(now + 59))]),
        with(&[("exp", json!((now + 300) as f64 + 0.5))]),
    ] {
        let t = token(&es256(), &claims, 64);
        let v = id_token::validate_claims(&t, &EXPECT, T0).unwrap();
        assert_eq!(v.alg, JwsAlg::Es256);
        assert_eq!(v.kid.as_deref(), Some("k1"));
        assert_eq!(v.signature, vec![7u8; 64]);
        let text = t.secret();
        assert_eq!(
            v.signing_input,
            &text.as_bytes()[..text.rfind('.').unwrap()]
        );
        assert_eq!(v.claims["sub"], "u1");
        let debug = format!("{v:?}");
        assert!(!debug.contains("u1") && !debug.contains(&text[..20]));
    }
    // No nonce expected: a nonce claim is not required.
    let no_nonce = Expectations {
        nonce: None,
        ..EXPECT
    };
    let t = token(
        &json!({"alg": "RS256"}),
        &with(&[("nonce", Value::Null)]),
        256,
    );
    let v = id_token::validate_claims(&t, &no_nonce, T0).unwrap();
    assert_eq!(v.alg, JwsAlg::Rs256);
    assert_eq!(v.kid, None);
}

#[test]
fn webcrypto_parameters() {
    assert_eq!(
        JwsAlg::Es256.webcrypto_import(),
        json!({"name": "ECDSA", "namedCurve": "P-256"})
    );
    assert_eq!(
        JwsAlg::Es256.webcrypto_verify(),
        json!({"name": "ECDSA", "hash": "SHA-256"})
    );
    assert_eq!(
        JwsAlg::Rs256.webcrypto_import(),
        json!({"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"})
    );
    assert_eq!(
        JwsAlg::Ps384.webcrypto_verify(),
        json!({"name": "RSA-PSS", "saltLength": 48})
    );
    for name in [
        "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
    ] {
        assert_eq!(JwsAlg::from_name(name).unwrap().name(), name);
    }
    for name in ["none", "HS256", "es256", "ES512", ""] {
        assert!(JwsAlg::from_name(name).is_none(), "{name}");
    }
}

// ---- JWK Set -------------------------------------------------------------

fn ec_key(kid: &str) -> Map<String, Value> {
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
           "x": b64(&[1; 32]), "y": b64(&[2; 32]), "d": "PRIVATE"})
    .as_object()
    .unwrap()
    .clone()
}

fn rsa_key(kid: &str, bits: usize) -> Map<String, Value> {
    json!({"kty": "RSA", "kid": kid, "n": b64(&vec![0xc5; bits / 8]), "e": "AQAB"})
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn jwks_selection() {
    let keys = vec![
        ec_key("k1"),
        ec_key("k2"),
        rsa_key("r1", 2048),
        rsa_key("weak", 1024),
    ];
    let k = id_token::select_key(&keys, JwsAlg::Es256, Some("k2")).unwrap();
    assert_eq!(k["kty"], "EC");
    assert_eq!(k["x"], b64(&[1; 32]));
    assert!(k.get("d").is_none() && k.get("kid").is_none() && k.get("alg").is_none());
    let r = id_token::select_key(&keys, JwsAlg::Rs256, None).unwrap();
    assert_eq!(r.keys().collect::<Vec<_>>(), ["e", "kty", "n"]);
    assert!(id_token::select_key(&keys, JwsAlg::Ps256, Some("r1")).is_ok());
    type Case<'a> = (Vec<Map<String, Value>>, JwsAlg, Option<&'a str>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            keys.clone(),
            JwsAlg::Es256,
            Some("k9"),
            "\"id_token\" kid matches no usable key of the issuer",
        ),
        (
            keys.clone(),
            JwsAlg::Es256,
            None,
            "\"id_token\" kid matches several keys of the issuer",
        ),
        (
            keys.clone(),
            JwsAlg::Rs256,
            Some("weak"),
            "\"id_token\" kid matches no usable key of the issuer",
        ),
        (
            keys.clone(),
            JwsAlg::Es256,
            Some("r1"),
            "\"id_token\" kid matches no usable key of the issuer",
        ),
        (
            keys.clone(),
            JwsAlg::Es384,
            Some("k1"),
            "\"id_token\" kid matches no usable key of the issuer",
        ),
        (
            vec![],
            JwsAlg::Es256,
            None,
            "\"id_token\" kid matches no usable key of the issuer",
        ),
    ];
    for (keys, alg, kid, msg) in cases {
        let e = id_token::select_key(&keys, alg, kid).unwrap_err();
        assert_eq!(e.to_string(), msg, "{alg:?} {kid:?}");
    }
    // use, key_ops and alg of the key must allow the signature.
    for (k, v) in [
        ("use", json!("enc")),
        ("key_ops", json!(["encrypt"])),
        ("alg", json!("ES384")),
    ] {
        let mut key = ec_key("k1");
        key.insert(k.into(), v);
        assert!(
            id_token::select_key(&[key], JwsAlg::Es256, Some("k1")).is_err(),
            "{k}"
        );
    }
    let mut ok = ec_key("k1");
    ok.insert("key_ops".into(), json!(["verify"]));
    assert!(id_token::select_key(&[ok], JwsAlg::Es256, Some("k1")).is_ok());
}

#[test]
fn jwks_response() {
    let body = json!({"keys": [ec_key("k1"), "junk", 3]}).to_string();
    let keys = id_token::parse_jwks_response(&json_response(200, &body), T0).unwrap();
    assert_eq!(keys.len(), 1);
    let jwk_set = response(200, &[("Content-Type", "application/jwk-set+json")], &body);
    assert!(id_token::parse_jwks_response(&jwk_set, T0).is_ok());
    for (resp, code) in [
        (json_response(200, "{}"), "OAUTH_INVALID_RESPONSE"),
        (
            json_response(200, r#"{"keys":{}}"#),
            "OAUTH_INVALID_RESPONSE",
        ),
        (json_response(200, "[]"), "OAUTH_INVALID_RESPONSE"),
        (json_response(500, "{}"), "AUTH_SERVER_UNAVAILABLE"),
        (
            response(200, &[("Content-Type", "text/html")], "<p>"),
            "OAUTH_RESPONSE_IS_NOT_JSON",
        ),
        (
            response(302, &[("Location", "https://x")], ""),
            "OAUTH_RESPONSE_IS_NOT_CONFORM",
        ),
    ] {
        assert_eq!(
            id_token::parse_jwks_response(&resp, T0).unwrap_err().code(),
            code
        );
    }
}

// ---- driver: exchange, then adopt ---------------------------------------

#[test]
fn exchange_leaves_the_session_until_adopted() {
    let p = FakePlatform::at(T0);
    let d = Driver::new(oidc(), p.clone(), DriverOptions::default()).unwrap();
    let creds = Credentials::AuthorizationCode {
        code: tokenkeeper::core::secret::AuthCode::new("SENTINEL_CODE"),
        code_verifier: tokenkeeper::core::secret::CodeVerifier::new("SENTINEL_VERIFIER"),
        redirect_uri: CALLBACK.into(),
    };
    let expect = || {
        Expect::post(TOKEN_URL).form(&[
            ("grant_type", "authorization_code"),
            ("code", "SENTINEL_CODE"),
            ("redirect_uri", CALLBACK),
            ("code_verifier", "SENTINEL_VERIFIER"),
            ("scope", "openid profile"),
            ("client_id", "app"),
        ])
    };
    // A server error echoing the verifier: typed, scrubbed, session untouched.
    p.http.expect(
        expect(),
        Reply::json(
            400,
            r#"{"error":"invalid_grant","error_description":"bad SENTINEL_VERIFIER"}"#,
        ),
    );
    let e = block_on(d.exchange(&creds)).unwrap_err();
    assert_eq!(e.code(), "OAUTH_RESPONSE_BODY_ERROR");
    assert_eq!(e.error_description(), Some("bad [redacted]"));
    assert_eq!(d.state().status, "loggedOut");
    p.http.expect(
        expect(),
        Reply::json(
            200,
            r#"{"access_token":"SENTINEL_AT_1","token_type":"Bearer","expires_in":300,"refresh_token":"SENTINEL_RT_1","id_token":"h.p.s"}"#,
        ),
    );
    let (tokens, timing) = block_on(d.exchange(&creds)).unwrap();
    assert_eq!(tokens.id_token().map(IdToken::secret), Some("h.p.s"));
    assert_eq!(d.state().status, "loggedOut");
    assert!(p.store.peek("tokenkeeper").is_none());
    block_on(d.adopt_login(tokens, &timing));
    assert_eq!(d.state().status, "active");
    assert!(p.store.peek("tokenkeeper").is_some());
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
    p.http.assert_exhausted();
}
