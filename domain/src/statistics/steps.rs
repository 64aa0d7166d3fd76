//! What a petition keeps for the figures: each step's due day and done day, and how often it
//! was returned or reopened. Updated by the same transaction that records the step, so the
//! figures never disagree with the timeline.

use chrono::NaiveDate;

use crate::petition::{Deadline, DeadlineKind, PetitionState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    /// The first disposal obligation and the day it was met.
    pub dispose_due: Option<NaiveDate>,
    pub disposed_on: Option<NaiveDate>,
    /// The latest body's acceptance obligation and its decision day.
    pub acceptance_due: Option<NaiveDate>,
    pub acceptance_decided_on: Option<NaiveDate>,
    /// The latest answer obligation (moved by an extension, restarted by a reopening).
    pub answer_due: Option<NaiveDate>,
    pub first_answered_on: Option<NaiveDate>,
    /// Registration to the latest answer.
    pub days_to_answer: Option<i32>,
    pub return_count: i32,
    pub reopen_count: i32,
    /// The last day any of the above falls on.
    pub relevant_until: NaiveDate,
}

impl Steps {
    /// A petition registered on `day` with its disposal obligation.
    pub fn registered(day: NaiveDate, dispose: Option<NaiveDate>) -> Self {
        Self {
            dispose_due: dispose,
            disposed_on: None,
            acceptance_due: None,
            acceptance_decided_on: None,
            answer_due: None,
            first_answered_on: None,
            days_to_answer: None,
            return_count: 0,
            reopen_count: 0,
            relevant_until: dispose.map_or(day, |d| d.max(day)),
        }
    }

