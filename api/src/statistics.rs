//! The supervision computations shared by the handlers and the scheduled job: a month's flags
//! (kept once the month is over) and a week's escalation watch (kept once the week is over).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use fengqiao_domain::identity::OrgScope;
use fengqiao_domain::org::OrgKind;
use fengqiao_domain::statistics::{
    Consequence, FlagScoring, Period, RankedUnit, WatchEntry, black_flag_notice, escalation_watch,
    month_of, rank_townships, week_start,
};
use fengqiao_infra::db::{escalations, org, statistics as store};

use crate::error::ApiError;
use crate::state::AppState;

/// How far back a streak is looked for: a veto needs three weeks, twelve tell the story.
pub const STREAK_LOOKBACK_WEEKS: u32 = 12;

/// A month's ranking of the townships and streets.
pub struct Ranking {
    pub month: Period,
    /// Kept: the month is over and this is the ranking it was announced with.
    pub is_final: bool,
    pub units: Vec<RankedUnit>,
    pub notice: Option<String>,
    pub scoring: FlagScoring,
}

const RANKED: [OrgKind; 2] = [OrgKind::Township, OrgKind::Street];
const WATCHED: [OrgKind; 3] = [OrgKind::Township, OrgKind::Street, OrgKind::Department];

/// The ranking of the month that holds `day`: the kept one for a month that is over (computed
/// and kept now if nobody has yet), else the month so far.
pub async fn ranking(
    state: &AppState,
    day: NaiveDate,
    today: NaiveDate,
) -> Result<Ranking, ApiError> {
    let month = month_of(day);
    let units = org::units_of_kinds(&state.db, &RANKED).await?;
    let scoring = state.settings.statistics.flags.clone();
    let is_over = today > month.to;
    if is_over {
        let kept = store::stored_ranking(&state.db, month.from, &units).await?;
        if !kept.is_empty() {
            return Ok(Ranking {
                month,
                is_final: true,
                notice: black_flag_notice(month, &kept),
                units: kept,
                scoring,
            });
        }
    }
    // The published ranking counts every petition: it is the county's, the same for everyone.
    let (figures, county) =
        store::township_month(&state.db, &OrgScope::All, &units, month, today).await?;
    let ranked = rank_townships(&figures, &county, &scoring);
    if is_over {
        store::store_ranking(&state.db, month.from, &ranked).await?;
        // Another instance may have kept its own a moment earlier: answer with what is kept.
        let kept = store::stored_ranking(&state.db, month.from, &units).await?;
        if !kept.is_empty() {
            return Ok(Ranking {
                month,
                is_final: true,
                notice: black_flag_notice(month, &kept),
                units: kept,
                scoring,
            });
        }
    }
    Ok(Ranking {
        month,
        is_final: false,
        notice: black_flag_notice(month, &ranked),
        units: ranked,
        scoring,
    })
}

/// A week's watch.
pub struct Watch {
    pub week: Period,
    pub is_final: bool,
    pub entries: Vec<WatchEntry>,
    pub names: Vec<(uuid::Uuid, String, String)>,
    pub computed_at: DateTime<Utc>,
}

/// The watch of the week that holds `day`: a week that is over is kept as first computed (by
/// the job, or the first request) and read back; the week so far is computed on request.
pub async fn watch(state: &AppState, day: NaiveDate, today: NaiveDate) -> Result<Watch, ApiError> {
    let start = week_start(day);
    let week = Period {
        from: start,
        to: start + Duration::days(6),
    };
    let units = org::units_of_kinds(&state.db, &WATCHED).await?;
    let is_final = today > week.to;
    if is_final {
        let kept = escalations::stored_week(&state.db, start).await?;
        if let Some(first) = kept.first() {
            let computed_at = first.computed_at;
            let entries = kept.into_iter().map(|w| kept_entry(w, start)).collect();
            return Ok(Watch {
                week,
                is_final,
                entries,
                names: units,
                computed_at,
            });
        }
    }
    let weeks = escalations::weekly_counts(&state.db, &units, start, STREAK_LOOKBACK_WEEKS).await?;
    let entries = escalation_watch(&weeks, state.settings.statistics.watch_top);
    if is_final {
        escalations::store_week(&state.db, start, &entries).await?;
    }
    Ok(Watch {
        week,
        is_final,
        entries,
        names: units,
        computed_at: Utc::now(),
    })
}

/// A kept week's row as the watch gives it.
fn kept_entry(w: escalations::WeekRow, week_start: NaiveDate) -> WatchEntry {
    let consequence = match w.consequence.as_deref() {
        Some("named") => Some(Consequence::Named),
        Some("talk") => Some(Consequence::Talk),
        Some("veto") => Some(Consequence::Veto),
        _ => None,
    };
    WatchEntry {
        org_id: w.org_id,
        escalations: u64::try_from(w.escalations).unwrap_or(0),
        rank: u32::try_from(w.rank).unwrap_or(u32::MAX),
        in_top: w.in_top,
        streak: u32::try_from(w.streak).unwrap_or(0),
        veto_year: (consequence == Some(Consequence::Veto)).then(|| week_start.iso_week().year()),
        consequence,
        explanation: w.explanation,
    }
}

/// The scheduled job: keeps last month's flags and last week's watch once they are over.
pub async fn run_periodic(state: AppState) {
    let today = fengqiao_domain::calendar::local_date(Utc::now());
    let last_month = month_of(today).from - Duration::days(1);
    if let Err(e) = ranking(&state, last_month, today).await {
        tracing::error!(error = ?e, "monthly flags job failed");
    }
    let last_week = week_start(today) - Duration::days(7);
    match escalations::week_stored(&state.db, last_week).await {
        Ok(true) => {}
        Ok(false) => {
            if let Err(e) = watch(&state, last_week, today).await {
                tracing::error!(error = ?e, "weekly escalation watch job failed");
            }
        }
        Err(e) => {
            tracing::error!(error = %format!("{:#}", anyhow::Error::from(e)), "weekly escalation watch job failed")
        }
    }
}
