//! A registry with published installations and capacity windows and an intake in front of it
//! (both throwaway SQLite files), and the allocation on the backend under test, each on port 0.
//! The allocation can be stopped and started again alone on its own database (the crash test).

mod calls;
mod catalogue;
mod people;
mod rpc;
mod slow_registry;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rti_allocation::app::{Options, Upstreams};
use rti_platform::auth::{Claims, Role};
use rti_platform::db::Backend;
use rti_platform::server::{ServiceConfig, StartError};
use rti_platform::testing::connect;
use rti_platform::testing::{TestDatabase, sign, test_auth, token};
pub use rti_platform::testing::{eventually, operator_token, violated_fields, with_token};
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::intake;
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub use calls::*;
pub use catalogue::Site;
use catalogue::{add_site, add_window, create_installation};
pub use people::*;
pub use rpc::*;
pub use slow_registry::SlowRegistry;

/// Units of the capacity window every site opens with, from tomorrow for sixty days.
pub const SITE_WINDOW_UNITS: i64 = 100;

pub(crate) const DAY: i64 = 86_400_000_000;

/// Midnight UTC, `days` after today.
pub fn day(days: i64) -> i64 {
    (now_micros().div_euclid(DAY) + days) * DAY
}

/// A fictional sanctions list (every name invented): intake screens nothing without one.
const SANCTIONS_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-11-20T18:00:00.000+01:00">
  <sanctionEntity euReferenceNumber="EU.FICT.1" logicalId="FICT.0001">
    <regulation programme="RUS"/>
    <subjectType code="person" classificationCode="P"/>
    <nameAlias wholeName="Boris Invented-Testname"/>
  </sanctionEntity>
</export>"#;

/// The allocation service while it runs.
struct RunningAllocation {
    channel: Channel,
    shutdown: CancellationToken,
    running: JoinHandle<Result<(), StartError>>,
}

pub struct World {
    pub registry: Channel,
    pub intake: Channel,
    allocation: RunningAllocation,
    /// In DE, run by a university.
    pub de: Site,
    /// In FR, in an infrastructure of its own (another operator than `de`).
    pub fr: Site,
    /// In DE too, in a second DE infrastructure.
    pub de2: Site,
    /// In IT, in an infrastructure whose legal form is ERIC (TA-3(a)).
    pub eric: Site,
    /// Every site of the world, the four above and those tests add.
    sites: std::sync::Mutex<Vec<Site>>,
    /// An employer (a university) per country, registered on first use.
    employers: tokio::sync::Mutex<HashMap<String, String>>,
    people: AtomicUsize,
    upstreams: Upstreams,
    allocation_database: TestDatabase,
    _registry_database: TestDatabase,
    _intake_database: TestDatabase,
    shutdown: CancellationToken,
    running: Vec<JoinHandle<Result<(), StartError>>>,
}

/// The options of the tests: holds are swept every 200 ms, interrupted offers after four
/// seconds (a reservation may take two, enough for a busy test machine).
pub fn fast_options() -> Options {
    Options {
        sweep_interval: Duration::from_millis(200),
        pending_grace: Duration::from_secs(4),
        follow_intake: true,
        crash_after_reservation: false,
    }
}

fn config(database: &TestDatabase) -> ServiceConfig {
    ServiceConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        database.url.clone(),
        test_auth(),
    )
}

fn uri(address: std::net::SocketAddr) -> http::Uri {
    format!("http://{address}").parse().expect("uri")
}

async fn start_allocation(database: &TestDatabase, upstreams: &Upstreams, options: Options) -> RunningAllocation {
    let app = rti_allocation::App::build_with(config(database), upstreams.clone(), options)
        .await
        .expect("the allocation starts");
    let address = app.local_addr();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until(shutdown.clone()));
    RunningAllocation {
        channel: connect(address).await,
        shutdown,
        running,
    }
}

/// The world with [`fast_options`]; `None` when PostgreSQL tests are skipped.
pub async fn world(backend: Backend) -> Option<World> {
    world_with(backend, fast_options()).await
}

