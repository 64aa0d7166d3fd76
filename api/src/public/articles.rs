//! The guide (依法逐级走访, 政策法规, 常见问题) and the news centre's channels, their articles,
//! and the contacts page, for everyone. Views are counted in memory and added to the database
//! every few seconds (`ViewCounter`), never a write per view.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, FixedOffset, Utc};
use fengqiao_domain::pagination::{Cursor, Page, PageLimit};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::articles::{self as store, ArticleRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{cacheable, cached};
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Views since the last flush, per article.
#[derive(Default)]
pub struct ViewCounter(Mutex<HashMap<Uuid, u64>>);

impl ViewCounter {
    pub fn seen(&self, id: Uuid) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(id).or_default() += 1;
        }
    }

    /// Hands over what was counted, to add to the database.
    pub fn take(&self) -> Vec<(Uuid, u64)> {
        self.0
            .lock()
            .map(|mut m| m.drain().collect())
            .unwrap_or_default()
    }

    /// Gives back counts the database did not take (it was down).
    pub fn put_back(&self, counts: Vec<(Uuid, u64)>) {
        if let Ok(mut m) = self.0.lock() {
            for (id, n) in counts {
                *m.entry(id).or_default() += n;
            }
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"code": "guide-level-by-level", "section": "guide", "name": "依法逐级走访"}))]
pub struct ChannelView {
    pub code: String,
    /// `guide` or `news`.
    pub section: String,
    pub name: String,
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(ApiError::internal)
}

/// The channels of the guide and the news centre, in their order.
#[utoipa::path(
    tag = "public-articles",
    operation_id = "listChannels",
    responses((status = 200, description = "The channels; `ETag` and `Cache-Control` set", body = Vec<ChannelView>),
              (status = 304, description = "Unchanged since the `If-None-Match` ETag"))
)]
#[get("/channels")]
pub async fn channels(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let body = cached(&state, "channels", || async {
        let views: Vec<ChannelView> = store::channels(&state.db)
            .await?
            .into_iter()
            .map(|c| ChannelView {
                code: c.code,
                section: c.section,
                name: c.name,
            })
            .collect();
        json(&views)
    })
    .await?;
    Ok(cacheable(&req, "application/json", body))
}

#[derive(Serialize, ToSchema)]
pub struct ArticleSummary {
    pub id: Uuid,
    pub title: String,
    pub summary: Option<String>,
    pub cover_url: Option<String>,
    pub source: Option<String>,
    pub pinned: bool,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub view_count: i64,
}

fn summary_of(a: &ArticleRow) -> ArticleSummary {
    ArticleSummary {
        id: a.id,
        title: a.title.clone(),
        summary: a.summary.clone(),
        cover_url: a.cover_url.clone(),
        source: a.source.clone(),
        pinned: a.pinned,
        published_at: a.published_at.map(fengqiao_domain::calendar::to_local),
        view_count: a.view_count,
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"items": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fb0", "title": "信访工作条例全文",
    "summary": "《信访工作条例》自2022年5月1日起施行。", "cover_url": null, "source": "国家信访局", "pinned": true,
    "published_at": "2026-11-20T09:00:00+08:00", "view_count": 128}], "next_cursor": null}))]
