//! Staff sign-in (password, lockout, TOTP second factor), sign-out and "who am I".

use actix_web::{HttpResponse, get, post, web};
use chrono::{Duration, Utc};
use fengqiao_domain::Text;
use fengqiao_domain::identity::{LockoutPolicy, Role, StaffAccount, Username};
use fengqiao_infra::db::audit::{Actor, Event};
use fengqiao_infra::{db, password, totp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, RequestOrigin, StaffUser};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "admin", "password": "Fengqiao-2026-ok", "totp_code": "287082"}))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The current code of the authenticator app; required once TOTP is enabled.
    pub totp_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
    "token_type": "Bearer",
    "expires_in": 900,
    "staff": {"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "username": "admin", "display_name": "管理员",
              "org_unit_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "roles": ["administrator"], "active": true,
              "totp_enabled": true}
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
                          "roles": ["registrar", "handler"], "active": true, "totp_enabled": false}))]
pub struct StaffView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub org_unit_id: Uuid,
    pub roles: Vec<Role>,
    pub active: bool,
    pub totp_enabled: bool,
}

impl From<StaffAccount> for StaffView {
    fn from(a: StaffAccount) -> Self {
        Self {
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            org_unit_id: a.org_unit_id,
            roles: a.roles.iter().collect(),
            active: a.active,
            totp_enabled: a.totp_enabled,
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

fn lockout_policy(state: &AppState) -> LockoutPolicy {
    LockoutPolicy {
        max_failures: state.settings.auth.lockout_max_failures.max(1),
        lock_for: Duration::minutes(
            i64::try_from(state.settings.auth.lockout_minutes).unwrap_or(15),
        ),
    }
}

/// Sign in with username, password and, once enabled, a TOTP code.
#[utoipa::path(
    tag = "admin-auth",
    operation_id = "staffLogin",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password (`invalid_credentials`), TOTP code missing or wrong \
(`totp_required`, `invalid_totp`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Locked after repeated failures (`account_locked`; see `Retry-After`) or deactivated \
(`account_inactive`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: ApiJson<LoginRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let LoginRequest {
        username,
        password,
        totp_code,
    } = body.0;
    let origin = origin.0;
    let now = Utc::now();
    let policy = lockout_policy(&state);
    let found = match Username::parse(&username) {
        Ok(name) => db::staff::find_for_login(&state.db, name.as_str()).await?,
        Err(_) => None,
    };
    // The attempt is counted before the slow password check, so parallel guesses cannot all
    // slip past the lock.
    let mut attempt = 0;
    if let Some(record) = &found {
        match db::staff::begin_attempt(&state.db, record.account.id, &policy, now).await? {
            db::staff::Attempt::Allowed { count } => attempt = count,
            db::staff::Attempt::Locked { until } => {
                state
                    .audit(
                        &Actor::staff(
                            record.account.id,
                            record.account.roles.iter().map(|r| r.as_str()),
                        ),
                        &origin,
                        Event::new("staff.login.refused_locked").on("staff", record.account.id),
                    )
                    .await?;
                return Err(account_locked((until - now).num_seconds().max(1)));
            }
        }
    }
    let stored = found
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    // argon2 is deliberately slow; keep it off the request workers.
    let matches = web::block(move || password::verify(&password, &stored))
        .await
        .map_err(ApiError::internal)?;
    let Some(record) = found else {
        state
            .audit(
                &Actor::anonymous(),
                &origin,
                Event::new("staff.login.failed").with(json!({"reason": "unknown_user"})),
            )
            .await?;
        return Err(invalid_credentials());
    };
    let actor = Actor::staff(
        record.account.id,
        record.account.roles.iter().map(|r| r.as_str()),
    );
    if !matches {
        let txn = state.begin_change().await?;
        let locked_until =
            db::staff::fail_attempt(&txn, record.account.id, &policy, attempt, now).await?;
        let event = if locked_until.is_some() {
            "staff.login.locked"
        } else {
            "staff.login.failed"
        };
        state
            .audit_in(
                &txn,
                &actor,
                &origin,
                Event::new(event)
                    .on("staff", record.account.id)
                    .with(json!({"reason": "wrong_password"})),
            )
            .await?;
        txn.commit().await?;
        return Err(invalid_credentials());
    }
    if !record.account.active {
        state
            .audit(
                &actor,
                &origin,
                Event::new("staff.login.refused_inactive").on("staff", record.account.id),
            )
            .await?;
        return Err(ApiError::forbidden(
            "account_inactive",
            Text::new("该账号已停用", "this account has been deactivated"),
        ));
    }
    let mut amr = vec!["pwd"];
    if record.account.totp_enabled {
        let Some(code) = totp_code else {
            state
                .audit(
                    &actor,
                    &origin,
                    Event::new("staff.login.failed")
                        .on("staff", record.account.id)
                        .with(json!({"reason": "totp_missing"})),
                )
                .await?;
            return Err(ApiError::unauthorized(
                "totp_required",
                Text::new("请输入动态口令", "a TOTP code is required"),
            ));
        };
        let secret = record
            .totp_secret
            .as_deref()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("TOTP enabled without a secret")))?;
        if !totp_ok(&state, record.account.id, secret, &code).await? {
            let txn = state.begin_change().await?;
            db::staff::fail_attempt(&txn, record.account.id, &policy, attempt, now).await?;
            state
                .audit_in(
                    &txn,
                    &actor,
                    &origin,
                    Event::new("staff.login.failed")
                        .on("staff", record.account.id)
                        .with(json!({"reason": "wrong_totp"})),
                )
                .await?;
            txn.commit().await?;
            return Err(ApiError::unauthorized(
                "invalid_totp",
                Text::new(
                    "动态口令错误或已使用",
                    "the TOTP code is wrong or already used",
                ),
            ));
        }
        amr.push("otp");
    }
    let txn = state.begin_change().await?;
    db::staff::record_login(&txn, record.account.id, now).await?;
    state
        .audit_in(
            &txn,
            &actor,
            &origin,
            Event::new("staff.login.succeeded")
                .on("staff", record.account.id)
                .with(json!({"amr": amr})),
        )
        .await?;
    txn.commit().await?;
    let access_token = state.tokens.issue_staff(&record.account, &amr, now)?;
    Ok(web::Json(LoginResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
        staff: record.account.into(),
    }))
}

fn account_locked(retry_after_secs: i64) -> ApiError {
    ApiError::forbidden(
        "account_locked",
        Text::new(
            "登录失败次数过多，账号已暂时锁定，请稍后再试",
            "too many failed sign-ins; the account is locked for a while",
        ),
    )
    .with_retry_after(u64::try_from(retry_after_secs).unwrap_or(60))
}

/// Checks a TOTP code against the sealed secret. Each accepted code raises the account's last
/// accepted time step (kept in the shared cache), and a code of that step or an earlier one is
/// refused, so neither a shoulder-surfed code nor the previous window's code can be replayed.
async fn totp_ok(
    state: &AppState,
    staff_id: Uuid,
    sealed_secret: &str,
    code: &str,
) -> Result<bool, ApiError> {
    let secret = state
        .crypto
        .open("staff_accounts.totp_secret", sealed_secret)
        .map_err(ApiError::internal)?;
    let secret = base64_decode(&secret)?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    let Some(step) = totp::check(&secret, code, now) else {
        return Ok(false);
    };
    let cache = &state.shared.cache;
    let last_key = format!("totp-last-step:{staff_id}");
    let last: Option<u64> = cache
        .get(&last_key)
        .await?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok());
    if last.is_some_and(|last| step <= last) {
        return Ok(false);
    }
    // Two requests racing with the same code: only one takes the step.
    let first_use = cache
        .set_if_absent(
            &format!("totp-used:{staff_id}:{step}"),
            b"1",
            std::time::Duration::from_secs(300),
        )
        .await?;
    if first_use {
        cache
            .set(
                &last_key,
                step.to_string().as_bytes(),
                std::time::Duration::from_secs(300),
            )
            .await?;
    }
    Ok(first_use)
}

