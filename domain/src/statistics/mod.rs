//! Supervision figures (督查督办的统计口径): what is counted, over which petitions and by which
//! dates. Every rate is defined here once, in words (for the API documentation) and as the
//! flags the store counts (`RawCounts`), so the figure, its drill-down and its documentation
//! cannot drift apart.

mod escalation;
mod flags;
mod steps;

pub use escalation::{
    Consequence, EscalationLevel, WatchEntry, WeekCounts, escalation_watch, week_start,
};
pub use flags::{
    Flag, FlagScoring, RankedUnit, ScoringTerm, TermScore, UnitFigures, black_flag_notice,
    rank_townships,
};
pub use steps::Steps;

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{FieldError, Text};

/// The days a figure covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The named periods leaders ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    /// Monday to Sunday.
    Week,
    Month,
    Year,
}

/// The longest range one request may cover: ten years of figures is already a history.
const MAX_RANGE_DAYS: i64 = 3_660;

impl Period {
    /// The day, week, month or year that holds `day`.
    pub fn of(granularity: Granularity, day: NaiveDate) -> Self {
        match granularity {
            Granularity::Day => Self { from: day, to: day },
            Granularity::Week => {
                let from = week_start(day);
                Self {
                    from,
                    to: from + Duration::days(6),
                }
            }
            Granularity::Month => month_of(day),
            Granularity::Year => Self {
                from: first_of(day.year(), 1),
                to: first_of(day.year() + 1, 1) - Duration::days(1),
            },
        }
    }

    /// An explicit range.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Self, FieldError> {
        if to < from {
            return Err(FieldError::new(
                "to",
                "range_reversed",
                Text::new(
                    "结束日期不能早于开始日期",
                    "the range ends before it starts",
                ),
            ));
        }
        if (to - from).num_days() > MAX_RANGE_DAYS {
            return Err(FieldError::new(
                "to",
                "range_too_long",
                Text::new("统计区间不能超过十年", "a range covers at most ten years"),
            ));
        }
        Ok(Self { from, to })
    }

    /// The `count` months ending with the one that holds `day`, oldest first.
    pub fn months_ending(day: NaiveDate, count: u32) -> Vec<Period> {
        let mut months = Vec::new();
        let mut month = month_of(day);
        for _ in 0..count {
            months.push(month);
            month = month_of(month.from - Duration::days(1));
        }
        months.reverse();
        months
    }

    /// "2026-10" for a whole month, "2026-10-01..2026-10-15" otherwise.
    pub fn label(&self) -> String {
        if *self == month_of(self.from) {
            self.from.format("%Y-%m").to_string()
        } else if self.from == self.to {
            self.from.to_string()
        } else {
            format!("{}..{}", self.from, self.to)
        }
    }
}

/// The calendar month that holds `day`.
pub fn month_of(day: NaiveDate) -> Period {
    let from = first_of(day.year(), day.month());
    let next = if day.month() == 12 {
        first_of(day.year() + 1, 1)
    } else {
        first_of(day.year(), day.month() + 1)
    };
    Period {
        from,
        to: next - Duration::days(1),
    }
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

/// The rates, each with a fixed definition.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// 网信占比
    OnlineShare,
    /// 按期处理率（登记后15日内转送、交办、下转、分流或不予受理）
    OnTimeDisposal,
    /// 按期告知率（收到后15日内告知是否受理）
    OnTimeAcceptance,
    /// 按期答复率（受理后60日内，经批准延期的加延期日数）
    OnTimeAnswer,
    /// 满意率
    Satisfaction,
    /// 参评率
    RatingParticipation,
    /// 回退率
    ReturnRate,
    /// 重办率
    ReopenRate,
    /// 重复信访率
    RepeatRate,
    /// 复查率
    ReviewRate,
    /// 复核率
    #[serde(rename = "rereview_rate")]
    ReReviewRate,
}

