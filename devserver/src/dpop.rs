//! DPoP (RFC 9449) as a strict server checks it: proof verification
//! (§4.3), server nonces (§8, §9), a `jti` replay cache (§11.1), and the
//! Keycloak-style userinfo gate for DPoP-bound tokens (§7). The token
//! endpoint's binding rules (§5, §10) are in `keycloak.rs`.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::DpopMode;
use crate::jwt::random_token;
use crate::oauth::{self, Bearer};
use crate::protected::{self, Refusal};
use crate::seed::ct_eq;
use crate::state::AppState;
use crate::stats::Protected;
use crate::store::{AccessError, AccessRecord, Style};

/// The only proof algorithm accepted (`dpop_signing_alg_values_supported`).
pub(crate) const ALG: &str = "ES256";

/// The `DPoP-Nonce` response header.
const NONCE_HEADER: &str = "dpop-nonce";

/// Why DPoP refused a request: the key of `dpop.rejected` in the stats and
/// the `dpop` field of a log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// More than one `DPoP` header.
    Multiple,
    /// Not a compact JWS of JSON objects, or a claim missing or mistyped.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    Typ,
    /// `alg` is not ES256.
    Alg,
    /// `jwk` missing, not a P-256 public key, or holding the private `d`.
    Jwk,
    /// The signature does not verify with `jwk`.
    Signature,
    /// `htm` is not the request method.
    Htm,
    /// `htu` is not the request URL.
    Htu,
    /// `iat` outside the window.
    Iat,
    /// `ath` missing or not the hash of the access token.
    Ath,
    /// The current server nonce is missing (`use_dpop_nonce`).
    Nonce,
    /// The `jti` was seen before.
    Replay,
    /// No proof where one is needed.
    Missing,
    /// A valid proof of another key than the token or code is bound to.
    Binding,
    /// A DPoP-bound token presented as Bearer, or a Bearer token where
    /// DPoP is required.
    Bearer,
}

impl Reason {
    /// Name in the stats and the log.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Multiple => "multiple",
            Self::Malformed => "malformed",
            Self::Typ => "typ",
            Self::Alg => "alg",
            Self::Jwk => "jwk",
            Self::Signature => "signature",
            Self::Htm => "htm",
            Self::Htu => "htu",
            Self::Iat => "iat",
            Self::Ath => "ath",
            Self::Nonce => "nonce",
            Self::Replay => "replay",
            Self::Missing => "missing",
            Self::Binding => "binding",
            Self::Bearer => "bearer",
        }
    }
}

/// Response extension: what DPoP made of the request (`ok` or a
/// [`Reason`]), copied to its log entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen(pub(crate) &'static str);

/// A refused proof.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    reason: Reason,
    desc: &'static str,
}

fn fail<T>(reason: Reason, desc: &'static str) -> Result<T, Failure> {
    Err(Failure { reason, desc })
}

impl Failure {
    fn code(self) -> &'static str {
        if self.reason == Reason::Nonce {
            "use_dpop_nonce"
        } else {
            "invalid_dpop_proof"
        }
    }
}

/// A verified proof.
#[derive(Debug, Clone)]
pub(crate) struct Proof {
    /// RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: String,
    nonce: Option<String>,
}

/// The two kinds of endpoint that check proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// The token endpoint (authorization server, RFC 9449 §5, §8).
    Token,
    /// Userinfo (a protected resource, §7, §9).
    Api,
}

/// The request a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Req<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
}

/// Server nonces and the `jti` replay cache.
#[derive(Debug)]
pub(crate) struct DpopState {
    nonce: Nonces,
    /// `(htu, jti)` → server second after which the proof is stale anyway.
    seen: HashMap<(String, String), i64>,
}

#[derive(Debug, Clone)]
struct Nonces {
    current: String,
    previous: Option<String>,
    /// Server milliseconds when `current` became current.
    since_ms: i64,
}

impl Default for DpopState {
    fn default() -> Self {
        Self {
            nonce: Nonces {
                current: random_token(18),
                previous: None,
                since_ms: 0,
            },
            seen: HashMap::new(),
        }
    }
}

impl DpopState {
    /// The current nonces, rotated first when `rotation_s` has passed (the
    /// previous one stays accepted for one more period, then goes).
    fn nonces(&mut self, now_ms: i64, rotation_s: u64) -> &Nonces {
        let period_ms = i64::try_from(rotation_s)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let age = now_ms.saturating_sub(self.nonce.since_ms);
        if period_ms > 0 && age >= period_ms {
            self.rotate(now_ms, age >= period_ms.saturating_mul(2));
        }
        &self.nonce
    }

