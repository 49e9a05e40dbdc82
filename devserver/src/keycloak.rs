//! Keycloak-style OIDC under `/realms/{realm}/`: discovery, JWKS, the
//! authorization endpoint (code + PKCE S256, with a minimal login form), the
//! token endpoint (password, refresh_token, client_credentials,
//! authorization_code, device_code, token-exchange), RFC 7009 revocation
//! and userinfo; the device authorization grant (RFC 8628, `device`), token
//! exchange (RFC 8693, `exchange`) and pushed authorization requests
//! (RFC 9126, `par`) sit in submodules. Access and ID tokens are ES256
//! JWTs; refresh tokens are HS256 JWTs (`typ: Refresh`). With DPoP on, a
//! token request with a proof gets tokens bound to its key (RFC 9449 §5,
//! §6: `token_type: DPoP`, `cnf.jkt`), and so does a code whose
//! authorization request named `dpop_jkt` (§10).

mod device;
mod exchange;
mod par;

pub(crate) use device::admin_decide;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::config::DpopMode;
use crate::dpop::{self, Endpoint, Proof, Reason, Req};
use crate::jwt::{Alg, at_hash, random_token, s256};
use crate::oauth::{self, Basic, Form};
use crate::seed::{
    Client, KC_CLIENTS, KC_CONFIDENTIAL_CLIENT, KC_PUBLIC_CLIENT, KC_REALMS, User, ct_eq,
    user_by_password, user_by_subject,
};
use crate::state::AppState;
use crate::store::{AccessRecord, AuthCode, Family, RefreshError, Style};

type St = State<Arc<AppState>>;

/// Scopes a client may ask for.
const SCOPES: &[&str] = &["openid", "profile", "email", "offline_access", "roles"];

/// Lifetime of an authorization code, seconds.
const CODE_TTL: i64 = 60;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/realms/{realm}/protocol/openid-connect/certs", get(certs))
        .route(
            "/realms/{realm}/protocol/openid-connect/auth",
            get(auth_page).post(auth_submit),
        )
        .route("/realms/{realm}/protocol/openid-connect/token", post(token))
        .route(
            "/realms/{realm}/protocol/openid-connect/revoke",
            post(revoke),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/userinfo",
            get(userinfo).post(userinfo),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/auth/device",
            post(device::authorize),
        )
        .route(
            "/realms/{realm}/device",
            get(device::page).post(device::submit),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/ext/par/request",
            post(par::push),
        )
}

/// The form of a POST to a realm's endpoint: the realm must exist and the
/// body be form-urlencoded.
fn realm_form(realm: &str, headers: &HeaderMap, body: &[u8]) -> Result<oauth::Form, Response> {
    check_realm(realm)?;
    oauth::parse_form(headers, body)
}

fn check_realm(realm: &str) -> Result<(), Response> {
    if KC_REALMS.contains(&realm) {
        Ok(())
    } else {
        Err(oauth::no_store_json(
            StatusCode::NOT_FOUND,
            &json!({"error": "Realm does not exist", "error_description": "Realm does not exist"}),
        ))
    }
}

fn issuer(st: &AppState, realm: &str) -> String {
    format!("{}/realms/{realm}", st.base_url)
}

fn find_client(id: &str) -> Option<&'static Client> {
    KC_CLIENTS.iter().find(|c| c.id == id)
}

/// Client authentication: `client_secret_basic`, `client_secret_post`, or
/// `none` for the public client.
fn authenticate(
    headers: &HeaderMap,
    form: &Form,
    realm: &str,
) -> Result<&'static Client, Response> {
    const BAD: &str = "Invalid client or Invalid client credentials";
    match oauth::basic_credentials(headers) {
        Basic::Malformed => Err(oauth::invalid_client(
            "Malformed Basic client credentials",
            Some(realm),
        )),
        Basic::Credentials(id, secret) => {
            if form.has("client_secret") {
                return Err(oauth::invalid_request(
                    "Use exactly one client authentication method",
                ));
            }
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(oauth::invalid_request(
                    "client_id does not match the Basic credentials",
                ));
            }
            match find_client(&id) {
                Some(c) if c.secret.is_some_and(|s| ct_eq(s, &secret)) => Ok(c),
                _ => Err(oauth::invalid_client(BAD, Some(realm))),
            }
        }
        Basic::Absent => {
            let Some(id) = form.get("client_id") else {
                return Err(oauth::invalid_client("Missing parameter: client_id", None));
            };
            let Some(c) = find_client(id) else {
                return Err(oauth::invalid_client(BAD, None));
            };
            match (c.secret, form.get("client_secret")) {
                (None, _) => Ok(c),
                (Some(s), Some(given)) if ct_eq(s, given) => Ok(c),
                _ => Err(oauth::invalid_client(BAD, None)),
            }
        }
    }
}

