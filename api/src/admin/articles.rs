//! Editors write the guide and the news: drafts, edits kept as revisions, publication now or
//! at a set time, withdrawal and archiving. Bodies are sanitised for the mini-program's
//! `rich-text` before they are stored; every change is audited and shows on the public pages
//! at once.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, FixedOffset, Utc};
use fengqiao_domain::error::Validator;
use fengqiao_domain::identity::Role;
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::{DomainError, FieldError, Text};
use fengqiao_infra::db::articles::{self as store, ArticleRow, Content, NewArticle};
use fengqiao_infra::db::audit::Event;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, RequestOrigin, StaffUser};
use crate::state::AppState;

const EDITORS: &[Role] = &[Role::Editor, Role::Administrator];

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fb0", "channel": "guide-laws", "title": "信访工作条例全文",
    "summary": "《信访工作条例》自2022年5月1日起施行。", "body": "<h2>第一章 总则</h2>", "cover_url": null, "source": "国家信访局",
    "source_url": null, "author": "县信访局", "state": "draft", "pinned": false, "published_at": null, "view_count": 0,
    "updated_at": "2026-11-26T10:30:00+08:00"}))]
pub struct EditorArticle {
    pub id: Uuid,
    pub channel: String,
    pub title: String,
    pub summary: Option<String>,
    pub body: String,
    pub cover_url: Option<String>,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub author: Option<String>,
    /// draft | scheduled | published | archived
    pub state: String,
    pub pinned: bool,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub view_count: i64,
    pub updated_at: DateTime<FixedOffset>,
}

async fn view_of(state: &AppState, a: ArticleRow) -> Result<EditorArticle, ApiError> {
    let channel = store::channel(&state.db, a.channel_id)
        .await?
        .map(|c| c.code)
        .unwrap_or_default();
    let local = fengqiao_domain::calendar::to_local;
    Ok(EditorArticle {
        id: a.id,
        channel,
        title: a.title,
        summary: a.summary,
        body: a.body,
        cover_url: a.cover_url,
        source: a.source,
        source_url: a.source_url,
        author: a.author,
        state: a.state,
        pinned: a.pinned,
        published_at: a.published_at.map(local),
        view_count: a.view_count,
        updated_at: local(a.updated_at),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "guide-laws", "title": "信访工作条例全文", "summary": "《信访工作条例》自2022年5月1日起施行。",
    "body": "<h2>第一章 总则</h2><p>第一条 为了坚持和加强党对信访工作的全面领导……</p>", "cover_url": null,
    "source": "国家信访局", "source_url": "https://www.gjxfj.gov.cn/", "author": "县信访局", "pinned": false}))]
pub struct ArticleBody {
    /// The channel's code (on creation; an article stays in its channel).
    pub channel: Option<String>,
    /// 1 to 128 characters.
    pub title: String,
    /// Up to 500 characters.
    pub summary: Option<String>,
    /// Rich text (HTML); what `rich-text` cannot show safely is removed.
    pub body: String,
    pub cover_url: Option<String>,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub author: Option<String>,
    pub pinned: Option<bool>,
}

fn content_of(b: &ArticleBody) -> Result<Content, ApiError> {
    let mut v = Validator::new();
    let title = b.title.trim();
    if title.is_empty() || title.chars().count() > 128 {
        v.push(FieldError::new(
            "title",
            "invalid_field",
            Text::new(
                "标题须为 1 至 128 个字符",
                "the title must be 1 to 128 characters",
            ),
        ));
    }
    if b.summary
        .as_deref()
        .is_some_and(|s| s.chars().count() > 500)
    {
        v.push(FieldError::new(
            "summary",
            "invalid_field",
            Text::new(
                "摘要最多 500 个字符",
                "the summary is at most 500 characters",
            ),
        ));
    }
    if b.body.len() > 512 * 1024 {
        v.push(FieldError::new(
            "body",
            "invalid_field",
            Text::new("正文过长", "the body is too long"),
        ));
    }
    for (field, url) in [("cover_url", &b.cover_url), ("source_url", &b.source_url)] {
        if let Some(u) = url
            && (u.len() > 512 || !(u.starts_with("https://") || u.starts_with("http://")))
        {
            v.push(FieldError::new(
                field,
                "invalid_url",
                Text::new(
                    "须为 http(s) 地址，最长 512 字符",
                    "an http(s) URL of at most 512 characters",
                ),
            ));
        }
    }
    let short = |s: &Option<String>| {
        s.as_deref()
            .map(|s| s.trim().chars().take(64).collect::<String>())
    };
    v.finish(|| {
        Some(Content {
            title: title.to_owned(),
            summary: b
                .summary
                .as_deref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            body: fengqiao_infra::html::sanitise(&b.body),
            cover_url: b.cover_url.clone(),
            source: short(&b.source),
            source_url: b.source_url.clone(),
            author: short(&b.author),
        })
    })
    .map_err(ApiError::from)
}

