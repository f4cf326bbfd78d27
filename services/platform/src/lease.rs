//! Leases: a job that must run in one process at a time, whichever replica that is, such as
//! following another service's event stream. A process takes the lease named for the job in the
//! database, renews it well before it expires, and runs the job only while it holds it; when the
//! holder dies, another process takes the lease once it has expired and runs the job there. A
//! holder that cannot renew stops its job at once, and one that stops on purpose gives the lease
//! up so that another takes it without waiting.
//!
//! A lease keeps two processes from doing the same work; it is not what keeps the work correct.
//! A holder paused past its lease's expiry may still finish a step after another has taken over,
//! so the jobs behind leases stay idempotent (a stream's events are applied with its cursor in
//! one transaction, and a replay changes nothing twice).

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::{Backend, Database};
use crate::ids::new_id;
use crate::time::now_micros;

/// Runs `job` in one process at a time among those sharing `database`, until `shutdown`: under
/// the lease `name` on PostgreSQL, where replicas share the store; at once on SQLite, whose file
/// belongs to one process (a lease there would only make a restarted process wait for its dead
/// predecessor's to expire).
pub async fn run_in_one_process<Job, Running>(
    database: Database,
    name: String,
    shutdown: CancellationToken,
    mut job: Job,
) where
    Job: FnMut(CancellationToken) -> Running,
    Running: Future<Output = ()>,
{
    match database.backend() {
        Backend::Postgres => Lease::new(database, name).run_while_held(shutdown, job).await,
        Backend::Sqlite => job(shutdown).await,
    }
}

/// How long a lease lasts unless renewed, and how often its holder renews it (and a waiting
/// process tries to take it).
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    pub lasts: Duration,
    pub renew_every: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            lasts: Duration::from_secs(15),
            renew_every: Duration::from_secs(3),
        }
    }
}

/// One process's claim on the lease `name`.
#[derive(Debug, Clone)]
pub struct Lease {
    database: Database,
    name: String,
    holder: String,
    timing: LeaseTiming,
}

impl Lease {
    pub fn new(database: Database, name: impl Into<String>) -> Self {
        Self::with_timing(database, name, LeaseTiming::default())
    }

    pub fn with_timing(database: Database, name: impl Into<String>, timing: LeaseTiming) -> Self {
        Self {
            database,
            name: name.into(),
            holder: new_id(),
            timing,
        }
    }

    /// Runs `job` whenever this process holds the lease, until `shutdown` fires: waits to take
    /// it, runs the job while renewing it, and cancels the job (through the token it is given)
    /// when the lease is lost, to wait for the lease again. A job that ends by itself ends this.
    pub async fn run_while_held<Job, Running>(&self, shutdown: CancellationToken, mut job: Job)
    where
        Job: FnMut(CancellationToken) -> Running,
        Running: Future<Output = ()>,
    {
        loop {
            if !self.wait_to_take(&shutdown).await {
                return;
            }
            tracing::info!(lease = %self.name, "took the lease; running its job here");
            let lost = shutdown.child_token();
            let running = job(lost.clone());
            tokio::pin!(running);
            let mut renewals = tokio::time::interval(self.timing.renew_every);
            renewals.tick().await;
            loop {
                tokio::select! {
                    () = &mut running => {
                        self.give_up().await;
                        return;
                    }
                    _ = renewals.tick() => {
                        if !matches!(self.take().await, Ok(true)) {
                            tracing::warn!(lease = %self.name, "lost the lease; stopping its job here");
                            lost.cancel();
                            running.as_mut().await;
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Whether the lease was taken before `shutdown` fired.
    async fn wait_to_take(&self, shutdown: &CancellationToken) -> bool {
        loop {
            match self.take().await {
                Ok(true) => return true,
                Ok(false) => {}
                Err(error) => tracing::warn!(lease = %self.name, %error, "cannot take the lease; trying again"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(self.timing.renew_every) => {}
            }
        }
    }

    /// Takes or renews the lease: it is free, expired, or already this process's.
    async fn take(&self) -> Result<bool, sqlx::Error> {
        let now = now_micros();
        let lasts = i64::try_from(self.timing.lasts.as_micros()).unwrap_or(i64::MAX);
        let mut transaction = self.database.begin_write().await?;
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(&self.name)
        .bind(&self.holder)
        .bind(now.saturating_add(lasts))
        .bind(now)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        Ok(taken == 1)
    }

    /// Gives the lease up, so that another process need not wait for it to expire.
    async fn give_up(&self) {
        let given_up = async {
            let mut transaction = self.database.begin_write().await?;
            sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(&self.name)
                .bind(&self.holder)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await
        };
        if let Err(error) = given_up.await {
            tracing::warn!(lease = %self.name, %error, "cannot give the lease up; it expires by itself");
        }
    }
}
