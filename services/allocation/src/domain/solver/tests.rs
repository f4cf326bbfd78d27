//! The optimiser against hand-solved calls, the baseline and the bound.

use super::levels::{is_level, largest_fitting, lowest_level, next_level};
use super::*;

fn candidate(key: &str, parts: &[(usize, u64)], score: f64, non_eu_majority: bool, country: &str) -> Candidate {
    Candidate {
        key: key.to_string(),
        parts: parts.to_vec(),
        score,
        non_eu_majority,
        country: country.to_string(),
    }
}

fn call(capacity: &[u64], candidates: Vec<Candidate>, min_fraction: f64) -> Instance {
    Instance {
        capacity: capacity.to_vec(),
        candidates,
        non_eu_budget: None,
        country_budget: BTreeMap::new(),
        min_fraction,
    }
}

/// Both algorithms, checked feasible, so every rule test covers the stored allocation and the baseline.
fn solve_both(instance: &Instance) -> [Solution; 2] {
    [allocate(instance), score_greedy(instance)].map(|solution| {
        if let Err(breach) = check_feasible(instance, &solution) {
            panic!("infeasible solution: {breach}");
        }
        solution
    })
}

fn decisions(solution: &Solution) -> Vec<Decision> {
    solution.grants.iter().map(|grant| grant.decision.clone()).collect()
}

#[test]
fn allocations_are_feasible_on_random_instances() {
    for seed in 0..40 {
        let mut instance = synthetic(20 + (seed as usize * 7) % 130, seed);
        match seed % 4 {
            0 => instance.min_fraction = 1.0,
            1 => instance.min_fraction = 0.3,
            2 => {
                instance.non_eu_budget = None;
                instance.country_budget.clear();
            }
            _ => {}
        }
        solve_both(&instance);
    }
}

#[test]
fn non_eu_group_asking_exactly_the_ta6_budget_is_granted() {
    let mut instance = call(
        &[100],
        vec![
            candidate("req-1", &[(0, 20)], 5.0, true, "US"),
            candidate("req-2", &[(0, 1)], 4.0, true, "US"),
        ],
        1.0,
    );
    instance.non_eu_budget = Some(20);
    for solution in solve_both(&instance) {
        assert_eq!(
            decisions(&solution),
            [Decision::Granted, Decision::Refused(Limit::NonEuCap)]
        );
    }
}

#[test]
fn non_eu_group_asking_one_unit_over_the_ta6_budget_is_refused() {
    let mut instance = call(&[100], vec![candidate("req-1", &[(0, 21)], 5.0, true, "US")], 1.0);
    instance.non_eu_budget = Some(20);
    for solution in solve_both(&instance) {
        assert_eq!(decisions(&solution), [Decision::Refused(Limit::NonEuCap)]);
        assert_eq!(solution.objective, 0.0);
    }
}

#[test]
fn eu_group_asking_over_the_ta6_budget_is_granted() {
    let mut instance = call(
        &[100],
        vec![
            candidate("req-1", &[(0, 21)], 5.0, true, "CN"),
            candidate("req-2", &[(0, 21)], 4.0, false, "FR"),
        ],
        1.0,
    );
    instance.non_eu_budget = Some(20);
    for solution in solve_both(&instance) {
        assert_eq!(
            decisions(&solution),
            [Decision::Refused(Limit::NonEuCap), Decision::Granted]
        );
    }
}

#[test]
fn country_cap_limits_units_to_groups_led_from_one_country() {
    let mut instance = call(
        &[100],
        vec![
            candidate("req-1", &[(0, 8)], 5.0, false, "DE"),
            candidate("req-2", &[(0, 5)], 4.0, false, "DE"),
            candidate("req-3", &[(0, 5)], 3.0, false, "FR"),
        ],
        1.0,
    );
    instance.country_budget.insert("DE".to_string(), 10);
    let over_cap = Decision::Refused(Limit::CountryCap {
        country: "DE".to_string(),
    });
    for solution in solve_both(&instance) {
        assert_eq!(
            decisions(&solution),
            [Decision::Granted, over_cap.clone(), Decision::Granted]
        );
    }
    // With partial grants the second German request gets what the cap leaves: ⌊0.4·5⌋ = 2 units.
    instance.min_fraction = 0.4;
    for solution in solve_both(&instance) {
        assert_eq!(solution.grants[1].units, [2]);
        assert_eq!(
            solution.grants[1].decision,
            Decision::Cut(Limit::CountryCap {
                country: "DE".to_string()
            })
        );
    }
}