    /// A new current nonce; the current one becomes the previous, unless
    /// `drop_current` (it is stale too).
    fn rotate(&mut self, now_ms: i64, drop_current: bool) {
        let previous = (!drop_current).then(|| std::mem::take(&mut self.nonce.current));
        self.nonce = Nonces {
            current: random_token(18),
            previous,
            since_ms: now_ms,
        };
    }

    /// Records a proof; `false` if its `(htu, jti)` was seen before.
    fn first_use(&mut self, htu: &str, jti: &str, keep_until: i64, now: i64) -> bool {
        self.seen.retain(|_, until| *until >= now);
        let key = (htu.to_string(), jti.to_string());
        if self.seen.contains_key(&key) {
            return false;
        }
        self.seen.insert(key, keep_until);
        true
    }

    /// Forgets every `jti`.
    pub(crate) fn clear_seen(&mut self) {
        self.seen.clear();
    }
}

/// `GET /admin/dpop`, and `POST /admin/dpop/nonce` (`rotate`: a new nonce
/// now): the current and previous nonces and how many `jti`s the replay
/// cache holds.
pub(crate) fn admin_view(st: &AppState, rotate: bool) -> Value {
    let now_ms = st.now_ms();
    let rotation = st.settings().dpop_nonce_rotation;
    let mut d = st.dpop();
    if rotate {
        d.nonces(now_ms, rotation);
        d.rotate(now_ms, false);
    }
    let n = d.nonces(now_ms, rotation).clone();
    let now = now_ms.div_euclid(1000);
    let seen = d.seen.values().filter(|until| **until >= now).count();
    json!({"nonce": n.current, "previous": n.previous, "seen_jtis": seen})
}

fn current_nonce(st: &AppState) -> String {
    let (now_ms, rotation) = (st.now_ms(), st.settings().dpop_nonce_rotation);
    st.dpop().nonces(now_ms, rotation).current.clone()
}

fn nonce_required(st: &AppState, endpoint: Endpoint) -> bool {
    let n = st.settings().dpop_nonce;
    match endpoint {
        Endpoint::Token => n.at_token(),
        Endpoint::Api => n.at_api(),
    }
}

/// RFC 7638 thumbprint of a P-256 public key given by its coordinates.
fn thumbprint(x: &[u8], y: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        B64.encode(x),
        B64.encode(y)
    );
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

/// The public key of a proof header's `jwk` and its thumbprint.
fn proof_key(jwk: Option<&Value>) -> Result<(VerifyingKey, String), Failure> {
    let Some(jwk) = jwk.and_then(Value::as_object) else {
        return fail(Reason::Jwk, "DPoP proof has no jwk header");
    };
    if jwk.contains_key("d") {
        return fail(Reason::Jwk, "DPoP proof jwk holds a private key");
    }
    let text = |k: &str| jwk.get(k).and_then(Value::as_str);
    if text("kty") != Some("EC") || text("crv") != Some("P-256") {
        return fail(Reason::Jwk, "DPoP proof jwk is not a P-256 key");
    }
    let coord = |k: &str| {
        text(k)
            .and_then(|v| B64.decode(v).ok())
            .filter(|b| b.len() == 32)
    };
    let (Some(x), Some(y)) = (coord("x"), coord("y")) else {
        return fail(Reason::Jwk, "DPoP proof jwk has bad coordinates");
    };
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    match VerifyingKey::from_sec1_bytes(&sec1) {
        Ok(k) => Ok((k, thumbprint(&x, &y))),
        Err(_) => fail(Reason::Jwk, "DPoP proof jwk is not a point on P-256"),
    }
}

/// `scheme://authority/path` with scheme and host lower-cased, the default
/// port dropped, query and fragment removed (RFC 9449 §4.3 step 9, RFC
/// 3986 §6.2.2.1 and §6.2.3).
fn normalize_url(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    if authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{authority}{path}"))
}

/// The URL the client used: `http://`, the `Host` it sent and the path.
fn request_url(st: &AppState, req: &Req<'_>) -> String {
    let base = st.base_url.strip_prefix("http://").unwrap_or(&st.base_url);
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(base);
    let url = format!("http://{host}{}", req.uri.path());
    normalize_url(&url).unwrap_or(url)
}

