//! Citizens' petitions: submission with an idempotency key, tracking numbers and query codes,
//! the public timeline, and what goes out through the outbox.

use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, spawn_demo_app};

async fn submit(app: &TestApp, token: &str, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn road_complaint(app: &TestApp) -> Value {
    json!({
        "kind": "complaint",
        "category_code": "transport",
        "title": "村道路面破损请求维修",
        "content": "官渡桥村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。",
        "township_id": app.org_id("410122-101").await,
        "village_id": app.org_id("410122-101-001").await,
        "latitude": 34.72,
        "longitude": 113.97
    })
}

#[tokio::test]
async fn a_citizen_submits_and_follows_a_petition() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("petitioner-1").await;
    let token = citizen["access_token"].as_str().unwrap();
    let categories: Value = app
        .get("/api/v1/petition-categories")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        categories
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "transport")
    );

    let res = submit(
        &app,
        token,
        "first-submission-0001",
        &road_complaint(&app).await,
    )
    .await;
    assert_eq!(res.status(), 201);
    let submitted: Value = res.json().await.unwrap();
    let tracking = submitted["tracking_no"].as_str().unwrap();
    let today = fengqiao_domain::calendar::local_date(chrono::Utc::now())
        .format("%Y%m%d")
        .to_string();
    assert_eq!(tracking, format!("ZM{today}000001"));
    assert_eq!(submitted["query_code"].as_str().unwrap().len(), 8);
    assert_eq!(submitted["state"], "registered");

    let id = submitted["id"].as_str().unwrap();
    let mine: Value = app
        .get_as(&format!("/api/v1/petitions/{id}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["title"], "村道路面破损请求维修");
    assert_eq!(mine["timeline"][0]["event"], "registered");
    assert_eq!(mine["deadline_kind"], "dispose");
    assert_eq!(mine["due_status"], "on_track");
    let list: Value = app
        .get_as("/api/v1/petitions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Another citizen cannot see it.
    let other = app.dev_citizen("petitioner-2").await;
    let res = app
        .get_as(
            &format!("/api/v1/petitions/{id}"),
            other["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(problem(res, 404).await["code"], "petition_not_found");

    // The registration went into the outbox with the petition.
    let conn = app.raw_db().await;
    let pending = fengqiao_infra::db::petitions::outbox_messages(&conn, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].topic, "petition.registered");
    // The query code is stored only as a keyed hash.
    let row = fengqiao_infra::db::petitions::find_by_tracking_no(&conn, tracking)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !row.query_code_hash
            .contains(submitted["query_code"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_retried_submission_returns_the_first_answer_and_never_a_second_petition() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("retrier").await;
    let token = citizen["access_token"].as_str().unwrap();
    let body = road_complaint(&app).await;
    let first: Value = submit(&app, token, "retry-key-000001", &body)
        .await
        .json()
        .await
        .unwrap();
    let again = submit(&app, token, "retry-key-000001", &body).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "same petition, same query code");
    let list: Value = app
        .get_as("/api/v1/petitions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let mut changed = body.clone();
    changed["title"] = json!("另一件事情需要反映");
    let res = submit(&app, token, "retry-key-000001", &changed).await;
    assert_eq!(problem(res, 409).await["code"], "idempotency_key_reused");

    let res = app.post_json_as("/api/v1/petitions", token, &body).await;
    assert_eq!(problem(res, 400).await["code"], "idempotency_key_required");
}

#[tokio::test]
async fn concurrent_submissions_get_distinct_sequential_tracking_numbers() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("busy").await;
    let token = citizen["access_token"].as_str().unwrap().to_owned();
    let body = road_complaint(&app).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (client, url, token, body) = (
            app.client.clone(),
            app.url("/api/v1/petitions"),
            token.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", format!("parallel-key-{i:04}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["tracking_no"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    let sequences: Vec<u32> = numbers
        .iter()
        .map(|n| n[n.len() - 6..].parse().unwrap())
        .collect();
    assert_eq!(sequences, (1..=8).collect::<Vec<_>>());
}

#[tokio::test]
async fn submissions_are_checked_field_by_field() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("careless").await;
    let token = citizen["access_token"].as_str().unwrap();
    let mut body = road_complaint(&app).await;
    body["title"] = json!("短");
    body["content"] = json!("太短");
    body["group"] = json!({"people": 40, "representatives": 8});
    let res = submit(&app, token, "invalid-key-00001", &body).await;
    let problem_body = problem(res, 422).await;
    let fields: Vec<&str> = problem_body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "content", "group.representatives"]);

    let mut body = road_complaint(&app).await;
    body["category_code"] = json!("astrology");
    assert_eq!(
        problem(submit(&app, token, "invalid-key-00002", &body).await, 422).await["errors"][0]["code"],
        "unknown_category"
    );

    let mut body = road_complaint(&app).await;
    body["village_id"] = json!(app.org_id("410122-106-001").await);
    let res = submit(&app, token, "invalid-key-00003", &body).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["field"],
        "village_id",
        "a village of another township"
    );
}

#[tokio::test]
async fn an_accusation_needs_a_real_name() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("accuser").await;
    let token = citizen["access_token"].as_str().unwrap();
    let mut body = road_complaint(&app).await;
    body["category_code"] = json!("accusation");
    body["accused_org_id"] = json!(app.org_id("410122-101").await);
    assert_eq!(
        problem(submit(&app, token, "accusation-key-01", &body).await, 403).await["code"],
        "real_name_required"
    );
    app.put_json_as(
        "/api/v1/me/real-name",
        token,
        &json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000"}),
    )
    .await;
    assert_eq!(
        submit(&app, token, "accusation-key-02", &body)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn anyone_with_number_and_code_follows_the_public_timeline_and_guessing_is_limited() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("letter-writer").await;
    let token = citizen["access_token"].as_str().unwrap();
    let submitted: Value = submit(&app, token, "lookup-key-00001", &road_complaint(&app).await)
        .await
        .json()
        .await
        .unwrap();
    let tracking = submitted["tracking_no"].as_str().unwrap();
    let code = submitted["query_code"].as_str().unwrap().to_lowercase();

    let found = app
        .get(&format!(
            "/api/v1/petitions/lookup?tracking_no={tracking}&query_code={code}"
        ))
        .await;
    assert_eq!(found.status(), 200);
    let public: Value = found.json().await.unwrap();
    assert_eq!(public["state"], "registered");
    assert!(
        public.get("content").is_none(),
        "the public view carries no content"
    );

    let wrong = app
        .get(&format!(
            "/api/v1/petitions/lookup?tracking_no={tracking}&query_code=AAAAAAAA"
        ))
        .await;
    assert_eq!(problem(wrong, 404).await["code"], "petition_not_found");
    // The default allows 10 look-ups a minute per address; two were spent above.
    let mut last = 0;
    for _ in 0..9 {
        last = app
            .get(&format!(
                "/api/v1/petitions/lookup?tracking_no={tracking}&query_code=BBBBBBBB"
            ))
            .await
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
}

/// Posts a staff action to its own endpoint: `{"action": "hand_down", …}` goes to
/// `/api/v1/admin/petitions/{id}/hand-down` with the other fields as the body.
async fn act(app: &TestApp, token: &str, id: &str, mut body: Value) -> reqwest::Response {
    let action = body["action"].as_str().unwrap().replace('_', "-");
    body.as_object_mut().unwrap().remove("action");
    app.post_json_as(
        &format!("/api/v1/admin/petitions/{id}/{action}"),
        token,
        &body,
    )
    .await
}

#[tokio::test]
async fn staff_move_a_petition_through_its_lifecycle_and_the_citizen_rates_it() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("lifecycle").await;
    let token = citizen["access_token"].as_str().unwrap();
    let submitted: Value = submit(
        &app,
        token,
        "lifecycle-key-001",
        &road_complaint(&app).await,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = submitted["id"].as_str().unwrap();

    let registrar =
        crate::helpers::staff_in(&app, "r.bureau", "410122-d-xf", &[Role::Registrar]).await;
    let county_registrar =
        crate::helpers::staff_in(&app, "r.county", "410122", &[Role::Registrar]).await;
    let handler = crate::helpers::staff_in(&app, "h.guandu", "410122-101", &[Role::Handler]).await;
    let supervisor =
        crate::helpers::staff_in(&app, "s.county", "410122", &[Role::Supervisor]).await;

    // The bureau's registrar does not see a township's petition; the county's does.
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/petitions/{id}"), &registrar)
            .await
            .status(),
        404
    );
    let inbox: Value = app
        .get_as("/api/v1/admin/petitions", &county_registrar)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);

    // Answering now is a wrong transition: 409 listing what is possible.
    let res = act(
        &app,
        &handler,
        id,
        json!({"action": "answer", "outcome": "solved", "opinion": "已修复"}),
    )
    .await;
    let body = problem(res, 409).await;
    assert_eq!(body["code"], "invalid_transition");
    assert!(body["detail"].as_str().unwrap().contains("forward"));

    // A handler may not forward; a registrar may.
    let guandu = app.org_id("410122-101").await;
    let res = act(
        &app,
        &handler,
        id,
        json!({"action": "forward", "to_org_id": guandu}),
    )
    .await;
    assert_eq!(problem(res, 403).await["code"], "transition_not_permitted");
    let res = act(
        &app,
        &county_registrar,
        id,
        json!({"action": "forward", "to_org_id": guandu, "reason": "属地管理"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["state"], "awaiting_acceptance");
    assert_eq!(after["deadline_kind"], "decide_acceptance");
    assert!(
        after["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("accept"))
    );

    for step in [
        json!({"action": "accept"}),
        json!({"action": "answer", "outcome": "solved", "opinion": "道路已修复"}),
    ] {
        assert_eq!(act(&app, &handler, id, step).await.status(), 200);
    }
    let rate = app
        .post_json_as(
            &format!("/api/v1/petitions/{id}/rate"),
            token,
            &json!({"rating": "satisfied"}),
        )
        .await;
    assert_eq!(rate.status(), 200);
    let again = app
        .post_json_as(
            &format!("/api/v1/petitions/{id}/rate"),
            token,
            &json!({"rating": "dissatisfied"}),
        )
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        act(&app, &supervisor, id, json!({"action": "close"}))
            .await
            .status(),
        200
    );

    // The citizen's timeline shows the public steps; the outbox has one message per public step.
    let mine: Value = app
        .get_as(&format!("/api/v1/petitions/{id}"), token)
        .await
        .json()
        .await
        .unwrap();
    let events: Vec<&str> = mine["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "registered",
            "forwarded",
            "accepted",
            "answered",
            "rated",
            "closed"
        ]
    );
    let conn = app.raw_db().await;
    let topics: Vec<String> = fengqiao_infra::db::petitions::outbox_messages(&conn, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.topic)
        .collect();
    assert_eq!(topics.len(), 6);
    assert!(topics.contains(&"petition.answered".to_owned()));
}

#[tokio::test]
async fn an_accusation_is_invisible_to_the_accused_and_never_sent_to_it() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("whistle").await;
    let token = citizen["access_token"].as_str().unwrap();
    app.put_json_as(
        "/api/v1/me/real-name",
        token,
        &json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000"}),
    )
    .await;
    let guandu = app.org_id("410122-101").await;
    let mut body = road_complaint(&app).await;
    body["category_code"] = json!("accusation");
    body["accused_org_id"] = json!(guandu);
    let submitted: Value = submit(&app, token, "accusation-key-10", &body)
        .await
        .json()
        .await
        .unwrap();
    let id = submitted["id"].as_str().unwrap();

    let accused = crate::helpers::staff_in(
        &app,
        "h.accused",
        "410122-101",
        &[Role::Handler, Role::Registrar],
    )
    .await;
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/petitions/{id}"), &accused)
            .await
            .status(),
        404
    );
    let inbox: Value = app
        .get_as("/api/v1/admin/petitions", &accused)
        .await
        .json()
        .await
        .unwrap();
    assert!(inbox["items"].as_array().unwrap().is_empty());

    let county =
        crate::helpers::staff_in(&app, "r.county2", "410122-d-xf", &[Role::Registrar]).await;
    let admin_view = app
        .get_as(
            &format!("/api/v1/admin/petitions/{id}"),
            &app.admin_token().await,
        )
        .await;
    assert_eq!(admin_view.status(), 200);
    let _ = county;
    let res = act(
        &app,
        &app.admin_token().await,
        id,
        json!({"action": "forward", "to_org_id": guandu}),
    )
    .await;
    // The administrator is not a registrar; a county registrar tries and is refused by the rule.
    assert_eq!(res.status(), 403);
    let county_registrar =
        crate::helpers::staff_in(&app, "r.county3", "410122", &[Role::Registrar]).await;
    let res = act(
        &app,
        &county_registrar,
        id,
        json!({"action": "forward", "to_org_id": guandu}),
    )
    .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "accused_may_not_receive"
    );
}

