//! `RegisterOrganisation`, `RegisterPerson` and `CreateUserGroup` read into commands; each
//! problem named by its field, in the order the fields are read.

use rti_platform::auth::Principal;
use rti_platform::error::Violations;
use rti_platform::validate::{at_most, reference, repeats, text};
use rti_proto::intake as proto;

use super::{MAX_NAME_CHARS, country, date, idempotency_key, percent};
use crate::convert::{exempt_investor_from_proto, figures_from_proto, organisation_kind_from_proto};
use crate::domain::aid::declared_total;
use crate::domain::organisation::{DeclaredAid, OrganisationProfile, Shareholding, StartUpClaim};
use crate::domain::sme::Figures;
use crate::domain::{Checked, chosen_id};
use crate::service::{CreateUserGroup, NewPerson, NewUserGroup, RegisterOrganisation, RegisterPerson};

/// Shareholdings an organisation declares (partner and linked enterprises, owners).
pub const MAX_HOLDINGS: usize = 100;
/// De minimis aid grants declared for the last three years.
pub const MAX_DECLARED_AID: usize = 100;
/// Members of a user group besides its leader.
pub const MAX_GROUP_MEMBERS: usize = 200;

fn figures(value: Option<&proto::Figures>, field: &str, violations: &mut Violations) -> Figures {
    let value = value.cloned().unwrap_or_default();
    if !value.headcount_awu.is_finite() || value.headcount_awu < 0.0 {
        violations.add(format!("{field}.headcount_awu"), "must be zero or more");
    }
    if value.turnover_eur_cents < 0 {
        violations.add(format!("{field}.turnover_eur_cents"), "must be zero or more");
    }
    if value.balance_sheet_eur_cents < 0 {
        violations.add(format!("{field}.balance_sheet_eur_cents"), "must be zero or more");
    }
    figures_from_proto(&value)
}

fn holding(value: &proto::Holding, field: &str, violations: &mut Violations) -> Shareholding {
    let name = text(&value.name, &format!("{field}.name"), MAX_NAME_CHARS, true, violations);
    let country = country(&value.country, &format!("{field}.country"), true, violations);
    percent(value.share_percent, &format!("{field}.share_percent"), violations);
    figures(value.figures.as_ref(), &format!("{field}.figures"), violations);
    Shareholding {
        name,
        country,
        figures: value.figures.as_ref().map(figures_from_proto),
        share_percent: value.share_percent,
        control: value.control,
        owner: value.owner,
        exempt_investor: exempt_investor_from_proto(value.exempt_investor),
        invested_eur_cents: value.invested_eur_cents,
        annual_budget_eur_cents: value.annual_budget_eur_cents,
        inhabitants: value.inhabitants,
    }
}

/// Reads an organisation as of `today` (UTC microseconds: declared aid is not in the future).
/// The caller's `assessment` is ignored: it is computed, never typed in.
fn organisation(value: &proto::Organisation, today: i64, violations: &mut Violations) -> Option<OrganisationProfile> {
    let legal_name = text(
        &value.legal_name,
        "organisation.legal_name",
        MAX_NAME_CHARS,
        true,
        violations,
    );
    let country = country(&value.country, "organisation.country", true, violations);
    let kind = organisation_kind_from_proto(value.kind);
    if kind.is_none() {
        violations.add("organisation.kind", "is required");
    }
    for (field, value) in [
        ("organisation.legal_form", &value.legal_form),
        ("organisation.vat_number", &value.vat_number),
        ("organisation.euid", &value.euid),
        ("organisation.pic", &value.pic),
    ] {
        text(value, field, 100, false, violations);
    }
    if value.kind() == proto::OrganisationKind::Company && value.figures.is_none() {
        violations.add(
            "organisation.figures",
            "is required for a company: the SME category is computed from it",
        );
    }
    if value.figures.is_some() && !(1990..=2100).contains(&value.reference_year) {
        violations.add(
            "organisation.reference_year",
            "must be the year of the accounts, e.g. 2025",
        );
    }
    percent(
        value.public_control_percent,
        "organisation.public_control_percent",
        violations,
    );
    figures(value.figures.as_ref(), "organisation.figures", violations);
    let holdings: &[proto::Holding] = if at_most(&value.holdings, "organisation.holdings", MAX_HOLDINGS, violations) {
        &value.holdings
    } else {
        &[]
    };
    let declared_aid: &[proto::DeclaredAid] = if at_most(
        &value.declared_de_minimis_aid,
        "organisation.declared_de_minimis_aid",
        MAX_DECLARED_AID,
        violations,
    ) {
        &value.declared_de_minimis_aid
    } else {
        &[]
    };
    let holdings = holdings
        .iter()
        .enumerate()
        .map(|(position, given)| holding(given, &format!("organisation.holdings[{position}]"), violations))
        .collect();
    for (position, grant) in declared_aid.iter().enumerate() {
        let field = format!("organisation.declared_de_minimis_aid[{position}]");
        if let Some(granted) = date(&grant.granted_on, &format!("{field}.granted_on"), violations)
            && granted > today
        {
            violations.add(format!("{field}.granted_on"), "is in the future");
        }
        if grant.amount_eur_cents <= 0 {
            violations.add(format!("{field}.amount_eur_cents"), "must be more than zero");
        }
        text(
            &grant.granting_authority,
            &format!("{field}.granting_authority"),
            MAX_NAME_CHARS,
            true,
            violations,
        );
    }
    // SA-6: the ledger sums these amounts; a sum that overflows is refused, never wrapped.
    if let Err(position) = declared_total(value.declared_de_minimis_aid.iter().map(|grant| grant.amount_eur_cents)) {
        violations.add(
            format!("organisation.declared_de_minimis_aid[{position}].amount_eur_cents"),
            "added to the amounts above, it overflows",
        );
    }
    if let Some(evidence) = &value.start_up {
        date(&evidence.founded_on, "organisation.start_up.founded_on", violations);
    }
    Some(OrganisationProfile {
        legal_name,
        country,
        kind: kind?,
        legal_form: value.legal_form.clone(),
        vat_number: value.vat_number.clone(),
        euid: value.euid.clone(),
        pic: value.pic.clone(),
        figures: value.figures.as_ref().map(figures_from_proto),
        reference_year: value.reference_year,
        holdings,
        public_control_percent: value.public_control_percent,
        start_up: value.start_up.as_ref().map(|claim| StartUpClaim {
            founded_on: claim.founded_on.clone(),
            innovative: claim.innovative,
            growth: claim.growth,
        }),
        declared_de_minimis_aid: declared_aid
            .iter()
            .map(|grant| DeclaredAid {
                granted_on: grant.granted_on.clone(),
                amount_eur_cents: grant.amount_eur_cents,
                granting_authority: grant.granting_authority.clone(),
            })
            .collect(),
    })
}

