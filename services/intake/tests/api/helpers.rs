//! A registry with published installations and an intake in front of it, each on port 0; the
//! intake's database is the backend under test, the registry's a throwaway SQLite file.

use std::time::Duration;

use rti_platform::auth::{Claims, Role};
use rti_platform::db::Backend;
use rti_platform::server::{ServiceConfig, StartError};
use rti_platform::testing::connect;
use rti_platform::testing::{TestDatabase, sign, test_auth, token};
pub use rti_platform::testing::{violated_fields, with_token};
use rti_proto::intake as proto;
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A fictional sanctions list (every name invented), in the EU XML export's shape.
pub const SANCTIONS_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-11-20T18:00:00.000+01:00">
  <sanctionEntity euReferenceNumber="EU.FICT.1" logicalId="FICT.0001">
    <regulation programme="RUS"/>
    <subjectType code="person" classificationCode="P"/>
    <nameAlias wholeName="Boris Invented-Testname"/>
  </sanctionEntity>
  <sanctionEntity euReferenceNumber="EU.FICT.2" logicalId="FICT.0002">
    <regulation programme="BLR"/>
    <subjectType code="enterprise" classificationCode="E"/>
    <nameAlias wholeName="Imaginary Heavy Industries"/>
  </sanctionEntity>
</export>"#;

pub struct World {
    pub intake: Channel,
    pub registry: Channel,
    /// A published installation with no security tags, in DE.
    pub plain: registry::Installation,
    /// A published installation in a critical technology area (QUANTUM), in FR.
    pub quantum: registry::Installation,
    /// A draft installation.
    pub draft: registry::Installation,
    _database: TestDatabase,
    _registry_database: TestDatabase,
    registry_address: std::net::SocketAddr,
    shutdown: CancellationToken,
    running: Vec<JoinHandle<Result<(), StartError>>>,
    /// Intake alone, so that a test can restart it on the same database.
    intake_running: Option<(CancellationToken, JoinHandle<Result<(), StartError>>)>,
}

fn config(database: &TestDatabase) -> ServiceConfig {
    ServiceConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        database.url.clone(),
        test_auth(),
    )
}

/// The registry and intake, with installations; `None` when PostgreSQL tests are skipped.
pub async fn world(backend: Backend) -> Option<World> {
    world_with(backend, rti_intake::app::Options::default()).await
}

/// Intake on `database`, stopped by `stop`; its address.
async fn start_intake(
    database: &TestDatabase,
    registry_address: std::net::SocketAddr,
    options: rti_intake::app::Options,
    stop: CancellationToken,
) -> (std::net::SocketAddr, JoinHandle<Result<(), StartError>>) {
    let intake_app = rti_intake::App::build_with(
        config(database),
        format!("http://{registry_address}").parse().expect("uri"),
        options,
    )
    .await
    .expect("intake starts");
    let intake_address = intake_app.local_addr();
    (intake_address, tokio::spawn(intake_app.run_until(stop)))
}

/// As [`world`], with intake's `options`.
pub async fn world_with(backend: Backend, options: rti_intake::app::Options) -> Option<World> {
    let database = TestDatabase::create(backend).await?;
    let registry_database = TestDatabase::create(Backend::Sqlite).await.expect("sqlite");
    let shutdown = CancellationToken::new();
    let registry_app = rti_registry::App::build(config(&registry_database))
        .await
        .expect("the registry starts");
    let registry_address = registry_app.local_addr();
    let running = vec![tokio::spawn(registry_app.run_until(shutdown.clone()))];
    let intake_stop = shutdown.child_token();
    let (intake_address, intake_task) = start_intake(&database, registry_address, options, intake_stop.clone()).await;
    let intake = connect(intake_address).await;

    let registry_channel = connect(registry_address).await;
    let mut catalogue = RegistryServiceClient::new(registry_channel.clone());
    let infrastructure = infrastructure(&mut catalogue, "Test").await;
    let plain = installation(&mut catalogue, &infrastructure.id, "Cleanroom", "DE", vec![], true).await;
    let quantum = installation(
        &mut catalogue,
        &infrastructure.id,
        "Quantum testbed",
        "FR",
        vec![registry::CriticalTechnologyArea::Quantum as i32],
        true,
    )
    .await;
    let draft = installation(&mut catalogue, &infrastructure.id, "Draft lab", "DE", vec![], false).await;
    Some(World {
        intake,
        registry: registry_channel,
        plain,
        quantum,
        draft,
        _database: database,
        _registry_database: registry_database,
        registry_address,
        shutdown,
        running,
        intake_running: Some((intake_stop, intake_task)),
    })
}

