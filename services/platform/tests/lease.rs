//! Leases on both backends: one holder at a time, taken over when the holder dies, given up at
//! once when it stops, and a holder that loses its lease stops its job.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rti_platform::backend_tests;
use rti_platform::db::{Backend, Database, Migrations};
use rti_platform::lease::{Lease, LeaseTiming};
use rti_platform::testing::TestDatabase;
use tokio_util::sync::CancellationToken;

async fn open(backend: Backend) -> Option<(TestDatabase, Database)> {
    let test_database = TestDatabase::create(backend).await?;
    let database = Database::open(&test_database.url, &Migrations::NONE, 4)
        .await
        .expect("opens and migrates");
    Some((test_database, database))
}

/// Short enough for the tests, with a margin of twenty renewals on a loaded machine.
const QUICK: LeaseTiming = LeaseTiming {
    lasts: Duration::from_secs(2),
    renew_every: Duration::from_millis(100),
};

/// Which replicas run the job now, and the most that ever ran it at once.
#[derive(Debug, Default)]
struct Jobs {
    running: [AtomicUsize; 2],
    most_at_once: AtomicUsize,
}

impl Jobs {
    fn running(&self, replica: usize) -> bool {
        self.running[replica].load(Ordering::SeqCst) > 0
    }
}

/// Counts a job as running until it ends or is dropped (its process died).
struct Running(Arc<Jobs>, usize);

impl Running {
    fn new(jobs: Arc<Jobs>, replica: usize) -> Self {
        jobs.running[replica].fetch_add(1, Ordering::SeqCst);
        let at_once = jobs.running.iter().map(|count| count.load(Ordering::SeqCst)).sum();
        jobs.most_at_once.fetch_max(at_once, Ordering::SeqCst);
        Self(jobs, replica)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running[self.1].fetch_sub(1, Ordering::SeqCst);
    }
}

/// A replica running the job under `lease` until `shutdown`; the job runs until cancelled.
fn replica(lease: Lease, jobs: Arc<Jobs>, index: usize, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        lease
            .run_while_held(shutdown, |lost| {
                let jobs = jobs.clone();
                async move {
                    let _running = Running::new(jobs, index);
                    lost.cancelled().await;
                }
            })
            .await;
    })
}

async fn until(what: &str, within: Duration, mut holds: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !holds() {
        assert!(tokio::time::Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn one_holder_at_a_time_and_another_takes_over_when_it_dies(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let jobs = Arc::new(Jobs::default());
    let first = replica(
        Lease::with_timing(database.clone(), "feed", QUICK),
        jobs.clone(),
        0,
        CancellationToken::new(),
    );
    until("the first replica runs the job", Duration::from_secs(5), || {
        jobs.running(0)
    })
    .await;
    let second = replica(
        Lease::with_timing(database.clone(), "feed", QUICK),
        jobs.clone(),
        1,
        CancellationToken::new(),
    );
    tokio::time::sleep(QUICK.lasts * 2).await;
    assert!(!jobs.running(1), "the second waits while the first renews");

    // The first dies: no give-up, no more renewals.
    first.abort();
    until(
        "the second takes over once the lease expires",
        Duration::from_secs(5),
        || jobs.running(1),
    )
    .await;
    assert_eq!(jobs.most_at_once.load(Ordering::SeqCst), 1, "never two at once");
    second.abort();
}

async fn a_holder_that_stops_gives_the_lease_up_at_once(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let slow = LeaseTiming {
        lasts: Duration::from_secs(60),
        renew_every: Duration::from_millis(100),
    };
    let jobs = Arc::new(Jobs::default());
    let stopping = CancellationToken::new();
    let first = replica(
        Lease::with_timing(database.clone(), "feed", slow),
        jobs.clone(),
        0,
        stopping.clone(),
    );
    until("the first replica runs the job", Duration::from_secs(5), || {
        jobs.running(0)
    })
    .await;
    let second = replica(
        Lease::with_timing(database.clone(), "feed", slow),
        jobs.clone(),
        1,
        CancellationToken::new(),
    );
    stopping.cancel();
    first.await.expect("the first stops");
    // Far sooner than the minute the lease would last.
    until("the second takes the given-up lease", Duration::from_secs(5), || {
        jobs.running(1)
    })
    .await;
    second.abort();
}

async fn a_holder_that_loses_its_lease_stops_its_job(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let jobs = Arc::new(Jobs::default());
    let holder = replica(
        Lease::with_timing(database.clone(), "feed", QUICK),
        jobs.clone(),
        0,
        CancellationToken::new(),
    );
    until("the replica runs the job", Duration::from_secs(5), || jobs.running(0)).await;
    // Another process took it (as after a pause past its expiry).
    let mut transaction = database.begin_write().await.expect("begin");
    sqlx::query("UPDATE leases SET holder = 'elsewhere', expires_at = $1 WHERE name = 'feed'")
        .bind(i64::MAX)
        .execute(&mut *transaction)
        .await
        .expect("steals the lease");
    transaction.commit().await.expect("commit");
    until("the replica stops its job", Duration::from_secs(5), || !jobs.running(0)).await;
    holder.abort();
}

backend_tests!(
    one_holder_at_a_time_and_another_takes_over_when_it_dies,
    a_holder_that_stops_gives_the_lease_up_at_once,
    a_holder_that_loses_its_lease_stops_its_job,
);
