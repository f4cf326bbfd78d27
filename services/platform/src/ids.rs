//! Entity ids: UUID v7 as lowercase hyphenated text, so they sort by creation time in both stores.

/// A new UUID v7, as text.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether `text` is a UUID in canonical hyphenated form (any version).
pub fn is_valid_id(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_increase() {
        let first = new_id();
        let second = new_id();
        assert!(is_valid_id(&first));
        assert!(first < second);
    }

    #[test]
    fn rejects_text_that_is_not_a_uuid() {
        assert!(!is_valid_id("infrastructure-1"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("0192f1b4c7a57c3a9b1e2f3a4b5c6d7e"));
    }
}
