use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub section: String,
    pub name: String,
    pub sort_order: i32,
    pub is_demo: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub feed_urls: Option<String>,
    pub feed_publish: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
