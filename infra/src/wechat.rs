//! The WeChat server API client: mini-program login (`code2session`), the user's phone number,
//! and the one access token every instance shares through the `Cache` (its entry and refresh lock).
//!
//! Nothing here logs a token, the AppSecret, a `session_key` or a phone number: request URLs carry
//! the secret or the token in their query, so network errors are reported without their URL.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use fengqiao_domain::messaging::SubscribeChoice;
use fengqiao_domain::ports::{Cache, Unavailable as CacheUnavailable};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio::time::Instant;

use crate::config::{Secret, WeChatSettings};
use crate::http::describe_network_error;

/// Where the shared access token lives in the `Cache`.
const TOKEN_KEY: &str = "wechat:access_token";
/// The lock that lets one instance at a time fetch a new token.
const TOKEN_LOCK_KEY: &str = "wechat:access_token:lock";
/// Long enough for one fetch (the HTTP timeout), short enough that a crashed holder does not
/// block refreshes for long.
const TOKEN_LOCK_TTL: Duration = Duration::from_secs(10);
/// The token is dropped from the cache this long before WeChat expires it, so a call never
/// starts with a token about to die (and `stable_token` hands out a new one in that window).
const TOKEN_EXPIRY_MARGIN_SECS: u64 = 300;
/// Floor of the token's cache lifetime, should WeChat announce a very short `expires_in`.
const TOKEN_MIN_TTL_SECS: u64 = 60;
/// What WeChat documents when a `stable_token` answer lacks `expires_in`.
const TOKEN_DEFAULT_EXPIRES_IN_SECS: u64 = 7200;
/// How often a caller waiting for another instance's refresh looks at the cache.
const TOKEN_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a caller waits for another instance's refresh before answering `Unavailable`.
const TOKEN_WAIT: Duration = Duration::from_secs(3);

/// Why a WeChat call failed, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum WeChatError {
    /// The login or phone code is wrong, expired or already used (40029, 40163): the mini-program
    /// must ask WeChat for a new one.
    #[error("the WeChat code is invalid or already used (errcode {errcode})")]
    InvalidCode { errcode: i64 },
    /// Too many calls for this user (45011): retry later.
    #[error("WeChat is limiting calls for this user (errcode 45011)")]
    RateLimited,
    /// WeChat marked the user as high-risk (40226).
    #[error("WeChat blocked this user as high-risk (errcode 40226)")]
    Blocked,
    /// WeChat (or the cache holding its token) could not answer now: system busy (-1), network
    /// error, timeout, HTTP 5xx or an unreadable answer. Worth retrying later.
    #[error("WeChat is unavailable: {0}")]
    Unavailable(String),
    /// Any other WeChat error code; `errmsg` is WeChat's own text.
    #[error("WeChat rejected the call: errcode {errcode}, {errmsg}")]
    Rejected { errcode: i64, errmsg: String },
    /// `wechat.appid` or `wechat.secret` is not set (or `wechat.base_url` is not a URL).
    #[error("WeChat is not configured: set wechat.appid and wechat.secret")]
    NotConfigured,
}

/// What `code2session` tells about the user who just logged in.
#[derive(Clone)]
pub struct WeChatSession {
    /// The user's id within this mini-program.
    pub openid: String,
    /// The user's id across the Open Platform account, when the mini-program is bound to one.
    pub unionid: Option<String>,
    /// Key of the user's encrypted data; it never leaves the server and never prints.
    pub session_key: String,
}

impl fmt::Debug for WeChatSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatSession")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field("session_key", &"[redacted]")
            .finish()
    }
}

/// The phone number the user agreed to share. Personal data: `Debug` does not print the number.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct PhoneInfo {
    /// The number without country code, e.g. `13800138000`.
    #[serde(rename = "purePhoneNumber")]
    pub pure_phone_number: String,
    /// The country calling code, e.g. `86`; WeChat sends it as a number or as a string.
    #[serde(rename = "countryCode", deserialize_with = "string_or_number")]
    pub country_code: String,
}

impl fmt::Debug for PhoneInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneInfo")
            .field("pure_phone_number", &"[redacted]")
            .field("country_code", &self.country_code)
            .finish()
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or a number, got {other}"
        ))),
    }
}

#[derive(Deserialize)]
struct SessionBody {
    openid: String,
    session_key: String,
    #[serde(default)]
    unionid: Option<String>,
}

