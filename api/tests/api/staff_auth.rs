//! Staff sign-in: lockout, TOTP, logout, deactivation and role changes revoking tokens, and the
//! second factor production asks of administrators.

use fengqiao_domain::identity::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, spawn_app_with, spawn_demo_app, staff_token};

/// RFC 4648 base32, as authenticator apps read TOTP secrets.
fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn login_with(
    app: &TestApp,
    username: &str,
    password: &str,
    code: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({"username": username, "password": password});
    if let Some(code) = code {
        body["totp_code"] = json!(code);
    }
    app.post_json("/api/v1/admin/auth/login", &body).await
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.auth.lockout_max_failures = 3;
    })
    .await;
    let admin = app.admin_token().await;
    staff_token(&app, "clerk.ma", &[Role::Registrar]).await;
    for _ in 0..3 {
        assert_eq!(
            app.login("clerk.ma", "Wrong-password-2026").await.status(),
            401
        );
    }
    let res = app.login("clerk.ma", "Staff-password-2026").await;
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(problem(res, 403).await["code"], "account_locked");
    assert_eq!(
        app.audit_entries(&admin, "staff.login.locked").await.len(),
        1
    );
    assert_eq!(
        app.audit_entries(&admin, "staff.login.refused_locked")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_success_before_the_limit_starts_the_count_again() {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.auth.lockout_max_failures = 3;
    })
    .await;
    staff_token(&app, "clerk.niu", &[Role::Registrar]).await;
    for _ in 0..2 {
        app.login("clerk.niu", "Wrong-password-2026").await;
    }
    assert_eq!(
        app.login("clerk.niu", "Staff-password-2026").await.status(),
        200
    );
    for _ in 0..2 {
        app.login("clerk.niu", "Wrong-password-2026").await;
    }
    assert_eq!(
        app.login("clerk.niu", "Staff-password-2026").await.status(),
        200,
        "not locked"
    );
}

#[tokio::test]
async fn totp_enrolment_then_sign_in_needs_a_fresh_code() {
    let (app, _) = spawn_demo_app().await;
    let token = staff_token(&app, "leader.qin", &[Role::Leader]).await;
    let res = app
        .post_json_as("/api/v1/admin/auth/totp/enrol", &token, &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let enrolment: Value = res.json().await.unwrap();
    assert!(
        enrolment["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());

    let wrong = app
        .post_json_as(
            "/api/v1/admin/auth/totp/verify",
            &token,
            &json!({"code": "000000"}),
        )
        .await;
    assert_eq!(
        problem(wrong, 422).await["errors"][0]["code"],
        "invalid_totp"
    );

    let code = fengqiao_infra::totp::code_at(&secret, now_unix()).unwrap();
    let res = app
        .post_json_as(
            "/api/v1/admin/auth/totp/verify",
            &token,
            &json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        problem(app.get_as("/api/v1/admin/me", &token).await, 401).await["code"],
        "invalid_token",
        "old token revoked"
    );

    let res = login_with(&app, "leader.qin", "Staff-password-2026", None).await;
    assert_eq!(problem(res, 401).await["code"], "totp_required");

    // The code used for verification is spent; the next step's code is not yet valid-and-unused
    // only if it differs, so use the code of the following step (within the allowed skew).
    let next = fengqiao_infra::totp::code_at(&secret, now_unix() + 30).unwrap();
    let res = login_with(&app, "leader.qin", "Staff-password-2026", Some(&next)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["staff"]["totp_enabled"], true);

    let replay = login_with(&app, "leader.qin", "Staff-password-2026", Some(&next)).await;
    assert_eq!(
        problem(replay, 401).await["code"],
        "invalid_totp",
        "a code works once"
    );
    // Nor does a code of an earlier window that was never used.
    let earlier = fengqiao_infra::totp::code_at(&secret, now_unix() - 30).unwrap();
    let res = login_with(&app, "leader.qin", "Staff-password-2026", Some(&earlier)).await;
    assert_eq!(
        problem(res, 401).await["code"],
        "invalid_totp",
        "no going back a step"
    );
}

#[tokio::test]
async fn logout_ends_every_token_of_the_account() {
    let (app, _) = spawn_demo_app().await;
    let first = staff_token(&app, "clerk.lu", &[Role::Registrar]).await;
    let second: Value = app
        .login("clerk.lu", "Staff-password-2026")
        .await
        .json()
        .await
        .unwrap();
    let second = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post_json_as("/api/v1/admin/auth/logout", &first, &json!({}))
            .await
            .status(),
        204
    );
    for token in [&first, &second] {
        assert_eq!(
            problem(app.get_as("/api/v1/admin/me", token).await, 401).await["code"],
            "invalid_token"
        );
    }
}

#[tokio::test]
async fn a_deactivated_account_loses_access_at_once() {
    let (app, admin) = spawn_demo_app().await;
    let token = staff_token(&app, "editor.he", &[Role::Editor]).await;
    let me: Value = app
        .get_as("/api/v1/admin/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();

    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{id}"),
            &admin,
            &json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["active"], false);
    assert_eq!(
        problem(app.get_as("/api/v1/admin/me", &token).await, 401).await["code"],
        "invalid_token"
    );
    assert_eq!(
        problem(app.login("editor.he", "Staff-password-2026").await, 403).await["code"],
        "account_inactive"
    );
    assert_eq!(
        app.audit_entries(&admin, "staff.deactivated").await.len(),
        1
    );

    let admin_me: Value = app
        .get_as("/api/v1/admin/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    let own = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{}", admin_me["id"].as_str().unwrap()),
            &admin,
            &json!({"active": false}),
        )
        .await;
    assert_eq!(
        problem(own, 422).await["errors"][0]["code"],
        "cannot_deactivate_self"
    );
}

#[tokio::test]
async fn a_role_change_revokes_tokens_carrying_the_old_roles() {
    let (app, admin) = spawn_demo_app().await;
    let token = staff_token(&app, "clerk.fan", &[Role::Registrar]).await;
    let me: Value = app
        .get_as("/api/v1/admin/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{}", me["id"].as_str().unwrap()),
            &admin,
            &json!({"roles": ["registrar", "handler"]}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["roles"],
        json!(["registrar", "handler"])
    );
    assert_eq!(app.get_as("/api/v1/admin/me", &token).await.status(), 401);
    let fresh: Value = app
        .login("clerk.fan", "Staff-password-2026")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["staff"]["roles"], json!(["registrar", "handler"]));
}

