//! Every error class of the HTTP conventions produces its problem document.

use fengqiao_domain::identity::Role;
use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app, spawn_app_with, spawn_demo_app, staff_token};

const ORG_UNITS: &str = "/api/v1/admin/org-units";

async fn county_id(app: &crate::helpers::TestApp, token: &str) -> String {
    let page: Value = app
        .get_as(&format!("{ORG_UNITS}?limit=1"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["code"], "410122");
    page["items"][0]["id"].as_str().unwrap().to_owned()
}

async fn post_raw(
    app: &crate::helpers::TestApp,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url(ORG_UNITS))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let (app, token) = spawn_demo_app().await;
    let body = problem(
        post_raw(&app, &token, "application/json", "{\"code\": ").await,
        400,
    )
    .await;
    assert_eq!(body["code"], "malformed_json");
}

#[tokio::test]
async fn an_unknown_field_is_a_400_naming_it() {
    let (app, token) = spawn_demo_app().await;
    let res = app
        .post_json_as(
            ORG_UNITS,
            &token,
            &json!({"code": "ab", "name": "x", "kind": "county", "colour": "red"}),
        )
        .await;
    let body = problem(res, 400).await;
    assert_eq!(body["code"], "unknown_field");
    assert_eq!(body["errors"][0]["field"], "colour");
}

#[tokio::test]
async fn a_wrong_type_is_a_400_naming_the_field() {
    let (app, token) = spawn_demo_app().await;
    let res = app
        .post_json_as(
            ORG_UNITS,
            &token,
            &json!({"code": "ab", "name": "x", "kind": "county", "sort_order": "first"}),
        )
        .await;
    let body = problem(res, 400).await;
    assert_eq!(body["code"], "invalid_field");
    assert_eq!(body["errors"][0]["field"], "sort_order");

    let res = app
        .post_json_as(
            ORG_UNITS,
            &token,
            &json!({"code": "ab", "name": "x", "kind": "galaxy"}),
        )
        .await;
    let body = problem(res, 400).await;
    assert_eq!(body["errors"][0]["field"], "kind");

    let res = app
        .post_json_as(ORG_UNITS, &token, &json!({"name": "x", "kind": "county"}))
        .await;
    let body = problem(res, 400).await;
    assert_eq!(body["code"], "missing_field");
    assert_eq!(body["errors"][0]["field"], "code");
}

#[tokio::test]
async fn a_bad_query_parameter_is_a_400_naming_it() {
    let (app, token) = spawn_demo_app().await;
    let body = problem(
        app.get_as(&format!("{ORG_UNITS}?limit=lots"), &token).await,
        400,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "limit");
    let body = problem(
        app.get_as(&format!("{ORG_UNITS}/not-a-uuid"), &token).await,
        400,
    )
    .await;
    assert_eq!(body["code"], "invalid_path_parameter");
}

#[tokio::test]
async fn missing_or_bad_credentials_are_a_401() {
    let (app, _) = spawn_demo_app().await;
    let body = problem(app.get(ORG_UNITS).await, 401).await;
    assert_eq!(body["code"], "unauthenticated");

    let body = problem(app.get_as(ORG_UNITS, "not.a.token").await, 401).await;
    assert_eq!(body["code"], "invalid_token");

    let body = problem(app.login("admin", "Wrong-password-2026").await, 401).await;
    assert_eq!(body["code"], "invalid_credentials");
    let body = problem(app.login("nobody", "Wrong-password-2026").await, 401).await;
    assert_eq!(
        body["code"], "invalid_credentials",
        "unknown users look like wrong passwords"
    );
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    let (app, token) = spawn_demo_app().await;
    // Flip the last character of the signature.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let body = problem(app.get_as("/api/v1/admin/me", &forged).await, 401).await;
    assert_eq!(body["code"], "invalid_token");
    assert_eq!(app.get_as("/api/v1/admin/me", &token).await.status(), 200);
}