/// The granted scope string, or `invalid_scope`.
fn grant_scope(requested: Option<&str>) -> Result<String, String> {
    let req: Vec<&str> = requested
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = req.iter().find(|s| !SCOPES.contains(s)) {
        return Err(format!("Invalid scopes: {bad}"));
    }
    let mut out: Vec<&str> = Vec::new();
    if req.contains(&"openid") {
        out.push("openid");
    }
    out.extend(["profile", "email"]);
    for s in req {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out.join(" "))
}

/// The `aud` of a user's access token: `account`, as Keycloak puts it,
/// and for the public client also the confidential client, as an audience
/// mapper on the public client would add it. Keycloak's standard token
/// exchange only takes a subject token whose `aud` names the requester.
fn access_audience(client_id: &str) -> Value {
    if client_id == KC_PUBLIC_CLIENT.id {
        json!([KC_CONFIDENTIAL_CLIENT.id, "account"])
    } else {
        json!("account")
    }
}

fn has_scope(scope: &str, name: &str) -> bool {
    scope.split(' ').any(|s| s == name)
}

fn user_claims(user: Option<&User>) -> Value {
    match user {
        Some(u) => json!({
            "preferred_username": u.username, "name": u.name,
            "email": u.email, "email_verified": true,
        }),
        None => json!({}),
    }
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Binds an access token's claims to a DPoP key: `cnf.jkt` (RFC 9449
/// §6.1) and Keycloak's `typ: DPoP`.
fn bind(claims: &mut Value, proof: Option<&Proof>) {
    if let Some(p) = proof {
        claims["cnf"] = json!({"jkt": p.jkt});
        claims["typ"] = json!("DPoP");
    }
}

/// `token_type` of a response: `DPoP` when the tokens are bound (RFC 9449
/// §5), counted in `dpop.bound_tokens`.
fn token_type(st: &AppState, proof: Option<&Proof>) -> &'static str {
    if proof.is_some() {
        st.stats().dpop_bound();
        "DPoP"
    } else {
        "Bearer"
    }
}

/// An ID token of `family`'s user for `client_id`, issued at `now` beside
/// `access` and expiring with it.
fn id_token(
    st: &AppState,
    iss: &str,
    family: &Family,
    client_id: &str,
    nonce: Option<&str>,
    now: i64,
    access: &str,
) -> String {
    let exp = now.saturating_add_unsigned(st.settings().access_ttl);
    let mut claims = merge(
        json!({
            "exp": exp, "iat": now, "auth_time": family.auth_time,
            "jti": uuid::Uuid::new_v4().to_string(), "iss": iss, "aud": client_id,
            "sub": family.subject, "typ": "ID", "azp": client_id, "sid": family.id,
            "at_hash": at_hash(access),
        }),
        user_claims(user_by_subject(&family.subject)),
    );
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    st.keys.sign(Alg::Es256, &claims)
}

