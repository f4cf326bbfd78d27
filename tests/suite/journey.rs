//! The whole journey, end to end, through the gateway (issue 14), once over gRPC and once over
//! REST, written once:
//!
//! 1. Two operators publish their installations: a cleanroom in Austria, with a tariff and a
//!    capacity window, and a beamline in France ([`catalogue`]).
//! 2. A Polish SME registers its company, searches the catalogue in Polish, requests four hours at
//!    the Austrian cleanroom, is quoted and accepts the terms; the operator confirms a slot and
//!    records delivery ([`industrial`]).
//! 3. A Polish university's research group proposes to a transnational-access call at the French
//!    beamline, is reviewed, allocated and scheduled ([`transnational`]).
//! 4. The operators record the usage, and Poland's national funder pulls statistics that count
//!    both ([`funder`]).
//!
//! Every step is a call `(RPC, JSON request)` whose JSON answer is read back and checked for what
//! matters (states, amounts, ids); the [`transport`] decides whether it travels as gRPC or REST.
//! The journey's spans are captured too: the slot offer, which allocation makes by holding
//! capacity in the registry, is one trace of gateway → allocation → registry spans ([`trace`]).

mod cast;
mod catalogue;
mod funder;
mod industrial;
mod slots;
mod trace;
mod transnational;
mod transport;

use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_tests::{RunningSuite, spawn_suite_with};
use serde_json::Value as Json;

use self::cast::Cast;
use self::transport::{Failure, Transport};

/// Microseconds in a day: windows, slots and usage are laid out in days.
const DAY: i64 = 86_400_000_000;

/// The transport and the cast; every call of the story goes through here.
pub(crate) struct Journey {
    transport: Transport,
    cast: Cast,
}

impl Journey {
    /// The answer of `rpc`, which must succeed.
    async fn call(&self, token: &str, rpc: &str, request: Json) -> Json {
        succeeded(rpc, self.attempt(Some(token), rpc, request).await)
    }

    /// The answer of a public `rpc`, called without a token.
    async fn call_anonymously(&self, rpc: &str, request: Json) -> Json {
        succeeded(rpc, self.attempt(None, rpc, request).await)
    }

    /// The answer of `rpc` or how it failed.
    async fn attempt(&self, token: Option<&str>, rpc: &str, request: Json) -> Result<Json, Failure> {
        self.transport.call(rpc, request, token).await
    }

    /// Asserts that `rpc` is refused with `code`, which REST reports as gRPC does.
    async fn refused(&self, token: &str, rpc: &str, request: Json, code: tonic::Code) {
        match self.attempt(Some(token), rpc, request).await {
            Ok(answer) => panic!("{rpc} must be refused with {code:?}, yet it answered {answer}"),
            Err(failure) => assert_eq!(failure.code, code, "{rpc}: {}", failure.message),
        }
    }

    /// Every message `rpc` streams back; it must succeed.
    async fn stream(&self, token: &str, rpc: &str, request: Json) -> Vec<Json> {
        succeeded(rpc, self.transport.stream(rpc, request, Some(token)).await)
    }

    /// Calls `rpc` until it succeeds, while it fails with `pending` (what another service has not
    /// heard of yet: the services learn of each other's changes from their event streams).
    async fn once_known(&self, token: &str, rpc: &str, request: Json, pending: tonic::Code) -> Json {
        rti_platform::testing::eventually(rpc, || {
            let request = request.clone();
            async move {
                match self.attempt(Some(token), rpc, request).await {
                    Err(failure) if failure.code == pending => None,
                    outcome => Some(succeeded(rpc, outcome)),
                }
            }
        })
        .await
    }

    /// The proposal allocation holds for intake's request `request_id`, once intake's events
    /// have brought it there, as the admin sees it.
    async fn received_by_allocation(&self, request_id: &str) -> Json {
        self.once_known(
            &self.cast.admin,
            "rti.allocation.v1.AllocationService/GetProposal",
            serde_json::json!({"id": request_id}),
            tonic::Code::NotFound,
        )
        .await
    }
}

