//! DPoP (RFC 9449) at the Keycloak-style token endpoint and userinfo:
//! proofs built here with p256, as a browser builds them with WebCrypto.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A client's DPoP key pair.
struct Key(SigningKey);

impl Key {
    fn new() -> Self {
        loop {
            if let Ok(k) = SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                return Self(k);
            }
        }
    }

    fn jwk(&self) -> Value {
        let p = self.0.verifying_key().to_encoded_point(false);
        json!({
            "kty": "EC", "crv": "P-256",
            "x": B64.encode(p.x().unwrap()), "y": B64.encode(p.y().unwrap()),
        })
    }

    /// RFC 7638 thumbprint.
    fn jkt(&self) -> String {
        let j = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            s(&j["x"]),
            s(&j["y"])
        );
        B64.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for `htm htu` issued now, `claims` merged over the defaults.
    fn proof(&self, htm: &str, htu: &str, claims: Value) -> String {
        self.proof_with(json!({}), htm, htu, claims)
    }

    /// Same, with `head` merged over the default JOSE header.
    fn proof_with(&self, head: Value, htm: &str, htu: &str, claims: Value) -> String {
        let mut h = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()});
        merge(&mut h, head);
        let mut c = json!({
            "jti": B64.encode(rand::random::<[u8; 16]>()),
            "htm": htm, "htu": htu, "iat": real_now_ms() / 1000,
        });
        merge(&mut c, claims);
        let input = format!(
            "{}.{}",
            B64.encode(h.to_string()),
            B64.encode(c.to_string())
        );
        let sig: Signature = self.0.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }
}

/// Sets or (for `null`) removes the members of `patch` in `v`.
fn merge(v: &mut Value, patch: Value) {
    for (k, x) in patch.as_object().unwrap() {
        if x.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = x.clone();
        }
    }
}

fn ath(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}

async fn server(settings: Value) -> Server {
    let srv = start().await;
    srv.set(settings).await;
    srv
}

fn token_url(srv: &Server) -> String {
    srv.url(&format!("{KC}/token"))
}

fn userinfo_url(srv: &Server) -> String {
    srv.url(&format!("{KC}/userinfo"))
}

/// Password grant of the public client, with these `DPoP` headers.
async fn login(srv: &Server, proofs: &[&str]) -> Response {
    let mut rb = srv.http.post(token_url(srv)).form(&[
        ("grant_type", "password"),
        ("client_id", "tokenkeeper-demo"),
        ("username", "demo"),
        ("password", "demo-password"),
    ]);
    for p in proofs {
        rb = rb.header("DPoP", *p);
    }
    rb.send().await.unwrap()
}

