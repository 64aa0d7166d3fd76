//! Integrator clients: registration by administrators, OAuth 2 client credentials, revocation,
//! the per-client rate limit, and the wall between client and staff tokens.

use std::collections::BTreeSet;

use fengqiao_domain::identity::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, spawn_demo_app, staff_token};

const CLIENTS: &str = "/api/v1/admin/api-clients";
const TOKEN: &str = "/api/v1/oauth/token";
const WHOAMI: &str = "/api/v1/open/whoami";

/// A client registered by the administrator.
struct Client {
    /// The record id, for revoking.
    id: String,
    client_id: String,
    secret: String,
}

async fn register(app: &TestApp, admin: &str, name: &str, scopes: &[&str], rate: u32) -> Client {
    let res = app
        .post_json_as(
            CLIENTS,
            admin,
            &json!({"name": name, "scopes": scopes, "rate_limit_per_minute": rate}),
        )
        .await;
    assert_eq!(res.status(), 201, "the client is created");
    let body: Value = res.json().await.unwrap();
    Client {
        id: body["client"]["id"].as_str().unwrap().to_owned(),
        client_id: body["client"]["client_id"].as_str().unwrap().to_owned(),
        secret: body["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// `POST /oauth/token` with HTTP Basic credentials and a form body of `fields`.
async fn token_with_basic(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.client
        .post(app.url(TOKEN))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// `POST /oauth/token` with a JSON body (credentials inside it, if any).
async fn token_with_json(app: &TestApp, body: &Value) -> reqwest::Response {
    app.post_json(TOKEN, body).await
}

/// A client access token with every scope the client holds.
async fn client_token(app: &TestApp, client: &Client) -> String {
    let res = token_with_basic(
        app,
        &client.client_id,
        &client.secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(res.status(), 200, "a token is issued");
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope.split_whitespace().map(str::to_owned).collect()
}

fn json_scope_set(scopes: &Value) -> BTreeSet<String> {
    scopes
        .as_array()
        .expect("scopes are a list")
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_administrator_registers_a_client_whose_secret_is_shown_once_and_buys_tokens() {
    let (app, admin) = spawn_demo_app().await;
    let res = app
        .post_json_as(
            CLIENTS,
            &admin,
            &json!({"name": "12345 热线平台", "scopes": ["petitions:read", "petitions:write"],
                    "rate_limit_per_minute": 120}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let client_id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(client_id.starts_with("fq_"), "{client_id}");
    assert!(secret.len() >= 32, "a long random secret: {secret}");
    assert_eq!(created["client"]["name"], "12345 热线平台");
    assert_eq!(created["client"]["rate_limit_per_minute"], 120);
    assert!(created["client"]["revoked_at"].is_null());
    assert_eq!(
        json_scope_set(&created["client"]["scopes"]),
        scope_set("petitions:read petitions:write")
    );

    // The list names the client but never its secret.
    let res = app.get_as(CLIENTS, &admin).await;
    assert_eq!(res.status(), 200);
    let listed = res.text().await.unwrap();
    assert!(
        !listed.contains(&secret),
        "the secret is not listed: {listed}"
    );
    assert!(!listed.contains("client_secret"), "{listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == client_id.as_str())
        .expect("the client is listed");
    assert_eq!(entry["id"], created["client"]["id"]);

    // HTTP Basic and a form body, as RFC 6749 says.
    let res = token_with_basic(
        &app,
        &client_id,
        &secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let basic: Value = res.json().await.unwrap();
    assert_eq!(basic["token_type"], "Bearer");
    assert_eq!(
        basic["expires_in"], app.settings.auth.client_token_ttl_secs,
        "the client token lifetime"
    );
    assert_eq!(
        scope_set(basic["scope"].as_str().unwrap()),
        scope_set("petitions:read petitions:write"),
        "every scope the client holds when none is asked"
    );

    // Credentials in a JSON body.
    let res = token_with_json(
        &app,
        &json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let in_body: Value = res.json().await.unwrap();
    assert_ne!(in_body["access_token"], basic["access_token"]);

    for token in [&basic["access_token"], &in_body["access_token"]] {
        let res = app.get_as(WHOAMI, token.as_str().unwrap()).await;
        assert_eq!(res.status(), 200);
        let me: Value = res.json().await.unwrap();
        assert_eq!(me["client_id"], client_id.as_str());
        assert_eq!(me["name"], "12345 热线平台");
        assert_eq!(
            json_scope_set(&me["scopes"]),
            scope_set("petitions:read petitions:write")
        );
    }
}

#[tokio::test]
async fn a_wrong_secret_or_an_unknown_client_is_refused_as_invalid_client() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(&app, &admin, "市信访平台", &["petitions:read"], 600).await;
    let grant = [("grant_type", "client_credentials")];

    let wrong = format!("{}x", client.secret);
    let body = problem(
        token_with_basic(&app, &client.client_id, &wrong, &grant).await,
        401,
    )
    .await;
    assert_eq!(body["code"], "invalid_client");

    let body = problem(
        token_with_json(
            &app,
            &json!({"grant_type": "client_credentials", "client_id": client.client_id,
                    "client_secret": "not-the-secret"}),
        )
        .await,
        401,
    )
    .await;
    assert_eq!(body["code"], "invalid_client");

    let body = problem(
        token_with_basic(&app, "fq_0000000000000000", &client.secret, &grant).await,
        401,
    )
    .await;
    assert_eq!(body["code"], "invalid_client", "an unknown client id");

    let body = problem(
        token_with_json(&app, &json!({"grant_type": "client_credentials"})).await,
        401,
    )
    .await;
    assert_eq!(body["code"], "invalid_client", "no credentials at all");

    // The right secret still works: failures did not disable the client.
    client_token(&app, &client).await;
}

#[tokio::test]
async fn only_the_client_credentials_grant_is_supported() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(&app, &admin, "省信访平台", &["petitions:read"], 600).await;
    let res = token_with_basic(
        &app,
        &client.client_id,
        &client.secret,
        &[("grant_type", "password")],
    )
    .await;
    let body = problem(res, 400).await;
    assert_eq!(body["code"], "unsupported_grant_type");

    let res = token_with_json(
        &app,
        &json!({"grant_type": "password", "client_id": client.client_id,
                "client_secret": client.secret}),
    )
    .await;
    let body = problem(res, 400).await;
    assert_eq!(body["code"], "unsupported_grant_type");
}

// RFC 6749 §3.2: the token endpoint ignores parameters it does not recognise, so a password
// grant gets `unsupported_grant_type` and an extra parameter (RFC 8707's `resource`) is harmless.
#[tokio::test]
async fn unrecognised_token_request_parameters_are_ignored_as_rfc_6749_requires() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(&app, &admin, "标准平台", &["petitions:read"], 600).await;

    let res = token_with_basic(
        &app,
        &client.client_id,
        &client.secret,
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "whatever"),
        ],
    )
    .await;
    let body = problem(res, 400).await;
    assert_eq!(
        body["code"], "unsupported_grant_type",
        "a password grant as clients send it"
    );

    let res = token_with_basic(
        &app,
        &client.client_id,
        &client.secret,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://fengqiao.example/api"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200, "an unrecognised parameter is ignored");
}

#[tokio::test]
async fn a_scope_the_client_lacks_is_refused_and_a_subset_is_granted_alone() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(
        &app,
        &admin,
        "12345 热线平台",
        &["petitions:read", "petitions:write"],
        600,
    )
    .await;

    for asked in [
        "webhooks:manage",
        "petitions:read webhooks:manage",
        "no-such:scope",
    ] {
        let res = token_with_basic(
            &app,
            &client.client_id,
            &client.secret,
            &[("grant_type", "client_credentials"), ("scope", asked)],
        )
        .await;
        let body = problem(res, 400).await;
        assert_eq!(body["code"], "invalid_scope", "asking {asked:?}");
    }

    let res = token_with_basic(
        &app,
        &client.client_id,
        &client.secret,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "petitions:read"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let granted: Value = res.json().await.unwrap();
    assert_eq!(granted["scope"], "petitions:read");
    let me: Value = app
        .get_as(WHOAMI, granted["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["scopes"],
        json!(["petitions:read"]),
        "the token carries the subset only"
    );
}

#[tokio::test]
async fn a_revoked_client_loses_its_tokens_at_once_and_cannot_get_new_ones() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(&app, &admin, "已停用平台", &["petitions:read"], 600).await;
    let token = client_token(&app, &client).await;
    assert_eq!(app.get_as(WHOAMI, &token).await.status(), 200);

    let res = app
        .post_json_as(
            &format!("{CLIENTS}/{}/revoke", client.id),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    let body = problem(app.get_as(WHOAMI, &token).await, 401).await;
    assert_eq!(
        body["code"], "invalid_token",
        "the unexpired token is refused at once"
    );

    let res = token_with_basic(
        &app,
        &client.client_id,
        &client.secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let body = problem(res, 401).await;
    assert_eq!(body["code"], "invalid_client", "no new token either");

    let listed: Value = app.get_as(CLIENTS, &admin).await.json().await.unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == client.id.as_str())
        .expect("a revoked client is still listed");
    assert!(entry["revoked_at"].is_string());
}

#[tokio::test]
async fn each_client_is_held_to_its_own_rate_limit() {
    let (app, admin) = spawn_demo_app().await;
    let slow = register(&app, &admin, "限流平台", &["petitions:read"], 2).await;
    let other = register(&app, &admin, "另一平台", &["petitions:read"], 600).await;
    let slow_token = client_token(&app, &slow).await;
    let other_token = client_token(&app, &other).await;

    // Each answer tells the client what it may still send (RateLimit header fields).
    let header = |res: &reqwest::Response, name: &str| -> u64 {
        res.headers()
            .get(name)
            .unwrap_or_else(|| panic!("a {name} header"))
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let first = app.get_as(WHOAMI, &slow_token).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "ratelimit-limit"), 2);
    assert_eq!(header(&first, "ratelimit-remaining"), 1);
    assert!((1..=60).contains(&header(&first, "ratelimit-reset")));
    assert_eq!(first.headers()["ratelimit-policy"], "2;w=60");
    let second = app.get_as(WHOAMI, &slow_token).await;
    assert_eq!(second.status(), 200);
    assert_eq!(header(&second, "ratelimit-remaining"), 0);
    let third = app.get_as(WHOAMI, &slow_token).await;
    assert_eq!(header(&third, "ratelimit-remaining"), 0);
    let retry_after: u64 = third
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=60).contains(&retry_after),
        "within the minute window: {retry_after}"
    );
    let body = problem(third, 429).await;
    assert_eq!(body["code"], "rate_limited");

    assert_eq!(
        app.get_as(WHOAMI, &other_token).await.status(),
        200,
        "another client has a budget of its own"
    );
}

#[tokio::test]
async fn a_client_token_is_refused_on_staff_endpoints_and_a_staff_token_on_integrator_ones() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(
        &app,
        &admin,
        "越权平台",
        &["petitions:read", "petitions:write", "webhooks:manage"],
        600,
    )
    .await;
    let token = client_token(&app, &client).await;

    let body = problem(app.get_as("/api/v1/admin/me", &token).await, 401).await;
    assert_eq!(body["code"], "invalid_token");
    let body = problem(app.get_as(CLIENTS, &token).await, 401).await;
    assert_eq!(body["code"], "invalid_token");

    let body = problem(app.get_as(WHOAMI, &admin).await, 401).await;
    assert_eq!(body["code"], "invalid_token");
    let body = problem(app.get(WHOAMI).await, 401).await;
    assert_eq!(body["code"], "unauthenticated");
}

#[tokio::test]
async fn a_staff_member_who_is_not_an_administrator_cannot_manage_clients() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(&app, &admin, "既有平台", &["petitions:read"], 600).await;
    let editor = staff_token(&app, "editor.wang", &[Role::Editor]).await;

    let res = app
        .post_json_as(
            CLIENTS,
            &editor,
            &json!({"name": "私设平台", "scopes": ["petitions:read"], "rate_limit_per_minute": 10}),
        )
        .await;
    let body = problem(res, 403).await;
    assert_eq!(body["code"], "forbidden");
    let body = problem(app.get_as(CLIENTS, &editor).await, 403).await;
    assert_eq!(body["code"], "forbidden");
    let res = app
        .post_json_as(
            &format!("{CLIENTS}/{}/revoke", client.id),
            &editor,
            &json!({}),
        )
        .await;
    let body = problem(res, 403).await;
    assert_eq!(body["code"], "forbidden");

    let listed: Value = app.get_as(CLIENTS, &admin).await.json().await.unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "nothing was created: {listed:?}");
    assert!(listed[0]["revoked_at"].is_null(), "nothing was revoked");
}

#[tokio::test]
async fn the_client_secret_is_stored_only_as_a_hash() {
    let (app, admin) = spawn_demo_app().await;
    let client = register(&app, &admin, "存储检查平台", &["petitions:read"], 600).await;

    let conn = app.raw_db().await;
    let backend = sea_orm::ConnectionTrait::get_database_backend(&conn);
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => "SELECT * FROM api_clients WHERE client_id = $1",
        _ => "SELECT * FROM api_clients WHERE client_id = ?",
    };
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &conn,
        sea_orm::Statement::from_sql_and_values(backend, sql, [client.client_id.clone().into()]),
    )
    .await
    .unwrap()
    .expect("the client's row");
    conn.close().await.ok();

    let columns = row.column_names();
    let hash_at = columns
        .iter()
        .position(|c| c == "secret_hash")
        .expect("a secret_hash column");
    let secret_hash: String = row.try_get_by_index(hash_at).unwrap();
    assert!(!secret_hash.is_empty());
    assert_ne!(secret_hash, client.secret);
    assert!(!secret_hash.contains(&client.secret));

    // Every column that can hold text or bytes, whatever its name.
    let mut textual = 0;
    for (i, name) in columns.iter().enumerate() {
        let value = if let Ok(text) = row.try_get_by_index::<Option<String>>(i) {
            text
        } else if let Ok(bytes) = row.try_get_by_index::<Option<Vec<u8>>>(i) {
            bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
        } else {
            // Numbers, timestamps, uuids: they cannot hold a 43-character secret.
            continue;
        };
        textual += 1;
        if let Some(value) = value {
            assert!(
                !value.contains(&client.secret),
                "the secret is in clear in column {name}"
            );
        }
    }
    assert!(
        textual >= 4,
        "client_id, name, secret_hash and scopes were read"
    );
}

