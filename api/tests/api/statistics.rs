//! Supervision figures, worked out by hand on small fixtures: each petition's step days are set
//! to known values, and every rate, the drill-down, the flags and the weekly watch are checked
//! against the numbers computed in the comments.

use chrono::{Days, NaiveDate};
use fengqiao_domain::identity::Role;
use fengqiao_infra::db::entities::petition;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ActiveValue::Unchanged};
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, spawn_demo_app, staff_in};

fn today() -> NaiveDate {
    fengqiao_domain::calendar::local_date(chrono::Utc::now())
}

async fn submit(app: &TestApp, token: &str, n: u32) -> String {
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(token)
        .header("idempotency-key", format!("stats-fixture-{n:04}"))
        .json(&json!({
            "kind": "complaint",
            "category_code": "transport",
            "title": format!("统计口径测试事项第{n}件"),
            "content": "用于核对统计口径的测试信访事项，内容足够长以通过校验。",
            "township_id": app.org_id("410122-101").await,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The step days of one fixture petition.
#[derive(Default)]
struct Days_ {
    registered: i64,
    channel: &'static str,
    dispose_due: Option<i64>,
    disposed: Option<i64>,
    sent: Option<i64>,
    acceptance_due: Option<i64>,
    decided: Option<i64>,
    answer_due: Option<i64>,
    answered: Option<i64>,
    first_answered: Option<i64>,
    days_to_answer: Option<i32>,
    rating: Option<&'static str>,
    returns: i32,
    reopens: i32,
    review_requested: Option<i64>,
    relevant: i64,
}

async fn place(app: &TestApp, id: &str, m: NaiveDate, d: Days_, repeat_of: Option<&str>) {
    let day = |n: i64| {
        if n >= 0 {
            m + Days::new(n.unsigned_abs())
        } else {
            m - Days::new(n.unsigned_abs())
        }
    };
    let conn = app.raw_db().await;
    petition::ActiveModel {
        id: Unchanged(id.parse().unwrap()),
        channel: Set(d.channel.to_owned()),
        registered_on: Set(day(d.registered)),
        dispose_due: Set(d.dispose_due.map(day)),
        disposed_on: Set(d.disposed.map(day)),
        sent_on: Set(d.sent.map(day)),
        acceptance_due: Set(d.acceptance_due.map(day)),
        acceptance_decided_on: Set(d.decided.map(day)),
        answer_due: Set(d.answer_due.map(day)),
        answered_on: Set(d.answered.map(day)),
        first_answered_on: Set(d.first_answered.map(day)),
        days_to_answer: Set(d.days_to_answer),
        rating: Set(d.rating.map(str::to_owned)),
        return_count: Set(d.returns),
        reopen_count: Set(d.reopens),
        review_requested_on: Set(d.review_requested.map(day)),
        relevant_until: Set(Some(day(d.relevant))),
        repeat_of: Set(repeat_of.map(|r| r.parse().unwrap())),
        ..Default::default()
    }
    .update(&conn)
    .await
    .unwrap();
    conn.close().await.ok();
}

/// The month two months back: whole, past, and within the year escalations may be recorded in.
fn fixture_month() -> NaiveDate {
    let this = fengqiao_domain::statistics::month_of(today()).from;
    let last = fengqiao_domain::statistics::month_of(this - Days::new(1)).from;
    fengqiao_domain::statistics::month_of(last - Days::new(1)).from
}

#[tokio::test]
async fn every_rate_counts_what_its_definition_says_worked_by_hand() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("stats-fixtures").await;
    let token = citizen["access_token"].as_str().unwrap();
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(submit(&app, token, n).await);
    }
    let m = fixture_month();
    // P1: registered d0, disposed d2 (due d15), acceptance decided d9 (due d17); answered
    // after the month (d50, due d70).
    place(
        &app,
        &ids[0],
        m,
        Days_ {
            registered: 0,
            channel: "online",
            dispose_due: Some(15),
            disposed: Some(2),
            sent: Some(2),
            acceptance_due: Some(17),
            decided: Some(9),
            answer_due: Some(70),
            answered: Some(50),
            first_answered: Some(50),
            days_to_answer: Some(50),
            relevant: 70,
            ..Default::default()
        },
        None,
    )
    .await;
    // P2: a letter, disposed late (d24, due d19), returned once; its acceptance due next month.
    place(
        &app,
        &ids[1],
        m,
        Days_ {
            registered: 4,
            channel: "letter",
            dispose_due: Some(19),
            disposed: Some(24),
            sent: Some(24),
            acceptance_due: Some(39),
            returns: 1,
            relevant: 39,
            ..Default::default()
        },
        None,
    )
    .await;
    // P3: registered the month before (d-12), disposed on its last day (d3); answered d26 (due
    // d27) after a reopening, first answered d14; rated dissatisfied; review asked.
    place(
        &app,
        &ids[2],
        m,
        Days_ {
            registered: -12,
            channel: "online",
            dispose_due: Some(3),
            disposed: Some(3),
            sent: Some(3),
            answer_due: Some(27),
            answered: Some(26),
            first_answered: Some(14),
            days_to_answer: Some(38),
            rating: Some("dissatisfied"),
            reopens: 1,
            review_requested: Some(27),
            relevant: 27,
            ..Default::default()
        },
        None,
    )
    .await;
    // P4: a repeat of P1, never disposed, its disposal due d24 (long past).
    place(
        &app,
        &ids[3],
        m,
        Days_ {
            registered: 9,
            channel: "online",
            dispose_due: Some(24),
            relevant: 24,
            ..Default::default()
        },
        Some(&ids[0]),
    )
    .await;

    let supervisor = staff_in(&app, "s.stats", "410122", &[Role::Supervisor]).await;
    let month = fengqiao_domain::statistics::month_of(m);
    let range = format!("from={}&to={}", month.from, month.to);
    let guandu = app.org_id("410122-101").await;
    let res = app
        .get_as(
            &format!("/api/v1/admin/statistics/figures?{range}&org_unit_id={guandu}"),
            &supervisor,
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let f = &body["figures"];
    let rate = |name: &str| {
        (
            f[name]["numerator"].as_u64().unwrap(),
            f[name]["denominator"].as_u64().unwrap(),
        )
    };
    // Registered in the month: P1, P2, P4 (P3 the month before).
    assert_eq!(f["registered"], 3);
    assert_eq!(f["by_channel"]["online"], 2);
    assert_eq!(f["by_channel"]["letter"], 1);
    assert_eq!(rate("online_share"), (2, 3));
    assert_eq!(rate("repeat_rate"), (1, 3));
    // Disposal due in the month: all four; on time P1 and P3 (on its last day).
    assert_eq!(rate("on_time_disposal"), (2, 4));
    // Acceptance due in the month: P1 only, decided in time.
    assert_eq!(rate("on_time_acceptance"), (1, 1));
    // Answer due in the month: P3, answered the day before.
    assert_eq!(rate("on_time_answer"), (1, 1));
    // Latest answer in the month: P3, rated, dissatisfied.
    assert_eq!(rate("satisfaction"), (0, 1));
    assert_eq!(rate("rating_participation"), (1, 1));
    // First disposed in the month and sent: P1, P2, P3; returned: P2.
    assert_eq!(rate("return_rate"), (1, 3));
    // First answered in the month: P3, reopened and reviewed.
    assert_eq!(rate("reopen_rate"), (1, 1));
    assert_eq!(rate("review_rate"), (1, 1));
    assert_eq!(rate("rereview_rate"), (0, 0));
    assert!(f["rereview_rate"]["value"].is_null());
    assert_eq!(f["answer_time"]["answered"], 1);
    assert_eq!(f["answer_time"]["average_days"], 38.0);
    assert_eq!(f["answer_time"]["p90_days"], 38);

    // The late and the never disposed are behind the missed part of the disposal rate.
    let res = app
        .get_as(
            &format!(
                "/api/v1/admin/statistics/petitions?figure=on_time_disposal&part=missed&{range}"
            ),
            &supervisor,
        )
        .await;
    let page: Value = res.json().await.unwrap();
    let mut behind: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    behind.sort();
    let mut expected = vec![ids[1].clone(), ids[3].clone()];
    expected.sort();
    assert_eq!(behind, expected);
    // Paged one at a time, the same two.
    let first: Value = app
        .get_as(&format!("/api/v1/admin/statistics/petitions?figure=on_time_disposal&part=missed&limit=1&{range}"), &supervisor)
        .await.json().await.unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get_as(&format!("/api/v1/admin/statistics/petitions?figure=on_time_disposal&part=missed&limit=1&cursor={cursor}&{range}"), &supervisor)
        .await.json().await.unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);

    // The same list streams as CSV (header + 2 rows, BOM first) and as XLSX (a zip).
    let res = app
        .get_as(&format!("/api/v1/admin/statistics/petitions?figure=on_time_disposal&part=missed&format=csv&{range}"), &supervisor)
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // A breakdown drills down too: the one letter; and the answers behind the time to answer.
    let letters: Value = app
        .get_as(
            &format!("/api/v1/admin/statistics/petitions?figure=registered&channel=letter&{range}"),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(letters["items"].as_array().unwrap().len(), 1);
    assert_eq!(letters["items"][0]["id"], ids[1].as_str());
    let answered: Value = app
        .get_as(
            &format!("/api/v1/admin/statistics/petitions?figure=answered&{range}"),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answered["items"][0]["id"], ids[2].as_str());
    let res = app
        .get_as(
            &format!("/api/v1/admin/statistics/petitions?figure=registered&format=xlsx&{range}"),
            &supervisor,
        )
        .await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");

    // Rates as a table.
    let csv = app
        .get_as(
            &format!("/api/v1/admin/statistics/figures?format=csv&{range}&org_unit_id={guandu}"),
            &supervisor,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("on_time_disposal,按期处理率,2,4,50.0%"),
        "{csv}"
    );

    // A reversed range is a clear 422.
    let res = app
        .get_as(
            &format!(
                "/api/v1/admin/statistics/figures?from={}&to={}",
                month.to, month.from
            ),
            &supervisor,
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "range_reversed"
    );
    // Handlers do not read the figures.
    let handler = staff_in(&app, "h.stats", "410122-101", &[Role::Handler]).await;
    let res = app
        .get_as("/api/v1/admin/statistics/figures", &handler)
        .await;
    assert_eq!(res.status(), 403);

    // The month's flags. Everything happened in 官渡 (410122-101); the other townships have
    // nothing to count and take the county's rates, which are 官渡's. Default weights:
    // disposal 10×0.5 = 5, acceptance 10×1 = 10, answer 25×1 = 25, satisfaction 25×0 = 0,
    // online 5×2/3 = 3.33, returns 10×(1−1/3) = 6.67, reopenings 15×(1−1) = 0: 50.00. One
    // escalation takes 2 more from 官渡: 48.00, last; everyone under 60 carries black.
    let admin = app.admin_token().await;
    let res = app
        .post_json_as(
            "/api/v1/admin/escalations",
            &admin,
            &json!({
                "occurred_on": month.from + Days::new(5), "level": "city", "person_name": "张三",
                "home_org_id": app.org_id("410122-101-001").await, "registered_petition": false
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let escalation: Value = res.json().await.unwrap();
    assert_eq!(escalation["person_name"], "张*", "masked");
    let flags: Value = app
        .get_as(
            &format!("/api/v1/admin/statistics/flags?date={}", month.from),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flags["final"], true, "a month that is over is kept");
    let units = flags["units"].as_array().unwrap();
    assert_eq!(units.len(), 14);
    let guandu_row = units.iter().find(|u| u["org_id"] == json!(guandu)).unwrap();
    assert_eq!(guandu_row["score"], 48.0);
    assert_eq!(guandu_row["rank"], 14);
    assert_eq!(guandu_row["escalations"], 1);
    assert_eq!(units[0]["score"], 50.0);
    assert_eq!(units[0]["rank"], 1);
    assert!(units.iter().all(|u| u["flag"] == "black"));
    let notice = flags["notice"].as_str().unwrap();
    assert!(
        notice.contains("官渡") && notice.contains("越级上访 1 人次（扣 2.00 分）"),
        "{notice}"
    );
    // Kept: a new escalation in that month no longer changes the announced ranking.
    app.post_json_as(
        "/api/v1/admin/escalations",
        &admin,
        &json!({
            "occurred_on": month.from + Days::new(6), "level": "province", "person_name": "李四",
            "home_org_id": guandu, "registered_petition": true
        }),
    )
    .await;
    let again: Value = app
        .get_as(
            &format!("/api/v1/admin/statistics/flags?date={}", month.from),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    let guandu_again = again["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["org_id"] == json!(guandu))
        .unwrap();
    assert_eq!(guandu_again["score"], 48.0);
    // The chart for the slide.
    let res = app
        .get_as(
            &format!(
                "/api/v1/admin/statistics/flags?date={}&format=svg",
                month.from
            ),
            &supervisor,
        )
        .await;
    assert_eq!(
        res.headers()["content-type"],
        "image/svg+xml; charset=utf-8"
    );
    let svg = res.text().await.unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"));
    assert!(svg.contains("黑旗"));
    // The townships side by side, and the trend.
    let side: Value = app
        .get_as(
            &format!("/api/v1/admin/statistics/townships?{range}"),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    let g = side["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["org_unit_id"] == json!(guandu))
        .unwrap();
    assert_eq!(g["registered"], 3);
    assert_eq!(g["on_time_disposal"], 0.5);
    assert_eq!(g["escalations"], 2);
    let trend: Value = app
        .get_as("/api/v1/admin/statistics/trend?months=3", &supervisor)
        .await
        .json()
        .await
        .unwrap();
    let months = trend["months"].as_array().unwrap();
    assert_eq!(months.len(), 3);
    assert_eq!(months[0]["month"], month.from.format("%Y-%m").to_string());
    assert_eq!(months[0]["on_time_disposal"], 0.5);
}

#[tokio::test]
async fn a_petition_walked_through_its_steps_is_counted_on_time() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("stats-walk").await;
    let token = citizen["access_token"].as_str().unwrap();
    let id = submit(&app, token, 1).await;
    let registrar = staff_in(&app, "r.walk", "410122", &[Role::Registrar]).await;
    let handler = staff_in(&app, "h.walk", "410122-101", &[Role::Handler]).await;
    let supervisor = staff_in(&app, "s.walk", "410122", &[Role::Supervisor]).await;
    let guandu = app.org_id("410122-101").await;
    let post = |path: String, token: String, body: Value| {
        let app = &app;
        async move { app.post_json_as(&path, &token, &body).await }
    };
    let res = post(
        format!("/api/v1/admin/petitions/{id}/forward"),
        registrar.clone(),
        json!({"to_org_id": guandu}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = post(
        format!("/api/v1/admin/petitions/{id}/accept"),
        handler.clone(),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = post(
        format!("/api/v1/admin/petitions/{id}/answer"),
        handler.clone(),
        json!({"outcome": "solved", "opinion": "已修复"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    // Every clock that started today ends within 90 days.
    let range = format!("from={}&to={}", today(), today() + Days::new(90));
    let body: Value = app
        .get_as(
            &format!("/api/v1/admin/statistics/figures?{range}"),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    let f = &body["figures"];
    for rate in ["on_time_disposal", "on_time_acceptance", "on_time_answer"] {
        assert_eq!(f[rate]["numerator"], 1, "{rate}");
        assert_eq!(f[rate]["denominator"], 1, "{rate}");
    }
    assert_eq!(f["answer_time"]["p90_days"], 0);
    assert_eq!(f["rating_participation"]["denominator"], 1);
}

#[tokio::test]
async fn three_weeks_running_in_the_top_three_is_a_veto_and_integrators_report_once() {
    let (app, _) = spawn_demo_app().await;
    let admin = app.admin_token().await;
    let supervisor = staff_in(&app, "s.watch", "410122", &[Role::Supervisor]).await;
    let this_week = fengqiao_domain::statistics::week_start(today());
    let guandu = app.org_id("410122-101").await;
    let other = app.org_id("410122-102").await;
    // 官渡: one escalation in each of the last three weeks; the other township only the last.
    for back in 1..=3u64 {
        let day = this_week - Days::new(7 * back) + Days::new(2);
        let res = app
            .post_json_as(
                "/api/v1/admin/escalations",
                &admin,
                &json!({
                    "occurred_on": day, "level": "capital", "person_name": "王五",
                    "person_id_number": "11010519491231002X",
                    "home_org_id": guandu, "registered_petition": false
                }),
            )
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["person_id_number"], "110105********002X");
    }
    // An integrator reports one for the other township, twice: recorded once.
    let client: Value = app
        .post_json_as("/api/v1/admin/api-clients", &admin, &json!({"name": "省信访系统", "scopes": ["escalations:write"], "rate_limit_per_minute": 60}))
        .await.json().await.unwrap();
    let token: Value = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth(
            client["client"]["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let report = json!({"external_id": "HN-0001", "escalation": {
        "occurred_on": this_week - Days::new(5), "level": "province", "person_name": "赵六",
        "home_org_id": other, "registered_petition": true}});
    // Two deliveries at once, then a third: one record.
    let (a, b) = tokio::join!(
        app.post_json_as("/api/v1/open/escalations", token, &report),
        app.post_json_as("/api/v1/open/escalations", token, &report)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 201]);
    let first: Value = a.json().await.unwrap();
    let second = app
        .post_json_as("/api/v1/open/escalations", token, &report)
        .await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.json::<Value>().await.unwrap()["id"], first["id"]);
    // A bad field is named.
    let res = app
        .post_json_as(
            "/api/v1/admin/escalations",
            &admin,
            &json!({
            "occurred_on": today() + Days::new(1), "level": "city", "person_name": "王五",
            "home_org_id": guandu, "registered_petition": false}),
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "occurred_on_out_of_range"
    );

    let watch: Value = app
        .get_as(
            &format!(
                "/api/v1/admin/escalations/watch?date={}",
                this_week - Days::new(7)
            ),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(watch["final"], true);
    let units = watch["units"].as_array().unwrap();
    let g = units
        .iter()
        .find(|u| u["org_unit_id"] == json!(guandu))
        .unwrap();
    assert_eq!(g["streak"], 3);
    assert_eq!(g["consequence"], "veto");
    assert!(g["explanation"].as_str().unwrap().contains("一票否决"));
    let o = units
        .iter()
        .find(|u| u["org_unit_id"] == json!(other))
        .unwrap();
    assert_eq!(
        (o["rank"].as_u64(), o["consequence"].as_str()),
        (Some(1), Some("named"))
    );
    // The week before: 官渡 two weeks running, a talk.
    let before: Value = app
        .get_as(
            &format!(
                "/api/v1/admin/escalations/watch?date={}",
                this_week - Days::new(14)
            ),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["units"][0]["consequence"], "talk");
    // The list masks the persons; the week is kept.
    let list: Value = app
        .get_as(
            &format!(
                "/api/v1/admin/escalations?from={}&to={}",
                this_week - Days::new(21),
                today()
            ),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["person_name"].as_str().unwrap().ends_with('*'))
    );
    let conn = app.raw_db().await;
    let kept = fengqiao_infra::db::escalations::stored_week(&conn, this_week - Days::new(7))
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept.iter()
            .find(|w| w.org_id == guandu)
            .unwrap()
            .consequence
            .as_deref(),
        Some("veto")
    );
}

#[tokio::test]
async fn supervision_lists_show_what_is_late_and_the_week_in_a_sentence() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("stats-late").await;
    let token = citizen["access_token"].as_str().unwrap();
    let late = submit(&app, token, 1).await;
    let _on_track = submit(&app, token, 2).await;
    // The first one's disposal was due yesterday.
    let conn = app.raw_db().await;
    petition::ActiveModel {
        id: Unchanged(late.parse().unwrap()),
        next_deadline: Set(Some(today() - Days::new(1))),
        ..Default::default()
    }
    .update(&conn)
    .await
    .unwrap();
    let supervisor = staff_in(&app, "s.late", "410122", &[Role::Supervisor]).await;
    let overdue: Value = app
        .get_as(
            "/api/v1/admin/supervision/deadlines?status=overdue",
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = overdue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], late.as_str());
    let csv = app
        .get_as(
            "/api/v1/admin/supervision/deadlines?status=overdue&format=csv",
            &supervisor,
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2);
    let weekly: Value = app
        .get_as(
            &format!(
                "/api/v1/admin/supervision/weekly?org_unit_id={}",
                app.org_id("410122-101").await
            ),
            &supervisor,
        )
        .await
        .json()
        .await
        .unwrap();
    let row = &weekly["units"][0];
    assert_eq!(row["progress"]["registered"], 2);
    assert_eq!(row["progress"]["overdue"], 1);
    assert!(
        row["summary"]
            .as_str()
            .unwrap()
            .contains("本周新登记信访事项2件")
    );
    let orders: Value = app
        .get_as("/api/v1/admin/supervision/orders", &supervisor)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_accused_never_counts_its_accusations_and_staff_stay_in_their_subtree() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("stats-whistle").await;
    let token = citizen["access_token"].as_str().unwrap();
    app.put_json_as(
        "/api/v1/me/real-name",
        token,
        &json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000"}),
    )
    .await;
    let guandu = app.org_id("410122-101").await;
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(token)
        .header("idempotency-key", "stats-accusation-1")
        .json(&json!({
            "kind": "complaint", "category_code": "accusation",
            "title": "举报村干部违规占用集体土地", "content": "举报某村干部违规占用集体土地建房，请求依法查处。",
            "township_id": guandu, "accused_org_id": guandu,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let _ordinary = submit(&app, token, 2).await;

    let accused = staff_in(&app, "l.guandu", "410122-101", &[Role::Leader]).await;
    let county = staff_in(&app, "l.county", "410122", &[Role::Leader]).await;
    let registered = |body: Value| body["figures"]["registered"].as_u64().unwrap();
    let own: Value = app
        .get_as("/api/v1/admin/statistics/figures?granularity=day", &accused)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(registered(own), 1, "the accused township does not count it");
    let all: Value = app
        .get_as(
            &format!("/api/v1/admin/statistics/figures?granularity=day&org_unit_id={guandu}"),
            &county,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(registered(all), 2, "the county does");
    let listed: Value = app
        .get_as(
            "/api/v1/admin/statistics/petitions?figure=registered&granularity=day",
            &accused,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // A township sees its own row of the comparison only; another township's figures are 404.
    let side: Value = app
        .get_as("/api/v1/admin/statistics/townships", &accused)
        .await
        .json()
        .await
        .unwrap();
    let rows = side["units"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["org_unit_id"], json!(guandu));
    let other = app.org_id("410122-102").await;
    let res = app
        .get_as(
            &format!("/api/v1/admin/statistics/figures?org_unit_id={other}"),
            &accused,
        )
        .await;
    assert_eq!(res.status(), 404);

    // A township's registrar records only its own people's escalations.
    let registrar = staff_in(&app, "r.guandu", "410122-101", &[Role::Registrar]).await;
    let res = app
        .post_json_as(
            "/api/v1/admin/escalations",
            &registrar,
            &json!({
            "occurred_on": today(), "level": "city", "person_name": "王五",
            "home_org_id": other, "registered_petition": false}),
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_org_unit"
    );

    // Dates outside the calendar the service keeps are a 422, not a crash.
    let res = app
        .get_as("/api/v1/admin/statistics/flags?date=2999-01-01", &county)
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "date_out_of_range"
    );
}

#[tokio::test]
async fn the_job_keeps_last_months_flags_once_the_month_is_over() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.demo = true;
        s.statistics.job_check_secs = 1;
    })
    .await;
    let this = fengqiao_domain::statistics::month_of(today()).from;
    let last = fengqiao_domain::statistics::month_of(this - Days::new(1)).from;
    let kept = crate::helpers::eventually("last month's flags kept", || async {
        let conn = app.raw_db().await;
        let kept = fengqiao_infra::db::statistics::stored_ranking(&conn, last, &[])
            .await
            .unwrap();
        conn.close().await.ok();
        (!kept.is_empty()).then_some(kept)
    })
    .await;
    assert_eq!(kept.len(), 14, "every township and street");
    let admin = app.admin_token().await;
    let months: Value = app
        .get_as("/api/v1/admin/statistics/flags/months", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(months["months"][0], json!(last));
}
