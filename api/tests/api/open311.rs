//! Open311 GeoReport v2 as an existing client speaks it: form-encoded requests with an
//! `api_key`, JSON and XML answers, the standard's error shape.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_demo_app};

async fn client_key(app: &TestApp, admin: &str, scopes: &[&str]) -> String {
    let res = app
        .post_json_as(
            "/api/v1/admin/api-clients",
            admin,
            &json!({"name": "Open311 客户端", "scopes": scopes, "rate_limit_per_minute": 600}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    format!(
        "{}:{}",
        body["client"]["client_id"].as_str().unwrap(),
        body["client_secret"].as_str().unwrap()
    )
}

async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_open311_client_lists_services_files_a_request_and_follows_it() {
    let (app, admin) = spawn_demo_app().await;
    // Services: the categories, in JSON and XML; a definition names the townships.
    let services: Value = app
        .get("/open311/v2/services.json")
        .await
        .json()
        .await
        .unwrap();
    let labour = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "labour")
        .expect("the labour category is a service");
    assert_eq!(labour["metadata"], true);
    assert_eq!(labour["type"], "realtime");
    let xml = app.get("/open311/v2/services.xml").await;
    assert!(
        xml.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let xml = xml.text().await.unwrap();
    assert!(xml.starts_with("<?xml") && xml.contains("<services><service>"));
    assert!(xml.contains("<service_code>labour</service_code>"));
    let definition: Value = app
        .get("/open311/v2/services/labour.json")
        .await
        .json()
        .await
        .unwrap();
    let guandu = app.org_id("410122-101").await.to_string();
    assert!(
        definition["attributes"][0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["key"] == guandu.as_str())
    );
    assert_eq!(
        app.get("/open311/v2/services/nonsense.json").await.status(),
        404
    );

    // A request: form-encoded with the key; the answer carries our tracking number.
    let key = client_key(&app, &admin, &["petitions:read", "petitions:write"]).await;
    let fields = [
        ("api_key", key.as_str()),
        ("service_code", "labour"),
        (
            "description",
            "工地拖欠农民工工资三个月\n涉及十二名工人，多次讨要未果。",
        ),
        ("attribute[township]", guandu.as_str()),
        ("first_name", "大明"),
        ("last_name", "王"),
        ("phone", "13900001111"),
        ("lat", "34.72"),
        ("long", "113.97"),
    ];
    let res = post_form(&app, "/open311/v2/requests.json", &fields).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = created[0]["token"].as_str().unwrap().to_owned();
    assert!(
        created[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains("15日")
    );

    // Read back: open, due, in JSON and XML; the token maps to it; filters hold.
    let one: Value = app
        .get(&format!("/open311/v2/requests/{id}.json?api_key={key}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one[0]["service_request_id"], id.as_str());
    assert_eq!(one[0]["status"], "open");
    assert_eq!(one[0]["service_name"], labour["service_name"]);
    assert!(
        one[0]["expected_datetime"]
            .as_str()
            .unwrap()
            .ends_with("23:59:59+08:00")
    );
    assert_eq!(one[0]["lat"], 34.72);
    let xml = app
        .get(&format!("/open311/v2/requests/{id}.xml?api_key={key}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")));
    assert!(xml.contains("<status>open</status>"));
    let by_token: Value = app
        .get(&format!("/open311/v2/tokens/{token}.json?api_key={key}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_token[0]["service_request_id"], id.as_str());
    let open: Value = app
        .get(&format!(
            "/open311/v2/requests.json?api_key={key}&status=open"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1);
    let closed: Value = app
        .get(&format!(
            "/open311/v2/requests.json?api_key={key}&status=closed"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(closed.as_array().unwrap().is_empty());
    let both: Value = app
        .get(&format!(
            "/open311/v2/requests.json?api_key={key}&status=open,closed"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        both.as_array().unwrap().len(),
        1,
        "comma lists, as the standard has them"
    );
    let res = app
        .get(&format!(
            "/open311/v2/requests.json?api_key={key}&service_request_id=%00"
        ))
        .await;
    assert_eq!(res.status(), 400, "a NUL byte is refused, never stored");
    let xml = app
        .get("/open311/v2/services/labour.xml")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains("<service_definition><attributes><attribute>")
            || xml.contains("<service_definition><service_code>"),
        "one root element: {xml}"
    );
    assert!(!xml.contains("<service_definition><service_definition>"));

    // It is a petition like any other, with channel open311.
    let staff: Value = app
        .get_as(&format!("/api/v1/admin/petitions/{token}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff["channel"], "open311");
    assert_eq!(staff["petitioner"]["name"], "王*明");

    // The standard's errors: a bad key 403, a missing field 400, both as [{code, description}].
    let mut bad_key = fields;
    bad_key[0] = ("api_key", "nobody:nothing");
    let res = post_form(&app, "/open311/v2/requests.json", &bad_key).await;
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body[0]["code"], 403);
    let res = post_form(&app, "/open311/v2/requests.xml", &fields[..3]).await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("<errors><error><code>400</code>"), "{body}");
    // Another integrator does not see the request.
    let other = client_key(&app, &admin, &["petitions:read"]).await;
    let res = app
        .get(&format!("/open311/v2/requests/{id}.json?api_key={other}"))
        .await;
    assert_eq!(res.status(), 404);
    // Discovery.
    let discovery: Value = app
        .get("/open311/discovery.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        discovery["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/open311/v2")
    );
}

#[tokio::test]
async fn every_open311_error_is_in_the_standards_shape_even_before_a_handler_runs() {
    let app = crate::helpers::spawn_app().await;
    // An unknown format: the standard's shape in JSON, which every client reads.
    let res = app
        .client
        .get(app.url("/open311/v2/services.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body[0]["code"], 400, "{body}");
    assert!(body[0]["description"].as_str().unwrap().contains("yaml"));
    // An unknown path asked for in XML: a 404 in XML.
    let res = app
        .client
        .get(app.url("/open311/v2/nothing-here.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("<errors><error><code>404</code>"), "{body}");
}

#[tokio::test]
async fn a_bearer_token_keeps_the_secret_out_of_urls_and_refusals_are_audited() {
    let (app, admin) = spawn_demo_app().await;
    let key = client_key(&app, &admin, &["petitions:read"]).await;
    let (client_id, secret) = key.split_once(':').unwrap();
    let res = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token: Value = res.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    let res = app
        .client
        .get(app.url("/open311/v2/requests.json"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "no api_key in the URL, the token instead"
    );
    assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
    // A read-only client may not file, whichever way it proves itself.
    let res = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("service_code=labour&description=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A wrong secret and a forged token are refused and audited, the secret never written.
    let res = app
        .client
        .get(app.url(&format!(
            "/open311/v2/requests.json?api_key={client_id}:not-the-secret"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .get(app.url("/open311/v2/requests/ZM1.xml"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let refused = app.audit_entries(&admin, "open311.api_key.refused").await;
    let reasons: Vec<&str> = refused
        .iter()
        .map(|e| e["detail"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| **r == "insufficient_scope")
            .count(),
        1
    );
    assert!(reasons.contains(&"wrong_secret") && reasons.contains(&"invalid_token"));
    assert!(
        !serde_json::to_string(&refused)
            .unwrap()
            .contains("not-the-secret")
    );
}
