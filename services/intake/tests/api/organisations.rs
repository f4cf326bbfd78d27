//! Organisations and people: the SME category, start-up and small mid-cap status computed by the
//! SME-x rules through the API, work countries, and the Russia/Belarus rules at screening.

use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::intake::{self as proto, AccessRequestStatus as S, SmeCategory};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    sme1_sme2_sme3_the_category_is_computed_with_partners_and_linked_enterprises,
    sme4_a_start_up_is_young_innovative_and_growing,
    a_typed_in_category_is_ignored_and_bad_figures_are_named,
    registration_is_idempotent_and_never_twice,
    a_persons_work_country_is_the_employers_unless_overridden_with_evidence,
    ctry5_ctry6_russian_or_belarusian_establishment_or_majority_ownership_declines,
    sec1_a_listed_owner_declines_the_request,
    nationality_is_kept_but_never_a_criterion,
);

fn holding(name: &str, share_percent: f64, headcount_awu: f64, turnover_eur_cents: i64) -> proto::Holding {
    proto::Holding {
        name: name.into(),
        country: "DE".into(),
        figures: Some(proto::Figures {
            headcount_awu,
            turnover_eur_cents,
            balance_sheet_eur_cents: turnover_eur_cents,
        }),
        share_percent,
        owner: true,
        ..Default::default()
    }
}

fn category(organisation: &proto::Organisation) -> SmeCategory {
    organisation.assessment.as_ref().expect("assessed").sme_category()
}

async fn sme1_sme2_sme3_the_category_is_computed_with_partners_and_linked_enterprises(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (small, _) = world.register(small_company("Acme Photonics")).await;
    assert_eq!(category(&small), SmeCategory::Small, "SME-1: 12 staff, EUR 1.5 M");
    let assessment = small.assessment.clone().expect("assessed");
    assert!(!assessment.reasons.is_empty(), "the reasons are shown");
    assert_eq!(assessment.aggregated.expect("figures").headcount_awu, 12.0);

    // SME-2: a 30 % partner with 200 staff adds 60: 72 staff is medium.
    let (partnered, _) = world
        .register(proto::Organisation {
            holdings: vec![holding("Partner AG", 30.0, 200.0, 2_000_000_000)],
            ..small_company("Partnered Photonics")
        })
        .await;
    assert_eq!(category(&partnered), SmeCategory::Medium);
    assert_eq!(
        partnered
            .assessment
            .expect("assessed")
            .aggregated
            .expect("figures")
            .headcount_awu,
        72.0
    );

    // SME-2: a 60 % owner with 4,000 staff is linked: all of it counts.
    let (linked, _) = world
        .register(proto::Organisation {
            holdings: vec![holding("Group SE", 60.0, 4000.0, 90_000_000_000)],
            ..small_company("Linked Photonics")
        })
        .await;
    assert_eq!(category(&linked), SmeCategory::None);

    // SME-2: a venture capital firm under EUR 1.25 M invested leaves it autonomous.
    let (backed, _) = world
        .register(proto::Organisation {
            holdings: vec![proto::Holding {
                exempt_investor: proto::ExemptInvestorKind::RiskCapital as i32,
                invested_eur_cents: 100_000_000,
                ..holding("Seed Fund", 40.0, 4000.0, 90_000_000_000)
            }],
            ..small_company("Backed Photonics")
        })
        .await;
    assert_eq!(category(&backed), SmeCategory::Small);

    // SME-2: 25 % or more held by public bodies: not an SME.
    let (public, _) = world
        .register(proto::Organisation {
            public_control_percent: 30.0,
            ..small_company("Public Photonics")
        })
        .await;
    assert_eq!(category(&public), SmeCategory::None);

    // SME-3: 600 staff, EUR 100 M: not an SME, a small mid-cap under Recommendation 2025/1099.
    let (mid_cap, _) = world
        .register(proto::Organisation {
            figures: Some(proto::Figures {
                headcount_awu: 600.0,
                turnover_eur_cents: 10_000_000_000,
                balance_sheet_eur_cents: 9_000_000_000,
            }),
            ..small_company("Midcap Photonics")
        })
        .await;
    let assessment = mid_cap.assessment.expect("assessed");
    assert_eq!(assessment.sme_category(), SmeCategory::None);
    assert!(assessment.small_mid_cap);
    assert!(
        assessment.small_mid_cap_rule.contains("2025/1099"),
        "{}",
        assessment.small_mid_cap_rule
    );
    world.stop().await;
}