fn base64_decode(s: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(ApiError::internal)
}

/// The signed-in staff member.
#[utoipa::path(
    tag = "admin-auth",
    operation_id = "getCurrentStaff",
    security(("staff_bearer" = [])),
    responses((status = 200, description = "The caller's account", body = StaffView))
)]
#[get("/me")]
pub async fn me(staff: StaffUser) -> web::Json<StaffView> {
    web::Json(staff.account.into())
}

/// Sign out: every access token of this account stops working at once.
#[utoipa::path(
    tag = "admin-auth",
    operation_id = "staffLogout",
    security(("staff_bearer" = [])),
    responses((status = 204, description = "Signed out everywhere"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
) -> Result<HttpResponse, ApiError> {
    let txn = state.begin_change().await?;
    db::staff::revoke_tokens(&txn, staff.account.id).await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("staff.logout").on("staff", staff.account.id),
        )
        .await?;
    txn.commit().await?;
    state.staff_changed(staff.account.id).await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauth_uri": "otpauth://totp/Fengqiao:admin?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Fengqiao"}))]
pub struct TotpEnrolment {
    /// Base32 secret, for typing into an authenticator app.
    pub secret: String,
    /// The same as a URI, for a QR code.
    pub otpauth_uri: String,
}

/// Start TOTP enrolment: a new secret, not active until a code from it is verified.
#[utoipa::path(
    tag = "admin-auth",
    operation_id = "enrolStaffTotp",
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The secret to add to an authenticator app", body = TotpEnrolment),
        (status = 409, description = "TOTP is already enabled (`totp_already_enabled`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/totp/enrol")]
