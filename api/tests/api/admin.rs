//! Staff sign-in, the demo data and the organisation tree.

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_demo_app};

#[tokio::test]
async fn demo_data_gives_the_county_its_fourteen_townships_and_streets() {
    let (app, token) = spawn_demo_app().await;
    let me: Value = app
        .get_as("/api/v1/admin/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["roles"], json!(["administrator"]));

    let county: Value = app
        .get_as("/api/v1/admin/org-units?limit=1", &token)
        .await
        .json()
        .await
        .unwrap();
    let county_id = county["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(county["items"][0]["demo"], true);

    let children: Value = app
        .get_as(
            &format!("/api/v1/admin/org-units?parent_id={county_id}&limit=100"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = children["items"].as_array().unwrap();
    let townships = items
        .iter()
        .filter(|u| u["kind"] == "township" || u["kind"] == "street")
        .count();
    assert_eq!(townships, 14);
    assert!(items.iter().any(|u| u["kind"] == "department"));
    assert!(items.iter().all(|u| u["demo"] == true && u["level"] == 1));
}

#[tokio::test]
async fn demo_data_loads_once() {
    let (app, _) = spawn_demo_app().await;
    let conn = app.raw_db().await;
    let again = fengqiao_infra::demo::load_if_empty(&conn).await.unwrap();
    assert!(again.is_none(), "a database with data is left alone");
}

#[tokio::test]
async fn without_demo_the_database_starts_empty() {
    let app = spawn_app().await;
    assert!(app.demo_admin_password.is_none());
    let conn = app.raw_db().await;
    assert!(fengqiao_infra::db::org::is_empty(&conn).await.unwrap());
}

#[tokio::test]
async fn organisation_pages_follow_the_cursor_to_the_end() {
    let (app, token) = spawn_demo_app().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/org-units?limit=7&cursor={c}"),
            None => "/api/v1/admin/org-units?limit=7".to_owned(),
        };
        let page: Value = app.get_as(&path, &token).await.json().await.unwrap();
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // 1 county + 14 townships/streets + 4 villages + 2 groups + 5 departments.
    assert_eq!(seen.len(), 26);
    assert_eq!(pages, 4);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no unit on two pages");
}

#[tokio::test]
async fn an_administrator_adds_a_village_under_a_township() {
    let (app, token) = spawn_demo_app().await;
    let all: Value = app
        .get_as("/api/v1/admin/org-units?limit=100", &token)
        .await
        .json()
        .await
        .unwrap();
    let guandu = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "410122-101")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_json_as(
            "/api/v1/admin/org-units",
            &token,
            &json!({"code": "410122-101-009", "name": "新设村", "kind": "village", "parent_id": guandu}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["level"], 2);
    assert_eq!(created["demo"], false);
    let fetched: Value = app
        .get_as(
            &format!(
                "/api/v1/admin/org-units/{}",
                created["id"].as_str().unwrap()
            ),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["name"], "新设村");
    assert_eq!(fetched["parent_id"].as_str(), Some(guandu.as_str()));
}

#[tokio::test]
async fn tokens_from_one_instance_work_on_another_of_the_same_service() {
    // Two servers on one database and one configuration behave as one service.
    let (first, token) = spawn_demo_app().await;
    let address = first.second_instance().await;
    let res = first
        .client
        .get(format!("{address}/api/v1/admin/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_administrator_renames_a_unit_and_it_is_audited() {
    let (app, token) = spawn_demo_app().await;
    let id = app.org_id("410122-110").await;
    let res = app
        .patch_json_as(
            &format!("/api/v1/admin/org-units/{id}"),
            &token,
            &json!({"name": "九龙镇（新）", "sort_order": 99}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let unit: Value = res.json().await.unwrap();
    assert_eq!(unit["name"], "九龙镇（新）");
    assert_eq!(unit["code"], "410122-110", "the code stays");
    let entries = app.audit_entries(&token, "org_unit.updated").await;
    assert_eq!(entries[0]["record_id"], id.to_string());
    let bad = app
        .patch_json_as(
            &format!("/api/v1/admin/org-units/{id}"),
            &token,
            &json!({"name": ""}),
        )
        .await;
    assert_eq!(bad.status(), 422);
}
