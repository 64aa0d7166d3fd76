//! Faults under load: a dependency stopped while citizens submit, the server killed mid-write.
//! Each test brings its own Redis or its own server process, so stopping it disturbs no other
//! test; the load is loopback only and bounded in count and time.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::helpers::{problem, spawn_app_with, test_settings};

/// A Redis server of the test's own, on a port it keeps across a restart.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { child: None, port };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (it is on every machine the tests run on)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the way a crashed or partitioned Redis looks to its clients.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Submits petitions from `citizens` on `workers` concurrent loops until `until`, keeping every
/// answer: (status, petition id when 201, the citizen's token).
async fn submit_until(
    base: &str,
    citizens: &[String],
    workers: usize,
    until: Instant,
) -> Vec<(u16, Option<String>, String)> {
    let client = reqwest::Client::new();
    let township = township_of(&client, base).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, url, citizens, answers, township, run) = (
            client.clone(),
            format!("{base}/api/v1/petitions"),
            citizens.to_vec(),
            answers.clone(),
            township.clone(),
            run.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < until {
                n += 1;
                let token = &citizens[(w + n) % citizens.len()];
                let sent = client
                    .post(&url)
                    .bearer_auth(token)
                    .header("idempotency-key", format!("fault-{run}-{w}-{n}"))
                    .timeout(Duration::from_secs(15))
                    .json(&json!({
                        "kind": "complaint", "category_code": "transport",
                        "title": format!("村道路面破损请求维修（第 {w}-{n} 件）"),
                        "content": format!("村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。编号 {w}-{n}。"),
                        "township_id": township,
                    }))
                    .send()
                    .await;
                let answer = match sent {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let body: Value = res.json().await.unwrap_or(Value::Null);
                        (status, body["id"].as_str().map(str::to_owned), token.clone())
                    }
                    // A request that got no answer at all counts as a failure the test reports.
                    Err(_) => (0, None, token.clone()),
                };
                answers.lock().await.push(answer);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(answers).unwrap().into_inner()
}