pub async fn world_with(backend: Backend, options: Options) -> Option<World> {
    let allocation_database = TestDatabase::create(backend).await?;
    let registry_database = TestDatabase::create(Backend::Sqlite).await.expect("sqlite");
    let intake_database = TestDatabase::create(Backend::Sqlite).await.expect("sqlite");
    let shutdown = CancellationToken::new();
    let registry_app = rti_registry::App::build(config(&registry_database))
        .await
        .expect("the registry starts");
    let registry_address = registry_app.local_addr();
    let mut running = vec![tokio::spawn(registry_app.run_until(shutdown.clone()))];
    let intake_app = rti_intake::App::build(config(&intake_database), uri(registry_address))
        .await
        .expect("intake starts");
    let intake_address = intake_app.local_addr();
    running.push(tokio::spawn(intake_app.run_until(shutdown.clone())));
    let upstreams = Upstreams {
        registry: uri(registry_address),
        intake: uri(intake_address),
    };
    let allocation = start_allocation(&allocation_database, &upstreams, options).await;

    let registry_channel = connect(registry_address).await;
    let intake_channel = connect(intake_address).await;
    let university = registry::LegalForm::University;
    let de = add_site(&registry_channel, "Cleanroom", "DE", university).await;
    let fr = add_site(&registry_channel, "Beamline", "FR", university).await;
    let de2 = add_site(&registry_channel, "Wind tunnel", "DE", university).await;
    let eric = add_site(&registry_channel, "Synchrotron", "IT", registry::LegalForm::Eric).await;
    IntakeServiceClient::new(intake_channel.clone())
        .import_sanctions_list(with_token(
            intake::ImportSanctionsListRequest {
                format: intake::SanctionsListFormat::Xml as i32,
                content: SANCTIONS_XML.as_bytes().to_vec(),
            },
            &admin(),
        ))
        .await
        .expect("imports the sanctions list");
    Some(World {
        registry: registry_channel,
        intake: intake_channel,
        allocation,
        sites: std::sync::Mutex::new(vec![de.clone(), fr.clone(), de2.clone(), eric.clone()]),
        de,
        fr,
        de2,
        eric,
        employers: tokio::sync::Mutex::new(HashMap::new()),
        people: AtomicUsize::new(0),
        upstreams,
        allocation_database,
        _registry_database: registry_database,
        _intake_database: intake_database,
        shutdown,
        running,
    })
}

impl World {
    pub fn allocation(&self) -> AllocationServiceClient<Channel> {
        AllocationServiceClient::new(self.allocation.channel.clone())
    }

    /// The running allocation's channel (for the table walk).
    pub fn allocation_channel(&self) -> Channel {
        self.allocation.channel.clone()
    }

    pub fn intake(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(self.intake.clone())
    }

    pub fn registry(&self) -> RegistryServiceClient<Channel> {
        RegistryServiceClient::new(self.registry.clone())
    }

    /// Where the allocation finds the registry and intake.
    pub fn upstreams(&self) -> Upstreams {
        self.upstreams.clone()
    }

    /// A published installation in `country` in an infrastructure of its own, with a window.
    pub async fn add_site(&self, name: &str, country: &str, legal_form: registry::LegalForm) -> Site {
        let site = add_site(&self.registry, name, country, legal_form).await;
        self.sites.lock().expect("sites").push(site.clone());
        site
    }

    /// The site of `installation_id`.
    pub fn site(&self, installation_id: &str) -> Site {
        let sites = self.sites.lock().expect("sites");
        let site = sites.iter().find(|site| site.id() == installation_id);
        site.cloned().expect("an installation of the world")
    }

    /// An installation left in draft.
    pub async fn draft_installation(&self) -> registry::Installation {
        let mut catalogue = self.registry();
        create_installation(&mut catalogue, &self.de.infrastructure.id, "Draft lab", "DE").await
    }

