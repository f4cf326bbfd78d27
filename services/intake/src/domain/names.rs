//! Fuzzy matching of names against a sanctions list (SEC-3): every listed name and alias is
//! folded to a comparable form that survives case, diacritics, transliteration from Cyrillic
//! and Greek, the usual variants of romanisation (Yuriy / Iurii / Jurij), word order, a missing
//! middle name and typos; a name screened against the list ends MATCH, POSSIBLE or CLEAR.
//! Nationality plays no part: only names are compared here.

use std::collections::{HashMap, HashSet};

/// The same name once folded, whatever the script, case, word order or romanisation (SEC-3:
/// MATCH, which blocks). A typo is never enough for MATCH: it is POSSIBLE.
pub const MATCH_AT: f64 = 1.0;
/// At or above: close enough that a compliance officer must look (SEC-3: POSSIBLE).
pub const POSSIBLE_AT: f64 = 0.80;

/// How one name compares with the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Clear,
    Possible,
    Match,
}

/// One listed name or alias of a listed party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedName {
    /// The party's `logicalId` in the list.
    pub party: String,
    pub name: String,
}

/// A listed name close to the screened one.
#[derive(Debug, Clone, PartialEq)]
pub struct NameHit {
    pub party: String,
    pub listed_name: String,
    pub score: f64,
    pub verdict: Verdict,
}

/// The outcome of screening one name: the worst verdict and the hits behind it, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct NameScreening {
    pub verdict: Verdict,
    pub hits: Vec<NameHit>,
}

/// Legal-form words, which say nothing of who an enterprise is (transliterated, lower case).
const LEGAL_FORMS: [&str; 16] = [
    "ltd", "llc", "inc", "plc", "gmbh", "ag", "sa", "srl", "bv", "nv", "jsc", "ooo", "oao", "zao", "pao", "ao",
];

/// Folds a name to the tokens it is compared by: transliterated to ASCII, lower case, apostrophes
/// dropped, split on anything else that is not a letter or digit, each token reduced to a
/// romanisation skeleton.
pub fn tokens(name: &str) -> Vec<String> {
    deunicode::deunicode(name)
        .to_lowercase()
        // Soft and hard signs (ь, ъ) transliterate to apostrophes, which belong inside the word.
        .replace(['\'', '"', '`'], "")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|token| !token.is_empty() && !LEGAL_FORMS.contains(token))
        .map(skeleton)
        .filter(|token| !token.is_empty())
        .collect()
}

/// Collapses the spellings romanisation varies on: y/j/i, w/v, ph/f, x/ks, ts/tz/c, the `h` of
/// kh/zh/sh/ch and of Greek th/ph, repeated letters and a final -ij/-iy/-ii.
fn skeleton(token: &str) -> String {
    let mut text = token
        .replace("shch", "sc")
        .replace("tsch", "c")
        .replace("sch", "s")
        .replace("ph", "f")
        .replace('x', "ks")
        .replace("tz", "c")
        .replace("ts", "c")
        .replace(['y', 'j'], "i")
        .replace('w', "v");
    // An `h` after a consonant only marks how the consonant sounds (kh, zh, sh, ch, th, gh).
    let mut folded = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    for c in text.chars() {
        let after_consonant = previous.is_some_and(|p| p.is_ascii_alphabetic() && !"aeiou".contains(p));
        if !(c == 'h' && after_consonant) && previous != Some(c) {
            folded.push(c);
        }
        previous = Some(c);
    }
    text = folded;
    // Aleksandr / Alexander and Dmitri / Dmitrii keep their stems.
    if text.len() > 3 && text.ends_with('i') && text[..text.len() - 1].ends_with('i') {
        text.pop();
    }
    text
}

/// How alike two tokens are, 0 to 1: edit distance with adjacent transpositions (optimal string
/// alignment), normalised by the longer token.
fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let distance = strsim::osa_distance(a, b) as f64 / longer as f64;
    1.0 - distance
}

