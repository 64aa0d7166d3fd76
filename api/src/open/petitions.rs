//! Integrators' petitions: the 12345 hotline or a city or provincial system registers a
//! petition that reached it, under its own id; it reads the status and public timeline of the
//! petitions it created, and follows them through a change feed instead of (or beside)
//! webhooks. The petition rules are the same as for any other channel.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use fengqiao_domain::error::Validator;
use fengqiao_domain::identity::{ClientScope, PersonName, PhoneNumber};
use fengqiao_domain::petition::{Channel, GroupMatter, NewPetition, PetitionKind, Submission};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::petitions::{self, PetitionRow, SealedPetitioner};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::admin::petitions::{PETITIONER_NAME, PETITIONER_PHONE, PetitionerDetails};
use crate::citizen::petitions::{
    Intake, PetitionView, SubmittedPetition, hash_request, register_petition, replay, view_of,
};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, ClientUser, RequestOrigin};
use crate::state::AppState;

/// A petition as an integrator sends it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_id": "12345-20261124-000731", "channel": "phone", "received_on": "2026-11-24",
    "kind": "complaint", "category_code": "labour", "title": "农民工工资被拖欠三个月",
    "content": "来电反映某工地拖欠 12 名农民工三个月工资，请求督促支付。",
    "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "petitioner": {"name": "王大明", "phone": "13900001111"}}))]
pub struct CreateOpenPetition {
    /// The integrator's own id for the petition (1 to 128 characters). Sending the same id
    /// again returns the petition first created under it, whatever the rest of the body.
    pub external_id: String,
    /// How it reached the integrator: `phone` (the hotline), `letter`, `visit` or `online`.
    pub channel: Channel,
    /// The day it reached the integrator: the regulation's periods count from it. Not in the
    /// future, at most 30 days back; default today.
    pub received_on: Option<NaiveDate>,
    pub kind: PetitionKind,
    pub category_code: String,
    /// 5 to 25 characters.
    #[schema(min_length = 5, max_length = 25)]
    pub title: String,
    /// 10 to 600 characters; details go in attachments.
    #[schema(min_length = 10, max_length = 600)]
    pub content: String,
    pub township_id: Uuid,
    pub village_id: Option<Uuid>,
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    pub group: Option<GroupMatter>,
    pub accused_org_id: Option<Uuid>,
    pub petitioner: PetitionerDetails,
}

/// How far back an integrator may date a petition: it forwards what it received, promptly.
const MAX_BACKDATE_DAYS: i64 = 30;

/// Create a petition under the integrator's own id (scope `petitions:write`). The answer
/// carries the tracking number and the query code to give the petitioner; sending the same
/// `external_id` again answers 200 with the first petition, never a second one.
#[utoipa::path(
    tag = "integrator-petitions",
    operation_id = "createIntegratorPetition",
    request_body = CreateOpenPetition,
    security(("client_credentials" = ["petitions:write"])),
    responses(
        (status = 201, description = "Registered", body = SubmittedPetition),
        (status = 200, description = "Already created under this external id: the first answer", body = SubmittedPetition),
        (status = 422, description = "Invalid fields (`external_id_invalid`, `received_out_of_range`, `unknown_category`, `unknown_place`, field rules)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/open/petitions")]
