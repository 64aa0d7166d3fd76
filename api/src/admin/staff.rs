//! Staff accounts: administrators create them, set roles and deactivate them. Every change is
//! audited; a deactivation or role change revokes the account's tokens at once.

use actix_web::{HttpResponse, get, patch, post, web};
use fengqiao_domain::error::Validator;
use fengqiao_domain::identity::{NewPassword, Role, Roles, StaffChange, Username};
use fengqiao_domain::pagination::{Cursor, PageLimit};
use fengqiao_domain::{DomainError, FieldError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::{db, password};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::StaffView;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "username": "registrar.li", "display_name": "李登记", "org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "roles": ["registrar"], "active": true, "totp_enabled": false}], "next_cursor": null}))]
pub struct StaffPage {
    pub items: Vec<StaffView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListStaffQuery {
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List the staff accounts of the caller's organisation subtree.
#[utoipa::path(
    tag = "admin-staff",
    operation_id = "listStaff",
    params(ListStaffQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = StaffPage),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/staff")]
pub async fn list(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<ListStaffQuery>,
) -> Result<web::Json<StaffPage>, ApiError> {
    staff.require_any(&[Role::Administrator, Role::Supervisor, Role::Leader])?;
    let limit = PageLimit::parse(query.0.limit)?;
    let cursor = query.0.cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = db::staff::list(&state.db, &staff.scope(), limit, cursor.as_ref()).await?;
    Ok(web::Json(StaffPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "registrar.li", "display_name": "李登记", "password": "Registrar-2026-ok",
                          "org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "roles": ["registrar"]}))]
pub struct CreateStaffRequest {
    pub username: String,
    pub display_name: String,
    /// At least 12 characters mixing three of: lowercase, uppercase, digits, symbols.
    pub password: String,
    pub org_unit_id: Uuid,
    pub roles: Vec<Role>,
}

/// Create a staff account (administrators).
#[utoipa::path(
    tag = "admin-staff",
    operation_id = "createStaff",
    request_body = CreateStaffRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Created", body = StaffView),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username is taken (`username_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid username, weak password, no roles or unknown unit", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/staff")]
pub async fn create(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<CreateStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let body = body.0;
    let mut v = Validator::new();
    let username = v.check("username", Username::parse(&body.username));
    let password = v.check(
        "password",
        NewPassword::parse(&body.password, &body.username),
    );
    let display_name = body.display_name.trim().to_owned();
    if !(1..=64).contains(&display_name.chars().count()) {
        v.push(FieldError::new(
            "display_name",
            "invalid_display_name",
            Text::new(
                "显示名称须为 1 至 64 个字符",
                "the display name must be 1 to 64 characters",
            ),
        ));
    }
    if body.roles.is_empty() {
        v.push(FieldError::new(
            "roles",
            "roles_required",
            Text::new("至少需要一个角色", "at least one role is required"),
        ));
    }
    let (username, password) = v.finish(|| Some((username?, password?)))?;
    let unit = db::org::get_in(&state.db, &staff.scope(), body.org_unit_id)
        .await
        .map_err(|_| {
            DomainError::invalid(
                "org_unit_id",
                "org_unit_not_found",
                Text::new("机构不存在", "no such organisation unit"),
            )
        })?;
    let hash = web::block(move || password::hash(password.expose()))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let txn = state.begin_change().await?;
    let account = db::staff::create(
        &txn,
        db::staff::NewStaff {
            username: username.as_str().to_owned(),
            display_name,
            password_hash: hash,
            org_unit_id: unit.id,
            roles: Roles::new(body.roles),
        },
        false,
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("staff.created")
                .on("staff", account.id)
                .with(json!({
                    "org_unit_id": unit.id,
                    "roles": account.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                })),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(StaffView::from(account)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"roles": ["registrar", "handler"], "active": true, "reset_totp": false}))]
pub struct UpdateStaffRequest {
    /// Replaces the account's roles.
    pub roles: Option<Vec<Role>>,
    /// `false` deactivates the account: its tokens stop working at once.
    pub active: Option<bool>,
    /// A new password set by the administrator (the policy applies); clears a lock.
    pub password: Option<String>,
    /// Removes the TOTP second factor (a lost authenticator); the member enrols again.
    #[serde(default)]
    pub reset_totp: bool,
    /// Moves the account to another unit within the administrator's scope.
    pub org_unit_id: Option<Uuid>,
}

/// Change an account's roles, activity, password, second factor or unit (administrators).
#[utoipa::path(
    tag = "admin-staff",
    operation_id = "updateStaff",
    params(("id" = Uuid, Path, description = "Staff account id")),
    request_body = UpdateStaffRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The account as it is now", body = StaffView),
        (status = 404, description = "No such account in the caller's scope (`staff_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty role list, or an administrator deactivating themselves", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/staff/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<UpdateStaffRequest>,
) -> Result<web::Json<StaffView>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let id = id.into_inner();
    let target = db::staff::get(&state.db, id)
        .await?
        .ok_or_else(staff_not_found)?;
    let unit = db::org::get(&state.db, target.org_unit_id).await?;
    if !staff.scope().covers(&unit.path) {
        return Err(staff_not_found());
    }
    let body = body.0;
    let roles = match body.roles {
        Some(roles) if roles.is_empty() => {
            return Err(DomainError::invalid(
                "roles",
                "roles_required",
                Text::new("至少需要一个角色", "at least one role is required"),
            )
            .into());
        }
        Some(roles) => Some(Roles::new(roles)),
        None => None,
    };
    let password = body
        .password
        .as_deref()
        .map(|p| NewPassword::parse(p, &target.username))
        .transpose()
        .map_err(DomainError::from)?;
    if let Some(unit) = body.org_unit_id {
        db::org::get_in(&state.db, &staff.scope(), unit)
            .await
            .map_err(|_| {
                DomainError::invalid(
                    "org_unit_id",
                    "org_unit_not_found",
                    Text::new("机构不存在", "no such organisation unit"),
                )
            })?;
    }
    if roles.is_none()
        && body.active.is_none()
        && password.is_none()
        && !body.reset_totp
        && body.org_unit_id.is_none()
    {
        return Err(DomainError::invalid(
            "roles",
            "nothing_to_change",
            Text::new(
                "请至少修改角色或启用状态之一",
                "change the roles or the active flag",
            ),
        )
        .into());
    }
    // Every rule is checked before anything is written, inside the transaction and under the
    // chain's lock, so two administrators demoting each other at once cannot both pass the
    // last-administrator check.
    let txn = state.begin_change().await?;
    fengqiao_infra::db::audit::lock_chain(&txn).await?;
    let admin_now = target.active && target.roles.has(Role::Administrator);
    let admin_after = body.active.unwrap_or(target.active)
        && roles
            .as_ref()
            .map_or(target.roles.has(Role::Administrator), |r| {
                r.has(Role::Administrator)
            });
    StaffChange {
        own_account: id == staff.account.id,
        deactivates: body.active == Some(false),
        ends_an_administrator: admin_now && !admin_after,
        other_administrators: db::staff::count_other_active_administrators(&txn, id).await?,
    }
    .check()?;
    if roles.is_some() || body.active.is_some() {
        db::staff::update(&txn, id, roles.as_ref(), body.active).await?;
    }
    if let Some(password) = password {
        let hash = web::block(move || password::hash(password.expose()))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        db::staff::set_password(&txn, id, hash).await?;
        state
            .audit_in(
                &txn,
                &staff.actor(),
                &origin.0,
                Event::new("staff.password_reset").on("staff", id),
            )
            .await?;
    }
    if body.reset_totp {
        db::staff::set_totp_secret(&txn, id, None, false).await?;
        db::staff::revoke_tokens(&txn, id).await?;
        state
            .audit_in(
                &txn,
                &staff.actor(),
                &origin.0,
                Event::new("staff.totp_reset").on("staff", id),
            )
            .await?;
    }
    if let Some(unit) = body.org_unit_id {
        db::staff::move_to(&txn, id, unit).await?;
        state
            .audit_in(
                &txn,
                &staff.actor(),
                &origin.0,
                Event::new("staff.moved")
                    .on("staff", id)
                    .with(json!({"from": target.org_unit_id, "to": unit})),
            )
            .await?;
    }
    if let Some(roles) = &roles {
        state
            .audit_in(
                &txn,
                &staff.actor(),
                &origin.0,
                Event::new("staff.roles_changed")
                    .on("staff", id)
                    .with(json!({
                        "from": target.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                        "to": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    })),
            )
            .await?;
    }
    if let Some(active) = body.active {
        let action = if active {
            "staff.activated"
        } else {
            "staff.deactivated"
        };
        state
            .audit_in(
                &txn,
                &staff.actor(),
                &origin.0,
                Event::new(action).on("staff", id),
            )
            .await?;
    }
    txn.commit().await?;
    state.staff_changed(id).await;
    let now = db::staff::get(&state.db, id)
        .await?
        .ok_or_else(staff_not_found)?;
    Ok(web::Json(now.into()))
}

fn staff_not_found() -> ApiError {
    DomainError::NotFound {
        code: "staff_not_found",
        message: Text::new("账号不存在", "no such staff account"),
    }
    .into()
}
