//! Helpers shared by the integration tests: events, streams and fixtures.

use std::any::Any;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_events::{EventId, ManagerAssigned, ManagerId, NewEvent, StreamId};
use credence_store::EventStore;

/// A store under test and whatever must live as long as it (a temp dir).
pub struct Fixture {
    pub store: Arc<dyn EventStore>,
    pub _guard: Box<dyn Any + Send>,
}

pub fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 123_456_789).unwrap()
}

/// A small event with id `n`.
pub fn ev(n: u128) -> NewEvent {
    NewEvent::new(
        EventId::from_u128(n),
        at(),
        ManagerAssigned {
            manager: ManagerId::new(format!("manager-{n}")).unwrap(),
        },
    )
}

/// Events with ids `from..from + count`.
pub fn evs(from: u128, count: u128) -> Vec<NewEvent> {
    (from..from + count).map(ev).collect()
}

pub fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

/// A process-unique number for ids in tests that share a store.
pub fn unique() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    u128::from(NEXT.fetch_add(1, Ordering::Relaxed)) << 64
}
