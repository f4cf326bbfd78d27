//! Conversions between intake's domain entities and their protobuf form: into responses and
//! event payloads, and both ways for the records the store keeps as JSON (in the protobuf JSON
//! form rows already hold). Requests into domain values are read in `grpc/convert.rs`.

mod organisations;
mod requests;
mod screening;

use rti_platform::enum_conversions;
use rti_platform::time::{micros_from_timestamp, timestamp_from_micros};
use rti_proto::common::Money as ProtoMoney;
use rti_proto::intake as proto;
use rti_proto::pbjson_types::Timestamp;

use crate::domain::aid::RequesterClass;
use crate::domain::clock::Milestone;
use crate::domain::names::Verdict;
use crate::domain::organisation::{ExemptInvestorKind, OrganisationKind};
use crate::domain::quote::{AidBasis, Money};
use crate::domain::request::{Confidentiality, IpRegime};
use crate::domain::sanctions::SanctionsListFormat;
use crate::domain::screening_record::ReviewDecision;
use crate::domain::sme::SmeCategory;
use crate::domain::{AgreementKind, Lane, RequestStatus};

pub use organisations::{
    figures_from_proto, organisation_from_proto, organisation_to_proto, person_to_proto, user_group_to_proto,
};
pub use requests::{
    access_request_to_proto, agreement_template_to_proto, decision_clock_to_proto, installations_to_proto,
    overdue_to_proto, statement_to_proto, transition_to_proto,
};
pub use screening::{
    quote_from_proto, quote_to_proto, sanctions_list_to_proto, screening_from_proto, screening_to_proto,
};

enum_conversions!(status_to_proto, status_from_proto, RequestStatus <=> AccessRequestStatus {
    Draft => Draft, Submitted => Submitted, Screening => Screening, Feasibility => Feasibility,
    Quoted => Quoted, Accepted => Accepted, InReview => InReview, Closed => Closed,
    Declined => Declined, Withdrawn => Withdrawn,
});
enum_conversions!(lane_to_proto, lane_from_proto, Lane <=> Lane {
    Industrial => Industrial, Transnational => Transnational,
});
enum_conversions!(ip_regime_to_proto, ip_regime_from_proto, IpRegime <=> IpRegime {
    UserOwns => UserOwns, Joint => Joint, OpenDissemination => OpenDissemination,
});
enum_conversions!(confidentiality_to_proto, confidentiality_from_proto, Confidentiality <=> ConfidentialityLevel {
    Public => Public, Confidential => Confidential, StrictlyConfidential => StrictlyConfidential,
});
enum_conversions!(agreement_kind_to_proto, agreement_kind_from_proto, AgreementKind <=> AgreementKind {
    Nda => Nda, ServiceContract => ServiceContract, Collaborative => Collaborative,
    TaUserAgreement => TaUserAgreement,
});
enum_conversions!(milestone_to_proto, milestone_from_proto, Milestone <=> Milestone {
    Acknowledge => Acknowledge, Feasibility => Feasibility, Decision => Decision,
});
enum_conversions!(verdict_to_proto, verdict_from_proto, Verdict <=> ScreeningVerdict {
    Clear => Clear, Possible => Possible, Match => Match,
});
enum_conversions!(review_decision_to_proto, review_decision_from_proto, ReviewDecision <=> ReviewDecision {
    Approve => Approve, ApproveWithConditions => ApproveWithConditions, Reject => Reject,
});
enum_conversions!(organisation_kind_to_proto, organisation_kind_from_proto, OrganisationKind <=> OrganisationKind {
    Company => Company, University => University, ResearchOrganisation => ResearchOrganisation,
    PublicBody => PublicBody, Other => Other,
});
enum_conversions!(exempt_investor_to_proto, exempt_investor_from_proto, ExemptInvestorKind <=> ExemptInvestorKind {
    RiskCapital => RiskCapital, UniversityOrNonProfitResearchCentre => UniversityOrNonProfitResearchCentre,
    InstitutionalInvestor => InstitutionalInvestor, LocalAuthority => LocalAuthority,
});
enum_conversions!(sme_category_to_proto, sme_category_from_proto, SmeCategory <=> SmeCategory {
    Micro => Micro, Small => Small, Medium => Medium, None => None,
});
enum_conversions!(requester_class_to_proto, requester_class_from_proto, RequesterClass <=> RequesterClass {
    StartUp => StartUp, Sme => Sme, Academic => Academic, Other => Other,
});
enum_conversions!(aid_basis_to_proto, aid_basis_from_proto, AidBasis <=> AidBasis {
    None => None, DeMinimis => DeMinimis,
});
enum_conversions!(list_format_to_proto, list_format_from_proto, SanctionsListFormat <=> SanctionsListFormat {
    Xml => Xml, Csv => Csv,
});

pub fn time(micros: i64) -> Option<Timestamp> {
    Some(timestamp_from_micros(micros))
}

pub fn micros(time: Option<&Timestamp>) -> i64 {
    time.map_or(0, micros_from_timestamp)
}

pub fn money_to_proto(money: &Money) -> Option<ProtoMoney> {
    Some(ProtoMoney {
        currency: money.currency.clone(),
        minor_units: money.minor_units,
    })
}

pub fn money_from_proto(money: Option<&ProtoMoney>) -> Money {
    money.map_or_else(Money::default, |money| Money {
        currency: money.currency.clone(),
        minor_units: money.minor_units,
    })
}

/// A stored record that does not read back as a domain value.
fn unreadable(what: &str) -> String {
    format!("a stored {what} has a value intake does not know")
}
