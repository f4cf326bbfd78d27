//! Screening one name against a 20,000-alias sanctions list (SEC-3).
//!
//!     cargo bench -p rti-intake --bench screening
//!
//! The list is generated (fictional names of two or three syllables out of 48, a quarter of the
//! parties with a Cyrillic alias, enterprises with a legal form), deterministic across runs. The screened
//! names are half listed names with a typo, half names not on the list. Prints p50/p99/max of
//! `NameIndex::screen` and how long indexing took.

use std::time::{Duration, Instant};

use rti_intake::domain::names::{ListedName, NameIndex};

const ALIASES: usize = 20_000;
const SCREENED: usize = 2_000;
const ROUNDS: usize = 5;
const LATIN: [&str; 48] = [
    "va", "ro", "mi", "ka", "le", "do", "sta", "ni", "bor", "lu", "ze", "tra", "ko", "shi", "an", "vel", "ma", "ri",
    "go", "den", "sa", "chen", "pol", "ev", "ber", "gu", "kin", "ol", "pe", "tar", "vi", "zo", "mar", "ne", "sla",
    "dim", "ya", "fe", "lin", "ok", "ras", "tu", "hel", "ga", "nov", "ci", "bel", "mo",
];
const CYRILLIC: [&str; 48] = [
    "ва", "ро", "ми", "ка", "ле", "до", "ста", "ни", "бор", "лу", "зе", "тра", "ко", "ши", "ан", "вел", "ма", "ри",
    "го", "ден", "са", "чен", "пол", "ев", "бер", "гу", "кин", "ол", "пе", "тар", "ви", "зо", "мар", "не", "сла",
    "дим", "я", "фе", "лин", "ок", "рас", "ту", "хел", "га", "нов", "ци", "бел", "мо",
];
const FORMS: [&str; 4] = ["Ltd", "LLC", "GmbH", "Holding"];

/// A small deterministic generator (64-bit LCG), so every run screens the same list.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap_or(0) % below
    }

    fn word(&mut self, latin: bool) -> (String, String) {
        let syllables = 2 + self.next(2);
        let (mut roman, mut cyrillic) = (String::new(), String::new());
        for _ in 0..syllables {
            let at = self.next(LATIN.len());
            roman.push_str(LATIN[at]);
            cyrillic.push_str(CYRILLIC[at]);
        }
        let mut chars = roman.chars();
        let capital = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        (if latin { capital } else { roman }, cyrillic)
    }
}

fn main() {
    let mut random = Lcg(2026);
    let mut listed = Vec::with_capacity(ALIASES);
    let mut party = 0;
    while listed.len() < ALIASES {
        party += 1;
        let (first, first_cyrillic) = random.word(true);
        let (last, last_cyrillic) = random.word(true);
        let id = format!("GEN.{party:05}");
        if party % 5 == 0 {
            let name = format!("{last} {}", FORMS[random.next(FORMS.len())]);
            listed.push(ListedName { party: id, name });
            continue;
        }
        listed.push(ListedName {
            party: id.clone(),
            name: format!("{first} {last}"),
        });
        if party % 4 == 0 {
            listed.push(ListedName {
                party: id,
                name: format!("{first_cyrillic} {last_cyrillic}"),
            });
        }
    }
    let started = Instant::now();
    let index = NameIndex::new(listed.iter().cloned());
    eprintln!("indexed {} aliases in {:.1?}", index.len(), started.elapsed());

    let mut screened = Vec::with_capacity(SCREENED);
    for number in 0..SCREENED {
        if number % 2 == 0 {
            let mut name: Vec<char> = listed[random.next(listed.len())].name.chars().collect();
            let at = 1 + random.next(name.len().saturating_sub(2).max(1));
            name.swap(at - 1, at);
            screened.push(name.into_iter().collect::<String>());
        } else {
            let (first, _) = random.word(true);
            let (last, _) = random.word(true);
            screened.push(format!("{first} {last}son"));
        }
    }
    let mut times: Vec<Duration> = Vec::with_capacity(SCREENED * ROUNDS);
    let mut flagged = 0;
    for _ in 0..ROUNDS {
        for name in &screened {
            let started = Instant::now();
            let screening = index.screen(name);
            times.push(started.elapsed());
            flagged += usize::from(!screening.hits.is_empty());
        }
    }
    times.sort_unstable();
    let at = |percent: usize| times[(times.len() * percent).div_ceil(100).saturating_sub(1)];
    println!(
        "{} aliases, {} screenings: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} with hits)",
        index.len(),
        times.len(),
        at(50).as_secs_f64() * 1e6,
        at(99).as_secs_f64() * 1e6,
        times[times.len() - 1].as_secs_f64() * 1e6,
        flagged / ROUNDS
    );
}
