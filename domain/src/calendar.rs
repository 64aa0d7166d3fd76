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
