//! Editors keep what the public pages show besides articles: the contacts (where to visit,
//! where to write, whom to call), the leaders, and the reception rules the schedule is made
//! from. Every change is audited and shows on the public pages at once.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{NaiveTime, Utc};
use fengqiao_domain::identity::Role;
use fengqiao_domain::reception::{OnRestDay, ReceptionRule, Recurrence};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::articles::{self as articles_store, ContactFields};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::reception::{self as reception_store, LeaderFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, RequestOrigin, StaffUser};
use crate::state::AppState;

const EDITORS: &[Role] = &[Role::Editor, Role::Administrator];

fn invalid(field: &'static str, zh: &'static str, en: &'static str) -> ApiError {
    DomainError::invalid(field, "invalid_field", Text::new(zh, en)).into()
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(invalid(field, "长度不符合要求", "empty or too long"));
    }
    Ok(v.to_owned())
}

fn optional(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() <= max => Ok(Some(v.to_owned())),
        Some(_) => Err(invalid(field, "长度不符合要求", "too long")),
    }
}

/// Audits in the change's transaction, commits, and empties the public cache.
async fn done(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    txn: sea_orm::DatabaseTransaction,
    event: Event,
) -> Result<(), ApiError> {
    state
        .audit_in(&txn, &staff.actor(), &origin.0, event)
        .await?;
    txn.commit().await?;
    state.reference.forget();
    crate::public::invalidate(state).await;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "kind": "visit", "name": "县信访接待中心",
    "address": "中牟县青年路 1 号", "phone": "0371-62100000", "hours": "工作日 8:30-12:00，14:30-17:30",
    "latitude": 34.72, "longitude": 113.97, "directions": "乘 1 路公交至县政府站", "sort_order": 1}))]
pub struct ContactBody {
    pub org_unit_id: Uuid,
    /// visit | letter | hotline
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub hours: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub directions: Option<String>,
    pub sort_order: Option<i32>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fc0"}))]
pub struct Saved {
    pub id: Uuid,
}

async fn save_contact(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    id: Option<Uuid>,
    b: ContactBody,
) -> Result<Uuid, ApiError> {
    staff.require_any(EDITORS)?;
    if !matches!(b.kind.as_str(), "visit" | "letter" | "hotline") {
        return Err(invalid(
            "kind",
            "类型须为 visit、letter 或 hotline",
            "kind must be visit, letter or hotline",
        ));
    }
    if b.latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v))
        || b.longitude.is_some_and(|v| !(-180.0..=180.0).contains(&v))
    {
        return Err(invalid(
            "latitude",
            "坐标超出范围",
            "coordinates out of range",
        ));
    }
    fengqiao_infra::db::org::get(&state.db, b.org_unit_id)
        .await
        .map_err(|_| invalid("org_unit_id", "单位不存在", "no such organisation"))?;
    let fields = ContactFields {
        org_unit_id: b.org_unit_id,
        kind: b.kind.clone(),
        name: text("name", &b.name, 64)?,
        address: optional("address", b.address.as_deref(), 256)?,
        postcode: optional("postcode", b.postcode.as_deref(), 16)?,
        recipient: optional("recipient", b.recipient.as_deref(), 64)?,
        phone: optional("phone", b.phone.as_deref(), 32)?,
        hours: optional("hours", b.hours.as_deref(), 128)?,
        latitude: b.latitude,
        longitude: b.longitude,
        directions: optional("directions", b.directions.as_deref(), 1000)?,
        sort_order: b.sort_order.unwrap_or(0),
    };
    let txn = state.begin_change().await?;
    let row = articles_store::save_contact(&txn, id, fields, Utc::now()).await?;
    done(
        state,
        staff,
        origin,
        txn,
        Event::new("contact.saved").on("contact", row.id),
    )
    .await?;
    Ok(row.id)
}

/// Adds a contact (where to visit, where to write, a hotline).
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "createContact",
    request_body = ContactBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Added", body = Saved),
        (status = 422, description = "A field out of bounds (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/contacts")]
pub async fn create_contact(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<ContactBody>,
) -> Result<HttpResponse, ApiError> {
    let id = save_contact(&state, &staff, &origin, None, body.0).await?;
    Ok(HttpResponse::Created().json(Saved { id }))
}

/// Replaces a contact.
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "updateContact",
    params(("id" = Uuid, Path, description = "Contact id")),
    request_body = ContactBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = Saved),
        (status = 404, description = "No such contact (`contact_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field out of bounds (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/contacts/{id}")]
