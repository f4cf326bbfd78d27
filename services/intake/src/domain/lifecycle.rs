//! The status machine of an access request, one per lane (DESIGN §3, intake), and the steps each
//! operation takes through it.
//!
//! Industrial (charter) lane: DRAFT → SUBMITTED → SCREENING → FEASIBILITY → QUOTED → ACCEPTED →
//! CLOSED. Transnational access: DRAFT → SUBMITTED → SCREENING → IN_REVIEW (allocation's panel)
//! → CLOSED. Screening, feasibility, quotes and review may decline; the requester may withdraw
//! until the request is closed, declined or withdrawn.

use super::names::Verdict;
use super::request::{AccessRequest, INTAKE, Lane, RequestStatus as Status, Transition};
use super::screening::Decision;
use super::screening_record::{self, ReviewDecision, ScreeningReview};
pub use super::status::{is_final, refusal, short_name};
use super::{IntakeError, IntakeResult};

/// Whether a request of `lane` may go from `from` to `to`.
pub fn allowed(lane: Lane, from: Status, to: Status) -> bool {
    use Status::*;
    if !in_lane(lane, from) || !in_lane(lane, to) {
        return false;
    }
    match (from, to) {
        (_, Withdrawn) => !is_final(from),
        (Draft, Submitted) | (Submitted, Screening) => true,
        (Screening | Feasibility | Quoted | InReview, Declined) => true,
        (Screening, Feasibility) | (Feasibility, Quoted) | (Quoted, Accepted) | (Accepted, Closed) => true,
        (Screening, InReview) | (InReview, Closed) => true,
        // SEC-3: re-screening against a newer list holds an open request for a person, and an
        // approval resumes it where it was.
        (Feasibility | Quoted | Accepted | InReview, Screening) | (Screening, Quoted | Accepted) => true,
        _ => false,
    }
}

/// The states a request of `lane` can be in.
fn in_lane(lane: Lane, status: Status) -> bool {
    use Status::*;
    match status {
        Feasibility | Quoted | Accepted => lane == Lane::Industrial,
        InReview => lane == Lane::Transnational,
        Draft | Submitted | Screening | Closed | Declined | Withdrawn => true,
    }
}

/// Where a request goes once screening lets it through: the operator's feasibility check for
/// the industrial lane, allocation's panel for transnational access.
pub fn after_screening(lane: Lane) -> Status {
    match lane {
        Lane::Transnational => Status::InReview,
        Lane::Industrial => Status::Feasibility,
    }
}

/// What a submission does with the request as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// A draft: screen it and take it through.
    Screen,
    /// Submitted before: the call returns the request as it is (a retry).
    AlreadySubmitted,
}

/// Only a draft is submitted; a request submitted before answers a retry as it is.
pub fn submission(request: &AccessRequest) -> IntakeResult<Submission> {
    if request.status == Status::Draft {
        return Ok(Submission::Screen);
    }
    if request.history.iter().any(|step| step.to == Status::Submitted) {
        Ok(Submission::AlreadySubmitted)
    } else {
        Err(IntakeError::FailedPrecondition(refusal(
            request.status,
            Status::Submitted,
        )))
    }
}

/// The steps of a submission (SEC-7): submitted, screening against the list generated
/// `generation`, then declined, held or let through as screening decided.
pub fn submission_steps(
    submitter: &str,
    lane: Lane,
    generation: &str,
    decision: Decision,
    decline_reason: String,
) -> Vec<Transition> {
    let mut steps = vec![
        Transition::by(submitter, Status::Submitted, "submitted by the requester"),
        Transition::by(
            INTAKE,
            Status::Screening,
            format!("screening against the EU sanctions list generated {generation}"),
        ),
    ];
    match decision {
        Decision::Decline => steps.push(Transition::by(INTAKE, Status::Declined, decline_reason)),
        Decision::Hold => {}
        Decision::Proceed => steps.push(Transition::by(
            INTAKE,
            after_screening(lane),
            "screening clear: no listed name, no eligibility block, no security flag",
        )),
    }
    steps
}

