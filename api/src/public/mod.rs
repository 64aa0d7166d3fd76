//! What anyone may read without signing in: the leaders' reception schedule (and, with the
//! rest of the public sections, the guide, the news and the contacts).

pub mod reception;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    // The fixed .ics path before anything with a parameter.
    cfg.service(reception::schedule_ics)
        .service(reception::schedule);
}
