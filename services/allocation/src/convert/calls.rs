//! Calls, rulebooks and panels between the domain and the contract.

use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;

use super::{time_from_proto, time_to_proto};
use crate::domain::CallStatus;
use crate::domain::calls::{Call, CallInstallation, Criterion, Panel, PanelMember, RulebookVersion};
use crate::domain::eligibility::ProviderForm;

pub fn provider_form_to_proto(form: Option<ProviderForm>) -> proto::ProviderForm {
    match form {
        None => proto::ProviderForm::Unspecified,
        Some(ProviderForm::InternationalOrganisation) => proto::ProviderForm::InternationalOrganisation,
        Some(ProviderForm::Jrc) => proto::ProviderForm::Jrc,
        Some(ProviderForm::Eric) => proto::ProviderForm::Eric,
        Some(ProviderForm::Other) => proto::ProviderForm::Other,
    }
}

pub fn provider_form_from_proto(form: proto::ProviderForm) -> Option<ProviderForm> {
    match form {
        proto::ProviderForm::Unspecified => None,
        proto::ProviderForm::InternationalOrganisation => Some(ProviderForm::InternationalOrganisation),
        proto::ProviderForm::Jrc => Some(ProviderForm::Jrc),
        proto::ProviderForm::Eric => Some(ProviderForm::Eric),
        proto::ProviderForm::Other => Some(ProviderForm::Other),
    }
}

pub fn installation_to_proto(installation: &CallInstallation) -> proto::CallInstallation {
    proto::CallInstallation {
        installation_id: installation.installation_id.clone(),
        units: installation.units,
        remote_set_id: installation.remote_set_id.clone(),
        equivalent_ri_countries: installation.equivalent_ri_countries.clone(),
        countries: installation.countries.clone(),
        provider_form: provider_form_to_proto(installation.provider_form).into(),
        infrastructure_id: installation.infrastructure_id.clone(),
    }
}

pub fn installation_from_proto(installation: &proto::CallInstallation) -> CallInstallation {
    CallInstallation {
        installation_id: installation.installation_id.clone(),
        units: installation.units,
        remote_set_id: installation.remote_set_id.clone(),
        equivalent_ri_countries: installation.equivalent_ri_countries.clone(),
        countries: installation.countries.clone(),
        provider_form: provider_form_from_proto(installation.provider_form()),
        infrastructure_id: installation.infrastructure_id.clone(),
    }
}

pub fn criterion_from_proto(criterion: &proto::Criterion) -> Criterion {
    Criterion {
        name: criterion.name.clone(),
        weight: criterion.weight,
    }
}

pub fn rulebook_to_proto(rulebook: &RulebookVersion) -> proto::Rulebook {
    proto::Rulebook {
        version: rulebook.version,
        transnationality: rulebook.transnationality,
        non_eu_cap_percent: rulebook.non_eu_cap_percent,
        sme_dissemination_exemption: rulebook.sme_dissemination_exemption,
        eu_only: rulebook.eu_only,
        new_user_bonus: rulebook.new_user_bonus,
        no_equivalent_ri_bonus: rulebook.no_equivalent_ri_bonus,
        widening_bonus: rulebook.widening_bonus,
        country_cap_percent: rulebook.country_cap_percent,
        min_grant_percent: rulebook.min_grant_percent,
        score_threshold: rulebook.score_threshold,
        effective_time: time_to_proto(rulebook.effective_at),
        reason: rulebook.reason.clone(),
    }
}

pub fn rulebook_from_proto(rulebook: &proto::Rulebook) -> RulebookVersion {
    RulebookVersion {
        version: rulebook.version,
        transnationality: rulebook.transnationality,
        non_eu_cap_percent: rulebook.non_eu_cap_percent,
        sme_dissemination_exemption: rulebook.sme_dissemination_exemption,
        eu_only: rulebook.eu_only,
        new_user_bonus: rulebook.new_user_bonus,
        no_equivalent_ri_bonus: rulebook.no_equivalent_ri_bonus,
        widening_bonus: rulebook.widening_bonus,
        country_cap_percent: rulebook.country_cap_percent,
        min_grant_percent: rulebook.min_grant_percent,
        score_threshold: rulebook.score_threshold,
        effective_at: time_from_proto(rulebook.effective_time.as_ref()),
        reason: rulebook.reason.clone(),
    }
}