/// The requester withdraws; withdrawing again changes nothing.
pub fn withdrawal(request: &AccessRequest, actor: &str, reason: &str) -> Vec<Transition> {
    if request.status == Status::Withdrawn {
        return Vec::new();
    }
    let reason = if reason.is_empty() {
        "withdrawn by the requester"
    } else {
        reason
    };
    vec![Transition::by(actor, Status::Withdrawn, reason)]
}

/// The operator or allocation closes a request; closing again changes nothing.
pub fn closing(request: &AccessRequest, actor: &str, reason: &str) -> Vec<Transition> {
    if request.status == Status::Closed {
        return Vec::new();
    }
    let reason = if reason.is_empty() { "access delivered" } else { reason };
    vec![Transition::by(actor, Status::Closed, reason)]
}

/// A request is declined in FEASIBILITY, QUOTED or IN_REVIEW; declining again changes nothing.
pub fn declining(request: &AccessRequest, actor: &str, reason: &str) -> IntakeResult<Vec<Transition>> {
    match request.status {
        Status::Declined => Ok(Vec::new()),
        Status::Feasibility | Status::Quoted | Status::InReview => {
            Ok(vec![Transition::by(actor, Status::Declined, reason)])
        }
        status => Err(IntakeError::FailedPrecondition(format!(
            "the request is {}; a request is declined in FEASIBILITY, QUOTED or IN_REVIEW",
            short_name(status)
        ))),
    }
}

/// Only a request held in SCREENING is reviewed (SEC-3, SEC-4).
pub fn reviewable(request: &AccessRequest) -> IntakeResult<()> {
    if request.status == Status::Screening {
        Ok(())
    } else {
        Err(IntakeError::FailedPrecondition(format!(
            "the request is {}; only a request held in SCREENING is reviewed",
            short_name(request.status)
        )))
    }
}

/// A request is quoted in FEASIBILITY only.
pub fn quotable(request: &AccessRequest) -> IntakeResult<()> {
    if request.status == Status::Feasibility {
        Ok(())
    } else {
        Err(IntakeError::FailedPrecondition(refusal(request.status, Status::Quoted)))
    }
}

/// Where an approved request goes: back where it was when re-screening held it (SEC-3), else
/// its lane's next state after screening.
fn after_review(request: &AccessRequest) -> Status {
    let held_from = request
        .history
        .iter()
        .rev()
        .find(|step| step.to == Status::Screening)
        .and_then(|step| step.from);
    match held_from {
        Some(from @ (Status::Feasibility | Status::Quoted | Status::Accepted | Status::InReview)) => from,
        _ => after_screening(request.lane),
    }
}

