//! Staff work on petitions: the work list of their organisation subtree, the full record with
//! its whole timeline, and the transitions of the regulation's lifecycle.

use actix_web::{get, post, web};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fengqiao_domain::org::OrgKind;
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::petition::{Action, ActionKind, Actor, Checkpoint, Outcome, Periods};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::petitions::{self, Applied, InboxFilter, PetitionRow, parse_text, text_of};
use fengqiao_infra::db::{self};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::citizen::petitions::{
    Intake, PetitionView, hash_request, idempotency_key, petition_not_found, register_intake,
    view_of, views_of,
};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
use crate::state::AppState;

/// One entry of the whole timeline, as staff see it.
#[derive(Serialize, ToSchema)]
pub struct StaffTimelineEntry {
    pub at: DateTime<FixedOffset>,
    pub event: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub reason: Option<String>,
    /// Whether the petitioner sees this entry.
    pub public: bool,
}

/// A petition as staff see it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261125000001",
    "kind": "complaint", "category_code": "transport", "matter_category": "claim", "title": "村道路面破损请求维修",
    "content": "官渡桥村东头道路破损严重……", "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "village_id": null,
    "state": "awaiting_acceptance", "registered_on": "2026-11-25", "next_deadline": "2026-12-11",
    "deadline_kind": "decide_acceptance", "due_status": "on_track", "flagged": false,
    "timeline": [{"at": "2026-11-25T10:30:00+08:00", "event": "registered", "state": "registered"}],
    "channel": "online", "checkpoint": "township", "handling_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "accused_org_id": null, "citizen_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f64", "petitioner": null,
    "flag_reason": null, "repeat_of": null, "routed_to_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "owner_leader_id": null, "co_handling_org_ids": [], "supervision_orders": [],
    "allowed_actions": ["refuse", "accept", "object", "escalate"],
    "events": [{"at": "2026-11-26T09:00:00+08:00", "event": "forwarded", "from_state": "registered",
                "to_state": "awaiting_acceptance", "actor_kind": "staff", "actor_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f65",
                "reason": "属地管理", "public": true}]}))]
pub struct StaffPetitionView {
    #[serde(flatten)]
    pub petition: PetitionView,
    pub channel: String,
    pub checkpoint: Checkpoint,
    pub handling_org_id: Option<Uuid>,
    pub accused_org_id: Option<Uuid>,
    pub citizen_id: Option<Uuid>,
    /// For letters, visits and calls: the petitioner as registered, masked.
    pub petitioner: Option<PetitionerView>,
    /// Why it is held for review: `moderation_review:…`, `moderation_risky:…`, `repeat`,
    /// `not_accepted_again` (several joined by `;`).
    pub flag_reason: Option<String>,
    /// The earlier petition it repeats.
    pub repeat_of: Option<Uuid>,
    /// The body the routing rules pick for its category and place: where to forward it.
    pub routed_to_org_id: Option<Uuid>,
    /// The leader who owns the case (包案).
    pub owner_leader_id: Option<Uuid>,
    /// Further bodies handling it jointly (联合办理).
    pub co_handling_org_ids: Vec<Uuid>,
    pub supervision_orders: Vec<super::supervision::SupervisionOrderView>,
    /// What may be done now (whoever asks); each is a value of `action` below.
    pub allowed_actions: Vec<ActionKind>,
    pub events: Vec<StaffTimelineEntry>,
}

/// A petitioner registered by staff, masked.
#[derive(Serialize, ToSchema)]
pub struct PetitionerView {
    pub name: String,
    pub phone: Option<String>,
}

pub const PETITIONER_NAME: &str = "petitions.petitioner_name";
pub const PETITIONER_PHONE: &str = "petitions.petitioner_phone";

