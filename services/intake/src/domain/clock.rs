//! Decision clocks of the industrial lane (IND-7d): deadlines from submission to acknowledge, to
//! give feasibility and to decide, per installation with a default; a request for several
//! installations runs on the strictest of their clocks.

use super::status::{Lane, RequestStatus as Status, is_final, short_name};
use super::{IntakeError, IntakeResult};
use rti_platform::stored_enum;

const MICROS_PER_DAY: i64 = 86_400_000_000;

stored_enum!(
    /// What an operator owes a requester by a deadline.
    Milestone {
        Acknowledge => "MILESTONE_ACKNOWLEDGE",
        Feasibility => "MILESTONE_FEASIBILITY",
        Decision => "MILESTONE_DECISION",
    }
);

/// A submitted industrial-lane request's deadlines (UTC microseconds) and when each was met.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deadlines {
    pub acknowledge_by: i64,
    pub feasibility_by: i64,
    pub decide_by: i64,
    pub acknowledge_time: Option<i64>,
    pub feasibility_time: Option<i64>,
    pub decide_time: Option<i64>,
    /// Who acknowledged; empty until then.
    pub acknowledged_by: String,
}

/// A milestone met late, or left unmet past its deadline when the request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockBreach {
    pub milestone: Milestone,
    pub due_time: i64,
    pub met_time: Option<i64>,
}

/// An installation's clock (or the default, for an empty installation id), as set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionClock {
    pub installation_id: String,
    pub clock: Clock,
    pub updated_by: String,
    pub update_time: i64,
}

/// Days from submission to each milestone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub acknowledge_days: i32,
    pub feasibility_days: i32,
    pub decide_days: i32,
}

/// Acknowledge within 5 days, answer within 8 weeks: the facility KPIs of KPI-3
/// (superstem.org/facility/statistics); feasibility within 15 days is this deployment's choice.
pub const DEFAULT: Clock = Clock {
    acknowledge_days: 5,
    feasibility_days: 15,
    decide_days: 56,
};

/// The longest deadline a clock may set, in days.
pub const MAX_DAYS: i32 = 365;

impl Clock {
    /// The earlier deadline of each milestone.
    pub fn strictest(self, other: Clock) -> Clock {
        Clock {
            acknowledge_days: self.acknowledge_days.min(other.acknowledge_days),
            feasibility_days: self.feasibility_days.min(other.feasibility_days),
            decide_days: self.decide_days.min(other.decide_days),
        }
    }

    /// What is wrong with it, if anything: each deadline is 1 to 365 days, in milestone order.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        for (field, days) in [
            ("acknowledge_within_days", self.acknowledge_days),
            ("feasibility_within_days", self.feasibility_days),
            ("decide_within_days", self.decide_days),
        ] {
            if !(1..=MAX_DAYS).contains(&days) {
                problems.push((field, format!("must be from 1 to {MAX_DAYS} days")));
            }
        }
        if problems.is_empty() {
            if self.feasibility_days < self.acknowledge_days {
                problems.push((
                    "feasibility_within_days",
                    "must not come before the acknowledgement".into(),
                ));
            }
            if self.decide_days < self.feasibility_days {
                problems.push(("decide_within_days", "must not come before feasibility".into()));
            }
        }
        problems
    }

    /// The three deadlines of a request submitted at `submitted_at` (UTC microseconds).
    pub fn deadlines(&self, submitted_at: i64) -> [(Milestone, i64); 3] {
        let after = |days: i32| submitted_at + i64::from(days) * MICROS_PER_DAY;
        [
            (Milestone::Acknowledge, after(self.acknowledge_days)),
            (Milestone::Feasibility, after(self.feasibility_days)),
            (Milestone::Decision, after(self.decide_days)),
        ]
    }
}

/// The milestones a transition to `to` meets.
pub fn met_by(to: Status) -> &'static [Milestone] {
    match to {
        Status::Quoted => &[Milestone::Feasibility],
        Status::Accepted => &[Milestone::Decision],
        Status::Declined => &[Milestone::Feasibility, Milestone::Decision],
        _ => &[],
    }
}

impl Deadlines {
    /// The deadlines of a request submitted at `submitted_at` on `clock`; nothing met yet.
    pub fn starting(clock: &Clock, submitted_at: i64) -> Self {
        let [(_, acknowledge_by), (_, feasibility_by), (_, decide_by)] = clock.deadlines(submitted_at);
        Self {
            acknowledge_by,
            feasibility_by,
            decide_by,
            ..Self::default()
        }
    }

