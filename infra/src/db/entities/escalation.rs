use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "escalations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub occurred_on: Date,
    pub level: String,
    pub person_name: String,
    pub person_id_number: Option<String>,
    pub home_org_id: Uuid,
    pub registered_petition: bool,
    pub petition_id: Option<Uuid>,
    pub note: Option<String>,
    pub recorded_by_kind: String,
    pub recorded_by: String,
    pub external_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
