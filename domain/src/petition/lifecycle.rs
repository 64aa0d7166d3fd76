//! The state machine. `Petition::apply` is the only way a petition changes state: it checks the
//! actor, the state and the window, and returns the new petition with the event to record.

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::deadline::{Deadline, DeadlineKind, Periods, calendar_days};
use super::{Checkpoint, MatterCategory, Outcome, PetitionState, Rating};
use crate::calendar::WorkCalendar;
use crate::identity::{Role, Roles};
use crate::{DomainError, Text};

/// The dates the rules count from (local calendar days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dates {
    pub registered_on: Option<NaiveDate>,
    /// Sent to the body that must accept (转送/交办/下转).
    pub sent_on: Option<NaiveDate>,
    pub accepted_on: Option<NaiveDate>,
    pub answered_on: Option<NaiveDate>,
    pub review_requested_on: Option<NaiveDate>,
    pub review_decided_on: Option<NaiveDate>,
    pub rereview_requested_on: Option<NaiveDate>,
    pub rereview_decided_on: Option<NaiveDate>,
}

/// What the rules need to know about a petition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Petition {
    pub state: PetitionState,
    pub category: MatterCategory,
    pub checkpoint: Checkpoint,
    pub dates: Dates,
    /// Days of the one extension, once granted.
    pub extension_days: Option<u32>,
    pub rating: Option<Rating>,
    /// Some matter kinds are not rated (the taxonomy says which).
    pub rateable: bool,
    /// The citizen who submitted it (none for an anonymous letter).
    pub owner: Option<Uuid>,
    /// For an accusation: the organisation accused, which may never receive it.
    pub accused_org: Option<Uuid>,
    /// The body that has it now.
    pub handling_org: Option<Uuid>,
}

impl Petition {
    /// A petition just registered on `today`.
    pub fn registered(
        category: MatterCategory,
        checkpoint: Checkpoint,
        owner: Option<Uuid>,
        today: NaiveDate,
    ) -> Self {
        Self {
            state: PetitionState::Registered,
            category,
            checkpoint,
            dates: Dates {
                registered_on: Some(today),
                ..Dates::default()
            },
            extension_days: None,
            rating: None,
            rateable: true,
            owner,
            accused_org: None,
            handling_org: None,
        }
    }
}

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Citizen { id: Uuid },
    Staff { roles: Roles },
}

/// What can be done to a petition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 转送 to the competent body.
    Forward {
        to_org: Uuid,
    },
    /// 交办 with a report-back date.
    Assign {
        to_org: Uuid,
        report_by: NaiveDate,
    },
    /// 逐级下转: handed down the levels (属地管理、分级负责).
    HandDown {
        to_org: Uuid,
    },
    /// 诉访分离: to a legal procedure.
    Divert {
        procedure: String,
    },
    /// 不予受理, at registration or by the receiving body, with a coded reason.
    Refuse {
        reason_code: String,
    },
    /// 受理
    Accept,
    /// 回退: the receiving body says the matter is not its own.
    Object {
        reason: String,
    },
    /// One checkpoint up, with a reason.
    Escalate {
        reason: String,
    },
    /// The one extension, approved by a leader.
    Extend {
        days: u32,
        approver: Uuid,
        reason: String,
    },
    /// 答复 with the handling opinion.
    Answer {
        outcome: Outcome,
    },
    Rate {
        rating: Rating,
    },
    RequestReview,
    DecideReview,
    RequestReReview,
    DecideReReview,
    /// 重办 by a supervisor.
    Reopen {
        reason: String,
    },
    /// 销号
    Close,
    Withdraw,
}