#[tokio::test]
async fn registrars_register_letters_visits_and_calls_for_petitioners() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let registrar = crate::helpers::staff_in(&app, "r.letters", "410122", &[Role::Registrar]).await;
    let editor = crate::helpers::staff_in(&app, "e.letters", "410122", &[Role::Editor]).await;
    let today = fengqiao_domain::calendar::local_date(chrono::Utc::now());
    let yesterday = today - chrono::Days::new(1);
    let letter = json!({
        "channel": "letter", "received_on": yesterday, "kind": "complaint", "category_code": "labour",
        "title": "农民工工资被拖欠三个月", "content": "来信反映某工地拖欠 12 名农民工三个月工资，请求督促支付。",
        "township_id": app.org_id("410122-102").await,
        "petitioner": {"name": "王大明", "phone": "13900001111"}
    });
    let post = |token: String, key: &'static str, body: Value| {
        let client = app.client.clone();
        let url = app.url("/api/v1/admin/petitions");
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        post(editor.clone(), "letter-key-00001", letter.clone())
            .await
            .status(),
        403
    );
    let res = post(registrar.clone(), "letter-key-00002", letter.clone()).await;
    assert_eq!(res.status(), 201);
    let registered: Value = res.json().await.unwrap();
    assert_eq!(registered["registered_on"], yesterday.to_string());
    let tracking = registered["tracking_no"].as_str().unwrap();
    let code = registered["query_code"].as_str().unwrap();
    // The petitioner follows it without an account.
    let public = app
        .get(&format!(
            "/api/v1/petitions/lookup?tracking_no={tracking}&query_code={code}"
        ))
        .await;
    assert_eq!(public.status(), 200);

    let id = registered["id"].as_str().unwrap();
    let detail: Value = app
        .get_as(&format!("/api/v1/admin/petitions/{id}"), &registrar)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["channel"], "letter");
    assert_eq!(detail["petitioner"]["name"], "王*明");
    assert_eq!(detail["petitioner"]["phone"], "139****1111");
    let conn = app.raw_db().await;
    let row = fengqiao_infra::db::petitions::get(&conn, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !row.petitioner_name.unwrap().contains("王大明"),
        "sealed at rest"
    );

    let mut future = letter.clone();
    future["received_on"] = json!(today + chrono::Days::new(1));
    future["channel"] = json!("online");
    let res = post(registrar.clone(), "letter-key-00003", future).await;
    let body = problem(res, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["channel", "received_on"]);
}

