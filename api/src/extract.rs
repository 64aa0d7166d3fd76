//! Request extractors that speak the error policy: JSON bodies and query strings whose
//! failures name the field, and the staff caller proven by a bearer token.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use bytes::BytesMut;
use fengqiao_domain::identity::Role;
use fengqiao_domain::{FieldError, Text};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use actix_web::HttpMessage;
use fengqiao_domain::identity::{ClientScope, OrgScope, StaffAccount};
use fengqiao_domain::ports::RateDecision;
use fengqiao_infra::db::audit::{Actor, Origin};

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::state::AppState;
use crate::tokens::{StaffClaims, invalid_token};

/// A JSON request body. Not JSON -> 415; over `server.body_limit_bytes` -> 413; malformed,
/// unknown field, missing field or wrong type -> 400 naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<Data<AppState>>()
            .map(|s| s.settings.server.body_limit_bytes)
            .unwrap_or(1024 * 1024);
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::unsupported_media_type());
            }
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::payload_too_large(limit));
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request(
                        "unreadable_body",
                        Text::owned(
                            format!("无法读取请求体：{e}"),
                            format!("cannot read the body: {e}"),
                        ),
                        None,
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(ApiJson)
        })
    }
}

/// Refuses a NUL character anywhere in a request: no text field needs one, and PostgreSQL
/// cannot store one (it would surface as a 500). `encoded` says how it could be written: as a
/// JSON escape, or percent-encoded in a query string or form.
pub fn refuse_nul(raw: &[u8], encoded: NulEncoding) -> Result<(), ApiError> {
    let needle: &[u8] = match encoded {
        NulEncoding::Json => b"\\u0000",
        NulEncoding::Percent => b"%00",
    };
    let lowered: Vec<u8> = raw.iter().map(u8::to_ascii_lowercase).collect();
    if raw.contains(&0) || lowered.windows(needle.len()).any(|w| w == needle) {
        return Err(ApiError::bad_request(
            "invalid_characters",
            Text::new(
                "请求中含有不允许的空字符（NUL）",
                "the request contains a NUL character, which no field accepts",
            ),
            None,
        ));
    }
    Ok(())
}

/// How a NUL could be spelled in the raw request.
#[derive(Debug, Clone, Copy)]
pub enum NulEncoding {
    Json,
    Percent,
}

/// Deserialises `body`, turning serde's complaint into a 400 that names the field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    refuse_nul(body, NulEncoding::Json)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        json_error(&path, &inner)
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    if matches!(
        e.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return ApiError::bad_request(
            "malformed_json",
            Text::owned(
                format!("JSON 格式错误（第 {} 行第 {} 列）", e.line(), e.column()),
                format!("malformed JSON at line {} column {}", e.line(), e.column()),
            ),
            None,
        );
    }
    field_error(path, &e.to_string())
}

/// Builds the 400 for a data error at `path` with serde's message `msg`.
fn field_error(path: &str, msg: &str) -> ApiError {
    // serde names missing and unknown fields in backticks; the path then points at the parent.
    let named = msg.split('`').nth(1).unwrap_or("");
    let join = |parent: &str, child: &str| {
        if parent.is_empty() || parent == "." {
            child.to_owned()
        } else {
            format!("{parent}.{child}")
        }
    };
    let reason = msg.split(" at line ").next().unwrap_or(msg).to_owned();
    let (code, field, zh, en) = if msg.starts_with("missing field") {
        let field = join(path, named);
        (
            "missing_field",
            field.clone(),
            format!("缺少必填字段：{field}"),
            format!("missing required field: {field}"),
        )
    } else if msg.starts_with("unknown field") {
        let field = if path.ends_with(named) {
            path.to_owned()
        } else {
            join(path, named)
        };
        (
            "unknown_field",
            field.clone(),
            format!("不允许的字段：{field}"),
            format!("unknown field: {field}"),
        )
    } else {
        let field = if path.is_empty() {
            ".".to_owned()
        } else {
            path.to_owned()
        };
        (
            "invalid_field",
            field.clone(),
            format!("字段 {field} 的类型或取值不正确：{reason}"),
            format!("field {field} has the wrong type or value: {reason}"),
        )
    };
    ApiError::bad_request(
        code,
        Text::owned(zh.clone(), en.clone()),
        Some(FieldError::new(field, code, Text::owned(zh, en))),
    )
}

/// A query string, with the same field-naming errors as `ApiJson`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Err(e) = refuse_nul(req.query_string().as_bytes(), NulEncoding::Percent) {
            return ready(Err(e));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        ready(
            serde_path_to_error::deserialize::<_, T>(de)
                .map(ApiQuery)
                .map_err(|e| {
                    let path = e.path().to_string();
                    field_error(&path, &e.into_inner().to_string())
                }),
        )
    }
}

