//! Requesting organisations with their size class computed at registration (SME-1 to SME-4),
//! the people they employ, and the user groups they register for transnational access.

use super::IntakeResult;
use super::sme::{
    Enterprise, ExemptInvestor, Figures, Holding, SmallMidCapRule, SmeCategory, StartUpEvidence, assess_size,
    assess_start_up,
};
use rti_platform::error::InvalidInput;
use rti_platform::stored_enum;

const MICROS_PER_DAY: i64 = 86_400_000_000;

stored_enum!(
    OrganisationKind {
        Company => "ORGANISATION_KIND_COMPANY",
        University => "ORGANISATION_KIND_UNIVERSITY",
        ResearchOrganisation => "ORGANISATION_KIND_RESEARCH_ORGANISATION",
        PublicBody => "ORGANISATION_KIND_PUBLIC_BODY",
        Other => "ORGANISATION_KIND_OTHER",
    }
);

stored_enum!(
    /// The kinds of investor that may hold 25 % to 50 % without making a partnership (SME-2).
    ExemptInvestorKind {
        RiskCapital => "EXEMPT_INVESTOR_KIND_RISK_CAPITAL",
        UniversityOrNonProfitResearchCentre => "EXEMPT_INVESTOR_KIND_UNIVERSITY_OR_NON_PROFIT_RESEARCH_CENTRE",
        InstitutionalInvestor => "EXEMPT_INVESTOR_KIND_INSTITUTIONAL_INVESTOR",
        LocalAuthority => "EXEMPT_INVESTOR_KIND_LOCAL_AUTHORITY",
    }
);

/// A holding between the organisation and another enterprise, as the requester declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shareholding {
    pub name: String,
    pub country: String,
    pub figures: Option<Figures>,
    pub share_percent: f64,
    pub control: bool,
    /// The other enterprise owns a share of this one (screened by name, SEC-7).
    pub owner: bool,
    pub exempt_investor: Option<ExemptInvestorKind>,
    pub invested_eur_cents: i64,
    pub annual_budget_eur_cents: i64,
    pub inhabitants: u32,
}

impl Shareholding {
    /// The holding as SME-2 reads it.
    fn as_holding(&self) -> Holding {
        let exempt_investor = self.exempt_investor.map(|kind| match kind {
            ExemptInvestorKind::RiskCapital => ExemptInvestor::RiskCapital {
                invested_cents: self.invested_eur_cents,
            },
            ExemptInvestorKind::UniversityOrNonProfitResearchCentre => {
                ExemptInvestor::UniversityOrNonProfitResearchCentre
            }
            ExemptInvestorKind::InstitutionalInvestor => ExemptInvestor::InstitutionalInvestor,
            ExemptInvestorKind::LocalAuthority => ExemptInvestor::LocalAuthority {
                annual_budget_cents: self.annual_budget_eur_cents,
                inhabitants: self.inhabitants,
            },
        });
        Holding {
            name: self.name.clone(),
            figures: self.figures.unwrap_or(ZERO),
            share_percent: self.share_percent,
            control: self.control,
            exempt_investor,
        }
    }
}

const ZERO: Figures = Figures {
    headcount_awu: 0.0,
    turnover_cents: 0,
    balance_sheet_cents: 0,
};

/// De minimis aid the organisation declares it received elsewhere (SA-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAid {
    /// `YYYY-MM-DD`.
    pub granted_on: String,
    pub amount_eur_cents: i64,
    pub granting_authority: String,
}

/// What the requester claims for SME-4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartUpClaim {
    /// `YYYY-MM-DD`.
    pub founded_on: String,
    pub innovative: bool,
    pub growth: bool,
}

/// What the requester says of the organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationProfile {
    pub legal_name: String,
    pub country: String,
    pub kind: OrganisationKind,
    pub legal_form: String,
    pub vat_number: String,
    pub euid: String,
    pub pic: String,
    pub figures: Option<Figures>,
    pub reference_year: i32,
    pub holdings: Vec<Shareholding>,
    pub public_control_percent: f64,
    pub start_up: Option<StartUpClaim>,
    pub declared_de_minimis_aid: Vec<DeclaredAid>,
}

/// The size class computed from the profile, never typed in.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub sme_category: SmeCategory,
    pub start_up: bool,
    pub small_mid_cap: bool,
    pub aggregated: Option<Figures>,
    pub reasons: Vec<String>,
    pub small_mid_cap_rule: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organisation {
    pub id: String,
    pub profile: OrganisationProfile,
    pub assessment: Assessment,
    pub create_time: i64,
}

impl Organisation {
    /// TA-5: whether the computed category makes it an SME.
    pub fn is_sme(&self) -> bool {
        matches!(
            self.assessment.sme_category,
            SmeCategory::Micro | SmeCategory::Small | SmeCategory::Medium
        )
    }

    /// SA-5: universities and research organisations are priced as academics.
    pub fn is_academic(&self) -> bool {
        matches!(
            self.profile.kind,
            OrganisationKind::University | OrganisationKind::ResearchOrganisation
        )
    }
}

