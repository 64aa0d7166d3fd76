//! Time as the county lives it: Asia/Shanghai (UTC+8 all year, no daylight saving), so calendar
//! days are computed at a fixed offset. Deadline rules build on this.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};

/// UTC+08:00, the offset of Asia/Shanghai since 1991 (China keeps no daylight saving time).
pub fn local_offset() -> FixedOffset {
    // 8 hours is always within FixedOffset's range; the fallback is never taken.
    FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix())
}

/// An instant shown in the service's zone, the form every API timestamp takes.
pub fn to_local(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&local_offset())
}

/// The calendar day an instant falls on in the county.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    to_local(at).date_naive()
}

/// The instant a local calendar day begins.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    (midnight - chrono::Duration::seconds(i64::from(local_offset().local_minus_utc()))).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_late_utc_evening_is_the_next_local_day() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 16, 30, 0).unwrap();
        assert_eq!(
            local_date(at),
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
        );
        assert_eq!(to_local(at).to_rfc3339(), "2026-11-26T00:30:00+08:00");
    }

    #[test]
    fn an_early_utc_afternoon_is_the_same_local_day() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 15, 59, 59).unwrap();
        assert_eq!(
            local_date(at),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
        );
    }
}

/// The working calendar of the county: Saturdays and Sundays rest, statutory holidays rest,
/// and make-up workdays (调休) work even on a weekend. Administrators keep the lists; deadline
/// and reception-schedule rules share them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    holidays: std::collections::BTreeSet<NaiveDate>,
    makeup_workdays: std::collections::BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    pub fn new(
        holidays: impl IntoIterator<Item = NaiveDate>,
        makeup_workdays: impl IntoIterator<Item = NaiveDate>,
    ) -> Self {
        Self {
            holidays: holidays.into_iter().collect(),
            makeup_workdays: makeup_workdays.into_iter().collect(),
        }
    }

    pub fn is_workday(&self, day: NaiveDate) -> bool {
        use chrono::Datelike;
        if self.makeup_workdays.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
    }

    pub fn is_holiday(&self, day: NaiveDate) -> bool {
        self.holidays.contains(&day)
    }

    /// The last day of a period of `days` calendar days counted from an event on `event`, as
    /// the Civil Code counts it (Arts. 201 and 203): the day of the event does not count, and a
    /// period whose last day is a rest day (statutory holiday or weekend, 法定休假日) ends on the
    /// next working day.
    pub fn calendar_deadline(&self, event: NaiveDate, days: u32) -> NaiveDate {
        let last = event + chrono::Days::new(u64::from(days));
        self.next_workday_from(last)
    }

    /// The last day of a period of `days` working days counted from an event on `event` (the
    /// 5-working-day objection window): the day of the event does not count.
    pub fn working_deadline(&self, event: NaiveDate, days: u32) -> NaiveDate {
        let mut day = event;
        let mut counted = 0;
        while counted < days {
            day = day + chrono::Days::new(1);
            if self.is_workday(day) {
                counted += 1;
            }
        }
        day
    }

    /// `day` itself when it is a working day, else the first working day after it.
    pub fn next_workday_from(&self, day: NaiveDate) -> NaiveDate {
        let mut day = day;
        // A year has no run of more than a few dozen rest days; the bound only guards a
        // calendar misconfigured to rest forever.
        for _ in 0..366 {
            if self.is_workday(day) {
                return day;
            }
            day = day + chrono::Days::new(1);
        }
        day
    }
}

#[cfg(test)]
mod work_calendar_tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// National Day 2026 as announced: 1–7 October off, Sunday 27 September and Saturday
    /// 10 October worked instead (the make-up days in the test are illustrative).
    fn calendar_2026() -> WorkCalendar {
        WorkCalendar::new(
            (1..=7).map(|day| d(2026, 10, day)),
            [d(2026, 9, 27), d(2026, 10, 10)],
        )
    }

    #[test]
    fn weekends_rest_makeup_days_work_holidays_rest() {
        let cal = calendar_2026();
        assert!(!cal.is_workday(d(2026, 11, 28)), "a Saturday");
        assert!(cal.is_workday(d(2026, 9, 27)), "a make-up Sunday");
        assert!(!cal.is_workday(d(2026, 10, 5)), "a holiday Monday");
        assert!(cal.is_workday(d(2026, 11, 25)), "a Wednesday");
    }

    #[test]
    fn a_period_starts_the_day_after_the_event() {
        let cal = WorkCalendar::default();
        // Received Wednesday 4 November; 15 days end Thursday 19 November.
        assert_eq!(cal.calendar_deadline(d(2026, 11, 4), 15), d(2026, 11, 19));
    }

    #[test]
    fn a_period_ending_on_a_weekend_or_holiday_moves_to_the_next_workday() {
        let cal = calendar_2026();
        // 15 days after 6 November is Saturday 21 November: Monday 23rd.
        assert_eq!(cal.calendar_deadline(d(2026, 11, 6), 15), d(2026, 11, 23));
        // 15 days after 18 September is 3 October, inside the holiday: Thursday 8 October.
        assert_eq!(cal.calendar_deadline(d(2026, 9, 18), 15), d(2026, 10, 8));
    }

    #[test]
    fn periods_cross_month_ends_and_leap_days() {
        let cal = WorkCalendar::default();
        // 30 days from 31 January 2028 (a leap year) is 1 March, a Wednesday.
        assert_eq!(cal.calendar_deadline(d(2028, 1, 31), 30), d(2028, 3, 1));
        // 60 days from 31 December 2026 is 1 March 2027, a Monday.
        assert_eq!(cal.calendar_deadline(d(2026, 12, 31), 60), d(2027, 3, 1));
    }

    #[test]
    fn working_days_skip_rest_days_and_count_makeup_days() {
        let cal = calendar_2026();
        // From Friday 25 September: Sun 27 (make-up), Mon 28, Tue 29, Wed 30, then the holiday,
        // Thu 8 October is the fifth working day.
        assert_eq!(cal.working_deadline(d(2026, 9, 25), 5), d(2026, 10, 8));
        // From Wednesday 25 November: Thu, Fri, Mon, Tue, Wed.
        assert_eq!(cal.working_deadline(d(2026, 11, 25), 5), d(2026, 12, 2));
    }

    #[test]
    fn every_deadline_lands_on_a_workday_and_never_early() {
        let cal = calendar_2026();
        let mut day = d(2026, 1, 1);
        while day < d(2027, 1, 1) {
            for days in [5, 15, 30, 60, 90] {
                let end = cal.calendar_deadline(day, days);
                assert!(cal.is_workday(end), "{day} + {days}");
                assert!(end >= day + chrono::Days::new(u64::from(days)));
            }
            let w = cal.working_deadline(day, 5);
            assert!(cal.is_workday(w));
            day = day + chrono::Days::new(1);
        }
    }
}
