//! The outbox dispatcher: fans new outbox messages out into the citizen's inbox and into
//! deliveries, then attempts the due deliveries (WeChat subscribe messages, SMS, webhooks) a
//! batch at a time, and records what each attempt came to. It runs inside `serve` by default
//! and as `fengqiao worker`; any number may run on one database (see `infra::db::messaging`
//! for how they share the work without sending anything twice at once).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fengqiao_domain::messaging::{
    AfterAttempt, AttemptOutcome, CitizenMessage, DeliveryChannel, EventFacts, RetryPolicy,
    after_attempt, fit_wechat_value, render,
};
use fengqiao_infra::db::messaging::{self as store, Attempted, DeliveryRow, FanOutPolicy};
use fengqiao_infra::db::{citizens, petitions};
use fengqiao_infra::wechat::{SubscribeMessage, WeChatError};
use rand::Rng;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::state::AppState;

pub struct Dispatcher {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Dispatcher {
    pub fn start(state: AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(run(state, stopped));
        Self { stop, handle }
    }

    /// Stops taking work and waits up to `within` for the attempts in flight; any it cuts off
    /// are claimed again once their lease runs out.
    pub async fn stop(self, within: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(within, self.handle).await.is_err() {
            tracing::warn!("the dispatcher did not finish its round within the shutdown timeout");
        }
    }
}

async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let idle = Duration::from_millis(state.settings.messaging.poll_interval_ms.max(10));
    loop {
        let busy = round(&state).await;
        if *stopped.borrow() {
            break;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = stopped.changed() => break,
            }
        }
    }
}

/// Which channel has a template for which event, as configured now.
pub fn fan_out_policy(state: &AppState) -> FanOutPolicy {
    let wechat_on = !state.settings.wechat.appid.is_empty();
    let mut policy = FanOutPolicy::default();
    for (event, t) in &state.settings.messaging.events {
        if wechat_on && t.wechat_template.is_some() {
            policy.wechat.insert(event.clone());
        }
        if state.sms.is_configured() && t.sms_template.is_some() {
            policy.sms.insert(event.clone());
        }
        if t.inbox_title.is_some() || t.inbox_body.is_some() {
            policy
                .inbox
                .insert(event.clone(), (t.inbox_title.clone(), t.inbox_body.clone()));
        }
    }
    policy
}

fn retry_policy(state: &AppState) -> RetryPolicy {
    let m = &state.settings.messaging;
    RetryPolicy {
        max_attempts: m.max_attempts.max(1),
        base_delay: Duration::from_secs(m.base_delay_secs),
        max_delay: Duration::from_secs(m.max_delay_secs.max(m.base_delay_secs)),
    }
}

/// One round: fan out what is new, attempt what is due. Returns whether there was work (the
/// loop then goes again at once).
pub async fn round(state: &AppState) -> bool {
    let m = &state.settings.messaging;
    let now = Utc::now();
    // The configuration does not change while the service runs: one policy serves the round.
    let policy = Arc::new(fan_out_policy(state));
    let fanned = match store::fan_out(&state.db, &state.crypto, &policy, m.batch_size.max(1), now)
        .await
    {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "fan-out failed; retrying next round");
            0
        }
    };
    // No more than can be attempted at once: every claimed delivery starts at once, well within
    // its lease (a batch worked through in waves would see its last leases run out and be
    // claimed, and sent, by another dispatcher).
    let claimed = match store::claim_due(
        &state.db,
        u64::try_from(m.concurrency.max(1)).unwrap_or(16),
        Duration::from_secs(m.lease_secs.max(1)),
        Utc::now(),
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "claiming deliveries failed; retrying next round");
            Vec::new()
        }
    };
    let busy = fanned > 0 || !claimed.is_empty();
    let limit = Arc::new(Semaphore::new(m.concurrency.max(1)));
    let mut running = JoinSet::new();
    for row in claimed {
        let state = state.clone();
        let limit = limit.clone();
        let policy = policy.clone();
        running.spawn(async move {
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            attempt(&state, &policy, row).await;
        });
    }
    while running.join_next().await.is_some() {}
    busy
}