/// Issues tokens for a user session, bound to `proof`'s key when there is
/// one; the refresh token too for a public client (RFC 9449 §5: a
/// confidential client's refresh token is bound by its authentication).
/// `extra` claims (a token exchange's `aud`) replace the access token's.
fn issue_session_tokens(
    st: &AppState,
    realm: &str,
    family: &Family,
    now: i64,
    proof: Option<&Proof>,
    client: &Client,
    extra: Option<Value>,
) -> Value {
    let s = st.settings();
    let iss = issuer(st, realm);
    let user = user_by_subject(&family.subject);
    let client_id = family.client_id.clone().unwrap_or_default();
    let exp = now.saturating_add_unsigned(s.access_ttl);
    let mut access_claims = merge(
        json!({
            "exp": exp, "iat": now, "auth_time": family.auth_time,
            "jti": uuid::Uuid::new_v4().to_string(), "iss": iss,
            "aud": access_audience(&client_id),
            "sub": family.subject, "typ": "Bearer", "azp": client_id,
            "sid": family.id, "session_state": family.id, "scope": family.scope,
        }),
        user_claims(user),
    );
    if let Some(extra) = extra {
        access_claims = merge(access_claims, extra);
    }
    bind(&mut access_claims, proof);
    let access = st.keys.sign(Alg::Es256, &access_claims);

    let offline = has_scope(&family.scope, "offline_access");
    let refresh_expires_in = if offline { 0 } else { s.refresh_ttl };
    let refresh_exp = if offline {
        i64::MAX / 2
    } else {
        now.saturating_add_unsigned(s.refresh_ttl)
    };
    let mut refresh_claims = json!({
        "iat": now, "jti": uuid::Uuid::new_v4().to_string(), "iss": iss, "aud": iss,
        "sub": family.subject, "typ": if offline { "Offline" } else { "Refresh" },
        "azp": client_id, "sid": family.id, "scope": family.scope,
    });
    if !offline {
        refresh_claims["exp"] = json!(refresh_exp);
    }
    if let Some(p) = proof.filter(|_| client.secret.is_none()) {
        refresh_claims["cnf"] = json!({"jkt": p.jkt});
    }
    let refresh = st.keys.sign(Alg::Hs256, &refresh_claims);

    let mut body = json!({
        "access_token": access,
        "expires_in": s.access_ttl,
        "refresh_expires_in": refresh_expires_in,
        "refresh_token": refresh,
        "token_type": token_type(st, proof),
        "not-before-policy": 0,
        "session_state": family.id,
        "scope": family.scope,
    });
    if has_scope(&family.scope, "openid") {
        let id = id_token(
            st,
            &iss,
            family,
            &client_id,
            family.nonce.as_deref(),
            now,
            &access,
        );
        body["id_token"] = json!(id);
    }

    let mut store = st.store();
    store.prune(now.saturating_mul(1000));
    store.add_access(
        access,
        AccessRecord {
            style: Style::Kc,
            family: Some(family.id.clone()),
            subject: family.subject.clone(),
            username: family.username.clone(),
            client_id: family.client_id.clone(),
            realm: Some(realm.to_string()),
            expires_at_ms: exp.saturating_mul(1000),
            revoked: false,
            jkt: proof.map(|p| p.jkt.clone()),
        },
    );
    store.add_refresh(refresh, &family.id, refresh_exp.saturating_mul(1000));
    body
}

fn new_session(
    st: &AppState,
    realm: &str,
    client: &Client,
    user: &User,
    scope: String,
    nonce: Option<String>,
) -> Option<Family> {
    let now = st.now();
    let mut store = st.store();
    let id = store.new_family(Family {
        id: String::new(),
        style: Style::Kc,
        subject: user.subject.to_string(),
        username: Some(user.username.to_string()),
        client_id: Some(client.id.to_string()),
        realm: Some(realm.to_string()),
        scope,
        nonce,
        auth_time: now,
        created_at: now,
        refreshes: 0,
        revoked: false,
    });
    store.family(&id).cloned()
}

fn session_lost() -> Response {
    oauth::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "session lost",
    )
}

async fn token(
    State(st): St,
    Path(realm): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match realm_form(&realm, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(grant) = form.get("grant_type").map(str::to_string) else {
        return oauth::invalid_request("Missing form parameter: grant_type");
    };
    let client = match authenticate(&headers, &form, &realm) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req = Req {
        method: &method,
        uri: &uri,
        headers: &headers,
    };
    let proof = match dpop::token_request(&st, &req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let p = proof.as_ref();
    let r = match grant.as_str() {
        "password" => password_grant(&st, &realm, client, &form, p),
        "refresh_token" => refresh_grant(&st, &realm, client, &form, p),
        "client_credentials" => client_credentials_grant(&st, &realm, client, &form, p),
        "authorization_code" => code_grant(&st, &realm, client, &form, p),
        device::GRANT_TYPE => device::poll(&st, &realm, client, &form, p),
        exchange::GRANT_TYPE => exchange::exchange(&st, &realm, client, &form, p),
        _ => oauth::error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        ),
    };
    dpop::finish(&st, Endpoint::Token, p, r)
}

fn password_grant(
    st: &AppState,
    realm: &str,
    client: &Client,
    form: &Form,
    proof: Option<&Proof>,
) -> Response {
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return oauth::invalid_request("Missing parameter: username or password");
    };
    let scope = match grant_scope(form.get("scope")) {
        Ok(s) => s,
        Err(e) => return oauth::error(StatusCode::BAD_REQUEST, "invalid_scope", &e),
    };
    let Some(user) = user_by_password(username, password) else {
        st.stats().login_failure(Style::Kc);
        // Keycloak answers 401 here, not the 400 of RFC 6749 §5.2.
        return oauth::error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Invalid user credentials",
        );
    };
    let Some(family) = new_session(st, realm, client, user, scope, None) else {
        return session_lost();
    };
    st.stats().login(Style::Kc);
    let body = issue_session_tokens(st, realm, &family, st.now(), proof, client, None);
    oauth::no_store_json(StatusCode::OK, &body)
}

