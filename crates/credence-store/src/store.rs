//! The contract every backend fulfils: [`EventStore`] and the types it speaks.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, MutexGuard};
use std::time::{Duration, Instant};

use credence_events::{EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion};

use crate::error::{DuplicateReason, StoreError};

/// What the writer believes about the stream before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// Append whatever the stream's version; no concurrency check.
    Any,
    /// The stream must have no events yet.
    NoStream,
    /// The stream must be exactly at this version ([`StreamVersion::NONE`]
    /// is the same as [`ExpectedVersion::NoStream`]).
    Exact(StreamVersion),
}

impl ExpectedVersion {
    /// True when a stream at `actual` satisfies this expectation.
    pub fn accepts(self, actual: StreamVersion) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == StreamVersion::NONE,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// What an acknowledged append produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The stream's version after the batch: the version of its last event.
    pub stream_version: StreamVersion,
    /// The global position of the batch's first event.
    pub first_position: GlobalPosition,
    /// The global position of the batch's last event.
    pub last_position: GlobalPosition,
    /// True when the batch had already been stored by an earlier append with
    /// the same event ids; the positions are the original ones and nothing
    /// was written.
    pub already_stored: bool,
}

/// The name a snapshot is stored under, besides its stream and version.
///
/// The key **must** include a hash of the code (and policy) that produced
/// the snapshot, so that a snapshot built by other code is never loaded: a
/// lookup with a different key simply finds nothing. Build it with
/// [`SnapshotKey::for_code`] or validate your own with [`SnapshotKey::new`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotKey(String);

/// The longest snapshot key accepted, in bytes.
pub const MAX_SNAPSHOT_KEY_LEN: usize = 512;

impl SnapshotKey {
    /// Validates a key: 1 to [`MAX_SNAPSHOT_KEY_LEN`] bytes, no control characters.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidInput`] for an empty, too long or malformed key.
    pub fn new(key: impl Into<String>) -> Result<SnapshotKey, StoreError> {
        let key = key.into();
        if key.is_empty() || key.len() > MAX_SNAPSHOT_KEY_LEN || key.chars().any(char::is_control) {
            return Err(StoreError::InvalidInput(format!(
                "snapshot key {key:?} must be 1 to {MAX_SNAPSHOT_KEY_LEN} bytes without control characters"
            )));
        }
        Ok(SnapshotKey(key))
    }

    /// The key `"{kind}@{code_hash}"`: what the snapshot holds (`"account"`)
    /// and the hash of the code and policy that built it.
    ///
    /// # Errors
    ///
    /// As [`SnapshotKey::new`].
    pub fn for_code(kind: &str, code_hash: &str) -> Result<SnapshotKey, StoreError> {
        SnapshotKey::new(format!("{kind}@{code_hash}"))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SnapshotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapshotKey({:?})", self.0)
    }
}

impl fmt::Display for SnapshotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Folded state of a stream up to a version, cached to avoid replaying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream it folds.
    pub stream: StreamId,
    /// The last stream version folded into it.
    pub version: StreamVersion,
    /// Which code built it (see [`SnapshotKey`]).
    pub key: SnapshotKey,
    /// The serialised state; opaque to the store.
    pub data: Vec<u8>,
}

/// What [`EventStore::verify`] proved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Distinct streams seen.
    pub streams: u64,
    /// The last global position.
    pub head: GlobalPosition,
    /// Segment files walked (file backend; 0 elsewhere).
    pub segments: u64,
    /// Hex SHA-256 of the last record (file backend): anchor it elsewhere to
    /// make truncation or rewriting of the whole tail detectable.
    pub head_hash: Option<String>,
}

impl VerifyReport {
    pub(crate) fn new(events: u64, streams: u64, head: GlobalPosition) -> VerifyReport {
        VerifyReport {
            events,
            streams,
            head,
            segments: 0,
            head_hash: None,
        }
    }
}

/// Events per page when [`EventStore::streams`]'s provided implementation
/// scans the log.
const STREAMS_SCAN_PAGE: usize = 4_096;

/// Events per page when the provided implementations of
/// [`EventStore::replay_stream`] and [`EventStore::replay_all`] read.
const REPLAY_PAGE: usize = 4_096;

