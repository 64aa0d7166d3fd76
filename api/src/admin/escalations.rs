//! Abnormal escalations (越级上访、非正常上访): staff record them; the weekly watch names the
//! units with the most, with the streaks that bring a talk or a one-vote veto.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use fengqiao_domain::error::Validator;
use fengqiao_domain::identity::{
    IdCardNumber, OrgScope, PersonName, Role, mask_id_number, mask_name,
};
use fengqiao_domain::statistics::{Consequence, EscalationLevel, Period, WatchEntry};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::{Actor, Event, Origin};
use fengqiao_infra::db::escalations::{self as store, EscalationRow, NewEscalation};
use fengqiao_infra::db::petitions::{parse_text, text_of};
use fengqiao_infra::reports::Cell;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::statistics::{READERS, period_of, scope_of, today};
use crate::error::{ApiError, Problem};
use crate::exports::{self, ExportFormat};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
use crate::state::AppState;

const PERSON_NAME: &str = "escalations.person_name";
const PERSON_ID_NUMBER: &str = "escalations.person_id_number";

/// An escalation as reported.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"occurred_on": "2026-11-24", "level": "province", "person_name": "张三",
    "person_id_number": "410122199001011234", "home_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "registered_petition": true, "petition_id": null, "note": "到省信访局反映征地补偿问题"}))]
pub struct RecordEscalation {
    /// The day the person was met at the higher level (not in the future, at most a year ago).
    pub occurred_on: NaiveDate,
    pub level: EscalationLevel,
    pub person_name: String,
    /// Optional; checked (GB 11643) when given.
    pub person_id_number: Option<String>,
    /// The person's home organisation (属地), whose count it adds to.
    pub home_org_id: Uuid,
    /// Whether the matter was a registered petition.
    pub registered_petition: bool,
    pub petition_id: Option<Uuid>,
    /// At most 500 characters.
    pub note: Option<String>,
}

/// An escalation as staff see it: the person masked.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f70", "occurred_on": "2026-11-24", "level": "province",
    "person_name": "张*", "person_id_number": "410122********1234", "home_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "registered_petition": true, "petition_id": null, "note": "到省信访局反映征地补偿问题", "recorded_by_kind": "staff",
    "external_id": null, "created_at": "2026-11-24T18:02:11+08:00"}))]
pub struct EscalationView {
    pub id: Uuid,
    pub occurred_on: NaiveDate,
    pub level: EscalationLevel,
    pub person_name: String,
    pub person_id_number: Option<String>,
    pub home_org_id: Uuid,
    pub registered_petition: bool,
    pub petition_id: Option<Uuid>,
    pub note: Option<String>,
    /// staff or integrator.
    pub recorded_by_kind: String,
    pub external_id: Option<String>,
    pub created_at: DateTime<FixedOffset>,
}

/// Drops the link to a petition, and the note, when the viewer may not see that petition (an
/// accusation against the viewer's own organisation must not surface through its escalation).
async fn for_viewer(
    state: &AppState,
    viewer: &OrgScope,
    mut row: EscalationRow,
) -> Result<EscalationRow, ApiError> {
    if let Some(id) = row.petition_id {
        let visible = match fengqiao_infra::db::petitions::get(&state.db, id).await? {
            Some(p) => fengqiao_infra::db::petitions::visible_to(&state.db, viewer, &p).await?,
            None => false,
        };
        if !visible {
            row.petition_id = None;
            row.note = None;
        }
    }
    Ok(row)
}

pub fn view_of(state: &AppState, row: EscalationRow) -> Result<EscalationView, ApiError> {
    let open = |context: &str, sealed: &str| {
        state
            .crypto
            .open(context, sealed)
            .map_err(ApiError::internal)
    };
    Ok(EscalationView {
        id: row.id,
        occurred_on: row.occurred_on,
        level: parse_text("escalations.level", &row.level)?,
        person_name: mask_name(&open(PERSON_NAME, &row.person_name)?),
        person_id_number: row
            .person_id_number
            .as_deref()
            .map(|s| open(PERSON_ID_NUMBER, s).map(|clear| mask_id_number(&clear)))
            .transpose()?,
        home_org_id: row.home_org_id,
        registered_petition: row.registered_petition,
        petition_id: row.petition_id,
        note: row.note,
        recorded_by_kind: row.recorded_by_kind,
        external_id: row.external_id,
        created_at: fengqiao_domain::calendar::to_local(row.created_at),
    })
}

