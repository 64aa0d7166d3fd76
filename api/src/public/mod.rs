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

/// The response body for `key`, from the shared cache or built (and then kept). With the cache
/// down the body is built every time: slower, never wrong.
pub async fn cached<F, Fut>(state: &AppState, key: &str, build: F) -> Result<Vec<u8>, ApiError>
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
        Err(_) => return build().await,
    };
    let full = format!("public:{version}:{key}");
    if let Ok(Some(body)) = cache.get(&full).await {
        return Ok(body);
    }
    let body = build().await?;
    if let Err(e) = cache.set(&full, &body, CACHED_FOR).await {
        tracing::warn!(error = %e, "could not keep a public response in the cache");
    }
    Ok(body)
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
pub fn cacheable(req: &HttpRequest, content_type: &str, body: Vec<u8>) -> HttpResponse {
    let digest = Sha256::digest(&body);
    let etag = format!(
        "\"{}\"",
        digest[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
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
