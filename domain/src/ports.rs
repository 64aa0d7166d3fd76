//! The ports through which rules and handlers reach the outside world. Each has an embedded
//! implementation (in-process, local disk) and a production one (Redis, object store) in `infra`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A dependency could not answer (Redis down, disk full). The HTTP layer answers 503 with a
/// retry hint; the request's state change, if any, has not happened.
#[derive(Debug, thiserror::Error)]
#[error("{dependency} is unavailable: {reason}")]
pub struct Unavailable {
    pub dependency: &'static str,
    pub reason: String,
}

impl Unavailable {
    pub fn new(dependency: &'static str, reason: impl std::fmt::Display) -> Self {
        Self {
            dependency,
            reason: reason.to_string(),
        }
    }
}

/// The current time, behind a port so deadline and schedule rules run at a fixed "now" in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// A cache of short-lived values shared by every instance of the service.
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), Unavailable>;
    async fn delete(&self, key: &str) -> Result<(), Unavailable>;
    /// Stores `value` only when `key` is absent; `true` when this call stored it. A short-lived
    /// lock shared by every instance (`SET key value NX PX ttl` on Redis).
    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, Unavailable>;
    /// Answers whether the cache's backing service is reachable (for readiness checks).
    async fn ping(&self) -> Result<(), Unavailable>;
}

/// The verdict on one request against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed { remaining: u64 },
    Limited { retry_after: Duration },
}

/// Counts events per key in fixed windows, shared by every instance of the service.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    async fn hit(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<RateDecision, Unavailable>;
}

/// Where uploaded files live: local disk in the embedded default, an object store in production.
#[async_trait]
pub trait ObjectStorage: Send + Sync {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Unavailable>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable>;
    async fn delete(&self, key: &str) -> Result<(), Unavailable>;
}

/// What content moderation says of a text. A petition is a legal right: `Review` and `Risky`
/// hold it for staff review and the citizen is told; nothing is silently dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModerationVerdict {
    Pass,
    Review { label: String },
    Risky { label: String },
}

impl ModerationVerdict {
    /// The stricter of two verdicts.
    pub fn worst(self, other: ModerationVerdict) -> ModerationVerdict {
        use ModerationVerdict::*;
        match (&self, &other) {
            (Risky { .. }, _) => self,
            (_, Risky { .. }) => other,
            (Review { .. }, _) => self,
            (_, Review { .. }) => other,
            _ => Pass,
        }
    }
}

/// Checks user-written text (the WeChat content-security API, a local word list, …).
#[async_trait]
pub trait Moderation: Send + Sync {
    /// `author` is the WeChat openid of the writer, when there is one.
    async fn check(
        &self,
        text: &str,
        author: Option<&str>,
    ) -> Result<ModerationVerdict, Unavailable>;
}
