//! Staff operations under `/api/v1/admin`: reception staff, handlers, supervisors, leaders,
//! editors and administrators. Every operation needs a staff access token.

pub mod auth;
pub mod org_units;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(auth::login)
        .service(auth::me)
        .service(org_units::list)
        .service(org_units::create)
        .service(org_units::get);
}
