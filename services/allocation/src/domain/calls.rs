//! Calls: the installations and units they offer, their selection criteria, their versioned
//! rulebook (TA-15) and their panel (TA-7). Times are UTC microseconds.

use super::eligibility::{self, ProviderForm, Site};
use super::evaluation::CallRules;
use super::ledger;
use super::states::CallStatus;

/// TA-6: the programme's cap on non-EU/AC-majority groups when a call does not set one.
pub const DEFAULT_NON_EU_CAP_PERCENT: i32 = 20;
/// Partial grants go down to half of what was asked unless the call says otherwise.
pub const DEFAULT_MIN_GRANT_PERCENT: i32 = 50;

/// One installation a call offers, with its site as resolved in the registry at creation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallInstallation {
    pub installation_id: String,
    pub units: i64,
    /// TA-3(b): installations offered as one remote set.
    pub remote_set_id: String,
    /// TA-7: countries where an equivalent infrastructure exists.
    pub equivalent_ri_countries: Vec<String>,
    pub countries: Vec<String>,
    pub provider_form: Option<ProviderForm>,
    pub infrastructure_id: String,
}

/// A selection criterion and its weight in a review's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    pub name: String,
    pub weight: f64,
}

/// One version of a call's rulebook as stored (TA-15: a version is never edited).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulebookVersion {
    pub version: i32,
    /// TA-2.
    pub transnationality: bool,
    /// TA-6 (20 by default).
    pub non_eu_cap_percent: i32,
    /// TA-5.
    pub sme_dissemination_exemption: bool,
    pub eu_only: bool,
    pub new_user_bonus: f64,
    pub no_equivalent_ri_bonus: f64,
    pub widening_bonus: f64,
    /// 0 = no per-country cap.
    pub country_cap_percent: i32,
    /// Partial grants: the least share of a request granted (50 by default).
    pub min_grant_percent: i32,
    /// Mean score below which a proposal is not funded.
    pub score_threshold: f64,
    pub effective_at: Option<i64>,
    /// Why this version was made.
    pub reason: String,
}

impl RulebookVersion {
    /// The eligibility rules' view of this version.
    pub fn rules(&self) -> eligibility::Rulebook {
        eligibility::Rulebook {
            version: u32::try_from(self.version).unwrap_or_default(),
            transnationality: self.transnationality,
            non_eu_cap_percent: u32::try_from(self.non_eu_cap_percent)
                .unwrap_or(DEFAULT_NON_EU_CAP_PERCENT.unsigned_abs()),
            sme_dissemination_exemption: self.sme_dissemination_exemption,
            eu_only: self.eu_only,
            new_user_bonus: self.new_user_bonus,
            no_equivalent_ri_bonus: self.no_equivalent_ri_bonus,
            widening_bonus: self.widening_bonus,
            country_cap_percent: u32::try_from(self.country_cap_percent)
                .ok()
                .filter(|percent| *percent > 0),
        }
    }
}

/// A transnational-access call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Call {
    pub id: String,
    pub title: String,
    pub programme: String,
    pub grant_agreement: String,
    pub public_url: String,
    pub open_at: Option<i64>,
    /// The deadline: the reference date for eligibility (CTRY-2).
    pub close_at: Option<i64>,
    pub continuous: bool,
    pub installations: Vec<CallInstallation>,
    pub criteria: Vec<Criterion>,
    /// The version in force; `None` only on a record being built.
    pub rulebook: Option<RulebookVersion>,
    /// Earlier versions, oldest first.
    pub rulebook_history: Vec<RulebookVersion>,
    /// TA-6's denominator when set.
    pub grant_planned_units: i64,
    pub max_days_decision_to_access: i32,
    /// `None` only on a record being built.
    pub status: Option<CallStatus>,
    pub country_table_version: String,
    pub coordinator: String,
    pub created_at: Option<i64>,
}

impl Call {
    /// The installation entry of the call, if it offers `installation_id`.
    pub fn offered(&self, installation_id: &str) -> Option<&CallInstallation> {
        self.installations
            .iter()
            .find(|installation| installation.installation_id == installation_id)
    }

    /// TA-6's denominator: the grant's planned units, or the units the call offers when unset.
    pub fn planned_units(&self) -> i64 {
        ledger::planned_units(
            self.grant_planned_units,
            self.installations.iter().map(|installation| installation.units),
        )
    }

    /// The units the call offers over all its installations.
    pub fn offered_units(&self) -> u64 {
        self.installations
            .iter()
            .map(|installation| u64::try_from(installation.units).unwrap_or(0))
            .fold(0, u64::saturating_add)
    }

    /// TA-6's cap in percent under the rulebook in force (the programme's without one).
    pub fn non_eu_cap_percent(&self) -> i32 {
        self.rulebook
            .as_ref()
            .map_or(DEFAULT_NON_EU_CAP_PERCENT, |rules| rules.non_eu_cap_percent)
    }

    /// TA-15: the rulebook changes only before the allocation is approved.
    pub fn accepts_amendments(&self) -> bool {
        self.status.is_some_and(CallStatus::accepts_amendments)
    }
}

/// A call's installations and reference date as the eligibility rules read them.
#[derive(Debug, Clone)]
pub struct CallView {
    pub rulebook: eligibility::Rulebook,
    /// The reference date for eligibility: the call's close time (CTRY-2).
    pub on: i64,
    pub sites: Vec<Site>,
}

impl CallView {
    /// The view of `call` under `rulebook`, its close time, or `now` for a call without one.
    pub fn of(call: &Call, rulebook: &RulebookVersion, now: i64) -> Self {
        Self {
            rulebook: rulebook.rules(),
            on: call.close_at.unwrap_or(now),
            sites: call.installations.iter().map(site).collect(),
        }
    }

    /// The view as the rules borrow it.
    pub fn rules(&self) -> CallRules<'_> {
        CallRules {
            rulebook: &self.rulebook,
            on: self.on,
            sites: &self.sites,
        }
    }
}

/// The rules' view of an offered installation.
fn site(installation: &CallInstallation) -> Site {
    Site {
        installation_id: installation.installation_id.clone(),
        countries: installation.countries.clone(),
        provider_form: installation.provider_form.unwrap_or(ProviderForm::Other),
        remote_set: !installation.remote_set_id.is_empty(),
        countries_with_equivalent_ri: installation.equivalent_ri_countries.clone(),
    }
}

/// A reviewer on a call's panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelMember {
    pub reviewer: String,
    pub independent: bool,
    pub affiliation: String,
}

/// A call's panel (TA-7: most or all members external or independent).
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub call_id: String,
    pub members: Vec<PanelMember>,
    pub independent_share: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ta6_denominator_of_a_call_without_planned_units_is_what_it_offers() {
        let installation = |units| CallInstallation {
            units,
            ..CallInstallation::default()
        };
        let call = Call {
            installations: vec![installation(30), installation(70)],
            ..Call::default()
        };
        assert_eq!(call.planned_units(), 100);
        assert_eq!(
            Call {
                grant_planned_units: 500,
                ..call
            }
            .planned_units(),
            500
        );
    }

    #[test]
    fn an_allocated_call_refuses_amendments() {
        let call = Call {
            status: Some(CallStatus::Allocated),
            ..Call::default()
        };
        assert!(!call.accepts_amendments());
        assert!(
            Call {
                status: Some(CallStatus::Open),
                ..call
            }
            .accepts_amendments()
        );
    }
}
