//! The access matrix: what each role, in which unit, and each citizen can reach.

use fengqiao_domain::identity::Role;
use serde_json::Value;

use crate::helpers::{problem, spawn_demo_app, staff_in};

const UNITS: &str = "/api/v1/admin/org-units?limit=100";

async fn codes(app: &crate::helpers::TestApp, token: &str) -> Vec<String> {
    let page: Value = app.get_as(UNITS, token).await.json().await.unwrap();
    let mut codes: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn township_staff_see_their_own_subtree_and_nothing_else() {
    let (app, admin) = spawn_demo_app().await;
    let guandu = staff_in(&app, "clerk.guandu", "410122-101", &[Role::Registrar]).await;
    let yanming = staff_in(&app, "clerk.yanming", "410122-106", &[Role::Registrar]).await;
    let supervisor = staff_in(&app, "supervisor.county", "410122", &[Role::Supervisor]).await;

    assert_eq!(
        codes(&app, &guandu).await,
        [
            "410122-101",
            "410122-101-001",
            "410122-101-001-01",
            "410122-101-001-02",
            "410122-101-002"
        ]
    );
    assert_eq!(
        codes(&app, &yanming).await,
        ["410122-106", "410122-106-001"]
    );
    assert_eq!(
        codes(&app, &supervisor).await.len(),
        26,
        "the county subtree is everything"
    );
    assert_eq!(codes(&app, &admin).await.len(), 26);

    // Another township's unit is not found, not forbidden: its existence is not disclosed.
    let other = app.org_id("410122-106").await;
    let body = problem(
        app.get_as(&format!("/api/v1/admin/org-units/{other}"), &guandu)
            .await,
        404,
    )
    .await;
    assert_eq!(body["code"], "org_unit_not_found");
    let own = app.org_id("410122-101-002").await;
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/org-units/{own}"), &guandu)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn each_role_reaches_what_it_needs_and_no_more() {
    let (app, admin) = spawn_demo_app().await;
    let registrar = staff_in(&app, "r.county", "410122", &[Role::Registrar]).await;
    let handler = staff_in(&app, "h.land", "410122-d-zrzy", &[Role::Handler]).await;
    let supervisor = staff_in(&app, "s.county", "410122", &[Role::Supervisor]).await;
    let leader = staff_in(&app, "l.county", "410122", &[Role::Leader]).await;
    let editor = staff_in(&app, "e.county", "410122", &[Role::Editor]).await;

    // (path, method, who may) — everyone else gets 403.
    let staff_list = "/api/v1/admin/staff";
    let audit = "/api/v1/admin/audit";
    let clients = "/api/v1/admin/api-clients";
    let cases: [(&str, &[(&str, &String)]); 3] = [
        (
            staff_list,
            &[
                ("administrator", &admin),
                ("supervisor", &supervisor),
                ("leader", &leader),
            ],
        ),
        (audit, &[("administrator", &admin)]),
        (clients, &[("administrator", &admin)]),
    ];
    let everyone = [
        ("administrator", &admin),
        ("registrar", &registrar),
        ("handler", &handler),
        ("supervisor", &supervisor),
        ("leader", &leader),
        ("editor", &editor),
    ];
    for (path, allowed) in cases {
        for (role, token) in everyone {
            let status = app.get_as(path, token).await.status().as_u16();
            let expected = if allowed.iter().any(|(r, _)| *r == role) {
                200
            } else {
                403
            };
            assert_eq!(status, expected, "{role} on GET {path}");
        }
    }
    // A county supervisor lists the whole county's staff; a township's leader only the
    // township's.
    let page: Value = app
        .get_as(staff_list, &supervisor)
        .await
        .json()
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().len() >= 6);
    let township_leader = staff_in(&app, "l.guandu", "410122-101", &[Role::Leader]).await;
    let page: Value = app
        .get_as(staff_list, &township_leader)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["l.guandu"], "only the township's own staff");
}

#[tokio::test]
async fn personal_data_is_masked_and_revealed_only_to_those_who_need_it() {
    let (app, admin) = spawn_demo_app().await;
    let registrar = staff_in(&app, "r.reveal", "410122", &[Role::Registrar]).await;
    let supervisor = staff_in(&app, "s.reveal", "410122", &[Role::Supervisor]).await;
    let editor = staff_in(&app, "e.reveal", "410122", &[Role::Editor]).await;

    let citizen_a = app.dev_citizen("citizen-a").await;
    let citizen_b = app.dev_citizen("citizen-b").await;
    let token_a = citizen_a["access_token"].as_str().unwrap();
    app.put_json_as(
        "/api/v1/me/real-name",
        token_a,
        &serde_json::json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000"}),
    )
    .await;
    let id_a = citizen_a["citizen"]["id"].as_str().unwrap();
    // Staff reach a citizen through the citizen's petitions: A petitions about 官渡镇.
    let petition = serde_json::json!({
        "kind": "complaint", "category_code": "transport", "title": "村道路面破损请求维修",
        "content": "官渡桥村东头道路破损严重，雨天积水，请求维修。",
        "township_id": app.org_id("410122-101").await
    });
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(token_a)
        .header("idempotency-key", "access-test-0001")
        .json(&petition)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let elsewhere = staff_in(&app, "r.yanming", "410122-106", &[Role::Registrar]).await;
    let res = app
        .get_as(
            &format!("/api/v1/admin/citizens/{id_a}?reveal=true"),
            &elsewhere,
        )
        .await;
    assert_eq!(
        problem(res, 404).await["code"],
        "citizen_not_found",
        "another township never reaches A"
    );

    // Each citizen sees only themselves; there is no route to another citizen's profile.
    let me_b: Value = app
        .get_as("/api/v1/me", citizen_b["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me_b["id"], citizen_b["citizen"]["id"]);
    assert_eq!(me_b["real_name"], false);
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/citizens/{id_a}"), token_a)
            .await
            .status(),
        401
    );

    let masked: Value = app
        .get_as(&format!("/api/v1/admin/citizens/{id_a}"), &supervisor)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(masked["name"], "张*三");
    assert_eq!(masked["masked"], true);
    let refused = app
        .get_as(
            &format!("/api/v1/admin/citizens/{id_a}?reveal=true"),
            &supervisor,
        )
        .await;
    assert_eq!(problem(refused, 403).await["code"], "forbidden");
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/citizens/{id_a}"), &editor)
            .await
            .status(),
        403
    );

    let clear: Value = app
        .get_as(
            &format!("/api/v1/admin/citizens/{id_a}?reveal=true"),
            &registrar,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(clear["name"], "张小三");
    assert_eq!(clear["id_number"], "11010519491231002X");
    assert_eq!(clear["masked"], false);

    let reads = app
        .audit_entries(&admin, "citizen.personal_data.read")
        .await;
    assert_eq!(reads.len(), 1, "exactly the one clear read is audited");
    assert_eq!(reads[0]["record_id"], id_a);
    assert_eq!(reads[0]["actor_roles"], "registrar");
}