#[tokio::test]
async fn administrators_create_staff_with_a_password_policy() {
    let (app, admin) = spawn_demo_app().await;
    let township = app.org_id("410122-101").await;
    let weak = app
        .post_json_as(
            "/api/v1/admin/staff",
            &admin,
            &json!({"username": "x", "display_name": "", "password": "short", "org_unit_id": township, "roles": []}),
        )
        .await;
    let body = problem(weak, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "password", "display_name", "roles"]);

    let res = app
        .post_json_as(
            "/api/v1/admin/staff",
            &admin,
            &json!({"username": "clerk.guandu", "display_name": "官渡登记员", "password": "Guandu-clerk-2026",
                    "org_unit_id": township, "roles": ["registrar"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        app.login("clerk.guandu", "Guandu-clerk-2026")
            .await
            .status(),
        200
    );
    let again = app
        .post_json_as(
            "/api/v1/admin/staff",
            &admin,
            &json!({"username": "clerk.guandu", "display_name": "重名", "password": "Guandu-clerk-2026",
                    "org_unit_id": township, "roles": ["registrar"]}),
        )
        .await;
    assert_eq!(problem(again, 409).await["code"], "username_taken");
}

#[tokio::test]
async fn production_asks_administrators_for_a_second_factor() {
    let app = spawn_app_with(|s| {
        s.env = fengqiao_infra::config::Environment::Production;
        s.auth.jwt_secret = Some(fengqiao_infra::config::Secret::new(
            "k3J9vQ2mX7pL0sW4nB8cF1hT6yR5uE2aZ",
        ));
        s.crypto.key = Some(fengqiao_infra::config::Secret::new(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ));
        s.crypto.lookup_key = Some(fengqiao_infra::config::Secret::new(
            "q8Zr1mN4vT7wY2bE5hJ9kL3pS6xC0dFg",
        ));
    })
    .await;
    // Bootstrap a county and an administrator as the command line would.
    let conn = app.raw_db().await;
    let county = fengqiao_infra::db::org::create(
        &conn,
        fengqiao_domain::org::NewOrgUnit {
            code: fengqiao_domain::org::OrgCode::parse("410122").unwrap(),
            name: fengqiao_domain::org::OrgName::parse("中牟县").unwrap(),
            kind: fengqiao_domain::org::OrgKind::County,
            parent_id: None,
            sort_order: 0,
        },
        false,
    )
    .await
    .unwrap();
    conn.close().await.ok();
    let _ = county;
    let token = staff_token(&app, "chief", &[Role::Administrator]).await;
    let res = app
        .post_json_as(
            "/api/v1/admin/api-clients",
            &token,
            &json!({"name": "12345", "scopes": ["petitions:read"]}),
        )
        .await;
    assert_eq!(problem(res, 403).await["code"], "second_factor_required");
    // Enrolment itself is open to them, so they can get the factor.
    assert_eq!(
        app.post_json_as("/api/v1/admin/auth/totp/enrol", &token, &json!({}))
            .await
            .status(),
        200
    );
    // The development login does not exist in production.
    assert_eq!(
        app.post_json("/api/v1/auth/dev-login", &json!({"openid": "x"}))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn parallel_failures_all_count_towards_the_lock() {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.auth.lockout_max_failures = 5;
    })
    .await;
    staff_token(&app, "clerk.rush", &[Role::Registrar]).await;
    let attempts = futures_util::future::join_all(
        (0..12).map(|_| app.login("clerk.rush", "Wrong-password-2026")),
    )
    .await;
    assert!(
        attempts
            .iter()
            .all(|r| r.status() == 401 || r.status() == 403)
    );
    let res = app.login("clerk.rush", "Staff-password-2026").await;
    assert_eq!(
        problem(res, 403).await["code"],
        "account_locked",
        "twelve parallel failures lock the account"
    );
}

#[tokio::test]
async fn a_refused_change_changes_nothing_and_the_last_administrator_stays() {
    let (app, admin) = spawn_demo_app().await;
    let me: Value = app
        .get_as("/api/v1/admin/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();
    // Demoting and deactivating oneself in one request is refused as a whole.
    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{id}"),
            &admin,
            &json!({"roles": ["registrar"], "active": false}),
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "cannot_deactivate_self"
    );
    let still: Value = app
        .get_as("/api/v1/admin/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        still["roles"],
        json!(["administrator"]),
        "nothing was written"
    );
    // Nor may the only administrator give up the role.
    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{id}"),
            &admin,
            &json!({"roles": ["registrar"]}),
        )
        .await;
    assert_eq!(problem(res, 409).await["code"], "last_administrator");
    // With a second administrator it is allowed.
    staff_token(&app, "admin.two", &[Role::Administrator]).await;
    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{id}"),
            &admin,
            &json!({"roles": ["registrar"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn two_administrators_demoting_each_other_at_once_leave_one() {
    let (app, admin) = spawn_demo_app().await;
    let second = staff_token(&app, "admin.peer", &[Role::Administrator]).await;
    let me: Value = app
        .get_as("/api/v1/admin/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    let peer: Value = app
        .get_as("/api/v1/admin/me", &second)
        .await
        .json()
        .await
        .unwrap();
    let demote = |token: String, id: String| {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/admin/staff/{id}"));
        async move {
            client
                .patch(url)
                .bearer_auth(token)
                .json(&json!({"roles": ["handler"]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let (a, b) = tokio::join!(
        demote(admin.clone(), peer["id"].as_str().unwrap().to_owned()),
        demote(second.clone(), me["id"].as_str().unwrap().to_owned())
    );
    let statuses = [a, b];
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().any(|s| *s != 200),
        "both cannot succeed: {statuses:?}"
    );
    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{}", me["id"].as_str().unwrap()),
            &admin,
            &json!({}),
        )
        .await;
    assert!(
        res.status() == 422 || res.status() == 401,
        "an empty change is refused (or the token is gone)"
    );
}

#[tokio::test]
async fn administrators_reset_a_password_and_a_lost_second_factor_and_move_staff() {
    let (app, admin) = spawn_demo_app().await;
    let token = staff_token(&app, "clerk.lost", &[Role::Registrar]).await;
    let me: Value = app
        .get_as("/api/v1/admin/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();
    // Enrol TOTP, then lose the phone.
    let enrolment: Value = app
        .post_json_as("/api/v1/admin/auth/totp/enrol", &token, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());
    let code = fengqiao_infra::totp::code_at(&secret, now_unix()).unwrap();
    app.post_json_as(
        "/api/v1/admin/auth/totp/verify",
        &token,
        &json!({"code": code}),
    )
    .await;

    let weak = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{id}"),
            &admin,
            &json!({"password": "short"}),
        )
        .await;
    assert_eq!(
        problem(weak, 422).await["errors"][0]["code"],
        "password_too_short"
    );
    let guandu = app.org_id("410122-101").await;
    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/staff/{id}"),
            &admin,
            &json!({"password": "Reset-by-admin-2026", "reset_totp": true, "org_unit_id": guandu}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["totp_enabled"], false);
    assert_eq!(after["org_unit_id"], guandu.to_string());
    assert_eq!(
        app.login("clerk.lost", "Staff-password-2026")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login("clerk.lost", "Reset-by-admin-2026")
            .await
            .status(),
        200,
        "no code needed any more"
    );
    for action in ["staff.password_reset", "staff.totp_reset", "staff.moved"] {
        assert_eq!(
            app.audit_entries(&admin, action).await.len(),
            1,
            "{action} audited"
        );
    }
}
