//! The demo catalogue for `rti up --demo`: a fictional catalogue of research and technology
//! infrastructures (the JSON files in `gateway/demo/`), with tariffs and six months of
//! calendar, loaded through the gateway like any client would. Every write carries a fixed
//! `request_id`, and calendars are only added to installations that have none from today on,
//! so loading again (a restart) changes nothing. Every description says it is demo data.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::common::Money;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_registry::convert;
use rti_registry::domain::{
    AccessMode, AccessType, CriticalTechnologyArea, EsfriStatus, InfrastructureKind, LegalForm, ScientificDomain,
    Structure, TariffBasis, UnitKind,
};
use serde::Deserialize;
use tonic::transport::Channel;

use super::{MICROS_PER_DAY, authorised};

/// The catalogue, by field of science.
const FILES: [(&str, &str); 3] = [
    (
        "physical-sciences.json",
        include_str!("../../demo/physical-sciences.json"),
    ),
    ("technology.json", include_str!("../../demo/technology.json")),
    (
        "life-environment-digital.json",
        include_str!("../../demo/life-environment-digital.json"),
    ),
];

/// Tariffs of the demo are valid from this instant (2026-01-01T00:00:00Z), so that a reload
/// sends the very same request.
const TARIFFS_VALID_FROM: i64 = 1_767_225_600_000_000;
/// Calendars: windows of four weeks over the next six months.
const WINDOW_DAYS: i64 = 28;
const WINDOWS: i64 = 7;
/// Installations loaded at once; the store serialises writes anyway, this hides round trips.
const CONCURRENCY: usize = 8;
/// How long the search index may take to catch up with the loaded catalogue.
const SEARCHABLE_WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    providers: Vec<DemoProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoProvider {
    key: String,
    name: String,
    country: String,
    infrastructures: Vec<DemoInfrastructure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoInfrastructure {
    key: String,
    name: String,
    acronym: String,
    kind: String,
    structure: String,
    esfri: String,
    legal_form: String,
    countries: Vec<String>,
    description: String,
    installations: Vec<DemoInstallation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoInstallation {
    key: String,
    name: String,
    countries: Vec<String>,
    access_types: Vec<String>,
    access_modes: Vec<String>,
    unit: String,
    unit_description: String,
    annual_capacity: i64,
    trl: (i32, i32),
    lead_time_days: i32,
    domains: Vec<String>,
    techniques: Vec<String>,
    critical_technology_areas: Vec<String>,
    dual_use_categories: Vec<i32>,
    descriptions: BTreeMap<String, String>,
    #[serde(default)]
    tariff: Option<DemoTariff>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTariff {
    price_eur_cents: i64,
    basis: String,
}

/// What the demo loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoCatalogue {
    pub providers: usize,
    pub infrastructure_ids: Vec<String>,
    /// `infrastructure-key/installation-key` → installation id.
    pub installation_ids: BTreeMap<String, String>,
}

impl DemoCatalogue {
    pub fn installations(&self) -> usize {
        self.installation_ids.len()
    }
}

fn parse_files() -> Result<Vec<DemoFile>, tonic::Status> {
    FILES
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text).map_err(|error| tonic::Status::internal(format!("demo file {name}: {error}")))
        })
        .collect()
}

/// A stored name from a demo file as its protobuf enum value.
fn code<T>(name: &str, from_stored: fn(&str) -> Option<T>, to_proto: fn(T) -> i32) -> Result<i32, tonic::Status> {
    from_stored(name)
        .map(to_proto)
        .ok_or_else(|| tonic::Status::internal(format!("demo data names an unknown value {name:?}")))
}

fn codes<T>(
    names: &[String],
    from_stored: fn(&str) -> Option<T>,
    to_proto: fn(T) -> i32,
) -> Result<Vec<i32>, tonic::Status> {
    names.iter().map(|name| code(name, from_stored, to_proto)).collect()
}