#[tokio::test]
async fn deadlines_count_on_the_holidays_administrators_keep() {
    let (app, admin) = spawn_demo_app().await;
    let today = fengqiao_domain::calendar::local_date(chrono::Utc::now());
    let plain = fengqiao_domain::calendar::WorkCalendar::default();
    let normal_end = plain.calendar_deadline(today, 15);
    // Make the would-be last day and the two after it holidays: the period moves past them.
    for offset in 0..3u64 {
        let day = normal_end + chrono::Days::new(offset);
        let res = app
            .put_json_as(
                &format!("/api/v1/admin/calendar/{day}"),
                &admin,
                &json!({"kind": "holiday", "name": "测试假日"}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let listed: Value = app
        .get_as(
            &format!(
                "/api/v1/admin/calendar?from={today}&to={}",
                normal_end + chrono::Days::new(5)
            ),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);

    let citizen = app.dev_citizen("holiday").await;
    let token = citizen["access_token"].as_str().unwrap();
    let submitted: Value = submit(&app, token, "holiday-key-0001", &road_complaint(&app).await)
        .await
        .json()
        .await
        .unwrap();
    let expected = fengqiao_domain::calendar::WorkCalendar::new(
        (0..3u64).map(|o| normal_end + chrono::Days::new(o)),
        [],
    )
    .calendar_deadline(today, 15);
    assert!(expected > normal_end + chrono::Days::new(2));
    assert_eq!(submitted["next_deadline"], expected.to_string());

    // Only administrators keep the calendar; clearing an unmarked day is a 404.
    let editor = crate::helpers::staff_token(
        &app,
        "e.calendar",
        &[fengqiao_domain::identity::Role::Editor],
    )
    .await;
    let res = app
        .put_json_as(
            &format!("/api/v1/admin/calendar/{today}"),
            &editor,
            &json!({"kind": "holiday", "name": "x"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .delete(app.url(&format!(
            "/api/v1/admin/calendar/{}",
            today + chrono::Days::new(400)
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 404).await["code"], "calendar_day_not_found");
}

#[tokio::test]
async fn the_overdue_job_marks_missed_deadlines_once_with_a_reminder() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.demo = true;
        s.petition.overdue_check_secs = 1;
    })
    .await;
    let admin = app.admin_token().await;
    let citizen = app.dev_citizen("late").await;
    let token = citizen["access_token"].as_str().unwrap();
    let submitted: Value = submit(&app, token, "overdue-key-0001", &road_complaint(&app).await)
        .await
        .json()
        .await
        .unwrap();
    let id: uuid::Uuid = submitted["id"].as_str().unwrap().parse().unwrap();
    // Pretend the disposal deadline passed yesterday.
    let conn = app.raw_db().await;
    let yesterday =
        fengqiao_domain::calendar::local_date(chrono::Utc::now()) - chrono::Days::new(1);
    let backend = sea_orm::ConnectionTrait::get_database_backend(&conn);
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "UPDATE petitions SET next_deadline = $1 WHERE id = $2"
        }
        _ => "UPDATE petitions SET next_deadline = ? WHERE id = ?",
    };
    sea_orm::ConnectionTrait::execute_raw(
        &conn,
        sea_orm::Statement::from_sql_and_values(backend, sql, [yesterday.into(), id.into()]),
    )
    .await
    .unwrap();

    // The job runs every second; wait for it (bounded).
    let mut marked = None;
    for _ in 0..50 {
        let row = fengqiao_infra::db::petitions::get(&conn, id)
            .await
            .unwrap()
            .unwrap();
        if row.overdue_since.is_some() {
            marked = row.overdue_since;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(marked.is_some(), "marked overdue within 5 s");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let reminders: Vec<String> = fengqiao_infra::db::petitions::outbox_messages(&conn, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.topic == "petition.overdue")
        .map(|m| m.payload)
        .collect();
    assert_eq!(
        reminders.len(),
        1,
        "one reminder, however often the job runs"
    );
    let inbox: Value = app
        .get_as("/api/v1/admin/petitions?overdue=true", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["items"][0]["due_status"], "overdue");
    assert_eq!(
        app.audit_entries(&admin, "petition.marked_overdue")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn moderation_holds_a_petition_for_review_and_never_drops_it() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let (app, admin) = spawn_demo_app().await;

    // The local word list.
    let citizen = app.dev_citizen("moderated").await;
    let token = citizen["access_token"].as_str().unwrap();
    let mut body = road_complaint(&app).await;
    body["content"] = json!("有人自称可以代办信访，收取费用后帮忙解决道路问题。");
    let res = submit(&app, token, "moderation-key-01", &body).await;
    assert_eq!(res.status(), 201, "registered all the same");
    assert_eq!(res.json::<Value>().await.unwrap()["held_for_review"], true);

    // WeChat's content-security verdict, for a citizen signed in with WeChat.
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"openid": "o-real-user", "session_key": "k"})),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "T", "expires_in": 7200})),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/msg_sec_check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 0, "errmsg": "ok", "trace_id": "t",
            "result": {"suggest": "risky", "label": 20006},
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": "risky", "label": 20006, "prob": 90}]
        })))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let session: Value = app
        .post_json("/api/v1/auth/wechat", &json!({"code": "c1"}))
        .await
        .json()
        .await
        .unwrap();
    let wx_token = session["access_token"].as_str().unwrap();
    let res = submit(
        &app,
        wx_token,
        "moderation-key-02",
        &road_complaint(&app).await,
    )
    .await;
    assert_eq!(res.status(), 201);
    let submitted: Value = res.json().await.unwrap();
    assert_eq!(submitted["held_for_review"], true);

    let flagged: Value = app
        .get_as("/api/v1/admin/petitions?flagged=true", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flagged["items"].as_array().unwrap().len(), 2);
    let clean: Value = app
        .get_as("/api/v1/admin/petitions?flagged=false", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(clean["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_same_matter_again_is_linked_and_flagged_as_a_repeat() {
    let (app, admin) = spawn_demo_app().await;
    let citizen = app.dev_citizen("persistent").await;
    let token = citizen["access_token"].as_str().unwrap();
    let first: Value = submit(&app, token, "repeat-key-00001", &road_complaint(&app).await)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["held_for_review"], false);
    let mut again = road_complaint(&app).await;
    again["content"] = json!("官渡桥村东头的道路破损严重，下雨积水，出行困难，请尽快维修！");
    let second: Value = submit(&app, token, "repeat-key-00002", &again)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["held_for_review"], true);
    let detail: Value = app
        .get_as(
            &format!("/api/v1/admin/petitions/{}", second["id"].as_str().unwrap()),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["flag_reason"], "repeat");
    assert_eq!(detail["repeat_of"], first["id"]);

    // A different matter of the same petitioner is new.
    let mut other = road_complaint(&app).await;
    other["category_code"] = json!("labour");
    other["title"] = json!("工地拖欠工资请求支付");
    other["content"] = json!("某工地拖欠十二名农民工三个月工资，请求督促支付。");
    let third: Value = submit(&app, token, "repeat-key-00003", &other)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(third["held_for_review"], false);
}

