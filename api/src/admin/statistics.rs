//! Supervision figures for leaders and supervisors: an organisation's figures for a period,
//! each rate with its published definition and a drill-down to the petitions behind it; the
//! figures of every township side by side; the trend of the main rates; the monthly
//! red/yellow/black flags. Every table exports as CSV or XLSX, the ranking and the trend also
//! as SVG.

use actix_web::{HttpResponse, get, web};
use chrono::{NaiveDate, Utc};
use fengqiao_domain::identity::Role;
use fengqiao_domain::org::OrgKind;
use fengqiao_domain::statistics::{
    CountFigure, Definition, Figures, Flag, FlagScoring, Granularity, Metric, Part, Period,
    RankedUnit, RawCounts,
};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::statistics::{self as store, DrillDown, Narrowing, Scope};
use fengqiao_infra::db::{org, petitions::PetitionRow};
use fengqiao_infra::reports::{Bar, BarColour, Cell, Series, bar_chart_svg, line_chart_svg};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::exports::{self, ChartFormat, ExportFormat};
use crate::extract::{ApiQuery, StaffUser, day_param};
use crate::state::AppState;

/// Who may read the figures: supervisors, leaders and administrators.
pub const READERS: [Role; 3] = [Role::Supervisor, Role::Leader, Role::Administrator];

pub fn today() -> NaiveDate {
    fengqiao_domain::calendar::local_date(Utc::now())
}

/// The period asked for: `from`..`to`, or the `granularity` (default month) holding `date`
/// (default today).
pub fn period_of(
    granularity: Option<Granularity>,
    date: Option<NaiveDate>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Period, ApiError> {
    let (date, from, to) = (
        day_param("date", date)?,
        day_param("from", from)?,
        day_param("to", to)?,
    );
    match (from, to) {
        (Some(from), Some(to)) => Ok(Period::range(from, to).map_err(DomainError::from)?),
        (None, None) => Ok(Period::of(
            granularity.unwrap_or(Granularity::Month),
            date.unwrap_or_else(today),
        )),
        _ => Err(DomainError::invalid(
            if from.is_none() { "from" } else { "to" },
            "range_incomplete",
            Text::new("起止日期须同时给出", "give both from and to, or neither"),
        )
        .into()),
    }
}

/// The scope of the figures: the named unit (404 outside the caller's own subtree), else the
/// caller's own subtree (the county for county-level staff).
pub async fn scope_of(
    state: &AppState,
    staff: &StaffUser,
    org_unit_id: Option<Uuid>,
) -> Result<(Scope, Option<fengqiao_domain::org::OrgUnit>), ApiError> {
    staff.require_any(&READERS)?;
    match org_unit_id {
        Some(id) => {
            let unit = org::get_in(&state.db, &staff.scope(), id).await?;
            Ok((Scope::Subtree(unit.path.clone()), Some(unit)))
        }
        None => Ok((Scope::from_org(&staff.scope()), None)),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// The organisation (its whole subtree); default: the caller's own.
    pub org_unit_id: Option<Uuid>,
    /// day, week (Monday to Sunday), month (default) or year holding `date`.
    pub granularity: Option<Granularity>,
    /// Default: today.
    pub date: Option<NaiveDate>,
    /// An explicit range instead, both days included (at most ten years).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// json (default), csv or xlsx.
    pub format: Option<ExportFormat>,
}

/// An organisation's figures for a period.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"org_unit_id": null, "org_unit_name": null, "figures": {
    "period": {"from": "2026-10-01", "to": "2026-10-31"}, "registered": 120,
    "by_channel": {"online": 84, "letter": 12, "visit": 18, "phone": 6}, "by_kind": {"complaint": 70, "suggestion": 20, "visit_request": 18, "message": 12},
    "by_category": {"land": 30, "housing": 25}, "by_class": {"claim": 90, "suggestion": 20, "accusation": 10},
    "by_checkpoint": {"township": 100, "county_department": 20},
    "online_share": {"numerator": 84, "denominator": 120, "value": 0.7},
    "on_time_disposal": {"numerator": 118, "denominator": 120, "value": 0.9833},
    "on_time_acceptance": {"numerator": 95, "denominator": 100, "value": 0.95},
    "on_time_answer": {"numerator": 80, "denominator": 88, "value": 0.9091},
    "satisfaction": {"numerator": 60, "denominator": 66, "value": 0.9091},
    "rating_participation": {"numerator": 66, "denominator": 80, "value": 0.825},
    "return_rate": {"numerator": 4, "denominator": 100, "value": 0.04},
    "reopen_rate": {"numerator": 2, "denominator": 80, "value": 0.025},
    "repeat_rate": {"numerator": 6, "denominator": 120, "value": 0.05},
    "review_rate": {"numerator": 3, "denominator": 80, "value": 0.0375},
    "rereview_rate": {"numerator": 0, "denominator": 3, "value": 0.0},
    "answer_time": {"answered": 80, "average_days": 21.4, "p90_days": 45},
    "open": 140, "due_soon": 9, "overdue": 2}}))]
