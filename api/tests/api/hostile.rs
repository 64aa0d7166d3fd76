//! Hostile input over real HTTP: forged, tampered and expired tokens; bodies nested deep or
//! sent too large; injection strings in every text field of every operation; traversal in
//! uploaded file names. Each is refused with a clear 4xx or stored as plain data, never a 500.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app_with, spawn_demo_app};

fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let mut decode = || -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap()
    };
    (decode(), decode())
}

fn encode(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[tokio::test]
async fn forged_tampered_and_expired_tokens_are_all_the_same_401() {
    let (app, admin) = spawn_demo_app().await;
    let me = "/api/v1/admin/me";
    assert_eq!(app.get_as(me, &admin).await.status(), 200);
    let (header, claims) = parts(&admin);
    let signature = admin.rsplit('.').next().unwrap();

    // `alg: none`, no signature.
    let mut none = header.clone();
    none["alg"] = json!("none");
    let unsigned = format!("{}.{}.", encode(&none), encode(&claims));
    // The payload raised to another account's powers, the signature kept.
    let mut raised = claims.clone();
    raised["roles"] = json!(["administrator", "supervisor", "leader"]);
    raised["sub"] = json!(uuid::Uuid::new_v4());
    let tampered = format!("{}.{}.{signature}", encode(&header), encode(&raised));
    // The right key, but expired an hour ago (past the 30 s leeway).
    let secret = fengqiao_infra::keys::jwt_secret(&app.settings).unwrap();
    let mut old = claims.clone();
    let now = chrono::Utc::now().timestamp();
    old["iat"] = json!(now - 7200);
    old["exp"] = json!(now - 3600);
    let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jwt_header.kid = header["kid"].as_str().map(str::to_owned);
    let expired = jsonwebtoken::encode(
        &jwt_header,
        &old,
        &jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .unwrap();
    // The same, unexpired: proves the forgery above is right but for its expiry.
    let mut fresh = old.clone();
    fresh["exp"] = json!(now + 600);
    let resigned = jsonwebtoken::encode(
        &jwt_header,
        &fresh,
        &jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .unwrap();
    assert_eq!(app.get_as(me, &resigned).await.status(), 200);
    // Another algorithm with the same key; an unknown key id; an empty and a huge token.
    let hs512 = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512);
        h.kid = jwt_header.kid.clone();
        jsonwebtoken::encode(
            &h,
            &fresh,
            &jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes()),
        )
        .unwrap()
    };
    let mut unknown_kid = jwt_header.clone();
    unknown_kid.kid = Some("retired-long-ago".into());
    let unknown = jsonwebtoken::encode(
        &unknown_kid,
        &fresh,
        &jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .unwrap();
    let huge = "a".repeat(6000);
    for (what, token) in [
        ("alg none", unsigned.as_str()),
        ("tampered payload", tampered.as_str()),
        ("expired", expired.as_str()),
        ("HS512", hs512.as_str()),
        ("unknown kid", unknown.as_str()),
        ("garbage", "not-a-token"),
        ("huge", huge.as_str()),
    ] {
        let res = app.get_as(me, token).await;
        let body = problem(res, 401).await;
        assert_eq!(body["code"], "invalid_token", "{what}: {body}");
    }
}

#[tokio::test]
async fn deeply_nested_and_oversized_bodies_are_refused_cleanly() {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.petition.attachment_max_bytes = 4096;
    })
    .await;
    let citizen = app.dev_citizen("hostile.body").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Ten thousand levels of arrays: the parser's depth limit answers, not the stack.
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(&citizen)
        .header("content-type", "application/json")
        .header("idempotency-key", "hostile-nested-0001")
        .body(nested)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 400).await["code"], "malformed_json");
    // Over the body limit: 413 before anything is parsed.
    let big = format!("{{\"title\": \"{}\"}}", "长".repeat(600_000));
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(&citizen)
        .header("content-type", "application/json")
        .header("idempotency-key", "hostile-big-0001")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // An attachment over its own limit.
    let (content_type, body) = multipart("photo.jpg", &[0xFF; 8192]);
    let res = app
        .client
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&citizen)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // The service is whole afterwards.
    assert_eq!(app.get("/health/ready").await.status(), 200);
}