/// An append-only event log of streams, with snapshots.
///
/// # Guarantees (every backend)
///
/// * **Atomic batches.** An append stores all of its events or none.
/// * **Optimistic concurrency.** An append whose [`ExpectedVersion`] does not
///   match the stream fails with [`StoreError::Conflict`] and stores nothing;
///   of many writers expecting the same version exactly one wins.
/// * **Idempotency.** Appending a batch whose event ids are already stored
///   (same stream, same order, same content) is acknowledged with the
///   original positions and `already_stored = true`; the expected version is
///   not checked for such a retry. An id stored with other content, in
///   another stream, or a batch overlapping a stored one only in part, is
///   [`StoreError::DuplicateEvent`].
/// * **Empty batches are bad input** ([`StoreError::InvalidInput`]): an
///   append always stores at least one event.
/// * **Gap-free global order.** Positions are 1, 2, 3, … in commit order; a
///   reader of [`EventStore::read_all`] never skips an event that becomes
///   visible later with a smaller position.
/// * **Durability** of an acknowledged append depends on the backend: the
///   file log with [`Durability::Fsync`](crate::Durability::Fsync) and
///   PostgreSQL acknowledge only what is on stable storage.
///
/// # Async callers
///
/// The trait is synchronous and its methods block on IO. From a tokio
/// service call it through `tokio::task::spawn_blocking` (holding the store
/// in an `Arc`), so the executor's threads never block.
pub trait EventStore: Send + Sync + fmt::Debug {
    /// Appends `events` to `stream` if it is at `expected`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`], [`StoreError::DuplicateEvent`],
    /// [`StoreError::InvalidInput`] or an infrastructure error.
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError>;

    /// Up to `max` events of `stream` from version `from` (inclusive; 1 is
    /// the first event, [`StreamVersion::NONE`] reads from the start too), in
    /// version order. An unknown stream reads as empty.
    ///
    /// # Errors
    ///
    /// Infrastructure errors.
    fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError>;

    /// Up to `max` events of the global log after position `after`
    /// (exclusive), in position order.
    ///
    /// # Errors
    ///
    /// Infrastructure errors.
    fn read_all(&self, after: GlobalPosition, max: usize)
    -> Result<Vec<EventEnvelope>, StoreError>;

