//! A local identity-provider emulator for tokenkeeper's tests and demo.
//!
//! One server on 127.0.0.1 speaks four API styles at once, each under its
//! own prefix (see the crate README for routes, flags and credentials):
//!
//! - LGDX-style custom JSON login/refresh (`/Identity/Auth/*`, `/Navigation/Realms`);
//! - Keycloak-style OIDC (`/realms/{realm}/...`: password, refresh,
//!   client credentials, authorization code + PKCE, revocation, userinfo,
//!   discovery, JWKS; the device authorization grant (RFC 8628), token
//!   exchange (RFC 8693) and pushed authorization requests (RFC 9126);
//!   DPoP-bound tokens (RFC 9449) when enabled);
//! - Identity-Manager-style client credentials in the body (`/im/...`);
//! - TNCO-style client credentials with HTTP Basic (`/tnco/...`, `/oauth/token`).
//!
//! An admin API under `/admin` queues faults, revokes sessions and reports
//! counters (`/admin/stats`). Tests start it on port 0:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let (addr, handle) = devserver::spawn(devserver::Config::default()).await?;
//! println!("token endpoint: http://{addr}/realms/tokenkeeper/protocol/openid-connect/token");
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

// Handlers return `Result<_, Response>`: the error IS the HTTP answer, built
// once per rejected request, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod admin;
mod config;
mod dpop;
mod endpoints;
mod expiry;
mod faults;
mod identity_manager;
mod jwt;
mod keycloak;
mod lgdx;
mod oauth;
mod protected;
pub mod seed;
mod server;
mod state;
mod statics;
mod stats;
mod store;
mod tnco;

pub use config::{Command, Config, DpopMode, DpopNonce, Settings, USAGE, parse_args};
pub use server::{ServerHandle, spawn};
