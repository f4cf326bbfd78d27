//! Spawns a registry on port 0 over a throwaway database, and builds authorised requests.

use rti_platform::db::Backend;
use rti_platform::server::{InFlight, ServiceConfig, StartError};
use rti_platform::testing::connect;
use rti_platform::testing::{TestDatabase, test_auth};
pub use rti_platform::testing::{eventually, failed_subjects, violated_fields, with_token};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

#[derive(Debug)]
pub struct TestService {
    pub address: std::net::SocketAddr,
    /// Where the registry's metrics are served, when the test asked for them.
    pub metrics: Option<std::net::SocketAddr>,
    pub channel: Channel,
    pub database: TestDatabase,
    pub in_flight: InFlight,
    pub shutdown: CancellationToken,
    pub running: JoinHandle<Result<(), StartError>>,
}

/// A registry on a fresh database; `None` when PostgreSQL tests are skipped on purpose.
pub async fn spawn_service(backend: Backend) -> Option<TestService> {
    spawn_service_with(backend, |_| {}).await
}

pub async fn spawn_service_with(backend: Backend, adjust: impl FnOnce(&mut ServiceConfig)) -> Option<TestService> {
    let database = TestDatabase::create(backend).await?;
    let mut config = ServiceConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        database.url.clone(),
        test_auth(),
    );
    adjust(&mut config);
    let app = rti_registry::App::build(config).await.expect("the registry starts");
    let address = app.local_addr();
    let metrics = app.metrics_addr();
    let in_flight = app.in_flight();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until(shutdown.clone()));
    let channel = connect(address).await;
    Some(TestService {
        address,
        metrics,
        channel,
        database,
        in_flight,
        shutdown,
        running,
    })
}

impl TestService {
    pub fn client(&self) -> RegistryServiceClient<Channel> {
        RegistryServiceClient::new(self.channel.clone())
    }
}

pub fn provider(name: &str) -> proto::Provider {
    proto::Provider {
        name: name.into(),
        country: "NL".into(),
        ..Default::default()
    }
}

pub fn infrastructure(provider_id: &str, name: &str) -> proto::Infrastructure {
    proto::Infrastructure {
        provider_id: provider_id.into(),
        name: name.into(),
        acronym: "DEMO".into(),
        kind: proto::InfrastructureKind::Research as i32,
        structure: proto::InfrastructureStructure::SingleSited as i32,
        countries: vec!["DE".into()],
        ..Default::default()
    }
}

/// A draft installation with everything publishing needs, except a tariff for market access.
pub fn installation(infrastructure_id: &str, name: &str) -> proto::Installation {
    proto::Installation {
        infrastructure_id: infrastructure_id.into(),
        name: name.into(),
        countries: vec!["DE".into()],
        access_types: vec![proto::AccessType::Physical as i32],
        access_modes: vec![proto::AccessMode::Excellence as i32],
        unit_of_access: Some(proto::UnitOfAccess {
            kind: proto::UnitKind::Hour as i32,
            description: "one hour of instrument time".into(),
        }),
        annual_capacity_units: 1000,
        trl_min: 2,
        trl_max: 6,
        typical_lead_time_days: 14,
        scientific_domains: vec![proto::ScientificDomain::PhysicalSciencesEngineering as i32],
        techniques: vec!["scanning electron microscopy".into()],
        descriptions: vec![proto::LocalizedText {
            language: "en".into(),
            text: format!("{name}: an instrument for tests."),
        }],
        ..Default::default()
    }
}

/// A provider, an infrastructure and a draft installation in it, created as an admin.
pub async fn create_installation(client: &mut RegistryServiceClient<Channel>, name: &str) -> proto::Installation {
    create_installation_from(client, |installation| proto::Installation {
        name: name.into(),
        ..installation
    })
    .await
}

/// Like [`create_installation`], with the installation shaped by `shape`.
pub async fn create_installation_from(
    client: &mut RegistryServiceClient<Channel>,
    shape: impl FnOnce(proto::Installation) -> proto::Installation,
) -> proto::Installation {
    let admin = rti_platform::testing::token(rti_platform::auth::Role::Admin);
    let provider = client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(provider("Calendar Provider")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("provider")
        .into_inner();
    let infrastructure = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(infrastructure(&provider.id, "Calendar Infrastructure")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("infrastructure")
        .into_inner();
    client
        .create_installation(with_token(
            proto::CreateInstallationRequest {
                installation: Some(shape(installation(&infrastructure.id, "Installation"))),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("installation")
        .into_inner()
}
