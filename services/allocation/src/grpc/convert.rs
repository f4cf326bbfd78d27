//! Requests into the operations' commands, the records in them read by `crate::convert`:
//! every field checked here, each violation naming its field, all reported at once. Checks that
//! need stored data (a call's criteria, a slot's units) are the operations' own.

use prost::Message;
use rti_platform::auth::Principal;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::idempotency::request_hash;
use rti_platform::pagination::PageRequest;
use rti_platform::store::IdempotencyKey;
use rti_proto::allocation as proto;

use super::validate::{
    self, MAX_CALL_INSTALLATIONS, MAX_CRITERIA, MAX_PANEL_MEMBERS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, at_most, repeats,
};
use crate::convert::{
    criterion_from_proto, installation_from_proto, panel_member_from_proto, rulebook_from_proto, score_from_proto,
    time_from_proto,
};
use crate::domain::calls::{Call, PanelMember, RulebookVersion};
use crate::domain::slots::{MAX_HOLD_SECONDS, MAX_UNITS};
use crate::service::{DeliveryCommand, FeasibilityCommand, NewCall, OfferCommand, ReviewCommand};

pub fn new_call(caller: &Principal, message: proto::CreateCallRequest) -> Result<NewCall, InvalidInput> {
    let mut violations = Violations::new();
    validate::request_id(&message.request_id, "request_id", &mut violations);
    let title = validate::text(&message.title, "title", MAX_TITLE_CHARS, true, &mut violations);
    if message.close_time.is_none() {
        violations.add(
            "close_time",
            "is required: the deadline is the reference date for eligibility",
        );
    }
    if let (Some(open), Some(close)) = (&message.open_time, &message.close_time)
        && open.seconds >= close.seconds
    {
        violations.add("open_time", "must be before close_time");
    }
    if message.installations.is_empty() {
        violations.add("installations", "at least one installation is required");
    }
    if message.grant_planned_units < 0 {
        violations.add("grant_planned_units", "must be 0 (the call's units) or more");
    }
    if message.max_days_decision_to_access < 0 {
        violations.add("max_days_decision_to_access", "must be 0 (none) or more");
    }
    let given_installations: &[proto::CallInstallation] = if at_most(
        &message.installations,
        "installations",
        MAX_CALL_INSTALLATIONS,
        &mut violations,
    ) {
        &message.installations
    } else {
        &[]
    };
    let repeated = repeats(given_installations.iter().map(|given| &given.installation_id));
    let mut installations = Vec::with_capacity(given_installations.len());
    for (index, given) in given_installations.iter().enumerate() {
        let field = format!("installations[{index}]");
        validate::reference(
            &given.installation_id,
            &format!("{field}.installation_id"),
            &mut violations,
        );
        if repeated[index] {
            violations.add(format!("{field}.installation_id"), "is listed twice");
        }
        if given.units <= 0 {
            violations.add(format!("{field}.units"), "must be greater than 0");
        } else if given.units > MAX_UNITS {
            violations.add(format!("{field}.units"), format!("must be at most {MAX_UNITS}"));
        }
        let equivalent = validate::countries(
            &given.equivalent_ri_countries,
            &format!("{field}.equivalent_ri_countries"),
            &mut violations,
        );
        installations.push(proto::CallInstallation {
            installation_id: given.installation_id.clone(),
            units: given.units,
            remote_set_id: validate::text(
                &given.remote_set_id,
                &format!("{field}.remote_set_id"),
                128,
                false,
                &mut violations,
            ),
            equivalent_ri_countries: equivalent,
            ..proto::CallInstallation::default()
        });
    }
    let criteria = validate::criteria(&message.criteria, &mut violations);
    let rulebook = validate::rulebook(message.rulebook.as_ref(), &mut violations);
    violations.into_result()?;
    let key = IdempotencyKey {
        field: "request_id",
        scope: format!("CreateCall:{}", caller.subject),
        key: message.request_id.clone(),
        request_hash: request_hash(&message.encode_to_vec()),
    };
    let draft = Call {
        title,
        programme: validate::text(
            &message.programme,
            "programme",
            MAX_TITLE_CHARS,
            false,
            &mut Violations::new(),
        ),
        grant_agreement: message.grant_agreement.trim().to_owned(),
        public_url: message.public_url.trim().to_owned(),
        open_at: time_from_proto(message.open_time.as_ref()),
        close_at: time_from_proto(message.close_time.as_ref()),
        continuous: message.continuous,
        installations: installations.iter().map(installation_from_proto).collect(),
        criteria: criteria.iter().map(criterion_from_proto).collect(),
        rulebook: Some(rulebook_from_proto(&rulebook)),
        grant_planned_units: message.grant_planned_units,
        max_days_decision_to_access: message.max_days_decision_to_access,
        ..Call::default()
    };
    Ok(NewCall { key, draft })
}