/// Checks the request's `DPoP` header, RFC 9449 §4.3 in order, then the
/// nonce and the replay cache. `Ok(None)`: no header. `access_token`: the
/// token the proof must hash in `ath` (protected resources). Counts the
/// outcome in the stats.
pub(crate) fn verify(
    st: &AppState,
    req: &Req<'_>,
    endpoint: Endpoint,
    access_token: Option<&str>,
) -> Result<Option<Proof>, Failure> {
    let result = check(st, req, endpoint, access_token);
    match &result {
        Ok(Some(_)) => st.stats().dpop_accepted(),
        Ok(None) => {}
        Err(f) => st.stats().dpop_rejected(f.reason.as_str()),
    }
    result
}

fn check(
    st: &AppState,
    req: &Req<'_>,
    endpoint: Endpoint,
    access_token: Option<&str>,
) -> Result<Option<Proof>, Failure> {
    let mut values = req.headers.get_all("dpop").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return fail(Reason::Multiple, "More than one DPoP header");
    }
    let malformed = Failure {
        reason: Reason::Malformed,
        desc: "DPoP proof is not a well-formed JWT",
    };
    let jws = value.to_str().map_err(|_| malformed)?;
    let mut parts = jws.split('.');
    let (Some(h), Some(c), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed);
    };
    let object = |part: &str| {
        B64.decode(part)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .filter(Value::is_object)
            .ok_or(malformed)
    };
    let (head, claims) = (object(h)?, object(c)?);
    if head.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return fail(Reason::Typ, "DPoP proof typ is not dpop+jwt");
    }
    if head.get("alg").and_then(Value::as_str) != Some(ALG) {
        return fail(Reason::Alg, "DPoP proof alg is not supported (ES256 only)");
    }
    let (key, jkt) = proof_key(head.get("jwk"))?;
    let sig = B64
        .decode(sig)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok());
    let signed = &jws[..h.len() + 1 + c.len()];
    if sig.is_none_or(|sig| key.verify(signed.as_bytes(), &sig).is_err()) {
        return fail(Reason::Signature, "DPoP proof signature is invalid");
    }

    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    let (Some(jti), Some(htm), Some(htu)) = (text("jti"), text("htm"), text("htu")) else {
        return fail(Reason::Malformed, "DPoP proof lacks jti, htm or htu");
    };
    let Some(iat) = claims.get("iat").and_then(Value::as_f64) else {
        return fail(Reason::Malformed, "DPoP proof lacks a numeric iat");
    };
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return fail(Reason::Malformed, "DPoP proof nonce is not a string"),
    };
    if jti.is_empty() {
        return fail(Reason::Malformed, "DPoP proof jti is empty");
    }
    if htm != req.method.as_str() {
        return fail(
            Reason::Htm,
            "DPoP proof htm does not match the request method",
        );
    }
    let url = request_url(st, req);
    if normalize_url(htu).as_deref() != Some(url.as_str()) {
        return fail(Reason::Htu, "DPoP proof htu does not match the request URL");
    }
    let settings = st.settings();
    let now = st.now();
    let window = settings.dpop_iat_window;
    let iat = iat.floor();
    // Compared as floats: an absurd iat must not overflow.
    if (iat - now as f64).abs() > window as f64 {
        return fail(Reason::Iat, "DPoP proof iat is not recent enough");
    }
    if let Some(token) = access_token {
        let Some(ath) = text("ath") else {
            return fail(Reason::Ath, "DPoP proof has no ath");
        };
        if !ct_eq(ath, &B64.encode(Sha256::digest(token.as_bytes()))) {
            return fail(
                Reason::Ath,
                "DPoP proof ath does not match the access token",
            );
        }
    }
    if nonce_required(st, endpoint) {
        let now_ms = st.now_ms();
        let n = st
            .dpop()
            .nonces(now_ms, settings.dpop_nonce_rotation)
            .clone();
        let desc = match endpoint {
            Endpoint::Token => "Authorization server requires nonce in DPoP proof",
            Endpoint::Api => "Resource server requires nonce in DPoP proof",
        };
        let Some(given) = nonce.as_deref() else {
            return fail(Reason::Nonce, desc);
        };
        let known =
            ct_eq(given, &n.current) || n.previous.as_deref().is_some_and(|p| ct_eq(given, p));
        if !known {
            return fail(Reason::Nonce, "DPoP proof nonce is invalid or expired");
        }
    }
    // `iat` is within ±window, so after iat + window the proof is refused
    // by its age alone and its jti need not be kept.
    let keep_until = (iat as i64).saturating_add_unsigned(window);
    if !st.dpop().first_use(&url, jti, keep_until, now) {
        return fail(Reason::Replay, "DPoP proof has already been used");
    }
    Ok(Some(Proof { jkt, nonce }))
}

