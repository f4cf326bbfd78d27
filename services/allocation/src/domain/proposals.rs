//! Proposals: a request to a call (TA lane) or an accepted industrial-lane request, with its
//! group, its eligibility findings, the panel's reviews and the operators' feasibility.
//! Times are UTC microseconds.

use super::eligibility::{Group, Member, Outcome};
use super::evaluation::{Evaluation, leader_first};
use super::review::{self, Review, Verdict};
use super::states::{Lane, ProposalStatus};

/// Units asked (or granted) at one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedUnits {
    pub installation_id: String,
    pub units: i64,
}

/// One user of the group; where they work counts, never their nationality (TA-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub person_id: String,
    pub work_country: String,
    pub leader: bool,
    pub employer_is_sme: bool,
}

/// One rule's stored verdict on one installation of the proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub installation_id: String,
    pub rule: String,
    pub outcome: Option<Outcome>,
    pub reason: String,
    pub rulebook_version: i32,
}

/// An operator's verdict on one requested installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feasibility {
    pub installation_id: String,
    pub feasible: bool,
    pub note: String,
    pub operator: String,
}

/// A proposal as stored, with its assessments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proposal {
    pub id: String,
    /// Empty on the industrial lane.
    pub call_id: String,
    pub lane: Option<Lane>,
    pub status: Option<ProposalStatus>,
    pub organisation_id: String,
    /// Where the requesting organisation is established.
    pub requester_country: String,
    pub requested: Vec<RequestedUnits>,
    pub members: Vec<GroupMember>,
    /// TA-5.
    pub may_disseminate: bool,
    pub findings: Vec<Finding>,
    /// The worst finding; `None` before any evaluation.
    pub eligibility: Option<Outcome>,
    /// TA-6's class of the group.
    pub non_eu_majority: bool,
    pub reviews: Vec<Review>,
    pub feasibility: Vec<Feasibility>,
    pub evaluated_at: Option<i64>,
    pub created_at: Option<i64>,
}

impl Proposal {
    /// The group as the rules read it, with the users among `used_before` marked as having used
    /// the installation before (TA-7).
    pub fn group(&self, used_before: &[String]) -> Group {
        let member = |entry: &GroupMember| Member {
            work_country: entry.work_country.clone(),
            employer_is_sme: entry.employer_is_sme,
            used_installation_before: used_before.contains(&entry.person_id),
        };
        let leader = self.members.iter().find(|entry| entry.leader);
        Group {
            leader: leader.map(member).unwrap_or(Member {
                work_country: String::new(),
                employer_is_sme: false,
                used_installation_before: false,
            }),
            others: self.members.iter().filter(|entry| !entry.leader).map(member).collect(),
            may_disseminate: self.may_disseminate,
        }
    }

    /// The group's users, by person id.
    pub fn person_ids(&self) -> Vec<String> {
        self.members.iter().map(|member| member.person_id.clone()).collect()
    }

    /// Where the group leader works: the country per-country caps and reports count it under.
    pub fn leader_work_country(&self) -> String {
        self.members
            .iter()
            .find(|member| member.leader)
            .map(|member| member.work_country.clone())
            .unwrap_or_default()
    }

    /// The members' work countries, the leader's first.
    pub fn work_countries(&self) -> Vec<String> {
        leader_first(
            self.members
                .iter()
                .map(|member| (member.leader, member.work_country.as_str())),
        )
    }

    /// The units asked at `installation_id`, if asked there.
    pub fn requested_at(&self, installation_id: &str) -> Option<&RequestedUnits> {
        self.requested
            .iter()
            .find(|part| part.installation_id == installation_id)
    }

    /// Writes an evaluation's conclusions into the proposal.
    pub fn apply(&mut self, evaluation: &Evaluation, now: i64) {
        let version = i32::try_from(evaluation.rulebook_version).unwrap_or(i32::MAX);
        self.findings = evaluation
            .findings
            .iter()
            .map(|finding| Finding {
                installation_id: finding.installation_id.clone(),
                rule: finding.rule.to_owned(),
                outcome: Some(finding.outcome),
                reason: finding.reason.clone(),
                rulebook_version: version,
            })
            .collect();
        self.eligibility = Some(evaluation.eligibility);
        if let Some(non_eu_majority) = evaluation.non_eu_majority {
            self.non_eu_majority = non_eu_majority;
        }
        self.evaluated_at = Some(now);
    }

    /// The panel's mean score; `None` without reviews.
    pub fn mean_score(&self) -> Option<f64> {
        let scores: Vec<f64> = self.reviews.iter().map(|review| review.weighted_score).collect();
        review::mean_score(&scores)
    }

    /// Why the proposal cannot be allocated under `threshold`, or `None` when it can.
    pub fn not_allocatable(&self, threshold: f64) -> Option<String> {
        let failed_rule = self
            .findings
            .iter()
            .find(|finding| finding.outcome == Some(Outcome::Fail))
            .map(|fail| (fail.rule.as_str(), fail.reason.as_str()));
        let feasibility: Vec<(&str, Verdict<'_>)> = self
            .requested
            .iter()
            .map(|part| {
                let verdict = match self
                    .feasibility
                    .iter()
                    .find(|feasibility| feasibility.installation_id == part.installation_id)
                {
                    None => Verdict::NotYet,
                    Some(given) if given.feasible => Verdict::Feasible,
                    Some(given) => Verdict::NotFeasible { note: &given.note },
                };
                (part.installation_id.as_str(), verdict)
            })
            .collect();
        review::not_allocatable(&review::Readiness {
            failed_rule,
            feasibility: &feasibility,
            mean_score: self.mean_score(),
            threshold,
        })
    }
}
