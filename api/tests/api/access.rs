//! The access matrix: what each role, in which unit, and each citizen can reach.

use fengqiao_domain::identity::Role;
use serde_json::Value;

use crate::helpers::{problem, spawn_demo_app, staff_in};

const UNITS: &str = "/api/v1/admin/org-units?limit=100";

async fn codes(app: &crate::helpers::TestApp, token: &str) -> Vec<String> {
    let page: Value = app.get_as(UNITS, token).await.json().await.unwrap();
    let mut codes: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn township_staff_see_their_own_subtree_and_nothing_else() {
    let (app, admin) = spawn_demo_app().await;
    let guandu = staff_in(&app, "clerk.guandu", "410122-101", &[Role::Registrar]).await;
    let yanming = staff_in(&app, "clerk.yanming", "410122-106", &[Role::Registrar]).await;
    let supervisor = staff_in(&app, "supervisor.county", "410122", &[Role::Supervisor]).await;

    assert_eq!(
        codes(&app, &guandu).await,
        [
            "410122-101",
            "410122-101-001",
            "410122-101-001-01",
            "410122-101-001-02",
            "410122-101-002"
        ]
    );
    assert_eq!(
        codes(&app, &yanming).await,
        ["410122-106", "410122-106-001"]
    );
    assert_eq!(
        codes(&app, &supervisor).await.len(),
        26,
        "the county subtree is everything"
    );
    assert_eq!(codes(&app, &admin).await.len(), 26);

    // Another township's unit is not found, not forbidden: its existence is not disclosed.
    let other = app.org_id("410122-106").await;
    let body = problem(
        app.get_as(&format!("/api/v1/admin/org-units/{other}"), &guandu)
            .await,
        404,
    )
    .await;
    assert_eq!(body["code"], "org_unit_not_found");
    let own = app.org_id("410122-101-002").await;
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/org-units/{own}"), &guandu)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn each_role_reaches_what_it_needs_and_no_more() {
    let (app, admin) = spawn_demo_app().await;
    let registrar = staff_in(&app, "r.county", "410122", &[Role::Registrar]).await;
    let handler = staff_in(&app, "h.land", "410122-d-zrzy", &[Role::Handler]).await;
    let supervisor = staff_in(&app, "s.county", "410122", &[Role::Supervisor]).await;
    let leader = staff_in(&app, "l.county", "410122", &[Role::Leader]).await;
    let editor = staff_in(&app, "e.county", "410122", &[Role::Editor]).await;

    // (path, method, who may) — everyone else gets 403.
    let staff_list = "/api/v1/admin/staff";
    let audit = "/api/v1/admin/audit";
    let clients = "/api/v1/admin/api-clients";
    let cases: [(&str, &[(&str, &String)]); 3] = [
        (
            staff_list,
            &[
                ("administrator", &admin),
                ("supervisor", &supervisor),
                ("leader", &leader),
            ],
        ),
        (audit, &[("administrator", &admin)]),
        (clients, &[("administrator", &admin)]),
    ];
    let everyone = [
        ("administrator", &admin),
        ("registrar", &registrar),
        ("handler", &handler),
        ("supervisor", &supervisor),
        ("leader", &leader),
        ("editor", &editor),
    ];
    for (path, allowed) in cases {
        for (role, token) in everyone {
            let status = app.get_as(path, token).await.status().as_u16();
            let expected = if allowed.iter().any(|(r, _)| *r == role) {
                200
            } else {
                403
            };
            assert_eq!(status, expected, "{role} on GET {path}");
        }
    }
    // A county supervisor lists the whole county's staff; a township's leader only the
    // township's.
    let page: Value = app
        .get_as(staff_list, &supervisor)
        .await
        .json()
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().len() >= 6);
    let township_leader = staff_in(&app, "l.guandu", "410122-101", &[Role::Leader]).await;
    let page: Value = app
        .get_as(staff_list, &township_leader)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["l.guandu"], "only the township's own staff");
}

