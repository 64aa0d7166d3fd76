//! The regulation's periods and what is due next.

use chrono::NaiveDate;
use serde::Serialize;

use crate::calendar::WorkCalendar;

/// The periods of 《信访工作条例》, in days; configurable only so tests and a changed regulation
/// need no code change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    /// Registration to disposal (转送/交办/…): 15 calendar days.
    pub dispose: u32,
    /// Receipt by a body to its acceptance decision: 15 calendar days.
    pub accept: u32,
    /// Receipt to an objection that the matter is not the body's own: 5 working days.
    pub object_working_days: u32,
    /// Acceptance to answer: 60 calendar days.
    pub answer: u32,
    /// The one extension: at most 30 calendar days.
    pub max_extension: u32,
    /// Answer (or review decision) to the citizen's request for review (or re-review): 30 days.
    pub ask_review: u32,
    /// Request to review (or re-review) decision: 30 days.
    pub decide_review: u32,
    /// Answer to the end of the rating window.
    pub rate: u32,
}

impl Default for Periods {
    fn default() -> Self {
        Self {
            dispose: 15,
            accept: 15,
            object_working_days: 5,
            answer: 60,
            max_extension: 30,
            ask_review: 30,
            decide_review: 30,
            rate: 30,
        }
    }
}

/// What the next deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Dispose,
    DecideAcceptance,
    Answer,
    DecideReview,
    DecideReReview,
}

/// A staff obligation and its last day (inclusive, local calendar day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub kind: DeadlineKind,
    pub last_day: NaiveDate,
}

/// How an open obligation stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueStatus {
    OnTrack,
    /// Within `due_soon_days` of the last day (default 3).
    DueSoon,
    /// Past the last day.
    Overdue,
}

impl Deadline {
    pub fn status(&self, today: NaiveDate, due_soon_days: u32) -> DueStatus {
        if today > self.last_day {
            DueStatus::Overdue
        } else if (self.last_day - today).num_days() <= i64::from(due_soon_days) {
            DueStatus::DueSoon
        } else {
            DueStatus::OnTrack
        }
    }
}

pub(crate) fn calendar_days(cal: &WorkCalendar, from: NaiveDate, days: u32) -> NaiveDate {
    cal.calendar_deadline(from, days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_soon_and_overdue_follow_the_last_day() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let deadline = Deadline {
            kind: DeadlineKind::Answer,
            last_day: d(20),
        };
        assert_eq!(deadline.status(d(10), 3), DueStatus::OnTrack);
        assert_eq!(deadline.status(d(17), 3), DueStatus::DueSoon);
        assert_eq!(
            deadline.status(d(20), 3),
            DueStatus::DueSoon,
            "the last day is still in time"
        );
        assert_eq!(deadline.status(d(21), 3), DueStatus::Overdue);
    }
}
