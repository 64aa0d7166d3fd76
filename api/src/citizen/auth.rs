//! Citizens sign in with WeChat (`wx.login` code -> code2session), get a short-lived access
//! token and an opaque refresh token. Refresh tokens are stored only as hashes and rotate on
//! every use; presenting a used one revokes its whole family (theft detection). `session_key`
//! never leaves the server: it is sealed at rest.

use actix_web::{HttpResponse, post, web};
use chrono::{Duration, Utc};
use fengqiao_domain::Text;
use fengqiao_infra::db::api_clients::{random_token, token_hash};
use fengqiao_infra::db::audit::{Actor, Event};
use fengqiao_infra::db::citizens::{self, CitizenRow, Presented};
use fengqiao_infra::wechat::WeChatError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::profile::{CitizenProfile, SESSION_KEY, profile_of};
use crate::error::{ApiError, DEPENDENCY_RETRY_SECS, Problem};
use crate::extract::{ApiJson, RequestOrigin};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "0a3Xk1000Lw3aL1Ccz300ZGzYb3Xk10q"}))]
pub struct WeChatLoginRequest {
    /// The code from `wx.login` (single use, about 5 minutes).
    pub code: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl", "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "q7Vb1mJzN2…", "refresh_expires_in": 2592000,
    "citizen": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "real_name": false, "name": null, "id_number": null,
                "phone": null, "masked": true, "created_at": "2026-11-25T10:30:00+08:00"}
}))]
pub struct CitizenSession {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    /// Opaque; single use: each refresh returns a new one.
    pub refresh_token: String,
    pub refresh_expires_in: u64,
    pub citizen: CitizenProfile,
}

/// The problem a WeChat failure becomes: never a 500.
pub fn wechat_error(e: WeChatError) -> ApiError {
    match e {
        WeChatError::InvalidCode { .. } => ApiError::unauthorized(
            "invalid_wechat_code",
            Text::new(
                "微信登录凭证无效或已使用，请重新登录",
                "the WeChat code is invalid or already used; try again",
            ),
        ),
        WeChatError::RateLimited => ApiError::rate_limited(60),
        WeChatError::Blocked => ApiError::forbidden(
            "wechat_user_blocked",
            Text::new(
                "微信判定该用户存在风险，暂不能登录",
                "WeChat blocked this user as high-risk",
            ),
        ),
        WeChatError::Unavailable(reason) => {
            tracing::warn!(reason = %reason, "WeChat unavailable");
            ApiError::unavailable("wechat", DEPENDENCY_RETRY_SECS)
        }
        WeChatError::Rejected { errcode, errmsg } => {
            tracing::error!(errcode, errmsg = %errmsg, "WeChat rejected the call");
            ApiError::unavailable("wechat", DEPENDENCY_RETRY_SECS * 12)
        }
        WeChatError::NotConfigured => {
            tracing::error!("WeChat is not configured (wechat.appid, wechat.secret)");
            ApiError::unavailable("wechat", DEPENDENCY_RETRY_SECS * 12)
        }
    }
}

fn refresh_days(state: &AppState) -> i64 {
    i64::try_from(state.settings.auth.refresh_token_ttl_days).unwrap_or(30)
}

/// The session answer for an already stored refresh token.
fn session_with(
    state: &AppState,
    row: &CitizenRow,
    refresh_token: String,
) -> Result<CitizenSession, ApiError> {
    Ok(CitizenSession {
        access_token: state.tokens.issue_citizen(row.id, Utc::now())?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
        refresh_token,
        refresh_expires_in: u64::try_from(refresh_days(state) * 86_400).unwrap_or(0),
        citizen: profile_of(state, row, false)?,
    })
}

/// Sign in with the code from `wx.login`.
#[utoipa::path(
    tag = "citizen-auth",
    operation_id = "citizenWeChatLogin",
    request_body = WeChatLoginRequest,
    responses(
        (status = 200, description = "Signed in (the account is created on first sign-in)", body = CitizenSession),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The code is invalid or used (`invalid_wechat_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "WeChat blocked the user as high-risk (`wechat_user_blocked`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/wechat")]
pub async fn wechat_login(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: ApiJson<WeChatLoginRequest>,
) -> Result<web::Json<CitizenSession>, ApiError> {
    let session = match state.wechat.code_to_session(&body.0.code).await {
        Ok(session) => session,
        Err(e) => {
            let api = wechat_error(e);
            state
                .audit(
                    &Actor::anonymous(),
                    &origin.0,
                    Event::new("citizen.login.failed").with(json!({"reason": api.code()})),
                )
                .await?;
            return Err(api);
        }
    };
    let sealed_key = state
        .crypto
        .seal(SESSION_KEY, &session.session_key)
        .map_err(ApiError::internal)?;
    let txn = state.begin_change().await?;
    let (row, created) = citizens::upsert_by_openid(
        &txn,
        &session.openid,
        session.unionid.as_deref(),
        Some(sealed_key),
        Utc::now(),
    )
    .await?;
    sign_in(&state, txn, &origin, row, created, "wechat").await
}

/// Finishes a sign-in inside the transaction that found or created the citizen: the audit
/// entry and the new refresh token commit with it (a refusal commits its audit entry too).
async fn sign_in(
    state: &AppState,
    txn: sea_orm::DatabaseTransaction,
    origin: &RequestOrigin,
    row: CitizenRow,
    created: bool,
    method: &str,
) -> Result<web::Json<CitizenSession>, ApiError> {
    if !row.active {
        state
            .audit_in(
                &txn,
                &Actor::citizen(row.id),
                &origin.0,
                Event::new("citizen.login.refused_inactive").on("citizen", row.id),
            )
            .await?;
        txn.commit().await?;
        return Err(ApiError::forbidden(
            "account_inactive",
            Text::new("该账号已停用", "this account has been deactivated"),
        ));
    }
    let action = if created {
        "citizen.registered"
    } else {
        "citizen.login"
    };
    state
        .audit_in(
            &txn,
            &Actor::citizen(row.id),
            &origin.0,
            Event::new(action)
                .on("citizen", row.id)
                .with(json!({"method": method})),
        )
        .await?;
    let now = Utc::now();
    let refresh_token = random_token();
    citizens::issue_refresh_token(
        &txn,
        row.id,
        Uuid::now_v7(),
        token_hash(&refresh_token),
        now + Duration::days(refresh_days(state)),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(web::Json(session_with(state, &row, refresh_token)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"openid": "dev-openid-zhang"}))]
pub struct DevLoginRequest {
    /// Any stable string standing in for a WeChat openid.
    pub openid: String,
}

/// Development sign-in without WeChat. Exists only when `auth.dev_login` is on (the embedded
/// default); production refuses to start with it, and answers 404 here.
#[utoipa::path(
    tag = "citizen-auth",
    operation_id = "citizenDevLogin",
    request_body = DevLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = CitizenSession),
        (status = 404, description = "Development login is off (`route_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or overlong openid", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/dev-login")]
