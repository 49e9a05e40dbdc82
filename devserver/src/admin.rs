//! The admin API under `/admin` (JSON): faults, revocation, sessions,
//! settings, stats, the DPoP nonce and device-flow decisions. It never
//! returns a token or a secret (a DPoP nonce is neither: any client is
//! sent it; a user code is shown to the user).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::SettingsPatch;
use crate::faults::FaultSpec;
use crate::state::AppState;
use crate::{dpop, keycloak, oauth};

type St = State<Arc<AppState>>;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/stats", get(stats))
        .route("/admin/reset", post(reset))
        .route(
            "/admin/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/admin/revoke", post(revoke))
        .route("/admin/sessions", get(sessions))
        .route(
            "/admin/config",
            get(get_config).patch(patch_config).post(patch_config),
        )
        .route("/admin/dpop", get(dpop_state))
        .route("/admin/dpop/nonce", post(rotate_nonce))
        .route("/admin/device", post(device_decision))
}

fn bad(desc: &str) -> Response {
    oauth::invalid_request(desc)
}

/// Parses an optional JSON body: empty means `T::default()`.
fn json_body<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| bad(&format!("bad JSON body: {e}")))
}

async fn stats(State(st): St) -> Response {
    axum::Json(st.stats().json()).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    /// Also forget every session and token.
    #[serde(default)]
    sessions: bool,
}

async fn reset(State(st): St, body: Bytes) -> Response {
    let body: ResetBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    *st.stats() = Default::default();
    let faults_cleared = st.faults().clear();
    if body.sessions {
        st.store().clear();
        st.dpop().clear_seen();
    }
    axum::Json(
        json!({"reset": true, "faults_cleared": faults_cleared, "sessions_cleared": body.sessions}),
    )
    .into_response()
}

async fn list_faults(State(st): St) -> Response {
    axum::Json(st.faults().json()).into_response()
}

async fn add_fault(State(st): St, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad(&format!("bad fault: {e}")),
    };
    let spec = match spec.validate() {
        Ok(s) => s,
        Err(e) => return bad(&e),
    };
    let echo = serde_json::to_value(&spec).unwrap_or(Value::Null);
    let id = st.faults().push(spec);
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "fault": echo})),
    )
        .into_response()
}

async fn clear_faults(State(st): St) -> Response {
    let n = st.faults().clear();
    axum::Json(json!({"cleared": n})).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    /// A session id as listed by `GET /admin/sessions`.
    family: Option<String>,
    /// Any access or refresh token: its whole session is revoked.
    token: Option<String>,
    /// A username or `sub`: all its sessions.
    user: Option<String>,
    /// A style (`lgdx`, `kc`, `im`, `tnco`): all its sessions and tokens.
    style: Option<String>,
    /// Everything.
    #[serde(default)]
    all: bool,
}

async fn revoke(State(st): St, body: Bytes) -> Response {
    let b: RevokeBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let chosen = [
        b.family.is_some(),
        b.token.is_some(),
        b.user.is_some(),
        b.style.is_some(),
        b.all,
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if chosen != 1 {
        return bad("name exactly one of family, token, user, style, all");
    }
    let mut store = st.store();
    let (families, tokens) = if let Some(f) = b.family {
        (usize::from(store.revoke_family(&f)), 0)
    } else if let Some(t) = b.token {
        match store.family_of_token(&t) {
            Some(f) => (usize::from(store.revoke_family(&f)), 0),
            // Client-credentials tokens have no session: revoke the token.
            None => (0, usize::from(store.revoke_access(&t))),
        }
    } else if let Some(u) = b.user {
        let users: Vec<&str> = crate::seed::USERS
            .iter()
            .filter(|x| x.username == u || x.subject == u)
            .map(|x| x.subject)
            .collect();
        (
            store.revoke_where(|f| users.contains(&f.subject.as_str())),
            0,
        )
    } else if let Some(s) = b.style {
        let n = store.revoke_where(|f| f.style.as_str() == s);
        let t = store.revoke_sessionless(Some(&s));
        (n, t)
    } else {
        (store.revoke_where(|_| true), store.revoke_sessionless(None))
    };
    axum::Json(json!({"revoked_families": families, "revoked_tokens": tokens})).into_response()
}

async fn sessions(State(st): St) -> Response {
    let list = st.store().families();
    axum::Json(json!({"sessions": list})).into_response()
}

async fn get_config(State(st): St) -> Response {
    axum::Json(st.settings()).into_response()
}

async fn patch_config(State(st): St, body: Bytes) -> Response {
    let patch: SettingsPatch = match json_body(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(e) = patch.validate() {
        return bad(&e);
    }
    let s = st.update_settings(|s| patch.apply(s));
    axum::Json(s).into_response()
}

async fn dpop_state(State(st): St) -> Response {
    axum::Json(dpop::admin_view(&st, false)).into_response()
}

async fn rotate_nonce(State(st): St) -> Response {
    axum::Json(dpop::admin_view(&st, true)).into_response()
}

async fn device_decision(State(st): St, body: Bytes) -> Response {
    keycloak::admin_decide(&st, &body)
}
