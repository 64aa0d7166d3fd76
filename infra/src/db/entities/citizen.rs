use sea_orm::entity::prelude::*;

/// Sealed columns hold `{key_id}:{base64}` (see `crate::crypto`); `*_hash` are lookup hashes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "citizens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: Option<String>,
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub id_number_hash: Option<String>,
    pub phone: Option<String>,
    pub phone_hash: Option<String>,
    pub address: Option<String>,
    pub real_name_at: Option<DateTimeUtc>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
