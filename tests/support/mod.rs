//! Shared helpers for the native integration tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};
use tokenkeeper::core::config::Config;
use tokenkeeper::core::error::Error;
use tokenkeeper::core::request::{Credentials, HttpRequest};
use tokenkeeper::core::response::HttpResponse;
use tokenkeeper::core::secret::Password;
use tokenkeeper::core::session::{Event, PersistOp, RequestId, Session, Status};
use tokenkeeper::core::time::UnixMillis;

/// 2023-11-14T22:13:20Z.
pub const T0: UnixMillis = UnixMillis(1_700_000_000_000);

/// Every sentinel secret the tests use; none may appear in errors, Debug
/// output or events.
pub const SENTINELS: &[&str] = &[
    "SENTINEL_AT",
    "SENTINEL_RT",
    "SENTINEL_PW",
    "SENTINEL_CS",
    "SENTINEL_APIKEY",
];

pub fn assert_no_leak(text: &str) {
    for s in SENTINELS {
        assert!(!text.contains(s), "secret {s} leaked in: {text}");
    }
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

pub fn config(v: Value) -> Config {
    Config::from_value(&v).unwrap()
}

/// Seed 000: LGDXRobot Cloud (custom JSON, X-API-Key, single-use RT).
pub fn lgdx() -> Config {
    config(json!({"profile": {
        "kind": "json",
        "loginUrl": "https://localhost:5163/Identity/Auth/Login",
        "refreshUrl": "https://localhost:5163/Identity/Auth/Refresh",
        "headers": {"X-API-Key": "SENTINEL_APIKEY_1"}
    }}))
}

/// Seed 001: Apiax Keycloak (password + refresh_token grants, public client).
pub fn keycloak() -> Config {
    config(json!({"profile": {
        "kind": "oauth2",
        "tokenUrl": "https://auth.apiax.io/auth/realms/apiax/protocol/openid-connect/token",
        "clientId": "apiax-api"
    }}))
}

/// Seed 002: Identity Manager (/connect/token, client_secret_post).
pub fn identity_manager() -> Config {
    config(json!({"profile": {
        "kind": "oauth2",
        "tokenUrl": "https://im.example/connect/token",
        "clientId": "Job@contoso",
        "clientSecret": "SENTINEL_CS_im",
        "clientAuth": "post",
        "scope": "usercube_api"
    }}))
}

/// Seed 003: TNCO (/oauth/token, client_secret_basic).
pub fn tnco() -> Config {
    config(json!({"profile": {
        "kind": "oauth2",
        "tokenUrl": "https://app.lm:32443/oauth/token",
        "clientId": "LmClient",
        "clientSecret": "SENTINEL_CS_tnco",
        "clientAuth": "basic",
        "scope": "all"
    }}))
}

pub fn password(user: &str, pw: &str) -> Credentials {
    Credentials::Password {
        username: user.into(),
        password: Password::new(pw),
    }
}

pub fn client_credentials() -> Credentials {
    Credentials::ClientCredentials {}
}

/// An unsigned-looking JWT with these claims (the signature is never read).
pub fn jwt(claims: &Value) -> String {
    let h = Base64UrlUnpadded::encode_string(br#"{"alg":"RS256","typ":"JWT"}"#);
    let c = Base64UrlUnpadded::encode_string(claims.to_string().as_bytes());
    format!("{h}.{c}.c2lnbmF0dXJl")
}

pub fn secs(t: UnixMillis) -> u64 {
    t.0 / 1000
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

pub fn json_response(status: u16, body: &str) -> HttpResponse {
    response(status, &[("Content-Type", "application/json")], body)
}

/// Everything a session emitted since the last drain.
#[derive(Debug, Default)]
pub struct Out {
    pub transmits: Vec<(RequestId, HttpRequest)>,
    pub persists: Vec<PersistOp>,
    pub events: Vec<Event>,
}

impl Out {
    pub fn saves(&self) -> usize {
        self.persists
            .iter()
            .filter(|p| matches!(p, PersistOp::Save(_)))
            .count()
    }
    pub fn clears(&self) -> usize {
        self.persists
            .iter()
            .filter(|p| matches!(p, PersistOp::Clear))
            .count()
    }
    pub fn ended(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::SessionEnded { .. }))
            .count()
    }
    pub fn error(&self) -> Option<Error> {
        self.events.iter().find_map(|e| match e {
            Event::LoginFailed { error } | Event::RefreshFailed { error, .. } => {
                Some(error.clone())
            }
            _ => None,
        })
    }
    pub fn only_request(&self) -> (RequestId, HttpRequest) {
        assert_eq!(self.transmits.len(), 1, "expected one request");
        self.transmits[0].clone()
    }
}

pub fn drain(s: &mut Session) -> Out {
    let mut out = Out::default();
    while let Some(t) = s.poll_transmit() {
        out.transmits.push(t);
    }
    while let Some(p) = s.poll_persist() {
        out.persists.push(p);
    }
    while let Some(e) = s.poll_event() {
        out.events.push(e);
    }
    out
}

/// Access token, refresh token and their expiries, as comparable values.
pub type Held = (
    String,
    Option<String>,
    Option<UnixMillis>,
    Option<UnixMillis>,
);

/// The tokens a session holds, as comparable text (for "no state change").
pub fn held(s: &Session) -> Option<Held> {
    s.tokens().map(|t| {
        (
            t.access_token().secret().to_owned(),
            t.refresh_token().map(|r| r.secret().to_owned()),
            t.expires_at(),
            t.refresh_expires_at(),
        )
    })
}

/// A session logged in with `body` as the login answer at `T0`.
pub fn logged_in(cfg: Config, creds: &Credentials, body: &str) -> Session {
    let mut s = Session::new(cfg).unwrap();
    let id = s.login(T0, creds).unwrap();
    drain(&mut s);
    s.handle_response(T0, id, &json_response(200, body));
    let out = drain(&mut s);
    assert!(
        matches!(out.events[..], [Event::LoggedIn]),
        "{:?}",
        out.events
    );
    assert_eq!(s.status(), Status::Active);
    s
}

/// A Keycloak session (AT 300 s, RT 1800 s) logged in at `T0`.
pub fn kc_session() -> Session {
    logged_in(
        keycloak(),
        &password("alice", "SENTINEL_PW_1"),
        r#"{"access_token":"SENTINEL_AT_1","token_type":"Bearer","expires_in":300,"refresh_token":"SENTINEL_RT_1","refresh_expires_in":1800}"#,
    )
}

/// Feeds `resp` to a forced refresh at `now` and checks "no state change"
/// and "no secret leak"; returns the error.
pub fn refresh_rejected_without_change(
    s: &mut Session,
    now: UnixMillis,
    resp: &HttpResponse,
) -> Error {
    let before = held(s);
    let id = s.refresh(now).unwrap();
    drain(s);
    s.handle_response(now, id, resp);
    let out = drain(s);
    assert_eq!(held(s), before, "tokens changed");
    assert_eq!(out.saves(), 0, "persisted");
    let err = out.error().expect("a failure event");
    assert_no_leak(&format!("{err} {err:?} {:?}", out.events));
    err
}

/// Feeds `resp` as the answer to a Keycloak login and checks that it failed
/// without state; returns the error.
pub fn login_rejected(cfg: Config, resp: &HttpResponse) -> Error {
    let mut s = Session::new(cfg).unwrap();
    let id = s.login(T0, &password("alice", "SENTINEL_PW_1")).unwrap();
    drain(&mut s);
    s.handle_response(T0, id, resp);
    let out = drain(&mut s);
    assert!(s.tokens().is_none());
    assert_eq!(out.persists.len(), 0);
    let err = out.error().expect("LoginFailed");
    assert_no_leak(&format!("{err} {err:?} {:?}", out.events));
    err
}
