//! LGDX-style custom JSON API: `POST /Identity/Auth/Login`,
//! `POST /Identity/Auth/Refresh`, and the protected `GET /Navigation/Realms`.
//! Every request needs `X-API-Key`; a missing or wrong key is a bare 403, as
//! LGDXRobot Cloud's ASP.NET Core pipeline answers it. Access tokens are
//! HS256 JWTs; refresh tokens are opaque, single-use, and reusing one
//! revokes its session. Login and refresh answers carry `expiresMins`
//! beside the tokens, as LGDXRobot Cloud's `LoginResponseDto` and
//! `RefreshTokenResponseDto` do.

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

use crate::expiry::after_secs;
use crate::jwt::{Alg, random_token};
use crate::oauth::{self, Bearer};
use crate::protected;
use crate::seed::{LGDX_API_KEY, ct_eq, user_by_password, user_by_subject};
use crate::state::AppState;
use crate::stats::Protected;
use crate::store::{AccessRecord, Family, RefreshError, Style};

type St = State<Arc<AppState>>;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/Identity/Auth/Login", post(login))
        .route("/Identity/Auth/Refresh", post(refresh))
        .route("/Navigation/Realms", get(realms))
}

/// Whether `X-API-Key` holds the key (compared in constant time).
fn api_key_ok(headers: &HeaderMap) -> bool {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| ct_eq(k, LGDX_API_KEY))
}

/// The refusal of a missing or wrong key: a bare 403. LGDXRobot Cloud puts
/// `[Authorize(AuthenticationSchemes = "ApiKeyScheme,UICertificate")]` on
/// its controllers; when the key fails, ASP.NET Core challenges both
/// schemes in turn, the API-key handler setting 401 and then the
/// certificate handler, whose challenge is a forbid, setting 403.
fn api_key_refused() -> Response {
    StatusCode::FORBIDDEN.into_response()
}

fn check_api_key(headers: &HeaderMap) -> Result<(), Response> {
    if api_key_ok(headers) {
        Ok(())
    } else {
        Err(api_key_refused())
    }
}

/// `expiresMins` as LGDXRobot Cloud computes it: it sends its configured
/// whole-minute lifetime and sets `exp = nbf + that many minutes`, so the
/// value is the access lifetime in whole minutes, ⌊`access_ttl` / 60⌋ (0
/// for a lifetime under a minute).
fn expires_mins(access_ttl: u64) -> u64 {
    access_ttl / 60
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

/// Issues an access/refresh pair in `family`:
/// `{accessToken, refreshToken, expiresMins}`.
fn issue_pair(st: &AppState, family: &Family, now_ms: i64) -> Value {
    let s = st.settings();
    let now = now_ms.div_euclid(1000);
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
    store.prune(now_ms);
    store.add_access(
        access.clone(),
        AccessRecord {
            style: Style::Lgdx,
            family: Some(family.id.clone()),
            subject: family.subject.clone(),
            username: family.username.clone(),
            client_id: None,
            realm: None,
            expires_at_ms: exp.saturating_mul(1000),
            revoked: false,
            jkt: None,
        },
    );
    store.add_refresh(
        refresh.clone(),
        &family.id,
        after_secs(now_ms, s.refresh_ttl),
    );
    json!({"accessToken": access, "refreshToken": refresh, "expiresMins": expires_mins(s.access_ttl)})
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
    let now_ms = st.now_ms();
    let now = now_ms.div_euclid(1000);
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
    let mut body = issue_pair(&st, &family, now_ms);
    // The login DTO also says whether a second factor is needed; the seeded
    // users have none.
    body["requiresTwoFactor"] = json!(false);
    oauth::no_store_json(StatusCode::OK, &body)
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
    let now_ms = st.now_ms();
    let result = st.store().use_refresh(
        &b.refresh_token,
        Style::Lgdx,
        true,
        &|f: &Family| f.subject == subject,
        now_ms,
    );
    match result {
        Ok(family) => {
            st.stats().refresh(Style::Lgdx);
            oauth::no_store_json(StatusCode::OK, &issue_pair(&st, &family, now_ms))
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

/// `GET /Navigation/Realms` needs the key and the Bearer token. LGDXRobot
/// Cloud's `RealmsController` carries both `[Authorize]` attributes, so one
/// policy holds the API-key, certificate and Bearer schemes, and ASP.NET
/// Core's `PolicyEvaluator` decides:
///
/// - key and token good: 200;
/// - key good, token refused or absent: the key authenticated the call, so
///   authorization fails with a forbid, a bare 403 (with
///   `api_reject_status` 403; the default 401 answers with the challenge);
/// - key bad, token refused or absent: nothing authenticated, every scheme
///   is challenged and Bearer's, the last, leaves 401 with its challenge;
/// - key bad, token good: refused with the key's 403. (LGDXRobot Cloud
///   itself lets a valid token through here; its documentation asks for
///   the key, and so does the emulator.)
async fn realms(State(st): St, headers: HeaderMap) -> Response {
    let key_ok = api_key_ok(&headers);
    let result = protected::check(&st, &headers, Style::Lgdx, None);
    match (key_ok, &result) {
        (false, Ok(_)) => {
            st.stats().protected(Protected::BadApiKey);
            api_key_refused()
        }
        (true, Ok(_)) => {
            protected::count(&st, &result);
            realm_list()
        }
        (true, Err(r)) => {
            protected::count(&st, &result);
            protected::refuse(&st, *r, "lgdx", true)
        }
        (false, Err(r)) => {
            protected::count(&st, &result);
            protected::challenge(*r, "lgdx")
        }
    }
}

fn realm_list() -> Response {
    axum::Json(json!([
        {"id": 1, "name": "Demo Realm", "description": "The first realm", "resolution": 0.05},
        {"id": 2, "name": "Warehouse", "description": "A second realm", "resolution": 0.05},
    ]))
    .into_response()
}
