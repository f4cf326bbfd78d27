//! Decision clocks of the industrial lane (IND-7d): deadlines from submission to acknowledge, to
//! give feasibility and to decide, per installation with a default; a request for several
//! installations runs on the strictest of their clocks.

use rti_platform::time::micros_from_timestamp;
use rti_proto::intake::{AccessRequestStatus as Status, Deadlines, Milestone};

const MICROS_PER_DAY: i64 = 86_400_000_000;

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

/// The milestones past their deadline at `at` (UTC microseconds) and not met, with each deadline.
pub fn overdue(deadlines: &Deadlines, at: i64) -> Vec<(Milestone, i64)> {
    let micros = |time: &Option<rti_proto::pbjson_types::Timestamp>| time.as_ref().map(micros_from_timestamp);
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
        let time = |micros| Some(rti_platform::time::timestamp_from_micros(micros));
        let deadlines = Deadlines {
            acknowledge_by: time(10),
            feasibility_by: time(20),
            decide_by: time(30),
            acknowledge_time: time(12),
            ..Deadlines::default()
        };
        assert!(overdue(&deadlines, 10).is_empty(), "nothing is late at its deadline");
        assert_eq!(
            overdue(&deadlines, 25),
            [(Milestone::Feasibility, 20)],
            "met late is not overdue"
        );
        assert_eq!(
            overdue(&deadlines, 31),
            [(Milestone::Feasibility, 20), (Milestone::Decision, 30)]
        );
        assert!(overdue(&Deadlines::default(), 31).is_empty(), "no clock, nothing due");
    }

    #[test]
    fn quotes_and_declines_give_feasibility_acceptance_and_declines_decide() {
        assert_eq!(met_by(Status::Quoted), [Milestone::Feasibility]);
        assert_eq!(met_by(Status::Accepted), [Milestone::Decision]);
        assert_eq!(met_by(Status::Declined), [Milestone::Feasibility, Milestone::Decision]);
        assert!(met_by(Status::Withdrawn).is_empty());
    }
}
