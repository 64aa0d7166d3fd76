//! Petitions in the database: registration (with its first event, its outbox message and the
//! idempotency key, all in one transaction), reads for the petitioner and for anonymous
//! lookup, the category taxonomy and the working calendar.

use chrono::{DateTime, NaiveDate, Utc};
use fengqiao_domain::calendar::WorkCalendar;
use fengqiao_domain::petition::{Checkpoint, MatterCategory, NewPetition, PetitionState};
use fengqiao_domain::statistics::Steps;
use fengqiao_domain::{DomainError, Text};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, TransactionSession, TransactionTrait,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::StoreError;
use super::entities::{calendar_day, category, idempotency_key, outbox, petition, petition_event};

pub use category::Model as CategoryRow;
pub use petition::Model as PetitionRow;
pub use petition_event::Model as PetitionEventRow;

/// The work list's stand-in for "no deadline": after every real one.
pub const NO_DEADLINE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The snake_case name serde gives an enum value, as stored in text columns.
pub fn text_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The enum value a text column holds.
pub fn parse_text<T: DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("{column} {text:?}")))
}

/// Active categories, in display order.
pub async fn categories(db: &impl ConnectionTrait) -> Result<Vec<CategoryRow>, StoreError> {
    Ok(category::Entity::find()
        .filter(category::Column::Active.eq(true))
        .order_by_asc(category::Column::SortOrder)
        .all(db)
        .await?)
}

pub async fn category(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<CategoryRow>, StoreError> {
    Ok(category::Entity::find_by_id(code.to_owned())
        .one(db)
        .await?
        .filter(|c| c.active))
}

/// The working calendar as administrators keep it.
pub async fn calendar(db: &impl ConnectionTrait) -> Result<WorkCalendar, StoreError> {
    let days = calendar_day::Entity::find().all(db).await?;
    let (holidays, makeup): (Vec<_>, Vec<_>) = days.into_iter().partition(|d| d.kind == "holiday");
    Ok(WorkCalendar::new(
        holidays.into_iter().map(|d| d.day),
        makeup.into_iter().map(|d| d.day),
    ))
}

/// Adds `by` to a named counter shared by every instance (an atomic upsert) and returns the
/// new value.
pub async fn advance_counter(
    db: &impl ConnectionTrait,
    name: &str,
    by: i64,
) -> Result<i64, StoreError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "INSERT INTO counters (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 RETURNING value"
        }
        _ => {
            "INSERT INTO counters (name, value) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + ?2 RETURNING value"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [name.into(), by.into()],
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("counter upsert returned nothing".into()))?;
    Ok(row.try_get::<i64>("", "value")?)
}

/// Tracking numbers handed out from blocks reserved in the shared daily counter (the hi/lo
/// scheme): one short counter transaction per `block` submissions instead of one each, so the
/// day's counter row is no queue every submission of the county waits in. Numbers stay unique
/// across instances; within one instance they rise one by one; a block left unused when the
/// instance stops, or a registration that fails, leaves a gap, which nothing relies on.
pub struct TrackingNumbers {
    block: i64,
    /// Counter name -> (next to hand out, last of the block).
    open: tokio::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>,
}

impl TrackingNumbers {
    pub fn new(block: u32) -> Self {
        Self {
            block: i64::from(block.max(1)),
            open: tokio::sync::Mutex::default(),
        }
    }

    pub async fn next(
        &self,
        db: &sea_orm::DatabaseConnection,
        prefix: &str,
        day: NaiveDate,
    ) -> Result<String, StoreError> {
        let name = format!("tracking:{prefix}:{}", day.format("%Y%m%d"));
        let mut open = self.open.lock().await;
        // Yesterday's block is done with.
        open.retain(|k, _| k == &name);
        let sequence = match open.get_mut(&name) {
            Some((next, last)) if *next <= *last => {
                *next += 1;
                *next - 1
            }
            _ => {
                let last = advance_counter(db, &name, self.block).await?;
                let first = last - self.block + 1;
                open.insert(name, (first + 1, last));
                first
            }
        };
        Ok(fengqiao_domain::petition::tracking_number(
            prefix,
            day,
            u64::try_from(sequence).unwrap_or(0),
        ))
    }
}

/// Makes the keyed hash of (tracking number, query code); the caller holds the key.
pub type QueryCodeHasher = Box<dyn FnOnce(&str, &str) -> String + Send>;
/// Seals the first response to a submission from the stored row and its query code.
pub type ResponseSealer = Box<dyn FnOnce(&PetitionRow, &str) -> String + Send>;

/// Everything needed to store a new petition.
pub struct Registration {
    pub petition: NewPetition,
    pub matter_category: MatterCategory,
    pub rateable: bool,
    pub checkpoint: Checkpoint,
    pub citizen_id: Option<Uuid>,
    /// For letters, visits and calls registered by staff: the petitioner's sealed details.
    pub petitioner: Option<SealedPetitioner>,
    /// Why the petition is held for staff review (moderation, repeat), if it is.
    pub flag_reason: Option<String>,
    /// The earlier petition this one repeats, if any.
    pub repeat_of: Option<Uuid>,
    /// Where the routing rules send it first.
    pub routed_to: Option<Uuid>,
    /// Files the uploader sent first, to link to the petition: (ids, uploader kind, uploader id).
    pub attachments: (Vec<Uuid>, &'static str, String),
    /// From `TrackingNumbers::next`, taken before the transaction.
    pub tracking_no: String,
    /// The query code sealed for the registration message the petitioner is sent.
    pub sealed_query_code: Option<String>,
    /// Keyed hash of the query code, computed by the caller (who holds the key).
    pub query_code_hash: QueryCodeHasher,
    /// The query code given to the petitioner (shown once, stored only as a keyed hash).
    pub query_code: String,
    pub registered_on: NaiveDate,
    pub next_deadline: Option<NaiveDate>,
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub now: DateTime<Utc>,
    /// An integrator's petition: (its client id, its own id for it).
    pub source: Option<(String, String)>,
}

/// The petitioner's name and phone as staff registered them, sealed; the phone's lookup hash.
pub struct SealedPetitioner {
    pub name: String,
    pub phone: Option<String>,
    pub phone_hash: Option<String>,
}

/// A retried submission carries the same key: (caller-scoped key, hash of the request body).
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
    /// The response to give again on a retry, sealed by the caller; computed from the stored
    /// row and the query code.
    pub response: ResponseSealer,
}

