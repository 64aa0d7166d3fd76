//! Fengqiao's business rules: the types that are valid once constructed, the rules that decide,
//! and the ports (traits) through which the rules reach the outside world. No I/O lives here:
//! `infra` implements the ports, `api` wires them to HTTP.

pub mod calendar;
pub mod error;
pub mod identity;
pub mod messaging;
pub mod open311;
pub mod org;
pub mod pagination;
pub mod petition;
pub mod ports;
pub mod reception;
pub mod statistics;

pub use error::{DomainError, FieldError, Text};
