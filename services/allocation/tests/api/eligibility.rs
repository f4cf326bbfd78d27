//! Eligibility per installation, on the call's close time as reference date: transnationality
//! and its exemptions (TA-2, TA-3), users from the host country (TA-4), dissemination (TA-5),
//! the non-EU/AC majority (TA-6) with association dates (CTRY-2, CTRY-3), EU-only calls (CTRY-7),
//! and evaluation again on request and under an amended rulebook.

use rti_platform::db::Backend;
use rti_proto::allocation::{self as proto, EligibilityOutcome as Outcome};
use rti_proto::intake;

use crate::helpers::*;

rti_platform::backend_tests!(
    ta2_leader_and_majority_with_mixed_employers,
    ta2_a_leader_working_in_the_installations_country_fails_the_group,
    ta2_exactly_half_outside_is_not_a_majority,
    ta2_counts_where_people_work_not_where_their_employer_is_nor_their_nationality,
    ta2_is_evaluated_for_each_installation,
    ta3_an_eric_installation_is_exempt_from_transnationality,
    ta4_users_working_in_the_installations_country_are_flagged,
    ta5_dissemination_and_the_sme_exemption,
    ta6_a_group_mostly_working_outside_eu_and_associated_countries_is_non_eu,
    ctry2_association_counts_from_its_effective_date,
    ctry7_an_eu_only_call_refuses_an_organisation_from_elsewhere,
    eligibility_is_evaluated_again_on_request_and_under_an_amended_rulebook,
);

/// The single TA-2 finding of `proposal` at `installation_id`, checked for what every finding
/// carries.
#[track_caller]
fn ta2(proposal: &proto::Proposal, installation_id: &str) -> Outcome {
    let found = findings(proposal, installation_id, "TA-2");
    assert_eq!(
        found.len(),
        1,
        "one TA-2 finding at {installation_id}: {:#?}",
        proposal.findings
    );
    let finding = found[0];
    assert_eq!(finding.rulebook_version, 1);
    assert!(!finding.reason.is_empty(), "{finding:?}");
    assert!(
        !finding.reason.contains(SURNAME),
        "reasons never name people: {finding:?}"
    );
    finding.outcome()
}

/// A university in PL that proposes, and a call offering 50 units of `site`.
async fn proposer_and_call(world: &World, site: &Site) -> (Applicant, proto::Call) {
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = world.call_for(&[(site, 50)]).await;
    (applicant, call)
}

/// A proposal of `users` for 10 units of the DE site in `call`.
async fn at_de(world: &World, applicant: &Applicant, call: &proto::Call, users: &[User]) -> proto::Proposal {
    world.propose(applicant, &call.id, &[(world.de.id(), 10)], users).await
}

async fn ta2_leader_and_majority_with_mixed_employers(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (applicant, call) = proposer_and_call(&world, &world.de).await;
    // Leader at a FR employer, members at DE, DE, PL and ES employers: 3 of 5 work outside DE.
    let users = [
        works_in("FR"),
        works_in("DE"),
        works_in("DE"),
        works_in("PL"),
        works_in("ES"),
    ];
    let proposal = at_de(&world, &applicant, &call, &users).await;
    assert_eq!(ta2(&proposal, world.de.id()), Outcome::Pass, "{:#?}", proposal.findings);
    assert_ne!(proposal.eligibility(), Outcome::Fail);
    let countries: Vec<&str> = proposal
        .members
        .iter()
        .map(|member| member.work_country.as_str())
        .collect();
    assert_eq!(countries, ["FR", "DE", "DE", "PL", "ES"], "leader first");
    assert!(proposal.members[0].leader && proposal.members[1..].iter().all(|member| !member.leader));
    assert_eq!(proposal.lane(), proto::Lane::Transnational);
    assert_eq!(proposal.call_id, call.id);
    assert_eq!(proposal.organisation_id, applicant.id());
    assert_eq!(proposal.requester_country, "PL");
    assert_eq!(proposal.status(), proto::ProposalStatus::InReview);
    assert_eq!(units_at(&proposal.requested, world.de.id()), 10);
    world.stop().await;
}

