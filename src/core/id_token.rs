//! ID token validation (OpenID Connect Core §3.1.3.7) without any
//! cryptography compiled in.
//!
//! [`validate_claims`] splits the token with jwt-compact's
//! `UntrustedToken`, checks the header and every claim the client relies
//! on, and returns an [`UnverifiedIdToken`]: the signing input, the
//! signature bytes, `alg` and `kid`. The caller verifies the signature
//! (WebCrypto `crypto.subtle.verify` in the wasm build) with the key that
//! [`select_key`] picks from the issuer's JWK Set, using the parameters of
//! [`JwsAlg::webcrypto_import`] and [`JwsAlg::webcrypto_verify`]. Until
//! then the claims are not to be trusted.
//!
//! Pinned decisions:
//!
//! - Only asymmetric algorithms are accepted (ES256, ES384, RS256–RS512,
//!   PS256–PS512, EdDSA with Ed25519); `none` and the HMAC family are refused
//!   (RFC 8725 §3.1, §3.2). A `crit` header is refused: no extension is
//!   understood (RFC 7515 §4.1.11).
//! - `iss` equals the issuer exactly; `aud` (a string or an array) contains
//!   the client id; with several audiences `azp` is required, and a present
//!   `azp` must be the client id.
//! - `exp` must be after `now − leeway`; `iat` is required and not after
//!   `now + leeway`; a present `nbf` not after `now + leeway`; `sub` is a
//!   non-empty string; `nonce` equals the nonce sent, when one was sent.
//! - Errors name the claim and never hold the token or a claim value.

use super::error::Error;
use super::response::{HttpResponse, error_response, json_object};
use super::secret::IdToken;
use super::time::UnixMillis;
use base64ct::{Base64UrlUnpadded, Encoding};
use jwt_compact::UntrustedToken;
use serde_json::{Map, Value, json};
use std::fmt;

/// The clock tolerance for `exp`, `iat` and `nbf` (60 s): browsers' clocks
/// drift.
pub const DEFAULT_LEEWAY_MS: u64 = 60_000;

/// The least RSA modulus accepted, in bytes (2048 bits; RFC 7518 §3.3).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// What an ID token must match (OpenID Connect Core §3.1.3.7).
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The issuer identifier; `iss` must equal it.
    pub issuer: &'a str,
    /// The client id; `aud` must contain it.
    pub client_id: &'a str,
    /// The nonce sent in the authorization request, if any.
    pub nonce: Option<&'a str>,
    /// Clock tolerance in milliseconds.
    pub leeway_ms: u64,
}

/// A JWS algorithm this client verifies (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlg {
    /// ECDSA P-256 SHA-256; the signature is `r || s`, 64 bytes.
    Es256,
    /// ECDSA P-384 SHA-384; the signature is `r || s`, 96 bytes.
    Es384,
    /// RSASSA-PKCS1-v1_5 SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 SHA-512.
    Rs512,
    /// RSASSA-PSS SHA-256, salt 32.
    Ps256,
    /// RSASSA-PSS SHA-384, salt 48.
    Ps384,
    /// RSASSA-PSS SHA-512, salt 64.
    Ps512,
    /// EdDSA with Ed25519 (RFC 8037).
    EdDsa,
}

impl JwsAlg {
    /// The algorithm for a header `alg`; `None` for `none`, HMAC and
    /// anything unknown.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "EdDSA" => Self::EdDsa,
            _ => return None,
        })
    }

    /// The `alg` name (RFC 7518 §3.1).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The JWK `kty` and `crv` a key for this algorithm has (RFC 7518 §6).
    fn key_type(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Es256 => ("EC", Some("P-256")),
            Self::Es384 => ("EC", Some("P-384")),
            Self::EdDsa => ("OKP", Some("Ed25519")),
            _ => ("RSA", None),
        }
    }

    /// The exact signature length, where the algorithm fixes one.
    fn signature_len(self) -> Option<usize> {
        match self {
            Self::Es256 | Self::EdDsa => Some(64),
            Self::Es384 => Some(96),
            _ => None,
        }
    }

    fn sha(self) -> &'static str {
        match self {
            Self::Es384 | Self::Rs384 | Self::Ps384 => "SHA-384",
            Self::Rs512 | Self::Ps512 => "SHA-512",
            _ => "SHA-256",
        }
    }

    /// The WebCrypto `importKey` algorithm (W3C Web Cryptography API).
    #[must_use]
    pub fn webcrypto_import(self) -> Value {
        match self {
            Self::Es256 | Self::Es384 => {
                json!({ "name": "ECDSA", "namedCurve": self.key_type().1 })
            }
            Self::Rs256 | Self::Rs384 | Self::Rs512 => {
                json!({ "name": "RSASSA-PKCS1-v1_5", "hash": self.sha() })
            }
            Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                json!({ "name": "RSA-PSS", "hash": self.sha() })
            }
            Self::EdDsa => json!({ "name": "Ed25519" }),
        }
    }

    /// The WebCrypto `verify` algorithm (W3C Web Cryptography API).
    #[must_use]
    pub fn webcrypto_verify(self) -> Value {
        match self {
            Self::Es256 | Self::Es384 => json!({ "name": "ECDSA", "hash": self.sha() }),
            Self::Rs256 | Self::Rs384 | Self::Rs512 => json!({ "name": "RSASSA-PKCS1-v1_5" }),
            Self::Ps256 => json!({ "name": "RSA-PSS", "saltLength": 32 }),
            Self::Ps384 => json!({ "name": "RSA-PSS", "saltLength": 48 }),
            Self::Ps512 => json!({ "name": "RSA-PSS", "saltLength": 64 }),
            Self::EdDsa => json!({ "name": "Ed25519" }),
        }
    }
}