fn refresh_grant(
    st: &AppState,
    realm: &str,
    client: &Client,
    form: &Form,
    proof: Option<&Proof>,
) -> Response {
    let Some(token) = form.get("refresh_token") else {
        return oauth::invalid_request("Missing parameter: refresh_token");
    };
    let reject = |desc: &str| {
        st.stats().refresh_rejected(Style::Kc);
        oauth::invalid_grant(desc)
    };
    let Some(claims) = st.keys.verify(Alg::Hs256, token) else {
        return reject("Invalid refresh token");
    };
    let typ_ok = matches!(
        claims.get("typ").and_then(Value::as_str),
        Some("Refresh" | "Offline")
    );
    if !typ_ok || claims.get("iss").and_then(Value::as_str) != Some(issuer(st, realm).as_str()) {
        return reject("Invalid refresh token");
    }
    // RFC 9449 §5; the texts are Keycloak's (`TokenManager`, `DPoPUtil`).
    if let Some(bound) = claims.pointer("/cnf/jkt").and_then(Value::as_str) {
        match proof {
            None => return dpop::refused(st, Reason::Missing, reject("DPoP proof is missing")),
            Some(p) if p.jkt != bound => {
                let r = reject("DPoP confirmation doesn't match DPoP proof");
                return dpop::refused(st, Reason::Binding, r);
            }
            Some(_) => {}
        }
    }
    let now_ms = st.now_ms();
    let now = now_ms.div_euclid(1000);
    let rotate = st.settings().kc_rotation;
    let result = st.store().use_refresh(
        token,
        Style::Kc,
        rotate,
        &|f: &Family| f.client_id.as_deref() == Some(client.id),
        now_ms,
    );
    match result {
        Ok(family) => {
            st.stats().refresh(Style::Kc);
            let body = issue_session_tokens(st, realm, &family, now, proof, client, None);
            oauth::no_store_json(StatusCode::OK, &body)
        }
        Err(RefreshError::Reused) => {
            st.stats().reuse_detected(Style::Kc);
            reject("Maximum allowed refresh token reuse exceeded")
        }
        Err(RefreshError::Expired) => reject("Token is not active"),
        Err(RefreshError::FamilyRevoked) => reject("Session not active"),
        Err(RefreshError::Mismatch) => {
            reject("Invalid refresh token. Token client and authorized client don't match")
        }
        Err(RefreshError::Unknown) => reject("Invalid refresh token"),
    }
}

