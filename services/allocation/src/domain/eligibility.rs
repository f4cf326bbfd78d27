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
mod tests;
