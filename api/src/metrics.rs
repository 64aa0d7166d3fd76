//! Prometheus metrics at `/metrics`: request counts and latency by route pattern and status,
//! and database pool usage read at scrape time. Routes are labelled by pattern
//! (`/api/v1/admin/org-units/{id}`), never by raw path, so cardinality stays bounded.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::state::AppState;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    deliveries: IntCounterVec,
    delivery_latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("fengqiao".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state"),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let deliveries = IntCounterVec::new(
            Opts::new(
                "deliveries_total",
                "Delivery attempts by channel and outcome",
            ),
            &["channel", "outcome"],
        )?;
        let delivery_latency = HistogramVec::new(
            HistogramOpts::new(
                "delivery_attempt_duration_seconds",
                "Time of one delivery attempt",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["channel"],
        )?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(delivery_latency.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
            deliveries,
            delivery_latency,
        })
    }

    /// One delivery attempt of the dispatcher.
    pub fn delivery(&self, channel: &str, outcome: &str, elapsed: Duration) {
        self.deliveries.with_label_values(&[channel, outcome]).inc();
        self.delivery_latency
            .with_label_values(&[channel])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    fn render(&self, pool: (u32, usize)) -> Result<String, prometheus::Error> {
        let (open, idle) = pool;
        self.pool.with_label_values(&["open"]).set(i64::from(open));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// `GET /metrics` in the Prometheus text format. Expose it to the scraper only (network policy):
/// it carries no personal data but tells the shape of the traffic.
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    match state
        .metrics
        .render(fengqiao_infra::db::pool_usage(&state.db))
    {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}