fn client_credentials_grant(
    st: &AppState,
    realm: &str,
    client: &Client,
    form: &Form,
    proof: Option<&Proof>,
) -> Response {
    if client.secret.is_none() {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "Public client not allowed to retrieve service account",
        );
    }
    let scope = match grant_scope(form.get("scope")) {
        Ok(s) => s,
        Err(e) => return oauth::error(StatusCode::BAD_REQUEST, "invalid_scope", &e),
    };
    let s = st.settings();
    let now = st.now();
    let exp = now.saturating_add_unsigned(s.access_ttl);
    let subject = format!("service-account-{}", client.id);
    let mut claims = json!({
        "exp": exp, "iat": now, "jti": uuid::Uuid::new_v4().to_string(),
        "iss": issuer(st, realm), "aud": "account", "sub": subject, "typ": "Bearer",
        "azp": client.id, "scope": scope, "preferred_username": subject, "clientId": client.id,
    });
    bind(&mut claims, proof);
    let access = st.keys.sign(Alg::Es256, &claims);
    st.store().add_access(
        access.clone(),
        AccessRecord {
            style: Style::Kc,
            family: None,
            subject: subject.clone(),
            username: Some(subject),
            client_id: Some(client.id.to_string()),
            realm: Some(realm.to_string()),
            expires_at_ms: exp.saturating_mul(1000),
            revoked: false,
            jkt: proof.map(|p| p.jkt.clone()),
        },
    );
    st.stats().client_credentials(Style::Kc);
    oauth::no_store_json(
        StatusCode::OK,
        &json!({
            "access_token": access, "expires_in": s.access_ttl, "refresh_expires_in": 0,
            "token_type": token_type(st, proof), "not-before-policy": 0, "scope": scope,
        }),
    )
}

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn code_grant(
    st: &AppState,
    realm: &str,
    client: &Client,
    form: &Form,
    proof: Option<&Proof>,
) -> Response {
    let Some(code) = form.get("code") else {
        return oauth::invalid_request("Missing parameter: code");
    };
    let now = st.now();
    let rec = st.store().use_code(code, now);
    let Some(rec) = rec else {
        return oauth::invalid_grant("Code not valid");
    };
    if rec.realm != realm || rec.client_id != client.id {
        return oauth::invalid_grant("Code was issued to another client");
    }
    if form.get("redirect_uri") != Some(rec.redirect_uri.as_str()) {
        return oauth::invalid_grant("Incorrect redirect_uri");
    }
    let Some(verifier) = form.get("code_verifier") else {
        return oauth::invalid_grant("PKCE code verifier not specified");
    };
    if !valid_verifier(verifier) {
        return oauth::invalid_grant("Invalid code verifier");
    }
    if !ct_eq(&s256(verifier), &rec.code_challenge) {
        return oauth::invalid_grant("PKCE verification failed: Code mismatch");
    }
    // RFC 9449 §10; oidc-provider's `authorization_code.js` answers these.
    if let Some(bound) = &rec.dpop_jkt {
        match proof {
            None => {
                let r = oauth::invalid_grant("DPoP proof is missing");
                return dpop::refused(st, Reason::Missing, r);
            }
            Some(p) if p.jkt != *bound => {
                let r = oauth::invalid_grant("DPoP proof key thumbprint does not match dpop_jkt");
                return dpop::refused(st, Reason::Binding, r);
            }
            Some(_) => {}
        }
    }
    let family = st.store().family(&rec.family).cloned();
    let Some(family) = family.filter(|f| !f.revoked) else {
        return oauth::invalid_grant("Session not active");
    };
    st.stats().login(Style::Kc);
    st.stats().code_exchange();
    let body = issue_session_tokens(st, realm, &family, now, proof, client, None);
    oauth::no_store_json(StatusCode::OK, &body)
}

// ---- authorization endpoint ----

/// A checked authorization request.
struct AuthRequest {
    client: &'static Client,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    scope: String,
    challenge: String,
    dpop_jkt: Option<String>,
}

