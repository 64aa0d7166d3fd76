//! Staff sign-in with username and password, and "who am I".

use actix_web::{get, post, web};
use chrono::Utc;
use fengqiao_domain::Text;
use fengqiao_domain::identity::{Role, StaffAccount, Username};
use fengqiao_infra::{db, password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, StaffUser};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "admin", "password": "Fengqiao-2026-ok"}))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
    "token_type": "Bearer",
    "expires_in": 900,
    "staff": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "username": "admin", "display_name": "管理员",
              "org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "roles": ["administrator"]}
}))]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    pub staff: StaffView,
}

/// A staff account as staff see it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "username": "registrar.li",
                          "display_name": "李登记", "org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
                          "roles": ["registrar", "handler"]}))]
pub struct StaffView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub org_unit_id: Uuid,
    pub roles: Vec<Role>,
}

impl From<StaffAccount> for StaffView {
    fn from(a: StaffAccount) -> Self {
        Self {
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            org_unit_id: a.org_unit_id,
            roles: a.roles.iter().collect(),
        }
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        "invalid_credentials",
        Text::new("用户名或密码错误", "wrong username or password"),
    )
}

/// A hash of a password nobody has, checked when the username is unknown so that a wrong
/// username takes as long as a wrong password (no account enumeration by timing).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5bHc4oWcNbVyDBRyHYaTNNIN1aqLDnYCr8U6yk2U1Uk";

/// Sign in with username and password.
#[utoipa::path(
    tag = "admin-auth",
    operation_id = "staffLogin",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password (`invalid_credentials`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let LoginRequest { username, password } = body.0;
    let found = match Username::parse(&username) {
        Ok(name) => db::staff::find_for_login(&state.db, name.as_str()).await?,
        Err(_) => None,
    };
    let stored = found
        .as_ref()
        .map(|(_, hash)| hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    // argon2 is deliberately slow; keep it off the request workers.
    let matches = web::block(move || password::verify(&password, &stored))
        .await
        .map_err(ApiError::internal)?;
    let account = match found {
        Some((account, _)) if matches && account.active => account,
        _ => return Err(invalid_credentials()),
    };
    let access_token = state.tokens.issue_staff(&account, Utc::now())?;
    tracing::info!(staff_id = %account.id, "staff signed in");
    Ok(web::Json(LoginResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
        staff: account.into(),
    }))
}

/// The signed-in staff member.
#[utoipa::path(
    tag = "admin-auth",
    operation_id = "getCurrentStaff",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The caller's account", body = StaffView))
)]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    staff: StaffUser,
) -> Result<web::Json<StaffView>, ApiError> {
    let account = db::staff::get(&state.db, staff.0.sub)
        .await?
        .filter(|a| a.active)
        .ok_or_else(crate::tokens::invalid_token)?;
    Ok(web::Json(account.into()))
}