/// A rate's definition, as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Definition {
    pub name: &'static str,
    pub numerator: &'static str,
    pub denominator: &'static str,
    /// Which day puts a petition in the period.
    pub dated_by: &'static str,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::OnlineShare,
        Metric::OnTimeDisposal,
        Metric::OnTimeAcceptance,
        Metric::OnTimeAnswer,
        Metric::Satisfaction,
        Metric::RatingParticipation,
        Metric::ReturnRate,
        Metric::ReopenRate,
        Metric::RepeatRate,
        Metric::ReviewRate,
        Metric::ReReviewRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::OnlineShare => "online_share",
            Metric::OnTimeDisposal => "on_time_disposal",
            Metric::OnTimeAcceptance => "on_time_acceptance",
            Metric::OnTimeAnswer => "on_time_answer",
            Metric::Satisfaction => "satisfaction",
            Metric::RatingParticipation => "rating_participation",
            Metric::ReturnRate => "return_rate",
            Metric::ReopenRate => "reopen_rate",
            Metric::RepeatRate => "repeat_rate",
            Metric::ReviewRate => "review_rate",
            Metric::ReReviewRate => "rereview_rate",
        }
    }

    /// The definition, in the words the API documentation publishes.
    pub fn definition(self) -> Definition {
        let d = |name, numerator, denominator, dated_by| Definition {
            name,
            numerator,
            denominator,
            dated_by,
        };
        const DUE: &str = "期限最后一日在统计期内，且已办理或期限已过（尚未到期且未办理的不计入）";
        match self {
            Metric::OnlineShare => d(
                "网信占比",
                "渠道为网上（online，含 Open311）的件数",
                "登记件数",
                "登记日在统计期内",
            ),
            Metric::OnTimeDisposal => d(
                "按期处理率",
                "在处理期限内（含当日）转送、交办、下转、分流或不予受理的件数",
                "处理期限（登记后15日，节假日顺延）届满应处理的件数",
                DUE,
            ),
            Metric::OnTimeAcceptance => d(
                "按期告知率",
                "在告知期限内（含当日）作出受理或不予受理决定的件数",
                "告知期限（收到转送、交办后15日）届满应告知的件数；回退后重新转送的，以最近一次为准",
                DUE,
            ),
            Metric::OnTimeAnswer => d(
                "按期答复率",
                "在答复期限内（含当日）答复的件数",
                "答复期限（受理后60日，经批准延期的加延期日数；重办的自重办日重新起算）届满应答复的件数",
                DUE,
            ),
            Metric::Satisfaction => d(
                "满意率",
                "评价为满意或基本满意的件数",
                "已评价的件数",
                "最近一次答复日在统计期内",
            ),
            Metric::RatingParticipation => d(
                "参评率",
                "已评价的件数",
                "已答复且属于参评事项的件数",
                "最近一次答复日在统计期内",
            ),
            Metric::ReturnRate => d(
                "回退率",
                "被收件单位回退（认为不属本单位职责）过至少一次的件数",
                "转送、交办或下转过的件数",
                "首次处理日在统计期内",
            ),
            Metric::ReopenRate => d(
                "重办率",
                "被督查重办过至少一次的件数",
                "答复过的件数",
                "首次答复日在统计期内",
            ),
            Metric::RepeatRate => d(
                "重复信访率",
                "登记时认定为重复信访的件数",
                "登记件数",
                "登记日在统计期内",
            ),
            Metric::ReviewRate => d(
                "复查率",
                "信访人请求复查的件数",
                "答复过的件数",
                "首次答复日在统计期内",
            ),
            Metric::ReReviewRate => d(
                "复核率",
                "信访人请求复核的件数",
                "复查已作出决定的件数",
                "复查决定日在统计期内",
            ),
        }
    }
}

