//! Requests read into the operations' commands: enum values and fields checked, each problem
//! named by its dotted field path and all reported at once. Where an operation checks access
//! first, the problems travel with the command ([`Checked`]) and the operation reports them.

mod organisations;

use prost::Message;
use rti_platform::auth::Principal;
use rti_platform::country::normalize_country;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::pagination::PageRequest;
use rti_platform::store::IdempotencyKey;
use rti_platform::validate::{at_most, reference, repeats, text};
use rti_proto::intake as proto;

use crate::convert::{
    agreement_kind_from_proto, confidentiality_from_proto, ip_regime_from_proto, lane_from_proto,
    list_format_from_proto, review_decision_from_proto, status_from_proto,
};
use crate::domain::Checked;
use crate::domain::clock::Clock;
use crate::domain::request::{AgreementKind, MAX_UNITS, NewAccessRequest, RequestedInstallation, lane_terms};
use crate::domain::screening_record::ReviewDecision;
use crate::service::{CreateAccessRequest, ImportSanctionsList, ListAccessRequests, ReviewScreening, SetDecisionClock};

pub use organisations::{create_user_group, register_organisation, register_person};

pub const MAX_NAME_CHARS: usize = 300;
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Installations one access request names (a multi-site request across a distributed
/// infrastructure stays far below).
pub const MAX_REQUESTED_INSTALLATIONS: usize = 20;
/// Statuses a listing filters on: each status once, with room to spare.
pub const MAX_STATUS_FILTERS: usize = 16;

/// A country code, normalised (EL → GR, UK → GB); empty stays empty unless required.
fn country(value: &str, field: &str, required: bool, violations: &mut Violations) -> String {
    if value.is_empty() {
        if required {
            violations.add(field, "is required");
        }
        return String::new();
    }
    normalize_country(value).unwrap_or_else(|error| {
        violations.add(field, error.to_string());
        String::new()
    })
}

/// A `YYYY-MM-DD` date as UTC microseconds at midnight.
fn date(value: &str, field: &str, violations: &mut Violations) -> Option<i64> {
    let parsed = crate::domain::date_micros(value);
    if parsed.is_none() {
        violations.add(field, "must be a date as YYYY-MM-DD");
    }
    parsed
}

fn percent(value: f64, field: &str, violations: &mut Violations) {
    if !(0.0..=100.0).contains(&value) {
        violations.add(field, "must be a percentage from 0 to 100");
    }
}

/// The idempotency key of a create call, scoped to the RPC and the caller, with the hash of
/// the request it came with.
fn idempotency_key(
    field: &'static str,
    method: &str,
    caller: &Principal,
    key: &str,
    message: &impl Message,
) -> Checked<Option<IdempotencyKey>> {
    let mut violations = Violations::new();
    let key = IdempotencyKey::of_call(field, method, caller, key, &message.encode_to_vec(), &mut violations);
    // A key too long is a violation, reported with the others; no key is a key-less call.
    let valid = violations.is_empty();
    Checked::new(valid.then_some(key), violations)
}

/// A free text, trimmed and bounded.
pub fn checked_text(value: &str, field: &str, max: usize, required: bool) -> Checked<String> {
    let mut violations = Violations::new();
    let value = text(value, field, max, required, &mut violations);
    Checked::new(Some(value), violations)
}

pub fn create_access_request(caller: &Principal, message: &proto::CreateAccessRequestRequest) -> CreateAccessRequest {
    let mut key_violations = Violations::new();
    if message.idempotency_key.is_empty() {
        key_violations.add("idempotency_key", "is required: a UUID the client keeps for retries");
    }
    let key = idempotency_key(
        "idempotency_key",
        "CreateAccessRequest",
        caller,
        &message.idempotency_key,
        message,
    );
    let key = Checked::new(key.report_to(&mut key_violations), key_violations);
    let given = message.access_request.clone().unwrap_or_default();
    let mut violations = Violations::new();
    if message.access_request.is_none() {
        violations.add("access_request", "is required");
    }
    let request = access_request(&given, &mut violations);
    CreateAccessRequest {
        key,
        organisation_id: given.organisation_id,
        request: Checked::new(request, violations),
    }
}

/// The caller-set fields of a new access request, with the TA lane's defaults filled.
fn access_request(value: &proto::AccessRequest, violations: &mut Violations) -> Option<NewAccessRequest> {
    let title = text(&value.title, "access_request.title", MAX_NAME_CHARS, true, violations);
    let description = text(
        &value.description,
        "access_request.description",
        MAX_TEXT_CHARS,
        true,
        violations,
    );
    let end_use_statement = text(
        &value.end_use_statement,
        "access_request.end_use_statement",
        MAX_TEXT_CHARS,
        false,
        violations,
    );
    if value.installations.is_empty() {
        violations.add("access_request.installations", "must name at least one installation");
    }
    let installations: &[proto::RequestedInstallation] = if at_most(
        &value.installations,
        "access_request.installations",
        MAX_REQUESTED_INSTALLATIONS,
        violations,
    ) {
        &value.installations
    } else {
        &[]
    };
    let repeated = repeats(installations.iter().map(|installation| &installation.installation_id));
    for (position, installation) in installations.iter().enumerate() {
        let field = format!("access_request.installations[{position}]");
        reference(
            &installation.installation_id,
            &format!("{field}.installation_id"),
            violations,
        );
        if repeated[position] {
            violations.add(format!("{field}.installation_id"), "is already requested above");
        }
        if installation.units <= 0 {
            violations.add(format!("{field}.units"), "must be at least 1");
        } else if installation.units > MAX_UNITS {
            violations.add(format!("{field}.units"), format!("must be at most {MAX_UNITS}"));
        }
    }
    let confidentiality = confidentiality_from_proto(value.confidentiality);
    if confidentiality.is_none() {
        violations.add("access_request.confidentiality", "is required");
    }
    if !value.embargo_until.is_empty() {
        date(&value.embargo_until, "access_request.embargo_until", violations);
    }
    if !value.contact_person_id.is_empty() {
        reference(&value.contact_person_id, "access_request.contact_person_id", violations);
    }
    let agreement_kind = agreement_kind_from_proto(value.agreement_kind);
    let ip_regime = ip_regime_from_proto(value.ip_regime);
    let lane = lane_from_proto(value.lane);
    let (agreement_kind, ip_regime) = match lane {
        None => {
            violations.add("access_request.lane", "is required");
            (None, None)
        }
        Some(lane) => lane_terms(
            lane,
            agreement_kind,
            ip_regime,
            (&value.user_group_id, &value.call_id),
            violations,
        ),
    };
    Some(NewAccessRequest {
        lane: lane?,
        organisation_id: value.organisation_id.clone(),
        installations: installations
            .iter()
            .map(|installation| RequestedInstallation {
                installation_id: installation.installation_id.clone(),
                units: installation.units,
                infrastructure_id: String::new(),
            })
            .collect(),
        title,
        description,
        confidentiality: confidentiality?,
        embargo_until: value.embargo_until.clone(),
        ip_regime: ip_regime?,
        agreement_kind: agreement_kind?,
        contact_person_id: value.contact_person_id.clone(),
        user_group_id: value.user_group_id.clone(),
        call_id: value.call_id.clone(),
        end_use_statement,
        outputs_leave_eu: value.outputs_leave_eu,
    })
}

pub fn list_access_requests(message: &proto::ListAccessRequestsRequest) -> ListAccessRequests {
    let mut violations = Violations::new();
    if !at_most(&message.statuses, "statuses", MAX_STATUS_FILTERS, &mut violations) {
        return ListAccessRequests {
            statuses: Vec::new(),
            lane: lane_from_proto(message.lane),
            organisation_id: message.organisation_id.clone(),
            page: Checked::new(None, violations),
        };
    }
    if message
        .statuses
        .contains(&(proto::AccessRequestStatus::Unspecified as i32))
    {
        violations.add("statuses", "lists an unspecified status");
    }
    // Values this contract does not know are left out, as prost reads them.
    let known = message
        .statuses
        .iter()
        .filter_map(|status| status_from_proto(*status))
        .collect();
    let status_names: Vec<&str> = message.statuses().map(|status| status.as_str_name()).collect();
    let filter_key = [
        status_names.join(","),
        message.lane().as_str_name().to_owned(),
        message.organisation_id.clone(),
    ];
    let filter_refs: Vec<&str> = filter_key.iter().map(String::as_str).collect();
    let page = PageRequest::parse(message.page_size, &message.page_token, &filter_refs, &mut violations);
    ListAccessRequests {
        statuses: known,
        lane: lane_from_proto(message.lane),
        organisation_id: message.organisation_id.clone(),
        page: Checked::new(Some(page), violations),
    }
}

pub fn overdue_page(message: &proto::ListOverdueRequestsRequest) -> Checked<PageRequest> {
    let mut violations = Violations::new();
    let page = PageRequest::parse(message.page_size, &message.page_token, &["overdue"], &mut violations);
    Checked::new(Some(page), violations)
}

pub fn decision_clock(message: proto::SetDecisionClockRequest) -> SetDecisionClock {
    let given = message.clock.unwrap_or_default();
    SetDecisionClock {
        installation_id: given.installation_id,
        clock: Clock {
            acknowledge_days: given.acknowledge_within_days,
            feasibility_days: given.feasibility_within_days,
            decide_days: given.decide_within_days,
        },
    }
}

pub fn review_screening(message: proto::ReviewScreeningRequest) -> Result<ReviewScreening, InvalidInput> {
    let mut violations = Violations::new();
    reference(&message.id, "id", &mut violations);
    let decision = review_decision_from_proto(message.decision);
    if decision.is_none() {
        violations.add("decision", "is required");
    }
    let rationale = text(&message.rationale, "rationale", MAX_TEXT_CHARS, true, &mut violations);
    let conditions = text(
        &message.conditions,
        "conditions",
        MAX_TEXT_CHARS,
        decision == Some(ReviewDecision::ApproveWithConditions),
        &mut violations,
    );
    violations.into_result()?;
    Ok(ReviewScreening {
        id: message.id,
        decision: crate::domain::read(decision)?,
        rationale,
        conditions,
    })
}

pub fn import_sanctions_list(message: proto::ImportSanctionsListRequest) -> Result<ImportSanctionsList, InvalidInput> {
    let mut violations = Violations::new();
    let format = list_format_from_proto(message.format);
    if format.is_none() {
        violations.add("format", "is required: XML or CSV");
    }
    if message.content.is_empty() {
        violations.add("content", "is required: the list file as published");
    }
    violations.into_result()?;
    Ok(ImportSanctionsList {
        format: crate::domain::read(format)?,
        content: message.content,
    })
}

/// The kind a listing asks for; none for every kind.
pub fn agreement_kind_filter(message: &proto::ListAgreementTemplatesRequest) -> Option<AgreementKind> {
    agreement_kind_from_proto(message.kind)
}
