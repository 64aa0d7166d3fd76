//! Citizens' operations under `/api/v1`: WeChat sign-in, token refresh, their profile and
//! real-name registration.

pub mod auth;
pub mod bookings;
pub mod notifications;
pub mod petitions;
pub mod profile;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(auth::wechat_login)
        .service(auth::dev_login)
        .service(auth::refresh)
        .service(auth::logout)
        .service(profile::me)
        .service(profile::register_real_name)
        .service(profile::bind_phone)
        .service(petitions::categories)
        // The fixed path before the {id} one, so "lookup" is never taken for an id.
        .service(petitions::lookup)
        .service(petitions::submit)
        .service(petitions::list_mine)
        .service(petitions::get_mine)
        .service(petitions::rate)
        .service(petitions::request_review)
        .service(petitions::request_rereview)
        .service(petitions::withdraw)
        // The fixed paths before the {id} one.
        .service(notifications::unread_count)
        .service(notifications::mark_all_read)
        .service(notifications::list)
        .service(notifications::get_one)
        .service(notifications::mark_read)
        .service(notifications::record_subscriptions)
        .service(notifications::list_subscriptions)
        .service(bookings::book)
        .service(bookings::list_mine)
        .service(bookings::cancel_mine)
        .service(crate::attachments::upload)
        .service(crate::attachments::download);
}
