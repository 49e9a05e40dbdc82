//! The demo page at `/demo/`, the built package at `/pkg/`, and `GET /`.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::endpoints::NAMES;
use crate::state::AppState;

pub(crate) fn routes(config: &Config) -> Router<Arc<AppState>> {
    let mut r = Router::new();
    if let Some(www) = &config.www_dir {
        r = r
            .route("/", get(|| async { Redirect::to("/demo/") }))
            .route("/demo", get(|| async { Redirect::to("/demo/") }))
            .nest_service("/demo/", demo(www, config.csp.as_deref()));
    } else {
        r = r.route("/", get(index));
    }
    if let Some(pkg) = &config.pkg_dir {
        // mime_guess maps .wasm to application/wasm, which streaming
        // compilation needs.
        r = r.nest_service("/pkg/", ServeDir::new(pkg));
    }
    r
}

/// The demo page's files, with `csp` as their Content-Security-Policy
/// (`--csp`; checked to be a valid header value when the flags are read).
fn demo(www: &std::path::Path, csp: Option<&str>) -> Router {
    let files = Router::new().fallback_service(ServeDir::new(www));
    match csp.and_then(|p| HeaderValue::from_str(p).ok()) {
        Some(policy) => files.layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            policy,
        )),
        None => files,
    }
}

async fn index() -> Response {
    let endpoints: serde_json::Map<String, serde_json::Value> = NAMES
        .iter()
        .map(|(n, route)| ((*n).to_string(), json!(route)))
        .collect();
    axum::Json(json!({
        "service": "tokenkeeper devserver",
        "endpoints": endpoints,
        "admin": ["GET /admin/stats", "POST /admin/reset", "GET|POST|DELETE /admin/faults",
                  "POST /admin/revoke", "GET /admin/sessions", "GET|PATCH /admin/config",
                  "POST /admin/device"],
    }))
    .into_response()
}