/// Audits the change in its transaction, commits, and makes the public pages show it.
async fn changed(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    txn: sea_orm::DatabaseTransaction,
    action: &'static str,
    (record, id): (&'static str, Uuid),
) -> Result<(), ApiError> {
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new(action).on(record, id),
        )
        .await?;
    txn.commit().await?;
    crate::public::invalidate(state).await;
    Ok(())
}

/// Writes a new article as a draft.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "createArticle",
    request_body = ArticleBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "The draft", body = EditorArticle),
        (status = 404, description = "No such channel (`channel_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field out of bounds", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/articles")]
pub async fn create(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<ArticleBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(EDITORS)?;
    let content = content_of(&body.0)?;
    let code = body.0.channel.clone().unwrap_or_default();
    let channel = store::channel_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| {
            ApiError::from(DomainError::NotFound {
                code: "channel_not_found",
                message: Text::new("栏目不存在", "no such channel"),
            })
        })?;
    let txn = state.begin_change().await?;
    let row = store::create(
        &txn,
        NewArticle {
            channel_id: channel.id,
            content,
            state: store::DRAFT,
            published_at: None,
            external_id: None,
        },
        &staff.account.username,
        Utc::now(),
    )
    .await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("article.created").on("article", row.id),
        )
        .await?;
    txn.commit().await?;
    crate::public::invalidate(&state).await;
    Ok(HttpResponse::Created().json(view_of(&state, row).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EditorQuery {
    pub channel: Option<String>,
    /// draft | scheduled | published | archived
    pub state: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fb0", "channel": "guide-laws", "title": "信访工作条例全文",
    "summary": null, "body": "<h2>第一章 总则</h2>", "cover_url": null, "source": "国家信访局", "source_url": null,
    "author": "县信访局", "state": "draft", "pinned": false, "published_at": null, "view_count": 0,
    "updated_at": "2026-11-26T10:30:00+08:00"}], "next_cursor": null}))]
pub struct EditorPage {
    pub items: Vec<EditorArticle>,
    pub next_cursor: Option<String>,
}

/// Articles for editors, newest first, by channel and state.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "listArticles",
    params(EditorQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "One page", body = EditorPage),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/articles")]
