//! DPoP, sender-constrained tokens (RFC 9449), without any cryptography
//! compiled in.
//!
//! The caller holds a P-256 key pair (non-extractable, in WebCrypto in the
//! wasm build) and signs; this module does the rest:
//!
//! 1. [`PublicJwk::from_jwk`] reads the public key as `exportKey("jwk")`
//!    gives it, and [`PublicJwk::thumbprint`] is its RFC 7638 thumbprint,
//!    the `dpop_jkt` parameter and the token's `cnf.jkt`.
//! 2. [`signing_input`] writes a proof's header and claims for one request;
//!    the caller signs [`SigningInput::bytes`] with ECDSA P-256 SHA-256, and
//!    [`SigningInput::into_proof`] appends the signature, giving the `DPoP`
//!    header value.
//! 3. [`Nonce`] and [`NonceCache`] keep the servers' `DPoP-Nonce` values per
//!    origin; [`token_nonce_retry`] and [`resource_nonce_retry`] say when a
//!    request is sent once more with a new nonce (RFC 9449 §8, §9).
//! 4. [`check_token_type`] holds a token response's `token_type` to what was
//!    asked (RFC 9449 §5).
//!
//! ```
//! use tokenkeeper::core::dpop::{self, ProofRequest, PublicJwk};
//! # fn main() -> Result<(), tokenkeeper::core::error::Error> {
//! // What `crypto.subtle.exportKey("jwk", keyPair.publicKey)` returns.
//! let jwk = serde_json::json!({
//!     "kty": "EC", "crv": "P-256", "ext": true, "key_ops": ["verify"],
//!     "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
//!     "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
//! });
//! let key = PublicJwk::from_jwk(&jwk)?;
//! assert_eq!(key.thumbprint(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
//! let input = dpop::signing_input(
//!     &key,
//!     &ProofRequest {
//!         method: "POST",
//!         url: "https://server.example.com/token",
//!         iat: 1_562_262_616,
//!         jti: &[0x5a; 16], // random bytes
//!         access_token: None,
//!         nonce: None,
//!     },
//! )?;
//! // crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, input.bytes())
//! let signature = [0_u8; 64];
//! let proof = input.into_proof(&signature)?;
//! assert_eq!(proof.secret().split('.').count(), 3); // the `DPoP` header value
//! # Ok(())
//! # }
//! ```
//!
//! Pinned decisions:
//!
//! - ES256 only: the one algorithm every WebCrypto implements, and the
//!   signature is the raw `r || s` WebCrypto returns (RFC 7518 §3.4).
//! - `htu` is the target URI without query and fragment (RFC 9449 §4.2,
//!   §4.3), its scheme and host lower-cased, default port dropped and IPv6
//!   literal compressed as the WHATWG URL parser serialises them (the same
//!   code as `allowedOrigins`, [`super::api`]). The path is kept as written,
//!   so the caller passes the URL as the platform serialised it
//!   (`Request.url`).
//! - `htm` is the method as fetch sends it: `DELETE`, `GET`, `HEAD`,
//!   `OPTIONS`, `POST` and `PUT` are upper-cased, others kept as written.
//! - `jti` is base64url of at least [`MIN_JTI_BYTES`] random bytes.
//! - A `DPoP-Nonce` that is not `1*NQCHAR` (RFC 9449 §8.1) or is longer than
//!   [`MAX_NONCE_CHARS`] is ignored.
//! - A proof, its signing input and a nonce are secrets: their `Debug`
//!   prints `[redacted]`, and errors name the input at fault, never a key,
//!   token, nonce or proof.

use super::api;
use super::challenge;
use super::error::Error;
use super::json_text::ObjectText;
use super::response::MAX_BODY_BYTES;
use super::secret::AccessToken;
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// The fewest random bytes taken for a proof's `jti`: 96 bits (RFC 9449
/// §4.2). Callers draw 16.
pub const MIN_JTI_BYTES: usize = 12;

/// The length of an ES256 signature: `r || s`, 32 bytes each (RFC 7518
/// §3.4), as WebCrypto's ECDSA P-256 `sign` returns it.
pub const SIGNATURE_BYTES: usize = 64;

/// The longest `DPoP-Nonce` value kept, in characters.
pub const MAX_NONCE_CHARS: usize = 1024;

/// The most origins a [`NonceCache`] holds; the oldest goes first.
pub const MAX_NONCE_ORIGINS: usize = 8;

fn bad(field: &'static str, reason: &'static str) -> Error {
    Error::DpopProof { field, reason }
}

/// A P-256 public key, the one a DPoP proof's header carries (RFC 7518
/// §6.2.1): its coordinates in base64url, 32 bytes each.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    x: String,
    y: String,
}