#[tokio::test]
async fn a_leader_owns_a_case_and_supervision_orders_are_answered_once() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("supervised").await;
    let token = citizen["access_token"].as_str().unwrap();
    let submitted: Value = submit(
        &app,
        token,
        "supervise-key-001",
        &road_complaint(&app).await,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = submitted["id"].as_str().unwrap();
    let supervisor = crate::helpers::staff_in(&app, "s.order", "410122", &[Role::Supervisor]).await;
    let handler = crate::helpers::staff_in(&app, "h.order", "410122-101", &[Role::Handler]).await;
    let other_handler =
        crate::helpers::staff_in(&app, "h.other", "410122-106", &[Role::Handler]).await;
    let leader = crate::helpers::staff_in(&app, "l.owner", "410122", &[Role::Leader]).await;
    let leader_me: Value = app
        .get_as("/api/v1/admin/me", &leader)
        .await
        .json()
        .await
        .unwrap();
    let handler_me: Value = app
        .get_as("/api/v1/admin/me", &handler)
        .await
        .json()
        .await
        .unwrap();

    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/owner"),
            &supervisor,
            &json!({"leader_id": handler_me["id"]}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "not_a_leader");
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/owner"),
            &supervisor,
            &json!({"leader_id": leader_me["id"]}),
        )
        .await;
    assert_eq!(res.status(), 204);

    let tomorrow = fengqiao_domain::calendar::local_date(chrono::Utc::now()) + chrono::Days::new(7);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/supervision-orders"),
            &supervisor,
            &json!({"instruction": "请于一周内报告处理进展", "due_on": tomorrow}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let order: Value = res.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(order["overdue"], false);

    // Only staff who may see the case answer it, and only once.
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/supervision-orders/{order_id}/reply"),
            &other_handler,
            &json!({"reply": "不知情"}),
        )
        .await;
    assert_eq!(
        problem(res, 404).await["code"],
        "supervision_order_not_found"
    );
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/supervision-orders/{order_id}/reply"),
            &handler,
            &json!({"reply": "已现场核查，正在组织维修。"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/supervision-orders/{order_id}/reply"),
            &handler,
            &json!({"reply": "再次回复"}),
        )
        .await;
    assert_eq!(problem(res, 409).await["code"], "already_replied");

    let detail: Value = app
        .get_as(&format!("/api/v1/admin/petitions/{id}"), &supervisor)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["owner_leader_id"], leader_me["id"]);
    assert_eq!(
        detail["supervision_orders"][0]["reply"],
        "已现场核查，正在组织维修。"
    );
    let events: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "registered",
            "owner_assigned",
            "supervision_ordered",
            "supervision_replied"
        ]
    );
    // The petitioner's timeline shows none of the internal work.
    let mine: Value = app
        .get_as(&format!("/api/v1/petitions/{id}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["timeline"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn routing_rules_pick_the_first_handler_by_category_and_place() {
    let (app, admin) = spawn_demo_app().await;
    let land_bureau = app.org_id("410122-d-zrzy").await;
    let guandu = app.org_id("410122-101").await;
    let housing = app.org_id("410122-d-zj").await;
    let set = |body: Value| {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/api/v1/admin/routing-rules"),
            admin.clone(),
        );
        async move {
            client
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        set(json!({"category_code": "transport", "to_org_id": land_bureau}))
            .await
            .status(),
        200
    );
    // A rule for the township is more specific than one for the category alone.
    assert_eq!(
        set(json!({"category_code": "transport", "township_id": guandu, "to_org_id": housing}))
            .await
            .status(),
        200
    );
    let bad = set(json!({"category_code": "astrology", "to_org_id": housing})).await;
    assert_eq!(
        problem(bad, 422).await["errors"][0]["field"],
        "category_code"
    );
    let rules: Value = app
        .get_as("/api/v1/admin/routing-rules", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rules.as_array().unwrap().len(), 2);

    let citizen = app.dev_citizen("routed").await;
    let token = citizen["access_token"].as_str().unwrap();
    let in_guandu: Value = submit(&app, token, "routing-key-0001", &road_complaint(&app).await)
        .await
        .json()
        .await
        .unwrap();
    let mut elsewhere = road_complaint(&app).await;
    elsewhere["township_id"] = json!(app.org_id("410122-106").await);
    elsewhere["village_id"] = Value::Null;
    elsewhere["title"] = json!("雁鸣湖镇道路积水严重");
    let in_yanming: Value = submit(&app, token, "routing-key-0002", &elsewhere)
        .await
        .json()
        .await
        .unwrap();
    let routed = |id: Value| {
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/api/v1/admin/petitions/{}", id.as_str().unwrap())),
            admin.clone(),
        );
        async move {
            let detail: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            detail["routed_to_org_id"].clone()
        }
    };
    assert_eq!(routed(in_guandu["id"].clone()).await, json!(housing));
    assert_eq!(routed(in_yanming["id"].clone()).await, json!(land_bureau));
}

