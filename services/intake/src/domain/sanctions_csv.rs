//! Reads the EU consolidated financial sanctions list in its CSV format (SEC-2), into the same
//! [`SanctionsList`] as the XML reader gives.
//!
//! The CSV export is semicolon-delimited with one header row, then one row per alias or
//! sub-record: rows for addresses, birth dates, identifications, citizenships and further
//! regulations repeat the entity columns and fill their own. Fields may be double-quoted
//! (RFC 4180 with `;` as the separator): `""` is a quote, and `;` or line breaks inside quotes
//! belong to the field. A UTF-8 byte order mark is skipped.
//!
//! Columns are found by header name, so extra columns and another column order are fine.
//! Required are `fileGenerationDate`, `Entity_LogicalId`, `Entity_EU_ReferenceNumber`,
//! `Entity_Regulation_Programme`, `NameAlias_WholeName`, and `Entity_SubjectType_ClassificationCode`
//! (`P`/`E`) or `Entity_SubjectType` (`person`/`enterprise`); `NameAlias_FirstName`,
//! `NameAlias_MiddleName` and `NameAlias_LastName` are used when present.
//!
//! Rows are grouped by `Entity_LogicalId` in the order parties first appear. A party's names are
//! its distinct aliases in first-seen order (`wholeName`, or first, middle and last names joined
//! by single spaces); its programmes are distinct and sorted, as the XML reader gives them. The
//! generation date is kept as published; every row must carry the same one.

use std::collections::{HashMap, HashSet};

use super::sanctions_xml::{ListedParty, SanctionsList, SubjectType};

