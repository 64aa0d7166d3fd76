//! Status push (事事有回音): what the citizen and integrators are told when a petition changes,
//! over which channel, and what happens after a delivery attempt. No I/O: `infra` sends, these
//! rules decide.
//!
//! Every public change reaches the citizen's in-app inbox (written with the fan-out, so it can
//! never be lost), then one push channel: a WeChat subscribe message while the citizen holds a
//! grant for the template, else an SMS when a phone number is known. Integrators get the event on
//! each webhook endpoint that asked for its type.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where a delivery goes. The inbox is not one: it is written when the event is fanned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// A WeChat subscribe message (订阅消息) to the citizen's mini-program openid.
    Wechat,
    /// A text message through the configured SMS gateway.
    Sms,
    /// An integrator's webhook endpoint.
    Webhook,
}

impl DeliveryChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Wechat => "wechat",
            DeliveryChannel::Sms => "sms",
            DeliveryChannel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wechat" => Some(DeliveryChannel::Wechat),
            "sms" => Some(DeliveryChannel::Sms),
            "webhook" => Some(DeliveryChannel::Webhook),
            _ => None,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted under a lease).
    Pending,
    /// For an integrator endpoint that is switched off: sent once it is back on.
    Held,
    Delivered,
    /// This channel could not reach the person; the next channel was tried instead.
    FellBack,
    /// Gave up after the last attempt or on an error retrying cannot fix; an administrator may
    /// retry or discard it.
    Dead,
    /// An administrator decided a dead letter is not to be sent.
    Discarded,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Held => "held",
            DeliveryState::Delivered => "delivered",
            DeliveryState::FellBack => "fell_back",
            DeliveryState::Dead => "dead",
            DeliveryState::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryState::Pending,
            DeliveryState::Held,
            DeliveryState::Delivered,
            DeliveryState::FellBack,
            DeliveryState::Dead,
            DeliveryState::Discarded,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// What one attempt came to, as the channel's adapter judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Worth trying again: a timeout, a refused connection, a 5xx, WeChat refusing the account
    /// (a token refused twice, the secret, the IP whitelist), a daily quota, the cache down so
    /// no token can be had.
    Retry {
        error: String,
    },
    /// This channel cannot reach the person (no grant left: 43101): try the next one.
    Fallback {
        error: String,
    },
    /// Trying again cannot help: a bad template, openid, page or data (40003, 40037, 41030,
    /// 47003), an SMS gateway refusing the number or template. (Integrators' endpoints are
    /// retried on any answer but 2xx, as Svix and Stripe do: a 404 is often a deploy in
    /// progress.)
    Permanent {
        error: String,
    },
}

impl AttemptOutcome {
    pub fn error(&self) -> Option<&str> {
        match self {
            AttemptOutcome::Delivered => None,
            AttemptOutcome::Retry { error }
            | AttemptOutcome::Fallback { error }
            | AttemptOutcome::Permanent { error } => Some(error),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retry { .. } => "retry",
            AttemptOutcome::Fallback { .. } => "fallback",
            AttemptOutcome::Permanent { .. } => "permanent",
        }
    }
}

/// How often and how patiently deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a delivery is dead-lettered (the first one included).
    pub max_attempts: u32,
    /// Wait after the first failure; it doubles with each further one.
    pub base_delay: Duration,
    /// The wait never grows past this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // 10 s, 20 s, 40 s … capped at an hour: eight attempts span about 21 minutes, enough to
        // ride out a gateway restart, short enough that a citizen hears the same day.
        Self {
            max_attempts: 8,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based): exponential, capped, with
    /// "equal jitter" (half fixed, half random, `jitter` in [0, 1)), so that deliveries failed
    /// together by one outage do not all come back at the same instant.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        let exp = self
            .base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// What the dispatcher does with a delivery after attempt number `attempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    /// Try again after this long.
    RetryIn(Duration),
    /// Give this channel up and try the next one.
    FallBack,
    /// Give up: an administrator may retry or discard it.
    DeadLetter,
}

