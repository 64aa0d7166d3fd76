//! Attachment records; the bytes live in object storage under `storage_key`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::attachment;

pub use attachment::Model as AttachmentRow;

pub struct NewAttachment<'a> {
    pub id: Uuid,
    pub uploader_kind: &'a str,
    pub uploader_id: &'a str,
    pub kind: &'a str,
    pub size: u64,
    pub sha256: String,
    pub storage_key: String,
    pub now: DateTime<Utc>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    new: NewAttachment<'_>,
) -> Result<AttachmentRow, StoreError> {
    Ok(attachment::ActiveModel {
        id: Set(new.id),
        uploader_kind: Set(new.uploader_kind.to_owned()),
        uploader_id: Set(new.uploader_id.to_owned()),
        petition_id: Set(None),
        kind: Set(new.kind.to_owned()),
        size: Set(i64::try_from(new.size).unwrap_or(i64::MAX)),
        sha256: Set(new.sha256),
        storage_key: Set(new.storage_key),
        created_at: Set(new.now),
    }
    .insert(db)
    .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<AttachmentRow>, StoreError> {
    Ok(attachment::Entity::find_by_id(id).one(db).await?)
}

/// The attachments of several petitions in one query, by petition.
pub async fn for_petitions(
    db: &impl ConnectionTrait,
    petition_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<AttachmentRow>>, StoreError> {
    let mut by_petition: std::collections::HashMap<Uuid, Vec<AttachmentRow>> =
        std::collections::HashMap::new();
    if petition_ids.is_empty() {
        return Ok(by_petition);
    }
    for row in attachment::Entity::find()
        .filter(attachment::Column::PetitionId.is_in(petition_ids.iter().copied()))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?
    {
        if let Some(petition) = row.petition_id {
            by_petition.entry(petition).or_default().push(row);
        }
    }
    Ok(by_petition)
}

/// Links the uploader's own, not yet linked attachments to a petition; the number linked (a
/// caller compares it with the number asked, so another's or a used file is refused).
pub async fn link(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    uploader_kind: &str,
    uploader_id: &str,
    petition_id: Uuid,
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let done = attachment::Entity::update_many()
        .col_expr(
            attachment::Column::PetitionId,
            sea_orm::sea_query::Expr::value(Some(petition_id)),
        )
        .filter(attachment::Column::Id.is_in(ids.iter().copied()))
        .filter(attachment::Column::UploaderKind.eq(uploader_kind))
        .filter(attachment::Column::UploaderId.eq(uploader_id))
        .filter(attachment::Column::PetitionId.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