pub async fn update_contact(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<ContactBody>,
) -> Result<web::Json<Saved>, ApiError> {
    let id = save_contact(&state, &staff, &origin, Some(*id), body.0).await?;
    Ok(web::Json(Saved { id }))
}

/// Removes a contact.
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "deleteContact",
    params(("id" = Uuid, Path, description = "Contact id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such contact (`contact_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/contacts/{id}")]
pub async fn delete_contact(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(EDITORS)?;
    let txn = state.begin_change().await?;
    if !articles_store::delete_contact(&txn, *id).await? {
        return Err(DomainError::NotFound {
            code: "contact_not_found",
            message: Text::new("联系方式不存在", "no such contact"),
        }
        .into());
    }
    done(
        &state,
        &staff,
        &origin,
        txn,
        Event::new("contact.deleted").on("contact", *id),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "name": "张某某", "title": "县长",
    "photo_url": null, "duties": "主持县政府全面工作", "active": true}))]
pub struct LeaderBody {
    pub org_unit_id: Uuid,
    pub name: String,
    pub title: String,
    pub photo_url: Option<String>,
    pub duties: Option<String>,
    pub active: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f67", "org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "name": "张某某", "title": "县长", "photo_url": null, "duties": "主持县政府全面工作", "active": true}))]
pub struct LeaderRecord {
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub name: String,
    pub title: String,
    pub photo_url: Option<String>,
    pub duties: Option<String>,
    pub active: bool,
}

/// Every leader.
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "listLeaders",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The leaders", body = Vec<LeaderRecord>))
)]
#[get("/leaders")]
pub async fn list_leaders(
    state: web::Data<AppState>,
    staff: StaffUser,
) -> Result<web::Json<Vec<LeaderRecord>>, ApiError> {
    staff.require_any(EDITORS)?;
    Ok(web::Json(
        reception_store::leaders(&state.db)
            .await?
            .into_iter()
            .map(|l| LeaderRecord {
                id: l.id,
                org_unit_id: l.org_unit_id,
                name: l.name,
                title: l.title,
                photo_url: l.photo_url,
                duties: l.duties,
                active: l.active,
            })
            .collect(),
    ))
}

async fn save_leader(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    id: Option<Uuid>,
    b: LeaderBody,
) -> Result<Uuid, ApiError> {
    staff.require_any(EDITORS)?;
    if b.photo_url
        .as_deref()
        .is_some_and(|u| !u.starts_with("https://") || u.len() > 512)
    {
        return Err(invalid(
            "photo_url",
            "照片须为 https 地址",
            "the photo must be an https URL",
        ));
    }
    fengqiao_infra::db::org::get(&state.db, b.org_unit_id)
        .await
        .map_err(|_| invalid("org_unit_id", "单位不存在", "no such organisation"))?;
    let fields = LeaderFields {
        org_unit_id: b.org_unit_id,
        name: text("name", &b.name, 32)?,
        title: text("title", &b.title, 64)?,
        photo_url: b.photo_url,
        duties: optional("duties", b.duties.as_deref(), 1000)?,
        active: b.active,
    };
    let txn = state.begin_change().await?;
    let row = reception_store::save_leader(&txn, id, fields, Utc::now()).await?;
    done(
        state,
        staff,
        origin,
        txn,
        Event::new("leader.saved").on("leader", row.id),
    )
    .await?;
    Ok(row.id)
}

/// Adds a leader.
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "createLeader",
    request_body = LeaderBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Added", body = Saved),
        (status = 422, description = "A field out of bounds (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/leaders")]
pub async fn create_leader(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<LeaderBody>,
) -> Result<HttpResponse, ApiError> {
    let id = save_leader(&state, &staff, &origin, None, body.0).await?;
    Ok(HttpResponse::Created().json(Saved { id }))
}

/// Replaces a leader's details (or marks them inactive).
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "updateLeader",
    params(("id" = Uuid, Path, description = "Leader id")),
    request_body = LeaderBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = Saved),
        (status = 404, description = "No such leader (`leader_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field out of bounds (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/leaders/{id}")]
pub async fn update_leader(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<LeaderBody>,
) -> Result<web::Json<Saved>, ApiError> {
    let id = save_leader(&state, &staff, &origin, Some(*id), body.0).await?;
    Ok(web::Json(Saved { id }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "leader_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f67",
    "recurrence": {"kind": "monthly_day", "day": 26}, "place": "县信访接待中心", "starts_at": "09:00", "ends_at": "11:30",
    "capacity": 10, "on_rest_day": "next_workday", "active": true}))]
