//! Staff accounts and their roles in the database.

use chrono::{DateTime, Utc};
use fengqiao_domain::identity::{LockoutPolicy, OrgScope, Role, Roles, StaffAccount};
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::{DomainError, Text};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use sea_orm::sea_query::ExprTrait;

use super::StoreError;
use super::entities::{org_unit, staff_account, staff_role};

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
        token_version: m.token_version,
        totp_enabled: m.totp_enabled,
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
        failed_logins: Set(0),
        locked_until: Set(None),
        token_version: Set(0),
        totp_secret: Set(None),
        totp_enabled: Set(false),
        last_login_at: Set(None),
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

/// What a sign-in needs to decide: the account, its password hash, failures and lock.
pub struct LoginRecord {
    pub account: StaffAccount,
    pub password_hash: String,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
    /// Sealed TOTP secret, when one has been enrolled.
    pub totp_secret: Option<String>,
}

/// The account and its password hash, for checking a login.
pub async fn find_for_login(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<LoginRecord>, StoreError> {
    let Some(row) = staff_account::Entity::find()
        .filter(staff_account::Column::Username.eq(username))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let roles = roles_of(db, row.id).await?;
    Ok(Some(LoginRecord {
        password_hash: row.password_hash.clone(),
        failed_logins: u32::try_from(row.failed_logins).unwrap_or(0),
        locked_until: row.locked_until,
        totp_secret: row.totp_secret.clone(),
        account: to_domain(row, roles),
    }))
}

/// What a sign-in attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go on and check the password; this is attempt `count` since the last success.
    Allowed {
        count: u32,
    },
    Locked {
        until: DateTime<Utc>,
    },
}

/// Counts an attempt before the password is checked, atomically, so parallel guesses each
/// spend one of the allowed attempts. A locked account is refused; an attempt beyond the limit
/// locks it.
pub async fn begin_attempt(
    db: &impl ConnectionTrait,
    id: Uuid,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> Result<Attempt, StoreError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "UPDATE staff_accounts SET failed_logins = failed_logins + 1 \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING failed_logins"
        }
        _ => {
            "UPDATE staff_accounts SET failed_logins = failed_logins + 1 \
             WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?) RETURNING failed_logins"
        }
    };
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [id.into(), now.into()],
        ))
        .await?;
    let Some(row) = row else {
        let until = staff_account::Entity::find_by_id(id)
            .one(db)
            .await?
            .and_then(|a| a.locked_until)
            .unwrap_or(now);
        return Ok(Attempt::Locked { until });
    };
    let count = u32::try_from(row.try_get::<i32>("", "failed_logins")?).unwrap_or(u32::MAX);
    if count > policy.max_failures {
        let until = lock(db, id, policy, now).await?;
        return Ok(Attempt::Locked { until });
    }
    Ok(Attempt::Allowed { count })
}

/// After a failed attempt number `count`: the one that reached the limit locks the account.
pub async fn fail_attempt(
    db: &impl ConnectionTrait,
    id: Uuid,
    policy: &LockoutPolicy,
    count: u32,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    if count >= policy.max_failures {
        return Ok(Some(lock(db, id, policy, now).await?));
    }
    Ok(None)
}

