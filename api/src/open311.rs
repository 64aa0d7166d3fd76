//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2>), so that existing Open311
//! clients work unchanged: categories as services, petitions as service requests, JSON or XML
//! by the path's extension, the standard's own error format. An Open311 request is a petition
//! with channel `open311`, under the same rules as any other; the sending integrator
//! authenticates with `api_key` = `{client_id}:{client_secret}` and reads only its own requests
//! (petitions are not public, unlike a pothole report).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fengqiao_domain::identity::{ClientScope, PersonName, PhoneNumber};
use fengqiao_domain::open311;
use fengqiao_domain::org::OrgKind;
use fengqiao_domain::petition::{Channel, NewPetition, PetitionKind, PetitionState, Submission};
use fengqiao_domain::ports::RateDecision;
use fengqiao_infra::db::api_clients;
use fengqiao_infra::db::audit::{Actor, Event, Origin};
use fengqiao_infra::db::petitions::{
    self, PetitionRow, RequestFilter, SealedPetitioner, parse_text,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::petitions::{PETITIONER_NAME, PETITIONER_PHONE};
use crate::citizen::petitions::{Intake, hash_request, register_petition};
use crate::error::{ApiError, Lang};
use crate::extract::RequestOrigin;
use crate::state::AppState;

/// `.json` or `.xml`, as the path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The format a path asks for by its extension; JSON for anything but `.xml`, so that an
    /// unknown extension is answered in a format every client reads.
    pub fn of_path(path: &str) -> Self {
        if path.ends_with(".xml") {
            Format::Xml
        } else {
            Format::Json
        }
    }
}

/// An error as the standard words it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"code": 400, "description": "service_code: 未知的服务"}))]
pub struct Open311Error {
    pub code: u16,
    pub description: String,
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r') || !c.is_control())
        .fold(String::with_capacity(s.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                c => out.push(c),
            }
            out
        })
}

/// A JSON value as the standard's XML: an array of objects becomes `<root><item>…</item></root>`,
/// nested arrays and objects nest the same way.
fn xml_of(root: &str, item: &str, value: &serde_json::Value) -> String {
    fn element(name: &str, v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Null => out.push_str(&format!("<{name}/>")),
            serde_json::Value::Object(map) => {
                out.push_str(&format!("<{name}>"));
                for (k, v) in map {
                    element(k, v, out);
                }
                out.push_str(&format!("</{name}>"));
            }
            serde_json::Value::Array(items) => {
                // `attributes` holds `attribute`s, `values` holds `value`s, `keywords` is text.
                let inner = name.strip_suffix('s').unwrap_or(name);
                out.push_str(&format!("<{name}>"));
                for v in items {
                    element(inner, v, out);
                }
                out.push_str(&format!("</{name}>"));
            }
            serde_json::Value::String(s) => {
                out.push_str(&format!("<{name}>{}</{name}>", xml_escape(s)))
            }
            other => out.push_str(&format!("<{name}>{other}</{name}>")),
        }
    }
    let mut out = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    out.push_str(&format!("<{root}>"));
    match value {
        serde_json::Value::Array(items) => {
            for v in items {
                element(item, v, &mut out);
            }
        }
        // A single document (a definition, the discovery): its fields under the root.
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                element(k, v, &mut out);
            }
        }
        other => element(item, other, &mut out),
    }
    out.push_str(&format!("</{root}>"));
    out
}

fn answer<T: Serialize>(
    format: Format,
    status: StatusCode,
    root: &str,
    item: &str,
    body: &T,
) -> HttpResponse {
    let value = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
    match format {
        Format::Json => HttpResponse::build(status).json(value),
        Format::Xml => HttpResponse::build(status)
            .content_type("text/xml; charset=utf-8")
            .body(xml_of(root, item, &value)),
    }
}

fn failure(format: Format, status: StatusCode, description: String) -> HttpResponse {
    let errors = [Open311Error {
        code: status.as_u16(),
        description,
    }];
    let mut res = answer(format, status, "errors", "error", &errors);
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("60"),
        );
    }
    res
}

/// An error of ours in the standard's words (field errors named).
pub fn failure_of(format: Format, e: &ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let status = e.status_code();
    if let Some(cause) = e.cause() {
        tracing::error!(error = %format!("{cause:#}"), "open311 request failed");
    }
    let problem = e.to_problem(Lang::Zh, None, None);
    let mut description = problem.detail;
    for f in problem.errors {
        description.push_str(&format!("；{}: {}", f.field, f.message));
    }
    failure(format, status, description)
}

