//! The supervision figures, counted in the database: one pass over the petitions of a scope
//! and a period, each figure a conditional sum whose condition is written once here and serves
//! both the count and the drill-down to the petitions behind it.

use chrono::{Duration, NaiveDate, Utc};
use fengqiao_domain::calendar::day_start;
use fengqiao_domain::identity::OrgScope;
use fengqiao_domain::statistics::{
    Breakdowns, CountFigure, Figures, Flag, Metric, Part, Period, RankedUnit, RawCounts, TermScore,
    UnitFigures, WeeklyProgress,
};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{
    escalation, flag_ranking, org_unit, petition, petition_event, supervision_order,
};
use super::petitions::{NO_DEADLINE, PetitionRow, hide_accused};
use petition::Column as P;

/// Whose petitions: the county's, or those that happened in or are handled by a unit's subtree.
#[derive(Debug, Clone)]
pub enum Scope {
    County,
    /// The unit's materialised path.
    Subtree(String),
}

impl Scope {
    pub fn from_org(scope: &OrgScope) -> Self {
        match scope {
            OrgScope::All => Scope::County,
            OrgScope::Subtree(path) => Scope::Subtree(path.clone()),
        }
    }

    /// The condition on petitions. A subtree is resolved to its units first, so the database
    /// sees plain lists and can use the (unit, day) indexes on both columns.
    ///
    /// `viewer` is whose eyes the figures are for: accusations against the viewer's own
    /// organisation or one above it are neither counted nor listed, so no count can point at
    /// an accuser the lists hide.
    async fn condition(
        &self,
        db: &impl ConnectionTrait,
        viewer: &OrgScope,
    ) -> Result<Cond, StoreError> {
        Ok(Cond::all()
            .add(self.units(db).await?)
            .add(hide_accused(viewer)))
    }

    async fn units(&self, db: &impl ConnectionTrait) -> Result<Cond, StoreError> {
        // A county-level unit's subtree is the county: no list of every unit.
        let scope = match self {
            Scope::Subtree(path) if path.matches('/').count() <= 2 => &Scope::County,
            other => other,
        };
        match scope {
            // `version >= 0` always holds: it is the predicate of the county-wide index
            // (see the migration), stated here so that this query, and only this, can use it.
            Scope::County => Ok(Cond::all().add(P::Version.gte(0))),
            Scope::Subtree(path) => {
                let units: Vec<Uuid> = org_unit::Entity::find()
                    .select_only()
                    .column(org_unit::Column::Id)
                    .filter(org_unit::Column::Path.starts_with(path.as_str()))
                    .into_tuple()
                    .all(db)
                    .await?;
                Ok(Cond::any()
                    .add(P::TownshipId.is_in(units.clone()))
                    .add(P::HandlingOrgId.is_in(units)))
            }
        }
    }
}

fn units_under(path: &str) -> SelectStatement {
    Query::select()
        .column(org_unit::Column::Id)
        .from(org_unit::Entity)
        .and_where(org_unit::Column::Path.starts_with(path))
        .to_owned()
}

/// The day's column falls in the period.
fn within(col: P, period: Period) -> Cond {
    Cond::all()
        .add(col.gte(period.from))
        .add(col.lte(period.to))
}

/// An obligation due in the period that is met or past due; and of those, the ones met on
/// time.
fn on_time(due: P, done: P, period: Period, today: NaiveDate) -> (Cond, Cond) {
    let counted = within(due, period).add(Cond::any().add(done.is_not_null()).add(due.lt(today)));
    let met = within(due, period)
        .add(done.is_not_null())
        .add(Expr::col(done).lte(Expr::col(due)));
    (met, counted)
}

