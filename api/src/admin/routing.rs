//! Routing rules: which body a petition of a category (and township) goes to first. The
//! registrar sees the pick on each petition (`routed_to_org_id`) and forwards it there.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::Utc;
use fengqiao_domain::identity::Role;
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::{self, petitions};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, RequestOrigin, StaffUser};
use crate::state::AppState;

#[derive(Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f69", "category_code": "land",
    "township_id": null, "to_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f70"}))]
pub struct RoutingRule {
    pub id: Uuid,
    pub category_code: String,
    /// Only petitions about this township; absent: any township.
    pub township_id: Option<Uuid>,
    pub to_org_id: Uuid,
}

impl From<petitions::RoutingRuleRow> for RoutingRule {
    fn from(r: petitions::RoutingRuleRow) -> Self {
        Self {
            id: r.id,
            category_code: r.category_code,
            township_id: r.township_id,
            to_org_id: r.to_org_id,
        }
    }
}

/// Every routing rule.
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "listRoutingRules",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The rules, by category", body = [RoutingRule]))
)]
#[get("/routing-rules")]
pub async fn list(
    state: web::Data<AppState>,
    _staff: StaffUser,
) -> Result<web::Json<Vec<RoutingRule>>, ApiError> {
    Ok(web::Json(
        petitions::routing_rules(&state.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"category_code": "land", "to_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f70"}))]
pub struct SetRuleBody {
    pub category_code: String,
    pub township_id: Option<Uuid>,
    pub to_org_id: Uuid,
}

/// Set the rule for a category (and township), replacing the one it overlaps (administrators).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "setRoutingRule",
    request_body = SetRuleBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The rule", body = RoutingRule),
        (status = 422, description = "Unknown category, township or organisation", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/routing-rules")]
pub async fn set(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<SetRuleBody>,
) -> Result<web::Json<RoutingRule>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let body = body.0;
    let unknown = |field: &'static str| {
        ApiError::from(DomainError::invalid(
            field,
            "unknown_reference",
            Text::new("引用的对象不存在", "no such thing"),
        ))
    };
    petitions::category(&state.db, &body.category_code)
        .await?
        .ok_or_else(|| unknown("category_code"))?;
    if let Some(t) = body.township_id {
        db::org::get(&state.db, t)
            .await
            .map_err(|_| unknown("township_id"))?;
    }
    db::org::get(&state.db, body.to_org_id)
        .await
        .map_err(|_| unknown("to_org_id"))?;
    let txn = state.begin_change().await?;
    let rule = petitions::set_routing_rule(
        &txn,
        &body.category_code,
        body.township_id,
        body.to_org_id,
        Utc::now(),
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("routing_rule.set")
                .on("routing_rule", rule.id)
                .with(json!({"category_code": rule.category_code})),
        )
        .await?;
    txn.commit().await?;
    state.reference.forget();
    Ok(web::Json(rule.into()))
}

/// Delete a routing rule (administrators).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "deleteRoutingRule",
    params(("id" = Uuid, Path, description = "Rule id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such rule (`routing_rule_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/routing-rules/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let id = id.into_inner();
    let txn = state.begin_change().await?;
    if !petitions::delete_routing_rule(&txn, id).await? {
        return Err(DomainError::NotFound {
            code: "routing_rule_not_found",
            message: Text::new("分流规则不存在", "no such routing rule"),
        }
        .into());
    }
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("routing_rule.deleted").on("routing_rule", id),
        )
        .await?;
    txn.commit().await?;
    state.reference.forget();
    Ok(HttpResponse::NoContent().finish())
}
