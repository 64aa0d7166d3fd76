//! The public reception schedule: the demo county's published rules over the working
//! calendar administrators keep, as JSON and iCalendar, with ETags.

use serde_json::Value;

use crate::helpers::{problem, spawn_demo_app};

async fn schedule(app: &crate::helpers::TestApp, query: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/reception/schedule?{query}"))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn on(schedule: &Value, date: &str) -> Vec<Value> {
    schedule["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["date"] == date)
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_public_schedule_follows_the_rules_and_the_calendar() {
    let (app, admin) = spawn_demo_app().await;
    let december = schedule(&app, "from=2026-12-01&days=31").await;
    assert_eq!(december["from"], "2026-12-01");
    assert_eq!(december["to"], "2026-12-31");
    // The party secretary on the 16th (a Wednesday), besides the deputies' daily rota.
    let sixteenth = on(&december, "2026-12-16");
    assert_eq!(sixteenth.len(), 2);
    assert!(sixteenth.iter().all(|s| s["weekday"] == "周三"));
    let secretary = sixteenth
        .iter()
        .find(|s| s["leader"]["title"].as_str().unwrap().contains("书记"))
        .expect("the secretary receives on the 16th");
    assert_eq!(secretary["starts_at"], "09:00");
    assert_eq!(secretary["capacity"], 10);
    assert!(secretary["organisation"]["name"].is_string());
    // The county head's 26th is a Saturday: held on Monday the 28th.
    let moved: Vec<Value> = on(&december, "2026-12-28")
        .into_iter()
        .filter(|s| s["moved_from"] == "2026-12-26")
        .collect();
    assert_eq!(moved.len(), 1);
    // The first Monday is the 7th; weekends have nothing.
    assert_eq!(on(&december, "2026-12-07").len(), 2);
    assert!(on(&december, "2026-12-05").is_empty() && on(&december, "2026-12-06").is_empty());
    // The rota alternates two deputies over working days.
    let rota: Vec<String> = ["2026-12-01", "2026-12-02", "2026-12-03"]
        .iter()
        .map(|d| {
            on(&december, d)
                .iter()
                .find(|s| s["moved_from"].is_null())
                .unwrap()["leader"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_ne!(rota[0], rota[1]);
    assert_eq!(rota[0], rota[2]);

    // An administrator makes the 16th a holiday: the secretary's session moves to the 17th,
    // and the rota skips the day.
    let res = app
        .put_json_as(
            "/api/v1/admin/calendar/2026-12-16",
            &admin,
            &serde_json::json!({"kind": "holiday", "name": "演示假日"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let after = schedule(&app, "from=2026-12-16&days=2").await;
    assert!(on(&after, "2026-12-16").is_empty());
    assert!(
        on(&after, "2026-12-17")
            .iter()
            .any(|s| s["moved_from"] == "2026-12-16")
    );

    // For one leader: the secretary's sessions only (the 16th, moved to the 17th above).
    let secretary_id = secretary["leader"]["id"].as_str().unwrap().to_owned();
    let only = schedule(
        &app,
        &format!("from=2026-12-01&days=31&leader_id={secretary_id}"),
    )
    .await;
    let dates: Vec<&str> = only["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-12-17"]);

    let res = app.get("/api/v1/reception/schedule?days=100").await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "out_of_range");
}

#[tokio::test]
async fn schedules_carry_an_etag_and_an_icalendar_feed() {
    let (app, _) = spawn_demo_app().await;
    let res = app
        .get("/api/v1/reception/schedule?from=2026-12-01&days=7")
        .await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["cache-control"], "public, max-age=60");
    let again = app
        .client
        .get(app.url("/api/v1/reception/schedule?from=2026-12-01&days=7"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    let other = app
        .client
        .get(app.url("/api/v1/reception/schedule?from=2026-12-01&days=8"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another range is another document");

    let ics = app
        .get("/api/v1/reception/schedule.ics?from=2026-12-14&days=3")
        .await;
    assert_eq!(ics.status(), 200);
    assert!(
        ics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = ics.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    assert!(text.contains("DTSTART;TZID=Asia/Shanghai:20261216T090000"));
    // Monday to Wednesday: the rota each day and the secretary on the 16th.
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 4);
}

/// A citizen with a real name on record; returns the access token.
async fn real_citizen(app: &crate::helpers::TestApp, openid: &str) -> String {
    let citizen = app.dev_citizen(openid).await;
    let token = citizen["access_token"].as_str().unwrap().to_owned();
    let res = app
        .put_json_as(
            "/api/v1/me/real-name",
            &token,
            &serde_json::json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    token
}

/// Open sessions of the coming weeks, earliest first, skipping today's (it may have begun).
async fn upcoming(app: &crate::helpers::TestApp) -> Vec<Value> {
    let tomorrow = fengqiao_domain::calendar::local_date(chrono::Utc::now()) + chrono::Days::new(1);
    let s = schedule(app, &format!("from={tomorrow}&days=40")).await;
    s["sessions"].as_array().unwrap().clone()
}

async fn book(app: &crate::helpers::TestApp, token: &str, session: &Value) -> reqwest::Response {
    app.post_json_as(
        "/api/v1/reception/bookings",
        token,
        &serde_json::json!({"rule_id": session["rule_id"], "date": session["date"],
                            "matter": "反映村道维修问题，已向镇里反映两次未解决"}),
    )
    .await
}

#[tokio::test]
async fn citizens_book_staff_confirm_reject_and_record_the_reception() {
    use fengqiao_domain::identity::Role;
    let (app, admin) = spawn_demo_app().await;
    let sessions = upcoming(&app).await;
    // A day with two sessions (a leader's day and the rota), for the one-a-day limit.
    let first = sessions
        .iter()
        .find(|s| sessions.iter().filter(|o| o["date"] == s["date"]).count() >= 2)
        .expect("a day with two sessions within 40 days");

    // A real name first.
    let anonymous = app.dev_citizen("no-name").await;
    let res = book(&app, anonymous["access_token"].as_str().unwrap(), first).await;
    assert_eq!(problem(res, 403).await["code"], "real_name_required");

    let token = real_citizen(&app, "booker").await;
    let res = book(&app, &token, first).await;
    assert_eq!(res.status(), 201);
    let booking: Value = res.json().await.unwrap();
    assert_eq!(booking["state"], "requested");
    assert!(
        booking["session"]
            .as_str()
            .unwrap()
            .contains(first["place"].as_str().unwrap())
    );
    let remaining = |s: &Value, date: &Value, rule: &Value| {
        s["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| &x["date"] == date && &x["rule_id"] == rule)
            .unwrap()["remaining"]
            .as_u64()
            .unwrap()
    };
    let after = schedule(
        &app,
        &format!("from={}&days=1", first["date"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        remaining(&after, &first["date"], &first["rule_id"]),
        first["capacity"].as_u64().unwrap() - 1
    );

    // One open booking a day; no session on a day the rule does not hold one.
    let other = sessions
        .iter()
        .find(|s| s["date"] == first["date"] && s["rule_id"] != first["rule_id"])
        .unwrap();
    let res = book(&app, &token, other).await;
    assert_eq!(problem(res, 409).await["code"], "booking_same_day");
    let res = app
        .post_json_as(
            "/api/v1/reception/bookings",
            &token,
            &serde_json::json!({"rule_id": first["rule_id"], "date": "2026-12-05",
                                "matter": "周六没有接访场次"}),
        )
        .await;
    assert_eq!(problem(res, 404).await["code"], "session_not_found");

    // Staff confirm: the citizen hears of it.
    let registrar =
        crate::helpers::staff_in(&app, "r.reception", "410122", &[Role::Registrar]).await;
    let editor = crate::helpers::staff_in(&app, "e.reception", "410122", &[Role::Editor]).await;
    let id = booking["id"].as_str().unwrap();
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/reception/bookings/{id}/confirm"),
            &editor,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/reception/bookings/{id}/confirm"),
            &registrar,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/reception/bookings/{id}/confirm"),
            &registrar,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(problem(res, 409).await["code"], "booking_state");
    let day: Value = app
        .get_as(
            &format!(
                "/api/v1/admin/reception/bookings?date={}",
                first["date"].as_str().unwrap()
            ),
            &registrar,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(day.as_array().unwrap().len(), 1);
    assert_eq!(day[0]["booking"]["state"], "confirmed");

    let confirmed = crate::helpers::inbox_event(&app, &token, "booking.confirmed").await;
    assert_eq!(
        confirmed["page"],
        format!("pages/reception/booking?id={id}")
    );

    // At the reception: recorded, and a petition opened from it once however often it is sent.
    let attend = serde_json::json!({
        "note": "来访人反映村道破损，领导当场协调限期维修",
        "petition": {"kind": "complaint", "category_code": "transport", "title": "村道路面破损请求维修",
                     "content": "领导接访时反映：官渡桥村东头道路破损严重。",
                     "township_id": app.org_id("410122-101").await}
    });
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/reception/bookings/{id}/attend"),
            &registrar,
            &attend,
        )
        .await;
    assert_eq!(res.status(), 200);
    let attended: Value = res.json().await.unwrap();
    assert_eq!(attended["booking"]["state"], "attended");
    let petition_id = attended["petition"]["id"].as_str().unwrap();
    assert_eq!(attended["booking"]["petition_id"], petition_id);
    let mine: Value = app
        .get_as("/api/v1/petitions", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        mine["items"][0]["id"], petition_id,
        "the citizen follows it as their own"
    );
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/reception/bookings/{id}/attend"),
            &registrar,
            &attend,
        )
        .await;
    assert_eq!(problem(res, 409).await["code"], "booking_state");

    // A second booking, rejected with a reason: its place comes back.
    let second = sessions
        .iter()
        .find(|s| s["date"] != first["date"])
        .unwrap();
    let res = book(&app, &token, second).await;
    assert_eq!(res.status(), 201);
    let second_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/reception/bookings/{second_id}/reject"),
            &registrar,
            &serde_json::json!({"reason": "所反映事项已转交属地乡镇办理"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let back = schedule(
        &app,
        &format!("from={}&days=1", second["date"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        remaining(&back, &second["date"], &second["rule_id"]),
        second["capacity"].as_u64().unwrap()
    );
    let res = app
        .post_json_as(
            &format!("/api/v1/me/bookings/{second_id}/cancel"),
            &token,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(problem(res, 409).await["code"], "booking_state");
    let mine: Value = app
        .get_as("/api/v1/me/bookings", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 2);
    assert_eq!(app.audit_entries(&admin, "booking.rejected").await.len(), 1);
}

#[tokio::test]
async fn many_citizens_racing_for_the_last_places_never_overfill_a_session() {
    let (app, _) = spawn_demo_app().await;
    let session = upcoming(&app).await[0].clone();
    let capacity = session["capacity"].as_u64().unwrap() as usize;
    let mut tokens = Vec::new();
    for i in 0..capacity + 4 {
        tokens.push(real_citizen(&app, &format!("racer-{i}")).await);
    }
    let mut tasks = Vec::new();
    for token in tokens {
        let (client, url, session) = (
            app.client.clone(),
            app.url("/api/v1/reception/bookings"),
            session.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(
                    &serde_json::json!({"rule_id": session["rule_id"], "date": session["date"],
                                          "matter": "反映村道维修问题"}),
                )
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or_default();
            (status, body["code"].as_str().unwrap_or_default().to_owned())
        }));
    }
    let mut booked = 0;
    let mut full = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, _) => booked += 1,
            (409, code) if code == "session_full" => full += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((booked, full), (capacity, 4));
    let after = schedule(
        &app,
        &format!("from={}&days=1", session["date"].as_str().unwrap()),
    )
    .await;
    let left = after["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rule_id"] == session["rule_id"])
        .unwrap()["remaining"]
        .clone();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn confirmed_bookings_are_reminded_the_day_before_once() {
    use fengqiao_domain::identity::Role;
    let app = crate::helpers::spawn_app_with(|s| {
        s.demo = true;
        s.reception.reminder_check_secs = 1;
        s.messaging.poll_interval_ms = 20;
    })
    .await;
    let admin = app.admin_token().await;
    // Tomorrow is a working day whatever today is: the demo's every-workday rota holds a session.
    let tomorrow = fengqiao_domain::calendar::local_date(chrono::Utc::now()) + chrono::Days::new(1);
    let res = app
        .put_json_as(
            &format!("/api/v1/admin/calendar/{tomorrow}"),
            &admin,
            &serde_json::json!({"kind": "makeup_workday", "name": "测试调休"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let s = schedule(&app, &format!("from={tomorrow}&days=1")).await;
    let session = s["sessions"][0].clone();
    let token = real_citizen(&app, "reminded").await;
    let res = book(&app, &token, &session).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let registrar = crate::helpers::staff_in(&app, "r.remind", "410122", &[Role::Registrar]).await;
    // On the shared-service pass a second instance runs the same job every second too: the
    // job's lock in Redis lets one of them send, once.
    if app.settings.redis.url.is_some() {
        app.second_instance().await;
    }
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/reception/bookings/{id}/confirm"),
            &registrar,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let inbox: Value = app
            .get_as("/api/v1/me/notifications", &token)
            .await
            .json()
            .await
            .unwrap();
        let reminders = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["event"] == "booking.reminded")
            .count();
        if reminders > 0 {
            // The job runs every second: still one reminder after a few more runs.
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
            let inbox: Value = app
                .get_as("/api/v1/me/notifications", &token)
                .await
                .json()
                .await
                .unwrap();
            let again = inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["event"] == "booking.reminded")
                .count();
            assert_eq!(again, 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a reminder within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn editors_keep_leaders_rules_and_contacts_and_the_public_pages_follow() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let editor = crate::helpers::staff_in(&app, "e.rules", "410122", &[Role::Editor]).await;
    let handler = crate::helpers::staff_in(&app, "h.rules", "410122", &[Role::Handler]).await;
    let county = app.org_id("410122").await;
    let leader = serde_json::json!({"org_unit_id": county, "name": "演示领导己", "title": "县人大常委会主任",
                                    "duties": "演示", "active": true});
    let res = app
        .post_json_as("/api/v1/admin/leaders", &handler, &leader)
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_json_as("/api/v1/admin/leaders", &editor, &leader)
        .await;
    assert_eq!(res.status(), 201);
    let leader_id = res.json::<Value>().await.unwrap()["id"].clone();

    // The 3rd of every month, 14:30 to 17:00, cancelled on rest days.
    let mut rule = serde_json::json!({"org_unit_id": county, "leader_id": leader_id,
        "recurrence": {"kind": "monthly_day", "day": 3}, "place": "县人大接待室", "starts_at": "14:30",
        "ends_at": "17:00", "capacity": 5, "on_rest_day": "cancel", "active": true});
    let mut bad = rule.clone();
    bad["ends_at"] = serde_json::json!("14:00");
    let res = app
        .post_json_as("/api/v1/admin/reception/rules", &editor, &bad)
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "ends_at");
    let res = app
        .post_json_as("/api/v1/admin/reception/rules", &editor, &rule)
        .await;
    assert_eq!(res.status(), 201);
    let rule_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 2026-12-03 is a Thursday.
    let december = schedule(&app, "from=2026-12-03&days=1").await;
    let third = on(&december, "2026-12-03");
    let ours = third
        .iter()
        .find(|s| s["rule_id"] == rule_id.as_str())
        .expect("the new rule's session is public at once");
    assert_eq!(ours["leader"]["name"], "演示领导己");
    assert_eq!(ours["starts_at"], "14:30");
    assert_eq!(ours["capacity"], 5);
    rule["active"] = serde_json::json!(false);
    let res = app
        .put_json_as(
            &format!("/api/v1/admin/reception/rules/{rule_id}"),
            &editor,
            &rule,
        )
        .await;
    assert_eq!(res.status(), 200);
    let again = schedule(&app, "from=2026-12-03&days=1").await;
    assert!(
        on(&again, "2026-12-03")
            .iter()
            .all(|s| s["rule_id"] != rule_id.as_str())
    );
    let rules: Value = app
        .get_as("/api/v1/admin/reception/rules", &editor)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == rule_id.as_str() && r["rule"]["active"] == false)
    );

    // Contacts: added, changed and removed, and the public page follows each time.
    let contact = serde_json::json!({"org_unit_id": county, "kind": "hotline", "name": "12345 政务服务热线",
                                     "phone": "12345", "hours": "全天"});
    let res = app
        .post_json_as("/api/v1/admin/contacts", &editor, &contact)
        .await;
    assert_eq!(res.status(), 201);
    let contact_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page: Value = app.get("/api/v1/contacts").await.json().await.unwrap();
    assert!(
        page["hotline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "12345 政务服务热线")
    );
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/admin/contacts/{contact_id}")))
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let page: Value = app.get("/api/v1/contacts").await.json().await.unwrap();
    assert!(
        !page["hotline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "12345 政务服务热线")
    );
    let mut wrong = contact.clone();
    wrong["kind"] = serde_json::json!("fax");
    let res = app
        .post_json_as("/api/v1/admin/contacts", &editor, &wrong)
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "kind");
}

#[tokio::test]
async fn a_called_off_session_cancels_its_bookings_and_says_why_and_changes_are_published() {
    use fengqiao_domain::identity::Role;
    let (app, admin) = spawn_demo_app().await;
    let registrar = crate::helpers::staff_in(&app, "r.change", "410122", &[Role::Registrar]).await;
    let session = upcoming(&app).await[0].clone();
    let (rule, date) = (
        session["rule_id"].as_str().unwrap(),
        session["date"].as_str().unwrap(),
    );
    let token = real_citizen(&app, "called-off").await;
    let res = book(&app, &token, &session).await;
    assert_eq!(res.status(), 201);
    let booking_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A joint reception first, then another leader: the schedule shows each with its notice.
    let url = format!("/api/v1/admin/reception/sessions/{rule}/{date}");
    let res = app
        .put_json_as(&url, &registrar, &serde_json::json!({"change": {"kind": "joint", "with": ["县人社局"]}, "notice": "本场次为联合接访"}))
        .await;
    assert_eq!(res.status(), 204);
    let s = schedule(&app, &format!("from={date}&days=1")).await;
    let ours = on(&s, date)
        .into_iter()
        .find(|x| x["rule_id"] == rule)
        .unwrap();
    assert_eq!(ours["joint_with"], serde_json::json!(["县人社局"]));
    assert_eq!(ours["notice"], "本场次为联合接访");
    let leaders: Value = app
        .get_as("/api/v1/admin/leaders", &admin)
        .await
        .json()
        .await
        .unwrap();
    let substitute = leaders[0]["id"].clone();
    let res = app
        .put_json_as(&url, &registrar, &serde_json::json!({"change": {"kind": "substitute", "leader_id": substitute}, "notice": "改由其他领导接访"}))
        .await;
    assert_eq!(res.status(), 204);
    let s = schedule(&app, &format!("from={date}&days=1")).await;
    let ours = on(&s, date)
        .into_iter()
        .find(|x| x["rule_id"] == rule)
        .unwrap();
    assert_eq!(ours["leader"]["id"], substitute);
    assert!(
        ours["joint_with"].as_array().unwrap().is_empty(),
        "a later change replaces an earlier"
    );

    // Called off: the booking is cancelled with the notice, the citizen told, no new bookings.
    let res = app
        .put_json_as(
            &url,
            &registrar,
            &serde_json::json!({"change": {"kind": "cancelled"}, "notice": "因防汛工作本场次取消"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let s = schedule(&app, &format!("from={date}&days=1")).await;
    let ours = on(&s, date)
        .into_iter()
        .find(|x| x["rule_id"] == rule)
        .unwrap();
    assert_eq!(ours["cancelled"], true);
    assert_eq!(ours["remaining"], 0);
    let mine: Value = app
        .get_as("/api/v1/me/bookings", &token)
        .await
        .json()
        .await
        .unwrap();
    let b = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == booking_id.as_str())
        .unwrap();
    assert_eq!(b["state"], "cancelled");
    assert_eq!(b["reason"], "因防汛工作本场次取消");
    let other = real_citizen(&app, "too-late").await;
    let res = book(&app, &other, &session).await;
    assert_eq!(problem(res, 409).await["code"], "session_cancelled");
    let told = crate::helpers::inbox_event(&app, &token, "booking.cancelled").await;
    assert!(
        told["body"]
            .as_str()
            .unwrap()
            .contains("因防汛工作本场次取消")
    );
    let res = app
        .put_json_as(
            &url,
            &registrar,
            &serde_json::json!({"change": {"kind": "cancelled"}, "notice": ""}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "notice");
    assert_eq!(
        app.audit_entries(&admin, "reception_session.changed")
            .await
            .len(),
        3
    );
}

#[tokio::test]
async fn a_moved_session_takes_its_bookings_and_places_to_the_new_day() {
    use fengqiao_domain::identity::Role;
    let (app, _) = spawn_demo_app().await;
    let editor = crate::helpers::staff_in(&app, "e.move", "410122", &[Role::Editor]).await;
    let sessions = upcoming(&app).await;
    let session = sessions[0].clone();
    let (rule, date) = (
        session["rule_id"].as_str().unwrap().to_owned(),
        session["date"].as_str().unwrap().to_owned(),
    );
    let token = real_citizen(&app, "moved").await;
    let res = book(&app, &token, &session).await;
    assert_eq!(res.status(), 201);
    let booking_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A Saturday well ahead: no rule holds a session on a weekend.
    let mut day =
        chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap() + chrono::Days::new(40);
    while chrono::Datelike::weekday(&day) != chrono::Weekday::Sat {
        day = day + chrono::Days::new(1);
    }
    let new_day = day.to_string();
    // Not onto a day the rule holds already.
    let busy = sessions
        .iter()
        .find(|s| s["rule_id"] == rule.as_str() && s["date"] != date.as_str())
        .expect("every demo rule holds another session within 40 days");
    {
        let res = app
            .put_json_as(
                &format!("/api/v1/admin/reception/sessions/{rule}/{date}"),
                &editor,
                &serde_json::json!({"change": {"kind": "moved", "to": busy["date"], "starts_at": null, "ends_at": null, "place": null},
                                    "notice": "改期"}),
            )
            .await;
        assert_eq!(problem(res, 409).await["code"], "session_taken");
    }
    let url = format!("/api/v1/admin/reception/sessions/{rule}/{date}");
    let bad = serde_json::json!({"change": {"kind": "moved", "to": date, "starts_at": null, "ends_at": null, "place": null},
                                 "notice": "改期"});
    let res = app.put_json_as(&url, &editor, &bad).await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "change.to");
    let res = app
        .put_json_as(
            &url,
            &editor,
            &serde_json::json!({"change": {"kind": "moved", "to": new_day, "starts_at": "14:30", "ends_at": "17:00", "place": null},
                                "notice": "因会议安排改期至下午"}),
        )
        .await;
    assert_eq!(res.status(), 204);

    let old = schedule(&app, &format!("from={date}&days=1")).await;
    assert!(
        on(&old, &date)
            .iter()
            .all(|s| s["rule_id"] != rule.as_str())
    );
    let new = schedule(&app, &format!("from={new_day}&days=1")).await;
    let moved = on(&new, &new_day)
        .into_iter()
        .find(|s| s["rule_id"] == rule.as_str())
        .expect("held on the new day");
    assert_eq!(moved["starts_at"], "14:30");
    assert_eq!(moved["moved_from"], date.as_str());
    assert_eq!(moved["notice"], "因会议安排改期至下午");
    assert_eq!(moved["remaining"], moved["capacity"].as_u64().unwrap() - 1);

    let mine: Value = app
        .get_as("/api/v1/me/bookings", &token)
        .await
        .json()
        .await
        .unwrap();
    let b = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == booking_id.as_str())
        .unwrap();
    assert_eq!(b["date"], new_day.as_str());
    assert!(b["session"].as_str().unwrap().contains("14:30"));
    let other = real_citizen(&app, "old-day").await;
    let res = book(&app, &other, &session).await;
    assert_eq!(problem(res, 404).await["code"], "session_not_found");
    let res = book(&app, &other, &moved).await;
    assert_eq!(res.status(), 201);
    crate::helpers::eventually("the citizen hears of the new day", || async {
        let inbox: Value = app
            .get_as("/api/v1/me/notifications", &token)
            .await
            .json()
            .await
            .unwrap();
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| {
                n["event"] == "booking.confirmed" && n["body"].as_str().unwrap().contains("14:30")
            })
            .cloned()
    })
    .await;
}
