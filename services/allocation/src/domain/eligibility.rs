//! The transnational-access rules (domain rules §A, TA-x) and the country rules (§B, CTRY-x) on one
//! request and one installation, on a reference date (the call's deadline). Work country counts,
//! never nationality (TA-2): there is no nationality here at all. Reasons name countries and
//! counts, never people.

use std::collections::BTreeMap;

use rti_platform::time::timestamp_from_micros;

use super::countries::{CountryTable, canonical_country};

/// A rule's verdict, ordered so that the worst is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// The rule is met.
    Pass,
    /// A person must review (TA-4, TA-6); it does not refuse.
    Warn,
    /// A hard eligibility rule is broken (BLOCK in the rulebook).
    Fail,
}

/// One rule's verdict with a sentence a coordinator can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule, as the rulebook numbers it: "TA-2", "CTRY-5" …
    pub rule: &'static str,
    /// The verdict.
    pub outcome: Outcome,
    /// Why, naming countries and counts, never people's names.
    pub reason: String,
}

/// A call's rules, versioned: a change is a new version (TA-15).
#[derive(Debug, Clone, PartialEq)]
pub struct Rulebook {
    /// Version of the call's rulebook; an amendment makes a new one (TA-15).
    pub version: u32,
    /// TA-2 applies (and with it TA-4).
    pub transnationality: bool,
    /// TA-6: the share of units for non-EU/AC-majority groups, 20 "unless a higher percentage is
    /// foreseen". Applied at allocation; eligibility only classifies the group.
    pub non_eu_cap_percent: u32,
    /// TA-5: users working for SMEs may keep their results confidential.
    pub sme_dissemination_exemption: bool,
    /// CTRY-7: a strategic call restricted to organisations from EU and associated countries.
    pub eu_only: bool,
    /// TA-7 priority points for a group none of whose users has used the installation before.
    pub new_user_bonus: f64,
    /// TA-7 priority points for a group led from a country without an equivalent infrastructure.
    pub no_equivalent_ri_bonus: f64,
    /// CTRY-4 / TA-16 priority points for a group led from a widening country; 0 = none.
    pub widening_bonus: f64,
    /// Per-country share of the units, applied at allocation by the solver, not here.
    pub country_cap_percent: Option<u32>,
}

impl Default for Rulebook {
    fn default() -> Self {
        Self {
            version: 1,
            transnationality: true,
            non_eu_cap_percent: 20,
            sme_dissemination_exemption: true,
            eu_only: false,
            new_user_bonus: 0.5,
            no_equivalent_ri_bonus: 0.5,
            widening_bonus: 0.0,
            country_cap_percent: None,
        }
    }
}

/// One user, as the rules read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Where the person works (the employer's country, or an override with evidence): TA-2.
    pub work_country: String,
    /// TA-5: the employer is an SME.
    pub employer_is_sme: bool,
    /// TA-7: has had access to this installation before.
    pub used_installation_before: bool,
}

/// A user group: its leader and the other users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The user group leader (TA-2 applies to the leader on its own).
    pub leader: Member,
    /// The other users; the leader is not repeated.
    pub others: Vec<Member>,
    /// TA-5: the group may disseminate its results.
    pub may_disseminate: bool,
}

impl Group {
    fn users(&self) -> impl Iterator<Item = &Member> {
        std::iter::once(&self.leader).chain(&self.others)
    }

    fn size(&self) -> usize {
        self.others.len() + 1
    }
}

/// The requesting organisation (CTRY-5..CTRY-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// Country of establishment.
    pub country: String,
    /// CTRY-5: more than 50 % owned by Russian legal persons.
    pub russian_owned_over_half: bool,
    /// CTRY-7: the country it is directly or indirectly controlled from, when known.
    pub controlled_by_country: Option<String>,
    /// CTRY-7: the controlling country's guarantees were approved.
    pub guarantee_approved: bool,
}

/// The access provider's legal form; the first three are exempt from TA-2 (TA-3(a)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderForm {
    /// An international organisation.
    InternationalOrganisation,
    /// The Joint Research Centre.
    Jrc,
    /// A European Research Infrastructure Consortium.
    Eric,
    /// Any other provider: TA-2 applies.
    Other,
}

/// One installation offered in the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The installation the findings are for (TA-2 is evaluated per installation).
    pub installation_id: String,
    /// Where the installation is; a user is "outside" only when outside all of them.
    pub countries: Vec<String>,
    /// TA-3(a).
    pub provider_form: ProviderForm,
    /// TA-3(b): remote access to a set of installations of the same service in different countries.
    pub remote_set: bool,
    /// TA-7: countries with an equivalent infrastructure; empty = not known (no bonus).
    pub countries_with_equivalent_ri: Vec<String>,
}

