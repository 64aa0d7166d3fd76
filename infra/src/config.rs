//! One typed configuration value, layered: built-in defaults, then an optional TOML file
//! (`fengqiao.toml` or `--config PATH`), then `FENGQIAO_SECTION__KEY` environment variables.
//! Secrets are wrapped in `Secret`, which never prints; `check-config` shows them as
//! `[redacted]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize, Serializer};

/// A value that must not appear in logs, debug output or `check-config`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `production` turns unsafe settings into start-up errors.
    pub env: Environment,
    /// Where the embedded default keeps its SQLite file, attachments and generated keys.
    pub data_dir: PathBuf,
    /// Load the clearly-marked demonstration data on first start.
    pub demo: bool,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub crypto: CryptoSettings,
    pub storage: StorageSettings,
    pub log: LogSettings,
    pub rate_limit: RateLimitSettings,
    pub wechat: WeChatSettings,
    pub petition: PetitionSettings,
    pub moderation: ModerationSettings,
    pub messaging: MessagingSettings,
    pub sms: SmsSettings,
    pub reception: ReceptionSettings,
    pub feeds: FeedSettings,
    pub statistics: StatisticsSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            data_dir: PathBuf::from("data"),
            demo: false,
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            auth: AuthSettings::default(),
            crypto: CryptoSettings::default(),
            storage: StorageSettings::default(),
            log: LogSettings::default(),
            rate_limit: RateLimitSettings::default(),
            wechat: WeChatSettings::default(),
            petition: PetitionSettings::default(),
            moderation: ModerationSettings::default(),
            messaging: MessagingSettings::default(),
            sms: SmsSettings::default(),
            reception: ReceptionSettings::default(),
            feeds: FeedSettings::default(),
            statistics: StatisticsSettings::default(),
        }
    }
}

/// Supervision: the monthly flags' scoring, the weekly escalation watch and their jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatisticsSettings {
    /// Weights and thresholds of the red/yellow/black flags (see `FlagScoring`).
    pub flags: fengqiao_domain::statistics::FlagScoring,
    /// How many units the weekly watch names.
    pub watch_top: u32,
    /// How often the jobs look for a finished week or month to keep (once across instances);
    /// 0 disables them.
    pub job_check_secs: u64,
}