impl PublicJwk {
    /// Reads a public JWK as WebCrypto's `exportKey("jwk")` gives it:
    /// `kty` `"EC"`, `crv` `"P-256"`, `x` and `y` the base64url (unpadded,
    /// canonical) of 32 bytes each, and no private `d`. Other members
    /// (`ext`, `key_ops`) are ignored. Whether the point is on the curve is
    /// left to the key's owner, which made it.
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let members = jwk
            .as_object()
            .ok_or_else(|| bad("jwk", "must be a JSON object"))?;
        let text = |name: &str| members.get(name).and_then(Value::as_str);
        if text("kty") != Some("EC") {
            return Err(bad("jwk.kty", "must be \"EC\""));
        }
        if text("crv") != Some("P-256") {
            return Err(bad("jwk.crv", "must be \"P-256\""));
        }
        if members.contains_key("d") {
            return Err(bad("jwk.d", "must be absent: the key must be public"));
        }
        Ok(Self {
            x: coordinate(text("x"), "jwk.x")?,
            y: coordinate(text("y"), "jwk.y")?,
        })
    }

    /// The JWK SHA-256 thumbprint (RFC 7638 §3, RFC 9449 §6.1), base64url
    /// without padding: the `dpop_jkt` authorization request parameter
    /// (RFC 9449 §10) and the `cnf.jkt` of a token bound to this key.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        // RFC 7638 §3.2: the required members only, in lexicographic order,
        // without whitespace.
        let canonical = ObjectText::new()
            .string("crv", "P-256")
            .string("kty", "EC")
            .string("x", &self.x)
            .string("y", &self.y)
            .finish();
        Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
    }

    /// The `jwk` header member: the public members only, in RFC 9449's
    /// order (§4.1).
    fn header_member(&self) -> String {
        ObjectText::new()
            .string("kty", "EC")
            .string("x", &self.x)
            .string("y", &self.y)
            .string("crv", "P-256")
            .finish()
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicJwk(P-256)")
    }
}

/// A coordinate: the canonical base64url of exactly 32 bytes.
fn coordinate(value: Option<&str>, field: &'static str) -> Result<String, Error> {
    let mut bytes = [0_u8; 32];
    match value {
        Some(v)
            if Base64UrlUnpadded::decode(v, &mut bytes).is_ok_and(|b| b.len() == 32)
                && Base64UrlUnpadded::encode_string(&bytes) == v =>
        {
            Ok(v.to_owned())
        }
        _ => Err(bad(field, "must be 32 bytes in base64url")),
    }
}

/// A proof's `htu` (RFC 9449 §4.2): the target URI without query and
/// fragment, origin serialised as the WHATWG URL parser does it
/// (`HTTPS://AS.example:443/token?x#y` → `https://as.example/token`); an
/// empty path is `/`.
pub fn htu(url: &str) -> Result<String, Error> {
    let parsed = api::parse(url).map_err(|_| bad("htu", "must be an absolute http(s) URL"))?;
    let path = parsed.rest.split(['?', '#']).next().unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    Ok(format!("{}{path}", parsed.origin))
}

/// The origin of an absolute http(s) `url`, as `URL.origin` serialises it:
/// the key nonces are kept under.
#[must_use]
pub fn origin(url: &str) -> Option<String> {
    api::parse(url).ok().map(|p| p.origin)
}

/// A proof's `htm` (RFC 9449 §4.2): a method token (RFC 9110 §9.1), the
/// six methods fetch normalises upper-cased.
fn htm(method: &str) -> Result<String, Error> {
    const NORMALISED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if method.is_empty() || !method.bytes().all(tchar) {
        return Err(bad("htm", "must be an HTTP method"));
    }
    Ok(NORMALISED
        .iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .map_or(method, |m| *m)
        .to_owned())
}

/// A proof's `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the
/// token's ASCII.
fn ath(access_token: &AccessToken) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(access_token.secret().as_bytes()))
}

/// What one proof covers: the request it goes with (RFC 9449 §4.2).
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// The request method (`htm`).
    pub method: &'a str,
    /// The request URL; its query and fragment are dropped (`htu`, see
    /// [`htu`]).
    pub url: &'a str,
    /// When the proof is made (`iat`), in seconds since the Unix epoch.
    pub iat: u64,
    /// Fresh random bytes for `jti`, at least [`MIN_JTI_BYTES`]: a new draw
    /// for every proof.
    pub jti: &'a [u8],
    /// The access token sent with the request, to a resource server (its
    /// hash is `ath`); `None` at the token endpoint.
    pub access_token: Option<&'a AccessToken>,
    /// The server's latest nonce for this origin, if it gave one.
    pub nonce: Option<&'a Nonce>,
}

/// Writes a proof's JWS signing input (RFC 7515 §5.1, RFC 9449 §4.2):
/// `base64url(header).base64url(claims)`, with the header
/// `{"typ":"dpop+jwt","alg":"ES256","jwk":{…}}` and the claims `jti`,
/// `htm`, `htu`, `iat`, then `ath` and `nonce` when given.
pub fn signing_input(key: &PublicJwk, request: &ProofRequest<'_>) -> Result<SigningInput, Error> {
    if request.jti.len() < MIN_JTI_BYTES {
        return Err(bad("jti", "must be at least 12 random bytes"));
    }
    let header = format!(
        r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#,
        key.header_member()
    );
    let mut claims = ObjectText::new()
        .string("jti", &Base64UrlUnpadded::encode_string(request.jti))
        .string("htm", &htm(request.method)?)
        .string("htu", &htu(request.url)?)
        .number("iat", Some(request.iat));
    if let Some(token) = request.access_token {
        claims = claims.string("ath", &ath(token));
    }
    if let Some(nonce) = request.nonce {
        claims = claims.string("nonce", nonce.secret());
    }
    let mut text = Base64UrlUnpadded::encode_string(header.as_bytes());
    text.push('.');
    text.push_str(&Base64UrlUnpadded::encode_string(
        claims.finish().as_bytes(),
    ));
    Ok(SigningInput(text))
}

