//! Reads the EU consolidated financial sanctions list in its XML format, version 1.1 (SEC-2):
//! `<export generationDate=…>` holding one `<sanctionEntity>` per listed party, each with its
//! subject type (`P` person, `E` enterprise), regulations (with their programme) and name
//! aliases (`wholeName`, or first, middle and last names). Only what screening needs is kept;
//! the raw file, its hash and generation date are the importer's to keep for audit.

use serde::Deserialize;

use super::names::ListedName;

/// One version of the list, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanctionsList {
    /// The `generationDate` of the export, as published (ISO 8601).
    pub generation_date: String,
    pub parties: Vec<ListedParty>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectType {
    Person,
    Enterprise,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedParty {
    pub logical_id: String,
    pub eu_reference_number: String,
    pub subject_type: SubjectType,
    /// Sanctions programmes, e.g. `RUS`, `TERR`.
    pub programmes: Vec<String>,
    /// Every name and alias, whole.
    pub names: Vec<String>,
}

impl SanctionsList {
    /// Every name of every party, for a [`super::names::NameIndex`].
    pub fn listed_names(&self) -> impl Iterator<Item = ListedName> + '_ {
        self.parties.iter().flat_map(|party| {
            party.names.iter().map(|name| ListedName {
                party: party.logical_id.clone(),
                name: name.clone(),
            })
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SanctionsXmlError {
    #[error("the file is not the EU sanctions list XML: {0}")]
    Format(#[from] quick_xml::DeError),
    #[error("sanctionEntity {logical_id}: {problem}")]
    Entity { logical_id: String, problem: String },
}

#[derive(Deserialize)]
struct Export {
    #[serde(rename = "@generationDate")]
    generation_date: String,
    #[serde(rename = "sanctionEntity", default)]
    entities: Vec<Entity>,
}

#[derive(Deserialize)]
struct Entity {
    #[serde(rename = "@logicalId")]
    logical_id: String,
    #[serde(rename = "@euReferenceNumber", default)]
    eu_reference_number: String,
    #[serde(rename = "subjectType")]
    subject_type: SubjectTypeElement,
    #[serde(rename = "regulation", default)]
    regulations: Vec<Regulation>,
    #[serde(rename = "nameAlias", default)]
    aliases: Vec<NameAlias>,
}

#[derive(Deserialize)]
struct SubjectTypeElement {
    #[serde(rename = "@classificationCode")]
    classification_code: String,
}

#[derive(Deserialize)]
struct Regulation {
    #[serde(rename = "@programme", default)]
    programme: String,
}

#[derive(Deserialize)]
struct NameAlias {
    #[serde(rename = "@wholeName", default)]
    whole_name: String,
    #[serde(rename = "@firstName", default)]
    first_name: String,
    #[serde(rename = "@middleName", default)]
    middle_name: String,
    #[serde(rename = "@lastName", default)]
    last_name: String,
}

impl NameAlias {
    /// `wholeName`, or the parts it is missing from, joined.
    fn name(&self) -> String {
        if !self.whole_name.trim().is_empty() {
            return self.whole_name.trim().to_owned();
        }
        [&self.first_name, &self.middle_name, &self.last_name]
            .iter()
            .map(|part| part.trim())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Parses the XML export; a party without a subject type or a name is an error naming it.
pub fn parse(xml: &str) -> Result<SanctionsList, SanctionsXmlError> {
    let export: Export = quick_xml::de::from_str(xml)?;
    let mut parties = Vec::with_capacity(export.entities.len());
    for entity in export.entities {
        let problem = |problem: &str| SanctionsXmlError::Entity {
            logical_id: entity.logical_id.clone(),
            problem: problem.to_owned(),
        };
        let subject_type = match entity.subject_type.classification_code.as_str() {
            "P" => SubjectType::Person,
            "E" => SubjectType::Enterprise,
            _ => return Err(problem("subjectType classificationCode is neither P nor E")),
        };
        let mut names: Vec<String> = entity
            .aliases
            .iter()
            .map(NameAlias::name)
            .filter(|name| !name.is_empty())
            .collect();
        names.dedup();
        if names.is_empty() {
            return Err(problem("has no name"));
        }
        let mut programmes: Vec<String> = entity
            .regulations
            .iter()
            .map(|regulation| regulation.programme.trim().to_owned())
            .filter(|programme| !programme.is_empty())
            .collect();
        programmes.sort();
        programmes.dedup();
        parties.push(ListedParty {
            logical_id: entity.logical_id.clone(),
            eu_reference_number: entity.eu_reference_number.clone(),
            subject_type,
            programmes,
            names,
        });
    }
    Ok(SanctionsList {
        generation_date: export.generation_date,
        parties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the official export (namespace, attributes, nested elements), with
    /// fictional parties.
    const EXPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-11-20T18:01:02.123+01:00" globalFileId="1">
  <sanctionEntity designationDetails="" unitedNationId="" euReferenceNumber="EU.9001.01" logicalId="9001">
    <remark>Fictional entry for tests.</remark>
    <regulation regulationType="regulation" organisationType="council" publicationDate="2022-03-01" programme="RUS" logicalId="1">
      <publicationUrl>https://example.org/regulation</publicationUrl>
    </regulation>
    <subjectType code="person" classificationCode="P"/>
    <nameAlias firstName="Yuriy" middleName="Konstantinovich" lastName="Zhdanovsky" wholeName="Yuriy Konstantinovich Zhdanovsky" function="" gender="M" title="" nameLanguage="" strong="true" regulationLanguage="en" logicalId="11"/>
    <nameAlias firstName="" middleName="" lastName="" wholeName="Юрий Константинович Ждановский" nameLanguage="RU" strong="true" logicalId="12"/>
    <citizenship region="" countryIso2Code="00" countryDescription="UNKNOWN" logicalId="13"/>
    <birthdate circa="false" calendarType="GREGORIAN" birthdate="1970-01-01" logicalId="14"/>
  </sanctionEntity>
  <sanctionEntity euReferenceNumber="EU.9004.02" logicalId="9004">
    <regulation programme="RUS" logicalId="2"/>
    <regulation programme="BLR" logicalId="3"/>
    <subjectType code="enterprise" classificationCode="E"/>
    <nameAlias firstName="" lastName="" wholeName="Grauwald Trading Holdings Ltd" logicalId="21"/>
    <nameAlias firstName="Grauwald" lastName="Trading" wholeName="" logicalId="22"/>
  </sanctionEntity>
</export>"#;

    #[test]
    fn sec_2_reads_parties_names_and_programmes_of_the_xml_export() {
        let list = parse(EXPORT).expect("parses");
        assert_eq!(list.generation_date, "2026-11-20T18:01:02.123+01:00");
        assert_eq!(list.parties.len(), 2);
        let person = &list.parties[0];
        assert_eq!(
            (person.logical_id.as_str(), person.subject_type),
            ("9001", SubjectType::Person)
        );
        assert_eq!(person.names.len(), 2);
        assert_eq!(person.programmes, ["RUS"]);
        let enterprise = &list.parties[1];
        assert_eq!(enterprise.programmes, ["BLR", "RUS"]);
        assert_eq!(
            enterprise.names[1], "Grauwald Trading",
            "parts joined when wholeName is empty"
        );
        assert_eq!(list.listed_names().count(), 4);
        let index = super::super::names::NameIndex::new(list.listed_names());
        assert_eq!(index.screen("Ждановский Юрий").hits[0].party, "9001");
    }

    #[test]
    fn sec_2_refuses_files_that_are_not_the_export_naming_the_bad_party() {
        assert!(matches!(parse("<html></html>"), Err(SanctionsXmlError::Format(_))));
        let nameless = r#"<export generationDate="2026-11-20"><sanctionEntity logicalId="77"><subjectType classificationCode="P"/></sanctionEntity></export>"#;
        let error = parse(nameless).expect_err("no name");
        assert_eq!(error.to_string(), "sanctionEntity 77: has no name");
    }
}
