use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "petitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub tracking_no: String,
    pub query_code_hash: String,
    pub kind: String,
    pub channel: String,
    pub category_code: String,
    pub matter_category: String,
    pub rateable: bool,
    pub title: String,
    pub content: String,
    pub township_id: Uuid,
    pub village_id: Option<Uuid>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub group_size: Option<i32>,
    pub citizen_id: Option<Uuid>,
    pub petitioner_name: Option<String>,
    pub petitioner_phone: Option<String>,
    pub petitioner_phone_hash: Option<String>,
    pub state: String,
    pub checkpoint: String,
    pub handling_org_id: Option<Uuid>,
    pub routed_to_org_id: Option<Uuid>,
    pub accused_org_id: Option<Uuid>,
    pub owner_leader_id: Option<Uuid>,
    pub registered_on: Date,
    pub sent_on: Option<Date>,
    pub accepted_on: Option<Date>,
    pub answered_on: Option<Date>,
    pub review_requested_on: Option<Date>,
    pub review_decided_on: Option<Date>,
    pub rereview_requested_on: Option<Date>,
    pub rereview_decided_on: Option<Date>,
    pub extension_days: Option<i32>,
    pub rating: Option<String>,
    pub outcome: Option<String>,
    pub next_deadline: Option<Date>,
    pub deadline_kind: Option<String>,
    pub sort_deadline: Date,
    pub overdue_since: Option<Date>,
    pub flagged: bool,
    pub flag_reason: Option<String>,
    pub repeat_of: Option<Uuid>,
    pub version: i32,
    pub dispose_due: Option<Date>,
    pub disposed_on: Option<Date>,
    pub acceptance_due: Option<Date>,
    pub acceptance_decided_on: Option<Date>,
    pub answer_due: Option<Date>,
    pub first_answered_on: Option<Date>,
    pub days_to_answer: Option<i32>,
    pub relevant_until: Option<Date>,
    pub return_count: i32,
    pub reopen_count: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
