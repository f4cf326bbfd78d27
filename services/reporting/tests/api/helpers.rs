//! The reporting service on the backend under test, in front of stand-ins for the registry,
//! intake and allocation whose event streams the test writes (`upstream`), with builders for
//! those events (`events`). The service can be stopped, killed and started again on its own
//! database.

mod events;
mod upstream;

use std::time::Duration;

use rti_platform::auth::{Claims, Role};
use rti_platform::db::Backend;
use rti_platform::server::{ServiceConfig, StartError};
use rti_platform::testing::{TestDatabase, bearer, connect, sign, test_auth};
use rti_proto::reporting as proto;
use rti_proto::reporting::reporting_service_client::ReportingServiceClient;
use rti_reporting::Options;
use rti_reporting::domain::disclosure::DisclosureRules;
use sqlx::Connection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub use events::*;
pub use upstream::FakeUpstreams;

/// The record keys' secret every test runs with, so that protected values repeat run to run.
pub const KEY_SECRET: [u8; 32] = *b"reporting-tests-fixed-key-secret";

/// 2026-01-01T00:00:00Z.
pub const JAN_2026: i64 = 1_767_225_600_000_000;
pub const DAY: i64 = 86_400_000_000;

/// Midnight UTC of day `day` (1-based) of `month` in 2026 (days past the month's end run on).
pub fn date(month: i64, day: i64) -> i64 {
    const MONTH_STARTS: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    JAN_2026 + (MONTH_STARTS[usize::try_from(month - 1).expect("a month")] + day - 1) * DAY
}

struct Running {
    channel: Channel,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), StartError>>,
}

pub struct World {
    pub upstream: FakeUpstreams,
    /// Whether the disclosure control is on.
    pub protected: bool,
    pub database: TestDatabase,
    options: Options,
    running: Option<Running>,
    replicas: std::sync::Mutex<Vec<Running>>,
}

/// The service with the disclosure control off: measures' arithmetic, exactly.
pub async fn exact(backend: Backend) -> Option<World> {
    world(
        backend,
        Options {
            disclosure: DisclosureRules::off(),
            ..test_options()
        },
    )
    .await
}

/// The service as funders meet it: the default disclosure control, with the fixed key secret.
pub async fn protected(backend: Backend) -> Option<World> {
    world(backend, test_options()).await
}

fn test_options() -> Options {
    Options {
        key_secret: Some(KEY_SECRET),
        ..Options::default()
    }
}

pub async fn world(backend: Backend, options: Options) -> Option<World> {
    rti_platform::testing::init_logging();
    let database = TestDatabase::create(backend).await?;
    let upstream = FakeUpstreams::start().await;
    let mut world = World {
        upstream,
        protected: options.disclosure.enabled,
        database,
        options,
        running: None,
        replicas: std::sync::Mutex::default(),
    };
    world.start().await;
    Some(world)
}

impl World {
    pub fn upstreams(&self) -> rti_reporting::Upstreams {
        rti_reporting::Upstreams {
            registry: self.upstream.uri(),
            intake: self.upstream.uri(),
            allocation: self.upstream.uri(),
        }
    }

    /// Starts the service on the world's database (again, after `stop` or `kill`).
    pub async fn start(&mut self) {
        self.running = Some(self.launch(self.options.clone()).await);
    }

    /// A second process of the service on the same database, which does not follow the
    /// streams (the first one does): what a replica behind the gateway would be.
    pub async fn replica(&self) -> ReportingServiceClient<Channel> {
        let running = self
            .launch(Options {
                follow: false,
                ..self.options.clone()
            })
            .await;
        let client = ReportingServiceClient::new(running.channel.clone());
        self.replicas.lock().expect("replicas").push(running);
        client
    }

