//! Integrator clients (the 12345 hotline, city and provincial systems): a public client id, a
//! secret shown once and stored as a SHA-256 hash (it is 256 random bits, so a slow hash adds
//! nothing), scopes and a rate limit.

use chrono::{DateTime, Utc};
use fengqiao_domain::identity::ClientScope;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::StoreError;
use super::entities::api_client;

pub use api_client::Model as ApiClientRow;

/// SHA-256 of a high-entropy token, hex-encoded (client secrets, refresh tokens).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random token of 256 bits, URL-safe.
pub fn random_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates a client; returns it with its secret, which is not stored and cannot be shown again.
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    scopes: &[ClientScope],
    rate_limit_per_minute: u32,
    created_by: Uuid,
    now: DateTime<Utc>,
) -> Result<(ApiClientRow, String), StoreError> {
    let mut id_bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut id_bytes);
    let secret = random_token();
    let row = api_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(format!("fq_{}", hex::encode(id_bytes))),
        name: Set(name.to_owned()),
        secret_hash: Set(token_hash(&secret)),
        scopes: Set(ClientScope::join(scopes)),
        rate_limit_per_minute: Set(i32::try_from(rate_limit_per_minute).unwrap_or(i32::MAX)),
        revoked_at: Set(None),
        created_by: Set(created_by),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((row, secret))
}

pub async fn find_by_client_id(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<ApiClientRow>, StoreError> {
    Ok(api_client::Entity::find()
        .filter(api_client::Column::ClientId.eq(client_id))
        .one(db)
        .await?)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ApiClientRow>, StoreError> {
    Ok(api_client::Entity::find()
        .order_by_asc(api_client::Column::Id)
        .all(db)
        .await?)
}

/// Revokes a client: its secret and every token it holds stop working at once.
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ApiClientRow>, StoreError> {
    let Some(row) = api_client::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return Ok(Some(row));
    }
    let mut active: api_client::ActiveModel = row.into();
    active.revoked_at = Set(Some(now));
    Ok(Some(active.update(db).await?))
}

/// Whether `secret` is this client's, compared in constant time.
pub fn secret_matches(row: &ApiClientRow, secret: &str) -> bool {
    let presented = token_hash(secret);
    presented.len() == row.secret_hash.len()
        && presented
            .bytes()
            .zip(row.secret_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
