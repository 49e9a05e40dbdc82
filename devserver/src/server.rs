//! The HTTP server: routes, middleware, and an accept loop that can drop a
//! connection on request (for the `drop` and `lost_response` faults).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{Config, check_origin};
use crate::endpoints::{Kind, classify};
use crate::state::AppState;
use crate::{admin, faults, identity_manager, keycloak, lgdx, statics, tnco};

/// Put in every request's extensions: notifying it closes the connection
/// the request came on, without a response.
#[derive(Debug, Clone)]
pub(crate) struct ConnKill(pub(crate) Arc<Notify>);

/// A running server. Dropping it stops the server and closes every
/// connection; [`ServerHandle::shutdown`] does the same and waits.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The bound address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Binds 127.0.0.1:`config.port` and serves in a task of the current tokio
/// runtime. Returns the bound address and the handle that keeps it running.
///
/// # Errors
/// The port cannot be bound, or a CORS origin is invalid (`*` is refused).
pub async fn spawn(config: Config) -> std::io::Result<(SocketAddr, ServerHandle)> {
    for origin in &config.cors_origins {
        check_origin(origin)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState::new(
        config.settings.clone(),
        format!("http://{addr}"),
        config.verbose,
    ));
    let app = router(state, &config);
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, app, stop_rx));
    Ok((
        addr,
        ServerHandle {
            addr,
            stop: Some(stop_tx),
            task: Some(task),
        },
    ))
}

fn router(state: Arc<AppState>, config: &Config) -> Router {
    let app = Router::new()
        .merge(lgdx::routes())
        .merge(keycloak::routes())
        .merge(identity_manager::routes())
        .merge(tnco::routes())
        .merge(admin::routes())
        .merge(statics::routes(config))
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.clone(), faults::track));
    // CORS wraps the fault responses too, so a browser sees an injected 503
    // as a 503, not as an opaque network error (unless a fault asks for that).
    let app = if config.cors_origins.is_empty() {
        app
    } else {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_credentials(true)
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("x-api-key"),
                    HeaderName::from_static("dpop"),
                ])
                .expose_headers([
                    header::WWW_AUTHENTICATE,
                    header::RETRY_AFTER,
                    header::DATE,
                    HeaderName::from_static("dpop-nonce"),
                ])
                .max_age(Duration::from_secs(600)),
        )
    };
    app.layer(middleware::from_fn_with_state(state, outer))
}

/// Outermost middleware: counts CORS preflights of API paths, strips the
/// CORS headers when a fault asked for it, and sets `Date` from the offset
/// clock so a client can see the skew.
async fn outer(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        && matches!(classify(req.uri().path()), Kind::Api(_));
    if preflight {
        st.stats().preflight();
    }
    let mut r = next.run(req).await;
    if r.extensions_mut().remove::<faults::NoCors>().is_some() {
        faults::strip_cors(&mut r);
    }
    let ms = st.now_ms().max(0);
    let when = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(when)) {
        r.headers_mut().insert(header::DATE, v);
    }
    r
}

async fn accept_loop(listener: TcpListener, app: Router, mut stop: oneshot::Receiver<()>) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors or similar: back off briefly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let kill = Arc::new(Notify::new());
        let app = app.clone();
        let kill_for_requests = kill.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut()
                .insert(ConnKill(kill_for_requests.clone()));
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.oneshot(req).await.unwrap_or_else(|e| match e {})) }
        });
        conns.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                () = kill.notified() => {}
            }
        });
    }
    conns.shutdown().await;
}