    /// Hands every event of `stream` from version `from` (inclusive, as in
    /// [`read_stream`](EventStore::read_stream)) to `visit`, in version
    /// order, until the stream's end or until `visit` breaks: a fold over
    /// the stream without a vector of owned events.
    ///
    /// Every event committed before the call is visited (unless `visit`
    /// breaks); one committed during the call may be too. The provided
    /// implementation reads pages of [`read_stream`](EventStore::read_stream)
    /// and lends their events; [`MemoryStore`](crate::MemoryStore) lends
    /// its own, copying nothing. `visit` may call the store.
    ///
    /// # Errors
    ///
    /// Infrastructure errors; the events visited before one stay visited.
    fn replay_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        visit: &mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut from = StreamVersion(from.0.max(1));
        loop {
            let page = self.read_stream(stream, from, REPLAY_PAGE)?;
            for envelope in &page {
                if visit(envelope).is_break() {
                    return Ok(());
                }
            }
            match page.last() {
                Some(last) if page.len() == REPLAY_PAGE => from = last.version.next(),
                _ => return Ok(()),
            }
        }
    }

    /// Hands every event of the global log after position `after`
    /// (exclusive, as in [`read_all`](EventStore::read_all)) to `visit`, in
    /// position order, until the log's end or until `visit` breaks.
    ///
    /// Every event committed before the call is visited (unless `visit`
    /// breaks), with no gap; one committed during the call may be too. The
    /// provided implementation reads pages of
    /// [`read_all`](EventStore::read_all); [`MemoryStore`](crate::MemoryStore)
    /// lends its own events, copying nothing. `visit` may call the store.
    ///
    /// # Errors
    ///
    /// Infrastructure errors; the events visited before one stay visited.
    fn replay_all(
        &self,
        after: GlobalPosition,
        visit: &mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut after = after;
        loop {
            let page = self.read_all(after, REPLAY_PAGE)?;
            for envelope in &page {
                if visit(envelope).is_break() {
                    return Ok(());
                }
            }
            match page.last() {
                Some(last) if page.len() == REPLAY_PAGE => after = last.position,
                _ => return Ok(()),
            }
        }
    }

    /// Every stream that holds at least one event, in id order.
    ///
    /// The provided implementation scans the global log a page at a time;
    /// the backends here answer from their stream index instead.
    ///
    /// # Errors
    ///
    /// Infrastructure errors.
    fn streams(&self) -> Result<Vec<StreamId>, StoreError> {
        let mut streams = BTreeSet::new();
        let mut after = GlobalPosition::START;
        loop {
            let batch = self.read_all(after, STREAMS_SCAN_PAGE)?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.position;
            let full = batch.len() == STREAMS_SCAN_PAGE;
            streams.extend(batch.into_iter().map(|e| e.stream));
            if !full {
                break;
            }
        }
        Ok(streams.into_iter().collect())
    }

    /// The stream's version ([`StreamVersion::NONE`] for an unknown stream).
    ///
    /// # Errors
    ///
    /// Infrastructure errors.
    fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError>;

    /// The position of the last committed event ([`GlobalPosition::START`]
    /// for an empty log).
    ///
    /// # Errors
    ///
    /// Infrastructure errors.
    fn head(&self) -> Result<GlobalPosition, StoreError>;

    /// Stores a snapshot, replacing one with the same stream, key and version.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidInput`] when the version is
    /// [`StreamVersion::NONE`] or beyond the stream's version; infrastructure
    /// errors.
    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// The latest snapshot of `stream` under exactly `key` whose version is
    /// at most `at_or_before`; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Infrastructure errors.
    fn load_snapshot(
        &self,
        stream: &StreamId,
        key: &SnapshotKey,
        at_or_before: StreamVersion,
    ) -> Result<Option<Snapshot>, StoreError>;

    /// Checks the whole log's integrity (for the file log: every frame's
    /// checksum and the SHA-256 hash chain) and reports what it proved.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corruption`] naming the first damaged place, or an
    /// infrastructure error.
    fn verify(&self) -> Result<VerifyReport, StoreError>;

    /// Blocks until the head is beyond `after` or `timeout` passes, and
    /// returns the head. The default polls [`EventStore::head`]; backends
    /// with a notification mechanism wake immediately.
    ///
    /// # Errors
    ///
    /// Infrastructure errors.
    fn wait_for_append(
        &self,
        after: GlobalPosition,
        timeout: Duration,
    ) -> Result<GlobalPosition, StoreError> {
        let deadline = crate::store::deadline_after(timeout);
        loop {
            let head = self.head()?;
            let now = Instant::now();
            if head > after || now >= deadline {
                return Ok(head);
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
        }
    }
}

/// The instant `timeout` from now; a timeout too large to represent waits
/// for about a year instead of overflowing.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// How the backends that keep their head behind a mutex signal appends: a
/// condition variable that is notified only when someone waits on it (a
/// notification is a system call even with no waiter; an append with no
/// subscriber waiting makes none).
#[derive(Debug, Default)]
pub(crate) struct AppendSignal {
    condvar: Condvar,
    /// Threads inside [`AppendSignal::wait_for_head`]'s wait, counted while
    /// they hold the state's mutex.
    waiters: AtomicUsize,
}

