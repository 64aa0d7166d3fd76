//! Integrator clients, for administrators: create (the secret is shown once), list, revoke.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, FixedOffset, Utc};
use fengqiao_domain::identity::{ClientScope, Role};
use fengqiao_domain::{DomainError, FieldError, Text};
use fengqiao_infra::db::api_clients::{self, ApiClientRow};
use fengqiao_infra::db::audit::Event;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, RequestOrigin, StaffUser};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "client_id": "fq_3f2a9c1e7b6d4a50",
    "name": "12345 热线平台", "scopes": ["petitions:read", "petitions:write"], "rate_limit_per_minute": 600,
    "revoked_at": null, "created_at": "2026-11-25T10:30:00+08:00"}))]
pub struct ApiClientView {
    pub id: Uuid,
    /// Public identifier, used with the secret at `POST /api/v1/oauth/token`.
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<ClientScope>,
    pub rate_limit_per_minute: i32,
    pub revoked_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
}

impl From<ApiClientRow> for ApiClientView {
    fn from(r: ApiClientRow) -> Self {
        Self {
            id: r.id,
            client_id: r.client_id,
            name: r.name,
            scopes: ClientScope::parse_list(&r.scopes).unwrap_or_default(),
            rate_limit_per_minute: r.rate_limit_per_minute,
            revoked_at: r.revoked_at.map(fengqiao_domain::calendar::to_local),
            created_at: fengqiao_domain::calendar::to_local(r.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"client": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "client_id": "fq_3f2a9c1e7b6d4a50",
    "name": "12345 热线平台", "scopes": ["petitions:read"], "rate_limit_per_minute": 600, "revoked_at": null,
    "created_at": "2026-11-25T10:30:00+08:00"}, "client_secret": "q7Vb1mJzN2xK8pL0sW4nB8cF1hT6yR5uE2aZ9dG3jH7"}))]
pub struct CreatedApiClient {
    pub client: ApiClientView,
    /// Shown this once; store it in the integrator's secret store.
    pub client_secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "12345 热线平台", "scopes": ["petitions:read", "petitions:write"], "rate_limit_per_minute": 600}))]
pub struct CreateApiClientRequest {
    pub name: String,
    pub scopes: Vec<ClientScope>,
    /// Requests per minute for this client across all instances (default 600; 0: no per-client
    /// limit, only the per-address one).
    pub rate_limit_per_minute: Option<u32>,
}

/// Register an integrator client (administrators).
#[utoipa::path(
    tag = "admin-integrators",
    operation_id = "createApiClient",
    request_body = CreateApiClientRequest,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Created; the secret is in this response only", body = CreatedApiClient),
        (status = 400, description = "Malformed body or unknown scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty name or no scopes", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api-clients")]
pub async fn create(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<CreateApiClientRequest>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let body = body.0;
    let name = body.name.trim();
    let mut errors = Vec::new();
    if !(1..=64).contains(&name.chars().count()) {
        errors.push(FieldError::new(
            "name",
            "invalid_client_name",
            Text::new(
                "名称须为 1 至 64 个字符",
                "the name must be 1 to 64 characters",
            ),
        ));
    }
    if body.scopes.is_empty() {
        errors.push(FieldError::new(
            "scopes",
            "scopes_required",
            Text::new("至少需要一个权限范围", "at least one scope is required"),
        ));
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let txn = state.begin_change().await?;
    let (row, secret) = api_clients::create(
        &txn,
        name,
        &body.scopes,
        body.rate_limit_per_minute.unwrap_or(600),
        staff.account.id,
        Utc::now(),
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("api_client.created")
                .on("api_client", &row.client_id)
                .with(json!({"scopes": row.scopes})),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(CreatedApiClient {
        client: row.into(),
        client_secret: secret,
    }))
}

/// List integrator clients (administrators).
#[utoipa::path(
    tag = "admin-integrators",
    operation_id = "listApiClients",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "Every client, revoked ones included", body = [ApiClientView]))
)]
#[get("/api-clients")]
pub async fn list(
    state: web::Data<AppState>,
    staff: StaffUser,
) -> Result<web::Json<Vec<ApiClientView>>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    Ok(web::Json(
        api_clients::list(&state.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Revoke an integrator client: its secret and tokens stop working at once (administrators).
#[utoipa::path(
    tag = "admin-integrators",
    operation_id = "revokeApiClient",
    params(("id" = Uuid, Path, description = "Client record id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = ApiClientView),
        (status = 404, description = "No such client (`api_client_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api-clients/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<web::Json<ApiClientView>, ApiError> {
    staff.require_any(&[Role::Administrator])?;
    let txn = state.begin_change().await?;
    let row = api_clients::revoke(&txn, id.into_inner(), Utc::now())
        .await?
        .ok_or_else(|| {
            ApiError::from(DomainError::NotFound {
                code: "api_client_not_found",
                message: Text::new("接入方不存在", "no such client"),
            })
        })?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("api_client.revoked").on("api_client", &row.client_id),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(row.into()))
}
