//! An access request as intake keeps it: its lane and status, what it asks for, the agreement it
//! runs under, and what happened to it (history, screening, quote, decision clock).

use rti_platform::error::{InvalidInput, Violations};
use rti_platform::stored_enum;
use rti_platform::validate::reference;

use super::clock::{ClockBreach, Deadlines};
use super::quote::Quote;
use super::screening_record::Screening;
pub use super::status::{Lane, RequestStatus};

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

/// The most units one request may ask of one installation: the registry's largest window
/// (`MAX_WINDOW_UNITS`), as allocation bounds an offer, so units times a price stays countable.
pub const MAX_UNITS: i64 = 1_000_000_000;

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

/// IND-7b, IND-7c: the terms each lane runs under. The industrial lane needs one of its standard
/// agreements and an IP regime, and has no user group or call; transnational access needs both,
/// runs under the TA user agreement, and disseminates unless the request says otherwise (TA-5 is
/// checked against the requester later). Gives the agreement and regime with the defaults filled,
/// as far as they hold; each problem names the request's field.
pub fn lane_terms(
    lane: Lane,
    agreement_kind: Option<AgreementKind>,
    ip_regime: Option<IpRegime>,
    (user_group_id, call_id): (&str, &str),
    violations: &mut Violations,
) -> (Option<AgreementKind>, Option<IpRegime>) {
    match lane {
        Lane::Industrial => {
            if matches!(agreement_kind, None | Some(AgreementKind::TaUserAgreement)) {
                violations.add(
                    "access_request.agreement_kind",
                    "must be NDA, SERVICE_CONTRACT or COLLABORATIVE in the industrial lane (IND-7b)",
                );
            }
            if ip_regime.is_none() {
                violations.add(
                    "access_request.ip_regime",
                    "is required in the industrial lane (IND-7c)",
                );
            }
            if !user_group_id.is_empty() || !call_id.is_empty() {
                violations.add(
                    "access_request.call_id",
                    "user groups and calls belong to the transnational-access lane",
                );
            }
            (agreement_kind, ip_regime)
        }
        Lane::Transnational => {
            reference(user_group_id, "access_request.user_group_id", violations);
            reference(call_id, "access_request.call_id", violations);
            let agreement_kind = match agreement_kind {
                None | Some(AgreementKind::TaUserAgreement) => Some(AgreementKind::TaUserAgreement),
                Some(_) => {
                    violations.add(
                        "access_request.agreement_kind",
                        "transnational access runs under the TA user agreement (IND-7b)",
                    );
                    None
                }
            };
            (agreement_kind, Some(ip_regime.unwrap_or(IpRegime::OpenDissemination)))
        }
    }
}

/// A request for tests: one installation of infrastructure `infra-1`, of organisation `org-1`.
#[cfg(test)]
pub(crate) fn example(lane: Lane, status: RequestStatus) -> AccessRequest {
    let new = NewAccessRequest {
        lane,
        organisation_id: String::new(),
        installations: vec![RequestedInstallation {
            installation_id: "installation-1".to_owned(),
            units: 2,
            infrastructure_id: "infra-1".to_owned(),
        }],
        title: "Beam time".to_owned(),
        description: "Two days".to_owned(),
        confidentiality: Confidentiality::Confidential,
        embargo_until: String::new(),
        ip_regime: IpRegime::UserOwns,
        agreement_kind: AgreementKind::Nda,
        contact_person_id: String::new(),
        user_group_id: String::new(),
        call_id: String::new(),
        end_use_statement: String::new(),
        outputs_leave_eu: false,
    };
    let mut request = AccessRequest::draft("request-1".to_owned(), "org-1".to_owned(), new, 0);
    request.status = status;
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(
        lane: Lane,
        kind: Option<AgreementKind>,
        regime: Option<IpRegime>,
    ) -> (Vec<String>, (Option<AgreementKind>, Option<IpRegime>)) {
        let mut violations = Violations::new();
        let group = "019b7a00-0000-7000-8000-0000000000aa";
        let found = lane_terms(lane, kind, regime, (group, group), &mut violations);
        let fields = violations
            .as_slice()
            .iter()
            .map(|violation| violation.field.clone())
            .collect();
        (fields, found)
    }

    #[test]
    fn ind7b_the_industrial_lane_needs_its_own_agreement_an_ip_regime_and_no_call() {
        let (fields, _) = terms(Lane::Industrial, Some(AgreementKind::TaUserAgreement), None);
        assert_eq!(
            fields,
            [
                "access_request.agreement_kind",
                "access_request.ip_regime",
                "access_request.call_id"
            ]
        );
    }

    #[test]
    fn transnational_access_defaults_to_the_ta_agreement_and_open_dissemination() {
        let (fields, found) = terms(Lane::Transnational, None, None);
        assert!(fields.is_empty(), "{fields:?}");
        assert_eq!(
            found,
            (Some(AgreementKind::TaUserAgreement), Some(IpRegime::OpenDissemination))
        );
        let (fields, _) = terms(Lane::Transnational, Some(AgreementKind::Nda), None);
        assert_eq!(fields, ["access_request.agreement_kind"]);
    }

    #[test]
    fn ta5_only_an_sme_keeps_transnational_results_to_itself() {
        let mut request = example(Lane::Transnational, RequestStatus::Draft);
        let new = |request: &AccessRequest| NewAccessRequest {
            lane: request.lane,
            organisation_id: String::new(),
            installations: Vec::new(),
            title: String::new(),
            description: String::new(),
            confidentiality: request.confidentiality,
            embargo_until: String::new(),
            ip_regime: request.ip_regime,
            agreement_kind: request.agreement_kind,
            contact_person_id: String::new(),
            user_group_id: String::new(),
            call_id: String::new(),
            end_use_statement: String::new(),
            outputs_leave_eu: false,
        };
        assert!(
            dissemination_refusal(&new(&request), false).is_some(),
            "a non-SME is refused"
        );
        assert!(
            dissemination_refusal(&new(&request), true).is_none(),
            "an SME may keep them"
        );
        request.ip_regime = IpRegime::OpenDissemination;
        assert!(dissemination_refusal(&new(&request), false).is_none());
        request.lane = Lane::Industrial;
        request.ip_regime = IpRegime::UserOwns;
        assert!(
            dissemination_refusal(&new(&request), false).is_none(),
            "TA-5 is the TA lane's"
        );
    }

    #[test]
    fn ind7b_the_industrial_lane_is_submitted_with_the_agreement_accepted() {
        assert!(agreement_refusal(Lane::Industrial, false).is_some());
        assert!(agreement_refusal(Lane::Industrial, true).is_none());
        assert!(agreement_refusal(Lane::Transnational, false).is_none());
    }
}