/// A staff member proven by `Authorization: Bearer <access token>`, checked against the
/// database on every request: a deactivated account, or a token older than the account's last
/// logout or role change, is refused at once.
pub struct StaffUser {
    pub claims: StaffClaims,
    pub account: StaffAccount,
    /// The materialised path of the account's organisation unit.
    pub org_path: String,
    /// Whether production rules apply (administrators must have used a second factor).
    production: bool,
}

impl StaffUser {
    /// 403 unless the caller holds one of `roles`. In production an administrator acting as
    /// such must have signed in with a TOTP code.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        let held: Vec<Role> = roles
            .iter()
            .copied()
            .filter(|r| self.account.roles.has(*r))
            .collect();
        if held.is_empty() {
            return Err(ApiError::forbidden(
                "forbidden",
                Text::owned(
                    format!(
                        "需要以下角色之一：{}",
                        roles
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                    format!(
                        "one of these roles is required: {}",
                        roles
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            ));
        }
        let only_as_admin = held.iter().all(|r| *r == Role::Administrator);
        if self.production && only_as_admin && !self.has_second_factor() {
            return Err(ApiError::forbidden(
                "second_factor_required",
                Text::new(
                    "管理员操作需要使用动态口令（TOTP）登录",
                    "administrator actions need a sign-in with a TOTP code",
                ),
            ));
        }
        Ok(())
    }

    /// The part of the organisation tree this caller may see. In production the county-wide
    /// view of an administrator needs the second factor too; without it they see their own
    /// subtree like everyone else.
    pub fn scope(&self) -> OrgScope {
        let scope = OrgScope::for_staff(&self.account.roles, &self.org_path);
        if self.production && scope == OrgScope::All && !self.has_second_factor() {
            return OrgScope::Subtree(self.org_path.clone());
        }
        scope
    }

    fn has_second_factor(&self) -> bool {
        self.claims.amr.iter().any(|m| m == "otp")
    }

    /// The caller as the audit trail records them.
    pub fn actor(&self) -> Actor {
        Actor::staff(
            self.account.id,
            self.account.roles.iter().map(|r| r.as_str()),
        )
    }
}

impl FromRequest for StaffUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = presented_token(req);
        Box::pin(async move {
            let (state, token) = presented?;
            let claims = state.tokens.verify_staff(&token)?;
            let (account, org_path) = state
                .staff_standing(claims.sub)
                .await?
                .ok_or_else(invalid_token)?;
            if !account.active || account.token_version != claims.ver {
                return Err(invalid_token());
            }
            Ok(StaffUser {
                claims,
                account,
                org_path,
                production: state.settings.is_production(),
            })
        })
    }
}

/// A citizen proven by a citizen access token; a deactivated citizen is refused at once.
pub struct CitizenUser {
    pub id: uuid::Uuid,
    pub row: fengqiao_infra::db::citizens::CitizenRow,
}

impl CitizenUser {
    pub fn actor(&self) -> Actor {
        Actor::citizen(self.id)
    }
}

impl FromRequest for CitizenUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = presented_token(req);
        Box::pin(async move {
            let (state, token) = presented?;
            let claims = state.tokens.verify_citizen(&token)?;
            let row = fengqiao_infra::db::citizens::get(&state.db, claims.sub)
                .await?
                .filter(|c| c.active)
                .ok_or_else(invalid_token)?;
            Ok(CitizenUser { id: row.id, row })
        })
    }
}

/// An integrator client proven by a client access token: not revoked, within its own rate
/// limit, and holding the scopes the operation asks for (`require`).
pub struct ClientUser {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<ClientScope>,
}

impl ClientUser {
    pub fn require(&self, scope: ClientScope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "insufficient_scope",
                Text::owned(
                    format!("需要权限范围 {scope}"),
                    format!("the scope {scope} is required"),
                ),
            ))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::client(&self.client_id, &ClientScope::join(&self.scopes))
    }
}

/// An integrator's allowance as this request left it, for the `RateLimit-*` response headers
/// (added by `middleware::request_context`).
#[derive(Debug, Clone, Copy)]
pub struct ClientRate {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the allowance is whole again (at most).
    pub reset_secs: u64,
}