#[tokio::test]
async fn personal_data_is_masked_and_revealed_only_to_those_who_need_it() {
    let (app, admin) = spawn_demo_app().await;
    let registrar = staff_in(&app, "r.reveal", "410122", &[Role::Registrar]).await;
    let supervisor = staff_in(&app, "s.reveal", "410122", &[Role::Supervisor]).await;
    let editor = staff_in(&app, "e.reveal", "410122", &[Role::Editor]).await;

    let citizen_a = app.dev_citizen("citizen-a").await;
    let citizen_b = app.dev_citizen("citizen-b").await;
    let token_a = citizen_a["access_token"].as_str().unwrap();
    app.put_json_as(
        "/api/v1/me/real-name",
        token_a,
        &serde_json::json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000"}),
    )
    .await;
    let id_a = citizen_a["citizen"]["id"].as_str().unwrap();
    // Staff reach a citizen through the citizen's petitions: A petitions about 官渡镇.
    let petition = serde_json::json!({
        "kind": "complaint", "category_code": "transport", "title": "村道路面破损请求维修",
        "content": "官渡桥村东头道路破损严重，雨天积水，请求维修。",
        "township_id": app.org_id("410122-101").await
    });
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(token_a)
        .header("idempotency-key", "access-test-0001")
        .json(&petition)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let elsewhere = staff_in(&app, "r.yanming", "410122-106", &[Role::Registrar]).await;
    let res = app
        .get_as(
            &format!("/api/v1/admin/citizens/{id_a}?reveal=true"),
            &elsewhere,
        )
        .await;
    assert_eq!(
        problem(res, 404).await["code"],
        "citizen_not_found",
        "another township never reaches A"
    );

    // Each citizen sees only themselves; there is no route to another citizen's profile.
    let me_b: Value = app
        .get_as("/api/v1/me", citizen_b["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me_b["id"], citizen_b["citizen"]["id"]);
    assert_eq!(me_b["real_name"], false);
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/citizens/{id_a}"), token_a)
            .await
            .status(),
        401
    );

    let masked: Value = app
        .get_as(&format!("/api/v1/admin/citizens/{id_a}"), &supervisor)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(masked["name"], "张*三");
    assert_eq!(masked["masked"], true);
    let refused = app
        .get_as(
            &format!("/api/v1/admin/citizens/{id_a}?reveal=true"),
            &supervisor,
        )
        .await;
    assert_eq!(problem(refused, 403).await["code"], "forbidden");
    assert_eq!(
        app.get_as(&format!("/api/v1/admin/citizens/{id_a}"), &editor)
            .await
            .status(),
        403
    );

    let clear: Value = app
        .get_as(
            &format!("/api/v1/admin/citizens/{id_a}?reveal=true"),
            &registrar,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(clear["name"], "张小三");
    assert_eq!(clear["id_number"], "11010519491231002X");
    assert_eq!(clear["masked"], false);

    let reads = app
        .audit_entries(&admin, "citizen.personal_data.read")
        .await;
    assert_eq!(reads.len(), 1, "exactly the one clear read is audited");
    assert_eq!(reads[0]["record_id"], id_a);
    assert_eq!(reads[0]["actor_roles"], "registrar");
}

// ---------------------------------------------------------------------------------------------
// The matrix over the whole document: every operation the server publishes is called as each
// kind of caller, with the example request the document itself gives, and must keep to its
// rule. A new operation without a rule here fails the test, with the line to add.

use std::collections::BTreeMap;

const COUNTY_ROLES: [Role; 6] = [
    Role::Registrar,
    Role::Handler,
    Role::Supervisor,
    Role::Leader,
    Role::Editor,
    Role::Administrator,
];
const ANY_STAFF: &[Role] = &COUNTY_ROLES;
const ADMIN: &[Role] = &[Role::Administrator];
const EDITORS: &[Role] = &[Role::Editor, Role::Administrator];
const READERS: &[Role] = &[Role::Supervisor, Role::Leader, Role::Administrator];
const RECEPTION: &[Role] = &[Role::Registrar, Role::Handler, Role::Administrator];

/// The roles a staff operation lets past its gate. `ANY_STAFF` where the data itself is
/// limited to the caller's subtree, and for petition steps, where the lifecycle then decides
/// by role and state (`ActionKind::takers`, tested in `domain`).
const STAFF_GATES: &[(&str, &[Role])] = &[
    ("listApiClients", ADMIN),
    ("createApiClient", ADMIN),
    ("revokeApiClient", ADMIN),
    ("listArticles", EDITORS),
    ("createArticle", EDITORS),
    ("editArticle", EDITORS),
    ("archiveArticle", EDITORS),
    ("publishArticle", EDITORS),
    ("listArticleRevisions", EDITORS),
    ("unpublishArticle", EDITORS),
    ("uploadStaffAttachment", &[Role::Registrar]),
    ("downloadStaffAttachment", ANY_STAFF),
    ("searchAuditTrail", ADMIN),
    ("enrolStaffTotp", ANY_STAFF),
    ("verifyStaffTotp", ANY_STAFF),
    ("listCalendarDays", ANY_STAFF),
    ("clearCalendarDay", ADMIN),
    ("markCalendarDay", ADMIN),
    ("createChannel", EDITORS),
    ("updateChannel", EDITORS),
    ("getChannelFeeds", EDITORS),
    ("setChannelFeeds", EDITORS),
    (
        "getCitizen",
        &[
            Role::Registrar,
            Role::Handler,
            Role::Supervisor,
            Role::Administrator,
        ],
    ),
    ("createContact", EDITORS),
    ("deleteContact", EDITORS),
    ("updateContact", EDITORS),
    ("listDeliveries", ADMIN),
    ("discardDelivery", ADMIN),
    ("retryDelivery", ADMIN),
    ("listEscalations", READERS),
    (
        "recordEscalation",
        &[Role::Registrar, Role::Supervisor, Role::Administrator],
    ),
    ("getEscalationWatch", READERS),
    ("listLeaders", EDITORS),
    ("createLeader", EDITORS),
    ("updateLeader", EDITORS),
    ("getCurrentStaff", ANY_STAFF),
    ("listOrgUnits", ANY_STAFF),
    ("createOrgUnit", ADMIN),
    ("getOrgUnit", ANY_STAFF),
    ("updateOrgUnit", ADMIN),
    ("listPetitionInbox", ANY_STAFF),
    ("registerPetition", &[Role::Registrar]),
    ("getPetition", ANY_STAFF),
    ("acceptPetition", ANY_STAFF),
    ("answerPetition", ANY_STAFF),
    ("assignPetition", ANY_STAFF),
    ("closePetition", ANY_STAFF),
    ("decidePetitionReReview", ANY_STAFF),
    ("decidePetitionReview", ANY_STAFF),
    ("divertPetition", ANY_STAFF),
    ("escalatePetition", ANY_STAFF),
    ("extendPetition", ANY_STAFF),
    ("forwardPetition", ANY_STAFF),
    ("handDownPetition", ANY_STAFF),
    ("setJointHandling", &[Role::Registrar, Role::Supervisor]),
    (
        "messagePetitioner",
        &[
            Role::Registrar,
            Role::Handler,
            Role::Supervisor,
            Role::Administrator,
        ],
    ),
    ("objectToPetition", ANY_STAFF),
    (
        "assignPetitionOwner",
        &[Role::Supervisor, Role::Administrator],
    ),
    ("refusePetition", ANY_STAFF),
    ("reopenPetition", ANY_STAFF),
    ("issueSupervisionOrder", &[Role::Supervisor]),
    ("listBookings", RECEPTION),
    ("recordReception", RECEPTION),
    ("confirmBooking", RECEPTION),
    ("moveBooking", RECEPTION),
    ("rejectBooking", RECEPTION),
    ("listReceptionRules", EDITORS),
    ("createReceptionRule", EDITORS),
    ("updateReceptionRule", EDITORS),
    (
        "changeSession",
        &[Role::Registrar, Role::Editor, Role::Administrator],
    ),
    ("listRoutingRules", ANY_STAFF),
    ("setRoutingRule", ADMIN),
    ("deleteRoutingRule", ADMIN),
    ("listStaff", READERS),
    ("createStaff", ADMIN),
    ("updateStaff", ADMIN),
    ("listStatisticsDefinitions", READERS),
    ("getStatisticsFigures", READERS),
    ("getMonthlyFlags", READERS),
    ("listRankedMonths", READERS),
    ("listPetitionsBehindFigure", READERS),
    ("compareTownshipFigures", READERS),
    ("getStatisticsTrend", READERS),
    ("replyToSupervisionOrder", &[Role::Handler]),
    ("listSupervisedDeadlines", READERS),
    ("listLeaderOwnedCases", READERS),
    ("listSupervisionOrders", READERS),
    ("getWeeklyProgress", READERS),
    ("staffLogout", ANY_STAFF),
];

/// Operations that take no token because they check credentials of their own (a password, a
/// WeChat code, a refresh token, a client secret, a WeChat signature, an Open311 `api_key`).
const OWN_CREDENTIALS: &[&str] = &[
    "staffLogin",
    "citizenWeChatLogin",
    "citizenDevLogin",
    "refreshCitizenSession",
    "citizenLogout",
    "issueClientToken",
    "verifyWeChatPush",
    "receiveWeChatPush",
    "createOpen311Request",
    "listOpen311Requests",
    "getOpen311Request",
    "getOpen311Token",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scheme {
    Public,
    Staff,
    Citizen,
    Client,
}

struct Operation {
    id: String,
    method: reqwest::Method,
    /// The path with its parameters filled from the document's examples.
    url: String,
    /// The path as the document writes it.
    template: String,
    scheme: Scheme,
    scopes: Vec<String>,
    body: Option<(String, Vec<u8>)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    /// 401: not signed in, or with the wrong kind of token.
    Unauthenticated,
    /// 403: signed in, not allowed.
    Forbidden,
    /// Past authentication and authorisation (whatever the operation then says).
    Passed,
}

fn outcome(status: u16) -> Outcome {
    match status {
        401 => Outcome::Unauthenticated,
        403 => Outcome::Forbidden,
        _ => Outcome::Passed,
    }
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => v,
    }
}

/// A value for a parameter: its example, else the first of its enum, else one of its format.
fn sample(doc: &Value, param: &Value) -> String {
    if let Some(e) = param.get("example") {
        return e.as_str().map_or_else(|| e.to_string(), str::to_owned);
    }
    let schema = resolve(doc, &param["schema"]);
    if let Some(first) = schema["enum"].get(0) {
        return first.as_str().unwrap().to_owned();
    }
    if let Some(e) = schema.get("example") {
        return e.as_str().map_or_else(|| e.to_string(), str::to_owned);
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (_, Some("uuid")) => "0193a6f2-7c1e-7d3a-9f1e-000000000000".into(),
        (_, Some("date")) => "2026-12-01".into(),
        (Some("integer"), _) => "1".into(),
        (Some("boolean"), _) => "true".into(),
        _ => "x".into(),
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<reqwest::Method>() else {
                continue;
            };
            if op["operationId"].is_null() {
                continue;
            }
            let mut path = template.clone();
            let mut query = Vec::new();
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                match param["in"].as_str().unwrap() {
                    "path" if name == "format" => path = path.replace("{format}", "json"),
                    "path" => path = path.replace(&format!("{{{name}}}"), &sample(doc, param)),
                    "query" if param["required"] == true => {
                        query.push(format!("{name}={}", sample(doc, param)));
                    }
                    _ => {}
                }
            }
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let (scheme, scopes) = match op["security"][0].as_object() {
                None => (Scheme::Public, vec![]),
                Some(s) if s.contains_key("staff_bearer") => (Scheme::Staff, vec![]),
                Some(s) if s.contains_key("citizen_bearer") => (Scheme::Citizen, vec![]),
                Some(s) => (
                    Scheme::Client,
                    s["client_credentials"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect(),
                ),
            };
            let body = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.iter().next())
                .map(|(media, content)| {
                    let example = content
                        .get("example")
                        .unwrap_or_else(|| &resolve(doc, &content["schema"])["example"]);
                    match media.as_str() {
                        "application/json" => (media.clone(), example.to_string().into_bytes()),
                        "multipart/form-data" => (
                            "multipart/form-data; boundary=matrix".into(),
                            b"--matrix\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--matrix--\r\n".to_vec(),
                        ),
                        _ => (media.clone(), b"service_code=x".to_vec()),
                    }
                });
            ops.push(Operation {
                id: op["operationId"].as_str().unwrap().to_owned(),
                method: m,
                url: path,
                template: template.clone(),
                scheme,
                scopes,
                body,
            });
        }
    }
    // Signing out ends every session of the account: last, so the others keep theirs.
    ops.sort_by_key(|o| o.id == "staffLogout");
    ops
}

