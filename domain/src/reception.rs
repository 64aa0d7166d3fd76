//! The leaders' reception schedule (领导接待公示): published recurring rules, turned into dated
//! sessions over the shared working calendar.
//!
//! Rules, as counties publish them: a fixed day of the month (the party secretary on the 16th),
//! two fixed days a month, the n-th weekday of the month (the first Monday), every workday with
//! the rule's leader or organisation, and every workday by rota over a list of leaders. Sessions
//! are held on working days only (make-up workdays included); a rule whose day is a rest day
//! says whether the session is cancelled or held on the next working day.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::WorkCalendar;
use crate::{DomainError, Text};

/// How a rule recurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recurrence {
    /// The same day every month (1–31; a month without that day has no session).
    MonthlyDay { day: u32 },
    /// Two fixed days every month (the 5th and the 20th).
    TwiceMonthly { days: [u32; 2] },
    /// The n-th (1–5) given weekday of the month; a month without a fifth has none.
    NthWeekday {
        nth: u32,
        #[schema(value_type = String, example = "mon")]
        #[serde(with = "weekday_text")]
        weekday: Weekday,
    },
    /// Every working day, with the rule's own leader or organisation (an organisation's daily
    /// reception).
    EveryWorkday,
    /// Every working day, the leaders in turn: the n-th working day since `anchor` is
    /// `leader_ids[n % len]`, so the rota does not shift with the range asked for.
    WorkdayRota {
        leader_ids: Vec<Uuid>,
        #[serde(default = "default_anchor")]
        anchor: NaiveDate,
    },
}

fn default_anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
}

mod weekday_text {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(w: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&w.to_string().to_lowercase())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<Weekday>()
            .map_err(|_| serde::de::Error::custom(format!("not a weekday: {text}")))
    }
}

/// What happens to a session whose day is a rest day (weekend or statutory holiday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnRestDay {
    Cancel,
    /// Held on the next working day.
    NextWorkday,
}

impl OnRestDay {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cancel" => Some(Self::Cancel),
            "next_workday" => Some(Self::NextWorkday),
            _ => None,
        }
    }
}

/// One published rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceptionRule {
    pub id: Uuid,
    pub org_unit_id: Uuid,
    /// The receiving leader; rota rules name theirs in the recurrence.
    pub leader_id: Option<Uuid>,
    pub recurrence: Recurrence,
    pub place: String,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub capacity: u32,
    pub on_rest_day: OnRestDay,
}

impl ReceptionRule {
    /// Checks what a rule must be to make sense: a window that ends after it starts, a
    /// capacity, days that exist, a rota with someone on it.
    pub fn check(&self) -> Result<(), DomainError> {
        let bad = |field: &'static str, zh: &'static str, en: &'static str| {
            Err(DomainError::invalid(
                field,
                "invalid_field",
                Text::new(zh, en),
            ))
        };
        if self.ends_at <= self.starts_at {
            return bad(
                "ends_at",
                "结束时间须晚于开始时间",
                "the session must end after it starts",
            );
        }
        if self.capacity == 0 {
            return bad(
                "capacity",
                "接待名额须大于 0",
                "capacity must be at least 1",
            );
        }
        match &self.recurrence {
            Recurrence::MonthlyDay { day } if !(1..=31).contains(day) => {
                bad("day", "日期须在 1 至 31 之间", "day must be 1 to 31")
            }
            Recurrence::TwiceMonthly { days } if days.iter().any(|d| !(1..=31).contains(d)) => {
                bad("days", "日期须在 1 至 31 之间", "days must be 1 to 31")
            }
            Recurrence::NthWeekday { nth, .. } if !(1..=5).contains(nth) => {
                bad("nth", "第几周须在 1 至 5 之间", "nth must be 1 to 5")
            }
            Recurrence::WorkdayRota { leader_ids, .. } if leader_ids.is_empty() => bad(
                "leader_ids",
                "轮值领导不能为空",
                "a rota needs at least one leader",
            ),
            _ => Ok(()),
        }
    }
}

