//! The versioned persisted form: any stored text loads or fails with a
//! typed error, and what loads saves and loads back to the same tokens.
//! The seeds name `OWNER`, so that loading gets past the owner check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeeper::core::persist::{self, Owner};

const OWNER: Owner<'static> = Owner {
    endpoint: "https://idp.example/token",
    client_id: Some("app"),
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tokens) = persist::load(text, OWNER) {
        let saved = persist::save(&tokens, OWNER);
        let again = persist::load(saved.secret(), OWNER).expect("a saved session loads");
        assert_eq!(
            again.access_token().secret(),
            tokens.access_token().secret()
        );
        assert_eq!(persist::save(&again, OWNER).secret(), saved.secret());
    }
});