pub fn register_organisation(
    caller: &Principal,
    message: &proto::RegisterOrganisationRequest,
    today: i64,
) -> RegisterOrganisation {
    let key = idempotency_key(
        "request_id",
        "RegisterOrganisation",
        caller,
        &message.request_id,
        message,
    );
    let given = message.organisation.clone().unwrap_or_default();
    let mut violations = Violations::new();
    if message.organisation.is_none() {
        violations.add("organisation", "is required");
    }
    let profile = organisation(&given, today, &mut violations);
    RegisterOrganisation {
        key,
        id: given.id,
        profile: Checked::new(profile, violations),
    }
}

pub fn register_person(caller: &Principal, message: &proto::RegisterPersonRequest) -> RegisterPerson {
    let key = idempotency_key("request_id", "RegisterPerson", caller, &message.request_id, message);
    let given = message.person.clone().unwrap_or_default();
    let mut violations = Violations::new();
    let person = NewPerson {
        id: chosen_id(&given.id, "person.id", &mut violations),
        full_name: text(
            &given.full_name,
            "person.full_name",
            MAX_NAME_CHARS,
            true,
            &mut violations,
        ),
        work_country_override: country(
            &given.work_country_override,
            "person.work_country_override",
            false,
            &mut violations,
        ),
        work_country_evidence: text(
            &given.work_country_evidence,
            "person.work_country_evidence",
            MAX_NAME_CHARS,
            !given.work_country_override.is_empty(),
            &mut violations,
        ),
        nationality: country(&given.nationality, "person.nationality", false, &mut violations),
    };
    RegisterPerson {
        key,
        organisation_id: given.organisation_id,
        person: Checked::new(Some(person), violations),
    }
}

pub fn create_user_group(caller: &Principal, message: &proto::CreateUserGroupRequest) -> CreateUserGroup {
    let key = idempotency_key("request_id", "CreateUserGroup", caller, &message.request_id, message);
    let given = message.user_group.clone().unwrap_or_default();
    let mut violations = Violations::new();
    reference(&given.leader_person_id, "user_group.leader_person_id", &mut violations);
    let members: &[String] = if at_most(
        &given.member_person_ids,
        "user_group.member_person_ids",
        MAX_GROUP_MEMBERS,
        &mut violations,
    ) {
        &given.member_person_ids
    } else {
        &[]
    };
    let repeated = repeats(members);
    for (position, member) in members.iter().enumerate() {
        let field = format!("user_group.member_person_ids[{position}]");
        reference(member, &field, &mut violations);
        if *member == given.leader_person_id {
            violations.add(&field, "is the leader, who is not repeated among the members");
        } else if repeated[position] {
            violations.add(&field, "is listed twice");
        }
    }
    let group = NewUserGroup {
        id: chosen_id(&given.id, "user_group.id", &mut violations),
        name: text(&given.name, "user_group.name", MAX_NAME_CHARS, true, &mut violations),
        leader_person_id: given.leader_person_id,
        member_person_ids: given.member_person_ids,
    };
    CreateUserGroup {
        key,
        organisation_id: given.organisation_id,
        group: Checked::new(Some(group), violations),
    }
}