/// A proof's JWS signing input, awaiting its signature. It may hold a
/// nonce, so `Debug` redacts it.
pub struct SigningInput(String);

impl SigningInput {
    /// The bytes to sign with ECDSA P-256 and SHA-256 (WebCrypto
    /// `sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, bytes)`).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The compact proof: the signing input, `.`, and the base64url of the
    /// signature, which must be the [`SIGNATURE_BYTES`] of `r || s` (a DER
    /// signature is refused).
    pub fn into_proof(self, signature: &[u8]) -> Result<Proof, Error> {
        if signature.len() != SIGNATURE_BYTES {
            return Err(bad("signature", "must be 64 bytes (r || s)"));
        }
        let mut text = self.0;
        text.push('.');
        text.push_str(&Base64UrlUnpadded::encode_string(signature));
        Ok(Proof(text))
    }
}

impl fmt::Debug for SigningInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningInput([redacted])")
    }
}

/// A signed DPoP proof, the value of the `DPoP` request header (RFC 9449
/// §4.1). Good for one request.
#[derive(Clone)]
pub struct Proof(String);

impl Proof {
    /// The compact JWS.
    ///
    /// # Security Warning
    ///
    /// Never log, display or embed the returned value in an error, a URL or
    /// an event; send it only in the `DPoP` header of the request it was
    /// made for.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Proof([redacted])")
    }
}

/// A server-provided nonce, read from a `DPoP-Nonce` header (RFC 9449
/// §8.1): `1*NQCHAR`, at most [`MAX_NONCE_CHARS`].
#[derive(Clone)]
pub struct Nonce(String);

impl Nonce {
    /// The nonce in a `DPoP-Nonce` header value, or `None` if the value is
    /// empty, too long or has a character outside NQCHAR (`%x21`,
    /// `%x23-5B`, `%x5D-7E`: visible ASCII but `"` and `\`).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let nqchar = |b: u8| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e);
        let valid =
            !value.is_empty() && value.len() <= MAX_NONCE_CHARS && value.bytes().all(nqchar);
        valid.then(|| Self(value.to_owned()))
    }

    /// The nonce.
    ///
    /// # Security Warning
    ///
    /// Never log, display or embed the returned value in an error, a URL or
    /// an event; it goes into proofs for its origin only.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce([redacted])")
    }
}

/// The latest nonce of each server, keyed by origin (`URL.origin`: the
/// token endpoint's, a resource server's), for at most
/// [`MAX_NONCE_ORIGINS`] origins; remembering one more forgets the origin
/// remembered longest ago.
#[derive(Clone, Default)]
pub struct NonceCache {
    /// Oldest first.
    entries: Vec<(String, Nonce)>,
}

impl NonceCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `nonce` as the latest of `origin`, replacing the one before
    /// (RFC 9449 §8.2: a server may send a new nonce with any response).
    pub fn remember(&mut self, origin: &str, nonce: Nonce) {
        self.entries.retain(|(o, _)| o != origin);
        if self.entries.len() == MAX_NONCE_ORIGINS {
            self.entries.remove(0);
        }
        self.entries.push((origin.to_owned(), nonce));
    }

    /// The latest nonce of `origin`, if any.
    #[must_use]
    pub fn get(&self, origin: &str) -> Option<&Nonce> {
        self.entries
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, n)| n)
    }
}

impl fmt::Debug for NonceCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceCache")
            .field(
                "origins",
                &self.entries.iter().map(|(o, _)| o).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The OAuth error code of a server asking for a nonce (RFC 9449 §8, §9).
const USE_DPOP_NONCE: &str = "use_dpop_nonce";

/// Whether a token endpoint asks for a nonce (RFC 9449 §8): status 400,
/// `error` `use_dpop_nonce` (as [`Error::error`] reads it from the body)
/// and a valid `DPoP-Nonce` header. If so, the nonce to remember and to
/// send the request once more with, in a new proof; the caller retries at
/// most once per request.
#[must_use]
pub fn token_nonce_retry(
    status: u16,
    error: Option<&str>,
    dpop_nonce: Option<&str>,
) -> Option<Nonce> {
    if status != 400 || error != Some(USE_DPOP_NONCE) {
        return None;
    }
    dpop_nonce.and_then(Nonce::parse)
}

/// Whether a resource server asks for a nonce (RFC 9449 §9): status 401, a
/// `WWW-Authenticate` challenge of scheme `DPoP` with
/// `error="use_dpop_nonce"`, and a valid `DPoP-Nonce` header. If so, the
/// nonce to remember and to send the request once more with, in a new
/// proof; the caller retries at most once per request.
#[must_use]
pub fn resource_nonce_retry(
    status: u16,
    www_authenticate: Option<&str>,
    dpop_nonce: Option<&str>,
) -> Option<Nonce> {
    let header = www_authenticate.filter(|_| status == 401)?;
    let asks = challenge::parse(header.get(..MAX_BODY_BYTES).unwrap_or(header))
        .iter()
        .any(|c| c.scheme == "dpop" && c.param("error") == Some(USE_DPOP_NONCE));
    if !asks {
        return None;
    }
    dpop_nonce.and_then(Nonce::parse)
}

/// How far (ms) the server's clock must have turned out to be from the one
/// a refused proof was dated in for [`clock_retry`]: more than a `Date`
/// header's rounding and a request's time, less than the tightest `iat`
/// window in use (Keycloak's is 15 s ahead).
pub const CLOCK_RETRY_MS: u64 = 5_000;

/// Whether a token endpoint's refusal of a proof (`400 invalid_dpop_proof`,
/// RFC 9449 §5) is worth one retry because its `Date` showed the proof's
/// `iat` was dated `clock_moved_ms` away from the server's clock: a device
/// whose clock is minutes off would otherwise never get a token from a
/// server that checks `iat` (RFC 9449 §11.1) without nonces.
#[must_use]
pub fn clock_retry(status: u16, error: Option<&str>, clock_moved_ms: u64) -> bool {
    status == 400 && error == Some("invalid_dpop_proof") && clock_moved_ms > CLOCK_RETRY_MS
}

/// Replaces every copy of `secrets` (the proof sent, the nonces it carried
/// and received) in a refused token request's answer with `[redacted]`, so
/// that a server echoing them in its error text puts none into an error.
/// Values shorter than 8 characters are left: they cannot be told from the
/// JSON around them, and hold no secret worth the name. None of these
/// values has a character JSON escapes, so the text stays JSON.
pub fn redact(body: &mut Vec<u8>, secrets: &[&str]) {
    for secret in secrets
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| s.len() >= 8)
    {
        let mut at = 0;
        while let Some(i) = body[at..].windows(secret.len()).position(|w| w == secret) {
            let start = at + i;
            body.splice(start..start + secret.len(), REDACTED.iter().copied());
            at = start + REDACTED.len();
        }
    }
}

