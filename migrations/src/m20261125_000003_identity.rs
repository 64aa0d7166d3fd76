//! Citizens (WeChat identities with sealed real-name data), refresh-token families, integrator
//! clients and the append-only, hash-chained audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("citizens")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("openid", 64))
                    .col(string_len_null("unionid", 64))
                    // Sealed values ("{key_id}:{base64}"); *_hash are keyed lookup hashes.
                    .col(text_null("session_key"))
                    .col(text_null("name"))
                    .col(text_null("id_number"))
                    .col(string_len_null("id_number_hash", 64))
                    .col(text_null("phone"))
                    .col(string_len_null("phone_hash", 64))
                    .col(text_null("address"))
                    .col(timestamp_with_time_zone_null("real_name_at"))
                    .col(boolean("active").default(true))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_citizens_id_number_hash", "id_number_hash"),
            ("idx_citizens_phone_hash", "phone_hash"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("citizens")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .col(pk_uuid("id"))
                    // SHA-256 of the opaque token; the token itself is never stored.
                    .col(string_len_uniq("token_hash", 64))
                    .col(uuid("family_id"))
                    .col(uuid("citizen_id"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_citizen")
                            .from("refresh_tokens", "citizen_id")
                            .to("citizens", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family")
                    .table("refresh_tokens")
                    .col("family_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("api_clients")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("client_id", 64))
                    .col(string_len("name", 64))
                    // SHA-256 of the high-entropy secret (shown once at creation).
                    .col(string_len("secret_hash", 64))
                    .col(string_len("scopes", 256))
                    .col(integer("rate_limit_per_minute"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    // Position in the chain; assigned under a lock, so it has no gaps.
                    .col(big_integer("seq").primary_key())
                    .col(uuid_uniq("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string_len("actor_kind", 16))
                    .col(string_len_null("actor_id", 64))
                    .col(string_len_null("actor_roles", 128))
                    .col(string_len("action", 64))
                    .col(string_len_null("record_type", 32))
                    .col(string_len_null("record_id", 64))
                    .col(string_len_null("ip", 64))
                    .col(string_len_null("request_id", 64))
                    .col(text("detail"))
                    .col(string_len("prev_hash", 64))
                    .col(string_len("hash", 64))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_audit_log_actor", ["actor_id", "seq"]),
            ("idx_audit_log_record", ["record_id", "seq"]),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("audit_log")
                        .col(cols[0])
                        .col(cols[1])
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_log", "api_clients", "refresh_tokens", "citizens"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
