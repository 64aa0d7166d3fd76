//! Abnormal escalations (越级上访、非正常上访) and the weekly watch kept per week.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fengqiao_domain::statistics::{Period, WatchEntry, WeekCounts};
use fengqiao_domain::{DomainError, Text};
use sea_orm::sea_query::{Cond, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{escalation, escalation_week, org_unit};
use super::statistics::{Scope, escalations_by_unit};

pub type EscalationRow = escalation::Model;
pub type WeekRow = escalation_week::Model;

/// An escalation to record; the person's name and ID number come sealed.
pub struct NewEscalation {
    pub occurred_on: NaiveDate,
    pub level: String,
    pub person_name: String,
    pub person_id_number: Option<String>,
    pub home_org_id: Uuid,
    pub registered_petition: bool,
    pub petition_id: Option<Uuid>,
    pub note: Option<String>,
    pub recorded_by_kind: &'static str,
    pub recorded_by: String,
    pub external_id: Option<String>,
    pub now: DateTime<Utc>,
}

/// Records an escalation; `false` with the first record when the recorder already sent this
/// external id (a retry, or the same case sent twice).
pub async fn record(
    db: &impl ConnectionTrait,
    e: NewEscalation,
) -> Result<(EscalationRow, bool), StoreError> {
    if let Some(existing) = by_external_id(db, &e.recorded_by, e.external_id.as_deref()).await? {
        return Ok((existing, false));
    }
    let recorded_by = e.recorded_by.clone();
    let external_id = e.external_id.clone();
    let id = Uuid::now_v7();
    // ON CONFLICT DO NOTHING: a concurrent delivery of the same external id neither fails nor
    // aborts the surrounding transaction (PostgreSQL would, on a unique violation).
    let inserted = escalation::Entity::insert(escalation::ActiveModel {
        id: Set(id),
        occurred_on: Set(e.occurred_on),
        level: Set(e.level),
        person_name: Set(e.person_name),
        person_id_number: Set(e.person_id_number),
        home_org_id: Set(e.home_org_id),
        registered_petition: Set(e.registered_petition),
        petition_id: Set(e.petition_id),
        note: Set(e.note),
        recorded_by_kind: Set(e.recorded_by_kind.to_owned()),
        recorded_by: Set(e.recorded_by),
        external_id: Set(e.external_id),
        created_at: Set(e.now),
    })
    .on_conflict(
        OnConflict::columns([
            escalation::Column::RecordedBy,
            escalation::Column::ExternalId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 0 {
        return by_external_id(db, &recorded_by, external_id.as_deref())
            .await?
            .map(|first| (first, false))
            .ok_or_else(|| StoreError::Corrupt("an escalation conflicted with nothing".into()));
    }
    Ok((get(db, id).await?, true))
}

async fn by_external_id(
    db: &impl ConnectionTrait,
    recorded_by: &str,
    external_id: Option<&str>,
) -> Result<Option<EscalationRow>, StoreError> {
    let Some(external_id) = external_id else {
        return Ok(None);
    };
    Ok(escalation::Entity::find()
        .filter(escalation::Column::RecordedBy.eq(recorded_by))
        .filter(escalation::Column::ExternalId.eq(external_id))
        .one(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<EscalationRow, StoreError> {
    escalation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| {
            DomainError::NotFound {
                code: "escalation_not_found",
                message: Text::new("越级上访记录不存在", "no such escalation record"),
            }
            .into()
        })
}

/// Escalations in the period whose home organisation lies in `scope`, newest first, `limit`
/// after `after` (id).
pub async fn list(
    db: &impl ConnectionTrait,
    scope: &Scope,
    period: Period,
    limit: u64,
    after: Option<Uuid>,
) -> Result<Vec<EscalationRow>, StoreError> {
    let mut q = escalation::Entity::find()
        .filter(escalation::Column::OccurredOn.gte(period.from))
        .filter(escalation::Column::OccurredOn.lte(period.to));
    if let Scope::Subtree(path) = scope {
        q = q.filter(
            Cond::all().add(
                escalation::Column::HomeOrgId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(org_unit::Column::Id)
                        .from(org_unit::Entity)
                        .and_where(org_unit::Column::Path.starts_with(path.as_str()))
                        .to_owned(),
                ),
            ),
        );
    }
    if let Some(after) = after {
        q = q.filter(escalation::Column::Id.lt(after));
    }
    Ok(q.order_by_desc(escalation::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Per week, oldest first, the escalations of each unit (counting its whole subtree), for the
/// `weeks` weeks ending with the one starting `last_week`.
pub async fn weekly_counts(
    db: &impl ConnectionTrait,
    units: &[(Uuid, String, String)],
    last_week: NaiveDate,
    weeks: u32,
) -> Result<Vec<WeekCounts>, StoreError> {
    let mut out = Vec::new();
    for back in (0..weeks).rev() {
        let start = last_week - Duration::weeks(i64::from(back));
        let period = Period {
            from: start,
            to: start + Duration::days(6),
        };
        let counts = escalations_by_unit(db, units, period).await?;
        out.push(WeekCounts {
            week_start: start,
            counts,
        });
    }
    Ok(out)
}

/// Keeps the watch of a finished week as first computed: what was announced for a week does
/// not change under it (as with the monthly flags). A concurrent computation of the same week
/// is dropped, not an error.
pub async fn store_week(
    db: &impl ConnectionTrait,
    week_start: NaiveDate,
    entries: &[WatchEntry],
) -> Result<(), StoreError> {
    let now = Utc::now();
    let rows: Vec<escalation_week::ActiveModel> = entries
        .iter()
        .map(|e| escalation_week::ActiveModel {
            week_start: Set(week_start),
            org_id: Set(e.org_id),
            escalations: Set(i32::try_from(e.escalations).unwrap_or(i32::MAX)),
            rank: Set(i32::try_from(e.rank).unwrap_or(i32::MAX)),
            in_top: Set(e.in_top),
            streak: Set(i32::try_from(e.streak).unwrap_or(i32::MAX)),
            consequence: Set(e.consequence.map(|c| c.as_str().to_owned())),
            explanation: Set(e.explanation.clone()),
            computed_at: Set(now),
        })
        .collect();
    if !rows.is_empty() {
        escalation_week::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    escalation_week::Column::WeekStart,
                    escalation_week::Column::OrgId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The stored watch of a week.
pub async fn stored_week(
    db: &impl ConnectionTrait,
    week_start: NaiveDate,
) -> Result<Vec<WeekRow>, StoreError> {
    Ok(escalation_week::Entity::find()
        .filter(escalation_week::Column::WeekStart.eq(week_start))
        .order_by_asc(escalation_week::Column::Rank)
        .all(db)
        .await?)
}

/// Whether any week at or after `week_start` has been stored (the job's "already done").
pub async fn week_stored(
    db: &impl ConnectionTrait,
    week_start: NaiveDate,
) -> Result<bool, StoreError> {
    Ok(escalation_week::Entity::find()
        .filter(escalation_week::Column::WeekStart.eq(week_start))
        .select_only()
        .column(escalation_week::Column::OrgId)
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some())
}
