//! Leader case ownership (包案) and supervision orders (督办): a named leader owns a difficult
//! case; a supervisor issues orders with their own deadlines, which the handling body answers.

use actix_web::{HttpResponse, post, web};
use chrono::{NaiveDate, Utc};
use fengqiao_domain::identity::Role;
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::petitions::{self, Note};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::petitions::visible_petition;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, RequestOrigin, StaffUser};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"leader_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f67"}))]
pub struct OwnerBody {
    /// An active staff member holding the leader role.
    pub leader_id: Uuid,
}

/// Name the leader who owns the case (包案: knows it, studies it, persuades, solves, ends it).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "assignPetitionOwner",
    params(("id" = Uuid, Path, description = "Petition id")),
    request_body = OwnerBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Assigned"),
        (status = 404, description = "No such petition in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an active leader (`not_a_leader`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/petitions/{id}/owner")]
pub async fn assign_owner(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<OwnerBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Supervisor, Role::Administrator])?;
    let row = visible_petition(&state, &staff, id.into_inner()).await?;
    let leader = fengqiao_infra::db::staff::get(&state.db, body.0.leader_id)
        .await?
        .filter(|l| l.active && l.roles.has(Role::Leader))
        .ok_or_else(|| {
            ApiError::from(DomainError::invalid(
                "leader_id",
                "not_a_leader",
                Text::new(
                    "包案人须为在职的领导账号",
                    "the owner must be an active leader",
                ),
            ))
        })?;
    let now = Utc::now();
    let txn = state.begin_change().await?;
    petitions::set_owner(&txn, row.id, leader.id, now).await?;
    petitions::record_note(
        &txn,
        &row,
        Note {
            event: "owner_assigned",
            actor_id: staff.account.id,
            reason: None,
            detail: json!({"leader_id": leader.id}),
            topic: Some("petition.owner_assigned"),
            public: false,
            now,
        },
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("petition.owner_assigned")
                .on("petition", row.id)
                .with(json!({"leader_id": leader.id})),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A supervision order as staff see it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f68", "instruction": "请于 12 月 10 日前报告处理进展",
    "due_on": "2026-12-10", "overdue": false, "reply": null, "replied_at": null}))]
pub struct SupervisionOrderView {
    pub id: Uuid,
    pub instruction: String,
    pub due_on: NaiveDate,
    /// Unanswered past its day.
    pub overdue: bool,
    pub reply: Option<String>,
    pub replied_at: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl From<petitions::SupervisionOrderRow> for SupervisionOrderView {
    fn from(o: petitions::SupervisionOrderRow) -> Self {
        let today = fengqiao_domain::calendar::local_date(Utc::now());
        Self {
            id: o.id,
            overdue: o.replied_at.is_none() && today > o.due_on,
            instruction: o.instruction,
            due_on: o.due_on,
            reply: o.reply,
            replied_at: o.replied_at.map(fengqiao_domain::calendar::to_local),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"instruction": "请于 12 月 10 日前报告处理进展", "due_on": "2026-12-10"}))]
pub struct OrderBody {
    /// 2 to 500 characters.
    pub instruction: String,
    /// After today.
    pub due_on: NaiveDate,
}

