//! Integrators' webhook endpoints: register a URL and the event types wanted, receive each
//! event signed the Standard Webhooks way, read the delivery log, switch an endpoint back on
//! after it was disabled for failing.
//!
//! Verifying a delivery (the receiver's side), in any language:
//! `base64(HMAC-SHA256(base64decode(secret without "whsec_"), "{webhook-id}.{webhook-timestamp}.{raw body}"))`
//! must equal the part after `v1,` of one of the space-separated `webhook-signature` values,
//! compared in constant time; refuse a `webhook-timestamp` more than five minutes from now;
//! drop a `webhook-id` already processed (retries carry the same one).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, FixedOffset, Utc};
use fengqiao_domain::identity::ClientScope;
use fengqiao_domain::messaging::webhook_event_types;
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::messaging::{self as store, EndpointChange, EndpointRow, NewEndpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, ClientUser, RequestOrigin};
use crate::state::AppState;

/// Endpoints one integrator may keep.
const MAX_ENDPOINTS: usize = 10;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f80", "url": "https://hotline.example.gov.cn/fengqiao/events",
    "event_types": ["petition.accepted", "petition.answered"], "active": true, "disabled_reason": null,
    "failing_since": null, "last_success_at": "2026-11-25T10:31:00+08:00", "last_error": null,
    "created_at": "2026-11-25T10:00:00+08:00"}))]
pub struct EndpointView {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    /// Switched off endpoints receive nothing; `disabled_reason` says why.
    pub active: bool,
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed (none: the last one succeeded).
    pub failing_since: Option<DateTime<FixedOffset>>,
    pub last_success_at: Option<DateTime<FixedOffset>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<FixedOffset>,
}

fn view_of(row: EndpointRow) -> EndpointView {
    let local = fengqiao_domain::calendar::to_local;
    EndpointView {
        id: row.id,
        url: row.url,
        event_types: row
            .event_types
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        active: row.active,
        disabled_reason: row.disabled_reason,
        failing_since: row.failing_since.map(local),
        last_success_at: row.last_success_at.map(local),
        last_error: row.last_error,
        created_at: local(row.created_at),
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"endpoint": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f80", "url": "https://hotline.example.gov.cn/fengqiao/events",
    "event_types": ["petition.accepted"], "active": true, "disabled_reason": null, "failing_since": null,
    "last_success_at": null, "last_error": null, "created_at": "2026-11-25T10:00:00+08:00"},
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="}))]
pub struct CreatedEndpoint {
    pub endpoint: EndpointView,
    /// The signing secret, shown this once: keep it with the receiver.
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hotline.example.gov.cn/fengqiao/events",
    "event_types": ["petition.accepted", "petition.answered"]}))]
pub struct NewEndpointRequest {
    /// Where deliveries are POSTed: https (plain http is accepted outside production).
    pub url: String,
    /// Which events: `petition.registered`, `petition.accepted`, … (see the list in the
    /// operation's description).
    pub event_types: Vec<String>,
}

fn invalid(field: &'static str, code: &'static str, zh: String, en: String) -> ApiError {
    DomainError::invalid(field, code, Text::owned(zh, en)).into()
}

fn check_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    fengqiao_infra::webhooks::acceptable_endpoint_url(raw, state.settings.is_production())
        .ok_or_else(|| {
            invalid(
                "url",
                "invalid_url",
                "接收地址须为 https URL（不含用户名和密码，最长 2048 字符）".into(),
                "url must be an https URL without credentials, at most 2048 characters".into(),
            )
        })
}

