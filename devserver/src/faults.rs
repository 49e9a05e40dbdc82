//! Fault injection: a queue of faults, each matching an endpoint and
//! applied to the next N requests that match, and the middleware that
//! applies them and records every API request in the stats.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::dpop;
use crate::endpoints::{Kind, classify};
use crate::oauth;
use crate::server::ConnKill;
use crate::state::AppState;
use crate::stats::{LogEntry, TokenOutcome};

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultKind {
    /// Wait `delay_ms`, then answer normally.
    Delay,
    /// Answer `status` (default 500) with a JSON error body (or `body`);
    /// 429 and 503 carry `Retry-After`.
    Error,
    /// Close the connection without any response.
    Drop,
    /// Answer `status` (default 200) with an HTML error page.
    Html,
    /// Answer `status` (default 200) with `application/json` that does not parse.
    InvalidJson,
    /// Handle the request for real (a refresh rotates), then close the
    /// connection without sending the response.
    LostResponse,
}

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            Self::Delay => "delay",
            Self::Error => "error",
            Self::Drop => "drop",
            Self::Html => "html",
            Self::InvalidJson => "invalid_json",
            Self::LostResponse => "lost_response",
        }
    }
}

fn one() -> u32 {
    1
}

/// A fault as posted to `POST /admin/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    /// Endpoint name (`kc.token`), style (`kc`), exact path, or `*`.
    #[serde(rename = "match")]
    pub(crate) target: String,
    /// Only requests with this `grant_type` (token endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) grant: Option<String>,
    /// How many matching requests get the fault.
    #[serde(default = "one")]
    pub(crate) times: u32,
    /// What happens.
    pub(crate) kind: FaultKind,
    /// Status for `error`, `html`, `invalid_json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    /// `Retry-After` value (number or string, sent verbatim; "" for none).
    /// Defaults to "2" for 429 and 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) retry_after: Option<Value>,
    /// Delay before the fault (or before the normal answer for `delay`).
    #[serde(default)]
    pub(crate) delay_ms: u64,
    /// Body of an `error` answer, sent verbatim instead of the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<String>,
    /// Content-Type of a custom `body` (default `application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    /// Strip the CORS headers from the answer (a browser then sees a
    /// network error, as with a proxy that forgets them).
    #[serde(default)]
    pub(crate) no_cors: bool,
}

impl FaultSpec {
    /// Checks and fills defaults; the error is a message for a 400.
    pub(crate) fn validate(mut self) -> Result<Self, String> {
        if self.target.trim().is_empty() {
            return Err("\"match\" must name an endpoint, a style, a path or *".into());
        }
        if self.times == 0 {
            return Err("\"times\" must be at least 1".into());
        }
        if self.delay_ms > 120_000 {
            return Err("\"delay_ms\" must be at most 120000".into());
        }
        if self.kind == FaultKind::Delay && self.delay_ms == 0 {
            return Err("a delay fault needs \"delay_ms\" > 0".into());
        }
        let (default, range) = match self.kind {
            FaultKind::Error => (500, 200..=599),
            FaultKind::Html | FaultKind::InvalidJson => (200, 200..=599),
            _ => (0, 0..=0),
        };
        if default != 0 {
            let status = self.status.unwrap_or(default);
            if !range.contains(&status) {
                return Err(format!("\"status\" must be in {range:?}"));
            }
            self.status = Some(status);
        } else if self.status.is_some() {
            return Err(format!("\"status\" does not apply to {}", self.kind.name()));
        }
        match &self.retry_after {
            None | Some(Value::Null) => {
                if matches!(self.status, Some(429 | 503)) {
                    self.retry_after = Some(json!("2"));
                }
            }
            Some(Value::Number(n)) => self.retry_after = Some(json!(n.to_string())),
            Some(Value::String(s)) => {
                if HeaderValue::from_str(s).is_err() {
                    return Err("\"retry_after\" is not a valid header value".into());
                }
            }
            Some(_) => return Err("\"retry_after\" must be a number or a string".into()),
        }
        if let Some(ct) = &self.content_type {
            if HeaderValue::from_str(ct).is_err() {
                return Err("\"content_type\" is not a valid header value".into());
            }
        }
        Ok(self)
    }