/// Every demo installation as a create request would carry it (without its infrastructure id),
/// keyed `infrastructure-key/installation-key`: material for benchmarks and generators.
pub fn installations() -> Result<Vec<(String, proto::Installation)>, tonic::Status> {
    let mut installations = Vec::new();
    for file in parse_files()? {
        for infrastructure in file.providers.iter().flat_map(|provider| &provider.infrastructures) {
            for installation in &infrastructure.installations {
                let key = format!("{}/{}", infrastructure.key, installation.key);
                installations.push((key, installation_message("", installation)?));
            }
        }
    }
    Ok(installations)
}

/// Loads the demo catalogue through the gateway at `channel`, as an admin.
pub async fn load(channel: Channel, token: &str) -> Result<DemoCatalogue, tonic::Status> {
    let files = parse_files()?;
    let mut client = RegistryServiceClient::new(channel);
    let mut loaded = DemoCatalogue::default();
    let mut installations = Vec::new();
    for demo_provider in files.iter().flat_map(|file| &file.providers) {
        let provider = proto::Provider {
            name: demo_provider.name.clone(),
            country: demo_provider.country.clone(),
            website: format!("https://{}.example.org", demo_provider.key),
            ..Default::default()
        };
        let request = proto::CreateProviderRequest {
            request_id: format!("demo-provider-{}", demo_provider.key),
            provider: Some(provider),
        };
        let provider = client.create_provider(authorised(request, token)?).await?.into_inner();
        loaded.providers += 1;
        for demo_infrastructure in &demo_provider.infrastructures {
            let infrastructure = infrastructure_message(&provider.id, demo_infrastructure)?;
            let request = proto::CreateInfrastructureRequest {
                request_id: format!("demo-infrastructure-{}", demo_infrastructure.key),
                infrastructure: Some(infrastructure),
            };
            let infrastructure = client
                .create_infrastructure(authorised(request, token)?)
                .await?
                .into_inner();
            for demo_installation in &demo_infrastructure.installations {
                let key = format!("{}/{}", demo_infrastructure.key, demo_installation.key);
                installations.push((key, infrastructure.id.clone(), demo_installation));
            }
            loaded.infrastructure_ids.push(infrastructure.id);
        }
    }
    let anchor = calendar_anchor(now_micros());
    let mut results = futures::stream::iter(installations)
        .map(|(key, infrastructure_id, demo)| {
            let client = client.clone();
            async move {
                let id = load_installation(client, token, &key, &infrastructure_id, demo, anchor).await?;
                Ok::<_, tonic::Status>((key, id))
            }
        })
        .buffer_unordered(CONCURRENCY);
    while let Some(result) = results.next().await {
        let (key, id) = result?;
        loaded.installation_ids.insert(key, id);
    }
    drop(results);
    wait_until_searchable(&mut client, loaded.installations()).await?;
    Ok(loaded)
}