pub async fn dev_login(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: ApiJson<DevLoginRequest>,
) -> Result<web::Json<CitizenSession>, ApiError> {
    if !state.settings.dev_login_enabled() {
        return Err(ApiError::no_route());
    }
    let openid = body.0.openid.trim().to_owned();
    if !(1..=64).contains(&openid.len()) {
        return Err(fengqiao_domain::DomainError::invalid(
            "openid",
            "invalid_openid",
            Text::new(
                "openid 须为 1 至 64 个字符",
                "the openid must be 1 to 64 characters",
            ),
        )
        .into());
    }
    let txn = state.begin_change().await?;
    let (row, created) =
        citizens::upsert_by_openid(&txn, &format!("dev:{openid}"), None, None, Utc::now()).await?;
    sign_in(&state, txn, &origin, row, created, "dev").await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q7Vb1mJzN2…"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        Text::new(
            "登录已失效，请重新登录",
            "the refresh token is invalid or expired; sign in again",
        ),
    )
}

/// Exchange a refresh token for a new pair. The presented token is spent; presenting it again
/// signs the family out everywhere.
#[utoipa::path(
    tag = "citizen-auth",
    operation_id = "refreshCitizenSession",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and a new refresh token", body = CitizenSession),
        (status = 401, description = "Unknown, expired or revoked (`invalid_refresh_token`); already used, so the family is \
now revoked (`refresh_token_reused`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: ApiJson<RefreshRequest>,
) -> Result<web::Json<CitizenSession>, ApiError> {
    let now = Utc::now();
    let successor = random_token();
    // The rotation, its audit entry and (on reuse) the family's revocation commit together.
    let txn = state.begin_change().await?;
    let presented = citizens::rotate_refresh_token(
        &txn,
        &token_hash(&body.0.refresh_token),
        citizens::Successor {
            token_hash: token_hash(&successor),
            expires_at: now + Duration::days(refresh_days(&state)),
        },
        now,
    )
    .await?;
    match presented {
        Presented::Rotated { citizen_id, .. } => {
            let row = citizens::get(&txn, citizen_id)
                .await?
                .filter(|c| c.active)
                .ok_or_else(invalid_refresh)?;
            state
                .audit_in(
                    &txn,
                    &Actor::citizen(citizen_id),
                    &origin.0,
                    Event::new("citizen.session.refreshed").on("citizen", citizen_id),
                )
                .await?;
            txn.commit().await?;
            Ok(web::Json(session_with(&state, &row, successor)?))
        }
        Presented::Reused {
            citizen_id,
            family_id,
        } => {
            state
                .audit_in(
                    &txn,
                    &Actor::citizen(citizen_id),
                    &origin.0,
                    Event::new("citizen.refresh_token.reused")
                        .on("citizen", citizen_id)
                        .with(json!({"family_id": family_id})),
                )
                .await?;
            txn.commit().await?;
            Err(ApiError::unauthorized(
                "refresh_token_reused",
                Text::new(
                    "登录凭证被重复使用，为安全起见已全部失效，请重新登录",
                    "this refresh token was already used; every session of it is revoked, sign in again",
                ),
            ))
        }
        Presented::Refused => Err(invalid_refresh()),
    }
}

/// Sign out: the refresh token's family is revoked (access tokens lapse within minutes).
#[utoipa::path(
    tag = "citizen-auth",
    operation_id = "citizenLogout",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out (also for an unknown token, so logout never leaks anything)"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: ApiJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.begin_change().await?;
    if let Some((citizen_id, family_id)) =
        citizens::family_of(&txn, &token_hash(&body.0.refresh_token)).await?
    {
        citizens::revoke_family(&txn, family_id, Utc::now()).await?;
        state
            .audit_in(
                &txn,
                &Actor::citizen(citizen_id),
                &origin.0,
                Event::new("citizen.logout").on("citizen", citizen_id),
            )
            .await?;
    }
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