/// Every finding for one installation on the reference date `on` (UTC micros, the call's deadline),
/// in this order: TA-2 (exactly one, TA-3 exemptions included), TA-4, TA-5, TA-6, CTRY-5/CTRY-6
/// (one PASS, or one FAIL per cause), CTRY-7.
pub fn evaluate(
    rulebook: &Rulebook,
    table: &CountryTable,
    on: i64,
    requester: &Requester,
    group: &Group,
    site: &Site,
) -> Vec<Finding> {
    let hosts: Vec<String> = site
        .countries
        .iter()
        .filter_map(|country| canonical_country(country))
        .collect();
    let not_applied = if !rulebook.transnationality {
        Some(format!(
            "the call's rulebook (version {}) does not apply transnationality",
            rulebook.version
        ))
    } else {
        exemption(site).map(|why| format!("exempt from transnationality under {why}"))
    };
    let mut findings = match not_applied {
        // TA-4 follows from TA-2: where TA-2 does not apply, local users are ordinary users.
        Some(why) => vec![
            finding("TA-2", Outcome::Pass, why.clone()),
            finding("TA-4", Outcome::Pass, format!("not applicable: {why}")),
        ],
        None => vec![transnationality(group, &hosts), host_country_users(group, &hosts)],
    };
    findings.push(dissemination(rulebook, group));
    findings.push(non_eu_classification(rulebook, table, on, group));
    findings.extend(restricted(table, on, requester, group));
    findings.push(eu_only(rulebook, table, on, requester));
    findings
}

/// The worst outcome: Fail > Warn > Pass.
pub fn overall(findings: &[Finding]) -> Outcome {
    findings
        .iter()
        .map(|finding| finding.outcome)
        .max()
        .unwrap_or(Outcome::Pass)
}

/// TA-6: the units non-EU/AC-majority groups may still be granted: `cap_percent` of the grant's
/// planned units, less what such groups already hold from earlier calls of the same grant.
pub fn non_eu_budget(planned_units: u64, cap_percent: u32, already_granted: u64) -> u64 {
    (planned_units * u64::from(cap_percent) / 100).saturating_sub(already_granted)
}

/// TA-6: whether the majority of the group's users (leader included) works outside EU/associated countries on `on`.
/// Strictly more than half; Pillar-II-only association counts as outside (CTRY-3).
pub fn non_eu_majority(table: &CountryTable, on: i64, group: &Group) -> bool {
    non_eu_countries(table, on, group).len() * 2 > group.size()
}

/// TA-7 (+ CTRY-4 when the rulebook gives widening points): the bonus added to the panel's score and the reasons.
/// The new-user bonus goes to a group none of whose users has used the installation before; the
/// other two look at where the leader works.
pub fn priority_bonus(
    rulebook: &Rulebook,
    table: &CountryTable,
    on: i64,
    group: &Group,
    site: &Site,
) -> (f64, Vec<String>) {
    let mut points = 0.0;
    let mut reasons = Vec::new();
    if rulebook.new_user_bonus > 0.0 && group.users().all(|user| !user.used_installation_before) {
        points += rulebook.new_user_bonus;
        reasons.push(format!(
            "no user of the group has used the installation before (TA-7: +{})",
            rulebook.new_user_bonus
        ));
    }
    let leader = canonical_country(&group.leader.work_country);
    let leader_text = leader.as_deref().unwrap_or(group.leader.work_country.as_str());
    let equivalent: Vec<String> = site
        .countries_with_equivalent_ri
        .iter()
        .filter_map(|country| canonical_country(country))
        .collect();
    if rulebook.no_equivalent_ri_bonus > 0.0
        && !equivalent.is_empty()
        && leader.as_ref().is_some_and(|country| !equivalent.contains(country))
    {
        points += rulebook.no_equivalent_ri_bonus;
        reasons.push(format!(
            "the group leader works in {leader_text}, where no equivalent infrastructure exists (TA-7: +{})",
            rulebook.no_equivalent_ri_bonus
        ));
    }
    if rulebook.widening_bonus > 0.0 && table.status(&group.leader.work_country, on).widening {
        points += rulebook.widening_bonus;
        reasons.push(format!(
            "the group leader works in {leader_text}, a widening country on {} (CTRY-4: +{})",
            day_text(on),
            rulebook.widening_bonus
        ));
    }
    (points, reasons)
}

fn finding(rule: &'static str, outcome: Outcome, reason: String) -> Finding {
    Finding { rule, outcome, reason }
}

/// TA-3: why TA-2 does not apply to this installation, if it does not.
fn exemption(site: &Site) -> Option<&'static str> {
    match site.provider_form {
        ProviderForm::InternationalOrganisation => {
            Some("TA-3(a): the access provider is an international organisation")
        }
        ProviderForm::Jrc => Some("TA-3(a): the access provider is the JRC"),
        ProviderForm::Eric => Some("TA-3(a): the access provider is an ERIC"),
        ProviderForm::Other if site.remote_set => {
            Some("TA-3(b): remote access to a set of installations of the same service in different countries")
        }
        ProviderForm::Other => None,
    }
}