/// Checks and records an escalation, audited with it; shared by staff and integrators. The home
/// organisation must lie in `home_scope`: staff record only their own subtree's people (a
/// township cannot add to a rival's count).
/// `Ok((view, false))`: the recorder had already sent this external id.
pub async fn record(
    state: &AppState,
    home_scope: &OrgScope,
    actor: &Actor,
    origin: &Origin,
    body: RecordEscalation,
    recorded_by: (&'static str, String),
    external_id: Option<String>,
) -> Result<(EscalationView, bool), ApiError> {
    let today = today();
    let mut v = Validator::new();
    if body.occurred_on > today || body.occurred_on < today - Duration::days(366) {
        v.push(fengqiao_domain::FieldError::new(
            "occurred_on",
            "occurred_on_out_of_range",
            Text::new(
                "发生日期须在一年内且不晚于今天",
                "the day is within the last year, not in the future",
            ),
        ));
    }
    let name = v.check("person_name", PersonName::parse(&body.person_name));
    let id_number = match &body.person_id_number {
        Some(raw) => v
            .check("person_id_number", IdCardNumber::parse(raw, today))
            .map(Some),
        None => Some(None),
    };
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        v.push(fengqiao_domain::FieldError::new(
            "note",
            "note_too_long",
            Text::new("说明不能超过 500 字", "the note is at most 500 characters"),
        ));
    }
    let (name, id_number) = v.finish(|| Some((name?, id_number?)))?;
    // The home organisation and the petition must exist.
    fengqiao_infra::db::org::get_in(&state.db, home_scope, body.home_org_id)
        .await
        .map_err(|e| match e {
            fengqiao_infra::db::StoreError::Rule(DomainError::NotFound { .. }) => {
                ApiError::from(DomainError::invalid(
                    "home_org_id",
                    "unknown_org_unit",
                    Text::new("属地单位不存在", "no such organisation unit"),
                ))
            }
            other => other.into(),
        })?;
    if let Some(petition) = body.petition_id
        && fengqiao_infra::db::petitions::get(&state.db, petition)
            .await?
            .is_none()
    {
        return Err(DomainError::invalid(
            "petition_id",
            "unknown_petition",
            Text::new("信访事项不存在", "no such petition"),
        )
        .into());
    }
    let seal = |context: &str, clear: &str| {
        state
            .crypto
            .seal(context, clear)
            .map_err(ApiError::internal)
    };
    let now = Utc::now();
    let txn = state.begin_change().await?;
    let (row, created) = store::record(
        &txn,
        NewEscalation {
            occurred_on: body.occurred_on,
            level: text_of(&body.level),
            person_name: seal(PERSON_NAME, name.expose())?,
            person_id_number: id_number
                .map(|id| seal(PERSON_ID_NUMBER, id.expose()))
                .transpose()?,
            home_org_id: body.home_org_id,
            registered_petition: body.registered_petition,
            petition_id: body.petition_id,
            note: body.note,
            recorded_by_kind: recorded_by.0,
            recorded_by: recorded_by.1,
            external_id,
            now,
        },
    )
    .await?;
    if created {
        state
            .audit_in(
                &txn,
                actor,
                origin,
                Event::new("escalation.recorded")
                    .on("escalation", row.id)
                    .with(json!({"home_org_id": row.home_org_id, "level": row.level,
                        "occurred_on": row.occurred_on})),
            )
            .await?;
    }
    txn.commit().await?;
    Ok((view_of(state, row)?, created))
}

/// Record an abnormal escalation to the city, the province or Beijing.
#[utoipa::path(
    tag = "admin-escalations",
    operation_id = "recordEscalation",
    request_body = RecordEscalation,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Recorded (the person masked)", body = EscalationView),
        (status = 422, description = "A bad field (`occurred_on_out_of_range`, `person_name_*`, `id_number_*`, `unknown_org_unit`, `unknown_petition`, `note_too_long`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/escalations")]
pub async fn record_by_staff(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<RecordEscalation>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Registrar, Role::Supervisor, Role::Administrator])?;
    let (view, _) = record(
        &state,
        &staff.scope(),
        &staff.actor(),
        &origin.0,
        body.0,
        ("staff", staff.account.id.to_string()),
        None,
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EscalationsQuery {
    /// The home organisation (its whole subtree); default: the caller's own.
    pub org_unit_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Default: the month holding today when no range is given.
    pub date: Option<NaiveDate>,
    /// 1..=200, default 50.
    pub limit: Option<u64>,
    pub cursor: Option<Uuid>,
    /// json (default), csv or xlsx (the whole period).
    pub format: Option<ExportFormat>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f70", "occurred_on": "2026-11-24", "level": "province",
    "person_name": "张*", "person_id_number": null, "home_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "registered_petition": true, "petition_id": null, "note": null, "recorded_by_kind": "staff",
    "external_id": null, "created_at": "2026-11-24T18:02:11+08:00"}], "next_cursor": null}))]
pub struct EscalationsPage {
    pub items: Vec<EscalationView>,
    pub next_cursor: Option<Uuid>,
}

/// The escalations of a period, newest first, the persons masked.
#[utoipa::path(
    tag = "admin-escalations",
    operation_id = "listEscalations",
    params(EscalationsQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page (or the whole period as CSV/XLSX)", content(
            (EscalationsPage = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad range", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/escalations")]