/// Loopback redirect URIs only (`http://127.0.0.1`, `localhost`, `[::1]`,
/// any port), no fragment.
fn redirect_allowed(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    if uri.contains('#') {
        return false;
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let (host, port) = if let Some(after) = authority.strip_prefix("[::1]") {
        match after.strip_prefix(':') {
            Some(p) => ("[::1]", Some(p)),
            None if after.is_empty() => ("[::1]", None),
            None => return false,
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    matches!(host, "127.0.0.1" | "localhost" | "[::1]") && port_ok
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Error</title></head>\
         <body><h1>We are sorry…</h1><p>{}</p></body></html>",
        html_escape(message)
    );
    (status, Html(body)).into_response()
}

fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", oauth::urlencode(v)))
        .collect();
    let location = format!("{uri}{sep}{}", query.join("&"));
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Why an authorization request is refused: on an error page while its
/// client or `redirect_uri` is in doubt, else by a redirect carrying the
/// error (RFC 6749 §4.1.2.1).
#[derive(Debug)]
enum AuthFailure {
    Page(&'static str),
    Redirect {
        to: String,
        state: Option<String>,
        error: &'static str,
        desc: String,
    },
}

impl AuthFailure {
    fn description(&self) -> &str {
        match self {
            Self::Page(message) => message,
            Self::Redirect { desc, .. } => desc,
        }
    }

    /// The answer of the authorization endpoint of the realm `iss` names.
    fn respond(self, iss: &str) -> Response {
        match self {
            Self::Page(message) => error_page(StatusCode::BAD_REQUEST, message),
            Self::Redirect {
                to,
                state,
                error,
                desc,
            } => {
                let mut p = vec![("error", error), ("error_description", desc.as_str())];
                if let Some(s) = &state {
                    p.push(("state", s));
                }
                p.push(("iss", iss));
                redirect_to(&to, &p)
            }
        }
    }
}

/// Checks an authorization request's parameters. `pushed`: they were
/// pushed (RFC 9126), so `require_par` is met.
fn validate_auth_request(
    st: &AppState,
    form: &Form,
    pushed: bool,
) -> Result<AuthRequest, AuthFailure> {
    let Some(client) = form.get("client_id").and_then(find_client) else {
        return Err(AuthFailure::Page("Client not found."));
    };
    let Some(redirect_uri) = form.get("redirect_uri").filter(|u| redirect_allowed(u)) else {
        return Err(AuthFailure::Page("Invalid parameter: redirect_uri"));
    };
    let state = form.get("state").map(str::to_string);
    let fail = |error: &'static str, desc: &str| AuthFailure::Redirect {
        to: redirect_uri.to_string(),
        state: state.clone(),
        error,
        desc: desc.to_string(),
    };
    // Keycloak's `AuthorizationEndpointChecker.checkParRequired`.
    if !pushed && st.settings().require_par {
        return Err(fail(
            "invalid_request",
            "Pushed Authorization Request is only allowed.",
        ));
    }
    if form.get("response_type") != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "Only response_type=code is supported",
        ));
    }
    let scope = grant_scope(form.get("scope")).map_err(|e| fail("invalid_scope", &e))?;
    if form.get("code_challenge_method") != Some("S256") {
        return Err(fail(
            "invalid_request",
            "Invalid parameter: code_challenge_method (S256 required)",
        ));
    }
    let challenge = form
        .get("code_challenge")
        .filter(|c| {
            c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| {
            fail(
                "invalid_request",
                "Missing or invalid parameter: code_challenge",
            )
        })?;
    // RFC 9449 §10: a SHA-256 thumbprint is 43 base64url characters.
    let dpop_jkt = match form.get("dpop_jkt") {
        Some(_) if st.settings().dpop == DpopMode::Off => None,
        Some(j)
            if j.len() == 43
                && j.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(j.to_string())
        }
        Some(_) => return Err(fail("invalid_request", "Invalid parameter: dpop_jkt")),
        None => None,
    };
    Ok(AuthRequest {
        client,
        redirect_uri: redirect_uri.to_string(),
        state,
        nonce: form.get("nonce").map(str::to_string),
        scope,
        challenge: challenge.to_string(),
        dpop_jkt,
    })
}

/// The parameters of an authorization request: its own, or those pushed
/// under the `request_uri` it names (RFC 9126 §4), with the `request_uri`.
/// Then only `client_id` is read from the request itself, as Keycloak's
/// `AuthzEndpointParParser` reads the pushed parameters only. An unusable
/// `request_uri` gets Keycloak's "Invalid Request" page, no redirect.
fn auth_params(
    st: &AppState,
    realm: &str,
    front: &Form,
) -> Result<(Form, Option<String>), Response> {
    let Some(uri) = front.get("request_uri") else {
        return Ok((front.clone(), None));
    };
    let now_ms = st.now_ms();
    let pushed = st
        .store()
        .pushed(uri, front.get("client_id"), realm, now_ms);
    match pushed {
        Some(params) => Ok((params, Some(uri.to_string()))),
        None => {
            st.stats().par_use(false);
            Err(error_page(StatusCode::BAD_REQUEST, "Invalid Request"))
        }
    }
}

