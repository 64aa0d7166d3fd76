//! Reception bookings (预约接访): a citizen's place in a dated session of a reception rule, and
//! the places taken per session (one row a session, so two citizens racing for the last place
//! meet on one row and only one gets it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("session_slots")
                    .col(uuid("rule_id"))
                    .col(date("session_date"))
                    .col(integer("taken").default(0))
                    .primary_key(Index::create().col("rule_id").col("session_date"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_session_slots_rule")
                            .from("session_slots", "rule_id")
                            .to("reception_rules", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("bookings")
                    .col(pk_uuid("id"))
                    .col(uuid("citizen_id"))
                    .col(uuid("rule_id"))
                    .col(date("session_date"))
                    // Sealed: the citizen's own words about the matter.
                    .col(text("matter"))
                    // requested | confirmed | rejected | cancelled | attended
                    .col(string_len("state", 16))
                    .col(text_null("reason"))
                    // Sealed: what was said at the reception.
                    .col(text_null("note"))
                    .col(uuid_null("petition_id"))
                    .col(timestamp_with_time_zone_null("reminded_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_bookings_citizen")
                            .from("bookings", "citizen_id")
                            .to("citizens", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_bookings_rule")
                            .from("bookings", "rule_id")
                            .to("reception_rules", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for index in [
            Index::create()
                .name("idx_bookings_citizen")
                .table("bookings")
                .col("citizen_id")
                .col("session_date")
                .to_owned(),
            Index::create()
                .name("idx_bookings_session")
                .table("bookings")
                .col("rule_id")
                .col("session_date")
                .to_owned(),
            Index::create()
                .name("idx_bookings_day")
                .table("bookings")
                .col("session_date")
                .col("state")
                .to_owned(),
        ] {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["bookings", "session_slots"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
