//! Checks of request fields every service makes the same way; each problem is added to the
//! request's [`Violations`] under the field's name, so all of them are reported at once.
//! Repeated fields are bounded ([`at_most`]) before anything reads their entries, and their
//! duplicates found in one pass ([`repeats`], [`dedup_in_order`]), never by comparing
//! every entry with every other.

use std::collections::HashSet;
use std::hash::Hash;

use crate::error::Violations;
use crate::ids::is_valid_id;

/// A repeated field of at most `max` entries. When it holds more, adds a violation naming the
/// field and the limit and returns false: the caller then skips the entries, which a request
/// refused anyway need not cost.
pub fn at_most<T>(values: &[T], field: &str, max: usize, violations: &mut Violations) -> bool {
    if values.len() > max {
        violations.add(field, format!("must have at most {max} entries, not {}", values.len()));
        return false;
    }
    true
}

/// For each entry, whether an earlier entry already had its key.
pub fn repeats<K: Eq + Hash>(keys: impl IntoIterator<Item = K>) -> Vec<bool> {
    let mut seen = HashSet::new();
    keys.into_iter().map(|key| !seen.insert(key)).collect()
}

/// Drops the entries equal to an earlier one, keeping the first of each in its place.
pub fn dedup_in_order<T: Eq + Hash + Clone>(values: &mut Vec<T>) {
    let mut seen = HashSet::with_capacity(values.len());
    values.retain(|value| seen.insert(value.clone()));
}

/// A text of at most `max` characters, trimmed; empty is a violation when `required`.
pub fn text(value: &str, field: &str, max: usize, required: bool, violations: &mut Violations) -> String {
    let value = value.trim();
    if required && value.is_empty() {
        violations.add(field, "is required");
    } else if value.chars().count() > max {
        violations.add(field, format!("must be at most {max} characters"));
    }
    value.to_owned()
}

/// An id the caller refers to: required and a UUID.
pub fn reference(value: &str, field: &str, violations: &mut Violations) {
    if value.is_empty() {
        violations.add(field, "is required");
    } else if !is_valid_id(value) {
        violations.add(field, "must be a UUID");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_bounded_and_required_on_demand() {
        let mut violations = Violations::new();
        assert_eq!(text("  a  ", "name", 3, true, &mut violations), "a");
        assert!(violations.is_empty());
        text("", "name", 3, true, &mut violations);
        text("abcd", "title", 3, false, &mut violations);
        text("", "note", 3, false, &mut violations);
        let fields: Vec<&str> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "title"]);
    }

    #[test]
    fn a_repeated_field_over_its_bound_is_named_with_the_limit() {
        let mut violations = Violations::new();
        assert!(at_most(&[1, 2, 3], "members", 3, &mut violations));
        assert!(violations.is_empty());
        assert!(!at_most(&[1, 2, 3, 4], "user_group.members", 3, &mut violations));
        let violation = &violations.as_slice()[0];
        assert_eq!(violation.field, "user_group.members");
        assert_eq!(violation.description, "must have at most 3 entries, not 4");
    }

    #[test]
    fn duplicates_are_found_and_dropped_in_one_pass_keeping_the_first() {
        assert_eq!(
            repeats(["a", "b", "a", "c", "b", "a"]),
            [false, false, true, false, true, true]
        );
        assert!(repeats(Vec::<u8>::new()).is_empty());
        let mut values = vec![3, 1, 3, 2, 1];
        dedup_in_order(&mut values);
        assert_eq!(values, [3, 1, 2]);
        // A hundred thousand entries take one pass, not five billion comparisons.
        let many: Vec<u32> = (0..100_000).chain(0..100_000).collect();
        assert_eq!(repeats(&many).iter().filter(|repeated| **repeated).count(), 100_000);
    }

    #[test]
    fn references_must_be_uuids() {
        let mut violations = Violations::new();
        reference(&crate::ids::new_id(), "id", &mut violations);
        assert!(violations.is_empty());
        reference("", "a", &mut violations);
        reference("x-1", "b", &mut violations);
        assert_eq!(violations.as_slice().len(), 2);
    }
}