pub fn after_attempt(
    policy: &RetryPolicy,
    attempt: u32,
    outcome: &AttemptOutcome,
    jitter: f64,
) -> AfterAttempt {
    match outcome {
        AttemptOutcome::Delivered => AfterAttempt::Delivered,
        AttemptOutcome::Fallback { .. } => AfterAttempt::FallBack,
        AttemptOutcome::Permanent { .. } => AfterAttempt::DeadLetter,
        AttemptOutcome::Retry { .. } if attempt >= policy.max_attempts => AfterAttempt::DeadLetter,
        AttemptOutcome::Retry { .. } => AfterAttempt::RetryIn(policy.backoff(attempt, jitter)),
    }
}

/// A citizen's standing for one subscribe-message template, from their answers to
/// `wx.requestSubscribeMessage` and WeChat's push events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Grant {
    /// Long-term subscriptions (granted to public-service mini-programs) allow any number of
    /// messages until withdrawn; one-time ones allow one message per "allow".
    pub long_term: bool,
    /// One-time messages still allowed.
    pub remaining: u32,
    /// The citizen turned the template off (or always rejects it).
    pub refused: bool,
}

/// The answer a citizen gave for one template in `wx.requestSubscribeMessage` (or that WeChat
/// reported in a push event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubscribeChoice {
    Accept,
    Reject,
    /// Banned by WeChat (the template is disabled).
    Ban,
    /// Filtered out by WeChat (the template's title matched another one in the same request).
    Filter,
}

/// One-time allowances kept per template: enough for a long petition's messages, bounded so a
/// script tapping "allow" cannot grow it without end.
pub const MAX_ONE_TIME_GRANTS: u32 = 50;

impl Grant {
    /// Whether a message may be sent on this grant now.
    pub fn usable(&self) -> bool {
        !self.refused && (self.long_term || self.remaining > 0)
    }

    /// The grant after the citizen's choice for a template of the given kind.
    pub fn after_choice(self, choice: SubscribeChoice, long_term: bool) -> Grant {
        match choice {
            SubscribeChoice::Accept if long_term => Grant {
                long_term: true,
                remaining: self.remaining,
                refused: false,
            },
            SubscribeChoice::Accept => Grant {
                long_term: false,
                remaining: (self.remaining + 1).min(MAX_ONE_TIME_GRANTS),
                refused: false,
            },
            // A rejection withdraws a long-term subscription; one-time allowances already given
            // stay valid under WeChat's rules, but the citizen asked for no more: honour that.
            SubscribeChoice::Reject | SubscribeChoice::Ban => Grant {
                long_term: false,
                remaining: 0,
                refused: true,
            },
            SubscribeChoice::Filter => self,
        }
    }

    /// The grant after a message was sent on it.
    pub fn consumed(self) -> Grant {
        if self.long_term {
            self
        } else {
            Grant {
                remaining: self.remaining.saturating_sub(1),
                ..self
            }
        }
    }

    /// WeChat said 43101: the citizen has no subscription left, whatever we counted.
    pub fn used_up(self) -> Grant {
        Grant {
            long_term: false,
            remaining: 0,
            refused: self.refused,
        }
    }
}

/// What a public change says (of a petition, or of a reception booking), the inputs of every
/// message about it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventFacts {
    /// The event: a petition's without the `petition.` prefix (`accepted`, `answered`,
    /// `message` …); others whole (`booking.confirmed` …).
    pub event: String,
    pub tracking_no: String,
    /// The petition's id, or the booking's for `booking.*` events.
    pub record_id: String,
    /// The petition's title, for the citizen's own messages (never in webhooks); for a booking,
    /// the session (day, time, place, leader).
    pub title: String,
    /// The state after the change (`in_handling` …).
    pub state: String,
    /// The reason or the handler's message the citizen is told, when there is one.
    pub reason: Option<String>,
    /// The next deadline, when the change set one (an extension's new answer date).
    pub deadline: Option<NaiveDate>,
    /// Only in the registration message, to the petitioner who submitted it.
    pub query_code: Option<String>,
    pub at: DateTime<Utc>,
}

/// The citizen's message for an event: a short title, a sentence or two, and the mini-program
/// page to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenMessage {
    pub title: String,
    pub body: String,
    pub page: String,
}