    fn matches(&self, endpoint: &str, path: &str, grant: Option<&str>) -> bool {
        let style = endpoint.split('.').next().unwrap_or(endpoint);
        let target_ok = self.target == "*"
            || self.target == endpoint
            || self.target == style
            || self.target == path;
        target_ok && self.grant.as_deref().is_none_or(|g| Some(g) == grant)
    }
}

#[derive(Debug, Clone, Serialize)]
struct Queued {
    id: u64,
    remaining: u32,
    #[serde(flatten)]
    spec: FaultSpec,
}

/// The pending faults, first queued first applied.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    items: Vec<Queued>,
    next_id: u64,
}

impl FaultQueue {
    /// Queues a validated fault; returns its id.
    pub(crate) fn push(&mut self, spec: FaultSpec) -> u64 {
        self.next_id += 1;
        self.items.push(Queued {
            id: self.next_id,
            remaining: spec.times,
            spec,
        });
        self.next_id
    }

    /// Takes one application of the first fault matching the request.
    fn take(&mut self, endpoint: &str, path: &str, grant: Option<&str>) -> Option<FaultSpec> {
        let i = self
            .items
            .iter()
            .position(|q| q.spec.matches(endpoint, path, grant))?;
        let q = &mut self.items[i];
        q.remaining -= 1;
        let spec = q.spec.clone();
        if q.remaining == 0 {
            self.items.remove(i);
        }
        Some(spec)
    }

    /// Pending faults as JSON.
    pub(crate) fn json(&self) -> Value {
        json!({ "faults": self.items })
    }

    /// Drops every pending fault; returns how many.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.items.len();
        self.items.clear();
        n
    }
}

/// Reads a token endpoint's body to learn its `grant_type`, then puts the
/// body back for the handler.
async fn with_grant(req: Request) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Err(oauth::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "request body too large or unreadable",
        ));
    };
    let grant = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v)
        });
    Ok((Request::from_parts(parts, Body::from(bytes)), grant))
}