/// A provider and one infrastructure of it; the infrastructure's id.
async fn infrastructure(catalogue: &mut RegistryServiceClient<Channel>, name: &str) -> registry::Infrastructure {
    let admin = token(Role::Admin);
    let provider = catalogue
        .create_provider(with_token(
            registry::CreateProviderRequest {
                provider: Some(registry::Provider {
                    name: format!("{name} Provider"),
                    country: "DE".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("provider")
        .into_inner();
    catalogue
        .create_infrastructure(with_token(
            registry::CreateInfrastructureRequest {
                infrastructure: Some(registry::Infrastructure {
                    provider_id: provider.id.clone(),
                    name: format!("{name} Infrastructure"),
                    acronym: "TI".into(),
                    kind: registry::InfrastructureKind::Technology as i32,
                    structure: registry::InfrastructureStructure::SingleSited as i32,
                    countries: vec!["DE".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("infrastructure")
        .into_inner()
}

async fn installation(
    catalogue: &mut RegistryServiceClient<Channel>,
    infrastructure_id: &str,
    name: &str,
    country: &str,
    critical_technology_areas: Vec<i32>,
    publish: bool,
) -> registry::Installation {
    let admin = token(Role::Admin);
    let created = catalogue
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
                    critical_technology_areas,
                    descriptions: vec![registry::LocalizedText {
                        language: "en".into(),
                        text: format!("{name}, for tests."),
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("installation")
        .into_inner();
    if !publish {
        return created;
    }
    catalogue
        .publish_installation(with_token(
            registry::PublishInstallationRequest { id: created.id.clone() },
            &admin,
        ))
        .await
        .expect("publishes")
        .into_inner()
}

impl World {
    pub fn client(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(self.intake.clone())
    }

    /// Runs `sql` on intake's own database: for tests that need time to have passed.
    pub async fn sql(&self, sql: &'static str, id: &str) {
        let database = rti_platform::db::Database::open(&self._database.url, rti_intake::app::SPEC.migrations, 1)
            .await
            .expect("opens intake's database");
        let mut transaction = database.begin_write().await.expect("writes");
        sqlx::query(sql)
            .bind(id)
            .execute(&mut *transaction)
            .await
            .expect("runs");
        transaction.commit().await.expect("commits");
        database.close().await;
    }

    /// A published installation without security tags in an infrastructure of its own.
    pub async fn elsewhere(&self, name: &str) -> registry::Installation {
        let mut catalogue = RegistryServiceClient::new(self.registry.clone());
        let infrastructure = infrastructure(&mut catalogue, name).await;
        installation(&mut catalogue, &infrastructure.id, name, "DE", vec![], true).await
    }

    /// Sets `installation_id`'s market price per unit, in EUR cents, from a year ago.
    pub async fn set_tariff(&self, installation_id: &str, eur_cents: i64) {
        RegistryServiceClient::new(self.registry.clone())
            .set_tariff(with_token(
                registry::SetTariffRequest {
                    tariff: Some(registry::Tariff {
                        installation_id: installation_id.into(),
                        price_per_unit: Some(rti_proto::common::Money {
                            currency: "EUR".into(),
                            minor_units: eur_cents,
                        }),
                        basis: registry::TariffBasis::MarketPrice as i32,
                        valid_from: Some(rti_platform::time::timestamp_from_micros(
                            rti_platform::time::now_micros() - 365 * 86_400_000_000,
                        )),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &token(Role::Admin),
            ))
            .await
            .expect("sets the tariff");
    }

    /// A draft of `applicant` for the plain installation, submitted and screened clear.
    pub async fn in_feasibility(&self, applicant: &str) -> proto::AccessRequest {
        let draft = self.draft(applicant, industrial(&self.plain.id)).await;
        let submitted = self.submit(applicant, &draft.id).await.expect("submits");
        assert_eq!(submitted.status(), proto::AccessRequestStatus::Feasibility);
        submitted
    }

    /// Stops intake and starts it again on the same database with `options`.
    pub async fn restart_intake(&mut self, options: rti_intake::app::Options) {
        if let Some((stop, task)) = self.intake_running.take() {
            stop.cancel();
            task.await.expect("task").expect("stops cleanly");
        }
        let stop = self.shutdown.child_token();
        let (address, task) = start_intake(&self._database, self.registry_address, options, stop.clone()).await;
        self.intake = connect(address).await;
        self.intake_running = Some((stop, task));
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some((_, task)) = self.intake_running.take() {
            task.await.expect("task").expect("stops cleanly");
        }
        for running in self.running {
            running.await.expect("task").expect("stops cleanly");
        }
    }

    /// Imports [`SANCTIONS_XML`] as an admin.
    pub async fn import_fixture_list(&self) -> proto::SanctionsListVersion {
        self.import_xml_list(SANCTIONS_XML).await
    }

    /// Imports a list in the XML export's shape as an admin.
    pub async fn import_xml_list(&self, content: &str) -> proto::SanctionsListVersion {
        self.client()
            .import_sanctions_list(with_token(
                proto::ImportSanctionsListRequest {
                    format: proto::SanctionsListFormat::Xml as i32,
                    content: content.as_bytes().to_vec(),
                },
                &token(Role::Admin),
            ))
            .await
            .expect("imports")
            .into_inner()
    }

    /// Registers `organisation` as its own applicant would, and returns it with that
    /// applicant's token.
    pub async fn register(&self, organisation: proto::Organisation) -> (proto::Organisation, String) {
        let id = rti_platform::ids::new_id();
        let applicant = applicant_token(&id);
        let registered = self
            .client()
            .register_organisation(with_token(
                proto::RegisterOrganisationRequest {
                    organisation: Some(organisation),
                    ..Default::default()
                },
                &applicant,
            ))
            .await
            .expect("registers")
            .into_inner();
        assert_eq!(registered.id, id);
        (registered, applicant)
    }

    pub async fn person(&self, applicant: &str, name: &str) -> proto::Person {
        self.client()
            .register_person(with_token(
                proto::RegisterPersonRequest {
                    person: Some(proto::Person {
                        full_name: name.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                applicant,
            ))
            .await
            .expect("registers the person")
            .into_inner()
    }

    /// A user group of `applicant`'s organisation.
    pub async fn user_group(
        &self,
        applicant: &str,
        leader_person_id: &str,
        member_person_ids: &[&str],
    ) -> proto::UserGroup {
        self.client()
            .create_user_group(with_token(
                proto::CreateUserGroupRequest {
                    user_group: Some(proto::UserGroup {
                        name: "Sensor team".into(),
                        leader_person_id: leader_person_id.into(),
                        member_person_ids: member_person_ids.iter().map(|id| (*id).to_owned()).collect(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                applicant,
            ))
            .await
            .expect("creates the group")
            .into_inner()
    }

    /// Creates a draft as `applicant`.
    pub async fn draft(&self, applicant: &str, request: proto::AccessRequest) -> proto::AccessRequest {
        self.client()
            .create_access_request(with_token(
                proto::CreateAccessRequestRequest {
                    idempotency_key: rti_platform::ids::new_id(),
                    access_request: Some(request),
                },
                applicant,
            ))
            .await
            .expect("creates the draft")
            .into_inner()
    }

    /// An industrial request for the plain installation with `contact_person_id` as its contact,
    /// created and submitted as `applicant`: screening has run.
    pub async fn submitted_with_contact(&self, applicant: &str, contact_person_id: &str) -> proto::AccessRequest {
        let draft = self
            .draft(
                applicant,
                proto::AccessRequest {
                    contact_person_id: contact_person_id.into(),
                    ..industrial(&self.plain.id)
                },
            )
            .await;
        self.submit(applicant, &draft.id).await.expect("submits")
    }

    pub async fn submit(&self, applicant: &str, id: &str) -> Result<proto::AccessRequest, tonic::Status> {
        self.client()
            .submit_access_request(with_token(
                proto::SubmitAccessRequestRequest {
                    id: id.into(),
                    accept_agreement: true,
                },
                applicant,
            ))
            .await
            .map(tonic::Response::into_inner)
    }
}

/// An applicant token for organisation `org`.
pub fn applicant_token(org: &str) -> String {
    let mut claims = Claims::new(
        format!("applicant-of-{org}"),
        &[Role::Applicant],
        Duration::from_secs(3600),
    );
    claims.org = Some(org.to_owned());
    sign(claims)
}

/// A small German company: 12 staff, EUR 1.5 M turnover (small, SME-1).
pub fn small_company(name: &str) -> proto::Organisation {
    proto::Organisation {
        legal_name: name.into(),
        country: "DE".into(),
        kind: proto::OrganisationKind::Company as i32,
        legal_form: "GmbH".into(),
        figures: Some(proto::Figures {
            headcount_awu: 12.0,
            turnover_eur_cents: 150_000_000,
            balance_sheet_eur_cents: 90_000_000,
        }),
        reference_year: 2025,
        ..Default::default()
    }
}

/// A large company: 4,000 staff (not an SME).
pub fn large_company(name: &str) -> proto::Organisation {
    proto::Organisation {
        figures: Some(proto::Figures {
            headcount_awu: 4000.0,
            turnover_eur_cents: 90_000_000_000,
            balance_sheet_eur_cents: 80_000_000_000,
        }),
        ..small_company(name)
    }
}

/// An industrial-lane draft for `installation_id`.
pub fn industrial(installation_id: &str) -> proto::AccessRequest {
    proto::AccessRequest {
        lane: proto::Lane::Industrial as i32,
        installations: vec![proto::RequestedInstallation {
            installation_id: installation_id.into(),
            units: 4,
        }],
        title: "Four hours of cleanroom lithography".into(),
        description: "Patterning test wafers for a sensor prototype.".into(),
        confidentiality: proto::ConfidentialityLevel::Confidential as i32,
        ip_regime: proto::IpRegime::UserOwns as i32,
        agreement_kind: proto::AgreementKind::ServiceContract as i32,
        ..Default::default()
    }
}

/// A transnational-access draft of `user_group_id` for `installation_id`, to a new call, leaving
/// the agreement and IP regime to the lane's defaults.
pub fn transnational(installation_id: &str, user_group_id: &str) -> proto::AccessRequest {
    proto::AccessRequest {
        lane: proto::Lane::Transnational as i32,
        user_group_id: user_group_id.into(),
        call_id: rti_platform::ids::new_id(),
        agreement_kind: proto::AgreementKind::Unspecified as i32,
        ip_regime: proto::IpRegime::Unspecified as i32,
        ..industrial(installation_id)
    }
}

/// The statuses a request went through, in order.
pub fn path(request: &proto::AccessRequest) -> Vec<proto::AccessRequestStatus> {
    request.history.iter().map(proto::StatusTransition::to).collect()
}