async fn sme4_a_start_up_is_young_innovative_and_growing(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let evidence = |founded_on: &str, innovative: bool| proto::StartUpEvidence {
        founded_on: founded_on.into(),
        innovative,
        growth: true,
    };
    let (young, _) = world
        .register(proto::Organisation {
            start_up: Some(evidence("2023-05-01", true)),
            ..small_company("Young Photonics")
        })
        .await;
    assert!(young.assessment.expect("assessed").start_up);
    let (old, _) = world
        .register(proto::Organisation {
            start_up: Some(evidence("2010-05-01", true)),
            ..small_company("Old Photonics")
        })
        .await;
    assert!(!old.assessment.expect("assessed").start_up, "older than 10 years");
    let (plain, _) = world
        .register(proto::Organisation {
            start_up: Some(evidence("2024-05-01", false)),
            ..small_company("Plain Photonics")
        })
        .await;
    assert!(!plain.assessment.expect("assessed").start_up, "not innovative");
    // A start-up linked to a large group is a start-up and not an SME.
    let (linked, _) = world
        .register(proto::Organisation {
            start_up: Some(evidence("2024-05-01", true)),
            holdings: vec![holding("Group SE", 60.0, 4000.0, 90_000_000_000)],
            ..small_company("Spin-off Photonics")
        })
        .await;
    let assessment = linked.assessment.expect("assessed");
    assert!(assessment.start_up);
    assert_eq!(assessment.sme_category(), SmeCategory::None);
    world.stop().await;
}

async fn a_typed_in_category_is_ignored_and_bad_figures_are_named(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (large, _) = world
        .register(proto::Organisation {
            assessment: Some(proto::SizeAssessment {
                sme_category: SmeCategory::Micro as i32,
                ..Default::default()
            }),
            ..large_company("Bigcorp")
        })
        .await;
    assert_eq!(category(&large), SmeCategory::None, "never typed in");

    let applicant = applicant_token(&rti_platform::ids::new_id());
    let refused = world
        .client()
        .register_organisation(with_token(
            proto::RegisterOrganisationRequest {
                organisation: Some(proto::Organisation {
                    country: "XX".into(),
                    figures: None,
                    holdings: vec![proto::Holding {
                        share_percent: 120.0,
                        ..holding("", 0.0, 0.0, 0)
                    }],
                    start_up: Some(proto::StartUpEvidence {
                        founded_on: "last spring".into(),
                        ..Default::default()
                    }),
                    ..small_company("")
                }),
                ..Default::default()
            },
            &applicant,
        ))
        .await
        .expect_err("refused");
    assert_eq!(
        violated_fields(&refused),
        [
            "organisation.legal_name",
            "organisation.country",
            "organisation.figures",
            "organisation.holdings[0].name",
            "organisation.holdings[0].share_percent",
            "organisation.start_up.founded_on",
        ]
    );
    world.stop().await;
}

async fn registration_is_idempotent_and_never_twice(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let org = rti_platform::ids::new_id();
    let applicant = applicant_token(&org);
    let register = |request_id: &str| proto::RegisterOrganisationRequest {
        request_id: request_id.into(),
        organisation: Some(small_company("Acme Photonics")),
    };
    let key = rti_platform::ids::new_id();
    let first = world
        .client()
        .register_organisation(with_token(register(&key), &applicant))
        .await
        .expect("registers")
        .into_inner();
    let retried = world
        .client()
        .register_organisation(with_token(register(&key), &applicant))
        .await
        .expect("a retry is answered")
        .into_inner();
    assert_eq!(first, retried);
    let twice = world
        .client()
        .register_organisation(with_token(register(""), &applicant))
        .await
        .expect_err("one organisation, one registration");
    assert_eq!(twice.code(), Code::AlreadyExists);
    world.stop().await;
}

