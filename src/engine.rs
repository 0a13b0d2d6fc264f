//! The engine: the imperative shell that loads state, decides, and appends.
//!
//! [`Engine`] wires a store, a business calendar and a policy:
//!
//! * [`Engine::execute`] loads the customer's account (cached in memory,
//!   else from the latest snapshot plus the stream's tail), decides the
//!   command, lets the policy decide on any order it places (the
//!   `CreditDecided` goes in the **same append** as the `OrderPlaced`), and
//!   appends with the expected stream version. On a concurrency conflict
//!   (another process appended first) it catches up and decides again, a
//!   bounded number of times.
//! * [`Engine::evaluate`] closes passed deadlines (expired payment orders,
//!   broken promises) and records what the policy says at `now`: changes of
//!   priority, fulfilment mode, discount / markup / bonus, notices, service
//!   warnings and due reminders. Evaluating again at the same `now` records
//!   nothing new.
//!
//! Every command's cost is independent of the customer's history length: the
//! account is cached and caught up from the store with one read of the
//! events appended since (usually none); a cold load starts from the latest
//! snapshot, written every [`EngineConfig::snapshot_every`] events. A
//! snapshot is serialised and saved by the engine's snapshot thread (started
//! on the first one) from an O(1) clone of the account, so the command that
//! crosses the boundary does not pay for it; a stream's newer snapshot
//! replaces one the thread has not reached, so a busy thread never builds a
//! backlog. Dropping the engine, or [`Engine::flush_snapshots`], waits for
//! the pending ones.
//!
//! The engine is `Send + Sync` and synchronous. In an async service keep it
//! in an `Arc` and call it from `tokio::task::spawn_blocking` (see the
//! `tokio_service` example), so store IO never blocks the executor.

use std::collections::BTreeMap;
#[allow(
    clippy::disallowed_types,
    reason = "the account cache is looked up, never iterated"
)]
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use credence_aggregates::{CheckDeadlines, Command, CustomerAccount, Rejection};
use credence_events::{
    BusinessCalendar, CustomerId, Event, EventEnvelope, EventId, GlobalPosition, ItemId, NewEvent,
    StreamId, StreamVersion,
};
use credence_policies::{
    Policy, PolicyError, PolicyRegistry, ReplayReport, WhatIf, WhatIfDifference, decide_order,
    evaluate_customer, release_held_orders, replay_check,
};
use credence_projections::{
    AllocationPlan, AsOfIndex, Projection, ProjectionConfig, ProjectionError, Projections,
    ServiceQueue, StreamEvents,
};
use credence_store::{
    EventStore, ExpectedVersion, FileOptions, FileStore, MemoryStore, Snapshot, SnapshotKey,
    StoreError, VerifyReport,
};
use rust_decimal::Decimal;

/// The layout version of the account snapshots this build writes. Part of
/// the snapshot key, so snapshots written by other code are never read.
const ACCOUNT_SNAPSHOT_LAYOUT: &str = concat!("account-v2-credence-", env!("CARGO_PKG_VERSION"));

/// How many events are read from a store per call while replaying.
const READ_BATCH: usize = 4096;

/// Everything that can go wrong in the engine.
///
/// * [`EngineError::Rejected`]: the command is invalid for the account (a
///   business rejection); nothing was stored; do not retry unchanged.
/// * [`EngineError::Conflict`]: other writers kept appending to the stream
///   and the bounded retries ran out; retrying later is safe.
/// * [`EngineError::Store`] / [`EngineError::Projection`]: infrastructure.
/// * [`EngineError::Policy`]: the policy could not evaluate (a policy bug or
///   an unregistered customer); nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The command was rejected by the account's rules.
    #[error("rejected: {0}")]
    Rejected(#[from] Rejection),
    /// The stream kept changing under the engine.
    #[error("stream {stream} kept changing: gave up after {attempts} attempts")]
    Conflict {
        /// The stream.
        stream: StreamId,
        /// How many times the engine decided.
        attempts: u32,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The policy failed.
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    /// The customer has no stream.
    #[error("unknown customer {0}")]
    UnknownCustomer(CustomerId),
    /// The read models could not follow the log (a gap or an event out of
    /// order: the store broke its contract).
    #[error("read models: {0}")]
    Projection(#[from] ProjectionError),
}

/// Knobs of an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The supplier's calendar (time zone, weekends, holidays).
    pub calendar: BusinessCalendar,
    /// How many times a command is decided again after a concurrency
    /// conflict before giving up. Default 5.
    pub max_retries: u32,
    /// Write a snapshot of an account every this many events (0: never),
    /// on the engine's snapshot thread. Default 1,000.
    pub snapshot_every: u64,
    /// How many threads whole-log audits ([`Engine::what_if`],
    /// [`Engine::replay_check`]) use, customers being independent; 0 (the
    /// default) means what the machine offers, 1 means the calling thread
    /// only.
    pub audit_threads: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            calendar: BusinessCalendar::default(),
            max_retries: 5,
            snapshot_every: 1_000,
            audit_threads: 0,
        }
    }
}