/// Why a file is not a usable CSV export of the list; line numbers are 1-based and point at the
/// line where the row starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SanctionsCsvError {
    #[error("the CSV file is empty: it has no header row")]
    Empty,
    #[error("the CSV file has a header row but no data rows")]
    NoDataRows,
    #[error("the CSV header has no column {0}")]
    MissingColumn(&'static str),
    #[error("line {line}: a quoted field is never closed")]
    UnterminatedQuote { line: usize },
    #[error("line {line}: the row has {found} fields where the header has {expected}")]
    FieldCount { line: usize, expected: usize, found: usize },
    #[error("line {line}: the row has no {column}")]
    MissingValue { line: usize, column: &'static str },
    #[error("line {line}: fileGenerationDate {found:?} differs from {expected:?} on the rows before")]
    GenerationDateMismatch {
        line: usize,
        expected: String,
        found: String,
    },
    #[error("entity {logical_id}: unknown subject type {value:?}")]
    UnknownSubjectType { logical_id: String, value: String },
    #[error("entity {logical_id}: its rows disagree on the subject type")]
    ConflictingSubjectType { logical_id: String },
    #[error("entity {logical_id}: has no name")]
    NoName { logical_id: String },
}

/// One row of the file, split into fields, with the line it starts on.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Splits the text into rows of `;`-separated fields, honouring double quotes. Blank lines are
/// skipped; `\r\n` is read as `\n`, also inside quotes.
fn records(text: &str) -> Result<Vec<Record>, SanctionsCsvError> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    // `quoted`: the current field opened with a quote; `in_quotes`: we are between its quotes.
    let (mut quoted, mut in_quotes) = (false, false);
    let (mut line, mut start_line) = (1, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => (quoted, in_quotes) = (true, true),
            ';' => {
                fields.push(std::mem::take(&mut field));
                quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                end_record(&mut records, &mut fields, &mut field, quoted, start_line);
                quoted = false;
                line += 1;
                start_line = line;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(SanctionsCsvError::UnterminatedQuote { line: start_line });
    }
    end_record(&mut records, &mut fields, &mut field, quoted, start_line);
    Ok(records)
}

/// Closes the row being read, unless it is a blank line.
fn end_record(records: &mut Vec<Record>, fields: &mut Vec<String>, field: &mut String, quoted: bool, line: usize) {
    let blank = fields.is_empty() && field.trim().is_empty() && !quoted;
    fields.push(std::mem::take(field));
    let fields = std::mem::take(fields);
    if !blank {
        records.push(Record { line, fields });
    }
}

/// Where the columns screening needs are, by header name.
struct Columns {
    generation_date: usize,
    logical_id: usize,
    reference: usize,
    subject_type: Option<usize>,
    classification_code: Option<usize>,
    programme: usize,
    whole_name: usize,
    first_name: Option<usize>,
    middle_name: Option<usize>,
    last_name: Option<usize>,
}

impl Columns {
    /// Finds the columns in the header; names are compared trimmed and ignoring ASCII case.
    fn find(header: &[String]) -> Result<Self, SanctionsCsvError> {
        let position = |name: &str| {
            header
                .iter()
                .position(|column| column.trim().eq_ignore_ascii_case(name))
        };
        let required = |name: &'static str| position(name).ok_or(SanctionsCsvError::MissingColumn(name));
        let subject_type = position("Entity_SubjectType");
        let classification_code = position("Entity_SubjectType_ClassificationCode");
        if subject_type.is_none() && classification_code.is_none() {
            return Err(SanctionsCsvError::MissingColumn(
                "Entity_SubjectType_ClassificationCode (or Entity_SubjectType)",
            ));
        }
        Ok(Self {
            generation_date: required("fileGenerationDate")?,
            logical_id: required("Entity_LogicalId")?,
            reference: required("Entity_EU_ReferenceNumber")?,
            subject_type,
            classification_code,
            programme: required("Entity_Regulation_Programme")?,
            whole_name: required("NameAlias_WholeName")?,
            first_name: position("NameAlias_FirstName"),
            middle_name: position("NameAlias_MiddleName"),
            last_name: position("NameAlias_LastName"),
        })
    }
}

/// A party while its rows are read.
struct Party {
    logical_id: String,
    reference: String,
    subject_type: Option<SubjectType>,
    programmes: Vec<String>,
    names: Vec<String>,
    /// The programmes and names above, to find a repeat in constant time: scanning the lists
    /// made a party with many aliases quadratic (20,000 aliases, 1.4 MB, read in over a minute
    /// by the sanctions_csv fuzz target; a 64 MiB upload would take hours).
    seen: HashSet<String>,
}

/// `P`/`person` or `E`/`enterprise`, in any case.
fn subject_type_of(value: &str) -> Option<SubjectType> {
    match value.to_ascii_lowercase().as_str() {
        "p" | "person" => Some(SubjectType::Person),
        "e" | "enterprise" => Some(SubjectType::Enterprise),
        _ => None,
    }
}

/// `wholeName`, or the first, middle and last names there are, joined by single spaces.
fn alias_name(whole: &str, parts: [&str; 3]) -> String {
    if !whole.is_empty() {
        return whole.to_owned();
    }
    parts
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds a non-empty value not yet in the list; `seen` is keyed by `kind` so that a programme
/// and a name may be the same text.
fn push_distinct(values: &mut Vec<String>, seen: &mut HashSet<String>, kind: char, value: &str) {
    if !value.is_empty() && seen.insert(format!("{kind}{value}")) {
        values.push(value.to_owned());
    }
}

/// Parses the CSV export; the error names the column, line or party at fault.
pub fn parse(csv: &str) -> Result<SanctionsList, SanctionsCsvError> {
    let text = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    let mut rows = records(text)?.into_iter();
    let header = rows.next().ok_or(SanctionsCsvError::Empty)?;
    let columns = Columns::find(&header.fields)?;
    let mut generation_date: Option<String> = None;
    let mut parties: Vec<Party> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let line = row.line;
        if row.fields.len() != header.fields.len() {
            return Err(SanctionsCsvError::FieldCount {
                line,
                expected: header.fields.len(),
                found: row.fields.len(),
            });
        }
        let field = |column: usize| row.fields.get(column).map_or("", |value| value.trim());
        let optional = |column: Option<usize>| column.map_or("", field);
        let missing = |column| SanctionsCsvError::MissingValue { line, column };

        let date = field(columns.generation_date);
        if date.is_empty() {
            return Err(missing("fileGenerationDate"));
        }
        match &generation_date {
            None => generation_date = Some(date.to_owned()),
            Some(expected) if expected != date => {
                return Err(SanctionsCsvError::GenerationDateMismatch {
                    line,
                    expected: expected.clone(),
                    found: date.to_owned(),
                });
            }
            Some(_) => {}
        }

        let logical_id = field(columns.logical_id);
        if logical_id.is_empty() {
            return Err(missing("Entity_LogicalId"));
        }
        let index = *by_id.entry(logical_id.to_owned()).or_insert_with(|| {
            parties.push(Party {
                logical_id: logical_id.to_owned(),
                reference: String::new(),
                subject_type: None,
                programmes: Vec::new(),
                names: Vec::new(),
                seen: HashSet::new(),
            });
            parties.len() - 1
        });
        let Some(party) = parties.get_mut(index) else {
            continue; // cannot happen: the index was just handed out
        };

        if party.reference.is_empty() {
            party.reference = field(columns.reference).to_owned();
        }
        for value in [optional(columns.classification_code), optional(columns.subject_type)] {
            if value.is_empty() {
                continue;
            }
            let kind = subject_type_of(value).ok_or_else(|| SanctionsCsvError::UnknownSubjectType {
                logical_id: party.logical_id.clone(),
                value: value.to_owned(),
            })?;
            match party.subject_type {
                None => party.subject_type = Some(kind),
                Some(known) if known != kind => {
                    return Err(SanctionsCsvError::ConflictingSubjectType {
                        logical_id: party.logical_id.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        push_distinct(&mut party.programmes, &mut party.seen, 'p', field(columns.programme));
        let name = alias_name(
            field(columns.whole_name),
            [
                optional(columns.first_name),
                optional(columns.middle_name),
                optional(columns.last_name),
            ],
        );
        push_distinct(&mut party.names, &mut party.seen, 'n', &name);
    }

    let generation_date = generation_date.ok_or(SanctionsCsvError::NoDataRows)?;
    let parties = parties
        .into_iter()
        .map(|mut party| {
            let subject_type = party
                .subject_type
                .ok_or_else(|| SanctionsCsvError::UnknownSubjectType {
                    logical_id: party.logical_id.clone(),
                    value: String::new(),
                })?;
            if party.names.is_empty() {
                return Err(SanctionsCsvError::NoName {
                    logical_id: party.logical_id,
                });
            }
            party.programmes.sort();
            Ok(ListedParty {
                logical_id: party.logical_id,
                eu_reference_number: party.reference,
                subject_type,
                programmes: party.programmes,
                names: party.names,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SanctionsList {
        generation_date,
        parties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header of the official export (abridged, in its order), with fictional parties.
    const HEADER: &str = "fileGenerationDate;Entity_LogicalId;Entity_EU_ReferenceNumber;\
        Entity_Remark;Entity_SubjectType;Entity_SubjectType_ClassificationCode;\
        Entity_Regulation_Programme;NameAlias_LastName;NameAlias_FirstName;\
        NameAlias_MiddleName;NameAlias_WholeName;NameAlias_NameLanguage;Address_City";

    const DATE: &str = "2026-11-20T18:04:12.123+01:00";

    fn file(rows: &[&str]) -> String {
        let mut text = HEADER.to_owned();
        for row in rows {
            text.push('\n');
            text.push_str(&row.replace("{date}", DATE));
        }
        text.push('\n');
        text
    }

    /// Two parties; the person's address row and the enterprise's second regulation row carry
    /// no name and are folded into their party.
    const ROWS: [&str; 6] = [
        "{date};9001;EU.9001.01;Fictional;person;P;RUS;Zhdanovsky;Yuriy;Konstantinovich;Yuriy Konstantinovich Zhdanovsky;;",
        "{date};9001;EU.9001.01;Fictional;person;P;RUS;;;;Юрий Константинович Ждановский;RU;",
        "{date};9004;EU.9004.02;Fictional;enterprise;E;RUS;;;;Grauwald Trading Holdings Ltd;;",
        "{date};9001;EU.9001.01;Fictional;person;P;RUS;;;;;;Novograd",
        "{date};9004;EU.9004.02;Fictional;enterprise;E;BLR;Trading;Grauwald;;;;",
        "{date};9004;EU.9004.02;Fictional;enterprise;E;RUS;;;;Grauwald Trading Holdings Ltd;EN;",
    ];

    #[test]
    fn sec_2_groups_rows_by_party_in_first_seen_order() {
        let list = parse(&file(&ROWS)).expect("parses");
        assert_eq!(list.generation_date, DATE, "kept as published");
        assert_eq!(list.parties.len(), 2);
        let person = &list.parties[0];
        assert_eq!(
            (person.logical_id.as_str(), person.subject_type),
            ("9001", SubjectType::Person)
        );
        assert_eq!(person.eu_reference_number, "EU.9001.01");
        assert_eq!(
            person.names,
            ["Yuriy Konstantinovich Zhdanovsky", "Юрий Константинович Ждановский"]
        );
        assert_eq!(person.programmes, ["RUS"]);
        let enterprise = &list.parties[1];
        assert_eq!(enterprise.subject_type, SubjectType::Enterprise);
        assert_eq!(enterprise.programmes, ["BLR", "RUS"], "distinct and sorted");
        assert_eq!(
            enterprise.names,
            ["Grauwald Trading Holdings Ltd", "Grauwald Trading"],
            "distinct; parts joined when wholeName is empty"
        );
        let index = super::super::names::NameIndex::new(list.listed_names());
        assert_eq!(index.screen("Ждановский Юрий").hits[0].party, "9001");
    }

    #[test]
    fn sec_2_reads_the_same_list_as_the_xml_export() {
        let xml = super::super::sanctions_xml::parse(&format!(
            r#"<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="{DATE}">
              <sanctionEntity euReferenceNumber="EU.9001.01" logicalId="9001">
                <regulation programme="RUS"/>
                <subjectType code="person" classificationCode="P"/>
                <nameAlias wholeName="Yuriy Konstantinovich Zhdanovsky"/>
                <nameAlias wholeName="Юрий Константинович Ждановский"/>
              </sanctionEntity>
              <sanctionEntity euReferenceNumber="EU.9004.02" logicalId="9004">
                <regulation programme="RUS"/>
                <regulation programme="BLR"/>
                <subjectType code="enterprise" classificationCode="E"/>
                <nameAlias wholeName="Grauwald Trading Holdings Ltd"/>
                <nameAlias firstName="Grauwald" lastName="Trading"/>
              </sanctionEntity>
            </export>"#
        ))
        .expect("xml parses");
        assert_eq!(parse(&file(&ROWS)).expect("csv parses"), xml);
    }

    #[test]
    fn sec_2_reads_quoted_fields_with_separators_quotes_and_line_breaks() {
        let list = parse(&file(&[
            "\"{date}\";\"9002\";EU.9002.01;\"Two lines;\r\nwith \"\"quotes\"\"\";person;P;TERR;;;;\"Al-Qasr \"\"The Fort\"\"; Trading\";;",
            "{date};9002;EU.9002.01;;person;P;TERR;;;;\"\";;\"Old\nTown\"",
            "{date};9003;EU.9003.01;;person;P;TERR;;;;Plain Name;;",
        ]))
        .expect("parses");
        assert_eq!(list.parties.len(), 2);
        assert_eq!(list.parties[0].names, ["Al-Qasr \"The Fort\"; Trading"]);
        assert_eq!(list.parties[1].names, ["Plain Name"]);

        let rows = records("a;\"b;\"\"c\"\"\r\nd\";e\r\n\r\n\"\";f").expect("splits");
        assert_eq!(
            rows,
            [
                Record {
                    line: 1,
                    fields: vec!["a".into(), "b;\"c\"\nd".into(), "e".into()]
                },
                Record {
                    line: 4,
                    fields: vec![String::new(), "f".into()]
                },
            ],
            "line numbers count the breaks inside quotes; blank lines are skipped"
        );
    }

    #[test]
    fn sec_2_accepts_a_byte_order_mark_crlf_and_another_column_order() {
        let text = "\u{feff}NameAlias_WholeName;Extra_Unknown;Entity_Regulation_Programme;\
             Entity_SubjectType_ClassificationCode;Entity_EU_ReferenceNumber;Entity_LogicalId;\
             fileGenerationDate\r\n\
             Grauwald Trading Holdings Ltd;x;RUS;E;EU.9004.02;9004;2026-11-20\r\n\
             OOO Grauwald;y;RUS;E;EU.9004.02;9004;2026-11-20\r\n";
        let list = parse(text).expect("parses");
        assert_eq!(list.generation_date, "2026-11-20");
        assert_eq!(list.parties.len(), 1);
        assert_eq!(list.parties[0].subject_type, SubjectType::Enterprise);
        assert_eq!(list.parties[0].names, ["Grauwald Trading Holdings Ltd", "OOO Grauwald"]);

        let only_type = "fileGenerationDate;Entity_LogicalId;Entity_EU_ReferenceNumber;\
            Entity_SubjectType;Entity_Regulation_Programme;NameAlias_WholeName\n\
            2026-11-20;9001;EU.9001.01;person;RUS;Yuriy Zhdanovsky";
        let list = parse(only_type).expect("Entity_SubjectType alone is enough");
        assert_eq!(list.parties[0].subject_type, SubjectType::Person);
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("refused").to_string()
    }

    #[test]
    fn sec_2_refuses_an_empty_file_or_one_without_rows() {
        assert_eq!(parse(""), Err(SanctionsCsvError::Empty));
        assert_eq!(parse("\u{feff}\n \n"), Err(SanctionsCsvError::Empty));
        assert_eq!(parse(&file(&[])), Err(SanctionsCsvError::NoDataRows));
    }

    #[test]
    fn sec_2_names_a_missing_header_column() {
        let without = |column: &str| HEADER.replace(column, "Something_Else");
        assert_eq!(
            error(&without("Entity_LogicalId")),
            "the CSV header has no column Entity_LogicalId"
        );
        assert_eq!(
            error(&without("fileGenerationDate")),
            "the CSV header has no column fileGenerationDate"
        );
        assert_eq!(
            error(&without("NameAlias_WholeName")),
            "the CSV header has no column NameAlias_WholeName"
        );
        let no_type = without("Entity_SubjectType_ClassificationCode").replace("Entity_SubjectType;", "Kind;");
        assert_eq!(
            parse(&no_type),
            Err(SanctionsCsvError::MissingColumn(
                "Entity_SubjectType_ClassificationCode (or Entity_SubjectType)"
            ))
        );
        assert!(matches!(
            parse("<html></html>"),
            Err(SanctionsCsvError::MissingColumn(_))
        ));
    }

    #[test]
    fn sec_2_gives_the_line_of_a_row_with_another_field_count() {
        let text = file(&[ROWS[0], "{date};9001;EU.9001.01;too;few"]);
        assert_eq!(error(&text), "line 3: the row has 5 fields where the header has 13");
        // A quoted line break moves the line of the rows after it.
        let text = file(&[
            "{date};9002;EU.9002.01;\"a\nb\";person;P;TERR;;;;Name;;",
            "{date};9002;EU.9002.01;;person;P;TERR;;;;Name;;;",
        ]);
        assert_eq!(
            parse(&text),
            Err(SanctionsCsvError::FieldCount {
                line: 4,
                expected: 13,
                found: 14
            })
        );
        assert_eq!(
            parse(&file(&["{date};9002;\"never closed;person"])),
            Err(SanctionsCsvError::UnterminatedQuote { line: 2 })
        );
    }

    #[test]
    fn sec_2_gives_the_line_of_a_row_without_a_logical_id_or_date() {
        let text = file(&[ROWS[0], ROWS[1], "{date}; ;EU.9001.01;;person;P;RUS;;;;Name;;"]);
        assert_eq!(error(&text), "line 4: the row has no Entity_LogicalId");
        let text = file(&[";9001;EU.9001.01;;person;P;RUS;;;;Name;;"]);
        assert_eq!(error(&text), "line 2: the row has no fileGenerationDate");
    }

    #[test]
    fn sec_2_refuses_rows_from_different_versions_of_the_list() {
        let text = file(&[
            ROWS[0],
            "2026-11-21T18:00:00.000+01:00;9001;EU.9001.01;;person;P;RUS;;;;Other;;",
        ]);
        assert_eq!(
            parse(&text),
            Err(SanctionsCsvError::GenerationDateMismatch {
                line: 3,
                expected: DATE.to_owned(),
                found: "2026-11-21T18:00:00.000+01:00".to_owned(),
            })
        );
    }

    #[test]
    fn sec_2_names_the_party_with_an_unknown_or_missing_subject_type() {
        let text = file(&[ROWS[0], "{date};9005;EU.9005.01;;vessel;V;RUS;;;;Northern Ark;;"]);
        assert_eq!(error(&text), "entity 9005: unknown subject type \"V\"");
        let text = file(&["{date};9005;EU.9005.01;;vessel;;RUS;;;;Northern Ark;;"]);
        assert_eq!(error(&text), "entity 9005: unknown subject type \"vessel\"");
        let text = file(&["{date};9005;EU.9005.01;;;;RUS;;;;Northern Ark;;"]);
        assert_eq!(error(&text), "entity 9005: unknown subject type \"\"");
        let text = file(&[ROWS[0], "{date};9001;EU.9001.01;;enterprise;E;RUS;;;;;;"]);
        assert_eq!(error(&text), "entity 9001: its rows disagree on the subject type");
        let text = file(&["{date};9001;EU.9001.01;;enterprise;P;RUS;;;;Name;;"]);
        assert_eq!(
            parse(&text),
            Err(SanctionsCsvError::ConflictingSubjectType {
                logical_id: "9001".to_owned()
            })
        );
    }

    /// 20,000 aliases of one party took over a minute to read (the sanctions_csv fuzz target).
    #[test]
    fn sec_2_reads_a_party_with_many_aliases_in_linear_time() {
        let rows: Vec<String> = (0..100_000)
            .map(|alias| format!("{{date}};9001;EU.9001.01;;person;P;P{alias};;;;Alias {alias};;"))
            .collect();
        let started = std::time::Instant::now();
        let list = parse(&file(&rows.iter().map(String::as_str).collect::<Vec<_>>())).expect("parses");
        assert_eq!(
            (list.parties[0].names.len(), list.parties[0].programmes.len()),
            (100_000, 100_000)
        );
        assert!(started.elapsed().as_secs() < 10, "took {:?}", started.elapsed());
    }

    #[test]
    fn sec_2_names_the_party_without_a_name() {
        let text = file(&[ROWS[0], "{date};9006;EU.9006.01;;person;P;RUS;;;;;;Novograd"]);
        assert_eq!(error(&text), "entity 9006: has no name");
        let text = file(&["{date};9006;EU.9006.01;;person;P;RUS; ; ; ;\"  \";;"]);
        assert_eq!(
            parse(&text),
            Err(SanctionsCsvError::NoName {
                logical_id: "9006".to_owned()
            })
        );
    }
}