async fn staff_view(state: &AppState, row: PetitionRow) -> Result<StaffPetitionView, ApiError> {
    let domain = petitions::to_domain(&row)?;
    let open = |context: &str, sealed: &str| {
        state
            .crypto
            .open(context, sealed)
            .map_err(ApiError::internal)
    };
    let petitioner = match &row.petitioner_name {
        Some(name) => Some(PetitionerView {
            name: fengqiao_domain::identity::mask_name(&open(PETITIONER_NAME, name)?),
            phone: row
                .petitioner_phone
                .as_deref()
                .map(|p| {
                    open(PETITIONER_PHONE, p)
                        .map(|clear| fengqiao_domain::identity::mask_phone(&clear))
                })
                .transpose()?,
        }),
        None => None,
    };
    let events = petitions::events(&state.db, row.id, false).await?;
    Ok(StaffPetitionView {
        channel: row.channel.clone(),
        checkpoint: domain.checkpoint,
        handling_org_id: row.handling_org_id,
        accused_org_id: row.accused_org_id,
        citizen_id: row.citizen_id,
        petitioner,
        flag_reason: row.flag_reason.clone(),
        repeat_of: row.repeat_of,
        routed_to_org_id: row.routed_to_org_id,
        owner_leader_id: row.owner_leader_id,
        co_handling_org_ids: petitions::co_handlers(&state.db, row.id).await?,
        supervision_orders: petitions::supervision_orders(&state.db, row.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        allowed_actions: domain.allowed(),
        events: events
            .into_iter()
            .map(|e| StaffTimelineEntry {
                at: fengqiao_domain::calendar::to_local(e.at),
                event: e.event,
                from_state: e.from_state,
                to_state: e.to_state,
                actor_kind: e.actor_kind,
                actor_id: e.actor_id,
                reason: e.reason,
                public: e.public,
            })
            .collect(),
        petition: view_of(state, row).await?,
    })
}

pub async fn visible_petition(
    state: &AppState,
    staff: &StaffUser,
    id: Uuid,
) -> Result<PetitionRow, ApiError> {
    let row = petitions::get(&state.db, id)
        .await?
        .ok_or_else(petition_not_found)?;
    if petitions::visible_to(&state.db, &staff.scope(), &row).await? {
        Ok(row)
    } else {
        Err(petition_not_found())
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261125000001", "kind": "complaint",
    "category_code": "transport", "matter_category": "claim", "title": "村道路面破损请求维修", "content": "官渡桥村东头道路破损严重……",
    "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "village_id": null, "state": "registered",
    "registered_on": "2026-11-25", "next_deadline": "2026-12-10", "deadline_kind": "dispose", "due_status": "on_track",
    "flagged": false, "attachments": [], "timeline": [{"at": "2026-11-25T10:30:00+08:00", "event": "registered", "state": "registered"}]}], "next_cursor": "MjAyNi0xMi0xMHwwMTkz"}))]
pub struct InboxPage {
    pub items: Vec<PetitionView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only petitions in this state, such as `registered` or `in_handling`.
    pub state: Option<String>,
    /// Only flagged (or only unflagged) petitions.
    pub flagged: Option<bool>,
    /// Only petitions whose next deadline falls within this many days from today (0 to 366).
    #[param(minimum = 0, maximum = 366)]
    pub due_within_days: Option<u32>,
    /// Only petitions past their deadline.
    #[serde(default)]
    pub overdue: bool,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// The work list: petitions of the caller's organisation subtree, soonest deadline first.
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "listPetitionInbox",
    params(InboxQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "One page, soonest deadline first", body = InboxPage),
        (status = 400, description = "Malformed query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Limit or `due_within_days` out of range, or a bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/petitions")]