/// How alike two names are, 0 to 1, whatever the order of their words: each word of the shorter
/// name takes its best counterpart in the longer one, and one extra word on either side (a
/// middle name, a patronymic) costs nothing when the shorter name has two words or more; a lone
/// word is never enough to match a longer name.
pub fn name_similarity(screened: &[String], listed: &[String]) -> f64 {
    if screened.is_empty() || listed.is_empty() {
        return 0.0;
    }
    let (short, long) = if screened.len() <= listed.len() {
        (screened, listed)
    } else {
        (listed, screened)
    };
    let mut used = vec![false; long.len()];
    let mut total = 0.0;
    for token in short {
        let best = long
            .iter()
            .enumerate()
            .filter(|(index, _)| !used[*index])
            .map(|(index, other)| (index, token_similarity(token, other)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((index, similarity)) = best {
            used[index] = true;
            total += similarity;
        }
    }
    let extra = long.len() - short.len();
    let free = usize::from(short.len() >= 2);
    // Words of the longer name beyond the free one dilute the score.
    #[allow(clippy::cast_precision_loss)]
    let denominator = (short.len() + extra.saturating_sub(free)) as f64;
    total / denominator
}

fn verdict(score: f64) -> Verdict {
    if score >= MATCH_AT {
        Verdict::Match
    } else if score >= POSSIBLE_AT {
        Verdict::Possible
    } else {
        Verdict::Clear
    }
}

/// Block keys of a token: its first two and last two letters. A listed name is compared in full
/// only when one of its tokens shares a key with a screened token, so a typo must damage both
/// ends of every word of a name to hide it.
fn block_keys(token: &str) -> [String; 2] {
    let prefix: String = token.chars().take(2).collect();
    let suffix: String = token
        .chars()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    [format!("<{prefix}"), format!("{suffix}>")]
}

/// A sanctions list's names, folded and indexed for screening.
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    names: Vec<(ListedName, Vec<String>)>,
    blocks: HashMap<String, Vec<usize>>,
}

impl NameIndex {
    pub fn new(listed: impl IntoIterator<Item = ListedName>) -> Self {
        let mut index = Self::default();
        for name in listed {
            let folded = tokens(&name.name);
            let position = index.names.len();
            for token in &folded {
                for key in block_keys(token) {
                    let entries = index.blocks.entry(key).or_default();
                    if entries.last() != Some(&position) {
                        entries.push(position);
                    }
                }
            }
            index.names.push((name, folded));
        }
        index
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Screens one name: every listed name scoring POSSIBLE or above, best first.
    pub fn screen(&self, name: &str) -> NameScreening {
        let screened = tokens(name);
        let mut candidates = HashSet::new();
        for token in &screened {
            for key in block_keys(token) {
                if let Some(entries) = self.blocks.get(&key) {
                    candidates.extend(entries.iter().copied());
                }
            }
        }
        let mut hits: Vec<NameHit> = candidates
            .into_iter()
            .filter_map(|position| {
                let (listed, folded) = &self.names[position];
                let score = name_similarity(&screened, folded);
                (score >= POSSIBLE_AT).then(|| NameHit {
                    party: listed.party.clone(),
                    listed_name: listed.name.clone(),
                    score,
                    verdict: verdict(score),
                })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.party.cmp(&b.party)));
        NameScreening {
            verdict: hits.first().map_or(Verdict::Clear, |hit| hit.verdict),
            hits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fictional list: none of these names belongs to a listed person or company.
    fn fixture() -> NameIndex {
        let names = [
            ("EU.9001", "Yuriy Konstantinovich Zhdanovsky"),
            ("EU.9001", "Юрий Константинович Ждановский"),
            ("EU.9002", "Aleksandr Vortmann"),
            ("EU.9003", "Nikolaos Papadimitrakopoulos"),
            ("EU.9003", "Νικόλαος Παπαδημητρακόπουλος"),
            ("EU.9004", "Grauwald Trading Holdings Ltd"),
            ("EU.9005", "Khabibulin Shchedrin Tsoy"),
        ];
        NameIndex::new(names.into_iter().map(|(party, name)| ListedName {
            party: party.into(),
            name: name.into(),
        }))
    }

    fn screen(name: &str) -> (Verdict, Option<String>) {
        let screening = fixture().screen(name);
        (screening.verdict, screening.hits.first().map(|hit| hit.party.clone()))
    }

    #[test]
    fn romanisation_variants_fold_to_one_skeleton() {
        for variants in [
            ["Yuriy", "Iurii", "Jurij"],
            ["Aleksandr", "Alexandr", "Aleksandr"],
            ["Shchedrin", "Schedrin", "Ščedrin"],
            ["Tsoy", "Tsoi", "Coj"],
        ] {
            let folded: Vec<Vec<String>> = variants.iter().map(|name| tokens(name)).collect();
            assert!(
                folded
                    .windows(2)
                    .all(|pair| token_similarity(&pair[0][0], &pair[1][0]) >= 0.8),
                "{variants:?} → {folded:?}"
            );
        }
        assert_eq!(tokens("ЖДАНОВСКИЙ"), tokens("zhdanovskij"));
    }

    #[test]
    fn listed_names_match_through_script_case_order_and_typos() {
        for name in [
            "Yuriy Konstantinovich Zhdanovsky",
            "ZHDANOVSKY, Yuriy",
            "Iurii Zhdanovskii",
            "Jurij Ždanovskij",
            "Юрий Ждановский",
        ] {
            assert_eq!(screen(name), (Verdict::Match, Some("EU.9001".into())), "{name}");
        }
        // A typo is for a person to judge.
        assert_eq!(screen("Yuriy Zhdanovksy"), (Verdict::Possible, Some("EU.9001".into())));
        assert_eq!(screen("Νικόλαος Παπαδημητρακόπουλος").1.as_deref(), Some("EU.9003"));
        assert_eq!(screen("Nikolaos Papadimitrakopoulos").0, Verdict::Match);
        assert_eq!(screen("grauwald trading holdings").0, Verdict::Match);
    }

    #[test]
    fn a_lone_word_or_a_legal_form_does_not_match_a_longer_name() {
        assert_eq!(screen("Vortmann").0, Verdict::Clear);
        assert_eq!(screen("Grauwald").0, Verdict::Clear);
        assert_eq!(
            screen("Grauwald Trading Holdings GmbH").0,
            Verdict::Match,
            "the legal form differs"
        );
        assert_eq!(tokens("OOO Grauwald"), tokens("Grauwald"));
    }

    #[test]
    fn near_names_go_to_a_person_and_others_are_clear() {
        assert_eq!(
            screen("Aleksandra Vortmann"),
            (Verdict::Possible, Some("EU.9002".into()))
        );
        assert_eq!(screen("Anna Vortmann").0, Verdict::Clear);
        assert_eq!(screen("Maria Kowalska").0, Verdict::Clear);
        assert_eq!(screen("").0, Verdict::Clear);
    }
}
