//! LGDX-style custom JSON API: `POST /Identity/Auth/Login`,
//! `POST /Identity/Auth/Refresh`, and the protected `GET /Navigation/Realms`.
//! Every request needs `X-API-Key`. Access tokens are HS256 JWTs; refresh
//! tokens are opaque, single-use, and reusing one revokes its session.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::jwt::{Alg, random_token};
use crate::oauth::{self, Bearer};
use crate::seed::{LGDX_API_KEY, ct_eq, user_by_password, user_by_subject};
use crate::state::AppState;
use crate::store::{AccessRecord, Family, RefreshError, Style};

type St = State<Arc<AppState>>;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/Identity/Auth/Login", post(login))
        .route("/Identity/Auth/Refresh", post(refresh))
        .route("/Navigation/Realms", get(realms))
}

fn check_api_key(headers: &HeaderMap) -> Result<(), Response> {
    let ok = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| ct_eq(k, LGDX_API_KEY));
    if ok {
        Ok(())
    } else {
        Err(oauth::error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "Missing or invalid X-API-Key",
        ))
    }
}

fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(oauth::invalid_request(
            "Content-Type must be application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|_| oauth::invalid_request("The request body is not the expected JSON object"))
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: String,
}

/// Issues an access/refresh pair in `family`.
fn issue_pair(st: &AppState, family: &Family, now: i64) -> Value {
    let s = st.settings();
    let exp = now.saturating_add_unsigned(s.access_ttl);
    let name = user_by_subject(&family.subject).map_or("", |u| u.name);
    let claims = json!({
        "iss": format!("{}/Identity", st.base_url),
        "sub": family.subject,
        "name": name,
        "unique_name": family.username,
        "sid": family.id,
        "jti": random_token(12),
        "iat": now,
        "nbf": now,
        "exp": exp,
    });
    let access = st.keys.sign(Alg::Hs256, &claims);
    let refresh = random_token(48);
    let mut store = st.store();
    store.prune(now);
    store.add_access(
        access.clone(),
        AccessRecord {
            style: Style::Lgdx,
            family: Some(family.id.clone()),
            subject: family.subject.clone(),
            username: family.username.clone(),
            client_id: None,
            realm: None,
            expires_at: exp,
            revoked: false,
        },
    );
    store.add_refresh(
        refresh.clone(),
        &family.id,
        now.saturating_add_unsigned(s.refresh_ttl),
    );
    json!({"accessToken": access, "refreshToken": refresh})
}

async fn login(State(st): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_api_key(&headers) {
        return r;
    }
    let b: LoginBody = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(user) = user_by_password(&b.username, &b.password) else {
        st.stats().login_failure(Style::Lgdx);
        return oauth::error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "The username or password is invalid.",
        );
    };
    let now = st.now();
    let id = st.store().new_family(Family {
        id: String::new(),
        style: Style::Lgdx,
        subject: user.subject.to_string(),
        username: Some(user.username.to_string()),
        client_id: None,
        realm: None,
        scope: String::new(),
        nonce: None,
        auth_time: now,
        created_at: now,
        refreshes: 0,
        revoked: false,
    });
    let family = st.store().family(&id).cloned();
    let Some(family) = family else {
        return oauth::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "session lost",
        );
    };
    st.stats().login(Style::Lgdx);
    oauth::no_store_json(StatusCode::OK, &issue_pair(&st, &family, now))
}

async fn refresh(State(st): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_api_key(&headers) {
        return r;
    }
    // The access token may be expired; only its signature is checked.
    let subject = match oauth::bearer(&headers) {
        Bearer::Missing => return oauth::bearer_challenge("lgdx", None),
        Bearer::Malformed => {
            return oauth::bearer_challenge(
                "lgdx",
                Some(("invalid_token", "Malformed bearer token")),
            );
        }
        Bearer::Token(t) => match st
            .keys
            .verify(Alg::Hs256, t)
            .and_then(|c| c.get("sub").and_then(Value::as_str).map(str::to_string))
        {
            Some(sub) => sub,
            None => {
                return oauth::bearer_challenge(
                    "lgdx",
                    Some(("invalid_token", "The access token signature is invalid")),
                );
            }
        },
    };
    let b: RefreshBody = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = st.now();
    let result = st.store().use_refresh(
        &b.refresh_token,
        Style::Lgdx,
        true,
        &|f: &Family| f.subject == subject,
        now,
    );
    match result {
        Ok(family) => {
            st.stats().refresh(Style::Lgdx);
            oauth::no_store_json(StatusCode::OK, &issue_pair(&st, &family, now))
        }
        Err(e) => {
            let desc = match e {
                RefreshError::Unknown => "The refresh token is invalid.",
                RefreshError::Expired => "The refresh token has expired.",
                RefreshError::FamilyRevoked => "The session has been revoked.",
                RefreshError::Reused => {
                    st.stats().reuse_detected(Style::Lgdx);
                    "The refresh token was already used; the session has been revoked."
                }
                RefreshError::Mismatch => "The refresh token does not belong to this user.",
            };
            st.stats().refresh_rejected(Style::Lgdx);
            oauth::invalid_grant(desc)
        }
    }
}

async fn realms(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = check_api_key(&headers) {
        return r;
    }
    if let Err(r) = oauth::authorize(&st, &headers, Style::Lgdx, None, "lgdx") {
        return r;
    }
    axum::Json(json!([
        {"id": 1, "name": "Demo Realm", "description": "The first realm", "resolution": 0.05},
        {"id": 2, "name": "Warehouse", "description": "A second realm", "resolution": 0.05},
    ]))
    .into_response()
}
