//! The same migrations run up, down and up again on the backend under test.

use fengqiao_infra::db;
use sea_orm::ConnectionTrait;

use crate::helpers::test_settings;

async fn table_exists(conn: &sea_orm::DatabaseConnection, table: &str) -> bool {
    let sql = match conn.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => format!(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = '{table}'"
        ),
        _ => format!("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
    };
    conn.query_one_raw(sea_orm::Statement::from_string(
        conn.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .is_some()
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let (settings, _dir, _db, _redis) = test_settings().await;
    let conn = db::connect(&settings).await.unwrap();

    db::migrate_up(&conn).await.unwrap();
    let status = db::migration_status(&conn).await.unwrap();
    assert!(!status.is_empty() && status.iter().all(|(_, applied)| *applied));
    for table in [
        "org_units",
        "staff_accounts",
        "staff_roles",
        "articles",
        "reception_rules",
    ] {
        assert!(table_exists(&conn, table).await, "{table} after up");
    }

    db::migrate_down(&conn, None).await.unwrap();
    assert!(
        db::migration_status(&conn)
            .await
            .unwrap()
            .iter()
            .all(|(_, applied)| !*applied)
    );
    for table in ["org_units", "staff_accounts", "articles"] {
        assert!(!table_exists(&conn, table).await, "{table} gone after down");
    }

    db::migrate_up(&conn).await.unwrap();
    assert!(table_exists(&conn, "org_units").await);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn two_migrators_at_once_do_not_trip_over_each_other() {
    let (settings, _dir, _db, _redis) = test_settings().await;
    let a = db::connect(&settings).await.unwrap();
    let b = db::connect(&settings).await.unwrap();
    let (ra, rb) = tokio::join!(db::migrate_up(&a), db::migrate_up(&b));
    ra.unwrap();
    rb.unwrap();
    assert!(
        db::migration_status(&a)
            .await
            .unwrap()
            .iter()
            .all(|(_, applied)| *applied)
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
}
