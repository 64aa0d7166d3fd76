//! Petitions (信访事项) and their lifecycle under 《信访工作条例》: one explicit state machine in
//! which every transition checks who may take it, in which state and within which window, and
//! says what event it records; and the deadlines the regulation sets, computed on the shared
//! working calendar.

mod attachment;
mod deadline;
mod intake;
mod lifecycle;
mod repeat;

pub use attachment::{AttachmentKind, MAX_PER_PETITION, strip_metadata};
pub use deadline::{Deadline, DeadlineKind, DueStatus, Periods};
pub use intake::{
    Channel, GroupMatter, NewPetition, PetitionKind, Submission, normalise_query_code, query_code,
    tracking_number,
};
pub use lifecycle::{Action, ActionKind, Actor, Dates, Petition, Transition, TransitionError};
pub use repeat::{Earlier, RepeatFinding, find_repeat, similarity};

use serde::{Deserialize, Serialize};

/// Where a petition is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PetitionState {
    /// 登记: received and registered; to be disposed of within 15 days.
    Registered,
    /// 转送/交办: sent to a body that must say within 15 days whether it accepts.
    AwaitingAcceptance,
    /// 受理 and being handled; answered within 60 days (+ one extension of up to 30).
    InHandling,
    /// 答复: the handling opinion has been given; the citizen may rate it or ask for review.
    Answered,
    /// 复查: a review asked of the body one level up.
    UnderReview,
    /// The review has been decided; the citizen may ask for re-review.
    Reviewed,
    /// 复核: a re-review asked of the body above that.
    UnderReReview,
    /// The re-review has been decided: the same request on the same facts is not accepted again.
    ReReviewed,
    /// 不予受理, with a coded reason.
    NotAccepted,
    /// 诉访分离: diverted to litigation, arbitration, reconsideration…; leaves the timeline.
    Diverted,
    /// Withdrawn by the citizen.
    Withdrawn,
    /// 销号: crossed off as resolved.
    Closed,
}

impl PetitionState {
    /// No further transition but a supervisor's reopening.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PetitionState::NotAccepted
                | PetitionState::Diverted
                | PetitionState::Withdrawn
                | PetitionState::Closed
                | PetitionState::ReReviewed
        )
    }
}

/// The five checkpoints, handled as low as possible (信访工作前移).
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
pub enum Checkpoint {
    /// 1 村民小组: its head is the first responsible handler.
    VillagerGroup,
    /// 2 村委会
    VillageCommittee,
    /// 3 片区包点干部
    AreaCadre,
    /// 4 乡镇（街道）
    Township,
    /// 5 县直部门
    CountyDepartment,
}

impl Checkpoint {
    /// One checkpoint up; `None` at the top.
    pub fn above(self) -> Option<Checkpoint> {
        use Checkpoint::*;
        match self {
            VillagerGroup => Some(VillageCommittee),
            VillageCommittee => Some(AreaCadre),
            AreaCadre => Some(Township),
            Township => Some(CountyDepartment),
            CountyDepartment => None,
        }
    }
}

/// The three categories of the regulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatterCategory {
    /// 建议意见类
    Suggestion,
    /// 检举控告类: the accuser's identity never reaches the accused.
    Accusation,
    /// 申诉求决类
    Claim,
}

/// How the matter was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 诉求合理，解决问题
    Solved,
    /// 诉求无理，解释教育
    Explained,
    /// 生活困难，帮扶救助
    Assisted,
    /// 违法行为，依法处理
    HandledByLaw,
}

/// The citizen's satisfaction rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

/// Whether staff working in `scope` may see a petition: it happened in their subtree or is
/// handled there — unless it accuses their own organisation or one above it, which must never
/// see it (nor learn who accused it). The bodies above the accused supervise it and do see it.
pub fn staff_may_see(
    scope: &crate::identity::OrgScope,
    township_path: &str,
    handling_path: Option<&str>,
    accused_path: Option<&str>,
) -> bool {
    use crate::identity::OrgScope;
    if matches!(scope, OrgScope::All) {
        return true;
    }
    if let (OrgScope::Subtree(own), Some(accused)) = (scope, accused_path)
        && own.starts_with(accused)
    {
        return false;
    }
    scope.covers(township_path) || handling_path.is_some_and(|p| scope.covers(p))
}

#[cfg(test)]
mod visibility_tests {
    use super::*;
    use crate::identity::OrgScope;

    #[test]
    fn the_accused_never_sees_the_accusation() {
        let township = OrgScope::Subtree("/c/t1/".into());
        assert!(staff_may_see(&township, "/c/t1/", None, None));
        assert!(!staff_may_see(&township, "/c/t2/", None, None));
        assert!(
            staff_may_see(&township, "/c/t2/", Some("/c/t1/v1/"), None),
            "handled here"
        );
        assert!(
            staff_may_see(&township, "/c/t1/", None, Some("/c/t1/v3/")),
            "the township supervises an accused village"
        );
        assert!(
            !staff_may_see(&township, "/c/t1/", None, Some("/c/t1/")),
            "accuses the township itself"
        );
        let village = OrgScope::Subtree("/c/t1/v3/".into());
        assert!(
            !staff_may_see(&village, "/c/t1/", Some("/c/t1/v3/"), Some("/c/t1/")),
            "nor anyone below the accused"
        );
        let county = OrgScope::Subtree("/c/".into());
        assert!(
            staff_may_see(&county, "/c/t1/", None, Some("/c/t1/")),
            "the county supervises"
        );
        assert!(
            !staff_may_see(&county, "/c/t1/", None, Some("/c/")),
            "unless the county is accused"
        );
        assert!(staff_may_see(
            &OrgScope::All,
            "/c/t1/",
            None,
            Some("/c/t1/")
        ));
    }
}
