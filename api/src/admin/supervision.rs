//! Leader case ownership (包案) and supervision orders (督办): a named leader owns a difficult
//! case; a supervisor issues orders with their own deadlines, which the handling body answers.

use actix_web::{HttpResponse, get, post, web};
use chrono::{NaiveDate, Utc};
use fengqiao_domain::identity::Role;
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::petitions::{self, Note};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use fengqiao_domain::org::OrgKind;
use fengqiao_domain::statistics::{CountFigure, Granularity, Period, WeeklyProgress};
use fengqiao_infra::db::statistics::{self as stats, Scope};
use fengqiao_infra::reports::Cell;
use utoipa::IntoParams;

use super::petitions::visible_petition;
use super::statistics::{scope_of, today};
use crate::error::{ApiError, Problem};
use crate::exports::{self, ExportFormat};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
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

/// How an open obligation stands, for the supervision lists.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    DueSoon,
    Overdue,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadlinesQuery {
    /// due_soon (within `petition.due_soon_days`) or overdue.
    pub status: DeadlineStatus,
    /// The organisation (its whole subtree); default: the caller's own.
    pub org_unit_id: Option<Uuid>,
    /// Only this leader's owned cases.
    pub owner_leader_id: Option<Uuid>,
    /// json (default), csv or xlsx.
    pub format: Option<ExportFormat>,
}

/// A petition on a supervision list.
#[derive(Serialize, ToSchema)]
pub struct SupervisedPetition {
    pub id: Uuid,
    pub tracking_no: String,
    pub title: String,
    pub state: String,
    pub township_id: Uuid,
    pub handling_org_id: Option<Uuid>,
    pub owner_leader_id: Option<Uuid>,
    pub next_deadline: Option<NaiveDate>,
    pub deadline_kind: Option<String>,
    pub overdue_since: Option<NaiveDate>,
}

impl From<&petitions::PetitionRow> for SupervisedPetition {
    fn from(r: &petitions::PetitionRow) -> Self {
        Self {
            id: r.id,
            tracking_no: r.tracking_no.clone(),
            title: r.title.clone(),
            state: r.state.clone(),
            township_id: r.township_id,
            handling_org_id: r.handling_org_id,
            owner_leader_id: r.owner_leader_id,
            next_deadline: r.next_deadline,
            deadline_kind: r.deadline_kind.clone(),
            overdue_since: r.overdue_since,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261103000042",
    "title": "拖欠工资请求协调", "state": "in_handling", "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "handling_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f62", "owner_leader_id": null,
    "next_deadline": "2026-11-24", "deadline_kind": "answer", "overdue_since": "2026-11-25"}]}))]
pub struct SupervisedList {
    pub items: Vec<SupervisedPetition>,
}

/// The most a supervision list holds: past it, narrow by organisation.
const LIST_MAX: u64 = 5_000;

fn supervised_rows(rows: &[petitions::PetitionRow]) -> Vec<Vec<Cell>> {
    let day = |d: Option<NaiveDate>| d.map_or(Cell::Empty, Cell::Date);
    rows.iter()
        .map(|r| {
            vec![
                Cell::Text(r.tracking_no.clone()),
                Cell::Text(r.title.clone()),
                Cell::Text(r.state.clone()),
                day(r.next_deadline),
                r.deadline_kind.clone().map_or(Cell::Empty, Cell::Text),
                day(r.overdue_since),
            ]
        })
        .collect()
}

const SUPERVISED_HEADER: [&str; 6] = ["受理编号", "标题", "状态", "期限", "期限类型", "超期起始日"];

