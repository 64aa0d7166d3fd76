//! Table mappings, one module a table. Hand-written rules stay out of here: repositories beside
//! this folder turn rows into domain values.

pub mod api_client;
pub mod article;
pub mod article_revision;
pub mod attachment;
pub mod audit_log;
pub mod booking;
pub mod calendar_day;
pub mod category;
pub mod channel;
pub mod citizen;
pub mod contact;
pub mod counter;
pub mod delivery;
pub mod delivery_attempt;
pub mod feed_source;
pub mod idempotency_key;
pub mod leader;
pub mod notification;
pub mod org_unit;
pub mod outbox;
pub mod petition;
pub mod petition_co_handler;
pub mod petition_event;
pub mod reception_rule;
pub mod refresh_token;
pub mod routing_rule;
pub mod session_exception;
pub mod session_slot;
pub mod staff_account;
pub mod staff_role;
pub mod subscription_grant;
pub mod supervision_order;
pub mod webhook_endpoint;
