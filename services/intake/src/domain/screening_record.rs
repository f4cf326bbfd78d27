//! What screening leaves on a request (SEC-7): the verdict against the sanctions list version it
//! used, the hits, blocks and security flags, and the review a person adds to a held request
//! (SEC-3, SEC-4).

use super::lifecycle;
use super::names::Verdict;
use super::request::{AccessRequest, RequestStatus, Transition};
use super::sanctions::SanctionsListVersion;
use super::screening::Outcome;

stored_enum!(
    /// What a reviewer decides of a held request.
    ReviewDecision {
        Approve => "REVIEW_DECISION_APPROVE",
        ApproveWithConditions => "REVIEW_DECISION_APPROVE_WITH_CONDITIONS",
        Reject => "REVIEW_DECISION_REJECT",
    }
);

/// One screened name close to a listed one.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningHit {
    /// `organisation`, `owner` or `person`.
    pub subject_kind: String,
    pub subject_id: String,
    pub screened_name: String,
    pub listed_name: String,
    pub listed_party: String,
    pub score: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningReview {
    pub decision: ReviewDecision,
    pub rationale: String,
    pub conditions: String,
    pub reviewer: String,
    pub review_time: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Screening {
    pub verdict: Verdict,
    pub sanctions_list_id: String,
    pub list_generation_time: i64,
    pub hits: Vec<ScreeningHit>,
    pub blocks: Vec<String>,
    pub security_flags: Vec<String>,
    pub screen_time: i64,
    pub review: Option<ScreeningReview>,
}

impl Screening {
    /// The record of `outcome` against `list`, screened at `at`.
    pub fn of(outcome: &Outcome, list: &SanctionsListVersion, at: i64) -> Self {
        Self {
            verdict: outcome.verdict,
            sanctions_list_id: list.id.clone(),
            list_generation_time: list.generation_time,
            hits: outcome
                .hits
                .iter()
                .map(|hit| ScreeningHit {
                    subject_kind: hit.subject.kind.as_str().to_owned(),
                    subject_id: hit.subject.id.clone(),
                    screened_name: hit.subject.name.clone(),
                    listed_name: hit.listed_name.clone(),
                    listed_party: hit.listed_party.clone(),
                    score: hit.score,
                    verdict: hit.verdict,
                })
                .collect(),
            blocks: outcome.blocks.clone(),
            security_flags: outcome.security_flags.clone(),
            screen_time: at,
            review: None,
        }
    }

    /// Whether a person had to look: a POSSIBLE match, a security flag, or a review on file.
    pub fn held(&self) -> bool {
        self.verdict == Verdict::Possible || !self.security_flags.is_empty() || self.review.is_some()
    }
}

/// Why screening declined, in one line.
pub fn decline_reason(outcome: &Outcome) -> String {
    let mut reasons: Vec<String> = outcome
        .hits
        .iter()
        .filter(|hit| hit.verdict == Verdict::Match)
        .map(|hit| {
            format!(
                "{} matches listed party {} on the EU sanctions list (SEC-1)",
                hit.subject.kind.as_str(),
                hit.listed_party
            )
        })
        .collect();
    reasons.extend(outcome.blocks.iter().cloned());
    reasons.join("; ")
}

/// Records `review` on a request held in SCREENING and returns its step: a rejection declines,
/// an approval lets the request on to its lane's next state.
pub fn apply_review(request: &mut AccessRequest, review: ScreeningReview) -> super::IntakeResult<Transition> {
    lifecycle::reviewable(request)?;
    let step = match review.decision {
        ReviewDecision::Reject => Transition::by(
            &review.reviewer,
            RequestStatus::Declined,
            format!("screening review: {}", review.rationale),
        ),
        ReviewDecision::Approve | ReviewDecision::ApproveWithConditions => Transition::by(
            &review.reviewer,
            lifecycle::after_screening(request.lane),
            format!("screening review approved: {}", review.rationale),
        ),
    };
    // A held request always has its screening; an empty record is never stored otherwise.
    if let Some(screening) = request.screening.as_mut() {
        screening.review = Some(review);
    } else {
        request.screening = Some(Screening {
            verdict: Verdict::Clear,
            sanctions_list_id: String::new(),
            list_generation_time: 0,
            hits: Vec::new(),
            blocks: Vec::new(),
            security_flags: Vec::new(),
            screen_time: 0,
            review: Some(review),
        });
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{Lane, example};

    fn review(decision: ReviewDecision) -> ScreeningReview {
        ScreeningReview {
            decision,
            rationale: "checked the register".to_owned(),
            conditions: String::new(),
            reviewer: "officer".to_owned(),
            review_time: 1,
        }
    }

    #[test]
    fn sec3_a_rejection_declines_and_an_approval_lets_the_request_on() {
        let mut held = example(Lane::Transnational, RequestStatus::Screening);
        let step = apply_review(&mut held, review(ReviewDecision::Reject)).expect("allowed");
        assert_eq!(step.to, RequestStatus::Declined);
        assert!(held.screening.is_some_and(|screening| screening.held()));
        let mut held = example(Lane::Transnational, RequestStatus::Screening);
        let step = apply_review(&mut held, review(ReviewDecision::ApproveWithConditions)).expect("allowed");
        assert_eq!(step.to, RequestStatus::InReview);
        assert_eq!(step.actor, "officer");
    }

    #[test]
    fn only_a_request_held_in_screening_is_reviewed() {
        let mut request = example(Lane::Industrial, RequestStatus::Feasibility);
        assert!(apply_review(&mut request, review(ReviewDecision::Approve)).is_err());
        assert!(request.screening.is_none());
    }
}
