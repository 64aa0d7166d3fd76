//! Redis-backed cache and rate limiter, shared by every instance. Keys carry the configured
//! prefix. The connection manager reconnects by itself; while Redis is down calls fail fast
//! with `Unavailable` instead of hanging.

use std::time::Duration;

use async_trait::async_trait;
use fengqiao_domain::ports::{Cache, RateDecision, RateLimiter, Unavailable};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::memory::decide;

/// A lazily-connecting manager with short timeouts and few retries, so that a Redis outage
/// costs a request about two seconds, not a hung worker.
pub fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    Ok(ConnectionManager::new_lazy_with_config(client, config)?)
}

fn down(e: redis::RedisError) -> Unavailable {
    Unavailable::new("redis", e)
}

pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisCache {
    pub fn new(conn: ConnectionManager, prefix: String) -> Self {
        Self { conn, prefix }
    }

    fn key(&self, key: &str) -> String {
        format!("{}cache:{key}", self.prefix)
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        let mut conn = self.conn.clone();
        conn.get(self.key(key)).await.map_err(down)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ms)
            .query_async::<()>(&mut conn)
            .await
            .map_err(down)
    }

    async fn delete(&self, key: &str) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        conn.del::<_, ()>(self.key(key)).await.map_err(down)
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, Unavailable> {
        let mut conn = self.conn.clone();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ms)
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        Ok(stored.is_some())
    }

    async fn ping(&self) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(down)
    }
}

pub struct RedisRateLimiter {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisRateLimiter {
    pub fn new(conn: ConnectionManager, prefix: String) -> Self {
        Self { conn, prefix }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<RateDecision, Unavailable> {
        let mut conn = self.conn.clone();
        let key = format!("{}rate:{key}", self.prefix);
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        // One round trip, atomic: count the hit, start the window's clock on its first hit only
        // (NX), and read how long the window has left.
        let (count, left_ms): (u64, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1u64)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(window_ms)
            .arg("NX")
            .ignore()
            .pttl(&key)
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(window_ms));
        Ok(decide(count, limit, left))
    }
}