/// A registration stored: the row, and the query code returned this once.
pub struct Registered {
    pub row: Box<PetitionRow>,
    pub query_code: String,
}

/// The sealed first response to a submission already stored under this key, if any; a
/// conflict when the key was used for a different request.
pub async fn seen_submission(
    db: &impl ConnectionTrait,
    key: &str,
    request_hash: &str,
) -> Result<Option<String>, StoreError> {
    let Some(seen) = idempotency_key::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if seen.request_hash != request_hash {
        return Err(DomainError::Conflict {
            code: "idempotency_key_reused",
            message: Text::new(
                "该 Idempotency-Key 已用于另一份不同的提交",
                "this Idempotency-Key was used for a different submission",
            ),
        }
        .into());
    }
    Ok(Some(seen.response))
}

/// Stores a registration inside the caller's transaction (which also takes its audit entry; no
/// savepoint of its own, which would cost two more round trips per submission). The caller
/// answers a retry first (`seen_submission`); two retries racing past that both reach here, and
/// the idempotency key's uniqueness lets one through and the other is told to retry.
pub async fn register(
    txn: &sea_orm::DatabaseTransaction,
    reg: Registration,
    idempotency: Option<Idempotency>,
) -> Result<Registered, StoreError> {
    let day = reg.registered_on;
    let tracking_no = reg.tracking_no;
    let p = reg.petition;
    let id = Uuid::now_v7();
    let row = petition::ActiveModel {
        id: Set(id),
        query_code_hash: Set((reg.query_code_hash)(&tracking_no, &reg.query_code)),
        tracking_no: Set(tracking_no),
        kind: Set(text_of(&p.kind)),
        channel: Set(text_of(&p.channel)),
        category_code: Set(p.category_code),
        matter_category: Set(text_of(&reg.matter_category)),
        rateable: Set(reg.rateable),
        title: Set(p.title),
        content: Set(p.content),
        township_id: Set(p.township_id),
        village_id: Set(p.village_id),
        latitude: Set(p.location.map(|l| l.0)),
        longitude: Set(p.location.map(|l| l.1)),
        group_size: Set(p.group.map(|g| i32::try_from(g.people).unwrap_or(i32::MAX))),
        citizen_id: Set(reg.citizen_id),
        petitioner_name: Set(reg.petitioner.as_ref().map(|p| p.name.clone())),
        petitioner_phone: Set(reg.petitioner.as_ref().and_then(|p| p.phone.clone())),
        petitioner_phone_hash: Set(reg.petitioner.as_ref().and_then(|p| p.phone_hash.clone())),
        state: Set(text_of(&PetitionState::Registered)),
        checkpoint: Set(text_of(&reg.checkpoint)),
        handling_org_id: Set(None),
        routed_to_org_id: Set(reg.routed_to),
        accused_org_id: Set(p.accused_org_id),
        owner_leader_id: Set(None),
        registered_on: Set(day),
        sent_on: Set(None),
        accepted_on: Set(None),
        answered_on: Set(None),
        review_requested_on: Set(None),
        review_decided_on: Set(None),
        rereview_requested_on: Set(None),
        rereview_decided_on: Set(None),
        extension_days: Set(None),
        rating: Set(None),
        outcome: Set(None),
        next_deadline: Set(reg.next_deadline),
        deadline_kind: Set(reg.next_deadline.map(|_| "dispose".to_owned())),
        sort_deadline: Set(reg.next_deadline.unwrap_or(NO_DEADLINE)),
        overdue_since: Set(None),
        flagged: Set(reg.flag_reason.is_some()),
        flag_reason: Set(reg.flag_reason.clone()),
        repeat_of: Set(reg.repeat_of),
        version: Set(0),
        created_at: Set(reg.now),
        updated_at: Set(reg.now),
        source_client_id: Set(reg.source.as_ref().map(|s| s.0.clone())),
        external_id: Set(reg.source.as_ref().map(|s| s.1.clone())),
        ..steps_model(&Steps::registered(day, reg.next_deadline))
    }
    .insert(txn)
    .await
    // An integrator's id sent twice at once: the other registration is committing it.
    .map_err(|e| StoreError::on_unique(e, in_progress()))?;
    let (attachment_ids, uploader_kind, uploader_id) = &reg.attachments;
    let linked =
        super::attachments::link(txn, attachment_ids, uploader_kind, uploader_id, id).await?;
    if linked != attachment_ids.len() as u64 {
        return Err(DomainError::invalid(
            "attachment_ids",
            "attachment_not_available",
            Text::new(
                "附件不存在、不属于您或已被使用",
                "an attachment does not exist, is not yours or is already used",
            ),
        )
        .into());
    }
    petition_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        petition_id: Set(id),
        at: Set(reg.now),
        actor_kind: Set(reg.actor_kind.to_owned()),
        actor_id: Set(reg.actor_id),
        event: Set("registered".into()),
        from_state: Set(None),
        to_state: Set(row.state.clone()),
        reason: Set(None),
        public: Set(true),
        detail: Set("{}".into()),
    }
    .insert(txn)
    .await?;
    outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        topic: Set("petition.registered".into()),
        petition_id: Set(Some(id)),
        payload: Set(serde_json::json!({
            "petition_id": id,
            "tracking_no": row.tracking_no,
            "state": row.state,
            "at": reg.now,
            "query_code": reg.sealed_query_code,
        })
        .to_string()),
        created_at: Set(reg.now),
        dispatched_at: Set(None),
    }
    .insert(txn)
    .await?;
    if let Some(idem) = idempotency {
        let stored = idempotency_key::ActiveModel {
            key: Set(idem.key),
            request_hash: Set(idem.request_hash),
            petition_id: Set(id),
            response: Set((idem.response)(&row, &reg.query_code)),
            created_at: Set(reg.now),
        }
        .insert(txn)
        .await;
        if let Err(e) = stored {
            // A concurrent retry with the same key won the race: ours rolls back, theirs stands.
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) {
                return Err(in_progress().into());
            }
            return Err(e.into());
        }
    }
    Ok(Registered {
        row: Box::new(row),
        query_code: reg.query_code,
    })
}