/// The name of an action, for "what may be done now".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Forward,
    Assign,
    HandDown,
    Divert,
    Refuse,
    Accept,
    Object,
    Escalate,
    Extend,
    Answer,
    Rate,
    RequestReview,
    DecideReview,
    RequestReReview,
    DecideReReview,
    Reopen,
    Close,
    Withdraw,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        use ActionKind::*;
        match self {
            Forward => "forward",
            Assign => "assign",
            HandDown => "hand_down",
            Divert => "divert",
            Refuse => "refuse",
            Accept => "accept",
            Object => "object",
            Escalate => "escalate",
            Extend => "extend",
            Answer => "answer",
            Rate => "rate",
            RequestReview => "request_review",
            DecideReview => "decide_review",
            RequestReReview => "request_rereview",
            DecideReReview => "decide_rereview",
            Reopen => "reopen",
            Close => "close",
            Withdraw => "withdraw",
        }
    }

    /// In which states the action exists at all.
    fn source_states(self) -> &'static [PetitionState] {
        use ActionKind::*;
        use PetitionState as S;
        match self {
            Forward | Assign | HandDown | Divert => &[S::Registered],
            Refuse => &[S::Registered, S::AwaitingAcceptance],
            Accept | Object => &[S::AwaitingAcceptance],
            Escalate => &[S::AwaitingAcceptance, S::InHandling],
            Extend | Answer => &[S::InHandling],
            Rate => &[S::Answered, S::Reviewed, S::ReReviewed, S::Closed],
            RequestReview => &[S::Answered],
            DecideReview => &[S::UnderReview],
            RequestReReview => &[S::Reviewed],
            DecideReReview => &[S::UnderReReview],
            Reopen => &[S::Answered, S::Reviewed, S::Closed],
            Close => &[S::Answered, S::Reviewed, S::ReReviewed],
            Withdraw => &[S::Registered, S::AwaitingAcceptance, S::InHandling],
        }
    }

    /// Who may take it: the owning citizen, or staff holding one of these roles.
    fn takers(self) -> Taker {
        use ActionKind::*;
        match self {
            Forward | Assign | HandDown | Divert => Taker::Staff(&[Role::Registrar]),
            Refuse => Taker::Staff(&[Role::Registrar, Role::Handler]),
            Accept | Object | Escalate | Extend | Answer => Taker::Staff(&[Role::Handler]),
            DecideReview | DecideReReview | Reopen | Close => Taker::Staff(&[Role::Supervisor]),
            Rate | RequestReview | RequestReReview | Withdraw => Taker::Owner,
        }
    }

    pub const ALL: [ActionKind; 18] = [
        ActionKind::Forward,
        ActionKind::Assign,
        ActionKind::HandDown,
        ActionKind::Divert,
        ActionKind::Refuse,
        ActionKind::Accept,
        ActionKind::Object,
        ActionKind::Escalate,
        ActionKind::Extend,
        ActionKind::Answer,
        ActionKind::Rate,
        ActionKind::RequestReview,
        ActionKind::DecideReview,
        ActionKind::RequestReReview,
        ActionKind::DecideReReview,
        ActionKind::Reopen,
        ActionKind::Close,
        ActionKind::Withdraw,
    ];
}

enum Taker {
    Owner,
    Staff(&'static [Role]),
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Forward { .. } => ActionKind::Forward,
            Action::Assign { .. } => ActionKind::Assign,
            Action::HandDown { .. } => ActionKind::HandDown,
            Action::Divert { .. } => ActionKind::Divert,
            Action::Refuse { .. } => ActionKind::Refuse,
            Action::Accept => ActionKind::Accept,
            Action::Object { .. } => ActionKind::Object,
            Action::Escalate { .. } => ActionKind::Escalate,
            Action::Extend { .. } => ActionKind::Extend,
            Action::Answer { .. } => ActionKind::Answer,
            Action::Rate { .. } => ActionKind::Rate,
            Action::RequestReview => ActionKind::RequestReview,
            Action::DecideReview => ActionKind::DecideReview,
            Action::RequestReReview => ActionKind::RequestReReview,
            Action::DecideReReview => ActionKind::DecideReReview,
            Action::Reopen { .. } => ActionKind::Reopen,
            Action::Close => ActionKind::Close,
            Action::Withdraw => ActionKind::Withdraw,
        }
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    /// Not possible in this state (HTTP 409); `allowed` lists what is possible now.
    NotAllowedNow {
        state: PetitionState,
        allowed: Vec<ActionKind>,
    },
    /// The window for it closed on `deadline` (HTTP 422).
    OutsideWindow {
        action: ActionKind,
        deadline: NaiveDate,
    },
    /// This actor may not take it (HTTP 403).
    NotPermitted { action: ActionKind },
    /// A rule of the action itself (HTTP 422 or 409).
    Rule(DomainError),
}

