//! Status push in the database: fanning outbox messages out into the citizen's inbox and into
//! deliveries, claiming due deliveries under a lease, recording each attempt and what follows
//! from it, dead letters, subscribe-message grants and integrators' webhook endpoints.
//!
//! Exactly once in effect: an outbox message is fanned out in the transaction that marks it
//! done, so its deliveries exist once; a delivery is claimed by one dispatcher at a time (a
//! lease: its due time moved past the attempt, taken with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, under SQLite's single writer otherwise); a dispatcher that dies mid-attempt
//! leaves the lease to run out and the delivery to be claimed again; the delivery's id travels
//! with it as the receiver's idempotency key.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fengqiao_domain::messaging::{
    AfterAttempt, AttemptOutcome, CitizenMessage, DeliveryChannel, DeliveryState, EventFacts,
    Grant, SubscribeChoice, citizen_message, customised, endpoint_should_disable,
};
use fengqiao_domain::{DomainError, Text};
use sea_orm::TransactionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{
    citizen, delivery, delivery_attempt, notification, outbox, petition, subscription_grant,
    webhook_endpoint,
};
use crate::crypto::Keyring;

pub use super::entities::delivery::Model as DeliveryRow;
pub use super::entities::delivery_attempt::Model as AttemptRow;
pub use super::entities::notification::Model as NotificationRow;
pub use super::entities::webhook_endpoint::Model as EndpointRow;

/// Sealing contexts: each kind of sealed value has its own, so one cannot pass for another.
pub const NOTIFICATION_BODY: &str = "notifications.body";
pub const DELIVERY_PAYLOAD: &str = "deliveries.payload";
pub const WEBHOOK_SECRET: &str = "webhook_endpoints.secret";
pub const OUTBOX_QUERY_CODE: &str = "outbox.query_code";

/// Which push channel has a template for which event, from configuration.
#[derive(Debug, Clone, Default)]
pub struct FanOutPolicy {
    pub wechat: HashSet<String>,
    pub sms: HashSet<String>,
    /// Configured inbox texts by event: (title, body) templates.
    pub inbox: HashMap<String, (Option<String>, Option<String>)>,
}

impl FanOutPolicy {
    /// The citizen's message for the facts, with the configured texts, if the event has one.
    pub fn message(&self, facts: &EventFacts) -> Option<CitizenMessage> {
        let message = citizen_message(facts)?;
        Some(match self.inbox.get(&facts.event) {
            Some((title, body)) => customised(message, facts, title.as_deref(), body.as_deref()),
            None => message,
        })
    }
}

fn not_found() -> StoreError {
    DomainError::NotFound {
        code: "not_found",
        message: Text::new("记录不存在", "no such record"),
    }
    .into()
}

/// The facts of an outbox message, read from its payload and the petition as it now is.
fn facts_of(
    row: &outbox::Model,
    petition: Option<&petition::Model>,
    keyring: &Keyring,
) -> EventFacts {
    let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap_or_default();
    let text = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    EventFacts {
        event: row
            .topic
            .strip_prefix("petition.")
            .unwrap_or(&row.topic)
            .to_owned(),
        tracking_no: petition
            .map(|p| p.tracking_no.clone())
            .or_else(|| text("tracking_no"))
            .unwrap_or_default(),
        record_id: row
            .petition_id
            .map(|id| id.to_string())
            .or_else(|| text("booking_id"))
            .unwrap_or_default(),
        title: petition
            .map(|p| p.title.clone())
            .or_else(|| text("session"))
            .unwrap_or_default(),
        state: text("state")
            .or_else(|| petition.map(|p| p.state.clone()))
            .unwrap_or_default(),
        reason: text("reason"),
        deadline: text("deadline").and_then(|d| d.parse().ok()),
        query_code: text("query_code")
            .and_then(|sealed| keyring.open(OUTBOX_QUERY_CODE, &sealed).ok()),
        at: payload
            .get("at")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or(row.created_at),
    }
}

/// What a webhook receives: the event, never a name, a text the citizen wrote, a reason or a
/// query code (an integrator reads those through the API it is entitled to).
pub fn webhook_body(delivery_id: Uuid, topic: &str, facts: &EventFacts) -> serde_json::Value {
    serde_json::json!({
        "type": topic,
        "timestamp": facts.at,
        "data": {
            "delivery_id": delivery_id,
            "petition_id": facts.record_id,
            "tracking_no": facts.tracking_no,
            "event": facts.event,
            "state": facts.state,
            "deadline": facts.deadline,
        }
    })
}

