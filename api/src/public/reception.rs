//! The public reception schedule (领导接待公示): the sessions of the next days from the published
//! rules and the shared working calendar, as JSON for the mini-program and as an iCalendar feed
//! for anyone's calendar. Both carry an `ETag` and a short `Cache-Control`; `If-None-Match`
//! gives 304.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{Datelike, NaiveDate, Utc};
use fengqiao_domain::reception::{Session, sessions_with_changes};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::reception as store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{cacheable, cached};
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// At most two months ahead: the rules are published for the coming weeks, and a longer
/// range only costs work.
const MAX_DAYS: u32 = 62;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScheduleQuery {
    /// First day (`YYYY-MM-DD`); default today.
    pub from: Option<NaiveDate>,
    /// How many days, 1 to 62; default 14.
    pub days: Option<u32>,
    /// Only this leader's sessions.
    pub leader_id: Option<Uuid>,
    /// Only this organisation's sessions.
    pub org_unit_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct LeaderView {
    pub id: Uuid,
    pub name: String,
    pub title: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// With `date`, what a booking names.
    pub rule_id: Uuid,
    pub date: NaiveDate,
    /// 周一 … 周日
    pub weekday: String,
    /// `HH:MM`, China time.
    pub starts_at: String,
    pub ends_at: String,
    pub place: String,
    pub organisation: OrganisationView,
    /// The receiving leader (none for an organisation's own daily reception).
    pub leader: Option<LeaderView>,
    pub capacity: u32,
    /// Places still free to book.
    pub remaining: u32,
    /// The rest day the session was moved from, when it was.
    pub moved_from: Option<NaiveDate>,
    /// Called off; `notice` says why.
    pub cancelled: bool,
    /// Leaders or departments receiving together with the session's own (联合接访).
    pub joint_with: Vec<String>,
    /// What was published about a change to this session.
    pub notice: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"from": "2026-11-26", "to": "2026-12-09", "sessions": [{"rule_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fa1", "date": "2026-11-26", "weekday": "周四",
    "starts_at": "09:00", "ends_at": "11:30", "place": "县信访接待中心", "organisation": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "name": "中牟县"},
    "leader": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f67", "name": "张某某", "title": "县长"}, "capacity": 10, "remaining": 7, "moved_from": null,
    "cancelled": false, "joint_with": ["县人社局"], "notice": "本场次为联合接访"}]}))]
pub struct Schedule {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub sessions: Vec<SessionView>,
}

fn range(query: &ScheduleQuery) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let days = query.days.unwrap_or(14);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(DomainError::invalid(
            "days",
            "out_of_range",
            Text::new("天数须在 1 至 62 之间", "days must be 1 to 62"),
        )
        .into());
    }
    let from = crate::extract::day_param("from", query.from)?
        .unwrap_or_else(|| fengqiao_domain::calendar::local_date(Utc::now()));
    Ok((from, from + chrono::Days::new(u64::from(days - 1))))
}

fn weekday_zh(date: NaiveDate) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        [date.weekday().num_days_from_monday() as usize]
}