/// A multipart body with one field.
fn multipart(field: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "fengqiao-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn jpeg_with_gps() -> Vec<u8> {
    let mut f = vec![0xFF, 0xD8];
    f.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0x00]);
    let exif = b"Exif\0\0GPS34.72,113.97";
    f.extend_from_slice(&[0xFF, 0xE1, 0x00, (exif.len() + 2) as u8]);
    f.extend_from_slice(exif);
    f.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0x56, 0xFF, 0xD9]);
    f
}

async fn upload(
    app: &TestApp,
    path: &str,
    token: &str,
    field: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let (content_type, body) = multipart(field, bytes);
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn attachments_are_typed_by_their_bytes_cleaned_and_shown_only_to_those_who_may_see() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("with-photo").await;
    let token = citizen["access_token"].as_str().unwrap();

    let res = upload(&app, "/api/v1/attachments", token, "file", &jpeg_with_gps()).await;
    assert_eq!(res.status(), 201);
    let photo: Value = res.json().await.unwrap();
    assert_eq!(photo["kind"], "jpeg");
    let photo_id = photo["id"].as_str().unwrap().to_owned();

    // A program named photo.jpg is refused by its bytes; a missing field is a 400.
    let res = upload(
        &app,
        "/api/v1/attachments",
        token,
        "file",
        b"MZ\x90\x00 not an image",
    )
    .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unsupported_attachment_type"
    );
    let res = upload(
        &app,
        "/api/v1/attachments",
        token,
        "other",
        &jpeg_with_gps(),
    )
    .await;
    assert_eq!(problem(res, 400).await["code"], "missing_file");

    let mut body = road_complaint(&app).await;
    body["attachment_ids"] = json!([photo_id]);
    let submitted: Value = submit(&app, token, "attachment-key-01", &body)
        .await
        .json()
        .await
        .unwrap();
    let id = submitted["id"].as_str().unwrap();
    let mine: Value = app
        .get_as(&format!("/api/v1/petitions/{id}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["attachments"][0]["id"], photo_id.as_str());

    // The stored file has no GPS position left.
    let file = app
        .get_as(&format!("/api/v1/attachments/{photo_id}"), token)
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    let bytes = file.bytes().await.unwrap();
    assert!(!bytes.windows(3).any(|w| w == b"GPS"));

    // A used file cannot be attached again; another citizen and another township cannot read it.
    let mut reuse = road_complaint(&app).await;
    reuse["title"] = json!("另一件事情需要反映一下");
    reuse["attachment_ids"] = json!([photo_id]);
    let res = submit(&app, token, "attachment-key-02", &reuse).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "attachment_not_available"
    );
    let other = app.dev_citizen("nosy").await;
    let res = app
        .get_as(
            &format!("/api/v1/attachments/{photo_id}"),
            other["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(problem(res, 404).await["code"], "attachment_not_found");
    let elsewhere =
        crate::helpers::staff_in(&app, "h.elsewhere", "410122-106", &[Role::Handler]).await;
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/attachments/{photo_id}"), &elsewhere)
            .await
            .status(),
        404
    );
    let county = crate::helpers::staff_in(&app, "r.files", "410122", &[Role::Registrar]).await;
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/attachments/{photo_id}"), &county)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn attachments_go_to_an_s3_compatible_store_when_one_is_configured() {
    use fengqiao_infra::config::{S3Settings, Secret};
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let store = MockServer::start().await;
    let endpoint = store.uri();
    let app = crate::helpers::spawn_app_with(|s| {
        s.demo = true;
        s.storage.s3 = Some(S3Settings {
            endpoint,
            bucket: "petitions".into(),
            region: "us-east-1".into(),
            access_key_id: "fengqiao".into(),
            secret_access_key: Secret::new("store-test-secret"),
            timeout_secs: 2,
        });
    })
    .await;
    let citizen = app.dev_citizen("to-the-store").await;
    let token = citizen["access_token"].as_str().unwrap();

    // The store is down: the upload is a 503 with a retry hint, and nothing is recorded.
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&store)
        .await;
    let res = upload(&app, "/api/v1/attachments", token, "file", &jpeg_with_gps()).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));

    Mock::given(method("PUT"))
        .and(path_regex("^/petitions/.+"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&store)
        .await;
    let res = upload(&app, "/api/v1/attachments", token, "file", &jpeg_with_gps()).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = store
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .rfind(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert!(stored.headers.contains_key("authorization"));
    // What reaches the store is the cleaned file, without the GPS position.
    assert!(stored.body.starts_with(&[0xFF, 0xD8]));
    assert!(!stored.body.windows(3).any(|w| w == b"GPS"));

    // Reading it back comes from the store.
    Mock::given(method("GET"))
        .and(wiremock::matchers::path(stored.url.path()))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(stored.body.clone()))
        .expect(1)
        .mount(&store)
        .await;
    let file = app
        .get_as(&format!("/api/v1/attachments/{id}"), token)
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().to_vec(), stored.body);
}