pub async fn list(
    state: web::Data<AppState>,
    staff: StaffUser,
    query: ApiQuery<EditorQuery>,
) -> Result<web::Json<EditorPage>, ApiError> {
    staff.require_any(EDITORS)?;
    let q = query.0;
    let limit = PageLimit::parse(q.limit)?;
    let before = Cursor::key_of::<Uuid>(q.cursor.as_deref())?;
    let channel_id = match q.channel.as_deref() {
        Some(code) => Some(
            store::channel_by_code(&state.db, code)
                .await?
                .map_or(Uuid::nil(), |c| c.id),
        ),
        None => None,
    };
    let rows = store::editor_list(
        &state.db,
        channel_id,
        q.state.as_deref(),
        before,
        limit.get() + 1,
    )
    .await?;
    let page = Page::from_overfetch(rows, limit, |a| a.id.to_string());
    let mut items = Vec::new();
    for row in page.items {
        items.push(view_of(&state, row).await?);
    }
    Ok(web::Json(EditorPage {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// Rewrites an article; the new version is kept as a revision.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "editArticle",
    params(("id" = Uuid, Path, description = "Article id")),
    request_body = ArticleBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The article as it now is", body = EditorArticle),
        (status = 404, description = "No such article (`article_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field out of bounds", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/articles/{id}")]
pub async fn edit(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<ArticleBody>,
) -> Result<web::Json<EditorArticle>, ApiError> {
    staff.require_any(EDITORS)?;
    let content = content_of(&body.0)?;
    let txn = state.begin_change().await?;
    let row = store::article(&txn, *id).await?;
    let row = store::edit(
        &txn,
        row,
        content,
        body.0.pinned,
        &staff.account.username,
        Utc::now(),
    )
    .await?;
    changed(
        &state,
        &staff,
        &origin,
        txn,
        "article.edited",
        ("article", row.id),
    )
    .await?;
    Ok(web::Json(view_of(&state, row).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"at": "2026-12-01T09:00:00+08:00"}))]
pub struct PublishBody {
    /// When to publish; now when absent or past.
    pub at: Option<DateTime<FixedOffset>>,
}

/// Publishes an article now, or at a set time (scheduled).
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "publishArticle",
    params(("id" = Uuid, Path, description = "Article id")),
    request_body = PublishBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Published or scheduled", body = EditorArticle),
        (status = 404, description = "No such article (`article_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/articles/{id}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: ApiJson<PublishBody>,
) -> Result<web::Json<EditorArticle>, ApiError> {
    staff.require_any(EDITORS)?;
    let now = Utc::now();
    let at = body.0.at.map_or(now, |t| t.with_timezone(&Utc));
    let (to, when) = if at > now {
        (store::SCHEDULED, at)
    } else {
        (store::PUBLISHED, now)
    };
    let txn = state.begin_change().await?;
    let row = store::article(&txn, *id).await?;
    let row = store::set_state(&txn, row, to, Some(when), now).await?;
    changed(
        &state,
        &staff,
        &origin,
        txn,
        "article.published",
        ("article", row.id),
    )
    .await?;
    Ok(web::Json(view_of(&state, row).await?))
}

async fn move_to(
    state: &AppState,
    staff: &StaffUser,
    origin: &RequestOrigin,
    id: Uuid,
    to: &'static str,
    action: &'static str,
) -> Result<EditorArticle, ApiError> {
    staff.require_any(EDITORS)?;
    let txn = state.begin_change().await?;
    let row = store::article(&txn, id).await?;
    let row = store::set_state(&txn, row, to, None, Utc::now()).await?;
    changed(state, staff, origin, txn, action, ("article", row.id)).await?;
    view_of(state, row).await
}

/// Withdraws an article from the public pages (back to draft).
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "unpublishArticle",
    params(("id" = Uuid, Path, description = "Article id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "A draft again", body = EditorArticle),
        (status = 404, description = "No such article (`article_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/articles/{id}/unpublish")]
pub async fn unpublish(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<web::Json<EditorArticle>, ApiError> {
    Ok(web::Json(
        move_to(
            &state,
            &staff,
            &origin,
            *id,
            store::DRAFT,
            "article.unpublished",
        )
        .await?,
    ))
}

/// Archives an article (off the public pages, kept).
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "archiveArticle",
    params(("id" = Uuid, Path, description = "Article id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Archived", body = EditorArticle),
        (status = 404, description = "No such article (`article_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/articles/{id}/archive")]
pub async fn archive(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<web::Json<EditorArticle>, ApiError> {
    Ok(web::Json(
        move_to(
            &state,
            &staff,
            &origin,
            *id,
            store::ARCHIVED,
            "article.archived",
        )
        .await?,
    ))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fb1", "title": "信访工作条例全文", "summary": null,
    "body": "<p>……</p>", "editor": "editor1", "created_at": "2026-11-26T10:30:00+08:00"}))]
pub struct RevisionView {
    pub id: Uuid,
    pub title: String,
    pub summary: Option<String>,
    pub body: String,
    pub editor: String,
    pub created_at: DateTime<FixedOffset>,
}

/// An article's revisions, newest first.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "listArticleRevisions",
    params(("id" = Uuid, Path, description = "Article id")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Every saved version", body = Vec<RevisionView>),
        (status = 404, description = "No such article (`article_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/articles/{id}/revisions")]
pub async fn revisions(
    state: web::Data<AppState>,
    staff: StaffUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<RevisionView>>, ApiError> {
    staff.require_any(EDITORS)?;
    store::article(&state.db, *id).await?;
    Ok(web::Json(
        store::revisions(&state.db, *id)
            .await?
            .into_iter()
            .map(|r| RevisionView {
                id: r.id,
                title: r.title,
                summary: r.summary,
                body: r.body,
                editor: r.editor,
                created_at: fengqiao_domain::calendar::to_local(r.created_at),
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"urls": ["https://www.gjxfj.gov.cn/rss.xml"], "publish": false}))]
pub struct FeedsBody {
    /// RSS or Atom feed URLs (http or https), at most 10.
    pub urls: Vec<String>,
    /// Publish their items at once; otherwise they wait as drafts for an editor.
    pub publish: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FeedSourceView {
    pub url: String,
    pub last_fetched_at: Option<DateTime<FixedOffset>>,
    pub last_ok_at: Option<DateTime<FixedOffset>>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
    /// Failed fetches in a row.
    pub failures: i32,
    /// Items filed from it so far.
    pub items_taken: i32,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"channel": "news-national", "publish": false, "sources": [{"url": "https://www.gjxfj.gov.cn/rss.xml",
    "last_fetched_at": "2026-11-26T10:00:00+08:00", "last_ok_at": "2026-11-26T10:00:00+08:00", "last_error": null,
    "failures": 0, "items_taken": 12}]}))]
pub struct ChannelFeeds {
    pub channel: String,
    pub publish: bool,
    pub sources: Vec<FeedSourceView>,
}

async fn channel_feeds(state: &AppState, code: &str) -> Result<ChannelFeeds, ApiError> {
    let channel = channel_or_404(state, code).await?;
    let local = fengqiao_domain::calendar::to_local;
    Ok(ChannelFeeds {
        channel: channel.code.clone(),
        publish: channel.feed_publish,
        sources: store::feed_sources(&state.db)
            .await?
            .into_iter()
            .filter(|f| f.channel_id == channel.id)
            .map(|f| FeedSourceView {
                url: f.url,
                last_fetched_at: f.last_fetched_at.map(local),
                last_ok_at: f.last_ok_at.map(local),
                last_error: f.last_error,
                failures: f.failures,
                items_taken: f.items_taken,
            })
            .collect(),
    })
}

async fn channel_or_404(state: &AppState, code: &str) -> Result<store::ChannelRow, ApiError> {
    store::channel_by_code(&state.db, code)
        .await?
        .ok_or_else(|| {
            ApiError::from(DomainError::NotFound {
                code: "channel_not_found",
                message: Text::new("栏目不存在", "no such channel"),
            })
        })
}

/// A channel's external feeds and how their last fetches went.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "getChannelFeeds",
    params(("code" = String, Path, description = "Channel code")),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The feeds", body = ChannelFeeds),
        (status = 404, description = "No such channel (`channel_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/channels/{code}/feeds")]
pub async fn get_feeds(
    state: web::Data<AppState>,
    staff: StaffUser,
    code: web::Path<String>,
) -> Result<web::Json<ChannelFeeds>, ApiError> {
    staff.require_any(EDITORS)?;
    Ok(web::Json(channel_feeds(&state, &code).await?))
}

/// Sets the RSS or Atom feeds a channel takes items from (fetched by a job, once across
/// instances, every `feeds.check_secs`), and whether their items are published at once.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "setChannelFeeds",
    params(("code" = String, Path, description = "Channel code")),
    request_body = FeedsBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The feeds as they now are", body = ChannelFeeds),
        (status = 404, description = "No such channel (`channel_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A URL that is not http(s), or too many (`invalid_url`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/channels/{code}/feeds")]
pub async fn set_feeds(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    code: web::Path<String>,
    body: ApiJson<FeedsBody>,
) -> Result<web::Json<ChannelFeeds>, ApiError> {
    staff.require_any(EDITORS)?;
    let urls: Vec<String> = body.0.urls.iter().map(|u| u.trim().to_owned()).collect();
    let https_only = state.settings.is_production();
    if urls.len() > 10
        || urls.iter().any(|u| {
            fengqiao_infra::webhooks::acceptable_endpoint_url(u, https_only).is_none()
                || u.len() > 512
        })
    {
        return Err(DomainError::invalid(
            "urls",
            "invalid_url",
            Text::new(
                "订阅源须为 http(s) 地址，最多 10 个",
                "feeds must be http(s) URLs, at most 10",
            ),
        )
        .into());
    }
    let channel = channel_or_404(&state, &code).await?;
    let channel_id = channel.id;
    let txn = state.begin_change().await?;
    store::set_feeds(&txn, channel, &urls, body.0.publish, Utc::now()).await?;
    state
        .audit_in(
            &txn,
            &staff.actor(),
            &origin.0,
            Event::new("channel.feeds_set")
                .on("channel", channel_id)
                .with(serde_json::json!({"urls": urls, "publish": body.0.publish})),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(channel_feeds(&state, &code).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "news-county", "section": "news", "name": "县内动态", "sort_order": 6}))]
pub struct NewChannelBody {
    /// Lowercase letters, digits and hyphens, 2 to 48 characters; never changes.
    pub code: String,
    /// `guide` or `news`.
    pub section: String,
    pub name: String,
    pub sort_order: Option<i32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "中牟县信访局", "sort_order": 4}))]