/// A dated session of the public schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub date: NaiveDate,
    pub rule_id: Uuid,
    pub org_unit_id: Uuid,
    pub leader_id: Option<Uuid>,
    pub place: String,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub capacity: u32,
    /// The rest day it was moved from, when it was.
    pub moved_from: Option<NaiveDate>,
    /// Called off (the schedule still shows it, with its notice).
    pub cancelled: bool,
    /// Leaders or departments receiving together with the session's own (联合接访).
    pub joint_with: Vec<String>,
    /// What was published about a change to this session.
    pub notice: Option<String>,
}

/// A change to one dated session, published with a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionChange {
    /// Called off: bookings are cancelled and their citizens told.
    Cancelled,
    /// Another leader receives instead.
    Substitute { leader_id: Uuid },
    /// Several leaders or departments receive together (联合接访).
    Joint { with: Vec<String> },
    /// Held on another day (and, if given, at another time or place); its bookings move with it.
    Moved {
        to: NaiveDate,
        #[schema(value_type = Option<String>, example = "14:30")]
        starts_at: Option<NaiveTime>,
        #[schema(value_type = Option<String>, example = "17:00")]
        ends_at: Option<NaiveTime>,
        place: Option<String>,
    },
}

impl SessionChange {
    /// The day a moved session is held on.
    pub fn moved_to(&self) -> Option<NaiveDate> {
        match self {
            SessionChange::Moved { to, .. } => Some(*to),
            _ => None,
        }
    }

    /// For a move: the session as it is held after it (the new day, and the new time and place
    /// where given). Other changes leave the session where it is: `None`.
    pub fn relocate(&self, session: &Session) -> Option<Session> {
        let SessionChange::Moved {
            to,
            starts_at,
            ends_at,
            place,
        } = self
        else {
            return None;
        };
        let mut moved = session.clone();
        moved.date = *to;
        moved.starts_at = starts_at.unwrap_or(session.starts_at);
        moved.ends_at = ends_at.unwrap_or(session.ends_at);
        if let Some(p) = place {
            moved.place = p.clone();
        }
        moved.moved_from = Some(session.date);
        Some(moved)
    }

    /// Whether the change makes sense for `session` on `today`: a move goes to another day
    /// from today on, ends after it starts, and names a place if it names one.
    pub fn check(&self, session: &Session, today: NaiveDate) -> Result<(), DomainError> {
        let (SessionChange::Moved { place, .. }, Some(moved)) = (self, self.relocate(session))
        else {
            return Ok(());
        };
        let bad_place = place
            .as_deref()
            .is_some_and(|p| p.trim().is_empty() || p.chars().count() > 128);
        if moved.date < today
            || moved.date == session.date
            || moved.ends_at <= moved.starts_at
            || bad_place
        {
            return Err(DomainError::invalid(
                "change.to",
                "invalid_field",
                Text::new(
                    "新日期须为今天或以后的另一天，结束时间须晚于开始时间",
                    "the new day must be another day from today on, ending after it starts",
                ),
            ));
        }
        Ok(())
    }
}

/// A published change to the session a rule holds on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionException {
    pub rule_id: Uuid,
    pub date: NaiveDate,
    pub change: SessionChange,
    pub notice: String,
}

/// The sessions with their published changes applied. A moved session leaves its day; it is
/// added on its new day by `sessions_with_changes`, which knows the rules.
pub fn with_exceptions(sessions: Vec<Session>, exceptions: &[SessionException]) -> Vec<Session> {
    sessions
        .into_iter()
        .filter_map(|mut s| {
            let Some(e) = exceptions
                .iter()
                .find(|e| e.rule_id == s.rule_id && e.date == s.date)
            else {
                return Some(s);
            };
            match &e.change {
                SessionChange::Cancelled => s.cancelled = true,
                SessionChange::Substitute { leader_id } => s.leader_id = Some(*leader_id),
                SessionChange::Joint { with } => s.joint_with = with.clone(),
                SessionChange::Moved { .. } => return None,
            }
            s.notice = Some(e.notice.clone());
            Some(s)
        })
        .collect()
}

