//! The fixed reports: the EC's "Infrastructures" tables of a grant (KPI-1, TA-10), and what
//! screening did at an installation, by home country and critical technology area, so that
//! research security can be shown to be proportionate (SEC-x).

use std::collections::BTreeMap;

use super::cells::{CountedSet, Value, quantile};
use super::disclosure::DisclosureRules;

/// One user's access at one installation under one user project, over the period (TA-10). The
/// ids are the pseudonyms the operator recorded; the provider adds names from its own records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearcherAccess {
    pub user_id: String,
    pub organisation_id: String,
    pub organisation_type: String,
    pub home_country: String,
    pub installation_id: String,
    pub installation_name: String,
    pub request_id: String,
    pub access_mode: String,
    pub units_used: i64,
    pub days_on_site: i64,
    pub new_user: bool,
    pub first_access: i64,
    pub last_access: i64,
}

/// One installation's line of a grant's installations table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallationAccess {
    pub installation_id: String,
    pub installation_name: String,
    pub infrastructure_id: String,
    pub provider_country: String,
    pub units_offered: i64,
    pub units_granted: i64,
    pub units_delivered: i64,
    pub units_used: i64,
    pub users: i64,
    pub new_users: i64,
    pub user_projects: i64,
}

/// A request that screening held for a person (SEC-7), at one installation.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldRequest {
    pub home_country: String,
    /// The installation's critical technology areas (SEC-5); empty for none.
    pub technology_areas: Vec<String>,
    pub declined: bool,
    /// Days from submission until screening let it go, when it did.
    pub waited_days: Option<f64>,
    pub organisation_id: String,
    pub record_key: u32,
}

/// What screening did for one home country and one technology area.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningFigure {
    pub home_country: String,
    pub technology_area: String,
    pub held: Value,
    pub declined: Value,
    pub waited_days_median: Value,
}

#[derive(Default)]
struct ScreeningTally {
    held: CountedSet,
    declined: CountedSet,
    waited: CountedSet,
    waited_days: Vec<f64>,
}

/// The held requests by home country and technology area, each figure protected: a request at
/// an installation with two areas counts under both.
pub fn screening_figures(requests: &[HeldRequest], rules: &DisclosureRules) -> Vec<ScreeningFigure> {
    let mut tallies: BTreeMap<(String, String), ScreeningTally> = BTreeMap::new();
    for request in requests {
        let none = ["none".to_owned()];
        let areas = if request.technology_areas.is_empty() {
            &none[..]
        } else {
            &request.technology_areas[..]
        };
        for area in areas {
            let tally = tallies.entry((request.home_country.clone(), area.clone())).or_default();
            tally.held.add(request.record_key, &request.organisation_id);
            if request.declined {
                tally.declined.add(request.record_key, &request.organisation_id);
            }
            if let Some(days) = request.waited_days {
                tally.waited.add(request.record_key, &request.organisation_id);
                tally.waited_days.push(days);
            }
        }
    }
    tallies
        .into_iter()
        .map(|((home_country, technology_area), tally)| ScreeningFigure {
            home_country,
            technology_area,
            held: tally.held.finish().value(rules, 0),
            declined: tally.declined.finish().value(rules, 0),
            waited_days_median: quantile(&tally.waited_days, &tally.waited.finish(), rules, 0.5),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(country: &str, areas: &[&str], declined: bool, waited: f64, organisation: &str) -> HeldRequest {
        HeldRequest {
            home_country: country.into(),
            technology_areas: areas.iter().map(|area| (*area).to_owned()).collect(),
            declined,
            waited_days: Some(waited),
            organisation_id: organisation.into(),
            record_key: 7,
        }
    }

    #[test]
    fn a_request_counts_under_each_area_of_its_installation() {
        let requests = [
            held("DE", &["SEMICONDUCTORS", "QUANTUM"], true, 4.0, "a"),
            held("DE", &["QUANTUM"], false, 2.0, "b"),
            held("FR", &[], false, 6.0, "c"),
        ];
        let figures = screening_figures(&requests, &DisclosureRules::off());
        let cell = |country: &str, area: &str| {
            figures
                .iter()
                .find(|figure| figure.home_country == country && figure.technology_area == area)
                .unwrap_or_else(|| panic!("{country} {area}"))
        };
        assert_eq!(cell("DE", "QUANTUM").held, Value::Integer(2));
        assert_eq!(cell("DE", "QUANTUM").declined, Value::Integer(1));
        assert_eq!(cell("DE", "QUANTUM").waited_days_median, Value::Decimal(2.0));
        assert_eq!(cell("DE", "SEMICONDUCTORS").held, Value::Integer(1));
        assert_eq!(cell("FR", "none").held, Value::Integer(1));
    }

    #[test]
    fn figures_resting_on_few_organisations_are_withheld() {
        let requests = [held("DE", &["QUANTUM"], true, 4.0, "a")];
        let figures = screening_figures(&requests, &DisclosureRules::default());
        assert!(matches!(figures[0].held, Value::Withheld(_)));
        assert!(matches!(figures[0].waited_days_median, Value::Withheld(_)));
    }
}