/// The Chinese name of a state, as the citizen reads it.
pub fn state_label(state: &str) -> &'static str {
    match state {
        "registered" => "已登记",
        "awaiting_acceptance" => "待受理",
        "in_handling" => "办理中",
        "answered" => "已答复",
        "under_review" => "复查中",
        "reviewed" => "已复查",
        "under_re_review" => "复核中",
        "re_reviewed" => "已复核",
        "not_accepted" => "不予受理",
        "diverted" => "依法分流",
        "withdrawn" => "已撤回",
        "closed" => "已办结",
        _ => "已更新",
    }
}

/// The events the citizen is told of. The others (returned, escalated, overdue, supervision)
/// are staff business.
pub const CITIZEN_EVENTS: &[&str] = &[
    "registered",
    "forwarded",
    "assigned",
    "handed_down",
    "accepted",
    "not_accepted",
    "diverted",
    "extended",
    "answered",
    "review_requested",
    "review_decided",
    "rereview_requested",
    "rereview_decided",
    "reopened",
    "closed",
    "withdrawn",
    "message",
    "booking.confirmed",
    "booking.cancelled",
    "booking.reminded",
];

/// The event types integrators may subscribe to: every public change (`petition.` and the
/// event). Handlers' messages are announced without their text.
pub fn webhook_event_types() -> Vec<String> {
    CITIZEN_EVENTS
        .iter()
        .filter(|e| !e.starts_with("booking."))
        .chain(&["rated"])
        .map(|e| format!("petition.{e}"))
        .collect()
}

/// The message the citizen gets for an event, or `None` for events they are not told of.
pub fn citizen_message(facts: &EventFacts) -> Option<CitizenMessage> {
    let no = &facts.tracking_no;
    let reason = facts.reason.as_deref().unwrap_or("");
    let session = &facts.title;
    let mut page = format!("pages/petition/detail?id={}", facts.record_id);
    let (title, body) = match facts.event.as_str() {
        "booking.confirmed" | "booking.cancelled" | "booking.reminded" => {
            page = format!("pages/reception/booking?id={}", facts.record_id);
            match facts.event.as_str() {
                "booking.confirmed" => (
                    "领导接访预约成功".to_owned(),
                    format!("您已预约{session}的领导接访，请携带身份证件按时到达。"),
                ),
                "booking.cancelled" => (
                    "领导接访预约已取消".to_owned(),
                    format!("您预约的{session}领导接访已取消。{reason}"),
                ),
                _ => (
                    "领导接访提醒".to_owned(),
                    format!("您预约的{session}领导接访即将开始，请携带身份证件按时到达。"),
                ),
            }
        }
        "registered" => (
            "信访事项已登记".to_owned(),
            match &facts.query_code {
                Some(code) => format!(
                    "您的信访事项已登记，编号 {no}，查询码 {code}。请妥善保存，凭编号和查询码可随时查询办理进度。"
                ),
                None => format!("您的信访事项已登记，编号 {no}。可在“我的信访”中查看办理进度。"),
            },
        ),
        "forwarded" | "assigned" | "handed_down" => (
            "信访事项已转送".to_owned(),
            format!("您的信访事项（{no}）已转送有权处理机关，对方将在 15 日内告知是否受理。"),
        ),
        "accepted" => (
            "信访事项已受理".to_owned(),
            format!("您的信访事项（{no}）已受理，将在 60 日内办结并出具处理意见。"),
        ),
        "not_accepted" => (
            "信访事项不予受理".to_owned(),
            format!("您的信访事项（{no}）不予受理。理由：{reason}"),
        ),
        "diverted" => (
            "信访事项已依法分流".to_owned(),
            format!(
                "您的信访事项（{no}）属于依法通过诉讼、仲裁、复议等途径解决的事项，已告知相应途径。{reason}"
            ),
        ),
        "extended" => (
            "办理期限已延长".to_owned(),
            match facts.deadline {
                Some(day) => format!(
                    "您的信访事项（{no}）办理期限延长至 {}。理由：{reason}",
                    day.format("%Y-%m-%d")
                ),
                None => format!("您的信访事项（{no}）办理期限已延长。理由：{reason}"),
            },
        ),
        "answered" => (
            "信访事项已答复".to_owned(),
            format!(
                "您的信访事项（{no}）已出具处理意见，请查看并评价。如不服，可在 30 日内申请复查。"
            ),
        ),
        "review_requested" => (
            "复查申请已收到".to_owned(),
            format!("您对信访事项（{no}）的复查申请已收到，将在 30 日内作出复查意见。"),
        ),
        "review_decided" => (
            "复查意见已出具".to_owned(),
            format!("您的信访事项（{no}）复查意见已出具。如不服，可在 30 日内申请复核。"),
        ),
        "rereview_requested" => (
            "复核申请已收到".to_owned(),
            format!("您对信访事项（{no}）的复核申请已收到，将在 30 日内作出复核意见。"),
        ),
        "rereview_decided" => (
            "复核意见已出具".to_owned(),
            format!("您的信访事项（{no}）复核意见已出具。"),
        ),
        "reopened" => (
            "信访事项重新办理".to_owned(),
            format!("您的信访事项（{no}）已重新交办处理。"),
        ),
        "closed" => (
            "信访事项已办结".to_owned(),
            format!("您的信访事项（{no}）已办结。感谢您的理解与支持。"),
        ),
        "withdrawn" => (
            "信访事项已撤回".to_owned(),
            format!("您的信访事项（{no}）已按您的申请撤回。"),
        ),
        "message" => (
            "办理单位留言".to_owned(),
            format!("关于您的信访事项（{no}）：{reason}"),
        ),
        _ => return None,
    };
    Some(CitizenMessage { title, body, page })
}