pub struct FiguresView {
    pub org_unit_id: Option<Uuid>,
    pub org_unit_name: Option<String>,
    pub figures: Figures,
}

fn rate_rows(counts: &RawCounts) -> Vec<Vec<Cell>> {
    Metric::ALL
        .iter()
        .map(|m| {
            let r = counts.rate(*m);
            vec![
                Cell::Text(m.as_str().into()),
                Cell::Text(m.definition().name.into()),
                Cell::Int(i64::try_from(r.numerator).unwrap_or(i64::MAX)),
                Cell::Int(i64::try_from(r.denominator).unwrap_or(i64::MAX)),
                Cell::Percent(r.value),
            ]
        })
        .collect()
}

/// An organisation's figures for a period.
///
/// Counts by channel, kind, category, class and checkpoint; the rates, each with numerator and
/// denominator (definitions: `GET /api/v1/admin/statistics/definitions`); time to answer
/// (average, 90th percentile); and, as of today, open, due-soon and overdue obligations. With
/// `format=csv` or `xlsx`, one row per rate.
#[utoipa::path(
    tag = "admin-statistics",
    operation_id = "getStatisticsFigures",
    params(FiguresQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The figures (or a CSV/XLSX table of the rates)", content(
            (FiguresView = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A reversed, incomplete or too long range (`range_reversed`, `range_incomplete`, `range_too_long`), or a date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/statistics/figures")]
pub async fn figures(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<FiguresQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (scope, unit) = scope_of(&state, &staff, q.org_unit_id).await?;
    let period = period_of(q.granularity, q.date, q.from, q.to)?;
    let due_soon = state.settings.petition.due_soon_days;
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let counts =
            store::raw_counts(&state.db, &scope, &staff.scope(), period, today(), due_soon).await?;
        let name = unit.as_ref().map_or("全县", |u| u.name.as_str());
        return exports::table(
            format,
            &format!("信访统计_{name}_{}", period.label()),
            &["metric", "指标", "分子", "分母", "比率"],
            &rate_rows(&counts),
        );
    }
    let figures =
        store::figures(&state.db, &scope, &staff.scope(), period, today(), due_soon).await?;
    Ok(HttpResponse::Ok().json(FiguresView {
        org_unit_id: unit.as_ref().map(|u| u.id),
        org_unit_name: unit.map(|u| u.name),
        figures,
    }))
}

/// One rate's published definition.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"metric": "on_time_answer", "definition": {"name": "按期答复率",
    "numerator": "在答复期限内（含当日）答复的件数",
    "denominator": "答复期限（受理后60日，经批准延期的加延期日数；重办的自重办日重新起算）届满应答复的件数",
    "dated_by": "期限最后一日在统计期内，且已办理或期限已过（尚未到期且未办理的不计入）"}}))]
