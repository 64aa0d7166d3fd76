//! The OpenAPI 3.1 document. Paths are collected where routes are registered (`app::routes`
//! through utoipa-actix-web), so the document cannot drift from the router; this module adds
//! the info, tags, security schemes and the error responses every operation shares.

use actix_web::App;
use fengqiao_domain::identity::ClientScope;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{Problem, ProblemField};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fengqiao 枫桥 — county mobile petition service API",
        description = "The backend of a county's mobile petition service (掌上信访): citizens' \
operations under `/api/v1`, staff operations under `/api/v1/admin`, integrators' under \
`/api/v1/open`. Every error is an RFC 9457 problem document (`application/problem+json`) with a \
stable `code`; messages are Chinese by default, English with `Accept-Language: en`. Timestamps \
are RFC 3339 with offset (Asia/Shanghai); calendar days are `YYYY-MM-DD`. Lists use cursor \
pagination (`limit`, `cursor`, `next_cursor`).\n\n\
**Versioning.** Within `v1` changes are additive only: new operations, new optional request \
fields, new response fields and new enum values (clients ignore what they do not know). \
Anything else comes as `v2` beside `v1`. An operation to be withdrawn is first marked \
`deprecated` here and answers with a `Deprecation` header (RFC 9745), a `Sunset` header \
(RFC 8594) at least six months ahead and a `Link` to its replacement.\n\n\
**Integrators' limits.** Every answer to an integrator carries `RateLimit-Limit`, \
`RateLimit-Remaining`, `RateLimit-Reset` (seconds, at most) and `RateLimit-Policy` (`<limit>;w=60`); \
over the limit the answer is 429 with `Retry-After`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "县信访局 (the county petition bureau)")
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "health", description = "Liveness and readiness probes"),
        (name = "citizen-auth", description = "Citizens sign in with WeChat; refresh tokens rotate and detect reuse"),
        (name = "citizen-profile", description = "A citizen's own profile: real-name registration and phone binding"),
        (name = "citizen-petitions", description = "Submitting and following petitions; anonymous follow-up by tracking number and query code"),
        (name = "citizen-notifications", description = "The in-app inbox of status messages, and the WeChat subscribe-message grants"),
        (name = "wechat-push", description = "WeChat's message-push callback (subscribe and unsubscribe events)"),
        (name = "integrator-webhooks", description = "Webhook endpoints, their signed deliveries (Standard Webhooks) and the delivery log"),
        (name = "public-articles", description = "The guide, the news centre's channels and articles, and the contacts page"),
        (name = "public-reception", description = "The leaders' reception schedule (领导接待公示), as JSON and as an iCalendar feed"),
        (name = "citizen-bookings", description = "Booking the leaders' reception (预约接访)"),
        (name = "admin-reception", description = "Reception bookings: the day's list, confirm, reject, move, record the reception and open a petition from it"),
        (name = "admin-articles", description = "Editors write the guide and the news: drafts, revisions, publication and archiving"),
        (name = "admin-public-content", description = "Editors keep the contacts, the leaders and the reception rules"),
        (name = "admin-deliveries", description = "Status-push deliveries: dead letters, retry and discard"),
        (name = "integrator-auth", description = "OAuth 2 client credentials for integrators"),
        (name = "admin-auth", description = "Staff sign-in: password, lockout, TOTP second factor"),
        (name = "admin-staff", description = "Staff accounts and roles"),
        (name = "admin-citizens", description = "Citizens as staff see them: masked, revealed only to those who need it (audited)"),
        (name = "admin-integrators", description = "Integrator clients: create, list, revoke"),
        (name = "admin-audit", description = "The hash-chained audit trail"),
        (name = "admin-calendar", description = "Statutory holidays and make-up workdays that deadlines count on"),
        (name = "admin-statistics", description = "Supervision figures with published definitions, drill-down to the petitions behind each, the monthly red/yellow/black flags, trends; CSV, XLSX and SVG exports"),
        (name = "admin-escalations", description = "Abnormal escalations to the city, province or Beijing, and the weekly watch with its streaks"),
        (name = "admin-supervision", description = "Due-soon and overdue petitions, supervision orders, leaders' owned cases and the weekly progress summary"),
        (name = "open311", description = "Open311 GeoReport v2: categories as services, petitions as service requests, JSON or XML; `api_key` is an integrator's `client_id:client_secret`"),
        (name = "integrator-petitions", description = "Integrators create petitions under their own id (idempotent), read their status and public timeline, and follow a change feed"),
        (name = "integrator-escalations", description = "Integrators record abnormal escalations, idempotent by their own id"),
        (name = "admin-petitions", description = "The work list, full records and the lifecycle transitions of petitions"),
        (name = "admin-organisations", description = "The organisation tree: county, townships and streets, villages, villager groups, departments")
    ),
    // Enums used only in query or path parameters are listed here, so their references resolve.
    components(schemas(
        Problem,
        ProblemField,
        crate::open311::Open311Error,
        crate::open311::Format,
        crate::exports::ExportFormat,
        crate::exports::ChartFormat,
        crate::admin::statistics::Figure,
        crate::admin::supervision::DeadlineStatus,
        fengqiao_domain::statistics::Granularity,
        fengqiao_domain::statistics::Part
    )),
    modifiers(&SharedResponses)
)]
pub struct ApiDoc;

