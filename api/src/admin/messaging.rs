//! Staff side of the status push: a handler's public message to the petitioner (it reaches
//! them like any status change), and the dead letters administrators retry or discard.

use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use fengqiao_domain::identity::Role;
use fengqiao_domain::messaging::{DeliveryChannel, DeliveryState};
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::messaging as store;
use fengqiao_infra::db::petitions::{self, Note};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::petitions::visible_petition;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
use crate::open::webhooks::{DeliveryView, delivery_views};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "您反映的道路问题已安排现场勘查，预计本周内完成修补。"}))]
pub struct MessageBody {
    /// 1 to 500 characters; the petitioner reads it in the timeline, the inbox and the push.
    pub text: String,
}

/// Sends the petitioner a message from the handling body (a public timeline entry, pushed like
/// a status change).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "messagePetitioner",
    params(("id" = Uuid, Path, description = "Petition id")),
    request_body = MessageBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Recorded; the push follows"),
        (status = 404, description = "No such petition in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/petitions/{id}/messages")]
pub async fn message_petitioner(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<MessageBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[
        Role::Registrar,
        Role::Handler,
        Role::Supervisor,
        Role::Administrator,
    ])?;
    let text = body.0.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(DomainError::invalid(
            "text",
            "invalid_field",
            Text::new(
                "留言须为 1 至 500 个字符",
                "the message must be 1 to 500 characters",
            ),
        )
        .into());
    }
    let row = visible_petition(&state, &staff, id.into_inner()).await?;
    let now = Utc::now();
    let txn = state.begin_change().await?;
    petitions::record_note(
        &txn,
        &row,
        Note {
            event: "message",
            actor_id: staff.account.id,
            reason: Some(text),
            detail: json!({}),
            topic: Some("petition.message"),
            public: true,
            now,
        },
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("petition.message_sent").on("petition", row.id),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// pending | delivered | fell_back | dead | discarded (default: dead)
    pub state: Option<String>,
    /// wechat | sms | webhook
    pub channel: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"channel": "wechat", "endpoint_id": null, "id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f91",
    "event": "petition.answered", "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "state": "dead", "attempts": 1,
    "next_attempt_at": null, "last_error": "WeChat 47003: argument invalid! data.thing2.value", "created_at": "2026-11-25T10:30:00+08:00",
    "delivered_at": null, "log": [{"attempt": 1, "at": "2026-11-25T10:30:01+08:00", "outcome": "permanent",
    "error": "WeChat 47003: argument invalid! data.thing2.value", "duration_ms": 51}]}], "next_cursor": null}))]
pub struct AdminDeliveryPage {
    pub items: Vec<AdminDeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminDeliveryView {
    /// wechat | sms | webhook
    pub channel: String,
    /// The integrator's endpoint, for webhooks.
    pub endpoint_id: Option<Uuid>,
    #[serde(flatten)]
    pub delivery: DeliveryView,
}

fn bad_filter(field: &'static str) -> ApiError {
    DomainError::invalid(
        field,
        "invalid_field",
        Text::new("筛选条件取值无效", "unknown filter value"),
    )
    .into()
}

/// Deliveries by state (dead letters by default) and channel, newest first, with every attempt.
#[utoipa::path(
    tag = "admin-deliveries",
    operation_id = "listDeliveries",
    params(DeliveryFilter),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "One page", body = AdminDeliveryPage),
        (status = 422, description = "A bad filter, limit or cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<DeliveryFilter>,
) -> Result<web::Json<AdminDeliveryPage>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let q = query.0;
    let wanted = match q.state.as_deref() {
        None => DeliveryState::Dead,
        Some(s) => DeliveryState::parse(s).ok_or_else(|| bad_filter("state"))?,
    };
    let channel = q
        .channel
        .as_deref()
        .map(|c| DeliveryChannel::parse(c).ok_or_else(|| bad_filter("channel")))
        .transpose()?;
    let limit = PageLimit::parse(q.limit)?;
    let before = Cursor::key_of::<Uuid>(q.cursor.as_deref())?;
    let rows = store::deliveries(&state.db, Some(wanted), channel, before, limit.get() + 1).await?;
    let page = Page::from_overfetch(rows, limit, |r| r.id.to_string());
    let extra: Vec<(String, Option<Uuid>)> = page
        .items
        .iter()
        .map(|r| (r.channel.clone(), r.endpoint_id))
        .collect();
    let views = delivery_views(&state, page.items).await?;
    Ok(web::Json(AdminDeliveryPage {
        items: views
            .into_iter()
            .zip(extra)
            .map(|(delivery, (channel, endpoint_id))| AdminDeliveryView {
                channel,
                endpoint_id,
                delivery,
            })
            .collect(),
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// Puts a dead letter back in line for a fresh round of attempts.
#[utoipa::path(
    tag = "admin-deliveries",
    operation_id = "retryDelivery",
    params(("id" = Uuid, Path, description = "Delivery id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Due again now"),
        (status = 404, description = "No such delivery (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a dead letter (`delivery_not_dead`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/deliveries/{id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    dead_letter(&state, &staff, &origin, *id, DeadLetterAction::Retry).await
}

/// Gives a dead letter up for good.
#[utoipa::path(
    tag = "admin-deliveries",
    operation_id = "discardDelivery",
    params(("id" = Uuid, Path, description = "Delivery id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Discarded"),
        (status = 404, description = "No such delivery (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a dead letter (`delivery_not_dead`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/deliveries/{id}/discard")]
pub async fn discard_delivery(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    dead_letter(&state, &staff, &origin, *id, DeadLetterAction::Discard).await
}

enum DeadLetterAction {
    Retry,
    Discard,
}

/// Retries or discards a dead letter, audited in the same transaction.
async fn dead_letter(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    id: Uuid,
    action: DeadLetterAction,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let txn = state.begin_change().await?;
    let (row, event) = match action {
        DeadLetterAction::Retry => (
            store::retry_dead(&txn, id, Utc::now()).await?,
            "delivery.retried",
        ),
        DeadLetterAction::Discard => (
            store::discard_dead(&txn, id, Utc::now()).await?,
            "delivery.discarded",
        ),
    };
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new(event).on("delivery", row.id),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