pub struct DefinitionView {
    pub metric: Metric,
    pub definition: Definition,
}

/// The definition of every rate: numerator, denominator and which day puts a petition in the
/// period.
#[utoipa::path(
    tag = "admin-statistics",
    operation_id = "listStatisticsDefinitions",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "Every rate's definition", body = [DefinitionView]))
)]
#[get("/statistics/definitions")]
pub async fn definitions(staff: StaffUser) -> Result<HttpResponse, ApiError> {
    staff.require_any(&READERS)?;
    Ok(HttpResponse::Ok().json(
        Metric::ALL
            .iter()
            .map(|m| DefinitionView {
                metric: *m,
                definition: m.definition(),
            })
            .collect::<Vec<_>>(),
    ))
}

/// What to drill into: a rate (with `part`) or a count.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    OnlineShare,
    OnTimeDisposal,
    OnTimeAcceptance,
    OnTimeAnswer,
    Satisfaction,
    RatingParticipation,
    ReturnRate,
    ReopenRate,
    RepeatRate,
    ReviewRate,
    RereviewRate,
    Registered,
    /// Latest answer in the period (behind the time to answer).
    Answered,
    Open,
    DueSoon,
    Overdue,
}

impl Figure {
    fn drill_down(self, part: Part) -> DrillDown {
        let rate = |m| DrillDown::Rate(m, part);
        match self {
            Figure::OnlineShare => rate(Metric::OnlineShare),
            Figure::OnTimeDisposal => rate(Metric::OnTimeDisposal),
            Figure::OnTimeAcceptance => rate(Metric::OnTimeAcceptance),
            Figure::OnTimeAnswer => rate(Metric::OnTimeAnswer),
            Figure::Satisfaction => rate(Metric::Satisfaction),
            Figure::RatingParticipation => rate(Metric::RatingParticipation),
            Figure::ReturnRate => rate(Metric::ReturnRate),
            Figure::ReopenRate => rate(Metric::ReopenRate),
            Figure::RepeatRate => rate(Metric::RepeatRate),
            Figure::ReviewRate => rate(Metric::ReviewRate),
            Figure::RereviewRate => rate(Metric::ReReviewRate),
            Figure::Registered => DrillDown::Count(CountFigure::Registered),
            Figure::Answered => DrillDown::Count(CountFigure::Answered),
            Figure::Open => DrillDown::Count(CountFigure::Open),
            Figure::DueSoon => DrillDown::Count(CountFigure::DueSoon),
            Figure::Overdue => DrillDown::Count(CountFigure::Overdue),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DrillDownQuery {
    /// The figure: a rate or `registered`, `answered`, `open`, `due_soon`, `overdue`.
    pub figure: Figure,
    /// Only this channel, kind, category, class or checkpoint: drills into a breakdown.
    pub channel: Option<String>,
    pub kind: Option<String>,
    pub category_code: Option<String>,
    pub matter_category: Option<String>,
    pub checkpoint: Option<String>,
    /// For a rate: numerator, denominator (default) or missed (in the denominator, not the
    /// numerator: the late, the dissatisfied, the unrated…).
    pub part: Option<Part>,
    pub org_unit_id: Option<Uuid>,
    pub granularity: Option<Granularity>,
    pub date: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// 1..=200, default 50.
    pub limit: Option<u64>,
    /// `next_cursor` of the page before.
    pub cursor: Option<Uuid>,
    /// json (default), or csv / xlsx: every petition behind the figure, streamed.
    pub format: Option<ExportFormat>,
}

/// A petition behind a figure, with the days the figures count on.
#[derive(Serialize, ToSchema)]
pub struct PetitionBehind {
    pub id: Uuid,
    pub tracking_no: String,
    pub title: String,
    pub channel: String,
    pub category_code: String,
    pub state: String,
    pub township_id: Uuid,
    pub handling_org_id: Option<Uuid>,
    pub registered_on: NaiveDate,
    pub dispose_due: Option<NaiveDate>,
    pub disposed_on: Option<NaiveDate>,
    pub acceptance_due: Option<NaiveDate>,
    pub acceptance_decided_on: Option<NaiveDate>,
    pub answer_due: Option<NaiveDate>,
    pub answered_on: Option<NaiveDate>,
    pub rating: Option<String>,
    pub next_deadline: Option<NaiveDate>,
}

impl From<&PetitionRow> for PetitionBehind {
    fn from(r: &PetitionRow) -> Self {
        Self {
            id: r.id,
            tracking_no: r.tracking_no.clone(),
            title: r.title.clone(),
            channel: r.channel.clone(),
            category_code: r.category_code.clone(),
            state: r.state.clone(),
            township_id: r.township_id,
            handling_org_id: r.handling_org_id,
            registered_on: r.registered_on,
            dispose_due: r.dispose_due,
            disposed_on: r.disposed_on,
            acceptance_due: r.acceptance_due,
            acceptance_decided_on: r.acceptance_decided_on,
            answer_due: r.answer_due,
            answered_on: r.answered_on,
            rating: r.rating.clone(),
            next_deadline: r.next_deadline,
        }
    }
}

const BEHIND_HEADER: &[&str] = &[
    "受理编号",
    "标题",
    "渠道",
    "类别",
    "状态",
    "登记日",
    "处理期限",
    "处理日",
    "告知期限",
    "告知日",
    "答复期限",
    "答复日",
    "评价",
    "当前期限",
];

fn behind_row(r: &PetitionRow) -> Vec<Cell> {
    let day = |d: Option<NaiveDate>| d.map_or(Cell::Empty, Cell::Date);
    vec![
        Cell::Text(r.tracking_no.clone()),
        Cell::Text(r.title.clone()),
        Cell::Text(r.channel.clone()),
        Cell::Text(r.category_code.clone()),
        Cell::Text(r.state.clone()),
        Cell::Date(r.registered_on),
        day(r.dispose_due),
        day(r.disposed_on),
        day(r.acceptance_due),
        day(r.acceptance_decided_on),
        day(r.answer_due),
        day(r.answered_on),
        r.rating.clone().map_or(Cell::Empty, Cell::Text),
        day(r.next_deadline),
    ]
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261003000012",
    "title": "村道路面破损请求维修", "channel": "online", "category_code": "transport", "state": "answered",
    "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "handling_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f62",
    "registered_on": "2026-08-03", "dispose_due": "2026-08-18", "disposed_on": "2026-08-05",
    "acceptance_due": "2026-08-20", "acceptance_decided_on": "2026-08-07", "answer_due": "2026-10-06",
    "answered_on": "2026-10-09", "rating": null, "next_deadline": null}], "next_cursor": null}))]
