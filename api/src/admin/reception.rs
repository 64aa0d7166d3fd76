//! Reception staff and bookings: the day's list, confirm, reject with a reason, move to another
//! session, and record the reception (who came, what was said), opening a petition from it
//! with one call.

use actix_web::{get, post, put, web};
use chrono::{NaiveDate, Utc};
use fengqiao_domain::identity::Role;
use fengqiao_domain::petition::{Channel, NewPetition, PetitionKind, Submission};
use fengqiao_domain::reception::{BookingAction, bookable, booking_transition};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::reception::{self as store, BookingChange, BookingRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::citizen::bookings::{
    BookingView, NOTE, booking_not_found, booking_state, no_such_session, session_on, session_text,
    view_of,
};
use crate::citizen::petitions::{Intake, SubmittedPetition, register_petition};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
use crate::state::AppState;

const RECEPTION_STAFF: &[Role] = &[Role::Registrar, Role::Handler, Role::Administrator];

/// A booking the caller may act on: the rule's organisation is within their scope.
async fn visible_booking(
    state: &AppState,
    staff: &StaffUser,
    id: Uuid,
) -> Result<BookingRow, ApiError> {
    let row = store::booking(&state.db, id)
        .await?
        .ok_or_else(booking_not_found)?;
    let rule = store::rule(&state.db, row.rule_id)
        .await?
        .ok_or_else(booking_not_found)?;
    fengqiao_infra::db::org::get_in(&state.db, &staff.scope(), rule.org_unit_id)
        .await
        .map_err(|_| booking_not_found())?;
    Ok(row)
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"citizen_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa2", "booking": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa0",
    "rule_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa1", "date": "2026-12-16", "session": "12月16日 09:00 县信访接待中心（县委书记 某某）",
    "state": "requested", "matter": "反映村道维修问题", "reason": null, "petition_id": null, "created_at": "2026-11-26T10:30:00+08:00"}}))]
pub struct StaffBookingView {
    /// The citizen (their details: `GET /api/v1/admin/citizens/{id}`, masked unless revealed).
    pub citizen_id: Uuid,
    pub booking: BookingView,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The day (`YYYY-MM-DD`).
    pub date: NaiveDate,
}

/// The bookings of a day in the caller's organisations.
#[utoipa::path(
    tag = "admin-reception",
    operation_id = "listBookings",
    params(DayQuery),
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The day's bookings", body = Vec<StaffBookingView>))
)]
#[get("/reception/bookings")]
pub async fn list(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<DayQuery>,
) -> Result<web::Json<Vec<StaffBookingView>>, ApiError> {
    staff.require_any(RECEPTION_STAFF)?;
    let mut out = Vec::new();
    for row in store::bookings_on(&state.db, query.0.date).await? {
        let Some(rule) = store::rule(&state.db, row.rule_id).await? else {
            continue;
        };
        if fengqiao_infra::db::org::get_in(&state.db, &staff.scope(), rule.org_unit_id)
            .await
            .is_err()
        {
            continue;
        }
        out.push(StaffBookingView {
            citizen_id: row.citizen_id,
            booking: view_of(&state, &row).await?,
        });
    }
    Ok(web::Json(out))
}

/// Applies a change and its audit entry (and the citizen's message, if any) in one
/// transaction.
async fn apply(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    row: &BookingRow,
    change: BookingChange,
    action: &'static str,
    announce: Option<(&str, Option<&str>)>,
) -> Result<BookingRow, ApiError> {
    let moved_to = change.session;
    let freed = matches!(
        change.to,
        fengqiao_domain::reception::BookingState::Rejected
            | fengqiao_domain::reception::BookingState::Cancelled
    );
    let now = Utc::now();
    let txn = state.begin_change().await?;
    if let Some((rule_id, date)) = moved_to {
        let session = session_on(state, rule_id, date)
            .await?
            .ok_or_else(no_such_session)?;
        store::take_place(&txn, rule_id, date, session.capacity).await?;
        store::free_place(&txn, row.rule_id, row.session_date).await?;
    }
    if freed {
        store::free_place(&txn, row.rule_id, row.session_date).await?;
    }
    let changed = store::change_booking(&txn, row, change, now).await?;
    if let Some((topic, reason)) = announce {
        let session = session_on(state, changed.rule_id, changed.session_date)
            .await?
            .ok_or_else(no_such_session)?;
        let text = session_text(state, &session).await?;
        store::announce(&txn, &changed, topic, &text, reason, now).await?;
    }
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new(action).on("booking", row.id),
        )
        .await?;
    txn.commit().await?;
    // Places changed: the public schedule shows it at once.
    crate::public::invalidate(state).await;
    Ok(changed)
}

