//! Organisations, people and user groups in their protobuf form.

use rti_proto::intake as proto;

use super::{
    exempt_investor_from_proto, exempt_investor_to_proto, micros, organisation_kind_from_proto,
    organisation_kind_to_proto, sme_category_from_proto, sme_category_to_proto, time, unreadable,
};
use crate::domain::organisation::{
    Assessment, DeclaredAid, Organisation, OrganisationProfile, Person, Shareholding, StartUpClaim, UserGroup,
};
use crate::domain::sme::{Figures, SmeCategory};

pub fn figures_from_proto(figures: &proto::Figures) -> Figures {
    Figures {
        headcount_awu: figures.headcount_awu,
        turnover_cents: figures.turnover_eur_cents,
        balance_sheet_cents: figures.balance_sheet_eur_cents,
    }
}

fn figures_to_proto(figures: &Figures) -> proto::Figures {
    proto::Figures {
        headcount_awu: figures.headcount_awu,
        turnover_eur_cents: figures.turnover_cents,
        balance_sheet_eur_cents: figures.balance_sheet_cents,
    }
}

pub fn organisation_to_proto(organisation: &Organisation) -> proto::Organisation {
    let profile = &organisation.profile;
    let assessment = &organisation.assessment;
    proto::Organisation {
        id: organisation.id.clone(),
        legal_name: profile.legal_name.clone(),
        country: profile.country.clone(),
        kind: organisation_kind_to_proto(profile.kind),
        legal_form: profile.legal_form.clone(),
        vat_number: profile.vat_number.clone(),
        euid: profile.euid.clone(),
        pic: profile.pic.clone(),
        figures: profile.figures.as_ref().map(figures_to_proto),
        reference_year: profile.reference_year,
        holdings: profile
            .holdings
            .iter()
            .map(|holding| proto::Holding {
                name: holding.name.clone(),
                country: holding.country.clone(),
                figures: holding.figures.as_ref().map(figures_to_proto),
                share_percent: holding.share_percent,
                control: holding.control,
                owner: holding.owner,
                exempt_investor: holding.exempt_investor.map_or(0, exempt_investor_to_proto),
                invested_eur_cents: holding.invested_eur_cents,
                annual_budget_eur_cents: holding.annual_budget_eur_cents,
                inhabitants: holding.inhabitants,
            })
            .collect(),
        public_control_percent: profile.public_control_percent,
        start_up: profile.start_up.as_ref().map(|claim| proto::StartUpEvidence {
            founded_on: claim.founded_on.clone(),
            innovative: claim.innovative,
            growth: claim.growth,
        }),
        declared_de_minimis_aid: profile
            .declared_de_minimis_aid
            .iter()
            .map(|grant| proto::DeclaredAid {
                granted_on: grant.granted_on.clone(),
                amount_eur_cents: grant.amount_eur_cents,
                granting_authority: grant.granting_authority.clone(),
            })
            .collect(),
        assessment: Some(proto::SizeAssessment {
            sme_category: sme_category_to_proto(assessment.sme_category),
            start_up: assessment.start_up,
            small_mid_cap: assessment.small_mid_cap,
            aggregated: assessment.aggregated.as_ref().map(figures_to_proto),
            reasons: assessment.reasons.clone(),
            small_mid_cap_rule: assessment.small_mid_cap_rule.clone(),
        }),
        create_time: time(organisation.create_time),
    }
}

/// An organisation as its stored profile holds it.
pub fn organisation_from_proto(organisation: proto::Organisation) -> Result<Organisation, String> {
    let kind = organisation_kind_from_proto(organisation.kind).ok_or_else(|| unreadable("organisation kind"))?;
    let assessment = organisation.assessment.unwrap_or_default();
    let holdings = organisation
        .holdings
        .into_iter()
        .map(|holding| Shareholding {
            figures: holding.figures.as_ref().map(figures_from_proto),
            exempt_investor: exempt_investor_from_proto(holding.exempt_investor),
            name: holding.name,
            country: holding.country,
            share_percent: holding.share_percent,
            control: holding.control,
            owner: holding.owner,
            invested_eur_cents: holding.invested_eur_cents,
            annual_budget_eur_cents: holding.annual_budget_eur_cents,
            inhabitants: holding.inhabitants,
        })
        .collect();
    Ok(Organisation {
        id: organisation.id,
        create_time: micros(organisation.create_time.as_ref()),
        assessment: Assessment {
            sme_category: sme_category_from_proto(assessment.sme_category).unwrap_or(SmeCategory::None),
            start_up: assessment.start_up,
            small_mid_cap: assessment.small_mid_cap,
            aggregated: assessment.aggregated.as_ref().map(figures_from_proto),
            reasons: assessment.reasons,
            small_mid_cap_rule: assessment.small_mid_cap_rule,
        },
        profile: OrganisationProfile {
            legal_name: organisation.legal_name,
            country: organisation.country,
            kind,
            legal_form: organisation.legal_form,
            vat_number: organisation.vat_number,
            euid: organisation.euid,
            pic: organisation.pic,
            figures: organisation.figures.as_ref().map(figures_from_proto),
            reference_year: organisation.reference_year,
            holdings,
            public_control_percent: organisation.public_control_percent,
            start_up: organisation.start_up.map(|claim| StartUpClaim {
                founded_on: claim.founded_on,
                innovative: claim.innovative,
                growth: claim.growth,
            }),
            declared_de_minimis_aid: organisation
                .declared_de_minimis_aid
                .into_iter()
                .map(|grant| DeclaredAid {
                    granted_on: grant.granted_on,
                    amount_eur_cents: grant.amount_eur_cents,
                    granting_authority: grant.granting_authority,
                })
                .collect(),
        },
    })
}

pub fn person_to_proto(person: &Person) -> proto::Person {
    proto::Person {
        id: person.id.clone(),
        full_name: person.full_name.clone(),
        organisation_id: person.organisation_id.clone(),
        work_country_override: person.work_country_override.clone(),
        work_country_evidence: person.work_country_evidence.clone(),
        work_country: person.work_country.clone(),
        nationality: person.nationality.clone(),
        create_time: time(person.create_time),
    }
}

pub fn user_group_to_proto(group: &UserGroup) -> proto::UserGroup {
    proto::UserGroup {
        id: group.id.clone(),
        name: group.name.clone(),
        leader_person_id: group.leader_person_id.clone(),
        member_person_ids: group.member_person_ids.clone(),
        organisation_id: group.organisation_id.clone(),
        members: group
            .members
            .iter()
            .map(|member| proto::UserGroupMember {
                person_id: member.person_id.clone(),
                leader: member.leader,
                work_country: member.work_country.clone(),
                organisation_id: member.organisation_id.clone(),
                employer_sme_category: member.employer_sme_category.map_or(0, sme_category_to_proto),
            })
            .collect(),
        create_time: time(group.create_time),
    }
}