pub struct PetitionsBehindPage {
    pub items: Vec<PetitionBehind>,
    pub next_cursor: Option<Uuid>,
}

/// The petitions behind a figure: a rate's numerator, denominator or the missed ones, or a
/// count. The same conditions count the figure, so the list always adds up to it. Accusations
/// against the caller's own organisation are never listed.
#[utoipa::path(
    tag = "admin-statistics",
    operation_id = "listPetitionsBehindFigure",
    params(DrillDownQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A page of petitions (or all of them as CSV/XLSX, streamed)", content(
            (PetitionsBehindPage = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad range (`range_reversed`, `range_incomplete`, `range_too_long`) or a date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/statistics/petitions")]
pub async fn petitions_behind(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<DrillDownQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (scope, unit) = scope_of(&state, &staff, q.org_unit_id).await?;
    let period = period_of(q.granularity, q.date, q.from, q.to)?;
    let figure = q.figure.drill_down(q.part.unwrap_or(Part::Denominator));
    let narrowing = Narrowing {
        channel: q.channel,
        kind: q.kind,
        category_code: q.category_code,
        matter_category: q.matter_category,
        checkpoint: q.checkpoint,
    };
    let viewer = staff.scope();
    let due_soon = state.settings.petition.due_soon_days;
    let today = today();
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let db = state.db.clone();
        let name = unit.as_ref().map_or("全县".to_owned(), |u| u.name.clone());
        return exports::stream(
            format,
            &format!("信访明细_{name}_{}", period.label()),
            BEHIND_HEADER,
            move |after: Option<Uuid>| {
                let (db, scope, viewer, narrowing) =
                    (db.clone(), scope.clone(), viewer.clone(), narrowing.clone());
                async move {
                    let rows = store::petitions_behind(
                        &db, &scope, &viewer, period, today, due_soon, figure, &narrowing, 500,
                        after,
                    )
                    .await?;
                    let next = (rows.len() == 500)
                        .then(|| rows.last().map(|r| r.id))
                        .flatten();
                    Ok((rows.iter().map(behind_row).collect(), next))
                }
            },
        );
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let mut rows = store::petitions_behind(
        &state.db,
        &scope,
        &viewer,
        period,
        today,
        due_soon,
        figure,
        &narrowing,
        limit + 1,
        q.cursor,
    )
    .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(HttpResponse::Ok().json(PetitionsBehindPage {
        next_cursor: if more {
            rows.last().map(|r| r.id)
        } else {
            None
        },
        items: rows.iter().map(PetitionBehind::from).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnitsQuery {
    pub granularity: Option<Granularity>,
    pub date: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// json (default), csv or xlsx.
    pub format: Option<ExportFormat>,
}

/// One township's main figures.
#[derive(Serialize, ToSchema)]
pub struct UnitRow {
    pub org_unit_id: Uuid,
    pub name: String,
    pub registered: u64,
    pub online_share: Option<f64>,
    pub on_time_disposal: Option<f64>,
    pub on_time_acceptance: Option<f64>,
    pub on_time_answer: Option<f64>,
    pub satisfaction: Option<f64>,
    pub return_rate: Option<f64>,
    pub reopen_rate: Option<f64>,
    pub escalations: u64,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-10-01", "to": "2026-10-31"}, "units": [{"org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "name": "城关镇", "registered": 42, "online_share": 0.71, "on_time_disposal": 1.0, "on_time_acceptance": 0.95, "on_time_answer": 0.9,
    "satisfaction": 0.92, "return_rate": 0.02, "reopen_rate": 0.0, "escalations": 1}]}))]
pub struct UnitsView {
    pub period: Period,
    pub units: Vec<UnitRow>,
}

/// The main figures of every township and street side by side, for a period.
#[utoipa::path(
    tag = "admin-statistics",
    operation_id = "compareTownshipFigures",
    params(UnitsQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "One row per township or street (or CSV/XLSX)", content(
            (UnitsView = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 422, description = "A bad range, or a date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/statistics/townships")]
pub async fn townships(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<UnitsQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&READERS)?;
    let q = query.0;
    let period = period_of(q.granularity, q.date, q.from, q.to)?;
    // Only the units the caller's own subtree covers, counted as the caller may see them.
    let viewer = staff.scope();
    let units: Vec<_> = org::units_of_kinds(&state.db, &[OrgKind::Township, OrgKind::Street])
        .await?
        .into_iter()
        .filter(|u| viewer.covers(&u.2))
        .collect();
    let (per_unit, _) = store::township_month(&state.db, &viewer, &units, period, today()).await?;
    let rows: Vec<UnitRow> = per_unit
        .iter()
        .map(|u| UnitRow {
            org_unit_id: u.org_id,
            name: u.name.clone(),
            registered: u.counts.registered,
            online_share: u.counts.rate(Metric::OnlineShare).value,
            on_time_disposal: u.counts.rate(Metric::OnTimeDisposal).value,
            on_time_acceptance: u.counts.rate(Metric::OnTimeAcceptance).value,
            on_time_answer: u.counts.rate(Metric::OnTimeAnswer).value,
            satisfaction: u.counts.rate(Metric::Satisfaction).value,
            return_rate: u.counts.rate(Metric::ReturnRate).value,
            reopen_rate: u.counts.rate(Metric::ReopenRate).value,
            escalations: u.escalations,
        })
        .collect();
    let format = q.format.unwrap_or_default();
    if format != ExportFormat::Json {
        let table: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(r.name.clone()),
                    Cell::Int(i64::try_from(r.registered).unwrap_or(i64::MAX)),
                    Cell::Percent(r.online_share),
                    Cell::Percent(r.on_time_disposal),
                    Cell::Percent(r.on_time_acceptance),
                    Cell::Percent(r.on_time_answer),
                    Cell::Percent(r.satisfaction),
                    Cell::Percent(r.return_rate),
                    Cell::Percent(r.reopen_rate),
                    Cell::Int(i64::try_from(r.escalations).unwrap_or(i64::MAX)),
                ]
            })
            .collect();
        return exports::table(
            format,
            &format!("乡镇信访统计_{}", period.label()),
            &[
                "单位",
                "登记件数",
                "网信占比",
                "按期处理率",
                "按期告知率",
                "按期答复率",
                "满意率",
                "回退率",
                "重办率",
                "越级上访人次",
            ],
            &table,
        );
    }
    Ok(HttpResponse::Ok().json(UnitsView {
        period,
        units: rows,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    pub org_unit_id: Option<Uuid>,
    /// How many months, ending with the current one: 2..=36, default 12.
    pub months: Option<u32>,
    /// json (default), csv, xlsx or svg (a line chart for a slide).
    pub format: Option<ChartFormat>,
}

/// One month of the trend.
#[derive(Serialize, ToSchema)]
pub struct TrendPoint {
    pub month: String,
    pub registered: u64,
    pub online_share: Option<f64>,
    pub on_time_disposal: Option<f64>,
    pub on_time_acceptance: Option<f64>,
    pub on_time_answer: Option<f64>,
    pub satisfaction: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"org_unit_id": null, "months": [{"month": "2026-10", "registered": 120, "online_share": 0.7,
    "on_time_disposal": 0.98, "on_time_acceptance": 0.95, "on_time_answer": 0.91, "satisfaction": 0.9}]}))]
