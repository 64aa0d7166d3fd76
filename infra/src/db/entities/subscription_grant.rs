use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscription_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub citizen_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub template_id: String,
    pub long_term: bool,
    pub remaining: i32,
    pub refused: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
