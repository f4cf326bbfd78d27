use super::*;
use crate::schema::build_schema;

const THESAURUS: &str = "\
cleanroom | cleanroom; clean room | Reinraum | salle blanche | | camera bianca | sala blanca | pomieszczenie czyste
lithography | lithography | Lithografie | lithographie | lithografie | litografia | litografía | litografia
afm | atomic force microscopy | Rasterkraftmikroskopie | microscopie à force atomique | | | |
stem | scanning transmission electron microscopy; STEM | | | | | |
ins | inelastic neutron scattering; INS | | | | | |
bsl3 | biosafety level 3; BSL-3 | | | | | |
sequencing | sequencing | Sequenzierung | séquençage | | | |
single-cell | single-cell | Einzelzelle | cellule unique | | | |
small-angle-scattering | small-angle scattering | Kleinwinkelstreuung | | | | |
";

fn planner() -> QueryPlanner {
    let thesaurus = Arc::new(Thesaurus::parse(THESAURUS).expect("valid thesaurus"));
    let analyzers = Analyzers::with_compounds(&thesaurus.single_word_terms());
    QueryPlanner::new(analyzers, thesaurus, build_schema().1)
}

fn concept_ids(planner: &QueryPlanner, text: &str) -> Vec<Vec<String>> {
    planner
        .plan(text)
        .into_iter()
        .map(|clause| match clause {
            Clause::Concepts { concepts, .. } => concepts
                .into_iter()
                .map(|concept| planner.thesaurus.concept(concept).id.clone())
                .collect(),
            Clause::Word(word) => vec![format!("word:{word}")],
        })
        .collect()
}

#[test]
fn matches_inflected_terms_of_any_language_to_their_concept() {
    let planner = planner();
    for text in [
        "Reinräume",
        "salles blanches",
        "cleanrooms",
        "clean rooms",
        "Lithografie",
        "litografii",
    ] {
        assert_eq!(concept_ids(&planner, text).len(), 1, "{text}");
    }
    assert_eq!(concept_ids(&planner, "Reinräume"), [["cleanroom"]]);
    assert_eq!(concept_ids(&planner, "salles blanches"), [["cleanroom"]]);
    assert_eq!(concept_ids(&planner, "litografii"), [["lithography"]]);
}

#[test]
fn prefers_the_longest_span_and_keeps_stop_words_inside_terms() {
    assert_eq!(
        concept_ids(&planner(), "microscopie à force atomique salle blanche"),
        [["afm"], ["cleanroom"]]
    );
}

#[test]
fn leftover_words_become_word_clauses_and_stop_words_are_dropped() {
    assert_eq!(
        concept_ids(&planner(), "the cleanroom for wafers"),
        [vec!["cleanroom".to_owned()], vec!["word:wafers".to_owned()]]
    );
    assert_eq!(concept_ids(&planner(), "für die Wafer"), [["word:wafer"]]);
}

#[test]
fn acronyms_match_only_words_written_in_capitals() {
    let planner = planner();
    assert_eq!(concept_ids(&planner, "STEM"), [["stem"]]);
    assert_eq!(concept_ids(&planner, "stem cells"), [["word:stem"], ["word:cells"]]);
    assert_eq!(concept_ids(&planner, "BSL-3 lab"), [["bsl3"], ["word:lab"]]);
    assert_eq!(concept_ids(&planner, "INS"), [["ins"]]);
}

#[test]
fn a_lone_stop_word_matches_no_concept() {
    // The English stem of the (made-up) term "ands" is "and", as is the stop word's.
    let thesaurus = "ands | ands | | | | | |\n";
    let planner = QueryPlanner::new(
        Analyzers::new(),
        Arc::new(Thesaurus::parse(thesaurus).expect("valid thesaurus")),
        build_schema().1,
    );
    assert_eq!(concept_ids(&planner, "and neutrons"), [["word:neutrons"]]);
    assert_eq!(concept_ids(&planner, "ands"), [["ands"]]);
}

#[test]
fn keeps_stop_words_when_nothing_else_remains() {
    assert_eq!(concept_ids(&planner(), "the die"), [["word:the"], ["word:die"]]);
}

#[test]
fn an_unmatched_compound_adds_a_clause_per_outermost_known_part() {
    let planner = planner();
    assert_eq!(
        concept_ids(&planner, "Einzelzellsequenzierung"),
        [
            vec!["word:einzelzellsequenzierung".to_owned()],
            vec!["single-cell".to_owned()],
            vec!["sequencing".to_owned()],
        ]
    );
    // A compound that is a term is that term only.
    assert_eq!(
        concept_ids(&planner, "Kleinwinkelstreuung"),
        [["small-angle-scattering"]]
    );
    // Without known parts it stays a word.
    assert_eq!(concept_ids(&planner, "Gummibärchen"), [["word:gummibärchen"]]);
}

#[test]
fn the_relaxed_plan_splits_multi_word_spans_into_their_words() {
    let planner = planner();
    let relaxed = |text| {
        planner.relaxed_plan(text).map(|plan| {
            plan.into_iter()
                .map(|clause| match clause {
                    Clause::Concepts { concepts, .. } => planner.thesaurus.concept(concepts[0]).id.clone(),
                    Clause::Word(word) => format!("word:{word}"),
                })
                .collect::<Vec<String>>()
        })
    };
    assert_eq!(
        relaxed("small-angle scattering lithography"),
        Some(vec![
            "word:small".to_owned(),
            "word:angle".to_owned(),
            "word:scattering".to_owned(),
            "lithography".to_owned(),
        ])
    );
    // Stop words of the span are dropped like any others.
    assert_eq!(
        relaxed("microscopie à force atomique"),
        Some(vec![
            "word:microscopie".to_owned(),
            "word:force".to_owned(),
            "word:atomique".to_owned(),
        ])
    );
    // Nothing to relax.
    assert_eq!(relaxed("lithography wafers"), None);
    assert_eq!(relaxed(""), None);
}

#[test]
fn text_without_words_matches_everything() {
    let planner = planner();
    assert!(planner.plan(" -- !").is_empty());
    assert!(planner.plan("").is_empty());
}
