//! TNCO-style API: `POST /tnco/oauth/token` (alias `POST /oauth/token`),
//! client_credentials with HTTP Basic client authentication only (decoded
//! per RFC 6749 §2.3.1); opaque UUID v4 access tokens; and the protected
//! `GET /tnco/api/resources`.
//!
//! The token endpoint behaves like Spring Security OAuth's
//! `DefaultTokenServices.createAccessToken`: while the client's token is
//! unexpired it hands that same token back, and `expires_in` is what
//! `OAuth2AccessTokenJackson2Serializer` writes, `(expiration - now) / 1000`
//! truncated, so it shrinks with every request and reads 0 in the last
//! second (`tnco_reissue`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::expiry::{after_secs, remaining_secs};
use crate::oauth::{self, Basic};
use crate::protected;
use crate::seed::{TNCO_CLIENTS, ct_eq};
use crate::state::AppState;
use crate::stats::TokenOutcome;
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
    let (access, expires_at_ms, outcome, now_ms) = issue(&st, id);
    {
        let mut stats = st.stats();
        stats.client_credentials(Style::Tnco);
        stats.tnco_token(outcome);
    }
    let expires_in = remaining_secs(expires_at_ms, now_ms);
    let mut r = oauth::no_store_json(
        StatusCode::OK,
        &json!({"access_token": access, "token_type": "bearer", "expires_in": expires_in, "scope": "all"}),
    );
    r.extensions_mut().insert(outcome);
    r
}

/// The client's live token when re-issue is on and there is one, else a new
/// token: `(token, expires_at_ms, outcome, now_ms)`. Looked up and stored
/// under one lock, so concurrent requests get one token between them.
fn issue(st: &AppState, client_id: String) -> (String, i64, TokenOutcome, i64) {
    let s = st.settings();
    let now_ms = st.now_ms();
    let mut store = st.store();
    store.prune(now_ms);
    if s.tnco_reissue {
        if let Some((token, expires_at_ms)) =
            store.live_client_token(Style::Tnco, &client_id, now_ms)
        {
            return (token, expires_at_ms, TokenOutcome::Reissued, now_ms);
        }
    }
    let access = uuid::Uuid::new_v4().to_string();
    let expires_at_ms = after_secs(now_ms, s.tnco_ttl);
    store.add_access(
        access.clone(),
        AccessRecord {
            style: Style::Tnco,
            family: None,
            subject: client_id.clone(),
            username: None,
            client_id: Some(client_id),
            realm: None,
            expires_at_ms,
            revoked: false,
            jkt: None,
        },
    );
    (access, expires_at_ms, TokenOutcome::New, now_ms)
}

async fn resources(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = protected::authorize(&st, &headers, Style::Tnco, None, "tnco") {
        return r;
    }
    axum::Json(json!({"items": [
        {"id": "7f3a", "name": "edge-router-1", "state": "Active"},
        {"id": "9c21", "name": "firewall-2", "state": "Inactive"},
    ]}))
    .into_response()
}