/// The same submission is being registered by another request.
pub fn in_progress() -> DomainError {
    DomainError::Conflict {
        code: "submission_in_progress",
        message: Text::new(
            "同一提交正在处理，请稍后重试",
            "the same submission is being processed; retry",
        ),
    }
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<PetitionRow>, StoreError> {
    Ok(petition::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_by_tracking_no(
    db: &impl ConnectionTrait,
    tracking_no: &str,
) -> Result<Option<PetitionRow>, StoreError> {
    Ok(petition::Entity::find()
        .filter(petition::Column::TrackingNo.eq(tracking_no))
        .one(db)
        .await?)
}

/// A petitioner's petitions, newest first, `limit` at a time before `before`.
pub async fn list_for_citizen(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    limit: u64,
    before: Option<Uuid>,
) -> Result<Vec<PetitionRow>, StoreError> {
    let mut q = petition::Entity::find()
        .filter(petition::Column::CitizenId.eq(citizen_id))
        .order_by_desc(petition::Column::Id);
    if let Some(before) = before {
        q = q.filter(petition::Column::Id.lt(before));
    }
    Ok(q.limit(limit).all(db).await?)
}

/// The events of a petition in order; only the public ones when `public_only`.
pub async fn events(
    db: &impl ConnectionTrait,
    petition_id: Uuid,
    public_only: bool,
) -> Result<Vec<PetitionEventRow>, StoreError> {
    let mut q = petition_event::Entity::find()
        .filter(petition_event::Column::PetitionId.eq(petition_id))
        .order_by_asc(petition_event::Column::Id);
    if public_only {
        q = q.filter(petition_event::Column::Public.eq(true));
    }
    Ok(q.all(db).await?)
}

/// The events of several petitions in one query, each petition's in recorded order: a page
/// of petitions costs one trip, not one per petition.
pub async fn events_of_many(
    db: &impl ConnectionTrait,
    petition_ids: &[Uuid],
    public_only: bool,
) -> Result<std::collections::HashMap<Uuid, Vec<PetitionEventRow>>, StoreError> {
    let mut by_petition: std::collections::HashMap<Uuid, Vec<PetitionEventRow>> =
        std::collections::HashMap::new();
    if petition_ids.is_empty() {
        return Ok(by_petition);
    }
    let mut q = petition_event::Entity::find()
        .filter(petition_event::Column::PetitionId.is_in(petition_ids.iter().copied()))
        .order_by_asc(petition_event::Column::Id);
    if public_only {
        q = q.filter(petition_event::Column::Public.eq(true));
    }
    for event in q.all(db).await? {
        by_petition
            .entry(event.petition_id)
            .or_default()
            .push(event);
    }
    Ok(by_petition)
}

/// Every outbox message, dispatched or not, oldest first (what tests inspect).
pub async fn outbox_messages(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<outbox::Model>, StoreError> {
    Ok(outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The rules' view of a stored petition.
pub fn to_domain(row: &PetitionRow) -> Result<fengqiao_domain::petition::Petition, StoreError> {
    use fengqiao_domain::petition::{Dates, Petition};
    Ok(Petition {
        state: parse_text("petitions.state", &row.state)?,
        category: parse_text("petitions.matter_category", &row.matter_category)?,
        checkpoint: parse_text("petitions.checkpoint", &row.checkpoint)?,
        dates: Dates {
            registered_on: Some(row.registered_on),
            sent_on: row.sent_on,
            accepted_on: row.accepted_on,
            answered_on: row.answered_on,
            review_requested_on: row.review_requested_on,
            review_decided_on: row.review_decided_on,
            rereview_requested_on: row.rereview_requested_on,
            rereview_decided_on: row.rereview_decided_on,
        },
        extension_days: row.extension_days.and_then(|d| u32::try_from(d).ok()),
        rating: row
            .rating
            .as_deref()
            .map(|r| parse_text("petitions.rating", r))
            .transpose()?,
        rateable: row.rateable,
        owner: row.citizen_id,
        accused_org: row.accused_org_id,
        handling_org: row.handling_org_id,
    })
}

/// A transition to store: the rules' result plus what the event records.
pub struct Applied<'a> {
    pub transition: &'a fengqiao_domain::petition::Transition,
    pub outcome: Option<String>,
    pub next_deadline: Option<fengqiao_domain::petition::Deadline>,
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub reason: Option<String>,
    pub detail: serde_json::Value,
    pub now: DateTime<Utc>,
    /// The local calendar day of `now`, the day the step counts on.
    pub today: NaiveDate,
}

/// What the figures keep of a stored petition.
pub fn steps_of(row: &PetitionRow) -> Steps {
    Steps {
        dispose_due: row.dispose_due,
        disposed_on: row.disposed_on,
        acceptance_due: row.acceptance_due,
        acceptance_decided_on: row.acceptance_decided_on,
        answer_due: row.answer_due,
        first_answered_on: row.first_answered_on,
        days_to_answer: row.days_to_answer,
        return_count: row.return_count,
        reopen_count: row.reopen_count,
        relevant_until: row.relevant_until.unwrap_or(row.registered_on),
    }
}

fn steps_model(s: &Steps) -> petition::ActiveModel {
    petition::ActiveModel {
        dispose_due: Set(s.dispose_due),
        disposed_on: Set(s.disposed_on),
        acceptance_due: Set(s.acceptance_due),
        acceptance_decided_on: Set(s.acceptance_decided_on),
        answer_due: Set(s.answer_due),
        first_answered_on: Set(s.first_answered_on),
        days_to_answer: Set(s.days_to_answer),
        relevant_until: Set(Some(s.relevant_until)),
        return_count: Set(s.return_count),
        reopen_count: Set(s.reopen_count),
        ..Default::default()
    }
}

/// Stores a transition if the petition is still at `version` (optimistic concurrency: two
/// clerks acting at once cannot both win). The event and, for a public one, its outbox
/// message are written in the same transaction.
pub async fn apply<C>(
    db: &C,
    row: &PetitionRow,
    applied: Applied<'_>,
) -> Result<PetitionRow, StoreError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let t = applied.transition;
    let p = &t.petition;
    let txn = db.begin().await?;
    let changes = petition::ActiveModel {
        state: Set(text_of(&p.state)),
        checkpoint: Set(text_of(&p.checkpoint)),
        handling_org_id: Set(p.handling_org),
        sent_on: Set(p.dates.sent_on),
        accepted_on: Set(p.dates.accepted_on),
        answered_on: Set(p.dates.answered_on),
        review_requested_on: Set(p.dates.review_requested_on),
        review_decided_on: Set(p.dates.review_decided_on),
        rereview_requested_on: Set(p.dates.rereview_requested_on),
        rereview_decided_on: Set(p.dates.rereview_decided_on),
        extension_days: Set(p
            .extension_days
            .map(|d| i32::try_from(d).unwrap_or(i32::MAX))),
        rating: Set(p.rating.map(|r| text_of(&r))),
        outcome: Set(applied.outcome.clone().or_else(|| row.outcome.clone())),
        next_deadline: Set(applied.next_deadline.map(|d| d.last_day)),
        deadline_kind: Set(applied.next_deadline.map(|d| text_of(&d.kind))),
        sort_deadline: Set(applied.next_deadline.map_or(NO_DEADLINE, |d| d.last_day)),
        // A transition sets a new obligation: the overdue job judges it afresh.
        overdue_since: Set(None),
        version: Set(row.version + 1),
        updated_at: Set(applied.now),
        ..steps_model(&steps_of(row).after(
            t.from,
            t.event,
            row.registered_on,
            applied.today,
            applied.next_deadline.as_ref(),
        ))
    };
    let update = petition::Entity::update_many()
        .set(changes)
        .filter(petition::Column::Id.eq(row.id))
        .filter(petition::Column::Version.eq(row.version))
        .exec(&txn)
        .await?;
    if update.rows_affected != 1 {
        return Err(DomainError::Conflict {
            code: "concurrent_update",
            message: Text::new(
                "该信访事项刚被他人处理，请刷新后重试",
                "someone else just acted on this petition; reload and retry",
            ),
        }
        .into());
    }
    petition_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        petition_id: Set(row.id),
        at: Set(applied.now),
        actor_kind: Set(applied.actor_kind.to_owned()),
        actor_id: Set(applied.actor_id),
        event: Set(t.event.to_owned()),
        from_state: Set(Some(text_of(&t.from))),
        to_state: Set(text_of(&p.state)),
        reason: Set(applied.reason.clone()),
        public: Set(t.public),
        detail: Set(applied.detail.to_string()),
    }
    .insert(&txn)
    .await?;
    if t.public {
        outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            topic: Set(format!("petition.{}", t.event)),
            petition_id: Set(Some(row.id)),
            payload: Set(serde_json::json!({
                "petition_id": row.id,
                "tracking_no": row.tracking_no,
                "event": t.event,
                "from": text_of(&t.from),
                "state": text_of(&p.state),
                "at": applied.now,
                // What the citizen is told with the change: the reason of a refusal, a
                // diversion or an extension, and an extension's new date.
                "reason": if matches!(t.event, "not_accepted" | "diverted" | "extended") {
                    applied.reason.clone()
                } else {
                    None
                },
                "deadline": if t.event == "extended" {
                    applied.next_deadline.as_ref().map(|d| d.last_day)
                } else {
                    None
                },
            })
            .to_string()),
            created_at: Set(applied.now),
            dispatched_at: Set(None),
        }
        .insert(&txn)
        .await?;
    }
    let stored = petition::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("petition vanished in its own transaction".into()))?;
    txn.commit().await?;
    Ok(stored)
}

/// What a staff work list asks for.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub state: Option<String>,
    pub flagged: Option<bool>,
    /// Only petitions whose next deadline is on or before this day.
    pub due_by: Option<NaiveDate>,
}