pub struct ChannelBody {
    pub name: String,
    pub sort_order: Option<i32>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"code": "news-county", "section": "news", "name": "县内动态", "sort_order": 6}))]
pub struct ChannelRecord {
    pub code: String,
    pub section: String,
    pub name: String,
    pub sort_order: i32,
}

fn channel_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(DomainError::invalid(
            "name",
            "invalid_field",
            Text::new(
                "栏目名称须为 1 至 64 个字符",
                "the name must be 1 to 64 characters",
            ),
        )
        .into());
    }
    Ok(name.to_owned())
}

/// Adds a channel to the guide or the news centre.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "createChannel",
    request_body = NewChannelBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 201, description = "Added", body = ChannelRecord),
        (status = 409, description = "The code is taken (`channel_exists`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad code, section or name (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/channels")]
pub async fn create_channel(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    body: ApiJson<NewChannelBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_any(EDITORS)?;
    let b = body.0;
    let code_ok = (2..=48).contains(&b.code.len())
        && b.code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !code_ok || !matches!(b.section.as_str(), "guide" | "news") {
        return Err(DomainError::invalid(
            if code_ok { "section" } else { "code" },
            "invalid_field",
            Text::new(
                "代码须为 2 至 48 个小写字母、数字或连字符；分区须为 guide 或 news",
                "the code is 2 to 48 lowercase letters, digits or hyphens; the section guide or news",
            ),
        )
        .into());
    }
    let name = channel_name(&b.name)?;
    let txn = state.begin_change().await?;
    let row = store::create_channel(
        &txn,
        &b.code,
        &b.section,
        &name,
        b.sort_order.unwrap_or(0),
        Utc::now(),
    )
    .await?;
    let record = ChannelRecord {
        code: row.code.clone(),
        section: row.section.clone(),
        name: row.name.clone(),
        sort_order: row.sort_order,
    };
    changed(
        &state,
        &staff,
        &origin,
        txn,
        "channel.created",
        ("channel", row.id),
    )
    .await?;
    Ok(HttpResponse::Created().json(record))
}

/// Renames or reorders a channel.
#[utoipa::path(
    tag = "admin-articles",
    operation_id = "updateChannel",
    params(("code" = String, Path, description = "Channel code")),
    request_body = ChannelBody,
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = ChannelRecord),
        (status = 404, description = "No such channel (`channel_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name (`invalid_field`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/channels/{code}")]
pub async fn update_channel(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    code: web::Path<String>,
    body: ApiJson<ChannelBody>,
) -> Result<web::Json<ChannelRecord>, ApiError> {
    staff.require_any(EDITORS)?;
    let name = channel_name(&body.0.name)?;
    let row = channel_or_404(&state, &code).await?;
    let sort_order = body.0.sort_order.unwrap_or(row.sort_order);
    let txn = state.begin_change().await?;
    let row = store::rename_channel(&txn, row, &name, sort_order, Utc::now()).await?;
    let record = ChannelRecord {
        code: row.code.clone(),
        section: row.section.clone(),
        name: row.name.clone(),
        sort_order: row.sort_order,
    };
    changed(
        &state,
        &staff,
        &origin,
        txn,
        "channel.updated",
        ("channel", row.id),
    )
    .await?;
    Ok(web::Json(record))
}
