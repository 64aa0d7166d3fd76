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