/// What the login form posts back: the request's parameters, or for a
/// pushed request only `client_id` and `request_uri` (its parameters stay
/// out of the browser), with the username typed.
fn carried(front: &Form, request_uri: Option<&str>) -> Form {
    let Some(uri) = request_uri else {
        return front.clone();
    };
    let mut form = Form::default();
    for name in ["client_id", "username"] {
        if let Some(v) = front.get(name) {
            form.set(name, v);
        }
    }
    form.set("request_uri", uri);
    form
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style of the realm's HTML pages (login, device verification).
const PAGE_STYLE: &str = "\
body { font: 16px/1.5 system-ui, sans-serif; background: #f3f4f6; display: grid; place-items: center; min-height: 100vh; margin: 0; }
main { background: #fff; padding: 2rem 2.5rem; border-radius: 8px; box-shadow: 0 2px 12px #0002; width: min(22rem, 90vw); }
h1 { font-size: 1.25rem; margin-top: 0; } label { display: block; margin: .75rem 0; }
input:not([type=hidden]) { display: block; width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; }
button { width: 100%; padding: .6rem; margin-top: .5rem; background: #2563eb; color: #fff; border: 0; border-radius: 4px; font-size: 1rem; }
button.secondary { background: #6b7280; }
.error { color: #b91c1c; } .hint { color: #6b7280; font-size: .85rem; }
";

/// An HTML page of a realm, never cached: `title` as title and heading,
/// then `main` (HTML).
fn html_page(title: &str, main: &str) -> Response {
    let title = html_escape(title);
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{PAGE_STYLE}</style></head>\n\
         <body><main>\n<h1>{title}</h1>\n{main}</main></body></html>\n"
    );
    let mut r = Html(body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `<p class="error">` for a message, or nothing.
fn error_line(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>\n", html_escape(e))
    })
}

fn login_form(realm: &str, form: &Form, error: Option<&str>) -> Response {
    let mut hidden = String::new();
    let mut params: Vec<(&String, &String)> = form
        .iter()
        .filter(|(k, _)| k.as_str() != "username" && k.as_str() != "password")
        .collect();
    params.sort();
    for (k, v) in params {
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            html_escape(k),
            html_escape(v)
        ));
    }
    let error = error_line(error);
    let username = html_escape(form.get("username").unwrap_or(""));
    let action = html_escape(realm);
    let main = format!(
        r#"{error}<form method="post" action="/realms/{action}/protocol/openid-connect/auth">
{hidden}<label>Username <input name="username" autocomplete="username" value="{username}" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<p class="hint">Demo user: demo / demo-password</p>
"#
    );
    html_page(&format!("Sign in to {realm}"), &main)
}

async fn auth_page(State(st): St, Path(realm): Path<String>, RawQuery(q): RawQuery) -> Response {
    if let Err(r) = check_realm(&realm) {
        return r;
    }
    let front = match oauth::parse_query(q.unwrap_or_default().as_bytes()) {
        Ok(f) => f,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e),
    };
    let (params, uri) = match auth_params(&st, &realm, &front) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match validate_auth_request(&st, &params, uri.is_some()) {
        Ok(_) => login_form(&realm, &carried(&front, uri.as_deref()), None),
        Err(f) => f.respond(&issuer(&st, &realm)),
    }
}

async fn auth_submit(
    State(st): St,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_realm(&realm) {
        return r;
    }
    let front = match oauth::parse_form(&headers, &body) {
        Ok(f) => f,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "Malformed login form"),
    };
    let (params, uri) = match auth_params(&st, &realm, &front) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let req = match validate_auth_request(&st, &params, uri.is_some()) {
        Ok(r) => r,
        Err(f) => return f.respond(&issuer(&st, &realm)),
    };
    let user = match (front.get("username"), front.get("password")) {
        (Some(u), Some(p)) => user_by_password(u, p),
        _ => None,
    };
    let Some(user) = user else {
        st.stats().login_failure(Style::Kc);
        let form = carried(&front, uri.as_deref());
        return login_form(&realm, &form, Some("Invalid username or password."));
    };
    // The login spends a pushed request: its request_uri works once.
    if let Some(uri) = &uri {
        let spent = st.store().take_pushed(uri);
        st.stats().par_use(spent);
        if !spent {
            return error_page(StatusCode::BAD_REQUEST, "Invalid Request");
        }
    }
    let Some(family) = new_session(&st, &realm, req.client, user, req.scope, req.nonce) else {
        return session_lost();
    };
    let code = random_token(32);
    let now = st.now();
    st.store().add_code(
        code.clone(),
        AuthCode {
            family: family.id.clone(),
            client_id: req.client.id.to_string(),
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.challenge,
            dpop_jkt: req.dpop_jkt,
            realm: realm.clone(),
            expires_at: now + CODE_TTL,
            used: false,
        },
    );
    let iss = issuer(&st, &realm);
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        params.push(("state", s));
    }
    params.push(("session_state", &family.id));
    params.push(("iss", &iss));
    redirect_to(&req.redirect_uri, &params)
}

