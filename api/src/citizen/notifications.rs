//! The citizen's in-app inbox (every public change of their petitions lands here, whatever else
//! reaches them) and their subscribe-message grants from `wx.requestSubscribeMessage`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, FixedOffset, Utc};
use fengqiao_domain::messaging::SubscribeChoice;
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::messaging::{self as store, NotificationRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, CitizenUser, RequestOrigin};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f70", "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60",
    "event": "accepted", "title": "信访事项已受理", "body": "您的信访事项（ZM20261125000001）已受理，将在 60 日内办结并出具处理意见。",
    "page": "pages/petition/detail?id=0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "created_at": "2026-11-25T10:30:00+08:00", "read_at": null}))]
pub struct NotificationView {
    pub id: Uuid,
    pub petition_id: Option<Uuid>,
    /// What happened (`registered`, `accepted`, `answered`, `message` …).
    pub event: String,
    pub title: String,
    pub body: String,
    /// The mini-program page to open.
    pub page: String,
    pub created_at: DateTime<FixedOffset>,
    pub read_at: Option<DateTime<FixedOffset>>,
}

fn view_of(state: &AppState, row: NotificationRow) -> Result<NotificationView, ApiError> {
    Ok(NotificationView {
        id: row.id,
        petition_id: row.petition_id,
        event: row.event,
        title: row.title,
        body: state
            .crypto
            .open(store::NOTIFICATION_BODY, &row.body)
            .map_err(ApiError::internal)?,
        page: row.page,
        created_at: fengqiao_domain::calendar::to_local(row.created_at),
        read_at: row.read_at.map(fengqiao_domain::calendar::to_local),
    })
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f70", "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60",
    "event": "accepted", "title": "信访事项已受理", "body": "您的信访事项（ZM20261125000001）已受理，将在 60 日内办结并出具处理意见。",
    "page": "pages/petition/detail?id=0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "created_at": "2026-11-25T10:30:00+08:00", "read_at": null}],
    "next_cursor": null, "unread": 1}))]
pub struct NotificationPage {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
    /// Unread notifications in all, for the badge.
    pub unread: u64,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// 1 to 100, default 20.
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// Only the unread ones.
    pub unread: Option<bool>,
}

/// Not found means not found; a database that is down stays a 503.
fn notification_lookup(e: fengqiao_infra::db::StoreError) -> ApiError {
    match e {
        fengqiao_infra::db::StoreError::Rule(DomainError::NotFound { .. }) => {
            notification_not_found()
        }
        other => other.into(),
    }
}

fn notification_not_found() -> ApiError {
    DomainError::NotFound {
        code: "notification_not_found",
        message: Text::new("消息不存在", "no such notification"),
    }
    .into()
}

/// The caller's notifications, newest first.
#[utoipa::path(
    tag = "citizen-notifications",
    operation_id = "listMyNotifications",
    params(NotificationQuery),
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "One page, and the unread count", body = NotificationPage),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/me/notifications")]
pub async fn list(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    query: ApiQuery<NotificationQuery>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    let limit = PageLimit::parse(query.0.limit)?;
    let before = Cursor::key_of::<Uuid>(query.0.cursor.as_deref())?;
    let rows = store::notifications(
        &state.db,
        citizen.id,
        query.0.unread.unwrap_or(false),
        before,
        limit.get() + 1,
    )
    .await?;
    let page = Page::from_overfetch(rows, limit, |r| r.id.to_string());
    let items = page
        .items
        .into_iter()
        .map(|row| view_of(&state, row))
        .collect::<Result<_, _>>()?;
    Ok(web::Json(NotificationPage {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
        unread: store::unread_count(&state.db, citizen.id).await?,
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"unread": 3}))]
pub struct UnreadCount {
    pub unread: u64,
}

/// How many of the caller's notifications are unread.
#[utoipa::path(
    tag = "citizen-notifications",
    operation_id = "countMyUnreadNotifications",
    security(("citizen_bearer" = [])),
    responses((status = 200, description = "The unread count", body = UnreadCount))
)]
#[get("/me/notifications/unread-count")]
pub async fn unread_count(
    state: web::Data<AppState>,
    citizen: CitizenUser,
) -> Result<web::Json<UnreadCount>, ApiError> {
    Ok(web::Json(UnreadCount {
        unread: store::unread_count(&state.db, citizen.id).await?,
    }))
}

/// One of the caller's notifications (reading it does not mark it read).
#[utoipa::path(
    tag = "citizen-notifications",
    operation_id = "getMyNotification",
    params(("id" = Uuid, Path, description = "Notification id")),
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "The notification", body = NotificationView),
        (status = 404, description = "No such notification of the caller's (`notification_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/me/notifications/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<NotificationView>, ApiError> {
    let row = store::notification(&state.db, citizen.id, *id)
        .await
        .map_err(notification_lookup)?;
    Ok(web::Json(view_of(&state, row)?))
}

/// Marks one of the caller's notifications read (again: no change, no error).
#[utoipa::path(
    tag = "citizen-notifications",
    operation_id = "markMyNotificationRead",
    params(("id" = Uuid, Path, description = "Notification id")),
    security(("citizen_bearer" = [])),
    responses(
        (status = 204, description = "Read"),
        (status = 404, description = "No such notification of the caller's (`notification_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/notifications/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    store::notification(&state.db, citizen.id, *id)
        .await
        .map_err(notification_lookup)?;
    let txn = state.begin_change().await?;
    let changed = store::mark_read(&txn, citizen.id, Some(*id), Utc::now()).await?;
    if changed > 0 {
        state
            .audit_in(
                &txn,
                &citizen.actor(),
                &origin.0,
                Event::new("notification.read").on("notification", *id),
            )
            .await?;
    }
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"marked": 3}))]
pub struct Marked {
    /// How many were unread and are now read.
    pub marked: u64,
}