pub struct TrendView {
    pub org_unit_id: Option<Uuid>,
    pub months: Vec<TrendPoint>,
}

const TREND_METRICS: [(Metric, &str); 5] = [
    (Metric::OnlineShare, "网信占比"),
    (Metric::OnTimeDisposal, "按期处理率"),
    (Metric::OnTimeAcceptance, "按期告知率"),
    (Metric::OnTimeAnswer, "按期答复率"),
    (Metric::Satisfaction, "满意率"),
];

/// The main rates month by month.
#[utoipa::path(
    tag = "admin-statistics",
    operation_id = "getStatisticsTrend",
    params(TrendQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The months, oldest first (or CSV/XLSX, or an SVG line chart)", content(
            (TrendView = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "image/svg+xml")
        )),
        (status = 404, description = "No such organisation in the caller's scope (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`months` out of range (`invalid_months`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/statistics/trend")]
pub async fn trend(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<TrendQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (scope, unit) = scope_of(&state, &staff, q.org_unit_id).await?;
    let count = q.months.unwrap_or(12);
    if !(2..=36).contains(&count) {
        return Err(DomainError::invalid(
            "months",
            "invalid_months",
            Text::new("月数须在 2 至 36 之间", "months is 2 to 36"),
        )
        .into());
    }
    let today = today();
    let due_soon = state.settings.petition.due_soon_days;
    let mut points = Vec::new();
    for month in Period::months_ending(today, count) {
        let c =
            store::raw_counts(&state.db, &scope, &staff.scope(), month, today, due_soon).await?;
        points.push(TrendPoint {
            month: month.label(),
            registered: c.registered,
            online_share: c.rate(Metric::OnlineShare).value,
            on_time_disposal: c.rate(Metric::OnTimeDisposal).value,
            on_time_acceptance: c.rate(Metric::OnTimeAcceptance).value,
            on_time_answer: c.rate(Metric::OnTimeAnswer).value,
            satisfaction: c.rate(Metric::Satisfaction).value,
        });
    }
    let name = unit.as_ref().map_or("全县".to_owned(), |u| u.name.clone());
    let values = |p: &TrendPoint| {
        [
            p.online_share,
            p.on_time_disposal,
            p.on_time_acceptance,
            p.on_time_answer,
            p.satisfaction,
        ]
    };
    match q.format.unwrap_or_default() {
        ChartFormat::Svg => {
            let labels: Vec<String> = points.iter().map(|p| p.month.clone()).collect();
            let series: Vec<Series> = TREND_METRICS
                .iter()
                .enumerate()
                .map(|(i, (_, label))| Series {
                    name: (*label).to_owned(),
                    points: points.iter().map(|p| values(p)[i]).collect(),
                })
                .collect();
            Ok(exports::svg(line_chart_svg(
                &format!("{name}信访工作主要指标趋势"),
                &labels,
                &series,
            )))
        }
        ChartFormat::Json => Ok(HttpResponse::Ok().json(TrendView {
            org_unit_id: unit.map(|u| u.id),
            months: points,
        })),
        table => {
            let rows: Vec<Vec<Cell>> = points
                .iter()
                .map(|p| {
                    let mut row = vec![
                        Cell::Text(p.month.clone()),
                        Cell::Int(i64::try_from(p.registered).unwrap_or(i64::MAX)),
                    ];
                    row.extend(values(p).into_iter().map(Cell::Percent));
                    row
                })
                .collect();
            exports::table(
                table.table(),
                &format!("信访指标趋势_{name}"),
                &[
                    "月份",
                    "登记件数",
                    "网信占比",
                    "按期处理率",
                    "按期告知率",
                    "按期答复率",
                    "满意率",
                ],
                &rows,
            )
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlagsQuery {
    /// Any day of the month (default: today, the month so far).
    pub date: Option<NaiveDate>,
    /// json (default), csv, xlsx or svg (the ranking as a bar chart).
    pub format: Option<ChartFormat>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"month": {"from": "2026-10-01", "to": "2026-10-31"}, "final": true,
    "units": [{"org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "name": "城关镇", "score": 93.5, "rank": 1, "flag": "red",
      "terms": [{"metric": "on_time_answer", "weight": 25.0, "value": 0.9, "numerator": 9, "denominator": 10, "used": 0.9, "points": 22.5,
        "explanation": "按期答复率90.0%（9/10），越高越好，权重 25，得 22.50 分"}],
      "escalations": 0, "escalation_deduction": 0.0}],
    "notice": null, "scoring": {"terms": [{"metric": "on_time_answer", "weight": 25.0}], "escalation_penalty": 2.0, "escalation_cap": 20.0,
      "red_count": 3, "red_min_score": 85.0, "black_count": 2, "black_below": 60.0}}))]
