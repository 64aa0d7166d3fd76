//! The monthly red/yellow/black flags (红黄黑旗) of the townships and streets: a weighted score
//! over the month's figures, less a deduction for abnormal escalations, ranked.
//!
//! The default weights follow what the county is held to: answering on time and to the
//! citizen's satisfaction carry half the score (25 each); reopenings (15) and returns (10) mark
//! work that had to be done twice; on-time disposal and acceptance notices (10 each) are the
//! regulation's first deadlines; the online share (5) is the "让数据多跑腿" goal; every abnormal
//! escalation costs 2 points, at most 20, since the weekly watch already names the worst.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Metric, Period, RawCounts};
use crate::{DomainError, Text};

/// A term of the score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringTerm {
    pub metric: Metric,
    pub weight: f64,
}

/// How the flags are given: configuration (`statistics.flags`), with the defaults above.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FlagScoring {
    pub terms: Vec<ScoringTerm>,
    /// Points taken off per abnormal escalation in the month, and at most.
    pub escalation_penalty: f64,
    pub escalation_cap: f64,
    /// The best `red_count` units carry a red flag, if they score at least `red_min_score`.
    pub red_count: usize,
    pub red_min_score: f64,
    /// The worst `black_count` units, and any unit under `black_below`, carry a black flag.
    pub black_count: usize,
    pub black_below: f64,
}

impl Default for FlagScoring {
    fn default() -> Self {
        let t = |metric, weight| ScoringTerm { metric, weight };
        Self {
            terms: vec![
                t(Metric::OnTimeDisposal, 10.0),
                t(Metric::OnTimeAcceptance, 10.0),
                t(Metric::OnTimeAnswer, 25.0),
                t(Metric::Satisfaction, 25.0),
                t(Metric::OnlineShare, 5.0),
                t(Metric::ReturnRate, 10.0),
                t(Metric::ReopenRate, 15.0),
            ],
            escalation_penalty: 2.0,
            escalation_cap: 20.0,
            red_count: 3,
            red_min_score: 85.0,
            black_count: 2,
            black_below: 60.0,
        }
    }
}

/// Rates where less is better.
fn lower_is_better(metric: Metric) -> bool {
    matches!(
        metric,
        Metric::ReturnRate | Metric::ReopenRate | Metric::RepeatRate
    )
}

impl FlagScoring {
    /// Refuses weights that cannot give a score.
    pub fn check(&self) -> Result<(), DomainError> {
        let bad = |en: &'static str| {
            Err(DomainError::invalid(
                "statistics.flags",
                "invalid_flag_scoring",
                Text::new("红黄黑旗评分配置无效", en),
            ))
        };
        if self.terms.is_empty()
            || self
                .terms
                .iter()
                .any(|t| t.weight.is_nan() || t.weight < 0.0)
        {
            return bad("every term needs a weight of zero or more, and there must be one");
        }
        if self.terms.iter().map(|t| t.weight).sum::<f64>() <= 0.0 {
            return bad("the weights add up to nothing");
        }
        if [self.escalation_penalty, self.escalation_cap]
            .iter()
            .any(|x| x.is_nan() || *x < 0.0)
        {
            return bad("the escalation deduction cannot be negative");
        }
        Ok(())
    }
}

/// One township's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFigures {
    pub org_id: Uuid,
    pub name: String,
    pub counts: RawCounts,
    pub escalations: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Red,
    Yellow,
    Black,
}

impl Flag {
    pub fn zh(self) -> &'static str {
        match self {
            Flag::Red => "红旗",
            Flag::Yellow => "黄旗",
            Flag::Black => "黑旗",
        }
    }
}

/// A term as scored, with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TermScore {
    pub metric: Metric,
    pub weight: f64,
    /// The unit's own rate, when it had anything to count.
    pub value: Option<f64>,
    pub numerator: u64,
    pub denominator: u64,
    /// The rate the score used: its own, else the county's (neither helped nor hurt), else full
    /// marks (nobody had anything to count).
    pub used: f64,
    pub points: f64,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RankedUnit {
    pub org_id: Uuid,
    pub name: String,
    /// 0..100, two decimals.
    pub score: f64,
    /// 1 is best; equal scores share the better rank.
    pub rank: u32,
    pub flag: Flag,
    pub terms: Vec<TermScore>,
    pub escalations: u64,
    pub escalation_deduction: f64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Scores and ranks the units; `county` is the whole county's month, used for a unit that had
/// nothing to count on a term.
pub fn rank_townships(
    units: &[UnitFigures],
    county: &RawCounts,
    scoring: &FlagScoring,
) -> Vec<RankedUnit> {
    let total_weight: f64 = scoring.terms.iter().map(|t| t.weight).sum();
    let mut ranked: Vec<RankedUnit> = units
        .iter()
        .map(|u| {
            let terms: Vec<TermScore> = scoring
                .terms
                .iter()
                .map(|t| score_term(t, &u.counts, county))
                .collect();
            let earned: f64 = terms.iter().map(|t| t.points).sum();
            let base = if total_weight > 0.0 {
                earned / total_weight * 100.0
            } else {
                0.0
            };
            let deduction =
                (u.escalations as f64 * scoring.escalation_penalty).min(scoring.escalation_cap);
            RankedUnit {
                org_id: u.org_id,
                name: u.name.clone(),
                score: round2((base - deduction).max(0.0)),
                rank: 0,
                flag: Flag::Yellow,
                terms,
                escalations: u.escalations,
                escalation_deduction: round2(deduction),
            }
        })
        .collect();
    let scores: Vec<f64> = ranked.iter().map(|r| r.score).collect();
    let n = ranked.len();
    for r in &mut ranked {
        let better = scores.iter().filter(|s| **s > r.score).count();
        r.rank = u32::try_from(better + 1).unwrap_or(u32::MAX);
        let rank = better + 1;
        r.flag = if rank <= scoring.red_count && r.score >= scoring.red_min_score {
            Flag::Red
        } else if rank + scoring.black_count > n || r.score < scoring.black_below {
            Flag::Black
        } else {
            Flag::Yellow
        };
    }
    ranked.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.name.cmp(&b.name)));
    ranked
}

