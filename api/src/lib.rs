//! The Fengqiao HTTP service: the actix-web application, its handlers by audience (citizens,
//! staff under `/admin`, integrators under `/open`), the error policy, the OpenAPI document and
//! the command line.

pub mod admin;
pub mod app;
pub mod attachments;
pub mod citizen;
pub mod cli;
pub mod deprecation;
pub mod dispatcher;
pub mod error;
pub mod exports;
pub mod extract;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod middleware;
pub mod open;
pub mod open311;
pub mod openapi;
pub mod public;
pub mod reference;
pub mod state;
pub mod statistics;
pub mod telemetry;
pub mod tokens;
pub mod wechat_push;

pub use app::Application;
