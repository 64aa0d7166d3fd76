//! Staff operations under `/api/v1/admin`: reception staff, handlers, supervisors, leaders,
//! editors and administrators. Every operation needs a staff access token.

pub mod api_clients;
pub mod articles;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod citizens;
pub mod escalations;
pub mod messaging;
pub mod org_units;
pub mod petitions;
pub mod public_content;
pub mod reception;
pub mod routing;
pub mod staff;
pub mod statistics;
pub mod supervision;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(auth::login)
        .service(auth::logout)
        .service(auth::totp_enrol)
        .service(auth::totp_verify)
        .service(auth::me)
        .service(org_units::list)
        .service(org_units::create)
        .service(org_units::get)
        .service(org_units::update)
        .service(staff::list)
        .service(staff::create)
        .service(staff::update)
        .service(citizens::get)
        .service(api_clients::create)
        .service(api_clients::list)
        .service(api_clients::revoke)
        .service(audit::search)
        .service(calendar::list)
        .service(calendar::mark)
        .service(calendar::clear)
        .service(petitions::inbox)
        .service(petitions::register)
        .service(petitions::get)
        .service(petitions::forward)
        .service(petitions::assign)
        .service(petitions::hand_down)
        .service(petitions::divert)
        .service(petitions::refuse)
        .service(petitions::accept)
        .service(petitions::object_to_petition)
        .service(petitions::escalate)
        .service(petitions::extend)
        .service(petitions::answer)
        .service(petitions::decide_review)
        .service(petitions::decide_rereview)
        .service(petitions::reopen)
        .service(petitions::close)
        .service(supervision::assign_owner)
        .service(supervision::issue_order)
        .service(supervision::reply_order)
        .service(supervision::set_joint_handling)
        .service(supervision::deadlines)
        .service(supervision::orders)
        .service(supervision::leader_cases)
        .service(supervision::weekly)
        .service(statistics::figures)
        .service(statistics::definitions)
        .service(statistics::petitions_behind)
        .service(statistics::townships)
        .service(statistics::trend)
        .service(statistics::flags)
        .service(statistics::ranked_months)
        .service(escalations::record_by_staff)
        .service(escalations::list)
        .service(escalations::watch)
        .service(messaging::message_petitioner)
        .service(messaging::list_deliveries)
        .service(messaging::retry_delivery)
        .service(messaging::discard_delivery)
        .service(public_content::create_contact)
        .service(public_content::update_contact)
        .service(public_content::delete_contact)
        .service(public_content::list_leaders)
        .service(public_content::create_leader)
        .service(public_content::update_leader)
        .service(public_content::list_rules)
        .service(public_content::create_rule)
        .service(public_content::update_rule)
        .service(reception::list)
        .service(reception::change_session)
        .service(reception::confirm)
        .service(reception::reject)
        .service(reception::move_booking)
        .service(reception::attend)
        .service(articles::create)
        .service(articles::list)
        .service(articles::edit)
        .service(articles::publish)
        .service(articles::unpublish)
        .service(articles::archive)
        .service(articles::revisions)
        .service(articles::create_channel)
        .service(articles::update_channel)
        .service(articles::get_feeds)
        .service(articles::set_feeds)
        .service(routing::list)
        .service(routing::set)
        .service(routing::remove)
        .service(crate::attachments::staff_upload)
        .service(crate::attachments::staff_download);
}
