//! The organisation tree in the database.

use chrono::Utc;
use fengqiao_domain::identity::OrgScope;
use fengqiao_domain::org::{NewOrgUnit, OrgKind, OrgUnit, check_placement, child_path};
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::{DomainError, Text};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::org_unit;

fn to_domain(m: org_unit::Model) -> Result<OrgUnit, StoreError> {
    let kind: OrgKind = m
        .kind
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("org_units.kind {:?}", m.kind)))?;
    Ok(OrgUnit {
        id: m.id,
        code: m.code,
        name: m.name,
        kind,
        level: kind.level(),
        parent_id: m.parent_id,
        path: m.path,
        sort_order: m.sort_order,
        is_demo: m.is_demo,
    })
}

fn unknown_org() -> DomainError {
    DomainError::NotFound {
        code: "org_unit_not_found",
        message: Text::new("机构不存在", "no such organisation unit"),
    }
}

/// One page of units, optionally only the children of `parent`, in creation order.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: &OrgScope,
    parent: Option<Uuid>,
    limit: PageLimit,
    after: Option<&Cursor>,
) -> Result<Page<OrgUnit>, StoreError> {
    let mut query = scoped(org_unit::Entity::find(), scope).order_by_asc(org_unit::Column::Id);
    if let Some(parent) = parent {
        query = query.filter(org_unit::Column::ParentId.eq(parent));
    }
    if let Some(cursor) = after {
        let key: Uuid = cursor.parse_key().map_err(DomainError::from)?;
        query = query.filter(org_unit::Column::Id.gt(key));
    }
    let rows = query.limit(limit.get() + 1).all(db).await?;
    let units = rows
        .into_iter()
        .map(to_domain)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(units, limit, |u| u.id.to_string()))
}

/// Limits a query to the units `scope` covers.
fn scoped(
    query: sea_orm::Select<org_unit::Entity>,
    scope: &OrgScope,
) -> sea_orm::Select<org_unit::Entity> {
    match scope {
        OrgScope::All => query,
        OrgScope::Subtree(prefix) => {
            query.filter(org_unit::Column::Path.starts_with(prefix.as_str()))
        }
    }
}

/// One unit, if `scope` covers it; a unit outside the scope is reported as missing, so its
/// existence is not disclosed.
pub async fn get_in(
    db: &impl ConnectionTrait,
    scope: &OrgScope,
    id: Uuid,
) -> Result<OrgUnit, StoreError> {
    let row = scoped(org_unit::Entity::find_by_id(id), scope)
        .one(db)
        .await?;
    row.map(to_domain)
        .unwrap_or_else(|| Err(unknown_org().into()))
}

/// One unit, whatever the caller's scope (for the service's own lookups).
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<OrgUnit, StoreError> {
    get_in(db, &OrgScope::All, id).await
}

pub async fn find_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<OrgUnit>, StoreError> {
    org_unit::Entity::find()
        .filter(org_unit::Column::Code.eq(code))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// Adds a unit where the tree allows it; a taken code is a conflict.
pub async fn create(
    db: &impl ConnectionTrait,
    new: NewOrgUnit,
    is_demo: bool,
) -> Result<OrgUnit, StoreError> {
    let parent = match new.parent_id {
        None => None,
        Some(parent_id) => {
            let parent = get(db, parent_id).await.map_err(|e| match e {
                StoreError::Rule(DomainError::NotFound { .. }) => DomainError::invalid(
                    "parent_id",
                    "parent_org_not_found",
                    Text::new("上级机构不存在", "the parent organisation does not exist"),
                )
                .into(),
                other => other,
            })?;
            Some(parent)
        }
    };
    check_placement(new.kind, parent.as_ref().map(|p| p.kind)).map_err(DomainError::from)?;
    if new.kind == OrgKind::County
        && org_unit::Entity::find()
            .filter(org_unit::Column::Kind.eq(OrgKind::County.as_str()))
            .one(db)
            .await?
            .is_some()
    {
        return Err(DomainError::Conflict {
            code: "county_exists",
            message: Text::new(
                "县级机构已经存在，只能有一个",
                "the county already exists; there is only one",
            ),
        }
        .into());
    }
    let now = Utc::now();
    let id = Uuid::now_v7();
    let path = child_path(parent.as_ref().map_or("", |p| p.path.as_str()), id);
    let row = org_unit::ActiveModel {
        id: Set(id),
        path: Set(path),
        code: Set(new.code.as_str().to_owned()),
        name: Set(new.name.as_str().to_owned()),
        kind: Set(new.kind.as_str().to_owned()),
        level: Set(i16::from(new.kind.level())),
        parent_id: Set(new.parent_id),
        sort_order: Set(new.sort_order),
        is_demo: Set(is_demo),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| {
        StoreError::on_unique(
            e,
            DomainError::Conflict {
                code: "org_code_taken",
                message: Text::new(
                    "机构编码已被使用",
                    "the organisation code is already in use",
                ),
            },
        )
    })?;
    to_domain(row)
}

/// Whether any unit exists at all (the demo loader runs on an empty tree only).
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool, StoreError> {
    Ok(org_unit::Entity::find().one(db).await?.is_none())
}

/// Renames or re-orders a unit (its place in the tree and its code stay: cases and integrators
/// refer to them).
pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    name: Option<fengqiao_domain::org::OrgName>,
    sort_order: Option<i32>,
) -> Result<OrgUnit, StoreError> {
    let mut row = org_unit::ActiveModel {
        id: Set(id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(name) = name {
        row.name = Set(name.as_str().to_owned());
    }
    if let Some(sort_order) = sort_order {
        row.sort_order = Set(sort_order);
    }
    to_domain(row.update(db).await?)
}

/// Every unit of the given kinds, in display order: (id, name, path). The townships and
/// streets are what the monthly flags rank; with the departments, what the weekly watch ranks.
pub async fn units_of_kinds(
    db: &impl ConnectionTrait,
    kinds: &[OrgKind],
) -> Result<Vec<(Uuid, String, String)>, StoreError> {
    let rows = org_unit::Entity::find()
        .filter(org_unit::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
        .order_by_asc(org_unit::Column::SortOrder)
        .order_by_asc(org_unit::Column::Name)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name, r.path)).collect())
}
