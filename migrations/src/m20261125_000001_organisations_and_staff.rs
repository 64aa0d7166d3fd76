//! The organisation tree and the staff accounts that belong to it, with their roles.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("org_units")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("code", 32))
                    .col(string_len("name", 64))
                    .col(string_len("kind", 24))
                    .col(small_integer("level"))
                    .col(uuid_null("parent_id"))
                    .col(integer("sort_order").default(0))
                    .col(boolean("is_demo").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_units_parent")
                            .from("org_units", "parent_id")
                            .to("org_units", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_org_units_parent")
                    .table("org_units")
                    .col("parent_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("staff_accounts")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("username", 32))
                    .col(string_len("display_name", 64))
                    .col(string("password_hash"))
                    .col(uuid("org_unit_id"))
                    .col(boolean("active").default(true))
                    .col(boolean("is_demo").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_accounts_org_unit")
                            .from("staff_accounts", "org_unit_id")
                            .to("org_units", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("staff_roles")
                    .col(uuid("staff_id"))
                    .col(string_len("role", 24))
                    .primary_key(Index::create().col("staff_id").col("role"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_roles_staff")
                            .from("staff_roles", "staff_id")
                            .to("staff_accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["staff_roles", "staff_accounts", "org_units"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