/// Fans out up to `batch` outbox messages: the citizen's inbox entry, one push delivery (WeChat
/// when it has a template for the event, else SMS when a phone is known) and one delivery per
/// webhook endpoint that asked for the event, of the integrator that created the petition;
/// then marks them done, all in one transaction.
/// Returns how many messages it took.
pub async fn fan_out(
    db: &DatabaseConnection,
    keyring: &Keyring,
    policy: &FanOutPolicy,
    batch: u64,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    // A plain read first: an idle dispatcher never takes SQLite's write lock.
    let any = outbox::Entity::find()
        .filter(outbox::Column::DispatchedAt.is_null())
        .one(db)
        .await?;
    if any.is_none() {
        return Ok(0);
    }
    let txn = super::begin_write(db).await?;
    let mut pending = outbox::Entity::find()
        .filter(outbox::Column::DispatchedAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .limit(batch);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        pending = pending.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = pending.all(&txn).await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    // Every endpoint: one switched off still gets its deliveries, held until it is back on.
    let endpoints = webhook_endpoint::Entity::find().all(&txn).await?;
    let mut done = Vec::with_capacity(rows.len());
    for row in &rows {
        // Each message under a savepoint of its own: one that cannot be fanned out (a
        // configured text too long for its column, say) is set aside and retried next round,
        // and never holds up the messages behind it.
        let one = txn.begin().await?;
        match fan_out_one(&one, keyring, policy, row, &endpoints, now).await {
            Ok(()) => {
                one.commit().await?;
                done.push(row.id);
            }
            Err(e) => {
                one.rollback().await?;
                tracing::warn!(outbox = %row.id, error = %e, "could not fan out an outbox message; set aside for the next round");
            }
        }
    }
    if done.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    outbox::Entity::update_many()
        .col_expr(outbox::Column::DispatchedAt, Expr::value(Some(now)))
        .filter(outbox::Column::Id.is_in(done.iter().copied()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(done.len())
}

/// One outbox message's inbox entry and deliveries.
async fn fan_out_one(
    txn: &DatabaseTransaction,
    keyring: &Keyring,
    policy: &FanOutPolicy,
    row: &outbox::Model,
    endpoints: &[EndpointRow],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let petition = match row.petition_id {
        Some(id) => petition::Entity::find_by_id(id).one(txn).await?,
        None => None,
    };
    let facts = facts_of(row, petition.as_ref(), keyring);
    if let Some(message) = policy.message(&facts) {
        // A petition's petitioner; for other events (bookings) the citizen they name.
        let citizen_id = petition.as_ref().and_then(|p| p.citizen_id).or_else(|| {
            serde_json::from_str::<serde_json::Value>(&row.payload)
                .ok()
                .and_then(|v| v["citizen_id"].as_str().and_then(|s| s.parse().ok()))
        });
        let citizen = match citizen_id {
            Some(id) => citizen::Entity::find_by_id(id).one(txn).await?,
            None => None,
        };
        if let Some(citizen) = &citizen {
            insert_notification(txn, keyring, row, citizen.id, &facts, &message, now).await?;
        }
        let phone_known = citizen.as_ref().is_some_and(|c| c.phone.is_some())
            || petition
                .as_ref()
                .is_some_and(|p| p.petitioner_phone.is_some());
        let channel = if citizen.is_some() && policy.wechat.contains(&facts.event) {
            Some(DeliveryChannel::Wechat)
        } else if phone_known && policy.sms.contains(&facts.event) {
            Some(DeliveryChannel::Sms)
        } else {
            None
        };
        if let Some(channel) = channel {
            let to = Recipient::Citizen(citizen_id);
            insert_delivery(txn, keyring, row, channel, to, &facts, now).await?;
        }
    }
    // An integrator hears only of the petitions it is entitled to read: those it created. A
    // petition's events never reach a client that did not bring it, as its reads and change
    // feed answer 404 for them too.
    let source = petition
        .as_ref()
        .and_then(|p| p.source_client_id.as_deref());
    for endpoint in endpoints.iter().filter(|e| {
        source == Some(e.client_id.as_str())
            && e.event_types.split_whitespace().any(|t| t == row.topic)
    }) {
        let to = Recipient::Endpoint(endpoint.id, endpoint.active);
        insert_delivery(txn, keyring, row, DeliveryChannel::Webhook, to, &facts, now).await?;
    }
    Ok(())
}

/// Who a delivery goes to.
enum Recipient {
    Citizen(Option<Uuid>),
    /// An endpoint, and whether it is switched on (if not, the delivery is held).
    Endpoint(Uuid, bool),
}

async fn insert_notification(
    txn: &impl ConnectionTrait,
    keyring: &Keyring,
    row: &outbox::Model,
    citizen_id: Uuid,
    facts: &EventFacts,
    message: &CitizenMessage,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        citizen_id: Set(citizen_id),
        outbox_id: Set(row.id),
        petition_id: Set(row.petition_id),
        event: Set(facts.event.clone()),
        // The column's width; a configured title may run longer.
        title: Set(message.title.chars().take(64).collect()),
        body: Set(seal(keyring, NOTIFICATION_BODY, &message.body)?),
        page: Set(message.page.clone()),
        created_at: Set(now),
        read_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}

async fn insert_delivery(
    txn: &impl ConnectionTrait,
    keyring: &Keyring,
    row: &outbox::Model,
    channel: DeliveryChannel,
    to: Recipient,
    facts: &EventFacts,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(facts)
        .map_err(|e| StoreError::Corrupt(format!("event facts: {e}")))?;
    let (citizen_id, endpoint_id, state) = match to {
        Recipient::Citizen(id) => (id, None, DeliveryState::Pending),
        Recipient::Endpoint(id, true) => (None, Some(id), DeliveryState::Pending),
        Recipient::Endpoint(id, false) => (None, Some(id), DeliveryState::Held),
    };
    delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        outbox_id: Set(row.id),
        channel: Set(channel.as_str().to_owned()),
        event: Set(row.topic.clone()),
        petition_id: Set(row.petition_id),
        citizen_id: Set(citizen_id),
        endpoint_id: Set(endpoint_id),
        payload: Set(seal(keyring, DELIVERY_PAYLOAD, &payload)?),
        state: Set(state.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        delivered_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}

fn seal(keyring: &Keyring, context: &str, value: &str) -> Result<String, StoreError> {
    keyring
        .seal(context, value)
        .map_err(|e| StoreError::Corrupt(format!("cannot seal {context}: {e}")))
}

/// The facts a delivery carries.
pub fn delivery_facts(keyring: &Keyring, row: &DeliveryRow) -> Result<EventFacts, StoreError> {
    let json = keyring
        .open(DELIVERY_PAYLOAD, &row.payload)
        .map_err(|e| StoreError::Corrupt(format!("delivery payload: {e}")))?;
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("delivery payload: {e}")))
}

/// Claims up to `batch` due deliveries for one attempt each: their attempt count goes up and
/// their due time moves to the end of the lease, so no other dispatcher takes them meanwhile.
pub async fn claim_due(
    db: &DatabaseConnection,
    batch: u64,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let any = delivery::Entity::find()
        .filter(delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .one(db)
        .await?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let txn = super::begin_write(db).await?;
    let mut due = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .limit(batch);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<Uuid> = due.into_tuple().all(&txn).await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    let lease_end = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(lease_end))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let claimed = delivery::Entity::find()
        .filter(delivery::Column::Id.is_in(ids))
        .order_by_asc(delivery::Column::Id)
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(claimed)
}

/// The result of one attempt, to record.
pub struct Attempted<'a> {
    pub outcome: &'a AttemptOutcome,
    pub next: AfterAttempt,
    pub duration: Duration,
    pub now: DateTime<Utc>,
    /// For a fallback: the channel to try instead, if the person can be reached on one.
    pub fallback: Option<DeliveryChannel>,
    /// For webhooks: switch an endpoint off after failing this long.
    pub disable_after: Duration,
}

/// Records an attempt and moves the delivery on (delivered, due again, fallen back to the next
/// channel, or dead-lettered), in one transaction. A dispatcher whose lease ran out and whose
/// delivery was claimed again in the meantime records its attempt but moves nothing: the
/// newer claim decides. Returns whether this attempt decided.
pub async fn record_attempt(
    db: &DatabaseConnection,
    claimed: &DeliveryRow,
    attempted: Attempted<'_>,
) -> Result<bool, StoreError> {
    let Attempted {
        outcome,
        next,
        duration,
        now,
        fallback,
        disable_after,
    } = attempted;
    let txn = super::begin_write(db).await?;
    delivery_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(claimed.id),
        attempt: Set(claimed.attempts),
        at: Set(now),
        outcome: Set(outcome.kind().to_owned()),
        error: Set(outcome.error().map(str::to_owned)),
        duration_ms: Set(i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)),
    }
    .insert(&txn)
    .await?;
    let (state, due, delivered_at) = match next {
        AfterAttempt::Delivered => (DeliveryState::Delivered, now, Some(now)),
        AfterAttempt::RetryIn(wait) => (
            DeliveryState::Pending,
            now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)),
            None,
        ),
        AfterAttempt::FallBack => (DeliveryState::FellBack, now, None),
        AfterAttempt::DeadLetter => (DeliveryState::Dead, now, None),
    };
    let moved = delivery::Entity::update_many()
        .col_expr(delivery::Column::State, Expr::value(state.as_str()))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(due))
        .col_expr(
            delivery::Column::LastError,
            Expr::value(outcome.error().map(str::to_owned)),
        )
        .col_expr(delivery::Column::DeliveredAt, Expr::value(delivered_at))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::Id.eq(claimed.id))
        // The claim's token: its attempt number and the instant it was claimed (an
        // administrator's retry starts the count again, so the number alone could match a
        // stale claim).
        .filter(delivery::Column::Attempts.eq(claimed.attempts))
        .filter(delivery::Column::UpdatedAt.eq(claimed.updated_at))
        .filter(delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if moved
        && next == AfterAttempt::FallBack
        && let Some(channel) = fallback
    {
        delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            outbox_id: Set(claimed.outbox_id),
            channel: Set(channel.as_str().to_owned()),
            event: Set(claimed.event.clone()),
            petition_id: Set(claimed.petition_id),
            citizen_id: Set(claimed.citizen_id),
            endpoint_id: Set(None),
            payload: Set(claimed.payload.clone()),
            state: Set(DeliveryState::Pending.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            delivered_at: Set(None),
        }
        .insert(&txn)
        .await?;
    }
    if moved && let Some(endpoint_id) = claimed.endpoint_id {
        endpoint_health(&txn, endpoint_id, outcome, now, disable_after).await?;
    }
    txn.commit().await?;
    Ok(moved)
}