#[tokio::test]
async fn bodies_handling_a_case_jointly_see_it_and_the_accused_never_joins() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("joint").await;
    let token = citizen["access_token"].as_str().unwrap();
    let submitted: Value = submit(&app, token, "joint-key-000001", &road_complaint(&app).await)
        .await
        .json()
        .await
        .unwrap();
    let id = submitted["id"].as_str().unwrap();
    let registrar = crate::helpers::staff_in(&app, "r.joint", "410122", &[Role::Registrar]).await;
    let housing =
        crate::helpers::staff_in(&app, "h.housing", "410122-d-zj", &[Role::Handler]).await;
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/petitions/{id}"), &housing)
            .await
            .status(),
        404
    );

    let housing_org = app.org_id("410122-d-zj").await;
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/joint-handling"),
            &registrar,
            &json!({"org_ids": [housing_org]}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let seen = app
        .get_as(&format!("/api/v1/admin/petitions/{id}"), &housing)
        .await;
    assert_eq!(seen.status(), 200);
    let detail: Value = seen.json().await.unwrap();
    assert_eq!(detail["co_handling_org_ids"], json!([housing_org]));
    let inbox: Value = app
        .get_as("/api/v1/admin/petitions", &housing)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);

    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/joint-handling"),
            &registrar,
            &json!({"org_ids": [uuid::Uuid::now_v7()]}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "unknown_org");
}