fn check_event_types(types: &[String]) -> Result<Vec<String>, ApiError> {
    let known = webhook_event_types();
    if types.is_empty() {
        return Err(invalid(
            "event_types",
            "invalid_event_types",
            "请至少订阅一种事件".into(),
            "subscribe to at least one event type".into(),
        ));
    }
    let mut out = Vec::new();
    for t in types {
        if !known.contains(t) {
            return Err(invalid(
                "event_types",
                "unknown_event_type",
                format!("未知的事件类型 {t}"),
                format!("unknown event type {t}"),
            ));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// Not found means not found; a database that is down stays a 503.
fn endpoint_lookup(e: fengqiao_infra::db::StoreError) -> ApiError {
    match e {
        fengqiao_infra::db::StoreError::Rule(DomainError::NotFound { .. }) => endpoint_not_found(),
        other => other.into(),
    }
}

fn endpoint_not_found() -> ApiError {
    DomainError::NotFound {
        code: "webhook_endpoint_not_found",
        message: Text::new("接收地址不存在", "no such webhook endpoint"),
    }
    .into()
}

/// Registers a webhook endpoint. Event types: `petition.registered`, `petition.forwarded`,
/// `petition.assigned`, `petition.handed_down`, `petition.accepted`, `petition.not_accepted`,
/// `petition.diverted`, `petition.extended`, `petition.answered`, `petition.review_requested`,
/// `petition.review_decided`, `petition.rereview_requested`, `petition.rereview_decided`,
/// `petition.reopened`, `petition.closed`, `petition.withdrawn`, `petition.message`,
/// `petition.rated`. An endpoint hears of the petitions its integrator created (those it may
/// read), never of anyone else's. Each delivery is a POST of `{"type", "timestamp", "data": {"delivery_id",
/// "petition_id", "tracking_no", "event", "state", "deadline"}}` with the headers
/// `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the secret's key); answer 2xx within 10 s. Failed
/// deliveries are retried with exponential backoff; an endpoint failing for 72 hours is
/// switched off. Verifying a delivery (Python):
///
/// ```python
/// import base64, hmac, hashlib, time
/// def verify(secret, headers, body: bytes, tolerance=300):
///     key = base64.b64decode(secret.removeprefix("whsec_"))
///     msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
///     if abs(time.time() - int(ts)) > tolerance:
///         return False
///     mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
///     expected = base64.b64encode(mac).decode()
///     return any(hmac.compare_digest(expected, s.removeprefix("v1,"))
///                for s in headers["webhook-signature"].split())
/// ```
///
/// Drop a `webhook-id` you have already processed: retries carry the same one.
#[utoipa::path(
    tag = "integrator-webhooks",
    operation_id = "createWebhookEndpoint",
    request_body = NewEndpointRequest,
    security(("client_credentials" = ["webhooks:manage"])),
    responses(
        (status = 201, description = "Registered; the secret is shown this once", body = CreatedEndpoint),
        (status = 409, description = "Too many endpoints (`too_many_endpoints`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad URL or event type (`invalid_url`, `unknown_event_type`, `invalid_event_types`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/open/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    client: ClientUser,
    origin: RequestOrigin,
    body: ApiJson<NewEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    client.require(ClientScope::WebhooksManage)?;
    let url = check_url(&state, &body.0.url)?;
    let event_types = check_event_types(&body.0.event_types)?;
    let secret = fengqiao_infra::webhooks::new_secret();
    let sealed_secret = state
        .crypto
        .seal(store::WEBHOOK_SECRET, &secret)
        .map_err(ApiError::internal)?;
    let txn = state.begin_change().await?;
    // Counted under the client's lock, so two registrations at once cannot both pass the limit.
    store::lock_client(&txn, &client.client_id).await?;
    if store::endpoints_of(&txn, &client.client_id).await?.len() >= MAX_ENDPOINTS {
        return Err(DomainError::Conflict {
            code: "too_many_endpoints",
            message: Text::owned(
                format!("每个接入方最多 {MAX_ENDPOINTS} 个接收地址"),
                format!("at most {MAX_ENDPOINTS} endpoints per integrator"),
            ),
        }
        .into());
    }
    let row = store::create_endpoint(
        &txn,
        NewEndpoint {
            client_id: client.client_id.clone(),
            url,
            sealed_secret,
            event_types,
        },
        Utc::now(),
    )
    .await?;
    state
        .audit_in(
            &txn,
            &client.actor(),
            &origin.0,
            Event::new("webhook_endpoint.created").on("webhook_endpoint", row.id),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(CreatedEndpoint {
        endpoint: view_of(row),
        secret,
    }))
}

/// The caller's webhook endpoints.
#[utoipa::path(
    tag = "integrator-webhooks",
    operation_id = "listWebhookEndpoints",
    security(("client_credentials" = ["webhooks:manage"])),
    responses((status = 200, description = "The caller's endpoints", body = Vec<EndpointView>))
)]
#[get("/open/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    client: ClientUser,
) -> Result<web::Json<Vec<EndpointView>>, ApiError> {
    client.require(ClientScope::WebhooksManage)?;
    Ok(web::Json(
        store::endpoints_of(&state.db, &client.client_id)
            .await?
            .into_iter()
            .map(view_of)
            .collect(),
    ))
}

/// One of the caller's endpoints, with its health.
#[utoipa::path(
    tag = "integrator-webhooks",
    operation_id = "getWebhookEndpoint",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    security(("client_credentials" = ["webhooks:manage"])),
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 404, description = "No such endpoint of the caller's (`webhook_endpoint_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/open/webhooks/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    client: ClientUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<EndpointView>, ApiError> {
    client.require(ClientScope::WebhooksManage)?;
    let row = store::endpoint_of(&state.db, &client.client_id, *id)
        .await
        .map_err(endpoint_lookup)?;
    Ok(web::Json(view_of(row)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": true}))]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `true` switches a disabled endpoint back on (clearing its failure record).
    pub active: Option<bool>,
}

/// Changes an endpoint's URL or event types, or switches it on or off.
#[utoipa::path(
    tag = "integrator-webhooks",
    operation_id = "updateWebhookEndpoint",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body = EndpointUpdate,
    security(("client_credentials" = ["webhooks:manage"])),
    responses(
        (status = 200, description = "The endpoint after the change", body = EndpointView),
        (status = 404, description = "No such endpoint of the caller's (`webhook_endpoint_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad URL or event type (`invalid_url`, `unknown_event_type`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/open/webhooks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    client: ClientUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<EndpointUpdate>,
) -> Result<web::Json<EndpointView>, ApiError> {
    client.require(ClientScope::WebhooksManage)?;
    let change = EndpointChange {
        url: body
            .0
            .url
            .as_deref()
            .map(|u| check_url(&state, u))
            .transpose()?,
        event_types: body
            .0
            .event_types
            .as_deref()
            .map(check_event_types)
            .transpose()?,
        active: body.0.active,
    };
    let txn = state.begin_change().await?;
    let row = store::endpoint_of(&txn, &client.client_id, *id)
        .await
        .map_err(endpoint_lookup)?;
    let row = store::update_endpoint(&txn, row, change, Utc::now()).await?;
    state
        .audit_in(
            &txn,
            &client.actor(),
            &origin.0,
            Event::new("webhook_endpoint.updated").on("webhook_endpoint", row.id),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(view_of(row)))
}

/// Removes an endpoint; what it still had due is discarded.
#[utoipa::path(
    tag = "integrator-webhooks",
    operation_id = "deleteWebhookEndpoint",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    security(("client_credentials" = ["webhooks:manage"])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such endpoint of the caller's (`webhook_endpoint_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/open/webhooks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    client: ClientUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    client.require(ClientScope::WebhooksManage)?;
    let row = store::endpoint_of(&state.db, &client.client_id, *id)
        .await
        .map_err(endpoint_lookup)?;
    let endpoint_id = row.id;
    let txn = state.begin_change().await?;
    store::delete_endpoint(&txn, row, Utc::now()).await?;
    state
        .audit_in(
            &txn,
            &client.actor(),
            &origin.0,
            Event::new("webhook_endpoint.deleted").on("webhook_endpoint", endpoint_id),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"attempt": 1, "at": "2026-11-25T10:31:00+08:00", "outcome": "retry", "error": "HTTP 503", "duration_ms": 42}))]
pub struct AttemptView {
    pub attempt: i32,
    pub at: DateTime<FixedOffset>,
    /// delivered | retry | fallback | permanent
    pub outcome: String,
    pub error: Option<String>,
    pub duration_ms: i32,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f90", "event": "petition.accepted",
    "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "state": "delivered", "attempts": 2,
    "next_attempt_at": null, "last_error": null, "created_at": "2026-11-25T10:30:00+08:00",
    "delivered_at": "2026-11-25T10:31:00+08:00", "log": []}))]