pub async fn inbox(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<InboxQuery>,
) -> Result<web::Json<InboxPage>, ApiError> {
    let q = query.0;
    let limit = PageLimit::parse(q.limit)?;
    let after = q
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()?
        .map(|c| parse_inbox_cursor(c.key()))
        .transpose()?;
    let today = fengqiao_domain::calendar::local_date(Utc::now());
    let due_by = if q.overdue {
        Some(today - chrono::Days::new(1))
    } else {
        match q.due_within_days {
            // A year ahead is as far as any deadline of the regulation reaches.
            Some(d) if d > 366 => {
                return Err(DomainError::invalid(
                    "due_within_days",
                    "out_of_range",
                    Text::new("天数须在 0 至 366 之间", "days must be 0 to 366"),
                )
                .into());
            }
            d => d.map(|d| today + chrono::Days::new(u64::from(d))),
        }
    };
    let filter = InboxFilter {
        state: q.state,
        flagged: q.flagged,
        due_by,
    };
    let rows = petitions::inbox(&state.db, &staff.scope(), &filter, limit.get() + 1, after).await?;
    let page = Page::from_overfetch(rows, limit, |r| format!("{}|{}", r.sort_deadline, r.id));
    let items = views_of(&state, page.items).await?;
    Ok(web::Json(InboxPage {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

fn parse_inbox_cursor(key: &str) -> Result<(Option<NaiveDate>, Uuid), ApiError> {
    let bad = || {
        ApiError::from(DomainError::invalid(
            "cursor",
            "invalid_cursor",
            Text::new("分页游标无效", "the pagination cursor is not valid"),
        ))
    };
    let (deadline, id) = key.split_once('|').ok_or_else(bad)?;
    let deadline = if deadline.is_empty() {
        None
    } else {
        Some(deadline.parse().map_err(|_| bad())?)
    };
    Ok((deadline, id.parse().map_err(|_| bad())?))
}

/// One petition with its whole timeline and what may be done now.
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "getPetition",
    params(("id" = Uuid, Path, description = "Petition id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The petition", body = StaffPetitionView),
        (status = 404, description = "No such petition in the caller's scope (`petition_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/petitions/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    staff: StaffUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<StaffPetitionView>, ApiError> {
    let row = visible_petition(&state, &staff, id.into_inner()).await?;
    Ok(web::Json(staff_view(&state, row).await?))
}

/// A staff action on a petition, as the explicit endpoints below receive it.
pub enum StaffActionRequest {
    /// 转送 to the competent body.
    Forward {
        to_org_id: Uuid,
        reason: Option<String>,
    },
    /// 交办 with a report-back date.
    Assign {
        to_org_id: Uuid,
        report_by: NaiveDate,
        reason: Option<String>,
    },
    /// 逐级下转 (属地管理、分级负责).
    HandDown {
        to_org_id: Uuid,
        reason: Option<String>,
    },
    /// 诉访分离: to litigation, arbitration, reconsideration…
    Divert {
        procedure: String,
    },
    /// 不予受理, with a coded reason.
    Refuse {
        reason_code: String,
        reason: Option<String>,
    },
    /// 受理
    Accept,
    /// 回退 within 5 working days: not this body's matter.
    Object {
        reason: String,
    },
    /// One checkpoint up.
    Escalate {
        reason: String,
    },
    /// The one extension (≤ 30 days), approved by a leader; the petitioner is told the reason.
    Extend {
        days: u32,
        approver_id: Uuid,
        reason: String,
    },
    /// 答复 with the handling opinion (处理意见书).
    Answer {
        outcome: Outcome,
        opinion: String,
    },
    DecideReview {
        decision: String,
    },
    DecideRereview {
        decision: String,
    },
    /// 重办
    Reopen {
        reason: String,
    },
    /// 销号
    Close,
}

impl StaffActionRequest {
    fn into_action(self) -> (Action, Option<String>, Option<String>) {
        match self {
            Self::Forward { to_org_id, reason } => {
                (Action::Forward { to_org: to_org_id }, reason, None)
            }
            Self::Assign {
                to_org_id,
                report_by,
                reason,
            } => (
                Action::Assign {
                    to_org: to_org_id,
                    report_by,
                },
                reason,
                None,
            ),
            Self::HandDown { to_org_id, reason } => {
                (Action::HandDown { to_org: to_org_id }, reason, None)
            }
            Self::Divert { procedure } => (
                Action::Divert {
                    procedure: procedure.clone(),
                },
                Some(procedure),
                None,
            ),
            Self::Refuse {
                reason_code,
                reason,
            } => (
                Action::Refuse {
                    reason_code: reason_code.clone(),
                },
                reason.or(Some(reason_code)),
                None,
            ),
            Self::Accept => (Action::Accept, None, None),
            Self::Object { reason } => (
                Action::Object {
                    reason: reason.clone(),
                },
                Some(reason),
                None,
            ),
            Self::Escalate { reason } => (
                Action::Escalate {
                    reason: reason.clone(),
                },
                Some(reason),
                None,
            ),
            Self::Extend {
                days,
                approver_id,
                reason,
            } => (
                Action::Extend {
                    days,
                    approver: approver_id,
                    reason: reason.clone(),
                },
                Some(reason),
                None,
            ),
            Self::Answer { outcome, opinion } => (
                Action::Answer { outcome },
                Some(opinion),
                Some(text_of(&outcome)),
            ),
            Self::DecideReview { decision } => (Action::DecideReview, Some(decision), None),
            Self::DecideRereview { decision } => (Action::DecideReReview, Some(decision), None),
            Self::Reopen { reason } => (
                Action::Reopen {
                    reason: reason.clone(),
                },
                Some(reason),
                None,
            ),
            Self::Close => (Action::Close, None, None),
        }
    }
}

/// Applies one staff action: the rules in `domain`, the change, its event, outbox message and
/// audit entry in one transaction.
async fn act(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    request: StaffActionRequest,
) -> Result<web::Json<StaffPetitionView>, ApiError> {
    let row = visible_petition(&state, &staff, id.into_inner()).await?;
    let (action, reason, outcome) = request.into_action();
    if let Action::Forward { to_org }
    | Action::Assign { to_org, .. }
    | Action::HandDown { to_org } = &action
    {
        let target = db::org::get(&state.db, *to_org).await.map_err(|_| {
            ApiError::from(DomainError::invalid(
                "to_org_id",
                "unknown_org",
                Text::new("目标机构不存在", "no such organisation"),
            ))
        })?;
        if target.kind == OrgKind::County {
            return Err(DomainError::invalid(
                "to_org_id",
                "unknown_org",
                Text::new("不能转给县级本身", "choose a unit below the county"),
            )
            .into());
        }
    }
    let actor = Actor::Staff {
        roles: staff.account.roles.clone(),
    };
    let txn = state.begin_change().await?;
    let applied = apply_action(
        &txn,
        &row,
        &actor,
        &action,
        "staff",
        staff.account.id.to_string(),
        reason,
        outcome,
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("petition.transition")
                .on("petition", row.id)
                .with(json!({"action": action.kind().as_str()})),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(staff_view(&state, applied).await?))
}

/// Runs the rules and stores the outcome; shared by staff and citizen actions.
#[allow(clippy::too_many_arguments)]
pub async fn apply_action(
    txn: &sea_orm::DatabaseTransaction,
    row: &PetitionRow,
    actor: &Actor,
    action: &Action,
    actor_kind: &'static str,
    actor_id: String,
    reason: Option<String>,
    outcome: Option<String>,
) -> Result<PetitionRow, ApiError> {
    let now = Utc::now();
    let today = fengqiao_domain::calendar::local_date(now);
    let calendar = petitions::calendar(txn).await?;
    let periods = Periods::default();
    let domain = petitions::to_domain(row)?;
    let transition = domain
        .apply(actor, action, today, &calendar, &periods)
        .map_err(DomainError::from)?;
    let next_deadline = transition.petition.next_deadline(&calendar, &periods);
    let stored = petitions::apply(
        txn,
        row,
        Applied {
            transition: &transition,
            outcome,
            next_deadline,
            actor_kind,
            actor_id: Some(actor_id),
            reason,
            detail: json!({"action": action.kind().as_str()}),
            now,
            today,
        },
    )
    .await?;
    let _: fengqiao_domain::petition::PetitionState = parse_text("petitions.state", &stored.state)?;
    Ok(stored)
}

/// The petitioner of a letter, visit or call.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionerDetails {
    pub name: String,
    /// Mainland mobile number, for the query code by SMS and for the answer.
    pub phone: Option<String>,
}

/// A letter, visit or phone call registered by staff on the petitioner's behalf.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "letter", "received_on": "2026-11-24", "kind": "complaint",
    "category_code": "labour", "title": "农民工工资被拖欠三个月", "content": "来信反映某工地拖欠 12 名农民工三个月工资，请求督促支付。",
    "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "petitioner": {"name": "王大明", "phone": "13900001111"}}))]
pub struct RegisterPetitionRequest {
    /// `letter`, `visit` or `phone` (online petitions come from the citizens' API).
    pub channel: fengqiao_domain::petition::Channel,
    /// The day it arrived; the regulation's periods count from it. Not in the future.
    pub received_on: NaiveDate,
    pub kind: fengqiao_domain::petition::PetitionKind,
    pub category_code: String,
    /// 5 to 25 characters.
    #[schema(min_length = 5, max_length = 25)]
    pub title: String,
    /// 10 to 600 characters; details go in attachments.
    #[schema(min_length = 10, max_length = 600)]
    pub content: String,
    pub township_id: Uuid,
    pub village_id: Option<Uuid>,
    pub group: Option<fengqiao_domain::petition::GroupMatter>,
    pub accused_org_id: Option<Uuid>,
    pub petitioner: PetitionerDetails,
    /// Scans and photos uploaded first at `POST /api/v1/admin/attachments` (at most 9).
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

/// Register a letter, visit or phone call on the petitioner's behalf (信、访、电). The answer
/// carries the query code to give the petitioner (by SMS or on paper).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "registerPetition",
    request_body = RegisterPetitionRequest,
    params(("Idempotency-Key" = String, Header, description = "A unique key per registration")),
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = crate::citizen::petitions::SubmittedPetition),
        (status = 200, description = "A retry: the first answer again", body = crate::citizen::petitions::SubmittedPetition),
        (status = 409, description = "The key was used for a different registration", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, an online channel, a future date, unknown category or place", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/petitions")]
pub async fn register(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    req: actix_web::HttpRequest,
    body: ApiJson<RegisterPetitionRequest>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use fengqiao_domain::error::Validator;
    use fengqiao_domain::identity::{PersonName, PhoneNumber};
    use fengqiao_domain::petition::{Channel, NewPetition, Submission};
    staff.require_any(&[fengqiao_domain::identity::Role::Registrar])?;
    let key = idempotency_key(&req)?;
    let body = body.0;
    let request_hash = hash_request(&body)?;
    let today = fengqiao_domain::calendar::local_date(Utc::now());
    let mut v = Validator::new();
    if matches!(body.channel, Channel::Online | Channel::Open311) {
        v.push(fengqiao_domain::FieldError::new(
            "channel",
            "online_channel",
            Text::new(
                "网上信访由信访人在小程序中提交",
                "online petitions are submitted by the citizen",
            ),
        ));
    }
    if body.received_on > today {
        v.push(fengqiao_domain::FieldError::new(
            "received_on",
            "received_in_future",
            Text::new(
                "收到日期不能晚于今天",
                "the day received cannot be after today",
            ),
        ));
    }
    let name = v.check("petitioner.name", PersonName::parse(&body.petitioner.name));
    let phone = body
        .petitioner
        .phone
        .as_deref()
        .map(|p| v.check("petitioner.phone", PhoneNumber::parse(p)))
        .unwrap_or(None);
    let (name, _) = v.finish(|| Some((name?, ())))?;
    let petition = NewPetition::parse(Submission {
        kind: body.kind,
        channel: body.channel,
        category_code: &body.category_code,
        title: &body.title,
        content: &body.content,
        township_id: body.township_id,
        village_id: body.village_id,
        latitude: None,
        longitude: None,
        group: body.group,
        accused_org_id: body.accused_org_id,
    })?;
    let seal = |context: &str, clear: &str| {
        state
            .crypto
            .seal(context, clear)
            .map_err(ApiError::internal)
    };
    let petitioner = petitions::SealedPetitioner {
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
    };
    register_intake(
        &state,
        &origin,
        Intake {
            petition,
            online_citizen: None,
            petitioner: Some(petitioner),
            registered_on: body.received_on,
            actor: staff.actor(),
            idempotency_key: format!("staff:{}:{key}", staff.account.id),
            request_hash,
            attachments: (
                body.attachment_ids.clone(),
                "staff",
                staff.account.id.to_string(),
            ),
            source: None,
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "reason": "属地管理"}))]
pub struct TargetBody {
    pub to_org_id: Uuid,
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "report_by": "2026-12-10", "reason": "交办督促"}))]
pub struct AssignBody {
    pub to_org_id: Uuid,
    /// When the receiving body reports back.
    pub report_by: NaiveDate,
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"procedure": "litigation"}))]
pub struct DivertBody {
    /// `litigation`, `arbitration`, `administrative_reconsideration`, …
    pub procedure: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason_code": "not_a_petition_matter", "reason": "属于民事纠纷，应通过诉讼解决"}))]
pub struct RefuseBody {
    pub reason_code: String,
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "不属本单位职责"}))]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"days": 30, "approver_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f66", "reason": "涉及多个部门，需联合调查"}))]
pub struct ExtendBody {
    /// 1 to 30.
    pub days: u32,
    /// The leader who approved it.
    pub approver_id: Uuid,
    /// Told to the petitioner.
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "solved", "opinion": "经现场核查，道路已于 12 月 3 日修复完毕。"}))]
pub struct AnswerBody {
    pub outcome: Outcome,
    /// The handling opinion (处理意见书).
    pub opinion: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "维持原处理意见"}))]
