//! The error policy, in one place.
//!
//! * Expected errors are typed: each has an HTTP status, a stable snake_case `code`, a message in
//!   Chinese (default) and English, and for validation the failing fields. They are rendered as
//!   RFC 9457 `application/problem+json`.
//! * Unexpected errors are logged with their whole cause chain; the client gets an opaque 500
//!   carrying only the request id to quote.
//! * A dependency that is down gives 503 with `Retry-After`; rate limits give 429 with it too.
//!
//! Handlers return `ApiError`; the request middleware renders it in the caller's language and
//! adds the request id (see `middleware::request_context`).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use fengqiao_domain::ports::Unavailable;
use fengqiao_domain::{DomainError, FieldError, Text};
use fengqiao_infra::db::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The language a problem is written in, negotiated from `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks the first of the caller's languages that the service speaks, by quality value;
    /// Chinese when none matches.
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        let Some(header) = accept_language else {
            return Lang::Zh;
        };
        let mut tags: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        // Stable sort keeps the caller's order among equal weights.
        tags.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, tag) in tags {
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                "zh" => return Lang::Zh,
                "en" => return Lang::En,
                _ => {}
            }
        }
        Lang::Zh
    }

    pub fn pick(self, text: &Text) -> String {
        match self {
            Lang::Zh => text.zh.to_string(),
            Lang::En => text.en.to_string(),
        }
    }
}

/// An error on its way to the client. Boxed: it travels through every `Result` of a handler,
/// and the happy path should not pay for its size.
pub struct ApiError(Box<ApiErrorParts>);

pub struct ApiErrorParts {
    status: StatusCode,
    code: &'static str,
    detail: Text,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    /// Only for 500s: what went wrong, for the log, never for the client.
    cause: Option<anyhow::Error>,
    /// Set when the error leaves the middleware as an error rather than a response, so that it
    /// still renders in the caller's language with the request id.
    request: Option<(Lang, String, String)>,
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorParts;

    fn deref(&self) -> &ApiErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorParts {
        &mut self.0
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("cause", &self.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: Text) -> Self {
        Self(Box::new(ApiErrorParts {
            status,
            code,
            detail,
            errors: Vec::new(),
            retry_after_secs: None,
            cause: None,
            request: None,
        }))
    }

    /// Binds the error to its request: language, path and request id.
    pub fn in_request(mut self, lang: Lang, path: &str, request_id: &str) -> Self {
        self.request = Some((lang, path.to_owned(), request_id.to_owned()));
        self
    }

    /// 400: the request could not be read (malformed JSON, unknown field, wrong type).
    pub fn bad_request(code: &'static str, detail: Text, field: Option<FieldError>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, code, detail);
        e.errors.extend(field);
        e
    }

    /// 401: no credentials, or credentials that do not hold.
    pub fn unauthorized(code: &'static str, detail: Text) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 403: the caller is known and may not do this.
    pub fn forbidden(code: &'static str, detail: Text) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 404 for a path the service does not have.
    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            Text::new("请求的地址不存在", "there is no such resource"),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            Text::new(
                "该地址不支持此请求方法",
                "this method is not allowed on this resource",
            ),
        )
    }

    /// 413: the body is larger than `server.body_limit_bytes`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            Text::owned(
                format!("请求体超过 {limit} 字节的上限"),
                format!("the request body exceeds the limit of {limit} bytes"),
            ),
        )
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            Text::new(
                "请求体须为 JSON，Content-Type 应为 application/json",
                "the request body must be JSON, with Content-Type: application/json",
            ),
        )
    }

    /// 429 with the seconds to wait.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            Text::owned(
                format!("请求过于频繁，请 {retry_after_secs} 秒后再试"),
                format!("too many requests; retry in {retry_after_secs} s"),
            ),
        );
        e.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    /// 503: a dependency is down; nothing was changed and the client may retry.
    pub fn unavailable(dependency: &str, retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            Text::owned(
                format!("服务暂时不可用（{dependency}），请稍后重试"),
                format!("the service is temporarily unavailable ({dependency}); retry later"),
            ),
        );
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    /// 500: logged with its cause chain; the client sees only the request id.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            Text::new(
                "服务器内部错误，请凭请求编号联系管理员",
                "internal error; quote the request id to the administrator",
            ),
        );
        e.cause = Some(cause.into());
        e
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.cause.as_ref()
    }

    /// The problem document in `lang`, for the request `instance` with `request_id`.
    pub fn to_problem(
        &self,
        lang: Lang,
        instance: Option<&str>,
        request_id: Option<&str>,
    ) -> Problem {
        Problem {
            r#type: format!("urn:fengqiao:problem:{}", self.code),
            title: lang.pick(&title_of(self.status)),
            status: self.status.as_u16(),
            detail: lang.pick(&self.detail),
            code: self.code.to_owned(),
            instance: instance.map(str::to_owned),
            errors: self
                .errors
                .iter()
                .map(|e| ProblemField {
                    field: e.field.clone(),
                    code: e.code.to_owned(),
                    message: lang.pick(&e.message),
                })
                .collect(),
            request_id: request_id.map(str::to_owned),
        }
    }

    /// The full response for a negotiated language and request.
    pub fn render(
        &self,
        lang: Lang,
        instance: Option<&str>,
        request_id: Option<&str>,
    ) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.json(self.to_problem(lang, instance, request_id))
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The short, status-wide title of a problem (the `detail` says what happened).
fn title_of(status: StatusCode) -> Text {
    match status.as_u16() {
        400 => Text::new("请求格式错误", "Bad request"),
        401 => Text::new("未认证", "Unauthenticated"),
        403 => Text::new("无权操作", "Forbidden"),
        404 => Text::new("资源不存在", "Not found"),
        405 => Text::new("请求方法不允许", "Method not allowed"),
        409 => Text::new("状态冲突", "Conflict"),
        413 => Text::new("请求体过大", "Payload too large"),
        415 => Text::new("不支持的内容类型", "Unsupported media type"),
        422 => Text::new("内容不符合要求", "Unprocessable content"),
        429 => Text::new("请求过于频繁", "Too many requests"),
        503 => Text::new("服务暂不可用", "Service unavailable"),
        _ => Text::new("服务器内部错误", "Internal server error"),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        // The request middleware re-renders responses with the caller's language and request
        // id; errors it passes on carry them (`in_request`).
        match &self.request {
            Some((lang, path, request_id)) => {
                let mut res = self.render(*lang, Some(path), Some(request_id));
                if let Ok(v) = HeaderValue::from_str(request_id) {
                    res.headers_mut()
                        .insert(header::HeaderName::from_static("x-request-id"), v);
                }
                crate::middleware::secure(res.headers_mut(), path);
                res
            }
            None => {
                let mut res = self.render(Lang::Zh, None, None);
                crate::middleware::secure(res.headers_mut(), "");
                res
            }
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(errors) => {
                let mut api = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    Text::new(
                        "请求内容未通过校验，详见 errors",
                        "the request failed validation; see errors",
                    ),
                );
                api.errors = errors;
                api
            }
            DomainError::NotFound { code, message } => {
                Self::new(StatusCode::NOT_FOUND, code, message)
            }
            DomainError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            DomainError::Forbidden { code, message } => {
                Self::new(StatusCode::FORBIDDEN, code, message)
            }
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        DomainError::from(e).into()
    }
}

/// Seconds a client should wait before retrying after a dependency failure.
pub const DEPENDENCY_RETRY_SECS: u64 = 5;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "database unavailable");
            return Self::unavailable("database", DEPENDENCY_RETRY_SECS);
        }
        match e {
            StoreError::Rule(rule) => rule.into(),
            other => Self::internal(other),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        StoreError::from(e).into()
    }
}

impl From<Unavailable> for ApiError {
    fn from(e: Unavailable) -> Self {
        tracing::warn!(dependency = e.dependency, reason = %e.reason, "dependency unavailable");
        Self::unavailable(e.dependency, DEPENDENCY_RETRY_SECS)
    }
}

/// RFC 9457 problem details, as every error response carries them.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:fengqiao:problem:validation_failed",
    "title": "内容不符合要求",
    "status": 422,
    "detail": "请求内容未通过校验，详见 errors",
    "code": "validation_failed",
    "instance": "/api/v1/admin/org-units",
    "errors": [{"field": "code", "code": "invalid_org_code", "message": "机构编码须为 2 至 32 位英文字母、数字或连字符"}],
    "request_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60"
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:fengqiao:problem:{code}`.
    pub r#type: String,
    /// Short summary of the status class, in the negotiated language.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, in the negotiated language.
    pub detail: String,
    /// Stable machine-readable code; match on this, not on the text.
    pub code: String,
    /// The request path the problem occurred on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Field-level errors (400 naming a field, 422 validation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// The request id (also in `X-Request-Id`) to quote when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One field that failed.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ProblemField {
    /// Dotted path of the field in the request, such as `parent_id` or `items[2].name`.
    pub field: String,
    /// Stable machine-readable code of the rule that failed.
    pub code: String,
    /// The reason, in the negotiated language.
    pub message: String,
}

