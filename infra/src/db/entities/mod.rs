//! Table mappings, one module a table. Hand-written rules stay out of here: repositories beside
//! this folder turn rows into domain values.

pub mod article;
pub mod channel;
pub mod contact;
pub mod leader;
pub mod org_unit;
pub mod reception_rule;
pub mod staff_account;
pub mod staff_role;
