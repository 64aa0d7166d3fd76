//! Integrators: OAuth 2 client credentials at `/api/v1/oauth/token`, and their operations under
//! `/api/v1/open`.

pub mod escalations;
pub mod oauth;
pub mod petitions;
pub mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(oauth::token)
        .service(oauth::whoami)
        .service(webhooks::create)
        .service(webhooks::list)
        .service(webhooks::get_one)
        .service(webhooks::update)
        .service(webhooks::remove)
        .service(webhooks::deliveries)
        .service(escalations::report)
        .service(petitions::create)
        .service(petitions::find)
        .service(petitions::get_one)
        .service(petitions::changes);
}
