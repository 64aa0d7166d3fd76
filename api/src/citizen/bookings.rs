//! Booking the leaders' reception (预约接访): a citizen with a real name takes a place in a
//! published session, with a short description of the matter; staff confirm, reject or move
//! it (`admin::reception`); a reminder goes out the day before.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fengqiao_domain::reception::{
    BookingAction, BookingState, Session, bookable, booking_transition, sessions_with_changes,
    within_limits,
};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::reception::{self as store, BookingChange, BookingRow, NewBooking};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::citizen::profile::standing_of;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, CitizenUser, RequestOrigin};
use crate::state::AppState;

/// Columns sealed at rest, also the associated data they are sealed with.
pub const MATTER: &str = "bookings.matter";
pub const NOTE: &str = "bookings.note";

/// The session a rule holds on a day, if it holds one (a rest-day session moved there
/// counts), with its published change.
pub async fn session_on(
    state: &AppState,
    rule_id: Uuid,
    date: NaiveDate,
) -> Result<Option<Session>, ApiError> {
    let Some(rule) = store::rule(&state.db, rule_id).await? else {
        return Ok(None);
    };
    let reference = state.reference.snapshot(&state.db).await?;
    let exceptions = store::exceptions_between(&state.db, date, date).await?;
    Ok(sessions_with_changes(
        std::slice::from_ref(&rule),
        &reference.calendar,
        date,
        date,
        &exceptions,
    )
    .into_iter()
    .next())
}

pub fn no_such_session() -> ApiError {
    DomainError::NotFound {
        code: "session_not_found",
        message: Text::new("该日没有这一接访场次", "no such session that day"),
    }
    .into()
}

/// How the session reads in messages: "12月16日 09:00 县信访接待中心（县委书记 某某）".
pub async fn session_text(state: &AppState, session: &Session) -> Result<String, ApiError> {
    use chrono::Datelike;
    let leader = match session.leader_id {
        Some(id) => store::leaders(&state.db)
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .map(|l| format!("（{} {}）", l.title, l.name)),
        None => None,
    };
    Ok(format!(
        "{}月{}日 {} {}{}",
        session.date.month(),
        session.date.day(),
        session.starts_at.format("%H:%M"),
        session.place,
        leader.unwrap_or_default()
    ))
}

fn now_local() -> chrono::NaiveDateTime {
    fengqiao_domain::calendar::to_local(Utc::now()).naive_local()
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa0", "rule_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa1",
    "date": "2026-12-16", "session": "12月16日 09:00 县信访接待中心（县委书记 某某）", "state": "requested",
    "matter": "反映村道维修问题", "reason": null, "petition_id": null, "created_at": "2026-11-26T10:30:00+08:00"}))]
pub struct BookingView {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub date: NaiveDate,
    /// Day, time, place and leader.
    pub session: String,
    pub state: BookingState,
    /// What the citizen wrote about the matter.
    pub matter: String,
    /// Why it was rejected or moved.
    pub reason: Option<String>,
    /// The petition opened at the reception, if one was.
    pub petition_id: Option<Uuid>,
    pub created_at: DateTime<FixedOffset>,
}

pub async fn view_of(state: &AppState, row: &BookingRow) -> Result<BookingView, ApiError> {
    let session = match session_on(state, row.rule_id, row.session_date).await? {
        Some(s) => session_text(state, &s).await?,
        None => format!("{}（场次已取消）", row.session_date),
    };
    Ok(BookingView {
        id: row.id,
        rule_id: row.rule_id,
        date: row.session_date,
        session,
        state: booking_state(row)?,
        matter: state
            .crypto
            .open(MATTER, &row.matter)
            .map_err(ApiError::internal)?,
        reason: row.reason.clone(),
        petition_id: row.petition_id,
        created_at: fengqiao_domain::calendar::to_local(row.created_at),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rule_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa1", "date": "2026-12-16",
    "matter": "反映村道维修问题，已向镇里反映两次未解决"}))]
pub struct BookingRequest {
    /// A session of the public schedule: its rule and day.
    pub rule_id: Uuid,
    pub date: NaiveDate,
    /// What the citizen wants to raise, 5 to 300 characters.
    pub matter: String,
}

/// Books a place in a session of the reception schedule (real name required). One open
/// booking a day, `reception.bookings_per_month` a month; a full, begun or past session is
/// refused with its reason. The booking holds its place until staff confirm or reject it.
#[utoipa::path(
    tag = "citizen-bookings",
    operation_id = "bookReception",
    request_body = BookingRequest,
    security(("citizen_bearer" = [])),
    responses(
        (status = 201, description = "Booked, waiting for confirmation", body = BookingView),
        (status = 403, description = "No real name on record (`real_name_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session that day (`session_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Full, begun or past, or over the citizen's limits (`session_full`, `session_closed`, `booking_same_day`, `booking_monthly_limit`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The matter is too short or too long (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/reception/bookings")]
