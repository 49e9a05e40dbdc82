//! The sans-IO core: plain values in, plain values out, time passed in.
//!
//! Nothing here performs IO, reads a clock or draws random numbers: the
//! caller passes `now` and random samples in, and carries requests, storage
//! writes and timers out.
#![forbid(unsafe_code)]

pub mod api;
pub mod challenge;
pub mod claims;
pub mod config;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod expiry;
pub mod httpdate;
pub mod id_token;
pub mod json_text;
pub mod loopback;
mod members;
pub mod persist;
pub mod redirect;
pub mod request;
pub mod response;
pub mod secret;
pub mod session;
pub mod time;
pub mod timestamp;
pub mod tokens;
