//! Synthetic calls for the benchmark and the tests, reproducible from a seed.

use super::*;

/// Leaders' countries of the synthetic calls with their share of requests (%), and whether their
/// groups count against the TA-6 budget (the generator makes a group's majority work where its
/// leader does).
pub(super) const SYNTHETIC_COUNTRIES: [(&str, u64, bool); 12] = [
    ("DE", 26, false),
    ("FR", 14, false),
    ("IT", 11, false),
    ("ES", 8, false),
    ("NL", 6, false),
    ("PL", 5, false),
    ("SE", 4, false),
    ("PT", 3, false),
    ("NO", 3, false), // associated country (CTRY-2)
    ("US", 10, true),
    ("CN", 6, true),
    ("IN", 4, true),
];

/// A seeded synthetic call: the generator of the allocation benchmark (`benches/allocation.rs`) and
/// of this module's tests.
///
/// 6–8 installations; 12 leaders' countries, 3 of them outside EU/associated countries (20 % of the
/// requests), one country with 26 %; requests of 1–3 installations asking 2–24 units each; scores
/// 1.0–5.0 in steps of 0.1 (so ties occur) plus a 0.5 priority bonus for first-time users and
/// another for countries without such an infrastructure, a quarter each (TA-7); capacity half the
/// demand of each installation; TA-6 budget 20 % of the capacity minus 8 % already held by non-EU/AC
/// majority groups; every country capped at 20 % of the capacity (binds for the largest);
/// `min_fraction` 0.5.
pub fn synthetic(candidates: usize, seed: u64) -> Instance {
    let mut random = SplitMix64(seed);
    let installations = 6 + (random.next() % 3) as usize;
    let country_weight_total: u64 = SYNTHETIC_COUNTRIES.iter().map(|&(_, weight, _)| weight).sum();
    let mut demand = vec![0u64; installations];
    let candidates: Vec<Candidate> = (0..candidates)
        .map(|index| {
            let mut pick = random.next() % country_weight_total;
            let &(country, _, non_eu_majority) = SYNTHETIC_COUNTRIES
                .iter()
                .find(|&&(_, weight, _)| {
                    let found = pick < weight;
                    pick = pick.saturating_sub(weight);
                    found
                })
                .unwrap_or(&SYNTHETIC_COUNTRIES[0]);
            let wanted_parts = 1 + (random.next() % 3) as usize;
            let mut parts: Vec<(usize, u64)> = Vec::with_capacity(wanted_parts);
            while parts.len() < wanted_parts {
                let installation = (random.next() % installations as u64) as usize;
                if parts.iter().all(|&(taken, _)| taken != installation) {
                    let units = 2 + random.next() % 23;
                    demand[installation] += units;
                    parts.push((installation, units));
                }
            }
            let panel_score = (10 + random.next() % 41) as f64 / 10.0;
            let first_time_bonus = if random.next().is_multiple_of(4) { 0.5 } else { 0.0 };
            let no_infrastructure_bonus = if random.next().is_multiple_of(4) { 0.5 } else { 0.0 };
            Candidate {
                key: format!("req-{seed}-{index:05}"),
                parts,
                score: panel_score + first_time_bonus + no_infrastructure_bonus,
                non_eu_majority,
                country: country.to_string(),
            }
        })
        .collect();
    let capacity: Vec<u64> = demand.iter().map(|&units| (units / 2).max(1)).collect();
    let total_capacity: u64 = capacity.iter().sum();
    Instance {
        capacity,
        candidates,
        non_eu_budget: Some(total_capacity * 20 / 100 - total_capacity * 8 / 100),
        country_budget: SYNTHETIC_COUNTRIES
            .iter()
            .map(|&(country, _, _)| (country.to_string(), total_capacity * 20 / 100))
            .collect(),
        min_fraction: 0.5,
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): enough randomness for reproducible test data, no crate.
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }
}
