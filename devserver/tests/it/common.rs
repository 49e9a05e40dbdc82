//! Test harness: a server on port 0 and a client that never follows redirects.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devserver::{Config, ServerHandle};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub const KC: &str = "/realms/tokenkeeper/protocol/openid-connect";

pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub handle: ServerHandle,
}

pub async fn start() -> Server {
    start_with(Config::default()).await
}

pub async fn start_with(config: Config) -> Server {
    let (addr, handle) = devserver::spawn(config).await.expect("spawn");
    assert!(addr.ip().is_loopback());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Server {
        base: format!("http://{addr}"),
        http,
        handle,
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stats(&self) -> Value {
        self.http
            .get(self.url("/admin/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    }

    /// Queues a fault; panics unless the server accepted it.
    pub async fn fault(&self, spec: Value) {
        let r = self
            .http
            .post(self.url("/admin/faults"))
            .json(&spec)
            .send()
            .await
            .expect("fault");
        assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    }

    /// Changes settings at run time.
    pub async fn set(&self, patch: Value) -> Value {
        let r = self
            .http
            .patch(self.url("/admin/config"))
            .json(&patch)
            .send()
            .await
            .expect("config");
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.expect("config json")
    }

    /// Moves the server clock forward by `secs` from where it is.
    pub async fn advance(&self, secs: i64) {
        let cur: Value = self
            .http
            .get(self.url("/admin/config"))
            .send()
            .await
            .expect("config")
            .json()
            .await
            .expect("json");
        let off = cur["clock_offset"].as_i64().expect("offset");
        self.set(json!({"clock_offset": off + secs})).await;
    }

    /// Puts the server clock at `server_ms` (Unix milliseconds); it runs on
    /// with real time from there. The server runs in this process, so the
    /// two clocks are the same clock.
    pub async fn clock_at(&self, server_ms: i64) {
        let offset_ms = server_ms - real_now_ms();
        self.set(json!({"clock_offset": 0, "clock_offset_ms": offset_ms}))
            .await;
    }

    /// Puts the server clock 20 ms past the start of its next second, so a
    /// JWT issued now (its `exp` in whole seconds) lives its full lifetime.
    pub async fn clock_at_second_start(&self) {
        let next = (real_now_ms() / 1000 + 1) * 1000;
        self.clock_at(next + 20).await;
    }

    pub async fn lgdx_login(&self, user: &str, pass: &str) -> Response {
        self.http
            .post(self.url("/Identity/Auth/Login"))
            .header("X-API-Key", devserver::seed::LGDX_API_KEY)
            .json(&json!({"username": user, "password": pass}))
            .send()
            .await
            .expect("login")
    }

    pub async fn lgdx_refresh(&self, access: &str, refresh: &str) -> Response {
        self.http
            .post(self.url("/Identity/Auth/Refresh"))
            .header("X-API-Key", devserver::seed::LGDX_API_KEY)
            .bearer_auth(access)
            .json(&json!({"refreshToken": refresh}))
            .send()
            .await
            .expect("refresh")
    }

    /// POSTs a form to a Keycloak endpoint of realm `tokenkeeper`.
    pub async fn kc_post(&self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(&format!("{KC}/{endpoint}")))
            .form(form)
            .send()
            .await
            .expect("kc post")
    }

    /// Password grant with the public demo client; returns the JSON body.
    pub async fn kc_login(&self, scope: &str) -> Value {
        let r = self
            .kc_post(
                "token",
                &[
                    ("grant_type", "password"),
                    ("client_id", "tokenkeeper-demo"),
                    ("username", "demo"),
                    ("password", "demo-password"),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.expect("json")
    }

    pub async fn kc_refresh(&self, refresh: &str) -> Response {
        self.kc_post(
            "token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "tokenkeeper-demo"),
                ("refresh_token", refresh),
            ],
        )
        .await
    }
}

/// The machine's clock in Unix milliseconds.
pub fn real_now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_millis()).expect("ms fit")
}

/// The `exp` claim of a JWT, in milliseconds.
pub fn exp_ms(jwt: &str) -> i64 {
    claims(jwt)["exp"].as_i64().expect("exp") * 1000
}

/// The JSON body and the status of an OAuth error, checked to be JSON.
pub async fn oauth_error(r: Response) -> (StatusCode, String, String) {
    let status = r.status();
    let body: Value = r.json().await.expect("error body is JSON");
    (
        status,
        body["error"].as_str().unwrap_or("").to_string(),
        body["error_description"].as_str().unwrap_or("").to_string(),
    )
}

/// The claims of a JWT, unverified.
pub fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("claims part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

pub fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

pub fn s(v: &Value) -> &str {
    v.as_str().expect("string")
}
