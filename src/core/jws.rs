//! Splitting a compact JWS (RFC 7515 §7.1) without trusting it.
//!
//! [`split`] accepts exactly the tokens jwt-compact 0.8's `UntrustedToken`
//! accepts (three base64url parts, a header object with a string `alg`,
//! well-typed `jku`/`kid`/`x5u`/`x5t`/`x5t#S256`/`typ`, none of them
//! repeated, and `cty` absent or `json`), and [`claims`] reads the payload
//! as its `deserialize_claims_unchecked` does (`exp`, `nbf` and `iat` as
//! UTC timestamps in chrono's range). Written by hand because the crate's
//! generic header and claims types cost several KB of wasm; the property
//! tests below check both against jwt-compact.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A compact JWS split into its parts; nothing is verified.
pub(crate) struct Compact {
    /// The header's `alg`.
    pub(crate) alg: String,
    /// The header's `kid`, if any.
    pub(crate) kid: Option<String>,
    /// The decoded payload bytes.
    pub(crate) payload: Vec<u8>,
    /// The decoded signature bytes.
    pub(crate) signature: Vec<u8>,
}

/// The members of a JSON object in order, repeated names kept.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Members, A::Error> {
        let mut members = Vec::new();
        while let Some(entry) = access.next_entry::<String, Value>()? {
            members.push(entry);
        }
        Ok(Members(members))
    }
}

impl Members {
    fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The one value of `name`: `Ok(None)` when absent, `Err` when repeated.
    fn single(&self, name: &str) -> Result<Option<&Value>, ()> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = found.next();
        if found.next().is_some() {
            return Err(());
        }
        Ok(first)
    }

    /// An optional string member: absent or `null` → `None`.
    fn opt_string(&self, name: &str) -> Result<Option<&str>, ()> {
        match self.single(name)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(()),
        }
    }
}

/// A certificate thumbprint of `n` bytes as jwt-compact reads one: up to
/// two `=` trimmed; shorter is an error, exactly `n` bytes must decode,
/// longer must decode to UTF-8 text.
fn thumbprint_ok(value: &str, n: usize) -> bool {
    let mut value = value;
    for _ in 0..2 {
        value = value.strip_suffix('=').unwrap_or(value);
    }
    let decoded_len = value.len() * 3 / 4;
    if decoded_len < n {
        false
    } else if decoded_len == n {
        let mut bytes = [0_u8; 32];
        bytes
            .get_mut(..n)
            .is_some_and(|buf| Base64UrlUnpadded::decode(value, buf).is_ok())
    } else {
        Base64UrlUnpadded::decode_vec(value)
            .ok()
            .is_some_and(|bytes| std::str::from_utf8(&bytes).is_ok())
    }
}

/// Splits `token` into header fields, payload and signature; `None` when
/// it is not a compact JWS that jwt-compact would parse.
#[must_use]
pub(crate) fn split(token: &str) -> Option<Compact> {
    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header = Base64UrlUnpadded::decode_vec(header).ok()?;
    let payload = Base64UrlUnpadded::decode_vec(payload).ok()?;
    let signature = Base64UrlUnpadded::decode_vec(signature).ok()?;
    let header = Members::parse(&header)?;
    let alg = match header.single("alg").ok()? {
        Some(Value::String(alg)) => alg.clone(),
        _ => return None,
    };
    if header
        .opt_string("cty")
        .ok()?
        .is_some_and(|cty| !cty.eq_ignore_ascii_case("json"))
    {
        return None;
    }
    for name in ["jku", "x5u", "typ"] {
        header.opt_string(name).ok()?;
    }
    for (name, n) in [("x5t", 20), ("x5t#S256", 32)] {
        if let Some(t) = header.opt_string(name).ok()?
            && !thumbprint_ok(t, n)
        {
            return None;
        }
    }
    let kid = header.opt_string("kid").ok()?.map(str::to_owned);
    Some(Compact {
        alg,
        kid,
        payload,
        signature,
    })
}