/// The sessions of `rules` on `from..=to` with every published change applied, sessions moved
/// into the range from other days included.
pub fn sessions_with_changes(
    rules: &[ReceptionRule],
    cal: &WorkCalendar,
    from: NaiveDate,
    to: NaiveDate,
    exceptions: &[SessionException],
) -> Vec<Session> {
    let mut out = with_exceptions(sessions(rules, cal, from, to), exceptions);
    for e in exceptions {
        let Some(new_day) = e.change.moved_to() else {
            continue;
        };
        if new_day < from || new_day > to {
            continue;
        }
        let Some(rule) = rules.iter().find(|r| r.id == e.rule_id) else {
            continue;
        };
        let origin = sessions(std::slice::from_ref(rule), cal, e.date, e.date);
        if let Some(mut s) = origin.first().and_then(|s| e.change.relocate(s)) {
            s.notice = Some(e.notice.clone());
            out.push(s);
        }
    }
    out.sort_by_key(|s| (s.date, s.starts_at, s.rule_id));
    out
}

/// The days in `from..=to` the recurrence names, before rest days are considered, with the
/// leader of each (for rotas).
fn nominal_days(
    rule: &ReceptionRule,
    cal: &WorkCalendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, Option<Uuid>)> {
    let mut out = Vec::new();
    match &rule.recurrence {
        Recurrence::MonthlyDay { day } => {
            for first in month_starts(from, to) {
                if let Some(d) = first.with_day(*day) {
                    out.push((d, rule.leader_id));
                }
            }
        }
        Recurrence::TwiceMonthly { days } => {
            for first in month_starts(from, to) {
                for day in days {
                    if let Some(d) = first.with_day(*day) {
                        out.push((d, rule.leader_id));
                    }
                }
            }
        }
        Recurrence::NthWeekday { nth, weekday } => {
            for first in month_starts(from, to) {
                let nth = u8::try_from(*nth).unwrap_or(0);
                if let Some(d) =
                    NaiveDate::from_weekday_of_month_opt(first.year(), first.month(), *weekday, nth)
                {
                    out.push((d, rule.leader_id));
                }
            }
        }
        Recurrence::EveryWorkday => {
            for d in from.iter_days().take_while(|d| *d <= to) {
                if cal.is_workday(d) {
                    out.push((d, rule.leader_id));
                }
            }
        }
        Recurrence::WorkdayRota { leader_ids, anchor } => {
            if leader_ids.is_empty() {
                return out;
            }
            // Working days from the anchor up to `from`, so the turn is the same whatever
            // range is asked for.
            let mut turn = if from > *anchor {
                anchor
                    .iter_days()
                    .take_while(|d| d < &from)
                    .filter(|d| cal.is_workday(*d))
                    .count()
            } else {
                0
            };
            for d in from.iter_days().take_while(|d| *d <= to) {
                if d >= *anchor && cal.is_workday(d) {
                    out.push((d, Some(leader_ids[turn % leader_ids.len()])));
                    turn += 1;
                }
            }
        }
    }
    out.retain(|(d, _)| *d >= from && *d <= to);
    out
}

