//! The panel's side of selection (TA-7): a review's weighted score, the ranking's order, and why
//! a ranked proposal cannot be allocated.

use rti_platform::error::Violations;

use super::calls::Criterion;
use super::eligibility::Outcome;

/// A score a reviewer gave one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionScore {
    pub criterion: String,
    pub score: f64,
}

/// A panel member's review.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub proposal_id: String,
    pub reviewer: String,
    pub scores: Vec<CriterionScore>,
    pub comment: String,
    pub weighted_score: f64,
    pub submitted_at: Option<i64>,
}

/// Lowest and highest score a reviewer may give a criterion.
const SCORES: std::ops::RangeInclusive<f64> = 0.0..=10.0;

/// TA-7: a review's score, weighted by the call's criteria; every criterion needs a score of 0
/// to 10 and no other is accepted (all problems go to `violations` under `scores`).
pub fn weighted_score(criteria: &[Criterion], scores: &[CriterionScore], violations: &mut Violations) -> f64 {
    let (mut weighted, mut weights) = (0.0, 0.0);
    for criterion in criteria {
        match scores.iter().find(|score| score.criterion == criterion.name) {
            None => violations.add("scores", format!("no score for the criterion {:?}", criterion.name)),
            Some(score) if !SCORES.contains(&score.score) => {
                violations.add("scores", format!("the score for {:?} must be 0 to 10", criterion.name));
            }
            Some(score) => {
                weighted += criterion.weight * score.score;
                weights += criterion.weight;
            }
        }
    }
    for score in scores {
        if !criteria.iter().any(|criterion| criterion.name == score.criterion) {
            violations.add(
                "scores",
                format!("{:?} is not a criterion of the call", score.criterion),
            );
        }
    }
    if weights > 0.0 { weighted / weights } else { 0.0 }
}

/// TA-7: the share of a panel's members who are independent.
pub fn independent_share(independent: &[bool]) -> f64 {
    let count = independent.iter().filter(|flag| **flag).count();
    count as f64 / independent.len().max(1) as f64
}

/// Mean of the panel's weighted scores; `None` without reviews.
pub fn mean_score(scores: &[f64]) -> Option<f64> {
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// An operator's verdict on one requested installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    NotYet,
    Feasible,
    NotFeasible { note: &'a str },
}

/// What keeps a proposal out of the allocation, in the order a coordinator would fix it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readiness<'a> {
    /// The first failed eligibility rule and its reason.
    pub failed_rule: Option<(&'a str, &'a str)>,
    /// Each requested installation with its operator's verdict.
    pub feasibility: &'a [(&'a str, Verdict<'a>)],
    /// The panel's mean score, if reviewed.
    pub mean_score: Option<f64>,
    /// The rulebook's threshold for a fundable score.
    pub threshold: f64,
}

/// Why a proposal cannot be allocated, or `None` when it can: eligible, feasible everywhere it
/// asks, reviewed, and scored at least the threshold.
pub fn not_allocatable(readiness: &Readiness<'_>) -> Option<String> {
    if let Some((rule, reason)) = readiness.failed_rule {
        return Some(format!("ineligible under {rule}: {reason}"));
    }
    for (installation_id, feasibility) in readiness.feasibility {
        match feasibility {
            Verdict::NotYet => {
                return Some(format!(
                    "no technical feasibility yet for installation {installation_id}"
                ));
            }
            Verdict::NotFeasible { note } => {
                return Some(format!("not feasible at installation {installation_id}: {note}"));
            }
            Verdict::Feasible => {}
        }
    }
    match readiness.mean_score {
        None => Some("not reviewed yet".to_owned()),
        Some(score) if score < readiness.threshold => Some(format!(
            "mean score {score:.2} is below the threshold {:.2}",
            readiness.threshold
        )),
        Some(_) => None,
    }
}