pub struct ArticlePage {
    /// Pinned articles first (on the first page), then the newest.
    pub items: Vec<ArticleSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// 1 to 100, default 20.
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

fn channel_not_found() -> ApiError {
    DomainError::NotFound {
        code: "channel_not_found",
        message: Text::new("栏目不存在", "no such channel"),
    }
    .into()
}

fn bad_cursor() -> ApiError {
    DomainError::invalid(
        "cursor",
        "invalid_cursor",
        Text::new("分页游标无效", "the cursor is not valid"),
    )
    .into()
}

/// A channel's published articles: pinned first, then newest first.
#[utoipa::path(
    tag = "public-articles",
    operation_id = "listChannelArticles",
    params(("code" = String, Path, description = "Channel code"), ArticleQuery),
    responses(
        (status = 200, description = "One page; `ETag` and `Cache-Control` set", body = ArticlePage),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such channel (`channel_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Limit out of range or bad cursor", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/channels/{code}/articles")]
pub async fn channel_articles(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    query: ApiQuery<ArticleQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = PageLimit::parse(query.0.limit)?;
    let after = match query.0.cursor.as_deref() {
        None => None,
        Some(raw) => {
            let key = Cursor::decode(raw)?.key().to_owned();
            let (at, id) = key.split_once('|').ok_or_else(bad_cursor)?;
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|_| bad_cursor())?
                .with_timezone(&Utc);
            Some((at, id.parse::<Uuid>().map_err(|_| bad_cursor())?))
        }
    };
    let cache_key = format!(
        "articles:{}:{}:{}",
        code.as_str(),
        limit.get(),
        query.0.cursor.as_deref().unwrap_or("")
    );
    let body = cached(&state, &cache_key, || async {
        let channel = store::channel_by_code(&state.db, &code)
            .await?
            .ok_or_else(channel_not_found)?;
        let now = Utc::now();
        let mut items: Vec<ArticleSummary> = Vec::new();
        if after.is_none() {
            items.extend(
                store::pinned(&state.db, channel.id, now)
                    .await?
                    .iter()
                    .map(summary_of),
            );
        }
        let rows = store::page(&state.db, channel.id, after, limit.get() + 1, now).await?;
        let page = Page::from_overfetch(rows, limit, |a| {
            format!("{}|{}", a.published_at.unwrap_or(now).to_rfc3339(), a.id)
        });
        items.extend(page.items.iter().map(summary_of));
        json(&ArticlePage {
            items,
            next_cursor: page.next_cursor.map(|c| c.encode()),
        })
    })
    .await?;
    Ok(cacheable(&req, "application/json", body))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fb0", "channel": "guide-laws", "title": "信访工作条例全文",
    "summary": "《信访工作条例》自2022年5月1日起施行。", "body": "<h2>第一章 总则</h2><p>第一条 ……</p>", "cover_url": null,
    "source": "国家信访局", "source_url": "https://www.gjxfj.gov.cn/", "author": null,
    "published_at": "2026-11-20T09:00:00+08:00", "view_count": 128}))]
pub struct ArticleDetail {
    pub id: Uuid,
    /// The channel's code.
    pub channel: String,
    pub title: String,
    pub summary: Option<String>,
    /// Sanitised HTML for the mini-program's `rich-text`.
    pub body: String,
    pub cover_url: Option<String>,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub view_count: i64,
}

fn article_not_found() -> ApiError {
    DomainError::NotFound {
        code: "article_not_found",
        message: Text::new("文章不存在", "no such article"),
    }
    .into()
}

/// A published article (the view is counted).
#[utoipa::path(
    tag = "public-articles",
    operation_id = "getArticle",
    params(("id" = Uuid, Path, description = "Article id")),
    responses(
        (status = 200, description = "The article; `ETag` and `Cache-Control` set", body = ArticleDetail),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such published article (`article_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/articles/{id}")]
pub async fn article(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let body = cached(&state, &format!("article:{id}"), || async {
        let a = store::public_article(&state.db, id, Utc::now())
            .await
            .map_err(|e| match e {
                fengqiao_infra::db::StoreError::Rule(DomainError::NotFound { .. }) => {
                    article_not_found()
                }
                other => other.into(),
            })?;
        let channel = store::channel(&state.db, a.channel_id)
            .await?
            .map(|c| c.code)
            .unwrap_or_default();
        json(&ArticleDetail {
            id: a.id,
            channel,
            title: a.title,
            summary: a.summary,
            body: a.body,
            cover_url: a.cover_url,
            source: a.source,
            source_url: a.source_url,
            author: a.author,
            published_at: a.published_at.map(fengqiao_domain::calendar::to_local),
            view_count: a.view_count,
        })
    })
    .await?;
    state.views.seen(id);
    Ok(cacheable(&req, "application/json", body))
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub hours: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub directions: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"visit": [{"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5fc0", "organisation_id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f61",
    "name": "县信访接待中心", "address": "中牟县青年路 1 号", "postcode": null, "recipient": null, "phone": "0371-62100000",
    "hours": "工作日 8:30-12:00，14:30-17:30", "latitude": 34.72, "longitude": 113.97, "directions": "乘 1 路公交至县政府站"}],
    "letter": [], "hotline": []}))]
pub struct ContactsPage {
    /// Where to visit.
    pub visit: Vec<ContactView>,
    /// Where to write.
    pub letter: Vec<ContactView>,
    /// Hotlines.
    pub hotline: Vec<ContactView>,
}

/// Everything the mini-program's "addresses and hotlines" pages show, in one answer.
#[utoipa::path(
    tag = "public-articles",
    operation_id = "getContacts",
    responses((status = 200, description = "Visiting, writing and calling; `ETag` and `Cache-Control` set", body = ContactsPage),
              (status = 304, description = "Unchanged since the `If-None-Match` ETag"))
)]
#[get("/contacts")]
pub async fn contacts(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let body = cached(&state, "contacts", || async {
        let mut page = ContactsPage {
            visit: Vec::new(),
            letter: Vec::new(),
            hotline: Vec::new(),
        };
        for c in store::contacts(&state.db).await? {
            let view = ContactView {
                id: c.id,
                organisation_id: c.org_unit_id,
                name: c.name,
                address: c.address,
                postcode: c.postcode,
                recipient: c.recipient,
                phone: c.phone,
                hours: c.hours,
                latitude: c.latitude,
                longitude: c.longitude,
                directions: c.directions,
            };
            match c.kind.as_str() {
                "visit" => page.visit.push(view),
                "letter" => page.letter.push(view),
                _ => page.hotline.push(view),
            }
        }
        json(&page)
    })
    .await?;
    Ok(cacheable(&req, "application/json", body))
}