impl Default for StatisticsSettings {
    fn default() -> Self {
        Self {
            flags: fengqiao_domain::statistics::FlagScoring::default(),
            watch_top: 3,
            job_check_secs: 3_600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port (the tests use it).
    pub port: u16,
    /// The address clients use, for links in responses; defaults to http://host:port.
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes (413 above it).
    pub body_limit_bytes: usize,
    /// How long a stop waits for in-flight requests and background work.
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads; defaults to the number of cores.
    pub workers: Option<usize>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            shutdown_timeout_secs: 30,
            workers: None,
            trust_forwarded_for: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`; unset: SQLite in `data_dir`.
    pub url: Option<Secret>,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Apply pending migrations at start-up (safe with several instances: they take turns).
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            min_connections: 1,
            acquire_timeout_secs: 5,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://…`; unset: in-process cache and rate limiter (one instance only).
    pub url: Option<Secret>,
    /// Prefix of every key, so several deployments (or tests) can share one Redis.
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "fengqiao:".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for access tokens, at least 32 bytes. Unset in development: a random key is
    /// generated once and kept in `data_dir`.
    pub jwt_secret: Option<Secret>,
    /// Names `jwt_secret` in the token header (`kid`), so keys can rotate.
    pub jwt_key_id: String,
    /// Earlier secrets that still verify tokens until they expire: `[[auth.retired_jwt_keys]]`
    /// with `id` and `secret`.
    pub retired_jwt_keys: Vec<RetiredJwtKey>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: u64,
    /// Login without WeChat, for development. Unset: on in development, off in production.
    pub dev_login: Option<bool>,
    /// Lifetime of a citizen's refresh token.
    pub refresh_token_ttl_days: u64,
    /// Failed staff sign-ins in a row that lock the account.
    pub lockout_max_failures: u32,
    /// How long a locked staff account stays locked.
    pub lockout_minutes: u64,
    /// Lifetime of an integrator's access token.
    pub client_token_ttl_secs: u64,
}

/// A JWT secret that no longer signs but still verifies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredJwtKey {
    pub id: String,
    pub secret: Secret,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_key_id: "k1".into(),
            retired_jwt_keys: Vec::new(),
            jwt_issuer: "fengqiao".into(),
            jwt_audience: "fengqiao-api".into(),
            access_token_ttl_secs: 900,
            dev_login: None,
            refresh_token_ttl_days: 30,
            lockout_max_failures: 5,
            lockout_minutes: 15,
            client_token_ttl_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CipherKind {
    Aes256Gcm,
    Sm4Gcm,
}

impl CipherKind {
    /// Key length in bytes: 32 for AES-256, 16 for SM4.
    pub fn key_len(self) -> usize {
        match self {
            CipherKind::Aes256Gcm => 32,
            CipherKind::Sm4Gcm => 16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CipherKind::Aes256Gcm => "aes-256-gcm",
            CipherKind::Sm4Gcm => "sm4-gcm",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CryptoSettings {
    /// The cipher for personal data at rest: `aes-256-gcm` or `sm4-gcm` (国密).
    pub cipher: CipherKind,
    /// Identifies `key` in stored ciphertexts, so keys can rotate.
    pub key_id: String,
    /// Base64 key for personal data. Unset in development: generated once in `data_dir`.
    pub key: Option<Secret>,
    /// Earlier keys, kept so values sealed under them still open after a rotation.
    pub retired_keys: Vec<RetiredKey>,
    /// Key of the lookup hashes (HMAC-SHA-256) of ID and phone numbers, at least 32 bytes. It
    /// never rotates with `key`. Unset in development: generated once in `data_dir`.
    pub lookup_key: Option<Secret>,
}

impl Default for CryptoSettings {
    fn default() -> Self {
        Self {
            cipher: CipherKind::Aes256Gcm,
            key_id: "k1".into(),
            key: None,
            retired_keys: Vec::new(),
            lookup_key: None,
        }
    }
}

/// A key that no longer seals but still opens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredKey {
    pub id: String,
    pub cipher: CipherKind,
    pub key: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Directory for attachments; unset: `data_dir/attachments`. Ignored when `s3` is set.
    pub dir: Option<PathBuf>,
    /// An S3-compatible object store; set it whenever more than one instance runs.
    pub s3: Option<S3Settings>,
}

/// An S3-compatible object store, addressed path-style (`endpoint/bucket/key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// Such as `https://oss-cn-hangzhou.aliyuncs.com` or `http://minio:9000`.
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_s3_region")]
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    #[serde(default = "default_s3_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_s3_region() -> String {
    // MinIO's default; stores that ignore the region accept any value.
    "us-east-1".into()
}

fn default_s3_timeout_secs() -> u64 {
    10
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter, such as `info` or `info,fengqiao_infra=debug`.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Requests one client address may make per minute across all instances; 0 disables.
    pub per_ip_per_minute: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeChatSettings {
    /// Base URL of the WeChat server API; tests point it at a stand-in.
    pub base_url: String,
    /// The mini-program's AppID.
    pub appid: String,
    /// The mini-program's AppSecret.
    pub secret: Option<Secret>,
    /// Time allowed for one call to WeChat.
    pub timeout_secs: u64,
    /// The Token set for message push (消息推送) in the mini-program console; the push
    /// callback verifies WeChat's signature with it. Unset: the callback refuses everything.
    pub push_token: Option<Secret>,
}

impl Default for WeChatSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.weixin.qq.com".into(),
            appid: String::new(),
            secret: None,
            timeout_secs: 5,
            push_token: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PetitionSettings {
    /// Letters before the date in tracking numbers (ZM for 中牟).
    pub tracking_prefix: String,
    /// An open obligation this many days from its last day is `due_soon`.
    pub due_soon_days: u32,
    /// Anonymous look-ups by tracking number and query code, per client address per minute.
    pub lookups_per_ip_per_minute: u64,
    /// How often the overdue job runs (once per period across all instances); 0 disables it.
    pub overdue_check_secs: u64,
    /// Largest attachment accepted, in bytes.
    pub attachment_max_bytes: usize,
}

impl Default for PetitionSettings {
    fn default() -> Self {
        Self {
            tracking_prefix: "ZM".into(),
            due_soon_days: 3,
            lookups_per_ip_per_minute: 10,
            overdue_check_secs: 300,
            attachment_max_bytes: 10 * 1024 * 1024,
        }
    }
}

/// How status changes are pushed: the dispatcher's pace, the retry policy and, per event, the
/// templates of each channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingSettings {
    /// Run the dispatcher inside `serve`; turn off when `fengqiao worker` runs it instead.
    pub dispatcher: bool,
    /// How long an idle dispatcher waits before looking for work again.
    pub poll_interval_ms: u64,
    /// Outbox messages fanned out, and deliveries claimed, per round.
    pub batch_size: u64,
    /// Deliveries attempted at once.
    pub concurrency: usize,
    /// How long a claimed delivery is reserved for its attempt; a dispatcher that dies
    /// mid-attempt leaves it to be claimed again after this.
    pub lease_secs: u64,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// Wait after the first failure; it doubles with each further one (with jitter).
    pub base_delay_secs: u64,
    /// The wait never grows past this.
    pub max_delay_secs: u64,
    /// An integrator endpoint failing without a success for this long is switched off.
    pub webhook_disable_after_hours: u64,
    /// Time allowed for one webhook call.
    pub webhook_timeout_secs: u64,
    /// Which version of the mini-program a subscribe message opens: formal, trial or developer.
    pub miniprogram_state: String,
    /// Per event (`accepted`, `answered` …): the templates of each channel.
    pub events: BTreeMap<String, EventTemplates>,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            dispatcher: true,
            poll_interval_ms: 200,
            batch_size: 100,
            concurrency: 16,
            lease_secs: 60,
            max_attempts: 8,
            base_delay_secs: 10,
            max_delay_secs: 3600,
            webhook_disable_after_hours: 72,
            webhook_timeout_secs: 10,
            miniprogram_state: "formal".into(),
            events: BTreeMap::new(),
        }
    }
}

/// The templates one event is sent with. Values are texts with `{placeholders}`: tracking_no,
/// title, state, message_title, body, reason, deadline, query_code, at, petition_id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventTemplates {
    /// The subscribe-message template id (from the mini-program console).
    pub wechat_template: Option<String>,
    /// Whether that template is a long-term subscription (政务民生 mini-programs only).
    pub wechat_long_term: bool,
    /// Template key (`thing2`, `character_string1` …) to value.
    pub wechat_data: BTreeMap<String, String>,
    /// The SMS gateway's template id.
    pub sms_template: Option<String>,
    /// Template parameter name to value.
    pub sms_params: BTreeMap<String, String>,
    /// In place of the built-in inbox title and text (`{body}` is the built-in text).
    pub inbox_title: Option<String>,
    pub inbox_body: Option<String>,
}