fn change(to: fengqiao_domain::reception::BookingState) -> BookingChange {
    BookingChange {
        to,
        reason: None,
        note: None,
        petition_id: None,
        session: None,
    }
}

/// Confirms a requested booking; the citizen is told.
#[utoipa::path(
    tag = "admin-reception",
    operation_id = "confirmBooking",
    params(("id" = Uuid, Path, description = "Booking id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Confirmed", body = BookingView),
        (status = 404, description = "No such booking in the caller's scope (`booking_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not requested any more (`booking_state`, `concurrent_update`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/reception/bookings/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<web::Json<BookingView>, ApiError> {
    staff.require_any(RECEPTION_STAFF)?;
    let row = visible_booking(&state, &staff, *id).await?;
    let to = booking_transition(booking_state(&row)?, BookingAction::Confirm)?;
    let changed = apply(
        &state,
        &staff,
        &origin,
        &row,
        change(to),
        "booking.confirmed",
        Some(("booking.confirmed", None)),
    )
    .await?;
    Ok(web::Json(view_of(&state, &changed).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "所反映事项已转交属地乡镇办理"}))]
pub struct ReasonBody {
    /// 2 to 200 characters; the citizen is told.
    pub reason: String,
}

fn checked_reason(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    if (2..=200).contains(&reason.chars().count()) {
        Ok(reason.to_owned())
    } else {
        Err(DomainError::invalid(
            "reason",
            "invalid_field",
            Text::new(
                "理由须为 2 至 200 个字符",
                "the reason must be 2 to 200 characters",
            ),
        )
        .into())
    }
}