/// What [`Engine::execute`] or [`Engine::evaluate`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// The stored events (empty when there was nothing to record).
    pub events: Vec<EventEnvelope>,
    /// The customer's stream version afterwards.
    pub version: StreamVersion,
}

/// Which view of the past a state query wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Everything known now.
    Now,
    /// The facts that had happened by business time `t` (occurred_at <= t),
    /// as known now: a payment recorded later for an earlier date counts.
    Business(DateTime<Utc>),
    /// What the engine knew at recorded time `k` (recorded_at <= k): the
    /// view a decision taken at `k` saw.
    Known(DateTime<Utc>),
}

type Slot = Arc<Mutex<Option<CustomerAccount>>>;

/// The read models, caught up from the global log on demand.
#[derive(Debug)]
pub struct ReadModels {
    /// Customer credit states, service queue, allocation, worklists,
    /// statistics.
    pub projections: Projections,
    /// The snapshot index behind as-of queries.
    pub as_of: AsOfIndex,
}

/// The engine: a store, a calendar, a policy and a cache of accounts.
#[derive(Debug)]
#[allow(
    clippy::disallowed_types,
    reason = "the account cache is looked up, never iterated"
)]
pub struct Engine {
    store: Arc<dyn EventStore>,
    policy: Arc<Policy>,
    registry: PolicyRegistry,
    config: EngineConfig,
    /// Cached accounts by customer (hashed: looked up on every command,
    /// never iterated in order).
    accounts: Mutex<HashMap<CustomerId, Slot>>,
    read: Mutex<ReadModels>,
    snapshots: SnapshotWriter,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.snapshots.finish(&*self.store);
    }
}

/// Saves `account` as `stream`'s snapshot; a failure is logged.
fn save_snapshot(store: &dyn EventStore, stream: &StreamId, account: &CustomerAccount) {
    let saved = serde_json::to_vec(account)
        .map_err(|e| StoreError::InvalidInput(format!("account does not serialise: {e}")))
        .and_then(|data| {
            let key = SnapshotKey::for_code("account", ACCOUNT_SNAPSHOT_LAYOUT)?;
            store.save_snapshot(&Snapshot {
                stream: stream.clone(),
                version: account.version(),
                key,
                data,
            })
        });
    if let Err(e) = saved {
        tracing::warn!(%stream, error = %e, "snapshot not saved");
    }
}

/// The engine's snapshot thread and what it still has to save: at most one
/// account per stream, the latest. A newer snapshot of a stream replaces
/// one the thread has not reached, so a thread slower than the commands
/// (history-sized accounts written often) never builds a backlog: it saves
/// the latest state of each stream it comes to, and the memory held for
/// it is one account clone per stream at most. Started on the first
/// snapshot; [`SnapshotWriter::finish`] stops it after it saved everything
/// pending. When no thread can be started, snapshots are saved in the
/// caller.
#[derive(Default)]
struct SnapshotWriter {
    shared: Arc<SnapshotQueue>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What the snapshot thread and the engine share.
#[derive(Default)]
struct SnapshotQueue {
    pending: Mutex<Pending>,
    wake: Condvar,
}

#[derive(Default)]
struct Pending {
    /// The latest account of each stream not saved yet.
    accounts: BTreeMap<StreamId, CustomerAccount>,
    /// Set by `finish`: the thread stops once `accounts` is empty.
    closing: bool,
}

impl std::fmt::Debug for SnapshotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("running", &lock(&self.worker).is_some())
            .field("pending", &lock(&self.shared.pending).accounts.len())
            .finish()
    }
}

