//! Short-lived shared state: the cache and the rate limiter. With Redis configured every
//! instance shares them; without it (the embedded default, one process) they live in memory.

mod memory;
mod redis_backend;

use std::sync::Arc;

use fengqiao_domain::ports::{Cache, RateLimiter};

pub use memory::{MemoryCache, MemoryRateLimiter};
pub use redis_backend::{RedisCache, RedisRateLimiter, connect as connect_redis};

use crate::config::Settings;

/// The shared-state adapters chosen by configuration.
#[derive(Clone)]
pub struct SharedState {
    pub cache: Arc<dyn Cache>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Which backend serves them, for start-up messages and readiness.
    pub backend: &'static str,
}

/// Redis when `redis.url` is set, in-process otherwise. Connecting is lazy: a Redis that is down
/// at start-up makes readiness fail (and requests that need it answer 503), not the start.
pub fn from_settings(settings: &Settings) -> anyhow::Result<SharedState> {
    match &settings.redis.url {
        Some(url) => {
            let conn = connect_redis(url.expose())?;
            let prefix = settings.redis.key_prefix.clone();
            Ok(SharedState {
                cache: Arc::new(RedisCache::new(conn.clone(), prefix.clone())),
                rate_limiter: Arc::new(RedisRateLimiter::new(conn, prefix)),
                backend: "redis",
            })
        }
        None => Ok(SharedState {
            cache: Arc::new(MemoryCache::default()),
            rate_limiter: Arc::new(MemoryRateLimiter::default()),
            backend: "in-process",
        }),
    }
}
