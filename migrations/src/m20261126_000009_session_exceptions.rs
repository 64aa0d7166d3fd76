//! Published changes to single reception sessions: called off, another leader, a joint
//! reception; each with the notice the public schedule shows.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("session_exceptions")
                    .col(uuid("rule_id"))
                    .col(date("session_date"))
                    // The change as JSON: {"kind": "cancelled" | "substitute" | "joint", …}.
                    .col(json("change"))
                    .col(text("notice"))
                    // For a moved session, its new day: what a range query finds it by.
                    .col(date_null("moved_to"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("rule_id").col("session_date"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_session_exceptions_rule")
                            .from("session_exceptions", "rule_id")
                            .to("reception_rules", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_session_exceptions_moved_to")
                    .table("session_exceptions")
                    .col("moved_to")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("session_exceptions").to_owned())
            .await
    }
}
