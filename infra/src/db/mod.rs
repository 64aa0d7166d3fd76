//! The database: connecting (SQLite in the embedded default, PostgreSQL in production),
//! migrating safely while other instances run, and one repository module per capability.

pub mod api_clients;
pub mod articles;
pub mod attachments;
pub mod audit;
pub mod citizens;
pub mod entities;
pub mod escalations;
pub mod messaging;
pub mod org;
pub mod petitions;
pub mod reception;
pub mod staff;
pub mod statistics;

use std::time::Duration;

use fengqiao_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, RuntimeErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::config::Settings;
use fengqiao_domain::DomainError;
use sea_orm::SqlErr;

/// What a repository call can fail with: a business rule (mapped to 4xx), the database
/// (503 when unreachable, 500 otherwise), or a row the code cannot read (500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rule(#[from] DomainError),
    #[error("database error")]
    Db(#[from] DbErr),
    #[error("unreadable row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Turns a unique-constraint violation into the given conflict, leaving other errors as
    /// they are. Backend-neutral: SQLite and PostgreSQL report it alike through `sql_err`.
    pub fn on_unique(err: DbErr, conflict: DomainError) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Rule(conflict),
            _ => Self::Db(err),
        }
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Db(e) if is_unavailable(e))
    }
}

/// Opens the configured database. For SQLite the data directory is created, and the file is
/// put in WAL mode with foreign keys on and a busy timeout, so readers never block the writer.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") && settings.database.url.is_none() {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create data directory {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(settings.database.max_connections)
        .min_connections(settings.database.min_connections)
        .acquire_timeout(Duration::from_secs(settings.database.acquire_timeout_secs))
        .connect_timeout(Duration::from_secs(settings.database.acquire_timeout_secs))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    Database::connect(options).await
}

/// A stable number for the PostgreSQL advisory lock that serialises migrations.
const MIGRATION_LOCK_KEY: i64 = 0x6665_6e67_7169_616f; // "fengqiao"

/// Opens a transaction that no other migrator can enter until it ends: on PostgreSQL it holds
/// an advisory lock, on SQLite it is an IMMEDIATE transaction (the write lock is taken at
/// BEGIN). Instances starting together, or `fengqiao migrate` beside a running service, take
/// turns, and the second finds nothing left to do.
async fn migration_transaction(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
            ))
            .await?;
            Ok(txn)
        }
        _ => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
        }
    }
}

/// Opens the transaction of a state change: IMMEDIATE on SQLite, so the write lock is taken
/// before anything is read (no stale-snapshot failures when writers meet), a plain one on
/// PostgreSQL. The change and its audit entry are written in it together.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Applies pending migrations, all or none (DDL is transactional on both backends).
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = migration_transaction(db).await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Rolls back `steps` migrations (all when `None`), under the same lock as `migrate_up`.
pub async fn migrate_down(db: &DatabaseConnection, steps: Option<u32>) -> Result<(), DbErr> {
    let txn = migration_transaction(db).await?;
    Migrator::down(&txn, steps).await?;
    txn.commit().await
}

/// Each migration's name and whether it has been applied.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    let pending: Vec<String> = Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(Migrator::migrations()
        .iter()
        .map(|m| {
            let name = m.name().to_owned();
            let applied = !pending.contains(&name);
            (name, applied)
        })
        .collect())
}

/// Connections in the pool: (open, idle), for the metrics endpoint.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// Whether an error means the database could not be reached (503) rather than a bug (500):
/// no connection to be had, a connection lost mid-query, or the server refusing service
/// (SQLSTATE class 08 connection exceptions, 57P0x shutdown, 3D000 database gone).
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => {
            sqlx_unavailable(e)
        }
        _ => false,
    }
}

fn sqlx_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "3D000")
        }),
        _ => false,
    }
}
