//! Cursor pagination: `page_size` and an opaque `page_token` in, `next_page_token` out. The
//! token is URL-safe base64 of `rti.common.v1.PageToken`: the last id served (ids are UUID v7,
//! so id order is creation order) and a hash of the request's filters, so a token cannot be
//! replayed against a different filter.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message;
use rti_proto::common::PageToken;
use sha2::{Digest, Sha256};

use crate::error::Violations;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: i64,
    /// Serve items with ids greater than this.
    pub after_id: Option<String>,
    /// For ranked results: how many were already served.
    pub offset: u64,
    filter_hash: u64,
}

impl PageRequest {
    /// Validates `page_size` (0 = default, 1..=500) and `page_token` against the filters of this
    /// request (`filters` lists them, in a fixed order), adding any problem to `violations`.
    pub fn parse(page_size: i32, page_token: &str, filters: &[&str], violations: &mut Violations) -> Self {
        Self::parse_bounded(
            page_size,
            page_token,
            filters,
            (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
            violations,
        )
    }

    /// Like [`PageRequest::parse`], with the caller's default and maximum page size.
    pub fn parse_bounded(
        page_size: i32,
        page_token: &str,
        filters: &[&str],
        (default, max): (i64, i64),
        violations: &mut Violations,
    ) -> Self {
        let filter_hash = hash_filters(filters);
        let size = match i64::from(page_size) {
            0 => default,
            size if (1..=max).contains(&size) => size,
            _ => {
                violations.add("page_size", format!("must be between 0 and {max}"));
                default
            }
        };
        let mut after_id = None;
        let mut offset = 0;
        if !page_token.is_empty() {
            match decode(page_token) {
                Some(token) if token.filter_hash == filter_hash => {
                    offset = token.offset;
                    after_id = Some(token.after_id).filter(|id| !id.is_empty());
                }
                Some(_) => violations.add("page_token", "was issued for a request with other filters"),
                None => violations.add("page_token", "is not a token this service issued"),
            }
        }
        Self {
            size,
            after_id,
            offset,
            filter_hash,
        }
    }

    /// The token after a page of ranked results served from [`PageRequest::offset`], when
    /// `total` results exist; empty when this page reaches the end.
    pub fn next_ranked(&self, served: usize, total: u64) -> String {
        let next = self.offset + u64::try_from(served).unwrap_or(u64::MAX);
        if served == 0 || next >= total {
            return String::new();
        }
        let token = PageToken {
            after_id: String::new(),
            filter_hash: self.filter_hash,
            offset: next,
        };
        URL_SAFE_NO_PAD.encode(token.encode_to_vec())
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// Trims `items` (fetched with [`PageRequest::fetch_limit`]) to the page and returns the
    /// token of the next page, empty when this is the last.
    pub fn finish<T>(&self, items: &mut Vec<T>, id_of: impl Fn(&T) -> &str) -> String {
        let page_len = usize::try_from(self.size).unwrap_or(usize::MAX);
        if items.len() <= page_len {
            return String::new();
        }
        items.truncate(page_len);
        items.last().map_or_else(String::new, |last| {
            let token = PageToken {
                after_id: id_of(last).to_owned(),
                filter_hash: self.filter_hash,
                offset: 0,
            };
            URL_SAFE_NO_PAD.encode(token.encode_to_vec())
        })
    }
}

fn decode(page_token: &str) -> Option<PageToken> {
    let bytes = URL_SAFE_NO_PAD.decode(page_token).ok()?;
    let token = PageToken::decode(bytes.as_slice()).ok()?;
    let keyset = crate::ids::is_valid_id(&token.after_id) && token.offset == 0;
    let ranked = token.after_id.is_empty() && token.offset > 0;
    (keyset || ranked).then_some(token)
}

fn hash_filters(filters: &[&str]) -> u64 {
    let mut hasher = Sha256::new();
    for filter in filters {
        hasher.update(filter.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(count: usize) -> Vec<String> {
        (0..count).map(|_| crate::ids::new_id()).collect()
    }

    #[test]
    fn defaults_and_bounds_page_size() {
        let mut violations = Violations::new();
        assert_eq!(PageRequest::parse(0, "", &[], &mut violations).size, DEFAULT_PAGE_SIZE);
        assert_eq!(PageRequest::parse(500, "", &[], &mut violations).size, 500);
        assert!(violations.is_empty());
        PageRequest::parse(501, "", &[], &mut violations);
        PageRequest::parse(-1, "", &[], &mut violations);
        assert_eq!(violations.as_slice().len(), 2);
        assert!(
            violations
                .as_slice()
                .iter()
                .all(|violation| violation.field == "page_size")
        );
    }

    #[test]
    fn token_resumes_after_the_last_item_of_the_page() {
        let mut violations = Violations::new();
        let page = PageRequest::parse(2, "", &["provider-a"], &mut violations);
        let mut items = ids(3);
        let expected_last = items[1].clone();
        let token = page.finish(&mut items, |id| id);
        assert_eq!(items.len(), 2);
        let next = PageRequest::parse(2, &token, &["provider-a"], &mut violations);
        assert!(violations.is_empty());
        assert_eq!(next.after_id, Some(expected_last));
    }

    #[test]
    fn last_page_has_no_token() {
        let page = PageRequest::parse(5, "", &[], &mut Violations::new());
        let mut items = ids(5);
        assert_eq!(page.finish(&mut items, |id| id), "");
        assert_eq!(items.len(), 5);
    }

    #[test]
    fn rejects_garbage_tokens_and_tokens_for_other_filters() {
        let page = PageRequest::parse(1, "", &["a"], &mut Violations::new());
        let token = page.finish(&mut ids(2), |id| id);
        let mut violations = Violations::new();
        PageRequest::parse(1, &token, &["b"], &mut violations);
        PageRequest::parse(1, "not-a-token!", &["a"], &mut violations);
        let descriptions: Vec<_> = violations
            .as_slice()
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            descriptions,
            [
                ("page_token", "was issued for a request with other filters"),
                ("page_token", "is not a token this service issued")
            ]
        );
    }

    #[test]
    fn ranked_tokens_carry_the_offset_until_the_last_page() {
        let mut violations = Violations::new();
        let first = PageRequest::parse_bounded(0, "", &["q"], (20, 100), &mut violations);
        assert_eq!((first.size, first.offset), (20, 0));
        let token = first.next_ranked(20, 45);
        let second = PageRequest::parse_bounded(20, &token, &["q"], (20, 100), &mut violations);
        assert_eq!((second.offset, second.after_id.as_deref()), (20, None));
        let third = PageRequest::parse_bounded(20, &second.next_ranked(20, 45), &["q"], (20, 100), &mut violations);
        assert_eq!(third.offset, 40);
        assert_eq!(
            third.next_ranked(5, 45),
            "",
            "the page that reaches the total is the last"
        );
        PageRequest::parse_bounded(101, &token, &["other"], (20, 100), &mut violations);
        let fields: Vec<_> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["page_size", "page_token"]);
    }
}