/// (numerator, denominator) of a metric, as conditions; see `Metric::definition`.
pub fn sides(metric: Metric, period: Period, today: NaiveDate) -> (Cond, Cond) {
    let registered = || within(P::RegisteredOn, period);
    let answered = || within(P::AnsweredOn, period);
    let first_answered = || within(P::FirstAnsweredOn, period);
    match metric {
        Metric::OnlineShare => (
            registered().add(P::Channel.is_in(["online", "open311"])),
            registered(),
        ),
        Metric::RepeatRate => (registered().add(P::RepeatOf.is_not_null()), registered()),
        Metric::OnTimeDisposal => on_time(P::DisposeDue, P::DisposedOn, period, today),
        Metric::OnTimeAcceptance => {
            on_time(P::AcceptanceDue, P::AcceptanceDecidedOn, period, today)
        }
        Metric::OnTimeAnswer => on_time(P::AnswerDue, P::AnsweredOn, period, today),
        Metric::Satisfaction => {
            let rated = answered().add(P::Rating.is_not_null());
            (
                rated
                    .clone()
                    .add(P::Rating.is_in(["satisfied", "basically_satisfied"])),
                rated,
            )
        }
        Metric::RatingParticipation => {
            let rateable = answered().add(P::Rateable.eq(true));
            (rateable.clone().add(P::Rating.is_not_null()), rateable)
        }
        Metric::ReturnRate => (
            within(P::DisposedOn, period).add(P::ReturnCount.gt(0)),
            within(P::DisposedOn, period).add(
                Cond::any()
                    .add(P::SentOn.is_not_null())
                    .add(P::ReturnCount.gt(0)),
            ),
        ),
        Metric::ReopenRate => (first_answered().add(P::ReopenCount.gt(0)), first_answered()),
        Metric::ReviewRate => (
            first_answered().add(P::ReviewRequestedOn.is_not_null()),
            first_answered(),
        ),
        Metric::ReReviewRate => {
            let decided = within(P::ReviewDecidedOn, period);
            (
                decided.clone().add(P::RereviewRequestedOn.is_not_null()),
                decided,
            )
        }
    }
}

/// The open obligations as of today, by how they stand.
fn snapshot(figure: CountFigure, today: NaiveDate, due_soon_days: u32) -> Cond {
    // Equivalent to a next deadline being set (the work list's sort key stands in for "none"),
    // and served by the (unit, sort_deadline) and work-list indexes.
    let open = Cond::all().add(P::SortDeadline.lt(NO_DEADLINE));
    match figure {
        CountFigure::Open => open,
        CountFigure::DueSoon => open
            .add(P::NextDeadline.gte(today))
            .add(P::NextDeadline.lte(today + Duration::days(i64::from(due_soon_days)))),
        CountFigure::Overdue => open.add(P::NextDeadline.lt(today)),
        CountFigure::Registered | CountFigure::Answered => Cond::all(),
    }
}

/// Petitions that can count in the period: registered by its end, relevant since its start
/// (every figure's day lies between the two).
fn may_count(period: Period) -> Cond {
    Cond::all()
        .add(P::RegisteredOn.lte(period.to))
        .add(P::RelevantUntil.gte(period.from))
}

fn count_if(cond: Cond) -> Expr {
    Func::sum(Expr::case(cond, 1).finally(0)).into()
}

#[derive(Debug, FromQueryResult)]
struct SumsRow {
    group_id: Option<Uuid>,
    channel: Option<String>,
    kind: Option<String>,
    category_code: Option<String>,
    matter_category: Option<String>,
    checkpoint: Option<String>,
    registered: Option<i64>,
    online: Option<i64>,
    repeats: Option<i64>,
    disposal_due: Option<i64>,
    disposal_on_time: Option<i64>,
    acceptance_due: Option<i64>,
    acceptance_on_time: Option<i64>,
    answer_due: Option<i64>,
    answer_on_time: Option<i64>,
    answered: Option<i64>,
    answered_rateable: Option<i64>,
    rated: Option<i64>,
    satisfied: Option<i64>,
    sent: Option<i64>,
    returned: Option<i64>,
    first_answered: Option<i64>,
    reopened: Option<i64>,
    review_requested: Option<i64>,
    review_decided: Option<i64>,
    rereview_requested: Option<i64>,
}