/// NUL bytes cannot be stored (PostgreSQL refuses them): a 400, not a 500.
fn has_nul(s: &str) -> bool {
    s.contains('\0') || s.contains("%00")
}

/// The integrator behind a request, holding `scope`, within its rate limit. It proves itself
/// with the standard's `api_key` (`{client_id}:{client_secret}`), or, so that no secret travels
/// in a URL where proxies log it, with `Authorization: Bearer` and a client access token from
/// `POST /api/v1/oauth/token`. Every refusal is audited, without the secret.
async fn client_of(
    state: &AppState,
    req: &HttpRequest,
    origin: &Origin,
    api_key: Option<&str>,
    scope: ClientScope,
) -> Result<String, (StatusCode, String)> {
    let unavailable = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "服务暂不可用，请稍后重试".to_owned(),
        )
    };
    // The standard's `api_key` when one is given; else the bearer token.
    let presented = match (api_key, crate::extract::bearer_token(req)) {
        (Some(key), _) => match key.split_once(':') {
            Some((id, secret)) => Ok((id.to_owned(), Some(secret), None)),
            None => Err(("malformed_api_key", None)),
        },
        (None, Some(bearer)) => match state.tokens.verify_client(bearer) {
            Ok(claims) => Ok((claims.sub, None, Some(claims.scope))),
            Err(_) => Err(("invalid_token", None)),
        },
        (None, None) => Err(("missing_api_key", None)),
    };
    let outcome = match presented {
        Err(refusal) => Err(refusal),
        Ok((client_id, secret, granted)) => {
            let row = api_clients::find_by_client_id(&state.db, &client_id)
                .await
                .map_err(|_| unavailable())?;
            match row {
                None => Err(("unknown_client", Some(client_id))),
                Some(row) if row.revoked_at.is_some() => Err(("revoked", Some(client_id))),
                Some(row)
                    if secret.is_some_and(|secret| !api_clients::secret_matches(&row, secret)) =>
                {
                    Err(("wrong_secret", Some(client_id)))
                }
                Some(row) => {
                    // Scopes as held now, and within what the token was granted.
                    let held = ClientScope::parse_list(&row.scopes).unwrap_or_default();
                    let granted = granted
                        .map(|g| ClientScope::parse_list(&g).unwrap_or_default())
                        .unwrap_or_else(|| held.clone());
                    if held.contains(&scope) && granted.contains(&scope) {
                        Ok(row)
                    } else {
                        Err(("insufficient_scope", Some(client_id)))
                    }
                }
            }
        }
    };
    let row = match outcome {
        Ok(row) => row,
        Err((reason, client_id)) => {
            state
                .audit(
                    &Actor::anonymous(),
                    origin,
                    // Bounded: a caller must not write arbitrary volumes into the trail.
                    Event::new("open311.api_key.refused").with(serde_json::json!({
                        "reason": reason,
                        "client_id": client_id.map(|c| c.chars().take(64).collect::<String>()),
                    })),
                )
                .await
                .map_err(|_| unavailable())?;
            return Err((
                StatusCode::FORBIDDEN,
                "api_key 无效或缺少所需权限".to_owned(),
            ));
        }
    };
    let limit = u64::try_from(row.rate_limit_per_minute).unwrap_or(0);
    if limit > 0
        && let Ok(RateDecision::Limited { .. }) = state
            .shared
            .rate_limiter
            .hit(
                &format!("client:{}", row.client_id),
                limit,
                std::time::Duration::from_secs(60),
            )
            .await
    {
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            "请求过于频繁，请稍后重试".to_owned(),
        ));
    }
    Ok(row.client_id)
}

/// A service: a petition category.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"service_code": "labour", "service_name": "劳动保障", "description": "申诉求决类",
    "metadata": true, "type": "realtime", "keywords": "申诉求决类", "group": "申诉求决类"}))]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Always true: every service asks which township (see its definition).
    pub metadata: bool,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub service_type: String,
    pub keywords: String,
    pub group: String,
}

fn class_name(matter_category: &str) -> &'static str {
    match matter_category {
        "suggestion" => "建议意见类",
        "accusation" => "检举控告类",
        _ => "申诉求决类",
    }
}