#[tokio::test]
async fn a_role_that_does_not_allow_it_is_a_403() {
    let (app, _) = spawn_demo_app().await;
    let editor = staff_token(&app, "editor.wang", &[Role::Editor]).await;
    let res = app
        .post_json_as(
            ORG_UNITS,
            &editor,
            &json!({"code": "ab", "name": "x", "kind": "county"}),
        )
        .await;
    let body = problem(res, 403).await;
    assert_eq!(body["code"], "forbidden");
    // Reading is open to every staff member.
    assert_eq!(app.get_as(ORG_UNITS, &editor).await.status(), 200);
}

#[tokio::test]
async fn missing_things_are_a_404() {
    let (app, token) = spawn_demo_app().await;
    let body = problem(app.get("/api/v1/no-such-thing").await, 404).await;
    assert_eq!(body["code"], "route_not_found");
    assert_eq!(body["instance"], "/api/v1/no-such-thing");

    let missing = uuid::Uuid::now_v7();
    let body = problem(
        app.get_as(&format!("{ORG_UNITS}/{missing}"), &token).await,
        404,
    )
    .await;
    assert_eq!(body["code"], "org_unit_not_found");
}

#[tokio::test]
async fn a_taken_code_is_a_409() {
    let (app, token) = spawn_demo_app().await;
    let county = county_id(&app, &token).await;
    let res = app
        .post_json_as(ORG_UNITS, &token, &json!({"code": "410122-101", "name": "重名镇", "kind": "township", "parent_id": county}))
        .await;
    let body = problem(res, 409).await;
    assert_eq!(body["code"], "org_code_taken");
}

#[tokio::test]
async fn rule_violations_are_a_422_with_every_field() {
    let (app, token) = spawn_demo_app().await;
    let res = app
        .post_json_as(
            ORG_UNITS,
            &token,
            &json!({"code": "x", "name": "", "kind": "township"}),
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "name"]);

    // A village cannot hang directly under the county.
    let county = county_id(&app, &token).await;
    let res = app
        .post_json_as(ORG_UNITS, &token, &json!({"code": "410122-999", "name": "错位村", "kind": "village", "parent_id": county}))
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["code"], "invalid_org_parent");

    let body = problem(
        app.get_as(&format!("{ORG_UNITS}?limit=1000"), &token).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "limit");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.server.body_limit_bytes = 1024;
    })
    .await;
    let token = app.admin_token().await;
    let big = format!(
        "{{\"code\": \"ab\", \"name\": \"{}\", \"kind\": \"county\"}}",
        "x".repeat(4096)
    );
    let body = problem(post_raw(&app, &token, "application/json", big).await, 413).await;
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let (app, token) = spawn_demo_app().await;
    let body = problem(post_raw(&app, &token, "text/plain", "code=ab").await, 415).await;
    assert_eq!(body["code"], "unsupported_media_type");
}

