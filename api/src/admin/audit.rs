//! The audit trail, for administrators: by actor, record and time.

use actix_web::{get, web};
use chrono::{DateTime, FixedOffset, Utc};
use fengqiao_domain::identity::Role;
use fengqiao_domain::pagination::{Cursor, PageLimit};
use fengqiao_infra::db::audit;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, StaffUser};
use crate::state::AppState;

/// One entry of the trail.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 42, "id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "at": "2026-11-25T10:30:00+08:00",
    "actor_kind": "staff", "actor_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "actor_roles": "administrator",
    "action": "staff.deactivated", "record_type": "staff", "record_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f62",
    "ip": "10.0.0.8", "request_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f63", "detail": {}, "hash": "9f86d08…"
}))]
pub struct AuditEntryView {
    /// Position in the chain.
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<FixedOffset>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_roles: Option<String>,
    pub action: String,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// SHA-256 over the previous entry's hash and this entry.
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"seq": 42, "id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "at": "2026-11-25T10:30:00+08:00",
    "actor_kind": "staff", "actor_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "actor_roles": "administrator",
    "action": "staff.deactivated", "record_type": "staff", "record_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f62",
    "ip": "10.0.0.8", "request_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f63", "detail": {}, "hash": "9f86d08…"}],
    "next_cursor": "NDI"}))]
pub struct AuditPage {
    pub items: Vec<AuditEntryView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who acted (a staff, citizen or client id).
    pub actor_id: Option<String>,
    /// The kind of record acted on, such as `staff` or `citizen`.
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    /// Such as `staff.login.failed`.
    pub action: Option<String>,
    /// From this instant (inclusive), RFC 3339.
    pub from: Option<DateTime<FixedOffset>>,
    /// Until this instant (exclusive), RFC 3339.
    pub to: Option<DateTime<FixedOffset>>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Search the audit trail, newest first (administrators).
#[utoipa::path(
    tag = "admin-audit",
    operation_id = "searchAuditTrail",
    params(AuditQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Matching entries, newest first", body = AuditPage),
        (status = 400, description = "Malformed query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/audit")]
pub async fn search(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<AuditQuery>,
) -> Result<web::Json<AuditPage>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let q = query.0;
    let limit = PageLimit::parse(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()?
        .map(|c| c.parse_key::<i64>())
        .transpose()?;
    let filter = audit::Filter {
        actor_id: q.actor_id,
        record_type: q.record_type,
        record_id: q.record_id,
        action: q.action,
        from: q.from.map(|d| d.with_timezone(&Utc)),
        to: q.to.map(|d| d.with_timezone(&Utc)),
    };
    let rows = audit::search(&state.db, &filter, limit.get() + 1, before).await?;
    let page =
        fengqiao_domain::pagination::Page::from_overfetch(rows, limit, |r| r.seq.to_string());
    Ok(web::Json(AuditPage {
        items: page
            .items
            .into_iter()
            .map(|r| AuditEntryView {
                seq: r.seq,
                id: r.id,
                at: fengqiao_domain::calendar::to_local(r.at),
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                actor_roles: r.actor_roles,
                action: r.action,
                record_type: r.record_type,
                record_id: r.record_id,
                ip: r.ip,
                request_id: r.request_id,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
                hash: r.hash,
            })
            .collect(),
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}