/// Taking news from external RSS and Atom feeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedSettings {
    /// How often the feeds are fetched (once per period across all instances); 0 disables.
    pub check_secs: u64,
    /// Time allowed for one feed; a slower one is recorded as failing and tried next time.
    pub timeout_secs: u64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            check_secs: 1800,
            timeout_secs: 10,
        }
    }
}

/// Booking the leaders' reception.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceptionSettings {
    /// Bookings a citizen may hold in one month (cancelled and rejected ones do not count).
    pub bookings_per_month: u32,
    /// How often the reminder job looks for tomorrow's confirmed bookings (once per period
    /// across all instances); 0 disables it.
    pub reminder_check_secs: u64,
}

impl Default for ReceptionSettings {
    fn default() -> Self {
        Self {
            bookings_per_month: 2,
            reminder_check_secs: 600,
        }
    }
}

/// The HTTP SMS gateway (see `infra::sms` for the request it receives).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsSettings {
    /// The gateway's URL; unset, no text messages are sent.
    pub endpoint: Option<String>,
    /// Sent as a bearer token.
    pub api_key: Option<Secret>,
    /// The registered signature (签名) the gateway puts before each text.
    pub sign_name: String,
    pub timeout_secs: u64,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            api_key: None,
            sign_name: "掌上信访".into(),
            timeout_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModerationSettings {
    /// Words that hold a petition for staff review (case-insensitive substrings).
    pub words: Vec<String>,
    /// Ask WeChat's content-security API too (when WeChat is configured).
    pub wechat: bool,
}

