use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub channel_id: Uuid,
    pub title: String,
    pub summary: Option<String>,
    pub body: String,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub author: Option<String>,
    pub state: String,
    pub pinned: bool,
    pub published_at: Option<DateTimeUtc>,
    pub is_demo: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub cover_url: Option<String>,
    pub view_count: i64,
    pub external_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
