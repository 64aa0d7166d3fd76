//! A bare actix-web JSON handler, the baseline the benchmarks in `bench/` compare against:
//! the same framework with none of Fengqiao's middleware, database or auth.
//! `cargo run --release -p fengqiao-api --example bare_actix -- 127.0.0.1:18081`

use actix_web::{App, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    HttpServer::new(|| {
        App::new().route(
            "/health/live",
            web::get().to(|| async { web::Json(serde_json::json!({"status": "ok"})) }),
        )
    })
    .bind(addr)?
    .run()
    .await
}
