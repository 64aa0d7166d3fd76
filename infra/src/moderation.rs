//! Content moderation: a local word list (always on, configurable) and the WeChat
//! content-security API (when WeChat is configured), combined into the strictest verdict.

use std::sync::Arc;

use async_trait::async_trait;
use fengqiao_domain::ports::{Moderation, ModerationVerdict, Unavailable};

use crate::wechat::{WeChatClient, WeChatError};

/// Flags a text containing any listed word (case-insensitive) for review.
pub struct WordList {
    words: Vec<String>,
}

impl WordList {
    pub fn new(words: &[String]) -> Self {
        Self {
            words: words
                .iter()
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
        }
    }
}

#[async_trait]
impl Moderation for WordList {
    async fn check(
        &self,
        text: &str,
        _author: Option<&str>,
    ) -> Result<ModerationVerdict, Unavailable> {
        let lower = text.to_lowercase();
        Ok(
            match self.words.iter().find(|w| lower.contains(w.as_str())) {
                Some(_) => ModerationVerdict::Review {
                    label: "word_list".into(),
                },
                None => ModerationVerdict::Pass,
            },
        )
    }
}

/// WeChat's `msg_sec_check`, for texts written in the mini-program (an author openid is needed).
pub struct WeChatModeration {
    client: Arc<WeChatClient>,
}

impl WeChatModeration {
    pub fn new(client: Arc<WeChatClient>) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Moderation for WeChatModeration {
    async fn check(
        &self,
        text: &str,
        author: Option<&str>,
    ) -> Result<ModerationVerdict, Unavailable> {
        let Some(openid) = author else {
            return Ok(ModerationVerdict::Pass);
        };
        match self.client.msg_sec_check(openid, text).await {
            Ok(v) => Ok(match v.suggest.as_str() {
                "risky" => ModerationVerdict::Risky { label: v.label },
                "review" => ModerationVerdict::Review { label: v.label },
                _ => ModerationVerdict::Pass,
            }),
            Err(WeChatError::NotConfigured) => Ok(ModerationVerdict::Pass),
            Err(e) => Err(Unavailable::new("wechat", e)),
        }
    }
}

/// Every configured checker; the strictest verdict wins. One that cannot answer makes the whole
/// check unavailable (the caller then holds the text for review rather than passing it).
pub struct Checks(pub Vec<Arc<dyn Moderation>>);

#[async_trait]
impl Moderation for Checks {
    async fn check(
        &self,
        text: &str,
        author: Option<&str>,
    ) -> Result<ModerationVerdict, Unavailable> {
        let mut verdict = ModerationVerdict::Pass;
        for check in &self.0 {
            verdict = verdict.worst(check.check(text, author).await?);
        }
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listed_words_are_flagged_case_insensitively_and_the_strictest_verdict_wins() {
        let list = WordList::new(&["代办信访".into(), "SPAM".into(), " ".into()]);
        assert_eq!(
            list.check("普通的诉求内容", None).await.unwrap(),
            ModerationVerdict::Pass
        );
        assert!(matches!(
            list.check("有人代办信访收费", None).await.unwrap(),
            ModerationVerdict::Review { .. }
        ));
        assert!(matches!(
            list.check("buy spam now", None).await.unwrap(),
            ModerationVerdict::Review { .. }
        ));
        let risky = ModerationVerdict::Risky {
            label: "20006".into(),
        };
        assert_eq!(
            ModerationVerdict::Review { label: "x".into() }.worst(risky.clone()),
            risky
        );
        assert_eq!(
            ModerationVerdict::Pass.worst(ModerationVerdict::Pass),
            ModerationVerdict::Pass
        );
    }
}