async fn ta2_a_leader_working_in_the_installations_country_fails_the_group(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (applicant, call) = proposer_and_call(&world, &world.de).await;
    // Everyone else works outside DE (3 of 4), but the leader works in DE.
    let users = [works_in("DE"), works_in("FR"), works_in("PL"), works_in("ES")];
    let proposal = at_de(&world, &applicant, &call, &users).await;
    assert_eq!(ta2(&proposal, world.de.id()), Outcome::Fail);
    assert_eq!(proposal.eligibility(), Outcome::Fail, "a FAIL is the worst finding");
    world.stop().await;
}

async fn ta2_exactly_half_outside_is_not_a_majority(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (applicant, call) = proposer_and_call(&world, &world.de).await;
    let half = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("FR"), works_in("PL"), works_in("DE"), works_in("DE")],
    )
    .await;
    assert_eq!(
        ta2(&half, world.de.id()),
        Outcome::Fail,
        "2 of 4 is not a strict majority"
    );
    let two_of_three = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("FR"), works_in("PL"), works_in("DE")],
    )
    .await;
    assert_eq!(ta2(&two_of_three, world.de.id()), Outcome::Pass, "2 of 3 is");
    world.stop().await;
}

async fn ta2_counts_where_people_work_not_where_their_employer_is_nor_their_nationality(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (applicant, call) = proposer_and_call(&world, &world.de).await;
    // Employed by a DE university, working in FR (with evidence): the leader counts as FR.
    let moved = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("DE").working_in("FR"), works_in("PL")],
    )
    .await;
    assert_eq!(moved.members[0].work_country, "FR");
    assert_eq!(ta2(&moved, world.de.id()), Outcome::Pass);
    let stayed = at_de(&world, &applicant, &call, &[works_in("DE"), works_in("PL")]).await;
    assert_eq!(
        ta2(&stayed, world.de.id()),
        Outcome::Fail,
        "without the override the leader works in DE"
    );

    // Nationality is no criterion: groups that differ only by it get the same outcome.
    let plain = at_de(&world, &applicant, &call, &[works_in("FR"), works_in("PL")]).await;
    let german = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("FR").national_of("DE"), works_in("PL").national_of("DE")],
    )
    .await;
    assert_eq!(ta2(&plain, world.de.id()), Outcome::Pass);
    assert_eq!(
        ta2(&german, world.de.id()),
        Outcome::Pass,
        "DE nationals working abroad count as abroad"
    );
    let french_in_de = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("DE").national_of("FR"), works_in("DE").national_of("FR")],
    )
    .await;
    assert_eq!(
        ta2(&french_in_de, world.de.id()),
        Outcome::Fail,
        "FR nationals working in DE count as DE"
    );
    world.stop().await;
}

async fn ta2_is_evaluated_for_each_installation(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("FR", "Université d'Essai")).await;
    let call = world.call_for(&[(&world.de, 50), (&world.fr, 50)]).await;
    let asks = [(world.de.id(), 10), (world.fr.id(), 10)];
    let proposal = world.propose(&applicant, &call.id, &asks, &users_in("FR", 3)).await;
    assert_eq!(ta2(&proposal, world.de.id()), Outcome::Pass, "FR users abroad in DE");
    assert_eq!(ta2(&proposal, world.fr.id()), Outcome::Fail, "FR users at home in FR");
    assert_eq!(proposal.eligibility(), Outcome::Fail);
    world.stop().await;
}

async fn ta3_an_eric_installation_is_exempt_from_transnationality(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let laser = world
        .add_site("Laser lab", "IT", rti_proto::registry::LegalForm::University)
        .await;
    let applicant = world.applicant(university("IT", "Università di Prova")).await;
    let call = world.call_for(&[(&world.eric, 50), (&laser, 50)]).await;
    let at_home = users_in("IT", 3);

    let at_eric = world
        .propose(&applicant, &call.id, &[(world.eric.id(), 10)], &at_home)
        .await;
    assert!(!fails_at(&at_eric, world.eric.id()), "TA-3(a): {:#?}", at_eric.findings);
    assert_ne!(at_eric.eligibility(), Outcome::Fail);
    let exemption = at_eric
        .findings
        .iter()
        .filter(|finding| {
            finding.installation_id == world.eric.id() && ["TA-2", "TA-3"].contains(&finding.rule.as_str())
        })
        .find(|finding| finding.outcome() == Outcome::Pass && finding.reason.to_lowercase().contains("exempt"));
    assert!(
        exemption.is_some(),
        "a PASS naming the exemption: {:#?}",
        at_eric.findings
    );

    // The same group at an IT installation run by a university is not exempt.
    let at_laser = world.propose(&applicant, &call.id, &[(laser.id(), 10)], &at_home).await;
    assert_eq!(ta2(&at_laser, laser.id()), Outcome::Fail);
    world.stop().await;
}