/// The services: one per active petition category.
#[utoipa::path(
    tag = "open311",
    operation_id = "listOpen311Services",
    params(("format" = Format, Path, description = "`json` or `xml`")),
    responses(
        (status = 200, description = "The services", content((Vec<Service> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "An unknown format (neither `.json` nor `.xml`) or a malformed path", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 429, description = "Over the per-address or the client's rate limit; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is down; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml")))
    )
)]
#[get("/v2/services.{format}")]
pub async fn services(state: web::Data<AppState>, format: web::Path<Format>) -> HttpResponse {
    let format = format.into_inner();
    match petitions::categories(&state.db).await {
        Ok(rows) => {
            let list: Vec<Service> = rows
                .into_iter()
                .map(|c| Service {
                    description: class_name(&c.matter_category).to_owned(),
                    keywords: class_name(&c.matter_category).to_owned(),
                    group: class_name(&c.matter_category).to_owned(),
                    service_code: c.code,
                    service_name: c.name,
                    metadata: true,
                    service_type: "realtime".to_owned(),
                })
                .collect();
            answer(format, StatusCode::OK, "services", "service", &list)
        }
        Err(e) => failure_of(format, &e.into()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct Attribute {
    pub variable: bool,
    pub code: String,
    /// string, number, datetime, text, singlevaluelist or multivaluelist.
    pub datatype: String,
    pub required: bool,
    pub datatype_description: Option<String>,
    pub order: u32,
    pub description: String,
    pub values: Option<Vec<AttributeValue>>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"service_code": "labour", "attributes": [{"variable": true, "code": "township", "datatype": "singlevaluelist",
    "required": true, "datatype_description": null, "order": 1, "description": "事发乡镇（街道）",
    "values": [{"key": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "name": "官渡镇"}]}]}))]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

/// A service's definition: the attributes a request carries (`attribute[township]`,
/// `attribute[kind]`, `attribute[title]`).
#[utoipa::path(
    tag = "open311",
    operation_id = "getOpen311ServiceDefinition",
    params(
        ("service_code" = String, Path, description = "A service code from the service list"),
        ("format" = Format, Path, description = "`json` or `xml`")
    ),
    responses(
        (status = 200, description = "The definition", content((ServiceDefinition = "application/json"), (String = "text/xml"))),
        (status = 400, description = "An unknown format (neither `.json` nor `.xml`) or a malformed path", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "No such service", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 429, description = "Over the per-address or the client's rate limit; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is down; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml")))
    )
)]
#[get("/v2/services/{service_code}.{format}")]
pub async fn service_definition(
    state: web::Data<AppState>,
    path: web::Path<(String, Format)>,
) -> HttpResponse {
    let (code, format) = path.into_inner();
    let category = match petitions::category(&state.db, &code).await {
        Ok(Some(c)) if c.active => c,
        Ok(_) => return failure(format, StatusCode::NOT_FOUND, format!("未知的服务：{code}")),
        Err(e) => return failure_of(format, &e.into()),
    };
    let townships = match fengqiao_infra::db::org::units_of_kinds(
        &state.db,
        &[OrgKind::Township, OrgKind::Street],
    )
    .await
    {
        Ok(units) => units,
        Err(e) => return failure_of(format, &e.into()),
    };
    let list = |pairs: Vec<(String, String)>| {
        Some(
            pairs
                .into_iter()
                .map(|(key, name)| AttributeValue { key, name })
                .collect(),
        )
    };
    let definition = ServiceDefinition {
        service_code: category.code,
        attributes: vec![
            Attribute {
                variable: true,
                code: "township".into(),
                datatype: "singlevaluelist".into(),
                required: true,
                datatype_description: None,
                order: 1,
                description: "事发乡镇（街道）".into(),
                values: list(
                    townships
                        .into_iter()
                        .map(|(id, name, _)| (id.to_string(), name))
                        .collect(),
                ),
            },
            Attribute {
                variable: true,
                code: "kind".into(),
                datatype: "singlevaluelist".into(),
                required: false,
                datatype_description: Some("默认 complaint".into()),
                order: 2,
                description: "信访形式".into(),
                values: list(vec![
                    ("complaint".into(), "投诉".into()),
                    ("suggestion".into(), "建议".into()),
                    ("visit_request".into(), "来访".into()),
                    ("message".into(), "留言".into()),
                ]),
            },
            Attribute {
                variable: true,
                code: "title".into(),
                datatype: "string".into(),
                required: false,
                datatype_description: Some("5 至 25 字；缺省取描述的第一行".into()),
                order: 3,
                description: "标题".into(),
                values: None,
            },
        ],
    };
    answer(
        format,
        StatusCode::OK,
        "service_definition",
        "service_definition",
        &definition,
    )
}