fn n(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

impl SumsRow {
    fn counts(&self) -> RawCounts {
        RawCounts {
            registered: n(self.registered),
            online: n(self.online),
            repeats: n(self.repeats),
            disposal_due: n(self.disposal_due),
            disposal_on_time: n(self.disposal_on_time),
            acceptance_due: n(self.acceptance_due),
            acceptance_on_time: n(self.acceptance_on_time),
            answer_due: n(self.answer_due),
            answer_on_time: n(self.answer_on_time),
            answered: n(self.answered),
            answered_rateable: n(self.answered_rateable),
            rated: n(self.rated),
            satisfied: n(self.satisfied),
            sent: n(self.sent),
            returned: n(self.returned),
            first_answered: n(self.first_answered),
            reopened: n(self.reopened),
            review_requested: n(self.review_requested),
            review_decided: n(self.review_decided),
            rereview_requested: n(self.rereview_requested),
            open: 0,
            due_soon: 0,
            overdue: 0,
        }
    }
}

/// The period's sums, per township when `by_township`, else for the whole scope.
/// How the period's sums are grouped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grouping {
    /// One row.
    Total,
    /// A row per township.
    Township,
    /// A row per (channel, kind, category, class, checkpoint): the sums and the breakdowns in
    /// one pass.
    Dimensions,
}

const DIMENSIONS: [(P, &str); 5] = [
    (P::Channel, "channel"),
    (P::Kind, "kind"),
    (P::CategoryCode, "category_code"),
    (P::MatterCategory, "matter_category"),
    (P::Checkpoint, "checkpoint"),
];

fn sums_query(
    scope: Cond,
    period: Period,
    today: NaiveDate,
    grouping: Grouping,
) -> sea_orm::Select<petition::Entity> {
    let side = |m: Metric| sides(m, period, today);
    let mut q = petition::Entity::find()
        .select_only()
        .filter(scope)
        .filter(may_count(period));
    q = match grouping {
        Grouping::Township => q
            .column_as(P::TownshipId, "group_id")
            .group_by(P::TownshipId),
        _ => q.column_as(Expr::val(Option::<Uuid>::None), "group_id"),
    };
    for (column, name) in DIMENSIONS {
        q = if grouping == Grouping::Dimensions {
            q.column_as(column, name).group_by(column)
        } else {
            q.column_as(Expr::val(Option::<String>::None), name)
        };
    }
    let (online, registered) = side(Metric::OnlineShare);
    let (repeats, _) = side(Metric::RepeatRate);
    let (disposal_on_time, disposal_due) = side(Metric::OnTimeDisposal);
    let (acceptance_on_time, acceptance_due) = side(Metric::OnTimeAcceptance);
    let (answer_on_time, answer_due) = side(Metric::OnTimeAnswer);
    let (satisfied, rated) = side(Metric::Satisfaction);
    let (_, answered_rateable) = side(Metric::RatingParticipation);
    let (returned, sent) = side(Metric::ReturnRate);
    let (reopened, first_answered) = side(Metric::ReopenRate);
    let (review_requested, _) = side(Metric::ReviewRate);
    let (rereview_requested, review_decided) = side(Metric::ReReviewRate);
    for (name, cond) in [
        ("registered", registered),
        ("online", online),
        ("repeats", repeats),
        ("disposal_due", disposal_due),
        ("disposal_on_time", disposal_on_time),
        ("acceptance_due", acceptance_due),
        ("acceptance_on_time", acceptance_on_time),
        ("answer_due", answer_due),
        ("answer_on_time", answer_on_time),
        ("answered", within(P::AnsweredOn, period)),
        ("answered_rateable", answered_rateable),
        ("rated", rated),
        ("satisfied", satisfied),
        ("sent", sent),
        ("returned", returned),
        ("first_answered", first_answered),
        ("reopened", reopened),
        ("review_requested", review_requested),
        ("review_decided", review_decided),
        ("rereview_requested", rereview_requested),
    ] {
        q = q.column_as(count_if(cond), name);
    }
    q
}