/// One proposal's place in a call's ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub proposal_id: String,
    /// 1 for the best; set by [`rank`].
    pub rank: i32,
    pub mean_score: f64,
    pub priority_bonus: f64,
    pub bonus_reasons: Vec<String>,
    /// Mean score plus priority bonus.
    pub total: f64,
    pub reviews: i32,
    pub eligibility: Option<Outcome>,
    pub not_allocatable_reason: Option<String>,
}

impl Ranked {
    /// Whether the proposal competes in the allocation run.
    pub fn allocatable(&self) -> bool {
        self.not_allocatable_reason.is_none()
    }
}

/// TA-7: allocatable proposals first, then by total (merit plus priority bonus), ties by id;
/// numbers the ranks from 1.
pub fn rank<T>(ranked: &mut [(Ranked, T)]) {
    ranked.sort_by(|(a, _), (b, _)| {
        b.allocatable()
            .cmp(&a.allocatable())
            .then(b.total.total_cmp(&a.total))
            .then(a.proposal_id.cmp(&b.proposal_id))
    });
    for (index, (entry, _)) in ranked.iter_mut().enumerate() {
        entry.rank = i32::try_from(index + 1).unwrap_or(i32::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria() -> Vec<Criterion> {
        let criterion = |name: &str, weight| Criterion {
            name: name.to_owned(),
            weight,
        };
        vec![criterion("merit", 3.0), criterion("feasibility", 1.0)]
    }

    fn score(criterion: &str, score: f64) -> CriterionScore {
        CriterionScore {
            criterion: criterion.to_owned(),
            score,
        }
    }

    #[test]
    fn a_review_score_is_weighted_by_the_criteria() {
        let mut violations = Violations::new();
        let scores = [score("merit", 8.0), score("feasibility", 4.0)];
        let weighted = weighted_score(&criteria(), &scores, &mut violations);
        assert!(violations.into_result().is_ok());
        assert!((weighted - 7.0).abs() < 1e-9);
    }

    #[test]
    fn rejects_a_review_missing_a_criterion_or_scoring_another() {
        let mut violations = Violations::new();
        let scores = [score("merit", 11.0), score("charm", 5.0)];
        weighted_score(&criteria(), &scores, &mut violations);
        assert!(violations.into_result().is_err());
    }

    #[test]
    fn a_proposal_without_feasibility_is_not_allocatable() {
        let feasibility = [("i-1", Verdict::NotYet)];
        let readiness = Readiness {
            failed_rule: None,
            feasibility: &feasibility,
            mean_score: Some(9.0),
            threshold: 0.0,
        };
        assert_eq!(
            not_allocatable(&readiness).as_deref(),
            Some("no technical feasibility yet for installation i-1")
        );
    }

    #[test]
    fn a_score_below_the_threshold_is_not_allocatable() {
        let feasibility = [("i-1", Verdict::Feasible)];
        let readiness = Readiness {
            failed_rule: None,
            feasibility: &feasibility,
            mean_score: Some(4.0),
            threshold: 5.0,
        };
        assert!(not_allocatable(&readiness).is_some());
        assert!(
            not_allocatable(&Readiness {
                threshold: 4.0,
                ..readiness
            })
            .is_none()
        );
    }

    #[test]
    fn allocatable_proposals_rank_before_better_scored_blocked_ones() {
        let entry = |id: &str, total: f64, blocked: bool| Ranked {
            proposal_id: id.to_owned(),
            rank: 0,
            mean_score: total,
            priority_bonus: 0.0,
            bonus_reasons: Vec::new(),
            total,
            reviews: 1,
            eligibility: Some(Outcome::Pass),
            not_allocatable_reason: blocked.then(|| "blocked".to_owned()),
        };
        let mut ranked = vec![
            (entry("a", 9.0, true), ()),
            (entry("b", 5.0, false), ()),
            (entry("c", 7.0, false), ()),
        ];
        rank(&mut ranked);
        let order: Vec<(&str, i32)> = ranked.iter().map(|(e, ())| (e.proposal_id.as_str(), e.rank)).collect();
        assert_eq!(order, [("c", 1), ("b", 2), ("a", 3)]);
    }
}