impl From<TransitionError> for DomainError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowedNow { state, allowed } => {
                let list: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
                DomainError::Conflict {
                    code: "invalid_transition",
                    message: Text::owned(
                        format!(
                            "当前状态（{state:?}）不能执行该操作；现在可以：{}",
                            list.join("、")
                        ),
                        format!(
                            "not possible in state {state:?}; possible now: {}",
                            list.join(", ")
                        ),
                    ),
                }
            }
            TransitionError::OutsideWindow { action, deadline } => DomainError::invalid(
                action.as_str(),
                "outside_window",
                Text::owned(
                    format!("该操作须在 {deadline} 之前（含当日）提出，已逾期"),
                    format!("this had to be done by {deadline} (inclusive); the window has closed"),
                ),
            ),
            TransitionError::NotPermitted { action } => DomainError::Forbidden {
                code: "transition_not_permitted",
                message: Text::owned(
                    format!("无权执行操作 {}", action.as_str()),
                    format!("you may not {}", action.as_str()),
                ),
            },
            TransitionError::Rule(e) => e,
        }
    }
}

/// The outcome of an accepted action: the petition as it now is, and the event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub petition: Petition,
    pub from: PetitionState,
    /// Stable event name, such as `forwarded` or `review_decided`.
    pub event: &'static str,
    /// Whether the citizen's timeline shows it.
    pub public: bool,
}

/// Refuses an action taken after the last day of its window (`from` + `days` calendar days).
fn within(
    action: ActionKind,
    from: NaiveDate,
    days: u32,
    today: NaiveDate,
    cal: &WorkCalendar,
) -> Result<(), TransitionError> {
    let deadline = calendar_days(cal, from, days);
    if today > deadline {
        return Err(TransitionError::OutsideWindow { action, deadline });
    }
    Ok(())
}

fn rule(code: &'static str, zh: &'static str, en: &'static str) -> TransitionError {
    TransitionError::Rule(DomainError::invalid("action", code, Text::new(zh, en)))
}

impl Petition {
    /// The actions this state allows, whoever asks.
    pub fn allowed(&self) -> Vec<ActionKind> {
        ActionKind::ALL
            .into_iter()
            .filter(|k| k.source_states().contains(&self.state))
            .filter(|k| *k != ActionKind::Rate || (self.rateable && self.rating.is_none()))
            .filter(|k| *k != ActionKind::Extend || self.extension_days.is_none())
            .filter(|k| *k != ActionKind::Escalate || self.checkpoint.above().is_some())
            .collect()
    }

