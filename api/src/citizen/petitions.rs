//! Citizens submit petitions and follow them; anyone holding a tracking number and its query
//! code follows the public timeline without an account.

use actix_web::http::header::HeaderName;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fengqiao_domain::org::OrgKind;
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::petition::{
    Channel, Checkpoint, DeadlineKind, DueStatus, GroupMatter, MatterCategory, NewPetition,
    PetitionKind, PetitionState, Submission, normalise_query_code, query_code,
};
use fengqiao_domain::ports::RateDecision;
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::petitions::{self, PetitionRow, Registered, parse_text};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::profile::standing_of;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, CitizenUser, RequestOrigin};
use crate::state::AppState;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const QUERY_CODE: &str = "petitions.query_code";
const REPLAY: &str = "idempotency_keys.response";

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "complaint", "category_code": "transport", "title": "村道路面破损请求维修",
    "content": "官渡桥村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。",
    "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "village_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f62",
    "latitude": 34.72, "longitude": 113.97}))]
pub struct SubmitPetitionRequest {
    pub kind: PetitionKind,
    /// A code from `GET /api/v1/petition-categories`.
    pub category_code: String,
    /// 5 to 25 characters.
    #[schema(min_length = 5, max_length = 25)]
    pub title: String,
    /// 10 to 600 characters; details go in attachments.
    #[schema(min_length = 10, max_length = 600)]
    pub content: String,
    /// Where it happened: the township or street.
    pub township_id: Uuid,
    /// The village or community, if known (it must belong to the township).
    pub village_id: Option<Uuid>,
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    /// For a group matter: how many people, and their representatives (at most 5).
    pub group: Option<GroupMatter>,
    /// For an accusation: the organisation accused (it will never receive the petition).
    pub accused_org_id: Option<Uuid>,
    /// Files uploaded first at `POST /api/v1/attachments` (at most 9).
    #[serde(default)]
    #[schema(max_items = 9)]
    pub attachment_ids: Vec<Uuid>,
}

/// One public step of a petition's life.
#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<FixedOffset>,
    /// Such as `registered`, `forwarded`, `accepted`, `answered`.
    pub event: String,
    pub state: PetitionState,
}

/// A petition as its petitioner sees it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261125000001",
    "kind": "complaint", "category_code": "transport", "matter_category": "claim", "title": "村道路面破损请求维修",
    "content": "官渡桥村东头道路破损严重……", "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "village_id": null,
    "state": "registered", "registered_on": "2026-11-25", "next_deadline": "2026-12-10", "deadline_kind": "dispose",
    "due_status": "on_track", "flagged": false, "attachments": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f71", "kind": "jpeg", "size": 182044}],
    "timeline": [{"at": "2026-11-25T10:30:00+08:00", "event": "registered", "state": "registered"}]}))]
pub struct PetitionView {
    pub id: Uuid,
    pub tracking_no: String,
    pub kind: PetitionKind,
    pub category_code: String,
    pub matter_category: MatterCategory,
    pub title: String,
    pub content: String,
    pub township_id: Uuid,
    pub village_id: Option<Uuid>,
    pub state: PetitionState,
    pub registered_on: NaiveDate,
    /// The last day of the current staff obligation, if any.
    pub next_deadline: Option<NaiveDate>,
    pub deadline_kind: Option<DeadlineKind>,
    pub due_status: Option<DueStatus>,
    /// Held for staff review (content moderation or a repeat); the petition is not dropped.
    pub flagged: bool,
    pub attachments: Vec<crate::attachments::AttachmentView>,
    pub timeline: Vec<TimelineEntry>,
}

/// The answer to a submission: the petition, and its query code (shown in this response only;
/// a retry with the same `Idempotency-Key` gets this same answer again).
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261125000001",
    "query_code": "K7PX2M9Q", "state": "registered", "registered_on": "2026-11-25", "next_deadline": "2026-12-10",
    "held_for_review": false}))]
