//! Filters (alone and combined), TRL containment, restrict_to and facet counts.

use crate::helpers::{document, hit_ids, id, index_with, text};
use rti_search::{Document, FACET_FIELDS, FacetCount, Query, SearchIndex};

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// Three laser installations with different attributes.
fn catalogue() -> SearchIndex {
    index_with(&[
        Document {
            countries: strings(&["DE"]),
            access_modes: strings(&["market"]),
            access_types: strings(&["remote"]),
            unit_kind: "shift_8h".to_owned(),
            scientific_domains: strings(&["physics"]),
            critical_technology_areas: strings(&["semiconductors"]),
            trl: Some((2, 4)),
            ..document(1, "Laser Lab Berlin", "Femtosecond laser.")
        },
        Document {
            countries: strings(&["FR", "DE"]),
            access_modes: strings(&["excellence"]),
            access_types: strings(&["physical"]),
            unit_kind: "hour".to_owned(),
            scientific_domains: strings(&["health_food"]),
            critical_technology_areas: strings(&["biotechnologies"]),
            trl: Some((5, 7)),
            ..document(2, "Laser Lab Grenoble", "Femtosecond laser.")
        },
        Document {
            countries: strings(&["PL"]),
            access_modes: strings(&["market", "excellence"]),
            access_types: strings(&["remote", "physical"]),
            unit_kind: "shift_8h".to_owned(),
            scientific_domains: strings(&["physics", "health_food"]),
            critical_technology_areas: strings(&[]),
            trl: None,
            ..document(3, "Laser Lab Warsaw", "Femtosecond laser.")
        },
    ])
}

fn found(index: &SearchIndex, query: Query) -> Vec<String> {
    hit_ids(&index.search(&query).expect("search runs"))
}

#[test]
fn each_filter_alone_keeps_the_hits_having_any_of_its_values() {
    let index = catalogue();
    let laser = || text("laser");
    let cases: Vec<(Query, Vec<String>)> = vec![
        (
            Query {
                countries: strings(&["DE"]),
                ..laser()
            },
            vec![id(1), id(2)],
        ),
        (
            Query {
                countries: strings(&["PL", "FR"]),
                ..laser()
            },
            vec![id(2), id(3)],
        ),
        (
            Query {
                access_modes: strings(&["market"]),
                ..laser()
            },
            vec![id(1), id(3)],
        ),
        (
            Query {
                access_types: strings(&["physical"]),
                ..laser()
            },
            vec![id(2), id(3)],
        ),
        (
            Query {
                unit_kinds: strings(&["hour"]),
                ..laser()
            },
            vec![id(2)],
        ),
        (
            Query {
                scientific_domains: strings(&["health_food"]),
                ..laser()
            },
            vec![id(2), id(3)],
        ),
        (
            Query {
                critical_technology_areas: strings(&["semiconductors"]),
                ..laser()
            },
            vec![id(1)],
        ),
        (
            Query {
                countries: strings(&["IT"]),
                ..laser()
            },
            vec![],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(found(&index, query.clone()), expected, "{query:?}");
    }
}

#[test]
fn set_filters_must_all_hold() {
    let index = catalogue();
    let query = Query {
        countries: strings(&["DE", "PL"]),
        access_modes: strings(&["market"]),
        unit_kinds: strings(&["shift_8h"]),
        ..text("laser")
    };
    assert_eq!(found(&index, query.clone()), [id(1), id(3)]);
    let narrower = Query {
        access_types: strings(&["physical"]),
        ..query
    };
    assert_eq!(found(&index, narrower), [id(3)]);
}

#[test]
fn filters_apply_to_an_empty_text_query() {
    let index = catalogue();
    let query = Query {
        countries: strings(&["DE"]),
        ..Query::default()
    };
    assert_eq!(found(&index, query), [id(1), id(2)]);
}

#[test]
fn filters_do_not_change_scores() {
    let index = index_with(&[
        Document {
            countries: strings(&["DE"]),
            ..document(1, "Laser Lab", "Femtosecond laser laser.")
        },
        document(2, "Optics", "A laser."),
    ]);
    let unfiltered = index.search(&text("laser")).expect("search runs");
    let filtered = index
        .search(&Query {
            countries: strings(&["DE"]),
            trl: None,
            restrict_to: Some(vec![id(1), id(2)]),
            ..text("laser")
        })
        .expect("search runs");
    assert_eq!(filtered.hits.len(), 1);
    assert_eq!(filtered.hits[0], unfiltered.hits[0]);
}

#[test]
fn trl_filter_keeps_hits_whose_range_contains_the_level() {
    let index = catalogue();
    let at = |level| {
        found(
            &index,
            Query {
                trl: Some(level),
                ..text("laser")
            },
        )
    };
    assert_eq!(at(2), [id(1)]);
    assert_eq!(at(4), [id(1)]);
    assert_eq!(at(5), [id(2)]);
    assert_eq!(at(7), [id(2)]);
    assert!(at(1).is_empty());
    assert!(at(8).is_empty());
}

#[test]
fn restrict_to_keeps_only_the_listed_ids() {
    let index = catalogue();
    let only = |ids: Vec<String>| {
        found(
            &index,
            Query {
                restrict_to: Some(ids),
                ..text("laser")
            },
        )
    };
    assert_eq!(only(vec![id(3), id(1), id(99)]), [id(1), id(3)]);
    assert!(only(Vec::new()).is_empty());
}

#[test]
fn facets_count_every_hit_not_only_the_page() {
    let index = catalogue();
    let results = index
        .search(&Query {
            limit: 1,
            ..text("laser")
        })
        .expect("search runs");
    assert_eq!(results.hits.len(), 1);
    assert_eq!(results.total, 3);
    let fields: Vec<&str> = results.facets.iter().map(|facet| facet.field).collect();
    assert_eq!(fields, FACET_FIELDS);
    let counts = |field: &str| -> Vec<(String, u64)> {
        results
            .facets
            .iter()
            .find(|facet| facet.field == field)
            .expect("facet present")
            .counts
            .iter()
            .map(|FacetCount { value, count }| (value.clone(), *count))
            .collect()
    };
    let pairs = |items: &[(&str, u64)]| -> Vec<(String, u64)> {
        items
            .iter()
            .map(|(value, count)| ((*value).to_owned(), *count))
            .collect()
    };
    // Most frequent first, ties by value.
    assert_eq!(counts("countries"), pairs(&[("DE", 2), ("FR", 1), ("PL", 1)]));
    assert_eq!(counts("access_modes"), pairs(&[("excellence", 2), ("market", 2)]));
    assert_eq!(counts("unit_kinds"), pairs(&[("shift_8h", 2), ("hour", 1)]));
    assert_eq!(
        counts("critical_technology_areas"),
        pairs(&[("biotechnologies", 1), ("semiconductors", 1)])
    );
}

#[test]
fn facets_follow_the_filters() {
    let index = catalogue();
    let results = index
        .search(&Query {
            countries: strings(&["PL"]),
            limit: 0,
            ..Query::default()
        })
        .expect("search runs");
    assert!(results.hits.is_empty());
    assert_eq!(results.total, 1);
    assert_eq!(
        results.facets[0].counts,
        [FacetCount {
            value: "PL".to_owned(),
            count: 1
        }]
    );
}
