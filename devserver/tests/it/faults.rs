use std::time::{Duration, Instant};

use devserver::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

async fn im_token(srv: &Server) -> reqwest::Result<reqwest::Response> {
    srv.http
        .post(srv.url("/im/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "Job@identitymanager.demo"),
            ("client_secret", "im-demo-secret"),
        ])
        .send()
        .await
}

#[tokio::test]
async fn delay_then_normal_answer() {
    let srv = start().await;
    srv.fault(json!({"match": "im.token", "kind": "delay", "delay_ms": 300}))
        .await;
    let t = Instant::now();
    let r = im_token(&srv).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status(), StatusCode::OK);
    let t = Instant::now();
    im_token(&srv).await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn status_errors_with_retry_after() {
    let srv = start().await;
    srv.fault(json!({"match": "im", "kind": "error"})).await;
    srv.fault(json!({"match": "im.token", "kind": "error", "status": 503}))
        .await;
    srv.fault(
        json!({"match": "/im/connect/token", "kind": "error", "status": 429, "retry_after": 120}),
    )
    .await;
    srv.fault(json!({"match": "*", "kind": "error", "status": 503,
                     "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
        .await;

    let r = im_token(&srv).await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.headers().get("retry-after").is_none());
    assert_eq!(oauth_error(r).await.1, "server_error");
    let r = im_token(&srv).await.unwrap();
    assert_eq!(
        (r.status(), header(&r, "retry-after").as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "2")
    );
    let r = im_token(&srv).await.unwrap();
    assert_eq!(
        (r.status(), header(&r, "retry-after").as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "120")
    );
    let r = im_token(&srv).await.unwrap();
    assert_eq!(header(&r, "retry-after"), "Wed, 21 Oct 2015 07:28:00 GMT");
    // The queue is empty again.
    assert_eq!(im_token(&srv).await.unwrap().status(), StatusCode::OK);
    let st = srv.stats().await;
    assert_eq!(st["faults_applied"]["error"], 4);
    assert_eq!(st["requests"]["im.token"], 5);
}

#[tokio::test]
async fn custom_body_error() {
    let srv = start().await;
    srv.fault(
        json!({"match": "kc.token", "kind": "error", "status": 400, "body": "{\"error\":123}"}),
    )
    .await;
    let r = srv.kc_post("token", &[("grant_type", "password")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": 123}));
}

#[tokio::test]
async fn dropped_connection() {
    let srv = start().await;
    srv.fault(json!({"match": "im.token", "kind": "drop"}))
        .await;
    let err = im_token(&srv).await.expect_err("no response");
    assert!(!err.is_status() && !err.is_decode(), "{err:?}");
    assert_eq!(im_token(&srv).await.unwrap().status(), StatusCode::OK);
    let st = srv.stats().await;
    let entry = &st["log"][0];
    assert_eq!(entry["fault"], "drop");
    assert!(entry["status"].is_null());
    assert_eq!(st["client_credentials"]["im"], 1);
}

#[tokio::test]
async fn html_and_invalid_json() {
    let srv = start().await;
    srv.fault(json!({"match": "tnco.api", "kind": "html", "status": 502}))
        .await;
    srv.fault(json!({"match": "tnco.api", "kind": "html"}))
        .await;
    srv.fault(json!({"match": "tnco.api", "kind": "invalid_json"}))
        .await;
    let get = || srv.http.get(srv.url("/tnco/api/resources")).send();
    let r = get().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(header(&r, "content-type").starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("<html>"));
    let r = get().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-type").starts_with("text/html"));
    let r = get().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "application/json");
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    // Faults took the place of the protected handler: no protected call counted.
    assert_eq!(get().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(srv.stats().await["protected_calls"]["missing"], 1);
}

#[tokio::test]
async fn grant_filter_and_times() {
    let srv = start().await;
    srv.fault(json!({"match": "kc.token", "grant": "refresh_token", "kind": "error", "status": 503, "times": 2}))
        .await;
    // The password grant passes untouched.
    let b = srv.kc_login("").await;
    let rt = s(&b["refresh_token"]);
    assert_eq!(
        srv.kc_refresh(rt).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let faults: Value = srv
        .http
        .get(srv.url("/admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["faults"][0]["remaining"], 1);
    assert_eq!(
        srv.kc_refresh(rt).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(srv.kc_refresh(rt).await.status(), StatusCode::OK);
    let st = srv.stats().await;
    assert_eq!(st["refreshes"]["kc"], 1);
    assert_eq!(st["log"][1]["grant"], "refresh_token");
}

#[tokio::test]
async fn lost_response_rotates_then_drops() {
    let srv = start().await;
    srv.set(json!({"kc_rotation": true})).await;
    let b = srv.kc_login("").await;
    let r1 = s(&b["refresh_token"]);
    srv.fault(json!({"match": "kc.token", "grant": "refresh_token", "kind": "lost_response"}))
        .await;
    let err = srv
        .http
        .post(srv.url(&format!("{KC}/token")))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "tokenkeeper-demo"),
            ("refresh_token", r1),
        ])
        .send()
        .await
        .expect_err("the response is lost");
    assert!(!err.is_status(), "{err:?}");
    let st = srv.stats().await;
    assert_eq!(st["refreshes"]["kc"], 1, "the rotation happened");
    assert_eq!(st["faults_applied"]["lost_response"], 1);
    // The client retries with the token it still has: reuse detected.
    let (_, err, _) = oauth_error(srv.kc_refresh(r1).await).await;
    assert_eq!(err, "invalid_grant");
    assert_eq!(srv.stats().await["reuse_detections"]["kc"], 1);
}

#[tokio::test]
async fn lost_response_on_lgdx_refresh() {
    let srv = start().await;
    let b: Value = srv
        .lgdx_login("demo", "demo-password")
        .await
        .json()
        .await
        .unwrap();
    let (a, r) = (s(&b["accessToken"]), s(&b["refreshToken"]));
    srv.fault(json!({"match": "lgdx.refresh", "kind": "lost_response"}))
        .await;
    let _ = srv
        .http
        .post(srv.url("/Identity/Auth/Refresh"))
        .header("X-API-Key", devserver::seed::LGDX_API_KEY)
        .bearer_auth(a)
        .json(&json!({"refreshToken": r}))
        .send()
        .await
        .expect_err("lost");
    assert_eq!(
        srv.lgdx_refresh(a, r).await.status(),
        StatusCode::BAD_REQUEST
    );
    let st = srv.stats().await;
    assert_eq!(
        (
            st["refreshes"]["lgdx"].as_u64(),
            st["reuse_detections"]["lgdx"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn no_cors_strips_the_headers() {
    let cfg = Config {
        cors_origins: vec!["http://localhost:5173".into()],
        ..Config::default()
    };
    let srv = start_with(cfg).await;
    srv.fault(json!({"match": "im.token", "kind": "error", "status": 502, "no_cors": true}))
        .await;
    srv.fault(json!({"match": "im.token", "kind": "error", "status": 502}))
        .await;
    let send = || {
        srv.http
            .post(srv.url("/im/connect/token"))
            .header("origin", "http://localhost:5173")
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let r = send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = send().await.unwrap();
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        "http://localhost:5173"
    );
}

#[tokio::test]
async fn fault_api_validation_list_and_clear() {
    let srv = start().await;
    for bad in [
        json!({"match": "x", "kind": "explode"}),
        json!({"match": "x", "kind": "delay"}),
        json!({"kind": "drop"}),
        json!({"match": "x", "kind": "error", "status": 700}),
    ] {
        let r = srv
            .http
            .post(srv.url("/admin/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(oauth_error(r).await.1, "invalid_request");
    }
    let r = srv
        .http
        .post(srv.url("/admin/faults"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    srv.fault(json!({"match": "kc", "kind": "drop", "times": 3}))
        .await;
    let r: Value = srv
        .http
        .delete(srv.url("/admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["cleared"], 1);
    srv.kc_login("").await;
}
