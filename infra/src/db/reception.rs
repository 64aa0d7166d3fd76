//! The leaders' reception schedule in the database: the published rules (as `domain`'s
//! `ReceptionRule`), the leaders they name, and the citizens' bookings with the places taken
//! per session.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use fengqiao_domain::reception::{
    BookingState, OnRestDay, ReceptionRule, Recurrence, SessionChange, SessionException,
};
use fengqiao_domain::{DomainError, Text};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{booking, leader, outbox, reception_rule, session_exception, session_slot};

pub use super::entities::booking::Model as BookingRow;
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

// ---- bookings ----

fn session_full() -> StoreError {
    DomainError::Conflict {
        code: "session_full",
        message: Text::new(
            "该场次名额已满，请选择其他场次",
            "this session is full; choose another",
        ),
    }
    .into()
}

/// Takes one place in a session, atomically: the session's row is made if missing, then its
/// count goes up only while below `capacity`. Of two bookings racing for the last place one
/// gets it and the other `session_full`.
pub async fn take_place(
    txn: &DatabaseTransaction,
    rule_id: Uuid,
    date: NaiveDate,
    capacity: u32,
) -> Result<(), StoreError> {
    session_slot::Entity::insert(session_slot::ActiveModel {
        rule_id: Set(rule_id),
        session_date: Set(date),
        taken: Set(0),
    })
    .on_conflict(
        OnConflict::columns([
            session_slot::Column::RuleId,
            session_slot::Column::SessionDate,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let taken = session_slot::Entity::update_many()
        .col_expr(
            session_slot::Column::Taken,
            Expr::col(session_slot::Column::Taken).add(1),
        )
        .filter(session_slot::Column::RuleId.eq(rule_id))
        .filter(session_slot::Column::SessionDate.eq(date))
        .filter(session_slot::Column::Taken.lt(i32::try_from(capacity).unwrap_or(i32::MAX)))
        .exec(txn)
        .await?
        .rows_affected;
    if taken == 1 {
        Ok(())
    } else {
        Err(session_full())
    }
}

/// Gives a place back (a booking cancelled, rejected or moved away).
pub async fn free_place(
    txn: &DatabaseTransaction,
    rule_id: Uuid,
    date: NaiveDate,
) -> Result<(), StoreError> {
    session_slot::Entity::update_many()
        .col_expr(
            session_slot::Column::Taken,
            Expr::col(session_slot::Column::Taken).sub(1),
        )
        .filter(session_slot::Column::RuleId.eq(rule_id))
        .filter(session_slot::Column::SessionDate.eq(date))
        .filter(session_slot::Column::Taken.gt(0))
        .exec(txn)
        .await?;
    Ok(())
}

/// Places taken per (rule, day) between two days.
pub async fn places_taken(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<std::collections::HashMap<(Uuid, NaiveDate), u32>, StoreError> {
    Ok(session_slot::Entity::find()
        .filter(session_slot::Column::SessionDate.gte(from))
        .filter(session_slot::Column::SessionDate.lte(to))
        .all(db)
        .await?
        .into_iter()
        .map(|s| {
            (
                (s.rule_id, s.session_date),
                u32::try_from(s.taken).unwrap_or(0),
            )
        })
        .collect())
}

/// How the citizen stands against the limits: an open booking that day, and bookings (not
/// cancelled or rejected) in that month.
pub async fn citizen_load(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    date: NaiveDate,
) -> Result<(bool, u32), StoreError> {
    use chrono::Datelike;
    let open = [
        BookingState::Requested.as_str(),
        BookingState::Confirmed.as_str(),
    ];
    let same_day = booking::Entity::find()
        .filter(booking::Column::CitizenId.eq(citizen_id))
        .filter(booking::Column::SessionDate.eq(date))
        .filter(booking::Column::State.is_in(open))
        .count(db)
        .await?
        > 0;
    let first = date.with_day(1).unwrap_or(date);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    let month = booking::Entity::find()
        .filter(booking::Column::CitizenId.eq(citizen_id))
        .filter(booking::Column::SessionDate.gte(first))
        .filter(booking::Column::SessionDate.lt(next))
        .filter(booking::Column::State.is_not_in([
            BookingState::Cancelled.as_str(),
            BookingState::Rejected.as_str(),
        ]))
        .count(db)
        .await?;
    Ok((same_day, u32::try_from(month).unwrap_or(u32::MAX)))
}

pub struct NewBooking {
    pub citizen_id: Uuid,
    pub rule_id: Uuid,
    pub date: NaiveDate,
    pub sealed_matter: String,
}

pub async fn create_booking(
    txn: &DatabaseTransaction,
    new: NewBooking,
    now: DateTime<Utc>,
) -> Result<BookingRow, StoreError> {
    Ok(booking::ActiveModel {
        id: Set(Uuid::now_v7()),
        citizen_id: Set(new.citizen_id),
        rule_id: Set(new.rule_id),
        session_date: Set(new.date),
        matter: Set(new.sealed_matter),
        state: Set(BookingState::Requested.as_str().to_owned()),
        reason: Set(None),
        note: Set(None),
        petition_id: Set(None),
        reminded_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?)
}

pub async fn booking(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<BookingRow>, StoreError> {
    Ok(booking::Entity::find_by_id(id).one(db).await?)
}

/// A citizen's bookings, newest session first.
pub async fn bookings_of(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
) -> Result<Vec<BookingRow>, StoreError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::CitizenId.eq(citizen_id))
        .order_by_desc(booking::Column::SessionDate)
        .order_by_desc(booking::Column::Id)
        .limit(100)
        .all(db)
        .await?)
}

/// The bookings of a day, for the reception staff.
pub async fn bookings_on(
    db: &impl ConnectionTrait,
    date: NaiveDate,
) -> Result<Vec<BookingRow>, StoreError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::SessionDate.eq(date))
        .order_by_asc(booking::Column::RuleId)
        .order_by_asc(booking::Column::Id)
        .all(db)
        .await?)
}

