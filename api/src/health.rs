//! Liveness and readiness, for load balancers and orchestrators.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use fengqiao_domain::{FieldError, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, DEPENDENCY_RETRY_SECS, Problem};
use crate::state::AppState;

/// A dependency that answers slower than this counts as down for readiness.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Live {
    /// Always `ok` when the process answers.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ready", "database": "ok", "redis": "not_configured"}))]
pub struct Ready {
    /// `ready` when every configured dependency answers.
    pub status: &'static str,
    /// `ok`.
    pub database: &'static str,
    /// `ok`, or `not_configured` in the embedded default (in-process cache).
    pub redis: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(
    tag = "health",
    operation_id = "checkLiveness",
    responses((status = 200, description = "The process is up", body = Live))
)]
#[get("/live")]
pub async fn live() -> web::Json<Live> {
    web::Json(Live { status: "ok" })
}

/// Readiness: the database (and Redis, when configured) answer.
#[utoipa::path(
    tag = "health",
    operation_id = "checkReadiness",
    responses(
        (status = 200, description = "Ready to serve", body = Ready),
        (status = 503, description = "A dependency does not answer; `errors` names it", body = Problem,
         content_type = "application/problem+json")
    )
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut failures = Vec::new();
    match tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => failures.push(("database", e.to_string())),
        Err(_) => failures.push(("database", "no answer within 2 s".to_owned())),
    }
    let redis = if state.shared.backend == "redis" {
        match tokio::time::timeout(CHECK_TIMEOUT, state.shared.cache.ping()).await {
            Ok(Ok(())) => "ok",
            Ok(Err(e)) => {
                failures.push(("redis", e.reason));
                "down"
            }
            Err(_) => {
                failures.push(("redis", "no answer within 2 s".to_owned()));
                "down"
            }
        }
    } else {
        "not_configured"
    };
    if failures.is_empty() {
        return Ok(HttpResponse::Ok().json(Ready {
            status: "ready",
            database: "ok",
            redis,
        }));
    }
    for (dependency, reason) in &failures {
        tracing::warn!(dependency, reason = %reason, "readiness check failed");
    }
    let names: Vec<&str> = failures.iter().map(|(d, _)| *d).collect();
    Err(ApiError::not_ready(
        &names.join(", "),
        failures
            .iter()
            .map(|(d, _)| {
                FieldError::new(
                    *d,
                    "dependency_unreachable",
                    Text::owned(format!("{d} 无法连接"), format!("{d} does not answer")),
                )
            })
            .collect(),
    )
    .with_retry_after(DEPENDENCY_RETRY_SECS))
}