impl ApiError {
    /// The problem for an error response that did not come from our code (actix's own 404/405,
    /// payload errors of other extractors).
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            404 => Self::no_route(),
            405 => Self::method_not_allowed(),
            413 => Self::new(
                status,
                "payload_too_large",
                Text::new("请求体过大", "the request body is too large"),
            ),
            415 => Self::unsupported_media_type(),
            401 => Self::new(
                status,
                "unauthenticated",
                Text::new("需要登录", "authentication required"),
            ),
            403 => Self::new(status, "forbidden", Text::new("无权操作", "forbidden")),
            s if s < 500 => Self::new(
                status,
                "bad_request",
                Text::new("请求无法处理", "the request cannot be processed"),
            ),
            _ => Self::new(
                status,
                "internal_error",
                Text::new(
                    "服务器内部错误，请凭请求编号联系管理员",
                    "internal error; quote the request id to the administrator",
                ),
            ),
        }
    }
}

impl ApiError {
    /// 503 from the readiness check, naming each dependency that failed.
    pub fn not_ready(names: &str, errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            Text::owned(
                format!("依赖服务不可用：{names}"),
                format!("dependencies down: {names}"),
            ),
        );
        e.errors = errors;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_negotiated_by_quality() {
        assert_eq!(Lang::negotiate(None), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("en")), Lang::En);
        assert_eq!(Lang::negotiate(Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("fr;q=1,en;q=0.5")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh;q=0.2,en;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("de")), Lang::Zh);
    }
}
