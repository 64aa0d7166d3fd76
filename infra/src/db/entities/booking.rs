use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub citizen_id: Uuid,
    pub rule_id: Uuid,
    pub session_date: Date,
    /// Sealed.
    pub matter: String,
    pub state: String,
    pub reason: Option<String>,
    /// Sealed.
    pub note: Option<String>,
    pub petition_id: Option<Uuid>,
    pub reminded_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