/// Waits until search finds at least `installations` published installations: the index
/// follows the registry's outbox a moment behind the writes.
async fn wait_until_searchable(
    client: &mut RegistryServiceClient<Channel>,
    installations: usize,
) -> Result<(), tonic::Status> {
    let deadline = tokio::time::Instant::now() + SEARCHABLE_WITHIN;
    loop {
        let all = client
            .search_installations(proto::SearchInstallationsRequest::default())
            .await?
            .into_inner();
        if usize::try_from(all.total_hits).unwrap_or(0) >= installations {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(tonic::Status::deadline_exceeded(format!(
                "search finds {} of the {installations} demo installations after {SEARCHABLE_WITHIN:?}",
                all.total_hits
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn infrastructure_message(
    provider_id: &str,
    demo: &DemoInfrastructure,
) -> Result<proto::Infrastructure, tonic::Status> {
    Ok(proto::Infrastructure {
        provider_id: provider_id.to_owned(),
        name: demo.name.clone(),
        acronym: demo.acronym.clone(),
        description: demo.description.clone(),
        kind: code(&demo.kind, InfrastructureKind::from_stored, convert::kind_to_proto)?,
        structure: code(&demo.structure, Structure::from_stored, convert::structure_to_proto)?,
        countries: demo.countries.clone(),
        website: format!("https://{}.example.org", demo.key),
        esfri_status: code(&demo.esfri, EsfriStatus::from_stored, convert::esfri_to_proto)?,
        legal_form: code(&demo.legal_form, LegalForm::from_stored, convert::legal_form_to_proto)?,
        access_policy_uri: format!("https://{}.example.org/access-policy", demo.key),
        ..Default::default()
    })
}

fn installation_message(
    infrastructure_id: &str,
    demo: &DemoInstallation,
) -> Result<proto::Installation, tonic::Status> {
    Ok(proto::Installation {
        infrastructure_id: infrastructure_id.to_owned(),
        name: demo.name.clone(),
        countries: demo.countries.clone(),
        access_types: codes(
            &demo.access_types,
            AccessType::from_stored,
            convert::access_type_to_proto,
        )?,
        access_modes: codes(
            &demo.access_modes,
            AccessMode::from_stored,
            convert::access_mode_to_proto,
        )?,
        unit_of_access: Some(proto::UnitOfAccess {
            kind: code(&demo.unit, UnitKind::from_stored, convert::unit_kind_to_proto)?,
            description: demo.unit_description.clone(),
        }),
        annual_capacity_units: demo.annual_capacity,
        trl_min: demo.trl.0,
        trl_max: demo.trl.1,
        typical_lead_time_days: demo.lead_time_days,
        scientific_domains: codes(&demo.domains, ScientificDomain::from_stored, convert::domain_to_proto)?,
        techniques: demo.techniques.clone(),
        critical_technology_areas: codes(
            &demo.critical_technology_areas,
            CriticalTechnologyArea::from_stored,
            convert::area_to_proto,
        )?,
        dual_use_categories: demo.dual_use_categories.clone(),
        descriptions: demo
            .descriptions
            .iter()
            .map(|(language, text)| proto::LocalizedText {
                language: language.clone(),
                text: text.clone(),
            })
            .collect(),
        ..Default::default()
    })
}

/// Creates, prices, publishes and fills the calendar of one installation; returns its id.
async fn load_installation(
    mut client: RegistryServiceClient<Channel>,
    token: &str,
    key: &str,
    infrastructure_id: &str,
    demo: &DemoInstallation,
    anchor: i64,
) -> Result<String, tonic::Status> {
    let request = proto::CreateInstallationRequest {
        request_id: format!("demo-installation-{key}"),
        installation: Some(installation_message(infrastructure_id, demo)?),
    };
    let installation = client
        .create_installation(authorised(request, token)?)
        .await?
        .into_inner();
    let id = installation.id;
    if let Some(tariff) = &demo.tariff {
        let request = proto::SetTariffRequest {
            request_id: format!("demo-tariff-{key}"),
            tariff: Some(proto::Tariff {
                installation_id: id.clone(),
                price_per_unit: Some(Money {
                    currency: "EUR".into(),
                    minor_units: tariff.price_eur_cents,
                }),
                basis: code(&tariff.basis, TariffBasis::from_stored, convert::basis_to_proto)?,
                valid_from: Some(timestamp_from_micros(TARIFFS_VALID_FROM)),
                ..Default::default()
            }),
        };
        client.set_tariff(authorised(request, token)?).await?;
    }
    let request = proto::PublishInstallationRequest { id: id.clone() };
    client.publish_installation(authorised(request, token)?).await?;
    load_calendar(&mut client, token, key, &id, demo, anchor).await?;
    Ok(id)
}

/// Monday 00:00 UTC of the week of `now`.
fn calendar_anchor(now: i64) -> i64 {
    let day = now.div_euclid(MICROS_PER_DAY);
    // 1970-01-01 was a Thursday: day 0 is weekday 3 counting from Monday = 0.
    let monday = day - (day + 3).rem_euclid(7);
    monday * MICROS_PER_DAY
}

/// Seven four-week windows from `anchor`, sized from the annual capacity, and for about one
/// installation in four a few days of maintenance, unless the installation already has a
/// calendar from now on (a reload).
async fn load_calendar(
    client: &mut RegistryServiceClient<Channel>,
    token: &str,
    key: &str,
    installation_id: &str,
    demo: &DemoInstallation,
    anchor: i64,
) -> Result<(), tonic::Status> {
    let now = now_micros();
    let existing = client
        .get_availability(proto::GetAvailabilityRequest {
            installation_id: installation_id.to_owned(),
            from: Some(timestamp_from_micros(now)),
            to: Some(timestamp_from_micros(now + WINDOW_DAYS * WINDOWS * MICROS_PER_DAY)),
        })
        .await?
        .into_inner();
    if !existing.windows.is_empty() {
        return Ok(());
    }
    let units = ((demo.annual_capacity * WINDOW_DAYS + 364) / 365).max(1);
    for index in 0..WINDOWS {
        let start = anchor + index * WINDOW_DAYS * MICROS_PER_DAY;
        let request = proto::AddCapacityWindowRequest {
            request_id: format!("demo-window-{key}-{anchor}-{index}"),
            window: Some(proto::CapacityWindow {
                installation_id: installation_id.to_owned(),
                start_time: Some(timestamp_from_micros(start)),
                end_time: Some(timestamp_from_micros(start + WINDOW_DAYS * MICROS_PER_DAY)),
                units,
                ..Default::default()
            }),
        };
        client.add_capacity_window(authorised(request, token)?).await?;
    }
    let seed = key
        .bytes()
        .fold(0_i64, |hash, byte| (hash * 31 + i64::from(byte)) % 1_000_003);
    if seed % 4 == 0 {
        let start = anchor + (42 + seed % 70) * MICROS_PER_DAY;
        let days = 3 + seed % 5;
        let request = proto::AddDowntimeRequest {
            request_id: format!("demo-downtime-{key}-{anchor}"),
            downtime: Some(proto::Downtime {
                installation_id: installation_id.to_owned(),
                start_time: Some(timestamp_from_micros(start)),
                end_time: Some(timestamp_from_micros(start + days * MICROS_PER_DAY)),
                reason: "Planned maintenance (demo data).".into(),
                ..Default::default()
            }),
        };
        client.add_downtime(authorised(request, token)?).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_catalogue_is_as_large_and_varied_as_promised() {
        let files = parse_files().expect("the demo files parse");
        let providers: Vec<&DemoProvider> = files.iter().flat_map(|file| &file.providers).collect();
        let infrastructures: Vec<&DemoInfrastructure> = providers
            .iter()
            .flat_map(|provider| &provider.infrastructures)
            .collect();
        let installations: Vec<&DemoInstallation> = infrastructures
            .iter()
            .flat_map(|infrastructure| &infrastructure.installations)
            .collect();
        assert!(infrastructures.len() >= 40, "{} infrastructures", infrastructures.len());
        assert!(installations.len() >= 150, "{} installations", installations.len());
        let countries: std::collections::BTreeSet<&String> = installations
            .iter()
            .flat_map(|installation| &installation.countries)
            .collect();
        assert!(countries.len() >= 15, "{countries:?}");
        let languages: std::collections::BTreeSet<&String> = installations
            .iter()
            .flat_map(|installation| installation.descriptions.keys())
            .collect();
        assert!(languages.len() >= 5, "{languages:?}");
        for kind in ["research", "technology"] {
            assert!(infrastructures.iter().any(|infrastructure| infrastructure.kind == kind));
        }
        let mut keys = std::collections::BTreeSet::new();
        for infrastructure in &infrastructures {
            for installation in &infrastructure.installations {
                let key = format!("{}/{}", infrastructure.key, installation.key);
                assert!(keys.insert(key.clone()), "{key} appears twice");
                let message = installation_message("x", installation).expect("known enum names");
                assert!(!message.descriptions.is_empty(), "{key} has no description");
            }
        }
    }

    #[test]
    fn calendars_start_on_the_monday_of_the_week() {
        // 2026-11-23 is a Monday; 2026-11-26 a Thursday.
        let monday = 20_780 * MICROS_PER_DAY;
        assert_eq!(calendar_anchor(monday + 5), monday);
        assert_eq!(calendar_anchor(monday + 3 * MICROS_PER_DAY + 7), monday);
        assert_eq!(calendar_anchor(monday - 1), monday - 7 * MICROS_PER_DAY);
    }
}
