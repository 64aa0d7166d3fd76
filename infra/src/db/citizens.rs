//! Citizens: WeChat identities, their sealed real-name data and their refresh-token families.
//! Sealing and opening happen in the caller with the keyring; this module stores what it is
//! given and never sees a clear name, ID or phone number.

use chrono::{DateTime, Utc};
use fengqiao_domain::identity::{RefreshTokenState, RefreshVerdict};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{citizen, refresh_token};

pub use citizen::Model as CitizenRow;

/// Finds the citizen with `openid`, or creates one; keeps `unionid` when WeChat gives one and
/// the latest sealed session key. A concurrent first login of the same person finds the row
/// the other request made.
pub async fn upsert_by_openid(
    db: &impl ConnectionTrait,
    openid: &str,
    unionid: Option<&str>,
    sealed_session_key: Option<String>,
    now: DateTime<Utc>,
) -> Result<(CitizenRow, bool), StoreError> {
    if let Some(existing) = find_by_openid(db, openid).await? {
        let mut row: citizen::ActiveModel = existing.into();
        if let Some(unionid) = unionid {
            row.unionid = Set(Some(unionid.to_owned()));
        }
        if sealed_session_key.is_some() {
            row.session_key = Set(sealed_session_key);
        }
        row.updated_at = Set(now);
        return Ok((row.update(db).await?, false));
    }
    // ON CONFLICT DO NOTHING: a concurrent first sign-in of the same person inserts nothing and
    // finds the row the other made (a failed insert would abort the whole transaction).
    let id = Uuid::now_v7();
    let inserted = citizen::Entity::insert(citizen::ActiveModel {
        id: Set(id),
        openid: Set(openid.to_owned()),
        unionid: Set(unionid.map(str::to_owned)),
        session_key: Set(sealed_session_key),
        name: Set(None),
        id_number: Set(None),
        id_number_hash: Set(None),
        phone: Set(None),
        phone_hash: Set(None),
        address: Set(None),
        real_name_at: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(citizen::Column::Openid)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let row = find_by_openid(db, openid)
        .await?
        .ok_or_else(|| StoreError::Corrupt("citizen vanished after its insert".into()))?;
    Ok((row, inserted == 1))
}

pub async fn find_by_openid(
    db: &impl ConnectionTrait,
    openid: &str,
) -> Result<Option<CitizenRow>, StoreError> {
    Ok(citizen::Entity::find()
        .filter(citizen::Column::Openid.eq(openid))
        .one(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<CitizenRow>, StoreError> {
    Ok(citizen::Entity::find_by_id(id).one(db).await?)
}

/// Sealed real-name details and their lookup hashes.
pub struct SealedRealName {
    pub name: String,
    pub id_number: String,
    pub id_number_hash: String,
    pub phone: String,
    pub phone_hash: String,
    /// Sealed home address, when given.
    pub address: Option<String>,
}

pub async fn set_real_name(
    db: &impl ConnectionTrait,
    id: Uuid,
    sealed: SealedRealName,
    now: DateTime<Utc>,
) -> Result<CitizenRow, StoreError> {
    Ok(citizen::ActiveModel {
        id: Set(id),
        name: Set(Some(sealed.name)),
        id_number: Set(Some(sealed.id_number)),
        id_number_hash: Set(Some(sealed.id_number_hash)),
        phone: Set(Some(sealed.phone)),
        phone_hash: Set(Some(sealed.phone_hash)),
        address: Set(sealed.address),
        real_name_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?)
}

pub async fn set_phone(
    db: &impl ConnectionTrait,
    id: Uuid,
    sealed_phone: String,
    phone_hash: String,
    now: DateTime<Utc>,
) -> Result<CitizenRow, StoreError> {
    Ok(citizen::ActiveModel {
        id: Set(id),
        phone: Set(Some(sealed_phone)),
        phone_hash: Set(Some(phone_hash)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?)
}

/// Citizens whose ID number has this lookup hash.
pub async fn find_by_id_number_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Vec<CitizenRow>, StoreError> {
    Ok(citizen::Entity::find()
        .filter(citizen::Column::IdNumberHash.eq(hash))
        .all(db)
        .await?)
}

/// Stores a new refresh token (its hash) in `family`.
pub async fn issue_refresh_token(
    db: &impl ConnectionTrait,
    citizen_id: Uuid,
    family_id: Uuid,
    token_hash: String,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(token_hash),
        family_id: Set(family_id),
        citizen_id: Set(citizen_id),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// What presenting a refresh token came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// Marked used: issue the next token of `family_id` to `citizen_id`.
    Rotated { citizen_id: Uuid, family_id: Uuid },
    /// It had been used before: the family is now revoked.
    Reused { citizen_id: Uuid, family_id: Uuid },
    /// Unknown, expired or revoked.
    Refused,
}

/// The token that replaces a presented one, if it is valid.
pub struct Successor {
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// Consumes a presented refresh token and, when it rotates, stores its successor in the same
/// transaction. Marking it used is conditional on it being unused, so of two concurrent
/// presentations one rotates and the other (blocked on the first's row lock, or serialised
/// behind it) finds it used and revokes the family, successor included.
pub async fn rotate_refresh_token<C>(
    db: &C,
    token_hash: &str,
    successor: Successor,
    now: DateTime<Utc>,
) -> Result<Presented, StoreError>
where
    C: ConnectionTrait + TransactionTrait,
{
    // IMMEDIATE on SQLite: the write lock is taken before the read, so a concurrent
    // presentation waits instead of failing on a stale snapshot. PostgreSQL ignores the mode.
    let txn = db
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .one(&txn)
        .await?
    else {
        return Ok(Presented::Refused);
    };
    let state = RefreshTokenState {
        used: row.used_at.is_some(),
        revoked: row.revoked_at.is_some(),
        expired: row.expires_at <= now,
    };
    let verdict = match state.verdict() {
        RefreshVerdict::Rotate => {
            let marked = refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
                .filter(refresh_token::Column::Id.eq(row.id))
                .filter(refresh_token::Column::UsedAt.is_null())
                .filter(refresh_token::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
            if marked.rows_affected == 1 {
                RefreshVerdict::Rotate
            } else {
                RefreshVerdict::RevokeFamily
            }
        }
        other => other,
    };
    let presented = match verdict {
        RefreshVerdict::Rotate => {
            issue_refresh_token(
                &txn,
                row.citizen_id,
                row.family_id,
                successor.token_hash,
                successor.expires_at,
                now,
            )
            .await?;
            Presented::Rotated {
                citizen_id: row.citizen_id,
                family_id: row.family_id,
            }
        }
        RefreshVerdict::RevokeFamily => {
            revoke_family(&txn, row.family_id, now).await?;
            Presented::Reused {
                citizen_id: row.citizen_id,
                family_id: row.family_id,
            }
        }
        RefreshVerdict::Refuse => Presented::Refused,
    };
    txn.commit().await?;
    Ok(presented)
}

/// Revokes every token of a family (logout, theft detected).
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The family a token belongs to, if the token is known.
pub async fn family_of(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(Uuid, Uuid)>, StoreError> {
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?
        .map(|r| (r.citizen_id, r.family_id)))
}
