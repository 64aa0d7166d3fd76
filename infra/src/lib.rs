//! Adapters behind the domain's ports and the plumbing the service runs on: configuration,
//! persistence (sea-orm on SQLite or PostgreSQL), cache and rate limits (Redis or in-process),
//! attachment storage, password hashing and demonstration data.

pub mod cache;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod feeds;
pub mod html;
mod http;
pub mod keys;
pub mod moderation;
pub mod password;
pub mod reports;
pub mod sms;
pub mod storage;
pub mod totp;
pub mod webhooks;
pub mod wechat;

pub use config::Settings;
