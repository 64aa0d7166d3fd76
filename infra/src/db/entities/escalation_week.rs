use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "escalation_weeks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub week_start: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    pub escalations: i32,
    pub rank: i32,
    pub in_top: bool,
    pub streak: i32,
    pub consequence: Option<String>,
    pub explanation: String,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