/// The counters the store computes for a set of petitions and a period, one per rate side.
/// Each field's meaning is the definition of the metric it belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawCounts {
    pub registered: u64,
    pub online: u64,
    pub repeats: u64,
    pub disposal_due: u64,
    pub disposal_on_time: u64,
    pub acceptance_due: u64,
    pub acceptance_on_time: u64,
    pub answer_due: u64,
    pub answer_on_time: u64,
    pub answered: u64,
    pub answered_rateable: u64,
    pub rated: u64,
    pub satisfied: u64,
    pub sent: u64,
    pub returned: u64,
    pub first_answered: u64,
    pub reopened: u64,
    pub review_requested: u64,
    pub review_decided: u64,
    pub rereview_requested: u64,
    /// Open obligations as of today: all, due within the warning window, past due.
    pub open: u64,
    pub due_soon: u64,
    pub overdue: u64,
}

impl RawCounts {
    /// Adds another set's counters (the store sums groups of one pass).
    pub fn add(&mut self, o: &RawCounts) {
        self.registered += o.registered;
        self.online += o.online;
        self.repeats += o.repeats;
        self.disposal_due += o.disposal_due;
        self.disposal_on_time += o.disposal_on_time;
        self.acceptance_due += o.acceptance_due;
        self.acceptance_on_time += o.acceptance_on_time;
        self.answer_due += o.answer_due;
        self.answer_on_time += o.answer_on_time;
        self.answered += o.answered;
        self.answered_rateable += o.answered_rateable;
        self.rated += o.rated;
        self.satisfied += o.satisfied;
        self.sent += o.sent;
        self.returned += o.returned;
        self.first_answered += o.first_answered;
        self.reopened += o.reopened;
        self.review_requested += o.review_requested;
        self.review_decided += o.review_decided;
        self.rereview_requested += o.rereview_requested;
        self.open += o.open;
        self.due_soon += o.due_soon;
        self.overdue += o.overdue;
    }

    /// (numerator, denominator) of a metric.
    pub fn sides(&self, metric: Metric) -> (u64, u64) {
        match metric {
            Metric::OnlineShare => (self.online, self.registered),
            Metric::OnTimeDisposal => (self.disposal_on_time, self.disposal_due),
            Metric::OnTimeAcceptance => (self.acceptance_on_time, self.acceptance_due),
            Metric::OnTimeAnswer => (self.answer_on_time, self.answer_due),
            Metric::Satisfaction => (self.satisfied, self.rated),
            Metric::RatingParticipation => (self.rated, self.answered_rateable),
            Metric::ReturnRate => (self.returned, self.sent),
            Metric::ReopenRate => (self.reopened, self.first_answered),
            Metric::RepeatRate => (self.repeats, self.registered),
            Metric::ReviewRate => (self.review_requested, self.first_answered),
            Metric::ReReviewRate => (self.rereview_requested, self.review_decided),
        }
    }

    pub fn rate(&self, metric: Metric) -> Rate {
        let (numerator, denominator) = self.sides(metric);
        Rate::new(numerator, denominator)
    }
}

/// A ratio with its two sides, so every figure can be checked and drilled into.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
    /// numerator / denominator, 0..1; absent when nothing was counted.
    pub value: Option<f64>,
}

impl Rate {
    pub fn new(numerator: u64, denominator: u64) -> Self {
        Self {
            numerator,
            denominator,
            value: (denominator > 0).then(|| numerator as f64 / denominator as f64),
        }
    }
}

/// Days from registration to answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnswerTime {
    pub answered: u64,
    pub average_days: Option<f64>,
    /// 90th percentile, nearest-rank.
    pub p90_days: Option<i64>,
}

impl AnswerTime {
    /// From a histogram of (days, petitions).
    pub fn from_histogram(histogram: &[(i64, u64)]) -> Self {
        let mut sorted: Vec<(i64, u64)> = histogram.iter().copied().filter(|h| h.1 > 0).collect();
        sorted.sort_unstable();
        let answered: u64 = sorted.iter().map(|h| h.1).sum();
        let total: f64 = sorted.iter().map(|(d, n)| *d as f64 * *n as f64).sum();
        Self {
            answered,
            average_days: (answered > 0).then(|| total / answered as f64),
            p90_days: percentile(&sorted, 90),
        }
    }
}