/// Marks all the caller's notifications read.
#[utoipa::path(
    tag = "citizen-notifications",
    operation_id = "markAllMyNotificationsRead",
    security(("citizen_bearer" = [])),
    responses((status = 200, description = "How many were marked", body = Marked))
)]
#[post("/me/notifications/read-all")]
pub async fn mark_all_read(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
) -> Result<web::Json<Marked>, ApiError> {
    let txn = state.begin_change().await?;
    let marked = store::mark_read(&txn, citizen.id, None, Utc::now()).await?;
    if marked > 0 {
        state
            .audit_in(
                &txn,
                &citizen.actor(),
                &origin.0,
                Event::new("notification.read_all")
                    .on("citizen", citizen.id)
                    .with(serde_json::json!({ "marked": marked })),
            )
            .await?;
    }
    txn.commit().await?;
    Ok(web::Json(Marked { marked }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"results": {"tmpl_accepted_Qx1": "accept", "tmpl_answered_Zp9": "reject"}}))]
pub struct SubscriptionChoices {
    /// The `success` result of `wx.requestSubscribeMessage`, template id to choice, as the
    /// mini-program received it (its `errMsg` key may be left in; it is ignored).
    pub results: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"template_id": "tmpl_accepted_Qx1", "long_term": false, "remaining": 2, "refused": false,
    "updated_at": "2026-11-25T10:30:00+08:00"}))]
pub struct GrantView {
    pub template_id: String,
    /// A long-term subscription: any number of messages until withdrawn.
    pub long_term: bool,
    /// One-time messages still allowed.
    pub remaining: u32,
    /// The citizen turned this template off.
    pub refused: bool,
    pub updated_at: DateTime<FixedOffset>,
}

async fn grant_views(state: &AppState, citizen_id: Uuid) -> Result<Vec<GrantView>, ApiError> {
    Ok(store::grants(&state.db, citizen_id)
        .await?
        .into_iter()
        .map(|(template_id, g, at)| GrantView {
            template_id,
            long_term: g.long_term,
            remaining: g.remaining,
            refused: g.refused,
            updated_at: fengqiao_domain::calendar::to_local(at),
        })
        .collect())
}

/// The subscribe-message templates configured for some event, and whether each is long-term.
fn known_templates(state: &AppState) -> BTreeMap<String, bool> {
    state
        .settings
        .messaging
        .events
        .values()
        .filter_map(|t| t.wechat_template.clone().map(|id| (id, t.wechat_long_term)))
        .collect()
}

/// Records the citizen's answers to `wx.requestSubscribeMessage`: each "accept" of a one-time
/// template allows one more message, a long-term one allows messages until withdrawn, a
/// "reject" stops them. Templates this service does not use are refused by name.
#[utoipa::path(
    tag = "citizen-notifications",
    operation_id = "recordMySubscriptions",
    request_body = SubscriptionChoices,
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "The caller's grants after the change", body = Vec<GrantView>),
        (status = 422, description = "An unknown template or choice (`unknown_template`, `invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/subscriptions")]
pub async fn record_subscriptions(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    body: ApiJson<SubscriptionChoices>,
) -> Result<web::Json<Vec<GrantView>>, ApiError> {
    let known = known_templates(&state);
    let mut choices = Vec::new();
    for (template_id, value) in &body.0.results {
        if template_id == "errMsg" {
            continue;
        }
        let Some(&long_term) = known.get(template_id) else {
            return Err(DomainError::invalid(
                "results",
                "unknown_template",
                Text::owned(
                    format!("未知的订阅消息模板 {template_id}"),
                    format!("unknown subscribe-message template {template_id}"),
                ),
            )
            .into());
        };
        let choice: SubscribeChoice = serde_json::from_value(value.clone()).map_err(|_| {
            ApiError::from(DomainError::invalid(
                "results",
                "invalid_field",
                Text::new(
                    "订阅结果须为 accept、reject、ban 或 filter",
                    "a result must be accept, reject, ban or filter",
                ),
            ))
        })?;
        choices.push((template_id.clone(), choice, long_term));
    }
    let txn = state.begin_change().await?;
    store::record_choices(&txn, citizen.id, &choices, Utc::now()).await?;
    state
        .audit_in(
            &txn,
            &citizen.actor(),
            &origin.0,
            Event::new("subscription.recorded")
                .on("citizen", citizen.id)
                .with(serde_json::json!({
                    "choices": choices.iter().map(|(t, c, _)| (t.clone(), *c)).collect::<BTreeMap<_, _>>()
                })),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(grant_views(&state, citizen.id).await?))
}

/// The caller's subscribe-message grants.
#[utoipa::path(
    tag = "citizen-notifications",
    operation_id = "listMySubscriptions",
    security(("citizen_bearer" = [])),
    responses((status = 200, description = "One entry per template", body = Vec<GrantView>))
)]
#[get("/me/subscriptions")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    citizen: CitizenUser,
) -> Result<web::Json<Vec<GrantView>>, ApiError> {
    Ok(web::Json(grant_views(&state, citizen.id).await?))
}
