//! The audit trail: what sign-ins and changes record, searching and paging it, the hash chain
//! (checked in-process and by `fengqiao audit verify`), concurrent appends and who may read it.

use std::collections::HashSet;
use std::process::{Command, Output, Stdio};

use fengqiao_domain::identity::Role;
use fengqiao_infra::db::audit::{ChainCheck, verify};
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, spawn_demo_app, staff_token};

const AUDIT: &str = "/api/v1/admin/audit";
const LOGIN: &str = "/api/v1/admin/auth/login";

/// The binary with no `FENGQIAO_*` variables inherited, pointed at the test's database.
async fn fengqiao_audit_verify(app: &TestApp) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fengqiao"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FENGQIAO_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    cmd.current_dir(dir.path())
        .env("FENGQIAO_LOG__FILTER", "warn")
        .env("FENGQIAO_DATABASE__URL", app.settings.database_url())
        .args(["audit", "verify"])
        .stdin(Stdio::null());
    // Run off the test's thread: the app under test is served by the same runtime.
    tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("run fengqiao")
}

fn both_streams(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn check_chain(app: &TestApp) -> ChainCheck {
    let conn = app.raw_db().await;
    let check = verify(&conn).await.unwrap();
    conn.close().await.ok();
    check
}

/// Runs one statement with no parameters on the test's database.
async fn raw_sql(app: &TestApp, sql: &str) -> u64 {
    let conn = app.raw_db().await;
    let done = sea_orm::ConnectionTrait::execute_unprepared(&conn, sql)
        .await
        .unwrap();
    conn.close().await.ok();
    done.rows_affected()
}

/// One page of the trail.
async fn page(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app.get_as(&format!("{AUDIT}?{query}"), token).await;
    assert_eq!(res.status(), 200, "audit query {query}");
    res.json().await.unwrap()
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

fn seqs(entries: &[Value]) -> Vec<i64> {
    entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

/// A staff sign-in carrying our own request id.
async fn login_with_id(
    app: &TestApp,
    request_id: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(LOGIN))
        .header("x-request-id", request_id)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn staff_id(app: &TestApp, token: &str) -> String {
    let me: Value = app
        .get_as("/api/v1/admin/me", token)
        .await
        .json()
        .await
        .unwrap();
    me["id"].as_str().unwrap().to_owned()
}

/// Adds a few entries (failed sign-ins, which need nothing else) so there is a chain to break.
async fn failed_logins(app: &TestApp, n: usize) {
    for i in 0..n {
        let res = app.login(&format!("nobody{i}"), "not-a-password").await;
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn sign_ins_and_changes_are_recorded_with_actor_record_request_and_address() {
    let (app, admin) = spawn_demo_app().await;
    let admin_id = staff_id(&app, &admin).await;
    let password = app.demo_admin_password.clone().unwrap();

    let wrong = "Wrong-password-2026";
    let res = login_with_id(&app, "audit-failed-1", "admin", wrong).await;
    assert_eq!(res.status(), 401);
    let res = login_with_id(&app, "audit-ok-1", "admin", &password).await;
    assert_eq!(res.status(), 200);
    let token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let units: Value = app
        .get_as("/api/v1/admin/org-units?limit=100", &token)
        .await
        .json()
        .await
        .unwrap();
    let township = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "410122-101")
        .expect("a demo township")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .client
        .post(app.url("/api/v1/admin/org-units"))
        .bearer_auth(&token)
        .header("x-request-id", "audit-create-1")
        .json(&json!({"code": "410122-101-009", "name": "新设村", "kind": "village", "parent_id": township}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let unit_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let all = items(&page(&app, &token, "limit=100").await);
    let all_seqs = seqs(&all);
    assert!(
        all_seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {all_seqs:?}"
    );
    let by_request = |id: &str| -> Value {
        all.iter()
            .find(|e| e["request_id"] == id)
            .unwrap_or_else(|| panic!("an entry for request {id} in {all:?}"))
            .clone()
    };

    let failed = by_request("audit-failed-1");
    assert_eq!(failed["action"], "staff.login.failed");
    assert_eq!(failed["actor_kind"], "staff");
    assert_eq!(failed["actor_id"], admin_id.as_str());
    assert_eq!(failed["record_type"], "staff");
    assert_eq!(failed["record_id"], admin_id.as_str());
    assert_eq!(failed["ip"], "127.0.0.1");
    assert_eq!(failed["detail"]["reason"], "wrong_password");
    assert!(
        !failed.to_string().contains(wrong),
        "no password in the trail: {failed}"
    );

    let succeeded = by_request("audit-ok-1");
    assert_eq!(succeeded["action"], "staff.login.succeeded");
    assert_eq!(succeeded["actor_kind"], "staff");
    assert_eq!(succeeded["actor_id"], admin_id.as_str());
    assert_eq!(succeeded["actor_roles"], "administrator");
    assert_eq!(succeeded["record_id"], admin_id.as_str());
    assert_eq!(succeeded["ip"], "127.0.0.1");

    let created = by_request("audit-create-1");
    assert_eq!(created["action"], "org_unit.created");
    assert_eq!(created["actor_kind"], "staff");
    assert_eq!(created["actor_id"], admin_id.as_str());
    assert_eq!(created["actor_roles"], "administrator");
    assert_eq!(created["record_type"], "org_unit");
    assert_eq!(created["record_id"], unit_id.as_str());
    assert_eq!(created["ip"], "127.0.0.1");
    for entry in [&failed, &succeeded, &created] {
        assert!(
            entry["hash"].as_str().is_some_and(|h| h.len() == 64),
            "{entry}"
        );
    }
    let order = [&failed, &succeeded, &created].map(|e| e["seq"].as_i64().unwrap());
    assert!(
        order[0] < order[1] && order[1] < order[2],
        "in the order they happened: {order:?}"
    );

    // By record.
    let on_unit = items(&page(&app, &token, &format!("record_id={unit_id}")).await);
    assert_eq!(on_unit.len(), 1, "{on_unit:?}");
    assert_eq!(on_unit[0]["seq"], created["seq"]);

    // By actor: everything the administrator did, nothing else.
    let by_admin = items(&page(&app, &token, &format!("actor_id={admin_id}&limit=100")).await);
    assert!(by_admin.iter().all(|e| e["actor_id"] == admin_id.as_str()));
    let expected: Vec<i64> = all
        .iter()
        .filter(|e| e["actor_id"] == admin_id.as_str())
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs(&by_admin), expected);
    for entry in [&failed, &succeeded, &created] {
        assert!(by_admin.iter().any(|e| e["seq"] == entry["seq"]));
    }
    let someone_else = uuid::Uuid::now_v7();
    assert!(items(&page(&app, &token, &format!("actor_id={someone_else}")).await).is_empty());

    // One at a time, back to the first entry, each once.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=all.len() {
        let query = match &cursor {
            Some(c) => format!("limit=1&cursor={c}"),
            None => "limit=1".to_owned(),
        };
        let p = page(&app, &token, &query).await;
        let got = items(&p);
        assert!(got.len() <= 1, "limit=1 gives one entry: {p}");
        walked.extend(seqs(&got));
        match p["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                cursor = None;
                break;
            }
        }
    }
    assert!(cursor.is_none(), "the walk ends");
    let unique: HashSet<i64> = walked.iter().copied().collect();
    assert_eq!(unique.len(), walked.len(), "no entry twice: {walked:?}");
    assert_eq!(walked, all_seqs, "every entry, newest first");
}

#[tokio::test]
async fn the_chain_verifies_intact_and_a_changed_entry_breaks_it_where_it_was_changed() {
    let (app, admin) = spawn_demo_app().await;
    failed_logins(&app, 3).await;
    let total = items(&page(&app, &admin, "limit=100").await).len();
    assert!(total >= 4, "{total} entries");

    assert_eq!(
        check_chain(&app).await,
        ChainCheck::Intact {
            entries: total as u64
        }
    );
    let out = fengqiao_audit_verify(&app).await;
    assert!(out.status.success(), "{}", both_streams(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("audit trail intact: {total} entries")),
        "{}",
        both_streams(&out)
    );

    let changed = raw_sql(&app, "UPDATE audit_log SET action = 'x' WHERE seq = 2").await;
    assert_eq!(changed, 1);
    match check_chain(&app).await {
        ChainCheck::Broken { seq, .. } => assert_eq!(seq, 2),
        intact => panic!("a changed entry must break the chain: {intact:?}"),
    }
    let out = fengqiao_audit_verify(&app).await;
    assert!(!out.status.success(), "{}", both_streams(&out));
    assert!(
        both_streams(&out).contains("audit trail broken at entry 2"),
        "{}",
        both_streams(&out)
    );
}

#[tokio::test]
async fn a_removed_entry_breaks_the_chain() {
    let (app, admin) = spawn_demo_app().await;
    failed_logins(&app, 4).await;
    let total = items(&page(&app, &admin, "limit=100").await).len();
    assert!(total >= 5, "{total} entries");
    assert_eq!(
        check_chain(&app).await,
        ChainCheck::Intact {
            entries: total as u64
        }
    );

    let removed = raw_sql(&app, "DELETE FROM audit_log WHERE seq = 3").await;
    assert_eq!(removed, 1);
    match check_chain(&app).await {
        ChainCheck::Broken { seq, .. } => assert_eq!(seq, 3),
        intact => panic!("a removed entry must break the chain: {intact:?}"),
    }
    let out = fengqiao_audit_verify(&app).await;
    assert!(!out.status.success(), "{}", both_streams(&out));
    assert!(
        both_streams(&out).contains("audit trail broken at entry 3"),
        "{}",
        both_streams(&out)
    );
}

#[tokio::test]
async fn concurrent_appends_do_not_fork_the_chain() {
    let (app, admin) = spawn_demo_app().await;
    let before = items(&page(&app, &admin, "limit=100").await).len();

    // Wrong passwords for a real account (which also locks it part-way) and unknown names,
    // all at once: every attempt appends one entry.
    let attempts = (0..20).map(|i| {
        let (username, password) = if i % 2 == 0 {
            ("admin".to_owned(), format!("Wrong-password-{i}"))
        } else {
            (format!("nobody{i}"), "not-a-password".to_owned())
        };
        let app = &app;
        async move { app.login(&username, &password).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 403),
        "refused, none failed: {statuses:?}"
    );

    let expected = before + 20;
    assert_eq!(
        check_chain(&app).await,
        ChainCheck::Intact {
            entries: expected as u64
        }
    );
    let all = items(&page(&app, &admin, "limit=100").await);
    let mut numbered = seqs(&all);
    numbered.sort_unstable();
    let gapless: Vec<i64> = (1..=i64::try_from(expected).unwrap()).collect();
    assert_eq!(numbered, gapless, "numbered 1..={expected} without gaps");
    let hashes: HashSet<&str> = all.iter().map(|e| e["hash"].as_str().unwrap()).collect();
    assert_eq!(hashes.len(), all.len(), "no two entries share a hash");
}

#[tokio::test]
async fn only_administrators_read_the_trail() {
    let (app, _admin) = spawn_demo_app().await;
    let editor = staff_token(&app, "editor.li", &[Role::Editor]).await;
    let body = problem(app.get_as(AUDIT, &editor).await, 403).await;
    assert_eq!(body["code"], "forbidden");
    let body = problem(app.get(AUDIT).await, 401).await;
    assert_eq!(body["code"], "unauthenticated");
}
