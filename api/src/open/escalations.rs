//! Integrators (the city and provincial petition systems) report the escalations they receive,
//! idempotent by their own id.

use actix_web::{HttpResponse, post, web};
use fengqiao_domain::identity::{ClientScope, OrgScope};
use fengqiao_domain::{DomainError, Text};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::admin::escalations::{EscalationView, RecordEscalation, record};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ClientUser, RequestOrigin};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_id": "HN-2026-112400317", "escalation": {"occurred_on": "2026-11-24", "level": "province",
    "person_name": "张三", "person_id_number": null, "home_org_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "registered_petition": false, "petition_id": null, "note": null}}))]
pub struct ReportEscalation {
    /// The integrator's own id for the record (1 to 128 characters): sending it again returns
    /// the first record with 200 instead of recording twice.
    pub external_id: String,
    pub escalation: RecordEscalation,
}

/// Report an abnormal escalation (scope `escalations:write`).
#[utoipa::path(
    tag = "integrator-escalations",
    operation_id = "reportEscalation",
    request_body = ReportEscalation,
    security(("client_credentials" = ["escalations:write"])),
    responses(
        (status = 201, description = "Recorded", body = EscalationView),
        (status = 200, description = "Already recorded under this external id: the first record", body = EscalationView),
        (status = 422, description = "A bad field (`external_id_invalid`, `occurred_on_out_of_range`, `person_name_*`, `id_number_*`, `unknown_org_unit`, `unknown_petition`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/open/escalations")]
pub async fn report(
    state: web::Data<AppState>,
    client: ClientUser,
    origin: RequestOrigin,
    body: ApiJson<ReportEscalation>,
) -> Result<HttpResponse, ApiError> {
    client.require(ClientScope::EscalationsWrite)?;
    let body = body.0;
    let external_id = body.external_id.trim().to_owned();
    if external_id.is_empty() || external_id.chars().count() > 128 {
        return Err(DomainError::invalid(
            "external_id",
            "external_id_invalid",
            Text::new(
                "外部编号须为 1 至 128 个字符",
                "external_id is 1 to 128 characters",
            ),
        )
        .into());
    }
    let (view, created) = record(
        &state,
        &OrgScope::All,
        &client.actor(),
        &origin.0,
        body.escalation,
        ("integrator", client.client_id.clone()),
        Some(external_id),
    )
    .await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}