pub struct FlagsView {
    pub month: Period,
    /// Kept after the month ended: the ranking announced. `false`: the month so far.
    #[serde(rename = "final")]
    #[schema(rename = "final")]
    pub is_final: bool,
    /// Best first, each score explained term by term.
    pub units: Vec<RankedUnit>,
    /// The county-wide notice naming the black-flag units, if any.
    pub notice: Option<String>,
    pub scoring: FlagScoring,
}

/// The monthly red/yellow/black flags of the townships and streets (红黄黑旗).
///
/// Each unit's score is 100 × Σ(weight × rate) / Σ weights, with rates where less is better
/// (returns, reopenings) counted as 1 − rate, less `escalation_penalty` per abnormal escalation
/// (at most `escalation_cap`). A unit with nothing to count on a term takes the county's rate.
/// The best `red_count` scoring at least `red_min_score` carry red; the worst `black_count` and
/// any under `black_below` carry black; the rest yellow. A month that is over is kept (by the
/// job after month end, or the first request) and never recomputed.
#[utoipa::path(
    tag = "admin-statistics",
    operation_id = "getMonthlyFlags",
    params(FlagsQuery),
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The ranking (or CSV/XLSX, or an SVG bar chart)", content(
            (FlagsView = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "image/svg+xml")
        )),
        (status = 422, description = "A date outside 2000 to 2100 (`date_out_of_range`)", body = Problem, content_type = "application/problem+json"))
)]
#[get("/statistics/flags")]
pub async fn flags(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<FlagsQuery>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&READERS)?;
    let q = query.0;
    let today = today();
    let day = day_param("date", q.date)?.unwrap_or(today);
    let ranking = crate::statistics::ranking(&state, day, today).await?;
    let label = ranking.month.label();
    match q.format.unwrap_or_default() {
        ChartFormat::Json => Ok(HttpResponse::Ok().json(FlagsView {
            month: ranking.month,
            is_final: ranking.is_final,
            units: ranking.units,
            notice: ranking.notice,
            scoring: ranking.scoring,
        })),
        ChartFormat::Svg => {
            let bars: Vec<Bar> = ranking
                .units
                .iter()
                .map(|u| Bar {
                    label: u.name.clone(),
                    value: u.score,
                    colour: match u.flag {
                        Flag::Red => BarColour::Red,
                        Flag::Yellow => BarColour::Yellow,
                        Flag::Black => BarColour::Black,
                    },
                    note: Some(u.flag.zh().to_owned()),
                })
                .collect();
            let status = if ranking.is_final {
                ""
            } else {
                "（截至目前）"
            };
            Ok(exports::svg(bar_chart_svg(
                &format!("{label} 乡镇（街道）信访工作红黄黑旗排名{status}"),
                &bars,
                "分",
            )))
        }
        table => {
            let rows: Vec<Vec<Cell>> = ranking
                .units
                .iter()
                .map(|u| {
                    vec![
                        Cell::Int(i64::from(u.rank)),
                        Cell::Text(u.name.clone()),
                        Cell::Number(u.score),
                        Cell::Text(u.flag.zh().to_owned()),
                        Cell::Int(i64::try_from(u.escalations).unwrap_or(i64::MAX)),
                        Cell::Number(u.escalation_deduction),
                        Cell::Text(
                            u.terms
                                .iter()
                                .map(|t| t.explanation.clone())
                                .collect::<Vec<_>>()
                                .join("；"),
                        ),
                    ]
                })
                .collect();
            exports::table(
                table.table(),
                &format!("红黄黑旗_{label}"),
                &[
                    "名次",
                    "单位",
                    "得分",
                    "旗帜",
                    "越级上访人次",
                    "扣分",
                    "得分说明",
                ],
                &rows,
            )
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"months": ["2026-10-01", "2026-09-01"]}))]
pub struct RankedMonths {
    /// First days of the months whose ranking is kept, newest first.
    pub months: Vec<NaiveDate>,
}

/// The months whose flags are kept (the history), newest first; each one is read with
/// `GET /api/v1/admin/statistics/flags?date=`.
#[utoipa::path(
    tag = "admin-statistics",
    operation_id = "listRankedMonths",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The months, newest first (at most 120)", body = RankedMonths))
)]
#[get("/statistics/flags/months")]
pub async fn ranked_months(
    state: web::Data<AppState>,
    staff: StaffUser,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&READERS)?;
    Ok(HttpResponse::Ok().json(RankedMonths {
        months: store::ranked_months(&state.db, 120).await?,
    }))
}