pub async fn list(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<EscalationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (scope, _) = scope_of(&state, &staff, q.org_unit_id).await?;
    let viewer = staff.scope();
    let period = period_of(None, q.date, q.from, q.to)?;
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let mut rows = Vec::new();
        let mut after = None;
        loop {
            let page = store::list(&state.db, &scope, period, 500, after).await?;
            let done = page.len() < 500;
            after = page.last().map(|r| r.id);
            for row in page {
                let v = view_of(&state, for_viewer(&state, &viewer, row).await?)?;
                rows.push(vec![
                    Cell::Date(v.occurred_on),
                    Cell::Text(text_of(&v.level)),
                    Cell::Text(v.person_name),
                    Cell::Text(v.home_org_id.to_string()),
                    Cell::Text(if v.registered_petition { "是" } else { "否" }.into()),
                    v.note.map_or(Cell::Empty, Cell::Text),
                ]);
            }
            if done {
                break;
            }
        }
        return exports::table(
            format,
            &format!("越级上访_{}", period.label()),
            &[
                "日期",
                "去向",
                "姓名",
                "属地单位",
                "是否登记信访事项",
                "说明",
            ],
            &rows,
        );
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let mut rows = store::list(&state.db, &scope, period, limit + 1, q.cursor).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(view_of(&state, for_viewer(&state, &viewer, row).await?)?);
    }
    Ok(HttpResponse::Ok().json(EscalationsPage { items, next_cursor }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WatchQuery {
    /// Any day of the week (Monday to Sunday); default today.
    pub date: Option<NaiveDate>,
    /// json (default), csv or xlsx.
    pub format: Option<ExportFormat>,
}

/// A unit in the week's watch.
#[derive(Serialize, ToSchema)]
pub struct WatchRow {
    pub org_unit_id: Uuid,
    pub name: String,
    pub escalations: u64,
    pub rank: u32,
    pub in_top: bool,
    pub streak: u32,
    pub consequence: Option<Consequence>,
    pub veto_year: Option<i32>,
    pub explanation: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"week": {"from": "2026-11-16", "to": "2026-11-22"}, "final": true, "top": 3,
    "units": [{"org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "name": "城关镇", "escalations": 3, "rank": 1,
      "in_top": true, "streak": 2, "consequence": "talk", "veto_year": null,
      "explanation": "本周越级上访 3 人次，居全县第 1 位；已连续 2 周居前 3 名，由县领导约谈单位主要负责人。"}]}))]
pub struct WatchView {
    pub week: Period,
    /// The week is over and the watch is kept with it.
    #[serde(rename = "final")]
    #[schema(rename = "final")]
    pub is_final: bool,
    pub top: u32,
    /// Every unit with an escalation in the week, most first.
    pub units: Vec<WatchRow>,
}

fn watch_row(e: WatchEntry, names: &[(Uuid, String, String)]) -> WatchRow {
    WatchRow {
        org_unit_id: e.org_id,
        name: names
            .iter()
            .find(|n| n.0 == e.org_id)
            .map(|n| n.1.clone())
            .unwrap_or_default(),
        escalations: e.escalations,
        rank: e.rank,
        in_top: e.in_top,
        streak: e.streak,
        consequence: e.consequence,
        veto_year: e.veto_year,
        explanation: e.explanation,
    }
}

/// The weekly escalation watch: the units with the most abnormal escalations (equal counts share
/// a rank), each with its streak of weeks in the top (counted up to twelve weeks back): one week
/// named, two a talk with the unit head, three a one-vote veto in the year's evaluation.
#[utoipa::path(
    tag = "admin-escalations",
    operation_id = "getEscalationWatch",
    params(WatchQuery),
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The week's watch (or CSV/XLSX)", content(
            (WatchView = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 422, description = "A date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json"))
)]
#[get("/escalations/watch")]
pub async fn watch(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<WatchQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&READERS)?;
    let q = query.0;
    let today = today();
    let day = crate::extract::day_param("date", q.date)?.unwrap_or(today);
    let w = crate::statistics::watch(&state, day, today).await?;
    let units: Vec<WatchRow> = w
        .entries
        .into_iter()
        .map(|e| watch_row(e, &w.names))
        .collect();
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let rows: Vec<Vec<Cell>> = units
            .iter()
            .map(|u| {
                vec![
                    Cell::Int(i64::from(u.rank)),
                    Cell::Text(u.name.clone()),
                    Cell::Int(i64::try_from(u.escalations).unwrap_or(i64::MAX)),
                    Cell::Int(i64::from(u.streak)),
                    Cell::Text(u.explanation.clone()),
                ]
            })
            .collect();
        return exports::table(
            format,
            &format!("越级上访周通报_{}", w.week.from),
            &["名次", "单位", "越级上访人次", "连续进入前列周数", "说明"],
            &rows,
        );
    }
    Ok(HttpResponse::Ok().json(WatchView {
        week: w.week,
        is_final: w.is_final,
        top: state.settings.statistics.watch_top,
        units,
    }))
}