fn multipart(filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "hostile-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_traversing_file_name_names_nothing_on_disk() {
    let (app, _) = spawn_demo_app().await;
    let citizen = app.dev_citizen("hostile.file").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0x00]);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0x56, 0xFF, 0xD9]);
    let (content_type, body) = multipart("../../../../../../tmp/fengqiao-escaped.jpg", &jpeg);
    let res = app
        .client
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&citizen)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !std::path::Path::new("/tmp/fengqiao-escaped.jpg").exists(),
        "the client's name is never a path"
    );
    let res = app
        .get_as(&format!("/api/v1/attachments/{id}"), &citizen)
        .await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains(&id) && !disposition.contains(".."),
        "{disposition}"
    );
    // Stored under the attachments directory by id, nowhere else.
    let stored: Vec<_> = walk(&app.settings.attachments_dir());
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|p| !p.contains("escaped")), "{stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Every string of a JSON value replaced by `with`.
fn poison(v: &mut Value, with: &str) {
    match v {
        Value::String(s) => *s = format!("{s}{with}"),
        Value::Array(items) => items.iter_mut().for_each(|i| poison(i, with)),
        Value::Object(map) => map.values_mut().for_each(|i| poison(i, with)),
        _ => {}
    }
}

/// SQL and script injection in every text field of every operation that takes JSON, sent as
/// the caller each one names: refused with a 4xx or stored as data, never a 5xx, and the
/// register is whole afterwards. A submission's text comes back exactly as written.
#[tokio::test]
async fn injection_strings_in_every_text_field_are_data() {
    let app = spawn_app_with(|s| {
        s.demo = true;
        s.rate_limit.per_ip_per_minute = 0;
    })
    .await;
    let admin = app.admin_token().await;
    // WeChat as it answers a code it never issued, and content that passes its check.
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    for (verb, route, answer) in [
        (
            "GET",
            "/sns/jscode2session",
            json!({"errcode": 40029, "errmsg": "invalid code"}),
        ),
        (
            "POST",
            "/wxa/business/getuserphonenumber",
            json!({"errcode": 40029, "errmsg": "invalid code"}),
        ),
        (
            "POST",
            "/cgi-bin/stable_token",
            json!({"access_token": "stand-in", "expires_in": 7200}),
        ),
        (
            "POST",
            "/wxa/msg_sec_check",
            json!({"errcode": 0, "errmsg": "ok", "result": {"suggest": "pass", "label": 100}}),
        ),
    ] {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&app.wechat)
            .await;
    }
    let citizen = app.dev_citizen("hostile.inject").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc: Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    const SQL: &str = "'); DROP TABLE petitions; --";
    const SCRIPT: &str = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>";
    let mut sent = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|s| Value::Object(s.clone()))
            else {
                continue;
            };
            let schema = match schema["$ref"].as_str() {
                Some(r) => doc["components"]["schemas"][r.rsplit('/').next().unwrap()].clone(),
                None => schema,
            };
            let Some(example) = schema.get("example").cloned() else {
                continue;
            };
            let token = match op["security"][0].as_object() {
                Some(s) if s.contains_key("citizen_bearer") => Some(citizen.as_str()),
                Some(s) if s.contains_key("staff_bearer") => Some(admin.as_str()),
                _ => None,
            };
            if op["operationId"] == "staffLogout" {
                continue;
            }
            let url = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "0193a6f2-7c1e-7d3a-9f1e-000000000000"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for with in [SQL, SCRIPT] {
                let mut body = example.clone();
                poison(&mut body, with);
                let mut req = app
                    .client
                    .request(method.to_uppercase().parse().unwrap(), app.url(&url))
                    .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                    .json(&body);
                if let Some(token) = token {
                    req = req.bearer_auth(token);
                }
                let status = req.send().await.unwrap().status().as_u16();
                sent += 1;
                assert!(
                    status < 500,
                    "{} {url} with {with:?}: {status}",
                    op["operationId"]
                );
            }
        }
    }
    assert!(sent > 100, "the operations were found: {sent}");

    // A petition's text is data: it comes back exactly as the citizen wrote it.
    let content = format!("村道积水。{SQL} {SCRIPT}");
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(&citizen)
        .header("idempotency-key", "hostile-inject-0001")
        .json(&json!({
            "kind": "complaint", "category_code": "transport",
            "title": "村道路面破损请求维修", "content": content,
            "township_id": app.org_id("410122-101").await,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let back: Value = app
        .get_as(&format!("/api/v1/petitions/{id}"), &citizen)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["content"], content.as_str());
    let inbox = app.get_as("/api/v1/admin/petitions", &admin).await;
    assert_eq!(inbox.status(), 200, "the register is whole");
}