pub struct DeliveryView {
    /// Also the `webhook-id` the receiver saw.
    pub id: Uuid,
    pub event: String,
    pub petition_id: Option<Uuid>,
    /// pending | held (the endpoint is switched off) | delivered | dead | discarded
    pub state: String,
    pub attempts: i32,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    /// Every attempt, in order.
    pub log: Vec<AttemptView>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f90", "event": "petition.accepted",
    "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "state": "delivered", "attempts": 2,
    "next_attempt_at": null, "last_error": null, "created_at": "2026-11-25T10:30:00+08:00",
    "delivered_at": "2026-11-25T10:31:00+08:00", "log": [
        {"attempt": 1, "at": "2026-11-25T10:30:01+08:00", "outcome": "retry", "error": "HTTP 503", "duration_ms": 42},
        {"attempt": 2, "at": "2026-11-25T10:31:00+08:00", "outcome": "delivered", "error": null, "duration_ms": 38}]}],
    "next_cursor": null}))]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// 1 to 100, default 20.
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Deliveries with their attempts, for a page of rows.
pub async fn delivery_views(
    state: &AppState,
    rows: Vec<store::DeliveryRow>,
) -> Result<Vec<DeliveryView>, ApiError> {
    let attempts = store::attempts_of(&state.db, rows.iter().map(|r| r.id).collect()).await?;
    let local = fengqiao_domain::calendar::to_local;
    Ok(rows
        .into_iter()
        .map(|r| DeliveryView {
            log: attempts
                .iter()
                .filter(|a| a.delivery_id == r.id)
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    at: local(a.at),
                    outcome: a.outcome.clone(),
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
            id: r.id,
            next_attempt_at: (r.state == "pending").then(|| local(r.next_attempt_at)),
            event: r.event,
            petition_id: r.petition_id,
            state: r.state,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: local(r.created_at),
            delivered_at: r.delivered_at.map(local),
        })
        .collect())
}