    /// Records `milestone` as met at `at` by `actor` (who is kept for the acknowledgement), once.
    /// Returns the deadline when it was met late, for a breach.
    pub fn meet(&mut self, milestone: Milestone, at: i64, actor: &str) -> Option<i64> {
        let (due, met) = match milestone {
            Milestone::Acknowledge => {
                if self.acknowledge_time.is_none() {
                    self.acknowledged_by = actor.to_owned();
                }
                (self.acknowledge_by, &mut self.acknowledge_time)
            }
            Milestone::Feasibility => (self.feasibility_by, &mut self.feasibility_time),
            Milestone::Decision => (self.decide_by, &mut self.decide_time),
        };
        if met.is_some() {
            return None;
        }
        *met = Some(at);
        (at > due).then_some(due)
    }
}

/// The clock's bookkeeping when an industrial-lane request moves to `to` at `at` (other than
/// submission, which starts the clock): the milestones the move meets are met, and when the
/// request ends, every milestone left unmet past its deadline is a breach. Returns the breaches.
pub fn advance(deadlines: Option<&mut Deadlines>, to: Status, at: i64) -> Vec<ClockBreach> {
    let Some(deadlines) = deadlines else {
        return Vec::new();
    };
    let mut breaches: Vec<ClockBreach> = met_by(to)
        .iter()
        .filter_map(|milestone| {
            deadlines.meet(*milestone, at, "").map(|due| ClockBreach {
                milestone: *milestone,
                due_time: due,
                met_time: Some(at),
            })
        })
        .collect();
    if is_final(to) {
        breaches.extend(
            overdue(Some(deadlines), at)
                .into_iter()
                .map(|(milestone, due)| ClockBreach {
                    milestone,
                    due_time: due,
                    met_time: None,
                }),
        );
    }
    breaches
}

/// IND-7d: `actor` acknowledges the request at `at`; a breach when that is late.
pub fn acknowledge(deadlines: Option<&mut Deadlines>, at: i64, actor: &str) -> Option<ClockBreach> {
    let deadlines = deadlines?;
    deadlines
        .meet(Milestone::Acknowledge, at, actor)
        .map(|due| ClockBreach {
            milestone: Milestone::Acknowledge,
            due_time: due,
            met_time: Some(at),
        })
}

/// IND-7d: only an open, submitted industrial-lane request is acknowledged. `Ok(false)` when it
/// was acknowledged before (a retry).
pub fn acknowledgeable(lane: Lane, status: Status, deadlines: Option<&Deadlines>) -> IntakeResult<bool> {
    if lane != Lane::Industrial {
        return Err(IntakeError::FailedPrecondition(
            "only industrial-lane requests run on a decision clock".to_owned(),
        ));
    }
    if status == Status::Draft || is_final(status) {
        return Err(IntakeError::FailedPrecondition(format!(
            "the request is {}; only an open submitted request is acknowledged",
            short_name(status)
        )));
    }
    Ok(deadlines.is_none_or(|deadlines| deadlines.acknowledge_time.is_none()))
}

