//! Articles as editors keep them: a cover image, views counted, every edit kept as a revision,
//! and channels that name external feeds to take items from.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for col in [
            string_len_null("cover_url", 512),
            big_integer("view_count").default(0).to_owned(),
            // The feed item's guid or link, for articles taken from a feed.
            string_len_null("external_id", 512),
        ] {
            manager
                .alter_table(Table::alter().table("articles").add_column(col).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_list")
                    .table("articles")
                    .col("channel_id")
                    .col("pinned")
                    .col("published_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_external")
                    .table("articles")
                    .col("channel_id")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        for col in [
            // Space-separated RSS or Atom feed URLs.
            text_null("feed_urls"),
            // Publish feed items at once (true) or file them as drafts (false).
            boolean("feed_publish").default(false).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table("channels").add_column(col).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("article_revisions")
                    .col(pk_uuid("id"))
                    .col(uuid("article_id"))
                    .col(string_len("title", 128))
                    .col(text_null("summary"))
                    .col(text("body"))
                    .col(string_len("editor", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_article_revisions_article")
                            .from("article_revisions", "article_id")
                            .to("articles", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_article_revisions_article")
                    .table("article_revisions")
                    .col("article_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("article_revisions").to_owned())
            .await?;
        for (index, table) in [
            ("idx_articles_external", "articles"),
            ("idx_articles_list", "articles"),
        ] {
            manager
                .drop_index(Index::drop().name(index).table(table).to_owned())
                .await?;
        }
        for col in ["feed_publish", "feed_urls"] {
            manager
                .alter_table(Table::alter().table("channels").drop_column(col).to_owned())
                .await?;
        }
        for col in ["external_id", "view_count", "cover_url"] {
            manager
                .alter_table(Table::alter().table("articles").drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
