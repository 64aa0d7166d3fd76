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
                    // Materialised ancestry "/{root}/…/{self}/": a subtree is one LIKE prefix.
                    .col(string_len("path", 512))
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
            .create_index(
                Index::create()
                    .name("idx_org_units_path")
                    .table("org_units")
                    .col("path")
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
                    // Failed sign-ins since the last success, and the lockout they caused.
                    .col(integer("failed_logins").default(0))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    // Bumped to revoke every token issued before (logout, deactivation, roles).
                    .col(integer("token_version").default(0))
                    // TOTP secret, sealed; enabled once a code has been verified.
                    .col(text_null("totp_secret"))
                    .col(boolean("totp_enabled").default(false))
                    .col(timestamp_with_time_zone_null("last_login_at"))
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