pub async fn create(
    state: web::Data<AppState>,
    client: ClientUser,
    origin: RequestOrigin,
    body: ApiJson<CreateOpenPetition>,
) -> Result<HttpResponse, ApiError> {
    client.require(ClientScope::PetitionsWrite)?;
    let body = body.0;
    let today = fengqiao_domain::calendar::local_date(Utc::now());
    let mut v = Validator::new();
    let external_id = body.external_id.trim().to_owned();
    if external_id.is_empty() || external_id.chars().count() > 128 {
        v.push(fengqiao_domain::FieldError::new(
            "external_id",
            "external_id_invalid",
            Text::new(
                "外部编号须为 1 至 128 个字符",
                "external_id is 1 to 128 characters",
            ),
        ));
    }
    let received_on = body.received_on.unwrap_or(today);
    if received_on > today || received_on < today - Duration::days(MAX_BACKDATE_DAYS) {
        v.push(fengqiao_domain::FieldError::new(
            "received_on",
            "received_out_of_range",
            Text::new(
                "收到日期须在 30 日内且不晚于今天",
                "the day received is within the last 30 days, not in the future",
            ),
        ));
    }
    let name = v.check("petitioner.name", PersonName::parse(&body.petitioner.name));
    let phone = body
        .petitioner
        .phone
        .as_deref()
        .map(|p| v.check("petitioner.phone", PhoneNumber::parse(p)))
        .unwrap_or(None);
    let name = v.finish(|| name)?;
    let petition = NewPetition::parse(Submission {
        kind: body.kind,
        channel: body.channel,
        category_code: &body.category_code,
        title: &body.title,
        content: &body.content,
        township_id: body.township_id,
        village_id: body.village_id,
        latitude: body.latitude,
        longitude: body.longitude,
        group: body.group,
        accused_org_id: body.accused_org_id,
    })?;
    let seal = |context: &str, clear: &str| {
        state
            .crypto
            .seal(context, clear)
            .map_err(ApiError::internal)
    };
    let petitioner = SealedPetitioner {
        name: seal(PETITIONER_NAME, name.expose())?,
        phone: phone
            .as_ref()
            .map(|p| seal(PETITIONER_PHONE, p.expose()))
            .transpose()?,
        phone_hash: phone.as_ref().map(|p| {
            state
                .crypto
                .lookup_hash(crate::citizen::profile::PHONE, p.expose())
        }),
    };
    // The external id enters the key hashed: keys have a bounded length, external ids need not.
    let request_hash = hash_request(&external_id)?;
    let key = format!("client:{}:external:{request_hash}", client.client_id);
    let registered = register_petition(
        &state,
        &origin,
        Intake {
            petition,
            online_citizen: None,
            petitioner: Some(petitioner),
            registered_on: received_on,
            actor: client.actor(),
            idempotency_key: key.clone(),
            // The external id alone: the same id is the same petition, whatever else changed.
            request_hash: request_hash.clone(),
            attachments: (Vec::new(), "client", client.client_id.clone()),
            source: Some((client.client_id.clone(), external_id)),
        },
    )
    .await;
    match registered {
        Ok((true, answer)) => Ok(HttpResponse::Created().json(answer)),
        Ok((false, answer)) => Ok(HttpResponse::Ok().json(answer)),
        // The same id sent twice at once: the other request is committing it; answer with
        // its petition once it has (integrators retry on timeouts, so this happens).
        Err(e) if e.code() == "submission_in_progress" => {
            for _ in 0..40 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if let Some(sealed) =
                    petitions::seen_submission(&state.db, &key, &request_hash).await?
                {
                    return Ok(HttpResponse::Ok().json(replay(&state, &sealed)?));
                }
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

fn not_theirs() -> ApiError {
    DomainError::NotFound {
        code: "petition_not_found",
        message: Text::new("信访事项不存在", "no such petition"),
    }
    .into()
}

/// One of the integrator's own petitions; any other is "not found".
async fn theirs(state: &AppState, client: &ClientUser, id: Uuid) -> Result<PetitionRow, ApiError> {
    petitions::get(&state.db, id)
        .await?
        .filter(|p| p.source_client_id.as_deref() == Some(client.client_id.as_str()))
        .ok_or_else(not_theirs)
}

/// A petition the integrator created: its status and public timeline (scope `petitions:read`).
#[utoipa::path(
    tag = "integrator-petitions",
    operation_id = "getIntegratorPetition",
    params(("id" = Uuid, Path, description = "Petition id")),
    security(("client_credentials" = ["petitions:read"])),
    responses(
        (status = 200, description = "The petition", body = PetitionView),
        (status = 404, description = "No such petition among the integrator's own (`petition_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/open/petitions/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    client: ClientUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    client.require(ClientScope::PetitionsRead)?;
    let row = theirs(&state, &client, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view_of(&state, row).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ByExternalId {
    /// The integrator's own id for the petition.
    pub external_id: String,
}

/// A petition the integrator created, found by its own id (scope `petitions:read`).
#[utoipa::path(
    tag = "integrator-petitions",
    operation_id = "findIntegratorPetition",
    params(ByExternalId),
    security(("client_credentials" = ["petitions:read"])),
    responses(
        (status = 200, description = "The petition", body = PetitionView),
        (status = 404, description = "None under this id (`petition_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/open/petitions")]
pub async fn find(
    state: web::Data<AppState>,
    client: ClientUser,
    query: ApiQuery<ByExternalId>,
) -> Result<HttpResponse, ApiError> {
    client.require(ClientScope::PetitionsRead)?;
    let row = petitions::find_by_source(&state.db, &client.client_id, query.0.external_id.trim())
        .await?
        .ok_or_else(not_theirs)?;
    Ok(HttpResponse::Ok().json(view_of(&state, row).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` of the last page read; omit it to start from the beginning.
    pub cursor: Option<Uuid>,
    /// 1..=500, default 100.
    pub limit: Option<u64>,
}

/// One public step of one of the integrator's petitions.
#[derive(Serialize, ToSchema)]
pub struct Change {
    /// Unique and increasing: the cursor.
    pub id: Uuid,
    pub petition_id: Uuid,
    pub tracking_no: String,
    pub external_id: Option<String>,
    /// `registered`, `forwarded`, `accepted`, `extended`, `answered`, …
    pub event: String,
    /// The state after the step.
    pub state: String,
    pub at: DateTime<FixedOffset>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f80", "petition_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60",
    "tracking_no": "ZM20261124000731", "external_id": "12345-20261124-000731", "event": "accepted", "state": "in_handling",
    "at": "2026-11-25T09:12:40+08:00"}], "next_cursor": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f80"}))]
pub struct ChangesPage {
    pub items: Vec<Change>,
    /// Where to continue: the last item's id, or the cursor given when nothing is new (poll
    /// again later with it).
    pub next_cursor: Option<Uuid>,
}

/// How long a step waits before it is listed: a transaction that took its id earlier but
/// commits later must not land behind a reader's cursor.
const SETTLE_SECS: i64 = 5;

/// The change feed (scope `petitions:read`): every public step of the petitions the integrator
/// created, in the order recorded, after the cursor. Steps appear five seconds after they are
/// recorded, so that none commits behind a cursor already read; poll with `next_cursor`. The
/// same steps go to the integrator's webhooks.
#[utoipa::path(
    tag = "integrator-petitions",
    operation_id = "listIntegratorChanges",
    params(ChangesQuery),
    security(("client_credentials" = ["petitions:read"])),
    responses((status = 200, description = "The next steps", body = ChangesPage))
)]
#[get("/open/changes")]
pub async fn changes(
    state: web::Data<AppState>,
    client: ClientUser,
    query: ApiQuery<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    client.require(ClientScope::PetitionsRead)?;
    let q = query.0;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let settled = Utc::now() - Duration::seconds(SETTLE_SECS);
    let found =
        petitions::changes_for_client(&state.db, &client.client_id, q.cursor, settled, limit)
            .await?;
    let items: Vec<Change> = found
        .into_iter()
        .map(|c| Change {
            id: c.event.id,
            petition_id: c.event.petition_id,
            tracking_no: c.tracking_no,
            external_id: c.external_id,
            event: c.event.event,
            state: c.event.to_state,
            at: fengqiao_domain::calendar::to_local(c.event.at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ChangesPage {
        next_cursor: items.last().map(|c| c.id).or(q.cursor),
        items,
    }))
}