/// A township to petition in: the first value of the Open311 definition's `township`.
async fn township_of(client: &reqwest::Client, base: &str) -> String {
    let definition: Value = client
        .get(format!("{base}/open311/v2/services/transport.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    definition["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "township")
        .unwrap()["values"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn citizens(base: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for i in 0..n {
        let session: Value = client
            .post(format!("{base}/api/v1/auth/dev-login"))
            .json(&json!({"openid": format!("fault.{i}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(session["access_token"].as_str().unwrap().to_owned());
    }
    tokens
}

/// Every acknowledged submission is there for its citizen, with its public timeline.
async fn all_kept(base: &str, answers: &[(u16, Option<String>, String)]) -> usize {
    let client = reqwest::Client::new();
    let mut kept = 0;
    for (status, id, token) in answers {
        if *status == 201 {
            let id = id.as_deref().expect("a 201 names its petition");
            let res = client
                .get(format!("{base}/api/v1/petitions/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "acknowledged petition {id} is kept");
            let petition: Value = res.json().await.unwrap();
            assert_eq!(petition["timeline"][0]["event"], "registered", "{petition}");
            kept += 1;
        }
    }
    kept
}

#[tokio::test]
async fn redis_stopped_under_load_degrades_to_the_database_and_recovers() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = spawn_app_with(move |s| {
        s.demo = true;
        s.redis.url = Some(fengqiao_infra::config::Secret::new(url));
        s.redis.key_prefix = "faults:".into();
    })
    .await;
    let tokens = citizens(&app.address, 12).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);

    let start = Instant::now();
    let load = submit_until(&app.address, &tokens, 4, start + Duration::from_secs(4));
    let outage = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        redis.kill();
        // While it is down readiness says so, naming it.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let res = app.get("/health/ready").await;
        let body = problem(res, 503).await;
        assert!(body.to_string().contains("redis"), "{body}");
        tokio::time::sleep(Duration::from_millis(700)).await;
        redis.restart();
    };
    let (answers, ()) = tokio::join!(load, outage);

    let failed: Vec<u16> = answers.iter().map(|a| a.0).filter(|s| *s != 201).collect();
    assert!(
        failed.is_empty(),
        "every submission succeeds while Redis is down: {} of {} failed ({:?})",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(10)]
    );
    assert!(answers.len() >= 20, "the load ran: {}", answers.len());
    assert_eq!(all_kept(&app.address, &answers).await, answers.len());
    // Back: readiness recovers without a restart of the service.
    crate::helpers::eventually("readiness after Redis returns", || async {
        (app.get("/health/ready").await.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_server_killed_mid_write_loses_no_acknowledged_submission_and_delivers_the_rest() {
    let (settings, dir, _db, _redis) = test_settings().await;
    let url = settings.database_url();
    let env = [
        ("FENGQIAO_DEMO", "true"),
        ("FENGQIAO_RATE_LIMIT__PER_IP_PER_MINUTE", "0"),
    ];
    let (mut server, port, _log) = crate::process::start_server(dir.path(), &url, &env);
    let base = format!("http://127.0.0.1:{port}");
    let tokens = citizens(&base, 12).await;

    let start = Instant::now();
    let load = submit_until(&base, &tokens, 4, start + Duration::from_secs(3));
    let kill = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // SIGKILL: no shutdown, no flush, transactions cut wherever they are.
        server.kill().unwrap();
        server.wait().unwrap();
    };
    let (answers, ()) = tokio::join!(load, kill);
    let acknowledged = answers.iter().filter(|a| a.0 == 201).count();
    assert!(
        acknowledged >= 10,
        "the load ran: {acknowledged} acknowledged"
    );
    assert!(
        answers.iter().all(|a| a.0 == 201 || a.0 == 0),
        "before the kill every submission succeeded; after it none was answered"
    );
    assert!(
        answers.iter().any(|a| a.0 == 0),
        "the kill came in the middle of the load"
    );

    // Started again on the same database and data directory (keys included).
    let (mut again, port, _log) = crate::process::start_server(dir.path(), &url, &env);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(all_kept(&base, &answers).await, acknowledged);

    // Nothing half-written: every petition has its registration step and its outbox message,
    // and the dispatcher sends what the killed one had not.
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            use sea_orm::ConnectionTrait;
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    sql,
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    let petitions = count("SELECT count(*) FROM petitions").await;
    assert!(petitions >= i64::try_from(acknowledged).unwrap());
    assert_eq!(
        count("SELECT count(*) FROM petitions p WHERE NOT EXISTS (SELECT 1 FROM petition_events e WHERE e.petition_id = p.id AND e.event = 'registered')").await,
        0,
        "a petition without its registration step"
    );
    assert_eq!(
        count("SELECT count(*) FROM petitions p WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.petition_id = p.id)").await,
        0,
        "a petition without its outbox message"
    );
    crate::helpers::eventually("the outbox drained after the restart", || async {
        (count("SELECT count(*) FROM outbox WHERE dispatched_at IS NULL").await == 0).then_some(())
    })
    .await;
    db.close().await.ok();
    again.kill().ok();
    again.wait().ok();
}

/// Two instances of the service on one PostgreSQL and one Redis, as production runs them: the
/// per-address limit and the sign-in lockout hold across both. (Outbox items are delivered once
/// by several dispatchers: `messaging::two_dispatchers_deliver_each_item_once_…`.) The embedded
/// default is one process by design (its limiter is in-process), so this runs on the
/// PostgreSQL and Redis pass of the suite.
#[tokio::test]
async fn two_instances_hold_one_rate_limit_and_one_lockout() {
    let first = spawn_app_with(|s| {
        s.demo = true;
        s.rate_limit.per_ip_per_minute = 40;
        s.auth.lockout_max_failures = 4;
    })
    .await;
    if first.settings.redis.url.is_none() {
        assert!(
            std::env::var("FENGQIAO_TEST_DATABASE_URL").is_err(),
            "the shared-service pass has Redis"
        );
        return;
    }
    let admin = first.admin_token().await;
    let second_base = first.second_instance().await;

    // A staff account to lock: two wrong passwords on each instance lock it on both.
    crate::helpers::staff_in(
        &first,
        "clerk.twice",
        "410122",
        &[fengqiao_domain::identity::Role::Registrar],
    )
    .await;
    let client = reqwest::Client::new();
    let login = |base: String, password: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/api/v1/admin/auth/login"))
                .json(&json!({"username": "clerk.twice", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    for base in [&first.address, &second_base, &first.address, &second_base] {
        assert_eq!(
            login(base.clone(), "Wrong-password-2026").await.status(),
            401
        );
    }
    for base in [&first.address, &second_base] {
        let res = login(base.clone(), "Staff-password-2026").await;
        assert_eq!(problem(res, 403).await["code"], "account_locked");
    }
    assert!(!admin.is_empty());

    // One address, forty requests a minute, whichever instance answers.
    let mut limited = 0;
    for i in 0..60 {
        let base = if i % 2 == 0 {
            &first.address
        } else {
            &second_base
        };
        let res = client
            .get(format!("{base}/api/v1/petition-categories"))
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            limited += 1;
        }
    }
    // The sign-ins above spent some of the allowance too.
    assert!(
        limited >= 20,
        "the limit counts both instances' requests: {limited} of 60 refused"
    );
}

/// PostgreSQL going away under load (its connections cut and new ones refused for the test's
/// database, as in a restart, without disturbing the other tests' databases): submissions fail
/// fast with 503 and `Retry-After`, none hangs past the pool's timeout, the pool recovers by
/// itself and every acknowledged submission is kept. The embedded SQLite database is part of the
/// process and goes away only with it, which the SIGKILL test covers.
#[tokio::test]
async fn postgres_going_away_under_load_fails_fast_and_loses_nothing() {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.rate_limit.per_ip_per_minute = 0;
        s.database.acquire_timeout_secs = 2;
    })
    .await;
    let url = app.settings.database_url();
    if !url.starts_with("postgres") {
        assert!(std::env::var("FENGQIAO_TEST_DATABASE_URL").is_err());
        return;
    }
    let tokens = citizens(&app.address, 12).await;
    let (server, name) = url.rsplit_once('/').unwrap();
    let admin = sea_orm::Database::connect(format!("{server}/postgres"))
        .await
        .unwrap();
    let exec = |sql: String| {
        let admin = admin.clone();
        async move {
            sea_orm::ConnectionTrait::execute_unprepared(&admin, &sql)
                .await
                .unwrap();
        }
    };

    let start = Instant::now();
    let timed = async {
        let answers = submit_until(&app.address, &tokens, 4, start + Duration::from_secs(5)).await;
        (answers, start.elapsed())
    };
    let outage = async {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        exec(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
        ))
        .await;
        exec(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await;
        tokio::time::sleep(Duration::from_millis(1800)).await;
        exec(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")).await;
    };
    let ((answers, took), ()) = tokio::join!(timed, outage);
    // Each answer came within the pool's timeout and a little: the last loops end by 5 s.
    assert!(took < Duration::from_secs(12), "a request hung: {took:?}");
    let statuses: std::collections::BTreeSet<u16> = answers.iter().map(|a| a.0).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "only acknowledged or refused with 503: {statuses:?}"
    );
    assert!(statuses.contains(&503), "the outage was seen: {statuses:?}");
    let acknowledged = answers.iter().filter(|a| a.0 == 201).count();
    // Recovered by itself, and everything acknowledged is there.
    crate::helpers::eventually("the pool recovers", || async {
        (app.get("/health/ready").await.status() == 200).then_some(())
    })
    .await;
    assert_eq!(all_kept(&app.address, &answers).await, acknowledged);
    let after = submit_until(
        &app.address,
        &tokens,
        1,
        Instant::now() + Duration::from_millis(300),
    )
    .await;
    let codes: Vec<u16> = after.iter().map(|a| a.0).collect();
    assert!(
        codes.iter().all(|s| *s == 201),
        "submissions work again: {codes:?}"
    );
    admin.close().await.ok();
}

/// Public pages are served from each instance's near copy of the shared cache: a change made
/// through one instance shows on another within about a second, and at once on its own.
#[tokio::test]
async fn a_public_change_on_one_instance_shows_on_another_within_a_second() {
    let first = spawn_app_with(|s| s.demo = true).await;
    if first.settings.redis.url.is_none() {
        assert!(std::env::var("FENGQIAO_TEST_DATABASE_URL").is_err());
        return;
    }
    let admin = first.admin_token().await;
    let second_base = first.second_instance().await;
    let client = reqwest::Client::new();
    let names = |base: String| {
        let client = client.clone();
        async move {
            let page: Value = client
                .get(format!("{base}/api/v1/contacts"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page.to_string()
        }
    };
    // Both instances hold the page near.
    assert!(!names(first.address.clone()).await.contains("新设接待点"));
    assert!(!names(second_base.clone()).await.contains("新设接待点"));
    let county = first.org_id("410122").await;
    let res = first
        .post_json_as(
            "/api/v1/admin/contacts",
            &admin,
            &json!({"kind": "visit", "name": "新设接待点", "address": "青年路 1 号",
                    "hours": "工作日 8:30-12:00", "phone": "0371-62100000",
                    "org_unit_id": county, "sort_order": 9}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let changed = Instant::now();
    assert!(
        names(first.address.clone()).await.contains("新设接待点"),
        "at once where it was made"
    );
    loop {
        if names(second_base.clone()).await.contains("新设接待点") {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(3),
            "shows on the other instance within about a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