/// The answer of a call that must have succeeded; otherwise the test fails, naming the RPC.
fn succeeded<T>(rpc: &str, outcome: Result<T, Failure>) -> T {
    outcome.unwrap_or_else(|failure| panic!("{rpc}: {:?} {}", failure.code, failure.message))
}

/// An int64 (a string in proto3 JSON) or int32 (a number) of an answer.
fn int(value: &Json) -> i64 {
    match value {
        Json::String(text) => text.parse().unwrap_or_else(|_| panic!("not an integer: {value}")),
        Json::Number(number) => number.as_i64().unwrap_or_else(|| panic!("not an integer: {value}")),
        other => panic!("not an integer: {other}"),
    }
}

/// The suite as `rti up` runs it, but for reporting's disclosure control: the journey's few users
/// must show in the funder's statistics, so a cell needs one organisation (k = 1, the least the
/// configuration allows, as `rti serve reporting --disclosure-threshold 1` sets it) and counts are
/// published without noise. The p% rule stays: one organisation's units are still withheld.
async fn suite(backend: Backend) -> Option<RunningSuite> {
    suite_of(backend, 1).await
}

/// [`suite`] with `replicas` processes of each service.
async fn suite_of(backend: Backend, replicas: usize) -> Option<RunningSuite> {
    spawn_suite_with(backend, |config| {
        config.reporting.disclosure.threshold = 1;
        config.reporting.disclosure.max_count_noise = 0;
        config.replicas = replicas;
    })
    .await
}

/// The story, told through `transport`.
async fn the_journey(transport: Transport) {
    let journey = Journey {
        transport,
        cast: Cast::new(),
    };
    let catalogue = catalogue::publish(&journey).await;
    let industrial = industrial::request_four_hours_at_a_cleanroom_abroad(&journey, &catalogue).await;
    let transnational = transnational::propose_to_a_call(&journey, &catalogue).await;
    funder::record_usage_and_pull_statistics(&journey, &catalogue, &industrial, &transnational).await;
}

async fn the_journey_over_grpc(backend: Backend) {
    the_journey_over(backend, |suite| Transport::grpc(suite.channel.clone())).await;
}

async fn the_journey_over_rest(backend: Backend) {
    the_journey_over(backend, |suite| Transport::rest(suite.gateway)).await;
}

/// The story through the transport `connect` makes, with its trace captured and checked.
async fn the_journey_over(backend: Backend, connect: impl FnOnce(&RunningSuite) -> Transport) {
    let spans = trace::capture_spans();
    let Some(suite) = suite(backend).await else {
        return;
    };
    let transport = connect(&suite);
    let protocol = transport.protocol();
    the_journey(transport).await;
    trace::assert_each_slot_offer_is_one_trace(&spans, protocol).await;
}

backend_tests!(the_journey_over_grpc, the_journey_over_rest);

/// The story with two processes of each service on one PostgreSQL database, the gateway
/// balancing every call between them: whichever replica answers, holds never over-book,
/// idempotency keys replay, events arrive in order, search finds what the other replica
/// published, and each stream is followed by one replica at a time (by lease). PostgreSQL only:
/// a SQLite file belongs to one process, and the suite refuses replicas on it (below).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_with_two_replicas_of_each_service_on_postgresql() {
    let Some(suite) = suite_of(Backend::Postgres, 2).await else {
        return;
    };
    the_journey(Transport::grpc(suite.channel.clone())).await;
}

#[tokio::test]
async fn replicas_on_sqlite_are_refused_naming_postgresql() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let config = rti_gateway::cli::suite::SuiteConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        databases: rti_gateway::cli::suite::Databases::sqlite_in(directory.path()),
        auth: rti_platform::testing::test_auth(),
        drain_timeout: std::time::Duration::from_secs(1),
        limits: rti_platform::limits::Limits::default(),
        edge: rti_gateway::EdgeLimits::default(),
        encoder_model_dir: None,
        reporting: rti_reporting::Options::default(),
        metrics_listen: None,
        service_metrics_listen: None,
        audit: None,
        replicas: 2,
    };
    let refused = rti_gateway::cli::suite::Suite::start(config)
        .await
        .expect_err("two replicas on SQLite files");
    assert!(refused.to_string().contains("need PostgreSQL"), "{refused}");
}
