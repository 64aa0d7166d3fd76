//! Table mappings, one module a table. Hand-written rules stay out of here: repositories beside
//! this folder turn rows into domain values.

pub mod api_client;
pub mod article;
pub mod audit_log;
pub mod channel;
pub mod citizen;
pub mod contact;
pub mod leader;
pub mod org_unit;
pub mod reception_rule;
pub mod refresh_token;
pub mod staff_account;
pub mod staff_role;
