//! Staff accounts and their roles in the database.

use chrono::Utc;
use fengqiao_domain::identity::{Role, Roles, StaffAccount};
use fengqiao_domain::{DomainError, Text};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{staff_account, staff_role};

/// An account to create; the password is already hashed.
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub org_unit_id: Uuid,
    pub roles: Roles,
}

async fn roles_of(db: &impl ConnectionTrait, staff_id: Uuid) -> Result<Roles, StoreError> {
    let rows = staff_role::Entity::find()
        .filter(staff_role::Column::StaffId.eq(staff_id))
        .all(db)
        .await?;
    let roles = rows
        .into_iter()
        .map(|r| {
            r.role
                .parse::<Role>()
                .map_err(|_| StoreError::Corrupt(format!("staff_roles.role {:?}", r.role)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Roles::new(roles))
}

fn to_domain(m: staff_account::Model, roles: Roles) -> StaffAccount {
    StaffAccount {
        id: m.id,
        username: m.username,
        display_name: m.display_name,
        org_unit_id: m.org_unit_id,
        roles,
        active: m.active,
    }
}

/// Creates the account and its roles in one transaction; a taken username is a conflict.
pub async fn create<C>(db: &C, new: NewStaff, is_demo: bool) -> Result<StaffAccount, StoreError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    let now = Utc::now();
    let row = staff_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(new.username),
        display_name: Set(new.display_name),
        password_hash: Set(new.password_hash),
        org_unit_id: Set(new.org_unit_id),
        active: Set(true),
        is_demo: Set(is_demo),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        StoreError::on_unique(
            e,
            DomainError::Conflict {
                code: "username_taken",
                message: Text::new("用户名已被使用", "the username is already in use"),
            },
        )
    })?;
    for role in new.roles.iter() {
        staff_role::ActiveModel {
            staff_id: Set(row.id),
            role: Set(role.as_str().to_owned()),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(to_domain(row, new.roles))
}

/// The account and its password hash, for checking a login.
pub async fn find_for_login(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<(StaffAccount, String)>, StoreError> {
    let Some(row) = staff_account::Entity::find()
        .filter(staff_account::Column::Username.eq(username))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let roles = roles_of(db, row.id).await?;
    let hash = row.password_hash.clone();
    Ok(Some((to_domain(row, roles), hash)))
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<StaffAccount>, StoreError> {
    let Some(row) = staff_account::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let roles = roles_of(db, row.id).await?;
    Ok(Some(to_domain(row, roles)))
}

/// How many accounts exist; `admin create-user` and the demo loader use it to find a fresh
/// installation.
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(staff_account::Entity::find().count(db).await?)
}
