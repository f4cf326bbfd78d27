//! Where an access request is in its lane's status machine, and how a state is named in
//! messages. The machine's edges are `lifecycle`'s.

use rti_platform::stored_enum;

stored_enum!(
    /// Where a request is in its lane's status machine (DESIGN §3, intake).
    RequestStatus {
        Draft => "ACCESS_REQUEST_STATUS_DRAFT",
        Submitted => "ACCESS_REQUEST_STATUS_SUBMITTED",
        Screening => "ACCESS_REQUEST_STATUS_SCREENING",
        Feasibility => "ACCESS_REQUEST_STATUS_FEASIBILITY",
        Quoted => "ACCESS_REQUEST_STATUS_QUOTED",
        Accepted => "ACCESS_REQUEST_STATUS_ACCEPTED",
        InReview => "ACCESS_REQUEST_STATUS_IN_REVIEW",
        Closed => "ACCESS_REQUEST_STATUS_CLOSED",
        Declined => "ACCESS_REQUEST_STATUS_DECLINED",
        Withdrawn => "ACCESS_REQUEST_STATUS_WITHDRAWN",
    }
);

stored_enum!(
    /// The industrial-user charter's lane, or transnational access (TA).
    Lane {
        Industrial => "LANE_INDUSTRIAL",
        Transnational => "LANE_TRANSNATIONAL",
    }
);

/// Closed, declined and withdrawn requests change no more.
pub fn is_final(status: RequestStatus) -> bool {
    matches!(
        status,
        RequestStatus::Closed | RequestStatus::Declined | RequestStatus::Withdrawn
    )
}

/// The error text of a refused transition: it names the current state.
pub fn refusal(from: RequestStatus, to: RequestStatus) -> String {
    format!(
        "the request is {}; it cannot become {}",
        short_name(from),
        short_name(to)
    )
}

/// `ACCESS_REQUEST_STATUS_IN_REVIEW` → `IN_REVIEW`.
pub fn short_name(status: RequestStatus) -> &'static str {
    let stored = status.as_stored();
    stored.strip_prefix("ACCESS_REQUEST_STATUS_").unwrap_or(stored)
}
