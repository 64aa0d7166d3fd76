//! The leaders' reception schedule in the database: the published rules (as `domain`'s
//! `ReceptionRule`) and the leaders they name.

use chrono::NaiveTime;
use fengqiao_domain::reception::{OnRestDay, ReceptionRule, Recurrence};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::StoreError;
use super::entities::{leader, reception_rule};

pub use super::entities::leader::Model as LeaderRow;

/// A stored rule as the schedule's rules read it; a row that does not make sense is reported,
/// never guessed at.
fn rule_of(row: reception_rule::Model) -> Result<ReceptionRule, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("reception rule {}: {what}", row.id));
    let mut params = match row.params.clone() {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        _ => return Err(corrupt("params are not an object")),
    };
    // The table keeps the kind beside its parameters; the recurrence reads them together.
    let kind = match row.kind.as_str() {
        "monthly_day" | "twice_monthly" | "nth_weekday" | "every_workday" | "workday_rota" => {
            row.kind.clone()
        }
        // The organisations' daily reception is every workday with the rule's own unit.
        "org_daily" | "daily" => "every_workday".to_owned(),
        other => return Err(corrupt(&format!("unknown kind {other}"))),
    };
    params.insert("kind".into(), serde_json::Value::String(kind));
    let recurrence: Recurrence = serde_json::from_value(serde_json::Value::Object(params))
        .map_err(|e| corrupt(&format!("params: {e}")))?;
    let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| corrupt("time"));
    Ok(ReceptionRule {
        id: row.id,
        org_unit_id: row.org_unit_id,
        leader_id: row.leader_id,
        recurrence,
        starts_at: time(&row.starts_at)?,
        ends_at: time(&row.ends_at)?,
        capacity: u32::try_from(row.capacity).unwrap_or(0),
        on_rest_day: OnRestDay::parse(&row.on_holiday).ok_or_else(|| corrupt("on_holiday"))?,
        place: row.place,
    })
}

/// The active rules.
pub async fn active_rules(db: &impl ConnectionTrait) -> Result<Vec<ReceptionRule>, StoreError> {
    reception_rule::Entity::find()
        .filter(reception_rule::Column::Active.eq(true))
        .order_by_asc(reception_rule::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(rule_of)
        .collect()
}

/// Every leader, active or not (a schedule names whoever a rule names).
pub async fn leaders(db: &impl ConnectionTrait) -> Result<Vec<LeaderRow>, StoreError> {
    Ok(leader::Entity::find()
        .order_by_asc(leader::Column::Name)
        .all(db)
        .await?)
}