/// The nearest-rank percentile of a sorted histogram: the smallest value with at least `p`% of
/// the observations at or below it.
pub fn percentile(sorted: &[(i64, u64)], p: u64) -> Option<i64> {
    let n: u64 = sorted.iter().map(|h| h.1).sum();
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    let mut seen = 0;
    for (value, count) in sorted {
        seen += count;
        if seen >= rank {
            return Some(*value);
        }
    }
    sorted.last().map(|h| h.0)
}

/// One breakdown: how many petitions registered in the period per value.
pub type Breakdown = BTreeMap<String, u64>;

/// The figures of one organisation (or the county) for one period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub period: Period,
    pub registered: u64,
    /// By channel (信、访、网、电), kind, category, class (the regulation's three) and checkpoint.
    pub by_channel: Breakdown,
    pub by_kind: Breakdown,
    pub by_category: Breakdown,
    pub by_class: Breakdown,
    pub by_checkpoint: Breakdown,
    pub online_share: Rate,
    pub on_time_disposal: Rate,
    pub on_time_acceptance: Rate,
    pub on_time_answer: Rate,
    pub satisfaction: Rate,
    pub rating_participation: Rate,
    pub return_rate: Rate,
    pub reopen_rate: Rate,
    pub repeat_rate: Rate,
    pub review_rate: Rate,
    pub rereview_rate: Rate,
    /// Registration to the latest answer, for petitions whose latest answer is in the period.
    pub answer_time: AnswerTime,
    /// As of today, whatever the period: open obligations, those due within the warning
    /// window, those past due.
    pub open: u64,
    pub due_soon: u64,
    pub overdue: u64,
}

/// What the breakdown queries return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdowns {
    pub by_channel: Breakdown,
    pub by_kind: Breakdown,
    pub by_category: Breakdown,
    pub by_class: Breakdown,
    pub by_checkpoint: Breakdown,
}

impl Figures {
    pub fn new(
        period: Period,
        raw: &RawCounts,
        breakdowns: Breakdowns,
        answer_days: &[(i64, u64)],
    ) -> Self {
        Self {
            period,
            registered: raw.registered,
            by_channel: breakdowns.by_channel,
            by_kind: breakdowns.by_kind,
            by_category: breakdowns.by_category,
            by_class: breakdowns.by_class,
            by_checkpoint: breakdowns.by_checkpoint,
            online_share: raw.rate(Metric::OnlineShare),
            on_time_disposal: raw.rate(Metric::OnTimeDisposal),
            on_time_acceptance: raw.rate(Metric::OnTimeAcceptance),
            on_time_answer: raw.rate(Metric::OnTimeAnswer),
            satisfaction: raw.rate(Metric::Satisfaction),
            rating_participation: raw.rate(Metric::RatingParticipation),
            return_rate: raw.rate(Metric::ReturnRate),
            reopen_rate: raw.rate(Metric::ReopenRate),
            repeat_rate: raw.rate(Metric::RepeatRate),
            review_rate: raw.rate(Metric::ReviewRate),
            rereview_rate: raw.rate(Metric::ReReviewRate),
            answer_time: AnswerTime::from_histogram(answer_days),
            open: raw.open,
            due_soon: raw.due_soon,
            overdue: raw.overdue,
        }
    }
}

/// What a drill-down lists: the petitions behind one side of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Numerator,
    Denominator,
    /// In the denominator but not the numerator: the late, the unrated, the dissatisfied…
    Missed,
}

/// The counts that can be drilled into besides the rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountFigure {
    Registered,
    /// Latest answer in the period: the petitions behind the time to answer.
    Answered,
    Open,
    DueSoon,
    Overdue,
}

/// The weekly progress summary (一周一推进) of one organisation, in the words of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct WeeklyProgress {
    pub registered: u64,
    pub disposed: u64,
    pub accepted: u64,
    pub answered: u64,
    pub closed: u64,
    pub open: u64,
    pub due_soon: u64,
    pub overdue: u64,
    pub orders_issued: u64,
    pub orders_replied: u64,
    pub orders_open_overdue: u64,
    pub escalations: u64,
}

