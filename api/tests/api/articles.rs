//! The guide and the news: public reads with ETags and a cache that a change empties, editors'
//! drafts, revisions, publication now or later, sanitised bodies, views counted without a
//! write per view, and the contacts page.

use serde_json::{Value, json};

use crate::helpers::{problem, spawn_demo_app, staff_in};

#[tokio::test]
async fn the_public_reads_channels_articles_and_contacts_with_etags() {
    let (app, _) = spawn_demo_app().await;
    let channels: Value = app.get("/api/v1/channels").await.json().await.unwrap();
    let codes: Vec<&str> = channels
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 8);
    assert!(codes.contains(&"guide-laws") && codes.contains(&"news-national"));

    let res = app.get("/api/v1/channels/guide-laws/articles").await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let page: Value = res.json().await.unwrap();
    let first = &page["items"][0];
    let again = app
        .client
        .get(app.url("/api/v1/channels/guide-laws/articles"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let detail: Value = app
        .get(&format!(
            "/api/v1/articles/{}",
            first["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["channel"], "guide-laws");
    assert!(!detail["body"].as_str().unwrap().is_empty());

    let res = app.get("/api/v1/channels/no-such/articles").await;
    assert_eq!(problem(res, 404).await["code"], "channel_not_found");
    let res = app
        .get("/api/v1/channels/guide-laws/articles?cursor=%25%25")
        .await;
    assert_eq!(res.status(), 422);

    let contacts: Value = app.get("/api/v1/contacts").await.json().await.unwrap();
    assert!(!contacts["visit"].as_array().unwrap().is_empty());
    assert!(!contacts["letter"].as_array().unwrap().is_empty());
    assert!(!contacts["hotline"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn editors_draft_publish_revise_and_withdraw_and_the_public_sees_it_at_once() {
    use fengqiao_domain::identity::Role;
    let (app, admin) = spawn_demo_app().await;
    let editor = staff_in(&app, "e.news", "410122", &[Role::Editor]).await;
    let handler = staff_in(&app, "h.news", "410122", &[Role::Handler]).await;
    let body = json!({
        "channel": "news-zhongmu",
        "title": "我县召开信访工作联席会议",
        "summary": "部署下一阶段信访积案化解工作。",
        "body": "<p onclick=\"steal()\">会议要求<strong>压实责任</strong>。</p><script>alert(1)</script>\
                 <img src=\"https://example.gov.cn/meeting.jpg\" onerror=\"x()\"><iframe src=\"https://evil.example\"></iframe>",
        "author": "县信访局"
    });
    let res = app
        .post_json_as("/api/v1/admin/articles", &handler, &body)
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_json_as(
            "/api/v1/admin/articles",
            &editor,
            &json!({"channel": "news-zhongmu", "title": "", "body": "x"}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "title");
    let res = app
        .post_json_as("/api/v1/admin/articles", &editor, &body)
        .await;
    assert_eq!(res.status(), 201);
    let draft: Value = res.json().await.unwrap();
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(draft["state"], "draft");
    let stored = draft["body"].as_str().unwrap();
    for gone in ["onclick", "<script", "alert", "onerror", "<iframe"] {
        assert!(!stored.contains(gone), "{gone} in {stored}");
    }
    assert!(stored.contains("<strong>压实责任</strong>") && stored.contains("meeting.jpg"));

    // Cached list first, so the test proves the publication empties the cache.
    let before: Value = app
        .get("/api/v1/channels/news-zhongmu/articles")
        .await
        .json()
        .await
        .unwrap();
    let count_before = before["items"].as_array().unwrap().len();
    assert_eq!(
        problem(app.get(&format!("/api/v1/articles/{id}")).await, 404).await["code"],
        "article_not_found"
    );

    let res = app
        .post_json_as(
            &format!("/api/v1/admin/articles/{id}/publish"),
            &editor,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let after: Value = app
        .get("/api/v1/channels/news-zhongmu/articles")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["items"].as_array().unwrap().len(), count_before + 1);
    assert_eq!(after["items"][0]["id"], id.as_str());

    // An edit shows at once and is kept as a revision.
    let mut edited = body.clone();
    edited["title"] = json!("我县召开信访工作联席会议（更新）");
    edited["pinned"] = json!(true);
    let res = app
        .put_json_as(&format!("/api/v1/admin/articles/{id}"), &editor, &edited)
        .await;
    assert_eq!(res.status(), 200);
    let detail: Value = app
        .get(&format!("/api/v1/articles/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["title"], "我县召开信访工作联席会议（更新）");
    let revisions: Value = app
        .get_as(&format!("/api/v1/admin/articles/{id}/revisions"), &editor)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revisions.as_array().unwrap().len(), 2);

    // Withdrawn: gone from the public pages; scheduled for tomorrow: not there yet.
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/articles/{id}/unpublish"),
            &editor,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get(&format!("/api/v1/articles/{id}")).await.status(),
        404
    );
    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/articles/{id}/publish"),
            &editor,
            &json!({"at": tomorrow.to_rfc3339()}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["state"], "scheduled");
    assert_eq!(
        app.get(&format!("/api/v1/articles/{id}")).await.status(),
        404
    );
    let drafts: Value = app
        .get_as(
            "/api/v1/admin/articles?channel=news-zhongmu&state=scheduled",
            &editor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drafts["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.audit_entries(&admin, "article.published").await.len(),
        2
    );

    // Channels are data: a county adds one and renames another.
    let res = app
        .post_json_as(
            "/api/v1/admin/channels",
            &editor,
            &json!({"code": "news-county", "section": "news", "name": "县内动态", "sort_order": 9}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .post_json_as(
            "/api/v1/admin/channels",
            &editor,
            &json!({"code": "news-county", "section": "news", "name": "重复"}),
        )
        .await;
    assert_eq!(problem(res, 409).await["code"], "channel_exists");
    let res = app
        .post_json_as(
            "/api/v1/admin/channels",
            &editor,
            &json!({"code": "Bad Code", "section": "news", "name": "x"}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "code");
    let res = app
        .put_json_as(
            "/api/v1/admin/channels/news-zhongmu",
            &editor,
            &json!({"name": "中牟县人民政府"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let channels: Value = app.get("/api/v1/channels").await.json().await.unwrap();
    let names: Vec<&str> = channels
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"县内动态") && names.contains(&"中牟县人民政府"));
}

#[tokio::test]
async fn views_are_counted_without_a_write_per_view() {
    let (app, _) = spawn_demo_app().await;
    let page: Value = app
        .get("/api/v1/channels/guide-faq/articles")
        .await
        .json()
        .await
        .unwrap();
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(
            app.get(&format!("/api/v1/articles/{id}")).await.status(),
            200
        );
    }
    let conn = app.raw_db().await;
    // Counted in memory, added within a few seconds.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(12);
    loop {
        let row = fengqiao_infra::db::articles::article(&conn, id.parse().unwrap())
            .await
            .unwrap();
        if row.view_count >= 3 {
            assert_eq!(row.view_count, 3);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "views recorded");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn feeds_are_taken_once_and_a_broken_or_slow_feed_is_recorded_not_fatal() {
    use fengqiao_domain::identity::Role;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let feeds = MockServer::start().await;
    let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>国家信访局</title>
        <item><title>第一条新闻</title><link>https://example.gov.cn/n/1</link><guid>n-1</guid>
        <description>&lt;p&gt;正文一&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</description></item>
        <item><title>第二条新闻</title><link>https://example.gov.cn/n/2</link><guid>n-2</guid>
        <description>正文二</description></item></channel></rss>"#;
    let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
        <title>河南信访</title><id>urn:f</id><updated>2026-11-25T09:00:00Z</updated>
        <entry><title>第三条新闻</title><id>urn:e:3</id><updated>2026-11-25T09:00:00Z</updated>
        <link href="https://example.gov.cn/n/3"/><content type="html">&lt;p&gt;正文三&lt;/p&gt;</content></entry></feed>"#;
    for (p, body) in [
        ("/good.rss", rss),
        ("/atom.xml", atom),
        ("/broken.xml", "<html>oops"),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&feeds)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/slow.rss"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(rss)
                .set_delay(std::time::Duration::from_secs(3)),
        )
        .mount(&feeds)
        .await;
    let app = crate::helpers::spawn_app_with(|s| {
        s.demo = true;
        s.feeds.check_secs = 1;
        s.feeds.timeout_secs = 1;
    })
    .await;
    let editor = staff_in(&app, "e.feeds", "410122", &[Role::Editor]).await;
    let urls: Vec<String> = ["good.rss", "atom.xml", "broken.xml", "slow.rss"]
        .iter()
        .map(|f| format!("{}/{f}", feeds.uri()))
        .collect();
    let res = app
        .put_json_as(
            "/api/v1/admin/channels/news-national/feeds",
            &editor,
            &json!({"urls": ["ftp://x.example/feed"], "publish": true}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "invalid_url");
    let res = app
        .put_json_as(
            "/api/v1/admin/channels/news-national/feeds",
            &editor,
            &json!({"urls": urls, "publish": true}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let before: Value = app
        .get("/api/v1/channels/news-national/articles")
        .await
        .json()
        .await
        .unwrap();
    let existing = before["items"].as_array().unwrap().len();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        let status: Value = app
            .get_as("/api/v1/admin/channels/news-national/feeds", &editor)
            .await
            .json()
            .await
            .unwrap();
        let fetched = status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["last_fetched_at"].is_string());
        if fetched {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "every feed fetched once"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let by_url = |name: &str| {
        status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["url"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    assert!(
        by_url("broken.xml")["last_error"]
            .as_str()
            .unwrap()
            .contains("not a feed")
    );
    assert!(
        by_url("slow.rss")["last_error"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert!(by_url("good.rss")["last_error"].is_null());

    // Another round or two: nothing filed twice.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let after: Value = app
        .get("/api/v1/channels/news-national/articles")
        .await
        .json()
        .await
        .unwrap();
    let items = after["items"].as_array().unwrap();
    assert_eq!(items.len(), existing + 3);
    let titles: Vec<&str> = items.iter().map(|a| a["title"].as_str().unwrap()).collect();
    for t in ["第一条新闻", "第二条新闻", "第三条新闻"] {
        assert_eq!(titles.iter().filter(|x| **x == t).count(), 1, "{t} once");
    }
    let first = items.iter().find(|a| a["title"] == "第一条新闻").unwrap();
    let detail: Value = app
        .get(&format!(
            "/api/v1/articles/{}",
            first["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(!detail["body"].as_str().unwrap().contains("script"));
    assert_eq!(detail["source"], "国家信访局");
    assert_eq!(detail["source_url"], "https://example.gov.cn/n/1");
}
