//! SME-1 to SME-4 on worked examples, and aggregates that overflow.

use super::*;

const EUR: i64 = 100;

fn figures(headcount_awu: f64, turnover_eur: i64, balance_sheet_eur: i64) -> Figures {
    Figures {
        headcount_awu,
        turnover_cents: turnover_eur * EUR,
        balance_sheet_cents: balance_sheet_eur * EUR,
    }
}

fn alone(figures: Figures) -> Enterprise {
    Enterprise {
        figures,
        holdings: Vec::new(),
        public_control_percent: 0.0,
    }
}

fn holding(share_percent: f64, figures: Figures) -> Holding {
    Holding {
        name: "Other GmbH".into(),
        figures,
        share_percent,
        control: false,
        exempt_investor: None,
    }
}

fn category(enterprise: &Enterprise) -> SmeCategory {
    assess_size(enterprise, SMALL_MID_CAP_2025_1099).expect("sums").category
}

#[test]
fn sme_1_headcount_ceilings_are_strict_and_mandatory() {
    assert_eq!(category(&alone(figures(9.9, 1_000_000, 1_000_000))), SmeCategory::Micro);
    assert_eq!(
        category(&alone(figures(10.0, 1_000_000, 1_000_000))),
        SmeCategory::Small
    );
    assert_eq!(
        category(&alone(figures(49.5, 1_000_000, 1_000_000))),
        SmeCategory::Small
    );
    assert_eq!(
        category(&alone(figures(249.0, 1_000_000, 1_000_000))),
        SmeCategory::Medium
    );
    // Tiny money does not make up for staff: headcount is mandatory.
    assert_eq!(category(&alone(figures(250.0, 1_000, 1_000))), SmeCategory::None);
}

#[test]
fn sme_1_turnover_or_balance_sheet_suffices() {
    // Turnover above the micro ceiling, balance sheet within it: still micro.
    assert_eq!(category(&alone(figures(5.0, 3_000_000, 2_000_000))), SmeCategory::Micro);
    // Both above the micro ceilings: small.
    assert_eq!(category(&alone(figures(5.0, 3_000_000, 2_000_001))), SmeCategory::Small);
    // Medium: turnover at most 50 M or balance sheet at most 43 M.
    assert_eq!(
        category(&alone(figures(100.0, 90_000_000, 43_000_000))),
        SmeCategory::Medium
    );
    assert_eq!(
        category(&alone(figures(100.0, 50_000_001, 43_000_001))),
        SmeCategory::None
    );
}

#[test]
fn sme_2_partners_count_by_share_and_linked_enterprises_in_full() {
    let own = figures(8.0, 1_000_000, 1_000_000);
    let other = figures(20.0, 4_000_000, 4_000_000);
    let mut partner = alone(own);
    partner.holdings.push(holding(30.0, other));
    let assessment = assess_size(&partner, SMALL_MID_CAP_2025_1099).expect("sums");
    // 8 + 30 % of 20 = 14 AWU: small, no longer micro.
    assert!((assessment.aggregated.headcount_awu - 14.0).abs() < 1e-9);
    assert_eq!(assessment.category, SmeCategory::Small);
    assert!(assessment.reasons[0].contains("partner"), "{:?}", assessment.reasons);

    let mut linked = alone(own);
    linked
        .holdings
        .push(holding(51.0, figures(300.0, 80_000_000, 60_000_000)));
    assert_eq!(
        category(&linked),
        SmeCategory::None,
        "a large linked group makes it large"
    );

    let mut controlled = alone(own);
    controlled.holdings.push(Holding {
        control: true,
        ..holding(10.0, figures(300.0, 80_000_000, 60_000_000))
    });
    assert_eq!(
        category(&controlled),
        SmeCategory::None,
        "control links whatever the share"
    );

    let mut minor = alone(own);
    minor
        .holdings
        .push(holding(24.9, figures(300.0, 80_000_000, 60_000_000)));
    assert_eq!(category(&minor), SmeCategory::Micro, "below 25 % stays autonomous");
}

#[test]
fn sme_2_aggregated_figures_that_overflow_are_refused_by_holding_not_wrapped() {
    let huge = Figures {
        headcount_awu: 1.0,
        turnover_cents: i64::MAX,
        balance_sheet_cents: 0,
    };
    let mut group = alone(huge);
    group.holdings.push(holding(10.0, huge));
    group.holdings.push(holding(60.0, huge));
    assert_eq!(
        assess_size(&group, SMALL_MID_CAP_2025_1099),
        Err(AggregateOverflow {
            holding: 1,
            figure: "turnover_eur_cents"
        }),
        "the linked holding (in full) overflows; the autonomous one counts for nothing"
    );
    let mut wide = alone(Figures {
        headcount_awu: f64::MAX,
        ..figures(0.0, 0, 0)
    });
    wide.holdings.push(holding(100.0, wide.figures));
    assert_eq!(
        assess_size(&wide, SMALL_MID_CAP_2025_1099).map(|size| size.category),
        Err(AggregateOverflow {
            holding: 0,
            figure: "headcount_awu"
        })
    );
    let mut sheet = alone(Figures {
        balance_sheet_cents: i64::MAX - 1,
        ..figures(1.0, 0, 0)
    });
    sheet.holdings.push(holding(30.0, figures(1.0, 0, i64::MAX / EUR)));
    assert_eq!(
        assess_size(&sheet, SMALL_MID_CAP_2025_1099).map(|size| size.category),
        Err(AggregateOverflow {
            holding: 0,
            figure: "balance_sheet_eur_cents"
        })
    );
}

