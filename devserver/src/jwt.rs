//! Compact JWS signing and verification: HS256 (LGDX access tokens,
//! Keycloak refresh tokens) and ES256 (Keycloak access and ID tokens,
//! Identity Manager tokens; verifiable in a browser with WebCrypto through
//! the JWKS). Keys are generated at start.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A JWS algorithm this server signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    /// HMAC with SHA-256 and a server-only secret.
    Hs256,
    /// ECDSA P-256 with SHA-256, public key in the JWKS.
    Es256,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Es256 => "ES256",
        }
    }
}

/// The server's signing keys.
pub(crate) struct Keys {
    hmac: [u8; 32],
    ec: SigningKey,
    kid: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Fresh random keys.
    pub(crate) fn generate() -> Self {
        let hmac: [u8; 32] = rand::random();
        let ec = loop {
            let bytes: [u8; 32] = rand::random();
            // A random 32-byte string is a valid scalar except with
            // negligible probability; draw again in that case.
            if let Ok(k) = SigningKey::from_slice(&bytes) {
                break k;
            }
        };
        let point = VerifyingKey::from(&ec).to_encoded_point(false);
        let kid = B64.encode(&Sha256::digest(point.as_bytes())[..12]);
        Self { hmac, ec, kid }
    }

    /// Signs `claims` with `alg`; the header carries `kid` for ES256.
    pub(crate) fn sign(&self, alg: Alg, claims: &Value) -> String {
        let header = match alg {
            Alg::Hs256 => json!({"alg": "HS256", "typ": "JWT"}),
            Alg::Es256 => json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
        };
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = match alg {
            Alg::Hs256 => self.hmac(input.as_bytes()).finalize().into_bytes().to_vec(),
            Alg::Es256 => {
                let s: Signature = self.ec.sign(input.as_bytes());
                s.to_bytes().to_vec()
            }
        };
        format!("{input}.{}", B64.encode(sig))
    }

    /// Checks the header's `alg` equals `alg` and the signature is ours;
    /// returns the claims object. Expiry is NOT checked here.
    pub(crate) fn verify(&self, alg: Alg, token: &str) -> Option<Value> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
        if header.get("alg")?.as_str()? != alg.name() {
            return None;
        }
        let sig = B64.decode(s).ok()?;
        let input = &token[..h.len() + 1 + c.len()];
        let ok = match alg {
            Alg::Hs256 => self.hmac(input.as_bytes()).verify_slice(&sig).is_ok(),
            Alg::Es256 => {
                let sig = Signature::from_slice(&sig).ok()?;
                VerifyingKey::from(&self.ec)
                    .verify(input.as_bytes(), &sig)
                    .is_ok()
            }
        };
        if !ok {
            return None;
        }
        let claims: Value = serde_json::from_slice(&B64.decode(c).ok()?).ok()?;
        claims.is_object().then_some(claims)
    }

    /// The public JWK set (the ES256 key).
    pub(crate) fn jwks(&self) -> Value {
        let point = VerifyingKey::from(&self.ec).to_encoded_point(false);
        let (x, y) = (
            point.x().map(|x| B64.encode(x)),
            point.y().map(|y| B64.encode(y)),
        );
        json!({"keys": [{
            "kid": self.kid, "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
            "x": x, "y": y,
        }]})
    }

    fn hmac(&self, data: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.hmac)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        m.update(data);
        m
    }
}

/// OIDC `at_hash`: base64url of the left half of SHA-256(access token).
pub(crate) fn at_hash(access_token: &str) -> String {
    B64.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

/// PKCE S256: base64url(SHA-256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// Random URL-safe token of `n` random bytes.
pub(crate) fn random_token(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_both_algs() {
        let k = Keys::generate();
        let claims = json!({"sub": "demo", "exp": 1});
        for alg in [Alg::Hs256, Alg::Es256] {
            let t = k.sign(alg, &claims);
            assert_eq!(k.verify(alg, &t), Some(claims.clone()));
            // Algorithm confusion and tampering are refused.
            let other = if alg == Alg::Hs256 {
                Alg::Es256
            } else {
                Alg::Hs256
            };
            assert_eq!(k.verify(other, &t), None);
            let mut tampered = t.clone();
            tampered.insert(t.find('.').unwrap_or(0) + 2, 'A');
            assert_eq!(k.verify(alg, &tampered), None);
        }
        assert_eq!(k.verify(Alg::Hs256, "a.b"), None);
        assert_eq!(k.verify(Alg::Hs256, "..."), None);
        let other_keys = Keys::generate();
        assert_eq!(
            other_keys.verify(Alg::Es256, &k.sign(Alg::Es256, &claims)),
            None
        );
    }

    #[test]
    fn pkce_rfc7636_vector() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn jwks_has_coordinates() {
        let jwks = Keys::generate().jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["x"].as_str().map(str::len), Some(43));
        assert_eq!(key["y"].as_str().map(str::len), Some(43));
    }
}