#[derive(Deserialize)]
struct StableTokenBody {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct PhoneBody {
    phone_info: PhoneInfo,
}

/// Whether a message-push request comes from WeChat: `signature` is the SHA-1 of the token,
/// `timestamp` and `nonce` sorted and joined (the console's "Token" for 消息推送). Compared in
/// constant time.
pub fn push_signature_valid(token: &str, timestamp: &str, nonce: &str, signature: &str) -> bool {
    use sha1::{Digest, Sha1};
    if token.is_empty() {
        return false;
    }
    let mut parts = [token, timestamp, nonce];
    parts.sort_unstable();
    let digest: String = Sha1::digest(parts.concat().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (a, b) = (
        digest.as_bytes(),
        signature.trim().to_ascii_lowercase().into_bytes(),
    );
    a.len() == b.len() && a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One subscribe message, its values already fitted to their types.
#[derive(Debug)]
pub struct SubscribeMessage<'a> {
    pub openid: &'a str,
    pub template_id: &'a str,
    pub page: &'a str,
    /// `formal`, `trial` or `developer`: which version of the mini-program the message opens.
    pub miniprogram_state: &'a str,
    pub data: Vec<(String, String)>,
}

/// The client of WeChat's server API for one mini-program. Cheap to share behind an `Arc`.
pub struct WeChatClient {
    http: reqwest::Client,
    /// Endpoints, built once from `wechat.base_url` so a stand-in can take WeChat's place.
    session_url: Url,
    stable_token_url: Url,
    phone_url: Url,
    sec_check_url: Url,
    subscribe_send_url: Url,
    appid: String,
    /// Empty when `wechat.secret` is unset; calls then answer `NotConfigured`.
    secret: Secret,
    /// Shared by every instance, so they all use one token and refresh it once.
    cache: Arc<dyn Cache>,
}

impl fmt::Debug for WeChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatClient")
            .field("session_url", &self.session_url.as_str())
            .field("appid", &self.appid)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl WeChatClient {
    /// Builds the client. An empty AppID or a missing secret is accepted here, so the service
    /// starts without WeChat (development); each call then answers `NotConfigured`. A
    /// `base_url` that is not an http(s) URL is `NotConfigured` at once.
    pub fn new(settings: &WeChatSettings, cache: Arc<dyn Cache>) -> Result<Self, WeChatError> {
        let base = settings.base_url.trim().trim_end_matches('/');
        let endpoint = |path: &str| -> Result<Url, WeChatError> {
            let url =
                Url::parse(&format!("{base}{path}")).map_err(|_| WeChatError::NotConfigured)?;
            if matches!(url.scheme(), "http" | "https") {
                Ok(url)
            } else {
                Err(WeChatError::NotConfigured)
            }
        };
        let http = reqwest::Client::builder()
            // A zero timeout would fail every call; one second is the least that makes sense.
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            // WeChat never redirects; following one could carry a request somewhere unexpected.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                WeChatError::Unavailable(format!("could not build the HTTP client: {e}"))
            })?;
        Ok(Self {
            http,
            session_url: endpoint("/sns/jscode2session")?,
            stable_token_url: endpoint("/cgi-bin/stable_token")?,
            phone_url: endpoint("/wxa/business/getuserphonenumber")?,
            sec_check_url: endpoint("/wxa/msg_sec_check")?,
            subscribe_send_url: endpoint("/cgi-bin/message/subscribe/send")?,
            appid: settings.appid.trim().to_owned(),
            secret: settings
                .secret
                .clone()
                .unwrap_or_else(|| Secret::new(String::new())),
            cache,
        })
    }

    /// Exchanges a mini-program login code (from `wx.login`, single-use, ~5 minutes) for the
    /// user's ids and session key.
    pub async fn code_to_session(&self, code: &str) -> Result<WeChatSession, WeChatError> {
        let (appid, secret) = self.credentials()?;
        let mut url = self.session_url.clone();
        url.query_pairs_mut()
            .append_pair("appid", appid)
            .append_pair("secret", secret)
            .append_pair("js_code", code)
            .append_pair("grant_type", "authorization_code");
        let body: SessionBody = self.call("jscode2session", self.http.get(url)).await?;
        if body.openid.is_empty() || body.session_key.is_empty() {
            return Err(WeChatError::Unavailable(
                "jscode2session answered without openid or session_key".into(),
            ));
        }
        Ok(WeChatSession {
            openid: body.openid,
            unionid: body.unionid.filter(|u| !u.is_empty()),
            session_key: body.session_key,
        })
    }

    /// The access token for WeChat's server API, shared by every instance through the cache.
    ///
    /// On a miss one caller (across all instances) takes a lock and fetches a token from
    /// `stable_token`; the others wait for it to appear in the cache. When the cache itself is
    /// down this answers `Unavailable` rather than fetching a token per call, which would burn
    /// WeChat's quota.
    pub async fn access_token(&self) -> Result<String, WeChatError> {
        let (appid, secret) = self.credentials()?;
        if let Some(token) = self.cached_token().await? {
            return Ok(token);
        }
        let lock_value = uuid::Uuid::new_v4().to_string();
        let deadline = Instant::now() + TOKEN_WAIT;
        loop {
            let locked = self
                .cache
                .set_if_absent(TOKEN_LOCK_KEY, lock_value.as_bytes(), TOKEN_LOCK_TTL)
                .await
                .map_err(cache_down)?;
            if locked {
                let result = self.refresh_token_locked(appid, secret).await;
                self.release_lock(&lock_value).await;
                return result;
            }
            // Another caller is fetching: wait for its token, or for the lock to free up (its
            // fetch failed) and try ourselves.
            if Instant::now() >= deadline {
                return Err(WeChatError::Unavailable(
                    "timed out waiting for another instance to refresh the access token".into(),
                ));
            }
            tokio::time::sleep(TOKEN_POLL_INTERVAL).await;
            if let Some(token) = self.cached_token().await? {
                return Ok(token);
            }
        }
    }

