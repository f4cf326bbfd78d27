//! Rows as the store keeps them, and their translation to domain entities. Lists of codes are
//! stored comma-separated, enums by their stable names.

use crate::domain::{
    AccessMode, AccessType, CapacityWindow, CriticalTechnologyArea, Downtime, EsfriStatus, Infrastructure,
    InfrastructureFields, InfrastructureKind, Installation, InstallationFields, InstallationStatus, LegalForm,
    LocalizedText, Provider, ProviderFields, RegistryError, Reservation, ReservationState, ScientificDomain, Structure,
    Tariff, TariffBasis, TariffFields, UnitKind,
};

#[derive(Debug, sqlx::FromRow)]
pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub country: String,
    pub website: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ProviderRow {
    pub const SELECT: &'static str = "SELECT id, name, country, website, created_at, updated_at FROM providers";
}

impl From<ProviderRow> for Provider {
    fn from(row: ProviderRow) -> Self {
        Provider {
            id: row.id,
            fields: ProviderFields {
                name: row.name,
                country: row.country,
                website: row.website,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct InfrastructureRow {
    pub id: String,
    pub provider_id: String,
    pub name: String,
    pub acronym: String,
    pub description: String,
    pub kind: String,
    pub structure: String,
    pub countries: String,
    pub website: String,
    pub esfri_status: String,
    pub legal_form: String,
    pub access_policy_uri: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl InfrastructureRow {
    pub const SELECT: &'static str = "SELECT id, provider_id, name, acronym, description, kind, structure, countries, \
         website, esfri_status, legal_form, access_policy_uri, created_at, updated_at FROM infrastructures";
}

impl From<&Infrastructure> for InfrastructureRow {
    fn from(infrastructure: &Infrastructure) -> Self {
        let fields = &infrastructure.fields;
        Self {
            id: infrastructure.id.clone(),
            provider_id: infrastructure.provider_id.clone(),
            name: fields.name.clone(),
            acronym: fields.acronym.clone(),
            description: fields.description.clone(),
            kind: fields
                .kind
                .map(InfrastructureKind::as_stored)
                .unwrap_or_default()
                .to_owned(),
            structure: fields
                .structure
                .map(Structure::as_stored)
                .unwrap_or_default()
                .to_owned(),
            countries: fields.countries.join(","),
            website: fields.website.clone(),
            esfri_status: stored_name(fields.esfri_status.map(EsfriStatus::as_stored)),
            legal_form: stored_name(fields.legal_form.map(LegalForm::as_stored)),
            access_policy_uri: fields.access_policy_uri.clone(),
            created_at: infrastructure.created_at,
            updated_at: infrastructure.updated_at,
        }
    }
}

impl TryFrom<InfrastructureRow> for Infrastructure {
    type Error = RegistryError;

    fn try_from(row: InfrastructureRow) -> Result<Self, Self::Error> {
        Ok(Infrastructure {
            fields: InfrastructureFields {
                name: row.name,
                acronym: row.acronym,
                description: row.description,
                kind: Some(stored(&row.id, "kind", &row.kind, InfrastructureKind::from_stored)?),
                structure: Some(stored(&row.id, "structure", &row.structure, Structure::from_stored)?),
                countries: split_list(&row.countries),
                website: row.website,
                esfri_status: optional(&row.id, "esfri_status", &row.esfri_status, EsfriStatus::from_stored)?,
                legal_form: optional(&row.id, "legal_form", &row.legal_form, LegalForm::from_stored)?,
                access_policy_uri: row.access_policy_uri,
            },
            id: row.id,
            provider_id: row.provider_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct InstallationRow {
    pub id: String,
    pub infrastructure_id: String,
    pub name: String,
    pub countries: String,
    pub access_types: String,
    pub status: String,
    pub access_modes: String,
    pub unit_kind: String,
    pub unit_description: String,
    pub annual_capacity_units: i64,
    pub trl_min: i32,
    pub trl_max: i32,
    pub typical_lead_time_days: i32,
    pub scientific_domains: String,
    pub techniques: String,
    pub critical_technology_areas: String,
    pub dual_use_categories: String,
    pub descriptions: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One description as stored in the `descriptions` JSON array.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredText {
    language: String,
    text: String,
}

impl InstallationRow {
    pub const COLUMNS: &'static str = "id, infrastructure_id, name, countries, access_types, status, access_modes, \
         unit_kind, unit_description, annual_capacity_units, trl_min, trl_max, typical_lead_time_days, \
         scientific_domains, techniques, critical_technology_areas, dual_use_categories, descriptions, created_at, \
         updated_at";
    pub const SELECT: &'static str = "SELECT id, infrastructure_id, name, countries, access_types, status, \
         access_modes, unit_kind, unit_description, annual_capacity_units, trl_min, trl_max, typical_lead_time_days, \
         scientific_domains, techniques, critical_technology_areas, dual_use_categories, descriptions, created_at, \
         updated_at FROM installations";
}

impl From<&Installation> for InstallationRow {
    fn from(installation: &Installation) -> Self {
        let fields = &installation.fields;
        let descriptions: Vec<StoredText> = fields
            .descriptions
            .iter()
            .map(|description| StoredText {
                language: description.language.clone(),
                text: description.text.clone(),
            })
            .collect();
        let (trl_min, trl_max) = fields.trl.unwrap_or((0, 0));
        Self {
            id: installation.id.clone(),
            infrastructure_id: installation.infrastructure_id.clone(),
            name: fields.name.clone(),
            countries: fields.countries.join(","),
            access_types: join_stored(&fields.access_types, |value| value.as_stored()),
            status: installation.status.as_stored().to_owned(),
            access_modes: join_stored(&fields.access_modes, |value| value.as_stored()),
            unit_kind: stored_name(fields.unit_kind.map(UnitKind::as_stored)),
            unit_description: fields.unit_description.clone(),
            annual_capacity_units: fields.annual_capacity_units,
            trl_min,
            trl_max,
            typical_lead_time_days: fields.typical_lead_time_days,
            scientific_domains: join_stored(&fields.scientific_domains, |value| value.as_stored()),
            techniques: serde_json::to_string(&fields.techniques).unwrap_or_else(|_| "[]".into()),
            critical_technology_areas: join_stored(&fields.critical_technology_areas, |value| value.as_stored()),
            dual_use_categories: join_stored(&fields.dual_use_categories, ToString::to_string),
            descriptions: serde_json::to_string(&descriptions).unwrap_or_else(|_| "[]".into()),
            created_at: installation.created_at,
            updated_at: installation.updated_at,
        }
    }
}

impl TryFrom<InstallationRow> for Installation {
    type Error = RegistryError;

    fn try_from(row: InstallationRow) -> Result<Self, Self::Error> {
        let id = row.id.as_str();
        let descriptions: Vec<StoredText> =
            serde_json::from_str(&row.descriptions).map_err(|error| decode(id, &error))?;
        let techniques: Vec<String> = serde_json::from_str(&row.techniques).map_err(|error| decode(id, &error))?;
        let dual_use_categories = split_list(&row.dual_use_categories)
            .iter()
            .map(|code| stored(id, "dual_use_categories", code, |text| text.parse().ok()))
            .collect::<Result<Vec<i32>, _>>()?;
        let fields = InstallationFields {
            name: row.name.clone(),
            countries: split_list(&row.countries),
            access_types: parse_list(id, "access_types", &row.access_types, AccessType::from_stored)?,
            access_modes: parse_list(id, "access_modes", &row.access_modes, AccessMode::from_stored)?,
            unit_kind: optional(id, "unit_kind", &row.unit_kind, UnitKind::from_stored)?,
            unit_description: row.unit_description.clone(),
            annual_capacity_units: row.annual_capacity_units,
            trl: (row.trl_min > 0).then_some((row.trl_min, row.trl_max)),
            typical_lead_time_days: row.typical_lead_time_days,
            scientific_domains: parse_list(
                id,
                "scientific_domains",
                &row.scientific_domains,
                ScientificDomain::from_stored,
            )?,
            techniques,
            critical_technology_areas: parse_list(
                id,
                "critical_technology_areas",
                &row.critical_technology_areas,
                CriticalTechnologyArea::from_stored,
            )?,
            dual_use_categories,
            descriptions: descriptions
                .into_iter()
                .map(|stored| LocalizedText {
                    language: stored.language,
                    text: stored.text,
                })
                .collect(),
        };
        Ok(Installation {
            status: stored(id, "status", &row.status, InstallationStatus::from_stored)?,
            fields,
            id: row.id,
            infrastructure_id: row.infrastructure_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct TariffRow {
    pub id: String,
    pub installation_id: String,
    pub currency: String,
    pub price_minor_units: i64,
    pub basis: String,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub created_at: i64,
}

impl TariffRow {
    pub const SELECT: &'static str = "SELECT id, installation_id, currency, price_minor_units, basis, valid_from, \
         valid_to, created_at FROM tariffs";
}

impl TryFrom<TariffRow> for Tariff {
    type Error = RegistryError;

    fn try_from(row: TariffRow) -> Result<Self, Self::Error> {
        Ok(Tariff {
            fields: TariffFields {
                currency: row.currency,
                price_minor_units: row.price_minor_units,
                basis: Some(stored(&row.id, "basis", &row.basis, TariffBasis::from_stored)?),
                valid_from: Some(row.valid_from),
                valid_to: row.valid_to,
            },
            id: row.id,
            installation_id: row.installation_id,
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct WindowRow {
    pub id: String,
    pub installation_id: String,
    pub start_at: i64,
    pub end_at: i64,
    pub units: i64,
    pub reserved_units: i64,
    pub closed_units: i64,
    pub created_at: i64,
}

impl WindowRow {
    pub const SELECT: &'static str = "SELECT id, installation_id, start_at, end_at, units, reserved_units, \
         closed_units, created_at FROM capacity_windows";
}

impl From<WindowRow> for CapacityWindow {
    fn from(row: WindowRow) -> Self {
        CapacityWindow {
            id: row.id,
            installation_id: row.installation_id,
            start: row.start_at,
            end: row.end_at,
            units: row.units,
            reserved_units: row.reserved_units,
            closed_units: row.closed_units,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct DowntimeRow {
    pub id: String,
    pub installation_id: String,
    pub start_at: i64,
    pub end_at: i64,
    pub reason: String,
    pub created_at: i64,
}

impl DowntimeRow {
    pub const SELECT: &'static str = "SELECT id, installation_id, start_at, end_at, reason, created_at FROM downtimes";
}

impl From<DowntimeRow> for Downtime {
    fn from(row: DowntimeRow) -> Self {
        Downtime {
            id: row.id,
            installation_id: row.installation_id,
            start: row.start_at,
            end: row.end_at,
            reason: row.reason,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ReservationRow {
    pub reservation_id: String,
    pub window_id: String,
    pub installation_id: String,
    pub units: i64,
    pub reference: String,
    pub state: String,
    pub created_at: i64,
    pub released_at: Option<i64>,
}

impl ReservationRow {
    pub const SELECT: &'static str = "SELECT reservation_id, window_id, installation_id, units, reference, state, \
         created_at, released_at FROM reservations";
}

impl TryFrom<ReservationRow> for Reservation {
    type Error = RegistryError;

    fn try_from(row: ReservationRow) -> Result<Self, Self::Error> {
        Ok(Reservation {
            state: stored(&row.reservation_id, "state", &row.state, ReservationState::from_stored)?,
            reservation_id: row.reservation_id,
            window_id: row.window_id,
            installation_id: row.installation_id,
            units: row.units,
            reference: row.reference,
            created_at: row.created_at,
            released_at: row.released_at,
        })
    }
}

fn stored_name(name: Option<&'static str>) -> String {
    name.unwrap_or_default().to_owned()
}

fn join_stored<T, S: AsRef<str>>(values: &[T], name: impl Fn(&T) -> S) -> String {
    values
        .iter()
        .map(|value| name(value).as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_list<T>(id: &str, column: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, RegistryError> {
    split_list(text)
        .iter()
        .map(|name| stored(id, column, name, parse))
        .collect()
}

fn optional<T>(id: &str, column: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, RegistryError> {
    if text.is_empty() {
        return Ok(None);
    }
    stored(id, column, text, parse).map(Some)
}

fn decode(id: &str, error: &serde_json::Error) -> RegistryError {
    RegistryError::from(sqlx::Error::Decode(format!("row {id}: {error}").into()))
}

fn split_list(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A stored enum name this build does not know means the database was written by a newer
/// version or edited by hand: a store failure, not bad input.
fn stored<T>(id: &str, column: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T, RegistryError> {
    parse(text).ok_or_else(|| {
        RegistryError::from(sqlx::Error::Decode(
            format!("row {id}: unknown {column} {text:?}").into(),
        ))
    })
}