/// TA-2: the leader and a strict majority of all users work outside every installation country.
/// A work country that is no country code never counts as outside: eligibility must be shown.
fn transnationality(group: &Group, hosts: &[String]) -> Finding {
    let fail = |reason: String| finding("TA-2", Outcome::Fail, reason);
    if hosts.is_empty() {
        return fail("the installation's country is not known, so transnationality cannot be shown".to_owned());
    }
    let where_installed = hosts.join("/");
    let outside = group.users().filter(|user| works_outside(user, hosts)).count();
    let size = group.size();
    match canonical_country(&group.leader.work_country) {
        None => fail(format!(
            "the group leader's work country {:?} is not a country code, so transnationality cannot be shown",
            group.leader.work_country
        )),
        Some(leader) if hosts.contains(&leader) => fail(format!(
            "the group leader works in {leader}, where the installation is; the leader must work in another \
             country ({outside} of {size} users work outside {where_installed})"
        )),
        // A strict majority: more than half of all users, the leader included.
        Some(_) if outside * 2 <= size => fail(format!(
            "only {outside} of {size} users work outside {where_installed}; more than half must"
        )),
        Some(leader) => finding(
            "TA-2",
            Outcome::Pass,
            format!(
                "the group leader works in {leader} and {outside} of {size} users work outside {where_installed}, a majority"
            ),
        ),
    }
}

fn works_outside(user: &Member, hosts: &[String]) -> bool {
    canonical_country(&user.work_country).is_some_and(|country| !hosts.contains(&country))
}

/// TA-4: users working where the installation is may take part but are not EU-funded TA.
fn host_country_users(group: &Group, hosts: &[String]) -> Finding {
    let where_installed = hosts.join("/");
    let at_home = group
        .users()
        .filter(|user| canonical_country(&user.work_country).is_some_and(|country| hosts.contains(&country)))
        .count();
    if at_home == 0 {
        return finding(
            "TA-4",
            Outcome::Pass,
            format!("no user works in {where_installed}, where the installation is"),
        );
    }
    finding(
        "TA-4",
        Outcome::Warn,
        format!(
            "{at_home} of {} users work in {where_installed}, where the installation is: they may take part \
             but their access does not count as EU-funded transnational access",
            group.size()
        ),
    )
}

/// TA-5: only groups that may disseminate, unless the rulebook keeps the SME exemption and every
/// user works for an SME. "Users working for SMEs are exempt" is read user by user: a non-SME
/// user in the group would get free, confidential access, which the exemption does not cover.
fn dissemination(rulebook: &Rulebook, group: &Group) -> Finding {
    if group.may_disseminate {
        return finding(
            "TA-5",
            Outcome::Pass,
            "the group may disseminate its results".to_owned(),
        );
    }
    let sme_users = group.users().filter(|user| user.employer_is_sme).count();
    let size = group.size();
    if !rulebook.sme_dissemination_exemption {
        return finding(
            "TA-5",
            Outcome::Fail,
            format!(
                "the group does not allow dissemination of its results and the call's rulebook (version {}) \
                 has no SME exemption",
                rulebook.version
            ),
        );
    }
    if sme_users == size {
        return finding(
            "TA-5",
            Outcome::Pass,
            format!("exempt from dissemination: all {size} users work for SMEs"),
        );
    }
    finding(
        "TA-5",
        Outcome::Fail,
        format!(
            "the group does not allow dissemination of its results and only {sme_users} of {size} users work \
             for SMEs; the exemption needs every user to"
        ),
    )
}

/// TA-6 classification: WARN when the group counts against the cap, never FAIL (the cap is applied at allocation).
fn non_eu_classification(rulebook: &Rulebook, table: &CountryTable, on: i64, group: &Group) -> Finding {
    let outside = non_eu_countries(table, on, group);
    let mut by_country: BTreeMap<&str, usize> = BTreeMap::new();
    for country in &outside {
        *by_country.entry(country.as_str()).or_default() += 1;
    }
    let listed: Vec<String> = by_country
        .iter()
        .map(|(country, count)| format!("{count} in {country}"))
        .collect();
    let counted = format!(
        "{} of {} users work outside EU and associated countries on {}{}",
        outside.len(),
        group.size(),
        day_text(on),
        if listed.is_empty() {
            String::new()
        } else {
            format!(" ({})", listed.join(", "))
        }
    );
    let cap = rulebook.non_eu_cap_percent;
    if outside.len() * 2 > group.size() {
        finding(
            "TA-6",
            Outcome::Warn,
            format!("{counted}: a majority, so the group's units count against the {cap} % cap"),
        )
    } else {
        finding(
            "TA-6",
            Outcome::Pass,
            format!("{counted}: not a majority, so the group does not count against the {cap} % cap"),
        )
    }
}

/// The work countries (canonical where possible) of users outside EU/AC on `on`.
fn non_eu_countries(table: &CountryTable, on: i64, group: &Group) -> Vec<String> {
    group
        .users()
        .filter(|user| !table.status(&user.work_country, on).eu_or_associated())
        .map(|user| canonical_country(&user.work_country).unwrap_or_else(|| user.work_country.clone()))
        .collect()
}

/// CTRY-6 for Belarus, CTRY-5 for the other restricted countries (Russia).
fn restriction_rule(country: &str) -> &'static str {
    if country == "BY" { "CTRY-6" } else { "CTRY-5" }
}

