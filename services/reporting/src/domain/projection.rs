//! What reporting keeps of the other services' events: each event becomes at most one change to
//! its projections (installation → infrastructure → provider country; request → lane,
//! requester, country, decision, screening; allocation → units granted, slots, deliveries).
//! No names of people ever arrive here.

/// An event of a followed stream that could not be applied (a poison event), kept with its
/// place in the stream so that an operator can find it at its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub sequence: i64,
    pub event_id: String,
    pub event_type: String,
    pub reason: &'static str,
}

/// One change to the projections.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Provider {
        id: String,
        country: String,
    },
    Infrastructure {
        id: String,
        provider_id: String,
        name: String,
    },
    Installation {
        id: String,
        infrastructure_id: String,
        name: String,
        critical_areas: Vec<String>,
    },
    /// A slot's reservation and the capacity window it holds (its period).
    SlotWindow {
        slot_id: String,
        installation_id: String,
        starts_at: i64,
        ends_at: i64,
    },
    RequestStatus(RequestStatus),
    ClockBreach {
        request_id: String,
        milestone: String,
        due_at: i64,
    },
    /// A transnational-access call and the units it offers per installation.
    Call {
        id: String,
        grant_agreement: String,
        programme: String,
        /// The close time, or the open time of a continuous call.
        at: i64,
        offered: Vec<(String, i64)>,
    },
    /// One proposal's line of a committed transnational-access allocation.
    AllocationLine {
        request_id: String,
        /// (installation, units) with units > 0.
        granted: Vec<(String, i64)>,
        non_eu_majority: bool,
        decided_at: i64,
    },
    Slot {
        slot_id: String,
        request_id: String,
        installation_id: String,
        units: i64,
        status: SlotStatus,
        delivered_units: i64,
        lost_units: i64,
        at: i64,
    },
}

/// A request's status change, with what the event says of its requester.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestStatus {
    pub request_id: String,
    pub lane: &'static str,
    pub organisation_id: String,
    pub home_country: String,
    pub requester_type: &'static str,
    pub confidential: bool,
    pub from: RequestState,
    pub to: RequestState,
    pub installations: Vec<(String, i64)>,
    pub call_id: String,
    pub screening_verdict: String,
    pub screening_held: bool,
    pub at: i64,
}

/// The states of an access request that reporting tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    Draft,
    Submitted,
    Screening,
    Open,
    Accepted,
    InReview,
    Declined,
    Withdrawn,
    Closed,
}

impl RequestState {
    pub fn name(self) -> &'static str {
        match self {
            RequestState::Draft => "draft",
            RequestState::Submitted => "submitted",
            RequestState::Screening => "screening",
            RequestState::Open => "open",
            RequestState::Accepted => "accepted",
            RequestState::InReview => "in_review",
            RequestState::Declined => "declined",
            RequestState::Withdrawn => "withdrawn",
            RequestState::Closed => "closed",
        }
    }

    /// The request's outcome once it reaches this state, if it is one.
    pub fn outcome(self) -> Option<&'static str> {
        match self {
            RequestState::Accepted => Some("accepted"),
            RequestState::Declined => Some("declined"),
            RequestState::Withdrawn => Some("withdrawn"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    Held,
    Accepted,
    Confirmed,
    Declined,
    Expired,
    Delivered,
}

impl SlotStatus {
    pub fn name(self) -> &'static str {
        match self {
            SlotStatus::Held => "held",
            SlotStatus::Accepted => "accepted",
            SlotStatus::Confirmed => "confirmed",
            SlotStatus::Declined => "declined",
            SlotStatus::Expired => "expired",
            SlotStatus::Delivered => "delivered",
        }
    }
}

/// KPI-4's sector of a requesting organisation: start-ups first (SME-4), then SMEs (SME-1),
/// then other companies; universities, research organisations and public bodies as they are.
pub fn requester_type(kind: OrganisationKind, sme: bool, start_up: bool) -> &'static str {
    use super::requester_type as types;
    match kind {
        OrganisationKind::Company if start_up => types::START_UP,
        OrganisationKind::Company if sme => types::SME,
        OrganisationKind::Company => types::LARGE_COMPANY,
        OrganisationKind::University => types::UNIVERSITY,
        OrganisationKind::ResearchOrganisation => types::RESEARCH_ORGANISATION,
        OrganisationKind::PublicBody => types::PUBLIC_BODY,
        OrganisationKind::Other => types::OTHER,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganisationKind {
    Company,
    University,
    ResearchOrganisation,
    PublicBody,
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_up_is_counted_as_such_before_its_size() {
        assert_eq!(requester_type(OrganisationKind::Company, true, true), "start_up");
        assert_eq!(requester_type(OrganisationKind::Company, true, false), "sme");
        assert_eq!(requester_type(OrganisationKind::Company, false, false), "large_company");
        assert_eq!(requester_type(OrganisationKind::University, false, false), "university");
    }

    #[test]
    fn only_final_states_are_outcomes() {
        assert_eq!(RequestState::Accepted.outcome(), Some("accepted"));
        assert_eq!(RequestState::InReview.outcome(), None);
    }
}