#[derive(Debug, FromQueryResult)]
struct SnapshotRow {
    open: Option<i64>,
    due_soon: Option<i64>,
    overdue: Option<i64>,
}

async fn snapshot_counts(
    db: &impl ConnectionTrait,
    in_scope: &Cond,
    today: NaiveDate,
    due_soon_days: u32,
) -> Result<(u64, u64, u64), StoreError> {
    let row = petition::Entity::find()
        .select_only()
        .filter(in_scope.clone())
        .filter(P::SortDeadline.lt(NO_DEADLINE))
        .column_as(
            count_if(snapshot(CountFigure::Open, today, due_soon_days)),
            "open",
        )
        .column_as(
            count_if(snapshot(CountFigure::DueSoon, today, due_soon_days)),
            "due_soon",
        )
        .column_as(
            count_if(snapshot(CountFigure::Overdue, today, due_soon_days)),
            "overdue",
        )
        .into_model::<SnapshotRow>()
        .one(db)
        .await?;
    Ok(row.map_or((0, 0, 0), |r| (n(r.open), n(r.due_soon), n(r.overdue))))
}

/// The counters of one scope and period.
pub async fn raw_counts(
    db: &impl ConnectionTrait,
    scope: &Scope,
    viewer: &OrgScope,
    period: Period,
    today: NaiveDate,
    due_soon_days: u32,
) -> Result<RawCounts, StoreError> {
    let in_scope = scope.condition(db, viewer).await?;
    let row = sums_query(in_scope.clone(), period, today, Grouping::Total)
        .into_model::<SumsRow>()
        .one(db)
        .await?;
    let mut counts = row.map(|r| r.counts()).unwrap_or_default();
    (counts.open, counts.due_soon, counts.overdue) =
        snapshot_counts(db, &in_scope, today, due_soon_days).await?;
    Ok(counts)
}

#[derive(Debug, FromQueryResult)]
struct DaysRow {
    days: Option<i32>,
    petitions: Option<i64>,
}

/// Everything a dashboard shows for one scope and period: three queries, run at once on
/// their own connections.
pub async fn figures(
    db: &impl ConnectionTrait,
    scope: &Scope,
    viewer: &OrgScope,
    period: Period,
    today: NaiveDate,
    due_soon_days: u32,
) -> Result<Figures, StoreError> {
    let in_scope = scope.condition(db, viewer).await?;
    let sums = sums_query(in_scope.clone(), period, today, Grouping::Dimensions)
        .into_model::<SumsRow>()
        .all(db);
    let snapshot = snapshot_counts(db, &in_scope, today, due_soon_days);
    let histogram = petition::Entity::find()
        .select_only()
        .column_as(P::DaysToAnswer, "days")
        .column_as(Expr::from(Func::count(Expr::col(P::Id))), "petitions")
        .filter(in_scope.clone())
        .filter(may_count(period))
        .filter(within(P::AnsweredOn, period))
        .filter(P::DaysToAnswer.is_not_null())
        .group_by(P::DaysToAnswer)
        .into_model::<DaysRow>()
        .all(db);
    let (groups, (open, due_soon, overdue), histogram) = tokio::try_join!(
        async { Ok::<_, StoreError>(sums.await?) },
        snapshot,
        async { Ok::<_, StoreError>(histogram.await?) }
    )?;
    let mut counts = RawCounts::default();
    let mut breakdowns = Breakdowns::default();
    for g in &groups {
        let c = g.counts();
        counts.add(&c);
        if c.registered == 0 {
            continue;
        }
        for (map, key) in [
            (&mut breakdowns.by_channel, &g.channel),
            (&mut breakdowns.by_kind, &g.kind),
            (&mut breakdowns.by_category, &g.category_code),
            (&mut breakdowns.by_class, &g.matter_category),
            (&mut breakdowns.by_checkpoint, &g.checkpoint),
        ] {
            *map.entry(key.clone().unwrap_or_default()).or_default() += c.registered;
        }
    }
    (counts.open, counts.due_soon, counts.overdue) = (open, due_soon, overdue);
    let histogram: Vec<(i64, u64)> = histogram
        .into_iter()
        .filter_map(|r| Some((i64::from(r.days?), n(r.petitions))))
        .collect();
    Ok(Figures::new(period, &counts, breakdowns, &histogram))
}