/// A page of a list; `filters` are the request's other fields, which a page token is bound to.
pub fn page(page_size: i32, page_token: &str, filters: &[&str]) -> Result<PageRequest, InvalidInput> {
    let mut violations = Violations::new();
    let page = PageRequest::parse(page_size, page_token, filters, &mut violations);
    violations.into_result()?;
    Ok(page)
}

/// TA-15: the amended rulebook with the programme's defaults applied, and why it changed.
pub fn amended_rulebook(message: &proto::AmendRulebookRequest) -> Result<RulebookVersion, InvalidInput> {
    let mut violations = Violations::new();
    if message.rulebook.is_none() {
        violations.add("rulebook", "is required");
    }
    let mut rulebook = validate::rulebook(message.rulebook.as_ref(), &mut violations);
    rulebook.reason = validate::text(&message.reason, "reason", MAX_TEXT_CHARS, true, &mut violations);
    violations.into_result()?;
    Ok(rulebook_from_proto(&rulebook))
}

/// TA-7: a panel of experts, one to [`MAX_PANEL_MEMBERS`], each listed once.
pub fn panel(members: &[proto::PanelMember]) -> Result<Vec<PanelMember>, InvalidInput> {
    let mut violations = Violations::new();
    if members.is_empty() {
        violations.add(
            "members",
            "at least one reviewer is required (TA-7: a panel of experts)",
        );
    }
    let members: &[proto::PanelMember] = if at_most(members, "members", MAX_PANEL_MEMBERS, &mut violations) {
        members
    } else {
        &[]
    };
    let repeated = repeats(members.iter().map(|member| &member.reviewer));
    for (index, member) in members.iter().enumerate() {
        let field = format!("members[{index}].reviewer");
        validate::text(&member.reviewer, &field, 200, true, &mut violations);
        if repeated[index] {
            violations.add(field, "is listed twice");
        }
    }
    violations.into_result()?;
    Ok(members.iter().map(panel_member_from_proto).collect())
}

/// A conflict of interest's reason, trimmed.
pub fn conflict(message: &proto::DeclareConflictRequest) -> Result<String, InvalidInput> {
    let mut violations = Violations::new();
    let reason = validate::text(&message.reason, "reason", MAX_TEXT_CHARS, true, &mut violations);
    if message.proposal_id.is_empty() {
        violations.add("proposal_id", "is required");
    }
    violations.into_result()?;
    Ok(reason)
}

/// A review is checked against the call's criteria by the operation; here only that it has no
/// more scores than a call has criteria.
pub fn review(message: proto::SubmitReviewRequest) -> Result<ReviewCommand, InvalidInput> {
    let mut violations = Violations::new();
    at_most(&message.scores, "scores", MAX_CRITERIA, &mut violations);
    violations.into_result()?;
    Ok(ReviewCommand {
        proposal_id: message.proposal_id,
        scores: message.scores.iter().map(score_from_proto).collect(),
        comment: message.comment,
    })
}

/// An operator's feasibility; a negative verdict needs a note.
pub fn feasibility(message: proto::SubmitFeasibilityRequest) -> Result<FeasibilityCommand, InvalidInput> {
    let mut violations = Violations::new();
    validate::reference(&message.proposal_id, "proposal_id", &mut violations);
    validate::reference(&message.installation_id, "installation_id", &mut violations);
    let note = validate::text(
        &message.note,
        "note",
        MAX_TEXT_CHARS,
        !message.feasible,
        &mut violations,
    );
    violations.into_result()?;
    Ok(FeasibilityCommand {
        proposal_id: message.proposal_id,
        installation_id: message.installation_id,
        feasible: message.feasible,
        note,
    })
}

pub fn offer(message: proto::OfferSlotRequest) -> Result<OfferCommand, InvalidInput> {
    let mut violations = Violations::new();
    validate::request_id(&message.request_id, "request_id", &mut violations);
    validate::reference(&message.access_request_id, "access_request_id", &mut violations);
    validate::reference(&message.installation_id, "installation_id", &mut violations);
    validate::text(&message.window_id, "window_id", 128, true, &mut violations);
    if message.units <= 0 {
        violations.add("units", "must be greater than 0");
    } else if message.units > MAX_UNITS {
        violations.add("units", format!("must be at most {MAX_UNITS}"));
    }
    if !(0..=MAX_HOLD_SECONDS).contains(&message.hold_seconds) {
        violations.add(
            "hold_seconds",
            format!("must be 1 to {MAX_HOLD_SECONDS} (0 for 7 days)"),
        );
    }
    violations.into_result()?;
    Ok(OfferCommand {
        request_id: message.request_id,
        access_request_id: message.access_request_id,
        installation_id: message.installation_id,
        window_id: message.window_id,
        units: message.units,
        hold_seconds: message.hold_seconds,
    })
}

/// Delivered and lost units are checked against the slot by the operation.
pub fn delivery(message: proto::RecordDeliveryRequest) -> DeliveryCommand {
    DeliveryCommand {
        slot_id: message.slot_id,
        delivered_units: message.delivered_units,
        lost_units: message.lost_units,
        lost_reason: message.lost_reason,
    }
}
