//! Status push: the citizen's in-app inbox, deliveries to WeChat, SMS and integrators' webhooks
//! with every attempt, the citizen's subscribe-message grants, and integrators' webhook
//! endpoints. Outbox messages are fanned out into these by the dispatcher.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .col(pk_uuid("id"))
                    .col(uuid("citizen_id"))
                    // The outbox message it came from: one notification per message and citizen.
                    .col(uuid("outbox_id"))
                    .col(uuid_null("petition_id"))
                    .col(string_len("event", 64))
                    .col(string_len("title", 64))
                    // Sealed: it may carry a query code or a reason naming people.
                    .col(text("body"))
                    .col(string_len("page", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_citizen")
                            .from("notifications", "citizen_id")
                            .to("citizens", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for index in [
            Index::create()
                .name("idx_notifications_citizen")
                .table("notifications")
                .col("citizen_id")
                .col("id")
                .to_owned(),
            Index::create()
                .name("idx_notifications_once")
                .table("notifications")
                .col("outbox_id")
                .col("citizen_id")
                .unique()
                .to_owned(),
        ] {
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("webhook_endpoints")
                    .col(pk_uuid("id"))
                    .col(string_len("client_id", 64))
                    .col(string_len("url", 2048))
                    // Sealed signing secret (whsec_…), shown to its owner once.
                    .col(text("secret"))
                    // Space-separated event types (petition.accepted …).
                    .col(text("event_types"))
                    .col(boolean("active").default(true))
                    .col(text_null("disabled_reason"))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(timestamp_with_time_zone_null("last_success_at"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_endpoints_client")
                    .table("webhook_endpoints")
                    .col("client_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    // Its id is the idempotency key receivers see.
                    .table("deliveries")
                    .col(pk_uuid("id"))
                    .col(uuid("outbox_id"))
                    // wechat | sms | webhook
                    .col(string_len("channel", 16))
                    .col(string_len("event", 64))
                    .col(uuid_null("petition_id"))
                    .col(uuid_null("citizen_id"))
                    .col(uuid_null("endpoint_id"))
                    // Sealed: the facts the message is rendered from (a query code among them).
                    .col(text("payload"))
                    // pending | delivered | fell_back | dead | discarded
                    .col(string_len("state", 16))
                    .col(integer("attempts").default(0))
                    // Due time; while an attempt runs, the end of its lease.
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .to_owned(),
            )
            .await?;
        for index in [
            Index::create()
                .name("idx_deliveries_due")
                .table("deliveries")
                .col("state")
                .col("next_attempt_at")
                .to_owned(),
            Index::create()
                .name("idx_deliveries_endpoint")
                .table("deliveries")
                .col("endpoint_id")
                .col("id")
                .to_owned(),
            Index::create()
                .name("idx_deliveries_outbox")
                .table("deliveries")
                .col("outbox_id")
                .to_owned(),
        ] {
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("delivery_attempts")
                    .col(pk_uuid("id"))
                    .col(uuid("delivery_id"))
                    .col(integer("attempt"))
                    .col(timestamp_with_time_zone("at"))
                    // delivered | retry | fallback | permanent
                    .col(string_len("outcome", 16))
                    .col(text_null("error"))
                    .col(integer("duration_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_attempts_delivery")
                            .from("delivery_attempts", "delivery_id")
                            .to("deliveries", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_delivery_attempts_delivery")
                    .table("delivery_attempts")
                    .col("delivery_id")
                    .col("attempt")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("subscription_grants")
                    .col(uuid("citizen_id"))
                    .col(string_len("template_id", 128))
                    .col(boolean("long_term").default(false))
                    .col(integer("remaining").default(0))
                    .col(boolean("refused").default(false))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("citizen_id").col("template_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscription_grants_citizen")
                            .from("subscription_grants", "citizen_id")
                            .to("citizens", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "subscription_grants",
            "delivery_attempts",
            "deliveries",
            "webhook_endpoints",
            "notifications",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
