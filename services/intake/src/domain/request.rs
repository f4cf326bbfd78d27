//! An access request as intake keeps it: its lane and status, what it asks for, the agreement it
//! runs under, and what happened to it (history, screening, quote, decision clock).

use rti_platform::error::InvalidInput;

use super::clock::{ClockBreach, Deadlines};
use super::quote::Quote;
use super::screening_record::Screening;

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

stored_enum!(
    /// Who owns the results (IND-7c).
    IpRegime {
        UserOwns => "IP_REGIME_USER_OWNS",
        Joint => "IP_REGIME_JOINT",
        OpenDissemination => "IP_REGIME_OPEN_DISSEMINATION",
    }
);

stored_enum!(
    Confidentiality {
        Public => "CONFIDENTIALITY_LEVEL_PUBLIC",
        Confidential => "CONFIDENTIALITY_LEVEL_CONFIDENTIAL",
        StrictlyConfidential => "CONFIDENTIALITY_LEVEL_STRICTLY_CONFIDENTIAL",
    }
);

stored_enum!(
    /// The standard agreements (IND-7b).
    AgreementKind {
        Nda => "AGREEMENT_KIND_NDA",
        ServiceContract => "AGREEMENT_KIND_SERVICE_CONTRACT",
        Collaborative => "AGREEMENT_KIND_COLLABORATIVE",
        TaUserAgreement => "AGREEMENT_KIND_TA_USER_AGREEMENT",
    }
);

/// One installation asked for, with the infrastructure it belongs to (for operators' scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedInstallation {
    pub installation_id: String,
    pub units: i64,
    /// Empty until the registry has named it, at creation.
    pub infrastructure_id: String,
}

/// A version of a standard agreement; a version is never edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementTemplate {
    pub id: String,
    pub kind: AgreementKind,
    pub version: i32,
    pub title: String,
    pub jurisdiction: String,
    pub text_uri: String,
    pub text_sha256: String,
    /// UTC microseconds.
    pub effective_from: i64,
}

/// Which template the requester accepted at submission, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementAcceptance {
    pub template_id: String,
    pub kind: AgreementKind,
    pub version: i32,
    pub accepted_by: String,
    pub accept_time: i64,
}

/// One step of a request's history; the first (creation) comes from no state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTransition {
    pub from: Option<RequestStatus>,
    pub to: RequestStatus,
    pub actor: String,
    pub reason: String,
    pub time: i64,
}

/// What a requester asks for: the fields a caller sets at creation, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccessRequest {
    pub lane: Lane,
    /// As named; the operation decides whom the caller acts for.
    pub organisation_id: String,
    pub installations: Vec<RequestedInstallation>,
    pub title: String,
    pub description: String,
    pub confidentiality: Confidentiality,
    pub embargo_until: String,
    pub ip_regime: IpRegime,
    pub agreement_kind: AgreementKind,
    pub contact_person_id: String,
    pub user_group_id: String,
    pub call_id: String,
    pub end_use_statement: String,
    pub outputs_leave_eu: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessRequest {
    pub id: String,
    pub status: RequestStatus,
    pub lane: Lane,
    pub organisation_id: String,
    pub installations: Vec<RequestedInstallation>,
    pub title: String,
    pub description: String,
    pub confidentiality: Confidentiality,
    /// `YYYY-MM-DD`, or empty.
    pub embargo_until: String,
    pub ip_regime: IpRegime,
    pub agreement_kind: AgreementKind,
    pub agreement_acceptance: Option<AgreementAcceptance>,
    pub contact_person_id: String,
    pub user_group_id: String,
    pub call_id: String,
    pub end_use_statement: String,
    pub outputs_leave_eu: bool,
    pub screening: Option<Screening>,
    pub history: Vec<StatusTransition>,
    pub quote: Option<Quote>,
    pub deadlines: Option<Deadlines>,
    pub breaches: Vec<ClockBreach>,
    pub create_time: i64,
    pub update_time: i64,
}

impl AccessRequest {
    /// A new draft of `new`, for `organisation_id`, created at `now`.
    pub fn draft(id: String, organisation_id: String, new: NewAccessRequest, now: i64) -> Self {
        Self {
            id,
            status: RequestStatus::Draft,
            lane: new.lane,
            organisation_id,
            installations: new.installations,
            title: new.title,
            description: new.description,
            confidentiality: new.confidentiality,
            embargo_until: new.embargo_until,
            ip_regime: new.ip_regime,
            agreement_kind: new.agreement_kind,
            agreement_acceptance: None,
            contact_person_id: new.contact_person_id,
            user_group_id: new.user_group_id,
            call_id: new.call_id,
            end_use_statement: new.end_use_statement,
            outputs_leave_eu: new.outputs_leave_eu,
            screening: None,
            history: Vec::new(),
            quote: None,
            deadlines: None,
            breaches: Vec::new(),
            create_time: now,
            update_time: now,
        }
    }

    /// The infrastructure of each requested installation, in order.
    pub fn infrastructure_ids(&self) -> impl Iterator<Item = &str> {
        self.installations
            .iter()
            .map(|installation| installation.infrastructure_id.as_str())
    }

    pub fn installation_ids(&self) -> impl Iterator<Item = &str> {
        self.installations
            .iter()
            .map(|installation| installation.installation_id.as_str())
    }
}

/// One step a change takes the request through, and who took it: a token subject, or
/// [`INTAKE`] for the service's own screening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub actor: String,
    pub to: RequestStatus,
    pub reason: String,
}

/// The actor of the steps intake takes itself.
pub const INTAKE: &str = "intake";

impl Transition {
    pub fn by(actor: &str, to: RequestStatus, reason: impl Into<String>) -> Self {
        Self {
            actor: actor.to_owned(),
            to,
            reason: reason.into(),
        }
    }
}

/// TA-5: transnational access benefits user groups free to disseminate their results, unless
/// they work for an SME; a non-SME that needs confidentiality uses the industrial lane.
pub fn dissemination_refusal(request: &NewAccessRequest, requester_is_sme: bool) -> Option<InvalidInput> {
    (request.lane == Lane::Transnational && request.ip_regime != IpRegime::OpenDissemination && !requester_is_sme).then(
        || {
            InvalidInput::single(
                "access_request.ip_regime",
                "transnational access requires dissemination of the results unless the users work for an SME \
                 (TA-5); a non-SME that needs confidentiality uses the industrial lane",
            )
        },
    )
}

/// IND-7b: the industrial lane runs under the standard agreement the requester accepts at
/// submission.
pub fn agreement_refusal(lane: Lane, accept_agreement: bool) -> Option<InvalidInput> {
    (lane == Lane::Industrial && !accept_agreement).then(|| {
        InvalidInput::single(
            "accept_agreement",
            "must be true: the industrial lane runs under the standard agreement chosen (IND-7b)",
        )
    })
}