/// Adds the security scheme and the error responses any operation can give, so each path
/// declares only the errors that are its own.
struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "staff_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Staff access token from `POST /api/v1/admin/auth/login`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "citizen_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Citizen access token from `POST /api/v1/auth/wechat` or `/api/v1/auth/refresh`",
                    ))
                    .build(),
            ),
        );
        let scopes = Scopes::from_iter(ClientScope::ALL.map(|s| {
            let what = match s {
                ClientScope::PetitionsRead => "read petitions and their status",
                ClientScope::PetitionsWrite => "submit petitions",
                ClientScope::WebhooksManage => "manage webhook subscriptions",
                ClientScope::EscalationsWrite => "record abnormal escalations of their petitioners",
            };
            (s.as_str(), what)
        }));
        components.add_security_scheme(
            "client_credentials",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/api/v1/oauth/token",
                    scopes,
                ))],
                "Integrator access token: client credentials at `POST /api/v1/oauth/token`",
            )),
        );
    }
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Open311 answers errors in the standard's own shape, `[{code, description}]`.
fn open311_error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(
                    utoipa::openapi::schema::ArrayBuilder::new()
                        .items(Ref::from_schema_name("Open311Error")),
                ))
                .build(),
        )
        .build()
}

fn add_shared_errors(path: &str, op: &mut Operation) {
    if path.starts_with("/open311") {
        for (status, description) in [
            ("500", "Unexpected error"),
            ("503", "The database is down; see `Retry-After`"),
        ] {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| open311_error(description).into());
        }
        return;
    }
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description).into());
    };
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add(
            "401",
            "Missing, invalid or expired access token (`unauthenticated`, `invalid_token`)",
        );
        add("403", "The caller's roles do not allow this (`forbidden`)");
    }
    if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        add(
            "400",
            "A malformed path or query parameter (`invalid_path_parameter`, `invalid_field`, `unknown_field`)",
        );
    }
    if op.request_body.is_some() {
        add(
            "400",
            "Malformed body, unknown field or wrong type (`malformed_json`, `unknown_field`, `invalid_field`, `missing_field`)",
        );
        add("413", "Body larger than the limit (`payload_too_large`)");
        add("415", "Body is not JSON (`unsupported_media_type`)");
    }
    if path.starts_with("/api/") {
        add(
            "429",
            "Too many requests from this address (`rate_limited`); see `Retry-After`",
        );
    }
    add(
        "500",
        "Unexpected error (`internal_error`); only the request id is given",
    );
    add(
        "503",
        "A dependency is down (`dependency_unavailable`); see `Retry-After`",
    );
}

/// The whole document: `ApiDoc` plus every path registered by `app::routes`.
pub fn document() -> OpenApiDoc {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::app::routes)
        .split_for_parts();
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_shared_errors(path, op);
            // Linters ask for a description; a summary-only operation says it once more.
            if op.description.as_deref().is_none_or(str::is_empty) {
                op.description = op.summary.clone();
            }
        }
    }
    crate::deprecation::mark(&mut doc, crate::deprecation::DEPRECATED);
    doc
}

/// The document as committed in `openapi/openapi.json`: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