pub struct DecisionBody {
    pub decision: String,
}

/// One endpoint per transition, each documented with its own body and refusals.
macro_rules! staff_action {
    ($name:ident, $path:literal, $op:literal, $doc:literal, $body:ty, |$b:ident| $to:expr) => {
        #[doc = $doc]
        #[utoipa::path(
            tag = "admin-petitions",
            operation_id = $op,
            params(("id" = Uuid, Path, description = "Petition id")),
            request_body = $body,
            security(("staff_bearer" = [])),
            responses(
                (status = 200, description = "The petition after the action", body = StaffPetitionView),
                (status = 404, description = "No such petition in the caller's scope (`petition_not_found`)", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Not possible in the current state (`invalid_transition`, lists what is), or a concurrent update", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "A rule of the action or its window (`outside_window`)", body = Problem, content_type = "application/problem+json")
            )
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            staff: StaffUser,
            origin: RequestOrigin,
            id: web::Path<Uuid>,
            body: ApiJson<$body>,
        ) -> Result<web::Json<StaffPetitionView>, ApiError> {
            let $b = body.0;
            act(state, staff, origin, id, $to).await
        }
    };
    ($name:ident, $path:literal, $op:literal, $doc:literal, $to:expr) => {
        #[doc = $doc]
        #[utoipa::path(
            tag = "admin-petitions",
            operation_id = $op,
            params(("id" = Uuid, Path, description = "Petition id")),
            security(("staff_bearer" = [])),
            responses(
                (status = 200, description = "The petition after the action", body = StaffPetitionView),
                (status = 404, description = "No such petition in the caller's scope (`petition_not_found`)", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Not possible in the current state (`invalid_transition`, lists what is), or a concurrent update", body = Problem, content_type = "application/problem+json")
            )
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            staff: StaffUser,
            origin: RequestOrigin,
            id: web::Path<Uuid>,
        ) -> Result<web::Json<StaffPetitionView>, ApiError> {
            act(state, staff, origin, id, $to).await
        }
    };
}

