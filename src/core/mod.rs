//! The sans-IO core: plain values in, plain values out, time passed in.
#![forbid(unsafe_code)]

pub mod expiry;
pub mod time;