/// CTRY-5 / CTRY-6: a requester established in a restricted country or more than 50 % Russian-owned;
/// and users working in a restricted country, since access would benefit their employers there.
fn restricted(table: &CountryTable, on: i64, requester: &Requester, group: &Group) -> Vec<Finding> {
    let mut failures = Vec::new();
    let requester_country = canonical_country(&requester.country).unwrap_or_else(|| requester.country.clone());
    if table.status(&requester_country, on).restricted {
        failures.push(finding(
            restriction_rule(&requester_country),
            Outcome::Fail,
            format!(
                "the requesting organisation is established in {requester_country}, whose entities are not \
                 eligible in any capacity on {}",
                day_text(on)
            ),
        ));
    }
    if requester.russian_owned_over_half {
        failures.push(finding(
            "CTRY-5",
            Outcome::Fail,
            "the requesting organisation is more than 50 % owned by legal persons established in RU".to_owned(),
        ));
    }
    let mut users_by_country: BTreeMap<String, usize> = BTreeMap::new();
    for user in group
        .users()
        .filter(|user| table.status(&user.work_country, on).restricted)
    {
        let country = canonical_country(&user.work_country).unwrap_or_else(|| user.work_country.clone());
        *users_by_country.entry(country).or_default() += 1;
    }
    for (country, count) in users_by_country {
        failures.push(finding(
            restriction_rule(&country),
            Outcome::Fail,
            format!(
                "{count} of {} users work in {country}: the access would benefit entities established there, \
                 which are not eligible",
                group.size()
            ),
        ));
    }
    if failures.is_empty() {
        failures.push(finding(
            "CTRY-5",
            Outcome::Pass,
            format!(
                "neither the requester ({requester_country}) nor any user is established or works in a restricted \
                 country (CTRY-5, CTRY-6)"
            ),
        ));
    }
    failures
}

/// CTRY-7: in a call restricted to EU and associated countries, the requester must be established
/// in one, and one controlled from elsewhere needs an approved guarantee. Outside such calls the
/// control rule is not applied: the rulebook makes it a call-level restriction.
fn eu_only(rulebook: &Rulebook, table: &CountryTable, on: i64, requester: &Requester) -> Finding {
    if !rulebook.eu_only {
        return finding(
            "CTRY-7",
            Outcome::Pass,
            "the call is not restricted to EU and associated countries".to_owned(),
        );
    }
    let country = canonical_country(&requester.country).unwrap_or_else(|| requester.country.clone());
    if !table.status(&country, on).eu_or_associated() {
        return finding(
            "CTRY-7",
            Outcome::Fail,
            format!(
                "the call is restricted to EU and associated countries and the requester is established in \
                 {country}, which is neither on {}",
                day_text(on)
            ),
        );
    }
    let Some(controller) = &requester.controlled_by_country else {
        return finding(
            "CTRY-7",
            Outcome::Pass,
            format!("the requester is established in {country}, an EU or associated country"),
        );
    };
    let controller = canonical_country(controller).unwrap_or_else(|| controller.clone());
    match (
        table.status(&controller, on).eu_or_associated(),
        requester.guarantee_approved,
    ) {
        (true, _) => finding(
            "CTRY-7",
            Outcome::Pass,
            format!(
                "the requester is established in {country} and controlled from {controller}, both EU or associated"
            ),
        ),
        (false, true) => finding(
            "CTRY-7",
            Outcome::Pass,
            format!("the requester is controlled from {controller}, whose guarantees were approved"),
        ),
        (false, false) => finding(
            "CTRY-7",
            Outcome::Fail,
            format!(
                "the requester is controlled from {controller}, not an EU or associated country, and no guarantee \
                 was approved"
            ),
        ),
    }
}

