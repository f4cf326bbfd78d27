//! The store's edge to the protobuf contract, in one place: the records kept as JSON (the
//! organisation's profile, a request's screening and quote) in the protobuf JSON form the rows
//! already hold, and the payloads of the events announced through the outbox.

use rti_proto::common::event::Payload;
use rti_proto::intake as proto;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::convert;
use crate::domain::organisation::{Organisation, OrganisationKind};
use crate::domain::quote::Quote;
use crate::domain::request::{AccessRequest, StatusTransition};
use crate::domain::sanctions::SanctionsListVersion;
use crate::domain::screening_record::Screening;
use crate::domain::sme::SmeCategory;
use crate::domain::{IntakeError, IntakeResult};

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("proto messages serialise to JSON")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> IntakeResult<T> {
    serde_json::from_str(text).map_err(|error| IntakeError::Corrupt(error.to_string()))
}

pub(super) fn organisation_json(organisation: &Organisation) -> String {
    to_json(&convert::organisation_to_proto(organisation))
}

pub(super) fn organisation_from_json(text: &str) -> IntakeResult<Organisation> {
    convert::organisation_from_proto(from_json(text)?).map_err(IntakeError::Corrupt)
}

/// A screening record as JSON, empty when absent.
pub(super) fn screening_json(screening: Option<&Screening>) -> String {
    screening
        .map(|screening| to_json(&convert::screening_to_proto(screening)))
        .unwrap_or_default()
}

pub(super) fn screening_from_json(row: &AnyRow, column: usize) -> IntakeResult<Option<Screening>> {
    optional_json(row, column)?
        .map(|screening| convert::screening_from_proto(screening).map_err(IntakeError::Corrupt))
        .transpose()
}

/// A quote as JSON, empty when absent.
pub(super) fn quote_json(quote: Option<&Quote>) -> String {
    quote
        .map(|quote| to_json(&convert::quote_to_proto(quote)))
        .unwrap_or_default()
}

pub(super) fn quote_from_json(row: &AnyRow, column: usize) -> IntakeResult<Option<Quote>> {
    optional_json(row, column)?
        .map(|quote| convert::quote_from_proto(quote).map_err(IntakeError::Corrupt))
        .transpose()
}

/// A nested record stored as JSON, empty when absent.
fn optional_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: usize) -> IntakeResult<Option<T>> {
    let text: String = row.try_get(column)?;
    if text.is_empty() {
        Ok(None)
    } else {
        from_json(&text).map(Some)
    }
}

pub(super) fn organisation_registered(organisation: &Organisation) -> Payload {
    let assessment = &organisation.assessment;
    Payload::OrganisationRegistered(proto::OrganisationRegistered {
        organisation_id: organisation.id.clone(),
        kind: convert::organisation_kind_to_proto(organisation.profile.kind),
        country: organisation.profile.country.clone(),
        sme_category: convert::sme_category_to_proto(assessment.sme_category),
        start_up: assessment.start_up,
        small_mid_cap: assessment.small_mid_cap,
    })
}

/// What an event of a request's requester says of it: kind, country, SME category, start-up.
pub(super) struct Requester {
    pub kind: OrganisationKind,
    pub country: String,
    pub sme_category: SmeCategory,
    pub start_up: bool,
}

/// The event of one transition: what reporting and allocation need, and no names of people.
pub(super) fn status_changed(request: &AccessRequest, step: &StatusTransition, requester: Requester) -> Payload {
    Payload::AccessRequestStatusChanged(proto::AccessRequestStatusChanged {
        access_request_id: request.id.clone(),
        from: step.from.map_or(0, convert::status_to_proto),
        to: convert::status_to_proto(step.to),
        lane: convert::lane_to_proto(request.lane),
        organisation_id: request.organisation_id.clone(),
        requester_kind: convert::organisation_kind_to_proto(requester.kind),
        sme_category: convert::sme_category_to_proto(requester.sme_category),
        start_up: requester.start_up,
        country: requester.country,
        installations: convert::installations_to_proto(&request.installations),
        call_id: request.call_id.clone(),
        user_group_id: request.user_group_id.clone(),
        time: convert::time(step.time),
        confidentiality: convert::confidentiality_to_proto(request.confidentiality),
        screening_verdict: request
            .screening
            .as_ref()
            .map_or(0, |screening| convert::verdict_to_proto(screening.verdict)),
        screening_held: request.screening.as_ref().is_some_and(Screening::held),
    })
}

pub(super) fn clock_breached(request: &AccessRequest, breach: &crate::domain::clock::ClockBreach) -> Payload {
    Payload::DecisionClockBreached(proto::DecisionClockBreached {
        access_request_id: request.id.clone(),
        milestone: convert::milestone_to_proto(breach.milestone),
        due_time: convert::time(breach.due_time),
        met_time: breach.met_time.and_then(convert::time),
        installation_ids: request.installation_ids().map(str::to_owned).collect(),
        organisation_id: request.organisation_id.clone(),
    })
}

pub(super) fn sanctions_list_imported(version: &SanctionsListVersion) -> Payload {
    Payload::SanctionsListImported(proto::SanctionsListImported {
        sanctions_list_id: version.id.clone(),
        generation_time: convert::time(version.generation_time),
        parties: version.parties,
        names: version.names,
    })
}
