//! Loopback tests: each starts a real server on 127.0.0.1:0 and talks to
//! it with a real HTTP client.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod admin;
mod common;
mod device;
mod dpop;
mod exchange;
mod faults;
mod identity_manager;
mod keycloak;
mod lgdx;
mod lifetimes;
mod par;
mod reject_status;
mod tnco;
