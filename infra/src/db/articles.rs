//! The guide and the news centre: channels, articles with their revisions, and the contacts
//! page. Bodies arrive here already sanitised (`crate::html`).

use chrono::{DateTime, Utc};
use fengqiao_domain::{DomainError, Text};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{article, article_revision, channel, contact};

pub use super::entities::article::Model as ArticleRow;
pub use super::entities::article_revision::Model as RevisionRow;
pub use super::entities::channel::Model as ChannelRow;
pub use super::entities::contact::Model as ContactRow;

/// Article states.
pub const DRAFT: &str = "draft";
pub const SCHEDULED: &str = "scheduled";
pub const PUBLISHED: &str = "published";
pub const ARCHIVED: &str = "archived";

fn not_found() -> StoreError {
    DomainError::NotFound {
        code: "article_not_found",
        message: Text::new("文章不存在", "no such article"),
    }
    .into()
}

pub async fn channels(db: &impl ConnectionTrait) -> Result<Vec<ChannelRow>, StoreError> {
    Ok(channel::Entity::find()
        .order_by_asc(channel::Column::Section)
        .order_by_asc(channel::Column::SortOrder)
        .all(db)
        .await?)
}

pub async fn channel_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<ChannelRow>, StoreError> {
    Ok(channel::Entity::find()
        .filter(channel::Column::Code.eq(code))
        .one(db)
        .await?)
}

/// Adds a channel (a county may add to the guide and the news centre).
pub async fn create_channel(
    db: &impl ConnectionTrait,
    code: &str,
    section: &str,
    name: &str,
    sort_order: i32,
    now: DateTime<Utc>,
) -> Result<ChannelRow, StoreError> {
    channel::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code.to_owned()),
        section: Set(section.to_owned()),
        name: Set(name.to_owned()),
        sort_order: Set(sort_order),
        is_demo: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        feed_urls: Set(None),
        feed_publish: Set(false),
    }
    .insert(db)
    .await
    .map_err(|e| {
        StoreError::on_unique(
            e,
            DomainError::Conflict {
                code: "channel_exists",
                message: Text::new("栏目代码已存在", "a channel with this code exists"),
            },
        )
    })
}