/// An endpoint's delivery log, newest first, each delivery with its attempts.
#[utoipa::path(
    tag = "integrator-webhooks",
    operation_id = "listWebhookDeliveries",
    params(("id" = Uuid, Path, description = "Endpoint id"), DeliveryQuery),
    security(("client_credentials" = ["webhooks:manage"])),
    responses(
        (status = 200, description = "One page of the log", body = DeliveryPage),
        (status = 404, description = "No such endpoint of the caller's (`webhook_endpoint_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/open/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    client: ClientUser,
    id: web::Path<Uuid>,
    query: ApiQuery<DeliveryQuery>,
) -> Result<web::Json<DeliveryPage>, ApiError> {
    client.require(ClientScope::WebhooksManage)?;
    let endpoint = store::endpoint_of(&state.db, &client.client_id, *id)
        .await
        .map_err(endpoint_lookup)?;
    let limit = PageLimit::parse(query.0.limit)?;
    let before = Cursor::key_of::<Uuid>(query.0.cursor.as_deref())?;
    let rows = store::endpoint_deliveries(&state.db, endpoint.id, before, limit.get() + 1).await?;
    let page = Page::from_overfetch(rows, limit, |r| r.id.to_string());
    Ok(web::Json(DeliveryPage {
        items: delivery_views(&state, page.items).await?,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}
