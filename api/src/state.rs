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
    pub sms: Arc<fengqiao_infra::sms::SmsGateway>,
    pub webhooks: Arc<fengqiao_infra::webhooks::WebhookSender>,
    /// Checks user-written text; a flagged petition is held for review, never dropped.
    pub moderation: Arc<dyn fengqiao_domain::ports::Moderation>,
    pub tokens: Arc<TokenKeys>,
    pub metrics: Metrics,
    pub settings: Arc<Settings>,
    /// Categories, calendar, routing rules and places, held for seconds (see `reference`).
    pub reference: Arc<crate::reference::ReferenceCache>,
    /// Tracking numbers from blocks of the shared daily counter.
    pub tracking: Arc<fengqiao_infra::db::petitions::TrackingNumbers>,
    /// Article views counted in memory, added to the database every few seconds.
    pub views: Arc<crate::public::articles::ViewCounter>,
    /// This instance's near copy of the cached public responses (see `public`).
    pub public_near: Arc<crate::public::NearCache>,
    pub feeds: Arc<fengqiao_infra::feeds::FeedFetcher>,
}

impl AppState {
    /// Opens the transaction of a state change; its audit entry goes in with `audit_in`.
    pub async fn begin_change(
        &self,
    ) -> Result<sea_orm::DatabaseTransaction, crate::error::ApiError> {
        fengqiao_infra::db::begin_write(&self.db)
            .await
            .map_err(|e| fengqiao_infra::db::StoreError::from(e).into())
    }

    /// Appends to the audit trail inside the change's transaction: they commit together.
    pub async fn audit_in(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        actor: &Actor,
        origin: &Origin,
        event: Event,
    ) -> Result<(), crate::error::ApiError> {
        audit::append_in(txn, actor, origin, event, chrono::Utc::now()).await?;
        Ok(())
    }

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
/// change to it overwrites the entry at once (`staff_changed`); the lifetime only bounds how
/// long a change made while the cache was unreachable could go unseen.
const STAFF_STANDING_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// The account and its unit's path, from the shared cache or the database. Checked on every
    /// staff request, so it is cached rather than read three times per request.
    ///
    /// A request fills the cache only if the entry is absent, and a change overwrites it: so a
    /// request that read the account just before a deactivation cannot put the old standing
    /// back after the change has written the new one.
    pub async fn staff_standing(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<(fengqiao_domain::identity::StaffAccount, String)>, crate::error::ApiError>
    {
        let key = staff_standing_key(id);
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
                .set_if_absent(&key, &bytes, STAFF_STANDING_TTL)
                .await
        {
            tracing::warn!(error = %e, "could not cache a staff standing");
        }
        Ok(standing)
    }

    /// Replaces the cached standing after the account changed (roles, activity, tokens
    /// revoked), so every instance sees the change on its next request.
    pub async fn staff_changed(&self, id: uuid::Uuid) {
        let key = staff_standing_key(id);
        let fresh = fengqiao_infra::db::staff::get_with_org_path(&self.db, id).await;
        let written = match fresh {
            Ok(Some(found)) => match serde_json::to_vec(&found) {
                Ok(bytes) => {
                    self.shared
                        .cache
                        .set(&key, &bytes, STAFF_STANDING_TTL)
                        .await
                }
                Err(_) => self.shared.cache.delete(&key).await,
            },
            _ => self.shared.cache.delete(&key).await,
        };
        if let Err(e) = written {
            tracing::error!(error = %e, staff_id = %id, "could not refresh a cached staff standing; it lapses within 30 s");
        }
    }
}

fn staff_standing_key(id: uuid::Uuid) -> String {
    format!("staff-standing:{id}")
}