/// Renames or reorders a channel.
pub async fn rename_channel(
    db: &impl ConnectionTrait,
    row: ChannelRow,
    name: &str,
    sort_order: i32,
    now: DateTime<Utc>,
) -> Result<ChannelRow, StoreError> {
    let mut active: channel::ActiveModel = row.into();
    active.name = Set(name.to_owned());
    active.sort_order = Set(sort_order);
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

pub async fn channel(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<ChannelRow>, StoreError> {
    Ok(channel::Entity::find_by_id(id).one(db).await?)
}

/// What the public sees: published, or scheduled and due.
fn visible(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(article::Column::State.is_in([PUBLISHED, SCHEDULED]))
        .add(article::Column::PublishedAt.lte(now))
}

/// A channel's pinned articles (first page only), newest first.
pub async fn pinned(
    db: &impl ConnectionTrait,
    channel_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<ArticleRow>, StoreError> {
    Ok(article::Entity::find()
        .filter(article::Column::ChannelId.eq(channel_id))
        .filter(article::Column::Pinned.eq(true))
        .filter(visible(now))
        .order_by_desc(article::Column::PublishedAt)
        .order_by_desc(article::Column::Id)
        .limit(20)
        .all(db)
        .await?)
}

/// A page of a channel's other articles, newest first, after `(published_at, id)`.
pub async fn page(
    db: &impl ConnectionTrait,
    channel_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<Vec<ArticleRow>, StoreError> {
    let mut query = article::Entity::find()
        .filter(article::Column::ChannelId.eq(channel_id))
        .filter(article::Column::Pinned.eq(false))
        .filter(visible(now));
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any()
                .add(article::Column::PublishedAt.lt(at))
                .add(
                    Condition::all()
                        .add(article::Column::PublishedAt.eq(at))
                        .add(article::Column::Id.lt(id)),
                ),
        );
    }
    Ok(query
        .order_by_desc(article::Column::PublishedAt)
        .order_by_desc(article::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A public article.
pub async fn public_article(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ArticleRow, StoreError> {
    article::Entity::find_by_id(id)
        .filter(visible(now))
        .one(db)
        .await?
        .ok_or_else(not_found)
}

pub async fn article(db: &impl ConnectionTrait, id: Uuid) -> Result<ArticleRow, StoreError> {
    article::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// Articles for editors, by channel and state, newest first.
pub async fn editor_list(
    db: &impl ConnectionTrait,
    channel_id: Option<Uuid>,
    state: Option<&str>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<ArticleRow>, StoreError> {
    let mut query = article::Entity::find().order_by_desc(article::Column::Id);
    if let Some(c) = channel_id {
        query = query.filter(article::Column::ChannelId.eq(c));
    }
    if let Some(s) = state {
        query = query.filter(article::Column::State.eq(s));
    }
    if let Some(b) = before {
        query = query.filter(article::Column::Id.lt(b));
    }
    Ok(query.limit(limit).all(db).await?)
}

/// An article's content, as written (body sanitised).
pub struct Content {
    pub title: String,
    pub summary: Option<String>,
    pub body: String,
    pub cover_url: Option<String>,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub author: Option<String>,
}

async fn revise(
    db: &impl ConnectionTrait,
    row: &ArticleRow,
    editor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    article_revision::ActiveModel {
        id: Set(Uuid::now_v7()),
        article_id: Set(row.id),
        title: Set(row.title.clone()),
        summary: Set(row.summary.clone()),
        body: Set(row.body.clone()),
        editor: Set(editor.to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A new article: a draft from an editor, or a feed item filed as a draft or published.
pub struct NewArticle {
    pub channel_id: Uuid,
    pub content: Content,
    pub state: &'static str,
    pub published_at: Option<DateTime<Utc>>,
    /// A feed item's guid or link.
    pub external_id: Option<String>,
}

/// Stores a new article with its first revision.
pub async fn create(
    db: &impl ConnectionTrait,
    new: NewArticle,
    editor: &str,
    now: DateTime<Utc>,
) -> Result<ArticleRow, StoreError> {
    let NewArticle {
        channel_id,
        content,
        state,
        published_at,
        external_id,
    } = new;
    let row = article::ActiveModel {
        id: Set(Uuid::now_v7()),
        channel_id: Set(channel_id),
        title: Set(content.title),
        summary: Set(content.summary),
        body: Set(content.body),
        source: Set(content.source),
        source_url: Set(content.source_url),
        author: Set(content.author),
        state: Set(state.to_owned()),
        pinned: Set(false),
        published_at: Set(published_at),
        is_demo: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        cover_url: Set(content.cover_url),
        view_count: Set(0),
        external_id: Set(external_id),
    }
    .insert(db)
    .await?;
    revise(db, &row, editor, now).await?;
    Ok(row)
}

/// Replaces an article's content; the new version is kept as a revision.
pub async fn edit(
    db: &impl ConnectionTrait,
    row: ArticleRow,
    content: Content,
    pinned: Option<bool>,
    editor: &str,
    now: DateTime<Utc>,
) -> Result<ArticleRow, StoreError> {
    let mut active: article::ActiveModel = row.into();
    active.title = Set(content.title);
    active.summary = Set(content.summary);
    active.body = Set(content.body);
    active.cover_url = Set(content.cover_url);
    active.source = Set(content.source);
    active.source_url = Set(content.source_url);
    active.author = Set(content.author);
    if let Some(p) = pinned {
        active.pinned = Set(p);
    }
    active.updated_at = Set(now);
    let row = active.update(db).await?;
    revise(db, &row, editor, now).await?;
    Ok(row)
}

/// Moves an article to a state (publish now or later, back to draft, archive).
pub async fn set_state(
    db: &impl ConnectionTrait,
    row: ArticleRow,
    state: &str,
    published_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<ArticleRow, StoreError> {
    let mut active: article::ActiveModel = row.into();
    active.state = Set(state.to_owned());
    if published_at.is_some() {
        active.published_at = Set(published_at);
    }
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

pub async fn revisions(
    db: &impl ConnectionTrait,
    article_id: Uuid,
) -> Result<Vec<RevisionRow>, StoreError> {
    Ok(article_revision::Entity::find()
        .filter(article_revision::Column::ArticleId.eq(article_id))
        .order_by_desc(article_revision::Column::Id)
        .limit(100)
        .all(db)
        .await?)
}

/// Adds views counted in memory since the last flush.
pub async fn add_views(
    db: &impl ConnectionTrait,
    counts: &[(Uuid, u64)],
) -> Result<(), StoreError> {
    for (id, n) in counts {
        article::Entity::update_many()
            .col_expr(
                article::Column::ViewCount,
                Expr::col(article::Column::ViewCount).add(i64::try_from(*n).unwrap_or(i64::MAX)),
            )
            .filter(article::Column::Id.eq(*id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Whether a feed item is already filed in the channel.
pub async fn has_external(
    db: &impl ConnectionTrait,
    channel_id: Uuid,
    external_id: &str,
) -> Result<bool, StoreError> {
    Ok(article::Entity::find()
        .filter(article::Column::ChannelId.eq(channel_id))
        .filter(article::Column::ExternalId.eq(external_id))
        .one(db)
        .await?
        .is_some())
}

pub async fn contacts(db: &impl ConnectionTrait) -> Result<Vec<ContactRow>, StoreError> {
    Ok(contact::Entity::find()
        .order_by_asc(contact::Column::Kind)
        .order_by_asc(contact::Column::SortOrder)
        .all(db)
        .await?)
}

// ---- feeds ----

pub use super::entities::feed_source::Model as FeedSourceRow;

/// Sets a channel's feeds (their records kept for URLs that stay) and whether their items are
/// published at once.
pub async fn set_feeds(
    db: &impl ConnectionTrait,
    row: ChannelRow,
    urls: &[String],
    publish: bool,
    now: DateTime<Utc>,
) -> Result<ChannelRow, StoreError> {
    use super::entities::feed_source;
    use sea_orm::sea_query::OnConflict;
    feed_source::Entity::delete_many()
        .filter(feed_source::Column::ChannelId.eq(row.id))
        .filter(feed_source::Column::Url.is_not_in(urls.iter().cloned()))
        .exec(db)
        .await?;
    for url in urls {
        feed_source::Entity::insert(feed_source::ActiveModel {
            channel_id: Set(row.id),
            url: Set(url.clone()),
            last_fetched_at: Set(None),
            last_ok_at: Set(None),
            last_error: Set(None),
            failures: Set(0),
            items_taken: Set(0),
        })
        .on_conflict(
            OnConflict::columns([feed_source::Column::ChannelId, feed_source::Column::Url])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    let mut active: channel::ActiveModel = row.into();
    active.feed_urls = Set(Some(urls.join(" ")).filter(|s| !s.is_empty()));
    active.feed_publish = Set(publish);
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// Every feed of every channel.
pub async fn feed_sources(db: &impl ConnectionTrait) -> Result<Vec<FeedSourceRow>, StoreError> {
    use super::entities::feed_source;
    Ok(feed_source::Entity::find()
        .order_by_asc(feed_source::Column::ChannelId)
        .order_by_asc(feed_source::Column::Url)
        .all(db)
        .await?)
}

/// Records how a fetch went.
pub async fn feed_fetched(
    db: &impl ConnectionTrait,
    source: &FeedSourceRow,
    result: Result<u32, String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use super::entities::feed_source;
    let mut active: feed_source::ActiveModel = source.clone().into();
    active.last_fetched_at = Set(Some(now));
    match result {
        Ok(taken) => {
            active.last_ok_at = Set(Some(now));
            active.last_error = Set(None);
            active.failures = Set(0);
            active.items_taken = Set(source
                .items_taken
                .saturating_add(i32::try_from(taken).unwrap_or(i32::MAX)));
        }
        Err(error) => {
            active.last_error = Set(Some(error.chars().take(500).collect()));
            active.failures = Set(source.failures.saturating_add(1));
        }
    }
    active.update(db).await?;
    Ok(())
}

/// A contact as editors write it.
pub struct ContactFields {
    pub org_unit_id: Uuid,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub hours: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub directions: Option<String>,
    pub sort_order: i32,
}

/// Creates a contact, or replaces one (`id`).
pub async fn save_contact(
    db: &impl ConnectionTrait,
    id: Option<Uuid>,
    f: ContactFields,
    now: DateTime<Utc>,
) -> Result<ContactRow, StoreError> {
    let mut active = match id {
        Some(id) => contact::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(contact::ActiveModel::from)
            .ok_or_else(|| {
                StoreError::from(DomainError::NotFound {
                    code: "contact_not_found",
                    message: Text::new("联系方式不存在", "no such contact"),
                })
            })?,
        None => contact::ActiveModel {
            id: Set(Uuid::now_v7()),
            is_demo: Set(false),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.org_unit_id = Set(f.org_unit_id);
    active.kind = Set(f.kind);
    active.name = Set(f.name);
    active.address = Set(f.address);
    active.postcode = Set(f.postcode);
    active.recipient = Set(f.recipient);
    active.phone = Set(f.phone);
    active.hours = Set(f.hours);
    active.latitude = Set(f.latitude);
    active.longitude = Set(f.longitude);
    active.directions = Set(f.directions);
    active.sort_order = Set(f.sort_order);
    active.updated_at = Set(now);
    Ok(match id {
        Some(_) => active.update(db).await?,
        None => active.insert(db).await?,
    })
}

pub async fn delete_contact(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    Ok(contact::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}