/// Narrows a drill-down to one value of the breakdowns (a channel, a kind…), so each breakdown
/// figure can be drilled into too.
#[derive(Debug, Clone, Default)]
pub struct Narrowing {
    pub channel: Option<String>,
    pub kind: Option<String>,
    pub category_code: Option<String>,
    pub matter_category: Option<String>,
    pub checkpoint: Option<String>,
}

impl Narrowing {
    fn condition(&self) -> Cond {
        let mut c = Cond::all();
        for (column, value) in [
            (P::Channel, &self.channel),
            (P::Kind, &self.kind),
            (P::CategoryCode, &self.category_code),
            (P::MatterCategory, &self.matter_category),
            (P::Checkpoint, &self.checkpoint),
        ] {
            if let Some(v) = value {
                c = c.add(column.eq(v.as_str()));
            }
        }
        c
    }
}

/// What to list in a drill-down.
#[derive(Debug, Clone, Copy)]
pub enum DrillDown {
    Rate(Metric, Part),
    Count(CountFigure),
}

/// The petitions behind a figure, by id, `limit` after `after`. `viewer` hides accusations of
/// the viewer's own organisation or one above it, as the work list does.
#[allow(clippy::too_many_arguments)]
pub async fn petitions_behind(
    db: &impl ConnectionTrait,
    scope: &Scope,
    viewer: &OrgScope,
    period: Period,
    today: NaiveDate,
    due_soon_days: u32,
    figure: DrillDown,
    narrowing: &Narrowing,
    limit: u64,
    after: Option<Uuid>,
) -> Result<Vec<PetitionRow>, StoreError> {
    let condition = match figure {
        DrillDown::Rate(metric, part) => {
            let (numerator, denominator) = sides(metric, period, today);
            match part {
                Part::Numerator => numerator,
                Part::Denominator => denominator,
                Part::Missed => denominator.add(numerator.not()),
            }
        }
        DrillDown::Count(CountFigure::Registered) => within(P::RegisteredOn, period),
        DrillDown::Count(CountFigure::Answered) => {
            within(P::AnsweredOn, period).add(P::DaysToAnswer.is_not_null())
        }
        DrillDown::Count(count) => snapshot(count, today, due_soon_days),
    };
    let mut q = petition::Entity::find()
        .filter(scope.condition(db, viewer).await?)
        .filter(condition)
        .filter(narrowing.condition());
    if !matches!(
        figure,
        DrillDown::Count(CountFigure::Open | CountFigure::DueSoon | CountFigure::Overdue)
    ) {
        q = q.filter(may_count(period));
    }
    if let Some(after) = after {
        q = q.filter(P::Id.gt(after));
    }
    Ok(q.order_by_asc(P::Id).limit(limit).all(db).await?)
}

/// The month's figures of every township, with the county's for units without data.
pub async fn township_month(
    db: &impl ConnectionTrait,
    viewer: &OrgScope,
    townships: &[(Uuid, String, String)],
    month: Period,
    today: NaiveDate,
) -> Result<(Vec<UnitFigures>, RawCounts), StoreError> {
    let ids: Vec<Uuid> = townships.iter().map(|t| t.0).collect();
    let rows = sums_query(
        Scope::County.condition(db, viewer).await?,
        month,
        today,
        Grouping::Township,
    )
    .filter(P::TownshipId.is_in(ids))
    .into_model::<SumsRow>()
    .all(db)
    .await?;
    let county = sums_query(
        Scope::County.condition(db, viewer).await?,
        month,
        today,
        Grouping::Total,
    )
    .into_model::<SumsRow>()
    .one(db)
    .await?
    .map(|r| r.counts())
    .unwrap_or_default();
    let escalations = escalations_by_unit(db, townships, month).await?;
    let units = townships
        .iter()
        .map(|(id, name, _)| UnitFigures {
            org_id: *id,
            name: name.clone(),
            counts: rows
                .iter()
                .find(|r| r.group_id == Some(*id))
                .map(SumsRow::counts)
                .unwrap_or_default(),
            escalations: escalations.iter().find(|e| e.0 == *id).map_or(0, |e| e.1),
        })
        .collect();
    Ok((units, county))
}

