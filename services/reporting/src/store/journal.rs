//! The usage journal: each batch of usage records is one row of `usage_batches`, its records a
//! JSON array of arrays in `body`, one array per record in the order of [`JournalRow`]. A batch
//! is written with one statement whatever its size, where a row per record cost SQLite a B-tree
//! insertion per index per record (docs/benchmarks.md, reporting run 7). The view
//! `usage_records` (migration 0402) shows the records as a table to SQL.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One record as the journal keeps it. The order of the fields is the order of the values in
/// the stored arrays, which the view `usage_records` reads by position: change neither alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct JournalRow<'a>(
    /// 0: record_id
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 1: request_id
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 2: installation_id
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 3: slot_id (empty when not named)
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 4: user_key
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 5: user_rkey
    pub i64,
    /// 6: org_key
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 7: org_rkey
    pub i64,
    /// 8: group_rkey
    pub i64,
    /// 9: home_country
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 10: requester_type
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 11: access_mode
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 12: lane
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 13: funding_scheme
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 14: eu_funded (0 or 1)
    pub i32,
    /// 15: new_user (0 or 1)
    pub i32,
    /// 16: period_start (µs since the epoch)
    pub i64,
    /// 17: period_end
    pub i64,
    /// 18: month (YYYYMM)
    pub i32,
    /// 19: units_used
    pub i64,
    /// 20: days_on_site
    pub i32,
    /// 21: fingerprint (hex SHA-256 of the values)
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 22: recorded_by
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// 23: recorded_at (µs since the epoch)
    pub i64,
);

/// A batch's body.
pub(super) fn encode(rows: &[JournalRow<'_>]) -> String {
    // About 400 bytes a record with ids of 36 characters: one allocation for most batches.
    let mut body = Vec::with_capacity(rows.len() * 400 + 2);
    serde_json::to_writer(&mut body, rows).expect("strings and numbers always serialise");
    String::from_utf8(body).expect("serde_json writes UTF-8")
}

/// The records of a stored body.
pub(super) fn decode(body: &str) -> Result<Vec<JournalRow<'_>>, serde_json::Error> {
    serde_json::from_str(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(record_id: &str) -> JournalRow<'_> {
        JournalRow(
            record_id.into(),
            "request".into(),
            "installation".into(),
            "".into(),
            "user".into(),
            1,
            "org".into(),
            2,
            3,
            "DE".into(),
            "sme".into(),
            "physical".into(),
            "industrial".into(),
            "market".into(),
            0,
            1,
            10,
            20,
            202_601,
            4,
            1,
            "ab".repeat(32).into(),
            "operator".into(),
            30,
        )
    }

    #[test]
    fn a_body_reads_back_whole_escaped_values_included() {
        let rows = vec![row("r-1"), row("quote \" and \\ and é"), row("r-3")];
        let body = encode(&rows);
        assert!(body.starts_with("[[\"r-1\",\"request\""), "{body}");
        assert_eq!(decode(&body).expect("decodes"), rows);
        assert!(decode("[[\"r-1\"]]").is_err(), "a short row is refused, not padded");
    }
}