/// Due-soon or overdue petitions across the caller's scope (or one organisation), soonest
/// deadline first; optionally one leader's owned cases. At most 5,000.
#[utoipa::path(
    tag = "admin-supervision",
    operation_id = "listSupervisedDeadlines",
    params(DeadlinesQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The petitions (or CSV/XLSX)", content(
            (SupervisedList = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/supervision/deadlines")]
pub async fn deadlines(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<DeadlinesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (scope, unit) = scope_of(&state, &staff, q.org_unit_id).await?;
    let figure = match q.status {
        DeadlineStatus::DueSoon => CountFigure::DueSoon,
        DeadlineStatus::Overdue => CountFigure::Overdue,
    };
    let rows = stats::deadlines(
        &state.db,
        &scope,
        &staff.scope(),
        figure,
        q.owner_leader_id,
        today(),
        state.settings.petition.due_soon_days,
        LIST_MAX,
    )
    .await?;
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let name = unit.map_or("全县".to_owned(), |u| u.name);
        let what = match q.status {
            DeadlineStatus::DueSoon => "临期",
            DeadlineStatus::Overdue => "超期",
        };
        return exports::table(
            format,
            &format!("{what}信访事项_{name}"),
            &SUPERVISED_HEADER,
            &supervised_rows(&rows),
        );
    }
    Ok(HttpResponse::Ok().json(SupervisedList {
        items: rows.iter().map(SupervisedPetition::from).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeaderCasesQuery {
    /// One leader's cases; default all leaders'.
    pub leader_id: Option<Uuid>,
    pub org_unit_id: Option<Uuid>,
    /// json (default), csv or xlsx.
    pub format: Option<ExportFormat>,
}

/// Leaders' owned cases (包案) with their state and next deadline. At most 5,000.
#[utoipa::path(
    tag = "admin-supervision",
    operation_id = "listLeaderOwnedCases",
    params(LeaderCasesQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The cases (or CSV/XLSX)", content(
            (SupervisedList = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/supervision/leader-cases")]
pub async fn leader_cases(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<LeaderCasesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (scope, _) = scope_of(&state, &staff, q.org_unit_id).await?;
    let rows = stats::owned_cases(&state.db, &scope, &staff.scope(), q.leader_id, LIST_MAX).await?;
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        return exports::table(
            format,
            "领导包案",
            &SUPERVISED_HEADER,
            &supervised_rows(&rows),
        );
    }
    Ok(HttpResponse::Ok().json(SupervisedList {
        items: rows.iter().map(SupervisedPetition::from).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// Only orders not yet answered (default true).
    pub open_only: Option<bool>,
    pub org_unit_id: Option<Uuid>,
    /// json (default), csv or xlsx.
    pub format: Option<ExportFormat>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderOnList {
    pub order: SupervisionOrderView,
    pub petition_id: Uuid,
    pub tracking_no: String,
    pub title: String,
    pub handling_org_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"order": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f68", "instruction": "请于 12 月 10 日前报告处理进展",
    "due_on": "2026-12-10", "overdue": false, "reply": null, "replied_at": null},
    "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261103000042", "title": "拖欠工资请求协调",
    "handling_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f62"}]}))]
pub struct OrdersList {
    pub items: Vec<OrderOnList>,
}

/// Supervision orders across the caller's scope, the earliest due first. At most 5,000.
#[utoipa::path(
    tag = "admin-supervision",
    operation_id = "listSupervisionOrders",
    params(OrdersQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The orders (or CSV/XLSX)", content(
            (OrdersList = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/supervision/orders")]
pub async fn orders(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<OrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (scope, _) = scope_of(&state, &staff, q.org_unit_id).await?;
    let found = stats::orders(
        &state.db,
        &scope,
        &staff.scope(),
        q.open_only.unwrap_or(true),
        LIST_MAX,
    )
    .await?;
    let items: Vec<OrderOnList> = found
        .into_iter()
        .map(|(o, p)| OrderOnList {
            order: o.into(),
            petition_id: p.id,
            tracking_no: p.tracking_no,
            title: p.title,
            handling_org_id: p.handling_org_id,
        })
        .collect();
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let rows: Vec<Vec<Cell>> = items
            .iter()
            .map(|i| {
                vec![
                    Cell::Text(i.tracking_no.clone()),
                    Cell::Text(i.title.clone()),
                    Cell::Text(i.order.instruction.clone()),
                    Cell::Date(i.order.due_on),
                    Cell::Text(if i.order.overdue { "是" } else { "否" }.into()),
                    i.order.reply.clone().map_or(Cell::Empty, Cell::Text),
                ]
            })
            .collect();
        return exports::table(
            format,
            "督办单",
            &[
                "受理编号",
                "标题",
                "督办要求",
                "办理期限",
                "是否逾期",
                "回复",
            ],
            &rows,
        );
    }
    Ok(HttpResponse::Ok().json(OrdersList { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeeklyQuery {
    /// One organisation; default: every township and street, one row each.
    pub org_unit_id: Option<Uuid>,
    /// Any day of the week; default today.
    pub date: Option<NaiveDate>,
    /// json (default), csv or xlsx.
    pub format: Option<ExportFormat>,
}

#[derive(Serialize, ToSchema)]
pub struct WeeklyRow {
    pub org_unit_id: Uuid,
    pub name: String,
    pub progress: WeeklyProgress,
    /// The week in a sentence, for the weekly report.
    pub summary: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"week": {"from": "2026-11-23", "to": "2026-11-29"}, "units": [{"org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "name": "城关镇", "progress": {"registered": 12, "disposed": 11, "accepted": 9, "answered": 7, "closed": 5, "open": 40,
      "due_soon": 3, "overdue": 1, "orders_issued": 2, "orders_replied": 1, "orders_open_overdue": 0, "escalations": 0},
    "summary": "城关镇（2026-11-23至2026-11-29）：本周新登记信访事项12件，处理11件，受理9件，答复7件，办结5件；目前在办40件，其中临期3件、超期1件；本周下发督办单2件、回复1件，逾期未回复督办单0件；越级上访0人次。"}]}))]
pub struct WeeklyView {
    pub week: Period,
    pub units: Vec<WeeklyRow>,
}

/// The weekly progress summary (一周一推进): per organisation, what came in, what moved, what
/// is late, the supervision orders and the escalations of the week, and the week in a sentence.
#[utoipa::path(
    tag = "admin-supervision",
    operation_id = "getWeeklyProgress",
    params(WeeklyQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "One row per organisation (or CSV/XLSX)", content(
            (WeeklyView = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/supervision/weekly")]
pub async fn weekly(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<WeeklyQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (_, unit) = scope_of(&state, &staff, q.org_unit_id).await?;
    let week = Period::of(
        Granularity::Week,
        crate::extract::day_param("date", q.date)?.unwrap_or_else(today),
    );
    let units: Vec<(Uuid, String, String)> = match unit {
        Some(u) => vec![(u.id, u.name, u.path)],
        None => {
            let viewer = staff.scope();
            fengqiao_infra::db::org::units_of_kinds(
                &state.db,
                &[OrgKind::Township, OrgKind::Street],
            )
            .await?
            .into_iter()
            .filter(|u| viewer.covers(&u.2))
            .collect()
        }
    };
    let mut rows = Vec::new();
    for (id, name, path) in units {
        let progress = stats::weekly_progress(
            &state.db,
            &Scope::Subtree(path),
            &staff.scope(),
            week,
            today(),
            state.settings.petition.due_soon_days,
        )
        .await?;
        rows.push(WeeklyRow {
            org_unit_id: id,
            summary: progress.summary(&name, week),
            name,
            progress,
        });
    }
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let n = |v: u64| Cell::Int(i64::try_from(v).unwrap_or(i64::MAX));
        let table: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                let p = &r.progress;
                vec![
                    Cell::Text(r.name.clone()),
                    n(p.registered),
                    n(p.disposed),
                    n(p.accepted),
                    n(p.answered),
                    n(p.closed),
                    n(p.open),
                    n(p.due_soon),
                    n(p.overdue),
                    n(p.orders_issued),
                    n(p.orders_replied),
                    n(p.escalations),
                    Cell::Text(r.summary.clone()),
                ]
            })
            .collect();
        return exports::table(
            format,
            &format!("一周一推进_{}", week.from),
            &[
                "单位",
                "新登记",
                "处理",
                "受理",
                "答复",
                "办结",
                "在办",
                "临期",
                "超期",
                "下发督办",
                "督办回复",
                "越级上访",
                "小结",
            ],
            &table,
        );
    }
    Ok(HttpResponse::Ok().json(WeeklyView { week, units: rows }))
}
