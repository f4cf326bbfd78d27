//! The demo catalogue: fictional providers, research and technology infrastructures and their
//! installations (the JSON files in `gateway/demo/`, each message in canonical proto3 JSON), with
//! tariffs and six months of calendar, loaded through the gateway like any client would. Every
//! write carries a fixed `request_id`, and calendars are only added to installations that have
//! none from today on, so loading again (a restart) changes nothing. Every description says it is
//! demo data.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
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

/// Calendars: windows of four weeks over the next six months.
const WINDOW_DAYS: i64 = 28;
const WINDOWS: i64 = 7;
/// Installations loaded at once; the store serialises writes anyway, this hides round trips.
const CONCURRENCY: usize = 8;
/// How long the search index may take to catch up with the loaded catalogue.
const SEARCHABLE_WITHIN: Duration = Duration::from_secs(30);

/// One file of the catalogue. The keys name the records in idempotency keys and in `calls.json`;
/// the messages leave out the ids the registry assigns (the provider's, the infrastructure's).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    providers: Vec<DemoProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoProvider {
    key: String,
    provider: proto::Provider,
    infrastructures: Vec<DemoInfrastructure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoInfrastructure {
    key: String,
    infrastructure: proto::Infrastructure,
    installations: Vec<DemoInstallation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoInstallation {
    key: String,
    installation: proto::Installation,
    /// Valid from a fixed instant, so that a reload sends the very same request.
    #[serde(default)]
    tariff: Option<proto::Tariff>,
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

fn parse_files() -> Result<Vec<CatalogueFile>, tonic::Status> {
    FILES
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text).map_err(|error| tonic::Status::internal(format!("demo file {name}: {error}")))
        })
        .collect()
}

/// Every demo installation as a create request would carry it (without its infrastructure id),
/// keyed `infrastructure-key/installation-key`: material for benchmarks and generators.
pub fn installations() -> Result<Vec<(String, proto::Installation)>, tonic::Status> {
    let mut installations = Vec::new();
    for file in parse_files()? {
        for infrastructure in file.providers.iter().flat_map(|provider| &provider.infrastructures) {
            for installation in &infrastructure.installations {
                let key = format!("{}/{}", infrastructure.key, installation.key);
                installations.push((key, installation.installation.clone()));
            }
        }
    }
    Ok(installations)
}

/// The names the search indexes beside each demo installation's own text: its infrastructure's
/// name and acronym and its provider's name, keyed `infrastructure-key/installation-key`.
pub fn parent_names() -> Result<BTreeMap<String, [String; 3]>, tonic::Status> {
    let mut names = BTreeMap::new();
    for provider in parse_files()?.iter().flat_map(|file| &file.providers) {
        for infrastructure in &provider.infrastructures {
            for installation in &infrastructure.installations {
                names.insert(
                    format!("{}/{}", infrastructure.key, installation.key),
                    [
                        infrastructure.infrastructure.name.clone(),
                        infrastructure.infrastructure.acronym.clone(),
                        provider.provider.name.clone(),
                    ],
                );
            }
        }
    }
    Ok(names)
}

/// Loads the demo catalogue through the gateway at `channel`, as an admin.
pub async fn load(channel: Channel, token: &str) -> Result<DemoCatalogue, tonic::Status> {
    let files = parse_files()?;
    let mut client = RegistryServiceClient::new(channel);
    let mut loaded = DemoCatalogue::default();
    let mut installations = Vec::new();
    for demo_provider in files.iter().flat_map(|file| &file.providers) {
        let request = proto::CreateProviderRequest {
            request_id: format!("demo-provider-{}", demo_provider.key),
            provider: Some(demo_provider.provider.clone()),
        };
        let provider = client.create_provider(authorised(request, token)?).await?.into_inner();
        loaded.providers += 1;
        for demo_infrastructure in &demo_provider.infrastructures {
            let request = proto::CreateInfrastructureRequest {
                request_id: format!("demo-infrastructure-{}", demo_infrastructure.key),
                infrastructure: Some(proto::Infrastructure {
                    provider_id: provider.id.clone(),
                    ..demo_infrastructure.infrastructure.clone()
                }),
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
    wait_until_searchable(&mut client, token, loaded.installations()).await?;
    Ok(loaded)
}

/// Waits until search finds at least `installations` published installations: the index
/// follows the registry's outbox a moment behind the writes. The polls go as the loader (an
/// admin), within its rate limit, not as an anonymous caller's.
async fn wait_until_searchable(
    client: &mut RegistryServiceClient<Channel>,
    token: &str,
    installations: usize,
) -> Result<(), tonic::Status> {
    let deadline = tokio::time::Instant::now() + SEARCHABLE_WITHIN;
    loop {
        let all = client
            .search_installations(authorised(proto::SearchInstallationsRequest::default(), token)?)
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
        installation: Some(proto::Installation {
            infrastructure_id: infrastructure_id.to_owned(),
            ..demo.installation.clone()
        }),
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
                ..tariff.clone()
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
    let asked = proto::GetAvailabilityRequest {
        installation_id: installation_id.to_owned(),
        from: Some(timestamp_from_micros(now)),
        to: Some(timestamp_from_micros(now + WINDOW_DAYS * WINDOWS * MICROS_PER_DAY)),
    };
    // As the loader, within its rate limit: a restart asks this of every installation at once.
    let existing = client.get_availability(authorised(asked, token)?).await?.into_inner();
    if !existing.windows.is_empty() {
        return Ok(());
    }
    let units = ((demo.installation.annual_capacity_units * WINDOW_DAYS + 364) / 365).max(1);
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
        let installations: Vec<&proto::Installation> = infrastructures
            .iter()
            .flat_map(|infrastructure| &infrastructure.installations)
            .map(|installation| &installation.installation)
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
            .flat_map(|installation| &installation.descriptions)
            .map(|description| &description.language)
            .collect();
        assert!(languages.len() >= 5, "{languages:?}");
        for kind in [
            proto::InfrastructureKind::Research,
            proto::InfrastructureKind::Technology,
        ] {
            assert!(
                infrastructures
                    .iter()
                    .any(|infrastructure| infrastructure.infrastructure.kind() == kind)
            );
        }
        let mut keys = std::collections::BTreeSet::new();
        for infrastructure in &infrastructures {
            for installation in &infrastructure.installations {
                let key = format!("{}/{}", infrastructure.key, installation.key);
                assert!(keys.insert(key.clone()), "{key} appears twice");
                assert!(
                    !installation.installation.descriptions.is_empty(),
                    "{key} has no description"
                );
            }
        }
    }

    #[test]
    fn the_demo_files_leave_the_ids_to_the_registry() {
        for file in parse_files().expect("the demo files parse") {
            for provider in &file.providers {
                assert!(provider.provider.id.is_empty(), "{}", provider.key);
                for infrastructure in &provider.infrastructures {
                    assert!(infrastructure.infrastructure.id.is_empty(), "{}", infrastructure.key);
                    assert!(
                        infrastructure.infrastructure.provider_id.is_empty(),
                        "{}",
                        infrastructure.key
                    );
                    for installation in &infrastructure.installations {
                        assert!(installation.installation.id.is_empty(), "{}", installation.key);
                        assert!(
                            installation.installation.infrastructure_id.is_empty(),
                            "{}",
                            installation.key
                        );
                        let tariff = installation.tariff.as_ref();
                        assert!(
                            tariff.is_none_or(|tariff| tariff.installation_id.is_empty()),
                            "{}",
                            installation.key
                        );
                    }
                }
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