fn set_nonce(st: &AppState, r: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&current_nonce(st)) {
        r.headers_mut().insert(NONCE_HEADER, v);
    }
}

fn tag(mut r: Response, seen: &'static str) -> Response {
    r.extensions_mut().insert(Seen(seen));
    r
}

/// A token-endpoint error for a refused proof: 400 `invalid_dpop_proof`
/// (RFC 9449 §5), or `use_dpop_nonce` with a `DPoP-Nonce` header (§8).
fn token_error(st: &AppState, f: Failure) -> Response {
    let mut r = oauth::error(StatusCode::BAD_REQUEST, f.code(), f.desc);
    if f.reason == Reason::Nonce {
        set_nonce(st, &mut r);
    }
    tag(r, f.reason.as_str())
}

/// The proof of a token request, by the `dpop` setting: `off` reads no
/// header; `required` refuses a request without a proof.
pub(crate) fn token_request(st: &AppState, req: &Req<'_>) -> Result<Option<Proof>, Response> {
    let mode = st.settings().dpop;
    if mode == DpopMode::Off {
        return Ok(None);
    }
    match verify(st, req, Endpoint::Token, None) {
        Ok(None) if mode == DpopMode::Required => {
            st.stats().dpop_rejected(Reason::Missing.as_str());
            Err(token_error(
                st,
                Failure {
                    reason: Reason::Missing,
                    desc: "DPoP proof is missing",
                },
            ))
        }
        Ok(p) => Ok(p),
        Err(f) => Err(token_error(st, f)),
    }
}

/// Counts a request refused by a binding rule and tags its response.
pub(crate) fn refused(st: &AppState, reason: Reason, r: Response) -> Response {
    st.stats().dpop_rejected(reason.as_str());
    tag(r, reason.as_str())
}

/// Finishes a response to a request that came with a valid proof: tags it
/// for the log and, where nonces are required and the proof did not carry
/// the current one, sends it in `DPoP-Nonce` (RFC 9449 §8.2, §9).
pub(crate) fn finish(
    st: &AppState,
    endpoint: Endpoint,
    proof: Option<&Proof>,
    mut r: Response,
) -> Response {
    let Some(proof) = proof else {
        return r;
    };
    if nonce_required(st, endpoint) && proof.nonce.as_deref() != Some(current_nonce(st).as_str()) {
        set_nonce(st, &mut r);
    }
    if r.extensions().get::<Seen>().is_none() {
        r.extensions_mut().insert(Seen("ok"));
    }
    r
}

/// 401 with an RFC 9449 §7.1 challenge, `DPoP error="…", algs="ES256"`,
/// and `DPoP-Nonce` for `use_dpop_nonce` (§9); `seen` goes to the log.
fn challenge(st: &AppState, code: &str, desc: &str, seen: &'static str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": code, "error_description": desc})),
    )
        .into_response();
    let value = format!("DPoP error=\"{code}\", error_description=\"{desc}\", algs=\"{ALG}\"");
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    if code == "use_dpop_nonce" {
        set_nonce(st, &mut r);
    }
    tag(r, seen)
}