impl AppendSignal {
    /// Wakes the waiters, if any. Call after the appended state is
    /// published (its mutex released): a waiter counts itself under that
    /// mutex before it waits, so an append that took the mutex after it
    /// sees the count.
    pub(crate) fn notify(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.condvar.notify_all();
        }
    }

    /// Waits until `head(state)` passes `after` or `timeout` runs out, and
    /// returns the head then: the body of [`EventStore::wait_for_append`].
    pub(crate) fn wait_for_head<T>(
        &self,
        mut state: MutexGuard<'_, T>,
        after: GlobalPosition,
        timeout: Duration,
        head: impl Fn(&T) -> GlobalPosition,
    ) -> GlobalPosition {
        let deadline = deadline_after(timeout);
        loop {
            let current = head(&state);
            let now = Instant::now();
            if current > after || now >= deadline {
                return current;
            }
            self.waiters.fetch_add(1, Ordering::SeqCst);
            state = self
                .condvar
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            self.waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// What an append will do once validated against the stored state.
#[derive(Debug)]
pub(crate) enum AppendPlan {
    /// Write the batch as versions `current + 1 ..`.
    Write {
        /// The stream's version before the batch.
        current: StreamVersion,
    },
    /// The batch is already stored.
    AlreadyStored(AppendOutcome),
}

/// The first id that repeats within `events`, if any. A command's batch is a
/// few events: those are compared pairwise, without allocating; larger
/// batches go through a set.
fn repeated_id(events: &[NewEvent]) -> Option<EventId> {
    if events.len() <= 16 {
        return events
            .iter()
            .enumerate()
            .find(|(i, e)| events[..*i].iter().any(|earlier| earlier.id == e.id))
            .map(|(_, e)| e.id);
    }
    let mut seen = BTreeSet::new();
    events.iter().find(|e| !seen.insert(e.id)).map(|e| e.id)
}

/// Validates an append against the stored state, shared by the memory and
/// file backends. `lookup` finds a stored event by id.
pub(crate) fn plan_append(
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
    current: StreamVersion,
    mut lookup: impl FnMut(&EventId) -> Result<Option<EventEnvelope>, StoreError>,
) -> Result<AppendPlan, StoreError> {
    if events.is_empty() {
        return Err(StoreError::InvalidInput(
            "an append needs at least one event".into(),
        ));
    }
    if let Some(id) = repeated_id(events) {
        return Err(StoreError::DuplicateEvent {
            id,
            reason: DuplicateReason::RepeatedInBatch,
        });
    }
    let mut stored = Vec::with_capacity(events.len());
    let mut missing = None;
    for event in events {
        match lookup(&event.id)? {
            Some(envelope) => stored.push(envelope),
            None => missing = missing.or(Some(event.id)),
        }
    }
    if stored.is_empty() {
        if !expected.accepts(current) {
            return Err(StoreError::Conflict {
                stream: stream.clone(),
                expected,
                actual: current,
            });
        }
        return Ok(AppendPlan::Write { current });
    }
    if let Some(id) = missing {
        return Err(StoreError::DuplicateEvent {
            id,
            reason: DuplicateReason::PartialOverlap,
        });
    }
    let first = &stored[0];
    for (i, (new, old)) in events.iter().zip(&stored).enumerate() {
        let reason = if old.stream != *stream {
            Some(DuplicateReason::OtherStream)
        } else if old.to_new_event() != *new {
            Some(DuplicateReason::DifferentContent)
        } else if old.version.0 != first.version.0 + i as u64
            || old.position.0 != first.position.0 + i as u64
        {
            Some(DuplicateReason::PartialOverlap)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(StoreError::DuplicateEvent { id: new.id, reason });
        }
    }
    let last = &stored[stored.len() - 1];
    Ok(AppendPlan::AlreadyStored(AppendOutcome {
        stream_version: last.version,
        first_position: first.position,
        last_position: last.position,
        already_stored: true,
    }))
}

/// Checks a snapshot before saving it against the stream's version.
pub(crate) fn check_snapshot(
    snapshot: &Snapshot,
    current: StreamVersion,
) -> Result<(), StoreError> {
    if snapshot.version == StreamVersion::NONE || snapshot.version > current {
        return Err(StoreError::InvalidInput(format!(
            "snapshot of stream {} at version {} but the stream is at version {current}",
            snapshot.stream, snapshot.version
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_version_accepts() {
        assert!(ExpectedVersion::Any.accepts(StreamVersion(4)));
        assert!(ExpectedVersion::NoStream.accepts(StreamVersion::NONE));
        assert!(!ExpectedVersion::NoStream.accepts(StreamVersion(1)));
        assert!(ExpectedVersion::Exact(StreamVersion(2)).accepts(StreamVersion(2)));
        assert!(!ExpectedVersion::Exact(StreamVersion(2)).accepts(StreamVersion(3)));
    }

    #[test]
    fn snapshot_keys_are_validated() {
        assert!(SnapshotKey::new("").is_err());
        assert!(SnapshotKey::new("a\nb").is_err());
        assert!(SnapshotKey::new("x".repeat(MAX_SNAPSHOT_KEY_LEN + 1)).is_err());
        assert_eq!(
            SnapshotKey::for_code("account", "abc123").unwrap().as_str(),
            "account@abc123"
        );
    }
}