#[test]
fn refusal_names_the_exhausted_installation() {
    let instance = call(
        &[10, 3],
        vec![
            candidate("req-1", &[(0, 10)], 5.0, false, "FR"),
            candidate("req-2", &[(1, 2), (0, 4)], 4.0, false, "FR"),
            candidate("req-3", &[(1, 3)], 3.0, false, "FR"),
        ],
        1.0,
    );
    for solution in solve_both(&instance) {
        assert_eq!(
            decisions(&solution),
            [
                Decision::Granted,
                Decision::Refused(Limit::Capacity { installation: 0 }),
                Decision::Granted
            ]
        );
    }
}

#[test]
fn partial_grant_keeps_at_least_min_fraction_of_every_part() {
    // 4 of 8 units left on installation 0 after the better request. f = 9/16 keeps ⌊8f⌋ = 4 and
    // gives ⌊16f⌋ = 9, the most any common fraction allows.
    let instance = call(
        &[10, 20],
        vec![
            candidate("req-1", &[(0, 6)], 5.0, false, "FR"),
            candidate("req-2", &[(0, 8), (1, 16)], 1.0, false, "FR"),
        ],
        0.5,
    );
    for solution in solve_both(&instance) {
        assert_eq!(solution.grants[1].units, [4, 9]);
        assert_eq!(
            solution.grants[1].decision,
            Decision::Cut(Limit::Capacity { installation: 0 })
        );
    }
    // 3 of 8: less than half, so nothing rather than 3 and 6.
    let instance = call(
        &[3, 20],
        vec![candidate("req-2", &[(0, 8), (1, 16)], 1.0, false, "FR")],
        0.5,
    );
    for solution in solve_both(&instance) {
        assert_eq!(solution.grants[0].units, [0, 0]);
        assert_eq!(
            solution.grants[0].decision,
            Decision::Refused(Limit::Capacity { installation: 0 })
        );
    }
}

#[test]
fn every_step_of_the_ladder_is_a_common_fraction_rounded_down() {
    let asked = [3, 7, 10];
    let mut level = vec![0, 0, 0];
    let mut steps = 0;
    while let Some(next) = next_level(&asked, &level, 0.5) {
        assert!(is_level(&asked, &next, 0.5), "{next:?}");
        assert!(next.iter().zip(&level).all(|(new, old)| new >= old) && next != level);
        level = next;
        steps += 1;
    }
    assert_eq!(level, asked);
    // ⌊0.5·a⌋ = (1, 3, 5), then one step per crossing of an integer by f·a_j.
    assert_eq!(lowest_level(&asked, 0.5), [1, 3, 5]);
    assert!(steps > 5);
    assert!(!is_level(&asked, &[1, 3, 4], 0.5), "below half of the third part");
    assert!(!is_level(&asked, &[3, 3, 5], 0.5), "one full part forces f = 1");
    // The largest step under a cap of 12 units in total is f = 2/3; f = 0.7 would give (2, 4, 7).
    let capped = largest_fitting(&asked, 0.5, |units| units.iter().sum::<u64>() <= 12);
    assert_eq!(capped, Some(vec![2, 4, 6]));
}

