//! Supervision and statistics: each step's due day and done day kept on the petition (so the
//! on-time rates are one pass over one table), counters of returns and reopenings, abnormal
//! escalations with the weekly watch, and the monthly flags.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STEP_COLUMNS: [(&str, &str); 8] = [
    // The first disposal obligation (登记后15日内处理) and the day it was met.
    ("dispose_due", "date"),
    ("disposed_on", "date"),
    // The latest body's acceptance obligation (收到后15日内告知是否受理) and its decision day.
    ("acceptance_due", "date"),
    ("acceptance_decided_on", "date"),
    // The latest answer obligation: 60 days from acceptance, plus an approved extension.
    ("answer_due", "date"),
    // The first answer: a reopening clears `answered_on`, the reopen and review rates still
    // count the petition as answered.
    ("first_answered_on", "date"),
    // Registration to the latest answer, in calendar days.
    ("days_to_answer", "int"),
    // The last day any figure of the petition counts on (its latest step or due day): a period
    // only needs the petitions registered by its end and relevant since its start.
    ("relevant_until", "date"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, kind) in STEP_COLUMNS {
            let column = match kind {
                "date" => date_null(name),
                _ => integer_null(name),
            };
            manager
                .alter_table(
                    Table::alter()
                        .table("petitions")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for name in ["return_count", "reopen_count"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("petitions")
                        .add_column(integer(name).default(0))
                        .to_owned(),
                )
                .await?;
        }
        // Petitions registered before this migration: what their dates and timelines tell.
        // Portable SQL only (no GREATEST or max(a, b)): one update per column instead.
        let db = manager.get_connection();
        let mut backfill = vec![
            "UPDATE petitions SET relevant_until = registered_on".to_owned(),
            "UPDATE petitions SET dispose_due = next_deadline WHERE deadline_kind = 'dispose'".into(),
            "UPDATE petitions SET acceptance_due = next_deadline WHERE deadline_kind = 'decide_acceptance'".into(),
            "UPDATE petitions SET answer_due = next_deadline WHERE deadline_kind = 'answer'".into(),
            "UPDATE petitions SET disposed_on = sent_on WHERE sent_on IS NOT NULL".into(),
            "UPDATE petitions SET acceptance_decided_on = accepted_on WHERE accepted_on IS NOT NULL".into(),
            "UPDATE petitions SET first_answered_on = answered_on WHERE answered_on IS NOT NULL".into(),
            "UPDATE petitions SET return_count = (SELECT COUNT(*) FROM petition_events e \
             WHERE e.petition_id = petitions.id AND e.event = 'returned')".into(),
            "UPDATE petitions SET reopen_count = (SELECT COUNT(*) FROM petition_events e \
             WHERE e.petition_id = petitions.id AND e.event = 'reopened')".into(),
        ];
        for column in [
            "next_deadline",
            "sent_on",
            "accepted_on",
            "answered_on",
            "review_requested_on",
            "review_decided_on",
            "rereview_requested_on",
            "rereview_decided_on",
        ] {
            backfill.push(format!(
                "UPDATE petitions SET relevant_until = {column} \
                 WHERE {column} IS NOT NULL AND {column} > relevant_until"
            ));
        }
        for sql in backfill {
            db.execute_unprepared(&sql).await?;
        }
        // A period's petitions of a unit (as the township they happened in, or as the body
        // handling them), or of the county; a unit's open obligations.
        for (name, cols) in [
            (
                "idx_petitions_township_relevant",
                &["township_id", "relevant_until"][..],
            ),
            (
                "idx_petitions_handling_relevant",
                &["handling_org_id", "relevant_until"][..],
            ),
            (
                "idx_petitions_township_open",
                &["township_id", "sort_deadline"][..],
            ),
            (
                "idx_petitions_handling_open",
                &["handling_org_id", "sort_deadline"][..],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table("petitions");
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // The county's petitions of a period. Partial on a condition that always holds and
        // that only the county's query states: a unit's query cannot use it, so the planner
        // never prefers a scan of the whole county's period to the unit's own index.
        manager
            .create_index(
                Index::create()
                    .name("idx_petitions_relevant")
                    .table("petitions")
                    .col("relevant_until")
                    .and_where(Expr::col("version").gte(0))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("escalations")
                    .col(pk_uuid("id"))
                    .col(date("occurred_on"))
                    // city | province | capital
                    .col(string_len("level", 16))
                    // The person, sealed at rest like every petitioner's name.
                    .col(text("person_name"))
                    .col(text_null("person_id_number"))
                    .col(uuid("home_org_id"))
                    // Whether the matter was a registered petition, and which.
                    .col(boolean("registered_petition"))
                    .col(uuid_null("petition_id"))
                    .col(text_null("note"))
                    // staff | integrator, and who.
                    .col(string_len("recorded_by_kind", 16))
                    .col(string_len("recorded_by", 64))
                    // An integrator's own id: recording it twice returns the first record.
                    .col(string_len_null("external_id", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalations_home_org")
                            .from("escalations", "home_org_id")
                            .to("org_units", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_escalations_occurred")
                    .table("escalations")
                    .col("occurred_on")
                    .col("home_org_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_escalations_external")
                    .table("escalations")
                    .col("recorded_by")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("escalation_weeks")
                    // The Monday the week starts on.
                    .col(date("week_start"))
                    .col(uuid("org_id"))
                    .col(integer("escalations"))
                    .col(integer("rank"))
                    .col(boolean("in_top"))
                    .col(integer("streak"))
                    // named | talk | veto
                    .col(string_len_null("consequence", 16))
                    .col(text("explanation"))
                    .col(timestamp_with_time_zone("computed_at"))
                    .primary_key(Index::create().col("week_start").col("org_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("flag_rankings")
                    // The month's first day.
                    .col(date("month"))
                    .col(uuid("org_id"))
                    .col(double("score"))
                    .col(integer("rank"))
                    // red | yellow | black
                    .col(string_len("flag", 8))
                    // Every term: its figure, the value used, its weight and its points.
                    .col(text("terms"))
                    .col(timestamp_with_time_zone("computed_at"))
                    .primary_key(Index::create().col("month").col("org_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["flag_rankings", "escalation_weeks", "escalations"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for name in [
            "idx_petitions_township_relevant",
            "idx_petitions_handling_relevant",
            "idx_petitions_relevant",
            "idx_petitions_township_open",
            "idx_petitions_handling_open",
        ] {
            manager
                .drop_index(Index::drop().name(name).table("petitions").to_owned())
                .await?;
        }
        for (name, _) in STEP_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("petitions")
                        .drop_column(name)
                        .to_owned(),
                )
                .await?;
        }
        for name in ["return_count", "reopen_count"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("petitions")
                        .drop_column(name)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