/// Petitions staff in `scope` may see, soonest deadline first (those without one last), then
/// by id; `limit` at a time after `after` = (deadline, id).
pub async fn inbox(
    db: &impl ConnectionTrait,
    scope: &fengqiao_domain::identity::OrgScope,
    filter: &InboxFilter,
    limit: u64,
    after: Option<(Option<NaiveDate>, Uuid)>,
) -> Result<Vec<PetitionRow>, StoreError> {
    use sea_orm::Condition;
    let mut q = petition::Entity::find();
    if let fengqiao_domain::identity::OrgScope::Subtree(prefix) = scope {
        let units = || {
            super::entities::org_unit::Entity::find()
                .select_only()
                .column(super::entities::org_unit::Column::Id)
                .filter(super::entities::org_unit::Column::Path.starts_with(prefix.as_str()))
                .into_query()
        };
        use sea_orm::QueryTrait;
        let jointly = super::entities::petition_co_handler::Entity::find()
            .select_only()
            .column(super::entities::petition_co_handler::Column::PetitionId)
            .filter(super::entities::petition_co_handler::Column::OrgId.in_subquery(units()))
            .into_query();
        q = q.filter(
            Condition::any()
                .add(petition::Column::TownshipId.in_subquery(units()))
                .add(petition::Column::HandlingOrgId.in_subquery(units()))
                .add(petition::Column::Id.in_subquery(jointly)),
        );
    }
    q = q.filter(hide_accused(scope));
    if let Some(state) = &filter.state {
        q = q.filter(petition::Column::State.eq(state.as_str()));
    }
    if let Some(flagged) = filter.flagged {
        q = q.filter(petition::Column::Flagged.eq(flagged));
    }
    if let Some(due_by) = filter.due_by {
        q = q.filter(petition::Column::NextDeadline.lte(due_by));
    }
    // Keyset over (sort_deadline, id), served by one index.
    if let Some((after_deadline, after_id)) = after {
        let after_deadline = after_deadline.unwrap_or(NO_DEADLINE);
        q = q.filter(
            Condition::any()
                .add(petition::Column::SortDeadline.gt(after_deadline))
                .add(
                    Condition::all()
                        .add(petition::Column::SortDeadline.eq(after_deadline))
                        .add(petition::Column::Id.gt(after_id)),
                ),
        );
    }
    Ok(q.order_by_asc(petition::Column::SortDeadline)
        .order_by_asc(petition::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// An accusation never reaches the accused: staff of the accused organisation, or of one
/// below it, neither see nor count it (their own unit and its ancestors are in their path).
/// Every staff read of petitions (the work list, the figures, their drill-downs) filters by it.
pub fn hide_accused(viewer: &fengqiao_domain::identity::OrgScope) -> sea_orm::Condition {
    use fengqiao_domain::identity::OrgScope;
    use sea_orm::Condition;
    match viewer {
        OrgScope::All => Condition::all(),
        OrgScope::Subtree(prefix) => {
            let own_and_above: Vec<Uuid> = prefix
                .split('/')
                .filter_map(|segment| segment.parse().ok())
                .collect();
            Condition::any()
                .add(petition::Column::AccusedOrgId.is_null())
                .add(petition::Column::AccusedOrgId.is_not_in(own_and_above))
        }
    }
}

/// Whether staff in `scope` may see `row` (see `fengqiao_domain::petition::staff_may_see`).
pub async fn visible_to(
    db: &impl ConnectionTrait,
    scope: &fengqiao_domain::identity::OrgScope,
    row: &PetitionRow,
) -> Result<bool, StoreError> {
    if matches!(scope, fengqiao_domain::identity::OrgScope::All) {
        return Ok(true);
    }
    let path = |id: Option<Uuid>| async move {
        match id {
            Some(id) => super::org::get(db, id).await.map(|u| Some(u.path)),
            None => Ok(None),
        }
    };
    let township = path(Some(row.township_id)).await?.unwrap_or_default();
    let handling = path(row.handling_org_id).await?;
    let accused = path(row.accused_org_id).await?;
    if fengqiao_domain::petition::staff_may_see(
        scope,
        &township,
        handling.as_deref(),
        accused.as_deref(),
    ) {
        return Ok(true);
    }
    // A body handling it jointly sees it too (still never the accused).
    for org in co_handlers(db, row.id).await? {
        let co = path(Some(org)).await?;
        if fengqiao_domain::petition::staff_may_see(
            scope,
            &township,
            co.as_deref(),
            accused.as_deref(),
        ) && co.as_deref().is_some_and(|p| scope.covers(p))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The calendar entries between two days (inclusive).
pub async fn calendar_days(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<calendar_day::Model>, StoreError> {
    Ok(calendar_day::Entity::find()
        .filter(calendar_day::Column::Day.gte(from))
        .filter(calendar_day::Column::Day.lte(to))
        .order_by_asc(calendar_day::Column::Day)
        .all(db)
        .await?)
}

/// Marks a day as a holiday or a make-up workday (replacing what it was).
pub async fn set_calendar_day(
    db: &impl ConnectionTrait,
    day: NaiveDate,
    kind: &str,
    name: &str,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::OnConflict;
    // An upsert: two edits of one day at once both succeed, the later one standing.
    calendar_day::Entity::insert(calendar_day::ActiveModel {
        day: Set(day),
        kind: Set(kind.to_owned()),
        name: Set(name.to_owned()),
    })
    .on_conflict(
        OnConflict::column(calendar_day::Column::Day)
            .update_columns([calendar_day::Column::Kind, calendar_day::Column::Name])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Makes a day ordinary again; whether it was marked.
pub async fn clear_calendar_day(
    db: &impl ConnectionTrait,
    day: NaiveDate,
) -> Result<bool, StoreError> {
    Ok(calendar_day::Entity::delete_by_id(day)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// A petition the overdue job has just found past its deadline.
#[derive(Debug, Clone)]
pub struct FoundOverdue {
    pub id: Uuid,
    pub tracking_no: String,
    pub deadline_kind: Option<String>,
    pub last_day: NaiveDate,
}

/// Marks up to `batch` open petitions whose deadline passed before `today` and that are not
/// yet marked, each in its own transaction (the petition row first, then the audit chain, the
/// same order as every other change, so the job never deadlocks with staff at work): the mark,
/// an internal event, an outbox reminder and an audit entry. Returns what it marked; run again
/// until it returns nothing.
pub async fn mark_overdue(
    db: &sea_orm::DatabaseConnection,
    today: NaiveDate,
    batch: u64,
    now: DateTime<Utc>,
) -> Result<Vec<FoundOverdue>, StoreError> {
    let candidates = petition::Entity::find()
        .filter(petition::Column::NextDeadline.lt(today))
        .filter(petition::Column::OverdueSince.is_null())
        .order_by_asc(petition::Column::SortDeadline)
        .limit(batch)
        .all(db)
        .await?;
    let mut found = Vec::with_capacity(candidates.len());
    for row in candidates {
        let Some(last_day) = row.next_deadline else {
            continue;
        };
        let txn = super::begin_write(db).await?;
        let marked = petition::Entity::update_many()
            .col_expr(
                petition::Column::OverdueSince,
                sea_orm::sea_query::Expr::value(Some(today)),
            )
            .filter(petition::Column::Id.eq(row.id))
            .filter(petition::Column::OverdueSince.is_null())
            .filter(petition::Column::NextDeadline.lt(today))
            .exec(&txn)
            .await?;
        if marked.rows_affected != 1 {
            // A transition moved it on since it was read: nothing to mark.
            continue;
        }
        petition_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            petition_id: Set(row.id),
            at: Set(now),
            actor_kind: Set("system".into()),
            actor_id: Set(None),
            event: Set("overdue".into()),
            from_state: Set(Some(row.state.clone())),
            to_state: Set(row.state.clone()),
            reason: Set(None),
            public: Set(false),
            detail: Set(
                serde_json::json!({"deadline_kind": row.deadline_kind, "last_day": last_day})
                    .to_string(),
            ),
        }
        .insert(&txn)
        .await?;
        outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            topic: Set("petition.overdue".into()),
            petition_id: Set(Some(row.id)),
            payload: Set(serde_json::json!({
                "petition_id": row.id,
                "tracking_no": row.tracking_no,
                "deadline_kind": row.deadline_kind,
                "last_day": last_day,
                "handling_org_id": row.handling_org_id,
            })
            .to_string()),
            created_at: Set(now),
            dispatched_at: Set(None),
        }
        .insert(&txn)
        .await?;
        super::audit::append_in(
            &txn,
            &super::audit::Actor::system(),
            &super::audit::Origin::default(),
            super::audit::Event::new("petition.marked_overdue").on("petition", row.id),
            now,
        )
        .await?;
        txn.commit().await?;
        found.push(FoundOverdue {
            id: row.id,
            tracking_no: row.tracking_no,
            deadline_kind: row.deadline_kind,
            last_day,
        });
    }
    Ok(found)
}

pub use super::entities::supervision_order::Model as SupervisionOrderRow;

/// An internal event on a petition that changes no state (ownership, supervision).
pub struct Note<'a> {
    pub event: &'a str,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub detail: serde_json::Value,
    /// When set, an outbox message on this topic tells the people concerned.
    pub topic: Option<&'a str>,
    /// Whether the citizen's timeline shows it (a handler's message does).
    pub public: bool,
    pub now: DateTime<Utc>,
}

/// Records a note on a petition, with its outbox message when it has a topic.
pub async fn record_note(
    db: &impl ConnectionTrait,
    row: &PetitionRow,
    note: Note<'_>,
) -> Result<(), StoreError> {
    let Note {
        event,
        actor_id,
        reason,
        detail,
        topic,
        public,
        now,
    } = note;
    petition_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        petition_id: Set(row.id),
        at: Set(now),
        actor_kind: Set("staff".into()),
        actor_id: Set(Some(actor_id.to_string())),
        event: Set(event.to_owned()),
        from_state: Set(Some(row.state.clone())),
        to_state: Set(row.state.clone()),
        reason: Set(reason.clone()),
        public: Set(public),
        detail: Set(detail.to_string()),
    }
    .insert(db)
    .await?;
    if let Some(topic) = topic {
        outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            topic: Set(topic.to_owned()),
            petition_id: Set(Some(row.id)),
            payload: Set(serde_json::json!({
                "petition_id": row.id,
                "tracking_no": row.tracking_no,
                "state": row.state,
                "at": now,
                "detail": detail,
                "reason": if public { reason } else { None },
            })
            .to_string()),
            created_at: Set(now),
            dispatched_at: Set(None),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Names the leader who owns the case (包案).
pub async fn set_owner(
    db: &impl ConnectionTrait,
    id: Uuid,
    leader: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    petition::Entity::update_many()
        .col_expr(
            petition::Column::OwnerLeaderId,
            sea_orm::sea_query::Expr::value(Some(leader)),
        )
        .col_expr(
            petition::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(petition::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn add_supervision_order(
    db: &impl ConnectionTrait,
    petition_id: Uuid,
    issued_by: Uuid,
    instruction: &str,
    due_on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<SupervisionOrderRow, StoreError> {
    use super::entities::supervision_order;
    Ok(supervision_order::ActiveModel {
        id: Set(Uuid::now_v7()),
        petition_id: Set(petition_id),
        issued_by: Set(issued_by),
        instruction: Set(instruction.to_owned()),
        due_on: Set(due_on),
        reply: Set(None),
        replied_by: Set(None),
        replied_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?)
}

pub async fn supervision_orders(
    db: &impl ConnectionTrait,
    petition_id: Uuid,
) -> Result<Vec<SupervisionOrderRow>, StoreError> {
    use super::entities::supervision_order;
    Ok(supervision_order::Entity::find()
        .filter(supervision_order::Column::PetitionId.eq(petition_id))
        .order_by_asc(supervision_order::Column::Id)
        .all(db)
        .await?)
}

pub async fn supervision_order(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<SupervisionOrderRow>, StoreError> {
    use super::entities::supervision_order;
    Ok(supervision_order::Entity::find_by_id(id).one(db).await?)
}

/// Records the reply to an order; only the first reply counts (a conditional update).
pub async fn reply_supervision_order(
    db: &impl ConnectionTrait,
    id: Uuid,
    replied_by: Uuid,
    reply: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use super::entities::supervision_order;
    let done = supervision_order::Entity::update_many()
        .col_expr(
            supervision_order::Column::Reply,
            sea_orm::sea_query::Expr::value(Some(reply.to_owned())),
        )
        .col_expr(
            supervision_order::Column::RepliedBy,
            sea_orm::sea_query::Expr::value(Some(replied_by)),
        )
        .col_expr(
            supervision_order::Column::RepliedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(supervision_order::Column::Id.eq(id))
        .filter(supervision_order::Column::RepliedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

pub use super::entities::routing_rule::Model as RoutingRuleRow;

pub async fn routing_rules(db: &impl ConnectionTrait) -> Result<Vec<RoutingRuleRow>, StoreError> {
    use super::entities::routing_rule;
    Ok(routing_rule::Entity::find()
        .order_by_asc(routing_rule::Column::CategoryCode)
        .order_by_asc(routing_rule::Column::Id)
        .all(db)
        .await?)
}

/// Sets the rule for a category (and township): it replaces the one it overlaps.
pub async fn set_routing_rule(
    db: &impl ConnectionTrait,
    category_code: &str,
    township_id: Option<Uuid>,
    to_org_id: Uuid,
    now: DateTime<Utc>,
) -> Result<RoutingRuleRow, StoreError> {
    use super::entities::routing_rule;
    let mut same = routing_rule::Entity::delete_many()
        .filter(routing_rule::Column::CategoryCode.eq(category_code));
    same = match township_id {
        Some(t) => same.filter(routing_rule::Column::TownshipId.eq(t)),
        None => same.filter(routing_rule::Column::TownshipId.is_null()),
    };
    same.exec(db).await?;
    Ok(routing_rule::ActiveModel {
        id: Set(Uuid::now_v7()),
        category_code: Set(category_code.to_owned()),
        township_id: Set(township_id),
        to_org_id: Set(to_org_id),
        created_at: Set(now),
    }
    .insert(db)
    .await?)
}

pub async fn delete_routing_rule(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    use super::entities::routing_rule;
    Ok(routing_rule::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// The further bodies handling a petition jointly.
pub async fn co_handlers(
    db: &impl ConnectionTrait,
    petition_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    use super::entities::petition_co_handler;
    Ok(petition_co_handler::Entity::find()
        .filter(petition_co_handler::Column::PetitionId.eq(petition_id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.org_id)
        .collect())
}

/// Replaces the set of bodies handling a petition jointly.
pub async fn set_co_handlers(
    db: &impl ConnectionTrait,
    petition_id: Uuid,
    orgs: &[Uuid],
) -> Result<(), StoreError> {
    use super::entities::petition_co_handler;
    petition_co_handler::Entity::delete_many()
        .filter(petition_co_handler::Column::PetitionId.eq(petition_id))
        .exec(db)
        .await?;
    for org in orgs {
        petition_co_handler::ActiveModel {
            petition_id: Set(petition_id),
            org_id: Set(*org),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Fills the register with `count` synthetic petitions for benchmarks, `batch` rows per insert,
/// calling `progress` after each batch. Every row is marked by its `SEED` tracking number.
pub async fn seed(
    db: &sea_orm::DatabaseConnection,
    count: u64,
    batch: u64,
    townships: &[Uuid],
    citizen_id: Uuid,
    mut progress: impl FnMut(u64),
) -> Result<(), StoreError> {
    let categories = [
        "land",
        "housing",
        "labour",
        "transport",
        "environment",
        "other",
    ];
    let states = [
        "registered",
        "awaiting_acceptance",
        "in_handling",
        "answered",
        "closed",
    ];
    let today = chrono::Utc::now().date_naive();
    let now = Utc::now();
    let mut done = 0;
    while done < count {
        let n = batch.min(count - done);
        let rows: Vec<petition::ActiveModel> = (done..done + n)
            .map(|i| {
                let idx = usize::try_from(i).unwrap_or(0);
                let offset = i64::try_from(i % 61).unwrap_or(0) - 30;
                let deadline = today + chrono::Duration::days(offset);
                petition::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tracking_no: Set(format!("SEED{i:012}")),
                    query_code_hash: Set(String::new()),
                    kind: Set("complaint".into()),
                    channel: Set("online".into()),
                    category_code: Set(categories[idx % categories.len()].into()),
                    matter_category: Set("claim".into()),
                    rateable: Set(true),
                    title: Set(format!("基准测试信访事项 {i}")),
                    content: Set("用于性能基准测试的合成数据，不代表真实信访事项。".into()),
                    township_id: Set(townships[idx % townships.len()]),
                    village_id: Set(None),
                    latitude: Set(None),
                    longitude: Set(None),
                    group_size: Set(None),
                    citizen_id: Set(Some(citizen_id)),
                    petitioner_name: Set(None),
                    petitioner_phone: Set(None),
                    petitioner_phone_hash: Set(None),
                    state: Set(states[idx % states.len()].into()),
                    checkpoint: Set("township".into()),
                    handling_org_id: Set(None),
                    routed_to_org_id: Set(None),
                    accused_org_id: Set(None),
                    owner_leader_id: Set(None),
                    registered_on: Set(today),
                    sent_on: Set(None),
                    accepted_on: Set(None),
                    answered_on: Set(None),
                    review_requested_on: Set(None),
                    review_decided_on: Set(None),
                    rereview_requested_on: Set(None),
                    rereview_decided_on: Set(None),
                    extension_days: Set(None),
                    rating: Set(None),
                    outcome: Set(None),
                    next_deadline: Set(Some(deadline)),
                    deadline_kind: Set(Some("dispose".into())),
                    sort_deadline: Set(deadline),
                    overdue_since: Set(None),
                    flagged: Set(false),
                    flag_reason: Set(None),
                    repeat_of: Set(None),
                    version: Set(0),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..steps_model(&Steps::registered(today, Some(deadline)))
                }
            })
            .collect();
        petition::Entity::insert_many(rows).exec(db).await?;
        done += n;
        progress(done);
    }
    Ok(())
}
/// The recent petitions of the same petitioner (by account, or by phone for letters and calls)
/// about the same category and township, for repeat detection.
pub async fn earlier_of(
    db: &impl ConnectionTrait,
    citizen_id: Option<Uuid>,
    phone_hash: Option<&str>,
    category_code: &str,
    township_id: Uuid,
) -> Result<Vec<PetitionRow>, StoreError> {
    use sea_orm::Condition;
    let mut who = Condition::any();
    if let Some(id) = citizen_id {
        who = who.add(petition::Column::CitizenId.eq(id));
    }
    if let Some(hash) = phone_hash {
        who = who.add(petition::Column::PetitionerPhoneHash.eq(hash));
    }
    if citizen_id.is_none() && phone_hash.is_none() {
        return Ok(Vec::new());
    }
    Ok(petition::Entity::find()
        .filter(who)
        .filter(petition::Column::CategoryCode.eq(category_code))
        .filter(petition::Column::TownshipId.eq(township_id))
        .order_by_desc(petition::Column::Id)
        .limit(50)
        .all(db)
        .await?)
}

/// An integrator's petition by its own id.
pub async fn find_by_source(
    db: &impl ConnectionTrait,
    client_id: &str,
    external_id: &str,
) -> Result<Option<PetitionRow>, StoreError> {
    Ok(petition::Entity::find()
        .filter(petition::Column::SourceClientId.eq(client_id))
        .filter(petition::Column::ExternalId.eq(external_id))
        .one(db)
        .await?)
}

/// The smallest UUID v7 of the millisecond `at`: every id made from then on is at least this.
pub fn v7_floor(at: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}

/// A public step of an integrator's petition, for its change feed.
pub struct Change {
    pub event: petition_event::Model,
    pub tracking_no: String,
    pub external_id: Option<String>,
}

/// The public steps of the petitions `client_id` created, in the order they were recorded
/// (event ids are time-ordered), after `after`, recorded before `settled_before`: a step still
/// inside a transaction that began earlier could otherwise commit behind a reader's cursor.
pub async fn changes_for_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    after: Option<Uuid>,
    settled_before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Change>, StoreError> {
    use sea_orm::QueryTrait;
    let theirs = petition::Entity::find()
        .select_only()
        .column(petition::Column::Id)
        .filter(petition::Column::SourceClientId.eq(client_id))
        .into_query();
    // Settled by the id's own clock (UUID v7 leads with its millisecond), the order the feed
    // pages in: an event time taken earlier in a slow request cannot let a later id through.
    let mut q = petition_event::Entity::find()
        .filter(petition_event::Column::Public.eq(true))
        .filter(petition_event::Column::Id.lt(v7_floor(settled_before)))
        .filter(petition_event::Column::PetitionId.in_subquery(theirs));
    if let Some(after) = after {
        q = q.filter(petition_event::Column::Id.gt(after));
    }
    let events = q
        .order_by_asc(petition_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = events.iter().map(|e| e.petition_id).collect();
    let petitions = petition::Entity::find()
        .filter(petition::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(events
        .into_iter()
        .filter_map(|event| {
            let p = petitions.iter().find(|p| p.id == event.petition_id)?;
            Some(Change {
                tracking_no: p.tracking_no.clone(),
                external_id: p.external_id.clone(),
                event,
            })
        })
        .collect())
}

/// What an Open311 `GET requests` asks for, among one integrator's petitions.
#[derive(Debug, Default)]
pub struct RequestFilter {
    /// Tracking numbers (`service_request_id`); when given, the other filters are ignored, as
    /// the standard says.
    pub tracking_nos: Vec<String>,
    pub service_codes: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The states that make up `open` or `closed`.
    pub states: Option<Vec<String>>,
}

/// One integrator's petitions for Open311, newest first, at most `limit`.
pub async fn requests_of_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    filter: &RequestFilter,
    limit: u64,
) -> Result<Vec<PetitionRow>, StoreError> {
    let mut q = petition::Entity::find().filter(petition::Column::SourceClientId.eq(client_id));
    if !filter.tracking_nos.is_empty() {
        q = q.filter(petition::Column::TrackingNo.is_in(filter.tracking_nos.iter().cloned()));
    } else {
        if !filter.service_codes.is_empty() {
            q = q
                .filter(petition::Column::CategoryCode.is_in(filter.service_codes.iter().cloned()));
        }
        if let Some(from) = filter.from {
            q = q.filter(petition::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            q = q.filter(petition::Column::CreatedAt.lte(to));
        }
        if let Some(states) = &filter.states {
            q = q.filter(petition::Column::State.is_in(states.iter().cloned()));
        }
    }
    Ok(q.order_by_desc(petition::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
