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
