//! A local identity-provider emulator (placeholder until the server lands).
fn main() {}