/// A bound login with `key`: the token response.
async fn bound_login(srv: &Server, key: &Key) -> Value {
    let r = login(srv, &[&key.proof("POST", &token_url(srv), json!({}))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn refresh(srv: &Server, refresh_token: &str, proof: Option<String>) -> Response {
    let mut rb = srv.http.post(token_url(srv)).form(&[
        ("grant_type", "refresh_token"),
        ("client_id", "tokenkeeper-demo"),
        ("refresh_token", refresh_token),
    ]);
    if let Some(p) = proof {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.unwrap()
}

/// Calls userinfo with `Authorization: <scheme> <token>` and the proof.
async fn userinfo(srv: &Server, auth: Option<&str>, proof: Option<String>) -> Response {
    let mut rb = srv.http.get(userinfo_url(srv));
    if let Some(a) = auth {
        rb = rb.header("Authorization", a);
    }
    if let Some(p) = proof {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.unwrap()
}

/// A proof for a userinfo GET carrying the token's `ath`.
fn api_proof(srv: &Server, key: &Key, token: &str, claims: Value) -> String {
    let mut c = json!({"ath": ath(token)});
    merge(&mut c, claims);
    key.proof("GET", &userinfo_url(srv), c)
}

/// The (first) `WWW-Authenticate` challenge.
fn challenge(r: &Response) -> String {
    header(r, "www-authenticate")
}

fn last_log(stats: &Value, endpoint: &str) -> Value {
    stats["log"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["endpoint"] == endpoint)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn off_by_default_ignores_the_header() {
    let srv = start().await;
    let key = Key::new();
    let b = bound_login(&srv, &key).await;
    assert_eq!(b["token_type"], "Bearer");
    assert!(claims(s(&b["access_token"])).get("cnf").is_none());
    let d: Value = srv
        .http
        .get(srv.url("/realms/tokenkeeper/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(d.get("dpop_signing_alg_values_supported").is_none());
    // `Authorization: DPoP` is not a scheme userinfo knows: no credentials.
    let at = s(&b["access_token"]);
    let r = userinfo(&srv, Some(&format!("DPoP {at}")), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&r), "Bearer realm=\"tokenkeeper\"");
    let st = srv.stats().await;
    assert_eq!(st["dpop"]["accepted"], 0);
    assert!(last_log(&st, "kc.token").get("dpop").is_none());
}

#[tokio::test]
async fn a_valid_proof_binds_the_tokens() {
    let srv = server(json!({"dpop": "allowed"})).await;
    let d: Value = srv
        .http
        .get(srv.url("/realms/tokenkeeper/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["dpop_signing_alg_values_supported"], json!(["ES256"]));

    let key = Key::new();
    let b = bound_login(&srv, &key).await;
    assert_eq!(b["token_type"], "DPoP");
    let at = s(&b["access_token"]);
    let c = claims(at);
    assert_eq!(c["cnf"]["jkt"], key.jkt());
    assert_eq!(c["typ"], "DPoP");
    // A public client's refresh token is bound too (RFC 9449 §5).
    assert_eq!(claims(s(&b["refresh_token"]))["cnf"]["jkt"], key.jkt());

    let r = userinfo(
        &srv,
        Some(&format!("DPoP {at}")),
        Some(api_proof(&srv, &key, at, json!({}))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["preferred_username"],
        "demo"
    );
    // POST is another htm; the scheme name is case-insensitive.
    let r = srv
        .http
        .post(userinfo_url(&srv))
        .header("Authorization", format!("dpop {at}"))
        .header(
            "DPoP",
            key.proof("POST", &userinfo_url(&srv), json!({"ath": ath(at)})),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // htu is compared without query and fragment, scheme and host
    // case-insensitively (RFC 9449 §4.3 step 9).
    let htu = format!("{}?x=1#f", token_url(&srv)).replace("http://", "HTTP://");
    let r = login(&srv, &[&key.proof("POST", &htu, json!({}))]).await;
    assert_eq!(r.status(), StatusCode::OK);

    // Without a proof: Bearer, exactly as before.
    let b = srv.kc_login("").await;
    assert_eq!(b["token_type"], "Bearer");
    assert!(claims(s(&b["access_token"])).get("cnf").is_none());

    let st = srv.stats().await;
    assert_eq!(st["dpop"]["accepted"], 4);
    assert_eq!(st["dpop"]["bound_tokens"], 2);
    assert_eq!(st["dpop"]["rejected"]["total"], 0);
    assert_eq!(last_log(&st, "kc.userinfo")["dpop"], "ok");
    assert_eq!(st["protected_calls"]["ok"], 2);
}

#[tokio::test]
async fn the_token_endpoint_refuses_bad_proofs() {
    let srv = server(json!({"dpop": "allowed"})).await;
    let (key, other) = (Key::new(), Key::new());
    let url = token_url(&srv);
    let now = real_now_ms() / 1000;
    let mut private = key.jwk();
    private["d"] = json!(B64.encode([7u8; 32]));
    let cases: Vec<(&str, Vec<String>)> = vec![
        // Signed with `key`, carrying `other`'s public key.
        (
            "signature",
            vec![key.proof_with(json!({"jwk": other.jwk()}), "POST", &url, json!({}))],
        ),
        ("htm", vec![key.proof("GET", &url, json!({}))]),
        (
            "htu",
            vec![key.proof("POST", &userinfo_url(&srv), json!({}))],
        ),
        (
            "htu",
            vec![key.proof("POST", "http://127.0.0.1:1/x", json!({}))],
        ),
        (
            "iat",
            vec![key.proof("POST", &url, json!({"iat": now - 120}))],
        ),
        (
            "iat",
            vec![key.proof("POST", &url, json!({"iat": now + 120}))],
        ),
        (
            "typ",
            vec![key.proof_with(json!({"typ": "JWT"}), "POST", &url, json!({}))],
        ),
        (
            "alg",
            vec![key.proof_with(json!({"alg": "HS256"}), "POST", &url, json!({}))],
        ),
        (
            "jwk",
            vec![key.proof_with(json!({"jwk": private}), "POST", &url, json!({}))],
        ),
        (
            "jwk",
            vec![key.proof_with(json!({"jwk": null}), "POST", &url, json!({}))],
        ),
        (
            "malformed",
            vec![key.proof("POST", &url, json!({"jti": null}))],
        ),
        ("malformed", vec!["not-a-jwt".into()]),
        (
            "multiple",
            vec![
                key.proof("POST", &url, json!({})),
                key.proof("POST", &url, json!({})),
            ],
        ),
    ];
    for (reason, proofs) in &cases {
        let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let (st, err, desc) = oauth_error(login(&srv, &refs).await).await;
        assert_eq!(
            (st, err.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof"),
            "{reason}: {desc}"
        );
        let log = last_log(&srv.stats().await, "kc.token");
        assert_eq!(log["dpop"], *reason, "{desc}");
    }

    // A replayed proof: the jti was seen (RFC 9449 §11.1).
    let p = key.proof("POST", &url, json!({}));
    assert_eq!(login(&srv, &[&p]).await.status(), StatusCode::OK);
    let (st, err, desc) = oauth_error(login(&srv, &[&p]).await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof")
    );
    assert_eq!(desc, "DPoP proof has already been used");

    let st = srv.stats().await;
    let rejected = &st["dpop"]["rejected"];
    assert_eq!(rejected["total"], 14);
    for (reason, n) in [
        ("signature", 1),
        ("htm", 1),
        ("htu", 2),
        ("iat", 2),
        ("typ", 1),
        ("alg", 1),
        ("jwk", 2),
        ("malformed", 2),
        ("multiple", 1),
        ("replay", 1),
    ] {
        assert_eq!(rejected[reason], n, "{reason}");
    }
    assert_eq!(st["dpop"]["accepted"], 1);
    assert_eq!(st["logins"]["total"], 1);
}

#[tokio::test]
async fn the_iat_window_is_on_the_server_clock() {
    let srv = server(json!({"dpop": "allowed", "clock_offset": 3600})).await;
    let key = Key::new();
    let url = token_url(&srv);
    let r = login(&srv, &[&key.proof("POST", &url, json!({}))]).await;
    assert_eq!(oauth_error(r).await.1, "invalid_dpop_proof");
    // A client that takes the time from `Date` builds an accepted proof.
    let iat = real_now_ms() / 1000 + 3600;
    let r = login(&srv, &[&key.proof("POST", &url, json!({"iat": iat}))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    // A tighter window, as Keycloak's (10 s lifetime + 15 s skew).
    srv.set(json!({"dpop_iat_window": 25})).await;
    let r = login(&srv, &[&key.proof("POST", &url, json!({"iat": iat - 30}))]).await;
    assert_eq!(oauth_error(r).await.1, "invalid_dpop_proof");
}

#[tokio::test]
async fn the_protected_api_checks_ath_key_and_scheme() {
    let srv = server(json!({"dpop": "allowed"})).await;
    let (key, other) = (Key::new(), Key::new());
    let b = bound_login(&srv, &key).await;
    let at = s(&b["access_token"]);
    let dpop_auth = format!("DPoP {at}");

    // No credentials: both schemes are offered (RFC 9449 §7.2).
    let r = userinfo(&srv, None, None).await;
    let offered: Vec<&str> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        offered,
        ["Bearer realm=\"tokenkeeper\"", "DPoP algs=\"ES256\""]
    );

    let cases = [
        (
            "ath",
            Some(key.proof("GET", &userinfo_url(&srv), json!({}))),
            "invalid_dpop_proof",
        ),
        (
            "ath",
            Some(api_proof(&srv, &key, at, json!({"ath": ath("other")}))),
            "invalid_dpop_proof",
        ),
        (
            "htm",
            Some(key.proof("POST", &userinfo_url(&srv), json!({"ath": ath(at)}))),
            "invalid_dpop_proof",
        ),
        ("missing", None, "invalid_dpop_proof"),
        // A good proof of another key: the token is not bound to it.
        (
            "binding",
            Some(api_proof(&srv, &other, at, json!({}))),
            "invalid_token",
        ),
    ];
    for (reason, proof, code) in cases {
        let r = userinfo(&srv, Some(&dpop_auth), proof).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{reason}");
        let c = challenge(&r);
        assert!(
            c.starts_with(&format!("DPoP error=\"{code}\"")),
            "{reason}: {c}"
        );
        assert!(c.ends_with("algs=\"ES256\""), "{c}");
        assert_eq!(oauth_error(r).await.1, code);
    }

    // The bound token as Bearer: refused with a DPoP challenge (§7.2).
    let r = userinfo(&srv, Some(&format!("Bearer {at}")), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).starts_with("DPoP error=\"invalid_token\""));
    // And it is still refused so with api_reject_status 403.
    srv.set(json!({"api_reject_status": 403})).await;
    let r = userinfo(&srv, Some(&format!("Bearer {at}")), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.set(json!({"api_reject_status": 401})).await;

    // An unbound token with the DPoP scheme and a good proof.
    let plain = srv.kc_login("").await;
    let pat = s(&plain["access_token"]);
    let r = userinfo(
        &srv,
        Some(&format!("DPoP {pat}")),
        Some(api_proof(&srv, &key, pat, json!({}))),
    )
    .await;
    assert!(challenge(&r).starts_with("DPoP error=\"invalid_token\""));
    // The bearer token as Bearer still works.
    let r = userinfo(&srv, Some(&format!("Bearer {pat}")), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    // An expired bound token with a good proof: invalid_token, DPoP challenge.
    srv.advance(120).await;
    srv.set(json!({"dpop_iat_window": 3600})).await;
    let r = userinfo(
        &srv,
        Some(&dpop_auth),
        Some(api_proof(&srv, &key, at, json!({}))),
    )
    .await;
    assert!(challenge(&r).contains("error_description=\"The access token expired\""));

    let st = srv.stats().await;
    let rejected = &st["dpop"]["rejected"];
    for (reason, n) in [
        ("ath", 2),
        ("htm", 1),
        ("missing", 1),
        ("binding", 2),
        ("bearer", 2),
    ] {
        assert_eq!(rejected[reason], n, "{reason}");
    }
    assert_eq!(st["protected_calls"]["ok"], 1);
    assert_eq!(st["protected_calls"]["expired"], 1);
    assert_eq!(st["protected_calls"]["missing"], 1);
    assert_eq!(st["protected_calls"]["invalid"], 8);
}

#[tokio::test]
async fn refresh_tokens_are_bound_for_public_clients_only() {
    let srv = server(json!({"dpop": "allowed"})).await;
    let (key, other) = (Key::new(), Key::new());
    let url = token_url(&srv);
    let b = bound_login(&srv, &key).await;
    let rt = s(&b["refresh_token"]);

    let r = refresh(&srv, rt, Some(other.proof("POST", &url, json!({})))).await;
    let (st, err, desc) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(desc, "DPoP confirmation doesn't match DPoP proof");
    let (_, err, desc) = oauth_error(refresh(&srv, rt, None).await).await;
    assert_eq!(
        (err.as_str(), desc.as_str()),
        ("invalid_grant", "DPoP proof is missing")
    );

    // The refused attempts did not spend it: the right key refreshes.
    let r = refresh(&srv, rt, Some(key.proof("POST", &url, json!({})))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "DPoP");
    assert_eq!(claims(s(&b["access_token"]))["cnf"]["jkt"], key.jkt());
    assert_eq!(claims(s(&b["refresh_token"]))["cnf"]["jkt"], key.jkt());

    // A confidential client's refresh token is not bound (RFC 9449 §5):
    // another key refreshes it, and the new access token is bound to it.
    let r = srv
        .http
        .post(&url)
        .basic_auth("tokenkeeper-confidential", Some("confidential-secret"))
        .header("DPoP", key.proof("POST", &url, json!({})))
        .form(&[
            ("grant_type", "password"),
            ("username", "demo"),
            ("password", "demo-password"),
        ])
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "DPoP");
    assert!(claims(s(&b["refresh_token"])).get("cnf").is_none());
    let r = srv
        .http
        .post(&url)
        .basic_auth("tokenkeeper-confidential", Some("confidential-secret"))
        .header("DPoP", other.proof("POST", &url, json!({})))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", s(&b["refresh_token"])),
        ])
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(claims(s(&b["access_token"]))["cnf"]["jkt"], other.jkt());

    // Client credentials with a proof: a bound token, no refresh token.
    let r = srv
        .http
        .post(&url)
        .basic_auth("tokenkeeper-confidential", Some("confidential-secret"))
        .header("DPoP", key.proof("POST", &url, json!({})))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "DPoP");
    assert_eq!(claims(s(&b["access_token"]))["cnf"]["jkt"], key.jkt());

    let st = srv.stats().await;
    assert_eq!(st["dpop"]["rejected"]["binding"], 1);
    assert_eq!(st["dpop"]["rejected"]["missing"], 1);
    assert_eq!(st["refresh_rejections"]["kc"], 2);
    assert_eq!(st["refreshes"]["kc"], 2);
    assert_eq!(last_log(&st, "kc.token")["dpop"], "ok");
}

#[tokio::test]
async fn required_refuses_requests_without_a_proof() {
    let srv = server(json!({"dpop": "allowed"})).await;
    let plain = srv.kc_login("").await;
    srv.set(json!({"dpop": "required"})).await;
    let (st, err, desc) = oauth_error(login(&srv, &[]).await).await;
    assert_eq!(
        (st, err.as_str(), desc.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "DPoP proof is missing"
        )
    );
    // A Bearer token issued before is refused at userinfo now.
    let at = s(&plain["access_token"]);
    let r = userinfo(&srv, Some(&format!("Bearer {at}")), None).await;
    assert!(challenge(&r).starts_with("DPoP error=\"invalid_token\""));
    let key = Key::new();
    assert_eq!(bound_login(&srv, &key).await["token_type"], "DPoP");
    let st = srv.stats().await;
    assert_eq!(st["dpop"]["rejected"]["missing"], 1);
    assert_eq!(st["dpop"]["rejected"]["bearer"], 1);
}

#[tokio::test]
async fn nonces_are_required_and_rotate() {
    let srv = server(json!({"dpop": "allowed", "dpop_nonce": "both"})).await;
    let key = Key::new();
    let url = token_url(&srv);

    // Token endpoint: 400 use_dpop_nonce with the nonce (RFC 9449 §8).
    let r = login(&srv, &[&key.proof("POST", &url, json!({}))]).await;
    let n1 = header(&r, "dpop-nonce");
    assert!(!n1.is_empty());
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "use_dpop_nonce")
    );
    let r = login(&srv, &[&key.proof("POST", &url, json!({"nonce": n1}))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get("dpop-nonce").is_none(),
        "the nonce is current"
    );
    let at = s(&r.json::<Value>().await.unwrap()["access_token"]).to_string();

    // Userinfo: 401 with a DPoP challenge and the nonce (§9).
    let r = userinfo(
        &srv,
        Some(&format!("DPoP {at}")),
        Some(api_proof(&srv, &key, &at, json!({}))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        challenge(&r).starts_with("DPoP error=\"use_dpop_nonce\""),
        "{}",
        challenge(&r)
    );
    assert!(challenge(&r).ends_with("algs=\"ES256\""));
    assert_eq!(header(&r, "dpop-nonce"), n1);
    let r = userinfo(
        &srv,
        Some(&format!("DPoP {at}")),
        Some(api_proof(&srv, &key, &at, json!({"nonce": n1}))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Rotation on request: the previous nonce is still accepted, and the
    // answer carries the new one (§8.2).
    let rot: Value = srv
        .http
        .post(srv.url("/admin/dpop/nonce"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n2 = s(&rot["nonce"]).to_string();
    assert_eq!(rot["previous"], n1);
    let r = userinfo(
        &srv,
        Some(&format!("DPoP {at}")),
        Some(api_proof(&srv, &key, &at, json!({"nonce": n1}))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "dpop-nonce"), n2);
    // Two rotations later it is gone.
    srv.http
        .post(srv.url("/admin/dpop/nonce"))
        .send()
        .await
        .unwrap();
    let r = login(&srv, &[&key.proof("POST", &url, json!({"nonce": n1}))]).await;
    let n3 = header(&r, "dpop-nonce");
    assert_ne!(n3, n2);
    let (_, err, desc) = oauth_error(r).await;
    assert_eq!(
        (err.as_str(), desc.as_str()),
        ("use_dpop_nonce", "DPoP proof nonce is invalid or expired")
    );
    let view = dpop_view(&srv).await;
    assert_eq!(
        (view["nonce"].as_str(), view["previous"].as_str()),
        (Some(n3.as_str()), Some(n2.as_str()))
    );
    // Accepted proofs are in the replay cache; challenged ones are not.
    assert_eq!(view["seen_jtis"], 3);

    let st = srv.stats().await;
    assert_eq!(st["dpop"]["rejected"]["nonce"], 3);
    assert_eq!(last_log(&st, "kc.token")["dpop"], "nonce");
}

#[tokio::test]
async fn nonces_rotate_with_the_server_clock() {
    let srv = server(json!({
        "dpop": "allowed", "dpop_nonce": "token", "access_ttl": 3600,
        "dpop_nonce_rotation": 60, "dpop_iat_window": 3600,
    }))
    .await;
    let key = Key::new();
    let url = token_url(&srv);
    let n1 = s(&dpop_view(&srv).await["nonce"]).to_string();
    srv.advance(61).await;
    let v = dpop_view(&srv).await;
    assert_eq!(v["previous"], n1);
    let n2 = s(&v["nonce"]).to_string();
    let r = login(&srv, &[&key.proof("POST", &url, json!({"nonce": n1}))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "dpop-nonce"), n2);
    let at = s(&r.json::<Value>().await.unwrap()["access_token"]).to_string();
    // Two periods without a request: both are stale.
    srv.advance(130).await;
    let r = login(&srv, &[&key.proof("POST", &url, json!({"nonce": n2}))]).await;
    assert_eq!(oauth_error(r).await.1, "use_dpop_nonce");
    // With "token", userinfo asks for none.
    let r = userinfo(
        &srv,
        Some(&format!("DPoP {at}")),
        Some(api_proof(&srv, &key, &at, json!({}))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("dpop-nonce").is_none());
}

async fn dpop_view(srv: &Server) -> Value {
    let r = srv.http.get(srv.url("/admin/dpop")).send().await.unwrap();
    r.json().await.unwrap()
}

/// Logs in through the form with these extra authorization parameters and
/// returns the redirect's query.
async fn authorize(
    srv: &Server,
    extra: &[(&str, &str)],
) -> std::collections::HashMap<String, String> {
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", "tokenkeeper-demo"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "s1"),
        ("username", "demo"),
        ("password", "demo-password"),
    ];
    form.extend_from_slice(extra);
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/auth")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = reqwest::Url::parse(&header(&r, "location")).unwrap();
    loc.query_pairs().into_owned().collect()
}

async fn exchange(srv: &Server, code: &str, proof: Option<String>) -> Response {
    let mut rb = srv.http.post(token_url(srv)).form(&[
        ("grant_type", "authorization_code"),
        ("client_id", "tokenkeeper-demo"),
        ("code", code),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT),
    ]);
    if let Some(p) = proof {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.unwrap()
}

#[tokio::test]
async fn dpop_jkt_binds_the_authorization_code() {
    let srv = server(json!({"dpop": "allowed"})).await;
    let (key, other) = (Key::new(), Key::new());
    let jkt = key.jkt();
    let url = token_url(&srv);

    let q = authorize(&srv, &[("dpop_jkt", &jkt)]).await;
    let (_, err, desc) = oauth_error(exchange(&srv, &q["code"], None).await).await;
    assert_eq!(
        (err.as_str(), desc.as_str()),
        ("invalid_grant", "DPoP proof is missing")
    );

    let q = authorize(&srv, &[("dpop_jkt", &jkt)]).await;
    let p = other.proof("POST", &url, json!({}));
    let (_, err, desc) = oauth_error(exchange(&srv, &q["code"], Some(p)).await).await;
    assert_eq!(err, "invalid_grant");
    assert_eq!(desc, "DPoP proof key thumbprint does not match dpop_jkt");

    let q = authorize(&srv, &[("dpop_jkt", &jkt)]).await;
    let r = exchange(&srv, &q["code"], Some(key.proof("POST", &url, json!({})))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "DPoP");
    assert_eq!(claims(s(&b["access_token"]))["cnf"]["jkt"], jkt);
    assert_eq!(claims(s(&b["refresh_token"]))["cnf"]["jkt"], jkt);

    // Without dpop_jkt a proof at the exchange binds the tokens all the same.
    let q = authorize(&srv, &[]).await;
    let r = exchange(&srv, &q["code"], Some(other.proof("POST", &url, json!({})))).await;
    let b: Value = r.json().await.unwrap();
    assert_eq!(claims(s(&b["access_token"]))["cnf"]["jkt"], other.jkt());

    // A dpop_jkt that is no SHA-256 thumbprint is refused at the redirect.
    let q = authorize(&srv, &[("dpop_jkt", "short")]).await;
    assert_eq!(q["error"], "invalid_request");
    assert!(!q.contains_key("code"));

    let st = srv.stats().await;
    assert_eq!(st["dpop"]["rejected"]["missing"], 1);
    assert_eq!(st["dpop"]["rejected"]["binding"], 1);
}

#[tokio::test]
async fn cors_lets_a_page_send_proofs_and_read_nonces() {
    let srv = start_with(devserver::Config {
        cors_origins: vec!["http://localhost:5173".into()],
        ..devserver::Config::default()
    })
    .await;
    let r = srv
        .http
        .request(reqwest::Method::OPTIONS, token_url(&srv))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "dpop,content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(header(&r, "access-control-allow-headers").contains("dpop"));
    srv.set(json!({"dpop": "allowed", "dpop_nonce": "token"}))
        .await;
    let key = Key::new();
    let r = srv
        .http
        .post(token_url(&srv))
        .header("origin", "http://localhost:5173")
        .header("DPoP", key.proof("POST", &token_url(&srv), json!({})))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "tokenkeeper-demo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!header(&r, "dpop-nonce").is_empty());
    assert!(
        header(&r, "access-control-expose-headers")
            .to_ascii_lowercase()
            .contains("dpop-nonce")
    );
}
