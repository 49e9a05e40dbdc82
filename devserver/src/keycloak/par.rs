//! Pushed authorization requests (RFC 9126) as Keycloak runs them
//! (`ParEndpoint`): the client posts the parameters of an authorization
//! request with its authentication and gets a `request_uri`, which the
//! authorization endpoint then takes, with `client_id`, in their place.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::{St, authenticate, realm_form, validate_auth_request};
use crate::expiry::after_secs;
use crate::oauth;
use crate::store::Pushed;

/// How long a `request_uri` works: Keycloak's default "Pushed
/// authorization request lifespan" (`parRequestUriLifespan`).
const REQUEST_URI_TTL_SECS: u64 = 60;

/// RFC 9126 §2.2's URN namespace, followed by a random UUID as Keycloak's.
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// `POST …/protocol/openid-connect/ext/par/request` (RFC 9126 §2):
/// `201 {"request_uri", "expires_in"}`. The parameters are checked as the
/// authorization endpoint checks them, every refusal being a JSON
/// `400 invalid_request` as Keycloak answers.
pub(super) async fn push(
    State(st): St,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut form = match realm_form(&realm, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(client) = authenticate(&headers, &form, &realm) else {
        // Keycloak's `AbstractParEndpoint.authorizeClient`.
        return oauth::error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "Authentication failed.",
        );
    };
    if form.has("request_uri") {
        return oauth::invalid_request("It is not allowed to include request_uri to PAR.");
    }
    form.remove("client_secret");
    form.set("client_id", client.id);
    if let Err(f) = validate_auth_request(&st, &form, true) {
        return oauth::invalid_request(f.description());
    }
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", uuid::Uuid::new_v4());
    let now_ms = st.now_ms();
    st.store().add_pushed(
        request_uri.clone(),
        Pushed {
            client_id: client.id.to_string(),
            realm,
            params: form,
            expires_at_ms: after_secs(now_ms, REQUEST_URI_TTL_SECS),
        },
    );
    st.stats().par_pushed();
    oauth::no_store_json(
        StatusCode::CREATED,
        &json!({"request_uri": request_uri, "expires_in": REQUEST_URI_TTL_SECS}),
    )
}
