//! Group commit on SQLite's single writer. Each write still runs alone on the one connection,
//! but in a savepoint of a transaction it may share with the writes queued behind it: a write
//! that finishes while others wait releases its savepoint and hands the connection on, and the
//! last write of the group (or any member, should the queue empty without one) commits them all
//! with one `COMMIT`, one sync. No write is acknowledged before that sync, so durability is
//! that of one transaction per write; a write that fails rolls back to its own savepoint and
//! never takes another's work with it. A commit that fails fails every write of its group.
//!
//! A write that reads what an earlier member of its group wrote (an idempotency key, a parent
//! row) has read something not yet durable, so every write waits for its group's outcome,
//! whether it committed or rolled back.
//!
//! The connection's state is written down before each statement that changes it, so that a
//! write whose future is dropped half-way (a cancelled call) leaves a state that can be put
//! right: its savepoint rolled back, or, when even that is uncertain, the whole group rolled
//! back and failed. Whoever drops the connection in such a state, or with a group open and
//! nobody queued to go on with it, hands it to a task that puts it right and commits ([`Held`]);
//! so does the last queued write that gives up waiting ([`Queued`]). The group's commit runs in
//! a task of its own and cannot be cut short.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{AnyConnection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// The most writes one commit takes, so that a steady queue still commits now and then.
const MAX_GROUP: usize = 256;

/// The one writer connection and who waits for it.
#[derive(Debug, Clone)]
pub(super) struct GroupWriter {
    writer: Arc<Mutex<Writer>>,
    /// Writes waiting for the connection to begin: while any wait, a finished write leaves the
    /// group's transaction open for them.
    waiting: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct Writer {
    connection: Option<AnyConnection>,
    /// The group whose transaction is open, when one is.
    group: Option<Arc<Group>>,
    state: State,
}

/// Where the connection stands between turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No write's savepoint is open.
    Idle,
    /// A write's savepoint is open (found so between turns: its holder went away before finishing).
    InSavepoint,
    /// A statement that changes the transaction's state was cut short: nothing is known.
    Uncertain,
}

/// The writes that share one transaction, and its outcome once it has one.
#[derive(Debug)]
struct Group {
    members: AtomicUsize,
    outcome: watch::Sender<Option<Result<(), String>>>,
}

const SAVEPOINT: &str = "SAVEPOINT rti_write";
const RELEASE: &str = "RELEASE rti_write";
const ROLLBACK_TO: &str = "ROLLBACK TO rti_write";

