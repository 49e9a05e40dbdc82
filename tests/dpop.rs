//! DPoP (RFC 9449) through the driver with the fakes: a proof on every
//! token request, one retry when the server asks for a nonce, nonces kept
//! per origin, `token_type` checked, resource proofs with `ath`.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64ct::{Base64UrlUnpadded, Encoding};
use futures::executor::block_on;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::*;
use tokenkeeper::core::request::{Credentials, HttpRequest};
use tokenkeeper::core::response::HttpResponse;
use tokenkeeper::core::secret::AccessToken;
use tokenkeeper::driver::{Driver, DriverOptions};
use tokenkeeper::platform::fake::{Expect, FakePlatform, FakeProofKey, Reply};

const TOKEN_URL: &str = "https://app.lm:32443/oauth/token";
const API: &str = "https://api.lm/orders?page=2#top";

fn dpop_tnco() -> tokenkeeper::core::config::Config {
    config(json!({
        "profile": {
            "kind": "oauth2",
            "tokenUrl": TOKEN_URL,
            "clientId": "LmClient",
            "clientSecret": "SENTINEL_CS_tnco",
            "clientAuth": "basic",
        },
        "dpop": true,
    }))
}

fn dpop_platform() -> FakePlatform {
    let mut p = FakePlatform::at(T0);
    p.proof_key = Some(FakeProofKey::default());
    p
}

fn driver(p: &FakePlatform) -> Driver<FakePlatform> {
    Driver::new(dpop_tnco(), p.clone(), DriverOptions::default()).unwrap()
}

fn dpop_token(at: &str) -> Reply {
    Reply::json(
        200,
        &format!(r#"{{"access_token":"{at}","token_type":"DPoP","expires_in":1199}}"#),
    )
}

fn nonce_error(nonce: &str) -> Reply {
    Reply::with(
        400,
        &[("content-type", "application/json"), ("dpop-nonce", nonce)],
        br#"{"error":"use_dpop_nonce","error_description":"nonce is required in the DPoP proof"}"#,
    )
}

/// The `DPoP` header of `req`, its signature checked against the fake key's,
/// as (header, claims).
fn proof_of(req: &HttpRequest) -> (Value, Value) {
    let proofs: Vec<&str> = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("dpop"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(proofs.len(), 1, "one DPoP header");
    decode(proofs[0])
}

fn decode(proof: &str) -> (Value, Value) {
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3);
    let input = format!("{}.{}", parts[0], parts[1]);
    assert_eq!(
        Base64UrlUnpadded::decode_vec(parts[2]).unwrap(),
        FakeProofKey::signature(input.as_bytes()),
        "signed over header.claims"
    );
    let json =
        |p: &str| serde_json::from_slice(&Base64UrlUnpadded::decode_vec(p).unwrap()).unwrap();
    (json(parts[0]), json(parts[1]))
}

#[test]
fn every_token_request_carries_a_proof_of_the_key() {
    let p = dpop_platform();
    let d = driver(&p);
    p.http
        .expect(Expect::post(TOKEN_URL), dpop_token("SENTINEL_AT_1"));
    block_on(d.login(Credentials::ClientCredentials {})).unwrap();
    let sent = p.http.sent();
    let (header, claims) = proof_of(&sent[0]);
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["jwk"]["x"], FakeProofKey::X);
    assert_eq!(header["jwk"]["crv"], "P-256");
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], TOKEN_URL);
    assert_eq!(claims["iat"], T0.0 / 1000);
    assert!(claims.get("nonce").is_none() && claims.get("ath").is_none());
    assert!(
        claims["jti"].as_str().unwrap().len() >= 21,
        "16 random bytes"
    );
    // The client still authenticates as configured.
    assert!(
        sent[0]
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("authorization") && v.starts_with("Basic "))
    );
    assert_eq!(
        block_on(d.access_token()).unwrap().secret(),
        "SENTINEL_AT_1"
    );
    p.http.assert_exhausted();
}

