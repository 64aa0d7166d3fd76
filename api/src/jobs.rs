//! Scheduled work. A job runs at most once per period across all instances: each period has a
//! lock in the shared cache, the first instance to take it runs the job, the others skip. On
//! shutdown the loops stop between runs, and a run in progress is given time to finish.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

pub struct Jobs {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// Starts the jobs the configuration enables.
    pub fn start(state: AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut handles = Vec::new();
        let overdue = state.settings.petition.overdue_check_secs;
        if overdue > 0 {
            handles.push(tokio::spawn(periodic(
                state.clone(),
                "overdue",
                Duration::from_secs(overdue),
                stopped.clone(),
                run_overdue,
            )));
        }
        let reminders = state.settings.reception.reminder_check_secs;
        if reminders > 0 {
            handles.push(tokio::spawn(periodic(
                state.clone(),
                "booking_reminders",
                Duration::from_secs(reminders),
                stopped.clone(),
                run_booking_reminders,
            )));
        }
        let feeds = state.settings.feeds.check_secs;
        if feeds > 0 {
            handles.push(tokio::spawn(periodic(
                state.clone(),
                "feeds",
                Duration::from_secs(feeds),
                stopped.clone(),
                run_feed_ingest,
            )));
        }
        let statistics = state.settings.statistics.job_check_secs;
        if statistics > 0 {
            handles.push(tokio::spawn(periodic(
                state.clone(),
                "statistics",
                Duration::from_secs(statistics),
                stopped.clone(),
                crate::statistics::run_periodic,
            )));
        }
        // Every instance adds its own counted views: no lock, nothing counted twice.
        handles.push(tokio::spawn(flush_views_every(
            state,
            Duration::from_secs(5),
            stopped,
        )));
        Self { stop, handles }
    }

    /// Asks the jobs to stop and waits up to `within` for the runs in progress.
    pub async fn stop(self, within: Duration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.handles);
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!("a scheduled job did not finish within the shutdown timeout");
        }
    }
}

async fn periodic<F, Fut>(
    state: AppState,
    name: &'static str,
    period: Duration,
    mut stopped: watch::Receiver<bool>,
    run: F,
) where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.changed() => break,
        }
        let slot = Utc::now().timestamp() / i64::try_from(period.as_secs().max(1)).unwrap_or(1);
        match state
            .shared
            .cache
            .set_if_absent(&format!("job:{name}:{slot}"), b"1", period)
            .await
        {
            Ok(true) => run(state.clone()).await,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(job = name, error = %e, "job skipped: its lock is unavailable")
            }
        }
    }
}

async fn flush_views_every(state: AppState, period: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(period);
    loop {
        let stop = tokio::select! {
            _ = ticker.tick() => false,
            _ = stopped.changed() => true,
        };
        flush_views(&state).await;
        if stop {
            break;
        }
    }
}

/// Adds the article views counted in memory to the database; kept for the next try if the
/// database does not take them.
pub async fn flush_views(state: &AppState) {
    let counts = state.views.take();
    if counts.is_empty() {
        return;
    }
    if let Err(e) = fengqiao_infra::db::articles::add_views(&state.db, &counts).await {
        tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "could not record article views; keeping them");
        state.views.put_back(counts);
    }
}

