//! A webhook receiver for `bench/messaging.sh`: answers every POST with 204 and records, per
//! delivery, the lag from the event's `timestamp` to its arrival. `GET /stats` gives the count,
//! the lag percentiles and the span between the first and the last arrival.
//! `cargo run --release -p fengqiao-api --example webhook_sink -- 127.0.0.1:18093`

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::{DateTime, Utc};

#[derive(Default)]
struct Seen {
    /// (arrival, lag in ms)
    arrivals: Vec<(DateTime<Utc>, f64)>,
}

async fn receive(seen: web::Data<Arc<Mutex<Seen>>>, body: web::Bytes) -> HttpResponse {
    let now = Utc::now();
    let sent_at = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["timestamp"].as_str().map(str::to_owned))
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
    let lag = sent_at.map_or(f64::NAN, |t| {
        (now - t.with_timezone(&Utc))
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1000.0
    });
    if let Ok(mut seen) = seen.lock() {
        seen.arrivals.push((now, lag));
    }
    HttpResponse::NoContent().finish()
}

async fn stats(seen: web::Data<Arc<Mutex<Seen>>>) -> HttpResponse {
    let Ok(seen) = seen.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut lags: Vec<f64> = seen
        .arrivals
        .iter()
        .map(|a| a.1)
        .filter(|l| l.is_finite())
        .collect();
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lags.get(((lags.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    let span = match (seen.arrivals.first(), seen.arrivals.last()) {
        (Some(a), Some(b)) => (b.0 - a.0).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };
    HttpResponse::Ok().json(serde_json::json!({
        "count": seen.arrivals.len(),
        "span_secs": span,
        "lag_p50_ms": pct(0.50),
        "lag_p99_ms": pct(0.99),
        "lag_max_ms": pct(1.0),
    }))
}

async fn reset(seen: web::Data<Arc<Mutex<Seen>>>) -> HttpResponse {
    if let Ok(mut seen) = seen.lock() {
        seen.arrivals.clear();
    }
    HttpResponse::NoContent().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18093".into());
    let seen = web::Data::new(Arc::new(Mutex::new(Seen::default())));
    HttpServer::new(move || {
        App::new()
            .app_data(seen.clone())
            .route("/hook", web::post().to(receive))
            .route("/stats", web::get().to(stats))
            .route("/reset", web::post().to(reset))
    })
    .bind(addr)?
    .run()
    .await
}