pub struct SubmittedPetition {
    pub id: Uuid,
    pub tracking_no: String,
    /// With the tracking number, anyone can follow the public timeline: keep it like a password.
    pub query_code: String,
    pub state: PetitionState,
    pub registered_on: NaiveDate,
    pub next_deadline: Option<NaiveDate>,
    /// Held for staff review (content moderation): registered all the same, and handled once
    /// a member of staff has looked at it.
    pub held_for_review: bool,
}

pub async fn view_of(state: &AppState, row: PetitionRow) -> Result<PetitionView, ApiError> {
    let mut views = views_of(state, vec![row]).await?;
    views
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a view of one petition")))
}

/// The views of a page of petitions, with their public timelines and attachments read in two
/// queries for the whole page.
pub async fn views_of(
    state: &AppState,
    rows: Vec<PetitionRow>,
) -> Result<Vec<PetitionView>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let (mut events, mut attachments) = futures_util::try_join!(
        petitions::events_of_many(&state.db, &ids, true),
        fengqiao_infra::db::attachments::for_petitions(&state.db, &ids),
    )?;
    rows.into_iter()
        .map(|row| {
            let events = events.remove(&row.id).unwrap_or_default();
            let attachments = attachments.remove(&row.id).unwrap_or_default();
            view_with(state, row, events, &attachments)
        })
        .collect()
}

fn view_with(
    state: &AppState,
    row: PetitionRow,
    events: Vec<fengqiao_infra::db::petitions::PetitionEventRow>,
    attachments: &[fengqiao_infra::db::attachments::AttachmentRow],
) -> Result<PetitionView, ApiError> {
    let timeline = events
        .into_iter()
        .map(|e| {
            Ok(TimelineEntry {
                at: fengqiao_domain::calendar::to_local(e.at),
                event: e.event,
                state: parse_text("petition_events.to_state", &e.to_state)?,
            })
        })
        .collect::<Result<Vec<_>, fengqiao_infra::db::StoreError>>()?;
    let deadline_kind: Option<DeadlineKind> = row
        .deadline_kind
        .as_deref()
        .map(|k| parse_text("petitions.deadline_kind", k))
        .transpose()?;
    let today = fengqiao_domain::calendar::local_date(Utc::now());
    let due_status = row
        .next_deadline
        .zip(deadline_kind)
        .map(|(last_day, kind)| {
            fengqiao_domain::petition::Deadline { kind, last_day }
                .status(today, state.settings.petition.due_soon_days)
        });
    Ok(PetitionView {
        id: row.id,
        tracking_no: row.tracking_no,
        kind: parse_text("petitions.kind", &row.kind)?,
        category_code: row.category_code,
        matter_category: parse_text("petitions.matter_category", &row.matter_category)?,
        title: row.title,
        content: row.content,
        township_id: row.township_id,
        village_id: row.village_id,
        state: parse_text("petitions.state", &row.state)?,
        registered_on: row.registered_on,
        next_deadline: row.next_deadline,
        deadline_kind,
        due_status,
        flagged: row.flagged,
        attachments: attachments
            .iter()
            .map(crate::attachments::AttachmentView::from_row)
            .collect::<Result<Vec<_>, _>>()?,
        timeline,
    })
}

fn unknown_place(field: &'static str) -> ApiError {
    DomainError::invalid(
        field,
        "unknown_place",
        Text::new(
            "所选地点不存在或不匹配",
            "no such place, or it does not match",
        ),
    )
    .into()
}