    async fn launch(&self, options: Options) -> Running {
        let config = ServiceConfig::new(
            "127.0.0.1:0".parse().expect("address"),
            self.database.url.clone(),
            test_auth(),
        );
        let app = rti_reporting::App::build_with(config, self.upstreams(), options)
            .await
            .expect("reporting starts");
        let address = app.local_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until(shutdown.clone()));
        let channel = connect(address).await;
        Running {
            channel,
            shutdown,
            task,
        }
    }

    /// Stops the service as SIGTERM would.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown.cancel();
            running.task.await.expect("task").expect("stops cleanly");
        }
    }

    /// Ends the service at once, wherever it is, as a crash would: its tasks are dropped
    /// mid-flight and nothing is drained.
    pub async fn kill(&mut self) {
        if let Some(running) = self.running.take() {
            running.task.abort();
            let _ = running.task.await;
            running.shutdown.cancel();
        }
    }

    pub fn channel(&self) -> Channel {
        self.running.as_ref().expect("running").channel.clone()
    }

    pub fn client(&self) -> ReportingServiceClient<Channel> {
        ReportingServiceClient::new(self.channel())
    }

    /// Waits until the service has applied every event the feeds hold.
    pub async fn caught_up(&self) {
        let targets = [
            ("registry", self.upstream.registry.last_sequence()),
            ("intake", self.upstream.intake.last_sequence()),
            ("allocation", self.upstream.allocation.last_sequence()),
        ];
        let mut connection = sqlx::AnyConnection::connect(self.database.url.as_str())
            .await
            .expect("connect to the test database");
        for _ in 0..1000 {
            let mut done = true;
            for (source, target) in targets {
                let row: Option<(i64,)> = sqlx::query_as("SELECT sequence FROM feed_cursors WHERE source = $1")
                    .bind(source)
                    .fetch_optional(&mut connection)
                    .await
                    .expect("read cursors");
                done &= target == 0 || row.is_some_and(|(sequence,)| sequence >= target);
            }
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("reporting did not apply the feeds' events within 10 s");
    }
}

/// A request carrying `token`.
pub fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", bearer(token));
    request
}

pub fn admin() -> String {
    rti_platform::testing::token(Role::Admin)
}

pub fn funder_of(country: &str) -> String {
    let mut claims = Claims::new(format!("funder-{country}"), &[Role::Funder], Duration::from_secs(3600));
    claims.country = Some(country.to_owned());
    sign(claims)
}

pub fn ec_funder() -> String {
    let mut claims = Claims::new("funder-ec", &[Role::Funder], Duration::from_secs(3600));
    claims.eu = true;
    sign(claims)
}

pub fn operator_of(infrastructures: &[&str]) -> String {
    rti_platform::testing::operator_token(infrastructures)
}

/// A query over 2026.
pub fn query_2026(group_by: &[&str], measures: &[&str]) -> proto::QueryUsageStatisticsRequest {
    proto::QueryUsageStatisticsRequest {
        group_by: group_by.iter().map(|name| (*name).to_owned()).collect(),
        measures: measures.iter().map(|name| (*name).to_owned()).collect(),
        filter: Some(proto::StatisticsFilter {
            from: Some(rti_platform::time::timestamp_from_micros(JAN_2026)),
            to: Some(rti_platform::time::timestamp_from_micros(date(12, 32))),
            ..proto::StatisticsFilter::default()
        }),
    }
}

/// The rows of a query, asked with `token`.
pub async fn rows(
    world: &World,
    token: &str,
    request: proto::QueryUsageStatisticsRequest,
) -> Result<Vec<proto::StatisticsRow>, tonic::Status> {
    rows_from(world.client(), token, request).await
}

/// The rows of a query, asked of `client` with `token`.
pub async fn rows_from(
    mut client: ReportingServiceClient<Channel>,
    token: &str,
    request: proto::QueryUsageStatisticsRequest,
) -> Result<Vec<proto::StatisticsRow>, tonic::Status> {
    use futures::TryStreamExt;
    let stream = client
        .query_usage_statistics(authorized(request, token))
        .await?
        .into_inner();
    stream.try_collect().await
}

/// A row's value of `measure`, as the test reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Integer(i64),
    Decimal(f64),
    Withheld(proto::WithheldReason),
    Empty,
}

pub fn value(row: &proto::StatisticsRow, measure: &str) -> Shown {
    use proto::measure_value::Value;
    let found = row
        .values
        .iter()
        .find(|value| value.measure == measure)
        .unwrap_or_else(|| panic!("{measure} is in the row"));
    match found.value {
        Some(Value::Integer(integer)) => Shown::Integer(integer),
        Some(Value::Decimal(decimal)) => Shown::Decimal(decimal),
        Some(Value::Withheld(reason)) => {
            Shown::Withheld(proto::WithheldReason::try_from(reason).expect("a known reason"))
        }
        None => Shown::Empty,
    }
}

/// The row whose groups have these values, in order.
pub fn row_of<'rows>(rows: &'rows [proto::StatisticsRow], groups: &[&str]) -> &'rows proto::StatisticsRow {
    rows.iter()
        .find(|row| {
            row.groups
                .iter()
                .map(|group| group.value.as_str())
                .eq(groups.iter().copied())
        })
        .unwrap_or_else(|| panic!("a row for {groups:?} in {rows:#?}"))
}
