//! The relevance sets, in `tests/relevance/`: tab-separated language, query and the demo
//! installations (`infrastructure-key/installation-key`, comma-separated) it must find; `#`
//! starts a comment line.

/// The first set (issue 4): queries in the catalogue's own vocabulary, in seven languages.
pub const WORD_SETS: [(&str, &str); 3] = [
    (
        "physical-sciences.tsv",
        include_str!("../relevance/physical-sciences.tsv"),
    ),
    ("technology.tsv", include_str!("../relevance/technology.tsv")),
    (
        "life-environment-digital.tsv",
        include_str!("../relevance/life-environment-digital.tsv"),
    ),
];

/// The paraphrase set (issue 17): queries sharing no content word with what they must find.
pub const PARAPHRASES: (&str, &str) = ("paraphrases.tsv", include_str!("../relevance/paraphrases.tsv"));

#[derive(Debug, Clone)]
pub struct RelevanceQuery {
    pub file: &'static str,
    pub language: &'static str,
    pub text: &'static str,
    pub expected: Vec<&'static str>,
}

/// The queries of `files` (name, text).
///
/// # Panics
///
/// On a line without three columns: the set is part of the repository, not input.
pub fn parse_queries(files: &[(&'static str, &'static str)]) -> Vec<RelevanceQuery> {
    let mut queries = Vec::new();
    for &(file, text) in files {
        for line in text
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), 3, "{file}: {line:?} has not three columns");
            queries.push(RelevanceQuery {
                file,
                language: columns[0],
                text: columns[1],
                expected: columns[2].split(',').map(str::trim).collect(),
            });
        }
    }
    queries
}

/// The first set's queries.
pub fn word_queries() -> Vec<RelevanceQuery> {
    parse_queries(&WORD_SETS)
}

/// The paraphrase set's queries.
pub fn paraphrase_queries() -> Vec<RelevanceQuery> {
    parse_queries(&[PARAPHRASES])
}

/// Recall at `depth`: the share of the expected installations found in the first `depth` of
/// `ranked`.
pub fn found_at(ranked: &[&str], expected: &[&str], depth: usize) -> usize {
    expected
        .iter()
        .filter(|id| ranked.iter().take(depth).any(|found| found == *id))
        .count()
}

/// nDCG at `depth` with binary relevance: Σ 1/log2(rank + 1) over the expected installations in
/// the first `depth`, divided by the same sum for the ideal ranking.
pub fn ndcg_at(ranked: &[&str], expected: &[&str], depth: usize) -> f64 {
    let gain = |rank: usize| 1.0 / ((rank + 1) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(depth)
        .enumerate()
        .filter(|(_, id)| expected.contains(id))
        .map(|(index, _)| gain(index + 1))
        .sum();
    let ideal: f64 = (1..=expected.len().min(depth)).map(gain).sum();
    if ideal == 0.0 { 0.0 } else { dcg / ideal }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_is_one_for_the_ideal_ranking_and_less_for_a_later_hit() {
        assert_eq!(ndcg_at(&["a", "b", "c"], &["a", "b"], 10), 1.0);
        let later = ndcg_at(&["x", "a"], &["a"], 10);
        assert!((later - 1.0 / 3f64.log2()).abs() < 1e-12, "{later}");
        assert_eq!(ndcg_at(&["x", "y"], &["a"], 10), 0.0);
        assert_eq!(ndcg_at(&["x", "a"], &["a"], 1), 0.0);
    }

    #[test]
    fn recall_counts_the_expected_installations_within_the_depth() {
        assert_eq!(found_at(&["a", "x", "b"], &["a", "b"], 5), 2);
        assert_eq!(found_at(&["a", "x", "b"], &["a", "b"], 2), 1);
    }

    #[test]
    fn both_sets_parse() {
        assert!(word_queries().len() >= 60);
        assert!(paraphrase_queries().len() >= 80);
    }
}