impl WeeklyProgress {
    pub fn summary(&self, unit: &str, week: Period) -> String {
        format!(
            "{unit}（{}至{}）：本周新登记信访事项{}件，处理{}件，受理{}件，答复{}件，办结{}件；\
             目前在办{}件，其中临期{}件、超期{}件；本周下发督办单{}件、回复{}件，逾期未回复督办单{}件；\
             越级上访{}人次。",
            week.from,
            week.to,
            self.registered,
            self.disposed,
            self.accepted,
            self.answered,
            self.closed,
            self.open,
            self.due_soon,
            self.overdue,
            self.orders_issued,
            self.orders_replied,
            self.orders_open_overdue,
            self.escalations,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_cover_whole_weeks_months_and_years() {
        let p = Period::of(Granularity::Week, day("2026-11-26"));
        assert_eq!((p.from, p.to), (day("2026-11-23"), day("2026-11-29")));
        let p = Period::of(Granularity::Month, day("2024-02-10"));
        assert_eq!((p.from, p.to), (day("2024-02-01"), day("2024-02-29")));
        let p = Period::of(Granularity::Month, day("2026-12-31"));
        assert_eq!((p.from, p.to), (day("2026-12-01"), day("2026-12-31")));
        assert_eq!(p.label(), "2026-12");
        let p = Period::of(Granularity::Year, day("2026-06-01"));
        assert_eq!((p.from, p.to), (day("2026-01-01"), day("2026-12-31")));
        let months = Period::months_ending(day("2026-02-15"), 3);
        let labels: Vec<String> = months.iter().map(Period::label).collect();
        assert_eq!(labels, ["2025-12", "2026-01", "2026-02"]);
    }

    #[test]
    fn a_range_must_run_forward_and_not_forever() {
        assert_eq!(
            Period::range(day("2026-02-01"), day("2026-01-01"))
                .unwrap_err()
                .code,
            "range_reversed"
        );
        assert_eq!(
            Period::range(day("2000-01-01"), day("2026-01-01"))
                .unwrap_err()
                .code,
            "range_too_long"
        );
        assert!(Period::range(day("2026-01-01"), day("2026-01-01")).is_ok());
    }

    #[test]
    fn percentile_is_nearest_rank() {
        // 10 answers: days 1..=10 once each. p90 = the 9th smallest.
        let h: Vec<(i64, u64)> = (1..=10).map(|d| (d, 1)).collect();
        assert_eq!(percentile(&h, 90), Some(9));
        assert_eq!(percentile(&h, 100), Some(10));
        assert_eq!(percentile(&[(5, 3)], 90), Some(5));
        assert_eq!(percentile(&[], 90), None);
        let t = AnswerTime::from_histogram(&[(10, 1), (20, 3)]);
        assert_eq!(t.answered, 4);
        assert_eq!(t.average_days, Some(17.5));
        assert_eq!(t.p90_days, Some(20));
    }

    #[test]
    fn a_rate_without_a_denominator_has_no_value() {
        assert_eq!(Rate::new(0, 0).value, None);
        assert_eq!(Rate::new(3, 4).value, Some(0.75));
    }

    #[test]
    fn every_metric_is_defined() {
        for m in Metric::ALL {
            let d = m.definition();
            assert!(!d.numerator.is_empty() && !d.denominator.is_empty() && !d.dated_by.is_empty());
        }
    }

    #[test]
    fn weekly_summary_reads_as_a_report() {
        let w = WeeklyProgress {
            registered: 12,
            answered: 7,
            overdue: 1,
            escalations: 2,
            ..Default::default()
        };
        let text = w.summary("城关镇", Period::of(Granularity::Week, day("2026-11-26")));
        assert!(text.starts_with("城关镇（2026-11-23至2026-11-29）：本周新登记信访事项12件"));
        assert!(text.contains("超期1件") && text.contains("越级上访2人次"));
    }
}