#[tokio::test]
async fn the_work_list_pages_soonest_deadline_first_without_repeats() {
    use fengqiao_domain::identity::Role;
    let (app, admin) = spawn_demo_app().await;
    let citizen = app.dev_citizen("many").await;
    let token = citizen["access_token"].as_str().unwrap();
    let mut ids = Vec::new();
    for (i, title) in [
        "道路积水请求处理一",
        "路灯损坏请求维修二",
        "垃圾清运不及时三",
        "公交站牌缺失请求四",
    ]
    .iter()
    .enumerate()
    {
        let mut body = road_complaint(&app).await;
        body["title"] = json!(title);
        body["content"] = json!(format!(
            "第{i}件不同的事情，内容各不相同，请相关部门处理解决。"
        ));
        body["category_code"] = json!(["transport", "housing", "environment", "other"][i]);
        let res: Value = submit(&app, token, &format!("worklist-key-{i:04}"), &body)
            .await
            .json()
            .await
            .unwrap();
        ids.push(res["id"].as_str().unwrap().to_owned());
    }
    // Forward two so their deadlines differ from the others'.
    let registrar = crate::helpers::staff_in(&app, "r.list", "410122", &[Role::Registrar]).await;
    let guandu = app.org_id("410122-101").await;
    for id in &ids[..2] {
        assert_eq!(
            act(
                &app,
                &registrar,
                id,
                json!({"action": "forward", "to_org_id": guandu})
            )
            .await
            .status(),
            200
        );
    }
    let mut seen = Vec::new();
    let mut deadlines = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/petitions?limit=1&cursor={c}"),
            None => "/api/v1/admin/petitions?limit=1".to_owned(),
        };
        let page: Value = app.get_as(&path, &admin).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
            deadlines.push(
                item["next_deadline"]
                    .as_str()
                    .unwrap_or("9999-12-31")
                    .to_owned(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 4);
    let mut sorted = deadlines.clone();
    sorted.sort();
    assert_eq!(deadlines, sorted, "soonest deadline first");
}