impl Default for ModerationSettings {
    fn default() -> Self {
        Self {
            // Touts selling "petition services" are the commonest abuse of petition channels.
            words: vec!["代办信访".into(), "包办上访".into()],
            wechat: true,
        }
    }
}

/// The configuration could not be read or is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
    #[error(
        "refusing to start with FENGQIAO_ENV=production and unsafe settings:\n{}",
        .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    UnsafeForProduction(Vec<String>),
}

/// Environment variables that belong to the test harness, not to the service.
const NOT_SETTINGS: &[&str] = &["test_database_url", "test_redis_url"];

impl Settings {
    /// Reads the layers. `file`: an explicit `--config` path (must exist); otherwise
    /// `fengqiao.toml` in the working directory is used when present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.to_owned())),
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file("fengqiao.toml")),
        }
        figment = figment.merge(Env::prefixed("FENGQIAO_").split("__").ignore(NOT_SETTINGS));
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        // A scoring that cannot give a score is refused at start, not at month end.
        if settings.statistics.flags.check().is_err() {
            return Err(ConfigError::Invalid(Box::new(figment::Error::from(
                "statistics.flags: every weight must be zero or more and they must add up to more than zero"
                    .to_owned(),
            ))));
        }
        Ok(settings)
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    pub fn dev_login_enabled(&self) -> bool {
        self.auth.dev_login.unwrap_or(!self.is_production())
    }

    /// The database to open: the configured URL, or SQLite inside `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("fengqiao.sqlite").display()
            ),
        }
    }

    pub fn attachments_dir(&self) -> PathBuf {
        self.storage
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("attachments"))
    }

    /// Every setting that production must not run with, each named by its key.
    pub fn unsafe_for_production(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match &self.auth.jwt_secret {
            None => problems.push(
                "auth.jwt_secret is not set (FENGQIAO_AUTH__JWT_SECRET, at least 32 bytes)".into(),
            ),
            Some(s) if s.expose().len() < MIN_SECRET_LEN => problems.push(format!(
                "auth.jwt_secret is shorter than {MIN_SECRET_LEN} bytes"
            )),
            Some(s) if looks_like_a_placeholder(s.expose()) => problems
                .push("auth.jwt_secret is a placeholder value; generate a random one".into()),
            Some(_) => {}
        }
        for retired in &self.auth.retired_jwt_keys {
            let secret = retired.secret.expose();
            if secret.len() < MIN_SECRET_LEN || looks_like_a_placeholder(secret) {
                problems.push(format!(
                    "auth.retired_jwt_keys {:?} is short or a placeholder: it would still verify tokens",
                    retired.id
                ));
            }
        }
        match &self.crypto.key {
            None => problems.push(
                "crypto.key is not set: personal data cannot be encrypted (FENGQIAO_CRYPTO__KEY)"
                    .into(),
            ),
            Some(key) => {
                let wanted = self.crypto.cipher.key_len();
                let decoded = STANDARD.decode(key.expose().trim()).map(|k| k.len());
                if decoded != Ok(wanted) {
                    problems.push(format!(
                        "crypto.key must be base64 of {wanted} random bytes for {}",
                        self.crypto.cipher.name()
                    ));
                }
            }
        }
        match &self.crypto.lookup_key {
            None => problems.push(
                "crypto.lookup_key is not set: ID and phone numbers cannot be looked up (FENGQIAO_CRYPTO__LOOKUP_KEY)"
                    .into(),
            ),
            Some(k) if k.expose().len() < MIN_SECRET_LEN => problems.push(format!(
                "crypto.lookup_key is shorter than {MIN_SECRET_LEN} bytes"
            )),
            Some(_) => {}
        }
        if self.auth.dev_login == Some(true) {
            problems
                .push("auth.dev_login is enabled: the development login bypasses WeChat".into());
        }
        if self.demo {
            problems.push("demo is enabled: demonstration data must not reach production".into());
        }
        if let Some(token) = &self.wechat.push_token
            && looks_like_a_placeholder(token.expose())
        {
            problems.push("wechat.push_token is a placeholder value".into());
        }
        if let Some(key) = &self.sms.api_key
            && looks_like_a_placeholder(key.expose())
        {
            problems.push("sms.api_key is a placeholder value".into());
        }
        if let Some(s3) = &self.storage.s3
            && looks_like_a_placeholder(s3.secret_access_key.expose())
        {
            problems.push("storage.s3.secret_access_key is a placeholder value".into());
        }
        problems
    }

    /// Refuses production start-up when any unsafe setting is present.
    pub fn check_for_production(&self) -> Result<(), ConfigError> {
        if !self.is_production() {
            return Ok(());
        }
        let problems = self.unsafe_for_production();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::UnsafeForProduction(problems))
        }
    }

    /// The effective configuration as TOML, secrets shown as `[redacted]`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