pub fn call_to_proto(call: &Call) -> proto::Call {
    proto::Call {
        id: call.id.clone(),
        title: call.title.clone(),
        programme: call.programme.clone(),
        grant_agreement: call.grant_agreement.clone(),
        public_url: call.public_url.clone(),
        open_time: time_to_proto(call.open_at),
        close_time: time_to_proto(call.close_at),
        continuous: call.continuous,
        installations: call.installations.iter().map(installation_to_proto).collect(),
        criteria: call
            .criteria
            .iter()
            .map(|criterion| proto::Criterion {
                name: criterion.name.clone(),
                weight: criterion.weight,
            })
            .collect(),
        rulebook: call.rulebook.as_ref().map(rulebook_to_proto),
        rulebook_history: call.rulebook_history.iter().map(rulebook_to_proto).collect(),
        grant_planned_units: call.grant_planned_units,
        max_days_decision_to_access: call.max_days_decision_to_access,
        status: call_status_to_proto(call.status).into(),
        country_table_version: call.country_table_version.clone(),
        coordinator: call.coordinator.clone(),
        create_time: time_to_proto(call.created_at),
    }
}

pub fn call_from_proto(call: &proto::Call) -> Call {
    Call {
        id: call.id.clone(),
        title: call.title.clone(),
        programme: call.programme.clone(),
        grant_agreement: call.grant_agreement.clone(),
        public_url: call.public_url.clone(),
        open_at: time_from_proto(call.open_time.as_ref()),
        close_at: time_from_proto(call.close_time.as_ref()),
        continuous: call.continuous,
        installations: call.installations.iter().map(installation_from_proto).collect(),
        criteria: call.criteria.iter().map(criterion_from_proto).collect(),
        rulebook: call.rulebook.as_ref().map(rulebook_from_proto),
        rulebook_history: call.rulebook_history.iter().map(rulebook_from_proto).collect(),
        grant_planned_units: call.grant_planned_units,
        max_days_decision_to_access: call.max_days_decision_to_access,
        status: CallStatus::from_stored(call.status().as_str_name()),
        country_table_version: call.country_table_version.clone(),
        coordinator: call.coordinator.clone(),
        created_at: time_from_proto(call.create_time.as_ref()),
    }
}

pub fn call_status_to_proto(status: Option<CallStatus>) -> proto::CallStatus {
    status
        .and_then(|status| proto::CallStatus::from_str_name(status.as_stored()))
        .unwrap_or_default()
}

pub fn panel_member_to_proto(member: &PanelMember) -> proto::PanelMember {
    proto::PanelMember {
        reviewer: member.reviewer.clone(),
        independent: member.independent,
        affiliation: member.affiliation.clone(),
    }
}

pub fn panel_member_from_proto(member: &proto::PanelMember) -> PanelMember {
    PanelMember {
        reviewer: member.reviewer.clone(),
        independent: member.independent,
        affiliation: member.affiliation.clone(),
    }
}

pub fn panel_to_proto(panel: Panel) -> proto::Panel {
    proto::Panel {
        call_id: panel.call_id,
        members: panel.members.iter().map(panel_member_to_proto).collect(),
        independent_share: panel.independent_share,
    }
}

/// The event of a new call.
pub fn call_created(call: &Call) -> Payload {
    Payload::CallCreated(proto::CallCreated {
        call_id: call.id.clone(),
        programme: call.programme.clone(),
        installations: call.installations.iter().map(installation_to_proto).collect(),
        close_time: time_to_proto(call.close_at),
        grant_planned_units: call.grant_planned_units,
        grant_agreement: call.grant_agreement.clone(),
        open_time: time_to_proto(call.open_at),
    })
}

/// The event of a new rulebook version (TA-15).
pub fn rulebook_amended(call_id: &str, rulebook: &RulebookVersion) -> Payload {
    Payload::RulebookAmended(proto::RulebookAmended {
        call_id: call_id.to_owned(),
        rulebook: Some(rulebook_to_proto(rulebook)),
    })
}
