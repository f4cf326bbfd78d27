//! Providers, infrastructures and installations. Each entity splits into its id, parent and
//! timestamps, which the registry sets, and its `…Fields`, which callers may set and update.

use rti_platform::error::Violations;

use super::fields::{self, MAX_ACRONYM_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS};

/// Declares a closed set of values with its stable storage name.
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $stored:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_stored(self) -> &'static str {
                match self { $(Self::$variant => $stored),+ }
            }

            pub fn from_stored(text: &str) -> Option<Self> {
                match text { $($stored => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

stored_enum!(
    /// Research infrastructure (RI), technology infrastructure (TI), or both.
    InfrastructureKind { Research => "research", Technology => "technology", Both => "both" }
);
stored_enum!(
    /// How an infrastructure is organised in space.
    Structure { SingleSited => "single_sited", Distributed => "distributed", Virtual => "virtual" }
);
stored_enum!(
    /// How users reach an installation.
    AccessType { Physical => "physical", Remote => "remote", Virtual => "virtual" }
);
stored_enum!(
    /// Drafts are visible to their operators; published installations can be requested.
    InstallationStatus { Draft => "draft", Published => "published" }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFields {
    pub name: String,
    /// ISO 3166-1 alpha-2 country of the provider's seat.
    pub country: String,
    pub website: String,
}

impl ProviderFields {
    pub fn validate(&mut self, prefix: &str, violations: &mut Violations) {
        fields::text(
            &mut self.name,
            &format!("{prefix}.name"),
            true,
            MAX_NAME_CHARS,
            violations,
        );
        fields::country(&mut self.country, &format!("{prefix}.country"), true, violations);
        fields::website(&mut self.website, &format!("{prefix}.website"), violations);
    }

    /// Copies the field named by an update-mask `path` from `from`.
    pub fn set_from(&mut self, from: &Self, path: &str) -> bool {
        match path {
            "name" => self.name.clone_from(&from.name),
            "country" => self.country.clone_from(&from.country),
            "website" => self.website.clone_from(&from.website),
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub id: String,
    pub fields: ProviderFields,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfrastructureFields {
    pub name: String,
    pub acronym: String,
    pub description: String,
    /// `None` only while parsing a request that left it unset; stored entities always have one.
    pub kind: Option<InfrastructureKind>,
    pub structure: Option<Structure>,
    pub countries: Vec<String>,
    pub website: String,
}

impl InfrastructureFields {
    pub fn validate(&mut self, prefix: &str, violations: &mut Violations) {
        fields::text(
            &mut self.name,
            &format!("{prefix}.name"),
            true,
            MAX_NAME_CHARS,
            violations,
        );
        fields::text(
            &mut self.acronym,
            &format!("{prefix}.acronym"),
            false,
            MAX_ACRONYM_CHARS,
            violations,
        );
        let description = format!("{prefix}.description");
        fields::text(
            &mut self.description,
            &description,
            false,
            MAX_DESCRIPTION_CHARS,
            violations,
        );
        if self.kind.is_none() {
            violations.add(format!("{prefix}.kind"), "must be research, technology or both");
        }
        if self.structure.is_none() {
            violations.add(
                format!("{prefix}.structure"),
                "must be single-sited, distributed or virtual",
            );
        }
        fields::countries(&mut self.countries, &format!("{prefix}.countries"), violations);
        fields::website(&mut self.website, &format!("{prefix}.website"), violations);
    }

    pub fn set_from(&mut self, from: &Self, path: &str) -> bool {
        match path {
            "name" => self.name.clone_from(&from.name),
            "acronym" => self.acronym.clone_from(&from.acronym),
            "description" => self.description.clone_from(&from.description),
            "kind" => self.kind = from.kind,
            "structure" => self.structure = from.structure,
            "countries" => self.countries.clone_from(&from.countries),
            "website" => self.website.clone_from(&from.website),
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Infrastructure {
    pub id: String,
    pub provider_id: String,
    pub fields: InfrastructureFields,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationFields {
    pub name: String,
    pub description: String,
    pub countries: Vec<String>,
    pub access_types: Vec<AccessType>,
}

impl InstallationFields {
    pub fn validate(&mut self, prefix: &str, violations: &mut Violations) {
        fields::text(
            &mut self.name,
            &format!("{prefix}.name"),
            true,
            MAX_NAME_CHARS,
            violations,
        );
        let description = format!("{prefix}.description");
        fields::text(
            &mut self.description,
            &description,
            false,
            MAX_DESCRIPTION_CHARS,
            violations,
        );
        fields::countries(&mut self.countries, &format!("{prefix}.countries"), violations);
        let mut unique = Vec::with_capacity(self.access_types.len());
        for access_type in &self.access_types {
            if !unique.contains(access_type) {
                unique.push(*access_type);
            }
        }
        self.access_types = unique;
    }

    pub fn set_from(&mut self, from: &Self, path: &str) -> bool {
        match path {
            "name" => self.name.clone_from(&from.name),
            "description" => self.description.clone_from(&from.description),
            "countries" => self.countries.clone_from(&from.countries),
            "access_types" => self.access_types.clone_from(&from.access_types),
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub id: String,
    pub infrastructure_id: String,
    pub fields: InstallationFields,
    pub status: InstallationStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infrastructure_fields() -> InfrastructureFields {
        InfrastructureFields {
            name: "Nordlicht Synchrotron".into(),
            acronym: "NLS".into(),
            description: String::new(),
            kind: Some(InfrastructureKind::Research),
            structure: Some(Structure::SingleSited),
            countries: vec!["se".into()],
            website: String::new(),
        }
    }

    #[test]
    fn stored_names_round_trip() {
        for kind in [
            InfrastructureKind::Research,
            InfrastructureKind::Technology,
            InfrastructureKind::Both,
        ] {
            assert_eq!(InfrastructureKind::from_stored(kind.as_stored()), Some(kind));
        }
        assert_eq!(AccessType::from_stored("teleport"), None);
    }

    #[test]
    fn a_complete_infrastructure_is_valid_and_normalised() {
        let mut fields = infrastructure_fields();
        let mut violations = Violations::new();
        fields.validate("infrastructure", &mut violations);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(fields.countries, ["SE"]);
    }

    #[test]
    fn every_missing_infrastructure_field_is_reported_at_once() {
        let mut fields = InfrastructureFields {
            name: String::new(),
            kind: None,
            structure: None,
            ..infrastructure_fields()
        };
        let mut violations = Violations::new();
        fields.validate("infrastructure", &mut violations);
        let reported: Vec<_> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            reported,
            ["infrastructure.name", "infrastructure.kind", "infrastructure.structure"]
        );
    }

    #[test]
    fn set_from_copies_only_the_named_field() {
        let mut stored = infrastructure_fields();
        let request = InfrastructureFields {
            name: "Renamed".into(),
            acronym: "X".into(),
            ..infrastructure_fields()
        };
        assert!(stored.set_from(&request, "name"));
        assert_eq!(stored.name, "Renamed");
        assert_eq!(stored.acronym, "NLS");
        assert!(!stored.set_from(&request, "provider_id"));
    }

    #[test]
    fn installation_access_types_are_deduplicated() {
        let mut fields = InstallationFields {
            name: "Beamline 7".into(),
            description: String::new(),
            countries: vec![],
            access_types: vec![AccessType::Remote, AccessType::Physical, AccessType::Remote],
        };
        fields.validate("installation", &mut Violations::new());
        assert_eq!(fields.access_types, [AccessType::Remote, AccessType::Physical]);
    }
}