/// What a new request answers.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"service_request_id": "ZM20261126000042", "token": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60",
    "service_notice": "依据《信访工作条例》，信访事项自登记之日起15日内转送或交办……", "account_id": null}))]
pub struct RequestCreated {
    /// Our tracking number.
    pub service_request_id: String,
    /// Also answered, for clients that poll `tokens/{token}`.
    pub token: String,
    pub service_notice: String,
    pub account_id: Option<String>,
}

/// The form fields of `POST requests` (`attribute[code]` fields besides).
#[derive(Deserialize, ToSchema)]
pub struct RequestForm {
    /// `{client_id}:{client_secret}` of an integrator with `petitions:write`; or omit it and
    /// send `Authorization: Bearer` with a client access token.
    pub api_key: Option<String>,
    pub service_code: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address_string: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub description: String,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub media_url: Option<String>,
}

/// Create a service request: a petition with channel `open311`, the requester as petitioner
/// (a name is required, as for every registered petition). A retry with the same
/// `device_id` and `account_id`… is not recognised by the standard; send the same request
/// through `POST /api/v1/open/petitions` with an `external_id` for that.
#[utoipa::path(
    tag = "open311",
    operation_id = "createOpen311Request",
    params(("format" = Format, Path, description = "`json` or `xml`")),
    request_body(content = RequestForm, content_type = "application/x-www-form-urlencoded",
        description = "The standard's fields, plus `attribute[township]` (required), `attribute[kind]`, `attribute[title]`"),
    responses(
        (status = 201, description = "Registered", content((Vec<RequestCreated> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "A missing or invalid field, an unknown format, or a petition rule refused it", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 403, description = "A missing or invalid `api_key`, or it lacks `petitions:write`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 429, description = "Over the per-address or the client's rate limit; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is down; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml")))
    )
)]
#[post("/v2/requests.{format}")]
pub async fn create_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    origin: RequestOrigin,
    format: web::Path<Format>,
    body: web::Bytes,
) -> HttpResponse {
    let format = format.into_inner();
    let Ok(text) = std::str::from_utf8(&body) else {
        return failure(
            format,
            StatusCode::BAD_REQUEST,
            "请求须为 UTF-8 编码的表单".into(),
        );
    };
    let fields: HashMap<String, String> = form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    if fields.iter().any(|(k, v)| has_nul(k) || v.contains('\0')) {
        return failure(
            format,
            StatusCode::BAD_REQUEST,
            "字段不能含 NUL 字符".into(),
        );
    }
    let get = |k: &str| fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let client_id = match client_of(
        &state,
        &req,
        &origin.0,
        get("api_key"),
        ClientScope::PetitionsWrite,
    )
    .await
    {
        Ok(id) => id,
        Err((status, msg)) => return failure(format, status, msg),
    };
    let bad = |msg: String| failure(format, StatusCode::BAD_REQUEST, msg);
    let Some(service_code) = get("service_code") else {
        return bad("service_code: 必填".into());
    };
    let Some(description) = get("description") else {
        return bad("description: 必填".into());
    };
    let Some(township_id) = get("attribute[township]").and_then(|t| t.parse::<uuid::Uuid>().ok())
    else {
        return bad("attribute[township]: 须为服务定义中列出的乡镇（街道）".into());
    };
    let kind: PetitionKind = match get("attribute[kind]") {
        None => PetitionKind::Complaint,
        Some(k) => match parse_text(k, k) {
            Ok(kind) => kind,
            Err(_) => return bad(format!("attribute[kind]: 未知的信访形式 {k}")),
        },
    };
    let Some(name) = open311::person_name(get("first_name"), get("last_name")) else {
        return bad("first_name / last_name: 登记信访事项须留姓名".into());
    };
    let name = match PersonName::parse(&name) {
        Ok(n) => n,
        Err(e) => return bad(format!("last_name: {}", e.message.zh)),
    };
    let phone = match get("phone").map(PhoneNumber::parse).transpose() {
        Ok(p) => p,
        Err(e) => return bad(format!("phone: {}", e.message.zh)),
    };
    let latitude = get("lat").and_then(|v| v.parse::<f64>().ok());
    let longitude = get("long").and_then(|v| v.parse::<f64>().ok());
    let title = get("attribute[title]")
        .map(str::to_owned)
        .unwrap_or_else(|| open311::title_of(description));
    let content = match get("address_string") {
        Some(address) => format!("{description}\n（地点：{address}）"),
        None => description.to_owned(),
    };
    let petition = match NewPetition::parse(Submission {
        kind,
        channel: Channel::Open311,
        category_code: service_code,
        title: &title,
        content: &content,
        township_id,
        village_id: None,
        latitude,
        longitude,
        group: None,
        accused_org_id: None,
    }) {
        Ok(p) => p,
        Err(e) => {
            let mut res = failure_of(format, &ApiError::from(e));
            *res.status_mut() = StatusCode::BAD_REQUEST;
            return res;
        }
    };
    let seal = |context: &str, clear: &str| state.crypto.seal(context, clear);
    let sealed = (|| -> Result<SealedPetitioner, fengqiao_infra::crypto::CryptoError> {
        Ok(SealedPetitioner {
            name: seal(PETITIONER_NAME, name.expose())?,
            phone: phone
                .as_ref()
                .map(|p| seal(PETITIONER_PHONE, p.expose()))
                .transpose()?,
            phone_hash: phone.as_ref().map(|p| {
                state
                    .crypto
                    .lookup_hash(crate::citizen::profile::PHONE, p.expose())
            }),
        })
    })();
    let Ok(petitioner) = sealed else {
        return failure(format, StatusCode::INTERNAL_SERVER_ERROR, "内部错误".into());
    };
    let today = fengqiao_domain::calendar::local_date(Utc::now());
    // Each request is new (the standard has no idempotency key): a fresh key.
    let key = format!("open311:{client_id}:{}", uuid::Uuid::now_v7());
    let request_hash = match hash_request(&key) {
        Ok(h) => h,
        Err(e) => return failure_of(format, &e),
    };
    let registered = register_petition(
        &state,
        &origin,
        Intake {
            petition,
            online_citizen: None,
            petitioner: Some(petitioner),
            registered_on: today,
            actor: fengqiao_infra::db::audit::Actor::client(&client_id, "petitions:write"),
            idempotency_key: key,
            request_hash,
            attachments: (Vec::new(), "client", client_id.clone()),
            source: Some((client_id, format!("open311:{}", uuid::Uuid::now_v7()))),
        },
    )
    .await;
    match registered {
        Ok((_, submitted)) => answer(
            format,
            StatusCode::CREATED,
            "service_requests",
            "request",
            &[RequestCreated {
                service_request_id: submitted.tracking_no,
                token: submitted.id.to_string(),
                service_notice: open311::SERVICE_NOTICE.to_owned(),
                account_id: get("account_id").map(str::to_owned),
            }],
        ),
        Err(e) => {
            use actix_web::ResponseError;
            // The standard's clients know 400 for a refused request.
            let status = e.status_code();
            let mut res = failure_of(format, &e);
            if status == StatusCode::UNPROCESSABLE_ENTITY {
                *res.status_mut() = StatusCode::BAD_REQUEST;
            }
            res
        }
    }
}