    /// Another window of `site`, `units` units over ten days from `from_day` days after today
    /// (after the site's first window, which ends on day 61).
    pub async fn add_window(&self, site: &Site, from_day: i64, units: i64) -> registry::CapacityWindow {
        add_window(&self.registry, site.id(), (day(from_day), day(from_day + 10)), units).await
    }

    /// A capacity window as the registry has it now (units reserved and free).
    pub async fn window(&self, installation_id: &str, window_id: &str) -> registry::CapacityWindow {
        let availability = self
            .registry()
            .get_availability(registry::GetAvailabilityRequest {
                installation_id: installation_id.into(),
                from: Some(timestamp_from_micros(day(0))),
                to: Some(timestamp_from_micros(day(365))),
            })
            .await
            .expect("availability")
            .into_inner();
        availability
            .windows
            .into_iter()
            .find(|window| window.id == window_id)
            .expect("the window is in the range")
    }

    /// Stops the allocation alone (registry and intake keep running) and starts a new one on the
    /// same database with `options`.
    pub async fn restart_allocation(&mut self, options: Options) {
        let upstreams = self.upstreams.clone();
        self.restart_allocation_with(&upstreams, options).await;
    }

    async fn restart_allocation_with(&mut self, upstreams: &Upstreams, options: Options) {
        self.allocation.shutdown.cancel();
        (&mut self.allocation.running)
            .await
            .expect("task")
            .expect("the allocation stops cleanly");
        self.allocation = start_allocation(&self.allocation_database, upstreams, options).await;
    }

    /// Restarts the allocation with `options` against a registry that holds every reservation
    /// for `delay` before it takes it ([`SlowRegistry`]).
    pub async fn slow_reservations(&mut self, delay: Duration, options: Options) -> SlowRegistry {
        let slow = SlowRegistry::start(self.registry.clone(), delay, self.shutdown.child_token());
        let upstreams = Upstreams {
            registry: uri(slow.address),
            ..self.upstreams.clone()
        };
        self.restart_allocation_with(&upstreams, options).await;
        slow
    }

    pub async fn stop(self) {
        self.allocation.shutdown.cancel();
        self.allocation
            .running
            .await
            .expect("task")
            .expect("the allocation stops cleanly");
        self.shutdown.cancel();
        for running in self.running {
            running.await.expect("task").expect("stops cleanly");
        }
    }

    /// A fresh ordinal for names and ids of the test's fixtures.
    fn next(&self) -> usize {
        self.people.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn signed(subject: &str, role: Role) -> String {
    sign(Claims::new(subject.to_owned(), &[role], Duration::from_secs(3600)))
}

pub fn admin() -> String {
    token(Role::Admin)
}

pub fn service() -> String {
    token(Role::Service)
}

pub fn funder() -> String {
    token(Role::Funder)
}

/// The coordinator who runs the tests' calls.
pub const COORDINATOR: &str = "coordinator-ada";

pub fn coordinator() -> String {
    signed(COORDINATOR, Role::Coordinator)
}

/// A coordinator token with `subject`: another programme's coordinator than [`COORDINATOR`].
pub fn coordinator_named(subject: &str) -> String {
    signed(subject, Role::Coordinator)
}

/// A reviewer token with `subject`, the name a panel lists.
pub fn reviewer(subject: &str) -> String {
    signed(subject, Role::Reviewer)
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

/// An operator of an infrastructure none of the test's installations belongs to.
pub fn stranger_operator() -> String {
    operator_token(&[&rti_platform::ids::new_id()])
}

/// The findings of `proposal` for one installation and rule.
pub fn findings<'a>(proposal: &'a proto::Proposal, installation_id: &str, rule: &str) -> Vec<&'a proto::Finding> {
    proposal
        .findings
        .iter()
        .filter(|finding| finding.installation_id == installation_id && finding.rule == rule)
        .collect()
}

/// Whether any finding of `proposal` for `installation_id` is a FAIL.
pub fn fails_at(proposal: &proto::Proposal, installation_id: &str) -> bool {
    proposal.findings.iter().any(|finding| {
        finding.installation_id == installation_id && finding.outcome() == proto::EligibilityOutcome::Fail
    })
}
