//! Integration tests of the whole service over real HTTP. One binary (faster links); each test
//! gets its own server on a free port and its own database: a temporary SQLite file, or a new
//! PostgreSQL database when `FENGQIAO_TEST_DATABASE_URL` is set, and a Redis key prefix of its
//! own when `FENGQIAO_TEST_REDIS_URL` is set.

// Tests may fail loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod admin;
mod articles;
mod audit;
mod citizens;
mod errors;
mod faults;
mod health;
mod hostile;
mod integrators;
mod messaging;
mod migrations;
mod open311;
mod openapi;
mod petitions;
mod process;
mod reception;
mod staff_auth;
mod statistics;
