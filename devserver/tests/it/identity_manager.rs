use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;

const FORM: &str = "application/x-www-form-urlencoded";

/// The body as Postman sends it: the '@' of the client id left as is.
fn raw_body(secret: &str, scope: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id=Job@identitymanager.demo&client_secret={secret}&scope={scope}"
    )
}

async fn token(srv: &Server, body: String) -> reqwest::Response {
    srv.http
        .post(srv.url("/im/connect/token"))
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn api(srv: &Server, token: &str, version: Option<&str>) -> reqwest::Response {
    let mut req = srv.http.get(srv.url("/im/")).bearer_auth(token);
    if let Some(v) = version {
        req = req.query(&[("api-version", v)]);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn client_credentials_in_the_body() {
    let srv = start().await;
    let r = token(&srv, raw_body("im-demo-secret", "usercube_api")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["scope"], "usercube_api");
    assert_eq!(b["expires_in"], 30);
    assert!(b.get("refresh_token").is_none());
    let access = s(&b["access_token"]);
    assert_eq!(claims(access)["client_id"], "Job@identitymanager.demo");

    let r = api(&srv, access, Some("1.0")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["apiVersion"], "1.0");
    assert_eq!(
        api(&srv, access, None).await.status(),
        StatusCode::BAD_REQUEST
    );

    // The percent-encoded '@' is the same client.
    let r = srv
        .http
        .post(srv.url("/im/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "Job@identitymanager.demo"),
            ("client_secret", "im-demo-secret"),
            ("scope", "usercube_api"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(srv.stats().await["client_credentials"]["im"], 2);
}

#[tokio::test]
async fn rejections() {
    let srv = start().await;
    // Wrong secret.
    let (st, err, _) = oauth_error(token(&srv, raw_body("nope", "usercube_api")).await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    // Basic is not accepted (client_secret_post only).
    let r = srv
        .http
        .post(srv.url("/im/connect/token"))
        .basic_auth("Job@identitymanager.demo", Some("im-demo-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "usercube_api"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_client");
    // Wrong scope, wrong grant.
    let (st, err, _) = oauth_error(token(&srv, raw_body("im-demo-secret", "admin")).await).await;
    assert_eq!(
        (st, err.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    let body = raw_body("im-demo-secret", "usercube_api").replace("client_credentials", "password");
    let (_, err, _) = oauth_error(token(&srv, body).await).await;
    assert_eq!(err, "unsupported_grant_type");
    // Protected API: none, unknown, expired.
    let r = srv
        .http
        .get(srv.url("/im/?api-version=1.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        api(&srv, "bogus", Some("1.0")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let b: Value = token(&srv, raw_body("im-demo-secret", "usercube_api"))
        .await
        .json()
        .await
        .unwrap();
    srv.advance(30).await;
    let r = api(&srv, s(&b["access_token"]), Some("1.0")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains("error=\"invalid_token\""));
    assert_eq!(srv.stats().await["expired_token_calls"], 1);
}
