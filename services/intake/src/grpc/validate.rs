//! Checks of the fields a caller sends, each violation naming its field, and the computed parts
//! of an organisation (SME-1 to SME-4).

use rti_platform::country::normalize_country;
use rti_platform::error::Violations;
pub use rti_platform::validate::{reference, text};
use rti_proto::intake::{self as proto, AgreementKind, ExemptInvestorKind, IpRegime, Lane, OrganisationKind};

use crate::domain::sme::{
    Enterprise, ExemptInvestor, Figures, Holding, SmallMidCapRule, SmeCategory, StartUpEvidence, assess_size,
    assess_start_up,
};

pub const MAX_NAME_CHARS: usize = 300;
pub const MAX_TEXT_CHARS: usize = 20_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A country code, normalised (EL → GR, UK → GB); empty stays empty unless required.
pub fn country(value: &str, field: &str, required: bool, violations: &mut Violations) -> String {
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
pub fn date(value: &str, field: &str, violations: &mut Violations) -> Option<i64> {
    let parsed = crate::domain::date_micros(value);
    if parsed.is_none() {
        violations.add(field, "must be a date as YYYY-MM-DD");
    }
    parsed
}

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
    Figures {
        headcount_awu: value.headcount_awu,
        turnover_cents: value.turnover_eur_cents,
        balance_sheet_cents: value.balance_sheet_eur_cents,
    }
}

fn percent(value: f64, field: &str, violations: &mut Violations) {
    if !(0.0..=100.0).contains(&value) {
        violations.add(field, "must be a percentage from 0 to 100");
    }
}

fn holding(value: &proto::Holding, field: &str, violations: &mut Violations) -> (proto::Holding, Holding) {
    let mut clean = value.clone();
    clean.name = text(&value.name, &format!("{field}.name"), MAX_NAME_CHARS, true, violations);
    clean.country = country(&value.country, &format!("{field}.country"), true, violations);
    percent(value.share_percent, &format!("{field}.share_percent"), violations);
    let exempt_investor = match value.exempt_investor() {
        ExemptInvestorKind::Unspecified => None,
        ExemptInvestorKind::RiskCapital => Some(ExemptInvestor::RiskCapital {
            invested_cents: value.invested_eur_cents,
        }),
        ExemptInvestorKind::UniversityOrNonProfitResearchCentre => {
            Some(ExemptInvestor::UniversityOrNonProfitResearchCentre)
        }
        ExemptInvestorKind::InstitutionalInvestor => Some(ExemptInvestor::InstitutionalInvestor),
        ExemptInvestorKind::LocalAuthority => Some(ExemptInvestor::LocalAuthority {
            annual_budget_cents: value.annual_budget_eur_cents,
            inhabitants: value.inhabitants,
        }),
    };
    let domain = Holding {
        name: clean.name.clone(),
        figures: figures(value.figures.as_ref(), &format!("{field}.figures"), violations),
        share_percent: value.share_percent,
        control: value.control,
        exempt_investor,
    };
    (clean, domain)
}