impl FromRequest for ClientUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = presented_token(req);
        let req = req.clone();
        Box::pin(async move {
            let (state, token) = presented?;
            let claims = state.tokens.verify_client(&token)?;
            let row = fengqiao_infra::db::api_clients::find_by_client_id(&state.db, &claims.sub)
                .await?
                .filter(|c| c.revoked_at.is_none())
                .ok_or_else(invalid_token)?;
            let limit = u64::try_from(row.rate_limit_per_minute).unwrap_or(0);
            if limit > 0 {
                let key = format!("client:{}", row.client_id);
                match state
                    .shared
                    .rate_limiter
                    .hit(&key, limit, std::time::Duration::from_secs(60))
                    .await
                {
                    Ok(RateDecision::Limited { retry_after }) => {
                        req.extensions_mut().insert(ClientRate {
                            limit,
                            remaining: 0,
                            reset_secs: retry_after.as_secs().max(1),
                        });
                        return Err(ApiError::rate_limited(retry_after.as_secs()));
                    }
                    Ok(RateDecision::Allowed { remaining }) => {
                        // The window starts at its first request, which the limiter does not
                        // say: the window's length is an upper bound, safe to wait for.
                        req.extensions_mut().insert(ClientRate {
                            limit,
                            remaining,
                            reset_secs: 60,
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "client rate limiter unavailable; letting the request through")
                    }
                }
            }
            // Scopes as held now: a narrowed client loses the others at once.
            let granted = ClientScope::parse_list(&claims.scope).unwrap_or_default();
            let current = ClientScope::parse_list(&row.scopes).unwrap_or_default();
            Ok(ClientUser {
                client_id: row.client_id,
                name: row.name,
                scopes: granted
                    .into_iter()
                    .filter(|s| current.contains(s))
                    .collect(),
            })
        })
    }
}

/// Where a request came from, for the audit trail: the client address (from
/// `X-Forwarded-For` only when configured to trust it) and the request id.
pub struct RequestOrigin(pub Origin);

impl FromRequest for RequestOrigin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust_forwarded = req
            .app_data::<Data<AppState>>()
            .is_some_and(|s| s.settings.server.trust_forwarded_for);
        let ip = client_address(req, trust_forwarded);
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        ready(Ok(RequestOrigin(Origin { ip, request_id })))
    }
}

/// The application state and the bearer token of a request, or why there is none.
fn presented_token(req: &HttpRequest) -> Result<(Data<AppState>, String), ApiError> {
    let state = req
        .app_data::<Data<AppState>>()
        .cloned()
        .ok_or_else(missing_state)?;
    let token = bearer_token(req).ok_or_else(unauthenticated)?.to_owned();
    Ok((state, token))
}

/// The client's address: the peer, or behind a trusted proxy the address that proxy appended
/// to `X-Forwarded-For` (the rightmost entry). Entries further left are whatever the client
/// sent and prove nothing.
pub fn client_address(req: &HttpRequest, trust_forwarded: bool) -> Option<String> {
    if trust_forwarded
        && let Some(last) = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
    {
        return Some(last.to_owned());
    }
    req.peer_addr().map(|a| a.ip().to_string())
}

fn missing_state() -> ApiError {
    ApiError::internal(anyhow::anyhow!("application state missing"))
}

fn unauthenticated() -> ApiError {
    ApiError::unauthorized(
        "unauthenticated",
        Text::new(
            "需要登录：请在 Authorization 头中提供 Bearer 访问令牌",
            "authentication required: send an access token as Authorization: Bearer <token>",
        ),
    )
}

pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// A day a client names: between 2000 and 2100, so date arithmetic never leaves the calendar.
pub fn day_param(
    field: &'static str,
    day: Option<chrono::NaiveDate>,
) -> Result<Option<chrono::NaiveDate>, ApiError> {
    let lowest = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
    let highest = chrono::NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(chrono::NaiveDate::MAX);
    match day {
        Some(d) if d < lowest || d > highest => Err(fengqiao_domain::DomainError::invalid(
            field,
            "date_out_of_range",
            Text::new(
                "日期须在 2000 年至 2100 年之间",
                "dates run from 2000 to 2100",
            ),
        )
        .into()),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn code_and_field(body: &str) -> (String, Option<String>) {
        let e = parse_json::<Outer>(body.as_bytes()).unwrap_err();
        let p = e.to_problem(crate::error::Lang::En, None, None);
        (p.code, p.errors.first().map(|f| f.field.clone()))
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(code_and_field("{"), ("malformed_json".into(), None));
        assert_eq!(
            code_and_field(r#"{"name":"a"}"#),
            ("missing_field".into(), Some("inner".into()))
        );
        assert_eq!(
            code_and_field(r#"{"name":"a","inner":{}}"#),
            ("missing_field".into(), Some("inner.count".into()))
        );
        assert_eq!(
            code_and_field(r#"{"name":"a","inner":{"count":"x"}}"#),
            ("invalid_field".into(), Some("inner.count".into()))
        );
        assert_eq!(
            code_and_field(r#"{"name":"a","inner":{"count":1,"extra":2}}"#),
            ("unknown_field".into(), Some("inner.extra".into()))
        );
        assert_eq!(
            code_and_field(r#"{"name":"a","inner":{"count":1}} trailing"#),
            ("malformed_json".into(), None)
        );
        assert_eq!(
            code_and_field(r#"{"name":"a\u0000b","inner":{"count":1}}"#),
            ("invalid_characters".into(), None)
        );
    }
}