async fn ta4_users_working_in_the_installations_country_are_flagged(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (applicant, call) = proposer_and_call(&world, &world.de).await;
    let with_host = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("FR"), works_in("DE"), works_in("PL")],
    )
    .await;
    let warned = findings(&with_host, world.de.id(), "TA-4");
    assert!(
        warned.iter().any(|finding| finding.outcome() == Outcome::Warn),
        "{:#?}",
        with_host.findings
    );
    assert_eq!(with_host.eligibility(), Outcome::Warn, "a WARN does not refuse");
    let abroad = at_de(&world, &applicant, &call, &[works_in("FR"), works_in("PL")]).await;
    assert!(
        !findings(&abroad, world.de.id(), "TA-4")
            .iter()
            .any(|finding| finding.outcome() == Outcome::Warn),
        "{:#?}",
        abroad.findings
    );
    assert_eq!(abroad.eligibility(), Outcome::Pass);
    world.stop().await;
}

fn ta5_fails(proposal: &proto::Proposal) -> bool {
    proposal
        .findings
        .iter()
        .any(|finding| finding.rule == "TA-5" && finding.outcome() == Outcome::Fail)
}

async fn ta5_dissemination_and_the_sme_exemption(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (university_applicant, call) = proposer_and_call(&world, &world.de).await;
    let public = at_de(&world, &university_applicant, &call, &users_in("PL", 2)).await;
    assert!(
        public.may_disseminate,
        "a PUBLIC proposal under the TA agreement disseminates"
    );
    assert!(!ta5_fails(&public));

    // Intake already refuses confidentiality to a group that is not from an SME.
    let group = world.group(&university_applicant, &users_in("PL", 2)).await;
    let confidential = |group_id: &str| intake::AccessRequest {
        confidentiality: intake::ConfidentialityLevel::Confidential as i32,
        ip_regime: intake::IpRegime::UserOwns as i32,
        ..transnational(&call.id, &[(world.de.id(), 10)], group_id)
    };
    let refused = world
        .intake()
        .create_access_request(with_token(
            intake::CreateAccessRequestRequest {
                idempotency_key: rti_platform::ids::new_id(),
                access_request: Some(confidential(&group.id)),
            },
            &university_applicant.token,
        ))
        .await
        .expect_err("intake keeps TA-5 for non-SMEs");
    assert_eq!(violated_fields(&refused), ["access_request.ip_regime"]);

    // Users working for an SME may keep their results confidential.
    let sme_applicant = world.applicant(sme("FR", "Capteurs SAS")).await;
    let staff = vec![employed_by(sme_applicant.id()); 2];
    let sme_group = world.group(&sme_applicant, &staff).await;
    let kept = world.propose_request(&sme_applicant, confidential(&sme_group.id)).await;
    assert!(kept.members.iter().all(|member| member.employer_is_sme));
    assert!(!ta5_fails(&kept), "TA-5 exempts SMEs: {:#?}", kept.findings);
    assert_ne!(kept.eligibility(), Outcome::Fail);

    // Without the exemption in the rulebook, the same proposal fails TA-5.
    let strict = proto::Rulebook {
        sme_dissemination_exemption: false,
        ..rulebook()
    };
    world
        .amend_rulebook(&coordinator(), &call.id, strict, "no confidential results")
        .await
        .expect("amends");
    let refused = world.evaluated_under(&kept.id, 2).await;
    assert!(ta5_fails(&refused), "{:#?}", refused.findings);
    let still_public = world.proposal(&public.id).await;
    assert!(!ta5_fails(&still_public), "a disseminating group is not concerned");
    world.stop().await;
}

