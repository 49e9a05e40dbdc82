use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use devserver::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

async fn revoke(srv: &Server, body: Value) -> reqwest::Response {
    srv.http
        .post(srv.url("/admin/revoke"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn revoke_by_token_user_style_and_all() {
    let srv = start().await;
    // By token: that session only.
    let a = srv.kc_login("").await;
    let b = srv.kc_login("").await;
    let r: Value = revoke(&srv, json!({"token": a["access_token"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["revoked_families"], 1);
    assert_eq!(
        oauth_error(srv.kc_refresh(s(&a["refresh_token"])).await)
            .await
            .2,
        "Session not active"
    );
    assert_eq!(
        srv.kc_refresh(s(&b["refresh_token"])).await.status(),
        StatusCode::OK
    );
    // By user: every session of demo, in every style.
    let l: Value = srv
        .lgdx_login("demo", "demo-password")
        .await
        .json()
        .await
        .unwrap();
    let r: Value = revoke(&srv, json!({"user": "demo"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["revoked_families"], 2);
    assert_eq!(
        srv.lgdx_refresh(s(&l["accessToken"]), s(&l["refreshToken"]))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    // All: client-credentials tokens too.
    let t: Value = srv
        .http
        .post(srv.url("/tnco/oauth/token"))
        .basic_auth("LmClient", Some("tnco-demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r: Value = revoke(&srv, json!({"all": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["revoked_tokens"], 1);
    let r = srv
        .http
        .get(srv.url("/tnco/api/resources"))
        .bearer_auth(s(&t["access_token"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Sessions list shows them revoked, and no token.
    let list: Value = srv
        .http
        .get(srv.url("/admin/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert!(sessions.iter().all(|s| s["revoked"] == true));
    assert!(!list.to_string().contains(s(&a["refresh_token"])));
    // Exactly one selector.
    assert_eq!(
        revoke(&srv, json!({})).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        revoke(&srv, json!({"all": true, "user": "demo"}))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn revoke_by_family_and_style() {
    let srv = start().await;
    let a = srv.kc_login("").await;
    let list: Value = srv
        .http
        .get(srv.url("/admin/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let family = list["sessions"][0]["id"].clone();
    assert_eq!(family, a["session_state"]);
    let r: Value = revoke(&srv, json!({"family": family}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["revoked_families"], 1);
    let l: Value = srv
        .lgdx_login("alice", "alice-password")
        .await
        .json()
        .await
        .unwrap();
    let r: Value = revoke(&srv, json!({"style": "lgdx"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["revoked_families"], 1);
    assert_eq!(
        srv.lgdx_refresh(s(&l["accessToken"]), s(&l["refreshToken"]))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn reset_clears_stats_and_faults_and_optionally_sessions() {
    let srv = start().await;
    let a = srv.kc_login("").await;
    srv.fault(json!({"match": "kc", "kind": "drop"})).await;
    let r: Value = srv
        .http
        .post(srv.url("/admin/reset"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["faults_cleared"], 1);
    let st = srv.stats().await;
    assert_eq!(st["logins"]["total"], 0);
    assert_eq!(st["log"], json!([]));
    assert_eq!(
        srv.kc_refresh(s(&a["refresh_token"])).await.status(),
        StatusCode::OK
    );
    srv.http
        .post(srv.url("/admin/reset"))
        .json(&json!({"sessions": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(srv.kc_refresh(s(&a["refresh_token"])).await)
            .await
            .1,
        "invalid_grant"
    );
    let r = srv
        .http
        .post(srv.url("/admin/reset"))
        .json(&json!({"bogus": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stats_and_log_hold_no_secrets() {
    let srv = start().await;
    let l: Value = srv
        .lgdx_login("demo", "demo-password")
        .await
        .json()
        .await
        .unwrap();
    let k = srv.kc_login("openid").await;
    srv.kc_post(
        "token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "tokenkeeper-confidential"),
            ("client_secret", "confidential-secret"),
        ],
    )
    .await;
    srv.http
        .get(srv.url(&format!("{KC}/userinfo?access_token=abc")))
        .send()
        .await
        .unwrap();
    // A wrong API key and the right one, on every LGDX route.
    for key in ["wrong-key-7f3a9c", devserver::seed::LGDX_API_KEY] {
        srv.http
            .get(srv.url("/Navigation/Realms"))
            .header("X-API-Key", key)
            .bearer_auth(s(&l["accessToken"]))
            .send()
            .await
            .unwrap();
        srv.http
            .post(srv.url("/Identity/Auth/Refresh"))
            .header("X-API-Key", key)
            .json(&json!({"refreshToken": "x"}))
            .send()
            .await
            .unwrap();
    }
    let dump = format!(
        "{}{}{}",
        srv.http
            .get(srv.url("/admin/config"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        srv.stats().await,
        srv.http
            .get(srv.url("/admin/sessions"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    );
    for secret in [
        "demo-password",
        "confidential-secret",
        s(&l["accessToken"]),
        s(&l["refreshToken"]),
        s(&k["access_token"]),
        s(&k["refresh_token"]),
        "access_token=abc",
        "wrong-key-7f3a9c",
        devserver::seed::LGDX_API_KEY,
    ] {
        assert!(!dump.contains(secret), "stats leak {secret}");
    }
    assert!(dump.contains("kc.userinfo"));
}

#[tokio::test]
async fn cors_preflight_and_origins() {
    let cfg = Config {
        cors_origins: vec!["http://localhost:5173".into()],
        ..Config::default()
    };
    let srv = start_with(cfg).await;
    let r = srv
        .http
        .request(Method::OPTIONS, srv.url("/Identity/Auth/Login"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,x-api-key,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        "http://localhost:5173"
    );
    assert_eq!(header(&r, "access-control-allow-credentials"), "true");
    let allowed = header(&r, "access-control-allow-headers").to_ascii_lowercase();
    for h in ["authorization", "x-api-key", "content-type"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    // Another origin gets no grant.
    let r = srv
        .http
        .get(srv.url("/realms/tokenkeeper/.well-known/openid-configuration"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // WWW-Authenticate is readable from the page.
    let r = srv
        .http
        .get(srv.url("/tnco/api/resources"))
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert!(
        header(&r, "access-control-expose-headers")
            .to_ascii_lowercase()
            .contains("www-authenticate")
    );
    let st = srv.stats().await;
    assert_eq!(st["preflights"], 1);
    assert!(st["requests"].get("lgdx.login").is_none());
    // '*' is refused at start.
    let cfg = Config {
        cors_origins: vec!["*".into()],
        ..Config::default()
    };
    assert!(devserver::spawn(cfg).await.is_err());
}

#[tokio::test]
async fn clock_offset_moves_iat_exp_and_date() {
    let mut cfg = Config::default();
    cfg.settings.clock_offset = -3600;
    let srv = start_with(cfg).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let r = srv.lgdx_login("demo", "demo-password").await;
    let date = httpdate::parse_http_date(&header(&r, "date")).unwrap();
    let date = date.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((date - (now - 3600)).abs() <= 5, "date {date} now {now}");
    let b: Value = r.json().await.unwrap();
    let iat = claims(s(&b["accessToken"]))["iat"].as_i64().unwrap();
    assert!((iat - (now - 3600)).abs() <= 5);
}

#[tokio::test]
async fn static_dirs_and_index() {
    let dir = std::env::temp_dir().join(format!("devserver-static-{}", std::process::id()));
    let (www, pkg) = (dir.join("www"), dir.join("pkg"));
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(www.join("index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(pkg.join("tokenkeeper_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let cfg = Config {
        www_dir: Some(www),
        pkg_dir: Some(pkg),
        ..Config::default()
    };
    let srv = start_with(cfg).await;
    let r = srv.http.get(srv.url("/demo/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "<h1>demo</h1>");
    let r = srv
        .http
        .get(srv.url("/pkg/tokenkeeper_bg.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-type"), "application/wasm");
    let r = srv.http.get(srv.url("/")).send().await.unwrap();
    assert_eq!(header(&r, "location"), "/demo/");
    let _ = std::fs::remove_dir_all(&dir);
    // Without --www, / lists the endpoints.
    let srv = start().await;
    let idx: Value = srv
        .http
        .get(srv.url("/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(idx["endpoints"]["kc.token"].is_string());
}

#[tokio::test]
async fn runtime_config() {
    let srv = start().await;
    let c = srv.set(json!({"access_ttl": 7, "kc_rotation": true})).await;
    assert_eq!(
        (c["access_ttl"].as_u64(), c["refresh_ttl"].as_u64()),
        (Some(7), Some(300))
    );
    assert_eq!(srv.kc_login("").await["expires_in"], 7);
    let defaults = srv.set(json!({})).await;
    assert_eq!(
        (
            &defaults["clock_offset_ms"],
            &defaults["tnco_reissue"],
            &defaults["api_reject_status"]
        ),
        (&json!(0), &json!(true), &json!(401))
    );
    let c = srv
        .set(json!({"tnco_reissue": false, "api_reject_status": 403, "clock_offset_ms": 250}))
        .await;
    assert_eq!(
        (
            &c["clock_offset_ms"],
            &c["tnco_reissue"],
            &c["api_reject_status"]
        ),
        (&json!(250), &json!(false), &json!(403))
    );
    // A refused patch changes nothing, not even its valid fields.
    let r = srv
        .http
        .patch(srv.url("/admin/config"))
        .json(&json!({"access_ttl": 9, "api_reject_status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(srv.set(json!({})).await["access_ttl"], 7);
    let r = srv
        .http
        .patch(srv.url("/admin/config"))
        .json(&json!({"access_ttl": "long"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn binary_prints_one_ready_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devserver"))
        .args(["--port", "0", "--access-ttl", "12"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("devserver listening on ")
        .unwrap()
        .to_string();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    // It answers, with the lifetime from the flag.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body: Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/im/connect/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "Job@identitymanager.demo"),
                ("client_secret", "im-demo-secret"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(body["expires_in"], 12);
    // A bad flag exits 2 with a message.
    let out = Command::new(env!("CARGO_BIN_EXE_devserver"))
        .arg("--port=x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port"));
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let srv = start().await;
    let url = srv.url("/admin/stats");
    assert!(srv.http.get(&url).send().await.is_ok());
    let Server { http, handle, .. } = srv;
    handle.shutdown().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err());
    drop(http);
}
