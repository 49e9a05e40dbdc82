//! The versioned persisted form: any stored text loads or fails with a
//! typed error, and what loads saves and loads back to the same tokens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::persist;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tokens) = persist::load(text) {
        let saved = persist::save(&tokens);
        let again = persist::load(saved.secret()).expect("a saved session loads");
        assert_eq!(
            again.access_token().secret(),
            tokens.access_token().secret()
        );
        assert_eq!(persist::save(&again).secret(), saved.secret());
    }
});