/// Checks an organisation and computes its size class, start-up and small mid-cap status, as of
/// `today` (UTC microseconds). The caller's `assessment` is ignored: it is never typed in.
pub fn organisation(
    value: &proto::Organisation,
    mid_cap_rule: SmallMidCapRule,
    start_up_max_age_years: u32,
    today: i64,
    violations: &mut Violations,
) -> proto::Organisation {
    let mut clean = value.clone();
    clean.legal_name = text(
        &value.legal_name,
        "organisation.legal_name",
        MAX_NAME_CHARS,
        true,
        violations,
    );
    clean.country = country(&value.country, "organisation.country", true, violations);
    if value.kind() == OrganisationKind::Unspecified {
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
    if value.kind() == OrganisationKind::Company && value.figures.is_none() {
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
    let own = figures(value.figures.as_ref(), "organisation.figures", violations);
    let mut holdings = Vec::new();
    clean.holdings.clear();
    for (position, given) in value.holdings.iter().enumerate() {
        let (proto_holding, domain) = holding(given, &format!("organisation.holdings[{position}]"), violations);
        clean.holdings.push(proto_holding);
        holdings.push(domain);
    }
    for (position, grant) in value.declared_de_minimis_aid.iter().enumerate() {
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
    let start_up = value.start_up.as_ref().and_then(|evidence| {
        let founded = date(&evidence.founded_on, "organisation.start_up.founded_on", violations)?;
        let age_days = (today - founded).max(0) / MICROS_PER_DAY;
        let age_years = u32::try_from(age_days * 100 / 36_525).unwrap_or(u32::MAX);
        Some(assess_start_up(
            &StartUpEvidence {
                age_years,
                innovative: evidence.innovative,
                growth: evidence.growth,
            },
            start_up_max_age_years,
        ))
    });
    let mut assessment = if value.figures.is_some() {
        let size = assess_size(
            &Enterprise {
                figures: own,
                holdings,
                public_control_percent: value.public_control_percent,
            },
            mid_cap_rule,
        );
        proto::SizeAssessment {
            sme_category: sme_category(size.category).into(),
            start_up: false,
            small_mid_cap: size.small_mid_cap,
            aggregated: Some(proto::Figures {
                headcount_awu: size.aggregated.headcount_awu,
                turnover_eur_cents: size.aggregated.turnover_cents,
                balance_sheet_eur_cents: size.aggregated.balance_sheet_cents,
            }),
            reasons: size.reasons,
            small_mid_cap_rule: mid_cap_rule.source.to_owned(),
        }
    } else {
        proto::SizeAssessment {
            sme_category: proto::SmeCategory::None.into(),
            reasons: vec!["no accounts given: not assessed as an SME (SME-1)".to_owned()],
            small_mid_cap_rule: mid_cap_rule.source.to_owned(),
            ..Default::default()
        }
    };
    if let Some((is_start_up, reason)) = start_up {
        assessment.start_up = is_start_up;
        assessment.reasons.push(reason);
    }
    clean.assessment = Some(assessment);
    clean
}

fn sme_category(category: SmeCategory) -> proto::SmeCategory {
    match category {
        SmeCategory::Micro => proto::SmeCategory::Micro,
        SmeCategory::Small => proto::SmeCategory::Small,
        SmeCategory::Medium => proto::SmeCategory::Medium,
        SmeCategory::None => proto::SmeCategory::None,
    }
}

/// Whether an organisation's computed category makes it an SME (TA-5).
pub fn is_sme(organisation: &proto::Organisation) -> bool {
    matches!(
        organisation
            .assessment
            .as_ref()
            .map(proto::SizeAssessment::sme_category),
        Some(proto::SmeCategory::Micro | proto::SmeCategory::Small | proto::SmeCategory::Medium)
    )
}

/// The caller-set fields of a new access request, checked; the organisation is checked by the
/// caller. Returns the request with defaults filled (the TA lane's agreement).
pub fn access_request(value: &proto::AccessRequest, violations: &mut Violations) -> proto::AccessRequest {
    let mut clean = value.clone();
    clean.title = text(&value.title, "access_request.title", MAX_NAME_CHARS, true, violations);
    clean.description = text(
        &value.description,
        "access_request.description",
        MAX_TEXT_CHARS,
        true,
        violations,
    );
    clean.end_use_statement = text(
        &value.end_use_statement,
        "access_request.end_use_statement",
        MAX_TEXT_CHARS,
        false,
        violations,
    );
    if value.installations.is_empty() {
        violations.add("access_request.installations", "must name at least one installation");
    }
    for (position, installation) in value.installations.iter().enumerate() {
        let field = format!("access_request.installations[{position}]");
        reference(
            &installation.installation_id,
            &format!("{field}.installation_id"),
            violations,
        );
        if value.installations[..position]
            .iter()
            .any(|earlier| earlier.installation_id == installation.installation_id)
        {
            violations.add(format!("{field}.installation_id"), "is already requested above");
        }
        if installation.units <= 0 {
            violations.add(format!("{field}.units"), "must be at least 1");
        }
    }
    if value.confidentiality() == proto::ConfidentialityLevel::Unspecified {
        violations.add("access_request.confidentiality", "is required");
    }
    if !value.embargo_until.is_empty() {
        date(&value.embargo_until, "access_request.embargo_until", violations);
    }
    if !value.contact_person_id.is_empty() {
        reference(&value.contact_person_id, "access_request.contact_person_id", violations);
    }
    match value.lane() {
        Lane::Unspecified => violations.add("access_request.lane", "is required"),
        Lane::Industrial => {
            if matches!(
                value.agreement_kind(),
                AgreementKind::Unspecified | AgreementKind::TaUserAgreement
            ) {
                violations.add(
                    "access_request.agreement_kind",
                    "must be NDA, SERVICE_CONTRACT or COLLABORATIVE in the industrial lane (IND-7b)",
                );
            }
            if value.ip_regime() == IpRegime::Unspecified {
                violations.add(
                    "access_request.ip_regime",
                    "is required in the industrial lane (IND-7c)",
                );
            }
            if !value.user_group_id.is_empty() || !value.call_id.is_empty() {
                violations.add(
                    "access_request.call_id",
                    "user groups and calls belong to the transnational-access lane",
                );
            }
        }
        Lane::Transnational => {
            reference(&value.user_group_id, "access_request.user_group_id", violations);
            reference(&value.call_id, "access_request.call_id", violations);
            match value.agreement_kind() {
                AgreementKind::Unspecified => clean.set_agreement_kind(AgreementKind::TaUserAgreement),
                AgreementKind::TaUserAgreement => {}
                _ => violations.add(
                    "access_request.agreement_kind",
                    "transnational access runs under the TA user agreement (IND-7b)",
                ),
            }
            if value.ip_regime() == IpRegime::Unspecified {
                clean.set_ip_regime(IpRegime::OpenDissemination);
            }
        }
    }
    clean
}