/// Records `review` on a request held in SCREENING and returns its step: a rejection declines,
/// an approval lets the request on to its lane's next state.
pub fn apply_review(request: &mut AccessRequest, review: ScreeningReview) -> IntakeResult<Transition> {
    reviewable(request)?;
    let step = match review.decision {
        ReviewDecision::Reject => Transition::by(
            &review.reviewer,
            Status::Declined,
            format!("screening review: {}", review.rationale),
        ),
        ReviewDecision::Approve | ReviewDecision::ApproveWithConditions => Transition::by(
            &review.reviewer,
            after_review(request),
            format!("screening review approved: {}", review.rationale),
        ),
    };
    // A held request always has its screening; an empty record is never stored otherwise.
    if let Some(screening) = request.screening.as_mut() {
        screening.review = Some(review);
    } else {
        request.screening = Some(screening_record::Screening {
            verdict: Verdict::Clear,
            sanctions_list_id: String::new(),
            list_generation_time: 0,
            hits: Vec::new(),
            blocks: Vec::new(),
            security_flags: Vec::new(),
            screen_time: 0,
            review: Some(review),
            rescreenings: Vec::new(),
        });
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    const ALL: [Status; 10] = [
        Draft,
        Submitted,
        Screening,
        Feasibility,
        Quoted,
        Accepted,
        InReview,
        Closed,
        Declined,
        Withdrawn,
    ];

    fn edges(lane: Lane) -> Vec<(Status, Status)> {
        ALL.iter()
            .flat_map(|from| ALL.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| allowed(lane, *from, *to))
            .collect()
    }

    #[test]
    fn the_industrial_lane_has_exactly_its_edges() {
        let mut expected = vec![
            (Draft, Submitted),
            (Submitted, Screening),
            (Screening, Feasibility),
            (Screening, Declined),
            (Feasibility, Quoted),
            (Feasibility, Declined),
            (Quoted, Accepted),
            (Quoted, Declined),
            (Accepted, Closed),
            // SEC-3: held again by re-screening, resumed by an approval.
            (Feasibility, Screening),
            (Quoted, Screening),
            (Accepted, Screening),
            (Screening, Quoted),
            (Screening, Accepted),
        ];
        for from in [Draft, Submitted, Screening, Feasibility, Quoted, Accepted] {
            expected.push((from, Withdrawn));
        }
        let mut found = edges(Lane::Industrial);
        expected.sort_by_key(|(from, to)| (from.as_stored(), to.as_stored()));
        found.sort_by_key(|(from, to)| (from.as_stored(), to.as_stored()));
        assert_eq!(found, expected);
    }

    #[test]
    fn the_transnational_lane_goes_to_review_not_to_quotes() {
        assert!(allowed(Lane::Transnational, Screening, InReview));
        assert!(allowed(Lane::Transnational, InReview, Closed));
        assert!(!allowed(Lane::Transnational, Screening, Feasibility));
        assert!(!allowed(Lane::Transnational, Feasibility, Quoted));
        assert!(!allowed(Lane::Industrial, Screening, InReview));
        assert!(!allowed(Lane::Industrial, InReview, Closed));
        assert!(!allowed(Lane::Transnational, Quoted, Withdrawn));
        assert!(allowed(Lane::Transnational, InReview, Withdrawn));
        assert!(allowed(Lane::Transnational, InReview, Declined));
        assert!(allowed(Lane::Transnational, InReview, Screening), "SEC-3: held again");
    }

    #[test]
    fn nothing_leaves_a_final_state_and_nothing_skips_screening() {
        for lane in [Lane::Industrial, Lane::Transnational] {
            for from in [Closed, Declined, Withdrawn] {
                assert!(ALL.iter().all(|to| !allowed(lane, from, *to)), "{from:?} is final");
            }
            assert!(!allowed(lane, Draft, Screening));
            assert!(!allowed(lane, Submitted, after_screening(lane)));
            assert!(!allowed(lane, Draft, Declined), "a draft is withdrawn, not declined");
        }
    }

    #[test]
    fn a_refusal_names_the_current_state() {
        assert_eq!(
            refusal(Declined, Submitted),
            "the request is DECLINED; it cannot become SUBMITTED"
        );
    }

    #[test]
    fn a_draft_is_screened_and_a_submitted_request_answers_a_retry_as_it_is() {
        let mut request = crate::domain::request::example(Lane::Industrial, Draft);
        assert_eq!(submission(&request).expect("allowed"), Submission::Screen);
        request.status = Feasibility;
        request.history.push(crate::domain::request::StatusTransition {
            from: Some(Draft),
            to: Submitted,
            actor: "someone".to_owned(),
            reason: String::new(),
            time: 0,
        });
        assert_eq!(submission(&request).expect("allowed"), Submission::AlreadySubmitted);
        request.history.clear();
        request.status = Withdrawn;
        assert!(submission(&request).is_err(), "a withdrawn draft is not submitted");
    }

    #[test]
    fn sec7_screening_declines_holds_or_lets_the_request_on_to_its_lane() {
        let targets = |lane, decision| -> Vec<Status> {
            submission_steps("someone", lane, "2026-01-01", decision, "listed".to_owned())
                .into_iter()
                .map(|step| step.to)
                .collect()
        };
        assert_eq!(
            targets(Lane::Industrial, Decision::Decline),
            [Submitted, Screening, Declined]
        );
        assert_eq!(targets(Lane::Industrial, Decision::Hold), [Submitted, Screening]);
        assert_eq!(
            targets(Lane::Industrial, Decision::Proceed),
            [Submitted, Screening, Feasibility]
        );
        assert_eq!(
            targets(Lane::Transnational, Decision::Proceed),
            [Submitted, Screening, InReview]
        );
    }

    #[test]
    fn a_request_is_declined_in_feasibility_quoted_or_review_and_once() {
        let request = |status| crate::domain::request::example(Lane::Industrial, status);
        for status in [Feasibility, Quoted, InReview] {
            assert_eq!(
                declining(&request(status), "someone", "no").expect("allowed").len(),
                1,
                "{status:?}"
            );
        }
        assert!(
            declining(&request(Declined), "someone", "no")
                .expect("allowed")
                .is_empty()
        );
        for status in [Draft, Submitted, Screening, Accepted, Closed, Withdrawn] {
            assert!(declining(&request(status), "someone", "no").is_err(), "{status:?}");
        }
    }

    #[test]
    fn withdrawing_and_closing_again_change_nothing_and_give_a_default_reason() {
        let draft = crate::domain::request::example(Lane::Industrial, Draft);
        assert_eq!(
            withdrawal(&draft, "someone", "")[0].reason,
            "withdrawn by the requester"
        );
        assert!(
            withdrawal(
                &crate::domain::request::example(Lane::Industrial, Withdrawn),
                "someone",
                ""
            )
            .is_empty()
        );
        let accepted = crate::domain::request::example(Lane::Industrial, Accepted);
        assert_eq!(closing(&accepted, "someone", "")[0].reason, "access delivered");
        assert!(
            closing(
                &crate::domain::request::example(Lane::Industrial, Closed),
                "someone",
                ""
            )
            .is_empty()
        );
    }

    #[test]
    fn only_a_feasible_request_is_quoted_and_only_a_held_one_reviewed() {
        let request = |status| crate::domain::request::example(Lane::Industrial, status);
        assert!(quotable(&request(Feasibility)).is_ok());
        assert!(quotable(&request(Quoted)).is_err());
        assert!(reviewable(&request(Screening)).is_ok());
        assert!(reviewable(&request(Feasibility)).is_err());
    }

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
        let mut held = crate::domain::request::example(Lane::Transnational, Screening);
        let step = apply_review(&mut held, review(ReviewDecision::Reject)).expect("allowed");
        assert_eq!(step.to, Declined);
        assert!(held.screening.is_some_and(|screening| screening.held()));
        let mut held = crate::domain::request::example(Lane::Transnational, Screening);
        let step = apply_review(&mut held, review(ReviewDecision::ApproveWithConditions)).expect("allowed");
        assert_eq!(step.to, InReview);
        assert_eq!(step.actor, "officer");
    }

    #[test]
    fn sec3_an_approval_resumes_a_request_where_re_screening_held_it() {
        let step = |from: Status, to: Status| crate::domain::request::StatusTransition {
            from: Some(from),
            to,
            actor: INTAKE.to_owned(),
            reason: String::new(),
            time: 1,
        };
        let mut suspended = crate::domain::request::example(Lane::Industrial, Screening);
        suspended.history = vec![
            step(Draft, Submitted),
            step(Submitted, Screening),
            step(Screening, Feasibility),
            step(Feasibility, Quoted),
            step(Quoted, Accepted),
            step(Accepted, Screening),
        ];
        let resumed = apply_review(&mut suspended, review(ReviewDecision::Approve)).expect("allowed");
        assert_eq!(resumed.to, Accepted, "back where it was, not to FEASIBILITY");
        let mut held = crate::domain::request::example(Lane::Industrial, Screening);
        held.history = vec![step(Draft, Submitted), step(Submitted, Screening)];
        let first = apply_review(&mut held, review(ReviewDecision::Approve)).expect("allowed");
        assert_eq!(first.to, Feasibility, "held at submission: on to its lane's next state");
    }

    #[test]
    fn only_a_request_held_in_screening_is_reviewed() {
        let mut request = crate::domain::request::example(Lane::Industrial, Feasibility);
        assert!(apply_review(&mut request, review(ReviewDecision::Approve)).is_err());
        assert!(request.screening.is_none());
    }
}
