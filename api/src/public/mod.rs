//! What anyone may read without signing in: the guide and the news centre, the contacts page
//! and the leaders' reception schedule. Responses carry an `ETag` and a short `Cache-Control`
//! (`If-None-Match` gives 304), and the JSON ones are kept in the shared cache (Redis, or in
//! process) under a version that every editor's change replaces, so a change shows at once.
//!
//! In front of the shared cache each instance keeps a near copy ([`NearCache`]): the version
//! read at most a second ago and the responses built under it. A read then costs no trip to
//! Redis at all (two trips were four fifths of its cost); another instance's change shows here
//! within that second, this instance's own change at once.

pub mod articles;
pub mod reception;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    // The fixed .ics path before anything with a parameter.
    cfg.service(reception::schedule_ics)
        .service(reception::schedule)
        .service(articles::channels)
        .service(articles::channel_articles)
        .service(articles::article)
        .service(articles::contacts);
}

const VERSION_KEY: &str = "public:version";
/// How long a cached public response lives when nothing changes.
const CACHED_FOR: Duration = Duration::from_secs(60);

/// A response body and its ETag, computed once when the body is built.
pub struct Tagged {
    pub etag: String,
    /// Shared, not copied, by every answer that sends it.
    pub body: bytes::Bytes,
}

impl Tagged {
    pub fn new(body: Vec<u8>) -> Self {
        let digest = Sha256::digest(&body);
        let etag = format!(
            "\"{}\"",
            digest[..12]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Self {
            etag,
            body: body.into(),
        }
    }

    /// Kept as the 26-byte quoted tag followed by the body.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.etag.len() + self.body.len());
        out.extend_from_slice(self.etag.as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        let etag = std::str::from_utf8(bytes.get(..26)?).ok()?.to_owned();
        Some(Self {
            etag,
            body: bytes::Bytes::copy_from_slice(bytes.get(26..)?),
        })
    }
}

/// How long this instance trusts the version it last read from the shared cache.
const VERSION_FRESH_FOR: Duration = Duration::from_secs(1);
/// Near copies kept at most; past it they are dropped together (query strings vary, memory
/// must not).
const NEAR_ENTRIES: usize = 512;

/// This instance's near copy of the shared public cache.
#[derive(Default)]
pub struct NearCache {
    inner: Mutex<Near>,
}

#[derive(Default)]
struct Near {
    /// The version and when it was read.
    version: Option<(String, Instant)>,
    /// Responses under that version, with when they were kept.
    entries: HashMap<String, (Arc<Tagged>, Instant)>,
}

impl NearCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Near> {
        // A panic while holding it leaves plain data behind: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn version(&self) -> Option<String> {
        let near = self.lock();
        near.version
            .as_ref()
            .filter(|(_, at)| at.elapsed() < VERSION_FRESH_FOR)
            .map(|(v, _)| v.clone())
    }

    fn set_version(&self, version: &str) {
        let mut near = self.lock();
        if near.version.as_ref().is_none_or(|(v, _)| v != version) {
            near.entries.clear();
        }
        near.version = Some((version.to_owned(), Instant::now()));
    }

    fn get(&self, key: &str) -> Option<Arc<Tagged>> {
        let near = self.lock();
        near.entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < CACHED_FOR)
            .map(|(t, _)| t.clone())
    }

    fn put(&self, key: String, tagged: Arc<Tagged>) {
        let mut near = self.lock();
        if near.entries.len() >= NEAR_ENTRIES {
            near.entries.clear();
        }
        near.entries.insert(key, (tagged, Instant::now()));
    }
}

/// The response for `key`: from this instance's near copy, the shared cache, or built (and
/// then kept in both). With the shared cache down it is built every time: slower, never wrong.
pub async fn cached<F, Fut>(state: &AppState, key: &str, build: F) -> Result<Arc<Tagged>, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<u8>, ApiError>>,
{
    let near = &state.public_near;
    let version = match near.version() {
        Some(v) => v,
        None => match state.shared.cache.get(VERSION_KEY).await {
            Ok(v) => {
                let v = v.map_or_else(
                    || "0".to_owned(),
                    |v| String::from_utf8_lossy(&v).into_owned(),
                );
                near.set_version(&v);
                v
            }
            Err(_) => return Ok(Arc::new(Tagged::new(build().await?))),
        },
    };
    // Keyed by the version too: a response built under an older one, kept after a change,
    // is never served under the new one.
    let full = format!("public:{version}:{key}");
    if let Some(tagged) = near.get(&full) {
        return Ok(tagged);
    }
    let cache = &state.shared.cache;
    if let Ok(Some(bytes)) = cache.get(&full).await
        && let Some(tagged) = Tagged::from_bytes(bytes)
    {
        let tagged = Arc::new(tagged);
        near.put(full, tagged.clone());
        return Ok(tagged);
    }
    let tagged = Arc::new(Tagged::new(build().await?));
    if let Err(e) = cache.set(&full, &tagged.to_bytes(), CACHED_FOR).await {
        tracing::warn!(error = %e, "could not keep a public response in the cache");
    }
    near.put(full, tagged.clone());
    Ok(tagged)
}

/// After a change to public content: every cached public response is out of date at once
/// (on other instances within [`VERSION_FRESH_FOR`]).
pub async fn invalidate(state: &AppState) {
    let version = uuid::Uuid::new_v4().simple().to_string();
    state.public_near.set_version(&version);
    if let Err(e) = state
        .shared
        .cache
        .set(
            VERSION_KEY,
            version.as_bytes(),
            Duration::from_secs(30 * 86_400),
        )
        .await
    {
        // Entries live a minute: the change shows within it.
        tracing::warn!(error = %e, "could not invalidate cached public responses");
    }
}

/// Answers with the body, or 304 when the client already holds it.
pub fn cacheable(req: &HttpRequest, content_type: &str, tagged: Arc<Tagged>) -> HttpResponse {
    let (etag, body) = (tagged.etag.clone(), tagged.body.clone());
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        // A minute: a change shows within it in any proxy; the mini-program's lists stay cheap.
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"));
    if matches {
        res.finish()
    } else {
        res.content_type(content_type).body(body)
    }
}