pub async fn totp_enrol(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
) -> Result<web::Json<TotpEnrolment>, ApiError> {
    if staff.account.totp_enabled {
        return Err(ApiError::from(fengqiao_domain::DomainError::Conflict {
            code: "totp_already_enabled",
            message: Text::new("动态口令已启用", "TOTP is already enabled"),
        }));
    }
    let secret = totp::new_secret();
    let uri = totp::provisioning_uri(&secret, &staff.account.username)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let encoded = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&secret)
    };
    let sealed = state
        .crypto
        .seal("staff_accounts.totp_secret", &encoded)
        .map_err(ApiError::internal)?;
    let txn = state.begin_change().await?;
    db::staff::set_totp_secret(&txn, staff.account.id, Some(sealed), false).await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("staff.totp.enrolment_started").on("staff", staff.account.id),
        )
        .await?;
    txn.commit().await?;
    let base32 = uri
        .split("secret=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_default()
        .to_owned();
    Ok(web::Json(TotpEnrolment {
        secret: base32,
        otpauth_uri: uri,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "287082"}))]
pub struct TotpCode {
    pub code: String,
}

/// Finish TOTP enrolment with a current code; from then on sign-in needs a code.
#[utoipa::path(
    tag = "admin-auth",
    operation_id = "verifyStaffTotp",
    request_body = TotpCode,
    security(("staff_bearer" = [])),
    responses(
        (status = 204, description = "TOTP enabled; sign in again with a code"),
        (status = 409, description = "No enrolment in progress (`totp_not_enrolled`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code does not match (`invalid_totp`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/totp/verify")]
pub async fn totp_verify(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    let Some((sealed, false)) = db::staff::totp_of(&state.db, staff.account.id).await? else {
        return Err(ApiError::from(fengqiao_domain::DomainError::Conflict {
            code: "totp_not_enrolled",
            message: Text::new(
                "没有进行中的动态口令登记",
                "no TOTP enrolment is in progress",
            ),
        }));
    };
    if !totp_ok(&state, staff.account.id, &sealed, &body.0.code).await? {
        return Err(ApiError::from(fengqiao_domain::DomainError::invalid(
            "code",
            "invalid_totp",
            Text::new("动态口令不正确", "the TOTP code does not match"),
        )));
    }
    let txn = state.begin_change().await?;
    db::staff::set_totp_secret(&txn, staff.account.id, Some(sealed), true).await?;
    // Tokens issued without the second factor end here.
    db::staff::revoke_tokens(&txn, staff.account.id).await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("staff.totp.enabled").on("staff", staff.account.id),
        )
        .await?;
    txn.commit().await?;
    state.staff_changed(staff.account.id).await;
    Ok(HttpResponse::NoContent().finish())
}
