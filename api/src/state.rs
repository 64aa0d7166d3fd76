//! What every request can reach: the database, the shared cache and rate limiter, storage,
//! token keys and metrics. Cloned into each worker; everything inside is shared, and nothing
//! that matters across requests lives only in one process when Redis is configured.

use std::sync::Arc;

use fengqiao_domain::ports::ObjectStorage;
use fengqiao_infra::Settings;
use fengqiao_infra::cache::SharedState;
use fengqiao_infra::crypto::Keyring;
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
    pub tokens: Arc<TokenKeys>,
    pub metrics: Metrics,
    pub settings: Arc<Settings>,
}