// ---- revocation, userinfo, discovery, JWKS ----

async fn revoke(
    State(st): St,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match realm_form(&realm, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let client = match authenticate(&headers, &form, &realm) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(token) = form.get("token") else {
        return oauth::invalid_request("Missing parameter: token");
    };
    if let Some(hint) = form.get("token_type_hint") {
        if hint != "access_token" && hint != "refresh_token" {
            return oauth::error(
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                "Unsupported token_type_hint",
            );
        }
    }
    let mut store = st.store();
    let owner = |cid: Option<&str>| cid == Some(client.id);
    if let Some(f) = store.refresh_family(token).cloned() {
        if f.style != Style::Kc {
            return StatusCode::OK.into_response();
        }
        if !owner(f.client_id.as_deref()) {
            return oauth::invalid_request("Unmatching clients");
        }
        store.revoke_family(&f.id);
    } else if let Some(a) = store.access_record(token).cloned() {
        if a.style != Style::Kc {
            return StatusCode::OK.into_response();
        }
        if !owner(a.client_id.as_deref()) {
            return oauth::invalid_request("Unmatching clients");
        }
        store.revoke_access(token);
    } else {
        // RFC 7009 §2.2: an unknown token is not an error.
        return StatusCode::OK.into_response();
    }
    drop(store);
    st.stats().revocation();
    StatusCode::OK.into_response()
}

async fn userinfo(
    State(st): St,
    Path(realm): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_realm(&realm) {
        return r;
    }
    let req = Req {
        method: &method,
        uri: &uri,
        headers: &headers,
    };
    let (rec, proof) = match dpop::authorize(&st, &req, &realm) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let base = json!({"sub": rec.subject});
    let body = match user_by_subject(&rec.subject) {
        Some(u) => merge(base, user_claims(Some(u))),
        None => merge(base, json!({"preferred_username": rec.username})),
    };
    dpop::finish(
        &st,
        Endpoint::Api,
        proof.as_ref(),
        axum::Json(body).into_response(),
    )
}

async fn discovery(State(st): St, Path(realm): Path<String>) -> Response {
    if let Err(r) = check_realm(&realm) {
        return r;
    }
    let iss = issuer(&st, &realm);
    let oidc = format!("{iss}/protocol/openid-connect");
    let mut doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "jwks_uri": format!("{oidc}/certs"),
        "revocation_endpoint": format!("{oidc}/revoke"),
        "device_authorization_endpoint": format!("{oidc}/auth/device"),
        "pushed_authorization_request_endpoint": format!("{oidc}/ext/par/request"),
        "require_pushed_authorization_requests": st.settings().require_par,
        "grant_types_supported": [
            "authorization_code", "password", "refresh_token", "client_credentials",
            device::GRANT_TYPE, exchange::GRANT_TYPE,
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "email", "email_verified"],
        "authorization_response_iss_parameter_supported": true,
    });
    if st.settings().dpop != DpopMode::Off {
        doc["dpop_signing_alg_values_supported"] = json!([dpop::ALG]);
    }
    axum::Json(doc).into_response()
}

async fn certs(State(st): St, Path(realm): Path<String>) -> Response {
    if let Err(r) = check_realm(&realm) {
        return r;
    }
    axum::Json(st.keys.jwks()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_only() {
        for ok in [
            "http://127.0.0.1:8787/demo/",
            "http://localhost/cb?x=1",
            "http://[::1]:3000/cb",
            "http://127.0.0.1",
        ] {
            assert!(redirect_allowed(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/cb",
            "http://evil.example/cb",
            "http://127.0.0.1.evil.example/",
            "http://localhost:80x/",
            "http://localhost/cb#frag",
            "javascript:alert(1)",
        ] {
            assert!(!redirect_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn scope_granting() {
        assert_eq!(grant_scope(None).as_deref(), Ok("profile email"));
        assert_eq!(
            grant_scope(Some("email openid")).as_deref(),
            Ok("openid profile email")
        );
        assert!(grant_scope(Some("openid admin")).is_err());
    }

    #[test]
    fn verifier_rules() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(43))));
    }
}
