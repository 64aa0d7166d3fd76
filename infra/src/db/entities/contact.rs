use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub hours: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub directions: Option<String>,
    pub sort_order: i32,
    pub is_demo: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
