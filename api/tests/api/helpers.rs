//! `spawn_app()`: the real application on port 0 with a fresh database, and typed helpers.

use std::path::PathBuf;

use fengqiao_api::Application;
use fengqiao_infra::Settings;
use fengqiao_infra::config::Secret;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A fresh database for one test, dropped with it.
pub struct TestDb {
    /// The URL the service should use; `None`: SQLite in the test's data directory.
    pub url: Option<String>,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub async fn create() -> Self {
        let name = format!("fengqiao_test_{}", uuid::Uuid::new_v4().simple());
        let Ok(server) = std::env::var("FENGQIAO_TEST_DATABASE_URL") else {
            return Self {
                url: None,
                admin_url: None,
                name,
            };
        };
        let base = server_base(&server);
        let admin_url = format!("{base}/postgres");
        let admin = Database::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        admin.close().await.ok();
        Self {
            url: Some(format!("{base}/{name}")),
            admin_url: Some(admin_url),
            name,
        }
    }
}

/// `postgres://user@host:port[/db][?…]` -> `postgres://user@host:port`.
fn server_base(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin_url) = self.admin_url.clone() else {
            return;
        };
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a blocking drop needs a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
            Ok::<_, std::io::Error>(())
        })
        .join();
    }
}

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    /// The WeChat stand-in this app talks to.
    pub wechat: wiremock::MockServer,
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub demo_admin_password: Option<String>,
    pub data_dir: TempDir,
    /// Held so the database lives as long as the app (dropped after it).
    _db: TestDb,
    redis_prefix: Option<(String, String)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some((url, prefix)) = self.redis_prefix.clone() else {
            return;
        };
        // Leave the shared Redis as we found it.
        let _ = std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url)?.get_connection()?;
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query(&mut conn)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).query::<()>(&mut conn)?;
            }
            Ok(())
        })
        .join();
    }
}

/// Settings for a test: port 0, one worker, a temporary data directory, the test database and
/// Redis prefix. Tests adjust them before the app starts.
pub async fn test_settings() -> (Settings, TempDir, TestDb, Option<(String, String)>) {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let db = TestDb::create().await;
    let mut settings = Settings {
        data_dir: data_dir.path().to_owned(),
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.server.workers = Some(1);
    settings.database.max_connections = 3;
    settings.database.min_connections = 0;
    settings.database.url = db.url.clone().map(Secret::new);
    let mut redis_prefix = None;
    if let Ok(url) = std::env::var("FENGQIAO_TEST_REDIS_URL") {
        let prefix = format!("fengqiao_test:{}:", uuid::Uuid::new_v4().simple());
        settings.redis.url = Some(Secret::new(url.clone()));
        settings.redis.key_prefix = prefix.clone();
        redis_prefix = Some((url, prefix));
    }
    (settings, data_dir, db, redis_prefix)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    let (mut settings, data_dir, db, redis_prefix) = test_settings().await;
    let wechat = wiremock::MockServer::start().await;
    settings.wechat.base_url = wechat.uri();
    settings.wechat.appid = "wx-test-appid".into();
    settings.wechat.secret = Some(Secret::new("wechat-test-secret"));
    customise(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let demo_admin_password = app.demo_admin().map(|d| d.admin_password.clone());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        wechat,
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        settings,
        demo_admin_password,
        data_dir,
        _db: db,
        redis_prefix,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/admin/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// Signs in as the demo administrator (the app must have been spawned with demo data).
    pub async fn admin_token(&self) -> String {
        let password = self
            .demo_admin_password
            .as_deref()
            .expect("spawned with demo data");
        let res = self.login("admin", password).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// A second connection to the test's database, for looking at raw rows.
    pub async fn raw_db(&self) -> DatabaseConnection {
        Database::connect(self.settings.database_url())
            .await
            .expect("connect to the test database")
    }

    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().to_owned()
    }
}

/// Spawns an app with demo data and returns it with an administrator's token.
pub async fn spawn_demo_app() -> (TestApp, String) {
    let app = spawn_app_with(|s| s.demo = true).await;
    let token = app.admin_token().await;
    (app, token)
}

/// Reads a problem document, checking the media type and the fields every problem has.
pub async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "problem media type, got {content_type:?}"
    );
    let header_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = res.json().await.expect("problem JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "code in {body}"
    );
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:fengqiao:problem:"))
    );
    assert!(body["title"].is_string() && body["detail"].is_string());
    assert_eq!(
        body["request_id"].as_str(),
        header_id.as_deref(),
        "request id echoed"
    );
    body
}

/// Creates a staff account at the county and signs it in; returns its token.
pub async fn staff_token(
    app: &TestApp,
    username: &str,
    roles: &[fengqiao_domain::identity::Role],
) -> String {
    staff_in(app, username, "410122", roles).await
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch_json_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put_json_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Signs a citizen in through the development login; returns the session body.
    pub async fn dev_citizen(&self, openid: &str) -> Value {
        let res = self
            .post_json("/api/v1/auth/dev-login", &json!({"openid": openid}))
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    /// Another instance of the same service, as production runs several: the same database,
    /// cache and keys, demo data not loaded again. Its base URL.
    pub async fn second_instance(&self) -> String {
        let mut settings = self.settings.clone();
        settings.demo = false;
        settings.auth.jwt_secret = Some(Secret::new(
            fengqiao_infra::keys::jwt_secret(&self.settings)
                .expect("the first instance's signing key")
                .expose(),
        ));
        let second = Application::build(settings)
            .await
            .expect("the second instance builds");
        let base = format!("http://127.0.0.1:{}", second.port());
        tokio::spawn(second.run_until_stopped());
        base
    }

    /// The id of the demo unit with `code`.
    pub async fn org_id(&self, code: &str) -> uuid::Uuid {
        let conn = self.raw_db().await;
        let unit = fengqiao_infra::db::org::find_by_code(&conn, code)
            .await
            .unwrap()
            .expect("unit exists");
        conn.close().await.ok();
        unit.id
    }

    /// Audit entries with `action`, via the administrator API.
    pub async fn audit_entries(&self, admin_token: &str, action: &str) -> Vec<Value> {
        let res = self
            .get_as(
                &format!("/api/v1/admin/audit?action={action}&limit=100"),
                admin_token,
            )
            .await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.expect("json");
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

/// Creates a staff account in the unit with `org_code`, signs it in; returns its token.
pub async fn staff_in(
    app: &TestApp,
    username: &str,
    org_code: &str,
    roles: &[fengqiao_domain::identity::Role],
) -> String {
    use fengqiao_domain::identity::Roles;
    use fengqiao_infra::db;
    let conn = app.raw_db().await;
    let unit = db::org::find_by_code(&conn, org_code)
        .await
        .unwrap()
        .expect("unit exists");
    let password = "Staff-password-2026";
    db::staff::create(
        &conn,
        db::staff::NewStaff {
            username: username.to_owned(),
            display_name: username.to_owned(),
            password_hash: fengqiao_infra::password::hash(password).unwrap(),
            org_unit_id: unit.id,
            roles: Roles::new(roles.to_vec()),
        },
        false,
    )
    .await
    .unwrap();
    conn.close().await.ok();
    let res = app.login(username, password).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls `check` until it returns `Some`, for at most ten seconds.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The citizen's newest notification of `event`, once the dispatcher has written it.
pub async fn inbox_event(app: &TestApp, token: &str, event: &str) -> Value {
    eventually(&format!("a {event} notification"), || async {
        let inbox: Value = app
            .get_as("/api/v1/me/notifications", token)
            .await
            .json()
            .await
            .unwrap();
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["event"] == event)
            .cloned()
    })
    .await
}