/// Submit a petition (网上来访、投诉、建议、留言).
#[utoipa::path(
    tag = "citizen-petitions",
    operation_id = "submitPetition",
    request_body = SubmitPetitionRequest,
    params(("Idempotency-Key" = String, Header, description = "A unique key per submission (e.g. a UUID); a retry with the same key and body returns the first answer")),
    security(("citizen_bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = SubmittedPetition),
        (status = 200, description = "A retry: the first answer again", body = SubmittedPetition),
        (status = 400, description = "Malformed body, or no `Idempotency-Key` (`idempotency_key_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An accusation needs a real name first (`real_name_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key was used for a different submission (`idempotency_key_reused`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, unknown category or place", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/petitions")]
pub async fn submit(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    req: HttpRequest,
    body: ApiJson<SubmitPetitionRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let body = body.0;
    let request_hash = hash_request(&body)?;
    let petition = NewPetition::parse(Submission {
        kind: body.kind,
        channel: Channel::Online,
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
    let intake = Intake {
        petition,
        online_citizen: Some(&citizen.row),
        petitioner: None,
        registered_on: fengqiao_domain::calendar::local_date(Utc::now()),
        actor: citizen.actor(),
        idempotency_key: format!("citizen:{}:{key}", citizen.id),
        request_hash,
        attachments: (
            body.attachment_ids.clone(),
            "citizen",
            citizen.id.to_string(),
        ),
        source: None,
    };
    register_intake(&state, &origin, intake).await
}

/// A petition on its way into the register, from whichever channel.
pub struct Intake<'a> {
    pub petition: NewPetition,
    /// The signed-in citizen submitting online (their real-name standing gates accusations).
    pub online_citizen: Option<&'a fengqiao_infra::db::citizens::CitizenRow>,
    /// For letters, visits and calls registered by staff.
    pub petitioner: Option<petitions::SealedPetitioner>,
    /// The day it was received: the regulation's periods count from it.
    pub registered_on: NaiveDate,
    pub actor: fengqiao_infra::db::audit::Actor,
    /// Scoped to the caller, so two callers' keys never collide.
    pub idempotency_key: String,
    /// Files the caller uploaded first, and who the caller is as an uploader.
    pub attachments: (Vec<Uuid>, &'static str, String),
    pub request_hash: String,
    /// An integrator's petition: (its client id, its own id for it).
    pub source: Option<(String, String)>,
}

/// Checks the category and the place, gives the petition its numbers and stores it with its
/// event, outbox message, idempotency key and audit entry in one transaction; a retry gets the
/// first answer again.
pub async fn register_intake(
    state: &AppState,
    origin: &RequestOrigin,
    intake: Intake<'_>,
) -> Result<HttpResponse, ApiError> {
    Ok(match register_petition(state, origin, intake).await? {
        (true, answer) => HttpResponse::Created().json(answer),
        (false, answer) => HttpResponse::Ok().json(answer),
    })
}

/// `register_intake`'s work: whether the petition is new (or a retry's first answer), and the
/// answer.
pub async fn register_petition(
    state: &AppState,
    origin: &RequestOrigin,
    intake: Intake<'_>,
) -> Result<(bool, SubmittedPetition), ApiError> {
    let petition = intake.petition;
    if intake.attachments.0.len() > fengqiao_domain::petition::MAX_PER_PETITION {
        return Err(DomainError::invalid(
            "attachment_ids",
            "too_many_attachments",
            Text::new("附件最多 9 个", "at most 9 attachments"),
        )
        .into());
    }
    let reference = state.reference.snapshot(&state.db).await?;
    let category = reference
        .categories
        .get(&petition.category_code)
        .ok_or_else(|| {
            ApiError::from(DomainError::invalid(
                "category_code",
                "unknown_category",
                Text::new("事项分类不存在", "no such category"),
            ))
        })?;
    let matter: MatterCategory =
        parse_text("categories.matter_category", &category.matter_category)?;
    if matter == MatterCategory::Accusation
        && let Some(citizen) = intake.online_citizen
    {
        standing_of(citizen).require_real_name()?;
    }
    let township = state
        .reference
        .place(&state.db, petition.township_id)
        .await
        .map_err(|_| unknown_place("township_id"))?;
    if !matches!(township.kind, OrgKind::Township | OrgKind::Street) {
        return Err(unknown_place("township_id"));
    }
    if let Some(village_id) = petition.village_id {
        let village = state
            .reference
            .place(&state.db, village_id)
            .await
            .map_err(|_| unknown_place("village_id"))?;
        if village.parent_id != Some(township.id) {
            return Err(unknown_place("village_id"));
        }
    }
    let now = Utc::now();
    let calendar = &reference.calendar;
    let periods = fengqiao_domain::petition::Periods::default();
    let checkpoint = if petition.village_id.is_some() {
        Checkpoint::VillageCommittee
    } else {
        Checkpoint::Township
    };
    // Moderation flags, it never refuses: a petition is a legal right.
    let author = intake
        .online_citizen
        .map(|c| c.openid.as_str())
        .filter(|openid| !openid.starts_with("dev:"));
    let text = format!("{}\n{}", petition.title, petition.content);
    let flag_reason = match state.moderation.check(&text, author).await {
        Ok(fengqiao_domain::ports::ModerationVerdict::Pass) => None,
        Ok(fengqiao_domain::ports::ModerationVerdict::Review { label }) => {
            Some(format!("moderation_review:{label}"))
        }
        Ok(fengqiao_domain::ports::ModerationVerdict::Risky { label }) => {
            Some(format!("moderation_risky:{label}"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "moderation unavailable; holding the petition for review");
            Some("moderation_unavailable".to_owned())
        }
    };
    // The same petitioner, category and place, in other words: linked and flagged.
    let phone_hash = intake
        .petitioner
        .as_ref()
        .and_then(|p| p.phone_hash.clone());
    let earlier_rows = petitions::earlier_of(
        &state.db,
        intake.online_citizen.map(|c| c.id),
        phone_hash.as_deref(),
        &petition.category_code,
        petition.township_id,
    )
    .await?;
    let earlier_texts: Vec<String> = earlier_rows
        .iter()
        .map(|r| format!("{}\n{}", r.title, r.content))
        .collect();
    let mut earlier = Vec::with_capacity(earlier_rows.len());
    for (row, text) in earlier_rows.iter().zip(&earlier_texts) {
        earlier.push(fengqiao_domain::petition::Earlier {
            id: row.id,
            state: parse_text("petitions.state", &row.state)?,
            text,
        });
    }
    let repeat = fengqiao_domain::petition::find_repeat(&text, &earlier);
    let routed_to = reference.route(&petition.category_code, petition.township_id);
    let flag_reason = match (flag_reason, repeat.flag_reason()) {
        (Some(a), Some(b)) => Some(format!("{a};{b}")),
        (a, b) => a.or(b.map(str::to_owned)),
    };
    let mut random = [0u8; 8];
    rand::rng().fill_bytes(&mut random);
    let code = query_code(&random);
    // A retry is answered before a tracking number is spent on it.
    if let Some(sealed) =
        petitions::seen_submission(&state.db, &intake.idempotency_key, &intake.request_hash).await?
    {
        return Ok((false, replay(state, &sealed)?));
    }
    let tracking_no = state
        .tracking
        .next(
            &state.db,
            &state.settings.petition.tracking_prefix,
            intake.registered_on,
        )
        .await?;
    let sealed_query_code = Some(
        state
            .crypto
            .seal(fengqiao_infra::db::messaging::OUTBOX_QUERY_CODE, &code)
            .map_err(ApiError::internal)?,
    );
    let crypto = state.crypto.clone();
    let crypto_for_replay = state.crypto.clone();
    let txn = state.begin_change().await?;
    let registered = petitions::register(
        &txn,
        petitions::Registration {
            petition,
            matter_category: matter,
            rateable: category.rateable,
            checkpoint,
            citizen_id: intake.online_citizen.map(|c| c.id),
            petitioner: intake.petitioner,
            flag_reason,
            repeat_of: repeat.of(),
            routed_to,
            attachments: intake.attachments,
            tracking_no,
            sealed_query_code,
            query_code_hash: Box::new(move |tracking_no, code| {
                crypto.lookup_hash(QUERY_CODE, &format!("{tracking_no}:{code}"))
            }),
            query_code: code,
            registered_on: intake.registered_on,
            next_deadline: Some(calendar.calendar_deadline(intake.registered_on, periods.dispose)),
            actor_kind: intake.actor.kind,
            actor_id: intake.actor.id.clone(),
            now,
            source: intake.source,
        },
        Some(petitions::Idempotency {
            key: intake.idempotency_key,
            request_hash: intake.request_hash,
            response: Box::new(move |row, code| {
                let answer = submitted(row, code);
                serde_json::to_string(&answer)
                    .ok()
                    .and_then(|json| crypto_for_replay.seal(REPLAY, &json).ok())
                    .unwrap_or_default()
            }),
        }),
    )
    .await?;
    let Registered { row, query_code } = registered;
    state
        .audit_in(
            &txn,
            &intake.actor,
            &origin.0,
            Event::new("petition.registered").on("petition", row.id),
        )
        .await?;
    txn.commit().await?;
    Ok((true, submitted(&row, &query_code)))
}

/// The first answer to a submission, given again to its retry.
pub fn replay(state: &AppState, sealed_response: &str) -> Result<SubmittedPetition, ApiError> {
    let json = state
        .crypto
        .open(REPLAY, sealed_response)
        .map_err(ApiError::internal)?;
    serde_json::from_str(&json).map_err(ApiError::internal)
}

/// The `Idempotency-Key` header every submission carries.
pub fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    req.headers()
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| (8..=100).contains(&k.len()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                Text::new(
                    "请在 Idempotency-Key 头中为每次提交提供唯一标识（8 至 100 个字符）",
                    "send a unique Idempotency-Key header (8 to 100 characters) with each submission",
                ),
                None,
            )
        })
}

pub fn hash_request<T: Serialize>(body: &T) -> Result<String, ApiError> {
    Ok(hex_sha256(
        &serde_json::to_vec(body).map_err(ApiError::internal)?,
    ))
}

fn submitted(row: &PetitionRow, query_code: &str) -> SubmittedPetition {
    SubmittedPetition {
        id: row.id,
        tracking_no: row.tracking_no.clone(),
        query_code: query_code.to_owned(),
        state: PetitionState::Registered,
        registered_on: row.registered_on,
        next_deadline: row.next_deadline,
        held_for_review: row.flagged,
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "tracking_no": "ZM20261125000001", "kind": "complaint",
    "category_code": "transport", "matter_category": "claim", "title": "村道路面破损请求维修", "content": "官渡桥村东头道路破损严重……",
    "township_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61", "village_id": null, "state": "registered",
    "registered_on": "2026-11-25", "next_deadline": "2026-12-10", "deadline_kind": "dispose", "due_status": "on_track",
    "flagged": false, "attachments": [], "timeline": [{"at": "2026-11-25T10:30:00+08:00", "event": "registered", "state": "registered"}]}], "next_cursor": null}))]