    /// Applies `action` by `actor` on `today`, or says why not.
    pub fn apply(
        &self,
        actor: &Actor,
        action: &Action,
        today: NaiveDate,
        cal: &WorkCalendar,
        periods: &Periods,
    ) -> Result<Transition, TransitionError> {
        let kind = action.kind();
        if !kind.source_states().contains(&self.state) {
            return Err(TransitionError::NotAllowedNow {
                state: self.state,
                allowed: self.allowed(),
            });
        }
        match (kind.takers(), actor) {
            (Taker::Owner, Actor::Citizen { id }) if self.owner == Some(*id) => {}
            (Taker::Staff(roles), Actor::Staff { roles: held }) if held.has_any(roles) => {}
            _ => return Err(TransitionError::NotPermitted { action: kind }),
        }
        let mut next = self.clone();
        let d = &mut next.dates;
        use PetitionState as S;
        let (to, event, public) = match action {
            Action::Forward { to_org }
            | Action::Assign { to_org, .. }
            | Action::HandDown { to_org } => {
                if self.category == MatterCategory::Accusation && self.accused_org == Some(*to_org)
                {
                    return Err(rule(
                        "accused_may_not_receive",
                        "检举控告事项不得转交被检举控告的组织",
                        "an accusation may not be sent to the organisation it accuses",
                    ));
                }
                if let Action::Assign { report_by, .. } = action
                    && *report_by <= today
                {
                    return Err(rule(
                        "report_by_in_the_past",
                        "交办的报告期限须晚于今天",
                        "the report-back date must be after today",
                    ));
                }
                next.handling_org = Some(*to_org);
                d.sent_on = Some(today);
                let event = match kind {
                    ActionKind::Forward => "forwarded",
                    ActionKind::Assign => "assigned",
                    _ => "handed_down",
                };
                (S::AwaitingAcceptance, event, true)
            }
            Action::Divert { .. } => (S::Diverted, "diverted", true),
            Action::Refuse { reason_code } => {
                if reason_code.trim().is_empty() {
                    return Err(rule(
                        "reason_required",
                        "不予受理须说明理由",
                        "a refusal needs a reason code",
                    ));
                }
                (S::NotAccepted, "not_accepted", true)
            }
            Action::Accept => {
                d.accepted_on = Some(today);
                (S::InHandling, "accepted", true)
            }
            Action::Object { .. } => {
                let sent = self.dates.sent_on.unwrap_or(today);
                let last = cal.working_deadline(sent, periods.object_working_days);
                if today > last {
                    return Err(TransitionError::OutsideWindow {
                        action: kind,
                        deadline: last,
                    });
                }
                next.handling_org = None;
                d.sent_on = None;
                (S::Registered, "returned", false)
            }
            Action::Escalate { .. } => {
                let Some(up) = self.checkpoint.above() else {
                    return Err(rule(
                        "already_at_the_top",
                        "已在最高一关",
                        "already at the highest checkpoint",
                    ));
                };
                next.checkpoint = up;
                (self.state, "escalated", false)
            }
            Action::Extend { days, .. } => {
                if self.extension_days.is_some() {
                    return Err(TransitionError::Rule(DomainError::Conflict {
                        code: "already_extended",
                        message: Text::new("只能延期一次", "a petition can be extended only once"),
                    }));
                }
                if !(1..=periods.max_extension).contains(days) {
                    return Err(rule(
                        "extension_too_long",
                        "延期不得超过 30 日",
                        "an extension is 1 to 30 days",
                    ));
                }
                next.extension_days = Some(*days);
                (S::InHandling, "extended", true)
            }
            Action::Answer { .. } => {
                d.answered_on = Some(today);
                (S::Answered, "answered", true)
            }
            Action::Rate { rating } => {
                if !self.rateable {
                    return Err(rule(
                        "not_rateable",
                        "该类事项不参与满意度评价",
                        "this kind of matter is not rated",
                    ));
                }
                if self.rating.is_some() {
                    return Err(TransitionError::Rule(DomainError::Conflict {
                        code: "already_rated",
                        message: Text::new("已经评价过", "already rated"),
                    }));
                }
                within(
                    kind,
                    self.dates.answered_on.unwrap_or(today),
                    periods.rate,
                    today,
                    cal,
                )?;
                next.rating = Some(*rating);
                (self.state, "rated", true)
            }
            Action::RequestReview => {
                within(
                    kind,
                    self.dates.answered_on.unwrap_or(today),
                    periods.ask_review,
                    today,
                    cal,
                )?;
                d.review_requested_on = Some(today);
                (S::UnderReview, "review_requested", true)
            }
            Action::DecideReview => {
                d.review_decided_on = Some(today);
                (S::Reviewed, "review_decided", true)
            }
            Action::RequestReReview => {
                within(
                    kind,
                    self.dates.review_decided_on.unwrap_or(today),
                    periods.ask_review,
                    today,
                    cal,
                )?;
                d.rereview_requested_on = Some(today);
                (S::UnderReReview, "rereview_requested", true)
            }
            Action::DecideReReview => {
                d.rereview_decided_on = Some(today);
                (S::ReReviewed, "rereview_decided", true)
            }
            Action::Reopen { reason } => {
                if reason.trim().is_empty() {
                    return Err(rule(
                        "reason_required",
                        "重办须说明理由",
                        "reopening needs a reason",
                    ));
                }
                // Handling starts again: a new answer period from today.
                d.accepted_on = Some(today);
                d.answered_on = None;
                next.extension_days = None;
                next.rating = None;
                (S::InHandling, "reopened", true)
            }
            Action::Close => (S::Closed, "closed", true),
            Action::Withdraw => (S::Withdrawn, "withdrawn", true),
        };
        next.state = to;
        Ok(Transition {
            petition: next,
            from: self.state,
            event,
            public,
        })
    }

