//! The in-memory backend: for tests and what-if runs; nothing survives the process.

use std::collections::BTreeMap;
#[allow(
    clippy::disallowed_types,
    reason = "the hashed maps are looked up, never iterated"
)]
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use credence_events::{EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion};

use crate::error::StoreError;
use crate::store::{
    AppendOutcome, AppendPlan, AppendSignal, EventStore, ExpectedVersion, Snapshot, SnapshotKey,
    VerifyReport, check_snapshot, plan_append,
};

/// How many of a stream's event locations `replay_stream` copies out of
/// the index at a time.
const STREAM_PAGE: usize = 1_024;

/// An [`EventStore`] held in memory.
///
/// It keeps every guarantee of the contract except durability. Clone the
/// events of a real store into one ([`MemoryStore::from_events`]) to run a
/// what-if without touching the real log.
///
/// Stored events never move (an append-only vector of fixed buckets), and
/// an append publishes its batch at once by advancing the committed count
/// after writing it, under the writers' lock. Readers take no lock to
/// read events: [`replay_all`](EventStore::replay_all) and
/// [`replay_stream`](EventStore::replay_stream) lend the stored events
/// themselves, without copying one, and [`read_all`](EventStore::read_all)
/// clones what it returns without blocking writers.
#[derive(Default)]
pub struct MemoryStore {
    /// Every event in position order (position = index + 1). Entries at
    /// and beyond `committed` may be half-written batches: never read.
    events: boxcar::Vec<EventEnvelope>,
    /// How many of `events` are committed: an append raises it (release)
    /// once its whole batch is written; readers load it (acquire) first.
    committed: AtomicUsize,
    state: Mutex<State>,
    appended: AppendSignal,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryStore")
            .field("events", &self.committed.load(Ordering::Acquire))
            .field("streams", &state.streams.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
#[allow(
    clippy::disallowed_types,
    reason = "the hashed maps are looked up, never iterated"
)]
struct State {
    /// Each stream's events (indexes into the store's events), by stream: hashed, as
    /// nothing iterates streams in order and an append looks its stream up.
    streams: HashMap<StreamId, Vec<usize>>,
    /// Every event id, for idempotent appends.
    ids: HashMap<EventId, usize>,
    snapshots: BTreeMap<(StreamId, SnapshotKey), BTreeMap<StreamVersion, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store holding `events`, re-appended stream by stream in their
    /// global order (positions are renumbered from 1).
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateEvent`] when an event id repeats.
    pub fn from_events(
        events: impl IntoIterator<Item = EventEnvelope>,
    ) -> Result<MemoryStore, StoreError> {
        let store = MemoryStore::new();
        for envelope in events {
            store.append(
                &envelope.stream.clone(),
                ExpectedVersion::Any,
                &[envelope.to_new_event()],
            )?;
        }
        Ok(store)
    }

    /// The committed event at `index`.
    fn event(&self, index: usize) -> Result<&EventEnvelope, StoreError> {
        self.events.get(index).ok_or_else(|| {
            StoreError::Unusable(format!(
                "memory store: event {index} is counted but not stored"
            ))
        })
    }

    /// How many events are committed.
    fn committed(&self) -> usize {
        self.committed.load(Ordering::Acquire)
    }

    /// Where the events of `stream` from version `from` are, at most `max`
    /// of them (copied out, so that the lock is not held while they are
    /// read).
    fn stream_indexes(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        max: usize,
    ) -> Result<Vec<usize>, StoreError> {
        let state = self.lock();
        let Some(indexes) = state.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let skip = from.0.saturating_sub(1).min(indexes.len() as u64) as usize;
        Ok(indexes[skip..].iter().take(max).copied().collect())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated
        // (every update is a sequence of pushes after validation), so a
        // poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn version(&self, stream: &StreamId) -> StreamVersion {
        StreamVersion(self.streams.get(stream).map_or(0, |v| v.len() as u64))
    }
}

impl EventStore for MemoryStore {
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        let mut state = self.lock();
        let current = state.version(stream);
        let plan = plan_append(stream, expected, events, current, |id| {
            state
                .ids
                .get(id)
                .map(|&i| self.event(i).cloned())
                .transpose()
        })?;
        let current = match plan {
            AppendPlan::AlreadyStored(outcome) => return Ok(outcome),
            AppendPlan::Write { current } => current,
        };
        let committed = self.committed();
        if self.events.count() != committed {
            // Events written but never committed: only an earlier append
            // stopped half-way could leave them (nothing in it panics; an
            // allocation failure aborts the process). Refuse to write
            // rather than publish them.
            return Err(StoreError::Unusable(
                "an earlier append of the memory store was interrupted".into(),
            ));
        }
        let first = GlobalPosition(committed as u64 + 1);
        let mut version = current;
        let State { streams, ids, .. } = &mut *state;
        ids.reserve(events.len());
        let indexes = match streams.get_mut(stream) {
            Some(indexes) => indexes,
            None => streams.entry(stream.clone()).or_default(),
        };
        for (index, event) in (committed..).zip(events) {
            version = version.next();
            let position = GlobalPosition(index as u64 + 1);
            let stored = self.events.push(event.clone().into_envelope(
                stream.clone(),
                version,
                position,
            ));
            debug_assert_eq!(stored, index, "appends are serialised by the lock");
            ids.insert(event.id, index);
            indexes.push(index);
        }
        let last = GlobalPosition((committed + events.len()) as u64);
        // Publishes the whole batch at once: readers read below this count.
        self.committed
            .store(committed + events.len(), Ordering::Release);
        drop(state);
        self.appended.notify();
        Ok(AppendOutcome {
            stream_version: version,
            first_position: first,
            last_position: last,
            already_stored: false,
        })
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        self.stream_indexes(stream, from, max)?
            .into_iter()
            .map(|i| self.event(i).cloned())
            .collect()
    }

    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let committed = self.committed();
        let skip = after.0.min(committed as u64) as usize;
        (skip..committed)
            .take(max)
            .map(|i| self.event(i).cloned())
            .collect()
    }

    fn replay_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        visit: &mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        // A page of locations at a time: a visitor that stops early (after
        // the first event, say) copies few.
        let mut from = StreamVersion(from.0.max(1));
        loop {
            let page = self.stream_indexes(stream, from, STREAM_PAGE)?;
            for &i in &page {
                if visit(self.event(i)?).is_break() {
                    return Ok(());
                }
            }
            if page.len() < STREAM_PAGE {
                return Ok(());
            }
            from = StreamVersion(from.0 + STREAM_PAGE as u64);
        }
    }

    fn replay_all(
        &self,
        after: GlobalPosition,
        visit: &mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let committed = self.committed();
        let skip = after.0.min(committed as u64) as usize;
        for i in skip..committed {
            if visit(self.event(i)?).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn streams(&self) -> Result<Vec<StreamId>, StoreError> {
        let mut streams: Vec<StreamId> = self.lock().streams.keys().cloned().collect();
        streams.sort_unstable();
        Ok(streams)
    }

    fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
        Ok(self.lock().version(stream))
    }

    fn head(&self) -> Result<GlobalPosition, StoreError> {
        Ok(GlobalPosition(self.committed() as u64))
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut state = self.lock();
        check_snapshot(snapshot, state.version(&snapshot.stream))?;
        state
            .snapshots
            .entry((snapshot.stream.clone(), snapshot.key.clone()))
            .or_default()
            .insert(snapshot.version, snapshot.data.clone());
        Ok(())
    }

    fn load_snapshot(
        &self,
        stream: &StreamId,
        key: &SnapshotKey,
        at_or_before: StreamVersion,
    ) -> Result<Option<Snapshot>, StoreError> {
        let state = self.lock();
        let found = state
            .snapshots
            .get(&(stream.clone(), key.clone()))
            .and_then(|by_version| by_version.range(..=at_or_before).next_back());
        Ok(found.map(|(version, data)| Snapshot {
            stream: stream.clone(),
            version: *version,
            key: key.clone(),
            data: data.clone(),
        }))
    }

    fn verify(&self) -> Result<VerifyReport, StoreError> {
        let state = self.lock();
        // Under the writers' lock: no batch is half-written.
        let committed = self.committed() as u64;
        Ok(VerifyReport::new(
            committed,
            state.streams.len() as u64,
            GlobalPosition(committed),
        ))
    }

    fn wait_for_append(
        &self,
        after: GlobalPosition,
        timeout: Duration,
    ) -> Result<GlobalPosition, StoreError> {
        Ok(self
            .appended
            .wait_for_head(self.lock(), after, timeout, |_| {
                // Raised under the lock the wait holds between checks.
                GlobalPosition(self.committed() as u64)
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_events::{ManagerAssigned, ManagerId};

    #[test]
    fn a_what_if_copy_renumbers_and_is_independent() {
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let ev = |n: u128| {
            NewEvent::new(
                EventId::from_u128(n),
                at,
                ManagerAssigned {
                    manager: ManagerId::new("m").unwrap(),
                },
            )
        };
        let real = MemoryStore::new();
        let (a, b) = (StreamId::new("a").unwrap(), StreamId::new("b").unwrap());
        real.append(&a, ExpectedVersion::NoStream, &[ev(1), ev(2)])
            .unwrap();
        real.append(&b, ExpectedVersion::NoStream, &[ev(3)])
            .unwrap();
        let events = real.read_all(GlobalPosition::START, 10).unwrap();
        let copy = MemoryStore::from_events(events.clone()).unwrap();
        assert_eq!(copy.read_all(GlobalPosition::START, 10).unwrap(), events);
        copy.append(&b, ExpectedVersion::Exact(StreamVersion(1)), &[ev(4)])
            .unwrap();
        assert_eq!(real.head().unwrap(), GlobalPosition(3));
        assert_eq!(copy.head().unwrap(), GlobalPosition(4));
    }

    #[test]
    fn readers_see_whole_batches_while_a_writer_appends() {
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let store = MemoryStore::new();
        let streams: Vec<StreamId> = (0..4)
            .map(|i| StreamId::new(format!("s{i}")).unwrap())
            .collect();
        const BATCHES: u128 = 400;
        const BATCH: u128 = 5;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for b in 0..BATCHES {
                    let batch: Vec<NewEvent> = (0..BATCH)
                        .map(|k| {
                            NewEvent::new(
                                EventId::from_u128(b * BATCH + k + 1),
                                at,
                                ManagerAssigned {
                                    manager: ManagerId::new("m").unwrap(),
                                },
                            )
                        })
                        .collect();
                    let s = &streams[(b % 4) as usize];
                    store.append(s, ExpectedVersion::Any, &batch).unwrap();
                }
            });
            for _ in 0..2 {
                scope.spawn(|| {
                    loop {
                        let mut positions = Vec::new();
                        store
                            .replay_all(GlobalPosition::START, &mut |e| {
                                positions.push(e.position.0);
                                ControlFlow::Continue(())
                            })
                            .unwrap();
                        // A gap-free prefix of the log, in whole batches.
                        assert!(positions.iter().copied().eq(1..=positions.len() as u64));
                        assert_eq!(positions.len() as u128 % BATCH, 0);
                        let mut versions = Vec::new();
                        store
                            .replay_stream(&streams[1], StreamVersion::NONE, &mut |e| {
                                versions.push(e.version.0);
                                ControlFlow::Continue(())
                            })
                            .unwrap();
                        assert!(versions.iter().copied().eq(1..=versions.len() as u64));
                        assert_eq!(versions.len() as u128 % BATCH, 0);
                        if positions.len() as u128 == BATCHES * BATCH {
                            break;
                        }
                    }
                });
            }
        });
        assert_eq!(store.verify().unwrap().events, (BATCHES * BATCH) as u64);
    }
}
