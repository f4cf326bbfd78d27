//! The states of calls, proposals, slots and allocation lines. Each has one storage name, the
//! contract's enum name, so a stored row reads as the API's value; a slot's `PENDING` (an offer
//! whose registry reservation is not yet known to be taken) is known only to the store.

use rti_platform::stored_enum;

stored_enum!(
    /// A call takes proposals and rulebook amendments while open; its allocation is approved once.
    CallStatus {
        Open => "CALL_STATUS_OPEN",
        Allocated => "CALL_STATUS_ALLOCATED",
    }
);

stored_enum!(
    /// Where a proposal is: in review until the allocation decides it, or withdrawn by intake.
    ProposalStatus {
        InReview => "PROPOSAL_STATUS_IN_REVIEW",
        Granted => "PROPOSAL_STATUS_GRANTED",
        Refused => "PROPOSAL_STATUS_REFUSED",
        Withdrawn => "PROPOSAL_STATUS_WITHDRAWN",
    }
);

stored_enum!(
    /// The lane a request came by: a call's panel (TA) or the operator's word (industrial).
    Lane {
        Industrial => "LANE_INDUSTRIAL",
        Transnational => "LANE_TRANSNATIONAL",
    }
);

stored_enum!(
    /// A slot's life: PENDING → HELD → ACCEPTED → CONFIRMED → DELIVERED, or DECLINED / EXPIRED.
    SlotStatus {
        /// Being offered: the registry may or may not hold its units yet.
        Pending => "PENDING",
        Held => "SLOT_STATUS_HELD",
        Accepted => "SLOT_STATUS_ACCEPTED",
        Confirmed => "SLOT_STATUS_CONFIRMED",
        Delivered => "SLOT_STATUS_DELIVERED",
        Declined => "SLOT_STATUS_DECLINED",
        Expired => "SLOT_STATUS_EXPIRED",
    }
);

stored_enum!(
    /// What the allocation run decided for one proposal.
    LineDecision {
        Granted => "LINE_DECISION_GRANTED",
        Cut => "LINE_DECISION_CUT",
        Refused => "LINE_DECISION_REFUSED",
    }
);

impl CallStatus {
    /// TA-15: the rulebook changes only before the allocation is approved.
    pub fn accepts_amendments(self) -> bool {
        self == CallStatus::Open
    }
}

impl ProposalStatus {
    /// The stored name of a status that may be unknown (a record from before any decision).
    pub fn stored_name(status: Option<Self>) -> &'static str {
        status.map_or("PROPOSAL_STATUS_UNSPECIFIED", Self::as_stored)
    }

    /// TA-15: a proposal still in the call is judged again under a new rulebook version;
    /// a withdrawn one is not.
    pub fn reevaluated_on_amendment(self) -> bool {
        self != ProposalStatus::Withdrawn
    }

    /// The proposal's status once the allocation decided its line.
    pub fn after(decision: LineDecision) -> Self {
        match decision {
            LineDecision::Refused => ProposalStatus::Refused,
            LineDecision::Granted | LineDecision::Cut => ProposalStatus::Granted,
        }
    }
}

impl Lane {
    /// The stored name of a lane that may be unknown.
    pub fn stored_name(lane: Option<Self>) -> &'static str {
        lane.map_or("LANE_UNSPECIFIED", Self::as_stored)
    }
}

impl SlotStatus {
    /// States whose units count against what a request may have (a new offer must fit beside them).
    pub const LIVE: [SlotStatus; 5] = [
        SlotStatus::Pending,
        SlotStatus::Held,
        SlotStatus::Accepted,
        SlotStatus::Confirmed,
        SlotStatus::Delivered,
    ];

    /// States in which the installation is booked for the request (TA-7's "used before", and a
    /// request counts as scheduled when every installation has one).
    pub const BOOKED: [SlotStatus; 2] = [SlotStatus::Confirmed, SlotStatus::Delivered];

    /// States that end a slot without use: the registry's reservation must be released.
    pub const ENDED: [SlotStatus; 2] = [SlotStatus::Declined, SlotStatus::Expired];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_storage_name() {
        for status in SlotStatus::ALL {
            assert_eq!(SlotStatus::from_stored(status.as_stored()), Some(*status));
        }
        for status in ProposalStatus::ALL {
            assert_eq!(ProposalStatus::from_stored(status.as_stored()), Some(*status));
        }
        assert_eq!(SlotStatus::from_stored("SLOT_STATUS_UNSPECIFIED"), None);
    }

    #[test]
    fn a_withdrawn_proposal_is_not_judged_again_under_a_new_rulebook() {
        assert!(!ProposalStatus::Withdrawn.reevaluated_on_amendment());
        assert!(ProposalStatus::InReview.reevaluated_on_amendment());
        assert!(ProposalStatus::Granted.reevaluated_on_amendment());
    }

    #[test]
    fn a_cut_line_still_grants_the_proposal() {
        assert_eq!(ProposalStatus::after(LineDecision::Cut), ProposalStatus::Granted);
        assert_eq!(ProposalStatus::after(LineDecision::Refused), ProposalStatus::Refused);
    }
}