async fn ta6_a_group_mostly_working_outside_eu_and_associated_countries_is_non_eu(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(company("US", "Sensorics Inc.")).await;
    let call = world.call_for(&[(&world.de, 50)]).await;
    let american = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("US"), works_in("US"), works_in("CA")],
    )
    .await;
    assert!(american.non_eu_majority);
    // CTRY-3: Canada is associated to Pillar II only, so for TA-6 it is not an associated country.
    let with_canada = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("US"), works_in("CA"), works_in("FR")],
    )
    .await;
    assert!(with_canada.non_eu_majority, "US and CA are 2 of 3 outside EU/AC");
    let mostly_eu = at_de(
        &world,
        &applicant,
        &call,
        &[works_in("US"), works_in("FR"), works_in("PL")],
    )
    .await;
    assert!(!mostly_eu.non_eu_majority);
    // The requester's country does not decide it: users' work countries do.
    let european = world.applicant(university("FR", "Université d'Essai")).await;
    let abroad = at_de(
        &world,
        &european,
        &call,
        &[works_in("FR"), works_in("US"), works_in("US")],
    )
    .await;
    assert!(abroad.non_eu_majority);
    world.stop().await;
}

async fn ctry2_association_counts_from_its_effective_date(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("GB", "University of Testbridge")).await;
    let closing = |open: &str, close: &str| proto::CreateCallRequest {
        open_time: Some(on(open)),
        close_time: Some(on(close)),
        ..call_request(vec![offered(&world.de, 50)])
    };
    let before = world.open_call(closing("2023-01-01", "2023-06-01")).await;
    let after = world.open_call(closing("2024-01-01", "2024-06-01")).await;
    let british = [works_in("GB"), works_in("GB"), works_in("FR")];
    let in_2023 = at_de(&world, &applicant, &before, &british).await;
    let in_2024 = at_de(&world, &applicant, &after, &british).await;
    assert!(in_2023.non_eu_majority, "the UK was not associated on 2023-06-01");
    assert!(!in_2024.non_eu_majority, "the UK is associated from 2024-01-01");
    assert!(!before.country_table_version.is_empty());
    world.stop().await;
}

async fn ctry7_an_eu_only_call_refuses_an_organisation_from_elsewhere(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let eu_only = proto::Rulebook {
        eu_only: true,
        ..rulebook()
    };
    let call = world.call_under(eu_only, vec![offered(&world.de, 50)]).await;
    let users = [works_in("FR"), works_in("PL")];
    let american = world.applicant(company("US", "Sensorics Inc.")).await;
    let refused = at_de(&world, &american, &call, &users).await;
    let ctry7 = |proposal: &proto::Proposal| {
        proposal
            .findings
            .iter()
            .any(|finding| finding.rule == "CTRY-7" && finding.outcome() == Outcome::Fail)
    };
    assert!(ctry7(&refused), "{:#?}", refused.findings);
    assert_eq!(refused.eligibility(), Outcome::Fail);
    let french = world.applicant(sme("FR", "Capteurs SAS")).await;
    let admitted = at_de(&world, &french, &call, &users).await;
    assert!(!ctry7(&admitted), "{:#?}", admitted.findings);
    assert_ne!(admitted.eligibility(), Outcome::Fail);
    world.stop().await;
}

async fn eligibility_is_evaluated_again_on_request_and_under_an_amended_rulebook(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (applicant, call) = proposer_and_call(&world, &world.de).await;
    let at_home = at_de(&world, &applicant, &call, &users_in("DE", 2)).await;
    assert_eq!(ta2(&at_home, world.de.id()), Outcome::Fail);

    let again = world
        .evaluate_eligibility(&coordinator(), &at_home.id)
        .await
        .expect("the coordinator evaluates again");
    assert_eq!(again.eligibility(), Outcome::Fail);
    assert!(again.findings.iter().all(|finding| finding.rulebook_version == 1));
    assert!(again.evaluate_time.is_some());
    world
        .evaluate_eligibility(&service(), &at_home.id)
        .await
        .expect("a service evaluates");
    let refused = world
        .evaluate_eligibility(&reviewer(REVIEWER), &at_home.id)
        .await
        .expect_err("a reviewer does not");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    let without_ta2 = proto::Rulebook {
        transnationality: false,
        ..rulebook()
    };
    world
        .amend_rulebook(&coordinator(), &call.id, without_ta2, "national access is allowed")
        .await
        .expect("amends");
    let evaluated = world.evaluated_under(&at_home.id, 2).await;
    assert!(!fails_at(&evaluated, world.de.id()), "{:#?}", evaluated.findings);
    assert_ne!(evaluated.eligibility(), Outcome::Fail);
    world.stop().await;
}