/// Attempts one claimed delivery and records the outcome.
async fn attempt(state: &AppState, policy: &FanOutPolicy, row: DeliveryRow) {
    let started = Instant::now();
    // Its lease ran out before it could start (a stalled process): another dispatcher may have
    // it now, so this one leaves it alone.
    if Utc::now() >= row.next_attempt_at {
        tracing::warn!(delivery = %row.id, "lease ran out before the attempt; leaving it to be claimed again");
        return;
    }
    let channel = DeliveryChannel::parse(&row.channel);
    let (outcome, fallback) = match store::delivery_facts(&state.crypto, &row) {
        Err(e) => (
            AttemptOutcome::Permanent {
                error: format!("unreadable delivery: {e}"),
            },
            None,
        ),
        Ok(facts) => match channel {
            Some(DeliveryChannel::Wechat) => send_wechat(state, policy, &row, &facts).await,
            Some(DeliveryChannel::Sms) => (send_sms(state, policy, &row, &facts).await, None),
            Some(DeliveryChannel::Webhook) => (send_webhook(state, &row, &facts).await, None),
            None => (
                AttemptOutcome::Permanent {
                    error: format!("unknown channel {}", row.channel),
                },
                None,
            ),
        },
    };
    let attempt_no = u32::try_from(row.attempts).unwrap_or(u32::MAX);
    let jitter: f64 = rand::rng().random();
    let next = after_attempt(&retry_policy(state), attempt_no, &outcome, jitter);
    state
        .metrics
        .delivery(&row.channel, outcome.kind(), started.elapsed());
    match next {
        AfterAttempt::DeadLetter => tracing::warn!(
            delivery = %row.id, channel = %row.channel, attempt = attempt_no,
            error = outcome.error().unwrap_or(""), "delivery dead-lettered"
        ),
        AfterAttempt::RetryIn(wait) => tracing::info!(
            delivery = %row.id, channel = %row.channel, attempt = attempt_no,
            retry_in_secs = wait.as_secs(), error = outcome.error().unwrap_or(""), "delivery failed; will retry"
        ),
        _ => {}
    }
    let recorded = store::record_attempt(
        &state.db,
        &row,
        Attempted {
            outcome: &outcome,
            next,
            duration: started.elapsed(),
            now: Utc::now(),
            fallback,
            disable_after: Duration::from_secs(
                state.settings.messaging.webhook_disable_after_hours * 3600,
            ),
        },
    )
    .await;
    if let Err(e) = recorded {
        // The lease runs out and the delivery is attempted again: at least once, never lost.
        tracing::error!(delivery = %row.id, error = %format!("{:#}", anyhow::Error::from(e)), "could not record a delivery attempt");
    }
}

fn message_for(policy: &FanOutPolicy, facts: &EventFacts) -> CitizenMessage {
    policy.message(facts).unwrap_or(CitizenMessage {
        title: String::new(),
        body: String::new(),
        page: String::new(),
    })
}

/// The channel to fall back to from WeChat: SMS, when it has a template for the event and the
/// petitioner has a phone on record.
async fn sms_fallback(
    state: &AppState,
    row: &DeliveryRow,
    facts: &EventFacts,
) -> Option<DeliveryChannel> {
    let has_template = state
        .settings
        .messaging
        .events
        .get(&facts.event)
        .is_some_and(|t| t.sms_template.is_some());
    if !state.sms.is_configured() || !has_template {
        return None;
    }
    match phone_of(state, row).await {
        Ok(Some(_)) => Some(DeliveryChannel::Sms),
        _ => None,
    }
}