    /// The staff obligation that is due next, if any.
    pub fn next_deadline(&self, cal: &WorkCalendar, periods: &Periods) -> Option<Deadline> {
        use PetitionState as S;
        let (kind, from, days) = match self.state {
            S::Registered => (
                DeadlineKind::Dispose,
                self.dates.registered_on?,
                periods.dispose,
            ),
            S::AwaitingAcceptance => (
                DeadlineKind::DecideAcceptance,
                self.dates.sent_on?,
                periods.accept,
            ),
            S::InHandling => (
                DeadlineKind::Answer,
                self.dates.accepted_on?,
                periods.answer + self.extension_days.unwrap_or(0),
            ),
            S::UnderReview => (
                DeadlineKind::DecideReview,
                self.dates.review_requested_on?,
                periods.decide_review,
            ),
            S::UnderReReview => (
                DeadlineKind::DecideReReview,
                self.dates.rereview_requested_on?,
                periods.decide_review,
            ),
            _ => return None,
        };
        Some(Deadline {
            kind,
            last_day: calendar_days(cal, from, days),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn staff(roles: &[Role]) -> Actor {
        Actor::Staff {
            roles: Roles::new(roles.to_vec()),
        }
    }

    struct World {
        cal: WorkCalendar,
        periods: Periods,
        citizen: Uuid,
    }

    impl World {
        fn new() -> Self {
            Self {
                cal: WorkCalendar::new((1..=7).map(|day| d(10, day)), [d(9, 27), d(10, 10)]),
                periods: Periods::default(),
                citizen: Uuid::now_v7(),
            }
        }

        fn act(
            &self,
            p: &Petition,
            actor: &Actor,
            action: Action,
            today: NaiveDate,
        ) -> Result<Petition, TransitionError> {
            p.apply(actor, &action, today, &self.cal, &self.periods)
                .map(|t| t.petition)
        }
    }

    #[test]
    fn the_whole_road_from_registration_to_re_review() {
        let w = World::new();
        let me = Actor::Citizen { id: w.citizen };
        let org = Uuid::now_v7();
        let p = Petition::registered(
            MatterCategory::Claim,
            Checkpoint::Township,
            Some(w.citizen),
            d(11, 2),
        );
        assert_eq!(
            p.next_deadline(&w.cal, &w.periods).unwrap().last_day,
            d(11, 17)
        );
        let p = w
            .act(
                &p,
                &staff(&[Role::Registrar]),
                Action::Forward { to_org: org },
                d(11, 3),
            )
            .unwrap();
        assert_eq!(p.state, PetitionState::AwaitingAcceptance);
        let p = w
            .act(&p, &staff(&[Role::Handler]), Action::Accept, d(11, 5))
            .unwrap();
        // 60 days from 5 November is Monday 4 January 2027.
        assert_eq!(
            p.next_deadline(&w.cal, &w.periods).unwrap().last_day,
            NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()
        );
        let leader = Uuid::now_v7();
        let p = w
            .act(
                &p,
                &staff(&[Role::Handler]),
                Action::Extend {
                    days: 30,
                    approver: leader,
                    reason: "复杂".into(),
                },
                d(12, 1),
            )
            .unwrap();
        assert_eq!(
            p.next_deadline(&w.cal, &w.periods).unwrap().last_day,
            NaiveDate::from_ymd_opt(2027, 2, 3).unwrap()
        );
        let p = w
            .act(
                &p,
                &staff(&[Role::Handler]),
                Action::Answer {
                    outcome: Outcome::Solved,
                },
                d(12, 10),
            )
            .unwrap();
        let p = w
            .act(
                &p,
                &me,
                Action::Rate {
                    rating: Rating::Dissatisfied,
                },
                d(12, 11),
            )
            .unwrap();
        let p = w.act(&p, &me, Action::RequestReview, d(12, 20)).unwrap();
        assert_eq!(p.state, PetitionState::UnderReview);
        let p = w
            .act(
                &p,
                &staff(&[Role::Supervisor]),
                Action::DecideReview,
                d(12, 28),
            )
            .unwrap();
        let p = w.act(&p, &me, Action::RequestReReview, d(12, 29)).unwrap();
        let p = w
            .act(
                &p,
                &staff(&[Role::Supervisor]),
                Action::DecideReReview,
                d(12, 30),
            )
            .unwrap();
        assert_eq!(p.state, PetitionState::ReReviewed);
        assert!(p.state.is_final());
        let err = w
            .act(&p, &me, Action::RequestReview, d(12, 31))
            .unwrap_err();
        assert!(
            matches!(err, TransitionError::NotAllowedNow { .. }),
            "not accepted again"
        );
    }

    #[test]
    fn a_wrong_transition_lists_what_is_possible_now() {
        let w = World::new();
        let p = Petition::registered(
            MatterCategory::Claim,
            Checkpoint::Township,
            Some(w.citizen),
            d(11, 2),
        );
        match w.act(
            &p,
            &staff(&[Role::Handler]),
            Action::Answer {
                outcome: Outcome::Solved,
            },
            d(11, 3),
        ) {
            Err(TransitionError::NotAllowedNow { allowed, .. }) => {
                assert!(allowed.contains(&ActionKind::Forward));
                assert!(allowed.contains(&ActionKind::Withdraw));
                assert!(!allowed.contains(&ActionKind::Answer));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_right_actor_may_act() {
        let w = World::new();
        let p = Petition::registered(
            MatterCategory::Claim,
            Checkpoint::Township,
            Some(w.citizen),
            d(11, 2),
        );
        let org = Uuid::now_v7();
        let by_editor = w.act(
            &p,
            &staff(&[Role::Editor]),
            Action::Forward { to_org: org },
            d(11, 3),
        );
        assert!(matches!(
            by_editor,
            Err(TransitionError::NotPermitted { .. })
        ));
        let stranger = Actor::Citizen { id: Uuid::now_v7() };
        assert!(matches!(
            w.act(&p, &stranger, Action::Withdraw, d(11, 3)),
            Err(TransitionError::NotPermitted { .. })
        ));
        let owner = Actor::Citizen { id: w.citizen };
        assert_eq!(
            w.act(&p, &owner, Action::Withdraw, d(11, 3)).unwrap().state,
            PetitionState::Withdrawn
        );
    }

    #[test]
    fn review_after_thirty_days_is_outside_its_window() {
        let w = World::new();
        let me = Actor::Citizen { id: w.citizen };
        let mut p = Petition::registered(
            MatterCategory::Claim,
            Checkpoint::Township,
            Some(w.citizen),
            d(9, 1),
        );
        p.state = PetitionState::Answered;
        p.dates.answered_on = Some(d(11, 2));
        // 30 days from 2 November is Wednesday 2 December.
        assert!(w.act(&p, &me, Action::RequestReview, d(12, 2)).is_ok());
        match w.act(&p, &me, Action::RequestReview, d(12, 3)) {
            Err(TransitionError::OutsideWindow { deadline, .. }) => assert_eq!(deadline, d(12, 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_objection_must_come_within_five_working_days() {
        let w = World::new();
        let mut p = Petition::registered(
            MatterCategory::Claim,
            Checkpoint::Township,
            Some(w.citizen),
            d(9, 20),
        );
        p.state = PetitionState::AwaitingAcceptance;
        p.dates.sent_on = Some(d(9, 25));
        let handler = staff(&[Role::Handler]);
        let object = || Action::Object {
            reason: "不属本单位职责".into(),
        };
        // 25 September + 5 working days across the National Day holiday: 8 October.
        let back = w.act(&p, &handler, object(), d(10, 8)).unwrap();
        assert_eq!(back.state, PetitionState::Registered);
        assert!(matches!(
            w.act(&p, &handler, object(), d(10, 9)),
            Err(TransitionError::OutsideWindow { deadline, .. }) if deadline == d(10, 8)
        ));
    }

    #[test]
    fn an_accusation_never_reaches_the_accused() {
        let w = World::new();
        let accused = Uuid::now_v7();
        let mut p = Petition::registered(
            MatterCategory::Accusation,
            Checkpoint::Township,
            Some(w.citizen),
            d(11, 2),
        );
        p.accused_org = Some(accused);
        let registrar = staff(&[Role::Registrar]);
        for action in [
            Action::Forward { to_org: accused },
            Action::HandDown { to_org: accused },
            Action::Assign {
                to_org: accused,
                report_by: d(11, 20),
            },
        ] {
            let err = w.act(&p, &registrar, action, d(11, 3)).unwrap_err();
            assert!(
                matches!(err, TransitionError::Rule(DomainError::Validation(ref e)) if e[0].code == "accused_may_not_receive")
            );
        }
        assert!(
            w.act(
                &p,
                &registrar,
                Action::Forward {
                    to_org: Uuid::now_v7()
                },
                d(11, 3)
            )
            .is_ok()
        );
    }

    #[test]
    fn one_extension_of_at_most_thirty_days() {
        let w = World::new();
        let mut p = Petition::registered(
            MatterCategory::Claim,
            Checkpoint::Township,
            Some(w.citizen),
            d(11, 2),
        );
        p.state = PetitionState::InHandling;
        p.dates.accepted_on = Some(d(11, 3));
        let handler = staff(&[Role::Handler]);
        let extend = |days| Action::Extend {
            days,
            approver: Uuid::now_v7(),
            reason: "复杂".into(),
        };
        assert!(w.act(&p, &handler, extend(31), d(11, 4)).is_err());
        let once = w.act(&p, &handler, extend(10), d(11, 4)).unwrap();
        assert!(matches!(
            w.act(&once, &handler, extend(5), d(11, 5)),
            Err(TransitionError::Rule(DomainError::Conflict {
                code: "already_extended",
                ..
            }))
        ));
        assert!(
            !once.allowed().contains(&ActionKind::Extend),
            "not offered any more"
        );
    }

    #[test]
    fn escalation_climbs_one_checkpoint_at_a_time_and_stops_at_the_top() {
        let w = World::new();
        let mut p = Petition::registered(
            MatterCategory::Claim,
            Checkpoint::VillagerGroup,
            Some(w.citizen),
            d(11, 2),
        );
        p.state = PetitionState::InHandling;
        p.dates.accepted_on = Some(d(11, 3));
        let handler = staff(&[Role::Handler]);
        let mut seen = vec![p.checkpoint];
        while p.checkpoint.above().is_some() {
            p = w
                .act(
                    &p,
                    &handler,
                    Action::Escalate {
                        reason: "本级无法解决".into(),
                    },
                    d(11, 4),
                )
                .unwrap();
            seen.push(p.checkpoint);
        }
        assert_eq!(seen.len(), 5);
        assert!(
            w.act(
                &p,
                &handler,
                Action::Escalate { reason: "x".into() },
                d(11, 4)
            )
            .is_err()
        );
    }

    /// A small deterministic generator, so the walk below is the same on every run.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
    }

    #[test]
    fn no_sequence_of_actions_reaches_an_inconsistent_petition() {
        let w = World::new();
        let owner = Actor::Citizen { id: w.citizen };
        let actors = [
            owner.clone(),
            Actor::Citizen { id: Uuid::now_v7() },
            staff(&[Role::Registrar]),
            staff(&[Role::Handler]),
            staff(&[Role::Supervisor]),
            staff(&[Role::Editor]),
        ];
        let org = Uuid::now_v7();
        let mut rng = Lcg(20261125);
        for walk in 0..400 {
            let mut p = Petition::registered(
                MatterCategory::Claim,
                Checkpoint::VillagerGroup,
                Some(w.citizen),
                d(1, 5),
            );
            let mut today = d(1, 5);
            for _ in 0..40 {
                today = today + chrono::Days::new(rng.next(12) as u64);
                let action = match ActionKind::ALL[rng.next(ActionKind::ALL.len())] {
                    ActionKind::Forward => Action::Forward { to_org: org },
                    ActionKind::Assign => Action::Assign {
                        to_org: org,
                        report_by: today + chrono::Days::new(10),
                    },
                    ActionKind::HandDown => Action::HandDown { to_org: org },
                    ActionKind::Divert => Action::Divert {
                        procedure: "litigation".into(),
                    },
                    ActionKind::Refuse => Action::Refuse {
                        reason_code: "not_petition_matter".into(),
                    },
                    ActionKind::Accept => Action::Accept,
                    ActionKind::Object => Action::Object { reason: "x".into() },
                    ActionKind::Escalate => Action::Escalate { reason: "x".into() },
                    ActionKind::Extend => Action::Extend {
                        days: 1 + rng.next(40) as u32,
                        approver: org,
                        reason: "x".into(),
                    },
                    ActionKind::Answer => Action::Answer {
                        outcome: Outcome::Explained,
                    },
                    ActionKind::Rate => Action::Rate {
                        rating: Rating::Satisfied,
                    },
                    ActionKind::RequestReview => Action::RequestReview,
                    ActionKind::DecideReview => Action::DecideReview,
                    ActionKind::RequestReReview => Action::RequestReReview,
                    ActionKind::DecideReReview => Action::DecideReReview,
                    ActionKind::Reopen => Action::Reopen { reason: "x".into() },
                    ActionKind::Close => Action::Close,
                    ActionKind::Withdraw => Action::Withdraw,
                };
                let actor = &actors[rng.next(actors.len())];
                let before = p.clone();
                match p.apply(actor, &action, today, &w.cal, &w.periods) {
                    Ok(t) => {
                        assert!(
                            before.allowed().contains(&action.kind())
                                || action.kind() == ActionKind::Extend,
                            "walk {walk}: {:?} applied though not allowed in {:?}",
                            action.kind(),
                            before.state
                        );
                        p = t.petition;
                    }
                    Err(_) => assert_eq!(p, before, "a refusal changes nothing"),
                }
                // Invariants of every reachable petition.
                use PetitionState as S;
                match p.state {
                    S::AwaitingAcceptance => {
                        assert!(p.dates.sent_on.is_some() && p.handling_org.is_some())
                    }
                    S::InHandling => assert!(p.dates.accepted_on.is_some()),
                    S::Answered => assert!(p.dates.answered_on.is_some()),
                    S::UnderReview | S::Reviewed => assert!(p.dates.review_requested_on.is_some()),
                    S::UnderReReview | S::ReReviewed => {
                        assert!(p.dates.rereview_requested_on.is_some())
                    }
                    _ => {}
                }
                assert!(p.extension_days.is_none_or(|days| (1..=30).contains(&days)));
                if let Some(deadline) = p.next_deadline(&w.cal, &w.periods) {
                    assert!(w.cal.is_workday(deadline.last_day));
                }
            }
        }
    }
}