/// An ID token whose claims passed every check and whose signature is
/// still to be verified. `Debug` shows the algorithm, `kid`, lengths and
/// claim names only.
#[derive(Clone)]
pub struct UnverifiedIdToken {
    /// The header's algorithm.
    pub alg: JwsAlg,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The JWS signing input: `BASE64URL(header) "." BASE64URL(payload)`
    /// (RFC 7515 §5.2).
    pub signing_input: Vec<u8>,
    /// The decoded signature (for ECDSA: `r || s`, RFC 7518 §3.4).
    pub signature: Vec<u8>,
    /// Every claim, numbers as the token has them. Trust them only once the
    /// signature verified.
    pub claims: Map<String, Value>,
}

impl fmt::Debug for UnverifiedIdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedIdToken")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("signing_input_len", &self.signing_input.len())
            .field("signature_len", &self.signature.len())
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn bad(field: &'static str, reason: &'static str) -> Error {
    Error::IdToken { field, reason }
}

/// Checks an ID token's header and claims (OpenID Connect Core §3.1.3.7
/// steps 2–4, 9–11; RFC 8725 §3.1) and returns what the signature check
/// needs. See the module docs for each rule.
pub fn validate_claims(
    token: &IdToken,
    expect: &Expectations<'_>,
    now: UnixMillis,
) -> Result<UnverifiedIdToken, Error> {
    let text = token.secret();
    let parsed = UntrustedToken::new(text).map_err(|_| bad("token", "is not a compact JWS"))?;
    let alg = match parsed.algorithm() {
        "none" => return Err(bad("alg", "must not be \"none\"")),
        name => JwsAlg::from_name(name).ok_or_else(|| bad("alg", "is not supported"))?,
    };
    if part(text, 0, "header", "is not a base64url JSON object")?.contains_key("crit") {
        return Err(bad("crit", "is not supported"));
    }
    let signature = parsed.signature_bytes().to_vec();
    if signature.is_empty() || alg.signature_len().is_some_and(|n| n != signature.len()) {
        return Err(bad("signature", "has the wrong length"));
    }
    let claims = part(text, 1, "claims", "are not a base64url JSON object")?;
    check_claims(&claims, expect, now)?;
    let signing_input = text
        .rsplit_once('.')
        .map(|(input, _)| input.as_bytes().to_vec())
        .unwrap_or_default();
    Ok(UnverifiedIdToken {
        alg,
        kid: parsed.header().key_id.clone(),
        signing_input,
        signature,
        claims,
    })
}

/// Part `index` of the compact JWS (0: header, 1: payload) as a JSON
/// object, numbers kept as they are (jwt-compact only exposes the claims it
/// knows as dates).
fn part(
    text: &str,
    index: usize,
    field: &'static str,
    reason: &'static str,
) -> Result<Map<String, Value>, Error> {
    let encoded = text.split('.').nth(index).unwrap_or_default();
    Base64UrlUnpadded::decode_vec(encoded)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| bad(field, reason))
}

fn check_claims(
    claims: &Map<String, Value>,
    expect: &Expectations<'_>,
    now: UnixMillis,
) -> Result<(), Error> {
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == expect.issuer => {}
        Some(Value::String(_)) => return Err(bad("iss", "does not match the issuer")),
        _ => return Err(bad("iss", "is required")),
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| bad("aud", "must be a string or an array of strings"))?,
        Some(_) => return Err(bad("aud", "must be a string or an array of strings")),
        None => return Err(bad("aud", "is required")),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(bad("aud", "does not contain the client id"));
    }
    match claims.get("azp") {
        Some(Value::String(azp)) if azp == expect.client_id => {}
        Some(_) => return Err(bad("azp", "is not the client id")),
        None if audiences.len() > 1 => {
            return Err(bad("azp", "is required with several audiences"));
        }
        None => {}
    }
    match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(bad("sub", "must be a non-empty string")),
    }
    let leeway = expect.leeway_ms;
    let exp = time_claim(claims, "exp")?.ok_or_else(|| bad("exp", "is required"))?;
    if exp.plus_millis(leeway) <= now {
        return Err(bad("exp", "has passed"));
    }
    let iat = time_claim(claims, "iat")?.ok_or_else(|| bad("iat", "is required"))?;
    if iat > now.plus_millis(leeway) {
        return Err(bad("iat", "is in the future"));
    }
    if time_claim(claims, "nbf")?.is_some_and(|nbf| nbf > now.plus_millis(leeway)) {
        return Err(bad("nbf", "is in the future"));
    }
    if let Some(nonce) = expect.nonce {
        match claims.get("nonce") {
            Some(Value::String(n)) if n == nonce => {}
            Some(_) => return Err(bad("nonce", "does not match the nonce sent")),
            None => return Err(bad("nonce", "is required")),
        }
    }
    Ok(())
}