    /// After the transition `event` from `from` on `today`, with the obligation it set.
    pub fn after(
        &self,
        from: PetitionState,
        event: &str,
        registered_on: NaiveDate,
        today: NaiveDate,
        next: Option<&Deadline>,
    ) -> Self {
        let mut s = *self;
        let disposes = matches!(
            event,
            "forwarded" | "assigned" | "handed_down" | "diverted" | "not_accepted"
        );
        if from == PetitionState::Registered && disposes && s.disposed_on.is_none() {
            s.disposed_on = Some(today);
        }
        if from == PetitionState::AwaitingAcceptance && matches!(event, "accepted" | "not_accepted")
        {
            s.acceptance_decided_on = Some(today);
        }
        match event {
            // A withdrawal ends the obligation that was running: one whose last day is still
            // ahead is no longer owed; one already missed stays missed.
            "withdrawn" => {
                let ended = |due: &mut Option<NaiveDate>, done: bool| {
                    if !done && due.is_some_and(|d| d >= today) {
                        *due = None;
                    }
                };
                match from {
                    PetitionState::Registered => ended(&mut s.dispose_due, s.disposed_on.is_some()),
                    PetitionState::AwaitingAcceptance => {
                        ended(&mut s.acceptance_due, s.acceptance_decided_on.is_some())
                    }
                    PetitionState::InHandling => ended(&mut s.answer_due, false),
                    _ => {}
                }
            }
            // The body objected in time: its acceptance obligation ends with the return.
            "returned" => {
                s.return_count += 1;
                s.acceptance_due = None;
                s.acceptance_decided_on = None;
            }
            "answered" => {
                s.first_answered_on.get_or_insert(today);
                s.days_to_answer =
                    Some(i32::try_from((today - registered_on).num_days()).unwrap_or(i32::MAX));
            }
            "reopened" => s.reopen_count += 1,
            _ => {}
        }
        if let Some(d) = next {
            match d.kind {
                DeadlineKind::DecideAcceptance => {
                    s.acceptance_due = Some(d.last_day);
                    s.acceptance_decided_on = None;
                }
                DeadlineKind::Answer => s.answer_due = Some(d.last_day),
                _ => {}
            }
        }
        s.relevant_until = s
            .relevant_until
            .max(today)
            .max(next.map_or(today, |d| d.last_day));
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use PetitionState as S;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn due(kind: DeadlineKind, s: &str) -> Deadline {
        Deadline {
            kind,
            last_day: day(s),
        }
    }

    #[test]
    fn a_petition_keeps_each_steps_due_and_done_day() {
        let reg = day("2026-01-05");
        let s = Steps::registered(reg, Some(day("2026-01-20")));
        assert_eq!(s.relevant_until, day("2026-01-20"));
        let s = s.after(
            S::Registered,
            "forwarded",
            reg,
            day("2026-01-10"),
            Some(&due(DeadlineKind::DecideAcceptance, "2026-01-26")),
        );
        assert_eq!(s.disposed_on, Some(day("2026-01-10")));
        assert_eq!(s.acceptance_due, Some(day("2026-01-26")));
        // Returned: counted; then sent again, the new body's clock replaces the old one; the
        // first disposal stays.
        let s = s.after(
            S::AwaitingAcceptance,
            "returned",
            reg,
            day("2026-01-12"),
            None,
        );
        let s = s.after(
            S::Registered,
            "forwarded",
            reg,
            day("2026-01-14"),
            Some(&due(DeadlineKind::DecideAcceptance, "2026-01-29")),
        );
        assert_eq!(s.return_count, 1);
        assert_eq!(s.disposed_on, Some(day("2026-01-10")));
        assert!(
            s.after(
                S::AwaitingAcceptance,
                "returned",
                reg,
                day("2026-01-15"),
                None
            )
            .acceptance_due
            .is_none(),
            "a return ends the body's acceptance obligation"
        );
        assert_eq!(s.acceptance_due, Some(day("2026-01-29")));
        let s = s.after(
            S::AwaitingAcceptance,
            "accepted",
            reg,
            day("2026-01-20"),
            Some(&due(DeadlineKind::Answer, "2026-03-23")),
        );
        assert_eq!(s.acceptance_decided_on, Some(day("2026-01-20")));
        assert_eq!(s.answer_due, Some(day("2026-03-23")));
        assert_eq!(s.relevant_until, day("2026-03-23"));
        let s = s.after(S::InHandling, "answered", reg, day("2026-02-04"), None);
        assert_eq!(s.days_to_answer, Some(30));
        assert_eq!(s.first_answered_on, Some(day("2026-02-04")));
        // Reopened and answered again: counted, the first answer kept, the time re-measured.
        let s = s.after(
            S::Answered,
            "reopened",
            reg,
            day("2026-02-10"),
            Some(&due(DeadlineKind::Answer, "2026-04-11")),
        );
        let s = s.after(S::InHandling, "answered", reg, day("2026-02-24"), None);
        assert_eq!(s.reopen_count, 1);
        assert_eq!(s.first_answered_on, Some(day("2026-02-04")));
        assert_eq!(s.days_to_answer, Some(50));
        assert_eq!(s.answer_due, Some(day("2026-04-11")));
        assert_eq!(s.relevant_until, day("2026-04-11"));
    }

    #[test]
    fn a_withdrawal_ends_the_running_obligation_unless_it_was_already_missed() {
        let reg = day("2026-01-05");
        let handling = Steps::registered(reg, Some(day("2026-01-20")))
            .after(
                S::Registered,
                "forwarded",
                reg,
                day("2026-01-06"),
                Some(&due(DeadlineKind::DecideAcceptance, "2026-01-21")),
            )
            .after(
                S::AwaitingAcceptance,
                "accepted",
                reg,
                day("2026-01-07"),
                Some(&due(DeadlineKind::Answer, "2026-03-09")),
            );
        let early = handling.after(S::InHandling, "withdrawn", reg, day("2026-02-01"), None);
        assert_eq!(early.answer_due, None);
        let late = handling.after(S::InHandling, "withdrawn", reg, day("2026-03-20"), None);
        assert_eq!(late.answer_due, Some(day("2026-03-09")));
        // Withdrawn before disposal: the disposal is no longer owed.
        let s = Steps::registered(reg, Some(day("2026-01-20")));
        assert_eq!(
            s.after(S::Registered, "withdrawn", reg, day("2026-01-08"), None)
                .dispose_due,
            None
        );
    }

    #[test]
    fn a_refusal_at_registration_is_a_disposal_and_by_the_body_a_decision() {
        let reg = day("2026-01-05");
        let s = Steps::registered(reg, Some(day("2026-01-20")));
        let at_registry = s.after(S::Registered, "not_accepted", reg, day("2026-01-06"), None);
        assert_eq!(at_registry.disposed_on, Some(day("2026-01-06")));
        assert_eq!(at_registry.acceptance_decided_on, None);
        let by_body = s
            .after(
                S::Registered,
                "assigned",
                reg,
                day("2026-01-06"),
                Some(&due(DeadlineKind::DecideAcceptance, "2026-01-21")),
            )
            .after(
                S::AwaitingAcceptance,
                "not_accepted",
                reg,
                day("2026-01-25"),
                None,
            );
        assert_eq!(by_body.acceptance_decided_on, Some(day("2026-01-25")));
        assert_eq!(by_body.relevant_until, day("2026-01-25"));
    }
}
