//! Rows as the store keeps them, and their translation to domain entities. Lists of codes are
//! stored comma-separated, enums by their stable names.

use crate::domain::{
    AccessType, Infrastructure, InfrastructureFields, InfrastructureKind, Installation, InstallationFields,
    InstallationStatus, Provider, ProviderFields, RegistryError, Structure,
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
    pub created_at: i64,
    pub updated_at: i64,
}

impl InfrastructureRow {
    pub const SELECT: &'static str = "SELECT id, provider_id, name, acronym, description, kind, structure, countries, \
         website, created_at, updated_at FROM infrastructures";
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
    pub description: String,
    pub countries: String,
    pub access_types: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl InstallationRow {
    pub const SELECT: &'static str = "SELECT id, infrastructure_id, name, description, countries, access_types, status, \
         created_at, updated_at FROM installations";
}

impl From<&Installation> for InstallationRow {
    fn from(installation: &Installation) -> Self {
        let fields = &installation.fields;
        Self {
            id: installation.id.clone(),
            infrastructure_id: installation.infrastructure_id.clone(),
            name: fields.name.clone(),
            description: fields.description.clone(),
            countries: fields.countries.join(","),
            access_types: fields
                .access_types
                .iter()
                .map(|access| access.as_stored())
                .collect::<Vec<_>>()
                .join(","),
            status: installation.status.as_stored().to_owned(),
            created_at: installation.created_at,
            updated_at: installation.updated_at,
        }
    }
}

impl TryFrom<InstallationRow> for Installation {
    type Error = RegistryError;

    fn try_from(row: InstallationRow) -> Result<Self, Self::Error> {
        let access_types = split_list(&row.access_types)
            .iter()
            .map(|name| stored(&row.id, "access_types", name, AccessType::from_stored))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Installation {
            fields: InstallationFields {
                name: row.name,
                description: row.description,
                countries: split_list(&row.countries),
                access_types,
            },
            status: stored(&row.id, "status", &row.status, InstallationStatus::from_stored)?,
            id: row.id,
            infrastructure_id: row.infrastructure_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
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
        RegistryError::Store(sqlx::Error::Decode(
            format!("row {id}: unknown {column} {text:?}").into(),
        ))
    })
}
