//! Token exchange (RFC 8693), Keycloak's standard token exchange: who may
//! exchange, what the new token says (`aud`, `sub`, `azp`, `act`, `scope`),
//! the refresh-token variant, and every refusal.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const REFRESH: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const CONFIDENTIAL: &str = "tokenkeeper-confidential";

/// A token exchange by the confidential client (Basic) with these extra
/// parameters.
async fn exchange(srv: &Server, params: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", GRANT)];
    form.extend_from_slice(params);
    srv.http
        .post(srv.url(&format!("{KC}/token")))
        .basic_auth(CONFIDENTIAL, Some("confidential-secret"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A successful exchange's body.
async fn exchanged(srv: &Server, params: &[(&str, &str)]) -> Value {
    let r = exchange(srv, params).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    r.json().await.unwrap()
}

/// The error of a refused exchange.
async fn refused(srv: &Server, params: &[(&str, &str)]) -> (StatusCode, String, String) {
    oauth_error(exchange(srv, params).await).await
}

/// A user's access token from the public client (password grant).
async fn user_token(srv: &Server, user: &str) -> Value {
    let password = format!("{user}-password");
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "password"),
                ("client_id", "tokenkeeper-demo"),
                ("username", user),
                ("password", &password),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The confidential client's own token (client credentials).
async fn service_token(srv: &Server) -> String {
    let b: Value = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CONFIDENTIAL),
                ("client_secret", "confidential-secret"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    s(&b["access_token"]).to_string()
}

async fn userinfo(srv: &Server, token: &str) -> StatusCode {
    srv.http
        .get(srv.url(&format!("{KC}/userinfo")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_users_token_for_another_audience() {
    let srv = start().await;
    let login = user_token(&srv, "demo").await;
    let subject = s(&login["access_token"]);
    // The public client's tokens name the confidential client in `aud`.
    assert_eq!(
        claims(subject)["aud"],
        json!(["tokenkeeper-confidential", "account"])
    );
    let b = exchanged(
        &srv,
        &[
            ("subject_token", subject),
            ("subject_token_type", ACCESS),
            ("audience", "tokenkeeper-demo"),
            ("scope", "email"),
        ],
    )
    .await;
    assert_eq!(b["issued_token_type"], ACCESS);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 30);
    assert_eq!(b["refresh_expires_in"], 0);
    assert_eq!(b["scope"], "profile email");
    assert_eq!(b["session_state"], login["session_state"]);
    assert!(b.get("refresh_token").is_none());
    assert!(b.get("id_token").is_none());
    let c = claims(s(&b["access_token"]));
    let sc = claims(subject);
    assert_eq!(c["aud"], "tokenkeeper-demo");
    assert_eq!(c["sub"], sc["sub"]);
    assert_eq!(c["azp"], CONFIDENTIAL);
    assert_eq!(c["sid"], sc["sid"]);
    assert_eq!(c["scope"], "profile email");
    assert_eq!(c["preferred_username"], "demo");
    assert!(c.get("act").is_none());
    assert_eq!(c["iss"], srv.url("/realms/tokenkeeper"));
    // The new token works at userinfo, and ends with the subject's session.
    let token = s(&b["access_token"]).to_string();
    assert_eq!(userinfo(&srv, &token).await, StatusCode::OK);

    // openid: an ID token for the requesting client; no audience: `account`.
    let b = exchanged(
        &srv,
        &[
            ("subject_token", subject),
            ("subject_token_type", ACCESS),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(b["scope"], "openid profile email");
    assert_eq!(claims(s(&b["access_token"]))["aud"], "account");
    let id = claims(s(&b["id_token"]));
    assert_eq!(
        (id["aud"].as_str(), id["sub"].clone()),
        (Some(CONFIDENTIAL), sc["sub"].clone())
    );

    // The client may exchange its own token (it holds it: `azp`).
    let own = service_token(&srv).await;
    let b = exchanged(
        &srv,
        &[
            ("subject_token", &own),
            ("subject_token_type", ACCESS),
            ("audience", "tokenkeeper-demo"),
        ],
    )
    .await;
    let c = claims(s(&b["access_token"]));
    assert_eq!(c["sub"], "service-account-tokenkeeper-confidential");
    assert!(b.get("session_state").is_none());

    let r = srv
        .http
        .post(srv.url("/admin/revoke"))
        .json(&json!({"user": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(userinfo(&srv, &token).await, StatusCode::UNAUTHORIZED);
    let st = srv.stats().await;
    assert_eq!(st["token_exchanges"], json!({"issued": 3, "refused": 0}));
}

#[tokio::test]
async fn an_actor_token_makes_act() {
    let srv = start().await;
    let demo = user_token(&srv, "demo").await;
    let subject = s(&demo["access_token"]);
    let service = service_token(&srv).await;
    let b = exchanged(
        &srv,
        &[
            ("subject_token", subject),
            ("subject_token_type", ACCESS),
            ("actor_token", &service),
            ("actor_token_type", ACCESS),
            ("audience", "tokenkeeper-demo"),
        ],
    )
    .await;
    let first = s(&b["access_token"]).to_string();
    let c = claims(&first);
    assert_eq!(c["sub"], claims(subject)["sub"]);
    assert_eq!(
        c["act"],
        json!({"sub": "service-account-tokenkeeper-confidential"})
    );
    // Exchanged again with alice acting: she is the current actor, the
    // service account the prior one (RFC 8693 §4.1).
    let alice = user_token(&srv, "alice").await;
    let alice_sub = claims(s(&alice["access_token"]))["sub"].clone();
    let b = exchanged(
        &srv,
        &[
            ("subject_token", &first),
            ("subject_token_type", ACCESS),
            ("actor_token", s(&alice["access_token"])),
            ("actor_token_type", ACCESS),
        ],
    )
    .await;
    assert_eq!(
        claims(s(&b["access_token"]))["act"],
        json!({"sub": alice_sub, "act": {"sub": "service-account-tokenkeeper-confidential"}})
    );

    let bad = |e: &str| {
        (
            StatusCode::BAD_REQUEST,
            "invalid_request".to_string(),
            e.to_string(),
        )
    };
    let p = with_actor(subject, &service, None);
    assert_eq!(refused(&srv, &p).await, bad("Invalid actor token type"));
    let p = with_actor(subject, &service, Some(REFRESH));
    assert_eq!(refused(&srv, &p).await, bad("Invalid actor token type"));
    let p = with_actor(subject, "not-a-token", Some(ACCESS));
    assert_eq!(refused(&srv, &p).await, bad("Invalid actor token"));
    let p = with_actor(subject, s(&demo["access_token"]), Some(ACCESS));
    assert_eq!(
        refused(&srv, &p).await,
        bad("Actor and subject user cannot be the same user")
    );
    let mut p = with_actor(subject, &service, Some(ACCESS));
    p.push(("requested_token_type", REFRESH));
    assert_eq!(
        refused(&srv, &p).await,
        bad("requested_token_type unsupported")
    );
    let p = [
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
        ("actor_token_type", ACCESS),
    ];
    assert_eq!(refused(&srv, &p).await.1, "invalid_request");
}

/// Exchange parameters with an actor token of this type.
fn with_actor<'a>(
    subject: &'a str,
    actor: &'a str,
    kind: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
        ("actor_token", actor),
    ];
    if let Some(k) = kind {
        p.push(("actor_token_type", k));
    }
    p
}

#[tokio::test]
async fn a_refresh_token_when_asked() {
    let srv = start().await;
    let login = user_token(&srv, "demo").await;
    let subject = s(&login["access_token"]);
    let b = exchanged(
        &srv,
        &[
            ("subject_token", subject),
            ("subject_token_type", ACCESS),
            ("requested_token_type", REFRESH),
            ("audience", "tokenkeeper-demo"),
        ],
    )
    .await;
    assert_eq!(b["issued_token_type"], REFRESH);
    assert_eq!(b["refresh_expires_in"], 300);
    assert_eq!(claims(s(&b["access_token"]))["aud"], "tokenkeeper-demo");
    assert_eq!(claims(s(&b["access_token"]))["azp"], CONFIDENTIAL);
    // The refresh token is the confidential client's.
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CONFIDENTIAL),
                ("client_secret", "confidential-secret"),
                ("refresh_token", s(&b["refresh_token"])),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        oauth_error(srv.kc_refresh(s(&b["refresh_token"])).await)
            .await
            .1,
        "invalid_grant"
    );
    // A subject without a session (client credentials), or offline_access.
    let own = service_token(&srv).await;
    let (st, err, desc) = refused(
        &srv,
        &[
            ("subject_token", &own),
            ("subject_token_type", ACCESS),
            ("requested_token_type", REFRESH),
        ],
    )
    .await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(desc.contains("creating a new session is needed"), "{desc}");
    let (_, err, desc) = refused(
        &srv,
        &[
            ("subject_token", subject),
            ("subject_token_type", ACCESS),
            ("requested_token_type", REFRESH),
            ("scope", "offline_access"),
        ],
    )
    .await;
    assert_eq!(
        (err.as_str(), desc.as_str()),
        (
            "invalid_request",
            "Scope offline_access not allowed for token exchange"
        )
    );
}

#[tokio::test]
async fn refusals() {
    let srv = start().await;
    let login = user_token(&srv, "demo").await;
    let subject = s(&login["access_token"]);
    let bad = |e: &str| {
        (
            StatusCode::BAD_REQUEST,
            "invalid_request".to_string(),
            e.to_string(),
        )
    };

    // Only a confidential client may exchange.
    let r = srv
        .kc_post(
            "token",
            &[
                ("grant_type", GRANT),
                ("client_id", "tokenkeeper-demo"),
                ("subject_token", subject),
                ("subject_token_type", ACCESS),
            ],
        )
        .await;
    assert_eq!(
        oauth_error(r).await,
        (
            StatusCode::BAD_REQUEST,
            "invalid_client".into(),
            "Public client is not allowed to exchange token".into()
        )
    );
    // A client that does not authenticate never gets that far.
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/token")))
        .basic_auth(CONFIDENTIAL, Some("nope"))
        .form(&[("grant_type", GRANT), ("subject_token", subject)])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.0, StatusCode::UNAUTHORIZED);

    assert_eq!(
        refused(&srv, &[("subject_token_type", ACCESS)]).await,
        bad("Parameter 'subject_token' required for standard token exchange")
    );
    assert_eq!(
        refused(&srv, &[("subject_token", subject)]).await,
        bad("Parameter 'subject_token_type' required for standard token exchange")
    );
    for kind in [
        REFRESH,
        "urn:ietf:params:oauth:token-type:id_token",
        "urn:ietf:params:oauth:token-type:jwt",
    ] {
        assert_eq!(
            refused(
                &srv,
                &[("subject_token", subject), ("subject_token_type", kind)]
            )
            .await,
            bad("Parameter 'subject_token' supports access tokens only"),
            "{kind}"
        );
    }
    // Not a live access token of this realm: garbage, an ID token, a
    // refresh token (as access token type), a revoked or expired token.
    let refresh = s(&login["refresh_token"]);
    let id = s(&login["id_token"]);
    for token in ["garbage", id, refresh] {
        assert_eq!(
            refused(
                &srv,
                &[("subject_token", token), ("subject_token_type", ACCESS)]
            )
            .await,
            bad("Invalid token")
        );
    }
    let r = srv
        .http
        .post(srv.url("/realms/apiax/protocol/openid-connect/token"))
        .basic_auth(CONFIDENTIAL, Some("confidential-secret"))
        .form(&[
            ("grant_type", GRANT),
            ("subject_token", subject),
            ("subject_token_type", ACCESS),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await, bad("Invalid token"));
    let ok = [("subject_token", subject), ("subject_token_type", ACCESS)];
    let with = |extra: (&'static str, &'static str)| {
        let mut p = ok.to_vec();
        p.push(extra);
        p
    };
    assert_eq!(
        refused(
            &srv,
            &with((
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:id_token"
            ))
        )
        .await,
        bad("requested_token_type unsupported")
    );
    assert_eq!(
        refused(&srv, &with(("audience", "no-such-client"))).await,
        (
            StatusCode::BAD_REQUEST,
            "invalid_client".into(),
            "Audience not found".into()
        )
    );
    let (st, err, _) = refused(&srv, &with(("scope", "openid admin"))).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    // One audience per request: a repeated parameter is refused.
    let r = srv
        .http
        .post(srv.url(&format!("{KC}/token")))
        .basic_auth(CONFIDENTIAL, Some("confidential-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type={GRANT}&subject_token={subject}&subject_token_type={ACCESS}\
             &audience=tokenkeeper-demo&audience=tokenkeeper-confidential"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");

    let r = srv
        .http
        .post(srv.url("/admin/revoke"))
        .json(&json!({"token": subject}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(refused(&srv, &ok).await, bad("Invalid token"));
    let fresh = user_token(&srv, "demo").await;
    srv.advance(31).await;
    assert_eq!(
        refused(
            &srv,
            &[
                ("subject_token", s(&fresh["access_token"])),
                ("subject_token_type", ACCESS)
            ]
        )
        .await,
        bad("Invalid token")
    );
    let st = srv.stats().await;
    assert_eq!(st["token_exchanges"]["issued"], 0);
    assert_eq!(st["token_exchanges"]["refused"], 15);
}