/// Rejects a booking with a reason the citizen is told; its place goes back to the session.
#[utoipa::path(
    tag = "admin-reception",
    operation_id = "rejectBooking",
    params(("id" = Uuid, Path, description = "Booking id")),
    request_body = ReasonBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Rejected", body = BookingView),
        (status = 404, description = "No such booking in the caller's scope (`booking_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open any more (`booking_state`, `concurrent_update`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/reception/bookings/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<ReasonBody>,
) -> Result<web::Json<BookingView>, ApiError> {
    staff.require_any(RECEPTION_STAFF)?;
    let reason = checked_reason(&body.0.reason)?;
    let row = visible_booking(&state, &staff, *id).await?;
    let to = booking_transition(booking_state(&row)?, BookingAction::Reject)?;
    let changed = apply(
        &state,
        &staff,
        &origin,
        &row,
        BookingChange {
            reason: Some(reason.clone()),
            ..change(to)
        },
        "booking.rejected",
        Some(("booking.cancelled", Some(&reason))),
    )
    .await?;
    Ok(web::Json(view_of(&state, &changed).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rule_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa1", "date": "2026-12-17", "reason": "原场次领导公务外出"}))]
pub struct MoveBody {
    pub rule_id: Uuid,
    pub date: NaiveDate,
    pub reason: String,
}

/// Moves a booking to another session (which must have a place); the citizen is told the new
/// session and why.
#[utoipa::path(
    tag = "admin-reception",
    operation_id = "moveBooking",
    params(("id" = Uuid, Path, description = "Booking id")),
    request_body = MoveBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Moved", body = BookingView),
        (status = 404, description = "No such booking, or no such session (`booking_not_found`, `session_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open, or the session is full or begun (`booking_state`, `session_full`, `session_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/reception/bookings/{id}/move")]
pub async fn move_booking(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<MoveBody>,
) -> Result<web::Json<BookingView>, ApiError> {
    staff.require_any(RECEPTION_STAFF)?;
    let reason = checked_reason(&body.0.reason)?;
    let row = visible_booking(&state, &staff, *id).await?;
    let to = booking_transition(booking_state(&row)?, BookingAction::Move)?;
    let session = session_on(&state, body.0.rule_id, body.0.date)
        .await?
        .ok_or_else(no_such_session)?;
    bookable(
        &session,
        0,
        fengqiao_domain::calendar::to_local(Utc::now()).naive_local(),
    )?;
    let changed = apply(
        &state,
        &staff,
        &origin,
        &row,
        BookingChange {
            reason: Some(reason.clone()),
            session: Some((session.rule_id, session.date)),
            ..change(to)
        },
        "booking.moved",
        Some(("booking.confirmed", Some(&reason))),
    )
    .await?;
    Ok(web::Json(view_of(&state, &changed).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionFromReception {
    pub kind: PetitionKind,
    pub category_code: String,
    pub title: String,
    pub content: String,
    pub township_id: Uuid,
    pub village_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "来访人反映村道破损，领导当场协调交通局限期维修", "petition": {"kind": "complaint",
    "category_code": "transport", "title": "村道路面破损请求维修", "content": "领导接访时反映：官渡桥村东头道路破损严重。",
    "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "village_id": null}}))]
pub struct AttendBody {
    /// Who came and what was said, 2 to 2000 characters (sealed at rest).
    pub note: String,
    /// To open a petition from the reception (channel `visit`, the citizen as petitioner).
    pub petition: Option<PetitionFromReception>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"booking": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa0", "rule_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa1",
    "date": "2026-12-16", "session": "12月16日 09:00 县信访接待中心", "state": "attended", "matter": "反映村道维修问题",
    "reason": null, "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "created_at": "2026-11-26T10:30:00+08:00"},
    "petition": null}))]
pub struct AttendedView {
    pub booking: BookingView,
    /// The petition opened from the reception, with its numbers, when one was.
    pub petition: Option<SubmittedPetition>,
}

/// Records the reception of a confirmed booking, and with `petition` opens a petition from it
/// (a retry opens no second one: the booking is its idempotency key).
#[utoipa::path(
    tag = "admin-reception",
    operation_id = "recordReception",
    params(("id" = Uuid, Path, description = "Booking id")),
    request_body = AttendBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Recorded", body = AttendedView),
        (status = 404, description = "No such booking in the caller's scope (`booking_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not confirmed (`booking_state`, `concurrent_update`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad note or petition field", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/reception/bookings/{id}/attend")]
pub async fn attend(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<AttendBody>,
) -> Result<web::Json<AttendedView>, ApiError> {
    staff.require_any(RECEPTION_STAFF)?;
    let body = body.0;
    let note = body.note.trim();
    if !(2..=2000).contains(&note.chars().count()) {
        return Err(DomainError::invalid(
            "note",
            "invalid_field",
            Text::new(
                "接访记录须为 2 至 2000 个字符",
                "the note must be 2 to 2000 characters",
            ),
        )
        .into());
    }
    let row = visible_booking(&state, &staff, *id).await?;
    let to = booking_transition(booking_state(&row)?, BookingAction::Attend)?;
    let citizen = fengqiao_infra::db::citizens::get(&state.db, row.citizen_id)
        .await?
        .ok_or_else(booking_not_found)?;
    let petition = match &body.petition {
        None => None,
        Some(p) => {
            let parsed = NewPetition::parse(Submission {
                kind: p.kind,
                channel: Channel::Visit,
                category_code: &p.category_code,
                title: &p.title,
                content: &p.content,
                township_id: p.township_id,
                village_id: p.village_id,
                latitude: None,
                longitude: None,
                group: None,
                accused_org_id: None,
            })?;
            let request_hash = crate::citizen::petitions::hash_request(&serde_json::json!({
                "booking": row.id, "title": p.title, "content": p.content
            }))?;
            let (_, answer) = register_petition(
                &state,
                &origin,
                Intake {
                    petition: parsed,
                    online_citizen: Some(&citizen),
                    petitioner: None,
                    registered_on: row.session_date,
                    actor: staff.actor(),
                    idempotency_key: format!("booking:{}", row.id),
                    request_hash,
                    attachments: (Vec::new(), "staff", staff.account.id.to_string()),
                    source: None,
                },
            )
            .await?;
            Some(answer)
        }
    };
    let sealed_note = state.crypto.seal(NOTE, note).map_err(ApiError::internal)?;
    let changed = apply(
        &state,
        &staff,
        &origin,
        &row,
        BookingChange {
            note: Some(sealed_note),
            petition_id: petition.as_ref().map(|p| p.id),
            ..change(to)
        },
        "booking.attended",
        None,
    )
    .await?;
    Ok(web::Json(AttendedView {
        booking: view_of(&state, &changed).await?,
        petition,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"change": {"kind": "substitute", "leader_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f67"},
    "notice": "原定接访领导公务外出，改由常务副县长接访"}))]
pub struct SessionChangeBody {
    pub change: fengqiao_domain::reception::SessionChange,
    /// What the public schedule and the citizens with bookings are told, 2 to 200 characters.
    pub notice: String,
}

/// Publishes a change to one session: called off (its bookings are cancelled and their
/// citizens told), another leader, a joint reception, or moved to another day, time or place
/// (its bookings and places move with it, and their citizens are told); a later change
/// replaces an earlier.
#[utoipa::path(
    tag = "admin-reception",
    operation_id = "changeSession",
    params(("rule_id" = Uuid, Path, description = "Rule id"), ("date" = NaiveDate, Path, description = "Session day")),
    request_body = SessionChangeBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Published"),
        (status = 404, description = "No such session (`session_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Moved onto a day the rule already holds (`session_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No notice, an unknown leader, an empty joint list, or a bad new day or time (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/reception/sessions/{rule_id}/{date}")]
pub async fn change_session(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    path: web::Path<(Uuid, NaiveDate)>,
    body: ApiJson<SessionChangeBody>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use fengqiao_domain::reception::{BookingState, SessionChange, SessionException};
    staff.require_any(&[Role::Registrar, Role::Editor, Role::Administrator])?;
    let (rule_id, date) = path.into_inner();
    let notice = checked_reason(&body.0.notice).map_err(|_| {
        ApiError::from(DomainError::invalid(
            "notice",
            "invalid_field",
            Text::new(
                "公告须为 2 至 200 个字符",
                "the notice must be 2 to 200 characters",
            ),
        ))
    })?;
    match &body.0.change {
        SessionChange::Substitute { leader_id } => {
            let known = store::leaders(&state.db)
                .await?
                .iter()
                .any(|l| l.id == *leader_id);
            if !known {
                return Err(DomainError::invalid(
                    "change.leader_id",
                    "invalid_field",
                    Text::new("领导不存在", "no such leader"),
                )
                .into());
            }
        }
        SessionChange::Joint { with } if with.is_empty() || with.len() > 10 => {
            return Err(DomainError::invalid(
                "change.with",
                "invalid_field",
                Text::new(
                    "联合接访须列出 1 至 10 个领导或部门",
                    "list 1 to 10 leaders or departments",
                ),
            )
            .into());
        }
        _ => {}
    }
    let session = session_on(&state, rule_id, date)
        .await?
        .ok_or_else(no_such_session)?;
    body.0
        .change
        .check(&session, fengqiao_domain::calendar::local_date(Utc::now()))?;
    // A rule holds one session a day: a session cannot move onto a day its rule already holds.
    if let SessionChange::Moved { to, .. } = &body.0.change
        && session_on(&state, rule_id, *to).await?.is_some()
    {
        return Err(DomainError::Conflict {
            code: "session_taken",
            message: Text::new(
                "该接访规则在新日期已有场次",
                "the rule already holds a session that day",
            ),
        }
        .into());
    }
    let text = session_text(&state, &session).await?;
    let exception = SessionException {
        rule_id,
        date: session.date,
        change: body.0.change.clone(),
        notice: notice.clone(),
    };
    let now = Utc::now();
    let txn = state.begin_change().await?;
    store::set_exception(&txn, &exception, now).await?;
    if exception.change == SessionChange::Cancelled {
        for row in store::open_bookings_of(&txn, rule_id, session.date).await? {
            store::change_booking(
                &txn,
                &row,
                BookingChange {
                    reason: Some(notice.clone()),
                    ..change(BookingState::Cancelled)
                },
                now,
            )
            .await?;
            store::free_place(&txn, rule_id, session.date).await?;
            store::announce(&txn, &row, "booking.cancelled", &text, Some(&notice), now).await?;
        }
    }
    if let Some(moved) = exception.change.relocate(&session) {
        let moved_text = session_text(&state, &moved).await?;
        let bookings = store::open_bookings_of(&txn, rule_id, session.date).await?;
        store::move_session_bookings(&txn, rule_id, session.date, moved.date, now).await?;
        for row in bookings {
            store::announce(
                &txn,
                &row,
                "booking.confirmed",
                &moved_text,
                Some(&notice),
                now,
            )
            .await?;
        }
    }
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("reception_session.changed")
                .on("reception_rule", rule_id)
                .with(serde_json::json!({"date": session.date, "change": exception.change, "notice": notice})),
        )
        .await?;
    txn.commit().await?;
    crate::public::invalidate(&state).await;
    Ok(actix_web::HttpResponse::NoContent().finish())
}