/// The first day of every month that `from..=to` touches.
fn month_starts(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut first = from.with_day(1).unwrap_or(from);
    while first <= to {
        out.push(first);
        first = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    out
}

/// How far back to look for a rest-day session moved into the range (a Spring Festival break
/// is the longest run of rest days).
const MOVE_LOOKBACK_DAYS: u64 = 14;

/// The sessions of `rules` held on `from..=to`, in date then start order.
pub fn sessions(
    rules: &[ReceptionRule],
    cal: &WorkCalendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Session> {
    let mut out = Vec::new();
    let look_from = from - chrono::Days::new(MOVE_LOOKBACK_DAYS);
    for rule in rules {
        for (day, leader_id) in nominal_days(rule, cal, look_from, to) {
            let (date, moved_from) = if cal.is_workday(day) {
                (day, None)
            } else {
                match rule.on_rest_day {
                    OnRestDay::Cancel => continue,
                    OnRestDay::NextWorkday => (cal.next_workday_from(day), Some(day)),
                }
            };
            if date < from || date > to {
                continue;
            }
            out.push(Session {
                date,
                rule_id: rule.id,
                org_unit_id: rule.org_unit_id,
                leader_id,
                place: rule.place.clone(),
                starts_at: rule.starts_at,
                ends_at: rule.ends_at,
                capacity: rule.capacity,
                moved_from,
                cancelled: false,
                joint_with: Vec::new(),
                notice: None,
            });
        }
    }
    out.sort_by_key(|s| (s.date, s.starts_at, s.rule_id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn rule(recurrence: Recurrence, on_rest_day: OnRestDay) -> ReceptionRule {
        ReceptionRule {
            id: Uuid::from_u128(1),
            org_unit_id: Uuid::from_u128(2),
            leader_id: Some(Uuid::from_u128(3)),
            recurrence,
            place: "县信访接待中心".into(),
            starts_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            ends_at: NaiveTime::from_hms_opt(11, 30, 0).unwrap(),
            capacity: 10,
            on_rest_day,
        }
    }

    pub(super) fn monthly(day: u32) -> ReceptionRule {
        rule(Recurrence::MonthlyDay { day }, OnRestDay::NextWorkday)
    }

    fn dates(s: &[Session]) -> Vec<NaiveDate> {
        s.iter().map(|s| s.date).collect()
    }

    #[test]
    fn a_monthly_day_on_a_weekend_moves_to_monday_or_is_cancelled() {
        let cal = WorkCalendar::default();
        let r = rule(Recurrence::MonthlyDay { day: 16 }, OnRestDay::NextWorkday);
        // 2026: Nov 16 is a Monday; Jan 16 a Friday; May 16 a Saturday.
        let s = sessions(
            std::slice::from_ref(&r),
            &cal,
            day(2026, 1, 1),
            day(2026, 5, 31),
        );
        assert_eq!(
            dates(&s),
            [
                day(2026, 1, 16),
                day(2026, 2, 16),
                day(2026, 3, 16),
                day(2026, 4, 16),
                day(2026, 5, 18)
            ]
        );
        assert_eq!(s[4].moved_from, Some(day(2026, 5, 16)));
        let cancel = rule(Recurrence::MonthlyDay { day: 16 }, OnRestDay::Cancel);
        let s = sessions(&[cancel], &cal, day(2026, 5, 1), day(2026, 5, 31));
        assert!(s.is_empty());
    }

    #[test]
    fn holidays_and_make_up_workdays_come_from_the_shared_calendar() {
        // Spring Festival 2026 (demo): Feb 15–23 rest; Feb 14 (Saturday) and Feb 28 (Saturday)
        // are make-up workdays.
        let holidays = (15..=23).map(|d| day(2026, 2, d));
        let cal = WorkCalendar::new(holidays, [day(2026, 2, 14), day(2026, 2, 28)]);
        let r = rule(Recurrence::MonthlyDay { day: 16 }, OnRestDay::NextWorkday);
        let s = sessions(&[r], &cal, day(2026, 2, 1), day(2026, 2, 28));
        assert_eq!(dates(&s), [day(2026, 2, 24)]);
        // A session moved out of the break is found even when the range starts after it.
        let r = rule(Recurrence::MonthlyDay { day: 16 }, OnRestDay::NextWorkday);
        let s = sessions(&[r], &cal, day(2026, 2, 24), day(2026, 2, 24));
        assert_eq!(dates(&s), [day(2026, 2, 24)]);
        // Every-workday rules skip the break and work the make-up Saturdays.
        let daily = rule(Recurrence::EveryWorkday, OnRestDay::Cancel);
        let s = sessions(&[daily], &cal, day(2026, 2, 13), day(2026, 2, 28));
        assert_eq!(
            dates(&s),
            [
                day(2026, 2, 13),
                day(2026, 2, 14),
                day(2026, 2, 24),
                day(2026, 2, 25),
                day(2026, 2, 26),
                day(2026, 2, 27),
                day(2026, 2, 28)
            ]
        );
    }

    #[test]
    fn the_nth_weekday_and_months_without_a_day() {
        let cal = WorkCalendar::default();
        let first_monday = rule(
            Recurrence::NthWeekday {
                nth: 1,
                weekday: Weekday::Mon,
            },
            OnRestDay::Cancel,
        );
        let s = sessions(&[first_monday], &cal, day(2026, 11, 1), day(2027, 1, 31));
        assert_eq!(
            dates(&s),
            [day(2026, 11, 2), day(2026, 12, 7), day(2027, 1, 4)]
        );
        let fifth_friday = rule(
            Recurrence::NthWeekday {
                nth: 5,
                weekday: Weekday::Fri,
            },
            OnRestDay::Cancel,
        );
        // Only January 2027 has a fifth Friday (the 29th) in these three months.
        let s = sessions(&[fifth_friday], &cal, day(2026, 11, 1), day(2027, 1, 31));
        assert_eq!(dates(&s), [day(2027, 1, 29)]);
        // The 29th of February exists in leap years only; the 31st skips short months.
        let r29 = rule(Recurrence::MonthlyDay { day: 29 }, OnRestDay::NextWorkday);
        let s = sessions(&[r29], &cal, day(2027, 2, 1), day(2028, 2, 29));
        assert_eq!(s.last().unwrap().date, day(2028, 2, 29));
        assert!(!dates(&s).contains(&day(2027, 2, 28)));
        let r31 = rule(Recurrence::MonthlyDay { day: 31 }, OnRestDay::Cancel);
        let s = sessions(&[r31], &cal, day(2026, 4, 1), day(2026, 4, 30));
        assert!(s.is_empty());
        // December 2026: the 5th is a Saturday and the 20th a Sunday.
        let twice = rule(
            Recurrence::TwiceMonthly { days: [5, 20] },
            OnRestDay::Cancel,
        );
        let s = sessions(&[twice], &cal, day(2026, 12, 1), day(2026, 12, 31));
        assert!(s.is_empty());
        let twice = rule(
            Recurrence::TwiceMonthly { days: [5, 20] },
            OnRestDay::NextWorkday,
        );
        let s = sessions(&[twice], &cal, day(2026, 12, 1), day(2026, 12, 31));
        assert_eq!(dates(&s), [day(2026, 12, 7), day(2026, 12, 21)]);
    }

    #[test]
    fn a_rota_turns_over_working_days_and_does_not_shift_with_the_range() {
        let cal = WorkCalendar::default();
        let a = Uuid::from_u128(10);
        let b = Uuid::from_u128(11);
        let c = Uuid::from_u128(12);
        let r = rule(
            Recurrence::WorkdayRota {
                leader_ids: vec![a, b, c],
                anchor: day(2026, 11, 2),
            },
            OnRestDay::Cancel,
        );
        let week = sessions(
            std::slice::from_ref(&r),
            &cal,
            day(2026, 11, 2),
            day(2026, 11, 10),
        );
        let on: Vec<_> = week
            .iter()
            .map(|s| (s.date.day(), s.leader_id.unwrap()))
            .collect();
        // Mon 2 a, Tue 3 b, Wed 4 c, Thu 5 a, Fri 6 b, (weekend), Mon 9 c, Tue 10 a.
        assert_eq!(
            on,
            [(2, a), (3, b), (4, c), (5, a), (6, b), (9, c), (10, a)]
        );
        let later = sessions(&[r], &cal, day(2026, 11, 9), day(2026, 11, 10));
        assert_eq!(later[0].leader_id, Some(c));
        assert_eq!(later[1].leader_id, Some(a));
    }

    #[test]
    fn rules_that_make_no_sense_are_refused() {
        let mut r = rule(Recurrence::MonthlyDay { day: 32 }, OnRestDay::Cancel);
        assert!(r.check().is_err());
        r.recurrence = Recurrence::MonthlyDay { day: 16 };
        assert!(r.check().is_ok());
        r.ends_at = r.starts_at;
        assert!(r.check().is_err());
        let rota = rule(
            Recurrence::WorkdayRota {
                leader_ids: vec![],
                anchor: day(2026, 1, 1),
            },
            OnRestDay::Cancel,
        );
        assert!(rota.check().is_err());
    }
}

/// Where a booking (预约接访) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    /// Asked for; holds a place until staff confirm or reject it.
    Requested,
    Confirmed,
    Rejected,
    /// Withdrawn by the citizen.
    Cancelled,
    /// The citizen came; what was said is recorded.
    Attended,
}

impl BookingState {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingState::Requested => "requested",
            BookingState::Confirmed => "confirmed",
            BookingState::Rejected => "rejected",
            BookingState::Cancelled => "cancelled",
            BookingState::Attended => "attended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            BookingState::Requested,
            BookingState::Confirmed,
            BookingState::Rejected,
            BookingState::Cancelled,
            BookingState::Attended,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }

    /// Still holding a place in its session.
    pub fn is_open(self) -> bool {
        matches!(self, BookingState::Requested | BookingState::Confirmed)
    }
}

/// What can be done to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingAction {
    Confirm,
    Reject,
    Cancel,
    Move,
    Attend,
}

impl BookingAction {
    fn name(self) -> &'static str {
        match self {
            BookingAction::Confirm => "confirm",
            BookingAction::Reject => "reject",
            BookingAction::Cancel => "cancel",
            BookingAction::Move => "move",
            BookingAction::Attend => "attend",
        }
    }
}