impl GroupWriter {
    pub(super) fn new(connection: AnyConnection) -> Self {
        Self {
            writer: Arc::new(Mutex::new(Writer {
                connection: Some(connection),
                group: None,
                state: State::Idle,
            })),
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Begins a write: the connection, in a savepoint of the open group's transaction or of a
    /// new one (`BEGIN IMMEDIATE`).
    pub(super) async fn begin(&self) -> Result<Turn, sqlx::Error> {
        let mut writer = self.hold().await;
        writer.repair().await;
        let group = match writer.group.clone() {
            Some(group) => group,
            None => {
                writer.state = State::Uncertain;
                let begun = writer.connection()?.execute("BEGIN IMMEDIATE").await;
                if let Err(error) = begun {
                    // Nothing was begun, so nothing is open.
                    writer.state = State::Idle;
                    return Err(error);
                }
                let group = Arc::new(Group::new());
                writer.group = Some(group.clone());
                writer.state = State::Idle;
                group
            }
        };
        writer.state = State::Uncertain;
        if let Err(error) = writer.connection()?.execute(SAVEPOINT).await {
            // The group goes on without this write; its members are not kept waiting for it.
            writer.state = State::Idle;
            self.hand_on(writer, true).await;
            return Err(error);
        }
        writer.state = State::InSavepoint;
        group.members.fetch_add(1, Ordering::Relaxed);
        Ok(Turn {
            writer: Some(writer),
            group,
            owner: self.clone(),
        })
    }

    /// The connection for a write, once every write queued before has had its turn; counted as
    /// waiting meanwhile, so that the writes before it leave their group open for it.
    async fn hold(&self) -> Held {
        let queued = Queued::new(self);
        let held = self.hold_uncounted().await;
        queued.served();
        held
    }

    /// The connection for a member of a group, or a task putting things right: not a write, so
    /// no group is left open for it.
    async fn hold_uncounted(&self) -> Held {
        Held {
            writer: Some(self.writer.clone().lock_owned().await),
            owner: self.clone(),
        }
    }

    /// Ends a turn whose savepoint is closed: commits the group when nobody waits to join it
    /// (or `now`), else leaves it open for the next write.
    async fn hand_on(&self, writer: Held, now: bool) {
        let full = writer
            .group
            .as_ref()
            .is_some_and(|group| group.members.load(Ordering::Relaxed) >= MAX_GROUP);
        if now || full || self.waiting.load(Ordering::Acquire) == 0 {
            commit_group(writer.release()).await;
        }
    }

    /// The outcome of `group`: when the queue empties before a write commits it, a member
    /// takes the connection and commits it.
    async fn outcome(&self, group: &Arc<Group>) -> Result<(), sqlx::Error> {
        let mut outcome = group.outcome.subscribe();
        let decided = async move {
            outcome
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|decided| decided.clone())
        };
        let decided = tokio::select! {
            biased;
            decided = decided => decided,
            mut writer = self.hold_uncounted() => {
                writer.repair().await;
                if writer.group.as_ref().is_some_and(|open| Arc::ptr_eq(open, group)) {
                    commit_group(writer.release()).await;
                } else {
                    drop(writer);
                }
                group.decided()
            }
        };
        decided.ok_or_else(gone)?.map_err(failed)
    }

    /// Commits what is open and closes the connection.
    pub(super) async fn close(&self) {
        let mut writer = self.writer.lock().await;
        writer.repair().await;
        if let Some(group) = writer.group.take() {
            let committed = match writer.connection() {
                Ok(connection) => connection.execute("COMMIT").await.map(drop),
                Err(error) => Err(error),
            };
            group.decide(committed.map_err(|error| error.to_string()));
        }
        if let Some(connection) = writer.connection.take() {
            let _ = sqlx::Connection::close(connection).await;
        }
    }
}

impl Writer {
    fn connection(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        self.connection.as_mut().ok_or(sqlx::Error::PoolClosed)
    }

    /// Puts right what a holder that went away left: its savepoint rolled back, or, when the
    /// state is unknown, the whole group rolled back and failed.
    async fn repair(&mut self) {
        match self.state {
            State::Idle => {}
            State::InSavepoint => {
                let rolled_back = match self.connection() {
                    Ok(connection) => match connection.execute(ROLLBACK_TO).await {
                        Ok(_) => connection.execute(RELEASE).await.map(drop),
                        Err(error) => Err(error),
                    },
                    Err(error) => Err(error),
                };
                match rolled_back {
                    Ok(()) => self.state = State::Idle,
                    Err(error) => self.abandon(&error.to_string()).await,
                }
            }
            State::Uncertain => {
                self.abandon("a write was cut short while it changed the transaction")
                    .await
            }
        }
    }

    /// Rolls the whole transaction back and fails its group.
    async fn abandon(&mut self, why: &str) {
        if let Ok(connection) = self.connection() {
            // Nothing may be open; then there is nothing to roll back.
            let _ = connection.execute("ROLLBACK").await;
        }
        if let Some(group) = self.group.take() {
            group.decide(Err(format!("the shared write transaction was rolled back: {why}")));
        }
        self.state = State::Idle;
    }
}

/// Commits the open group's transaction and tells its members, in a task of its own so that a
/// cancelled caller cannot cut the commit short.
async fn commit_group(mut writer: OwnedMutexGuard<Writer>) {
    let committing = tokio::spawn(async move {
        let Some(group) = writer.group.take() else { return };
        writer.state = State::Uncertain;
        let committed = match writer.connection() {
            Ok(connection) => connection.execute("COMMIT").await.map(drop),
            Err(error) => Err(error),
        };
        if committed.is_err()
            && let Ok(connection) = writer.connection()
        {
            let _ = connection.execute("ROLLBACK").await;
        }
        writer.state = State::Idle;
        group.decide(committed.map_err(|error| error.to_string()));
    });
    // A panic in the task leaves the group closed and undecided: its members find it so and
    // report their writes as not committed.
    let _ = committing.await;
}

impl Group {
    fn new() -> Self {
        let (outcome, _) = watch::channel(None);
        Self {
            members: AtomicUsize::new(0),
            outcome,
        }
    }

