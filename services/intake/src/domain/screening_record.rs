//! What screening leaves on a request (SEC-7): the verdict against the sanctions list version it
//! used, the hits, blocks and security flags, and the review a person adds to a held request
//! (SEC-3, SEC-4); `lifecycle::apply_review` records it.

use super::names::Verdict;
use super::sanctions::SanctionsListVersion;
use super::screening::Outcome;
use rti_platform::stored_enum;

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
    /// Later screenings against newer list versions (SEC-3), oldest first.
    pub rescreenings: Vec<Rescreening>,
}

/// A submitted request screened again against a newer list version, for the names it adds or
/// changes since `baseline_list_id` (SEC-3).
#[derive(Debug, Clone, PartialEq)]
pub struct Rescreening {
    pub sanctions_list_id: String,
    pub list_generation_time: i64,
    pub baseline_list_id: String,
    pub verdict: Verdict,
    pub hits: Vec<ScreeningHit>,
    pub screen_time: i64,
}

impl Screening {
    /// The record of `outcome` against `list`, screened at `at`.
    pub fn of(outcome: &Outcome, list: &SanctionsListVersion, at: i64) -> Self {
        Self {
            verdict: outcome.verdict,
            sanctions_list_id: list.id.clone(),
            list_generation_time: list.generation_time,
            hits: hits_of(outcome),
            blocks: outcome.blocks.clone(),
            security_flags: outcome.security_flags.clone(),
            screen_time: at,
            review: None,
            rescreenings: Vec::new(),
        }
    }

    /// The list version the request was last screened with: the newest re-screening's, else
    /// the submission's.
    pub fn baseline_list_id(&self) -> &str {
        self.rescreenings
            .last()
            .map_or(self.sanctions_list_id.as_str(), |last| last.sanctions_list_id.as_str())
    }

    /// Whether a person had to look: a POSSIBLE match, a security flag, or a review on file.
    pub fn held(&self) -> bool {
        self.verdict == Verdict::Possible || !self.security_flags.is_empty() || self.review.is_some()
    }
}

/// The hits of an outcome as recorded.
pub fn hits_of(outcome: &Outcome) -> Vec<ScreeningHit> {
    outcome
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
        .collect()
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
