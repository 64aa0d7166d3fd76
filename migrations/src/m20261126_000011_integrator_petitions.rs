//! Petitions that integrators (the 12345 hotline, city and provincial systems) create: which
//! client sent each and under which of its own ids, so that sending it again returns the same
//! petition and the client reads and follows only its own.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len_null("source_client_id", 64),
            string_len_null("external_id", 128),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("petitions")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("uq_petitions_external")
                    .table("petitions")
                    .col("source_client_id")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("uq_petitions_external")
                    .table("petitions")
                    .to_owned(),
            )
            .await?;
        for column in ["source_client_id", "external_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("petitions")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
