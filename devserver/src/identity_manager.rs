//! Identity-Manager-style API under `/im`: `POST /im/connect/token`
//! (client_credentials, `client_id`/`client_secret`/`scope` in the form body
//! only) and the protected `GET /im/?api-version=1.0`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::jwt::Alg;
use crate::oauth::{self, Basic};
use crate::protected;
use crate::seed::{IM_CLIENT, IM_SCOPE, ct_eq};
use crate::state::AppState;
use crate::store::{AccessRecord, Style};

type St = State<Arc<AppState>>;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/im/connect/token", post(token))
        .route("/im/", get(api))
        .route("/im", get(api))
}

async fn token(State(st): St, headers: HeaderMap, body: Bytes) -> Response {
    let form = match oauth::parse_form(&headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !matches!(oauth::basic_credentials(&headers), Basic::Absent) {
        return oauth::invalid_client(
            "Only client_secret_post is supported: send client_id and client_secret in the body",
            None,
        );
    }
    let Some(grant) = form.get("grant_type") else {
        return oauth::invalid_request("grant_type is missing");
    };
    let secret_ok = form.get("client_id") == Some(IM_CLIENT.id)
        && IM_CLIENT
            .secret
            .zip(form.get("client_secret"))
            .is_some_and(|(want, got)| ct_eq(want, got));
    if !secret_ok {
        return oauth::invalid_client("invalid_client", None);
    }
    if grant != "client_credentials" {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only client_credentials is supported",
        );
    }
    let scope = form.get("scope").unwrap_or(IM_SCOPE);
    if scope.split(' ').any(|s| !s.is_empty() && s != IM_SCOPE) {
        return oauth::error(StatusCode::BAD_REQUEST, "invalid_scope", "invalid_scope");
    }
    let ttl = st.settings().access_ttl;
    let now_ms = st.now_ms();
    let now = now_ms.div_euclid(1000);
    let exp = now.saturating_add_unsigned(ttl);
    let claims = json!({
        "iss": format!("{}/im", st.base_url), "nbf": now, "iat": now, "exp": exp,
        "aud": IM_SCOPE, "scope": [IM_SCOPE], "client_id": IM_CLIENT.id,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let access = st.keys.sign(Alg::Es256, &claims);
    {
        let mut store = st.store();
        store.prune(now_ms);
        store.add_access(
            access.clone(),
            AccessRecord {
                style: Style::Im,
                family: None,
                subject: IM_CLIENT.id.to_string(),
                username: None,
                client_id: Some(IM_CLIENT.id.to_string()),
                realm: None,
                expires_at_ms: exp.saturating_mul(1000),
                revoked: false,
                jkt: None,
            },
        );
    }
    st.stats().client_credentials(Style::Im);
    oauth::no_store_json(
        StatusCode::OK,
        &json!({"access_token": access, "expires_in": ttl, "token_type": "Bearer", "scope": IM_SCOPE}),
    )
}

async fn api(State(st): St, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Err(r) = protected::authorize(&st, &headers, Style::Im, None, "identitymanager") {
        return r;
    }
    let query = oauth::parse_query(q.unwrap_or_default().as_bytes()).unwrap_or_default();
    if query.get("api-version") != Some("1.0") {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "unsupported_api_version",
            "The api-version query parameter must be 1.0",
        );
    }
    (
        StatusCode::OK,
        axum::Json(json!({
            "apiVersion": "1.0",
            "product": "Identity Manager (devserver emulation)",
            "client": IM_CLIENT.id,
        })),
    )
        .into_response()
}
