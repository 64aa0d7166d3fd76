//! OAuth 2 client credentials (RFC 6749 §4.4): a client trades its id and secret (HTTP Basic,
//! or `client_id`/`client_secret` in the body, form-encoded or JSON) for a short-lived scoped
//! access token. Errors are problem documents whose `code` is the RFC's error name.

use actix_web::http::header;
use actix_web::{HttpRequest, get, post, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use fengqiao_domain::Text;
use fengqiao_domain::identity::ClientScope;
use fengqiao_infra::db::api_clients;
use fengqiao_infra::db::audit::{Actor, Event};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::{ClientUser, RequestOrigin, parse_json};
use crate::state::AppState;

/// Unknown parameters are ignored, as RFC 6749 §3.2 requires of a token endpoint.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"grant_type": "client_credentials", "client_id": "fq_3f2a9c1e7b6d4a50",
                          "client_secret": "q7Vb1mJzN2…", "scope": "petitions:read"}))]
pub struct TokenRequest {
    /// Only `client_credentials`.
    pub grant_type: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Space-separated subset of the client's scopes; all of them when absent.
    pub scope: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
                          "token_type": "Bearer", "expires_in": 3600, "scope": "petitions:read"}))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
}

fn oauth_error(status: u16, code: &'static str, zh: &'static str, en: &'static str) -> ApiError {
    match status {
        401 => ApiError::unauthorized(code, Text::new(zh, en)),
        _ => ApiError::bad_request(code, Text::new(zh, en), None),
    }
}

fn invalid_client() -> ApiError {
    oauth_error(
        401,
        "invalid_client",
        "接入方身份验证失败",
        "client authentication failed",
    )
}

/// HTTP Basic credentials, if sent.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // Control characters are never part of credentials (and a NUL cannot reach the database).
    if id.chars().chain(secret.chars()).any(char::is_control) {
        return None;
    }
    Some((id.to_owned(), secret.to_owned()))
}

/// Get an access token with client credentials.
#[utoipa::path(
    tag = "integrator-auth",
    operation_id = "issueClientToken",
    request_body(content = TokenRequest, description = "Form-encoded (`application/x-www-form-urlencoded`, as RFC 6749 \
says) or JSON", content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A scoped access token", body = TokenResponse),
        (status = 400, description = "`unsupported_grant_type`, `invalid_scope` or `invalid_request`", body = Problem,
         content_type = "application/problem+json"),
        (status = 401, description = "Unknown, revoked or wrong credentials (`invalid_client`)", body = Problem,
         content_type = "application/problem+json")
    )
)]
#[post("/oauth/token")]
pub async fn token(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_json && !is_form {
        return Err(ApiError::unsupported_media_type());
    }
    let form: TokenRequest = if is_json {
        parse_json(&body)?
    } else {
        crate::extract::refuse_nul(&body, crate::extract::NulEncoding::Percent)?;
        serde_urlencoded::from_bytes(&body).map_err(|e| {
            ApiError::bad_request(
                "invalid_request",
                Text::owned(
                    format!("请求格式错误：{e}"),
                    format!("malformed token request: {e}"),
                ),
                None,
            )
        })?
    };
    if form.grant_type != "client_credentials" {
        return Err(oauth_error(
            400,
            "unsupported_grant_type",
            "仅支持 client_credentials 授权方式",
            "only the client_credentials grant is supported",
        ));
    }
    let (client_id, secret) = match (basic_credentials(&req), form.client_id, form.client_secret) {
        (Some(basic), _, _) => basic,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => return Err(invalid_client()),
    };
    let client = api_clients::find_by_client_id(&state.db, &client_id).await?;
    let Some(client) =
        client.filter(|c| c.revoked_at.is_none() && api_clients::secret_matches(c, &secret))
    else {
        state
            .audit(
                &Actor::anonymous(),
                &origin.0,
                // Bounded: a caller must not write arbitrary volumes into the trail.
                Event::new("api_client.token.refused")
                    .with(json!({"client_id": client_id.chars().take(64).collect::<String>()})),
            )
            .await?;
        return Err(invalid_client());
    };
    let held = ClientScope::parse_list(&client.scopes).unwrap_or_default();
    let granted = match form
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => held,
        Some(asked) => {
            let asked = ClientScope::parse_list(asked).map_err(|_| invalid_scope())?;
            if !asked.iter().all(|s| held.contains(s)) {
                return Err(invalid_scope());
            }
            asked
        }
    };
    let scope = ClientScope::join(&granted);
    let access_token = state
        .tokens
        .issue_client(&client.client_id, &scope, Utc::now())?;
    state
        .audit(
            &Actor::client(&client.client_id, &scope),
            &origin.0,
            Event::new("api_client.token.issued").on("api_client", &client.client_id),
        )
        .await?;
    Ok(web::Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.client_ttl_secs(),
        scope,
    }))
}

fn invalid_scope() -> ApiError {
    oauth_error(
        400,
        "invalid_scope",
        "请求的权限范围超出授权",
        "the requested scope exceeds the client's scopes",
    )
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"client_id": "fq_3f2a9c1e7b6d4a50", "name": "12345 热线平台", "scopes": ["petitions:read"]}))]
pub struct ClientIdentity {
    pub client_id: String,
    pub name: String,
    /// The scopes this token carries (and the client still holds).
    pub scopes: Vec<ClientScope>,
}

/// The calling client and its scopes: a cheap check that credentials and token work.
#[utoipa::path(
    tag = "integrator-auth",
    operation_id = "getClientIdentity",
    security(("client_credentials" = [])),
    responses((status = 200, description = "The caller", body = ClientIdentity))
)]
#[get("/open/whoami")]
pub async fn whoami(client: ClientUser) -> web::Json<ClientIdentity> {
    web::Json(ClientIdentity {
        client_id: client.client_id,
        name: client.name,
        scopes: client.scopes,
    })
}
