//! What anyone may read without signing in: the guide and the news centre, the contacts page
//! and the leaders' reception schedule. Responses carry an `ETag` and a short `Cache-Control`
//! (`If-None-Match` gives 304), and the JSON ones are kept in the shared cache (Redis, or in
//! process) under a version that every editor's change replaces, so a change shows at once.

pub mod articles;
pub mod reception;

use std::future::Future;
use std::time::Duration;

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
    pub body: Vec<u8>,
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
        Self { etag, body }
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
            body: bytes.get(26..)?.to_vec(),
        })
    }
}

/// The response for `key`, from the shared cache or built (and then kept). With the cache
/// down it is built every time: slower, never wrong.
pub async fn cached<F, Fut>(state: &AppState, key: &str, build: F) -> Result<Tagged, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<u8>, ApiError>>,
{
    let cache = &state.shared.cache;
    let version = match cache.get(VERSION_KEY).await {
        Ok(v) => v.map_or_else(
            || "0".to_owned(),
            |v| String::from_utf8_lossy(&v).into_owned(),
        ),
        Err(_) => return Ok(Tagged::new(build().await?)),
    };
    let full = format!("public:{version}:{key}");
    if let Ok(Some(bytes)) = cache.get(&full).await
        && let Some(tagged) = Tagged::from_bytes(bytes)
    {
        return Ok(tagged);
    }
    let tagged = Tagged::new(build().await?);
    if let Err(e) = cache.set(&full, &tagged.to_bytes(), CACHED_FOR).await {
        tracing::warn!(error = %e, "could not keep a public response in the cache");
    }
    Ok(tagged)
}

/// After a change to public content: every cached public response is out of date at once.
pub async fn invalidate(state: &AppState) {
    let version = uuid::Uuid::new_v4().simple().to_string();
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
pub fn cacheable(req: &HttpRequest, content_type: &str, tagged: Tagged) -> HttpResponse {
    let Tagged { etag, body } = tagged;
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
