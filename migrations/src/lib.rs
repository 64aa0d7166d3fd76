//! The schema, one migration a file, named by date and purpose. The same migrations serve SQLite
//! and PostgreSQL; app start-up, the `fengqiao migrate` command and the tests share `Migrator`.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_organisations_and_staff;
mod m20261125_000002_public_content;
mod m20261125_000003_identity;
mod m20261125_000004_petitions;
mod m20261126_000005_messaging;
mod m20261126_000006_bookings;
mod m20261126_000007_articles;
mod m20261126_000008_feed_sources;
mod m20261126_000009_session_exceptions;
mod m20261126_000010_statistics;
mod m20261126_000011_integrator_petitions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_organisations_and_staff::Migration),
            Box::new(m20261125_000002_public_content::Migration),
            Box::new(m20261125_000003_identity::Migration),
            Box::new(m20261125_000004_petitions::Migration),
            Box::new(m20261126_000005_messaging::Migration),
            Box::new(m20261126_000006_bookings::Migration),
            Box::new(m20261126_000007_articles::Migration),
            Box::new(m20261126_000008_feed_sources::Migration),
            Box::new(m20261126_000009_session_exceptions::Migration),
            Box::new(m20261126_000010_statistics::Migration),
            Box::new(m20261126_000011_integrator_petitions::Migration),
        ]
    }
}
