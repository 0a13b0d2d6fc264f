//! The in-memory backend: for tests and what-if runs; nothing survives the process.

use std::collections::BTreeMap;
#[allow(
    clippy::disallowed_types,
    reason = "the hashed maps are looked up, never iterated"
)]
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use credence_events::{EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion};

use crate::error::StoreError;
use crate::store::{
    AppendOutcome, AppendPlan, AppendSignal, EventStore, ExpectedVersion, Snapshot, SnapshotKey,
    VerifyReport, check_snapshot, plan_append,
};

/// An [`EventStore`] held in memory.
///
/// It keeps every guarantee of the contract except durability. Clone the
/// events of a real store into one ([`MemoryStore::from_events`]) to run a
/// what-if without touching the real log.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    appended: AppendSignal,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryStore")
            .field("events", &state.events.len())
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
    events: Vec<EventEnvelope>,
    /// Each stream's events (indexes into `events`), by stream: hashed, as
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
            Ok(state.ids.get(id).map(|&i| state.events[i].clone()))
        })?;
        let current = match plan {
            AppendPlan::AlreadyStored(outcome) => return Ok(outcome),
            AppendPlan::Write { current } => current,
        };
        let first = GlobalPosition(state.events.len() as u64 + 1);
        let mut version = current;
        let State {
            events: stored,
            streams,
            ids,
            ..
        } = &mut *state;
        ids.reserve(events.len());
        let indexes = match streams.get_mut(stream) {
            Some(indexes) => indexes,
            None => streams.entry(stream.clone()).or_default(),
        };
        for event in events {
            version = version.next();
            let index = stored.len();
            let position = GlobalPosition(index as u64 + 1);
            ids.insert(event.id, index);
            indexes.push(index);
            stored.push(
                event
                    .clone()
                    .into_envelope(stream.clone(), version, position),
            );
        }
        let last = GlobalPosition(state.events.len() as u64);
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
        let state = self.lock();
        let Some(indexes) = state.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let skip = from.0.saturating_sub(1).min(indexes.len() as u64) as usize;
        Ok(indexes[skip..]
            .iter()
            .take(max)
            .map(|&i| state.events[i].clone())
            .collect())
    }

    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let state = self.lock();
        let skip = after.0.min(state.events.len() as u64) as usize;
        Ok(state.events[skip..].iter().take(max).cloned().collect())
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
        Ok(GlobalPosition(self.lock().events.len() as u64))
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
        Ok(VerifyReport::new(
            state.events.len() as u64,
            state.streams.len() as u64,
            GlobalPosition(state.events.len() as u64),
        ))
    }

    fn wait_for_append(
        &self,
        after: GlobalPosition,
        timeout: Duration,
    ) -> Result<GlobalPosition, StoreError> {
        Ok(self
            .appended
            .wait_for_head(self.lock(), after, timeout, |state| {
                GlobalPosition(state.events.len() as u64)
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
}
