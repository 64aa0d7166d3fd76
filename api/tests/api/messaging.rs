//! Status push against stand-ins on loopback: the in-app inbox, WeChat subscribe messages with
//! grants and the SMS fallback, signed webhooks with their log, retries, dead letters, several
//! dispatchers at once, a dispatcher dying mid-delivery, and WeChat's push callback.

use std::collections::BTreeMap;
use std::time::Duration;

use fengqiao_domain::identity::Role;
use fengqiao_infra::config::EventTemplates;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, eventually, problem, spawn_app_with, staff_in};

/// A demo app whose dispatcher polls quickly and retries at once.
async fn messaging_app(customise: impl FnOnce(&mut fengqiao_infra::Settings)) -> (TestApp, String) {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.messaging.poll_interval_ms = 20;
        s.messaging.base_delay_secs = 0;
        customise(s);
    })
    .await;
    let admin = app.admin_token().await;
    (app, admin)
}

/// A petition an integrator brought (its webhooks hear only of those), under `external_id`.
async fn bring(app: &TestApp, integrator: &Integrator, external_id: &str) -> Value {
    let res = app
        .post_json_as(
            "/api/v1/open/petitions",
            &integrator.token,
            &json!({
                "external_id": external_id, "channel": "phone", "kind": "complaint",
                "category_code": "transport",
                "title": "村道路面破损严重请求尽快安排维修以便群众出行",
                "content": "来电反映官渡桥村东头道路破损严重，雨天积水，群众出行困难。",
                "township_id": app.org_id("410122-101").await,
                "petitioner": {"name": "王大明", "phone": "13900001111"}
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn submit(app: &TestApp, token: &str, key: &str) -> Value {
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({
            "kind": "complaint",
            "category_code": "transport",
            "title": "村道路面破损严重请求尽快安排维修以便群众出行",
            "content": "官渡桥村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。",
            "township_id": app.org_id("410122-101").await,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Forwards a petition to its township and accepts it there: two public changes.
async fn forward_and_accept(app: &TestApp, registrar: &str, handler: &str, id: &str) {
    let guandu = app.org_id("410122-101").await;
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/forward"),
            registrar,
            &json!({"to_org_id": guandu}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/accept"),
            handler,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

async fn notifications(app: &TestApp, token: &str) -> Value {
    let res = app.get_as("/api/v1/me/notifications", token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn dead_letters(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let res = app
        .get_as(&format!("/api/v1/admin/deliveries?{query}"), admin)
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().cloned().unwrap()
}

#[tokio::test]
async fn every_public_change_reaches_the_citizens_inbox_once() {
    let (app, admin) = messaging_app(|_| {}).await;
    let citizen = app.dev_citizen("inbox-1").await;
    let token = citizen["access_token"].as_str().unwrap();
    let other = app.dev_citizen("inbox-2").await;
    let other_token = other["access_token"].as_str().unwrap();
    let submitted = submit(&app, token, "inbox-key-0001").await;
    let id = submitted["id"].as_str().unwrap();
    let registrar = staff_in(&app, "r.inbox", "410122", &[Role::Registrar]).await;
    let handler = staff_in(&app, "h.inbox", "410122-101", &[Role::Handler]).await;
    forward_and_accept(&app, &registrar, &handler, id).await;
    // A handler's message reaches the petitioner the same way.
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/messages"),
            &handler,
            &json!({"text": "已安排现场勘查，本周内完成修补。"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/messages"),
            &handler,
            &json!({"text": "  "}),
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "invalid_field"
    );

    let page = eventually("four notifications", || async {
        let page = notifications(&app, token).await;
        (page["items"].as_array().unwrap().len() == 4).then_some(page)
    })
    .await;
    let items = page["items"].as_array().unwrap();
    let events: Vec<&str> = items.iter().map(|n| n["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["message", "accepted", "forwarded", "registered"]);
    assert_eq!(page["unread"], 4);
    let registered = &items[3];
    assert!(
        registered["body"]
            .as_str()
            .unwrap()
            .contains(submitted["query_code"].as_str().unwrap()),
        "the registration message carries the query code"
    );
    assert!(
        items[0]["body"].as_str().unwrap().contains("现场勘查"),
        "the handler's words reach the citizen"
    );
    assert_eq!(items[1]["page"], format!("pages/petition/detail?id={id}"));
    // Sealed at rest: the query code is not in the table in the clear.
    let conn = app.raw_db().await;
    let sealed = fengqiao_infra::db::messaging::notifications(
        &conn,
        uuid::Uuid::parse_str(citizen["citizen"]["id"].as_str().unwrap()).unwrap(),
        false,
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(sealed.len(), 4);
    for row in &sealed {
        assert!(!row.body.contains(submitted["query_code"].as_str().unwrap()));
    }

    // Reading, marking read, and nobody else's.
    let first = items[0]["id"].as_str().unwrap();
    let res = app
        .get_as(&format!("/api/v1/me/notifications/{first}"), other_token)
        .await;
    assert_eq!(problem(res, 404).await["code"], "notification_not_found");
    let res = app
        .post_json_as(
            &format!("/api/v1/me/notifications/{first}/read"),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let count: Value = app
        .get_as("/api/v1/me/notifications/unread-count", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count["unread"], 3);
    let unread = app
        .get_as("/api/v1/me/notifications?unread=true&limit=2", token)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(unread["items"].as_array().unwrap().len(), 2);
    assert!(unread["next_cursor"].is_string());
    let marked: Value = app
        .post_json_as("/api/v1/me/notifications/read-all", token, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(marked["marked"], 3);
    assert_eq!(notifications(&app, other_token).await["unread"], 0);
    assert_eq!(
        app.audit_entries(&admin, "notification.read_all")
            .await
            .len(),
        1
    );
    // A reception booking's messages (written by the reception work) reach the inbox the same
    // way, opening the booking.
    {
        use sea_orm::{ActiveModelTrait, Set};
        let citizen_id = citizen["citizen"]["id"].as_str().unwrap();
        fengqiao_infra::db::entities::outbox::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            topic: Set("booking.confirmed".into()),
            petition_id: Set(None),
            payload: Set(json!({"citizen_id": citizen_id, "booking_id": "b-1",
                "session": "12月16日 09:00 县信访局接待室"})
            .to_string()),
            created_at: Set(chrono::Utc::now()),
            dispatched_at: Set(None),
        }
        .insert(&conn)
        .await
        .unwrap();
    }
    let booking = eventually("the booking message", || async {
        let page = notifications(&app, token).await;
        let first = page["items"][0].clone();
        (first["event"] == "booking.confirmed").then_some(first)
    })
    .await;
    assert_eq!(booking["page"], "pages/reception/booking?id=b-1");
    assert!(booking["body"].as_str().unwrap().contains("12月16日 09:00"));
    assert_eq!(
        notifications(&app, other_token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Nothing was pushed anywhere but the inbox (no templates configured), and the outbox is
    // fully dispatched.
    let (outbox, pending) = fengqiao_infra::db::messaging::backlog(&conn).await.unwrap();
    assert_eq!((outbox, pending), (0, 0));
}

fn accepted_templates() -> BTreeMap<String, EventTemplates> {
    let mut events = BTreeMap::new();
    events.insert(
        "accepted".to_owned(),
        EventTemplates {
            wechat_template: Some("tmpl_accepted".into()),
            wechat_long_term: false,
            wechat_data: BTreeMap::from([
                ("character_string1".into(), "{tracking_no}".into()),
                ("thing2".into(), "{title}".into()),
                ("phrase3".into(), "{state}".into()),
            ]),
            sms_template: Some("SMS_ACCEPTED".into()),
            sms_params: BTreeMap::from([("no".into(), "{tracking_no}".into())]),
            inbox_title: None,
            inbox_body: Some("【中牟信访】{body}".into()),
        },
    );
    events
}

async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "TOKEN-1", "expires_in": 7200})),
        )
        .mount(server)
        .await;
}

fn subscribe_sends(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.url.path() == "/cgi-bin/message/subscribe/send")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_granted_template_gets_a_wechat_message_and_43101_falls_back_to_sms() {
    let sms = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sms/send"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": "OK"})))
        .mount(&sms)
        .await;
    let sms_uri = sms.uri();
    let (app, _) = messaging_app(move |s| {
        s.messaging.events = accepted_templates();
        s.sms.endpoint = Some(format!("{sms_uri}/sms/send"));
        s.sms.api_key = Some(fengqiao_infra::config::Secret::new("sms-key"));
    })
    .await;
    mount_token(&app.wechat).await;
    // The first send succeeds, the second finds the subscription used up.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/subscribe/send"))
        .and(query_param("access_token", "TOKEN-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "errmsg": "ok"})),
        )
        .up_to_n_times(1)
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/subscribe/send"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"errcode": 43101, "errmsg": "user refuse to accept the msg"}),
            ),
        )
        .mount(&app.wechat)
        .await;

    let citizen = app.dev_citizen("wechat-1").await;
    let token = citizen["access_token"].as_str().unwrap();
    // A phone on record, for the fallback.
    let res = app
        .put_json_as(
            "/api/v1/me/real-name",
            token,
            &json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Unknown templates are refused by name; the known one is granted twice (two taps).
    let res = app
        .post_json_as(
            "/api/v1/me/subscriptions",
            token,
            &json!({"results": {"tmpl_unknown": "accept"}}),
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_template"
    );
    for _ in 0..2 {
        let res = app
            .post_json_as(
                "/api/v1/me/subscriptions",
                token,
                &json!({"results": {"tmpl_accepted": "accept", "errMsg": "requestSubscribeMessage:ok"}}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let grants: Value = app
        .get_as("/api/v1/me/subscriptions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants[0]["remaining"], 2);

    let registrar = staff_in(&app, "r.wechat", "410122", &[Role::Registrar]).await;
    let handler = staff_in(&app, "h.wechat", "410122-101", &[Role::Handler]).await;
    let first = submit(&app, token, "wechat-key-0001").await;
    forward_and_accept(&app, &registrar, &handler, first["id"].as_str().unwrap()).await;
    let sent = eventually("one subscribe message", || async {
        let sent = subscribe_sends(&app.wechat.received_requests().await.unwrap_or_default());
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    let message = &sent[0];
    assert_eq!(message["touser"], "dev:wechat-1");
    assert_eq!(message["template_id"], "tmpl_accepted");
    assert_eq!(
        message["data"]["character_string1"]["value"],
        first["tracking_no"]
    );
    assert_eq!(
        message["data"]["thing2"]["value"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        20,
        "the title is cut to what a thing field takes"
    );
    assert_eq!(message["data"]["phrase3"]["value"], "办理中");
    assert_eq!(
        message["page"],
        format!("pages/petition/detail?id={}", first["id"].as_str().unwrap())
    );

    // The second petition's acceptance meets 43101: the grant is spent, the SMS goes instead.
    let second = submit(&app, token, "wechat-key-0002").await;
    forward_and_accept(&app, &registrar, &handler, second["id"].as_str().unwrap()).await;
    let texts = eventually("one SMS", || async {
        let texts: Vec<Value> = sms
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        (!texts.is_empty()).then_some(texts)
    })
    .await;
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0]["phone"], "13800138000");
    assert_eq!(texts[0]["template_id"], "SMS_ACCEPTED");
    assert_eq!(texts[0]["params"]["no"], second["tracking_no"]);
    let sms_request = &sms.received_requests().await.unwrap()[0];
    assert_eq!(
        sms_request.headers.get("authorization").unwrap(),
        "Bearer sms-key"
    );
    let grants: Value = app
        .get_as("/api/v1/me/subscriptions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants[0]["remaining"], 0, "43101 empties the grant");
    // The county's own inbox text for the event.
    let inbox = notifications(&app, token).await;
    let accepted: Vec<&Value> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == "accepted")
        .collect();
    assert_eq!(accepted.len(), 2);
    assert!(
        accepted[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("【中牟信访】您的信访事项")
    );
    // Exactly two sends reached WeChat: nothing was sent twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        subscribe_sends(&app.wechat.received_requests().await.unwrap()).len(),
        2
    );
    assert_eq!(sms.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_refused_mid_run_is_refreshed_once_and_bad_template_data_is_dead_lettered() {
    let (app, admin) = messaging_app(|s| s.messaging.events = accepted_templates()).await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "OLD", "expires_in": 7200})),
        )
        .up_to_n_times(1)
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "NEW", "expires_in": 7200})),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/subscribe/send"))
        .and(query_param("access_token", "OLD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 42001, "errmsg": "access_token expired"})),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/subscribe/send"))
        .and(query_param("access_token", "NEW"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"errcode": 47003, "errmsg": "argument invalid! data.thing2.value"}),
        ))
        .mount(&app.wechat)
        .await;
    let citizen = app.dev_citizen("wechat-2").await;
    let token = citizen["access_token"].as_str().unwrap();
    let res = app
        .post_json_as(
            "/api/v1/me/subscriptions",
            token,
            &json!({"results": {"tmpl_accepted": "accept"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let registrar = staff_in(&app, "r.token", "410122", &[Role::Registrar]).await;
    let handler = staff_in(&app, "h.token", "410122-101", &[Role::Handler]).await;
    let petition = submit(&app, token, "token-key-0001").await;
    forward_and_accept(&app, &registrar, &handler, petition["id"].as_str().unwrap()).await;

    let dead = eventually("a dead letter", || async {
        let dead = dead_letters(&app, &admin, "channel=wechat").await;
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["attempts"], 1, "47003 is not retried");
    assert!(dead[0]["last_error"].as_str().unwrap().contains("47003"));
    let tokens = app
        .wechat
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/cgi-bin/stable_token")
        .count();
    assert_eq!(tokens, 2, "the refused token was replaced once");
    let sends: Vec<String> = app
        .wechat
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/cgi-bin/message/subscribe/send")
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sends, ["access_token=OLD", "access_token=NEW"]);
    // The allowance was not spent on a message that was not sent.
    let grants: Value = app
        .get_as("/api/v1/me/subscriptions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants[0]["remaining"], 1);
}

struct Integrator {
    token: String,
}

async fn integrator(app: &TestApp, admin: &str, name: &str, scopes: &[&str]) -> Integrator {
    let res = app
        .post_json_as(
            "/api/v1/admin/api-clients",
            admin,
            &json!({"name": name, "scopes": scopes, "rate_limit_per_minute": 600}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let res = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth(
            body["client"]["client_id"].as_str().unwrap(),
            Some(body["client_secret"].as_str().unwrap()),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token: Value = res.json().await.unwrap();
    Integrator {
        token: token["access_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn webhooks_are_signed_logged_and_kept_to_their_owner() {
    let (app, admin) = messaging_app(|_| {}).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let hotline = integrator(
        &app,
        &admin,
        "12345 热线",
        &["webhooks:manage", "petitions:write"],
    )
    .await;
    let reader = integrator(&app, &admin, "数据大屏", &["petitions:read"]).await;
    let other = integrator(&app, &admin, "市信访系统", &["webhooks:manage"]).await;
    let hook = json!({"url": format!("{}/hook", receiver.uri()),
                      "event_types": ["petition.registered", "petition.accepted"]});

    let res = app
        .post_json_as("/api/v1/open/webhooks", &reader.token, &hook)
        .await;
    assert_eq!(problem(res, 403).await["code"], "insufficient_scope");
    let res = app
        .post_json_as(
            "/api/v1/open/webhooks",
            &hotline.token,
            &json!({"url": "ftp://x.example/hook", "event_types": ["petition.accepted"]}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "invalid_url");
    let res = app
        .post_json_as(
            "/api/v1/open/webhooks",
            &hotline.token,
            &json!({"url": format!("{}/hook", receiver.uri()), "event_types": ["petition.overdue"]}),
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_event_type"
    );
    let res = app
        .post_json_as("/api/v1/open/webhooks", &hotline.token, &hook)
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let endpoint_id = created["endpoint"]["id"].as_str().unwrap().to_owned();
    let res = app
        .get_as(
            &format!("/api/v1/open/webhooks/{endpoint_id}"),
            &other.token,
        )
        .await;
    assert_eq!(
        problem(res, 404).await["code"],
        "webhook_endpoint_not_found"
    );

    // A citizen's own petition: the hotline did not bring it, so it never hears of it.
    let citizen = app.dev_citizen("hooked").await;
    let token = citizen["access_token"].as_str().unwrap();
    let theirs = submit(&app, token, "hook-key-0001").await;
    let registrar = staff_in(&app, "r.hook", "410122", &[Role::Registrar]).await;
    let handler = staff_in(&app, "h.hook", "410122-101", &[Role::Handler]).await;
    forward_and_accept(&app, &registrar, &handler, theirs["id"].as_str().unwrap()).await;
    // The petition the hotline brought: its steps reach the hotline's endpoint.
    let res = app
        .post_json_as(
            "/api/v1/open/petitions",
            &hotline.token,
            &json!({
                "external_id": "12345-hook-0001", "channel": "phone", "kind": "complaint",
                "category_code": "labour", "title": "村道路面破损请求维修",
                "content": "来电反映村道路面破损严重，雨天积水，群众出行困难。",
                "township_id": app.org_id("410122-101").await,
                "petitioner": {"name": "王大明", "phone": "13900001111"}
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let petition: Value = res.json().await.unwrap();
    let id = petition["id"].as_str().unwrap();
    forward_and_accept(&app, &registrar, &handler, id).await;

    let received = eventually("two webhook deliveries", || async {
        let r = receiver.received_requests().await.unwrap_or_default();
        (r.len() >= 2).then_some(r)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.received_requests().await.unwrap().len(),
        2,
        "forwarded is not subscribed, and the citizen's own petition is not the hotline's"
    );
    let mut types = Vec::new();
    for request in &received {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        let body = String::from_utf8(request.body.clone()).unwrap();
        let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
        assert!(fengqiao_infra::webhooks::verify(
            &secret,
            &header("webhook-id"),
            timestamp,
            &body,
            &header("webhook-signature"),
            chrono::Utc::now(),
            Duration::from_secs(300),
        ));
        let event: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(event["data"]["petition_id"], id);
        assert_eq!(event["data"]["delivery_id"], header("webhook-id"));
        assert!(
            !body.contains("村道") && !body.contains(petition["query_code"].as_str().unwrap()),
            "no text and no query code leave in a webhook"
        );
        types.push(event["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["petition.accepted", "petition.registered"]);

    let log: Value = app
        .get_as(
            &format!("/api/v1/open/webhooks/{endpoint_id}/deliveries"),
            &hotline.token,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for d in items {
        assert_eq!(d["state"], "delivered");
        assert_eq!(d["log"][0]["outcome"], "delivered");
    }
    let listed: Value = app
        .get_as("/api/v1/open/webhooks", &hotline.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed[0]["last_success_at"].is_string());
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/open/webhooks/{endpoint_id}")))
        .bearer_auth(&hotline.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.audit_entries(&admin, "webhook_endpoint.deleted")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn failures_are_retried_with_one_key_then_dead_lettered_and_an_administrator_retries() {
    let sms = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&sms)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": "OK"})))
        .mount(&sms)
        .await;
    let sms_uri = sms.uri();
    let (app, admin) = messaging_app(move |s| {
        s.messaging.max_attempts = 3;
        s.messaging.events.insert(
            "registered".into(),
            EventTemplates {
                sms_template: Some("SMS_REGISTERED".into()),
                sms_params: BTreeMap::from([("code".into(), "{query_code}".into())]),
                ..EventTemplates::default()
            },
        );
        s.sms.endpoint = Some(format!("{sms_uri}/send"));
    })
    .await;
    // A letter registered by staff: no account, only a phone, so the SMS is the channel.
    let registrar = staff_in(&app, "r.fail", "410122", &[Role::Registrar]).await;
    let today = fengqiao_domain::calendar::local_date(chrono::Utc::now());
    let res = app
        .client
        .post(app.url("/api/v1/admin/petitions"))
        .bearer_auth(&registrar)
        .header("idempotency-key", "letter-key-0001")
        .json(&json!({
            "channel": "letter", "received_on": today, "kind": "complaint", "category_code": "labour",
            "title": "农民工工资被拖欠三个月", "content": "来信反映某工地拖欠 12 名农民工三个月工资。",
            "township_id": app.org_id("410122-102").await,
            "petitioner": {"name": "王大明", "phone": "13900001111"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let letter: Value = res.json().await.unwrap();

    let dead = eventually("the delivery is dead-lettered", || async {
        let dead = dead_letters(&app, &admin, "channel=sms").await;
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead[0]["attempts"], 3);
    let outcomes: Vec<&str> = dead[0]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "retry"]);
    let texts: Vec<Value> = sms
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(texts.len(), 3);
    assert!(
        texts.iter().all(|t| t["out_id"] == texts[0]["out_id"]),
        "every retry carries the same idempotency key"
    );
    assert_eq!(texts[0]["phone"], "13900001111");
    assert_eq!(texts[0]["params"]["code"], letter["query_code"]);

    // Only administrators retry; a retry delivers it now that the gateway is back.
    let delivery = dead[0]["id"].as_str().unwrap();
    let staff = staff_in(&app, "h.dead", "410122", &[Role::Handler]).await;
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/deliveries/{delivery}/retry"),
            &staff,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/deliveries/{delivery}/retry"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    eventually("delivered after the retry", || async {
        let delivered = dead_letters(&app, &admin, "state=delivered").await;
        (delivered.len() == 1).then_some(())
    })
    .await;
    assert_eq!(sms.received_requests().await.unwrap().len(), 4);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/deliveries/{delivery}/discard"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(problem(res, 409).await["code"], "delivery_not_dead");
    assert_eq!(app.audit_entries(&admin, "delivery.retried").await.len(), 1);
    let res = app
        .get_as("/api/v1/admin/deliveries?state=lost", &admin)
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "invalid_field"
    );
}

#[tokio::test]
async fn an_endpoint_failing_past_the_limit_is_switched_off_and_gets_what_it_missed_when_back() {
    let (app, admin) = messaging_app(|s| s.messaging.webhook_disable_after_hours = 0).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let hotline = integrator(
        &app,
        &admin,
        "12345 热线",
        &["webhooks:manage", "petitions:write"],
    )
    .await;
    let res = app
        .post_json_as(
            "/api/v1/open/webhooks",
            &hotline.token,
            &json!({"url": format!("{}/hook", receiver.uri()), "event_types": ["petition.registered"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let endpoint_id = res.json::<Value>().await.unwrap()["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    bring(&app, &hotline, "fail-key-0001").await;

    let endpoint = eventually("the endpoint is switched off", || async {
        let e: Value = app
            .get_as(
                &format!("/api/v1/open/webhooks/{endpoint_id}"),
                &hotline.token,
            )
            .await
            .json()
            .await
            .unwrap();
        (e["active"] == false).then_some(e)
    })
    .await;
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("HTTP 500")
    );
    assert!(endpoint["failing_since"].is_string());
    assert_eq!(
        app.audit_entries(&admin, "webhook_endpoint.disabled")
            .await
            .len(),
        1
    );
    // What happens while it is off waits for it, as does what it had due: held, not lost.
    bring(&app, &hotline, "fail-key-0002").await;
    let log = |app: &TestApp| {
        let url = format!("/api/v1/open/webhooks/{endpoint_id}/deliveries");
        let token = hotline.token.clone();
        let client = app.client.clone();
        let url = app.url(&url);
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let held = eventually("two held deliveries", || async {
        let page = log(&app).await;
        let states: Vec<Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["state"].clone())
            .collect();
        (states == [json!("held"), json!("held")]).then_some(page)
    })
    .await;
    assert_eq!(held["items"][1]["log"][0]["outcome"], "retry");
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1);

    let res = app
        .patch_json_as(
            &format!("/api/v1/open/webhooks/{endpoint_id}"),
            &hotline.token,
            &json!({"active": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let back: Value = res.json().await.unwrap();
    assert_eq!(back["active"], true);
    assert!(back["disabled_reason"].is_null() && back["failing_since"].is_null());
    eventually("both delivered once it is back", || async {
        let page = log(&app).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "delivered")
            .then_some(())
    })
    .await;
    assert_eq!(receiver.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn two_dispatchers_deliver_each_item_once_and_a_killed_one_loses_nothing() {
    // The first instance takes requests and dispatches nothing; a second and a third (same
    // database, same cache) dispatch side by side.
    let (app, admin) = messaging_app(|s| s.messaging.dispatcher = false).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(20)))
        .mount(&receiver)
        .await;
    let hotline = integrator(
        &app,
        &admin,
        "12345 热线",
        &["webhooks:manage", "petitions:write"],
    )
    .await;
    let res = app
        .post_json_as(
            "/api/v1/open/webhooks",
            &hotline.token,
            &json!({"url": format!("{}/hook", receiver.uri()), "event_types": ["petition.registered"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    for i in 0..12 {
        bring(&app, &hotline, &format!("many-key-{i:04}")).await;
    }

    // A dispatcher that claims a batch and dies before attempting it: its lease runs out and
    // the others take the batch over.
    let conn = app.raw_db().await;
    let mut fan = fengqiao_infra::db::messaging::FanOutPolicy::default();
    fan.wechat.clear();
    let keyring = fengqiao_infra::keys::keyring(&app.settings).unwrap();
    fengqiao_infra::db::messaging::fan_out(&conn, &keyring, &fan, 100, chrono::Utc::now())
        .await
        .unwrap();
    let orphaned = fengqiao_infra::db::messaging::claim_due(
        &conn,
        4,
        Duration::from_secs(1),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(orphaned.len(), 4);

    let mut second = app.settings.clone();
    second.demo = false;
    second.messaging.dispatcher = true;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let instance = fengqiao_api::Application::build(second.clone())
            .await
            .expect("another instance builds");
        instances.push(tokio::spawn(instance.run_until_stopped()));
    }
    let received = eventually("twelve deliveries", || async {
        let r = receiver.received_requests().await.unwrap_or_default();
        (r.len() >= 12).then_some(r)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = receiver.received_requests().await.unwrap_or(received);
    let ids: std::collections::BTreeSet<String> = received
        .iter()
        .map(|r| {
            r.headers
                .get("webhook-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(received.len(), 12, "no delivery was sent twice");
    assert_eq!(ids.len(), 12);
    let orphan = fengqiao_infra::db::messaging::delivery(&conn, orphaned[0].id)
        .await
        .unwrap();
    assert_eq!(orphan.state, "delivered");
    assert_eq!(
        orphan.attempts, 2,
        "the dead dispatcher's claim counts as an attempt"
    );
    for handle in instances {
        handle.abort();
    }
}

#[tokio::test]
async fn the_push_callback_checks_its_signature_and_records_unsubscribes() {
    let (app, admin) = messaging_app(|s| {
        s.messaging.events = accepted_templates();
        s.wechat.push_token = Some(fengqiao_infra::config::Secret::new("push-token"));
    })
    .await;
    let sign = |timestamp: &str, nonce: &str| {
        use sha1::{Digest, Sha1};
        let mut parts = ["push-token", timestamp, nonce];
        parts.sort_unstable();
        Sha1::digest(parts.concat().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let now = chrono::Utc::now().timestamp().to_string();
    let good = sign(&now, "n0nce");
    let res = app
        .get(&format!(
            "/api/v1/wechat/push?signature={good}&timestamp={now}&nonce=n0nce&echostr=hello"
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "hello");
    let res = app
        .get(&format!(
            "/api/v1/wechat/push?signature=0000&timestamp={now}&nonce=n0nce&echostr=hello"
        ))
        .await;
    assert_eq!(problem(res, 403).await["code"], "invalid_signature");
    // A signature from an hour ago, however right, is not accepted again.
    let old = (chrono::Utc::now().timestamp() - 3600).to_string();
    let res = app
        .get(&format!(
            "/api/v1/wechat/push?signature={}&timestamp={old}&nonce=n0nce&echostr=hello",
            sign(&old, "n0nce")
        ))
        .await;
    assert_eq!(problem(res, 403).await["code"], "invalid_signature");

    let citizen = app.dev_citizen("pushy").await;
    let token = citizen["access_token"].as_str().unwrap();
    app.post_json_as(
        "/api/v1/me/subscriptions",
        token,
        &json!({"results": {"tmpl_accepted": "accept"}}),
    )
    .await;
    let event = json!({"ToUserName": "gh_123456789abc", "FromUserName": "dev:pushy",
        "CreateTime": 1764037800, "MsgType": "event", "Event": "subscribe_msg_change_event",
        "List": {"TemplateId": "tmpl_accepted", "SubscribeStatusString": "reject"}});
    let forged = app
        .post_json(
            &format!("/api/v1/wechat/push?signature=0000&timestamp={now}&nonce=n0nce"),
            &event,
        )
        .await;
    assert_eq!(forged.status(), 403);
    let res = app
        .post_json(
            &format!("/api/v1/wechat/push?signature={good}&timestamp={now}&nonce=n0nce"),
            &event,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "success");
    let grants: Value = app
        .get_as("/api/v1/me/subscriptions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants[0]["refused"], true);
    assert_eq!(grants[0]["remaining"], 0);
    assert_eq!(
        app.audit_entries(&admin, "subscription.pushed").await.len(),
        1
    );
}

#[tokio::test]
async fn refused_connections_timeouts_and_a_spent_quota_end_retried_then_dead_never_lost() {
    let (app, admin) = messaging_app(|s| {
        s.messaging.max_attempts = 2;
        s.messaging.webhook_timeout_secs = 1;
        s.messaging.events = accepted_templates();
        s.messaging.events.insert(
            "registered".into(),
            EventTemplates {
                wechat_template: Some("tmpl_registered".into()),
                wechat_data: BTreeMap::from([("character_string1".into(), "{tracking_no}".into())]),
                ..EventTemplates::default()
            },
        );
    })
    .await;
    mount_token(&app.wechat).await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/subscribe/send"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"errcode": 45009, "errmsg": "reach max api daily quota limit"}),
            ),
        )
        .mount(&app.wechat)
        .await;
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&slow)
        .await;
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let hotline = integrator(
        &app,
        &admin,
        "12345 热线",
        &["webhooks:manage", "petitions:write"],
    )
    .await;
    for url in [
        format!("{}/hook", slow.uri()),
        format!("http://127.0.0.1:{closed}/hook"),
    ] {
        let res = app
            .post_json_as(
                "/api/v1/open/webhooks",
                &hotline.token,
                &json!({"url": url, "event_types": ["petition.registered"]}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let citizen = app.dev_citizen("unlucky").await;
    let token = citizen["access_token"].as_str().unwrap();
    let res = app
        .post_json_as(
            "/api/v1/me/subscriptions",
            token,
            &json!({"results": {"tmpl_registered": "accept"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // The citizen's own petition goes to WeChat; the one the hotline brought, to its two
    // endpoints.
    submit(&app, token, "unlucky-key-0001").await;
    bring(&app, &hotline, "unlucky-key-0002").await;

    let dead = eventually("three dead letters", || async {
        let dead = dead_letters(&app, &admin, "").await;
        (dead.len() == 3).then_some(dead)
    })
    .await;
    let mut errors: Vec<String> = dead
        .iter()
        .map(|d| {
            assert_eq!(d["attempts"], 2);
            let log = d["log"].as_array().unwrap();
            assert_eq!(log.len(), 2);
            assert!(log.iter().all(|a| a["outcome"] == "retry"));
            format!(
                "{}: {}",
                d["channel"].as_str().unwrap(),
                d["last_error"].as_str().unwrap()
            )
        })
        .collect();
    errors.sort();
    assert!(errors[0].starts_with("webhook") && errors[1].starts_with("webhook"));
    assert!(errors.iter().any(|e| e.contains("timed out")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("could not connect")),
        "{errors:?}"
    );
    assert!(
        errors[2].starts_with("wechat") && errors[2].contains("45009"),
        "{errors:?}"
    );
    // The spent quota did not spend the citizen's allowance.
    let grants: Value = app
        .get_as("/api/v1/me/subscriptions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants[0]["remaining"], 1);
    // The inbox got it regardless.
    assert_eq!(
        notifications(&app, token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_integrator_never_passes_its_endpoint_limit_even_all_at_once() {
    let (app, admin) = messaging_app(|_| {}).await;
    let hotline = integrator(
        &app,
        &admin,
        "12345 热线",
        &["webhooks:manage", "petitions:write"],
    )
    .await;
    let hook = |i: usize| json!({"url": format!("http://127.0.0.1:9/hook/{i}"), "event_types": ["petition.accepted"]});
    for i in 0..8 {
        let res = app
            .post_json_as("/api/v1/open/webhooks", &hotline.token, &hook(i))
            .await;
        assert_eq!(res.status(), 201);
    }
    let mut tasks = Vec::new();
    for i in 8..12 {
        let (client, url, token, body) = (
            app.client.clone(),
            app.url("/api/v1/open/webhooks"),
            hotline.token.clone(),
            hook(i),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 409, 409]);
    let listed: Value = app
        .get_as("/api/v1/open/webhooks", &hotline.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 10);
}
