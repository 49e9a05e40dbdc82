//! An untrusted peek at a JWT's claims, for scheduling and display only.
//!
//! The signature is never checked (jwt-compact's `UntrustedToken`): `exp`
//! and `iat` only decide when to refresh, and the claims are shown to the
//! app as untrusted data. A token that is not a readable JWT yields `None`.

use super::time::UnixMillis;
use jwt_compact::UntrustedToken;
use serde_json::{Map, Value};

/// Claims read from a JWT without verifying it.
#[derive(Debug, Clone)]
pub struct UntrustedClaims {
    /// `exp` (RFC 7519 §4.1.4), in the server's clock.
    pub expires_at: Option<UnixMillis>,
    /// `iat` (RFC 7519 §4.1.6), in the server's clock.
    pub issued_at: Option<UnixMillis>,
    /// Every claim, `exp`/`nbf`/`iat` as seconds.
    pub claims: Map<String, Value>,
}

/// Reads the claims of a compact JWS without trusting it; `None` for an
/// opaque or malformed token (e.g. `a.b`, bad base64, `"exp": "x"`).
#[must_use]
pub fn peek(token: &str) -> Option<UntrustedClaims> {
    // The signature is never checked here, so it is not decoded either:
    // jwt-compact reads `header.payload.` (an empty signature) as it reads
    // the whole token, and the signature of an RS256 token is a third of it.
    let (signed, _signature) = token.rsplit_once('.')?;
    let unsigned = format!("{signed}.");
    let parsed = UntrustedToken::new(&unsigned).ok()?;
    let c = parsed
        .deserialize_claims_unchecked::<Map<String, Value>>()
        .ok()?;
    let expires_at = c
        .expiration
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok());
    let issued_at = c
        .issued_at
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok());
    let mut claims = c.custom;
    for (name, t) in [
        ("exp", c.expiration),
        ("nbf", c.not_before),
        ("iat", c.issued_at),
    ] {
        if let Some(t) = t {
            claims.insert(name.into(), Value::from(t.timestamp()));
        }
    }
    Some(UntrustedClaims {
        expires_at: expires_at.map(UnixMillis),
        issued_at: issued_at.map(UnixMillis),
        claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};

    fn jwt(claims: &str) -> String {
        let h = Base64UrlUnpadded::encode_string(br#"{"alg":"HS256","typ":"JWT"}"#);
        let c = Base64UrlUnpadded::encode_string(claims.as_bytes());
        format!("{h}.{c}.c2ln")
    }

    // TR-28, TR-29
    #[test]
    fn reads_exp_without_trust() {
        let c = peek(&jwt(r#"{"exp":1700000000,"iat":1699999000,"sub":"u1"}"#));
        let c = c.expect("readable");
        assert_eq!(c.expires_at, Some(UnixMillis(1_700_000_000_000)));
        assert_eq!(c.issued_at, Some(UnixMillis(1_699_999_000_000)));
        assert_eq!(c.claims.get("sub"), Some(&Value::from("u1")));
        for bad in [
            "opaque",
            "a.b",
            "!!.??.x",
            &jwt(r#"{"exp":"x"}"#),
            &jwt("[1]"),
        ] {
            assert!(peek(bad).is_none(), "{bad}");
        }
    }
}
