//! Abnormal escalations (越级上访、非正常上访) and the weekly watch: the units with the most are
//! named every week; two weeks running in the top three bring a talk with the unit head
//! (约谈), three a one-vote veto (一票否决) in the year's evaluation.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where the person went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// 到市
    City,
    /// 到省
    Province,
    /// 进京
    Capital,
}

/// The Monday of the week that holds `day`.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// One week's escalations per home organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekCounts {
    pub week_start: NaiveDate,
    pub counts: Vec<(Uuid, u64)>,
}

impl WeekCounts {
    /// 1 + the number of units with strictly more; `None` for a unit with none.
    fn rank_of(&self, org: Uuid) -> Option<(u64, u32)> {
        let own = self
            .counts
            .iter()
            .find(|(o, _)| *o == org)
            .map(|c| c.1)
            .filter(|n| *n > 0)?;
        let above = self.counts.iter().filter(|(_, n)| *n > own).count();
        Some((own, u32::try_from(above + 1).unwrap_or(u32::MAX)))
    }

    fn in_top(&self, org: Uuid, top: u32) -> bool {
        self.rank_of(org).is_some_and(|(_, rank)| rank <= top)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// 点名: named county-wide and must explain.
    Named,
    /// 约谈: two weeks running.
    Talk,
    /// 一票否决: three weeks running.
    Veto,
}

impl Consequence {
    pub fn as_str(self) -> &'static str {
        match self {
            Consequence::Named => "named",
            Consequence::Talk => "talk",
            Consequence::Veto => "veto",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WatchEntry {
    pub org_id: Uuid,
    pub escalations: u64,
    /// 1 + the units with strictly more: equal counts share a rank, so a tie for third
    /// names every unit in it.
    pub rank: u32,
    pub in_top: bool,
    /// Consecutive weeks in the top, this one included.
    pub streak: u32,
    pub consequence: Option<Consequence>,
    /// For the veto: the year of the evaluation (the ISO year of the week).
    pub veto_year: Option<i32>,
    pub explanation: String,
}

/// Judges the last of `weeks` (oldest first, one per week; a missing week ends a streak) and
/// returns every unit that had an escalation in it, best rank first.
pub fn escalation_watch(weeks: &[WeekCounts], top: u32) -> Vec<WatchEntry> {
    let Some(judged) = weeks.last() else {
        return Vec::new();
    };
    let mut entries: Vec<WatchEntry> = judged
        .counts
        .iter()
        .filter_map(|(org, _)| {
            let (escalations, rank) = judged.rank_of(*org)?;
            let in_top = rank <= top;
            let mut streak = 0u32;
            let mut expected = judged.week_start;
            for week in weeks.iter().rev() {
                if week.week_start != expected || !week.in_top(*org, top) {
                    break;
                }
                streak += 1;
                expected = week.week_start - Duration::days(7);
            }
            let consequence = match streak {
                0 => None,
                1 => Some(Consequence::Named),
                2 => Some(Consequence::Talk),
                _ => Some(Consequence::Veto),
            };
            let veto_year = (consequence == Some(Consequence::Veto))
                .then(|| judged.week_start.iso_week().year());
            let mut explanation = format!("本周越级上访 {escalations} 人次，居全县第 {rank} 位");
            match consequence {
                None => explanation.push_str(&format!("，未进入前 {top} 名。")),
                Some(Consequence::Named) => {
                    explanation.push_str(&format!("，进入前 {top} 名，予以点名，须作出书面说明。"))
                }
                Some(Consequence::Talk) => explanation.push_str(&format!(
                    "；已连续 2 周居前 {top} 名，由县领导约谈单位主要负责人。"
                )),
                Some(Consequence::Veto) => explanation.push_str(&format!(
                    "；已连续 {streak} 周居前 {top} 名，{}年度考核一票否决。",
                    veto_year.unwrap_or_default()
                )),
            }
            Some(WatchEntry {
                org_id: *org,
                escalations,
                rank,
                in_top,
                streak,
                consequence,
                veto_year,
                explanation,
            })
        })
        .collect();
    entries.sort_by(|a, b| a.rank.cmp(&b.rank).then(a.org_id.cmp(&b.org_id)));
    entries
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn org(n: u8) -> Uuid {
        Uuid::from_u128(u128::from(n))
    }

    fn week(start: &str, counts: &[(u8, u64)]) -> WeekCounts {
        WeekCounts {
            week_start: day(start),
            counts: counts.iter().map(|(o, n)| (org(*o), *n)).collect(),
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(day("2026-11-26")), day("2026-11-23"));
        assert_eq!(week_start(day("2026-11-23")), day("2026-11-23"));
        assert_eq!(week_start(day("2027-01-03")), day("2026-12-28"));
    }

    #[test]
    fn streaks_run_across_the_new_year_to_a_veto() {
        // Unit 1 is in the top three three weeks running, the third week in 2027: a veto for
        // the evaluation year of that week (ISO 2027-W01 starts on 2027-01-04).
        let weeks = [
            week("2026-12-14", &[(1, 1), (2, 5), (3, 4), (4, 3), (5, 2)]),
            week("2026-12-21", &[(1, 3), (2, 1)]),
            week("2026-12-28", &[(1, 2), (2, 2), (3, 1)]),
            week("2027-01-04", &[(1, 4), (2, 4), (3, 1), (4, 1), (5, 5)]),
        ];
        let watch = escalation_watch(&weeks, 3);
        let by_org = |n: u8| watch.iter().find(|e| e.org_id == org(n)).unwrap();
        let one = by_org(1);
        assert_eq!((one.rank, one.streak), (2, 3));
        assert_eq!(one.consequence, Some(Consequence::Veto));
        assert_eq!(one.veto_year, Some(2027));
        assert!(
            one.explanation
                .contains("已连续 3 周居前 3 名，2027年度考核一票否决")
        );
        // Unit 1 was fourth in the first week: the streak does not reach back to it.
        // Unit 2: first, second, first (tied with unit 1), second: four weeks; still a veto.
        assert_eq!(by_org(2).streak, 4);
        // Unit 5: only this week: named.
        assert_eq!(by_org(5).consequence, Some(Consequence::Named));
        assert_eq!(by_org(5).rank, 1);
        // Units 3 and 4 share fourth place: not in the top.
        assert_eq!(by_org(3).rank, 4);
        assert!(!by_org(3).in_top);
        assert_eq!(by_org(3).consequence, None);
    }

    #[test]
    fn two_weeks_running_is_a_talk_and_a_tie_for_third_names_both() {
        let weeks = [
            week("2026-11-16", &[(1, 2), (2, 9)]),
            week("2026-11-23", &[(1, 3), (2, 9), (3, 5), (4, 3)]),
        ];
        let watch = escalation_watch(&weeks, 3);
        let one = watch.iter().find(|e| e.org_id == org(1)).unwrap();
        assert_eq!((one.rank, one.consequence), (3, Some(Consequence::Talk)));
        let four = watch.iter().find(|e| e.org_id == org(4)).unwrap();
        assert_eq!((four.rank, four.consequence), (3, Some(Consequence::Named)));
        assert_eq!(watch.first().unwrap().org_id, org(2));
    }

    #[test]
    fn a_missing_week_breaks_the_streak() {
        let weeks = [
            week("2026-11-09", &[(1, 2)]),
            // 2026-11-16 is missing: no data was kept for it.
            week("2026-11-23", &[(1, 3)]),
        ];
        let watch = escalation_watch(&weeks, 3);
        assert_eq!(watch[0].streak, 1);
    }
}