async fn lock(
    db: &impl ConnectionTrait,
    id: Uuid,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, StoreError> {
    let (_, until) = policy.after_failure(policy.max_failures, now);
    let until = until.unwrap_or(now + policy.lock_for);
    staff_account::Entity::update_many()
        .col_expr(
            staff_account::Column::FailedLogins,
            sea_orm::sea_query::Expr::value(0),
        )
        .col_expr(
            staff_account::Column::LockedUntil,
            sea_orm::sea_query::Expr::value(Some(until)),
        )
        .filter(staff_account::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(until)
}

/// Records a successful sign-in: the failure count restarts.
pub async fn record_login(
    db: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    staff_account::ActiveModel {
        id: Set(id),
        failed_logins: Set(0),
        locked_until: Set(None),
        last_login_at: Set(Some(at)),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Revokes every token issued to the account so far.
pub async fn revoke_tokens(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    staff_account::Entity::update_many()
        .col_expr(
            staff_account::Column::TokenVersion,
            sea_orm::sea_query::Expr::col(staff_account::Column::TokenVersion).add(1),
        )
        .col_expr(
            staff_account::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(staff_account::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores a sealed TOTP secret awaiting verification (not yet enabled).
pub async fn set_totp_secret(
    db: &impl ConnectionTrait,
    id: Uuid,
    sealed: Option<String>,
    enabled: bool,
) -> Result<(), StoreError> {
    staff_account::ActiveModel {
        id: Set(id),
        totp_secret: Set(sealed),
        totp_enabled: Set(enabled),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// The sealed TOTP secret and whether it is enabled.
pub async fn totp_of(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(String, bool)>, StoreError> {
    Ok(staff_account::Entity::find_by_id(id)
        .one(db)
        .await?
        .and_then(|row| row.totp_secret.map(|s| (s, row.totp_enabled))))
}

/// The accounts in units `scope` covers, a page at a time in creation order.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: &OrgScope,
    limit: PageLimit,
    after: Option<&Cursor>,
) -> Result<Page<StaffAccount>, StoreError> {
    let mut query = staff_account::Entity::find().order_by_asc(staff_account::Column::Id);
    if let OrgScope::Subtree(prefix) = scope {
        let units = org_unit::Entity::find()
            .select_only()
            .column(org_unit::Column::Id)
            .filter(org_unit::Column::Path.starts_with(prefix.as_str()))
            .into_query();
        query = query.filter(staff_account::Column::OrgUnitId.in_subquery(units));
    }
    if let Some(cursor) = after {
        let key: Uuid = cursor
            .parse_key()
            .map_err(fengqiao_domain::DomainError::from)?;
        query = query.filter(staff_account::Column::Id.gt(key));
    }
    let rows = query.limit(limit.get() + 1).all(db).await?;
    let mut accounts = Vec::with_capacity(rows.len());
    for row in rows {
        let roles = roles_of(db, row.id).await?;
        accounts.push(to_domain(row, roles));
    }
    Ok(Page::from_overfetch(accounts, limit, |a| a.id.to_string()))
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<StaffAccount>, StoreError> {
    let Some(row) = staff_account::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let roles = roles_of(db, row.id).await?;
    Ok(Some(to_domain(row, roles)))
}

/// The account with its unit's materialised path, for checking every staff request.
pub async fn get_with_org_path(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(StaffAccount, String)>, StoreError> {
    let Some(account) = get(db, id).await? else {
        return Ok(None);
    };
    let unit = super::org::get(db, account.org_unit_id).await?;
    Ok(Some((account, unit.path)))
}

/// How many accounts exist; `admin create-user` and the demo loader use it to find a fresh
/// installation.
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(staff_account::Entity::find().count(db).await?)
}

/// Active accounts holding the administrator role, other than `except`.
pub async fn count_other_active_administrators(
    db: &impl ConnectionTrait,
    except: Uuid,
) -> Result<u64, StoreError> {
    let admins = staff_role::Entity::find()
        .filter(staff_role::Column::Role.eq(Role::Administrator.as_str()))
        .filter(staff_role::Column::StaffId.ne(except))
        .all(db)
        .await?;
    let mut count = 0;
    for admin in admins {
        if staff_account::Entity::find_by_id(admin.staff_id)
            .one(db)
            .await?
            .is_some_and(|a| a.active)
        {
            count += 1;
        }
    }
    Ok(count)
}

/// Changes roles and activity together, in one transaction; either change revokes the
/// account's tokens.
pub async fn update<C>(
    db: &C,
    id: Uuid,
    roles: Option<&Roles>,
    active: Option<bool>,
) -> Result<(), StoreError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    if let Some(roles) = roles {
        staff_role::Entity::delete_many()
            .filter(staff_role::Column::StaffId.eq(id))
            .exec(&txn)
            .await?;
        for role in roles.iter() {
            staff_role::ActiveModel {
                staff_id: Set(id),
                role: Set(role.as_str().to_owned()),
            }
            .insert(&txn)
            .await?;
        }
    }
    if let Some(active) = active {
        staff_account::ActiveModel {
            id: Set(id),
            active: Set(active),
            ..Default::default()
        }
        .update(&txn)
        .await?;
    }
    revoke_tokens(&txn, id).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets a new password hash (an administrator's reset): the failure count and lock clear, and
/// every token of the account is revoked.
pub async fn set_password(
    db: &impl ConnectionTrait,
    id: Uuid,
    password_hash: String,
) -> Result<(), StoreError> {
    staff_account::ActiveModel {
        id: Set(id),
        password_hash: Set(password_hash),
        failed_logins: Set(0),
        locked_until: Set(None),
        ..Default::default()
    }
    .update(db)
    .await?;
    revoke_tokens(db, id).await
}

/// Moves an account to another organisation unit; its tokens are revoked (its scope changes).
pub async fn move_to(
    db: &impl ConnectionTrait,
    id: Uuid,
    org_unit_id: Uuid,
) -> Result<(), StoreError> {
    staff_account::ActiveModel {
        id: Set(id),
        org_unit_id: Set(org_unit_id),
        ..Default::default()
    }
    .update(db)
    .await?;
    revoke_tokens(db, id).await
}