#[derive(Debug, FromQueryResult)]
struct EscalationCountRow {
    path: String,
    escalations: Option<i64>,
}

/// Escalations in the period per unit of `units` (id, name, path), counting those whose home
/// organisation lies anywhere under the unit.
pub async fn escalations_by_unit(
    db: &impl ConnectionTrait,
    units: &[(Uuid, String, String)],
    period: Period,
) -> Result<Vec<(Uuid, u64)>, StoreError> {
    let rows = escalation::Entity::find()
        .select_only()
        .column_as(org_unit::Column::Path, "path")
        .column_as(
            Expr::from(Func::count(Expr::col((
                escalation::Entity,
                escalation::Column::Id,
            )))),
            "escalations",
        )
        .join(
            sea_orm::JoinType::InnerJoin,
            escalation::Entity::belongs_to(org_unit::Entity)
                .from(escalation::Column::HomeOrgId)
                .to(org_unit::Column::Id)
                .into(),
        )
        .filter(escalation::Column::OccurredOn.gte(period.from))
        .filter(escalation::Column::OccurredOn.lte(period.to))
        .group_by(org_unit::Column::Path)
        .into_model::<EscalationCountRow>()
        .all(db)
        .await?;
    Ok(units
        .iter()
        .map(|(id, _, path)| {
            let total = rows
                .iter()
                .filter(|r| r.path.starts_with(path.as_str()))
                .map(|r| n(r.escalations))
                .sum();
            (*id, total)
        })
        .collect())
}

/// A stored monthly ranking, best first; empty when none was stored for the month.
pub async fn stored_ranking(
    db: &impl ConnectionTrait,
    month: NaiveDate,
    names: &[(Uuid, String, String)],
) -> Result<Vec<RankedUnit>, StoreError> {
    let rows = flag_ranking::Entity::find()
        .filter(flag_ranking::Column::Month.eq(month))
        .order_by_asc(flag_ranking::Column::Rank)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let terms: StoredTerms = serde_json::from_str(&r.terms)
                .map_err(|e| StoreError::Corrupt(format!("flag_rankings.terms: {e}")))?;
            Ok(RankedUnit {
                org_id: r.org_id,
                name: names
                    .iter()
                    .find(|n| n.0 == r.org_id)
                    .map(|n| n.1.clone())
                    .unwrap_or_default(),
                score: r.score,
                rank: u32::try_from(r.rank).unwrap_or(u32::MAX),
                flag: super::petitions::parse_text::<Flag>("flag_rankings.flag", &r.flag)?,
                terms: terms.terms,
                escalations: terms.escalations,
                escalation_deduction: terms.escalation_deduction,
            })
        })
        .collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTerms {
    terms: Vec<TermScore>,
    escalations: u64,
    escalation_deduction: f64,
}