fn score_term(term: &ScoringTerm, own: &RawCounts, county: &RawCounts) -> TermScore {
    let rate = own.rate(term.metric);
    let county_rate = county.rate(term.metric);
    let lower = lower_is_better(term.metric);
    let name = term.metric.definition().name;
    let (used, source) = match (rate.value, county_rate.value) {
        (Some(v), _) => (
            v,
            format!("{}（{}/{}）", pct(v), rate.numerator, rate.denominator),
        ),
        (None, Some(c)) => (c, format!("本期无可计件数，按全县 {} 计", pct(c))),
        (None, None) => (
            if lower { 0.0 } else { 1.0 },
            "全县本期均无可计件数，计满分".to_owned(),
        ),
    };
    let share = if lower { 1.0 - used } else { used };
    let points = round2(term.weight * share.clamp(0.0, 1.0));
    TermScore {
        metric: term.metric,
        weight: term.weight,
        value: rate.value,
        numerator: rate.numerator,
        denominator: rate.denominator,
        used,
        points,
        explanation: format!(
            "{name}{source}，{}，权重 {}，得 {:.2} 分",
            if lower {
                "越低越好"
            } else {
                "越高越好"
            },
            term.weight,
            points
        ),
    }
}

/// The county-wide notice naming the black-flag units, with what cost each its points; `None`
/// when no unit carries one.
pub fn black_flag_notice(month: Period, ranked: &[RankedUnit]) -> Option<String> {
    let black: Vec<&RankedUnit> = ranked.iter().filter(|r| r.flag == Flag::Black).collect();
    if black.is_empty() {
        return None;
    }
    let mut text = format!(
        "关于{}年{}月全县乡镇（街道）信访工作黑旗单位的通报\n\n各乡镇（街道）：\n\n\
         根据{}年{}月信访工作考评结果，现将被评为黑旗的单位通报如下：\n\n",
        month.from.format("%Y"),
        month.from.format("%-m"),
        month.from.format("%Y"),
        month.from.format("%-m"),
    );
    for (i, unit) in black.iter().enumerate() {
        let mut losses: Vec<&TermScore> = unit.terms.iter().collect();
        losses.sort_by(|a, b| (b.weight - b.points).total_cmp(&(a.weight - a.points)));
        let mut reasons: Vec<String> = losses
            .iter()
            .take(2)
            .filter(|t| t.weight - t.points > 0.0)
            .map(|t| {
                format!(
                    "{} {}（失 {:.2} 分）",
                    t.metric.definition().name,
                    pct(t.used),
                    t.weight - t.points
                )
            })
            .collect();
        if unit.escalations > 0 {
            reasons.push(format!(
                "越级上访 {} 人次（扣 {:.2} 分）",
                unit.escalations, unit.escalation_deduction
            ));
        }
        text.push_str(&format!(
            "{}. {}：得分 {:.2}，全县第 {} 名。主要失分：{}。\n",
            i + 1,
            unit.name,
            unit.score,
            unit.rank,
            if reasons.is_empty() {
                "无".to_owned()
            } else {
                reasons.join("；")
            }
        ));
    }
    text.push_str(
        "\n请以上单位主要负责人高度重视，于5个工作日内向县信访工作联席会议办公室书面说明原因，\
         提出整改措施并抓好落实。\n",
    );
    Some(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn counts(answer_on_time: u64, answer_due: u64, satisfied: u64, rated: u64) -> RawCounts {
        RawCounts {
            answer_on_time,
            answer_due,
            satisfied,
            rated,
            ..RawCounts::default()
        }
    }

    fn scoring() -> FlagScoring {
        FlagScoring {
            terms: vec![
                ScoringTerm {
                    metric: Metric::OnTimeAnswer,
                    weight: 50.0,
                },
                ScoringTerm {
                    metric: Metric::Satisfaction,
                    weight: 50.0,
                },
            ],
            escalation_penalty: 2.0,
            escalation_cap: 20.0,
            red_count: 1,
            red_min_score: 85.0,
            black_count: 1,
            black_below: 60.0,
        }
    }

    fn unit(n: u8, counts: RawCounts, escalations: u64) -> UnitFigures {
        UnitFigures {
            org_id: Uuid::from_u128(u128::from(n)),
            name: format!("镇{n}"),
            counts,
            escalations,
        }
    }

    #[test]
    fn scores_are_weighted_rates_less_escalations_worked_by_hand() {
        let units = [
            // 9/10 on time, 4/4 satisfied: 45 + 50 = 95.
            unit(1, counts(9, 10, 4, 4), 0),
            // 1/2 on time, 3/4 satisfied: 25 + 37.5 = 62.5, less 2 escalations × 2 = 58.5.
            unit(2, counts(1, 2, 3, 4), 2),
            // Nothing due, nothing rated: the county's rates (10/12, 7/8): 41.67 + 43.75 = 85.42.
            unit(3, counts(0, 0, 0, 0), 0),
            // 3/4 on time, 1/2 satisfied: 37.5 + 25 = 62.5.
            unit(4, counts(3, 4, 1, 2), 0),
        ];
        // The county's own month, which a unit without data takes: 10/12 on time, 7/8 satisfied.
        let county = counts(10, 12, 7, 8);
        let ranked = rank_townships(&units, &county, &scoring());
        let by_name: Vec<(&str, f64, u32, Flag)> = ranked
            .iter()
            .map(|r| (r.name.as_str(), r.score, r.rank, r.flag))
            .collect();
        assert_eq!(
            by_name,
            [
                ("镇1", 95.0, 1, Flag::Red),
                ("镇3", 85.42, 2, Flag::Yellow),
                ("镇4", 62.5, 3, Flag::Yellow),
                // Last, and under 60.
                ("镇2", 58.5, 4, Flag::Black),
            ]
        );
        let two = ranked.iter().find(|r| r.name == "镇2").unwrap();
        assert_eq!(two.escalation_deduction, 4.0);
        assert!(two.terms[0].explanation.contains("50.0%（1/2）"));
        let three = ranked.iter().find(|r| r.name == "镇3").unwrap();
        assert!(three.terms[0].explanation.contains("按全县 83.3% 计"));
    }

    #[test]
    fn equal_scores_share_the_better_rank_and_the_cap_holds() {
        let units = [
            unit(1, counts(1, 1, 1, 1), 0),
            unit(2, counts(1, 1, 1, 1), 0),
            unit(3, counts(1, 1, 1, 1), 30),
        ];
        let ranked = rank_townships(&units, &counts(3, 3, 3, 3), &scoring());
        assert_eq!(ranked[0].rank, 1);
        assert_eq!(ranked[1].rank, 1);
        // 100 less at most 20.
        assert_eq!((ranked[2].score, ranked[2].rank), (80.0, 3));
        assert_eq!(ranked[2].flag, Flag::Black);
        // Both firsts are red: a tie is not broken by the alphabet.
        assert_eq!(ranked[0].flag, Flag::Red);
        assert_eq!(ranked[1].flag, Flag::Red);
    }

    #[test]
    fn lower_is_better_rates_score_their_complement() {
        let mut s = scoring();
        s.terms = vec![ScoringTerm {
            metric: Metric::ReturnRate,
            weight: 10.0,
        }];
        let c = RawCounts {
            returned: 1,
            sent: 4,
            ..RawCounts::default()
        };
        let ranked = rank_townships(&[unit(1, c, 0)], &c, &s);
        assert_eq!(ranked[0].score, 75.0);
        assert_eq!(ranked[0].terms[0].points, 7.5);
    }

    #[test]
    fn the_notice_names_black_units_and_what_cost_them() {
        let units = [
            unit(1, counts(9, 10, 4, 4), 0),
            unit(2, counts(1, 2, 3, 4), 2),
        ];
        let ranked = rank_townships(&units, &counts(10, 12, 7, 8), &scoring());
        let month = super::super::month_of("2026-10-15".parse().unwrap());
        let text = black_flag_notice(month, &ranked).unwrap();
        assert!(text.starts_with("关于2026年10月全县乡镇（街道）信访工作黑旗单位的通报"));
        assert!(text.contains("镇2：得分 58.50，全县第 2 名"));
        assert!(text.contains("按期答复率 50.0%（失 25.00 分）"));
        assert!(text.contains("越级上访 2 人次（扣 4.00 分）"));
        assert!(!text.contains("镇1"));
        let all_red = rank_townships(&units[..1], &counts(9, 10, 4, 4), &scoring());
        assert_eq!(black_flag_notice(month, &all_red), None);
    }

    #[test]
    fn impossible_scorings_are_refused() {
        let mut s = FlagScoring::default();
        assert!(s.check().is_ok());
        assert_eq!(
            FlagScoring::default()
                .terms
                .iter()
                .map(|t| t.weight)
                .sum::<f64>(),
            100.0
        );
        s.terms[0].weight = -1.0;
        assert!(s.check().is_err());
        s.terms.clear();
        assert!(s.check().is_err());
    }
}