/// A NumericDate claim (RFC 7519 §2) in epoch milliseconds: absent →
/// `None`; a negative, non-finite or non-number value is an error.
fn time_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<UnixMillis>, Error> {
    let Some(v) = claims.get(name) else {
        return Ok(None);
    };
    match v.as_f64() {
        Some(s) if s.is_finite() && s >= 0.0 => {
            // Saturating float-to-int cast; fractions of a millisecond drop.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(Some(UnixMillis((s * 1000.0) as u64)))
        }
        _ => Err(bad(name, "must be a non-negative number")),
    }
}

/// The keys of a JWK Set response (RFC 7517 §5): `200`, a JSON object with
/// a `keys` array; members that are not objects are skipped.
pub fn parse_jwks_response(
    resp: &HttpResponse,
    now: UnixMillis,
) -> Result<Vec<Map<String, Value>>, Error> {
    if resp.status != 200 {
        return Err(error_response(resp, now));
    }
    let map = json_object(resp, true)?;
    // Taken by value without `BTreeMap::remove`, which nothing else links.
    match map
        .into_iter()
        .find_map(|(k, v)| (k == "keys").then_some(v))
    {
        Some(Value::Array(keys)) => Ok(keys
            .into_iter()
            .filter_map(|k| match k {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect()),
        Some(_) => Err(Error::invalid("keys", "must be an array")),
        None => Err(Error::invalid("keys", "is required")),
    }
}

/// The public JWK to verify a signature of `alg` with (RFC 7517 §4): the
/// key whose `kid` matches (any usable key when the header has no `kid`),
/// whose `kty`/`crv` fit the algorithm, whose `use` (if any) is `sig`,
/// whose `key_ops` (if any) include `verify`, whose `alg` (if any) is
/// `alg`, and, for RSA, whose modulus has at least 2048 bits.
///
/// Only the public members are returned (`kty`, `crv`, `x`, `y`, `n`,
/// `e`), ready for WebCrypto `importKey("jwk", …)`. No match, or several
/// without a `kid` to choose, is an [`Error::IdToken`] on `kid`.
pub fn select_key(
    keys: &[Map<String, Value>],
    alg: JwsAlg,
    kid: Option<&str>,
) -> Result<Map<String, Value>, Error> {
    let mut found = keys.iter().filter(|k| usable(k, alg, kid));
    let key = found
        .next()
        .ok_or_else(|| bad("kid", "matches no usable key of the issuer"))?;
    if found.next().is_some() {
        return Err(bad("kid", "matches several keys of the issuer"));
    }
    let (kty, _) = alg.key_type();
    let members: &[&str] = match kty {
        "EC" => &["kty", "crv", "x", "y"],
        "OKP" => &["kty", "crv", "x"],
        _ => &["kty", "n", "e"],
    };
    // Inserted one by one: collecting into a map would link a sort.
    let mut public = Map::new();
    for m in members {
        if let Some(v) = key.get(*m) {
            public.insert((*m).to_owned(), v.clone());
        }
    }
    Ok(public)
}

fn usable(key: &Map<String, Value>, alg: JwsAlg, kid: Option<&str>) -> bool {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    let (kty, crv) = alg.key_type();
    if kid.is_some_and(|kid| text("kid") != Some(kid)) || text("kty") != Some(kty) {
        return false;
    }
    if crv.is_some() && text("crv") != crv {
        return false;
    }
    if key.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return false;
    }
    if key
        .get("alg")
        .is_some_and(|a| a.as_str() != Some(alg.name()))
    {
        return false;
    }
    if let Some(ops) = key.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some("verify")));
        if !verify {
            return false;
        }
    }
    let b64 = |name: &str| text(name).and_then(|s| Base64UrlUnpadded::decode_vec(s).ok());
    match kty {
        "RSA" => {
            let n = b64("n").unwrap_or_default();
            let significant = n.iter().skip_while(|b| **b == 0).count();
            significant >= MIN_RSA_MODULUS_BYTES && b64("e").is_some_and(|e| !e.is_empty())
        }
        "EC" => b64("x").is_some() && b64("y").is_some(),
        _ => b64("x").is_some(),
    }
}
