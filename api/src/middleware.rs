//! Request-wide middleware.
//!
//! `request_context` wraps every request: it takes or makes the `X-Request-Id`, opens the span
//! every log line of the request carries, turns panics into 500s, renders every error as a
//! problem document in the caller's language, records metrics and logs the outcome.
//!
//! `rate_limit` counts requests per client address in the shared limiter.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpMessage};
use fengqiao_domain::ports::RateDecision;
use futures_util::FutureExt;
use tracing::Instrument;

use crate::error::{ApiError, Lang, PROBLEM_JSON};
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A caller's id is kept when it is short and plain; anything else is replaced, so ids are safe
/// to log and to echo.
fn accept_request_id(value: Option<&HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = accept_request_id(req.headers().get(&REQUEST_ID));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let lang = Lang::negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let state = req.app_data::<Data<AppState>>().cloned();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);

    // The call happens inside the guarded future, so a panic while routing or handling is
    // caught too. The request is not cloned before routing: actix needs it unshared to route.
    let call = async move { next.call(req).await };
    let outcome = AssertUnwindSafe(call.instrument(span.clone()))
        .catch_unwind()
        .await;
    let mut res = match outcome {
        Ok(Ok(res)) => res.map_into_boxed_body(),
        Ok(Err(e)) => {
            // Our own layers answer errors as responses; this is some other layer's error.
            let status = e.as_response_error().status_code();
            return Err(ApiError::from_status(status)
                .in_request(lang, &path, &request_id)
                .into());
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(parent: &span, panic = %what, "request handler panicked");
            if let Some(state) = &state {
                state
                    .metrics
                    .observe(&method, "panicked", 500, started.elapsed());
            }
            return Err(
                ApiError::internal(anyhow::anyhow!("handler panicked: {what}"))
                    .in_request(lang, &path, &request_id)
                    .into(),
            );
        }
    };

    let status = res.status();
    if status.is_client_error() || status.is_server_error() {
        let rendered = match res
            .response()
            .error()
            .and_then(|e| e.as_error::<ApiError>())
        {
            // Open311 answers every error in the standard's own shape, in the format its path
            // asks for: the limiter's 429, a malformed path or an unknown one included.
            Some(api) if path.starts_with("/open311") => Some(crate::open311::failure_of(
                crate::open311::Format::of_path(&path),
                api,
            )),
            Some(api) => {
                if let Some(cause) = api.cause() {
                    tracing::error!(parent: &span, error = %format!("{cause:#}"), "request failed");
                }
                Some(api.render(lang, Some(&path), Some(&request_id)))
            }
            None if path.starts_with("/open311") => None,
            None if !is_problem(&res) => {
                Some(ApiError::from_status(status).render(lang, Some(&path), Some(&request_id)))
            }
            None => None,
        };
        if let Some(rendered) = rendered {
            res = ServiceResponse::new(res.request().clone(), rendered);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    secure(res.headers_mut(), &path);
    // An answer to a signed-in caller is theirs alone: no shared or browser cache keeps it.
    if res.request().headers().contains_key(header::AUTHORIZATION)
        && !res.headers().contains_key(header::CACHE_CONTROL)
    {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // An integrator's allowance (IETF httpapi RateLimit header fields): what it may still send
    // this minute, on every answer, the refusal included.
    let rate = res
        .request()
        .extensions()
        .get::<crate::extract::ClientRate>()
        .copied();
    if let Some(rate) = rate {
        for (name, value) in [
            ("ratelimit-limit", rate.limit.to_string()),
            ("ratelimit-remaining", rate.remaining.to_string()),
            ("ratelimit-reset", rate.reset_secs.to_string()),
            ("ratelimit-policy", format!("{};w=60", rate.limit)),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                res.headers_mut()
                    .insert(header::HeaderName::from_static(name), value);
            }
        }
    }

    let elapsed = started.elapsed();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    if let Some(state) = &state {
        state
            .metrics
            .observe(&method, &route, status.as_u16(), elapsed);
    }
    log_outcome(&span, res.status().as_u16(), elapsed, &route);
    Ok(res)
}

fn is_problem(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(PROBLEM_JSON))
}

fn log_outcome(span: &tracing::Span, status: u16, elapsed: Duration, route: &str) {
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    // Probes and scrapes arrive every few seconds; they stay out of the info log.
    if route.starts_with("/health") || route == "/metrics" {
        tracing::debug!(parent: span, status, latency_ms, "request finished");
    } else if status >= 500 {
        tracing::error!(parent: span, status, latency_ms, "request finished");
    } else {
        tracing::info!(parent: span, status, latency_ms, "request finished");
    }
}

const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Counts requests per client address across instances; over `rate_limit.per_ip_per_minute`
/// answers 429 with `Retry-After`. If the limiter's store is down the request is let through:
/// a petition service stays reachable rather than refusing everyone (the outage is logged).
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let limit = state.settings.rate_limit.per_ip_per_minute;
    if limit == 0 {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let client =
        crate::extract::client_address(req.request(), state.settings.server.trust_forwarded_for)
            .unwrap_or_else(|| "unknown".into());
    match state
        .shared
        .rate_limiter
        .hit(&format!("ip:{client}"), limit, RATE_WINDOW)
        .await
    {
        Ok(RateDecision::Allowed { .. }) => {}
        Ok(RateDecision::Limited { retry_after }) => {
            return Ok(req
                .error_response(ApiError::rate_limited(retry_after.as_secs()))
                .map_into_right_body());
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter unavailable; letting the request through")
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The security headers every answer carries (OWASP Secure Headers), each unless the handler
/// set its own. The API answers data, never pages: nothing of it may run, be framed or be
/// sniffed into something else. The interactive docs under `/docs/` run Swagger UI's own
/// scripts and styles, so their policy allows those from this origin only.
pub fn secure(headers: &mut header::HeaderMap, path: &str) {
    let policy = if path.starts_with("/docs") {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", policy),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
        // Browsers heed it only over HTTPS, which production serves behind its proxy.
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ),
    ] {
        let name = header::HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}