pub struct PetitionPage {
    pub items: Vec<PetitionView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// The caller's petitions, newest first.
#[utoipa::path(
    tag = "citizen-petitions",
    operation_id = "listMyPetitions",
    params(PageQuery),
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "One page", body = PetitionPage),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/petitions")]
pub async fn list_mine(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<PetitionPage>, ApiError> {
    let limit = PageLimit::parse(query.0.limit)?;
    let before = Cursor::key_of::<Uuid>(query.0.cursor.as_deref())?;
    let rows = petitions::list_for_citizen(&state.db, citizen.id, limit.get() + 1, before).await?;
    let page = Page::from_overfetch(rows, limit, |r| r.id.to_string());
    let items = views_of(&state, page.items).await?;
    Ok(web::Json(PetitionPage {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

pub fn petition_not_found() -> ApiError {
    DomainError::NotFound {
        code: "petition_not_found",
        message: Text::new("信访事项不存在", "no such petition"),
    }
    .into()
}

/// One of the caller's petitions, with its public timeline.
#[utoipa::path(
    tag = "citizen-petitions",
    operation_id = "getMyPetition",
    params(("id" = Uuid, Path, description = "Petition id")),
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "The petition", body = PetitionView),
        (status = 404, description = "No such petition of the caller's (`petition_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/petitions/{id}")]
pub async fn get_mine(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<PetitionView>, ApiError> {
    let row = petitions::get(&state.db, id.into_inner())
        .await?
        .filter(|p| p.citizen_id == Some(citizen.id))
        .ok_or_else(petition_not_found)?;
    Ok(web::Json(view_of(&state, row).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// Such as `ZM20261125000001`.
    pub tracking_no: String,
    /// The 8-character query code (case and spaces do not matter).
    pub query_code: String,
}

/// The public view of a petition by tracking number and query code (no account needed).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"tracking_no": "ZM20261125000001", "kind": "complaint", "state": "in_handling",
    "registered_on": "2026-11-25", "timeline": [{"at": "2026-11-25T10:30:00+08:00", "event": "registered", "state": "registered"}]}))]
pub struct PublicPetitionView {
    pub tracking_no: String,
    pub kind: PetitionKind,
    pub state: PetitionState,
    pub registered_on: NaiveDate,
    pub timeline: Vec<TimelineEntry>,
}

/// Follow a petition with its tracking number and query code (查询码), for letter and phone
/// petitioners without an account. Rate-limited per address against guessing.
#[utoipa::path(
    tag = "citizen-petitions",
    operation_id = "lookUpPetition",
    params(LookupQuery),
    responses(
        (status = 200, description = "The public timeline", body = PublicPetitionView),
        (status = 400, description = "A parameter is missing", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No petition with this number and code (`petition_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/petitions/lookup")]
pub async fn lookup(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    query: ApiQuery<LookupQuery>,
) -> Result<web::Json<PublicPetitionView>, ApiError> {
    let limit = state.settings.petition.lookups_per_ip_per_minute;
    if limit > 0 {
        let who = origin.0.ip.clone().unwrap_or_else(|| "unknown".into());
        match state
            .shared
            .rate_limiter
            .hit(
                &format!("lookup:{who}"),
                limit,
                std::time::Duration::from_secs(60),
            )
            .await
        {
            Ok(RateDecision::Limited { retry_after }) => {
                return Err(ApiError::rate_limited(retry_after.as_secs()));
            }
            Ok(RateDecision::Allowed { .. }) => {}
            Err(e) => {
                tracing::warn!(error = %e, "lookup rate limiter unavailable; letting the request through")
            }
        }
    }
    let q = query.0;
    let tracking_no = q.tracking_no.trim().to_ascii_uppercase();
    let code = normalise_query_code(&q.query_code);
    let expected = state
        .crypto
        .lookup_hash(QUERY_CODE, &format!("{tracking_no}:{code}"));
    let row = petitions::find_by_tracking_no(&state.db, &tracking_no)
        .await?
        .filter(|p| p.query_code_hash == expected)
        .ok_or_else(petition_not_found)?;
    let view = view_of(&state, row).await?;
    Ok(web::Json(PublicPetitionView {
        tracking_no: view.tracking_no,
        kind: view.kind,
        state: view.state,
        registered_on: view.registered_on,
        timeline: view.timeline,
    }))
}

/// A category of the managed taxonomy.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"code": "transport", "name": "交通与基础设施", "matter_category": "claim", "rateable": true}))]
pub struct CategoryView {
    pub code: String,
    pub name: String,
    pub matter_category: MatterCategory,
    /// Whether petitions of this category are rated after the answer.
    pub rateable: bool,
}

/// The petition categories to choose from.
#[utoipa::path(
    tag = "citizen-petitions",
    operation_id = "listPetitionCategories",
    responses((status = 200, description = "Active categories in display order", body = [CategoryView]))
)]
#[get("/petition-categories")]
pub async fn categories(
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<CategoryView>>, ApiError> {
    let rows = petitions::categories(&state.db).await?;
    let views = rows
        .into_iter()
        .map(|c| {
            Ok(CategoryView {
                matter_category: parse_text("categories.matter_category", &c.matter_category)?,
                code: c.code,
                name: c.name,
                rateable: c.rateable,
            })
        })
        .collect::<Result<Vec<_>, fengqiao_infra::db::StoreError>>()?;
    Ok(web::Json(views))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": "satisfied", "comment": "处理及时"}))]
pub struct RateBody {
    pub rating: fengqiao_domain::petition::Rating,
    pub comment: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "对处理意见不服，事实认定有误"}))]
pub struct CitizenReasonBody {
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "问题已自行解决"}))]
pub struct WithdrawBody {
    pub reason: Option<String>,
}

/// Applies one of the petitioner's own actions.
async fn act_mine(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    action: fengqiao_domain::petition::Action,
    reason: Option<String>,
) -> Result<web::Json<PetitionView>, ApiError> {
    use fengqiao_domain::petition::Actor;
    let row = petitions::get(&state.db, id.into_inner())
        .await?
        .filter(|p| p.citizen_id == Some(citizen.id))
        .ok_or_else(petition_not_found)?;
    let txn = state.begin_change().await?;
    let stored = crate::admin::petitions::apply_action(
        &txn,
        &row,
        &Actor::Citizen { id: citizen.id },
        &action,
        "citizen",
        citizen.id.to_string(),
        reason,
        None,
    )
    .await?;
    state
        .audit_in(
            &txn,
            &citizen.actor(),
            &origin.0,
            Event::new("petition.transition")
                .on("petition", row.id)
                .with(serde_json::json!({"action": action.kind().as_str()})),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(view_of(&state, stored).await?))
}

macro_rules! citizen_action {
    ($name:ident, $path:literal, $op:literal, $doc:literal, $body:ty, |$b:ident| $to:expr) => {
        #[doc = $doc]
        #[utoipa::path(
            tag = "citizen-petitions",
            operation_id = $op,
            params(("id" = Uuid, Path, description = "Petition id")),
            request_body = $body,
            security(("citizen_bearer" = [])),
            responses(
                (status = 200, description = "The petition after the action", body = PetitionView),
                (status = 404, description = "No such petition of the caller's (`petition_not_found`)", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Not possible now (`invalid_transition`, `already_rated`)", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Outside its window (`outside_window`) or not rateable", body = Problem, content_type = "application/problem+json")
            )
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            citizen: CitizenUser,
            origin: RequestOrigin,
            id: web::Path<Uuid>,
            body: ApiJson<$body>,
        ) -> Result<web::Json<PetitionView>, ApiError> {
            let $b = body.0;
            let (action, reason) = $to;
            act_mine(state, citizen, origin, id, action, reason).await
        }
    };
}

citizen_action!(
    rate,
    "/petitions/{id}/rate",
    "ratePetition",
    "Rate the answer (满意度评价), within the rating window; some kinds of matter are not rated.",
    RateBody,
    |b| (
        fengqiao_domain::petition::Action::Rate { rating: b.rating },
        b.comment
    )
);
citizen_action!(
    request_review,
    "/petitions/{id}/request-review",
    "requestPetitionReview",
    "Ask for review (复查) by the body one level up, within 30 days of the answer.",
    CitizenReasonBody,
    |b| (
        fengqiao_domain::petition::Action::RequestReview,
        Some(b.reason)
    )
);
citizen_action!(
    request_rereview,
    "/petitions/{id}/request-rereview",
    "requestPetitionReReview",
    "Ask for re-review (复核), within 30 days of the review decision.",
    CitizenReasonBody,
    |b| (
        fengqiao_domain::petition::Action::RequestReReview,
        Some(b.reason)
    )
);
citizen_action!(
    withdraw,
    "/petitions/{id}/withdraw",
    "withdrawPetition",
    "Withdraw the petition before it is answered.",
    WithdrawBody,
    |b| (fengqiao_domain::petition::Action::Withdraw, b.reason)
);