/// Keeps a month's final ranking. Inserting the same month twice keeps the first: the ranking
/// a month was announced with does not change under it.
pub async fn store_ranking(
    db: &impl ConnectionTrait,
    month: NaiveDate,
    ranked: &[RankedUnit],
) -> Result<bool, StoreError> {
    let exists = flag_ranking::Entity::find()
        .filter(flag_ranking::Column::Month.eq(month))
        .one(db)
        .await?
        .is_some();
    if exists || ranked.is_empty() {
        return Ok(false);
    }
    let now = Utc::now();
    let rows = ranked
        .iter()
        .map(|r| {
            let terms = serde_json::to_string(&StoredTerms {
                terms: r.terms.clone(),
                escalations: r.escalations,
                escalation_deduction: r.escalation_deduction,
            })
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(flag_ranking::ActiveModel {
                month: Set(month),
                org_id: Set(r.org_id),
                score: Set(r.score),
                rank: Set(i32::try_from(r.rank).unwrap_or(i32::MAX)),
                flag: Set(super::petitions::text_of(&r.flag)),
                terms: Set(terms),
                computed_at: Set(now),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    flag_ranking::Entity::insert_many(rows)
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    Ok(true)
}

/// The months that have a stored ranking, newest first.
pub async fn ranked_months(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<NaiveDate>, StoreError> {
    Ok(flag_ranking::Entity::find()
        .select_only()
        .column(flag_ranking::Column::Month)
        .distinct()
        .order_by_desc(flag_ranking::Column::Month)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    c: Option<i64>,
}

async fn count(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<impl EntityTrait>,
) -> Result<u64, StoreError> {
    Ok(q.select_only()
        .column_as(Expr::cust("COUNT(*)"), "c")
        .into_model::<CountRow>()
        .one(db)
        .await?
        .map_or(0, |r| n(r.c)))
}

/// How many distinct petitions the events are of.
async fn petitions_of(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<petition_event::Entity>,
) -> Result<u64, StoreError> {
    Ok(q.select_only()
        .column_as(
            Expr::cust("COUNT(DISTINCT petition_events.petition_id)"),
            "c",
        )
        .into_model::<CountRow>()
        .one(db)
        .await?
        .map_or(0, |r| n(r.c)))
}

/// The week's progress of one scope (一周一推进).
pub async fn weekly_progress(
    db: &impl ConnectionTrait,
    scope: &Scope,
    viewer: &OrgScope,
    week: Period,
    today: NaiveDate,
    due_soon_days: u32,
) -> Result<WeeklyProgress, StoreError> {
    let counts = raw_counts(db, scope, viewer, week, today, due_soon_days).await?;
    // The week in instants: from its first local midnight to the one after its last day.
    let week_start = day_start(week.from);
    let week_end = day_start(week.to + Duration::days(1));
    let in_scope = scope.condition(db, viewer).await?;
    let events_in_week = |names: &'static [&'static str]| {
        petition_event::Entity::find()
            .filter(petition_event::Column::Event.is_in(names.iter().copied()))
            .filter(petition_event::Column::At.gte(week_start))
            .filter(petition_event::Column::At.lt(week_end))
            .filter(
                petition_event::Column::PetitionId.in_subquery(
                    petition::Entity::find()
                        .select_only()
                        .column(P::Id)
                        .filter(in_scope.clone())
                        .into_query(),
                ),
            )
    };
    // Petitions disposed of in the week (a re-forwarding after a return is the same one).
    let disposed = petitions_of(
        db,
        events_in_week(&[
            "forwarded",
            "assigned",
            "handed_down",
            "diverted",
            "not_accepted",
        ])
        .filter(petition_event::Column::FromState.eq("registered")),
    )
    .await?;
    let accepted = count(db, events_in_week(&["accepted"])).await?;
    let closed = count(db, events_in_week(&["closed"])).await?;
    let orders = |q: sea_orm::Select<supervision_order::Entity>| {
        q.filter(
            supervision_order::Column::PetitionId.in_subquery(
                petition::Entity::find()
                    .select_only()
                    .column(P::Id)
                    .filter(in_scope.clone())
                    .into_query(),
            ),
        )
    };
    let orders_issued = count(
        db,
        orders(supervision_order::Entity::find())
            .filter(supervision_order::Column::CreatedAt.gte(week_start))
            .filter(supervision_order::Column::CreatedAt.lt(week_end)),
    )
    .await?;
    let orders_replied = count(
        db,
        orders(supervision_order::Entity::find())
            .filter(supervision_order::Column::RepliedAt.gte(week_start))
            .filter(supervision_order::Column::RepliedAt.lt(week_end)),
    )
    .await?;
    let orders_open_overdue = count(
        db,
        orders(supervision_order::Entity::find())
            .filter(supervision_order::Column::RepliedAt.is_null())
            .filter(supervision_order::Column::DueOn.lt(today)),
    )
    .await?;
    let escalations = match scope {
        Scope::County => {
            count(
                db,
                escalation::Entity::find()
                    .filter(escalation::Column::OccurredOn.gte(week.from))
                    .filter(escalation::Column::OccurredOn.lte(week.to)),
            )
            .await?
        }
        Scope::Subtree(path) => {
            count(
                db,
                escalation::Entity::find()
                    .filter(escalation::Column::OccurredOn.gte(week.from))
                    .filter(escalation::Column::OccurredOn.lte(week.to))
                    .filter(escalation::Column::HomeOrgId.in_subquery(units_under(path))),
            )
            .await?
        }
    };
    Ok(WeeklyProgress {
        registered: counts.registered,
        disposed,
        accepted,
        answered: counts.answered,
        closed,
        open: counts.open,
        due_soon: counts.due_soon,
        overdue: counts.overdue,
        orders_issued,
        orders_replied,
        orders_open_overdue,
        escalations,
    })
}

/// Due-soon or overdue petitions of a scope, soonest deadline first; only a leader's owned
/// cases when `owner` is given.
#[allow(clippy::too_many_arguments)]
pub async fn deadlines(
    db: &impl ConnectionTrait,
    scope: &Scope,
    viewer: &OrgScope,
    figure: CountFigure,
    owner: Option<Uuid>,
    today: NaiveDate,
    due_soon_days: u32,
    limit: u64,
) -> Result<Vec<PetitionRow>, StoreError> {
    let mut q = petition::Entity::find()
        .filter(scope.condition(db, viewer).await?)
        .filter(snapshot(figure, today, due_soon_days));
    if let Some(owner) = owner {
        q = q.filter(P::OwnerLeaderId.eq(owner));
    }
    Ok(q.order_by_asc(P::NextDeadline)
        .order_by_asc(P::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Leaders' owned cases (包案) in a scope, soonest deadline first.
pub async fn owned_cases(
    db: &impl ConnectionTrait,
    scope: &Scope,
    viewer: &OrgScope,
    leader: Option<Uuid>,
    limit: u64,
) -> Result<Vec<PetitionRow>, StoreError> {
    let mut q = petition::Entity::find()
        .filter(scope.condition(db, viewer).await?)
        .filter(P::OwnerLeaderId.is_not_null());
    if let Some(leader) = leader {
        q = q.filter(P::OwnerLeaderId.eq(leader));
    }
    Ok(q.order_by_asc(P::SortDeadline)
        .order_by_asc(P::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Supervision orders on a scope's petitions, oldest due first, with their petitions.
pub async fn orders(
    db: &impl ConnectionTrait,
    scope: &Scope,
    viewer: &OrgScope,
    open_only: bool,
    limit: u64,
) -> Result<Vec<(supervision_order::Model, PetitionRow)>, StoreError> {
    let mut q = supervision_order::Entity::find().filter(
        supervision_order::Column::PetitionId.in_subquery(
            petition::Entity::find()
                .select_only()
                .column(P::Id)
                .filter(scope.condition(db, viewer).await?)
                .into_query(),
        ),
    );
    if open_only {
        q = q.filter(supervision_order::Column::RepliedAt.is_null());
    }
    let orders = q
        .order_by_asc(supervision_order::Column::DueOn)
        .order_by_asc(supervision_order::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = orders.iter().map(|o| o.petition_id).collect();
    let petitions = petition::Entity::find()
        .filter(P::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(orders
        .into_iter()
        .filter_map(|o| {
            let p = petitions.iter().find(|p| p.id == o.petition_id)?.clone();
            Some((o, p))
        })
        .collect())
}
