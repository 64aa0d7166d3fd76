//! The working calendar: statutory holidays and make-up workdays (调休), kept by
//! administrators each year as the State Council announces them. Deadlines and the reception
//! schedule count on it.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::NaiveDate;
use fengqiao_domain::identity::Role;
use fengqiao_domain::{DomainError, FieldError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::petitions;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
use crate::state::AppState;

/// What kind of day an entry marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A statutory holiday: no work, periods ending on it move on.
    Holiday,
    /// A weekend day worked in exchange (调休).
    MakeupWorkday,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"day": "2026-10-01", "kind": "holiday", "name": "国庆节"}))]
pub struct CalendarDay {
    pub day: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// From this day (inclusive; default: 1 January of this year).
    pub from: Option<NaiveDate>,
    /// To this day (inclusive; default: 31 December of `from`'s year).
    pub to: Option<NaiveDate>,
}

/// The marked days in a range.
#[utoipa::path(
    tag = "admin-calendar",
    operation_id = "listCalendarDays",
    params(CalendarQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Holidays and make-up workdays, in order", body = [CalendarDay]),
        (status = 422, description = "A range longer than three years or backwards", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/calendar")]
pub async fn list(
    state: web::Data<AppState>,
    _staff: StaffUser,
    query: ApiQuery<CalendarQuery>,
) -> Result<web::Json<Vec<CalendarDay>>, ApiError> {
    use chrono::Datelike;
    let today = fengqiao_domain::calendar::local_date(chrono::Utc::now());
    let from = query
        .0
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = query
        .0
        .to
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(from.year(), 12, 31).unwrap_or(from));
    if to < from || (to - from).num_days() > 3 * 366 {
        return Err(DomainError::invalid(
            "to",
            "invalid_range",
            Text::new(
                "日期范围无效（最长三年）",
                "the range is backwards or longer than three years",
            ),
        )
        .into());
    }
    let days = petitions::calendar_days(&state.db, from, to).await?;
    Ok(web::Json(
        days.into_iter()
            .map(|d| CalendarDay {
                day: d.day,
                kind: if d.kind == "holiday" {
                    DayKind::Holiday
                } else {
                    DayKind::MakeupWorkday
                },
                name: d.name,
            })
            .collect(),
    ))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "holiday", "name": "国庆节"}))]
pub struct MarkDayRequest {
    pub kind: DayKind,
    /// 1 to 32 characters, such as 国庆节 or 国庆节调休.
    pub name: String,
}

/// Mark a day as a holiday or a make-up workday (administrators).
#[utoipa::path(
    tag = "admin-calendar",
    operation_id = "markCalendarDay",
    params(("day" = NaiveDate, Path, description = "The day, YYYY-MM-DD")),
    request_body = MarkDayRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Marked", body = CalendarDay),
        (status = 422, description = "Empty or overlong name", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/calendar/{day}")]
pub async fn mark(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    day: web::Path<NaiveDate>,
    body: ApiJson<MarkDayRequest>,
) -> Result<web::Json<CalendarDay>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let day = day.into_inner();
    let body = body.0;
    let name = body.name.trim().to_owned();
    if !(1..=32).contains(&name.chars().count()) {
        return Err(DomainError::from(FieldError::new(
            "name",
            "invalid_day_name",
            Text::new(
                "名称须为 1 至 32 个字",
                "the name must be 1 to 32 characters",
            ),
        ))
        .into());
    }
    let kind = match body.kind {
        DayKind::Holiday => "holiday",
        DayKind::MakeupWorkday => "makeup_workday",
    };
    let txn = state.begin_change().await?;
    petitions::set_calendar_day(&txn, day, kind, &name).await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("calendar.day_marked")
                .on("calendar_day", day)
                .with(json!({"kind": kind})),
        )
        .await?;
    txn.commit().await?;
    state.reference.forget();
    crate::public::invalidate(&state).await;
    Ok(web::Json(CalendarDay {
        day,
        kind: body.kind,
        name,
    }))
}

/// Make a day ordinary again (administrators).
#[utoipa::path(
    tag = "admin-calendar",
    operation_id = "clearCalendarDay",
    params(("day" = NaiveDate, Path, description = "The day, YYYY-MM-DD")),
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Cleared"),
        (status = 404, description = "The day was not marked (`calendar_day_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/calendar/{day}")]
pub async fn clear(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    day: web::Path<NaiveDate>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let day = day.into_inner();
    let txn = state.begin_change().await?;
    if !petitions::clear_calendar_day(&txn, day).await? {
        return Err(DomainError::NotFound {
            code: "calendar_day_not_found",
            message: Text::new("该日期没有标记", "that day is not marked"),
        }
        .into());
    }
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("calendar.day_cleared").on("calendar_day", day),
        )
        .await?;
    txn.commit().await?;
    state.reference.forget();
    crate::public::invalidate(&state).await;
    Ok(HttpResponse::NoContent().finish())
}