/// The userinfo gate, Bearer and DPoP (RFC 9449 §7). With `dpop` off it is
/// [`protected::authorize`] (a DPoP-bound token is still refused as Bearer).
/// Otherwise a call without credentials gets both challenges; a DPoP-bound
/// token must come as `Authorization: DPoP` with a proof of its key whose
/// `ath` hashes it; Bearer is refused for a bound token and, with `dpop`
/// required, for any token. DPoP refusals are 401 whatever
/// `api_reject_status` says.
pub(crate) fn authorize(
    st: &AppState,
    req: &Req<'_>,
    realm: &str,
) -> Result<(AccessRecord, Option<Proof>), Response> {
    let mode = st.settings().dpop;
    let refuse = |reason: Reason, code: &str, desc: &str| {
        st.stats().protected(Protected::Invalid);
        st.stats().dpop_rejected(reason.as_str());
        challenge(st, code, desc, reason.as_str())
    };
    let token = match oauth::token_of(req.headers, "DPoP") {
        Bearer::Token(t) if mode != DpopMode::Off => t,
        Bearer::Malformed if mode != DpopMode::Off => {
            let desc = "Malformed DPoP token";
            return Err(refuse(Reason::Malformed, "invalid_token", desc));
        }
        _ => return bearer(st, req, mode, realm).map(|rec| (rec, None)),
    };
    let proof = match verify(st, req, Endpoint::Api, Some(token)) {
        Ok(Some(p)) => p,
        Ok(None) => {
            let desc = "DPoP proof is missing";
            return Err(refuse(Reason::Missing, "invalid_dpop_proof", desc));
        }
        Err(f) => {
            // `verify` counted the reason.
            st.stats().protected(Protected::Invalid);
            return Err(challenge(st, f.code(), f.desc, f.reason.as_str()));
        }
    };
    let now_ms = st.now_ms();
    let checked = st
        .store()
        .check_access(token, Style::Kc, Some(realm), now_ms);
    let rec = checked.map_err(|e| {
        let (refusal, counted) = match e {
            AccessError::Expired => (Refusal::Expired, Protected::Expired),
            AccessError::Revoked => (Refusal::Revoked, Protected::Invalid),
            AccessError::Unknown => (Refusal::Unknown, Protected::Invalid),
        };
        st.stats().protected(counted);
        // The proof was good; the token is not.
        challenge(st, "invalid_token", refusal.description(), "ok")
    })?;
    match rec.jkt.as_deref() {
        Some(jkt) if jkt == proof.jkt => {
            st.stats().protected(Protected::Ok);
            Ok((rec, Some(proof)))
        }
        Some(_) => Err(refuse(
            Reason::Binding,
            "invalid_token",
            "DPoP proof key does not match the token binding",
        )),
        None => Err(refuse(
            Reason::Binding,
            "invalid_token",
            "The access token is not DPoP-bound",
        )),
    }
}

/// The Bearer half of [`authorize`].
fn bearer(
    st: &AppState,
    req: &Req<'_>,
    mode: DpopMode,
    realm: &str,
) -> Result<AccessRecord, Response> {
    let result = protected::check(st, req.headers, Style::Kc, Some(realm));
    let refusal = match &result {
        Ok(rec) if rec.jkt.is_some() => {
            Some("A DPoP-bound access token must be sent with the DPoP scheme")
        }
        Ok(_) if mode == DpopMode::Required => {
            Some("DPoP is required: send the token with the DPoP scheme")
        }
        _ => None,
    };
    if let Some(desc) = refusal {
        st.stats().protected(Protected::Invalid);
        st.stats().dpop_rejected(Reason::Bearer.as_str());
        return Err(challenge(
            st,
            "invalid_token",
            desc,
            Reason::Bearer.as_str(),
        ));
    }
    protected::count(st, &result);
    result.map_err(|r| {
        let mut resp = protected::refuse(st, r, realm, false);
        if r == Refusal::Missing
            && mode != DpopMode::Off
            && resp.status() == StatusCode::UNAUTHORIZED
        {
            // RFC 9449 §7.2: both schemes are offered.
            if let Ok(v) = HeaderValue::from_str(&format!("DPoP algs=\"{ALG}\"")) {
                resp.headers_mut().append(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9449_thumbprint_example() {
        // RFC 9449 §6.1's key and thumbprint.
        let x = B64
            .decode("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs")
            .unwrap();
        let y = B64
            .decode("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA")
            .unwrap();
        assert_eq!(
            thumbprint(&x, &y),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn url_normalization() {
        assert_eq!(
            normalize_url("HTTP://LocalHost:80/a/b?x=1#f").as_deref(),
            Some("http://localhost/a/b")
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        assert_eq!(normalize_url("ftp://x/"), None);
        assert_eq!(normalize_url("/token"), None);
        assert_eq!(normalize_url("http:///token"), None);
    }

    #[test]
    fn nonces_rotate_with_one_period_of_overlap() {
        let mut d = DpopState::default();
        let first = d.nonces(0, 60).current.clone();
        assert_eq!(d.nonces(59_999, 60).current, first);
        let n = d.nonces(60_000, 60).clone();
        assert_ne!(n.current, first);
        assert_eq!(n.previous.as_deref(), Some(first.as_str()));
        // Two periods idle: both are stale.
        assert_eq!(d.nonces(200_000, 60).previous, None);
        // 0: only on request.
        let cur = d.nonces(200_000, 0).current.clone();
        assert_eq!(d.nonces(i64::MAX / 2, 0).current, cur);
    }

    #[test]
    fn replay_cache_forgets_after_the_window() {
        let mut d = DpopState::default();
        assert!(d.first_use("http://h/t", "a", 100, 40));
        assert!(!d.first_use("http://h/t", "a", 100, 99));
        assert!(d.first_use("http://h/u", "a", 100, 99));
        assert!(d.first_use("http://h/t", "a", 200, 101));
    }
}