staff_action!(
    forward,
    "/petitions/{id}/forward",
    "forwardPetition",
    "Forward (转送) to the competent body (registrars). An accusation is never sent to the organisation it accuses.",
    TargetBody,
    |b| StaffActionRequest::Forward {
        to_org_id: b.to_org_id,
        reason: b.reason
    }
);
staff_action!(
    assign,
    "/petitions/{id}/assign",
    "assignPetition",
    "Assign (交办) with a report-back date (registrars).",
    AssignBody,
    |b| StaffActionRequest::Assign {
        to_org_id: b.to_org_id,
        report_by: b.report_by,
        reason: b.reason
    }
);
staff_action!(
    hand_down,
    "/petitions/{id}/hand-down",
    "handDownPetition",
    "Hand down the levels (逐级下转, 属地管理) (registrars).",
    TargetBody,
    |b| StaffActionRequest::HandDown {
        to_org_id: b.to_org_id,
        reason: b.reason
    }
);
staff_action!(
    divert,
    "/petitions/{id}/divert",
    "divertPetition",
    "Divert to a legal procedure (诉访分离): litigation, arbitration, reconsideration (registrars).",
    DivertBody,
    |b| StaffActionRequest::Divert {
        procedure: b.procedure
    }
);
staff_action!(
    refuse,
    "/petitions/{id}/refuse",
    "refusePetition",
    "Not accept (不予受理) with a coded reason (registrars at registration, handlers on receipt).",
    RefuseBody,
    |b| StaffActionRequest::Refuse {
        reason_code: b.reason_code,
        reason: b.reason
    }
);
staff_action!(
    accept,
    "/petitions/{id}/accept",
    "acceptPetition",
    "Accept (受理) a petition sent to the caller's body (handlers).",
    StaffActionRequest::Accept
);
staff_action!(
    object_to_petition,
    "/petitions/{id}/object",
    "objectToPetition",
    "Return it (回退): not this body's matter, within 5 working days of receipt (handlers).",
    ReasonBody,
    |b| StaffActionRequest::Object { reason: b.reason }
);
staff_action!(
    escalate,
    "/petitions/{id}/escalate",
    "escalatePetition",
    "Move it one checkpoint up, with a reason (handlers).",
    ReasonBody,
    |b| StaffActionRequest::Escalate { reason: b.reason }
);
staff_action!(
    extend,
    "/petitions/{id}/extend",
    "extendPetition",
    "The one extension (at most 30 days), approved by a leader; the petitioner is told the reason (handlers).",
    ExtendBody,
    |b| StaffActionRequest::Extend {
        days: b.days,
        approver_id: b.approver_id,
        reason: b.reason
    }
);
staff_action!(
    answer,
    "/petitions/{id}/answer",
    "answerPetition",
    "Answer (答复) with the handling opinion and the outcome (handlers).",
    AnswerBody,
    |b| StaffActionRequest::Answer {
        outcome: b.outcome,
        opinion: b.opinion
    }
);
staff_action!(
    decide_review,
    "/petitions/{id}/decide-review",
    "decidePetitionReview",
    "Decide a review (复查) (supervisors of the body one level up).",
    DecisionBody,
    |b| StaffActionRequest::DecideReview {
        decision: b.decision
    }
);
staff_action!(
    decide_rereview,
    "/petitions/{id}/decide-rereview",
    "decidePetitionReReview",
    "Decide a re-review (复核); after it the same request is not accepted again (supervisors).",
    DecisionBody,
    |b| StaffActionRequest::DecideRereview {
        decision: b.decision
    }
);
staff_action!(
    reopen,
    "/petitions/{id}/reopen",
    "reopenPetition",
    "Reopen (重办) for handling again, with a reason (supervisors).",
    ReasonBody,
    |b| StaffActionRequest::Reopen { reason: b.reason }
);
staff_action!(
    close,
    "/petitions/{id}/close",
    "closePetition",
    "Cross it off (销号) as resolved (supervisors).",
    StaffActionRequest::Close
);