#[test]
fn equal_scores_are_ranked_by_key_whatever_the_input_order() {
    let first = candidate("req-a", &[(0, 10)], 3.0, false, "FR");
    let second = candidate("req-b", &[(0, 10)], 3.0, false, "IT");
    let forward = call(&[10], vec![first.clone(), second.clone()], 1.0);
    let backward = call(&[10], vec![second, first], 1.0);
    for solution in solve_both(&forward) {
        assert_eq!(solution.grants[0].decision, Decision::Granted);
    }
    for solution in solve_both(&backward) {
        assert_eq!(solution.grants[1].decision, Decision::Granted);
    }
}

#[test]
fn same_instance_gives_same_allocation() {
    let instance = synthetic(300, 7);
    assert_eq!(allocate(&instance), allocate(&instance.clone()));
    assert_eq!(score_greedy(&instance), score_greedy(&instance));
}

#[test]
fn allocate_reaches_995_thousandths_of_the_lp_bound_on_400_candidates() {
    let instance = synthetic(400, 1);
    let bound = lp_bound(&instance).expect("the synthetic instance is valid");
    let [allocated, greedy] = solve_both(&instance);
    assert!(
        allocated.objective >= 0.995 * bound,
        "{} of {bound}",
        allocated.objective
    );
    assert!(allocated.objective <= bound * (1.0 + 1e-9));
    // The synthetic call must be hard enough for the target to mean something.
    assert!(
        greedy.objective < 0.995 * bound,
        "greedy already reaches {} of {bound}",
        greedy.objective
    );
}

#[test]
fn allocate_never_scores_below_the_greedy_baseline() {
    for seed in 0..30 {
        let instance = synthetic(10 + (seed as usize * 13) % 200, 100 + seed);
        let [allocated, greedy] = solve_both(&instance);
        assert!(allocated.objective >= greedy.objective, "seed {seed}");
    }
}

#[test]
fn synthetic_calls_make_every_cap_bind() {
    let instance = synthetic(400, 2);
    assert!((6..=8).contains(&instance.capacity.len()));
    let allocated = allocate(&instance);
    let usage = Usage::of(&instance, &allocated);
    assert_eq!(Some(usage.non_eu), instance.non_eu_budget, "TA-6 budget binds");
    assert!(
        instance
            .country_budget
            .iter()
            .any(|(country, budget)| usage.per_country.get(country) == Some(budget)),
        "some country cap binds"
    );
}

#[test]
fn check_feasible_rejects_what_breaks_a_cap() {
    let mut instance = call(&[10], vec![candidate("req-1", &[(0, 10)], 1.0, true, "US")], 1.0);
    instance.non_eu_budget = Some(10);
    let [mut solution, _] = solve_both(&instance);
    instance.non_eu_budget = Some(9);
    assert!(
        check_feasible(&instance, &solution)
            .expect_err("over the TA-6 budget")
            .contains("TA-6")
    );
    instance.capacity = vec![9];
    instance.non_eu_budget = None;
    assert!(check_feasible(&instance, &solution).is_err());
    instance.capacity = vec![10];
    solution.grants[0].units = vec![4];
    assert!(
        check_feasible(&instance, &solution).is_err(),
        "a partial grant with min_fraction 1.0"
    );
}

#[test]
fn validate_reports_every_violation() {
    assert_eq!(synthetic(50, 3).validate(), Ok(()));
    let instance = call(
        &[10],
        vec![
            candidate("req-1", &[(1, 5)], f64::NAN, false, "FR"),
            candidate("req-2", &[(0, 0), (0, 2)], -1.0, false, "FR"),
        ],
        0.0,
    );
    let Err(SolverError::InvalidInstance { violations }) = instance.validate() else {
        panic!("the instance is invalid");
    };
    assert_eq!(violations.len(), 6, "{violations:?}");
    assert!(violations[0].starts_with("min_fraction"));
    assert!(
        violations
            .iter()
            .any(|violation| violation.starts_with("candidates[0].parts[0].installation"))
    );
    assert!(
        violations
            .iter()
            .any(|violation| violation.starts_with("candidates[1].parts[1].installation"))
    );
    assert!(matches!(lp_bound(&instance), Err(SolverError::InvalidInstance { .. })));
}