/// The size class, start-up and small mid-cap status of `profile` as of `today` (UTC
/// microseconds): SME-1 and SME-2 from the figures and holdings, SME-3 by `mid_cap_rule`, SME-4
/// with `start_up_max_age_years`.
pub fn assess(
    profile: &OrganisationProfile,
    mid_cap_rule: SmallMidCapRule,
    start_up_max_age_years: u32,
    today: i64,
) -> IntakeResult<Assessment> {
    let start_up = profile.start_up.as_ref().and_then(|claim| {
        let founded = super::date_micros(&claim.founded_on)?;
        let age_days = (today - founded).max(0) / MICROS_PER_DAY;
        let age_years = u32::try_from(age_days * 100 / 36_525).unwrap_or(u32::MAX);
        Some(assess_start_up(
            &StartUpEvidence {
                age_years,
                innovative: claim.innovative,
                growth: claim.growth,
            },
            start_up_max_age_years,
        ))
    });
    let mut assessment = match profile.figures {
        Some(figures) => {
            let size = assess_size(
                &Enterprise {
                    figures,
                    holdings: profile.holdings.iter().map(Shareholding::as_holding).collect(),
                    public_control_percent: profile.public_control_percent,
                },
                mid_cap_rule,
            )
            .map_err(|overflow| {
                InvalidInput::single(
                    format!(
                        "organisation.holdings[{}].figures.{}",
                        overflow.holding, overflow.figure
                    ),
                    "added to the organisation's own and its other holdings' figures, it overflows (SME-2)",
                )
            })?;
            Assessment {
                sme_category: size.category,
                start_up: false,
                small_mid_cap: size.small_mid_cap,
                aggregated: Some(size.aggregated),
                reasons: size.reasons,
                small_mid_cap_rule: mid_cap_rule.source.to_owned(),
            }
        }
        None => Assessment {
            sme_category: SmeCategory::None,
            start_up: false,
            small_mid_cap: false,
            aggregated: None,
            reasons: vec!["no accounts given: not assessed as an SME (SME-1)".to_owned()],
            small_mid_cap_rule: mid_cap_rule.source.to_owned(),
        },
    };
    if let Some((is_start_up, reason)) = start_up {
        assessment.start_up = is_start_up;
        assessment.reasons.push(reason);
    }
    Ok(assessment)
}

/// A person an organisation employs. Nationality is kept but never screened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub full_name: String,
    pub organisation_id: String,
    pub work_country_override: String,
    pub work_country_evidence: String,
    /// TA-2: the override, else the employer's country (employment, not nationality).
    pub work_country: String,
    pub nationality: String,
    pub create_time: i64,
}

/// TA-2: where a person works: the override with evidence, else where the employer is.
pub fn work_country(override_country: &str, employer_country: &str) -> String {
    if override_country.is_empty() {
        employer_country.to_owned()
    } else {
        override_country.to_owned()
    }
}

/// One user as eligibility reads it: work country and employer, never the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroupMember {
    pub person_id: String,
    pub leader: bool,
    pub work_country: String,
    pub organisation_id: String,
    pub employer_sme_category: Option<SmeCategory>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    pub id: String,
    pub name: String,
    pub leader_person_id: String,
    pub member_person_ids: Vec<String>,
    pub organisation_id: String,
    /// The leader first, then the members; filled when read.
    pub members: Vec<UserGroupMember>,
    pub create_time: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sme::SMALL_MID_CAP_2025_1099;

    fn profile(figures: Option<Figures>) -> OrganisationProfile {
        OrganisationProfile {
            legal_name: "Acme Photonics".to_owned(),
            country: "DE".to_owned(),
            kind: OrganisationKind::Company,
            legal_form: String::new(),
            vat_number: String::new(),
            euid: String::new(),
            pic: String::new(),
            figures,
            reference_year: 2025,
            holdings: Vec::new(),
            public_control_percent: 0.0,
            start_up: Some(StartUpClaim {
                founded_on: "2024-01-01".to_owned(),
                innovative: true,
                growth: true,
            }),
            declared_de_minimis_aid: Vec::new(),
        }
    }

    /// 2026-01-01.
    const TODAY: i64 = 1_767_225_600_000_000;

    #[test]
    fn sme1_without_accounts_an_organisation_is_not_an_sme() {
        let assessment = assess(&profile(None), SMALL_MID_CAP_2025_1099, 10, TODAY).expect("sums");
        assert_eq!(assessment.sme_category, SmeCategory::None);
        assert_eq!(
            assessment.reasons[0],
            "no accounts given: not assessed as an SME (SME-1)"
        );
        assert!(assessment.start_up, "SME-4 is assessed apart from the category");
    }

    #[test]
    fn a_small_company_is_an_sme_and_a_young_innovative_one_a_start_up() {
        let small = Figures {
            headcount_awu: 12.0,
            turnover_cents: 150_000_000,
            balance_sheet_cents: 100_000_000,
        };
        let assessment = assess(&profile(Some(small)), SMALL_MID_CAP_2025_1099, 10, TODAY).expect("sums");
        assert_eq!(assessment.sme_category, SmeCategory::Small);
        assert!(assessment.start_up);
        let organisation = Organisation {
            id: "org-1".to_owned(),
            profile: profile(Some(small)),
            assessment,
            create_time: TODAY,
        };
        assert!(organisation.is_sme());
        assert!(!organisation.is_academic());
        let too_old = assess(&profile(Some(small)), SMALL_MID_CAP_2025_1099, 1, TODAY).expect("sums");
        assert!(!too_old.start_up, "SME-4: older than the configured age");
    }
}
