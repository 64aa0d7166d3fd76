//! Scheduled work. A job runs at most once per period across all instances: each period has a
//! lock in the shared cache, the first instance to take it runs the job, the others skip. On
//! shutdown the loop stops between runs, and a run in progress is given time to finish.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

pub struct Jobs {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Jobs {
    /// Starts the jobs the configuration enables.
    pub fn start(state: AppState) -> Option<Self> {
        let period = state.settings.petition.overdue_check_secs;
        if period == 0 {
            return None;
        }
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(overdue_loop(state, Duration::from_secs(period), stopped));
        Some(Self { stop, handle })
    }

    /// Asks the jobs to stop and waits up to `within` for a run in progress.
    pub async fn stop(self, within: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(within, self.handle).await.is_err() {
            tracing::warn!("a scheduled job did not finish within the shutdown timeout");
        }
    }
}

async fn overdue_loop(state: AppState, period: Duration, mut stopped: watch::Receiver<bool>) {
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
            .set_if_absent(&format!("job:overdue:{slot}"), b"1", period)
            .await
        {
            Ok(true) => run_overdue(&state).await,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "overdue job skipped: its lock is unavailable"),
        }
    }
}

/// Marks every petition newly past its deadline, a batch at a time.
pub async fn run_overdue(state: &AppState) {
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