pub const MIN_SECRET_LEN: usize = 32;

fn looks_like_a_placeholder(secret: &str) -> bool {
    let lower = secret.to_ascii_lowercase();
    [
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "example",
        "placeholder",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || secret
            .chars()
            .all(|c| c == secret.chars().next().unwrap_or(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_setup() {
        let s = Settings::default();
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8080);
        assert!(
            s.database_url()
                .starts_with("sqlite://data/fengqiao.sqlite")
        );
        assert!(s.redis.url.is_none());
        assert!(s.dev_login_enabled());
    }

    #[test]
    fn production_names_every_unsafe_setting() {
        let mut s = Settings {
            env: Environment::Production,
            ..Settings::default()
        };
        s.auth.dev_login = Some(true);
        let problems = s.unsafe_for_production().join("\n");
        assert!(problems.contains("auth.jwt_secret"));
        assert!(problems.contains("crypto.key"));
        assert!(problems.contains("auth.dev_login"));
        assert!(!s.dev_login_enabled() || s.auth.dev_login == Some(true));

        s.auth.jwt_secret = Some(Secret::new("short"));
        assert!(s.unsafe_for_production()[0].contains("shorter"));
        s.auth.jwt_secret = Some(Secret::new("change-me-change-me-change-me-change-me"));
        assert!(s.unsafe_for_production()[0].contains("placeholder"));
        s.crypto.key = Some(Secret::new("change-me"));
        assert!(s.unsafe_for_production()[1].contains("base64 of 32"));
        s.crypto.cipher = CipherKind::Sm4Gcm;
        s.crypto.key = Some(Secret::new("AAECAwQFBgcICQoLDA0ODw=="));
        assert_eq!(
            s.unsafe_for_production().len(),
            3,
            "jwt placeholder, lookup key, dev login: a 16-byte key suits SM4"
        );
        s.storage.s3 = Some(S3Settings {
            endpoint: "http://minio:9000".into(),
            bucket: "fengqiao".into(),
            region: default_s3_region(),
            access_key_id: "fengqiao".into(),
            secret_access_key: Secret::new("change-me"),
            timeout_secs: 10,
        });
        assert!(
            s.unsafe_for_production()
                .iter()
                .any(|p| p.contains("storage.s3.secret_access_key"))
        );
    }

    #[test]
    fn a_safe_production_setup_passes() {
        let mut s = Settings {
            env: Environment::Production,
            ..Settings::default()
        };
        s.auth.jwt_secret = Some(Secret::new("k3J9vQ2mX7pL0sW4nB8cF1hT6yR5uE2aZ"));
        s.crypto.key = Some(Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
        s.crypto.lookup_key = Some(Secret::new("q8Zr1mN4vT7wY2bE5hJ9kL3pS6xC0dFg"));
        assert!(
            s.check_for_production().is_ok(),
            "{:?}",
            s.unsafe_for_production()
        );
        assert!(!s.dev_login_enabled());
    }

    #[test]
    fn secrets_never_print() {
        let mut s = Settings::default();
        s.auth.jwt_secret = Some(Secret::new("super-private-value-1234567890abc"));
        s.database.url = Some(Secret::new("postgres://u:pw@db/x"));
        let shown = format!("{s:?}{}", s.to_redacted_toml());
        assert!(!shown.contains("super-private"));
        assert!(!shown.contains("pw@db"));
        assert!(shown.contains("[redacted]"));
    }
}
