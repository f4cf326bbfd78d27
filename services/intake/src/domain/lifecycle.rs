//! The status machine of an access request, one per lane (DESIGN §3, intake).
//!
//! Industrial (charter) lane: DRAFT → SUBMITTED → SCREENING → FEASIBILITY → QUOTED → ACCEPTED →
//! CLOSED. Transnational access: DRAFT → SUBMITTED → SCREENING → IN_REVIEW (allocation's panel)
//! → CLOSED. Screening, feasibility, quotes and review may decline; the requester may withdraw
//! until the request is closed, declined or withdrawn.

use rti_proto::intake::{AccessRequestStatus as Status, Lane};

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
        _ => false,
    }
}

/// The states a request of `lane` can be in.
fn in_lane(lane: Lane, status: Status) -> bool {
    use Status::*;
    match status {
        Unspecified => false,
        Feasibility | Quoted | Accepted => lane == Lane::Industrial,
        InReview => lane == Lane::Transnational,
        Draft | Submitted | Screening | Closed | Declined | Withdrawn => lane != Lane::Unspecified,
    }
}

/// Closed, declined and withdrawn requests change no more.
pub fn is_final(status: Status) -> bool {
    matches!(status, Status::Closed | Status::Declined | Status::Withdrawn)
}

/// Where a request goes once screening lets it through: the operator's feasibility check for
/// the industrial lane, allocation's panel for transnational access.
pub fn after_screening(lane: Lane) -> Status {
    match lane {
        Lane::Transnational => Status::InReview,
        Lane::Industrial | Lane::Unspecified => Status::Feasibility,
    }
}

/// The error text of a refused transition: it names the current state.
pub fn refusal(from: Status, to: Status) -> String {
    format!(
        "the request is {}; it cannot become {}",
        short_name(from),
        short_name(to)
    )
}

/// `ACCESS_REQUEST_STATUS_IN_REVIEW` → `IN_REVIEW`.
pub fn short_name(status: Status) -> &'static str {
    status
        .as_str_name()
        .strip_prefix("ACCESS_REQUEST_STATUS_")
        .unwrap_or(status.as_str_name())
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
        ];
        for from in [Draft, Submitted, Screening, Feasibility, Quoted, Accepted] {
            expected.push((from, Withdrawn));
        }
        let mut found = edges(Lane::Industrial);
        expected.sort_by_key(|(from, to)| (*from as i32, *to as i32));
        found.sort_by_key(|(from, to)| (*from as i32, *to as i32));
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
}