async fn send_wechat(
    state: &AppState,
    policy: &FanOutPolicy,
    row: &DeliveryRow,
    facts: &EventFacts,
) -> (AttemptOutcome, Option<DeliveryChannel>) {
    let templates = state.settings.messaging.events.get(&facts.event);
    let template_id = templates.and_then(|t| t.wechat_template.clone());
    let citizen = match row.citizen_id {
        Some(id) => citizens::get(&state.db, id).await,
        None => Ok(None),
    };
    let (template_id, citizen) = match (template_id, citizen) {
        (_, Err(e)) => {
            return (
                AttemptOutcome::Retry {
                    error: format!("reading the citizen: {e}"),
                },
                None,
            );
        }
        (Some(t), Ok(Some(c))) => (t, c),
        _ => {
            let fallback = sms_fallback(state, row, facts).await;
            return (
                AttemptOutcome::Fallback {
                    error: "no WeChat template for this event, or no citizen account".into(),
                },
                fallback,
            );
        }
    };
    let now = Utc::now();
    match store::reserve_grant(&state.db, citizen.id, &template_id, now).await {
        Ok(true) => {}
        Ok(false) => {
            let fallback = sms_fallback(state, row, facts).await;
            return (
                AttemptOutcome::Fallback {
                    error: "no subscription grant for this template".into(),
                },
                fallback,
            );
        }
        Err(e) => {
            return (
                AttemptOutcome::Retry {
                    error: format!("reading the grant: {e}"),
                },
                None,
            );
        }
    }
    let message = message_for(policy, facts);
    let page = message.page.clone();
    let data = templates
        .map(|t| {
            t.wechat_data
                .iter()
                .map(|(key, value)| {
                    (
                        key.clone(),
                        fit_wechat_value(key, &render(value, facts, &message)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let sent = state
        .wechat
        .send_subscribe_message(&SubscribeMessage {
            openid: &citizen.openid,
            template_id: &template_id,
            page: &page,
            miniprogram_state: &state.settings.messaging.miniprogram_state,
            data,
        })
        .await;
    let outcome = match sent {
        Ok(()) => return (AttemptOutcome::Delivered, None),
        Err(WeChatError::Rejected {
            errcode: 43101,
            errmsg,
        }) => {
            if let Err(e) = store::grant_used_up(&state.db, citizen.id, &template_id, now).await {
                tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "could not mark a grant used up");
            }
            let fallback = sms_fallback(state, row, facts).await;
            return (
                AttemptOutcome::Fallback {
                    error: format!("WeChat 43101: {errmsg}"),
                },
                fallback,
            );
        }
        // 45009: today's quota is spent; tomorrow it is back.
        Err(WeChatError::Rejected {
            errcode: 45009,
            errmsg,
        }) => AttemptOutcome::Retry {
            error: format!("WeChat 45009: {errmsg}"),
        },
        // Wrong for this message (openid, template, page, data): retrying cannot help, and an
        // administrator sees the dead letter and fixes the configuration.
        Err(WeChatError::Rejected {
            errcode: errcode @ (40003 | 40037 | 41030 | 47003),
            errmsg,
        }) => AttemptOutcome::Permanent {
            error: format!("WeChat {errcode}: {errmsg}"),
        },
        // Anything else is about the account (a token refused twice, the secret, the IP
        // whitelist, an unknown code): every message would fail alike, so wait and retry.
        Err(WeChatError::Rejected { errcode, errmsg }) => AttemptOutcome::Retry {
            error: format!("WeChat {errcode}: {errmsg}"),
        },
        Err(e @ (WeChatError::Unavailable(_) | WeChatError::RateLimited)) => {
            AttemptOutcome::Retry {
                error: e.to_string(),
            }
        }
        Err(e @ WeChatError::NotConfigured) => {
            if let Err(err) = store::release_grant(&state.db, citizen.id, &template_id, now).await {
                tracing::warn!(error = %format!("{:#}", anyhow::Error::from(err)), "could not give back a grant");
            }
            let fallback = sms_fallback(state, row, facts).await;
            return (
                AttemptOutcome::Fallback {
                    error: e.to_string(),
                },
                fallback,
            );
        }
        Err(e) => AttemptOutcome::Retry {
            error: e.to_string(),
        },
    };
    // Not sent: the allowance is given back.
    if let Err(e) = store::release_grant(&state.db, citizen.id, &template_id, now).await {
        tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "could not give back a grant");
    }
    (outcome, None)
}

/// The petitioner's phone: the citizen's bound one, else the one staff registered.
async fn phone_of(state: &AppState, row: &DeliveryRow) -> Result<Option<String>, String> {
    if let Some(id) = row.citizen_id
        && let Some(citizen) = citizens::get(&state.db, id)
            .await
            .map_err(|e| e.to_string())?
        && let Some(sealed) = &citizen.phone
    {
        return state
            .crypto
            .open(crate::citizen::profile::PHONE, sealed)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    if let Some(id) = row.petition_id
        && let Some(petition) = petitions::get(&state.db, id)
            .await
            .map_err(|e| e.to_string())?
        && let Some(sealed) = &petition.petitioner_phone
    {
        return state
            .crypto
            .open(crate::admin::petitions::PETITIONER_PHONE, sealed)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    Ok(None)
}

async fn send_sms(
    state: &AppState,
    policy: &FanOutPolicy,
    row: &DeliveryRow,
    facts: &EventFacts,
) -> AttemptOutcome {
    let Some(templates) = state.settings.messaging.events.get(&facts.event) else {
        return AttemptOutcome::Permanent {
            error: "no SMS template for this event".into(),
        };
    };
    let Some(template_id) = &templates.sms_template else {
        return AttemptOutcome::Permanent {
            error: "no SMS template for this event".into(),
        };
    };
    let phone = match phone_of(state, row).await {
        Ok(Some(phone)) => phone,
        Ok(None) => {
            return AttemptOutcome::Permanent {
                error: "no phone number on record".into(),
            };
        }
        Err(e) => {
            return AttemptOutcome::Retry {
                error: format!("reading the phone number: {e}"),
            };
        }
    };
    let message = message_for(policy, facts);
    let params: Vec<(String, String)> = templates
        .sms_params
        .iter()
        .map(|(k, v)| (k.clone(), render(v, facts, &message)))
        .collect();
    state
        .sms
        .send(&fengqiao_infra::sms::Sms {
            phone: &phone,
            template_id,
            params: &params,
            out_id: row.id,
        })
        .await
}

async fn send_webhook(state: &AppState, row: &DeliveryRow, facts: &EventFacts) -> AttemptOutcome {
    let Some(endpoint_id) = row.endpoint_id else {
        return AttemptOutcome::Permanent {
            error: "a webhook delivery without an endpoint".into(),
        };
    };
    let endpoint = match store::endpoint(&state.db, endpoint_id).await {
        Ok(e) => e,
        Err(e) if e.is_unavailable() => {
            return AttemptOutcome::Retry {
                error: "database unavailable".into(),
            };
        }
        Err(_) => {
            return AttemptOutcome::Permanent {
                error: "the endpoint no longer exists".into(),
            };
        }
    };
    if !endpoint.active {
        // Switched off between the claim and now: its deliveries are being held; this one
        // waits its turn like them.
        return AttemptOutcome::Retry {
            error: "the endpoint is switched off".into(),
        };
    }
    let secret = match state.crypto.open(store::WEBHOOK_SECRET, &endpoint.secret) {
        Ok(s) => s,
        Err(e) => {
            return AttemptOutcome::Permanent {
                error: format!("the endpoint's secret cannot be opened: {e}"),
            };
        }
    };
    let body = store::webhook_body(row.id, &row.event, facts).to_string();
    state
        .webhooks
        .send(
            &endpoint.url,
            &secret,
            &row.id.to_string(),
            &body,
            Utc::now(),
        )
        .await
}