#[tokio::test]
async fn too_many_requests_are_a_429_with_retry_after() {
    let app = spawn_app_with(|s| s.rate_limit.per_ip_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/admin/me").await.status(), 401);
    }
    let res = app.get("/api/v1/admin/me").await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let body = problem(res, 429).await;
    assert_eq!(body["code"], "rate_limited");
    // Probes are not rate limited.
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn an_unexpected_error_is_an_opaque_500_with_the_request_id() {
    let (app, token) = spawn_demo_app().await;
    // A row the code cannot read: an organisation kind that does not exist.
    let conn = app.raw_db().await;
    let id = uuid::Uuid::now_v7();
    let insert = sea_orm::Statement::from_sql_and_values(
        sea_orm::ConnectionTrait::get_database_backend(&conn),
        match sea_orm::ConnectionTrait::get_database_backend(&conn) {
            sea_orm::DatabaseBackend::Postgres => {
                "INSERT INTO org_units (id, code, name, kind, level, path, sort_order, is_demo, created_at, updated_at) VALUES ($1, 'broken', 'x', 'spaceship', 9, '/broken/', 0, false, now(), now())"
            }
            _ => {
                "INSERT INTO org_units (id, code, name, kind, level, path, sort_order, is_demo, created_at, updated_at) VALUES (?, 'broken', 'x', 'spaceship', 9, '/broken/', 0, false, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            }
        },
        [id.into()],
    );
    sea_orm::ConnectionTrait::execute_raw(&conn, insert)
        .await
        .unwrap();

    let body = problem(app.get_as(&format!("{ORG_UNITS}/{id}"), &token).await, 500).await;
    assert_eq!(body["code"], "internal_error");
    let text = body.to_string();
    assert!(
        !text.contains("spaceship") && !text.contains("org_units"),
        "no internals leak: {text}"
    );
}

#[tokio::test]
async fn problems_speak_english_when_asked() {
    let app = spawn_app().await;
    let zh = problem(app.get("/nowhere").await, 404).await;
    assert_eq!(zh["detail"], "请求的地址不存在");
    let en = app
        .client
        .get(app.url("/nowhere"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    let en = problem(en, 404).await;
    assert_eq!(en["detail"], "there is no such resource");
    assert_eq!(
        en["code"], zh["code"],
        "codes do not depend on the language"
    );
}

#[tokio::test]
async fn a_database_that_goes_away_gives_503_with_retry_after() {
    let (app, token) = spawn_demo_app().await;
    let conn = app.raw_db().await;
    let backend = sea_orm::ConnectionTrait::get_database_backend(&conn);
    conn.close().await.ok();
    match backend {
        sea_orm::DatabaseBackend::Postgres => {
            // Take the database away under the running service.
            let url = app.settings.database_url();
            let (server, name) = url.rsplit_once('/').unwrap();
            let admin = sea_orm::Database::connect(format!("{server}/postgres"))
                .await
                .unwrap();
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
            )
            .await
            .unwrap();
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
            )
            .await
            .unwrap();
            let res = app.get_as("/api/v1/admin/org-units", &token).await;
            assert!(res.headers().get("retry-after").is_some());
            let body = problem(res, 503).await;
            assert_eq!(body["code"], "dependency_unavailable");
            assert!(body["detail"].as_str().unwrap().contains("database"));

            let ready = app.get("/health/ready").await;
            assert_eq!(problem(ready, 503).await["errors"][0]["field"], "database");

            // Back again: the pool reconnects by itself.
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
            )
            .await
            .unwrap();
            admin.close().await.ok();
            let mut status = 0;
            for _ in 0..20 {
                status = app
                    .get_as("/api/v1/admin/org-units", &token)
                    .await
                    .status()
                    .as_u16();
                if status == 200 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            assert_eq!(status, 200, "the service recovers without a restart");
        }
        _ => {
            // The embedded SQLite file is part of the process: it cannot go away on its own,
            // so the embedded run checks the 503 mapping of a dependency that can (Redis).
            let app = spawn_app_with(|s| {
                s.redis.url = Some(fengqiao_infra::config::Secret::new("redis://127.0.0.1:1"));
            })
            .await;
            let res = app.get("/health/ready").await;
            assert!(res.headers().get("retry-after").is_some());
            assert_eq!(problem(res, 503).await["code"], "not_ready");
        }
    }
}

#[tokio::test]
async fn a_nul_character_is_a_400_not_a_500_on_any_backend() {
    let (app, token) = spawn_demo_app().await;
    let body = "{\"code\": \"ab\", \"name\": \"a\\u0000b\", \"kind\": \"county\"}";
    let res = post_raw(&app, &token, "application/json", body).await;
    assert_eq!(problem(res, 400).await["code"], "invalid_characters");
    let res = app
        .get_as("/api/v1/admin/audit?actor_id=a%00b", &token)
        .await;
    assert_eq!(problem(res, 400).await["code"], "invalid_characters");
    let res = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=a%00b&client_secret=x")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 400).await["code"], "invalid_characters");
    let res = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 415).await["code"], "unsupported_media_type");
}

/// Found by generated cases: days far from today once overflowed the calendar and panicked.
#[tokio::test]
async fn days_beyond_the_calendar_are_422_not_a_panic() {
    let (app, admin) = spawn_demo_app().await;
    let res = app
        .get_as("/api/v1/admin/petitions?due_within_days=2147483648", &admin)
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["code"], "out_of_range", "{body}");
    let res = app.get("/api/v1/reception/schedule?from=9999-12-31").await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["code"], "date_out_of_range", "{body}");
    let res = app
        .get_as("/api/v1/admin/statistics/flags?date=0299-02-22", &admin)
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "date");
}