impl SnapshotQueue {
    /// The thread's loop: saves pending accounts until told to close and
    /// nothing is left.
    fn run(&self, store: &dyn EventStore) {
        loop {
            let next = {
                let mut pending = lock(&self.pending);
                loop {
                    if let Some(entry) = pending.accounts.pop_first() {
                        break Some(entry);
                    }
                    if pending.closing {
                        break None;
                    }
                    pending = self
                        .wake
                        .wait(pending)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            };
            match next {
                Some((stream, account)) => save_snapshot(store, &stream, &account),
                None => return,
            }
        }
    }
}

impl SnapshotWriter {
    fn submit(&self, store: &Arc<dyn EventStore>, stream: StreamId, account: CustomerAccount) {
        let mut worker = lock(&self.worker);
        // The thread runs until `finish`: one that ended panicked. Start
        // anew; what it left pending is saved by the next one.
        if worker.as_ref().is_some_and(|h| h.is_finished()) {
            if let Some(Err(_)) = worker.take().map(std::thread::JoinHandle::join) {
                tracing::warn!("the snapshot thread panicked; starting another");
            }
        }
        if worker.is_none() {
            let shared = Arc::clone(&self.shared);
            let worker_store = Arc::clone(store);
            let spawned = std::thread::Builder::new()
                .name("credence-snapshots".into())
                .spawn(move || shared.run(&*worker_store));
            match spawned {
                Ok(handle) => *worker = Some(handle),
                Err(e) => {
                    tracing::debug!(error = %e, "no snapshot thread; saving in the caller");
                    drop(worker);
                    return save_snapshot(&**store, &stream, &account);
                }
            }
        }
        drop(worker);
        lock(&self.shared.pending).accounts.insert(stream, account);
        self.shared.wake.notify_one();
    }