/// `on` as YYYY-MM-DD for reasons.
fn day_text(on: i64) -> String {
    serde_json::to_value(timestamp_from_micros(on))
        .ok()
        .and_then(|value| value.as_str().and_then(|text| text.get(..10)).map(str::to_owned))
        .unwrap_or_else(|| format!("{on} µs since the epoch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> i64 {
        rti_platform::time::date_micros(text).unwrap_or_else(|| panic!("{text} is a date"))
    }

    fn user(country: &str) -> Member {
        Member {
            work_country: country.to_owned(),
            employer_is_sme: false,
            used_installation_before: false,
        }
    }

    fn group(leader: &str, others: &[&str]) -> Group {
        Group {
            leader: user(leader),
            others: others.iter().map(|country| user(country)).collect(),
            may_disseminate: true,
        }
    }

    fn site(countries: &[&str]) -> Site {
        Site {
            installation_id: "installation-1".to_owned(),
            countries: countries.iter().map(|country| (*country).to_owned()).collect(),
            provider_form: ProviderForm::Other,
            remote_set: false,
            countries_with_equivalent_ri: Vec::new(),
        }
    }

    fn requester(country: &str) -> Requester {
        Requester {
            country: country.to_owned(),
            russian_owned_over_half: false,
            controlled_by_country: None,
            guarantee_approved: false,
        }
    }

    /// Findings on 2026-06-01 for a requester in PL.
    fn run(rulebook: &Rulebook, group: &Group, site: &Site) -> Vec<Finding> {
        run_for(rulebook, &requester("PL"), group, site)
    }

    fn run_for(rulebook: &Rulebook, requester: &Requester, group: &Group, site: &Site) -> Vec<Finding> {
        evaluate(
            rulebook,
            CountryTable::shipped(),
            day("2026-06-01"),
            requester,
            group,
            site,
        )
    }

    /// The one finding of `rule`.
    #[track_caller]
    fn only(findings: &[Finding], rule: &str) -> Finding {
        let found: Vec<&Finding> = findings.iter().filter(|finding| finding.rule == rule).collect();
        assert_eq!(found.len(), 1, "one {rule} finding: {findings:#?}");
        found[0].clone()
    }

    fn outcomes(findings: &[Finding], rule: &str) -> Vec<Outcome> {
        findings
            .iter()
            .filter(|finding| finding.rule == rule)
            .map(|finding| finding.outcome)
            .collect()
    }

    #[test]
    fn a_group_meeting_every_rule_passes_overall() {
        let findings = run(&Rulebook::default(), &group("FR", &["PL"]), &site(&["DE"]));
        let rules: Vec<&str> = findings.iter().map(|finding| finding.rule).collect();
        assert_eq!(rules, ["TA-2", "TA-4", "TA-5", "TA-6", "CTRY-5", "CTRY-7"]);
        assert_eq!(overall(&findings), Outcome::Pass, "{findings:#?}");
    }

    #[test]
    fn ta2_leader_and_majority_with_mixed_employers() {
        let de = site(&["DE"]);
        let three_of_five = only(
            &run(&Rulebook::default(), &group("FR", &["DE", "DE", "PL", "ES"]), &de),
            "TA-2",
        );
        assert_eq!(three_of_five.outcome, Outcome::Pass);
        assert!(three_of_five.reason.contains("3 of 5"), "{}", three_of_five.reason);
        let two_of_five = only(
            &run(&Rulebook::default(), &group("FR", &["DE", "DE", "DE", "PL"]), &de),
            "TA-2",
        );
        assert_eq!(two_of_five.outcome, Outcome::Fail);
        assert!(two_of_five.reason.contains("2 of 5"), "{}", two_of_five.reason);
    }

    #[test]
    fn ta2_leader_working_in_the_installation_country_fails_despite_a_majority_outside() {
        let found = only(
            &run(&Rulebook::default(), &group("DE", &["FR", "PL", "ES"]), &site(&["DE"])),
            "TA-2",
        );
        assert_eq!(found.outcome, Outcome::Fail);
        assert!(found.reason.contains("leader works in DE"), "{}", found.reason);
    }

    #[test]
    fn ta2_exactly_half_outside_is_not_a_majority() {
        let de = site(&["DE"]);
        let half = run(&Rulebook::default(), &group("FR", &["PL", "DE", "DE"]), &de);
        assert_eq!(only(&half, "TA-2").outcome, Outcome::Fail, "2 of 4");
        let two_of_three = run(&Rulebook::default(), &group("FR", &["PL", "DE"]), &de);
        assert_eq!(only(&two_of_three, "TA-2").outcome, Outcome::Pass, "2 of 3");
    }

    #[test]
    fn ta2_a_user_is_outside_only_when_outside_every_installation_country() {
        let two_countries = site(&["DE", "FR"]);
        let outside_both = run(&Rulebook::default(), &group("PL", &["FR", "ES"]), &two_countries);
        assert_eq!(
            only(&outside_both, "TA-2").outcome,
            Outcome::Pass,
            "PL and ES are 2 of 3"
        );
        let one_outside = run(&Rulebook::default(), &group("PL", &["FR", "DE"]), &two_countries);
        assert_eq!(only(&one_outside, "TA-2").outcome, Outcome::Fail, "FR counts as inside");
        let leader_in_second = run(&Rulebook::default(), &group("FR", &["PL", "ES"]), &two_countries);
        assert_eq!(only(&leader_in_second, "TA-2").outcome, Outcome::Fail);
    }

    #[test]
    fn ta2_reads_el_and_uk_aliases_and_never_counts_unreadable_codes_as_outside() {
        let in_britain = run(&Rulebook::default(), &group("UK", &["FR", "PL"]), &site(&["GB"]));
        assert_eq!(only(&in_britain, "TA-2").outcome, Outcome::Fail, "UK is GB");
        let in_greece = run(&Rulebook::default(), &group("GR", &["FR", "PL"]), &site(&["EL"]));
        assert_eq!(only(&in_greece, "TA-2").outcome, Outcome::Fail, "EL is GR");
        let unreadable_leader = run(&Rulebook::default(), &group("Germany", &["FR", "PL"]), &site(&["DE"]));
        assert_eq!(only(&unreadable_leader, "TA-2").outcome, Outcome::Fail);
        let unknown_site = run(&Rulebook::default(), &group("FR", &["PL"]), &site(&[]));
        assert_eq!(only(&unknown_site, "TA-2").outcome, Outcome::Fail);
    }

    #[test]
    fn ta2_not_applied_when_the_rulebook_drops_transnationality() {
        let at_home = group("DE", &["DE"]);
        assert_eq!(
            only(&run(&Rulebook::default(), &at_home, &site(&["DE"])), "TA-2").outcome,
            Outcome::Fail
        );
        let national = Rulebook {
            transnationality: false,
            ..Rulebook::default()
        };
        let findings = run(&national, &at_home, &site(&["DE"]));
        assert_eq!(only(&findings, "TA-2").outcome, Outcome::Pass);
        assert_eq!(only(&findings, "TA-4").outcome, Outcome::Pass, "TA-4 follows TA-2");
    }

    #[test]
    fn ta3_io_jrc_and_eric_providers_are_exempt() {
        let at_home = group("DE", &["DE"]);
        for form in [
            ProviderForm::InternationalOrganisation,
            ProviderForm::Jrc,
            ProviderForm::Eric,
        ] {
            let findings = run(
                &Rulebook::default(),
                &at_home,
                &Site {
                    provider_form: form,
                    ..site(&["DE"])
                },
            );
            let found = only(&findings, "TA-2");
            assert_eq!(found.outcome, Outcome::Pass, "{form:?}");
            assert!(
                found.reason.contains("exempt") && found.reason.contains("TA-3(a)"),
                "{}",
                found.reason
            );
            assert_eq!(only(&findings, "TA-4").outcome, Outcome::Pass, "{form:?}");
        }
        let other = run(&Rulebook::default(), &at_home, &site(&["DE"]));
        assert_eq!(
            only(&other, "TA-2").outcome,
            Outcome::Fail,
            "other providers are not exempt"
        );
    }

    #[test]
    fn ta3_remote_access_to_a_set_of_installations_is_exempt() {
        let remote = Site {
            remote_set: true,
            ..site(&["DE"])
        };
        let found = only(&run(&Rulebook::default(), &group("DE", &["DE"]), &remote), "TA-2");
        assert_eq!(found.outcome, Outcome::Pass);
        assert!(found.reason.contains("TA-3(b)"), "{}", found.reason);
    }

    #[test]
    fn ta4_warns_when_a_user_works_in_the_installation_country() {
        let findings = run(&Rulebook::default(), &group("FR", &["DE", "PL"]), &site(&["DE"]));
        let found = only(&findings, "TA-4");
        assert_eq!(found.outcome, Outcome::Warn);
        assert!(found.reason.contains("1 of 3 users work in DE"), "{}", found.reason);
        assert_eq!(overall(&findings), Outcome::Warn, "a WARN does not refuse");
    }

    #[test]
    fn ta4_passes_when_no_user_works_in_the_installation_country() {
        let findings = run(&Rulebook::default(), &group("FR", &["PL"]), &site(&["DE"]));
        assert_eq!(only(&findings, "TA-4").outcome, Outcome::Pass);
    }

    fn confidential(leader_is_sme: bool, other_is_sme: bool) -> Group {
        let mut secret = group("FR", &["PL"]);
        secret.may_disseminate = false;
        secret.leader.employer_is_sme = leader_is_sme;
        secret.others[0].employer_is_sme = other_is_sme;
        secret
    }

    #[test]
    fn ta5_passes_when_the_group_may_disseminate() {
        assert_eq!(
            only(
                &run(&Rulebook::default(), &group("FR", &["PL"]), &site(&["DE"])),
                "TA-5"
            )
            .outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn ta5_fails_when_the_group_may_not_disseminate() {
        let found = only(
            &run(&Rulebook::default(), &confidential(false, false), &site(&["DE"])),
            "TA-5",
        );
        assert_eq!(found.outcome, Outcome::Fail);
    }

    #[test]
    fn ta5_exempts_groups_whose_users_all_work_for_smes() {
        let found = only(
            &run(&Rulebook::default(), &confidential(true, true), &site(&["DE"])),
            "TA-5",
        );
        assert_eq!(found.outcome, Outcome::Pass);
        assert!(found.reason.contains("exempt"), "{}", found.reason);
    }

    #[test]
    fn ta5_a_group_with_one_non_sme_user_is_not_exempt() {
        let found = only(
            &run(&Rulebook::default(), &confidential(true, false), &site(&["DE"])),
            "TA-5",
        );
        assert_eq!(found.outcome, Outcome::Fail);
        assert!(found.reason.contains("1 of 2 users"), "{}", found.reason);
    }

    #[test]
    fn ta5_no_sme_exemption_when_the_rulebook_drops_it() {
        let strict = Rulebook {
            sme_dissemination_exemption: false,
            ..Rulebook::default()
        };
        assert_eq!(
            only(&run(&strict, &confidential(true, true), &site(&["DE"])), "TA-5").outcome,
            Outcome::Fail
        );
    }

    #[test]
    fn ta6_association_effective_dates_uk_2024() {
        let table = CountryTable::shipped();
        let british = group("GB", &["UK", "FR"]);
        assert!(
            non_eu_majority(table, day("2023-06-01"), &british),
            "not associated on 2023-06-01"
        );
        assert!(
            !non_eu_majority(table, day("2024-06-01"), &british),
            "associated from 2024-01-01"
        );
        let site = site(&["DE"]);
        let before = evaluate(
            &Rulebook::default(),
            table,
            day("2023-06-01"),
            &requester("PL"),
            &british,
            &site,
        );
        let found = only(&before, "TA-6");
        assert_eq!(found.outcome, Outcome::Warn);
        assert!(
            found.reason.contains("2 of 3") && found.reason.contains("2 in GB"),
            "{}",
            found.reason
        );
        assert!(found.reason.contains("2023-06-01"), "{}", found.reason);
        let after = evaluate(
            &Rulebook::default(),
            table,
            day("2024-06-01"),
            &requester("PL"),
            &british,
            &site,
        );
        assert_eq!(only(&after, "TA-6").outcome, Outcome::Pass);
    }

    #[test]
    fn ta6_pillar_ii_only_association_counts_as_non_eu() {
        let table = CountryTable::shipped();
        for country in ["CA", "JP", "KR", "NZ"] {
            assert!(
                non_eu_majority(table, day("2026-06-01"), &group(country, &[country, "DE"])),
                "{country}"
            );
        }
        assert!(
            !non_eu_majority(table, day("2026-06-01"), &group("NO", &["CH", "US"])),
            "NO and CH are associated"
        );
    }

    #[test]
    fn ta6_exactly_half_non_eu_is_not_a_majority() {
        let table = CountryTable::shipped();
        assert!(!non_eu_majority(table, day("2026-06-01"), &group("US", &["DE"])));
        assert!(!non_eu_majority(
            table,
            day("2026-06-01"),
            &group("US", &["CA", "DE", "FR"])
        ));
        assert!(non_eu_majority(table, day("2026-06-01"), &group("US", &["CA", "DE"])));
    }

    #[test]
    fn ta6_a_non_eu_majority_warns_with_the_call_cap_and_never_fails() {
        let higher_cap = Rulebook {
            non_eu_cap_percent: 30,
            ..Rulebook::default()
        };
        let findings = run(&higher_cap, &group("US", &["US", "CA"]), &site(&["DE"]));
        let found = only(&findings, "TA-6");
        assert_eq!(found.outcome, Outcome::Warn);
        assert!(found.reason.contains("30 % cap"), "{}", found.reason);
        assert_eq!(overall(&findings), Outcome::Warn, "{findings:#?}");
    }

    #[test]
    fn ta7_new_user_bonus_only_when_no_user_used_the_installation() {
        let table = CountryTable::shipped();
        let new = group("FR", &["ES"]);
        let (points, reasons) = priority_bonus(&Rulebook::default(), table, day("2026-06-01"), &new, &site(&["DE"]));
        assert!((points - 0.5).abs() < 1e-9, "{points} {reasons:?}");
        assert!(reasons[0].contains("TA-7"), "{reasons:?}");
        let mut returning = new;
        returning.others[0].used_installation_before = true;
        let (points, reasons) = priority_bonus(
            &Rulebook::default(),
            table,
            day("2026-06-01"),
            &returning,
            &site(&["DE"]),
        );
        assert!(points.abs() < 1e-9 && reasons.is_empty(), "{points} {reasons:?}");
    }

    #[test]
    fn ta7_no_equivalent_ri_bonus_when_the_leader_works_where_none_exists() {
        let table = CountryTable::shipped();
        let rules = Rulebook {
            new_user_bonus: 0.0,
            ..Rulebook::default()
        };
        let known = Site {
            countries_with_equivalent_ri: vec!["FR".to_owned(), "EL".to_owned()],
            ..site(&["DE"])
        };
        let bonus =
            |leader: &str, site: &Site| priority_bonus(&rules, table, day("2026-06-01"), &group(leader, &[]), site);
        let (points, reasons) = bonus("PT", &known);
        assert!(
            (points - 0.5).abs() < 1e-9 && reasons[0].contains("PT"),
            "{points} {reasons:?}"
        );
        assert!(bonus("FR", &known).0.abs() < 1e-9, "FR has one");
        assert!(bonus("GR", &known).0.abs() < 1e-9, "EL is GR");
        assert!(
            bonus("PT", &site(&["DE"])).0.abs() < 1e-9,
            "an unknown list gives no bonus"
        );
    }

    #[test]
    fn ctry4_widening_bonus_when_the_leader_works_in_a_widening_country() {
        let table = CountryTable::shipped();
        let rules = Rulebook {
            new_user_bonus: 0.0,
            widening_bonus: 0.25,
            ..Rulebook::default()
        };
        let bonus = |rules: &Rulebook, leader: &str| {
            priority_bonus(rules, table, day("2026-06-01"), &group(leader, &[]), &site(&["DE"]))
        };
        let (points, reasons) = bonus(&rules, "PL");
        assert!(
            (points - 0.25).abs() < 1e-9 && reasons[0].contains("CTRY-4"),
            "{points} {reasons:?}"
        );
        assert!(bonus(&rules, "DE").0.abs() < 1e-9, "DE is not widening");
        assert!(
            bonus(
                &Rulebook {
                    widening_bonus: 0.0,
                    ..rules
                },
                "PL"
            )
            .1
            .is_empty(),
            "no points, no reason"
        );
    }

    #[test]
    fn ctry5_requester_established_in_russia_fails() {
        let findings = run_for(
            &Rulebook::default(),
            &requester("RU"),
            &group("FR", &["PL"]),
            &site(&["DE"]),
        );
        assert_eq!(outcomes(&findings, "CTRY-5"), [Outcome::Fail]);
        assert_eq!(overall(&findings), Outcome::Fail);
    }

    #[test]
    fn ctry5_requester_more_than_half_russian_owned_fails() {
        let owned = Requester {
            russian_owned_over_half: true,
            ..requester("CY")
        };
        let findings = run_for(&Rulebook::default(), &owned, &group("FR", &["PL"]), &site(&["DE"]));
        assert_eq!(outcomes(&findings, "CTRY-5"), [Outcome::Fail]);
    }

    #[test]
    fn ctry5_ctry6_users_working_in_russia_or_belarus_fail() {
        let findings = run(&Rulebook::default(), &group("FR", &["RU", "BY", "BY"]), &site(&["DE"]));
        assert_eq!(outcomes(&findings, "CTRY-5"), [Outcome::Fail]);
        let belarus = findings.iter().find(|finding| finding.rule == "CTRY-6").cloned();
        let belarus = belarus.unwrap_or_else(|| panic!("a CTRY-6 finding: {findings:#?}"));
        assert_eq!(belarus.outcome, Outcome::Fail);
        assert!(belarus.reason.contains("2 of 4 users work in BY"), "{}", belarus.reason);
    }

    #[test]
    fn ctry5_passes_when_nobody_is_in_a_restricted_country() {
        let findings = run(&Rulebook::default(), &group("FR", &["PL"]), &site(&["DE"]));
        assert_eq!(outcomes(&findings, "CTRY-5"), [Outcome::Pass]);
        assert!(outcomes(&findings, "CTRY-6").is_empty());
    }

    #[test]
    fn ctry7_eu_only_call_refuses_a_requester_outside_eu_and_associated_countries() {
        let strategic = Rulebook {
            eu_only: true,
            ..Rulebook::default()
        };
        let users = group("FR", &["PL"]);
        let ctry7 = |rules: &Rulebook, country: &str| {
            only(&run_for(rules, &requester(country), &users, &site(&["DE"])), "CTRY-7")
        };
        assert_eq!(ctry7(&strategic, "US").outcome, Outcome::Fail);
        assert_eq!(
            ctry7(&strategic, "CA").outcome,
            Outcome::Fail,
            "Pillar II only (CTRY-3)"
        );
        assert_eq!(ctry7(&strategic, "FR").outcome, Outcome::Pass);
        assert_eq!(ctry7(&strategic, "NO").outcome, Outcome::Pass);
        assert_eq!(ctry7(&Rulebook::default(), "US").outcome, Outcome::Pass, "an open call");
    }

    #[test]
    fn ctry7_control_from_a_third_country_needs_an_approved_guarantee() {
        let strategic = Rulebook {
            eu_only: true,
            ..Rulebook::default()
        };
        let users = group("FR", &["PL"]);
        let controlled = Requester {
            controlled_by_country: Some("CN".to_owned()),
            ..requester("NL")
        };
        let found = only(&run_for(&strategic, &controlled, &users, &site(&["DE"])), "CTRY-7");
        assert_eq!(found.outcome, Outcome::Fail);
        assert!(found.reason.contains("CN"), "{}", found.reason);
        let guaranteed = Requester {
            guarantee_approved: true,
            ..controlled.clone()
        };
        assert_eq!(
            only(&run_for(&strategic, &guaranteed, &users, &site(&["DE"])), "CTRY-7").outcome,
            Outcome::Pass
        );
        let from_norway = Requester {
            controlled_by_country: Some("NO".to_owned()),
            ..requester("NL")
        };
        assert_eq!(
            only(&run_for(&strategic, &from_norway, &users, &site(&["DE"])), "CTRY-7").outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn overall_is_the_worst_outcome() {
        let with = |outcomes: &[Outcome]| -> Vec<Finding> {
            outcomes
                .iter()
                .map(|outcome| finding("TA-2", *outcome, String::new()))
                .collect()
        };
        assert_eq!(overall(&[]), Outcome::Pass);
        assert_eq!(overall(&with(&[Outcome::Pass, Outcome::Warn])), Outcome::Warn);
        assert_eq!(
            overall(&with(&[Outcome::Fail, Outcome::Warn, Outcome::Pass])),
            Outcome::Fail
        );
    }

    #[test]
    fn ta6_budget_is_the_cap_share_of_planned_units_less_what_is_held() {
        assert_eq!(non_eu_budget(100, 20, 0), 20);
        assert_eq!(non_eu_budget(100, 20, 15), 5);
        assert_eq!(non_eu_budget(100, 20, 30), 0);
        assert_eq!(non_eu_budget(99, 20, 0), 19, "rounded down: the cap is never exceeded");
    }
}