/// The message with the texts a county configured in place of the built-in ones (each a
/// template with the same placeholders as `render`; `{body}` is the built-in text).
pub fn customised(
    message: CitizenMessage,
    facts: &EventFacts,
    title: Option<&str>,
    body: Option<&str>,
) -> CitizenMessage {
    CitizenMessage {
        title: title.map_or_else(|| message.title.clone(), |t| render(t, facts, &message)),
        body: body.map_or_else(|| message.body.clone(), |b| render(b, facts, &message)),
        page: message.page,
    }
}

/// Fills `{name}` placeholders from the facts (unknown names become empty): how configured
/// subscribe-message fields and SMS parameters are built.
pub fn render(template: &str, facts: &EventFacts, message: &CitizenMessage) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        match name {
            "tracking_no" => out.push_str(&facts.tracking_no),
            "title" => out.push_str(&facts.title),
            "state" => out.push_str(state_label(&facts.state)),
            "message_title" => out.push_str(&message.title),
            "body" => out.push_str(&message.body),
            "reason" => out.push_str(facts.reason.as_deref().unwrap_or("")),
            "deadline" => {
                if let Some(day) = facts.deadline {
                    out.push_str(&day.format("%Y-%m-%d").to_string());
                }
            }
            "query_code" => out.push_str(facts.query_code.as_deref().unwrap_or("")),
            "at" => out.push_str(
                &crate::calendar::to_local(facts.at)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            ),
            "record_id" | "petition_id" => out.push_str(&facts.record_id),
            _ => {}
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Cuts a subscribe-message value to what WeChat accepts for its key's type (the key is the
/// type followed by a number, `thing2`), so that a long title never costs a 47003.
pub fn fit_wechat_value(key: &str, value: &str) -> String {
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let take = |n: usize| value.chars().take(n).collect::<String>();
    match kind {
        "thing" => take(20),
        "character_string" => value
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(32)
            .collect(),
        "number" => value
            .chars()
            .filter(char::is_ascii_digit)
            .take(32)
            .collect(),
        "letter" => value
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(32)
            .collect(),
        "symbol" => take(5),
        "phone_number" => take(17),
        "car_number" => take(8),
        // Chinese characters only, at most five.
        "phrase" => value
            .chars()
            .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
            .take(5)
            .collect(),
        "name" => {
            if value.is_ascii() {
                take(20)
            } else {
                take(10)
            }
        }
        // Dates, times and amounts are rendered in their format already.
        _ => take(20),
    }
}

/// An endpoint that has failed without a single success for this long is switched off; its
/// owner sees why and switches it back on.
pub fn endpoint_should_disable(
    failing_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    after: Duration,
) -> bool {
    match failing_since {
        Some(since) => now
            .signed_duration_since(since)
            .to_std()
            .is_ok_and(|failing| failing >= after),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts(event: &str) -> EventFacts {
        EventFacts {
            event: event.into(),
            tracking_no: "ZM20261126000012".into(),
            record_id: "0193".into(),
            title: "村道路面破损请求维修，雨天积水严重，群众出行困难".into(),
            state: "in_handling".into(),
            reason: Some("材料不全".into()),
            deadline: NaiveDate::from_ymd_opt(2027, 2, 3),
            query_code: None,
            at: Utc.with_ymd_and_hms(2026, 11, 26, 2, 30, 0).unwrap(),
        }
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        let p = RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        };
        assert_eq!(p.backoff(1, 0.0), Duration::from_secs(5));
        assert_eq!(p.backoff(1, 0.999_999).as_secs(), 9);
        assert_eq!(p.backoff(2, 0.0), Duration::from_secs(10));
        assert_eq!(p.backoff(3, 0.5), Duration::from_secs(30));
        // 80 s capped to 60.
        assert_eq!(p.backoff(4, 0.0), Duration::from_secs(30));
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(60));
    }

    #[test]
    fn retries_end_in_a_dead_letter_after_the_last_attempt() {
        let p = RetryPolicy::default();
        let retry = AttemptOutcome::Retry {
            error: "timeout".into(),
        };
        assert!(matches!(
            after_attempt(&p, 1, &retry, 0.3),
            AfterAttempt::RetryIn(_)
        ));
        assert_eq!(
            after_attempt(&p, p.max_attempts, &retry, 0.3),
            AfterAttempt::DeadLetter
        );
        let permanent = AttemptOutcome::Permanent {
            error: "47003".into(),
        };
        assert_eq!(
            after_attempt(&p, 1, &permanent, 0.3),
            AfterAttempt::DeadLetter
        );
        let fallback = AttemptOutcome::Fallback {
            error: "43101".into(),
        };
        assert_eq!(after_attempt(&p, 1, &fallback, 0.3), AfterAttempt::FallBack);
        assert_eq!(
            after_attempt(&p, 1, &AttemptOutcome::Delivered, 0.3),
            AfterAttempt::Delivered
        );
    }

    #[test]
    fn one_time_grants_count_and_long_term_ones_last() {
        let g = Grant::default();
        assert!(!g.usable());
        let g = g
            .after_choice(SubscribeChoice::Accept, false)
            .after_choice(SubscribeChoice::Accept, false);
        assert_eq!(g.remaining, 2);
        let g = g.consumed();
        assert!(g.usable());
        assert!(!g.consumed().usable());
        assert!(!g.used_up().usable());

        let long = Grant::default().after_choice(SubscribeChoice::Accept, true);
        assert!(long.consumed().consumed().usable());
        assert!(!long.used_up().usable());
        let refused = long.after_choice(SubscribeChoice::Reject, true);
        assert!(!refused.usable());
        assert_eq!(
            refused.after_choice(SubscribeChoice::Filter, true),
            refused,
            "a filtered template changes nothing"
        );
        let mut g = Grant::default();
        for _ in 0..200 {
            g = g.after_choice(SubscribeChoice::Accept, false);
        }
        assert_eq!(g.remaining, MAX_ONE_TIME_GRANTS);
    }

    #[test]
    fn every_citizen_event_has_a_message_and_staff_events_none() {
        for event in CITIZEN_EVENTS.iter().filter(|e| !e.starts_with("booking.")) {
            let m = citizen_message(&facts(event)).unwrap();
            assert!(m.body.contains("ZM20261126000012"), "{event}: {}", m.body);
            assert_eq!(m.page, "pages/petition/detail?id=0193");
            assert!(m.title.chars().count() <= 20, "{event}");
        }
        for event in ["returned", "escalated", "overdue", "supervision_ordered"] {
            assert_eq!(citizen_message(&facts(event)), None);
        }
    }

    #[test]
    fn booking_messages_name_the_session_and_open_the_booking() {
        let mut f = facts("booking.cancelled");
        f.title = "12月16日 09:00 县信访局接待室（县委书记）".into();
        f.reason = Some("接待领导临时公务".into());
        let m = citizen_message(&f).unwrap();
        assert!(m.body.contains("12月16日") && m.body.contains("临时公务"));
        assert_eq!(m.page, "pages/reception/booking?id=0193");
        assert!(!webhook_event_types().iter().any(|t| t.contains("booking")));
    }

    #[test]
    fn the_registration_message_carries_the_query_code_only_when_given() {
        let mut f = facts("registered");
        assert!(!citizen_message(&f).unwrap().body.contains("查询码"));
        f.query_code = Some("K7Q2M9PX".into());
        assert!(citizen_message(&f).unwrap().body.contains("K7Q2M9PX"));
        let ext = citizen_message(&facts("extended")).unwrap();
        assert!(ext.body.contains("2027-02-03") && ext.body.contains("材料不全"));
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_left_empty() {
        let f = facts("accepted");
        let m = citizen_message(&f).unwrap();
        assert_eq!(
            render("{tracking_no}|{state}|{at}|{nope}|{deadline}", &f, &m),
            "ZM20261126000012|办理中|2026-11-26 10:30||2027-02-03"
        );
        assert_eq!(render("no braces {", &f, &m), "no braces {");
        assert_eq!(render("{message_title}", &f, &m), "信访事项已受理");
    }

    #[test]
    fn configured_texts_replace_the_built_in_ones() {
        let f = facts("accepted");
        let m = citizen_message(&f).unwrap();
        let c = customised(m.clone(), &f, Some("受理通知"), Some("【中牟信访】{body}"));
        assert_eq!(c.title, "受理通知");
        assert_eq!(c.body, format!("【中牟信访】{}", m.body));
        assert_eq!(c.page, m.page);
        assert_eq!(customised(m.clone(), &f, None, None), m);
    }

    #[test]
    fn wechat_values_fit_their_key_types() {
        let title = "村道路面破损请求维修，雨天积水严重，群众出行困难，请尽快处理";
        assert_eq!(fit_wechat_value("thing2", title).chars().count(), 20);
        assert_eq!(fit_wechat_value("phrase3", "办理中（延期）"), "办理中延期");
        assert_eq!(fit_wechat_value("phrase3", "已受理了吗啊"), "已受理了吗");
        assert_eq!(
            fit_wechat_value("character_string1", "ZM 2026-1126 编号"),
            "ZM2026-1126"
        );
        assert_eq!(fit_wechat_value("number4", "共 12 件"), "12");
        assert_eq!(
            fit_wechat_value("name5", "张三丰李四王五赵六钱七孙八"),
            "张三丰李四王五赵六钱"
        );
        assert_eq!(
            fit_wechat_value("time6", "2026-11-26 10:30"),
            "2026-11-26 10:30"
        );
    }

    #[test]
    fn endpoints_are_disabled_only_after_failing_for_the_whole_period() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let day = Duration::from_secs(86_400);
        assert!(!endpoint_should_disable(None, now, day));
        assert!(!endpoint_should_disable(
            Some(now - chrono::Duration::hours(23)),
            now,
            day
        ));
        assert!(endpoint_should_disable(
            Some(now - chrono::Duration::hours(24)),
            now,
            day
        ));
        assert!(!endpoint_should_disable(
            Some(now + chrono::Duration::hours(1)),
            now,
            day
        ));
    }

    #[test]
    fn channel_and_state_names_round_trip() {
        for c in [
            DeliveryChannel::Wechat,
            DeliveryChannel::Sms,
            DeliveryChannel::Webhook,
        ] {
            assert_eq!(DeliveryChannel::parse(c.as_str()), Some(c));
        }
        for s in [
            DeliveryState::Pending,
            DeliveryState::Held,
            DeliveryState::Delivered,
            DeliveryState::FellBack,
            DeliveryState::Dead,
            DeliveryState::Discarded,
        ] {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryState::parse("lost"), None);
    }
}
