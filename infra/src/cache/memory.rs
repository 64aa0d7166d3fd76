//! In-process cache and rate limiter for the single-process embedded default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fengqiao_domain::ports::{Cache, RateDecision, RateLimiter, Unavailable};

/// Above this many entries, expired ones are swept on write, so memory stays bounded by the
/// live working set.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (Vec<u8>, Instant)>>,
}

fn poisoned() -> Unavailable {
    Unavailable::new("in-process cache", "lock poisoned")
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        let mut entries = self.entries.lock().map_err(|_| poisoned())?;
        match entries.get(key) {
            Some((value, expires)) if *expires > Instant::now() => Ok(Some(value.clone())),
            Some(_) => {
                entries.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), Unavailable> {
        let mut entries = self.entries.lock().map_err(|_| poisoned())?;
        let now = Instant::now();
        if entries.len() >= SWEEP_THRESHOLD {
            entries.retain(|_, (_, expires)| *expires > now);
        }
        entries.insert(key.to_owned(), (value.to_vec(), now + ttl));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Unavailable> {
        self.entries.lock().map_err(|_| poisoned())?.remove(key);
        Ok(())
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, Unavailable> {
        let mut entries = self.entries.lock().map_err(|_| poisoned())?;
        let now = Instant::now();
        if entries.get(key).is_some_and(|(_, expires)| *expires > now) {
            return Ok(false);
        }
        entries.insert(key.to_owned(), (value.to_vec(), now + ttl));
        Ok(true)
    }

    async fn ping(&self) -> Result<(), Unavailable> {
        Ok(())
    }
}

/// Fixed-window counters: (window start, count) per key.
#[derive(Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, (Instant, u64)>>,
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<RateDecision, Unavailable> {
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| Unavailable::new("in-process rate limiter", "lock poisoned"))?;
        let now = Instant::now();
        if windows.len() >= SWEEP_THRESHOLD {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        Ok(decide(
            entry.1,
            limit,
            window.saturating_sub(now.duration_since(entry.0)),
        ))
    }
}

/// The verdict for the `count`-th hit in a window that has `left` to run.
pub(crate) fn decide(count: u64, limit: u64, left: Duration) -> RateDecision {
    if count <= limit {
        RateDecision::Allowed {
            remaining: limit - count,
        }
    } else {
        // Round up: a client told "0 s" would retry at once and be refused again.
        RateDecision::Limited {
            retry_after: Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cached_values_expire() {
        let cache = MemoryCache::default();
        cache
            .set("k", b"v", Duration::from_millis(30))
            .await
            .unwrap();
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn only_the_first_of_two_set_if_absent_wins_until_expiry() {
        let cache = MemoryCache::default();
        let ttl = Duration::from_millis(30);
        assert!(cache.set_if_absent("lock", b"a", ttl).await.unwrap());
        assert!(!cache.set_if_absent("lock", b"b", ttl).await.unwrap());
        assert_eq!(cache.get("lock").await.unwrap().as_deref(), Some(&b"a"[..]));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(cache.set_if_absent("lock", b"c", ttl).await.unwrap());
    }

    #[tokio::test]
    async fn the_limit_plus_one_hit_is_refused_with_a_retry_hint() {
        let limiter = MemoryRateLimiter::default();
        let window = Duration::from_secs(60);
        for left in (0..3).rev() {
            assert_eq!(
                limiter.hit("ip", 3, window).await.unwrap(),
                RateDecision::Allowed { remaining: left }
            );
        }
        match limiter.hit("ip", 3, window).await.unwrap() {
            RateDecision::Limited { retry_after } => {
                assert!(retry_after <= window && retry_after.as_secs() >= 59)
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(matches!(
            limiter.hit("other-ip", 3, window).await.unwrap(),
            RateDecision::Allowed { .. }
        ));
    }
}