async fn a_persons_work_country_is_the_employers_unless_overridden_with_evidence(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let employed = world.person(&applicant, "Anna Example").await;
    assert_eq!(employed.work_country, "DE");
    let register = |override_country: &str, evidence: &str| proto::RegisterPersonRequest {
        person: Some(proto::Person {
            full_name: "Jonas Sample".into(),
            work_country_override: override_country.into(),
            work_country_evidence: evidence.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let unproven = world
        .client()
        .register_person(with_token(register("EL", ""), &applicant))
        .await
        .expect_err("an override needs evidence");
    assert_eq!(violated_fields(&unproven), ["person.work_country_evidence"]);
    let seconded = world
        .client()
        .register_person(with_token(register("EL", "secondment letter 2026-03"), &applicant))
        .await
        .expect("registers")
        .into_inner();
    assert_eq!(seconded.work_country, "GR", "EL is stored as GR");
    world.stop().await;
}

async fn ctry5_ctry6_russian_or_belarusian_establishment_or_majority_ownership_declines(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let russian_owner = |share| proto::Holding {
        country: "RU".into(),
        ..holding("Holding OOO", share, 50.0, 100_000_000)
    };
    let cases = [
        (
            proto::Organisation {
                country: "RU".into(),
                ..small_company("Established in RU")
            },
            S::Declined,
        ),
        (
            proto::Organisation {
                country: "BY".into(),
                ..small_company("Established in BY")
            },
            S::Declined,
        ),
        (
            proto::Organisation {
                holdings: vec![russian_owner(51.0)],
                ..small_company("Majority owned")
            },
            S::Declined,
        ),
        (
            proto::Organisation {
                holdings: vec![russian_owner(50.0)],
                ..small_company("Half owned")
            },
            S::Feasibility,
        ),
    ];
    for (organisation, expected) in cases {
        let name = organisation.legal_name.clone();
        let (_, applicant) = world.register(organisation).await;
        let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
        let submitted = world.submit(&applicant, &draft.id).await.expect("submits");
        assert_eq!(submitted.status(), expected, "{name}");
        let blocks = submitted.screening.expect("screened").blocks;
        assert_eq!(blocks.is_empty(), expected != S::Declined, "{name}: {blocks:?}");
    }
    world.stop().await;
}

async fn sec1_a_listed_owner_declines_the_request(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world
        .register(proto::Organisation {
            holdings: vec![holding("Imaginary Heavy Industries Ltd", 30.0, 500.0, 5_000_000_000)],
            ..small_company("Acme Photonics")
        })
        .await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    let submitted = world.submit(&applicant, &draft.id).await.expect("submits");
    assert_eq!(submitted.status(), S::Declined);
    let hit = &submitted.screening.expect("screened").hits[0];
    assert_eq!(
        (hit.subject_kind.as_str(), hit.listed_party.as_str()),
        ("owner", "FICT.0002")
    );
    // The reviewer cannot un-decline it: only held requests are reviewed.
    let review = world
        .client()
        .review_screening(with_token(
            proto::ReviewScreeningRequest {
                id: draft.id,
                decision: proto::ReviewDecision::Approve as i32,
                rationale: "looks fine".into(),
                conditions: String::new(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("declined is final");
    assert_eq!(review.code(), Code::FailedPrecondition);
    world.stop().await;
}

async fn nationality_is_kept_but_never_a_criterion(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let mut outcomes = Vec::new();
    for nationality in ["", "DE", "RU", "BY"] {
        let person = world
            .client()
            .register_person(with_token(
                proto::RegisterPersonRequest {
                    person: Some(proto::Person {
                        full_name: "Anna Example".into(),
                        nationality: nationality.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &applicant,
            ))
            .await
            .expect("registers")
            .into_inner();
        assert_eq!(person.nationality, nationality, "kept as given");
        assert_eq!(
            person.work_country, "DE",
            "the employer's country, whatever the nationality"
        );
        let submitted = world.submitted_with_contact(&applicant, &person.id).await;
        let screening = submitted.screening.clone().expect("screened");
        outcomes.push((
            submitted.status(),
            screening.verdict(),
            screening.blocks,
            screening.security_flags,
        ));
    }
    assert!(outcomes.iter().all(|outcome| *outcome == outcomes[0]), "{outcomes:?}");
    assert_eq!(outcomes[0].0, S::Feasibility);
    world.stop().await;
}