    fn decided(&self) -> Option<Result<(), String>> {
        self.outcome.borrow().clone()
    }

    fn decide(&self, outcome: Result<(), String>) {
        self.outcome.send_replace(Some(outcome));
    }
}

/// A write's hold on the connection, inside its savepoint.
#[derive(Debug)]
pub(super) struct Turn {
    writer: Option<Held>,
    group: Arc<Group>,
    owner: GroupWriter,
}

impl Turn {
    pub(super) fn connection(&self) -> &AnyConnection {
        self.writer
            .as_ref()
            .and_then(|writer| writer.connection.as_ref())
            .expect("a turn holds the open connection until it ends")
    }

    pub(super) fn connection_mut(&mut self) -> &mut AnyConnection {
        self.writer
            .as_mut()
            .and_then(|writer| writer.connection.as_mut())
            .expect("a turn holds the open connection until it ends")
    }

    /// Keeps the write: its savepoint released, and then the group's commit awaited.
    pub(super) async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.end(RELEASE).await
    }

    /// Undoes the write; still waits for the group, whose uncommitted work it may have read.
    pub(super) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.end(ROLLBACK_TO).await
    }

    async fn end(&mut self, closing: &'static str) -> Result<(), sqlx::Error> {
        let Some(mut writer) = self.writer.take() else {
            return Err(gone());
        };
        writer.state = State::Uncertain;
        let closed = match writer.connection() {
            Ok(connection) => match connection.execute(closing).await {
                Ok(_) if closing == ROLLBACK_TO => connection.execute(RELEASE).await.map(drop),
                Ok(_) => Ok(()),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match closed {
            Ok(()) => {
                writer.state = State::Idle;
                self.owner.hand_on(writer, false).await;
            }
            Err(error) => {
                // A savepoint that cannot be closed leaves the transaction in doubt.
                writer.abandon(&error.to_string()).await;
                return Err(error);
            }
        }
        self.owner.outcome(&self.group).await
    }
}

/// The connection held by one task. Dropped with a savepoint or a statement in doubt, or with
/// its group open and no write queued to go on with it (a turn that returned early, a cancelled
/// call), it is put right and the group committed by a task of its own; with no runtime to run
/// one, by the next holder.
#[derive(Debug)]
struct Held {
    writer: Option<OwnedMutexGuard<Writer>>,
    owner: GroupWriter,
}

impl Held {
    /// The guard, for a caller that finishes the group itself.
    fn release(mut self) -> OwnedMutexGuard<Writer> {
        self.writer.take().expect("held until released or dropped")
    }
}

impl std::ops::Deref for Held {
    type Target = Writer;

    fn deref(&self) -> &Writer {
        self.writer.as_ref().expect("held until released or dropped")
    }
}

impl std::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut Writer {
        self.writer.as_mut().expect("held until released or dropped")
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(writer) = self.writer.take() else { return };
        let abandoned = writer.group.is_some() && self.owner.waiting.load(Ordering::Acquire) == 0;
        if writer.state == State::Idle && !abandoned {
            return;
        }
        let owner = self.owner.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut writer = writer;
                writer.repair().await;
                if writer.group.is_some() && owner.waiting.load(Ordering::Acquire) == 0 {
                    commit_group(writer).await;
                }
            });
        }
    }
}

/// Counts a write as waiting while it waits for the connection. The last waiter to give up
/// before its turn (a cancelled call) commits what was left open for it.
struct Queued<'a> {
    owner: &'a GroupWriter,
    served: bool,
}

impl<'a> Queued<'a> {
    fn new(owner: &'a GroupWriter) -> Self {
        owner.waiting.fetch_add(1, Ordering::AcqRel);
        Self { owner, served: false }
    }

    fn served(mut self) {
        self.served = true;
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let last = self.owner.waiting.fetch_sub(1, Ordering::AcqRel) == 1;
        if self.served || !last {
            return;
        }
        let owner = self.owner.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            // Held and let go at once: its drop puts right and commits what was left open.
            runtime.spawn(async move { drop(owner.hold_uncounted().await) });
        }
    }
}

fn gone() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(
        "the shared write transaction ended without an outcome",
    ))
}

/// A group's failed commit, as each of its writes reports it: the store was not written.
fn failed(reason: String) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!("the write was not committed: {reason}")))
}
