//! Access requests, agreement templates, decision clocks and de minimis statements in their
//! protobuf form.

use rti_proto::intake as proto;

use super::{
    agreement_kind_to_proto, confidentiality_to_proto, ip_regime_to_proto, lane_to_proto, milestone_to_proto,
    money_to_proto, quote_to_proto, screening_to_proto, status_to_proto, time,
};
use crate::domain::aid::DeMinimisStatement;
use crate::domain::clock::{Deadlines, DecisionClock, Milestone};
use crate::domain::quote::Money;
use crate::domain::request::{AccessRequest, AgreementTemplate, RequestedInstallation, StatusTransition};

pub fn access_request_to_proto(request: &AccessRequest) -> proto::AccessRequest {
    proto::AccessRequest {
        id: request.id.clone(),
        status: status_to_proto(request.status),
        lane: lane_to_proto(request.lane),
        organisation_id: request.organisation_id.clone(),
        installations: installations_to_proto(&request.installations),
        title: request.title.clone(),
        description: request.description.clone(),
        confidentiality: confidentiality_to_proto(request.confidentiality),
        embargo_until: request.embargo_until.clone(),
        ip_regime: ip_regime_to_proto(request.ip_regime),
        agreement_kind: agreement_kind_to_proto(request.agreement_kind),
        agreement_acceptance: request
            .agreement_acceptance
            .as_ref()
            .map(|acceptance| proto::AgreementAcceptance {
                template_id: acceptance.template_id.clone(),
                kind: agreement_kind_to_proto(acceptance.kind),
                version: acceptance.version,
                accepted_by: acceptance.accepted_by.clone(),
                accept_time: time(acceptance.accept_time),
            }),
        contact_person_id: request.contact_person_id.clone(),
        user_group_id: request.user_group_id.clone(),
        call_id: request.call_id.clone(),
        end_use_statement: request.end_use_statement.clone(),
        outputs_leave_eu: request.outputs_leave_eu,
        screening: request.screening.as_ref().map(screening_to_proto),
        history: request.history.iter().map(transition_to_proto).collect(),
        quote: request.quote.as_ref().map(quote_to_proto),
        deadlines: request.deadlines.as_ref().map(deadlines_to_proto),
        breaches: request
            .breaches
            .iter()
            .map(|breach| proto::ClockBreach {
                milestone: milestone_to_proto(breach.milestone),
                due_time: time(breach.due_time),
                met_time: breach.met_time.and_then(time),
            })
            .collect(),
        create_time: time(request.create_time),
        update_time: time(request.update_time),
    }
}

/// The installations as the contract lists them: without the infrastructure, which is intake's.
pub fn installations_to_proto(installations: &[RequestedInstallation]) -> Vec<proto::RequestedInstallation> {
    installations
        .iter()
        .map(|installation| proto::RequestedInstallation {
            installation_id: installation.installation_id.clone(),
            units: installation.units,
        })
        .collect()
}

pub fn transition_to_proto(step: &StatusTransition) -> proto::StatusTransition {
    proto::StatusTransition {
        from: step.from.map_or(0, status_to_proto),
        to: status_to_proto(step.to),
        actor: step.actor.clone(),
        reason: step.reason.clone(),
        time: time(step.time),
    }
}

fn deadlines_to_proto(deadlines: &Deadlines) -> proto::Deadlines {
    proto::Deadlines {
        acknowledge_by: time(deadlines.acknowledge_by),
        feasibility_by: time(deadlines.feasibility_by),
        decide_by: time(deadlines.decide_by),
        acknowledge_time: deadlines.acknowledge_time.and_then(time),
        feasibility_time: deadlines.feasibility_time.and_then(time),
        decide_time: deadlines.decide_time.and_then(time),
        acknowledged_by: deadlines.acknowledged_by.clone(),
    }
}

pub fn overdue_to_proto(request: &AccessRequest, overdue: &[Milestone]) -> proto::OverdueRequest {
    proto::OverdueRequest {
        access_request: Some(access_request_to_proto(request)),
        overdue: overdue.iter().copied().map(milestone_to_proto).collect(),
    }
}

pub fn agreement_template_to_proto(template: &AgreementTemplate) -> proto::AgreementTemplate {
    proto::AgreementTemplate {
        id: template.id.clone(),
        kind: agreement_kind_to_proto(template.kind),
        version: template.version,
        title: template.title.clone(),
        jurisdiction: template.jurisdiction.clone(),
        text_uri: template.text_uri.clone(),
        text_sha256: template.text_sha256.clone(),
        effective_from: time(template.effective_from),
    }
}

pub fn decision_clock_to_proto(clock: &DecisionClock) -> proto::DecisionClock {
    proto::DecisionClock {
        installation_id: clock.installation_id.clone(),
        acknowledge_within_days: clock.clock.acknowledge_days,
        feasibility_within_days: clock.clock.feasibility_days,
        decide_within_days: clock.clock.decide_days,
        updated_by: clock.updated_by.clone(),
        update_time: time(clock.update_time),
    }
}

pub fn statement_to_proto(statement: &DeMinimisStatement) -> proto::DeMinimisStatement {
    let euro = |cents| money_to_proto(&Money::euro(cents));
    proto::DeMinimisStatement {
        organisation_id: statement.organisation_id.clone(),
        as_of: time(statement.as_of),
        ceiling: euro(statement.ceiling_eur_cents()),
        granted: euro(statement.granted_eur_cents),
        headroom: euro(statement.headroom_eur_cents()),
        grants: statement
            .grants
            .iter()
            .map(|grant| proto::AidGrant {
                access_request_id: grant.access_request_id.clone(),
                amount: euro(grant.amount_eur_cents),
                grant_time: time(grant.grant_time),
                granting_authority: grant.granting_authority.clone(),
                legal_basis: grant.legal_basis.clone(),
            })
            .collect(),
    }
}
