//! Attachments: uploaded first (multipart, field `file`), then referenced by a submission.
//! The type comes from the bytes, image metadata is stripped before storage, and only people
//! who may see the petition (or the uploader, before it is linked) may download a file.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{Datelike, Utc};
use fengqiao_domain::petition::{AttachmentKind, strip_metadata};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::attachments::{self, AttachmentRow, NewAttachment};
use fengqiao_infra::db::audit::{Actor, Event};
use fengqiao_infra::db::petitions::parse_text;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{CitizenUser, RequestOrigin, StaffUser};
use crate::state::AppState;

/// An attachment as its uploader and the petition's readers see it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f71", "kind": "jpeg", "size": 182044}))]
pub struct AttachmentView {
    pub id: Uuid,
    pub kind: AttachmentKind,
    /// Bytes, after metadata was stripped.
    pub size: u64,
}

impl AttachmentView {
    pub fn from_row(row: &AttachmentRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id,
            kind: parse_text("attachments.kind", &row.kind)?,
            size: u64::try_from(row.size).unwrap_or(0),
        })
    }
}

fn no_file() -> ApiError {
    ApiError::bad_request(
        "missing_file",
        Text::new(
            "请在 multipart 表单的 file 字段上传文件",
            "send the file in the multipart field `file`",
        ),
        None,
    )
}

/// Reads the `file` field, checks and cleans it, stores it and records it.
async fn receive(
    state: &AppState,
    mut payload: Multipart,
    uploader: (&'static str, String),
    actor: Actor,
    origin: &RequestOrigin,
) -> Result<HttpResponse, ApiError> {
    let limit = state.settings.petition.attachment_max_bytes;
    let mut file: Option<Vec<u8>> = None;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| {
            ApiError::bad_request(
                "malformed_multipart",
                Text::owned(
                    format!("multipart 格式错误：{e}"),
                    format!("malformed multipart body: {e}"),
                ),
                None,
            )
        })?;
        let is_file = field.name() == Some("file");
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(
                    "malformed_multipart",
                    Text::owned(
                        format!("multipart 格式错误：{e}"),
                        format!("malformed multipart body: {e}"),
                    ),
                    None,
                )
            })?;
            if is_file {
                if bytes.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large(limit));
                }
                bytes.extend_from_slice(&chunk);
            }
        }
        if is_file {
            file = Some(bytes);
        }
    }
    let bytes = file.ok_or_else(no_file)?;
    let kind = AttachmentKind::sniff(&bytes).ok_or_else(|| {
        ApiError::from(DomainError::invalid(
            "file",
            "unsupported_attachment_type",
            Text::new(
                "只能上传 JPEG、PNG 图片或 PDF 文件",
                "only JPEG or PNG images and PDF files are accepted",
            ),
        ))
    })?;
    let clean = strip_metadata(kind, &bytes).ok_or_else(|| {
        ApiError::from(DomainError::invalid(
            "file",
            "malformed_file",
            Text::new(
                "文件已损坏或格式不完整",
                "the file is damaged or incomplete",
            ),
        ))
    })?;
    let now = Utc::now();
    let id = Uuid::now_v7();
    let key = format!("attachments/{}/{:02}/{id}", now.year(), now.month());
    // The bytes first: a record never points at a file that is not there.
    state.storage.put(&key, &clean).await?;
    let kind_text = fengqiao_infra::db::petitions::text_of(&kind);
    let txn = state.begin_change().await?;
    let row = attachments::create(
        &txn,
        NewAttachment {
            id,
            uploader_kind: uploader.0,
            uploader_id: &uploader.1,
            kind: &kind_text,
            size: clean.len() as u64,
            sha256: Sha256::digest(&clean)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            storage_key: key,
            now,
        },
    )
    .await?;
    state
        .audit_in(
            &txn,
            &actor,
            &origin.0,
            Event::new("attachment.uploaded").on("attachment", id),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(AttachmentView::from_row(&row)?))
}

