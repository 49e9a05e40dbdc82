//! The device authorization grant (RFC 8628), Keycloak style: the device
//! authorization endpoint, the verification page, the admin shortcut and
//! every answer of the polled token endpoint. Polls are spaced by moving
//! the server clock, not by sleeping.

use devserver::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const PUBLIC: &str = "tokenkeeper-demo";

/// A server whose device clients poll every second.
async fn fast() -> Server {
    let mut cfg = Config::default();
    cfg.settings.device_poll_interval = 1;
    cfg.settings.device_code_ttl = 30;
    start_with(cfg).await
}

/// Starts a device authorization of the public client; the 200 body.
async fn begin(srv: &Server, scope: &str) -> Value {
    let r = srv
        .kc_post(
            "auth/device",
            &[("client_id", PUBLIC), ("scope", scope), ("nonce", "n-dev")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    r.json().await.unwrap()
}

async fn poll(srv: &Server, device_code: &str) -> reqwest::Response {
    srv.kc_post(
        "token",
        &[
            ("grant_type", GRANT),
            ("client_id", PUBLIC),
            ("device_code", device_code),
        ],
    )
    .await
}

/// The OAuth error of a poll, checked to be a 400.
async fn poll_error(srv: &Server, device_code: &str) -> (String, String) {
    let (status, err, desc) = oauth_error(poll(srv, device_code).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}: {desc}");
    (err, desc)
}

async fn admin(srv: &Server, body: Value) -> reqwest::Response {
    srv.http
        .post(srv.url("/admin/device"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Answers on the verification page; the HTML.
async fn answer(srv: &Server, form: &[(&str, &str)]) -> String {
    let r = srv
        .http
        .post(srv.url("/realms/tokenkeeper/device"))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    r.text().await.unwrap()
}

#[tokio::test]
async fn approval_on_the_page_then_tokens_once() {
    let srv = fast().await;
    let a = begin(&srv, "openid").await;
    let user_code = s(&a["user_code"]);
    assert_eq!(user_code.len(), 9);
    assert!(
        user_code.bytes().enumerate().all(|(i, b)| if i == 4 {
            b == b'-'
        } else {
            b.is_ascii_uppercase()
        }),
        "{user_code}"
    );
    let page = srv.url("/realms/tokenkeeper/device");
    assert_eq!(a["verification_uri"], page);
    assert_eq!(
        a["verification_uri_complete"],
        format!("{page}?user_code={user_code}")
    );
    assert_eq!(
        (a["expires_in"].as_u64(), a["interval"].as_u64()),
        (Some(30), Some(1))
    );
    let code = s(&a["device_code"]);

    assert_eq!(
        poll_error(&srv, code).await,
        (
            "authorization_pending".into(),
            "The authorization request is still pending".into()
        )
    );
    // verification_uri_complete fills the code in.
    let r = srv
        .http
        .get(s(&a["verification_uri_complete"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-type").starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{user_code}\"")), "{html}");
    assert!(html.contains("value=\"approve\"") && html.contains("value=\"deny\""));

    // A wrong password, then the code typed in lower case without its dash.
    let typed = user_code.replace('-', "").to_lowercase();
    let html = answer(
        &srv,
        &[
            ("user_code", &typed),
            ("username", "demo"),
            ("password", "bad"),
        ],
    )
    .await;
    assert!(html.contains("Invalid username or password."));
    srv.advance(2).await;
    assert_eq!(poll_error(&srv, code).await.0, "authorization_pending");
    let html = answer(
        &srv,
        &[
            ("user_code", &typed),
            ("username", "demo"),
            ("password", "demo-password"),
            ("action", "approve"),
        ],
    )
    .await;
    assert!(html.contains("Device Login Successful"), "{html}");

    srv.advance(2).await;
    let r = poll(&srv, code).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid profile email");
    assert!(t["refresh_token"].is_string());
    let c = claims(s(&t["access_token"]));
    assert_eq!(
        (c["azp"].as_str(), c["preferred_username"].as_str()),
        (Some(PUBLIC), Some("demo"))
    );
    let id = claims(s(&t["id_token"]));
    assert_eq!(
        (id["aud"].as_str(), id["nonce"].as_str()),
        (Some(PUBLIC), Some("n-dev"))
    );
    // The session works like a login's.
    assert_eq!(
        srv.kc_refresh(s(&t["refresh_token"])).await.status(),
        StatusCode::OK
    );

    // The device code was spent, and the user code with it.
    srv.advance(2).await;
    assert_eq!(
        poll_error(&srv, code).await,
        ("invalid_grant".into(), "Device code not valid".into())
    );
    let html = answer(
        &srv,
        &[
            ("user_code", user_code),
            ("username", "demo"),
            ("password", "demo-password"),
        ],
    )
    .await;
    assert!(html.contains("Invalid code, please try again."));

    let st = srv.stats().await;
    let d = &st["device"];
    assert_eq!(
        (d["authorizations"].as_u64(), d["approved"].as_u64()),
        (Some(1), Some(1))
    );
    let polls = &d["polls"];
    assert_eq!(polls["pending"], 2);
    assert_eq!(polls["issued"], 1);
    assert_eq!(polls["invalid"], 1);
    assert_eq!(polls["slow_down"], 0);
    assert_eq!(polls["total"], 4);
    assert_eq!(st["logins"]["kc"], 1);
    assert_eq!(st["login_failures"]["kc"], 1);
    assert_eq!(st["requests"]["kc.device"], 1);
    assert_eq!(st["requests"]["kc.device_verify"], 4);
}

#[tokio::test]
async fn slow_down_adds_five_seconds_each_time() {
    let srv = fast().await;
    srv.set(json!({"device_code_ttl": 600})).await;
    let a = begin(&srv, "").await;
    let code = s(&a["device_code"]);
    // The first poll may come at once.
    assert_eq!(poll_error(&srv, code).await.0, "authorization_pending");
    // Too soon: slow_down, and the interval becomes 6 s.
    assert_eq!(
        poll_error(&srv, code).await,
        ("slow_down".into(), "Slow down".into())
    );
    // The old interval is no longer enough: 2 s < 6 s, and now 11 s.
    srv.advance(2).await;
    assert_eq!(poll_error(&srv, code).await.0, "slow_down");
    // 12 s after that poll, more than 11: accepted.
    srv.advance(12).await;
    assert_eq!(poll_error(&srv, code).await.0, "authorization_pending");
    // The interval stays at 11 s: 10 s is too soon (and makes it 16 s) …
    srv.advance(10).await;
    assert_eq!(poll_error(&srv, code).await.0, "slow_down");
    // … and an approved code polled too soon is still refused.
    let r = admin(
        &srv,
        json!({"user_code": a["user_code"], "action": "approve"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    srv.advance(15).await;
    assert_eq!(poll_error(&srv, code).await.0, "slow_down");
    srv.advance(22).await;
    assert_eq!(poll(&srv, code).await.status(), StatusCode::OK);
    let polls = &srv.stats().await["device"]["polls"];
    assert_eq!(
        (
            polls["pending"].as_u64(),
            polls["slow_down"].as_u64(),
            polls["issued"].as_u64()
        ),
        (Some(2), Some(4), Some(1))
    );
}

#[tokio::test]
async fn denial_on_the_page_and_by_the_admin() {
    let srv = fast().await;
    // Deny needs no sign-in.
    let a = begin(&srv, "").await;
    let html = answer(
        &srv,
        &[("user_code", s(&a["user_code"])), ("action", "deny")],
    )
    .await;
    assert!(
        html.contains("Consent denied for connecting the device."),
        "{html}"
    );
    let code = s(&a["device_code"]);
    let denied = (
        "access_denied".to_string(),
        "The end user denied the authorization request".to_string(),
    );
    assert_eq!(poll_error(&srv, code).await, denied);
    srv.advance(2).await;
    assert_eq!(poll_error(&srv, code).await, denied);

    let b = begin(&srv, "").await;
    let r: Value = admin(&srv, json!({"user_code": b["user_code"], "action": "deny"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["action"], "deny");
    assert_eq!(r["client_id"], PUBLIC);
    assert_eq!(r["realm"], "tokenkeeper");
    assert!(r.get("username").is_none());
    assert_eq!(poll_error(&srv, s(&b["device_code"])).await, denied);
    // A decided code cannot be decided again.
    let r = admin(
        &srv,
        json!({"user_code": b["user_code"], "action": "approve"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let d = &srv.stats().await["device"];
    assert_eq!(
        (d["denied"].as_u64(), d["approved"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(d["polls"]["denied"], 3);
}

#[tokio::test]
async fn expired_codes_then_forgotten_ones() {
    let srv = fast().await;
    srv.set(json!({"device_code_ttl": 2, "device_poll_interval": 5}))
        .await;
    let a = begin(&srv, "").await;
    assert_eq!(
        (a["expires_in"].as_u64(), a["interval"].as_u64()),
        (Some(2), Some(5))
    );
    let code = s(&a["device_code"]);
    // Keycloak compares whole seconds: 3 s on, the code is past its expiry.
    srv.advance(3).await;
    assert_eq!(
        poll_error(&srv, code).await,
        ("expired_token".into(), "Device code is expired".into())
    );
    // Neither the admin nor the page can approve it now.
    let r = admin(
        &srv,
        json!({"user_code": a["user_code"], "action": "approve"}),
    )
    .await;
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "expired_token")
    );
    let html = srv
        .http
        .get(s(&a["verification_uri_complete"]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("The code has expired."), "{html}");
    // Keycloak keeps it expires_in + interval + 10 s, then it is unknown.
    srv.advance(15).await;
    assert_eq!(
        poll_error(&srv, code).await,
        ("invalid_grant".into(), "Device code not valid".into())
    );
    let polls = &srv.stats().await["device"]["polls"];
    assert_eq!(
        (polls["expired"].as_u64(), polls["invalid"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn bad_device_requests() {
    let srv = fast().await;
    // The device authorization endpoint authenticates like the token endpoint.
    let r = srv.kc_post("auth/device", &[("client_id", "who")]).await;
    assert_eq!(oauth_error(r).await.0, StatusCode::UNAUTHORIZED);
    let r = srv
        .kc_post(
            "auth/device",
            &[
                ("client_id", "tokenkeeper-confidential"),
                ("client_secret", "nope"),
            ],
        )
        .await;
    assert_eq!(oauth_error(r).await.1, "invalid_client");
    let r = srv
        .kc_post("auth/device", &[("client_id", PUBLIC), ("scope", "admin")])
        .await;
    let (st, err, _) = oauth_error(r).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    // The confidential client by Basic.
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/auth/device")))
        .basic_auth("tokenkeeper-confidential", Some("confidential-secret"))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let a = begin(&srv, "").await;
    let code = s(&a["device_code"]);
    let r = srv
        .kc_post("token", &[("grant_type", GRANT), ("client_id", PUBLIC)])
        .await;
    assert_eq!(
        oauth_error(r).await.2,
        "Missing parameter: device_code".to_string()
    );
    assert_eq!(poll_error(&srv, "no-such-code").await.0, "invalid_grant");
    // Another client's code, or the other realm's, is not valid.
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", GRANT),
                ("client_id", "tokenkeeper-confidential"),
                ("client_secret", "confidential-secret"),
                ("device_code", code),
            ],
        )
        .await;
    assert_eq!(oauth_error(r).await.1, "invalid_grant");
    let r = srv
        .http
        .post(srv.url("/realms/apiax/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", GRANT),
            ("client_id", PUBLIC),
            ("device_code", code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_grant");
    // The other realm's page does not know this realm's user code.
    let r = srv
        .http
        .post(srv.url("/realms/apiax/device"))
        .form(&[
            ("user_code", s(&a["user_code"])),
            ("username", "demo"),
            ("password", "demo-password"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Invalid code"));
    // The admin shortcut checks its input.
    for (body, status) in [
        (
            json!({"user_code": "NOPE-NOPE", "action": "approve"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"user_code": a["user_code"], "action": "maybe"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"user_code": a["user_code"], "action": "approve", "username": "mallory"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"user_code": a["user_code"]}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(admin(&srv, body.clone()).await.status(), status, "{body}");
    }
    // Approved by alice through the admin: her tokens.
    let r: Value = admin(
        &srv,
        json!({"user_code": a["user_code"], "action": "approve", "username": "alice"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["username"], "alice");
    srv.advance(2).await;
    let t: Value = poll(&srv, code).await.json().await.unwrap();
    assert_eq!(claims(s(&t["access_token"]))["preferred_username"], "alice");
}

#[tokio::test]
async fn both_realms_and_discovery() {
    let srv = fast().await;
    for realm in ["tokenkeeper", "apiax"] {
        let d: Value = srv
            .http
            .get(srv.url(&format!("/realms/{realm}/.well-known/openid-configuration")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let endpoint = s(&d["device_authorization_endpoint"]);
        assert_eq!(
            endpoint,
            srv.url(&format!(
                "/realms/{realm}/protocol/openid-connect/auth/device"
            ))
        );
        let grants = d["grant_types_supported"].as_array().unwrap();
        assert!(grants.contains(&json!(GRANT)));
        let a: Value = srv
            .http
            .post(endpoint)
            .form(&[("client_id", PUBLIC)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            a["verification_uri"],
            srv.url(&format!("/realms/{realm}/device"))
        );
        let r = admin(
            &srv,
            json!({"user_code": a["user_code"], "action": "approve"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = srv
            .http
            .post(s(&d["token_endpoint"]))
            .form(&[
                ("grant_type", GRANT),
                ("client_id", PUBLIC),
                ("device_code", s(&a["device_code"])),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let iss = claims(s(&t["access_token"]))["iss"].clone();
        assert_eq!(iss, srv.url(&format!("/realms/{realm}")));
    }
    let r = srv
        .http
        .post(srv.url("/realms/nope/protocol/openid-connect/auth/device"))
        .form(&[("client_id", PUBLIC)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