    /// Stops the thread after it saved everything pending, and saves in
    /// the caller whatever it left (it panicked, or a snapshot came in as
    /// it stopped).
    fn finish(&self, store: &dyn EventStore) {
        let mut worker = lock(&self.worker);
        if let Some(handle) = worker.take() {
            lock(&self.shared.pending).closing = true;
            self.shared.wake.notify_one();
            if handle.join().is_err() {
                tracing::warn!("the snapshot thread panicked");
            }
        }
        let left = {
            let mut pending = lock(&self.shared.pending);
            pending.closing = false;
            std::mem::take(&mut pending.accounts)
        };
        drop(worker);
        for (stream, account) in left {
            save_snapshot(store, &stream, &account);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave an account half-applied
    // (apply is total), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Engine {
    /// An engine over `store` with `policy`.
    pub fn new(store: Arc<dyn EventStore>, policy: Policy, config: EngineConfig) -> Self {
        let registry = PolicyRegistry::new()
            .with(Policy::default_policy())
            .with(policy.clone());
        let read = ReadModels {
            projections: Projections::new(ProjectionConfig {
                calendar: config.calendar.clone(),
                ..ProjectionConfig::default()
            }),
            as_of: AsOfIndex::default(),
        };
        Self {
            store,
            policy: Arc::new(policy),
            registry,
            config,
            accounts: Mutex::default(),
            read: Mutex::new(read),
            snapshots: SnapshotWriter::default(),
        }
    }

    /// An engine over a fresh in-memory store with the default policy.
    pub fn in_memory() -> Self {
        Self::new(
            Arc::new(MemoryStore::new()),
            Policy::default_policy(),
            EngineConfig::default(),
        )
    }

    /// An engine over the embedded file log in `dir` (created if missing),
    /// with default durability (fsync, group commit).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] when the directory cannot be opened (locked by
    /// another writer, corrupt, unreadable).
    pub fn open_file(
        dir: impl AsRef<Path>,
        policy: Policy,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let store = FileStore::open(dir, FileOptions::default())?;
        Ok(Self::new(Arc::new(store), policy, config))
    }

    /// An engine over a PostgreSQL database (schema migrated on connect).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] when the database cannot be reached.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(
        url: &str,
        policy: Policy,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let store = credence_store::PostgresStore::connect(url)?;
        Ok(Self::new(Arc::new(store), policy, config))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The calendar.
    pub fn calendar(&self) -> &BusinessCalendar {
        &self.config.calendar
    }

    /// Makes earlier policy versions known, so that decisions they recorded
    /// can be replayed and audited. The policy in force and the built-in
    /// default are always known.
    pub fn with_past_policies(mut self, policies: impl IntoIterator<Item = Policy>) -> Self {
        for policy in policies {
            self.registry.insert(policy);
        }
        self
    }

    /// The policies the engine can replay decisions with.
    pub fn registry(&self) -> &PolicyRegistry {
        &self.registry
    }

    fn slot(&self, customer: &CustomerId) -> Slot {
        let mut accounts = lock(&self.accounts);
        match accounts.get(customer) {
            Some(slot) => Arc::clone(slot),
            None => Arc::clone(accounts.entry(customer.clone()).or_default()),
        }
    }

    /// Brings the cached account up to date with the store: loads it from a
    /// snapshot and the stream when not cached, then applies whatever was
    /// appended since.
    fn refresh(
        &self,
        slot: &mut Option<CustomerAccount>,
        stream: &StreamId,
    ) -> Result<(), EngineError> {
        if slot.is_none() {
            *slot = Some(self.load_snapshot(stream)?.unwrap_or_default());
        }
        let account = slot.as_mut().expect("just filled");
        let from = account.version().next();
        self.store.replay_stream(stream, from, &mut |envelope| {
            account.apply(envelope);
            ControlFlow::Continue(())
        })?;
        Ok(())
    }

    fn snapshot_key() -> Result<SnapshotKey, EngineError> {
        Ok(SnapshotKey::for_code("account", ACCOUNT_SNAPSHOT_LAYOUT)?)
    }

    fn load_snapshot(&self, stream: &StreamId) -> Result<Option<CustomerAccount>, EngineError> {
        let key = Self::snapshot_key()?;
        let Some(snapshot) = self
            .store
            .load_snapshot(stream, &key, StreamVersion(u64::MAX))?
        else {
            return Ok(None);
        };
        // A snapshot that does not decode (written by a build with the same
        // key but another layout) is ignored: the stream is the truth.
        let account: Option<CustomerAccount> = serde_json::from_slice(&snapshot.data).ok();
        Ok(account.filter(|a| a.version() == snapshot.version))
    }

    /// Queues a snapshot when the account crossed a multiple of
    /// [`EngineConfig::snapshot_every`]: the engine's snapshot thread
    /// serialises and saves it (from an O(1) clone of the account), so the
    /// command does not pay for a history-sized snapshot. A failure is
    /// logged, not returned: the events are stored, and a missing snapshot
    /// only makes a later cold load fold more events.
    fn maybe_snapshot(&self, stream: &StreamId, account: &CustomerAccount, before: StreamVersion) {
        let every = self.config.snapshot_every;
        if every == 0 || account.version().0 / every == before.0 / every {
            return;
        }
        self.snapshots
            .submit(&self.store, stream.clone(), account.clone());
    }

    /// Waits until the latest snapshot queued of each stream is saved (or
    /// failed and was logged); an older one the snapshot thread had not
    /// reached when a newer one of the same stream came is never saved.
    /// Dropping the engine does the same.
    pub fn flush_snapshots(&self) {
        self.snapshots.finish(&*self.store);
    }

    /// Runs `command` at business time `now` (the time the engine learns
    /// it; it becomes every event's `recorded_at`).
    ///
    /// # Errors
    ///
    /// See [`EngineError`]. On any error nothing is stored.
    #[tracing::instrument(skip_all, fields(customer = %command.customer(), command = command.name(), %now))]
    pub fn execute(&self, command: Command, now: DateTime<Utc>) -> Result<Executed, EngineError> {
        let customer = command.customer().clone();
        self.record(&customer, |engine, draft| {
            let events = draft.account.decide(&command, now, engine.calendar())?;
            let occurred_at = command.occurred_at(now);
            for event in events {
                let placed = match &event {
                    Event::OrderPlaced(placed) => Some(placed.order.clone()),
                    _ => None,
                };
                draft.stage(event, occurred_at, now);
                // A placed order gets its credit decision in the same append,
                // decided on the state that holds the order.
                if let Some(order) = placed {
                    let decision = decide_order(
                        &engine.policy,
                        draft.account,
                        &order,
                        occurred_at,
                        engine.calendar(),
                    )?;
                    draft.stage(decision.event.into(), occurred_at, now);
                }
            }
            Ok(())
        })
    }

    /// Evaluates `customer` at business time `now`: closes passed deadlines
    /// (expired payment orders, broken promises), releases held orders the
    /// policy now accepts (after a payment, say), and records the policy's
    /// changes of standing, notices and due reminders. Idempotent at the
    /// same `now`.
    ///
    /// # Errors
    ///
    /// See [`EngineError`].
    #[tracing::instrument(skip_all, fields(%customer, %now))]
    pub fn evaluate(
        &self,
        customer: &CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Executed, EngineError> {
        self.record(customer, |engine, draft| {
            if !draft.account.is_registered() {
                return Err(EngineError::UnknownCustomer(customer.clone()));
            }
            // Close deadlines, then release held orders the policy now
            // accepts, then evaluate the customer, each on the state after
            // the one before.
            let check = CheckDeadlines {
                customer: customer.clone(),
            };
            for event in draft
                .account
                .decide(&check.into(), now, engine.calendar())?
            {
                draft.stage(event, now, now);
            }
            for release in
                release_held_orders(&engine.policy, draft.account, now, engine.calendar())?
            {
                draft.stage(release.event.into(), now, now);
            }
            let evaluation =
                evaluate_customer(&engine.policy, draft.account, now, engine.calendar())?;
            for event in evaluation.events {
                draft.stage(event, now, now);
            }
            Ok(())
        })
    }

    /// The shared load / decide / append / retry loop. `decide` stages its
    /// events on the cached account itself (no copy of the account per
    /// command); when anything fails after staging, the cached account is
    /// dropped and the next call reloads it from the store.
    fn record(
        &self,
        customer: &CustomerId,
        decide: impl Fn(&Engine, &mut Draft<'_>) -> Result<(), EngineError>,
    ) -> Result<Executed, EngineError> {
        let stream = StreamId::for_customer(customer);
        let slot = self.slot(customer);
        let mut guard = lock(&slot);
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.refresh(&mut guard, &stream)?;
            let account = guard.as_mut().expect("refreshed");
            let before = account.version();
            let mut draft = Draft {
                stream: &stream,
                account,
                proposed: Vec::new(),
            };
            let decided = decide(self, &mut draft);
            let proposed = draft.proposed;
            if let Err(e) = decided {
                if !proposed.is_empty() {
                    *guard = None;
                }
                return Err(e);
            }
            if proposed.is_empty() {
                return Ok(Executed {
                    events: Vec::new(),
                    version: before,
                });
            }
            let expected = if before == StreamVersion::NONE {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(before)
            };
            match self.store.append(&stream, expected, &proposed) {
                Ok(outcome) => {
                    let account = guard.as_ref().expect("refreshed");
                    let mut position = outcome.first_position;
                    let mut version = before;
                    let stored: Vec<EventEnvelope> = proposed
                        .into_iter()
                        .map(|new| {
                            version = version.next();
                            let envelope = new.into_envelope(stream.clone(), version, position);
                            position = position.next();
                            envelope
                        })
                        .collect();
                    self.maybe_snapshot(&stream, account, before);
                    return Ok(Executed {
                        events: stored,
                        version: account.version(),
                    });
                }
                Err(e) => {
                    // The staged events were not stored (or, for an IO error,
                    // may have been): forget the cached state so it is
                    // reloaded from the store.
                    *guard = None;
                    match e {
                        StoreError::Conflict { .. } if attempts <= self.config.max_retries => {
                            tracing::debug!(%stream, attempts, "conflict; catching up and deciding again");
                        }
                        StoreError::Conflict { .. } => {
                            return Err(EngineError::Conflict { stream, attempts });
                        }
                        e => return Err(e.into()),
                    }
                }
            }
        }
    }

    /// The customer's current account.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownCustomer`] when it has no stream, or a store
    /// error.
    pub fn account(&self, customer: &CustomerId) -> Result<CustomerAccount, EngineError> {
        let slot = self.slot(customer);
        let mut guard = lock(&slot);
        self.refresh(&mut guard, &StreamId::for_customer(customer))?;
        let account = guard.as_ref().expect("refreshed");
        if !account.is_registered() {
            return Err(EngineError::UnknownCustomer(customer.clone()));
        }
        Ok(account.clone())
    }

    /// The customer's account as of a business or recorded time, from the
    /// as-of snapshot index (no replay from the start of the stream).
    ///
    /// # Errors
    ///
    /// As [`Engine::account`].
    pub fn account_as_of(
        &self,
        customer: &CustomerId,
        as_of: AsOf,
    ) -> Result<CustomerAccount, EngineError> {
        let wanted = match as_of {
            AsOf::Now => return self.account(customer),
            AsOf::Business(t) => credence_projections::AsOf::business(t),
            AsOf::Known(k) => credence_projections::AsOf::known_at(k),
        };
        let source = StoreEvents(self.store.as_ref());
        self.read_models(|read| read.as_of.state(customer, wanted, &source))??
            .filter(CustomerAccount::is_registered)
            .ok_or_else(|| EngineError::UnknownCustomer(customer.clone()))
    }

    /// Runs `f` on the read models, first caught up with the global log.
    /// Service queue, stock allocation, worklists and statistics are read
    /// this way (their results borrow from the read models).
    ///
    /// # Errors
    ///
    /// A store error, or read models that cannot follow the log.
    pub fn read_models<T>(&self, f: impl FnOnce(&ReadModels) -> T) -> Result<T, EngineError> {
        let mut read = lock(&self.read);
        let after = read.projections.checkpoint().min(read.as_of.checkpoint());
        let mut failed = None;
        self.store.replay_all(after, &mut |envelope| {
            let applied = read
                .projections
                .apply(envelope)
                .and_then(|_| read.as_of.apply(envelope));
            match applied {
                Ok(_) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        Ok(f(&read))
    }

    /// Runs `f` on the service queue at business time `now`: every open
    /// order in service order with the reason for its position.
    ///
    /// # Errors
    ///
    /// As [`Engine::read_models`].
    pub fn service_queue<T>(
        &self,
        now: DateTime<Utc>,
        f: impl FnOnce(&ServiceQueue<'_>) -> T,
    ) -> Result<T, EngineError> {
        self.read_models(|read| f(&read.projections.service_queue(now)))
    }

    /// Runs `f` on the allocation of `stock` (quantity on hand per item;
    /// missing items have none) over the open order lines in service order
    /// at business time `now`.
    ///
    /// # Errors
    ///
    /// As [`Engine::read_models`]; [`EngineError::Projection`] for a negative
    /// quantity.
    pub fn allocate<T>(
        &self,
        stock: &BTreeMap<ItemId, Decimal>,
        now: DateTime<Utc>,
        f: impl FnOnce(&AllocationPlan<'_>) -> T,
    ) -> Result<T, EngineError> {
        self.read_models(|read| read.projections.allocate(stock, now).map(|plan| f(&plan)))?
            .map_err(EngineError::from)
    }

    /// Walks the store's checksums and hash chain.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] naming what is damaged.
    pub fn verify(&self) -> Result<VerifyReport, EngineError> {
        Ok(self.store.verify()?)
    }

    /// The reminders the policy makes due at `now`, customer by customer,
    /// that have not been sent: what [`Engine::evaluate`] would record,
    /// without recording anything.
    ///
    /// # Errors
    ///
    /// A store or policy error.
    pub fn due_reminders(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<credence_events::ReminderSent>, EngineError> {
        self.read_models(|read| {
            let mut due = Vec::new();
            for account in read.projections.accounts().filter(|a| a.is_registered()) {
                let evaluation = evaluate_customer(&self.policy, account, now, self.calendar())?;
                due.extend(evaluation.reminders().cloned());
            }
            Ok(due)
        })?
    }

    /// Every event of the customer's stream.
    ///
    /// # Errors
    ///
    /// A store error.
    pub fn history(&self, customer: &CustomerId) -> Result<Vec<EventEnvelope>, EngineError> {
        let stream = StreamId::for_customer(customer);
        let mut all = Vec::new();
        loop {
            let from = StreamVersion(all.len() as u64 + 1);
            let batch = self.store.read_stream(&stream, from, READ_BATCH)?;
            let done = batch.len() < READ_BATCH;
            if all.is_empty() {
                all = batch;
            } else {
                all.extend(batch);
            }
            if done {
                return Ok(all);
            }
        }
    }

    /// Every event in the global log, in commit order.
    ///
    /// # Errors
    ///
    /// A store error.
    pub fn global_log(&self) -> Result<Vec<EventEnvelope>, EngineError> {
        let mut all = Vec::new();
        self.scan_log(|batch| {
            all.extend(batch);
            ControlFlow::Continue(())
        })?;
        Ok(all)
    }

    /// Hands the global log to `f` in commit order, a batch at a time,
    /// until the end or until `f` breaks: the log is never held whole.
    fn scan_log(
        &self,
        mut f: impl FnMut(Vec<EventEnvelope>) -> ControlFlow<()>,
    ) -> Result<(), EngineError> {
        let mut after = GlobalPosition::START;
        loop {
            let batch = self.store.read_all(after, READ_BATCH)?;
            let next = batch.last().map(|e| e.position);
            let full = batch.len() == READ_BATCH;
            if f(batch).is_break() {
                return Ok(());
            }
            match next {
                Some(position) if full => after = position,
                _ => return Ok(()),
            }
        }
    }
}

impl Engine {
    /// Every customer with a stream, in id order: the streams the store
    /// lists whose first event registers a customer.
    ///
    /// # Errors
    ///
    /// A store error.
    pub fn customers(&self) -> Result<Vec<CustomerId>, EngineError> {
        let mut customers = Vec::new();
        for stream in self.store.streams()? {
            // The first event only, lent by the store.
            self.store
                .replay_stream(&stream, StreamVersion::NONE, &mut |first| {
                    if let Event::CustomerRegistered(e) = &first.event {
                        customers.push(e.customer.clone());
                    }
                    ControlFlow::Break(())
                })?;
        }
        // A customer's stream is named by its id, so this is id order
        // already; sort all the same rather than rely on the naming.
        customers.sort_unstable();
        customers.dedup();
        Ok(customers)
    }

    /// Runs `audit` on every customer, on up to
    /// [`EngineConfig::audit_threads`] threads (customers are independent),
    /// and returns the results in customer order. The first error wins.
    fn audit_each<T: Send>(
        &self,
        audit: impl Fn(&CustomerId) -> Result<T, EngineError> + Sync,
    ) -> Result<Vec<(CustomerId, T)>, EngineError> {
        let customers = self.customers()?;
        let threads = match self.config.audit_threads {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            n => n,
        }
        .clamp(1, customers.len().max(1));
        let run = |k: usize| -> Result<Vec<(usize, T)>, EngineError> {
            (k..customers.len())
                .step_by(threads)
                .map(|i| Ok((i, audit(&customers[i])?)))
                .collect()
        };
        let mut results = if threads == 1 {
            run(0)?
        } else {
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads).map(|k| scope.spawn(move || run(k))).collect();
                let mut all = Vec::with_capacity(customers.len());
                for worker in workers {
                    match worker.join() {
                        Ok(part) => all.extend(part?),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                Ok::<_, EngineError>(all)
            })?
        };
        results.sort_unstable_by_key(|(i, _)| *i);
        Ok(results
            .into_iter()
            .map(|(i, result)| (customers[i].clone(), result))
            .collect())
    }

    /// Re-derives every recorded decision of every customer with the policy
    /// version it names; the report per customer lists what does not
    /// reproduce.
    ///
    /// # Errors
    ///
    /// A store error.
    #[tracing::instrument(skip_all)]
    pub fn replay_check(&self) -> Result<Vec<(CustomerId, ReplayReport)>, EngineError> {
        self.audit_each(|customer| {
            let history = self.history(customer)?;
            Ok(replay_check(&history, &self.registry, self.calendar()))
        })
    }

    /// Evaluates `candidate` at every recorded decision point (those with a
    /// business time in `[from, to)` when `range` is given) and lists the
    /// decisions it would take differently, per customer.
    ///
    /// # Errors
    ///
    /// A store error, or a recorded policy the engine does not know (see
    /// [`Engine::with_past_policies`]).
    #[tracing::instrument(skip_all)]
    pub fn what_if(
        &self,
        candidate: &Policy,
        range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<(CustomerId, WhatIfDifference)>, EngineError> {
        // Each stream is folded as the store lends it, never copied whole.
        let per_customer = self.audit_each(|customer| {
            let mut run = WhatIf::new(&self.registry, candidate, range, self.calendar());
            let mut failed = None;
            let stream = StreamId::for_customer(customer);
            self.store
                .replay_stream(&stream, StreamVersion::NONE, &mut |envelope| match run
                    .push(envelope)
                {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failed = Some(e);
                        ControlFlow::Break(())
                    }
                })?;
            match failed {
                Some(e) => Err(e.into()),
                None => Ok(run.finish()),
            }
        })?;
        Ok(per_customer
            .into_iter()
            .flat_map(|(customer, differences)| {
                differences
                    .into_iter()
                    .map(move |difference| (customer.clone(), difference))
            })
            .collect())
    }

    /// The recorded decision with this decision id (or reminder id), or the
    /// credit decision on the order with this id: the event carries its
    /// explanation (policy, rule, conditions, observed values, source events).
    ///
    /// # Errors
    ///
    /// A store error.
    pub fn explain(&self, id: &str) -> Result<Option<EventEnvelope>, EngineError> {
        let names = |e: &EventEnvelope| match &e.event {
            Event::CreditDecided(d) => {
                d.decision.as_str() == id || d.order.as_ref().is_some_and(|o| o.as_str() == id)
            }
            Event::PriorityChanged(d) => d.decision.as_str() == id,
            Event::FulfilmentModeChanged(d) => d.decision.as_str() == id,
            Event::PriceAdjustmentChanged(d) => d.decision.as_str() == id,
            Event::ReminderSent(r) => r.reminder.as_str() == id,
            _ => false,
        };
        let mut found = None;
        self.scan_log(|batch| {
            found = batch.into_iter().find(names);
            if found.is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(found)
    }
}

/// The store as the source of the events an as-of query folds.
struct StoreEvents<'a>(&'a dyn EventStore);

impl StreamEvents for StoreEvents<'_> {
    fn read(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        to: StreamVersion,
    ) -> Result<Vec<EventEnvelope>, ProjectionError> {
        let count =
            usize::try_from(to.0.saturating_sub(from.0).saturating_add(1)).unwrap_or(usize::MAX);
        self.0
            .read_stream(stream, from, count)
            .map_err(|e| ProjectionError::EventSource(e.to_string()))
    }
}

/// A decision in progress: events staged on the cached account, in order.
struct Draft<'a> {
    stream: &'a StreamId,
    account: &'a mut CustomerAccount,
    proposed: Vec<NewEvent>,
}

impl Draft<'_> {
    /// Applies `event` to the account (as the next version of the stream)
    /// and keeps it for the append.
    fn stage(&mut self, event: Event, occurred_at: DateTime<Utc>, recorded_at: DateTime<Utc>) {
        let envelope = new_event(event, occurred_at, recorded_at).into_envelope(
            self.stream.clone(),
            self.account.version().next(),
            GlobalPosition::START,
        );
        self.account.apply(&envelope);
        self.proposed.push(envelope.into_new_event());
    }
}

fn new_event(event: Event, occurred_at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        id: EventId::from_uuid(uuid::Uuid::new_v4()),
        occurred_at,
        recorded_at,
        correlation_id: None,
        causation_id: None,
        event,
    }
}
