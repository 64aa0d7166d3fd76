//! What every request can reach: the database, the shared cache and rate limiter, storage,
//! token keys and metrics. Cloned into each worker; everything inside is shared, and nothing
//! that matters across requests lives only in one process when Redis is configured.

use std::sync::Arc;

use fengqiao_domain::ports::ObjectStorage;
use fengqiao_infra::Settings;
use fengqiao_infra::cache::SharedState;
use fengqiao_infra::crypto::Keyring;
use fengqiao_infra::db::audit::{self, Actor, Event, Origin};
use fengqiao_infra::wechat::WeChatClient;
use sea_orm::DatabaseConnection;

use crate::metrics::Metrics;
use crate::tokens::TokenKeys;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub shared: SharedState,
    pub storage: Arc<dyn ObjectStorage>,
    /// Seals and opens personal data; makes lookup hashes.
    pub crypto: Arc<Keyring>,
    pub wechat: Arc<WeChatClient>,
    pub tokens: Arc<TokenKeys>,
    pub metrics: Metrics,
    pub settings: Arc<Settings>,
}

impl AppState {
    /// Appends to the audit trail. Fails closed: if the entry cannot be written the request
    /// fails too, so nothing audited happens unrecorded (and no personal data is revealed).
    pub async fn audit(
        &self,
        actor: &Actor,
        origin: &Origin,
        event: Event,
    ) -> Result<(), crate::error::ApiError> {
        audit::append(&self.db, actor, origin, event, chrono::Utc::now()).await?;
        Ok(())
    }
}

/// How long a staff member's standing (active, token version, roles, unit) is cached. Every
/// change to it deletes the entry at once (`staff_changed`); the lifetime only bounds how long a
/// change made while the cache was unreachable could go unseen.
const STAFF_STANDING_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// The account and its unit's path, from the shared cache or the database. Checked on every
    /// staff request, so it is cached rather than read three times per request.
    pub async fn staff_standing(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<(fengqiao_domain::identity::StaffAccount, String)>, crate::error::ApiError>
    {
        let key = format!("staff-standing:{id}");
        if let Ok(Some(bytes)) = self.shared.cache.get(&key).await
            && let Ok(standing) = serde_json::from_slice(&bytes)
        {
            return Ok(Some(standing));
        }
        let standing = fengqiao_infra::db::staff::get_with_org_path(&self.db, id).await?;
        if let Some(found) = &standing
            && let Ok(bytes) = serde_json::to_vec(found)
            && let Err(e) = self
                .shared
                .cache
                .set(&key, &bytes, STAFF_STANDING_TTL)
                .await
        {
            tracing::warn!(error = %e, "could not cache a staff standing");
        }
        Ok(standing)
    }

    /// Forgets a cached standing after the account changed (roles, activity, tokens revoked).
    pub async fn staff_changed(&self, id: uuid::Uuid) {
        if let Err(e) = self
            .shared
            .cache
            .delete(&format!("staff-standing:{id}"))
            .await
        {
            tracing::error!(error = %e, staff_id = %id, "could not forget a cached staff standing; it lapses within 30 s");
        }
    }
}
