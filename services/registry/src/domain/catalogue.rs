//! Providers, infrastructures and installations. Each entity splits into its id, parent and
//! timestamps, which the registry sets, and its `…Fields`, which callers may set and update.

use std::collections::HashSet;

use rti_platform::error::Violations;
use rti_platform::stored_enum;
use rti_platform::validate::{at_most, dedup_in_order};

use super::fields::{
    self, MAX_ACRONYM_CHARS, MAX_DESCRIPTION_CHARS, MAX_DESCRIPTIONS, MAX_DUAL_USE_CATEGORIES, MAX_LEAD_TIME_DAYS,
    MAX_NAME_CHARS, MAX_TECHNIQUE_CHARS, MAX_TECHNIQUES, MAX_UNIT_CHARS,
};

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
    /// Drafts are visible through Get and List; published installations are searched and requested.
    InstallationStatus { Draft => "draft", Published => "published" }
);
stored_enum!(
    /// ESFRI roadmap status.
    EsfriStatus { None => "none", Project => "project", Landmark => "landmark" }
);
stored_enum!(
    /// The legal form of the entity running an infrastructure.
    LegalForm {
        Eric => "eric",
        InternationalOrganisation => "international_organisation",
        University => "university",
        Rto => "rto",
        PublicBody => "public_body",
        Company => "company",
        Other => "other",
    }
);
stored_enum!(
    /// How access is granted (Charter for Access, CH-2).
    AccessMode { Excellence => "excellence", Market => "market", Wide => "wide" }
);
stored_enum!(
    /// What one unit of access is (TA-11).
    UnitKind {
        Hour => "hour",
        Shift8h => "shift_8h",
        Day => "day",
        Week => "week",
        Sample => "sample",
        Wafer => "wafer",
        NodeHour => "node_hour",
        GpuHour => "gpu_hour",
        Other => "other",
    }
);
stored_enum!(
    /// The ESFRI roadmap's scientific domains.
    ScientificDomain {
        Energy => "energy",
        Environment => "environment",
        HealthFood => "health_food",
        PhysicalSciencesEngineering => "physical_sciences_engineering",
        SocialCulturalInnovation => "social_cultural_innovation",
        DataComputingDigital => "data_computing_digital",
    }
);
stored_enum!(
    /// The critical technology areas of Commission Recommendation (EU) 2023/2113 (SEC-5).
    CriticalTechnologyArea {
        Semiconductors => "semiconductors",
        ArtificialIntelligence => "artificial_intelligence",
        Quantum => "quantum",
        Biotechnologies => "biotechnologies",
        ConnectivityNavigationDigital => "connectivity_navigation_digital",
        Sensing => "sensing",
        SpacePropulsion => "space_propulsion",
        Energy => "energy",
        RoboticsAutonomous => "robotics_autonomous",
        AdvancedMaterialsManufacturing => "advanced_materials_manufacturing",
    }
);
stored_enum!(
    /// How a tariff's price was set (SA-1..SA-5).
    TariffBasis { MarketPrice => "market_price", FullCost => "full_cost", Negotiated => "negotiated" }
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
    /// `None`: not stated.
    pub esfri_status: Option<EsfriStatus>,
    /// `None`: not stated.
    pub legal_form: Option<LegalForm>,
    pub access_policy_uri: String,
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
        let policy = format!("{prefix}.access_policy_uri");
        fields::website(&mut self.access_policy_uri, &policy, violations);
    }

    pub fn set_from(&mut self, from: &Self, path: &str) -> bool {
        match path {
            "name" => self.name.clone_from(&from.name),
            "acronym" => self.acronym.clone_from(&from.acronym),
            "esfri_status" => self.esfri_status = from.esfri_status,
            "legal_form" => self.legal_form = from.legal_form,
            "access_policy_uri" => self.access_policy_uri.clone_from(&from.access_policy_uri),
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

/// A text in one language (ISO 639-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedText {
    pub language: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstallationFields {
    pub name: String,
    pub countries: Vec<String>,
    pub access_types: Vec<AccessType>,
    pub access_modes: Vec<AccessMode>,
    /// `None` while unset: allowed in a draft, not in a published installation.
    pub unit_kind: Option<UnitKind>,
    pub unit_description: String,
    pub annual_capacity_units: i64,
    /// Inclusive TRL range within 1..=9; `None` when not stated.
    pub trl: Option<(i32, i32)>,
    pub typical_lead_time_days: i32,
    pub scientific_domains: Vec<ScientificDomain>,
    pub techniques: Vec<String>,
    pub critical_technology_areas: Vec<CriticalTechnologyArea>,
    pub dual_use_categories: Vec<i32>,
    pub descriptions: Vec<LocalizedText>,
}

impl InstallationFields {
    /// The rules every installation obeys, draft or published: well-formed values.
    pub fn validate(&mut self, prefix: &str, violations: &mut Violations) {
        fields::text(
            &mut self.name,
            &format!("{prefix}.name"),
            true,
            MAX_NAME_CHARS,
            violations,
        );
        fields::countries(&mut self.countries, &format!("{prefix}.countries"), violations);
        dedup_in_order(&mut self.access_types);
        dedup_in_order(&mut self.access_modes);
        dedup_in_order(&mut self.scientific_domains);
        dedup_in_order(&mut self.critical_technology_areas);
        let unit = format!("{prefix}.unit_of_access.description");
        fields::text(&mut self.unit_description, &unit, false, MAX_UNIT_CHARS, violations);
        if self.annual_capacity_units < 0 {
            violations.add(format!("{prefix}.annual_capacity_units"), "must not be negative");
        }
        if let Some((min, max)) = self.trl
            && (!(1..=9).contains(&min) || !(1..=9).contains(&max) || min > max)
        {
            violations.add(
                format!("{prefix}.trl_min"),
                format!("TRL range {min}..{max} must lie within 1..9 with trl_min <= trl_max"),
            );
        }
        if !(0..=MAX_LEAD_TIME_DAYS).contains(&self.typical_lead_time_days) {
            violations.add(
                format!("{prefix}.typical_lead_time_days"),
                format!("must be between 0 and {MAX_LEAD_TIME_DAYS}"),
            );
        }
        if !at_most(
            &self.techniques,
            &format!("{prefix}.techniques"),
            MAX_TECHNIQUES,
            violations,
        ) {
            self.techniques.clear();
        }
        for (index, technique) in self.techniques.iter_mut().enumerate() {
            let field = format!("{prefix}.techniques[{index}]");
            fields::text(technique, &field, true, MAX_TECHNIQUE_CHARS, violations);
        }
        dedup_in_order(&mut self.techniques);
        let dual_use = format!("{prefix}.dual_use_categories");
        if !at_most(
            &self.dual_use_categories,
            &dual_use,
            MAX_DUAL_USE_CATEGORIES,
            violations,
        ) {
            self.dual_use_categories.clear();
        }
        dedup_in_order(&mut self.dual_use_categories);
        for (index, category) in self.dual_use_categories.iter().enumerate() {
            if !(0..=9).contains(category) {
                violations.add(
                    format!("{prefix}.dual_use_categories[{index}]"),
                    format!("{category} is not an Annex I category (0..9)"),
                );
            }
        }
        let descriptions = format!("{prefix}.descriptions");
        if !at_most(&self.descriptions, &descriptions, MAX_DESCRIPTIONS, violations) {
            self.descriptions.clear();
        }
        let mut languages: HashSet<String> = HashSet::new();
        for (index, description) in self.descriptions.iter_mut().enumerate() {
            let field = format!("{prefix}.descriptions[{index}]");
            description.language = description.language.trim().to_ascii_lowercase();
            let language = description.language.as_str();
            if language.len() != 2 || !language.bytes().all(|byte| byte.is_ascii_lowercase()) {
                violations.add(
                    format!("{field}.language"),
                    format!("{language:?} is not an ISO 639-1 code such as \"en\""),
                );
            } else if !languages.insert(language.to_owned()) {
                violations.add(format!("{field}.language"), format!("{language:?} is described twice"));
            }
            fields::text(
                &mut description.text,
                &format!("{field}.text"),
                true,
                MAX_DESCRIPTION_CHARS,
                violations,
            );
        }
    }

    /// What a user needs to request access, so what publishing requires (like MERIL's inclusion
    /// checklist): every missing field at once. `has_tariff` tells whether a tariff is valid now
    /// or later, which market access needs (clear prices, IND-2).
    pub fn completeness(&self, has_tariff: bool) -> Violations {
        let mut missing = Violations::new();
        if self.descriptions.is_empty() {
            missing.add("descriptions", "needs a description in at least one language");
        }
        if self.countries.is_empty() {
            missing.add("countries", "needs the country where the installation is");
        }
        if self.access_types.is_empty() {
            missing.add("access_types", "needs at least one access type");
        }
        if self.access_modes.is_empty() {
            missing.add("access_modes", "needs at least one access mode");
        }
        match self.unit_kind {
            None => missing.add("unit_of_access.kind", "needs the unit access is counted in"),
            Some(UnitKind::Other) if self.unit_description.is_empty() => {
                missing.add("unit_of_access.description", "must say what an OTHER unit is")
            }
            Some(_) => {}
        }
        if self.annual_capacity_units <= 0 {
            missing.add("annual_capacity_units", "needs the units offered per year");
        }
        if self.typical_lead_time_days <= 0 {
            missing.add(
                "typical_lead_time_days",
                "needs the typical days from request to access",
            );
        }
        if self.scientific_domains.is_empty() {
            missing.add("scientific_domains", "needs at least one scientific domain");
        }
        if self.access_modes.contains(&AccessMode::Market) && !has_tariff {
            missing.add("tariff", "market access needs a tariff valid now or later (SetTariff)");
        }
        missing
    }

    pub fn set_from(&mut self, from: &Self, path: &str) -> bool {
        match path {
            "name" => self.name.clone_from(&from.name),
            "countries" => self.countries.clone_from(&from.countries),
            "access_types" => self.access_types.clone_from(&from.access_types),
            "access_modes" => self.access_modes.clone_from(&from.access_modes),
            "unit_of_access" => {
                self.unit_kind = from.unit_kind;
                self.unit_description.clone_from(&from.unit_description);
            }
            "annual_capacity_units" => self.annual_capacity_units = from.annual_capacity_units,
            // The range is one value: either path replaces both ends.
            "trl_min" | "trl_max" => self.trl = from.trl,
            "typical_lead_time_days" => self.typical_lead_time_days = from.typical_lead_time_days,
            "scientific_domains" => self.scientific_domains.clone_from(&from.scientific_domains),
            "techniques" => self.techniques.clone_from(&from.techniques),
            "critical_technology_areas" => self
                .critical_technology_areas
                .clone_from(&from.critical_technology_areas),
            "dual_use_categories" => self.dual_use_categories.clone_from(&from.dual_use_categories),
            "descriptions" => self.descriptions.clone_from(&from.descriptions),
            _ => return false,
        }
        true
    }
}

/// Drops repeated values, keeping the first order.
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
            esfri_status: Some(EsfriStatus::Landmark),
            legal_form: Some(LegalForm::Eric),
            access_policy_uri: String::new(),
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
            access_policy_uri: "ftp://policy".into(),
            ..infrastructure_fields()
        };
        let mut violations = Violations::new();
        fields.validate("infrastructure", &mut violations);
        let reported: Vec<_> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            reported,
            [
                "infrastructure.name",
                "infrastructure.kind",
                "infrastructure.structure",
                "infrastructure.access_policy_uri"
            ]
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
    fn installation_lists_are_deduplicated() {
        let mut fields = InstallationFields {
            name: "Beamline 7".into(),
            access_types: vec![AccessType::Remote, AccessType::Physical, AccessType::Remote],
            dual_use_categories: vec![3, 3],
            ..InstallationFields::default()
        };
        fields.validate("installation", &mut Violations::new());
        assert_eq!(fields.access_types, [AccessType::Remote, AccessType::Physical]);
        assert_eq!(fields.dual_use_categories, [3]);
    }

    #[test]
    fn every_malformed_installation_field_is_reported_at_once() {
        let mut fields = InstallationFields {
            name: " ".into(),
            annual_capacity_units: -1,
            trl: Some((7, 3)),
            typical_lead_time_days: -2,
            techniques: vec![String::new()],
            dual_use_categories: vec![12],
            descriptions: vec![
                LocalizedText {
                    language: "english".into(),
                    text: "x".into(),
                },
                LocalizedText {
                    language: "DE".into(),
                    text: String::new(),
                },
            ],
            ..InstallationFields::default()
        };
        let mut violations = Violations::new();
        fields.validate("installation", &mut violations);
        let reported: Vec<_> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            reported,
            [
                "installation.name",
                "installation.annual_capacity_units",
                "installation.trl_min",
                "installation.typical_lead_time_days",
                "installation.techniques[0]",
                "installation.dual_use_categories[0]",
                "installation.descriptions[0].language",
                "installation.descriptions[1].text",
            ]
        );
        assert_eq!(fields.descriptions[1].language, "de");
    }

    #[test]
    fn completeness_lists_everything_publishing_needs() {
        let draft = InstallationFields {
            name: "Pilot line".into(),
            access_modes: vec![AccessMode::Market],
            unit_kind: Some(UnitKind::Other),
            ..InstallationFields::default()
        };
        let missing: Vec<_> = draft
            .completeness(false)
            .as_slice()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            missing,
            [
                "descriptions",
                "countries",
                "access_types",
                "unit_of_access.description",
                "annual_capacity_units",
                "typical_lead_time_days",
                "scientific_domains",
                "tariff"
            ]
        );
        let complete = InstallationFields {
            descriptions: vec![LocalizedText {
                language: "en".into(),
                text: "Wafers.".into(),
            }],
            countries: vec!["BE".into()],
            access_types: vec![AccessType::Physical],
            unit_kind: Some(UnitKind::Wafer),
            annual_capacity_units: 400,
            typical_lead_time_days: 30,
            scientific_domains: vec![ScientificDomain::PhysicalSciencesEngineering],
            ..draft
        };
        assert!(complete.completeness(true).is_empty());
        assert_eq!(complete.completeness(false).as_slice()[0].field, "tariff");
    }
}
