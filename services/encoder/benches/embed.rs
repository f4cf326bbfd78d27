//! Milliseconds to embed one query, one at a time, as a search request does: p50 and p99 over
//! about a thousand short queries in the seven catalogue languages.
//!
//! ```text
//! services/encoder/fetch-model
//! cargo bench -p rti-encoder --bench embed
//! ```
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use rti_encoder::Encoder;

const QUERIES: &[&str] = &[
    "make tiny patterns on silicon chips",
    "test the strength of wind turbine blades",
    "Festigkeit von Windradflügeln prüfen",
    "winzige Muster auf Siliziumchips herstellen",
    "fabriquer de minuscules motifs sur des puces",
    "microscopie électronique à haute résolution",
    "kleine patronen maken op siliciumchips",
    "trillingen van een brug meten",
    "creare piccoli motivi su chip di silicio",
    "analizzare microplastiche nell'acqua di mare",
    "hacer patrones diminutos en chips de silicio",
    "túnel de viento para vehículos",
    "tworzenie drobnych wzorów na chipach krzemowych",
    "badanie wytrzymałości łopat turbin wiatrowych",
    "cheap supercomputer access for climate simulations",
    "protein structure by cryo-electron microscopy",
];
const ROUNDS: usize = 1000;

fn main() {
    let directory = std::env::var_os("RTI_ENCODER_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model"));
    let loading = Instant::now();
    let encoder = Encoder::load(&directory).unwrap_or_else(|error| {
        panic!("{error} (run services/encoder/fetch-model first)");
    });
    println!(
        "loaded {} in {:.0} ms",
        Encoder::model_version(),
        loading.elapsed().as_secs_f64() * 1e3
    );

    for query in QUERIES {
        std::hint::black_box(encoder.embed(query));
    }
    let cpu_before = cpu_nanoseconds();
    let mut milliseconds: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            let query = QUERIES[round % QUERIES.len()];
            let started = Instant::now();
            std::hint::black_box(encoder.embed(std::hint::black_box(query)));
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let cpu_per_query = cpu_before
        .zip(cpu_nanoseconds())
        .map(|(before, after)| (after - before) as f64 / 1e6 / ROUNDS as f64);
    milliseconds.sort_by(f64::total_cmp);
    let percentile = |fraction: f64| milliseconds[((milliseconds.len() - 1) as f64 * fraction) as usize];
    let tokens: usize = QUERIES.iter().map(|query| encoder.tokenize(query).len()).sum();
    println!(
        "embed one query ({:.1} tokens on average), {ROUNDS} queries: p50 {:.2} ms, p99 {:.2} ms",
        tokens as f64 / QUERIES.len() as f64,
        percentile(0.50),
        percentile(0.99)
    );
    if let Some(cpu) = cpu_per_query {
        println!("on-CPU time per query: mean {cpu:.2} ms (what wall time is on an idle core)");
    }

    let batch: Vec<&str> = QUERIES.iter().cycle().take(256).copied().collect();
    let started = Instant::now();
    std::hint::black_box(encoder.embed_batch(&batch));
    println!(
        "embed_batch of {}: {:.2} ms per text",
        batch.len(),
        started.elapsed().as_secs_f64() * 1e3 / batch.len() as f64
    );
}

/// Nanoseconds this thread has run on a CPU, from Linux's `/proc/thread-self/schedstat`: on a
/// shared machine, wall time counts the waits for a core too.
fn cpu_nanoseconds() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