    /// The phone number the user agreed to share (`getPhoneNumber` button code, single-use,
    /// ~5 minutes). A token WeChat refuses (40001, 40014, 42001) is dropped and the call retried
    /// once with a fresh one.
    pub async fn phone_number(&self, code: &str) -> Result<PhoneInfo, WeChatError> {
        let token = self.access_token().await?;
        match self.request_phone_number(&token, code).await {
            Err(WeChatError::Rejected { errcode, .. }) if is_token_error(errcode) => {
                tracing::warn!(
                    errcode,
                    "WeChat refused the cached access token; refreshing it and retrying once"
                );
                self.forget_token(&token).await?;
                let fresh = self.access_token().await?;
                self.request_phone_number(&fresh, code).await
            }
            other => other,
        }
    }

    async fn request_phone_number(
        &self,
        token: &str,
        code: &str,
    ) -> Result<PhoneInfo, WeChatError> {
        let mut url = self.phone_url.clone();
        url.query_pairs_mut().append_pair("access_token", token);
        let request = self
            .http
            .post(url)
            .json(&serde_json::json!({ "code": code }));
        let body: PhoneBody = self.call("getuserphonenumber", request).await?;
        Ok(body.phone_info)
    }

    /// Content security for user-written text (`msg_sec_check` v2). The author must have used
    /// the mini-program in the last two hours, which a citizen submitting a petition has.
    pub async fn msg_sec_check(
        &self,
        openid: &str,
        content: &str,
    ) -> Result<SecVerdict, WeChatError> {
        let token = self.access_token().await?;
        match self.request_sec_check(&token, openid, content).await {
            Err(WeChatError::Rejected { errcode, .. }) if is_token_error(errcode) => {
                self.forget_token(&token).await?;
                let fresh = self.access_token().await?;
                self.request_sec_check(&fresh, openid, content).await
            }
            other => other,
        }
    }