#[test]
fn a_nonce_asked_for_is_sent_in_one_retry_and_kept_for_the_origin() {
    let p = dpop_platform();
    let d = driver(&p);
    p.http
        .expect(Expect::post(TOKEN_URL), nonce_error("n-1"))
        .expect(Expect::post(TOKEN_URL), dpop_token("SENTINEL_AT_1"))
        .expect(Expect::post(TOKEN_URL), dpop_token("SENTINEL_AT_2"));
    block_on(d.login(Credentials::ClientCredentials {})).unwrap();
    let sent = p.http.sent();
    assert_eq!(sent.len(), 2);
    let (_, first) = proof_of(&sent[0]);
    let (_, retry) = proof_of(&sent[1]);
    assert!(first.get("nonce").is_none());
    assert_eq!(retry["nonce"], "n-1");
    assert_ne!(first["jti"], retry["jti"], "a new proof");
    // The next request of that origin sends the nonce at once.
    block_on(d.login(Credentials::ClientCredentials {})).unwrap();
    let sent = p.http.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(proof_of(&sent[2]).1["nonce"], "n-1");
    // A resource on another origin has no nonce yet; its own is kept.
    let token = AccessToken::new("SENTINEL_AT_2");
    let proof = block_on(d.proof("get", API, Some(&token)))
        .unwrap()
        .unwrap();
    let (_, claims) = decode(proof.secret());
    assert!(claims.get("nonce").is_none());
    let asked = HttpResponse {
        status: 401,
        headers: vec![
            (
                "www-authenticate".into(),
                r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#.into(),
            ),
            ("dpop-nonce".into(), "api-n-1".into()),
        ],
        body: Vec::new(),
    };
    assert!(d.resource_wants_nonce(API, &asked));
    let proof = block_on(d.proof("GET", API, Some(&token)))
        .unwrap()
        .unwrap();
    let (_, claims) = decode(proof.secret());
    assert_eq!(claims["nonce"], "api-n-1");
    assert_eq!(claims["htm"], "GET");
    assert_eq!(
        claims["htu"], "https://api.lm/orders",
        "no query, no fragment"
    );
    let ath = Base64UrlUnpadded::encode_string(&Sha256::digest(b"SENTINEL_AT_2"));
    assert_eq!(claims["ath"], ath);
    p.http.assert_exhausted();
}

#[test]
fn a_second_nonce_error_is_not_retried() {
    let p = dpop_platform();
    let d = driver(&p);
    p.http
        .expect(Expect::post(TOKEN_URL), nonce_error("n-1"))
        .expect(Expect::post(TOKEN_URL), nonce_error("n-2"));
    let e = block_on(d.login(Credentials::ClientCredentials {})).unwrap_err();
    assert_eq!(e.code(), "OAUTH_RESPONSE_BODY_ERROR");
    assert_eq!(p.http.sent().len(), 2);
    assert_eq!(d.state().status, "loggedOut");
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains("n-1") && !text.contains("n-2"), "{text}");
    }
    p.http.assert_exhausted();
}

#[test]
fn a_bearer_answer_to_a_proof_is_refused_and_changes_nothing() {
    let p = dpop_platform();
    let d = driver(&p);
    p.http.expect(
        Expect::post(TOKEN_URL),
        Reply::json(
            200,
            r#"{"access_token":"SENTINEL_AT_1","token_type":"Bearer","expires_in":1199}"#,
        ),
    );
    let e = block_on(d.login(Credentials::ClientCredentials {})).unwrap_err();
    assert_eq!(e.code(), "AUTH_DPOP_TOKEN_TYPE");
    assert_eq!(d.state().status, "loggedOut");
    assert!(!format!("{e} {e:?}").contains("SENTINEL"));
}

