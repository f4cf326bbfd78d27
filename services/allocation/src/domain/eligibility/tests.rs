//! The TA-x and CTRY-x rules on requests and installations, rule by rule, both ways.

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
    let bonus = |leader: &str, site: &Site| priority_bonus(&rules, table, day("2026-06-01"), &group(leader, &[]), site);
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
    let ctry7 =
        |rules: &Rulebook, country: &str| only(&run_for(rules, &requester(country), &users, &site(&["DE"])), "CTRY-7");
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