/// Keeps an endpoint's record of failure: since when it has failed without a success, its
/// last error, and switches it off (with the reason its owner sees) once that lasts too long.
async fn endpoint_health(
    txn: &DatabaseTransaction,
    endpoint_id: Uuid,
    outcome: &AttemptOutcome,
    now: DateTime<Utc>,
    disable_after: Duration,
) -> Result<(), StoreError> {
    let Some(endpoint) = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    // A healthy endpoint's row is written at most once a minute, not on every delivery: the
    // deliveries to one endpoint would otherwise queue on its row lock.
    let recently_fine = endpoint.failing_since.is_none()
        && endpoint
            .last_success_at
            .is_some_and(|at| now.signed_duration_since(at) < chrono::Duration::minutes(1));
    if outcome.error().is_none() && recently_fine {
        return Ok(());
    }
    let mut active: webhook_endpoint::ActiveModel = endpoint.clone().into();
    match outcome.error() {
        None => {
            active.failing_since = Set(None);
            active.last_success_at = Set(Some(now));
        }
        Some(error) => {
            let since = endpoint.failing_since.unwrap_or(now);
            active.failing_since = Set(Some(since));
            active.last_error = Set(Some(error.to_owned()));
            if endpoint.active && endpoint_should_disable(Some(since), now, disable_after) {
                // What it still has due waits for it, not lost and not hammering it.
                delivery::Entity::update_many()
                    .col_expr(
                        delivery::Column::State,
                        Expr::value(DeliveryState::Held.as_str()),
                    )
                    .filter(delivery::Column::EndpointId.eq(endpoint_id))
                    .filter(delivery::Column::State.eq(DeliveryState::Pending.as_str()))
                    .exec(txn)
                    .await?;
                super::audit::append_in(
                    txn,
                    &super::audit::Actor::system(),
                    &super::audit::Origin::default(),
                    super::audit::Event::new("webhook_endpoint.disabled")
                        .on("webhook_endpoint", endpoint_id)
                        .with(serde_json::json!({ "error": error })),
                    now,
                )
                .await?;
                active.active = Set(false);
                active.disabled_reason = Set(Some(format!(
                    "自 {} 起投递持续失败，已自动停用；最近一次错误：{error}",
                    fengqiao_domain::calendar::to_local(since).format("%Y-%m-%d %H:%M")
                )));
            }
        }
    }
    active.updated_at = Set(now);
    active.update(txn).await?;
    Ok(())
}

