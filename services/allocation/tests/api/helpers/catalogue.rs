//! The registry's side of the world: installations published in an infrastructure of a given
//! legal form, with capacity windows and a tariff.

use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

use super::{DAY, SITE_WINDOW_UNITS, admin, day, operator_token, with_token};

/// An installation of the registry, published, with its infrastructure, a capacity window and a
/// tariff (so that industrial-lane requests can be quoted).
#[derive(Debug, Clone)]
pub struct Site {
    pub installation: registry::Installation,
    pub infrastructure: registry::Infrastructure,
    /// [`SITE_WINDOW_UNITS`] units from tomorrow on.
    pub window: registry::CapacityWindow,
}

impl Site {
    pub fn id(&self) -> &str {
        &self.installation.id
    }

    /// An operator of this site's infrastructure.
    pub fn operator(&self) -> String {
        operator_token(&[&self.infrastructure.id])
    }
}

/// A provider, an infrastructure of `legal_form` and a published installation in `country`,
/// with a window of [`SITE_WINDOW_UNITS`] units and a tariff.
pub(super) async fn add_site(registry: &Channel, name: &str, country: &str, legal_form: registry::LegalForm) -> Site {
    let mut catalogue = RegistryServiceClient::new(registry.clone());
    let admin = admin();
    let provider = catalogue
        .create_provider(with_token(
            registry::CreateProviderRequest {
                provider: Some(registry::Provider {
                    name: format!("{name} Provider"),
                    country: country.into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("provider")
        .into_inner();
    let infrastructure = catalogue
        .create_infrastructure(with_token(
            registry::CreateInfrastructureRequest {
                infrastructure: Some(registry::Infrastructure {
                    provider_id: provider.id.clone(),
                    name: format!("{name} Infrastructure"),
                    acronym: "TI".into(),
                    kind: registry::InfrastructureKind::Research as i32,
                    structure: registry::InfrastructureStructure::SingleSited as i32,
                    countries: vec![country.into()],
                    legal_form: legal_form as i32,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("infrastructure")
        .into_inner();
    let installation = create_installation(&mut catalogue, &infrastructure.id, name, country).await;
    let installation = catalogue
        .publish_installation(with_token(
            registry::PublishInstallationRequest {
                id: installation.id.clone(),
            },
            &admin,
        ))
        .await
        .expect("publishes")
        .into_inner();
    let window = add_window(registry, &installation.id, (day(1), day(61)), SITE_WINDOW_UNITS).await;
    catalogue
        .set_tariff(with_token(
            registry::SetTariffRequest {
                tariff: Some(registry::Tariff {
                    installation_id: installation.id.clone(),
                    price_per_unit: Some(rti_proto::common::Money {
                        currency: "EUR".into(),
                        minor_units: 10_000,
                    }),
                    basis: registry::TariffBasis::MarketPrice as i32,
                    valid_from: Some(timestamp_from_micros(now_micros() - 365 * DAY)),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("sets the tariff");
    Site {
        installation,
        infrastructure,
        window,
    }
}

/// A draft installation in `infrastructure_id`, complete enough to be published.
pub(super) async fn create_installation(
    catalogue: &mut RegistryServiceClient<Channel>,
    infrastructure_id: &str,
    name: &str,
    country: &str,
) -> registry::Installation {
    catalogue
        .create_installation(with_token(
            registry::CreateInstallationRequest {
                installation: Some(registry::Installation {
                    infrastructure_id: infrastructure_id.into(),
                    name: name.into(),
                    countries: vec![country.into()],
                    access_types: vec![registry::AccessType::Physical as i32],
                    access_modes: vec![registry::AccessMode::Excellence as i32],
                    unit_of_access: Some(registry::UnitOfAccess {
                        kind: registry::UnitKind::Hour as i32,
                        description: "one hour".into(),
                    }),
                    annual_capacity_units: 1000,
                    trl_min: 2,
                    trl_max: 6,
                    typical_lead_time_days: 14,
                    scientific_domains: vec![registry::ScientificDomain::PhysicalSciencesEngineering as i32],
                    descriptions: vec![registry::LocalizedText {
                        language: "en".into(),
                        text: format!("{name}, for tests."),
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin(),
        ))
        .await
        .expect("installation")
        .into_inner()
}

/// A capacity window of `units` over `(from, to)` (UTC microseconds).
pub(super) async fn add_window(
    registry: &Channel,
    installation_id: &str,
    (from, to): (i64, i64),
    units: i64,
) -> registry::CapacityWindow {
    RegistryServiceClient::new(registry.clone())
        .add_capacity_window(with_token(
            registry::AddCapacityWindowRequest {
                window: Some(registry::CapacityWindow {
                    installation_id: installation_id.into(),
                    start_time: Some(timestamp_from_micros(from)),
                    end_time: Some(timestamp_from_micros(to)),
                    units,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin(),
        ))
        .await
        .expect("adds the window")
        .into_inner()
}