/// The milestones past their deadline at `at` (UTC microseconds) and not met, with each
/// deadline; none for a request that runs on no clock.
pub fn overdue(deadlines: Option<&Deadlines>, at: i64) -> Vec<(Milestone, i64)> {
    let Some(deadlines) = deadlines else {
        return Vec::new();
    };
    let micros = |time: &i64| Some(*time);
    [
        (
            Milestone::Acknowledge,
            &deadlines.acknowledge_by,
            &deadlines.acknowledge_time,
        ),
        (
            Milestone::Feasibility,
            &deadlines.feasibility_by,
            &deadlines.feasibility_time,
        ),
        (Milestone::Decision, &deadlines.decide_by, &deadlines.decide_time),
    ]
    .into_iter()
    .filter(|(_, _, met)| met.is_none())
    .filter_map(|(milestone, due, _)| micros(due).filter(|due| *due < at).map(|due| (milestone, due)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strictest_clock_takes_the_earliest_of_each_deadline() {
        let slow = Clock {
            acknowledge_days: 10,
            feasibility_days: 10,
            decide_days: 90,
        };
        assert_eq!(
            DEFAULT.strictest(slow),
            Clock {
                acknowledge_days: 5,
                feasibility_days: 10,
                decide_days: 56
            }
        );
    }

    #[test]
    fn deadlines_count_whole_days_from_submission() {
        let [acknowledge, feasibility, decision] = DEFAULT.deadlines(0);
        assert_eq!(acknowledge, (Milestone::Acknowledge, 5 * MICROS_PER_DAY));
        assert_eq!(feasibility, (Milestone::Feasibility, 15 * MICROS_PER_DAY));
        assert_eq!(decision, (Milestone::Decision, 56 * MICROS_PER_DAY));
    }

    #[test]
    fn a_clock_runs_forward_within_a_year() {
        assert!(DEFAULT.problems().is_empty());
        let backwards = Clock {
            acknowledge_days: 10,
            feasibility_days: 5,
            decide_days: 400,
        };
        assert_eq!(
            backwards.problems(),
            [("decide_within_days", "must be from 1 to 365 days".to_owned())]
        );
        let backwards = Clock {
            decide_days: 4,
            ..backwards
        };
        assert_eq!(
            backwards.problems(),
            [
                (
                    "feasibility_within_days",
                    "must not come before the acknowledgement".to_owned()
                ),
                ("decide_within_days", "must not come before feasibility".to_owned()),
            ]
        );
    }

    #[test]
    fn a_milestone_is_overdue_once_its_deadline_passed_unmet() {
        let deadlines = Deadlines {
            acknowledge_by: 10,
            feasibility_by: 20,
            decide_by: 30,
            acknowledge_time: Some(12),
            ..Deadlines::default()
        };
        assert!(
            overdue(Some(&deadlines), 10).is_empty(),
            "nothing is late at its deadline"
        );
        assert_eq!(
            overdue(Some(&deadlines), 25),
            [(Milestone::Feasibility, 20)],
            "met late is not overdue"
        );
        assert_eq!(
            overdue(Some(&deadlines), 31),
            [(Milestone::Feasibility, 20), (Milestone::Decision, 30)]
        );
        assert!(overdue(None, 31).is_empty(), "no clock, nothing due");
    }

    #[test]
    fn quotes_and_declines_give_feasibility_acceptance_and_declines_decide() {
        assert_eq!(met_by(Status::Quoted), [Milestone::Feasibility]);
        assert_eq!(met_by(Status::Accepted), [Milestone::Decision]);
        assert_eq!(met_by(Status::Declined), [Milestone::Feasibility, Milestone::Decision]);
        assert!(met_by(Status::Withdrawn).is_empty());
    }

    #[test]
    fn ind7d_a_late_quote_is_a_breach_and_an_end_leaves_the_unmet_deadlines_breached() {
        let mut deadlines = Deadlines::starting(&DEFAULT, 0);
        let late = 16 * MICROS_PER_DAY;
        let breaches = advance(Some(&mut deadlines), Status::Quoted, late);
        assert_eq!(
            breaches,
            [ClockBreach {
                milestone: Milestone::Feasibility,
                due_time: 15 * MICROS_PER_DAY,
                met_time: Some(late),
            }]
        );
        assert!(
            advance(Some(&mut deadlines), Status::Quoted, late).is_empty(),
            "met once"
        );
        let breaches = advance(Some(&mut deadlines), Status::Withdrawn, 60 * MICROS_PER_DAY);
        let milestones: Vec<Milestone> = breaches.iter().map(|breach| breach.milestone).collect();
        assert_eq!(milestones, [Milestone::Acknowledge, Milestone::Decision]);
        assert!(breaches.iter().all(|breach| breach.met_time.is_none()));
        assert!(advance(None, Status::Withdrawn, late).is_empty(), "no clock, no breach");
    }

    #[test]
    fn ind7d_an_acknowledgement_is_kept_once_with_who_gave_it() {
        let open = |deadlines: Option<&Deadlines>| acknowledgeable(Lane::Industrial, Status::Screening, deadlines).ok();
        assert_eq!(open(None), Some(true), "no clock yet, nothing acknowledged");
        let mut deadlines = Deadlines::starting(&DEFAULT, 0);
        assert!(acknowledge(Some(&mut deadlines), 1, "operator").is_none(), "in time");
        assert_eq!(open(Some(&deadlines)), Some(false));
        assert!(acknowledge(Some(&mut deadlines), 2, "someone else").is_none());
        assert_eq!(deadlines.acknowledged_by, "operator");
        let late = acknowledge(
            Some(&mut Deadlines::starting(&DEFAULT, 0)),
            6 * MICROS_PER_DAY,
            "operator",
        );
        assert_eq!(late.map(|breach| breach.milestone), Some(Milestone::Acknowledge));
        assert!(acknowledgeable(Lane::Industrial, Status::Draft, None).is_err());
        assert!(acknowledgeable(Lane::Industrial, Status::Closed, None).is_err());
        assert!(acknowledgeable(Lane::Transnational, Status::InReview, None).is_err());
    }
}
