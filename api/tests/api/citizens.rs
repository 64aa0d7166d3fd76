//! Citizens: WeChat sign-in against a loopback stand-in, refresh rotation and reuse detection,
//! real-name registration with sealed storage, phone binding, development login.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, problem, spawn_app, spawn_app_with};

async fn wechat_answers(app: &TestApp, code: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .and(query_param("js_code", code))
        .and(query_param("appid", "wx-test-appid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&app.wechat)
        .await;
}

async fn wechat_login(app: &TestApp, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/wechat", &json!({"code": code}))
        .await
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn a_wechat_sign_in_creates_the_citizen_once_and_keeps_the_session_key_secret() {
    let app = spawn_app().await;
    let session_key = "tiihtNczf5v6AKRyjwEUhQ==";
    for code in ["code-1", "code-2"] {
        wechat_answers(
            &app,
            code,
            json!({"openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "session_key": session_key, "unionid": "o6_union"}),
        )
        .await;
    }
    let first = wechat_login(&app, "code-1").await;
    assert_eq!(first.status(), 200);
    let first_text = first.text().await.unwrap();
    assert!(
        !first_text.contains(session_key),
        "session_key never leaves the server"
    );
    let first: Value = serde_json::from_str(&first_text).unwrap();
    assert_eq!(first["token_type"], "Bearer");
    assert!(first["refresh_token"].as_str().unwrap().len() >= 40);

    let second: Value = wechat_login(&app, "code-2").await.json().await.unwrap();
    assert_eq!(
        second["citizen"]["id"], first["citizen"]["id"],
        "same openid, same citizen"
    );

    let me: Value = app
        .get_as("/api/v1/me", first["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], first["citizen"]["id"]);
    assert_eq!(me["real_name"], false);

    let conn = app.raw_db().await;
    let row = fengqiao_infra::db::citizens::find_by_openid(&conn, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.unionid.as_deref(), Some("o6_union"));
    let stored = row.session_key.unwrap();
    assert!(!stored.contains(session_key), "sealed at rest: {stored}");
}

#[tokio::test]
async fn wechat_failures_become_clear_problems() {
    let app = spawn_app().await;
    for (code, errcode) in [("bad", 40029), ("used", 40163)] {
        wechat_answers(
            &app,
            code,
            json!({"errcode": errcode, "errmsg": "invalid code"}),
        )
        .await;
        let body = problem(wechat_login(&app, code).await, 401).await;
        assert_eq!(body["code"], "invalid_wechat_code");
    }
    wechat_answers(
        &app,
        "busy",
        json!({"errcode": -1, "errmsg": "system error"}),
    )
    .await;
    let res = wechat_login(&app, "busy").await;
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(problem(res, 503).await["code"], "dependency_unavailable");

    wechat_answers(
        &app,
        "flood",
        json!({"errcode": 45011, "errmsg": "api minute-quota reach limit"}),
    )
    .await;
    let res = wechat_login(&app, "flood").await;
    assert!(res.headers().get("retry-after").is_some());
    problem(res, 429).await;

    wechat_answers(
        &app,
        "risky",
        json!({"errcode": 40226, "errmsg": "high risk user"}),
    )
    .await;
    assert_eq!(
        problem(wechat_login(&app, "risky").await, 403).await["code"],
        "wechat_user_blocked"
    );
}

#[tokio::test]
async fn an_unreachable_wechat_is_a_503_not_a_500() {
    let app = spawn_app_with(|s| s.wechat.base_url = "http://127.0.0.1:1".into()).await;
    let res = wechat_login(&app, "any").await;
    assert!(res.headers().get("retry-after").is_some());
    let body = problem(res, 503).await;
    assert!(body["detail"].as_str().unwrap().contains("wechat"));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let app = spawn_app().await;
    let session = app.dev_citizen("zhang").await;
    let r1 = session["refresh_token"].as_str().unwrap().to_owned();

    let second: Value = refresh(&app, &r1).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "rotated");
    assert_eq!(second["citizen"]["id"], session["citizen"]["id"]);
    let third: Value = refresh(&app, &r2).await.json().await.unwrap();
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();

    // The first token again: a thief (or the owner after theft) replays it.
    let body = problem(refresh(&app, &r1).await, 401).await;
    assert_eq!(body["code"], "refresh_token_reused");
    // The whole family is gone, including the newest token.
    let body = problem(refresh(&app, &r3).await, 401).await;
    assert_eq!(body["code"], "invalid_refresh_token");

    // A fresh sign-in starts a new family that works.
    let again = app.dev_citizen("zhang").await;
    assert_eq!(
        refresh(&app, again["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(
        problem(refresh(&app, "made-up").await, 401).await["code"],
        "invalid_refresh_token"
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_rotate_at_most_once_and_revoke_the_family() {
    let app = spawn_app().await;
    for round in 0..5 {
        let session = app.dev_citizen(&format!("racer-{round}")).await;
        let token = session["refresh_token"].as_str().unwrap().to_owned();
        let results = futures_util::future::join_all((0..4).map(|_| refresh(&app, &token))).await;
        let mut winners = Vec::new();
        for res in results {
            if res.status() == 200 {
                let body: Value = res.json().await.unwrap();
                winners.push(body["refresh_token"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(res.status(), 401, "round {round}");
            }
        }
        assert!(
            winners.len() <= 1,
            "round {round}: at most one rotation, got {}",
            winners.len()
        );
        // Whoever lost saw a reuse and revoked the family: the winner's new token is dead too.
        if let Some(winner) = winners.first() {
            assert_eq!(
                refresh(&app, winner).await.status(),
                401,
                "round {round}: the family is revoked"
            );
        }
    }
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let session = app.dev_citizen("wang").await;
    let token = session["refresh_token"].as_str().unwrap();
    let res = app
        .post_json("/api/v1/auth/logout", &json!({"refresh_token": token}))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        problem(refresh(&app, token).await, 401).await["code"],
        "invalid_refresh_token"
    );
}

#[tokio::test]
async fn real_name_details_are_checked_sealed_and_masked() {
    let app = spawn_app().await;
    let session = app.dev_citizen("zhao").await;
    let token = session["access_token"].as_str().unwrap();

    let res = app
        .put_json_as(
            "/api/v1/me/real-name",
            token,
            &json!({"name": "张3", "id_number": "110105194912310021", "phone": "12345"}),
        )
        .await;
    let body = problem(res, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "id_number", "phone"]);
    assert_eq!(body["errors"][1]["code"], "id_number_checksum");

    let res = app
        .put_json_as(
            "/api/v1/me/real-name",
            token,
            &json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000",
                    "address": "河南省郑州市中牟县青年路一号"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let profile: Value = res.json().await.unwrap();
    assert_eq!(profile["real_name"], true);
    assert_eq!(profile["name"], "张*三");
    assert_eq!(profile["id_number"], "110105********002X");
    assert_eq!(profile["phone"], "138****8000");
    assert_eq!(profile["address"], "河南省郑州市****");
    assert_eq!(profile["masked"], true);

    // A plain SELECT * shows nothing readable, in any column.
    let conn = app.raw_db().await;
    let id: uuid::Uuid = session["citizen"]["id"].as_str().unwrap().parse().unwrap();
    let backend = sea_orm::ConnectionTrait::get_database_backend(&conn);
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => "SELECT * FROM citizens WHERE id = $1",
        _ => "SELECT * FROM citizens WHERE id = ?",
    };
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &conn,
        sea_orm::Statement::from_sql_and_values(backend, sql, [id.into()]),
    )
    .await
    .unwrap()
    .expect("the citizen's row");
    let mut textual = 0;
    for (i, name) in row.column_names().iter().enumerate() {
        let value = if let Ok(text) = row.try_get_by_index::<Option<String>>(i) {
            text
        } else if let Ok(bytes) = row.try_get_by_index::<Option<Vec<u8>>>(i) {
            bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
        } else {
            continue;
        };
        textual += 1;
        for clear in [
            "张小三",
            "小三",
            "11010519491231002X",
            "13800138000",
            "19491231",
        ] {
            assert!(
                !value.as_deref().unwrap_or("").contains(clear),
                "{clear} readable in column {name}"
            );
        }
    }
    assert!(textual >= 8, "the text columns were read ({textual})");
    // The lookup hash finds the citizen by exact ID number without decrypting.
    let keyring = fengqiao_infra::keys::keyring(&app.settings).unwrap();
    let hash = keyring.lookup_hash("citizens.id_number", "11010519491231002X");
    let found = fengqiao_infra::db::citizens::find_by_id_number_hash(&conn, &hash)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, id);
}

#[tokio::test]
async fn the_phone_number_wechat_vouches_for_is_bound() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "ACCESS_TOKEN", "expires_in": 7200})),
        )
        .expect(1)
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .and(query_param("access_token", "ACCESS_TOKEN"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 0, "errmsg": "ok",
            "phone_info": {"phoneNumber": "+8613912345678", "purePhoneNumber": "13912345678", "countryCode": "86",
                           "watermark": {"timestamp": 1637744274, "appid": "wx-test-appid"}}
        })))
        .mount(&app.wechat)
        .await;
    let session = app.dev_citizen("sun").await;
    let token = session["access_token"].as_str().unwrap();
    let res = app
        .post_json_as("/api/v1/me/phone", token, &json!({"code": "phone-code"}))
        .await;
    assert_eq!(res.status(), 200);
    let profile: Value = res.json().await.unwrap();
    assert_eq!(profile["phone"], "139****5678");
    // A second binding reuses the cached access token (the stand-in expects one fetch).
    assert_eq!(
        app.post_json_as("/api/v1/me/phone", token, &json!({"code": "phone-code"}))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_development_login_exists_only_when_enabled() {
    let app = spawn_app_with(|s| s.auth.dev_login = Some(false)).await;
    let res = app
        .post_json("/api/v1/auth/dev-login", &json!({"openid": "x"}))
        .await;
    assert_eq!(problem(res, 404).await["code"], "route_not_found");
}

#[tokio::test]
async fn citizen_and_staff_tokens_do_not_cross() {
    let (app, admin) = crate::helpers::spawn_demo_app().await;
    let citizen = app.dev_citizen("zhou").await;
    let citizen_token = citizen["access_token"].as_str().unwrap();
    assert_eq!(
        problem(app.get_as("/api/v1/admin/me", citizen_token).await, 401).await["code"],
        "invalid_token"
    );
    assert_eq!(
        problem(app.get_as("/api/v1/me", &admin).await, 401).await["code"],
        "invalid_token"
    );
}

#[tokio::test]
async fn a_double_tapped_first_sign_in_makes_one_citizen() {
    let app = spawn_app().await;
    let body = json!({"openid": "double-tap"});
    let results = futures_util::future::join_all(
        (0..8).map(|_| app.post_json("/api/v1/auth/dev-login", &body)),
    )
    .await;
    let mut ids = std::collections::HashSet::new();
    for res in results {
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        ids.insert(body["citizen"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1);
}