/// One page of deliveries for administrators, newest first, by state and channel.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    state: Option<DeliveryState>,
    channel: Option<DeliveryChannel>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut query = delivery::Entity::find().order_by_desc(delivery::Column::Id);
    if let Some(state) = state {
        query = query.filter(delivery::Column::State.eq(state.as_str()));
    }
    if let Some(channel) = channel {
        query = query.filter(delivery::Column::Channel.eq(channel.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(delivery::Column::Id.lt(before));
    }
    Ok(query.limit(limit).all(db).await?)
}

pub async fn delivery(db: &impl ConnectionTrait, id: Uuid) -> Result<DeliveryRow, StoreError> {
    delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// The attempts of some deliveries, in order.
pub async fn attempts_of(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<Vec<AttemptRow>, StoreError> {
    Ok(delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(delivery_attempt::Column::DeliveryId)
        .order_by_asc(delivery_attempt::Column::Attempt)
        .all(db)
        .await?)
}

fn not_dead() -> StoreError {
    DomainError::Conflict {
        code: "delivery_not_dead",
        message: Text::new(
            "只能重试或放弃已转入死信的投递",
            "only a dead-lettered delivery can be retried or discarded",
        ),
    }
    .into()
}

/// Puts a dead letter back in line for a fresh round of attempts.
pub async fn retry_dead(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<DeliveryRow, StoreError> {
    let moved = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Pending.as_str()),
        )
        .col_expr(delivery::Column::Attempts, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::State.eq(DeliveryState::Dead.as_str()))
        .exec(db)
        .await?
        .rows_affected;
    let row = delivery(db, id).await?;
    if moved == 0 {
        return Err(not_dead());
    }
    Ok(row)
}

/// Gives a dead letter up for good.
pub async fn discard_dead(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<DeliveryRow, StoreError> {
    let moved = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Discarded.as_str()),
        )
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::State.eq(DeliveryState::Dead.as_str()))
        .exec(db)
        .await?
        .rows_affected;
    let row = delivery(db, id).await?;
    if moved == 0 {
        return Err(not_dead());
    }
    Ok(row)
}

