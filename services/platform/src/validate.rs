//! Checks of request fields every service makes the same way; each problem is added to the
//! request's [`Violations`] under the field's name, so all of them are reported at once.

use crate::error::Violations;
use crate::ids::is_valid_id;

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
    fn references_must_be_uuids() {
        let mut violations = Violations::new();
        reference(&crate::ids::new_id(), "id", &mut violations);
        assert!(violations.is_empty());
        reference("", "a", &mut violations);
        reference("x-1", "b", &mut violations);
        assert_eq!(violations.as_slice().len(), 2);
    }
}