/// The file's bytes, as a download.
async fn send(state: &AppState, row: &AttachmentRow) -> Result<HttpResponse, ApiError> {
    let kind: AttachmentKind = parse_text("attachments.kind", &row.kind)?;
    let bytes = state.storage.get(&row.storage_key).await?.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "attachment {} missing from storage",
            row.id
        ))
    })?;
    let ext = match kind {
        AttachmentKind::Jpeg => "jpg",
        AttachmentKind::Png => "png",
        AttachmentKind::Pdf => "pdf",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind.mime()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.{ext}\"", row.id),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

fn attachment_not_found() -> ApiError {
    DomainError::NotFound {
        code: "attachment_not_found",
        message: Text::new("附件不存在", "no such attachment"),
    }
    .into()
}

/// Upload an attachment (JPEG, PNG or PDF) to reference in a submission.
#[utoipa::path(
    tag = "citizen-petitions",
    operation_id = "uploadAttachment",
    request_body(content = Vec<u8>, description = "multipart/form-data with the file in the field `file`", content_type = "multipart/form-data"),
    security(("citizen_bearer" = [])),
    responses(
        (status = 201, description = "Stored, metadata stripped", body = AttachmentView),
        (status = 400, description = "No `file` field or a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `petition.attachment_max_bytes`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a JPEG, PNG or PDF by its bytes, or damaged", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/attachments")]
pub async fn upload(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    receive(
        &state,
        payload,
        ("citizen", citizen.id.to_string()),
        citizen.actor(),
        &origin,
    )
    .await
}

/// Download an attachment of one's own petition (or one's own upload).
#[utoipa::path(
    tag = "citizen-petitions",
    operation_id = "downloadAttachment",
    params(("id" = Uuid, Path, description = "Attachment id")),
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No such attachment of the caller's (`attachment_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/attachments/{id}")]
pub async fn download(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let row = attachments::get(&state.db, id.into_inner())
        .await?
        .ok_or_else(attachment_not_found)?;
    let own_upload = row.uploader_kind == "citizen" && row.uploader_id == citizen.id.to_string();
    let own_petition = match row.petition_id {
        Some(pid) => fengqiao_infra::db::petitions::get(&state.db, pid)
            .await?
            .is_some_and(|p| p.citizen_id == Some(citizen.id)),
        None => false,
    };
    if !(own_upload || own_petition) {
        return Err(attachment_not_found());
    }
    send(&state, &row).await
}

/// Upload a scan or photo (registrars, for letters and visits).
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "uploadStaffAttachment",
    request_body(content = Vec<u8>, description = "multipart/form-data with the file in the field `file`", content_type = "multipart/form-data"),
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Stored, metadata stripped", body = AttachmentView),
        (status = 400, description = "No `file` field or a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `petition.attachment_max_bytes`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a JPEG, PNG or PDF by its bytes, or damaged", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/attachments")]
pub async fn staff_upload(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(&[fengqiao_domain::identity::Role::Registrar])?;
    receive(
        &state,
        payload,
        ("staff", staff.account.id.to_string()),
        staff.actor(),
        &origin,
    )
    .await
}

/// Download an attachment of a petition the caller may see.
#[utoipa::path(
    tag = "admin-petitions",
    operation_id = "downloadStaffAttachment",
    params(("id" = Uuid, Path, description = "Attachment id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No such attachment in the caller's scope (`attachment_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/attachments/{id}")]
pub async fn staff_download(
    state: web::Data<AppState>,
    staff: StaffUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let row = attachments::get(&state.db, id.into_inner())
        .await?
        .ok_or_else(attachment_not_found)?;
    let own_upload =
        row.uploader_kind == "staff" && row.uploader_id == staff.account.id.to_string();
    let visible = match row.petition_id {
        Some(pid) => crate::admin::petitions::visible_petition(&state, &staff, pid)
            .await
            .is_ok(),
        None => false,
    };
    if !(own_upload || visible) {
        return Err(attachment_not_found());
    }
    send(&state, &row).await
}