#[tokio::test]
async fn control_characters_in_basic_credentials_are_an_invalid_client() {
    use base64::Engine as _;
    let (app, _) = spawn_demo_app().await;
    let credentials = base64::engine::general_purpose::STANDARD.encode(b"a\0b:secret");
    let res = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .header("authorization", format!("Basic {credentials}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 401).await["code"], "invalid_client");
}

#[tokio::test]
async fn an_integrator_creates_a_petition_once_per_external_id_and_follows_its_changes() {
    let (app, admin) = spawn_demo_app().await;
    let hotline = register(
        &app,
        &admin,
        "12345 热线",
        &["petitions:read", "petitions:write"],
        600,
    )
    .await;
    let token = client_token(&app, &hotline).await;
    let body = |title: &str| {
        json!({
            "external_id": "12345-20261124-000731", "channel": "phone", "kind": "complaint",
            "category_code": "labour", "title": title,
            "content": "来电反映某工地拖欠 12 名农民工三个月工资，请求督促支付。",
            "township_id": Value::Null, "petitioner": {"name": "王大明", "phone": "13900001111"}
        })
    };
    let guandu = app.org_id("410122-101").await;
    let mut first = body("农民工工资被拖欠三个月");
    first["township_id"] = json!(guandu);
    let res = app
        .post_json_as("/api/v1/open/petitions", &token, &first)
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert!(
        created["query_code"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    // The same external id again, even reworded: the same petition, 200.
    let mut again = body("农民工工资被拖欠（补充）");
    again["township_id"] = json!(guandu);
    let res = app
        .post_json_as("/api/v1/open/petitions", &token, &again)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], created["id"]);
    // Two at once under a new id: one petition.
    let mut racing = first.clone();
    racing["external_id"] = json!("12345-20261124-000732");
    let (a, b) = tokio::join!(
        app.post_json_as("/api/v1/open/petitions", &token, &racing),
        app.post_json_as("/api/v1/open/petitions", &token, &racing)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 201]);
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["id"], b["id"]);

    let id = created["id"].as_str().unwrap();
    let read: Value = app
        .get_as(&format!("/api/v1/open/petitions/{id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["state"], "registered");
    assert_eq!(read["timeline"][0]["event"], "registered");
    let found: Value = app
        .get_as(
            "/api/v1/open/petitions?external_id=12345-20261124-000731",
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["id"], id);
    // Another integrator neither reads it nor sees its changes.
    let other = register(&app, &admin, "市信访系统", &["petitions:read"], 600).await;
    let other_token = client_token(&app, &other).await;
    let res = app
        .get_as(&format!("/api/v1/open/petitions/{id}"), &other_token)
        .await;
    assert_eq!(res.status(), 404);

    // The change feed: the registrations once settled, then the forwarding after the cursor.
    let page = crate::helpers::eventually("the registrations in the feed", || async {
        let page: Value = app
            .get_as("/api/v1/open/changes", &token)
            .await
            .json()
            .await
            .unwrap();
        (page["items"].as_array().unwrap().len() == 2).then_some(page)
    })
    .await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["event"] == "registered")
    );
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let empty: Value = app
        .get_as("/api/v1/open/changes", &other_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(empty["items"].as_array().unwrap().is_empty());
    let registrar = crate::helpers::staff_in(&app, "r.feed", "410122", &[Role::Registrar]).await;
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/forward"),
            &registrar,
            &json!({"to_org_id": guandu}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let next = crate::helpers::eventually("the forwarding in the feed", || async {
        let page: Value = app
            .get_as(&format!("/api/v1/open/changes?cursor={cursor}"), &token)
            .await
            .json()
            .await
            .unwrap();
        (!page["items"].as_array().unwrap().is_empty()).then_some(page)
    })
    .await;
    assert_eq!(next["items"][0]["event"], "forwarded");
    assert_eq!(next["items"][0]["external_id"], "12345-20261124-000731");
    assert_eq!(next["items"][0]["state"], "awaiting_acceptance");
}

/// The README's webhook-verification snippet, run as an integrator would run it, against a
/// signature the service makes: it accepts the real one and refuses a tampered body.
#[test]
fn the_readme_webhook_snippet_verifies_the_services_signatures() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("```python\n").expect("a python snippet") + "```python\n".len();
    let snippet: String = readme[start..]
        .split("```")
        .next()
        .unwrap()
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let now = chrono::Utc::now().timestamp();
    let body = r#"{"type":"petition.accepted","data":{"tracking_no":"ZM20261126000042"}}"#;
    let signature = fengqiao_infra::webhooks::sign(secret, "msg_1", now, body).unwrap();
    let program = format!(
        "{snippet}\nimport sys\nh = {{'webhook-id': 'msg_1', 'webhook-timestamp': '{now}', 'webhook-signature': '{signature}'}}\n\
         ok = verify('{secret}', h, sys.argv[1].encode())\nprint('ok' if ok else 'refused')\n"
    );
    let run = |body: &str| {
        let out = std::process::Command::new("python3")
            .args(["-c", &program, body])
            .output()
            .expect("python3 runs the snippet");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    assert_eq!(run(body), "ok");
    assert_eq!(run(&body.replace("accepted", "answered")), "refused");
}
