//! The audit trail: append-only, one row per sign-in, state change, permission change and read
//! of clear personal data. Each row carries the SHA-256 of the previous row, so a row changed,
//! removed or inserted afterwards breaks the chain (`fengqiao audit verify` finds where).
//! Details never hold personal data: records are named by id only.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::StoreError;
use super::entities::audit_log;

/// Who acted.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// `staff`, `citizen`, `client`, `system` or `anonymous`.
    pub kind: &'static str,
    pub id: Option<String>,
    /// Staff roles (comma-separated) or client scopes, as held at the time.
    pub roles: Option<String>,
}

impl Actor {
    pub fn staff(id: Uuid, roles: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let roles: Vec<String> = roles.into_iter().map(|r| r.as_ref().to_owned()).collect();
        Self {
            kind: "staff",
            id: Some(id.to_string()),
            roles: Some(roles.join(",")),
        }
    }

    pub fn citizen(id: Uuid) -> Self {
        Self {
            kind: "citizen",
            id: Some(id.to_string()),
            roles: None,
        }
    }

    pub fn client(client_id: &str, scopes: &str) -> Self {
        Self {
            kind: "client",
            id: Some(client_id.to_owned()),
            roles: Some(scopes.to_owned()),
        }
    }

    /// Someone not (yet) identified, such as a failed sign-in.
    pub fn anonymous() -> Self {
        Self {
            kind: "anonymous",
            id: None,
            roles: None,
        }
    }

    /// The service itself, or an operator at the command line.
    pub fn system() -> Self {
        Self {
            kind: "system",
            id: None,
            roles: None,
        }
    }
}

/// Where the request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub struct Event {
    /// Dotted and stable, such as `staff.login.failed` or `citizen.personal_data.read`.
    pub action: &'static str,
    pub record_type: Option<&'static str>,
    pub record_id: Option<String>,
    /// Extra facts, by id and code only (never names, numbers or addresses).
    pub detail: serde_json::Value,
}

impl Event {
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            record_type: None,
            record_id: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn on(mut self, record_type: &'static str, record_id: impl ToString) -> Self {
        self.record_type = Some(record_type);
        self.record_id = Some(record_id.to_string());
        self
    }

    pub fn with(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Serialises appends across instances on PostgreSQL.
const AUDIT_LOCK_KEY: i64 = 0x6175_6469_745f_6c6f; // "audit_lo"

/// The hash of a row: SHA-256 over the previous hash and every field, as a JSON array (so no
/// two different rows serialise alike).
fn row_hash(prev: &str, m: &audit_log::Model) -> String {
    let fields = serde_json::json!([
        prev,
        m.seq,
        m.id,
        m.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        m.actor_kind,
        m.actor_id,
        m.actor_roles,
        m.action,
        m.record_type,
        m.record_id,
        m.ip,
        m.request_id,
        m.detail,
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Appends one entry in its own transaction, durable when this returns (sign-ins, refusals,
/// reads: events that change nothing else).
pub async fn append(
    db: &DatabaseConnection,
    actor: &Actor,
    origin: &Origin,
    event: Event,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let txn = super::begin_write(db).await?;
    let seq = append_in(&txn, actor, origin, event, at).await?;
    txn.commit().await?;
    Ok(seq)
}

/// Takes the chain's lock now, for a change whose checks must not race with another change:
/// on PostgreSQL the advisory lock that appends take (held to the end of the transaction);
/// on SQLite the write transaction already excludes other writers.
pub async fn lock_chain(txn: &DatabaseTransaction) -> Result<(), StoreError> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({AUDIT_LOCK_KEY})"))
            .await?;
    }
    Ok(())
}

/// Appends one entry inside the transaction of the change it records, so the change and its
/// entry commit together or not at all. Appends take turns (an advisory lock held to the end
/// of the transaction on PostgreSQL; on SQLite the transaction must be a write transaction,
/// see `begin_write`), so the chain never forks.
pub async fn append_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    origin: &Origin,
    event: Event,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({AUDIT_LOCK_KEY})"))
            .await?;
    }
    let last = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Seq)
        .one(txn)
        .await?;
    let (seq, prev_hash) = match last {
        Some(last) => (last.seq + 1, last.hash),
        None => (1, GENESIS.to_owned()),
    };
    let mut row = audit_log::Model {
        seq,
        id: Uuid::now_v7(),
        // Stored at microsecond precision, which both backends keep exactly.
        at: at.trunc_subsecs(6),
        actor_kind: actor.kind.to_owned(),
        actor_id: actor.id.clone(),
        actor_roles: actor.roles.clone(),
        action: event.action.to_owned(),
        record_type: event.record_type.map(str::to_owned),
        record_id: event.record_id,
        ip: origin.ip.clone(),
        request_id: origin.request_id.clone(),
        detail: event.detail.to_string(),
        prev_hash: prev_hash.clone(),
        hash: String::new(),
    };
    row.hash = row_hash(&prev_hash, &row);
    let active: audit_log::ActiveModel = row.into();
    audit_log::Entity::insert(active).exec(txn).await?;
    Ok(seq)
}

/// Where the chain breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    Intact { entries: u64 },
    Broken { seq: i64, reason: &'static str },
}

/// Recomputes the whole chain, in order, a batch at a time.
pub async fn verify(db: &impl ConnectionTrait) -> Result<ChainCheck, StoreError> {
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    loop {
        let batch = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_log::Column::Seq)
            .limit(500)
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(ChainCheck::Intact {
                entries: u64::try_from(expected_seq - 1).unwrap_or(0),
            });
        }
        for row in batch {
            if row.seq != expected_seq {
                return Ok(ChainCheck::Broken {
                    seq: expected_seq,
                    reason: "an entry is missing",
                });
            }
            if row.prev_hash != prev {
                return Ok(ChainCheck::Broken {
                    seq: row.seq,
                    reason: "it does not follow the entry before it",
                });
            }
            if row_hash(&prev, &row) != row.hash {
                return Ok(ChainCheck::Broken {
                    seq: row.seq,
                    reason: "its content does not match its hash",
                });
            }
            prev = row.hash;
            expected_seq += 1;
        }
    }
}

/// What to look for in the trail.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor_id: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Entries matching `filter`, newest first, `limit` at a time below `before_seq`.
pub async fn search(
    db: &impl ConnectionTrait,
    filter: &Filter,
    limit: u64,
    before_seq: Option<i64>,
) -> Result<Vec<audit_log::Model>, StoreError> {
    let mut q = audit_log::Entity::find().order_by_desc(audit_log::Column::Seq);
    if let Some(v) = &filter.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(v.as_str()));
    }
    if let Some(v) = &filter.record_type {
        q = q.filter(audit_log::Column::RecordType.eq(v.as_str()));
    }
    if let Some(v) = &filter.record_id {
        q = q.filter(audit_log::Column::RecordId.eq(v.as_str()));
    }
    if let Some(v) = &filter.action {
        q = q.filter(audit_log::Column::Action.eq(v.as_str()));
    }
    if let Some(v) = filter.from {
        q = q.filter(audit_log::Column::At.gte(v));
    }
    if let Some(v) = filter.to {
        q = q.filter(audit_log::Column::At.lt(v));
    }
    if let Some(seq) = before_seq {
        q = q.filter(audit_log::Column::Seq.lt(seq));
    }
    Ok(q.limit(limit).all(db).await?)
}
