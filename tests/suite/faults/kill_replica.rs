//! kill -9 one of two registry replicas (two processes on one PostgreSQL database, the gateway
//! balancing between them) while clients create providers through the gateway, each retrying a
//! failed call with its idempotency key until it is acknowledged: every acknowledged create is
//! then stored once, under the id its client was given, and none twice.

use std::time::Duration;

use rti_platform::db::Backend;
use rti_platform::testing::TestDatabase;

use super::load::{self, Load};
use super::{connect_when_up, free_address, gateway, registry_replica};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_replica_loses_and_duplicates_no_acknowledged_create() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        println!("faults/kill-replica: skipped: RTI_TEST_SKIP_POSTGRES=1");
        return;
    };
    let url = database.url.as_str().to_owned();
    let (first_address, second_address) = (free_address(), free_address());
    // One after the other: the second finds the migrations applied.
    let mut first = registry_replica("registry replica 1", first_address, &url, "1s");
    connect_when_up(first_address, &mut first).await;
    let mut second = registry_replica("registry replica 2", second_address, &url, "1s");
    connect_when_up(second_address, &mut second).await;
    let data = tempfile::tempdir().expect("a temporary directory");
    let gateway_address = free_address();
    let mut edge = gateway(
        gateway_address,
        &format!("http://{first_address},http://{second_address}"),
        data.path(),
        free_address(),
        &[],
    );
    let channel = connect_when_up(gateway_address, &mut edge).await;

    let load = Load::start(channel, "kill-replica");
    tokio::time::sleep(Duration::from_secs(2)).await;
    load.fault_began();
    second.kill_9();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let acknowledged = load.stop().await;
    first.assert_running();
    edge.assert_running();

    let after_kill = acknowledged.iter().filter(|create| create.after_fault).count();
    let counts = load::count(&url, "kill-replica", &acknowledged).await;
    assert!(
        after_kill > 0,
        "no create was acknowledged after the kill, so the survivor was not shown to serve: {counts:?}"
    );
    load::print_retries("kill-replica", &acknowledged);
    counts.report("kill-replica");
}