/// Issue a supervision order (督办) with its own deadline (supervisors).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "issueSupervisionOrder",
    params(("id" = Uuid, Path, description = "Petition id")),
    request_body = OrderBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Issued", body = SupervisionOrderView),
        (status = 404, description = "No such petition in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty instruction or a past day", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/petitions/{id}/supervision-orders")]
pub async fn issue_order(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<OrderBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Supervisor])?;
    let row = visible_petition(&state, &staff, id.into_inner()).await?;
    let body = body.0;
    let now = Utc::now();
    let today = fengqiao_domain::calendar::local_date(now);
    let instruction = body.instruction.trim();
    let mut errors = Vec::new();
    if !(2..=500).contains(&instruction.chars().count()) {
        errors.push(fengqiao_domain::FieldError::new(
            "instruction",
            "invalid_instruction",
            Text::new(
                "督办要求须为 2 至 500 个字",
                "the instruction must be 2 to 500 characters",
            ),
        ));
    }
    if body.due_on <= today {
        errors.push(fengqiao_domain::FieldError::new(
            "due_on",
            "due_on_not_future",
            Text::new("督办期限须晚于今天", "the due day must be after today"),
        ));
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let txn = state.begin_change().await?;
    let order = petitions::add_supervision_order(
        &txn,
        row.id,
        staff.account.id,
        instruction,
        body.due_on,
        now,
    )
    .await?;
    petitions::record_note(
        &txn,
        &row,
        Note {
            event: "supervision_ordered",
            actor_id: staff.account.id,
            reason: Some(instruction.to_owned()),
            detail: json!({"order_id": order.id, "due_on": body.due_on}),
            topic: Some("petition.supervision_ordered"),
            public: false,
            now,
        },
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("petition.supervision_ordered")
                .on("petition", row.id)
                .with(json!({"order_id": order.id})),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(SupervisionOrderView::from(order)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reply": "已组织现场核查，12 月 3 日完成修复。"}))]
pub struct ReplyBody {
    /// 2 to 2000 characters.
    pub reply: String,
}

/// Answer a supervision order (handlers of the body that has the case).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "replyToSupervisionOrder",
    params(("id" = Uuid, Path, description = "Supervision order id")),
    request_body = ReplyBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Answered", body = SupervisionOrderView),
        (status = 404, description = "No such order in the caller's scope (`supervision_order_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered (`already_replied`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty reply", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/supervision-orders/{id}/reply")]
pub async fn reply_order(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<ReplyBody>,
) -> Result<web::Json<SupervisionOrderView>, ApiError> {
    staff.require_any(&[Role::Handler])?;
    let not_found = || {
        ApiError::from(DomainError::NotFound {
            code: "supervision_order_not_found",
            message: Text::new("督办单不存在", "no such supervision order"),
        })
    };
    let order = petitions::supervision_order(&state.db, id.into_inner())
        .await?
        .ok_or_else(not_found)?;
    let row = visible_petition(&state, &staff, order.petition_id)
        .await
        .map_err(|_| not_found())?;
    let reply = body.0.reply.trim().to_owned();
    if !(2..=2000).contains(&reply.chars().count()) {
        return Err(DomainError::invalid(
            "reply",
            "invalid_reply",
            Text::new(
                "回复须为 2 至 2000 个字",
                "the reply must be 2 to 2000 characters",
            ),
        )
        .into());
    }
    let now = Utc::now();
    let txn = state.begin_change().await?;
    if !petitions::reply_supervision_order(&txn, order.id, staff.account.id, &reply, now).await? {
        return Err(DomainError::Conflict {
            code: "already_replied",
            message: Text::new("该督办单已回复", "this order has already been answered"),
        }
        .into());
    }
    petitions::record_note(
        &txn,
        &row,
        Note {
            event: "supervision_replied",
            actor_id: staff.account.id,
            reason: None,
            detail: json!({"order_id": order.id}),
            topic: None,
            public: false,
            now,
        },
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("petition.supervision_replied")
                .on("petition", row.id)
                .with(json!({"order_id": order.id})),
        )
        .await?;
    txn.commit().await?;
    let answered = petitions::supervision_order(&state.db, order.id)
        .await?
        .ok_or_else(not_found)?;
    Ok(web::Json(answered.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org_ids": ["0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f70", "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f72"]}))]
pub struct JointBody {
    /// The further bodies (at most 5); an empty list ends joint handling.
    pub org_ids: Vec<Uuid>,
}

/// Set the bodies handling a complex case jointly (联合办理) with the handling body
/// (registrars, supervisors). They see and work on the case; the accused never joins.
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "setJointHandling",
    params(("id" = Uuid, Path, description = "Petition id")),
    request_body = JointBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Set"),
        (status = 404, description = "No such petition in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or too many bodies, or the accused organisation", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/petitions/{id}/joint-handling")]
pub async fn set_joint_handling(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<JointBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Registrar, Role::Supervisor])?;
    let row = visible_petition(&state, &staff, id.into_inner()).await?;
    let mut orgs = body.0.org_ids;
    orgs.sort();
    orgs.dedup();
    let invalid = |code: &'static str, zh: &'static str, en: &'static str| {
        ApiError::from(DomainError::invalid("org_ids", code, Text::new(zh, en)))
    };
    if orgs.len() > 5 {
        return Err(invalid(
            "too_many_co_handlers",
            "联合办理单位最多 5 个",
            "at most 5 joint handlers",
        ));
    }
    for org in &orgs {
        let unit = fengqiao_infra::db::org::get(&state.db, *org)
            .await
            .map_err(|_| invalid("unknown_org", "联合办理单位不存在", "no such organisation"))?;
        if row.accused_org_id == Some(unit.id) {
            return Err(invalid(
                "accused_may_not_receive",
                "检举控告事项不得交由被检举控告的组织办理",
                "an accusation may not be handled by the organisation it accuses",
            ));
        }
    }
    let now = Utc::now();
    let txn = state.begin_change().await?;
    petitions::set_co_handlers(&txn, row.id, &orgs).await?;
    petitions::record_note(
        &txn,
        &row,
        Note {
            event: "joint_handling_set",
            actor_id: staff.account.id,
            reason: None,
            detail: json!({"org_ids": orgs}),
            topic: Some("petition.joint_handling_set"),
            public: false,
            now,
        },
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("petition.joint_handling_set")
                .on("petition", row.id)
                .with(json!({"org_ids": orgs})),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
