//! External RSS and Atom feeds a channel takes items from: fetched with a time limit and a
//! size limit, parsed with `feed-rs`, each item reduced to what an article needs, its HTML
//! sanitised like an editor's.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::http::describe_network_error;

/// Feeds larger than this are refused: a feed is a list of recent items, not an archive.
const MAX_FEED_BYTES: usize = 5 * 1024 * 1024;

/// One item, ready to file as an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    /// The item's guid or id, else its link: how a repeat is recognised.
    pub external_id: String,
    pub title: String,
    pub summary: Option<String>,
    /// Sanitised HTML.
    pub body: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
}

/// A fetched feed: its title and items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub title: Option<String>,
    pub items: Vec<FeedItem>,
}

#[derive(Debug, Clone)]
pub struct FeedFetcher {
    http: reqwest::Client,
}

impl FeedFetcher {
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout.max(Duration::from_secs(1)))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent("Fengqiao-Feeds/1")
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        Ok(Self { http })
    }

    /// Fetches and parses a feed; the error is what editors see on the feed's record.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(describe_network_error)?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_FEED_BYTES as u64)
        {
            return Err("the feed is larger than 5 MB".into());
        }
        let bytes = response.bytes().await.map_err(describe_network_error)?;
        if bytes.len() > MAX_FEED_BYTES {
            return Err("the feed is larger than 5 MB".into());
        }
        parse(&bytes)
    }
}

/// Parses RSS 0.9x/1.0/2.0, Atom or JSON Feed.
pub fn parse(bytes: &[u8]) -> Result<Fetched, String> {
    let feed = feed_rs::parser::parse(bytes).map_err(|e| format!("not a feed: {e}"))?;
    let items = feed
        .entries
        .into_iter()
        .filter_map(|e| {
            let link = e.links.first().map(|l| l.href.clone());
            let title = e.title.map(|t| crate::html::text_of(&t.content))?;
            let html = e
                .content
                .and_then(|c| c.body)
                .or_else(|| e.summary.as_ref().map(|s| s.content.clone()))
                .unwrap_or_default();
            let summary = e
                .summary
                .map(|s| crate::html::text_of(&s.content))
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(300).collect());
            // feed-rs makes up an id for an RSS item without a guid (a hash); a link is the
            // steadier key then.
            let external_id = if e.id.is_empty() { link.clone()? } else { e.id };
            Some(FeedItem {
                external_id: external_id.chars().take(512).collect(),
                title: title.chars().take(128).collect(),
                summary,
                body: crate::html::sanitise(&html),
                link,
                published: e.published.or(e.updated),
            })
        })
        .collect();
    Ok(Fetched {
        title: feed.title.map(|t| crate::html::text_of(&t.content)),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_and_atom_items_become_articles_and_junk_is_refused() {
        let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>国家信访局</title>
            <item><title>信访工作条例解读</title><link>https://example.gov.cn/a/1</link>
            <guid>urn:item:1</guid><description>&lt;p&gt;解读&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;</description>
            <pubDate>Wed, 25 Nov 2026 09:00:00 +0800</pubDate></item></channel></rss>"#.as_bytes();
        let fetched = parse(rss).unwrap();
        assert_eq!(fetched.title.as_deref(), Some("国家信访局"));
        let item = &fetched.items[0];
        assert_eq!(item.external_id, "urn:item:1");
        assert_eq!(item.title, "信访工作条例解读");
        assert!(item.body.contains("解读") && !item.body.contains("script"));
        assert!(item.published.is_some());
        let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
            <title>河南信访</title><id>urn:feed</id><updated>2026-11-25T09:00:00Z</updated>
            <entry><title>一条新闻</title><id>urn:entry:9</id><updated>2026-11-25T09:00:00Z</updated>
            <link href="https://example.gov.cn/b/9"/><content type="html">&lt;p&gt;正文&lt;/p&gt;</content></entry></feed>"#.as_bytes();
        let fetched = parse(atom).unwrap();
        assert_eq!(fetched.items[0].external_id, "urn:entry:9");
        assert!(fetched.items[0].body.contains("<p>正文</p>"));
        assert!(parse(b"<html><body>not a feed</body></html>").is_err());
        assert!(parse(b"").is_err());
    }
}
