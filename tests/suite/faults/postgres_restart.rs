//! PostgreSQL stopped and started again (`pg_ctl stop -m fast`, then `start`) while clients create
//! providers, each retrying a failed call with its idempotency key: the registry reports
//! NOT_SERVING on gRPC health while its database is away and SERVING again once it is back, in
//! the same process (DESIGN §7: health follows the database), and no acknowledged create is lost
//! or stored twice. The cluster is a throwaway one: the shared test cluster is never restarted.

use std::time::Duration;

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::cluster::Cluster;
use super::load::{self, Load};
use super::{Process, connect_when_up, free_address, postgres_skipped, registry_replica};

/// Liveness bounds, far above what the transitions take.
const TO_NOT_SERVING: Duration = Duration::from_secs(15);
const TO_SERVING: Duration = Duration::from_secs(30);
/// How long PostgreSQL stays down once health has turned NOT_SERVING: more than a client's
/// attempt (3 s, in load.rs).
const OUTAGE: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_turns_health_not_serving_then_recovers_without_losing_a_create() {
    if postgres_skipped("postgres-restart") {
        return;
    }
    let Some(cluster) = Cluster::start() else {
        println!("faults/postgres-restart: skipped: no PostgreSQL server binaries");
        return;
    };
    let url = cluster.create_database("registry");
    let address = free_address();
    let mut registry = registry_replica("registry", address, &url, "250ms");
    let channel = connect_when_up(address, &mut registry).await;
    let pid = registry.id();
    wait_for_status(&channel, ServingStatus::Serving, TO_SERVING, &mut registry).await;

    let load = Load::start(channel.clone(), "postgres-restart");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    load.fault_began();
    cluster.stop_server();
    let stopped = tokio::time::Instant::now();
    wait_for_status(&channel, ServingStatus::NotServing, TO_NOT_SERVING, &mut registry).await;
    let not_serving_after = stopped.elapsed();
    // Down for longer than one attempt's deadline, so that every client has a call fail and
    // retries it with its key (a shorter outage could pass unnoticed inside one slow call).
    tokio::time::sleep(OUTAGE).await;
    cluster.start_server();
    let started = tokio::time::Instant::now();
    wait_for_status(&channel, ServingStatus::Serving, TO_SERVING, &mut registry).await;
    let serving_after = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let acknowledged = load.stop().await;
    registry.assert_running();
    assert_eq!(registry.id(), pid, "the registry recovered in the same process");

    let after_restart = acknowledged.iter().filter(|create| create.after_fault).count();
    let retried: usize = acknowledged.iter().map(|create| create.retries).sum();
    let counts = load::count(&url, "postgres-restart", &acknowledged).await;
    assert!(
        after_restart > 0,
        "no create was acknowledged after the restart, so the registry was not shown to recover: {counts:?}"
    );
    // Told, not asserted: how soon health followed the database.
    println!(
        "faults/postgres-restart: NOT_SERVING {} ms after PostgreSQL stopped, SERVING {} ms after it started",
        not_serving_after.as_millis(),
        serving_after.as_millis()
    );
    load::print_retries("postgres-restart", &acknowledged);
    assert!(
        retried > 0,
        "no call failed while PostgreSQL was down, so the outage was not shown: {counts:?}"
    );
    counts.report("postgres-restart");
}

/// Polls the registry's health until it reports `wanted`; fails after `bound`.
async fn wait_for_status(channel: &Channel, wanted: ServingStatus, bound: Duration, registry: &mut Process) {
    let mut health = HealthClient::new(channel.clone());
    let deadline = tokio::time::Instant::now() + bound;
    let mut last = None;
    loop {
        registry.assert_running();
        let request = HealthCheckRequest {
            service: "rti.registry.v1.RegistryService".into(),
        };
        if let Ok(Ok(answer)) = tokio::time::timeout(Duration::from_secs(2), health.check(request)).await {
            let status = answer.into_inner().status();
            if status == wanted {
                return;
            }
            last = Some(status);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the registry's health did not turn {wanted:?} within {} s (last {last:?})",
            bound.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