/// The state a booking goes to, or the 409 saying why not.
pub fn booking_transition(
    from: BookingState,
    action: BookingAction,
) -> Result<BookingState, DomainError> {
    use BookingAction as A;
    use BookingState as S;
    let to = match (from, action) {
        (S::Requested, A::Confirm) => S::Confirmed,
        (S::Requested | S::Confirmed, A::Reject) => S::Rejected,
        (S::Requested | S::Confirmed, A::Cancel) => S::Cancelled,
        // Moved to another session: it stays what it was, somewhere else.
        (S::Requested | S::Confirmed, A::Move) => from,
        (S::Confirmed, A::Attend) => S::Attended,
        _ => {
            return Err(DomainError::Conflict {
                code: "booking_state",
                message: Text::owned(
                    format!("预约当前为“{}”，不能{}", from.as_str(), action.name()),
                    format!("a {} booking cannot be {}ed", from.as_str(), action.name()),
                ),
            });
        }
    };
    Ok(to)
}

/// Why a session cannot be booked now, if it cannot: it has begun or passed, or it is full.
pub fn bookable(
    session: &Session,
    taken: u32,
    now_local: chrono::NaiveDateTime,
) -> Result<(), DomainError> {
    let conflict = |code: &'static str, zh: &'static str, en: &'static str| {
        Err(DomainError::Conflict {
            code,
            message: Text::new(zh, en),
        })
    };
    if session.cancelled {
        return conflict(
            "session_cancelled",
            "该场次已取消，请选择其他场次",
            "this session is cancelled; choose another",
        );
    }
    if session.date.and_time(session.starts_at) <= now_local {
        return conflict(
            "session_closed",
            "该场次已开始或已结束，不能再预约",
            "this session has begun or is over",
        );
    }
    if taken >= session.capacity {
        return conflict(
            "session_full",
            "该场次名额已满，请选择其他场次",
            "this session is full; choose another",
        );
    }
    Ok(())
}