async fn schedule_of(
    state: &AppState,
    from: NaiveDate,
    to: NaiveDate,
    query: &ScheduleQuery,
) -> Result<Schedule, ApiError> {
    let rules = store::active_rules(&state.db).await?;
    let reference = state.reference.snapshot(&state.db).await?;
    let exceptions = store::exceptions_between(&state.db, from, to).await?;
    let found: Vec<Session> =
        sessions_with_changes(&rules, &reference.calendar, from, to, &exceptions)
            .into_iter()
            .filter(|s| query.leader_id.is_none_or(|l| s.leader_id == Some(l)))
            .filter(|s| query.org_unit_id.is_none_or(|o| s.org_unit_id == o))
            .collect();
    let leaders: HashMap<Uuid, store::LeaderRow> = store::leaders(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let taken = store::places_taken(&state.db, from, to).await?;
    let mut out = Vec::with_capacity(found.len());
    for s in found {
        let taken = taken.get(&(s.rule_id, s.date)).copied().unwrap_or(0);
        out.push(view_of(state, &leaders, s, taken).await?);
    }
    Ok(Schedule {
        from,
        to,
        sessions: out,
    })
}

async fn view_of(
    state: &AppState,
    leaders: &HashMap<Uuid, store::LeaderRow>,
    s: Session,
    taken: u32,
) -> Result<SessionView, ApiError> {
    let unit = state.reference.place(&state.db, s.org_unit_id).await?;
    Ok(SessionView {
        rule_id: s.rule_id,
        date: s.date,
        weekday: weekday_zh(s.date).to_owned(),
        starts_at: s.starts_at.format("%H:%M").to_string(),
        ends_at: s.ends_at.format("%H:%M").to_string(),
        place: s.place,
        organisation: OrganisationView {
            id: unit.id,
            name: unit.name,
        },
        leader: s
            .leader_id
            .and_then(|id| leaders.get(&id))
            .map(|l| LeaderView {
                id: l.id,
                name: l.name.clone(),
                title: l.title.clone(),
            }),
        capacity: s.capacity,
        remaining: if s.cancelled {
            0
        } else {
            s.capacity.saturating_sub(taken)
        },
        moved_from: s.moved_from,
        cancelled: s.cancelled,
        joint_with: s.joint_with,
        notice: s.notice,
    })
}

/// The reception sessions of the coming days, from the published rules and the working
/// calendar (rest days cancel or move a session, as its rule says), by date and time; for one
/// leader or one organisation with `leader_id` or `org_unit_id`.
#[utoipa::path(
    tag = "public-reception",
    operation_id = "getReceptionSchedule",
    params(ScheduleQuery),
    responses(
        (status = 200, description = "The sessions, by date and time; `ETag` and `Cache-Control` set", body = Schedule),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 422, description = "Days out of range (`out_of_range`) or a date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/reception/schedule")]
pub async fn schedule(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: ApiQuery<ScheduleQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = range(&query.0)?;
    let key = format!(
        "schedule:{from}:{to}:{}:{}",
        query.0.leader_id.map(|l| l.to_string()).unwrap_or_default(),
        query
            .0
            .org_unit_id
            .map(|o| o.to_string())
            .unwrap_or_default()
    );
    let body = cached(&state, &key, || async {
        let schedule = schedule_of(&state, from, to, &query.0).await?;
        serde_json::to_vec(&schedule).map_err(ApiError::internal)
    })
    .await?;
    Ok(cacheable(&req, "application/json", body))
}

/// Escapes text for an iCalendar value (RFC 5545 §3.3.11).
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// The same schedule as an iCalendar feed (RFC 5545), China time, to subscribe to.
#[utoipa::path(
    tag = "public-reception",
    operation_id = "getReceptionScheduleIcs",
    params(ScheduleQuery),
    responses(
        (status = 200, description = "`text/calendar`; `ETag` and `Cache-Control` set", body = String, content_type = "text/calendar"),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 422, description = "Days out of range (`out_of_range`) or a date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/reception/schedule.ics")]
pub async fn schedule_ics(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: ApiQuery<ScheduleQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = range(&query.0)?;
    let published = schedule_of(&state, from, to, &query.0).await?;
    let stamp = Utc::now().format("%Y%m%dT000000Z");
    let mut ics = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Fengqiao//Reception schedule//ZH\r\n\
         CALSCALE:GREGORIAN\r\nX-WR-CALNAME:领导接待公示\r\nX-WR-TIMEZONE:Asia/Shanghai\r\n",
    );
    for s in &published.sessions {
        let day = s.date.format("%Y%m%d");
        let time = |t: &str| t.replace(':', "");
        let who = s.leader.as_ref().map_or_else(
            || s.organisation.name.clone(),
            |l| format!("{} {}", l.title, l.name),
        );
        ics.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{day}-{}-{}@fengqiao\r\nDTSTAMP:{stamp}\r\n\
             DTSTART;TZID=Asia/Shanghai:{day}T{}00\r\nDTEND;TZID=Asia/Shanghai:{day}T{}00\r\n\
             SUMMARY:{}\r\nLOCATION:{}\r\nEND:VEVENT\r\n",
            time(&s.starts_at),
            s.organisation.id.simple(),
            time(&s.starts_at),
            time(&s.ends_at),
            ics_text(&format!("领导接访：{who}")),
            ics_text(&s.place),
        ));
    }
    ics.push_str("END:VCALENDAR\r\n");
    Ok(cacheable(
        &req,
        "text/calendar; charset=utf-8",
        std::sync::Arc::new(super::Tagged::new(ics.into_bytes())),
    ))
}