    async fn request_sec_check(
        &self,
        token: &str,
        openid: &str,
        content: &str,
    ) -> Result<SecVerdict, WeChatError> {
        let mut url = self.sec_check_url.clone();
        url.query_pairs_mut().append_pair("access_token", token);
        // 2,500 characters at most; the title and the start of the body are what matter.
        let content: String = content.chars().take(2500).collect();
        let request = self.http.post(url).json(&serde_json::json!({
            "version": 2, "openid": openid, "scene": 3, "content": content
        }));
        let body: SecCheckBody = self.call("msg_sec_check", request).await?;
        Ok(SecVerdict {
            suggest: body.result.suggest,
            label: match body.result.label {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
        })
    }

    /// Sends a subscribe message (订阅消息). The caller fits each value to its key's type first
    /// (`messaging::fit_wechat_value`). A token WeChat refuses is dropped and the call retried
    /// once; 43101 (no subscription left) and the other refusals come back as `Rejected`.
    pub async fn send_subscribe_message(
        &self,
        message: &SubscribeMessage<'_>,
    ) -> Result<(), WeChatError> {
        let token = self.access_token().await?;
        match self.request_subscribe_send(&token, message).await {
            Err(WeChatError::Rejected { errcode, .. }) if is_token_error(errcode) => {
                self.forget_token(&token).await?;
                let fresh = self.access_token().await?;
                self.request_subscribe_send(&fresh, message).await
            }
            other => other,
        }
    }

    async fn request_subscribe_send(
        &self,
        token: &str,
        message: &SubscribeMessage<'_>,
    ) -> Result<(), WeChatError> {
        let mut url = self.subscribe_send_url.clone();
        url.query_pairs_mut().append_pair("access_token", token);
        let data: serde_json::Map<String, Value> = message
            .data
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!({ "value": v })))
            .collect();
        let request = self.http.post(url).json(&serde_json::json!({
            "touser": message.openid,
            "template_id": message.template_id,
            "page": message.page,
            "miniprogram_state": message.miniprogram_state,
            "lang": "zh_CN",
            "data": data,
        }));
        let _: Value = self.call("subscribe_send", request).await?;
        Ok(())
    }

    /// The AppID and AppSecret, or `NotConfigured` when either is missing.
    fn credentials(&self) -> Result<(&str, &str), WeChatError> {
        let secret = self.secret.expose();
        if self.appid.is_empty() || secret.is_empty() {
            return Err(WeChatError::NotConfigured);
        }
        Ok((&self.appid, secret))
    }

    async fn cached_token(&self) -> Result<Option<String>, WeChatError> {
        let bytes = self.cache.get(TOKEN_KEY).await.map_err(cache_down)?;
        // Anything unreadable counts as a miss; the next refresh overwrites it.
        Ok(bytes
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|t| !t.is_empty()))
    }

    /// Fetches and stores a token; the caller holds the refresh lock.
    async fn refresh_token_locked(&self, appid: &str, secret: &str) -> Result<String, WeChatError> {
        // Another instance may have stored a token between our miss and our taking the lock.
        if let Some(token) = self.cached_token().await? {
            return Ok(token);
        }
        let request = self
            .http
            .post(self.stable_token_url.clone())
            .json(&serde_json::json!({
                "grant_type": "client_credential",
                "appid": appid,
                "secret": secret,
                "force_refresh": false,
            }));
        let body: StableTokenBody = self.call("stable_token", request).await?;
        if body.access_token.is_empty() {
            return Err(WeChatError::Unavailable(
                "stable_token answered without an access_token".into(),
            ));
        }
        let expires_in = body.expires_in.unwrap_or(TOKEN_DEFAULT_EXPIRES_IN_SECS);
        self.cache
            .set(
                TOKEN_KEY,
                body.access_token.as_bytes(),
                token_ttl(expires_in),
            )
            .await
            .map_err(cache_down)?;
        tracing::info!(expires_in, "fetched a new WeChat access token");
        Ok(body.access_token)
    }

    /// Frees the refresh lock if it is still ours (it may have expired and been taken by
    /// another instance). A failure only delays the next refresh until the lock expires.
    async fn release_lock(&self, lock_value: &str) {
        match self.cache.get(TOKEN_LOCK_KEY).await {
            Ok(Some(held)) if held == lock_value.as_bytes() => {
                if let Err(e) = self.cache.delete(TOKEN_LOCK_KEY).await {
                    tracing::warn!(error = %e, "could not release the WeChat token lock");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not release the WeChat token lock"),
        }
    }

    /// Drops the cached token only if it is still the one WeChat refused: another caller may
    /// already have stored a good one, and dropping that would cost an extra fetch.
    async fn forget_token(&self, refused: &str) -> Result<(), WeChatError> {
        let cached = self.cache.get(TOKEN_KEY).await.map_err(cache_down)?;
        if cached.as_deref() == Some(refused.as_bytes()) {
            self.cache.delete(TOKEN_KEY).await.map_err(cache_down)?;
        }
        Ok(())
    }

    /// Sends one request and classifies the answer. Network errors are reported without their
    /// URL, which carries the secret or the token.
    async fn call<T: DeserializeOwned>(
        &self,
        api: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WeChatError> {
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let outcome = match result {
            Ok((status, body)) => classify(status, &body),
            Err(e) => Err(WeChatError::Unavailable(describe_network_error(e))),
        };
        match &outcome {
            Ok(_) => {}
            Err(WeChatError::Unavailable(reason)) => {
                tracing::warn!(api, reason = %reason, "WeChat call failed");
            }
            Err(WeChatError::Rejected { errcode, errmsg }) => {
                tracing::warn!(api, errcode, errmsg = %errmsg, "WeChat rejected the call");
            }
            Err(e) => tracing::info!(api, error = %e, "WeChat refused the call"),
        }
        outcome.map_err(|e| match e {
            WeChatError::Unavailable(reason) => {
                WeChatError::Unavailable(format!("{api}: {reason}"))
            }
            other => other,
        })
    }
}

/// Sorts one WeChat answer: HTTP 5xx or a body that is not the expected JSON is `Unavailable`;
/// a non-zero `errcode` is an error whatever the HTTP status; no `errcode` or 0 is success.
fn classify<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, WeChatError> {
    if status.is_server_error() {
        return Err(WeChatError::Unavailable(format!(
            "HTTP {}",
            status.as_u16()
        )));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        WeChatError::Unavailable(format!(
            "HTTP {} with a body that is not JSON",
            status.as_u16()
        ))
    })?;
    let errcode = value.get("errcode").and_then(Value::as_i64).unwrap_or(0);
    let errmsg = || {
        value
            .get("errmsg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match errcode {
        0 if status.is_success() => serde_json::from_value(value)
            .map_err(|e| WeChatError::Unavailable(format!("an answer of unexpected shape: {e}"))),
        0 => Err(WeChatError::Unavailable(format!(
            "HTTP {}",
            status.as_u16()
        ))),
        -1 => Err(WeChatError::Unavailable("system busy (errcode -1)".into())),
        40029 | 40163 => Err(WeChatError::InvalidCode { errcode }),
        45011 => Err(WeChatError::RateLimited),
        40226 => Err(WeChatError::Blocked),
        _ => Err(WeChatError::Rejected {
            errcode,
            errmsg: errmsg(),
        }),
    }
}

/// 40001 invalid credential, 40014 illegal token, 42001 expired token.
fn is_token_error(errcode: i64) -> bool {
    matches!(errcode, 40001 | 40014 | 42001)
}

/// How long a token stays in the cache: `expires_in` less a margin, at least a minute.
fn token_ttl(expires_in: u64) -> Duration {
    Duration::from_secs(
        expires_in
            .saturating_sub(TOKEN_EXPIRY_MARGIN_SECS)
            .max(TOKEN_MIN_TTL_SECS),
    )
}

fn cache_down(e: CacheUnavailable) -> WeChatError {
    WeChatError::Unavailable(format!("the access token cannot be read or stored: {e}"))
}

/// What a subscribe-message event pushed by WeChat (JSON plaintext mode) says: whose it is
/// and which templates the citizen withdrew (`reject`) or blocked (`ban`).
#[derive(Debug, PartialEq, Eq)]
pub struct PushedWithdrawals {
    pub openid: String,
    /// `subscribe_msg_popup_event` or `subscribe_msg_change_event`.
    pub event: String,
    pub withdrawn: Vec<(String, SubscribeChoice)>,
}

/// Reads a pushed body; `None` for anything but a subscribe-message event (or a body that is
/// not one at all). Withdrawals only: an "accept" is counted once, from the mini-program's own
/// report (`POST /me/subscriptions`); counting WeChat's copy too would allow a message the
/// citizen never agreed to. `List` comes as one item or an array of them.
pub fn pushed_withdrawals(body: &[u8]) -> Option<PushedWithdrawals> {
    #[derive(serde::Deserialize)]
    struct Pushed {
        #[serde(rename = "FromUserName")]
        from_user_name: String,
        #[serde(rename = "MsgType", default)]
        msg_type: String,
        #[serde(rename = "Event", default)]
        event: String,
        #[serde(rename = "List", default)]
        list: serde_json::Value,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(rename = "TemplateId")]
        template_id: String,
        #[serde(rename = "SubscribeStatusString", default)]
        status: String,
    }
    let pushed: Pushed = serde_json::from_slice(body).ok()?;
    let subscribe = matches!(
        pushed.event.as_str(),
        "subscribe_msg_popup_event" | "subscribe_msg_change_event"
    );
    if pushed.msg_type != "event" || !subscribe {
        return None;
    }
    let items: Vec<Item> = match pushed.list {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        single @ serde_json::Value::Object(_) => {
            serde_json::from_value(single).into_iter().collect()
        }
        _ => Vec::new(),
    };
    let withdrawn = items
        .into_iter()
        .filter_map(|i| match i.status.as_str() {
            "reject" => Some((i.template_id, SubscribeChoice::Reject)),
            "ban" => Some((i.template_id, SubscribeChoice::Ban)),
            _ => None,
        })
        .collect();
    Some(PushedWithdrawals {
        openid: pushed.from_user_name,
        event: pushed.event,
        withdrawn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_withdrawals_read_one_item_or_a_list_and_ignore_the_rest() {
        let one =
            br#"{"FromUserName": "o7", "MsgType": "event", "Event": "subscribe_msg_change_event",
            "List": {"TemplateId": "t1", "SubscribeStatusString": "reject"}}"#;
        let got = pushed_withdrawals(one).unwrap();
        assert_eq!(got.openid, "o7");
        assert_eq!(
            got.withdrawn,
            vec![("t1".to_owned(), SubscribeChoice::Reject)]
        );
        let list =
            br#"{"FromUserName": "o7", "MsgType": "event", "Event": "subscribe_msg_popup_event",
            "List": [{"TemplateId": "t1", "SubscribeStatusString": "accept"},
                     {"TemplateId": "t2", "SubscribeStatusString": "ban"}, {"nonsense": 1}]}"#;
        assert_eq!(
            pushed_withdrawals(list).unwrap().withdrawn,
            vec![("t2".to_owned(), SubscribeChoice::Ban)],
            "accepts are the mini-program's to report; broken items are skipped"
        );
        for other in [
            &br#"{"FromUserName": "o7", "MsgType": "text", "Content": "hi"}"#[..],
            br#"{"FromUserName": "o7", "MsgType": "event", "Event": "user_enter_tempsession"}"#,
            br#"[1, 2"#,
            b"",
        ] {
            assert_eq!(pushed_withdrawals(other), None);
        }
    }

    use async_trait::async_trait;
    use serde_json::json;
    use wiremock::matchers::{body_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::cache::MemoryCache;

    const APPID: &str = "wx1234567890abcdef";
    const SECRET: &str = "app-secret-for-tests";

    fn settings(base_url: &str) -> WeChatSettings {
        WeChatSettings {
            base_url: base_url.to_owned(),
            appid: APPID.to_owned(),
            secret: Some(Secret::new(SECRET)),
            timeout_secs: 5,
            push_token: None,
        }
    }

    fn client_with(settings: &WeChatSettings, cache: Arc<dyn Cache>) -> WeChatClient {
        WeChatClient::new(settings, cache).unwrap()
    }

    fn client(server: &MockServer) -> WeChatClient {
        client_with(&settings(&server.uri()), Arc::new(MemoryCache::default()))
    }

    fn ok(body: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(body)
    }

    fn wechat_error(errcode: i64, errmsg: &str) -> ResponseTemplate {
        ok(json!({ "errcode": errcode, "errmsg": errmsg }))
    }

    async fn mount_login(server: &MockServer, code: &str, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path("/sns/jscode2session"))
            .and(query_param("appid", APPID))
            .and(query_param("secret", SECRET))
            .and(query_param("js_code", code))
            .and(query_param("grant_type", "authorization_code"))
            .respond_with(response)
            .expect(1)
            .mount(server)
            .await;
    }

    fn stable_token_mock(token: &str) -> Mock {
        Mock::given(method("POST"))
            .and(path("/cgi-bin/stable_token"))
            .and(body_json(json!({
                "grant_type": "client_credential",
                "appid": APPID,
                "secret": SECRET,
                "force_refresh": false,
            })))
            .respond_with(ok(json!({ "access_token": token, "expires_in": 7200 })))
    }

    fn phone_mock(token: &str, code: &str, response: ResponseTemplate) -> Mock {
        Mock::given(method("POST"))
            .and(path("/wxa/business/getuserphonenumber"))
            .and(query_param("access_token", token))
            .and(body_json(json!({ "code": code })))
            .respond_with(response)
    }

    fn phone_ok(country_code: Value) -> ResponseTemplate {
        ok(json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": "+8613800138000",
                "purePhoneNumber": "13800138000",
                "countryCode": country_code,
                "watermark": { "timestamp": 1637744274, "appid": APPID }
            }
        }))
    }

    /// A cache whose backing service is down.
    struct DownCache;

    #[async_trait]
    impl Cache for DownCache {
        async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, CacheUnavailable> {
            Err(CacheUnavailable::new("redis", "connection refused"))
        }
        async fn set(&self, _: &str, _: &[u8], _: Duration) -> Result<(), CacheUnavailable> {
            Err(CacheUnavailable::new("redis", "connection refused"))
        }
        async fn delete(&self, _: &str) -> Result<(), CacheUnavailable> {
            Err(CacheUnavailable::new("redis", "connection refused"))
        }
        async fn set_if_absent(
            &self,
            _: &str,
            _: &[u8],
            _: Duration,
        ) -> Result<bool, CacheUnavailable> {
            Err(CacheUnavailable::new("redis", "connection refused"))
        }
        async fn ping(&self) -> Result<(), CacheUnavailable> {
            Err(CacheUnavailable::new("redis", "connection refused"))
        }
    }

    #[tokio::test]
    async fn login_returns_openid_unionid_and_a_hidden_session_key() {
        let server = MockServer::start().await;
        mount_login(
            &server,
            "code-1",
            ok(json!({
                "openid": "oUser1",
                "session_key": "sk-very-private==",
                "unionid": "uUnion1"
            })),
        )
        .await;
        let session = client(&server).code_to_session("code-1").await.unwrap();
        assert_eq!(session.openid, "oUser1");
        assert_eq!(session.unionid.as_deref(), Some("uUnion1"));
        assert_eq!(session.session_key, "sk-very-private==");
        let shown = format!("{session:?}");
        assert!(!shown.contains("sk-very-private"), "{shown}");
        assert!(
            shown.contains("oUser1") && shown.contains("[redacted]"),
            "{shown}"
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn login_without_unionid() {
        let server = MockServer::start().await;
        mount_login(
            &server,
            "code-2",
            ok(json!({ "openid": "oUser2", "session_key": "sk2", "expires_in": 7200 })),
        )
        .await;
        let session = client(&server).code_to_session("code-2").await.unwrap();
        assert_eq!(session.openid, "oUser2");
        assert_eq!(session.unionid, None);
        server.verify().await;
    }

    #[tokio::test]
    async fn login_with_an_invalid_or_used_code_is_invalid_code() {
        let server = MockServer::start().await;
        mount_login(&server, "bad", wechat_error(40029, "invalid code, rid: 1")).await;
        mount_login(
            &server,
            "used",
            wechat_error(40163, "code been used, rid: 2"),
        )
        .await;
        let client = client(&server);
        assert!(matches!(
            client.code_to_session("bad").await,
            Err(WeChatError::InvalidCode { errcode: 40029 })
        ));
        assert!(matches!(
            client.code_to_session("used").await,
            Err(WeChatError::InvalidCode { errcode: 40163 })
        ));
        server.verify().await;
    }

    #[tokio::test]
    async fn login_when_wechat_is_busy_is_unavailable() {
        let server = MockServer::start().await;
        mount_login(&server, "c", wechat_error(-1, "system error")).await;
        let err = client(&server).code_to_session("c").await.unwrap_err();
        assert!(matches!(err, WeChatError::Unavailable(_)), "{err:?}");
        server.verify().await;
    }

    #[tokio::test]
    async fn login_over_the_user_limit_is_rate_limited() {
        let server = MockServer::start().await;
        mount_login(
            &server,
            "c",
            wechat_error(45011, "api minute-quota reach limit"),
        )
        .await;
        let err = client(&server).code_to_session("c").await.unwrap_err();
        assert!(matches!(err, WeChatError::RateLimited), "{err:?}");
        server.verify().await;
    }

    #[tokio::test]
    async fn login_of_a_high_risk_user_is_blocked_and_other_codes_are_rejected() {
        let server = MockServer::start().await;
        mount_login(&server, "risky", wechat_error(40226, "high risk user")).await;
        mount_login(&server, "odd", wechat_error(40013, "invalid appid")).await;
        let client = client(&server);
        assert!(matches!(
            client.code_to_session("risky").await,
            Err(WeChatError::Blocked)
        ));
        match client.code_to_session("odd").await {
            Err(WeChatError::Rejected { errcode, errmsg }) => {
                assert_eq!(errcode, 40013);
                assert_eq!(errmsg, "invalid appid");
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        server.verify().await;
    }

    #[tokio::test]
    async fn login_against_a_server_that_is_not_listening_is_unavailable() {
        let client = client_with(
            &settings("http://127.0.0.1:1"),
            Arc::new(MemoryCache::default()),
        );
        match client.code_to_session("c").await {
            Err(WeChatError::Unavailable(reason)) => {
                assert!(!reason.contains(SECRET), "the secret leaked: {reason}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_response_slower_than_the_timeout_is_unavailable() {
        let server = MockServer::start().await;
        mount_login(
            &server,
            "slow",
            ok(json!({ "openid": "o", "session_key": "k" })).set_delay(Duration::from_secs(2)),
        )
        .await;
        let mut slow = settings(&server.uri());
        slow.timeout_secs = 1;
        let client = client_with(&slow, Arc::new(MemoryCache::default()));
        let started = std::time::Instant::now();
        match client.code_to_session("slow").await {
            Err(WeChatError::Unavailable(reason)) => {
                assert!(reason.contains("timed out"), "{reason}")
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_millis(1900));
    }

    #[tokio::test]
    async fn http_5xx_and_bodies_that_are_not_json_are_unavailable() {
        let server = MockServer::start().await;
        mount_login(
            &server,
            "5xx",
            ResponseTemplate::new(502).set_body_string("bad gateway"),
        )
        .await;
        mount_login(
            &server,
            "html",
            ResponseTemplate::new(200).set_body_string("<html>"),
        )
        .await;
        let client = client(&server);
        for code in ["5xx", "html"] {
            let err = client.code_to_session(code).await.unwrap_err();
            assert!(
                matches!(err, WeChatError::Unavailable(_)),
                "{code}: {err:?}"
            );
        }
        server.verify().await;
    }

    #[tokio::test]
    async fn the_access_token_is_fetched_once_and_reused_from_the_cache() {
        let server = MockServer::start().await;
        stable_token_mock("TOKEN-A").expect(1).mount(&server).await;
        let cache = Arc::new(MemoryCache::default());
        let client = client_with(&settings(&server.uri()), cache.clone());
        for _ in 0..10 {
            assert_eq!(client.access_token().await.unwrap(), "TOKEN-A");
        }
        assert_eq!(
            cache.get(TOKEN_KEY).await.unwrap().as_deref(),
            Some(&b"TOKEN-A"[..])
        );
        assert_eq!(
            cache.get(TOKEN_LOCK_KEY).await.unwrap(),
            None,
            "lock released"
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn concurrent_callers_fetch_the_token_only_once() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/cgi-bin/stable_token"))
            .respond_with(
                ok(json!({ "access_token": "TOKEN-C", "expires_in": 7200 }))
                    .set_delay(Duration::from_millis(300)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = client(&server);
        let (a, b, c, d, e) = tokio::join!(
            client.access_token(),
            client.access_token(),
            client.access_token(),
            client.access_token(),
            client.access_token(),
        );
        for token in [a, b, c, d, e] {
            assert_eq!(token.unwrap(), "TOKEN-C");
        }
        server.verify().await;
    }

    #[tokio::test]
    async fn a_caller_waits_for_the_token_another_instance_is_fetching() {
        let server = MockServer::start().await;
        stable_token_mock("MINE").expect(0).mount(&server).await;
        let cache = Arc::new(MemoryCache::default());
        cache
            .set_if_absent(TOKEN_LOCK_KEY, b"other-instance", TOKEN_LOCK_TTL)
            .await
            .unwrap();
        let other = cache.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            other
                .set(TOKEN_KEY, b"THEIRS", Duration::from_secs(60))
                .await
                .unwrap();
        });
        let client = client_with(&settings(&server.uri()), cache.clone());
        assert_eq!(client.access_token().await.unwrap(), "THEIRS");
        assert_eq!(
            cache.get(TOKEN_LOCK_KEY).await.unwrap().as_deref(),
            Some(&b"other-instance"[..]),
            "another instance's lock is not ours to release"
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn with_the_cache_down_no_token_is_fetched() {
        let server = MockServer::start().await;
        stable_token_mock("T").expect(0).mount(&server).await;
        let client = client_with(&settings(&server.uri()), Arc::new(DownCache));
        for _ in 0..3 {
            let err = client.access_token().await.unwrap_err();
            assert!(matches!(err, WeChatError::Unavailable(_)), "{err:?}");
        }
        let err = client.phone_number("p").await.unwrap_err();
        assert!(matches!(err, WeChatError::Unavailable(_)), "{err:?}");
        server.verify().await;
    }

    #[tokio::test]
    async fn phone_number_with_country_code_as_string_or_number() {
        let server = MockServer::start().await;
        stable_token_mock("TOKEN-P").expect(1).mount(&server).await;
        phone_mock("TOKEN-P", "as-string", phone_ok(json!("86")))
            .expect(1)
            .mount(&server)
            .await;
        phone_mock("TOKEN-P", "as-number", phone_ok(json!(86)))
            .expect(1)
            .mount(&server)
            .await;
        let client = client(&server);
        let expected = PhoneInfo {
            pure_phone_number: "13800138000".into(),
            country_code: "86".into(),
        };
        let from_string = client.phone_number("as-string").await.unwrap();
        assert_eq!(from_string, expected);
        assert_eq!(client.phone_number("as-number").await.unwrap(), expected);
        let shown = format!("{from_string:?}");
        assert!(!shown.contains("13800138000"), "{shown}");
        server.verify().await;
    }

    #[tokio::test]
    async fn phone_number_retries_once_with_a_fresh_token_after_40001() {
        let server = MockServer::start().await;
        stable_token_mock("TOKEN-OLD")
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        stable_token_mock("TOKEN-NEW")
            .expect(1)
            .mount(&server)
            .await;
        phone_mock(
            "TOKEN-OLD",
            "p",
            wechat_error(
                40001,
                "invalid credential, access_token is invalid or not latest",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
        phone_mock("TOKEN-NEW", "p", phone_ok(json!("86")))
            .expect(1)
            .mount(&server)
            .await;
        let cache = Arc::new(MemoryCache::default());
        let client = client_with(&settings(&server.uri()), cache.clone());
        let phone = client.phone_number("p").await.unwrap();
        assert_eq!(phone.pure_phone_number, "13800138000");
        assert_eq!(
            cache.get(TOKEN_KEY).await.unwrap().as_deref(),
            Some(&b"TOKEN-NEW"[..])
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn phone_number_retries_only_once() {
        let server = MockServer::start().await;
        stable_token_mock("TOKEN-BAD")
            .expect(2)
            .mount(&server)
            .await;
        phone_mock(
            "TOKEN-BAD",
            "p",
            wechat_error(42001, "access_token expired"),
        )
        .expect(2)
        .mount(&server)
        .await;
        let err = client(&server).phone_number("p").await.unwrap_err();
        assert!(
            matches!(err, WeChatError::Rejected { errcode: 42001, .. }),
            "{err:?}"
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn a_refused_token_is_forgotten_only_if_still_cached() {
        let server = MockServer::start().await;
        let cache = Arc::new(MemoryCache::default());
        let client = client_with(&settings(&server.uri()), cache.clone());
        cache
            .set(TOKEN_KEY, b"NEWER", Duration::from_secs(60))
            .await
            .unwrap();
        client.forget_token("OLDER").await.unwrap();
        assert_eq!(
            cache.get(TOKEN_KEY).await.unwrap().as_deref(),
            Some(&b"NEWER"[..])
        );
        client.forget_token("NEWER").await.unwrap();
        assert_eq!(cache.get(TOKEN_KEY).await.unwrap(), None);
    }

    #[tokio::test]
    async fn phone_number_with_an_invalid_code_is_invalid_code() {
        let server = MockServer::start().await;
        stable_token_mock("TOKEN-I").expect(1).mount(&server).await;
        phone_mock("TOKEN-I", "bad", wechat_error(40029, "invalid code"))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server).phone_number("bad").await.unwrap_err();
        assert!(
            matches!(err, WeChatError::InvalidCode { errcode: 40029 }),
            "{err:?}"
        );
        server.verify().await;
    }

    #[tokio::test]
    async fn without_appid_or_secret_every_call_is_not_configured() {
        let server = MockServer::start().await;
        let mut no_appid = settings(&server.uri());
        no_appid.appid = String::new();
        let mut no_secret = settings(&server.uri());
        no_secret.secret = None;
        for s in [no_appid, no_secret] {
            let client = client_with(&s, Arc::new(MemoryCache::default()));
            assert!(matches!(
                client.code_to_session("c").await,
                Err(WeChatError::NotConfigured)
            ));
            assert!(matches!(
                client.access_token().await,
                Err(WeChatError::NotConfigured)
            ));
            assert!(matches!(
                client.phone_number("p").await,
                Err(WeChatError::NotConfigured)
            ));
        }
        assert_eq!(server.received_requests().await.unwrap().len(), 0);
    }

    #[test]
    fn a_base_url_that_is_not_http_is_not_configured() {
        for base in ["not a url", "ftp://example.com"] {
            assert!(matches!(
                WeChatClient::new(&settings(base), Arc::new(MemoryCache::default())),
                Err(WeChatError::NotConfigured)
            ));
        }
    }

    #[test]
    fn classification_follows_errcode_then_status() {
        let ok_status = StatusCode::OK;
        let parsed: Value = classify(ok_status, br#"{"errcode":0,"errmsg":"ok","x":1}"#).unwrap();
        assert_eq!(parsed["x"], 1);
        let parsed: Value = classify(ok_status, br#"{"openid":"o"}"#).unwrap();
        assert_eq!(parsed["openid"], "o");
        assert!(matches!(
            classify::<Value>(
                StatusCode::BAD_REQUEST,
                br#"{"errcode":40029,"errmsg":"x"}"#
            ),
            Err(WeChatError::InvalidCode { errcode: 40029 })
        ));
        assert!(matches!(
            classify::<Value>(StatusCode::NOT_FOUND, br#"{"message":"no route"}"#),
            Err(WeChatError::Unavailable(_))
        ));
        assert!(matches!(
            classify::<Value>(StatusCode::SERVICE_UNAVAILABLE, br#"{"errcode":0}"#),
            Err(WeChatError::Unavailable(_))
        ));
        assert!(matches!(
            classify::<SessionBody>(ok_status, br#"{"errcode":0}"#),
            Err(WeChatError::Unavailable(_))
        ));
    }

    #[test]
    fn push_signatures_are_checked_against_the_sorted_sha1() {
        // Sorted lexically the parts are "1409304348", "TOKEN", "xxxxxx".
        let computed = {
            use sha1::{Digest, Sha1};
            Sha1::digest(b"1409304348TOKENxxxxxx")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert!(push_signature_valid(
            "TOKEN",
            "1409304348",
            "xxxxxx",
            &computed
        ));
        assert!(push_signature_valid(
            "TOKEN",
            "1409304348",
            "xxxxxx",
            &computed.to_uppercase()
        ));
        assert!(!push_signature_valid(
            "TOKEN",
            "1409304349",
            "xxxxxx",
            &computed
        ));
        assert!(!push_signature_valid("", "1409304348", "xxxxxx", &computed));
        assert!(!push_signature_valid(
            "TOKEN",
            "1409304348",
            "xxxxxx",
            "abc"
        ));
    }

    #[test]
    fn token_ttl_keeps_a_margin_and_a_floor() {
        assert_eq!(token_ttl(7200), Duration::from_secs(6900));
        assert_eq!(token_ttl(200), Duration::from_secs(60));
        assert_eq!(token_ttl(0), Duration::from_secs(60));
    }
}

/// WeChat's verdict on a text: `suggest` is `pass`, `review` or `risky`; `label` the category
/// (100 normal, 20001 politics, 20006 illegal, …), which arrives as a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecVerdict {
    pub suggest: String,
    pub label: String,
}

#[derive(serde::Deserialize)]
struct SecCheckBody {
    result: SecCheckResult,
}

#[derive(serde::Deserialize)]
struct SecCheckResult {
    suggest: String,
    #[serde(default)]
    label: serde_json::Value,
}