const REDACTED: &[u8] = b"[redacted]";

/// Checks a token response's `token_type` against the request (RFC 9449
/// §5): with a DPoP proof it must be `DPoP` (any case), as a Bearer token
/// would silently drop the binding the client asked for; without one it
/// must not be. Other values are the token response parser's business.
pub fn check_token_type(dpop: bool, token_type: &str) -> Result<(), Error> {
    if token_type.eq_ignore_ascii_case("DPoP") == dpop {
        Ok(())
    } else {
        Err(Error::DpopTokenType { dpop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_proof_is_retried_only_when_the_clock_was_off() {
        assert!(clock_retry(400, Some("invalid_dpop_proof"), 300_000));
        assert!(!clock_retry(400, Some("invalid_dpop_proof"), 1_000));
        assert!(!clock_retry(400, Some("invalid_grant"), 300_000));
        assert!(!clock_retry(401, Some("invalid_dpop_proof"), 300_000));
        assert!(!clock_retry(400, None, 300_000));
    }

    #[test]
    fn redact_replaces_every_copy_and_leaves_short_values() {
        let mut body = br#"{"error":"use_dpop_nonce","error_description":"bad eyJ.proof.sig and eyJ.proof.sig, nonce n0nce-123 a"}"#.to_vec();
        redact(&mut body, &["eyJ.proof.sig", "n0nce-123", "a"]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error":"use_dpop_nonce","error_description":"bad [redacted] and [redacted], nonce [redacted] a"}"#
        );
    }
    use serde_json::json;

    // RFC 9449 §5: the example token request's proof (decoded in §4.2),
    // and its key's `cnf.jkt` from §6.1.
    const RFC_X: &str = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
    const RFC_Y: &str = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";
    const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    const RFC_JTI: &str = "-BwC3ESc6acc2lTc";
    const RFC_PROOF: &str = concat!(
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0",
        "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10",
        "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19",
        ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1w",
        "bGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ",
        ".2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
    );
    // RFC 9449 §7.1: the example access token and its `ath`.
    const RFC_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    const RFC_ATH: &str = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";

    fn rfc_key() -> PublicJwk {
        PublicJwk::from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": RFC_X, "y": RFC_Y})).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        Base64UrlUnpadded::encode_string(bytes)
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
    }

    fn request<'a>(url: &'a str, jti: &'a [u8]) -> ProofRequest<'a> {
        ProofRequest {
            method: "POST",
            url,
            iat: 1_562_262_616,
            jti,
            access_token: None,
            nonce: None,
        }
    }

    fn message(r: Result<impl fmt::Debug, Error>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.code(), "AUTH_DPOP_PROOF", "{e}");
        assert!(!e.is_transient());
        e.to_string()
    }

    #[test]
    fn a_webcrypto_jwk_is_read_and_its_thumbprint_is_rfc_7638() {
        let exported = json!({
            "crv": "P-256", "ext": true, "key_ops": ["verify"], "kty": "EC", "x": RFC_X, "y": RFC_Y,
        });
        let key = PublicJwk::from_jwk(&exported).unwrap();
        assert_eq!(key, rfc_key());
        assert_eq!(key.thumbprint(), RFC_JKT);
        // Computed here from RFC 7638 §3's recipe, not by the code under test.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{RFC_X}","y":"{RFC_Y}"}}"#);
        assert_eq!(b64(&Sha256::digest(canonical.as_bytes())), RFC_JKT);
        // Another key, another thumbprint, same recipe.
        let (x, y) = (b64(&[1; 32]), b64(&[2; 32]));
        let other = PublicJwk::from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}));
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        assert_eq!(
            other.unwrap().thumbprint(),
            b64(&Sha256::digest(canonical.as_bytes()))
        );
    }

    #[test]
    fn anything_but_a_public_p256_jwk_is_refused_by_name() {
        let with = |name: &str, value: Value| {
            let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": RFC_X, "y": RFC_Y});
            jwk[name] = value;
            PublicJwk::from_jwk(&jwk)
        };
        let without = |name: &str| {
            let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": RFC_X, "y": RFC_Y});
            jwk.as_object_mut().unwrap().remove(name);
            PublicJwk::from_jwk(&jwk)
        };
        assert_eq!(
            message(PublicJwk::from_jwk(&json!([RFC_X]))),
            "DPoP proof \"jwk\" must be a JSON object"
        );
        let kty = "DPoP proof \"jwk.kty\" must be \"EC\"";
        assert_eq!(message(with("kty", json!("RSA"))), kty);
        assert_eq!(message(with("kty", json!("ec"))), kty);
        assert_eq!(message(without("kty")), kty);
        let crv = "DPoP proof \"jwk.crv\" must be \"P-256\"";
        assert_eq!(message(with("crv", json!("P-384"))), crv);
        assert_eq!(message(with("crv", json!(256))), crv);
        assert_eq!(message(without("crv")), crv);
        assert_eq!(
            message(with("d", json!(b64(&[3; 32])))),
            "DPoP proof \"jwk.d\" must be absent: the key must be public"
        );
        let x = "DPoP proof \"jwk.x\" must be 32 bytes in base64url";
        let bad_x = [
            json!(b64(&[1; 31])),
            json!(b64(&[1; 33])),
            json!(format!("{RFC_X}=")),       // padded
            json!(RFC_X.replace("Fs", "Ft")), // non-zero trailing bits
            json!(RFC_X.replace('-', "+")),   // base64, not base64url
            json!(""),
            json!(null),
        ];
        for v in bad_x {
            assert_eq!(message(with("x", v.clone())), x, "{v}");
        }
        assert_eq!(message(without("x")), x);
        assert_eq!(
            message(with("y", json!(b64(&[1; 16])))),
            "DPoP proof \"jwk.y\" must be 32 bytes in base64url"
        );
    }

    #[test]
    fn htu_drops_query_and_fragment_and_serialises_the_origin() {
        for (url, want) in [
            (
                "https://server.example.com/token",
                "https://server.example.com/token",
            ),
            (
                "HTTPS://Server.Example.COM:443/Token?a=1#f",
                "https://server.example.com/Token",
            ),
            (
                "https://rs.example:8443/a/b;c?q",
                "https://rs.example:8443/a/b;c",
            ),
            ("https://rs.example", "https://rs.example/"),
            ("https://rs.example?q=1", "https://rs.example/"),
            ("https://rs.example#top", "https://rs.example/"),
            ("http://localhost:80/x/", "http://localhost/x/"),
            ("http://[0:0:0:0:0:0:0:1]:8080/p", "http://[::1]:8080/p"),
            ("https://rs.example/%7Euser/", "https://rs.example/%7Euser/"),
        ] {
            assert_eq!(htu(url).unwrap(), want, "{url}");
        }
        let refused = "DPoP proof \"htu\" must be an absolute http(s) URL";
        for url in [
            "",
            "/token",
            "rs.example/token",
            "ftp://rs.example/",
            "https://user:pw@rs.example/",
            "https://rs example/",
            "https://rs.example/a b",
            "https://rsé.example/",
            "https://rs.example:99999/",
            "https:///path",
        ] {
            assert_eq!(message(htu(url)), refused, "{url}");
        }
    }

    #[test]
    fn the_rfc_9449_example_proof_is_reproduced_byte_for_byte() {
        let jti = Base64UrlUnpadded::decode_vec(RFC_JTI).unwrap();
        assert_eq!(jti.len(), MIN_JTI_BYTES);
        let input = signing_input(
            &rfc_key(),
            &request("https://server.example.com/token", &jti),
        )
        .unwrap();
        let (rfc_input, rfc_signature) = RFC_PROOF.rsplit_once('.').unwrap();
        assert_eq!(input.bytes(), rfc_input.as_bytes());
        let signature = Base64UrlUnpadded::decode_vec(rfc_signature).unwrap();
        assert_eq!(input.into_proof(&signature).unwrap().secret(), RFC_PROOF);
    }

    #[test]
    fn claims_carry_ath_and_nonce_when_given_in_order() {
        let token = AccessToken::new(RFC_TOKEN);
        let nonce = Nonce::parse("eyJ7S_zG.eyJH0-Z.HX4w-7v").unwrap();
        let jti = [0xa5; 16];
        let full = ProofRequest {
            method: "get",
            url: "https://resource.example.org/protectedresource?x=1",
            access_token: Some(&token),
            nonce: Some(&nonce),
            ..request("", &jti)
        };
        let input = signing_input(&rfc_key(), &full).unwrap();
        let text = std::str::from_utf8(input.bytes()).unwrap();
        let (header, claims) = text.split_once('.').unwrap();
        let claims = Base64UrlUnpadded::decode_vec(claims).unwrap();
        assert_eq!(
            std::str::from_utf8(&claims).unwrap(),
            format!(
                r#"{{"jti":"{}","htm":"GET","htu":"https://resource.example.org/protectedresource","iat":1562262616,"ath":"{RFC_ATH}","nonce":"eyJ7S_zG.eyJH0-Z.HX4w-7v"}}"#,
                b64(&jti)
            )
        );
        assert_eq!(
            decode(header),
            json!({"typ": "dpop+jwt", "alg": "ES256",
                   "jwk": {"kty": "EC", "crv": "P-256", "x": RFC_X, "y": RFC_Y}})
        );
        // Without them, neither member appears; 16 bytes are 22 characters.
        let bare = signing_input(&rfc_key(), &request("https://as.example/t", &jti)).unwrap();
        let text = std::str::from_utf8(bare.bytes()).unwrap();
        let claims = decode(text.split_once('.').unwrap().1);
        let names: Vec<&str> = claims
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names.len(), 4);
        for name in ["jti", "htm", "htu", "iat"] {
            assert!(names.contains(&name), "{name}");
        }
        assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    }

    #[test]
    fn htm_is_a_method_normalised_as_fetch_does() {
        let jti = [1; 16];
        let htm_of = |method: &str| {
            let input = signing_input(
                &rfc_key(),
                &ProofRequest {
                    method,
                    ..request("https://rs.example/", &jti)
                },
            )?;
            let text = String::from_utf8(input.bytes().to_vec()).unwrap();
            Ok::<_, Error>(decode(text.split_once('.').unwrap().1)["htm"].clone())
        };
        for (method, want) in [
            ("post", "POST"),
            ("Get", "GET"),
            ("delete", "DELETE"),
            ("head", "HEAD"),
            ("options", "OPTIONS"),
            ("put", "PUT"),
            ("patch", "patch"),
            ("PATCH", "PATCH"),
            ("PROPFIND", "PROPFIND"),
        ] {
            assert_eq!(htm_of(method).unwrap(), json!(want), "{method}");
        }
        for method in ["", "GE T", "GET\r\n", "PÖST", "\"GET\""] {
            assert_eq!(
                message(htm_of(method)),
                "DPoP proof \"htm\" must be an HTTP method",
                "{method}"
            );
        }
    }

    #[test]
    fn jti_needs_96_bits_and_a_signature_64_bytes() {
        let short = [7; MIN_JTI_BYTES - 1];
        assert_eq!(
            message(signing_input(
                &rfc_key(),
                &request("https://rs.example/", &short)
            )),
            "DPoP proof \"jti\" must be at least 12 random bytes"
        );
        let jti = [7; 16];
        let input = || signing_input(&rfc_key(), &request("https://rs.example/", &jti)).unwrap();
        for len in [0, 32, 63, 65, 70, 72, 96] {
            assert_eq!(
                message(input().into_proof(&vec![1; len])),
                "DPoP proof \"signature\" must be 64 bytes (r || s)",
                "{len}"
            );
        }
        let proof = input().into_proof(&[9; SIGNATURE_BYTES]).unwrap();
        let (signed, signature) = proof.secret().rsplit_once('.').unwrap();
        assert_eq!(signed.as_bytes(), input().bytes());
        assert_eq!(signature, b64(&[9; 64]));
    }

    #[test]
    fn nonces_are_nqchar_runs_of_bounded_length() {
        let all_nqchar: String = (0x21_u8..=0x7e)
            .filter(|b| *b != b'"' && *b != b'\\')
            .map(char::from)
            .collect();
        let longest = "n".repeat(MAX_NONCE_CHARS);
        for ok in [
            "eyJ7S_zG.eyJH0-Z.HX4w-7v",
            "!",
            "~",
            "#[]",
            all_nqchar.as_str(),
            longest.as_str(),
        ] {
            assert_eq!(
                Nonce::parse(ok).map(|n| n.secret().to_owned()).as_deref(),
                Some(ok)
            );
        }
        let too_long = "n".repeat(MAX_NONCE_CHARS + 1);
        for bad in [
            "",
            " ",
            "a b",
            " abc",
            "abc ",
            "a\"b",
            "a\\b",
            "a\tb",
            "a\r\nb",
            "a\u{7f}",
            "nönce",
            "n1, n2", // two header lines joined
            too_long.as_str(),
        ] {
            assert!(Nonce::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_cache_keeps_the_latest_nonce_of_the_newest_origins() {
        let n = |s: &str| Nonce::parse(s).unwrap();
        let get = |c: &NonceCache, o: &str| c.get(o).map(|n| n.secret().to_owned());
        let mut cache = NonceCache::new();
        assert_eq!(get(&cache, "https://as.example"), None);
        cache.remember("https://as.example", n("n1"));
        cache.remember("https://rs.example", n("r1"));
        cache.remember("https://as.example", n("n2"));
        assert_eq!(get(&cache, "https://as.example").as_deref(), Some("n2"));
        assert_eq!(get(&cache, "https://rs.example").as_deref(), Some("r1"));
        assert_eq!(
            get(&cache, "https://AS.example"),
            None,
            "origins match exactly"
        );
        // rs is now the oldest: filling up to the bound forgets it first.
        for i in 0..MAX_NONCE_ORIGINS - 1 {
            cache.remember(&format!("https://{i}.example"), n("x"));
        }
        assert_eq!(get(&cache, "https://rs.example"), None);
        assert_eq!(get(&cache, "https://as.example").as_deref(), Some("n2"));
        assert_eq!(get(&cache, "https://0.example").as_deref(), Some("x"));
        cache.remember("https://new.example", n("y"));
        assert_eq!(get(&cache, "https://as.example"), None);
        assert_eq!(cache.entries.len(), MAX_NONCE_ORIGINS);
    }

    #[test]
    fn a_token_endpoint_asking_for_a_nonce_gets_one_retry() {
        use crate::core::response::{HttpResponse, error_response};
        use crate::core::time::UnixMillis;
        let nonce = Some("eyJ7S_zG.eyJH0-Z.HX4w-7v");
        let retry = |status, error, header| {
            token_nonce_retry(status, error, header).map(|n| n.secret().to_owned())
        };
        assert_eq!(retry(400, Some("use_dpop_nonce"), nonce).as_deref(), nonce);
        assert_eq!(retry(401, Some("use_dpop_nonce"), nonce), None);
        assert_eq!(retry(200, Some("use_dpop_nonce"), nonce), None);
        assert_eq!(retry(400, Some("invalid_dpop_proof"), nonce), None);
        assert_eq!(retry(400, Some("USE_DPOP_NONCE"), nonce), None);
        assert_eq!(retry(400, None, nonce), None);
        assert_eq!(retry(400, Some("use_dpop_nonce"), None), None);
        assert_eq!(retry(400, Some("use_dpop_nonce"), Some("a b")), None);

        // As the caller gets there: the error read from the body (RFC 9449
        // §8's example), the nonce from the header.
        let resp = HttpResponse {
            status: 400,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("DPoP-Nonce".into(), "eyJ7S_zG.eyJH0-Z.HX4w-7v".into()),
            ],
            body: br#"{"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce in DPoP proof"}"#.to_vec(),
        };
        let e = error_response(&resp, UnixMillis(0));
        let got = token_nonce_retry(
            e.status().unwrap_or(0),
            e.error(),
            resp.header("dpop-nonce"),
        );
        assert_eq!(got.unwrap().secret(), "eyJ7S_zG.eyJH0-Z.HX4w-7v");
    }

    #[test]
    fn a_resource_server_asking_for_a_nonce_gets_one_retry() {
        let nonce = Some("eyJ7S_zG.eyJH0-Z.HX4w-7v");
        let retry = |status, header, nonce| {
            resource_nonce_retry(status, header, nonce).map(|n| n.secret().to_owned())
        };
        // RFC 9449 §9's example.
        let rfc = r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#;
        assert_eq!(retry(401, Some(rfc), nonce).as_deref(), nonce);
        for header in [
            r#"dpop error=use_dpop_nonce"#,
            r#"Bearer realm="api", DPoP algs="ES256 PS256", error="use_dpop_nonce""#,
            r#"DPoP error="use_dpop_nonce""#,
        ] {
            assert_eq!(
                retry(401, Some(header), nonce).as_deref(),
                nonce,
                "{header}"
            );
        }
        for header in [
            r#"Bearer error="use_dpop_nonce""#,
            r#"DPoP error="invalid_token""#,
            r#"DPoP error="invalid_dpop_proof""#,
            r#"DPoP algs="ES256""#,
            "DPoP",
            r#"DPoP error="use_dpop_nonce"#, // unterminated
            "",
        ] {
            assert_eq!(retry(401, Some(header), nonce), None, "{header}");
        }
        assert_eq!(retry(400, Some(rfc), nonce), None);
        assert_eq!(retry(403, Some(rfc), nonce), None);
        assert_eq!(retry(401, None, nonce), None);
        assert_eq!(retry(401, Some(rfc), None), None);
        assert_eq!(retry(401, Some(rfc), Some("\"quoted\"")), None);
    }

    #[test]
    fn token_type_must_match_what_was_asked() {
        for (dpop, token_type) in [
            (true, "DPoP"),
            (true, "dpop"),
            (true, "DPOP"),
            (false, "Bearer"),
            (false, "bearer"),
        ] {
            assert!(
                check_token_type(dpop, token_type).is_ok(),
                "{dpop} {token_type}"
            );
        }
        for (dpop, token_type, message) in [
            (
                true,
                "Bearer",
                "must be \"DPoP\" when a DPoP proof was sent",
            ),
            (true, "", "must be \"DPoP\" when a DPoP proof was sent"),
            (true, "DPoP ", "must be \"DPoP\" when a DPoP proof was sent"),
            (
                false,
                "DPoP",
                "must not be \"DPoP\" when no DPoP proof was sent",
            ),
            (
                false,
                "dPoP",
                "must not be \"DPoP\" when no DPoP proof was sent",
            ),
        ] {
            let e = check_token_type(dpop, token_type).unwrap_err();
            assert_eq!(e.code(), "AUTH_DPOP_TOKEN_TYPE");
            assert_eq!(
                e.to_string(),
                format!("\"response\" body \"token_type\" property {message}")
            );
            assert_eq!(
                (e.status(), e.error(), e.is_transient()),
                (None, None, false)
            );
        }
    }

    #[test]
    fn no_secret_shows_in_debug_or_errors() {
        let token = AccessToken::new("SENTINEL_AT");
        let nonce = Nonce::parse("SENTINEL_NONCE").unwrap();
        let mut cache = NonceCache::new();
        cache.remember("https://rs.example", nonce.clone());
        let jti = [0x42; 16];
        let req = ProofRequest {
            access_token: Some(&token),
            nonce: Some(&nonce),
            ..request("https://rs.example/SENTINEL_PATH?SENTINEL_QUERY", &jti)
        };
        let input = signing_input(&rfc_key(), &req).unwrap();
        let shown = format!("{input:?} {nonce:?} {cache:?} {:?}", rfc_key());
        let proof = input.into_proof(&[0x11; 64]).unwrap();
        let shown = format!("{shown} {proof:?} {:?}", req.nonce);
        assert_eq!(
            shown,
            "SigningInput([redacted]) Nonce([redacted]) \
             NonceCache { origins: [\"https://rs.example\"], .. } PublicJwk(P-256) \
             Proof([redacted]) Some(Nonce([redacted]))"
        );
        let req_shown = format!("{req:?}");
        assert!(!req_shown.contains("SENTINEL_AT"), "{req_shown}");
        assert!(!req_shown.contains("SENTINEL_NONCE"), "{req_shown}");
        // Errors name the input, never its value.
        let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": RFC_X, "y": "SENTINEL_KEY", "d": "SENTINEL_D"});
        let errors = [
            PublicJwk::from_jwk(&jwk).unwrap_err(),
            {
                jwk.as_object_mut().unwrap().remove("d");
                PublicJwk::from_jwk(&jwk).unwrap_err()
            },
            htu("https://SENTINEL_USER@rs.example/").unwrap_err(),
            signing_input(
                &rfc_key(),
                &ProofRequest {
                    method: "SENTINEL METHOD",
                    ..req
                },
            )
            .unwrap_err(),
            signing_input(&rfc_key(), &req)
                .unwrap()
                .into_proof(b"SENTINEL_SIGNATURE")
                .unwrap_err(),
            check_token_type(false, "DPoP").unwrap_err(),
        ];
        for e in errors {
            let text = format!("{e} {e:?}");
            assert!(!text.contains("SENTINEL"), "{text}");
            assert!(!text.contains(RFC_X), "{text}");
        }
    }
}

/// Checks against an independent ECDSA implementation (native only: p256
/// is a native dev-dependency).
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod p256_tests {
    use super::*;
    use p256::EncodedPoint;
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
    use serde_json::json;

    fn verifying_key(x: &str, y: &str) -> VerifyingKey {
        let x = Base64UrlUnpadded::decode_vec(x).unwrap();
        let y = Base64UrlUnpadded::decode_vec(y).unwrap();
        let point =
            EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
        VerifyingKey::from_encoded_point(&point).unwrap()
    }

    fn part(text: &str) -> Value {
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(text).unwrap()).unwrap()
    }

    #[test]
    fn a_proof_signed_with_a_real_key_verifies_independently() {
        let secret = SigningKey::from_slice(&[0x17; 32]).unwrap();
        let point = secret.verifying_key().to_encoded_point(false);
        let (x, y) = (
            Base64UrlUnpadded::encode_string(point.x().unwrap()),
            Base64UrlUnpadded::encode_string(point.y().unwrap()),
        );
        // As WebCrypto exports it.
        let jwk = json!({"crv": "P-256", "ext": true, "key_ops": ["verify"], "kty": "EC", "x": x, "y": y});
        let key = PublicJwk::from_jwk(&jwk).unwrap();
        let token = AccessToken::new("an-access-token");
        let nonce = Nonce::parse("server-nonce").unwrap();
        let input = signing_input(
            &key,
            &ProofRequest {
                method: "PUT",
                url: "https://rs.example/items/7?v=2",
                iat: 1_700_000_000,
                jti: &[0x3c; 16],
                access_token: Some(&token),
                nonce: Some(&nonce),
            },
        )
        .unwrap();
        let signature: Signature = secret.sign(input.bytes());
        let proof = input.into_proof(&signature.to_bytes()).unwrap();

        // Read back with nothing from the code under test but the text.
        let parts: Vec<&str> = proof.secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = part(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(
            header["jwk"],
            json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})
        );
        let claims = part(parts[1]);
        assert_eq!(claims["htm"], "PUT");
        assert_eq!(claims["htu"], "https://rs.example/items/7");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nonce"], "server-nonce");
        assert_eq!(
            claims["ath"],
            Base64UrlUnpadded::encode_string(&Sha256::digest(b"an-access-token"))
        );
        let from_header = verifying_key(
            header["jwk"]["x"].as_str().unwrap(),
            header["jwk"]["y"].as_str().unwrap(),
        );
        assert_eq!(&from_header, secret.verifying_key());
        let signature =
            Signature::from_slice(&Base64UrlUnpadded::decode_vec(parts[2]).unwrap()).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(from_header.verify(signed.as_bytes(), &signature).is_ok());
        assert!(from_header.verify(b"another input", &signature).is_err());
        // The thumbprint names this key, per RFC 7638's recipe.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        assert_eq!(
            key.thumbprint(),
            Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
        );
    }

    #[test]
    fn the_rfc_9449_example_signature_verifies_over_our_signing_input() {
        let jti = Base64UrlUnpadded::decode_vec("-BwC3ESc6acc2lTc").unwrap();
        let key = PublicJwk::from_jwk(&json!({
            "kty": "EC", "crv": "P-256",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        }))
        .unwrap();
        let input = signing_input(
            &key,
            &ProofRequest {
                method: "POST",
                url: "https://server.example.com/token",
                iat: 1_562_262_616,
                jti: &jti,
                access_token: None,
                nonce: None,
            },
        )
        .unwrap();
        let rfc_signature = "2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
        let signature =
            Signature::from_slice(&Base64UrlUnpadded::decode_vec(rfc_signature).unwrap()).unwrap();
        let rfc_key = verifying_key(
            "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        );
        assert!(rfc_key.verify(input.bytes(), &signature).is_ok());
    }
}