async fn call(
    app: &crate::helpers::TestApp,
    op: &Operation,
    url: &str,
    token: Option<&str>,
) -> u16 {
    let mut req = app.client.request(op.method.clone(), app.url(url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some((media, body)) = &op.body {
        req = req
            .header("content-type", media)
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .body(body.clone());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "referrer-policy",
    ] {
        assert!(
            res.headers().contains_key(name),
            "{} {url}: {status} without {name}",
            op.id
        );
    }
    if token.is_some() {
        assert!(
            res.headers().contains_key("cache-control"),
            "{} {url}: an answer to a signed-in caller without Cache-Control",
            op.id
        );
    }
    assert!(
        status < 500 || status == 503,
        "{} {url}: {status} (a server error)",
        op.id
    );
    status
}

async fn client_with(app: &crate::helpers::TestApp, admin: &str, scopes: &[&str]) -> String {
    let res = app
        .post_json_as(
            "/api/v1/admin/api-clients",
            admin,
            &serde_json::json!({"name": format!("矩阵 {}", scopes.len()), "scopes": scopes,
                                "rate_limit_per_minute": 100000}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let res = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth(
            created["client"]["client_id"].as_str().unwrap(),
            Some(created["client_secret"].as_str().unwrap()),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let token: Value = res.json().await.unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

fn role_list(roles: &[Role]) -> String {
    let names: Vec<String> = roles.iter().map(|r| format!("Role::{r:?}")).collect();
    match roles {
        r if r == ANY_STAFF => "ANY_STAFF".into(),
        r if r == ADMIN => "ADMIN".into(),
        r if r == EDITORS => "EDITORS".into(),
        r if r == READERS => "READERS".into(),
        r if r == RECEPTION => "RECEPTION".into(),
        _ => format!("&[{}]", names.join(", ")),
    }
}

#[tokio::test]
async fn every_operation_in_the_document_keeps_to_its_access_rule() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.demo = true;
        // One address makes every call of the matrix.
        s.rate_limit.per_ip_per_minute = 0;
    })
    .await;
    let admin = app.admin_token().await;
    let doc: Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let ops = operations(&doc);
    assert!(ops.len() > 100, "the document lists the operations");

    let citizen = app.dev_citizen("matrix.a").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let everything = client_with(
        &app,
        &admin,
        &[
            "petitions:read",
            "petitions:write",
            "webhooks:manage",
            "escalations:write",
        ],
    )
    .await;
    let mut staff = Vec::new();
    for (i, role) in COUNTY_ROLES.iter().enumerate() {
        let token = staff_in(&app, &format!("matrix.{i}"), "410122", &[*role]).await;
        staff.push((*role, token));
    }
    let mut clients = Vec::new();
    for scope in [
        "petitions:read",
        "petitions:write",
        "webhooks:manage",
        "escalations:write",
    ] {
        clients.push((scope, client_with(&app, &admin, &[scope]).await));
    }

    let gates: BTreeMap<&str, &[Role]> = STAFF_GATES.iter().copied().collect();
    let mut wrong = Vec::new();
    let mut observed_gates = Vec::new();
    for op in &ops {
        let url = op.url.as_str();
        // Authentication, by the scheme the document names.
        let tokens: [(&str, Option<&str>); 4] = [
            ("anonymous", None),
            ("citizen", Some(&citizen)),
            ("staff", Some(&staff[5].1)),
            ("integrator", Some(&everything)),
        ];
        for (who, token) in tokens {
            let own = match (op.scheme, who) {
                (Scheme::Public, _) => continue,
                (Scheme::Staff, "staff")
                | (Scheme::Citizen, "citizen")
                | (Scheme::Client, "integrator") => continue,
                _ => Outcome::Unauthenticated,
            };
            let got = outcome(call(&app, op, url, token).await);
            if got != own {
                wrong.push(format!("{} as {who}: {got:?}, expected {own:?}", op.id));
            }
        }
        match op.scheme {
            Scheme::Public => {
                if !OWN_CREDENTIALS.contains(&op.id.as_str()) {
                    let got = outcome(call(&app, op, url, None).await);
                    if got != Outcome::Passed {
                        wrong.push(format!("{} is public but answered {got:?}", op.id));
                    }
                }
            }
            Scheme::Citizen => {
                let got = outcome(call(&app, op, url, Some(&citizen)).await);
                if got != Outcome::Passed {
                    wrong.push(format!("{} as a citizen: {got:?}", op.id));
                }
            }
            // Scopes, as the document declares them.
            Scheme::Client => {
                for (scope, token) in &clients {
                    // No scope named: any client may (its own identity, say).
                    let expected = if op.scopes.is_empty() || op.scopes.iter().any(|s| s == scope) {
                        Outcome::Passed
                    } else {
                        Outcome::Forbidden
                    };
                    let got = outcome(call(&app, op, url, Some(token)).await);
                    if got != expected {
                        wrong.push(format!(
                            "{} with {scope}: {got:?}, expected {expected:?}",
                            op.id
                        ));
                    }
                }
            }
            // Roles, by the gate listed above.
            Scheme::Staff => {
                let mut passed = Vec::new();
                for (role, token) in &staff {
                    if outcome(call(&app, op, url, Some(token)).await) == Outcome::Passed {
                        passed.push(*role);
                    }
                }
                observed_gates.push(format!("    (\"{}\", {}),", op.id, role_list(&passed)));
                match gates.get(op.id.as_str()) {
                    None => wrong.push(format!(
                        "{} ({} {}) has no rule",
                        op.id, op.method, op.template
                    )),
                    Some(expected) if *expected != passed.as_slice() => wrong.push(format!(
                        "{}: passed {}, expected {}",
                        op.id,
                        role_list(&passed),
                        role_list(expected)
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    let listed: Vec<&str> = ops.iter().map(|o| o.id.as_str()).collect();
    for (id, _) in STAFF_GATES {
        assert!(
            listed.contains(id),
            "{id} has a rule but is not in the document"
        );
    }
    for id in OWN_CREDENTIALS {
        assert!(
            listed.contains(id),
            "{id} is listed but is not in the document"
        );
    }
    assert!(
        wrong.is_empty(),
        "{} operations break their access rule:\n{}\n\nThe gates as observed:\n{}",
        wrong.len(),
        wrong.join("\n"),
        observed_gates.join("\n")
    );
}

/// Who calls, and with which token.
type Caller<'a> = (&'a str, &'a str);

/// Object-level access over the document: every operation on one petition, called with a real
/// petition of citizen A in Guandu, hides it (404) from citizen B, from staff of another
/// township holding every role but the administrator's (who sees the county), from a county department it was not sent to, and from an
/// integrator that did not bring it; its owner and Guandu's staff read it.
#[tokio::test]
async fn every_operation_on_a_petition_hides_it_from_those_it_is_not_for() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.demo = true;
        s.rate_limit.per_ip_per_minute = 0;
    })
    .await;
    let admin = app.admin_token().await;
    let doc: Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let owner = app.dev_citizen("matrix.owner").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let stranger = app.dev_citizen("matrix.stranger").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let guandu = app.org_id("410122-101").await;
    let res = app
        .client
        .post(app.url("/api/v1/petitions"))
        .bearer_auth(&owner)
        .header("idempotency-key", "matrix-owner-0001")
        .json(&serde_json::json!({
            "kind": "complaint", "category_code": "transport",
            "title": "村道路面破损请求维修",
            "content": "村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。",
            "township_id": guandu,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let petition: Value = res.json().await.unwrap();
    let id = petition["id"].as_str().unwrap();
    let registrar = staff_in(&app, "matrix.registrar", "410122", &[Role::Registrar]).await;
    let res = app
        .post_json_as(
            &format!("/api/v1/admin/petitions/{id}/forward"),
            &registrar,
            &serde_json::json!({"to_org_id": guandu}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let local = staff_in(&app, "matrix.guandu", "410122-101", &[Role::Handler]).await;
    // Every role but the administrator's, who sees the whole county by design.
    let elsewhere = staff_in(&app, "matrix.langcheng", "410122-102", &COUNTY_ROLES[..5]).await;
    let department = staff_in(&app, "matrix.dept", "410122-d-rs", &COUNTY_ROLES[..5]).await;
    let integrator = client_with(&app, &admin, &["petitions:read"]).await;

    let mut checked = 0;
    let mut wrong = Vec::new();
    for op in operations(&doc) {
        let Some(rest) = [
            "/api/v1/petitions/{id}",
            "/api/v1/admin/petitions/{id}",
            "/api/v1/open/petitions/{id}",
        ]
        .iter()
        .find(|prefix| op.template.starts_with(**prefix)) else {
            continue;
        };
        let url = op.template.replace("{id}", id);
        let (others, readers): (Vec<Caller>, Vec<Caller>) = match *rest {
            "/api/v1/petitions/{id}" => (
                vec![("citizen B", stranger.as_str())],
                vec![("the owner", owner.as_str())],
            ),
            "/api/v1/admin/petitions/{id}" => (
                vec![
                    ("another township", elsewhere.as_str()),
                    ("a department", department.as_str()),
                ],
                vec![("Guandu's handler", local.as_str())],
            ),
            _ => (
                vec![("an integrator that did not bring it", integrator.as_str())],
                vec![],
            ),
        };
        for (who, token) in others {
            let status = call(&app, &op, &url, Some(token)).await;
            checked += 1;
            if status != 404 {
                wrong.push(format!("{} as {who}: {status}, expected 404", op.id));
            }
        }
        if op.method == reqwest::Method::GET {
            for (who, token) in readers {
                let status = call(&app, &op, &url, Some(token)).await;
                if status != 200 {
                    wrong.push(format!("{} as {who}: {status}, expected 200", op.id));
                }
            }
        }
    }
    assert!(
        checked >= 25,
        "the petition operations were found: {checked}"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