fn canned(spec: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(spec.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (ct, body): (String, Bytes) = match spec.kind {
        FaultKind::Html => (
            "text/html; charset=utf-8".into(),
            Bytes::from(format!(
                "<!DOCTYPE html>\n<html><head><title>{s}</title></head>\
                 <body><h1>{s}</h1><p>The gateway could not reach the service.</p></body></html>\n",
                s = status
            )),
        ),
        FaultKind::InvalidJson => (
            "application/json".into(),
            Bytes::from_static(b"{\"access_token\": \"trunc"),
        ),
        _ => match &spec.body {
            Some(b) => (
                spec.content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".into()),
                Bytes::from(b.clone()),
            ),
            None => {
                let code = match status.as_u16() {
                    503 => "temporarily_unavailable",
                    429 => "too_many_requests",
                    s if s >= 500 => "server_error",
                    _ => "invalid_request",
                };
                (
                    "application/json".into(),
                    Bytes::from(
                        json!({"error": code, "error_description": "injected fault"}).to_string(),
                    ),
                )
            }
        },
    };
    let mut r = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&ct) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Some(Value::String(ra)) = &spec.retry_after {
        if !ra.is_empty() {
            if let Ok(v) = HeaderValue::from_str(ra) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
    }
    r
}

/// Response extension: the outer middleware removes the CORS headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoCors;

/// Removes every `Access-Control-*` header.
pub(crate) fn strip_cors(r: &mut Response) {
    let names: Vec<HeaderName> = r
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for n in names {
        r.headers_mut().remove(n);
    }
}

/// Middleware: counts and logs every API request and applies the first
/// queued fault that matches it. Admin, static and OPTIONS requests pass
/// untouched.
pub(crate) async fn track(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let kind = classify(&path);
    let Kind::Api(endpoint) = kind else {
        return next.run(req).await;
    };
    if req.method() == Method::OPTIONS {
        // Preflights are counted by the outer middleware.
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.method().to_string();
    let (req, grant) = if kind.is_token_endpoint() {
        match with_grant(req).await {
            Ok(x) => x,
            Err(r) => return r,
        }
    } else {
        (req, None)
    };
    st.stats().request(endpoint);
    let fault = st.faults().take(endpoint, &path, grant.as_deref());
    let kill = req.extensions().get::<ConnKill>().cloned();
    let at_ms = st.now_ms();

    let response = match &fault {
        None => Some(next.run(req).await),
        Some(f) => {
            st.stats().fault(f.kind.name());
            if f.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
            }
            match f.kind {
                FaultKind::Delay => Some(next.run(req).await),
                FaultKind::Error | FaultKind::Html | FaultKind::InvalidJson => Some(canned(f)),
                FaultKind::Drop => None,
                FaultKind::LostResponse => {
                    // The server does the work (a rotation really happens) …
                    let _lost = next.run(req).await;
                    // … and the answer never reaches the client.
                    None
                }
            }
        }
    };

    let entry = LogEntry {
        seq: 0,
        at_ms,
        method,
        path,
        endpoint: endpoint.to_string(),
        grant,
        status: response.as_ref().map(|r| r.status().as_u16()),
        fault: fault.as_ref().map(|f| f.kind.name().to_string()),
        token: response
            .as_ref()
            .and_then(|r| r.extensions().get::<TokenOutcome>().copied()),
        dpop: response
            .as_ref()
            .and_then(|r| r.extensions().get::<dpop::Seen>())
            .map(|d| d.0),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    if st.verbose {
        eprintln!(
            "{} {} [{}] -> {}{}",
            entry.method,
            entry.path,
            entry.endpoint,
            entry
                .status
                .map_or_else(|| "dropped".to_string(), |s| s.to_string()),
            entry
                .fault
                .as_ref()
                .map_or_else(String::new, |f| format!(" (fault: {f})"))
        );
    }
    st.stats().log(entry);

    match response {
        Some(mut r) => {
            if fault.as_ref().is_some_and(|f| f.no_cors) {
                r.extensions_mut().insert(NoCors);
            }
            r
        }
        None => match kill {
            Some(k) => {
                k.0.notify_one();
                // The connection task now drops this future with the socket.
                std::future::pending::<Response>().await
            }
            None => oauth::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "connection drop requested but not available",
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> Result<FaultSpec, String> {
        serde_json::from_value::<FaultSpec>(v)
            .map_err(|e| e.to_string())
            .and_then(FaultSpec::validate)
    }

    #[test]
    fn validation_and_defaults() {
        let s = spec(json!({"match": "kc.token", "kind": "error", "status": 503})).unwrap();
        assert_eq!(s.retry_after, Some(json!("2")));
        let s = spec(json!({"match": "kc", "kind": "error", "status": 429, "retry_after": 120}))
            .unwrap();
        assert_eq!(s.retry_after, Some(json!("120")));
        assert_eq!(
            spec(json!({"match": "x", "kind": "error"})).unwrap().status,
            Some(500)
        );
        assert!(spec(json!({"match": "x", "kind": "delay"})).is_err());
        assert!(spec(json!({"match": "x", "kind": "error", "status": 99})).is_err());
        assert!(spec(json!({"match": "x", "kind": "drop", "status": 500})).is_err());
        assert!(spec(json!({"match": "", "kind": "drop"})).is_err());
        assert!(spec(json!({"match": "x", "kind": "drop", "times": 0})).is_err());
        assert!(spec(json!({"match": "x", "kind": "nope"})).is_err());
        assert!(spec(json!({"match": "x", "kind": "drop", "extra": 1})).is_err());
    }

    #[test]
    fn queue_matching_and_counts() {
        let mut q = FaultQueue::default();
        q.push(
            spec(
                json!({"match": "kc.token", "grant": "refresh_token", "kind": "drop", "times": 2}),
            )
            .unwrap(),
        );
        q.push(spec(json!({"match": "/tnco/api/resources", "kind": "drop"})).unwrap());
        assert!(q.take("kc.token", "/x", Some("password")).is_none());
        assert!(q.take("kc.token", "/x", Some("refresh_token")).is_some());
        assert!(q.take("kc.token", "/x", Some("refresh_token")).is_some());
        assert!(q.take("kc.token", "/x", Some("refresh_token")).is_none());
        assert!(q.take("tnco.api", "/tnco/api/resources", None).is_some());
        assert_eq!(q.clear(), 0);
    }
}