/// The citizen's own limits: one open booking a day, and at most `per_month` a month.
pub fn within_limits(
    open_same_day: bool,
    this_month: u32,
    per_month: u32,
) -> Result<(), DomainError> {
    if open_same_day {
        return Err(DomainError::Conflict {
            code: "booking_same_day",
            message: Text::new(
                "您在当天已有预约，同一天只能预约一场",
                "you already have a booking that day",
            ),
        });
    }
    if this_month >= per_month {
        return Err(DomainError::Conflict {
            code: "booking_monthly_limit",
            message: Text::owned(
                format!("每月最多预约 {per_month} 次"),
                format!("at most {per_month} bookings a month"),
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod booking_tests {
    use super::*;

    fn session(capacity: u32) -> Session {
        Session {
            date: NaiveDate::from_ymd_opt(2026, 12, 16).unwrap(),
            rule_id: Uuid::nil(),
            org_unit_id: Uuid::nil(),
            leader_id: None,
            place: "接待室".into(),
            starts_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            ends_at: NaiveTime::from_hms_opt(11, 30, 0).unwrap(),
            capacity,
            moved_from: None,
            cancelled: false,
            joint_with: Vec::new(),
            notice: None,
        }
    }

    #[test]
    fn a_session_is_bookable_until_it_starts_and_while_places_remain() {
        let s = session(2);
        let before = NaiveDate::from_ymd_opt(2026, 12, 15)
            .unwrap()
            .and_hms_opt(18, 0, 0)
            .unwrap();
        assert!(bookable(&s, 1, before).is_ok());
        assert!(matches!(
            bookable(&s, 2, before),
            Err(DomainError::Conflict {
                code: "session_full",
                ..
            })
        ));
        let started = s.date.and_hms_opt(9, 0, 0).unwrap();
        assert!(matches!(
            bookable(&s, 0, started),
            Err(DomainError::Conflict {
                code: "session_closed",
                ..
            })
        ));
    }

    #[test]
    fn published_changes_cancel_substitute_or_join_a_session() {
        let s = session(5);
        let substitute = Uuid::from_u128(7);
        let on = |change| SessionException {
            rule_id: s.rule_id,
            date: s.date,
            change,
            notice: "因公务调整".into(),
        };
        let cancelled = with_exceptions(vec![s.clone()], &[on(SessionChange::Cancelled)]);
        assert!(cancelled[0].cancelled);
        assert_eq!(cancelled[0].notice.as_deref(), Some("因公务调整"));
        let before = s.date.pred_opt().unwrap().and_hms_opt(9, 0, 0).unwrap();
        assert!(matches!(
            bookable(&cancelled[0], 0, before),
            Err(DomainError::Conflict {
                code: "session_cancelled",
                ..
            })
        ));
        let sub = with_exceptions(
            vec![s.clone()],
            &[on(SessionChange::Substitute {
                leader_id: substitute,
            })],
        );
        assert_eq!(sub[0].leader_id, Some(substitute));
        let joint = with_exceptions(
            vec![s.clone()],
            &[on(SessionChange::Joint {
                with: vec!["县人社局".into()],
            })],
        );
        assert_eq!(joint[0].joint_with, ["县人社局"]);
        let other_day = SessionException {
            date: s.date.succ_opt().unwrap(),
            ..on(SessionChange::Cancelled)
        };
        assert!(!with_exceptions(vec![s.clone()], &[other_day])[0].cancelled);
    }

    #[test]
    fn a_moved_session_leaves_its_day_and_is_held_on_the_new_one() {
        let cal = WorkCalendar::default();
        let mut rule = super::tests::monthly(16);
        rule.id = Uuid::from_u128(42);
        let moved = SessionException {
            rule_id: rule.id,
            date: NaiveDate::from_ymd_opt(2026, 12, 16).unwrap(),
            change: SessionChange::Moved {
                to: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
                starts_at: NaiveTime::from_hms_opt(14, 30, 0),
                ends_at: NaiveTime::from_hms_opt(17, 0, 0),
                place: None,
            },
            notice: "改至 18 日下午".into(),
        };
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let all = sessions_with_changes(
            std::slice::from_ref(&rule),
            &cal,
            day(1),
            day(31),
            std::slice::from_ref(&moved),
        );
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].date, day(18));
        assert_eq!(
            all[0].starts_at,
            NaiveTime::from_hms_opt(14, 30, 0).unwrap()
        );
        assert_eq!(all[0].moved_from, Some(day(16)));
        // Asked for the new day alone, or the old day alone.
        assert_eq!(
            sessions_with_changes(
                std::slice::from_ref(&rule),
                &cal,
                day(18),
                day(18),
                std::slice::from_ref(&moved)
            )
            .len(),
            1
        );
        assert!(
            sessions_with_changes(
                std::slice::from_ref(&rule),
                &cal,
                day(16),
                day(16),
                std::slice::from_ref(&moved)
            )
            .is_empty()
        );
        assert_eq!(moved.change.moved_to(), Some(day(18)));
    }

    #[test]
    fn bookings_move_only_along_their_transitions() {
        use BookingAction as A;
        use BookingState as S;
        assert_eq!(
            booking_transition(S::Requested, A::Confirm).unwrap(),
            S::Confirmed
        );
        assert_eq!(
            booking_transition(S::Confirmed, A::Move).unwrap(),
            S::Confirmed
        );
        assert_eq!(
            booking_transition(S::Confirmed, A::Attend).unwrap(),
            S::Attended
        );
        assert!(booking_transition(S::Requested, A::Attend).is_err());
        assert!(booking_transition(S::Cancelled, A::Confirm).is_err());
        assert!(booking_transition(S::Attended, A::Cancel).is_err());
        for s in [S::Rejected, S::Cancelled, S::Attended] {
            assert!(!s.is_open());
            assert_eq!(BookingState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn one_open_booking_a_day_and_a_monthly_cap() {
        assert!(within_limits(false, 1, 2).is_ok());
        assert!(within_limits(true, 0, 2).is_err());
        assert!(within_limits(false, 2, 2).is_err());
    }
}
