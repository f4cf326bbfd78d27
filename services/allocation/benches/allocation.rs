//! Allocation quality (issue 6): `allocate` and the score-greedy baseline against the LP-relaxation
//! bound on seeded synthetic calls, with their run times. `cargo bench -p rti-allocation --bench allocation`.

use std::time::{Duration, Instant};

use rti_allocation::domain::solver::{
    Instance, Solution, Usage, allocate, check_feasible, lp_bound, score_greedy, synthetic,
};

const SIZES: [usize; 3] = [100, 400, 2_000];
const SEEDS: [u64; 3] = [1, 2, 3];
const REPETITIONS: usize = 21;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    print_load("before");
    println!(
        "| P | seed | inst. | LP bound | allocate (÷LP) | greedy (÷LP) | allocate | greedy | lp_bound | TA-6 cap | country caps binding |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for candidates in SIZES {
        for seed in SEEDS {
            let instance = synthetic(candidates, seed);
            let bound = lp_bound(&instance)?;
            let allocated = allocate(&instance);
            let greedy = score_greedy(&instance);
            check_feasible(&instance, &allocated)?;
            check_feasible(&instance, &greedy)?;
            let allocate_time = median_time(|| allocate(&instance).objective);
            let greedy_time = median_time(|| score_greedy(&instance).objective);
            let bound_time = median_time(|| lp_bound(&instance).unwrap_or(f64::NAN));
            println!(
                "| {candidates} | {seed} | {} | {bound:.1} | {:.1} ({:.4}) | {:.1} ({:.4}) | {} | {} | {} | {} | {} |",
                instance.capacity.len(),
                allocated.objective,
                allocated.objective / bound,
                greedy.objective,
                greedy.objective / bound,
                format_duration(allocate_time),
                format_duration(greedy_time),
                format_duration(bound_time),
                non_eu_binding(&instance, &allocated),
                countries_binding(&instance, &allocated),
            );
        }
    }
    print_load("after");
    Ok(())
}

/// Other work on the machine moves the times (not the objectives), so say how busy it was.
fn print_load(when: &str) {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average {when}: {}", load.trim());
    }
}

/// Median wall time of `REPETITIONS` runs; the result is kept alive so the work is not optimised away.
fn median_time(mut run: impl FnMut() -> f64) -> Duration {
    let mut times: Vec<Duration> = (0..REPETITIONS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(run());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn format_duration(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

/// "used / budget", with "(binding)" when the TA-6 budget is used up.
fn non_eu_binding(instance: &Instance, solution: &Solution) -> String {
    let used = Usage::of(instance, solution).non_eu;
    match instance.non_eu_budget {
        Some(budget) if used == budget => format!("{used}/{budget} binding"),
        Some(budget) => format!("{used}/{budget}"),
        None => "no cap".to_string(),
    }
}

/// The capped countries whose budget the solution uses up, as "DE 612/612".
fn countries_binding(instance: &Instance, solution: &Solution) -> String {
    let usage = Usage::of(instance, solution);
    let binding: Vec<String> = instance
        .country_budget
        .iter()
        .filter(|&(country, &budget)| usage.per_country.get(country) == Some(&budget))
        .map(|(country, budget)| format!("{country} {budget}/{budget}"))
        .collect();
    if binding.is_empty() {
        "none".to_string()
    } else {
        binding.join(", ")
    }
}