/// A change to a booking, applied only if it is still in the state it was read in (two
/// clerks acting at once cannot both win).
pub struct BookingChange {
    pub to: BookingState,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub petition_id: Option<Uuid>,
    /// A move: the new session.
    pub session: Option<(Uuid, NaiveDate)>,
}

pub async fn change_booking(
    txn: &DatabaseTransaction,
    row: &BookingRow,
    change: BookingChange,
    now: DateTime<Utc>,
) -> Result<BookingRow, StoreError> {
    let mut update = booking::Entity::update_many()
        .col_expr(booking::Column::State, Expr::value(change.to.as_str()))
        .col_expr(booking::Column::UpdatedAt, Expr::value(now))
        .filter(booking::Column::Id.eq(row.id))
        .filter(booking::Column::State.eq(row.state.clone()));
    if let Some(reason) = change.reason {
        update = update.col_expr(booking::Column::Reason, Expr::value(Some(reason)));
    }
    if let Some(note) = change.note {
        update = update.col_expr(booking::Column::Note, Expr::value(Some(note)));
    }
    if let Some(petition_id) = change.petition_id {
        update = update.col_expr(booking::Column::PetitionId, Expr::value(Some(petition_id)));
    }
    if let Some((rule_id, date)) = change.session {
        update = update
            .col_expr(booking::Column::RuleId, Expr::value(rule_id))
            .col_expr(booking::Column::SessionDate, Expr::value(date))
            // A new day: a new reminder.
            .col_expr(
                booking::Column::RemindedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
    }
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(DomainError::Conflict {
            code: "concurrent_update",
            message: Text::new(
                "该预约刚被他人处理，请刷新后重试",
                "someone else just acted on this booking; reload and retry",
            ),
        }
        .into());
    }
    booking(txn, row.id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a booking vanished in its own transaction".into()))
}

/// Tells the citizen through the status push (`booking.confirmed`, `booking.cancelled`,
/// `booking.reminded`), in the change's transaction.
pub async fn announce(
    txn: &impl ConnectionTrait,
    row: &BookingRow,
    topic: &str,
    session: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        topic: Set(topic.to_owned()),
        petition_id: Set(None),
        payload: Set(serde_json::json!({
            "citizen_id": row.citizen_id,
            "booking_id": row.id,
            "session": session,
            "reason": reason,
            "deadline": row.session_date,
            "at": now,
        })
        .to_string()),
        created_at: Set(now),
        dispatched_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Confirmed bookings for `date` not yet reminded.
pub async fn due_reminders(
    db: &impl ConnectionTrait,
    date: NaiveDate,
    limit: u64,
) -> Result<Vec<BookingRow>, StoreError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::SessionDate.eq(date))
        .filter(booking::Column::State.eq(BookingState::Confirmed.as_str()))
        .filter(booking::Column::RemindedAt.is_null())
        .order_by_asc(booking::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Marks a booking reminded, once: `false` when another instance did it first.
pub async fn mark_reminded(
    txn: &DatabaseTransaction,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(booking::Entity::update_many()
        .col_expr(booking::Column::RemindedAt, Expr::value(Some(now)))
        .filter(booking::Column::Id.eq(id))
        .filter(booking::Column::RemindedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected
        == 1)
}

/// A rule by id.
pub async fn rule(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<ReceptionRule>, StoreError> {
    reception_rule::Entity::find_by_id(id)
        .filter(reception_rule::Column::Active.eq(true))
        .one(db)
        .await?
        .map(rule_of)
        .transpose()
}

/// A leader as editors write them.
pub struct LeaderFields {
    pub org_unit_id: Uuid,
    pub name: String,
    pub title: String,
    pub photo_url: Option<String>,
    pub duties: Option<String>,
    pub active: bool,
}

/// Creates a leader, or replaces one (`id`).
pub async fn save_leader(
    db: &impl ConnectionTrait,
    id: Option<Uuid>,
    f: LeaderFields,
    now: DateTime<Utc>,
) -> Result<LeaderRow, StoreError> {
    let mut active = match id {
        Some(id) => leader::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(leader::ActiveModel::from)
            .ok_or_else(|| {
                StoreError::from(DomainError::NotFound {
                    code: "leader_not_found",
                    message: Text::new("领导不存在", "no such leader"),
                })
            })?,
        None => leader::ActiveModel {
            id: Set(Uuid::now_v7()),
            is_demo: Set(false),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.org_unit_id = Set(f.org_unit_id);
    active.name = Set(f.name);
    active.title = Set(f.title);
    active.photo_url = Set(f.photo_url);
    active.duties = Set(f.duties);
    active.active = Set(f.active);
    active.updated_at = Set(now);
    Ok(match id {
        Some(_) => active.update(db).await?,
        None => active.insert(db).await?,
    })
}

/// The kind and parameters a recurrence is stored as.
fn stored(recurrence: &Recurrence) -> Result<(String, serde_json::Value), StoreError> {
    let mut value =
        serde_json::to_value(recurrence).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let kind = value
        .as_object_mut()
        .and_then(|m| m.remove("kind"))
        .and_then(|k| k.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok((kind, value))
}

/// Creates a rule, or replaces one (`id`); `rule` has been checked.
pub async fn save_rule(
    db: &impl ConnectionTrait,
    id: Option<Uuid>,
    rule: &ReceptionRule,
    active: bool,
    now: DateTime<Utc>,
) -> Result<ReceptionRule, StoreError> {
    let (kind, params) = stored(&rule.recurrence)?;
    let mut model = match id {
        Some(id) => reception_rule::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(reception_rule::ActiveModel::from)
            .ok_or_else(|| {
                StoreError::from(DomainError::NotFound {
                    code: "rule_not_found",
                    message: Text::new("接访规则不存在", "no such reception rule"),
                })
            })?,
        None => reception_rule::ActiveModel {
            id: Set(Uuid::now_v7()),
            is_demo: Set(false),
            created_at: Set(now),
            ..Default::default()
        },
    };
    model.org_unit_id = Set(rule.org_unit_id);
    model.leader_id = Set(rule.leader_id);
    model.kind = Set(kind);
    model.params = Set(params);
    model.place = Set(rule.place.clone());
    model.starts_at = Set(rule.starts_at.format("%H:%M").to_string());
    model.ends_at = Set(rule.ends_at.format("%H:%M").to_string());
    model.capacity = Set(i32::try_from(rule.capacity).unwrap_or(i32::MAX));
    model.on_holiday = Set(match rule.on_rest_day {
        OnRestDay::Cancel => "cancel".into(),
        OnRestDay::NextWorkday => "next_workday".into(),
    });
    model.active = Set(active);
    model.updated_at = Set(now);
    let row = match id {
        Some(_) => model.update(db).await?,
        None => model.insert(db).await?,
    };
    rule_of(row)
}

/// Every rule, active or not, for editors.
pub async fn all_rules(
    db: &impl ConnectionTrait,
) -> Result<Vec<(ReceptionRule, bool)>, StoreError> {
    reception_rule::Entity::find()
        .order_by_asc(reception_rule::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| {
            let active = r.active;
            rule_of(r).map(|rule| (rule, active))
        })
        .collect()
}

// ---- published changes to single sessions ----

/// The published changes to sessions between two days.
pub async fn exceptions_between(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SessionException>, StoreError> {
    use sea_orm::Condition;
    session_exception::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(session_exception::Column::SessionDate.gte(from))
                        .add(session_exception::Column::SessionDate.lte(to)),
                )
                .add(
                    Condition::all()
                        .add(session_exception::Column::MovedTo.gte(from))
                        .add(session_exception::Column::MovedTo.lte(to)),
                ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|e| {
            let change: SessionChange = serde_json::from_value(e.change).map_err(|err| {
                StoreError::Corrupt(format!("session exception {}: {err}", e.rule_id))
            })?;
            Ok(SessionException {
                rule_id: e.rule_id,
                date: e.session_date,
                change,
                notice: e.notice,
            })
        })
        .collect()
}

/// Publishes a change to a session (replacing an earlier one).
pub async fn set_exception(
    txn: &DatabaseTransaction,
    exception: &SessionException,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    clear_exception(txn, exception.rule_id, exception.date).await?;
    session_exception::ActiveModel {
        rule_id: Set(exception.rule_id),
        session_date: Set(exception.date),
        change: Set(serde_json::to_value(&exception.change)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?),
        notice: Set(exception.notice.clone()),
        moved_to: Set(exception.change.moved_to()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Withdraws a published change; `false` when there was none.
pub async fn clear_exception(
    txn: &DatabaseTransaction,
    rule_id: Uuid,
    date: NaiveDate,
) -> Result<bool, StoreError> {
    Ok(session_exception::Entity::delete_many()
        .filter(session_exception::Column::RuleId.eq(rule_id))
        .filter(session_exception::Column::SessionDate.eq(date))
        .exec(txn)
        .await?
        .rows_affected
        > 0)
}

/// Moves a session's open bookings and taken places to its new day.
pub async fn move_session_bookings(
    txn: &DatabaseTransaction,
    rule_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    booking::Entity::update_many()
        .col_expr(booking::Column::SessionDate, Expr::value(to))
        .col_expr(
            booking::Column::RemindedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(booking::Column::UpdatedAt, Expr::value(now))
        .filter(booking::Column::RuleId.eq(rule_id))
        .filter(booking::Column::SessionDate.eq(from))
        .filter(booking::Column::State.is_in([
            BookingState::Requested.as_str(),
            BookingState::Confirmed.as_str(),
        ]))
        .exec(txn)
        .await?;
    let taken = session_slot::Entity::find_by_id((rule_id, from))
        .one(txn)
        .await?
        .map_or(0, |s| s.taken);
    session_slot::Entity::delete_by_id((rule_id, from))
        .exec(txn)
        .await?;
    session_slot::Entity::insert(session_slot::ActiveModel {
        rule_id: Set(rule_id),
        session_date: Set(to),
        taken: Set(taken),
    })
    .on_conflict(
        OnConflict::columns([
            session_slot::Column::RuleId,
            session_slot::Column::SessionDate,
        ])
        .update_column(session_slot::Column::Taken)
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The bookings still holding a place in a session.
pub async fn open_bookings_of(
    db: &impl ConnectionTrait,
    rule_id: Uuid,
    date: NaiveDate,
) -> Result<Vec<BookingRow>, StoreError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::RuleId.eq(rule_id))
        .filter(booking::Column::SessionDate.eq(date))
        .filter(booking::Column::State.is_in([
            BookingState::Requested.as_str(),
            BookingState::Confirmed.as_str(),
        ]))
        .all(db)
        .await?)
}