/// Fetches every channel's feeds and files their new items, as drafts or published per the
/// channel. A feed that fails is recorded on its row and tried again next period; it never
/// stops the others.
pub async fn run_feed_ingest(state: AppState) {
    use fengqiao_infra::db::articles as store;
    use fengqiao_infra::db::audit::{Actor, Event, Origin};
    let sources = match store::feed_sources(&state.db).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %format!("{:#}", anyhow::Error::from(e)), "feed job failed");
            return;
        }
    };
    let mut published = false;
    for source in sources {
        let channel = match store::channel(&state.db, source.channel_id).await {
            Ok(Some(c)) => c,
            _ => continue,
        };
        let result = match state.feeds.fetch(&source.url).await {
            Err(e) => Err(e),
            Ok(fetched) => {
                let mut taken = 0u32;
                for item in fetched.items {
                    match store::has_external(&state.db, channel.id, &item.external_id).await {
                        Ok(false) => {}
                        _ => continue,
                    }
                    let now = Utc::now();
                    let new = store::NewArticle {
                        channel_id: channel.id,
                        content: store::Content {
                            title: item.title,
                            summary: item.summary,
                            body: item.body,
                            cover_url: None,
                            source: fetched.title.clone().map(|t| t.chars().take(64).collect()),
                            source_url: item.link.filter(|l| l.len() <= 512),
                            author: None,
                        },
                        state: if channel.feed_publish {
                            store::PUBLISHED
                        } else {
                            store::DRAFT
                        },
                        published_at: channel
                            .feed_publish
                            .then(|| item.published.map_or(now, |p| p.min(now))),
                        external_id: Some(item.external_id),
                    };
                    let filed: Result<(), crate::error::ApiError> = async {
                        let txn = state.begin_change().await?;
                        let row = store::create(&txn, new, "feed", now).await?;
                        state
                            .audit_in(
                                &txn,
                                &Actor::system(),
                                &Origin::default(),
                                Event::new("article.from_feed").on("article", row.id),
                            )
                            .await?;
                        txn.commit().await?;
                        Ok(())
                    }
                    .await;
                    match filed {
                        Ok(()) => taken += 1,
                        Err(e) => {
                            tracing::warn!(feed = %source.url, error = ?e, "could not file a feed item")
                        }
                    }
                }
                Ok(taken)
            }
        };
        if let Err(e) = &result {
            tracing::warn!(feed = %source.url, error = %e, "feed fetch failed; retried next period");
        }
        published |= channel.feed_publish && result.as_ref().is_ok_and(|n| *n > 0);
        if let Err(e) = store::feed_fetched(&state.db, &source, result, Utc::now()).await {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "could not record a feed fetch");
        }
    }
    if published {
        crate::public::invalidate(&state).await;
    }
}

/// Marks every petition newly past its deadline, a batch at a time.
pub async fn run_overdue(state: AppState) {
    let today = fengqiao_domain::calendar::local_date(Utc::now());
    let mut total = 0;
    loop {
        match fengqiao_infra::db::petitions::mark_overdue(&state.db, today, 200, Utc::now()).await {
            Ok(found) if found.is_empty() => break,
            Ok(found) => total += found.len(),
            Err(e) => {
                tracing::error!(error = %format!("{:#}", anyhow::Error::from(e)), "overdue job failed");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(marked = total, "petitions marked overdue");
    }
}

/// Reminds every citizen with a confirmed booking tomorrow, once each (the mark and the
/// message commit together, so a reminder is neither lost nor sent twice).
pub async fn run_booking_reminders(state: AppState) {
    use fengqiao_infra::db::audit::{Actor, Event, Origin};
    use fengqiao_infra::db::reception as store;
    let tomorrow = fengqiao_domain::calendar::local_date(Utc::now()) + chrono::Days::new(1);
    let mut sent = 0;
    loop {
        let due = match store::due_reminders(&state.db, tomorrow, 100).await {
            Ok(due) if due.is_empty() => break,
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %format!("{:#}", anyhow::Error::from(e)), "reminder job failed");
                break;
            }
        };
        for row in due {
            let result: Result<(), crate::error::ApiError> = async {
                let session =
                    crate::citizen::bookings::session_on(&state, row.rule_id, row.session_date)
                        .await?
                        .ok_or_else(crate::citizen::bookings::no_such_session)?;
                let text = crate::citizen::bookings::session_text(&state, &session).await?;
                let now = Utc::now();
                let txn = state.begin_change().await?;
                if store::mark_reminded(&txn, row.id, now).await? {
                    store::announce(&txn, &row, "booking.reminded", &text, None, now).await?;
                    state
                        .audit_in(
                            &txn,
                            &Actor::system(),
                            &Origin::default(),
                            Event::new("booking.reminded").on("booking", row.id),
                        )
                        .await?;
                }
                txn.commit().await?;
                Ok(())
            }
            .await;
            match result {
                Ok(()) => sent += 1,
                Err(e) => {
                    tracing::error!(booking = %row.id, error = ?e, "could not remind a booking");
                    // A session gone since (cancelled rule): not retried every period.
                    return;
                }
            }
        }
    }
    if sent > 0 {
        tracing::info!(sent, "booking reminders queued");
    }
}