pub async fn book(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    body: ApiJson<BookingRequest>,
) -> Result<HttpResponse, ApiError> {
    standing_of(&citizen.row).require_real_name()?;
    let body = body.0;
    let matter = body.matter.trim();
    if !(5..=300).contains(&matter.chars().count()) {
        return Err(DomainError::invalid(
            "matter",
            "invalid_field",
            Text::new(
                "事项说明须为 5 至 300 个字符",
                "the matter must be 5 to 300 characters",
            ),
        )
        .into());
    }
    let session = session_on(&state, body.rule_id, body.date)
        .await?
        .ok_or_else(no_such_session)?;
    // Capacity is checked again, atomically, when the place is taken.
    bookable(&session, 0, now_local())?;
    let (same_day, this_month) = store::citizen_load(&state.db, citizen.id, body.date).await?;
    within_limits(
        same_day,
        this_month,
        state.settings.reception.bookings_per_month,
    )?;
    let sealed_matter = state
        .crypto
        .seal(MATTER, matter)
        .map_err(ApiError::internal)?;
    let txn = state.begin_change().await?;
    store::take_place(&txn, session.rule_id, session.date, session.capacity).await?;
    let row = store::create_booking(
        &txn,
        NewBooking {
            citizen_id: citizen.id,
            rule_id: session.rule_id,
            date: session.date,
            sealed_matter,
        },
        Utc::now(),
    )
    .await?;
    state
        .audit_in(
            &txn,
            &citizen.actor(),
            &origin.0,
            Event::new("booking.requested").on("booking", row.id),
        )
        .await?;
    txn.commit().await?;
    // Places changed: the public schedule shows it at once.
    crate::public::invalidate(&state).await;
    Ok(HttpResponse::Created().json(view_of(&state, &row).await?))
}

/// The caller's bookings, newest session first.
#[utoipa::path(
    tag = "citizen-bookings",
    operation_id = "listMyBookings",
    security(("citizen_bearer" = [])),
    responses((status = 200, description = "The caller's bookings (at most 100)", body = Vec<BookingView>))
)]
#[get("/me/bookings")]
pub async fn list_mine(
    state: web::Data<AppState>,
    citizen: CitizenUser,
) -> Result<web::Json<Vec<BookingView>>, ApiError> {
    let mut out = Vec::new();
    for row in store::bookings_of(&state.db, citizen.id).await? {
        out.push(view_of(&state, &row).await?);
    }
    Ok(web::Json(out))
}

pub fn booking_state(row: &BookingRow) -> Result<BookingState, ApiError> {
    BookingState::parse(&row.state)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("booking state {}", row.state)))
}

pub fn booking_not_found() -> ApiError {
    DomainError::NotFound {
        code: "booking_not_found",
        message: Text::new("预约不存在", "no such booking"),
    }
    .into()
}

/// Cancels one of the caller's bookings; its place goes back to the session.
#[utoipa::path(
    tag = "citizen-bookings",
    operation_id = "cancelMyBooking",
    params(("id" = Uuid, Path, description = "Booking id")),
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = BookingView),
        (status = 404, description = "No such booking of the caller's (`booking_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open any more (`booking_state`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/bookings/{id}/cancel")]
pub async fn cancel_mine(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<web::Json<BookingView>, ApiError> {
    let row = store::booking(&state.db, *id)
        .await?
        .filter(|b| b.citizen_id == citizen.id)
        .ok_or_else(booking_not_found)?;
    let to = booking_transition(booking_state(&row)?, BookingAction::Cancel)?;
    let txn = state.begin_change().await?;
    let changed = store::change_booking(
        &txn,
        &row,
        BookingChange {
            to,
            reason: None,
            note: None,
            petition_id: None,
            session: None,
        },
        Utc::now(),
    )
    .await?;
    store::free_place(&txn, row.rule_id, row.session_date).await?;
    state
        .audit_in(
            &txn,
            &citizen.actor(),
            &origin.0,
            Event::new("booking.cancelled").on("booking", row.id),
        )
        .await?;
    txn.commit().await?;
    // Places changed: the public schedule shows it at once.
    crate::public::invalidate(&state).await;
    Ok(web::Json(view_of(&state, &changed).await?))
}
