//! Repeat detection: the regulation does not accept again a matter already accepted or in
//! progress, nor the same request on the same facts after re-review. A new petition close to
//! an earlier one of the same petitioner, category and place is linked and flagged; staff
//! decide.

use uuid::Uuid;

use super::PetitionState;

/// An earlier petition of the same petitioner, category and place.
#[derive(Debug, Clone)]
pub struct Earlier<'a> {
    pub id: Uuid,
    pub state: PetitionState,
    pub text: &'a str,
}

/// What a new petition is, next to earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatFinding {
    New,
    /// The same matter is already accepted or in progress.
    Repeat {
        of: Uuid,
    },
    /// The same matter went through re-review: 不再受理.
    NotAcceptedAgain {
        of: Uuid,
    },
}

impl RepeatFinding {
    pub fn flag_reason(self) -> Option<&'static str> {
        match self {
            RepeatFinding::New => None,
            RepeatFinding::Repeat { .. } => Some("repeat"),
            RepeatFinding::NotAcceptedAgain { .. } => Some("not_accepted_again"),
        }
    }

    pub fn of(self) -> Option<Uuid> {
        match self {
            RepeatFinding::New => None,
            RepeatFinding::Repeat { of } | RepeatFinding::NotAcceptedAgain { of } => Some(of),
        }
    }
}

/// Texts this similar (character bigrams, Jaccard) are taken to be about the same matter.
pub const SAME_MATTER: f64 = 0.5;

/// Judges a new petition's text against the earlier ones.
pub fn find_repeat(text: &str, earlier: &[Earlier<'_>]) -> RepeatFinding {
    use PetitionState as S;
    let mut best: Option<(f64, &Earlier<'_>)> = None;
    for e in earlier {
        let counts = matches!(
            e.state,
            S::Registered
                | S::AwaitingAcceptance
                | S::InHandling
                | S::Answered
                | S::UnderReview
                | S::Reviewed
                | S::UnderReReview
                | S::ReReviewed
        );
        if !counts {
            continue;
        }
        let score = similarity(text, e.text);
        if score >= SAME_MATTER && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, e));
        }
    }
    match best {
        None => RepeatFinding::New,
        Some((_, e)) if e.state == S::ReReviewed => RepeatFinding::NotAcceptedAgain { of: e.id },
        Some((_, e)) => RepeatFinding::Repeat { of: e.id },
    }
}

/// Similarity of two texts in [0, 1]: the Jaccard index of their character bigrams, ignoring
/// whitespace and punctuation, which suits Chinese text without a word segmenter.
pub fn similarity(a: &str, b: &str) -> f64 {
    let bigrams = |s: &str| -> std::collections::HashSet<(char, char)> {
        let chars: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (x, y) = (bigrams(a), bigrams(b));
    let union = x.union(&y).count();
    if union == 0 {
        return 0.0;
    }
    x.intersection(&y).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROAD: &str =
        "村道路面破损请求维修\n官渡桥村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。";
    const ROAD_AGAIN: &str =
        "村道路面破损请求维修\n官渡桥村东头的道路破损严重，下雨积水，出行困难，请尽快维修！";
    const WAGES: &str = "农民工工资被拖欠\n某工地拖欠十二名农民工三个月工资，请求督促支付。";

    #[test]
    fn the_same_matter_in_other_words_is_recognised() {
        assert!(
            similarity(ROAD, ROAD_AGAIN) >= SAME_MATTER,
            "{}",
            similarity(ROAD, ROAD_AGAIN)
        );
        assert!(similarity(ROAD, WAGES) < 0.2);
        assert_eq!(similarity("", ""), 0.0);
    }

    #[test]
    fn open_matters_are_repeats_and_re_reviewed_ones_are_not_accepted_again() {
        let id = Uuid::now_v7();
        let open = [Earlier {
            id,
            state: PetitionState::InHandling,
            text: ROAD,
        }];
        assert_eq!(
            find_repeat(ROAD_AGAIN, &open),
            RepeatFinding::Repeat { of: id }
        );
        let done = [Earlier {
            id,
            state: PetitionState::ReReviewed,
            text: ROAD,
        }];
        assert_eq!(
            find_repeat(ROAD_AGAIN, &done),
            RepeatFinding::NotAcceptedAgain { of: id }
        );
        let closed = [Earlier {
            id,
            state: PetitionState::Closed,
            text: ROAD,
        }];
        assert_eq!(
            find_repeat(ROAD_AGAIN, &closed),
            RepeatFinding::New,
            "a resolved matter may come back"
        );
        let other = [Earlier {
            id,
            state: PetitionState::InHandling,
            text: WAGES,
        }];
        assert_eq!(find_repeat(ROAD, &other), RepeatFinding::New);
    }
}