#[test]
fn without_the_option_nothing_is_signed() {
    let p = dpop_platform();
    let d = Driver::new(tnco(), p.clone(), DriverOptions::default()).unwrap();
    p.http.expect(
        Expect::post(TOKEN_URL).no_header("DPoP"),
        Reply::json(
            200,
            r#"{"access_token":"SENTINEL_AT_1","token_type":"bearer","expires_in":1199}"#,
        ),
    );
    block_on(d.login(Credentials::ClientCredentials {})).unwrap();
    assert_eq!(p.proof_key.as_ref().unwrap().signed(), 0);
    assert!(!d.dpop());
    p.http.assert_exhausted();
}

#[test]
fn dpop_jkt_binds_a_code_only_to_a_key_that_outlives_the_page() {
    let mut p = dpop_platform();
    // A key made for this page only: a code bound to it could not be
    // redeemed after the redirect, so the request carries no dpop_jkt.
    assert_eq!(block_on(driver(&p).dpop_jkt()).unwrap(), None);
    let mut lasting = FakeProofKey::default();
    lasting.lasting = true;
    p.proof_key = Some(lasting);
    assert_eq!(
        block_on(driver(&p).dpop_jkt()).unwrap().as_deref(),
        Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        "RFC 9449's example key's thumbprint"
    );
    let plain = Driver::new(tnco(), p.clone(), DriverOptions::default()).unwrap();
    assert_eq!(block_on(plain.dpop_jkt()).unwrap(), None);
}

#[test]
fn proofs_are_dated_in_the_token_endpoints_clock() {
    // The server's clock is 5 minutes ahead of ours: its window for `iat`
    // is seconds, so the retry's proof is dated by its `Date` header.
    let p = dpop_platform();
    let d = driver(&p);
    let ahead = Reply::with(
        400,
        &[
            ("content-type", "application/json"),
            ("dpop-nonce", "n-1"),
            ("date", "Tue, 14 Nov 2023 22:18:20 GMT"),
        ],
        br#"{"error":"use_dpop_nonce"}"#,
    );
    p.http
        .expect(Expect::post(TOKEN_URL), ahead)
        .expect(Expect::post(TOKEN_URL), dpop_token("SENTINEL_AT_1"));
    block_on(d.login(Credentials::ClientCredentials {})).unwrap();
    let sent = p.http.sent();
    assert_eq!(proof_of(&sent[0]).1["iat"], T0.0 / 1000);
    assert_eq!(proof_of(&sent[1]).1["iat"], T0.0 / 1000 + 300);
}

#[test]
fn a_proof_refused_while_the_clock_was_off_is_retried_once_in_the_servers_clock() {
    // A server that checks `iat` without nonces (Keycloak): the refusal's
    // `Date` shows our clock 5 minutes behind; one retry, dated right.
    let p = dpop_platform();
    let d = driver(&p);
    let refused = |date: &str| {
        Reply::with(
            400,
            &[("content-type", "application/json"), ("date", date)],
            br#"{"error":"invalid_dpop_proof","error_description":"DPoP proof is not active"}"#,
        )
    };
    p.http
        .expect(
            Expect::post(TOKEN_URL),
            refused("Tue, 14 Nov 2023 22:18:20 GMT"),
        )
        .expect(Expect::post(TOKEN_URL), dpop_token("SENTINEL_AT_1"));
    block_on(d.login(Credentials::ClientCredentials {})).unwrap();
    assert_eq!(proof_of(&p.http.sent()[1]).1["iat"], T0.0 / 1000 + 300);
    // A refusal with the clock already right is not retried.
    p.http.expect(
        Expect::post(TOKEN_URL),
        refused("Tue, 14 Nov 2023 22:18:20 GMT"),
    );
    let e = block_on(d.login(Credentials::ClientCredentials {})).unwrap_err();
    assert_eq!(e.error(), Some("invalid_dpop_proof"));
    assert_eq!(p.http.sent().len(), 3);
    p.http.assert_exhausted();
}
