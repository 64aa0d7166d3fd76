//! Open311 GeoReport v2, the international standard for civic service requests: our petitions
//! as service requests. The standard knows two states and no timeline; ours map onto them here,
//! with the words `status_notes` gives and how a request becomes a petition.

use crate::petition::PetitionState;

/// `open` while a body still owes the petitioner something, `closed` once answered or ended.
pub fn status(state: PetitionState) -> &'static str {
    use PetitionState::*;
    match state {
        Registered | AwaitingAcceptance | InHandling | UnderReview | UnderReReview => "open",
        Answered | Reviewed | ReReviewed | NotAccepted | Diverted | Withdrawn | Closed => "closed",
    }
}

/// What the state means, for `status_notes`.
pub fn status_notes(state: PetitionState) -> &'static str {
    use PetitionState::*;
    match state {
        Registered => "已登记，15日内转送、交办或告知",
        AwaitingAcceptance => "已转送有权处理机关，15日内告知是否受理",
        InHandling => "已受理，60日内办结（经批准可延期30日）",
        Answered => "已答复，可在30日内评价或申请复查",
        UnderReview => "复查中，30日内作出复查意见",
        Reviewed => "已复查，可在30日内申请复核",
        UnderReReview => "复核中，30日内作出复核意见",
        ReReviewed => "已复核，同一事项不再受理",
        NotAccepted => "不予受理",
        Diverted => "已引导通过诉讼、仲裁、行政复议等法定途径解决",
        Withdrawn => "信访人已撤回",
        Closed => "已办结销号",
    }
}

/// What every request is told on arrival (`service_notice`): the regulation's clock.
pub const SERVICE_NOTICE: &str = "依据《信访工作条例》，信访事项自登记之日起15日内转送或交办，有权处理机关收到后15日内告知是否受理，受理后60日内办结。";

/// The standard has no title: the first line of the description, cut to 25 characters (the
/// petition rules then check it like any other).
pub fn title_of(description: &str) -> String {
    description
        .trim()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(25)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The petitioner's name from the standard's `first_name` and `last_name`: a Chinese name is
/// surname first, with no space; a Latin one keeps the given name first.
pub fn person_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let first = first.map(str::trim).filter(|s| !s.is_empty());
    let last = last.map(str::trim).filter(|s| !s.is_empty());
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    match (first, last) {
        (Some(f), Some(l)) if cjk(f) || cjk(l) => Some(format!("{l}{f}")),
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_open_or_closed_with_notes() {
        assert_eq!(status(PetitionState::InHandling), "open");
        assert_eq!(status(PetitionState::UnderReview), "open");
        assert_eq!(status(PetitionState::Answered), "closed");
        assert_eq!(status(PetitionState::Closed), "closed");
        assert!(status_notes(PetitionState::AwaitingAcceptance).contains("15日"));
    }

    #[test]
    fn a_title_is_the_first_line_cut_to_25_characters() {
        assert_eq!(title_of("路灯不亮\n已经一周了"), "路灯不亮");
        assert_eq!(title_of(&"长".repeat(40)).chars().count(), 25);
        assert_eq!(title_of("   "), "");
    }

    #[test]
    fn chinese_names_put_the_surname_first() {
        assert_eq!(person_name(Some("大明"), Some("王")), Some("王大明".into()));
        assert_eq!(
            person_name(Some("Ann"), Some("Lee")),
            Some("Ann Lee".into())
        );
        assert_eq!(person_name(None, Some("王大明")), Some("王大明".into()));
        assert_eq!(person_name(Some(" "), None), None);
    }
}
