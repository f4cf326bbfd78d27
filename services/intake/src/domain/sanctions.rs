//! Versions of the EU consolidated financial sanctions list (SEC-2): a file as published, parsed
//! into its listed names, and the version that screens (the newest by generation date).

use super::names::ListedName;
use super::{sanctions_csv, sanctions_xml};
use rti_platform::stored_enum;

stored_enum!(
    SanctionsListFormat {
        Xml => "SANCTIONS_LIST_FORMAT_XML",
        Csv => "SANCTIONS_LIST_FORMAT_CSV",
    }
);

/// An imported version, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanctionsListVersion {
    pub id: String,
    /// UTC microseconds.
    pub generation_time: i64,
    pub format: SanctionsListFormat,
    pub sha256: String,
    pub parties: i64,
    pub names: i64,
    pub imported_by: String,
    pub import_time: i64,
}

/// A parsed list, ready to store.
#[derive(Debug, Clone)]
pub struct NewSanctionsList {
    pub id: String,
    pub generation_time: i64,
    pub format: SanctionsListFormat,
    pub sha256: String,
    pub parties: i64,
    pub names: Vec<ListedName>,
    pub imported_by: String,
    pub imported_at: i64,
    pub raw: Vec<u8>,
}

/// What a list file holds: its generation date and every listed name.
#[derive(Debug, Clone)]
pub struct ParsedList {
    pub generation_time: i64,
    pub parties: i64,
    pub names: Vec<ListedName>,
}

/// Reads a list file in `format`; the error says what is wrong with the content.
pub fn parse(format: SanctionsListFormat, content: &[u8]) -> Result<ParsedList, String> {
    let text = std::str::from_utf8(content).map_err(|error| format!("is not UTF-8 text: {error}"))?;
    let parsed = match format {
        SanctionsListFormat::Csv => sanctions_csv::parse(text).map_err(|error| error.to_string()),
        SanctionsListFormat::Xml => sanctions_xml::parse(text).map_err(|error| error.to_string()),
    }?;
    let generation_time = super::time_micros(&parsed.generation_date)
        .ok_or_else(|| format!("the generation date {:?} is not a date", parsed.generation_date))?;
    Ok(ParsedList {
        generation_time,
        parties: i64::try_from(parsed.parties.len()).unwrap_or(i64::MAX),
        names: parsed.listed_names().collect(),
    })
}