/// The earliest and latest UTC timestamps chrono represents, in seconds:
/// jwt-compact refuses `exp`, `nbf` and `iat` outside them.
const MIN_TIMESTAMP: i64 = -8_334_601_228_800;
const MAX_TIMESTAMP: i64 = 8_210_266_876_799;

/// A payload's claims as jwt-compact reads them: an object whose `exp`,
/// `nbf` and `iat`, when present, are numbers (fractions truncated) within
/// chrono's range, given back as whole seconds; other members as they are
/// (a repeated one keeps its last value).
pub(crate) struct Claims {
    /// `exp` in seconds.
    pub(crate) exp: Option<i64>,
    /// `nbf` in seconds.
    pub(crate) nbf: Option<i64>,
    /// `iat` in seconds.
    pub(crate) iat: Option<i64>,
    /// Every other member.
    pub(crate) custom: Map<String, Value>,
}

/// Reads `payload` as JWT claims; `None` when jwt-compact would refuse it.
#[must_use]
pub(crate) fn claims(payload: &[u8]) -> Option<Claims> {
    let members = Members::parse(payload)?;
    let time = |name: &str| -> Result<Option<i64>, ()> {
        let Some(v) = members.single(name)? else {
            return Ok(None);
        };
        let Value::Number(n) = v else { return Err(()) };
        let secs = if let Some(i) = n.as_i64() {
            i
        } else if n.is_u64() {
            return Err(());
        } else {
            // Saturating, as jwt-compact's `value as i64`.
            #[allow(clippy::cast_possible_truncation)]
            let s = n.as_f64().ok_or(())? as i64;
            s
        };
        if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&secs) {
            Ok(Some(secs))
        } else {
            Err(())
        }
    };
    let exp = time("exp").ok()?;
    let nbf = time("nbf").ok()?;
    let iat = time("iat").ok()?;
    let mut custom = Map::new();
    for (k, v) in members.0 {
        if !matches!(k.as_str(), "exp" | "nbf" | "iat") {
            custom.insert(k, v);
        }
    }
    Some(Claims {
        exp,
        nbf,
        iat,
        custom,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jwt_compact::UntrustedToken;
    use proptest::prelude::*;

    /// What jwt-compact 0.8 makes of a token: `alg`, `kid`, signature and
    /// the claims as `claims::peek` builds them.
    type Peek = (String, Option<String>, Vec<u8>, Option<Map<String, Value>>);

    fn reference(token: &str) -> Option<Peek> {
        let t = UntrustedToken::new(token).ok()?;
        let claims = t
            .deserialize_claims_unchecked::<Map<String, Value>>()
            .ok()
            .map(|c| {
                let mut m = c.custom;
                for (name, v) in [
                    ("exp", c.expiration),
                    ("nbf", c.not_before),
                    ("iat", c.issued_at),
                ] {
                    if let Some(v) = v {
                        m.insert(name.into(), Value::from(v.timestamp()));
                    }
                }
                m
            });
        Some((
            t.algorithm().to_owned(),
            t.header().key_id.clone(),
            t.signature_bytes().to_vec(),
            claims,
        ))
    }

    fn ours(token: &str) -> Option<Peek> {
        let c = split(token)?;
        let claims = claims(&c.payload).map(|c| {
            let mut m = c.custom;
            for (name, v) in [("exp", c.exp), ("nbf", c.nbf), ("iat", c.iat)] {
                if let Some(v) = v {
                    m.insert(name.into(), Value::from(v));
                }
            }
            m
        });
        Some((c.alg, c.kid, c.signature, claims))
    }

    #[test]
    fn timestamp_bounds_are_chronos() {
        use chrono::{DateTime, Utc};
        assert_eq!(DateTime::<Utc>::MIN_UTC.timestamp(), MIN_TIMESTAMP);
        assert_eq!(DateTime::<Utc>::MAX_UTC.timestamp(), MAX_TIMESTAMP);
    }

    fn b64(text: &str) -> String {
        Base64UrlUnpadded::encode_string(text.as_bytes())
    }

    /// JSON values of every kind, with numbers near the edges that matter.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("\"RS256\"".to_owned()),
            Just("\"json\"".to_owned()),
            Just("\"JSON\"".to_owned()),
            Just("\"cbor\"".to_owned()),
            Just("[]".to_owned()),
            Just("{\"a\":1}".to_owned()),
            Just("-8334601228800".to_owned()),
            Just("-8334601228801".to_owned()),
            Just("8210266876799".to_owned()),
            Just("8210266876800".to_owned()),
            Just("9223372036854775808".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("1e300".to_owned()),
            Just("-0.5".to_owned()),
            Just("1700000000.9".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u32>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| f.to_string()),
            // Thumbprints: base64url of 19–21 and 31–33 bytes, padded or not.
            (0_usize..4, 19_usize..34, any::<bool>()).prop_map(|(pad, n, text)| {
                let bytes: Vec<u8> = if text { vec![b'a'; n] } else { vec![0xff; n] };
                format!(
                    "\"{}{}\"",
                    Base64UrlUnpadded::encode_string(&bytes),
                    "=".repeat(pad)
                )
            }),
            "\"[A-Za-z0-9_=-]{0,44}\"",
        ]
    }

    fn name() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "alg", "cty", "kid", "jku", "x5u", "typ", "x5t", "x5t#S256", "crit", "exp", "nbf",
            "iat", "sub", "aud",
        ])
    }

    fn object() -> impl Strategy<Value = String> {
        prop::collection::vec((name(), value()), 0..6).prop_map(|members| {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    fn token() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                object().prop_map(|h| format!("{{\"alg\":\"ES256\",{}", &h[1..])),
                object(),
                Just("[1]".to_owned()),
            ],
            prop_oneof![object(), Just("[]".to_owned()), Just("{} x".to_owned())],
            prop_oneof![
                Just("c2ln".to_owned()),
                Just(String::new()),
                Just("c2l".to_owned()),
                Just("c2lnA".to_owned()),
                Just("!!".to_owned()),
            ],
            prop_oneof![Just(""), Just(".x"), Just(".")],
        )
            .prop_map(|(h, c, s, tail)| {
                let h = b64(&h.replace(",}", "}"));
                let c = b64(&c);
                format!("{h}.{c}.{s}{tail}")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        #[test]
        fn reads_tokens_as_jwt_compact_does(t in token()) {
            prop_assert_eq!(ours(&t), reference(&t), "{}", t);
        }

        #[test]
        fn arbitrary_text_as_jwt_compact_does(t in "[A-Za-z0-9_.=-]{0,40}") {
            prop_assert_eq!(ours(&t), reference(&t));
        }
    }

    #[test]
    fn fixed_cases_as_jwt_compact_does() {
        let cases = [
            "e30.e30.",
            "eyJhbGciOiJub25lIn0.e30.",
            "eyJhbGciOiJub25lIn0.e30",
            "eyJhbGciOiJub25lIn0.e30..",
            &format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256","alg":"RS256"}"#),
                b64("{}")
            ),
            &format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256","kid":"a","kid":"b"}"#),
                b64("{}")
            ),
            &format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256","kid":null}"#),
                b64(r#"{"exp":null}"#)
            ),
            &format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256"}"#),
                b64(r#"{"exp":1,"exp":2}"#)
            ),
            &format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256"}"#),
                b64(r#"{"a":1,"a":2}"#)
            ),
            &format!(
                "{}.{}.c2ln",
                b64(r#"{"a\u006cg":"RS256"}"#),
                b64(r#"{"e\u0078p":5}"#)
            ),
            &format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256","cty":"Json"}"#),
                b64("{}")
            ),
        ];
        for t in cases {
            assert_eq!(ours(t), reference(t), "{t}");
        }
    }
}
