use serde_json::Value;

use crate::helpers::{problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_server_on_an_empty_directory_starts_and_is_ready() {
    let app = spawn_app().await;

    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<Value>().await.unwrap()["status"], "ok");

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    let expected_redis = if app.settings.redis.url.is_some() {
        "ok"
    } else {
        "not_configured"
    };
    assert_eq!(body["redis"], expected_redis);

    if app.settings.database.url.is_none() {
        assert!(
            app.data_path().join("fengqiao.sqlite").exists(),
            "SQLite file in data_dir"
        );
    }
}

#[tokio::test]
async fn readiness_names_a_redis_that_does_not_answer() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let app = spawn_app_with(|s| {
        s.redis.url = Some(fengqiao_infra::config::Secret::new("redis://127.0.0.1:1"));
    })
    .await;

    let res = app.get("/health/ready").await;
    assert!(
        res.headers().get("retry-after").is_some(),
        "503 carries Retry-After"
    );
    let body = problem(res, 503).await;
    assert_eq!(body["code"], "not_ready");
    assert_eq!(body["errors"][0]["field"], "redis");
    assert!(body["detail"].as_str().unwrap().contains("redis"));

    // Liveness does not depend on Redis.
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = spawn_app().await;
    app.get("/health/live").await;
    app.get("/no/such/route").await;

    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"fengqiao_http_requests_total{method="GET",route="/health/live",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404""#),
        "unmatched paths share one label"
    );
    assert!(text.contains("fengqiao_http_request_duration_seconds_bucket"));
    assert!(text.contains(r#"fengqiao_db_pool_connections{state="open"}"#));
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let given = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-abc.123");

    let generated = app.get("/health/live").await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "generated id is a UUID: {id}"
    );

    // An id that is unsafe to log is replaced, not echoed.
    let unsafe_id = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(unsafe_id.headers()["x-request-id"], "bad id\twith spaces");
}

#[tokio::test]
async fn the_api_docs_are_served_without_internet() {
    let app = spawn_app().await;
    let ui = app.get("/docs/").await;
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger-ui"));
    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection());
}