/// A service request as the standard shows it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"service_request_id": "ZM20261126000042", "status": "open",
    "status_notes": "已转送有权处理机关，15日内告知是否受理", "service_name": "劳动保障", "service_code": "labour",
    "description": "来电反映某工地拖欠农民工工资", "agency_responsible": "官渡镇", "service_notice": "依据《信访工作条例》……",
    "requested_datetime": "2026-11-26T10:30:00+08:00", "updated_datetime": "2026-11-26T15:02:11+08:00",
    "expected_datetime": "2026-12-11T23:59:59+08:00", "address": null, "lat": 34.72, "long": 113.97, "media_url": null}))]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: String,
    pub status_notes: String,
    pub service_name: String,
    pub service_code: String,
    pub description: String,
    /// The body handling it now.
    pub agency_responsible: Option<String>,
    pub service_notice: String,
    pub requested_datetime: DateTime<FixedOffset>,
    pub updated_datetime: DateTime<FixedOffset>,
    /// The end of the current obligation's last day.
    pub expected_datetime: Option<DateTime<FixedOffset>>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

async fn request_view(
    state: &AppState,
    row: PetitionRow,
    names: &mut HashMap<uuid::Uuid, String>,
    service_names: &HashMap<String, String>,
) -> Result<ServiceRequest, ApiError> {
    let petition_state: PetitionState = parse_text("petitions.state", &row.state)?;
    let agency = match row.handling_org_id {
        Some(id) => match names.get(&id) {
            Some(n) => Some(n.clone()),
            None => {
                let name = fengqiao_infra::db::org::get(&state.db, id).await?.name;
                names.insert(id, name.clone());
                Some(name)
            }
        },
        None => None,
    };
    let end_of = |day: NaiveDate| {
        day.and_hms_opt(23, 59, 59).and_then(|t| {
            t.and_local_timezone(fengqiao_domain::calendar::local_offset())
                .single()
        })
    };
    Ok(ServiceRequest {
        service_request_id: row.tracking_no,
        status: open311::status(petition_state).to_owned(),
        status_notes: open311::status_notes(petition_state).to_owned(),
        service_name: service_names
            .get(&row.category_code)
            .cloned()
            .unwrap_or_default(),
        service_code: row.category_code,
        description: row.content,
        agency_responsible: agency,
        service_notice: open311::SERVICE_NOTICE.to_owned(),
        requested_datetime: fengqiao_domain::calendar::to_local(row.created_at),
        updated_datetime: fengqiao_domain::calendar::to_local(row.updated_at),
        expected_datetime: row.next_deadline.and_then(end_of),
        address: None,
        lat: row.latitude,
        long: row.longitude,
        media_url: None,
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// `{client_id}:{client_secret}` of an integrator with `petitions:read`; or omit it and
    /// send `Authorization: Bearer` with a client access token, which keeps the secret out of
    /// URLs and the logs that keep them.
    pub api_key: Option<String>,
    /// Comma-separated tracking numbers; when given, the other filters are ignored.
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    /// RFC 3339; default 90 days before `end_date`.
    pub start_date: Option<DateTime<FixedOffset>>,
    /// RFC 3339; default now.
    pub end_date: Option<DateTime<FixedOffset>>,
    /// `open` or `closed`.
    pub status: Option<String>,
}

const OPEN_STATES: [&str; 5] = [
    "registered",
    "awaiting_acceptance",
    "in_handling",
    "under_review",
    "under_re_review",
];
const CLOSED_STATES: [&str; 7] = [
    "answered",
    "reviewed",
    "re_reviewed",
    "not_accepted",
    "diverted",
    "withdrawn",
    "closed",
];

async fn services_by_code(state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    Ok(petitions::categories(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.code, c.name))
        .collect())
}

/// The integrator's service requests, newest first, at most 1,000 (the standard's default
/// window: the 90 days before `end_date`).
#[utoipa::path(
    tag = "open311",
    operation_id = "listOpen311Requests",
    params(("format" = Format, Path, description = "`json` or `xml`"), RequestsQuery),
    responses(
        (status = 200, description = "The requests", content((Vec<ServiceRequest> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "An invalid filter or an unknown format", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 403, description = "A missing or invalid `api_key`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 429, description = "Over the per-address or the client's rate limit; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is down; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml")))
    )
)]
#[get("/v2/requests.{format}")]
pub async fn list_requests(
    state: web::Data<AppState>,
    format: web::Path<Format>,
    req: HttpRequest,
    origin: RequestOrigin,
) -> HttpResponse {
    let format = format.into_inner();
    if has_nul(req.query_string()) {
        return failure(
            format,
            StatusCode::BAD_REQUEST,
            "查询参数不能含 NUL 字符".into(),
        );
    }
    let Ok(q) = web::Query::<RequestsQuery>::from_query(req.query_string()) else {
        return failure(format, StatusCode::BAD_REQUEST, "查询参数无效".into());
    };
    let client_id = match client_of(
        &state,
        &req,
        &origin.0,
        q.api_key.as_deref(),
        ClientScope::PetitionsRead,
    )
    .await
    {
        Ok(id) => id,
        Err((status, msg)) => return failure(format, status, msg),
    };
    // Comma-separated, as the standard allows: `open,closed` is both.
    let states = match q.status.as_deref() {
        None => None,
        Some(list) => {
            let mut states: Vec<String> = Vec::new();
            for status in list.split(',').map(str::trim) {
                let group: &[&str] = match status {
                    "open" => &OPEN_STATES,
                    "closed" => &CLOSED_STATES,
                    other => {
                        return failure(
                            format,
                            StatusCode::BAD_REQUEST,
                            format!("status: 须为 open 或 closed，而非 {other}"),
                        );
                    }
                };
                states.extend(group.iter().map(|s| (*s).to_owned()));
            }
            Some(states)
        }
    };
    let to = q.end_date.map_or_else(Utc::now, |d| d.with_timezone(&Utc));
    let from = q
        .start_date
        .map_or(to - chrono::Duration::days(90), |d| d.with_timezone(&Utc));
    let filter = RequestFilter {
        tracking_nos: q
            .service_request_id
            .as_deref()
            .map(|ids| {
                ids.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        service_codes: q
            .service_code
            .as_deref()
            .map(|codes| {
                codes
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        from: Some(from),
        to: Some(to),
        states,
    };
    respond_requests(&state, format, &client_id, &filter).await
}

async fn respond_requests(
    state: &AppState,
    format: Format,
    client_id: &str,
    filter: &RequestFilter,
) -> HttpResponse {
    let result = async {
        let rows = petitions::requests_of_client(&state.db, client_id, filter, 1000).await?;
        let service_names = services_by_code(state).await?;
        let mut names = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(request_view(state, row, &mut names, &service_names).await?);
        }
        Ok::<_, ApiError>(out)
    }
    .await;
    match result {
        Ok(list) => answer(format, StatusCode::OK, "service_requests", "request", &list),
        Err(e) => failure_of(format, &e),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// `{client_id}:{client_secret}` of an integrator with `petitions:read`; or omit it and
    /// send `Authorization: Bearer` with a client access token, which keeps the secret out of
    /// URLs and the logs that keep them.
    pub api_key: Option<String>,
}

/// The integrator reading one request or token: the path's id and the query free of NUL
/// bytes, its `api_key` (or bearer token) holding `petitions:read`; else the answer to give.
async fn reader(
    state: &AppState,
    format: Format,
    id: &str,
    req: &HttpRequest,
    origin: &Origin,
) -> Result<String, HttpResponse> {
    if has_nul(id) || has_nul(req.query_string()) {
        return Err(failure(
            format,
            StatusCode::BAD_REQUEST,
            "参数不能含 NUL 字符".into(),
        ));
    }
    let key = web::Query::<KeyQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().api_key);
    client_of(
        state,
        req,
        origin,
        key.as_deref(),
        ClientScope::PetitionsRead,
    )
    .await
    .map_err(|(status, msg)| failure(format, status, msg))
}

/// One service request, by its tracking number (an array of one, as the standard has it).
#[utoipa::path(
    tag = "open311",
    operation_id = "getOpen311Request",
    params(
        ("service_request_id" = String, Path, description = "The tracking number"),
        ("format" = Format, Path, description = "`json` or `xml`"),
        KeyQuery
    ),
    responses(
        (status = 200, description = "The request", content((Vec<ServiceRequest> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "An unknown format (neither `.json` nor `.xml`) or a malformed path", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 403, description = "A missing or invalid `api_key`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "None of the integrator's requests has this id", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 429, description = "Over the per-address or the client's rate limit; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is down; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml")))
    )
)]
#[get("/v2/requests/{service_request_id}.{format}")]
pub async fn get_request(
    state: web::Data<AppState>,
    path: web::Path<(String, Format)>,
    req: HttpRequest,
    origin: RequestOrigin,
) -> HttpResponse {
    let (id, format) = path.into_inner();
    let client_id = match reader(&state, format, &id, &req, &origin.0).await {
        Ok(c) => c,
        Err(refusal) => return refusal,
    };
    let filter = RequestFilter {
        tracking_nos: vec![id.clone()],
        ..RequestFilter::default()
    };
    match petitions::requests_of_client(&state.db, &client_id, &filter, 1).await {
        Ok(rows) if rows.is_empty() => failure(
            format,
            StatusCode::NOT_FOUND,
            format!("未找到服务请求：{id}"),
        ),
        Ok(_) => respond_requests(&state, format, &client_id, &filter).await,
        Err(e) => failure_of(format, &e.into()),
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"service_request_id": "ZM20261126000042", "token": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60"}))]
pub struct TokenAnswer {
    pub service_request_id: String,
    pub token: String,
}

/// The service request a token stands for (ours are known at once, so every token answers).
#[utoipa::path(
    tag = "open311",
    operation_id = "getOpen311Token",
    params(
        ("token" = String, Path, description = "The token a request was answered with"),
        ("format" = Format, Path, description = "`json` or `xml`"),
        KeyQuery
    ),
    responses(
        (status = 200, description = "The request id", content((Vec<TokenAnswer> = "application/json"), (String = "text/xml"))),
        (status = 400, description = "An unknown format (neither `.json` nor `.xml`) or a malformed path", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 403, description = "A missing or invalid `api_key`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 404, description = "No such token among the integrator's requests", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 429, description = "Over the per-address or the client's rate limit; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 503, description = "The database is down; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml")))
    )
)]
#[get("/v2/tokens/{token}.{format}")]
pub async fn token(
    state: web::Data<AppState>,
    path: web::Path<(String, Format)>,
    req: HttpRequest,
    origin: RequestOrigin,
) -> HttpResponse {
    let (token, format) = path.into_inner();
    let client_id = match reader(&state, format, &token, &req, &origin.0).await {
        Ok(c) => c,
        Err(refusal) => return refusal,
    };
    let not_found = || {
        failure(
            format,
            StatusCode::NOT_FOUND,
            format!("未找到令牌：{token}"),
        )
    };
    let Ok(id) = token.parse::<uuid::Uuid>() else {
        return not_found();
    };
    match petitions::get(&state.db, id).await {
        Ok(Some(row)) if row.source_client_id.as_deref() == Some(client_id.as_str()) => answer(
            format,
            StatusCode::OK,
            "service_requests",
            "request",
            &[TokenAnswer {
                service_request_id: row.tracking_no,
                token: token.clone(),
            }],
        ),
        Ok(_) => not_found(),
        Err(e) => failure_of(format, &e.into()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Endpoint {
    pub specification: String,
    pub url: String,
    pub changeset: String,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub endpoint_type: String,
    pub formats: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"changeset": "2026-11-26T00:00:00+08:00", "contact": "县信访局", "key_service": "向县信访局申请集成客户端（client_id:client_secret 即 api_key）",
    "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": "https://example.org/open311/v2",
      "changeset": "2026-11-26T00:00:00+08:00", "type": "production", "formats": ["application/json", "text/xml"]}]}))]
pub struct Discovery {
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<Endpoint>,
}

/// The Open311 discovery document.
#[utoipa::path(
    tag = "open311",
    operation_id = "getOpen311Discovery",
    params(("format" = Format, Path, description = "`json` or `xml`")),
    responses(
        (status = 200, description = "Where the endpoint is and what it speaks", content((Discovery = "application/json"), (String = "text/xml"))),
        (status = 400, description = "An unknown format (neither `.json` nor `.xml`) or a malformed path", content((Vec<Open311Error> = "application/json"), (String = "text/xml"))),
        (status = 429, description = "Over the per-address or the client's rate limit; see `Retry-After`", content((Vec<Open311Error> = "application/json"), (String = "text/xml")))
    )
)]
#[get("/discovery.{format}")]
pub async fn discovery(state: web::Data<AppState>, format: web::Path<Format>) -> HttpResponse {
    let changeset = "2026-11-26T00:00:00+08:00".to_owned();
    // The configured public address; relative when none is set.
    let base = state.settings.server.public_url.clone().unwrap_or_default();
    let doc = Discovery {
        changeset: changeset.clone(),
        contact: "县信访局".into(),
        key_service: "向县信访局申请集成客户端（client_id:client_secret 即 api_key）".into(),
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2".into(),
            url: format!("{base}/open311/v2"),
            changeset,
            endpoint_type: "production".into(),
            formats: vec!["application/json".into(), "text/xml".into()],
        }],
    };
    answer(
        format.into_inner(),
        StatusCode::OK,
        "discovery",
        "discovery",
        &doc,
    )
}