pub struct RuleBody {
    pub org_unit_id: Uuid,
    pub leader_id: Option<Uuid>,
    pub recurrence: Recurrence,
    pub place: String,
    /// `HH:MM`
    pub starts_at: String,
    pub ends_at: String,
    pub capacity: u32,
    pub on_rest_day: OnRestDay,
    pub active: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa1", "rule": {"org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "leader_id": null, "recurrence": {"kind": "every_workday"}, "place": "县信访接待中心", "starts_at": "09:00",
    "ends_at": "11:30", "capacity": 10, "on_rest_day": "cancel", "active": true}}))]
pub struct RuleView {
    pub id: Uuid,
    pub rule: RuleBody,
}

fn body_of(rule: ReceptionRule, active: bool) -> RuleBody {
    RuleBody {
        org_unit_id: rule.org_unit_id,
        leader_id: rule.leader_id,
        recurrence: rule.recurrence,
        place: rule.place,
        starts_at: rule.starts_at.format("%H:%M").to_string(),
        ends_at: rule.ends_at.format("%H:%M").to_string(),
        capacity: rule.capacity,
        on_rest_day: rule.on_rest_day,
        active,
    }
}

/// Every reception rule, active or not.
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "listReceptionRules",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The rules", body = Vec<RuleView>))
)]
#[get("/reception/rules")]
pub async fn list_rules(
    state: web::Data<AppState>,
    staff: StaffUser,
) -> Result<web::Json<Vec<RuleView>>, ApiError> {
    staff.require_any(EDITORS)?;
    Ok(web::Json(
        reception_store::all_rules(&state.db)
            .await?
            .into_iter()
            .map(|(rule, active)| RuleView {
                id: rule.id,
                rule: body_of(rule, active),
            })
            .collect(),
    ))
}

async fn save_rule(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    id: Option<Uuid>,
    b: RuleBody,
) -> Result<Uuid, ApiError> {
    staff.require_any(EDITORS)?;
    let time = |field: &'static str, t: &str| {
        NaiveTime::parse_from_str(t, "%H:%M")
            .map_err(|_| invalid(field, "时间格式须为 HH:MM", "time must be HH:MM"))
    };
    let rule = ReceptionRule {
        id: id.unwrap_or_default(),
        org_unit_id: b.org_unit_id,
        leader_id: b.leader_id,
        recurrence: b.recurrence,
        place: text("place", &b.place, 128)?,
        starts_at: time("starts_at", &b.starts_at)?,
        ends_at: time("ends_at", &b.ends_at)?,
        capacity: b.capacity,
        on_rest_day: b.on_rest_day,
    };
    rule.check()?;
    fengqiao_infra::db::org::get(&state.db, rule.org_unit_id)
        .await
        .map_err(|_| invalid("org_unit_id", "单位不存在", "no such organisation"))?;
    let leaders = reception_store::leaders(&state.db).await?;
    let named: Vec<Uuid> = match &rule.recurrence {
        Recurrence::WorkdayRota { leader_ids, .. } => leader_ids.clone(),
        _ => rule.leader_id.into_iter().collect(),
    };
    if named.iter().any(|id| !leaders.iter().any(|l| l.id == *id)) {
        return Err(invalid("leader_id", "领导不存在", "no such leader"));
    }
    let txn = state.begin_change().await?;
    let saved = reception_store::save_rule(&txn, id, &rule, b.active, Utc::now()).await?;
    done(
        state,
        staff,
        origin,
        txn,
        Event::new("reception_rule.saved").on("reception_rule", saved.id),
    )
    .await?;
    Ok(saved.id)
}

/// Publishes a reception rule.
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "createReceptionRule",
    request_body = RuleBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Published", body = Saved),
        (status = 422, description = "A rule that makes no sense, or an unknown leader (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/reception/rules")]
pub async fn create_rule(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    let id = save_rule(&state, &staff, &origin, None, body.0).await?;
    Ok(HttpResponse::Created().json(Saved { id }))
}

/// Replaces a reception rule (or switches it off with `active: false`).
#[utoipa::path(
    tag = "admin-public-content",
    operation_id = "updateReceptionRule",
    params(("id" = Uuid, Path, description = "Rule id")),
    request_body = RuleBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = Saved),
        (status = 404, description = "No such rule (`rule_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rule that makes no sense, or an unknown leader (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/reception/rules/{id}")]
pub async fn update_rule(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<RuleBody>,
) -> Result<web::Json<Saved>, ApiError> {
    let id = save_rule(&state, &staff, &origin, Some(*id), body.0).await?;
    Ok(web::Json(Saved { id }))
}
