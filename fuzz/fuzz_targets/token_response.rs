//! Token response parsing (RFC 6749 §5.1) for an OAuth2 and a custom JSON
//! profile: never panics, and what it accepts is a usable bearer token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::config::Config;
use tokenkeeper::core::response::parse_token_response;
use tokenkeeper::core::time::UnixMillis;

mod common;

fn profiles() -> [Config; 2] {
    let oauth =
        r#"{"profile":{"kind":"oauth2","tokenUrl":"https://id.example/token","clientId":"c"}}"#;
    let json = r#"{"profile":{"kind":"json","loginUrl":"https://a.example/login","refreshUrl":"https://a.example/refresh"}}"#;
    [oauth, json].map(|s| {
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
        }
    }
});
