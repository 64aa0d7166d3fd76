//! The organisation tree: every staff member may read it; administrators add units.

use actix_web::{HttpResponse, get, patch, post, web};
use fengqiao_domain::error::Validator;
use fengqiao_domain::identity::Role;
use fengqiao_domain::org::{NewOrgUnit, OrgCode, OrgKind, OrgName, OrgUnit};
use fengqiao_domain::pagination::{Cursor, PageLimit};
use fengqiao_infra::db;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, StaffUser};
use crate::state::AppState;

/// A unit of the organisation tree.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "code": "410122-101", "name": "官渡镇",
    "kind": "township", "level": 1, "parent_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60",
    "sort_order": 4, "demo": false
}))]
pub struct OrgUnitView {
    pub id: Uuid,
    /// Stable code, such as the administrative division code.
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    /// 0 county; 1 township, street or department; 2 village or community; 3 villager group.
    pub level: u8,
    pub parent_id: Option<Uuid>,
    pub sort_order: i32,
    /// Demonstration data, not real.
    pub demo: bool,
}

impl From<OrgUnit> for OrgUnitView {
    fn from(u: OrgUnit) -> Self {
        Self {
            id: u.id,
            code: u.code,
            name: u.name,
            kind: u.kind,
            level: u.level,
            parent_id: u.parent_id,
            sort_order: u.sort_order,
            demo: u.is_demo,
        }
    }
}

/// One page of units.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "code": "410122", "name": "中牟县",
               "kind": "county", "level": 0, "parent_id": null, "sort_order": 0, "demo": false}],
    "next_cursor": "MDE5M2E2ZjItN2MxZS03ZDNhLTlmMWUtMmI2YzhkNGU1ZjYw"
}))]
pub struct OrgUnitPage {
    pub items: Vec<OrgUnitView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrgUnitsQuery {
    /// Only the direct children of this unit.
    pub parent_id: Option<Uuid>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List organisation units, in creation order.
#[utoipa::path(
    tag = "admin-organisations",
    operation_id = "listOrgUnits",
    params(ListOrgUnitsQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "One page of units", body = OrgUnitPage),
        (status = 400, description = "Malformed query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/org-units")]
pub async fn list(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<ListOrgUnitsQuery>,
) -> Result<web::Json<OrgUnitPage>, ApiError> {
    let query = query.0;
    let limit = PageLimit::parse(query.limit)?;
    let cursor = query.cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = db::org::list(
        &state.db,
        &staff.scope(),
        query.parent_id,
        limit,
        cursor.as_ref(),
    )
    .await?;
    Ok(web::Json(OrgUnitPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// One organisation unit.
#[utoipa::path(
    tag = "admin-organisations",
    operation_id = "getOrgUnit",
    params(("id" = Uuid, Path, description = "Unit id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The unit", body = OrgUnitView),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/org-units/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    staff: StaffUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<OrgUnitView>, ApiError> {
    let unit = db::org::get_in(&state.db, &staff.scope(), id.into_inner()).await?;
    Ok(web::Json(unit.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "410122-101-003", "name": "演示村", "kind": "village",
                          "parent_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "sort_order": 3}))]
pub struct CreateOrgUnitRequest {
    /// 2 to 32 letters, digits or `-`; unique.
    pub code: String,
    /// 1 to 64 characters.
    pub name: String,
    pub kind: OrgKind,
    /// Required for every kind but `county`; the kind must fit under the parent's kind.
    pub parent_id: Option<Uuid>,
    #[serde(default)]
    pub sort_order: i32,
}

/// Add an organisation unit (administrators).
#[utoipa::path(
    tag = "admin-organisations",
    operation_id = "createOrgUnit",
    request_body = CreateOrgUnitRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Created", body = OrgUnitView),
        (status = 400, description = "Malformed body, unknown field or wrong type", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken (`org_code_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid code or name, missing parent, or a kind that cannot hang under the parent",
         body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/org-units")]
pub async fn create(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: crate::extract::RequestOrigin,
    body: ApiJson<CreateOrgUnitRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let body = body.0;
    let mut v = Validator::new();
    let code = v.check("code", OrgCode::parse(&body.code));
    let name = v.check("name", OrgName::parse(&body.name));
    let new = v.finish(|| {
        Some(NewOrgUnit {
            code: code?,
            name: name?,
            kind: body.kind,
            parent_id: body.parent_id,
            sort_order: body.sort_order,
        })
    })?;
    let txn = state.begin_change().await?;
    let unit = db::org::create(&txn, new, false).await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            fengqiao_infra::db::audit::Event::new("org_unit.created").on("org_unit", unit.id),
        )
        .await?;
    txn.commit().await?;
    state.reference.forget();
    Ok(HttpResponse::Created().json(OrgUnitView::from(unit)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "官渡镇（更名）", "sort_order": 2}))]
pub struct UpdateOrgUnitRequest {
    /// 1 to 64 characters.
    pub name: Option<String>,
    pub sort_order: Option<i32>,
}

/// Rename or re-order an organisation unit (administrators). Its code and place in the tree
/// stay, since cases and integrators refer to them.
#[utoipa::path(
    tag = "admin-organisations",
    operation_id = "updateOrgUnit",
    params(("id" = Uuid, Path, description = "Unit id")),
    request_body = UpdateOrgUnitRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The unit as it is now", body = OrgUnitView),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit (`org_unit_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/org-units/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: crate::extract::RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<UpdateOrgUnitRequest>,
) -> Result<web::Json<OrgUnitView>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let id = id.into_inner();
    let body = body.0;
    let name = body.name.as_deref().map(OrgName::parse).transpose()?;
    let before = db::org::get_in(&state.db, &staff.scope(), id).await?;
    let txn = state.begin_change().await?;
    let unit = db::org::update(&txn, id, name, body.sort_order).await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            fengqiao_infra::db::audit::Event::new("org_unit.updated")
                .on("org_unit", id)
                .with(serde_json::json!({"renamed": before.name != unit.name, "sort_order": unit.sort_order})),
        )
        .await?;
    txn.commit().await?;
    state.reference.forget();
    Ok(web::Json(unit.into()))
}
