//! TNCO-style API: `POST /tnco/oauth/token` (alias `POST /oauth/token`),
//! client_credentials with HTTP Basic client authentication only (decoded
//! per RFC 6749 §2.3.1); opaque UUID v4 access tokens; and the protected
//! `GET /tnco/api/resources`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::oauth::{self, Basic};
use crate::seed::{TNCO_CLIENTS, ct_eq};
use crate::state::AppState;
use crate::store::{AccessRecord, Style};

type St = State<Arc<AppState>>;

/// The Basic challenge realm of the token endpoint.
const REALM: &str = "oauth2/client";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/tnco/oauth/token", post(token))
        .route("/tnco/api/resources", get(resources))
}

async fn token(State(st): St, headers: HeaderMap, body: Bytes) -> Response {
    let (id, secret) = match oauth::basic_credentials(&headers) {
        Basic::Credentials(id, secret) => (id, secret),
        Basic::Absent => {
            return oauth::invalid_client(
                "Client authentication with HTTP Basic is required",
                Some(REALM),
            );
        }
        Basic::Malformed => {
            return oauth::invalid_client("Malformed Basic credentials", Some(REALM));
        }
    };
    let known = TNCO_CLIENTS
        .iter()
        .any(|c| c.id == id && c.secret.is_some_and(|s| ct_eq(s, &secret)));
    if !known {
        return oauth::invalid_client("Bad client credentials", Some(REALM));
    }
    let form = match oauth::parse_form(&headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if form.has("client_secret") {
        return oauth::invalid_request("Use exactly one client authentication method");
    }
    match form.get("grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth::error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type",
            );
        }
        None => return oauth::invalid_request("Missing grant type"),
    }
    if form.get("scope").is_some_and(|s| s != "all") {
        return oauth::error(StatusCode::BAD_REQUEST, "invalid_scope", "Invalid scope");
    }
    let ttl = st.settings().tnco_ttl;
    let now = st.now();
    let access = uuid::Uuid::new_v4().to_string();
    {
        let mut store = st.store();
        store.prune(now);
        store.add_access(
            access.clone(),
            AccessRecord {
                style: Style::Tnco,
                family: None,
                subject: id.clone(),
                username: None,
                client_id: Some(id),
                realm: None,
                expires_at: now.saturating_add_unsigned(ttl),
                revoked: false,
            },
        );
    }
    st.stats().client_credentials(Style::Tnco);
    oauth::no_store_json(
        StatusCode::OK,
        &json!({"access_token": access, "token_type": "bearer", "expires_in": ttl, "scope": "all"}),
    )
}

async fn resources(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = oauth::authorize(&st, &headers, Style::Tnco, None, "tnco") {
        return r;
    }
    axum::Json(json!({"items": [
        {"id": "7f3a", "name": "edge-router-1", "state": "Active"},
        {"id": "9c21", "name": "firewall-2", "state": "Inactive"},
    ]}))
    .into_response()
}
