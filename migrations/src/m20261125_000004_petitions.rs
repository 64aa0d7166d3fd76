//! Petitions and their events, the managed category taxonomy, the working calendar, the
//! transactional outbox for events going out, idempotency keys for retried submissions, and
//! named counters (tracking-number sequences shared by every instance).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("categories")
                    .col(string_len("code", 48).primary_key())
                    .col(string_len("name", 64))
                    // suggestion | accusation | claim
                    .col(string_len("matter_category", 16))
                    .col(boolean("rateable").default(true))
                    .col(boolean("active").default(true))
                    .col(integer("sort_order").default(0))
                    .to_owned(),
            )
            .await?;

        // The default taxonomy, so a fresh installation can take petitions at once; editors
        // rename, add and retire categories later. Accusations are not rated: the outcome of an
        // accusation is not the accuser's to judge, and rating would expose it.
        let defaults = [
            ("land", "土地征收与补偿", "claim", true),
            ("housing", "城乡建设与住房", "claim", true),
            ("labour", "劳动保障与欠薪", "claim", true),
            ("social_security", "社会保障与救助", "claim", true),
            ("environment", "生态环境", "claim", true),
            ("transport", "交通与基础设施", "claim", true),
            ("agriculture", "农业农村", "claim", true),
            ("education", "教育", "claim", true),
            ("health", "医疗卫生", "claim", true),
            ("public_security", "政法与治安", "claim", true),
            ("accusation", "检举控告", "accusation", false),
            ("suggestion", "意见建议", "suggestion", true),
            ("other", "其他", "claim", true),
        ];
        let mut insert = Query::insert();
        insert.into_table("categories").columns([
            "code",
            "name",
            "matter_category",
            "rateable",
            "active",
            "sort_order",
        ]);
        for (i, (code, name, matter, rateable)) in defaults.into_iter().enumerate() {
            insert
                .values([
                    code.into(),
                    name.into(),
                    matter.into(),
                    rateable.into(),
                    true.into(),
                    <i32 as TryFrom<usize>>::try_from(i).unwrap_or(0).into(),
                ])
                .map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        manager.exec_stmt(insert).await?;

        manager
            .create_table(
                Table::create()
                    .table("calendar_days")
                    .col(date("day").primary_key())
                    // holiday | makeup_workday
                    .col(string_len("kind", 16))
                    .col(string_len("name", 64))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("counters")
                    .col(string_len("name", 64).primary_key())
                    .col(big_integer("value"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("petitions")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("tracking_no", 32))
                    // SHA-256 of the query code; the code itself is shown once.
                    .col(string_len("query_code_hash", 64))
                    .col(string_len("kind", 24))
                    .col(string_len("channel", 16))
                    .col(string_len("category_code", 48))
                    .col(string_len("matter_category", 16))
                    .col(boolean("rateable"))
                    .col(string_len("title", 64))
                    .col(text("content"))
                    .col(uuid("township_id"))
                    .col(uuid_null("village_id"))
                    .col(double_null("latitude"))
                    .col(double_null("longitude"))
                    .col(integer_null("group_size"))
                    .col(uuid_null("citizen_id"))
                    // Sealed petitioner details for letters, visits and calls registered by staff.
                    .col(text_null("petitioner_name"))
                    .col(text_null("petitioner_phone"))
                    .col(string_len_null("petitioner_phone_hash", 64))
                    .col(string_len("state", 24))
                    .col(string_len("checkpoint", 24))
                    .col(uuid_null("handling_org_id"))
                    // Where the routing rules say it should go first (a suggestion for the registrar).
                    .col(uuid_null("routed_to_org_id"))
                    .col(uuid_null("accused_org_id"))
                    .col(uuid_null("owner_leader_id"))
                    .col(date("registered_on"))
                    .col(date_null("sent_on"))
                    .col(date_null("accepted_on"))
                    .col(date_null("answered_on"))
                    .col(date_null("review_requested_on"))
                    .col(date_null("review_decided_on"))
                    .col(date_null("rereview_requested_on"))
                    .col(date_null("rereview_decided_on"))
                    .col(integer_null("extension_days"))
                    .col(string_len_null("rating", 24))
                    .col(string_len_null("outcome", 24))
                    // The next staff deadline, kept with every transition for the work lists.
                    .col(date_null("next_deadline"))
                    .col(string_len_null("deadline_kind", 24))
                    // The work list's order: the next deadline, or 9999-12-31 when there is none,
                    // so one plain index serves "soonest first" on both backends.
                    .col(date("sort_deadline"))
                    // The day the overdue job found the deadline missed (reset by a transition).
                    .col(date_null("overdue_since"))
                    .col(boolean("flagged").default(false))
                    .col(string_len_null("flag_reason", 64))
                    .col(uuid_null("repeat_of"))
                    // Optimistic concurrency: a transition applies to the version it read.
                    .col(integer("version").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_petitions_citizen", vec!["citizen_id", "id"]),
            (
                "idx_petitions_handling",
                vec!["handling_org_id", "next_deadline"],
            ),
            ("idx_petitions_township", vec!["township_id", "id"]),
            (
                "idx_petitions_state_deadline",
                vec!["state", "next_deadline"],
            ),
            // The work list: soonest deadline first, keyset on (sort_deadline, id).
            ("idx_petitions_work_list", vec!["sort_deadline", "id"]),
            // Overdue marking: open petitions past their deadline, not yet marked.
            (
                "idx_petitions_overdue",
                vec!["overdue_since", "next_deadline"],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table("petitions");
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("petition_events")
                    .col(pk_uuid("id"))
                    .col(uuid("petition_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string_len("actor_kind", 16))
                    .col(string_len_null("actor_id", 64))
                    .col(string_len("event", 32))
                    .col(string_len_null("from_state", 24))
                    .col(string_len("to_state", 24))
                    .col(text_null("reason"))
                    // Whether the citizen's timeline shows it.
                    .col(boolean("public"))
                    .col(text("detail"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_petition_events_petition")
                            .from("petition_events", "petition_id")
                            .to("petitions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_petition_events_petition")
                    .table("petition_events")
                    .col("petition_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        // 联合办理: further bodies handling a complex case together with the handling body.
        manager
            .create_table(
                Table::create()
                    .table("petition_co_handlers")
                    .col(uuid("petition_id"))
                    .col(uuid("org_id"))
                    .primary_key(Index::create().col("petition_id").col("org_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_petition_co_handlers_petition")
                            .from("petition_co_handlers", "petition_id")
                            .to("petitions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // Files uploaded first, then linked to a petition on submission.
        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .col(pk_uuid("id"))
                    .col(string_len("uploader_kind", 16))
                    .col(string_len("uploader_id", 64))
                    .col(uuid_null("petition_id"))
                    .col(string_len("kind", 8))
                    .col(big_integer("size"))
                    .col(string_len("sha256", 64))
                    .col(string_len("storage_key", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attachments_petition")
                    .table("attachments")
                    .col("petition_id")
                    .to_owned(),
            )
            .await?;

        // Routing rules: category and place pick the first handling body.
        manager
            .create_table(
                Table::create()
                    .table("routing_rules")
                    .col(pk_uuid("id"))
                    .col(string_len("category_code", 48))
                    // Empty: any township.
                    .col(uuid_null("township_id"))
                    .col(uuid("to_org_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        // 督办: a supervisor's order on a case, with its own deadline and the handler's reply.
        manager
            .create_table(
                Table::create()
                    .table("supervision_orders")
                    .col(pk_uuid("id"))
                    .col(uuid("petition_id"))
                    .col(uuid("issued_by"))
                    .col(text("instruction"))
                    .col(date("due_on"))
                    .col(text_null("reply"))
                    .col(uuid_null("replied_by"))
                    .col(timestamp_with_time_zone_null("replied_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_supervision_orders_petition")
                            .from("supervision_orders", "petition_id")
                            .to("petitions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .col(pk_uuid("id"))
                    .col(string_len("topic", 64))
                    .col(uuid_null("petition_id"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("dispatched_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_pending")
                    .table("outbox")
                    .col("dispatched_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    // "{caller}:{key}"
                    .col(string_len("key", 160).primary_key())
                    .col(string_len("request_hash", 64))
                    .col(uuid("petition_id"))
                    // The first response, sealed: a retry gets it again, query code included.
                    .col(text("response"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "outbox",
            "supervision_orders",
            "routing_rules",
            "attachments",
            "petition_co_handlers",
            "petition_events",
            "petitions",
            "counters",
            "calendar_days",
            "categories",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
