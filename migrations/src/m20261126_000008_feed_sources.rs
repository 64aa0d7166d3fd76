//! The external feeds a channel takes items from, each with how its last fetches went, so
//! editors see a broken feed and the job retries it later.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("feed_sources")
                    .col(uuid("channel_id"))
                    .col(string_len("url", 512))
                    .col(timestamp_with_time_zone_null("last_fetched_at"))
                    .col(timestamp_with_time_zone_null("last_ok_at"))
                    .col(text_null("last_error"))
                    .col(integer("failures").default(0))
                    .col(integer("items_taken").default(0))
                    .primary_key(Index::create().col("channel_id").col("url"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feed_sources_channel")
                            .from("feed_sources", "channel_id")
                            .to("channels", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("feed_sources").to_owned())
            .await
    }
}