// ---- the citizen's inbox ----

/// One page of a citizen's notifications, newest first.
pub async fn notifications(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    unread_only: bool,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<NotificationRow>, StoreError> {
    let mut query = notification::Entity::find()
        .filter(notification::Column::CitizenId.eq(citizen_id))
        .order_by_desc(notification::Column::Id);
    if unread_only {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(before) = before {
        query = query.filter(notification::Column::Id.lt(before));
    }
    Ok(query.limit(limit).all(db).await?)
}

pub async fn unread_count(db: &impl ConnectionTrait, citizen_id: Uuid) -> Result<u64, StoreError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::CitizenId.eq(citizen_id))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// A citizen's own notification; another's is "not found", never "forbidden".
pub async fn notification(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    id: Uuid,
) -> Result<NotificationRow, StoreError> {
    notification::Entity::find_by_id(id)
        .filter(notification::Column::CitizenId.eq(citizen_id))
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// Marks notifications read (one, or all when `id` is `None`); returns how many changed.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut update = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Some(now)))
        .filter(notification::Column::CitizenId.eq(citizen_id))
        .filter(notification::Column::ReadAt.is_null());
    if let Some(id) = id {
        update = update.filter(notification::Column::Id.eq(id));
    }
    Ok(update.exec(db).await?.rows_affected)
}

// ---- subscribe-message grants ----

fn grant_of(row: &subscription_grant::Model) -> Grant {
    Grant {
        long_term: row.long_term,
        remaining: u32::try_from(row.remaining).unwrap_or(0),
        refused: row.refused,
    }
}

/// The citizen's grants, by template.
pub async fn grants(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
) -> Result<Vec<(String, Grant, DateTime<Utc>)>, StoreError> {
    Ok(subscription_grant::Entity::find()
        .filter(subscription_grant::Column::CitizenId.eq(citizen_id))
        .order_by_asc(subscription_grant::Column::TemplateId)
        .all(db)
        .await?
        .iter()
        .map(|r| (r.template_id.clone(), grant_of(r), r.updated_at))
        .collect())
}

/// Applies the citizen's choices (template, choice, whether the template is long-term) inside
/// the caller's write transaction: each grant row is made if missing, then locked, read and
/// written, so that two taps at once both count.
pub async fn record_choices(
    txn: &DatabaseTransaction,
    citizen_id: Uuid,
    choices: &[(String, SubscribeChoice, bool)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::OnConflict;
    for (template_id, choice, long_term) in choices {
        subscription_grant::Entity::insert(subscription_grant::ActiveModel {
            citizen_id: Set(citizen_id),
            template_id: Set(template_id.clone()),
            long_term: Set(false),
            remaining: Set(0),
            refused: Set(false),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                subscription_grant::Column::CitizenId,
                subscription_grant::Column::TemplateId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        let mut find = subscription_grant::Entity::find_by_id((citizen_id, template_id.clone()));
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            find = find.lock(LockType::Update);
        }
        let existing = find
            .one(txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a grant vanished in its own transaction".into()))?;
        let after = grant_of(&existing).after_choice(*choice, *long_term);
        let mut row: subscription_grant::ActiveModel = existing.into();
        row.long_term = Set(after.long_term);
        row.remaining = Set(i32::try_from(after.remaining).unwrap_or(0));
        row.refused = Set(after.refused);
        row.updated_at = Set(now);
        row.update(txn).await?;
    }
    Ok(())
}

/// Takes one message's allowance from a grant, atomically; `false` when there is none.
pub async fn reserve_grant(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let taken = subscription_grant::Entity::update_many()
        .col_expr(
            subscription_grant::Column::Remaining,
            Expr::cust("CASE WHEN long_term THEN remaining ELSE remaining - 1 END"),
        )
        .col_expr(subscription_grant::Column::UpdatedAt, Expr::value(now))
        .filter(subscription_grant::Column::CitizenId.eq(citizen_id))
        .filter(subscription_grant::Column::TemplateId.eq(template_id))
        .filter(subscription_grant::Column::Refused.eq(false))
        .filter(Expr::cust("(long_term OR remaining > 0)"))
        .exec(db)
        .await?
        .rows_affected;
    Ok(taken == 1)
}

/// Gives back an allowance taken for a message that was not sent (unless the citizen has
/// turned the template off since, and never past the cap).
pub async fn release_grant(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    subscription_grant::Entity::update_many()
        .col_expr(
            subscription_grant::Column::Remaining,
            Expr::cust("CASE WHEN long_term THEN remaining ELSE remaining + 1 END"),
        )
        .col_expr(subscription_grant::Column::UpdatedAt, Expr::value(now))
        .filter(subscription_grant::Column::CitizenId.eq(citizen_id))
        .filter(subscription_grant::Column::TemplateId.eq(template_id))
        .filter(subscription_grant::Column::Refused.eq(false))
        .filter(
            subscription_grant::Column::Remaining.lt(i32::try_from(
                fengqiao_domain::messaging::MAX_ONE_TIME_GRANTS,
            )
            .unwrap_or(i32::MAX)),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// WeChat answered 43101: whatever we counted, nothing is left on this grant.
pub async fn grant_used_up(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    subscription_grant::Entity::update_many()
        .col_expr(subscription_grant::Column::Remaining, Expr::value(0))
        .col_expr(subscription_grant::Column::LongTerm, Expr::value(false))
        .col_expr(subscription_grant::Column::UpdatedAt, Expr::value(now))
        .filter(subscription_grant::Column::CitizenId.eq(citizen_id))
        .filter(subscription_grant::Column::TemplateId.eq(template_id))
        .exec(db)
        .await?;
    Ok(())
}

// ---- webhook endpoints ----

pub struct NewEndpoint {
    pub client_id: String,
    pub url: String,
    pub sealed_secret: String,
    pub event_types: Vec<String>,
}

pub async fn create_endpoint(
    db: &impl ConnectionTrait,
    new: NewEndpoint,
    now: DateTime<Utc>,
) -> Result<EndpointRow, StoreError> {
    Ok(webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(new.client_id),
        url: Set(new.url),
        secret: Set(new.sealed_secret),
        event_types: Set(new.event_types.join(" ")),
        active: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        last_success_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Takes the integrator client's row lock for the rest of the transaction (PostgreSQL; SQLite's
/// write transaction already excludes other writers): changes to its endpoints take turns.
pub async fn lock_client(txn: &DatabaseTransaction, client_id: &str) -> Result<(), StoreError> {
    use super::entities::api_client;
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        api_client::Entity::find()
            .filter(api_client::Column::ClientId.eq(client_id))
            .lock(LockType::Update)
            .one(txn)
            .await?;
    }
    Ok(())
}

pub async fn endpoints_of(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Vec<EndpointRow>, StoreError> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::ClientId.eq(client_id))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?)
}

/// An endpoint, for the dispatcher.
pub async fn endpoint(db: &impl ConnectionTrait, id: Uuid) -> Result<EndpointRow, StoreError> {
    webhook_endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// A client's own endpoint; another client's is "not found".
pub async fn endpoint_of(
    db: &impl ConnectionTrait,
    client_id: &str,
    id: Uuid,
) -> Result<EndpointRow, StoreError> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(not_found)
}

pub struct EndpointChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// Switching an endpoint back on clears its failure record.
    pub active: Option<bool>,
}

pub async fn update_endpoint(
    db: &impl ConnectionTrait,
    row: EndpointRow,
    change: EndpointChange,
    now: DateTime<Utc>,
) -> Result<EndpointRow, StoreError> {
    let id = row.id;
    let mut active: webhook_endpoint::ActiveModel = row.into();
    if let Some(url) = change.url {
        active.url = Set(url);
    }
    if let Some(types) = change.event_types {
        active.event_types = Set(types.join(" "));
    }
    match change.active {
        Some(true) => {
            active.active = Set(true);
            active.disabled_reason = Set(None);
            active.failing_since = Set(None);
            // What waited for it goes now, with a fresh round of attempts.
            delivery::Entity::update_many()
                .col_expr(
                    delivery::Column::State,
                    Expr::value(DeliveryState::Pending.as_str()),
                )
                .col_expr(delivery::Column::Attempts, Expr::value(0))
                .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
                .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
                .filter(delivery::Column::EndpointId.eq(id))
                .filter(delivery::Column::State.eq(DeliveryState::Held.as_str()))
                .exec(db)
                .await?;
        }
        Some(false) => {
            active.active = Set(false);
            active.disabled_reason = Set(Some("由接入方停用".into()));
        }
        None => {}
    }
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// Removes an endpoint, inside the caller's transaction; what it still had due or held is
/// discarded with the reason.
pub async fn delete_endpoint(
    txn: &DatabaseTransaction,
    row: EndpointRow,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Discarded.as_str()),
        )
        .col_expr(delivery::Column::LastError, Expr::value("endpoint deleted"))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::EndpointId.eq(row.id))
        .filter(delivery::Column::State.is_in([
            DeliveryState::Pending.as_str(),
            DeliveryState::Held.as_str(),
        ]))
        .exec(txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(row.id)
        .exec(txn)
        .await?;
    Ok(())
}

/// One page of an endpoint's delivery log, newest first.
pub async fn endpoint_deliveries(
    db: &impl ConnectionTrait,
    endpoint_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut query = delivery::Entity::find()
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(delivery::Column::Id);
    if let Some(before) = before {
        query = query.filter(delivery::Column::Id.lt(before));
    }
    Ok(query.limit(limit).all(db).await?)
}

/// How many outbox messages wait to be fanned out and deliveries to be attempted: for the
/// metrics and the benchmark's lag figure.
pub async fn backlog(db: &impl ConnectionTrait) -> Result<(u64, u64), StoreError> {
    let outbox = outbox::Entity::find()
        .filter(outbox::Column::DispatchedAt.is_null())
        .count(db)
        .await?;
    let pending = delivery::Entity::find()
        .filter(delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .count(db)
        .await?;
    Ok((outbox, pending))
}