#[test]
fn sme_2_exempt_investors_leave_the_enterprise_autonomous_within_their_conditions() {
    let own = figures(8.0, 1_000_000, 1_000_000);
    let big = figures(5_000.0, 900_000_000, 900_000_000);
    let with = |investor: ExemptInvestor| {
        let mut enterprise = alone(own);
        enterprise.holdings.push(Holding {
            exempt_investor: Some(investor),
            ..holding(40.0, big)
        });
        category(&enterprise)
    };
    assert_eq!(
        with(ExemptInvestor::RiskCapital {
            invested_cents: 1_000_000 * EUR
        }),
        SmeCategory::Micro
    );
    assert_eq!(
        with(ExemptInvestor::RiskCapital {
            invested_cents: 1_250_000 * EUR
        }),
        SmeCategory::None,
        "EUR 1.25 M or more makes a business angel a partner"
    );
    assert_eq!(
        with(ExemptInvestor::UniversityOrNonProfitResearchCentre),
        SmeCategory::Micro
    );
    assert_eq!(with(ExemptInvestor::InstitutionalInvestor), SmeCategory::Micro);
    assert_eq!(
        with(ExemptInvestor::LocalAuthority {
            annual_budget_cents: 9_000_000 * EUR,
            inhabitants: 4_999
        }),
        SmeCategory::Micro
    );
    assert_eq!(
        with(ExemptInvestor::LocalAuthority {
            annual_budget_cents: 9_000_000 * EUR,
            inhabitants: 5_000
        }),
        SmeCategory::None
    );
    // More than 50 % links, exempt investor or not.
    let mut majority = alone(own);
    majority.holdings.push(Holding {
        exempt_investor: Some(ExemptInvestor::InstitutionalInvestor),
        ..holding(60.0, big)
    });
    assert_eq!(category(&majority), SmeCategory::None);
}

#[test]
fn sme_2_public_control_of_25_percent_or_more_excludes_sme_status() {
    let mut municipal = alone(figures(5.0, 500_000, 500_000));
    municipal.public_control_percent = 25.0;
    let assessment = assess_size(&municipal, SMALL_MID_CAP_2025_1099).expect("sums");
    assert_eq!(assessment.category, SmeCategory::None);
    assert!(!assessment.small_mid_cap);
    assert!(assessment.reasons.iter().any(|reason| reason.contains("public bodies")));
    municipal.public_control_percent = 24.0;
    assert_eq!(category(&municipal), SmeCategory::Micro);
}

#[test]
fn sme_3_small_mid_caps_follow_the_configured_rule_set() {
    let mid = alone(figures(700.0, 140_000_000, 200_000_000));
    let assessment = assess_size(&mid, SMALL_MID_CAP_2025_1099).expect("sums");
    assert_eq!(
        (assessment.category, assessment.small_mid_cap),
        (SmeCategory::None, true)
    );
    assert!(assessment.reasons.last().expect("reason").contains("2025/1099"));
    let larger = alone(figures(900.0, 190_000_000, 200_000_000));
    assert!(
        !assess_size(&larger, SMALL_MID_CAP_2025_1099)
            .expect("sums")
            .small_mid_cap
    );
    assert!(
        assess_size(&larger, SMALL_MID_CAP_OMNIBUS_IV)
            .expect("sums")
            .small_mid_cap
    );
    let sme = alone(figures(20.0, 1_000_000, 1_000_000));
    assert!(
        !assess_size(&sme, SMALL_MID_CAP_2025_1099).expect("sums").small_mid_cap,
        "an SME is not a small mid-cap"
    );
}

#[test]
fn sme_4_start_ups_need_youth_innovation_and_growth() {
    let young = StartUpEvidence {
        age_years: 3,
        innovative: true,
        growth: true,
    };
    assert!(assess_start_up(&young, 10).0);
    assert!(!assess_start_up(&young, 3).0, "some calls use a lower age limit");
    let (is, reason) = assess_start_up(
        &StartUpEvidence {
            age_years: 12,
            innovative: false,
            growth: true,
        },
        10,
    );
    assert!(!is);
    assert!(
        reason.contains("12 years old") && reason.contains("innovation"),
        "{reason}"
    );
    assert!(!assess_start_up(&StartUpEvidence { growth: false, ..young }, 10).0);
}
