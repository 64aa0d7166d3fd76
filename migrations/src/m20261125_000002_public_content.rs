//! What citizens read before and beside a petition: channels and articles (guide and news),
//! contacts (where to visit, where to write, hotlines), leaders and their reception rules.
//! The public endpoints and editing come with the public-sections capability; the tables exist
//! from the start so the demo data has a home.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn belongs_to(
    table: &'static str,
    column: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("channels")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("code", 48))
                    .col(string_len("section", 16))
                    .col(string_len("name", 64))
                    .col(integer("sort_order").default(0))
                    .col(boolean("is_demo").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("articles")
                    .col(pk_uuid("id"))
                    .col(uuid("channel_id"))
                    .col(string_len("title", 128))
                    .col(text_null("summary"))
                    .col(text("body"))
                    .col(string_len_null("source", 64))
                    .col(string_len_null("source_url", 512))
                    .col(string_len_null("author", 64))
                    .col(string_len("state", 16))
                    .col(boolean("pinned").default(false))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(boolean("is_demo").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut belongs_to("articles", "channel_id", "channels"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_channel_state")
                    .table("articles")
                    .col("channel_id")
                    .col("state")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("contacts")
                    .col(pk_uuid("id"))
                    .col(uuid("org_unit_id"))
                    .col(string_len("kind", 16))
                    .col(string_len("name", 64))
                    .col(string_len_null("address", 256))
                    .col(string_len_null("postcode", 16))
                    .col(string_len_null("recipient", 64))
                    .col(string_len_null("phone", 32))
                    .col(string_len_null("hours", 128))
                    .col(double_null("latitude"))
                    .col(double_null("longitude"))
                    .col(text_null("directions"))
                    .col(integer("sort_order").default(0))
                    .col(boolean("is_demo").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut belongs_to("contacts", "org_unit_id", "org_units"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("leaders")
                    .col(pk_uuid("id"))
                    .col(uuid("org_unit_id"))
                    .col(string_len("name", 32))
                    .col(string_len("title", 64))
                    .col(string_len_null("photo_url", 512))
                    .col(text_null("duties"))
                    .col(boolean("active").default(true))
                    .col(boolean("is_demo").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut belongs_to("leaders", "org_unit_id", "org_units"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("reception_rules")
                    .col(pk_uuid("id"))
                    .col(uuid("org_unit_id"))
                    .col(uuid_null("leader_id"))
                    .col(string_len("kind", 24))
                    .col(json("params"))
                    .col(string_len("place", 128))
                    .col(string_len("starts_at", 5))
                    .col(string_len("ends_at", 5))
                    .col(integer("capacity"))
                    .col(string_len("on_holiday", 16))
                    .col(boolean("active").default(true))
                    .col(boolean("is_demo").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut belongs_to(
                        "reception_rules",
                        "org_unit_id",
                        "org_units",
                    ))
                    .foreign_key(&mut belongs_to("reception_rules", "leader_id", "leaders"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "reception_rules",
            "leaders",
            "contacts",
            "articles",
            "channels",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
