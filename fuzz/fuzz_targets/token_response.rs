//! Token response parsing (RFC 6749 §5.1) for an OAuth2 and two custom JSON
//! profiles (the default expiry and one reading every unit): never panics,
//! what it accepts is a usable bearer token, and an absolute expiry read
//! from a member lies in the accepted range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::config::Config;
use tokenkeeper::core::response::{
    EARLIEST_EXPIRY, ExpiryHint, LATEST_EXPIRY, parse_token_response,
};
use tokenkeeper::core::time::UnixMillis;

mod common;

fn profiles() -> [Config; 3] {
    let oauth =
        r#"{"profile":{"kind":"oauth2","tokenUrl":"https://id.example/token","clientId":"c"}}"#;
    let json = r#"{"profile":{"kind":"json","loginUrl":"https://a.example/login","refreshUrl":"https://a.example/refresh"}}"#;
    let units = r#"{"profile":{"kind":"json","loginUrl":"https://a.example/login","refreshUrl":"https://a.example/refresh",
        "expiry":[{"field":"expiresMins","unit":"minutes"},"jwt",{"field":"expiresAt","unit":"iso8601"},
                  {"field":"exp","unit":"epochSeconds"},{"field":"expMs","unit":"epochMillis"}],
        "refreshExpiry":[{"field":"refreshExpiresAt","unit":"iso8601"},"jwt",{"field":"refreshExp","unit":"epochSeconds"}]}}"#;
    [oauth, json, units].map(|s| {
        Config::from_value(&serde_json::from_str(s).expect("fixed JSON")).expect("fixed config")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(resp) = common::response(data) else {
        return;
    };
    for config in profiles() {
        if let Ok(t) = parse_token_response(&config.profile, &resp, UnixMillis(1_700_000_000_000)) {
            let token = t.access_token().secret();
            assert!(!token.is_empty());
            assert!(
                token.bytes().all(|b| b.is_ascii_graphic()),
                "header-safe token"
            );
            assert!((200..300).contains(&resp.status));
            for hint in [t.expires(), t.refresh_expires()] {
                if let Some(ExpiryHint::At(at)) = hint {
                    assert!((EARLIEST_EXPIRY..=LATEST_EXPIRY).contains(&at));
                }
            }
        }
    }
});
