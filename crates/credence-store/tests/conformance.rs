//! The conformance suite: the `EventStore` contract, checked once for every backend.
//!
//! Each check takes a fresh store. [`conformance_tests!`] turns the checks
//! into `#[test]`s for a backend given a fixture factory.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use credence_events::{EventEnvelope, GlobalPosition, StreamId, StreamVersion};
use credence_store::{
    DuplicateReason, EventStore, ExpectedVersion, MemoryStore, Snapshot, SnapshotKey, StoreError,
    Subscription,
};

use crate::support::{Fixture, ev, evs, stream};

/// Generates one `#[test]` per conformance check for a fixture factory.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@tests $factory;
            append_and_read, expected_versions, idempotent_appends, bad_input_stores_nothing,
            subscription_catches_up_then_follows, subscription_never_skips_concurrent_appends,
            snapshots, gap_free_paging, verify_counts, streams_in_id_order,
            replay_lends_what_reads_return);
    };
    (@tests $factory:expr; $($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                let fixture: $crate::support::Fixture = ($factory)();
                $crate::conformance::$check(&fixture.store);
            }
        )*
    };
}

pub fn append_and_read(store: &Arc<dyn EventStore>) {
    let (s1, s2) = (stream("ACME"), stream("Globex"));
    let a = store
        .append(&s1, ExpectedVersion::NoStream, &evs(1, 3))
        .unwrap();
    assert_eq!(a.stream_version, StreamVersion(3));
    assert_eq!(
        (a.first_position, a.last_position),
        (GlobalPosition(1), GlobalPosition(3))
    );
    assert!(!a.already_stored);
    let b = store
        .append(&s2, ExpectedVersion::Any, &evs(10, 2))
        .unwrap();
    assert_eq!(
        (b.first_position, b.last_position),
        (GlobalPosition(4), GlobalPosition(5))
    );
    assert_eq!(b.stream_version, StreamVersion(2));

    let read = store.read_stream(&s1, StreamVersion(1), 100).unwrap();
    let expected: Vec<_> = evs(1, 3)
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            e.into_envelope(
                s1.clone(),
                StreamVersion(i as u64 + 1),
                GlobalPosition(i as u64 + 1),
            )
        })
        .collect();
    assert_eq!(read, expected);
    assert_eq!(
        store.read_stream(&s1, StreamVersion::NONE, 100).unwrap(),
        expected
    );
    let middle = store.read_stream(&s1, StreamVersion(2), 1).unwrap();
    assert_eq!(middle, expected[1..2]);
    assert!(
        store
            .read_stream(&s1, StreamVersion(4), 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_stream(&s1, StreamVersion(1), 0)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_stream(&stream("nobody"), StreamVersion(1), 10)
            .unwrap()
            .is_empty()
    );

    let all = store.read_all(GlobalPosition::START, 100).unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, [1, 2, 3, 4, 5]);
    assert_eq!(all[3].stream, s2);
    assert_eq!(all[3].id, ev(10).id);
    let tail = store.read_all(GlobalPosition(3), 100).unwrap();
    assert_eq!(
        tail.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        [4, 5]
    );
    assert!(store.read_all(GlobalPosition(5), 100).unwrap().is_empty());
    assert!(store.read_all(GlobalPosition(99), 100).unwrap().is_empty());

    assert_eq!(store.head().unwrap(), GlobalPosition(5));
    assert_eq!(store.stream_version(&s1).unwrap(), StreamVersion(3));
    assert_eq!(
        store.stream_version(&stream("nobody")).unwrap(),
        StreamVersion::NONE
    );
}

fn assert_conflict(result: Result<impl std::fmt::Debug, StoreError>, actual: u64) {
    match result {
        Err(StoreError::Conflict { actual: found, .. }) => assert_eq!(found, StreamVersion(actual)),
        other => panic!("expected a conflict at version {actual}, got {other:?}"),
    }
}

pub fn expected_versions(store: &Arc<dyn EventStore>) {
    let s = stream("ACME");
    store
        .append(&s, ExpectedVersion::Exact(StreamVersion::NONE), &[ev(1)])
        .unwrap();
    assert_conflict(store.append(&s, ExpectedVersion::NoStream, &[ev(2)]), 1);
    assert_conflict(
        store.append(&s, ExpectedVersion::Exact(StreamVersion(0)), &[ev(2)]),
        1,
    );
    assert_conflict(
        store.append(&s, ExpectedVersion::Exact(StreamVersion(2)), &[ev(2)]),
        1,
    );
    assert_eq!(store.head().unwrap(), GlobalPosition(1));
    let ok = store
        .append(&s, ExpectedVersion::Exact(StreamVersion(1)), &[ev(2)])
        .unwrap();
    assert_eq!(ok.stream_version, StreamVersion(2));
    let any = store.append(&s, ExpectedVersion::Any, &[ev(3)]).unwrap();
    assert_eq!(any.stream_version, StreamVersion(3));
    let err = store
        .append(&s, ExpectedVersion::Exact(StreamVersion(1)), &[ev(4)])
        .unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(
        err.to_string(),
        "stream ACME is at version 3, expected version 1"
    );
    store
        .append(&stream("other"), ExpectedVersion::NoStream, &[ev(5)])
        .unwrap();
    assert_eq!(store.head().unwrap(), GlobalPosition(4));
}

fn assert_duplicate(result: Result<impl std::fmt::Debug, StoreError>, expected: DuplicateReason) {
    match result {
        Err(StoreError::DuplicateEvent { reason, .. }) => assert_eq!(reason, expected),
        other => panic!("expected a duplicate event error ({expected:?}), got {other:?}"),
    }
}

pub fn idempotent_appends(store: &Arc<dyn EventStore>) {
    let s = stream("ACME");
    store
        .append(&s, ExpectedVersion::NoStream, &[ev(1)])
        .unwrap();
    let first = store
        .append(&s, ExpectedVersion::Exact(StreamVersion(1)), &evs(2, 2))
        .unwrap();
    store.append(&s, ExpectedVersion::Any, &[ev(4)]).unwrap();
    // The retry is acknowledged with the original positions, whatever it expects.
    let again = store
        .append(&s, ExpectedVersion::Exact(StreamVersion(1)), &evs(2, 2))
        .unwrap();
    assert!(again.already_stored);
    assert_eq!(again.first_position, first.first_position);
    assert_eq!(again.last_position, first.last_position);
    assert_eq!(again.stream_version, first.stream_version);
    let single = store
        .append(&s, ExpectedVersion::NoStream, &[ev(1)])
        .unwrap();
    assert!(single.already_stored);
    assert_eq!(single.first_position, GlobalPosition(1));
    assert_eq!(store.head().unwrap(), GlobalPosition(4));

    let mut changed = ev(2);
    changed.recorded_at += chrono::Duration::seconds(1);
    assert_duplicate(
        store.append(&s, ExpectedVersion::Any, &[changed, ev(3)]),
        DuplicateReason::DifferentContent,
    );
    assert_duplicate(
        store.append(&stream("other"), ExpectedVersion::Any, &[ev(1)]),
        DuplicateReason::OtherStream,
    );
    assert_duplicate(
        store.append(&s, ExpectedVersion::Any, &[ev(4), ev(5)]),
        DuplicateReason::PartialOverlap,
    );
    assert_duplicate(
        store.append(&s, ExpectedVersion::Any, &[ev(5), ev(4)]),
        DuplicateReason::PartialOverlap,
    );
    assert_duplicate(
        store.append(&s, ExpectedVersion::Any, &[ev(3), ev(2)]),
        DuplicateReason::PartialOverlap,
    );
    assert_eq!(store.head().unwrap(), GlobalPosition(4));
    assert_eq!(store.read_all(GlobalPosition::START, 10).unwrap().len(), 4);
    let err = store
        .append(&s, ExpectedVersion::Any, &[ev(4), ev(5)])
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
}

pub fn bad_input_stores_nothing(store: &Arc<dyn EventStore>) {
    let s = stream("ACME");
    let err = store.append(&s, ExpectedVersion::Any, &[]).unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid input: an append needs at least one event"
    );
    assert_duplicate(
        store.append(&s, ExpectedVersion::Any, &[ev(1), ev(2), ev(1)]),
        DuplicateReason::RepeatedInBatch,
    );
    // A batch too large for the pairwise check goes through a set.
    let mut large: Vec<_> = (10..50).map(ev).collect();
    large.push(ev(17));
    assert_duplicate(
        store.append(&s, ExpectedVersion::Any, &large),
        DuplicateReason::RepeatedInBatch,
    );
    assert_eq!(store.head().unwrap(), GlobalPosition::START);
    assert_eq!(store.stream_version(&s).unwrap(), StreamVersion::NONE);
    // Nothing of the rejected batch leaked: ev(2) can start the stream.
    let ok = store
        .append(&s, ExpectedVersion::NoStream, &[ev(2)])
        .unwrap();
    assert_eq!(ok.first_position, GlobalPosition(1));
    assert!(!ok.already_stored);
}

pub fn subscription_catches_up_then_follows(store: &Arc<dyn EventStore>) {
    let s = stream("ACME");
    store
        .append(&s, ExpectedVersion::NoStream, &evs(1, 3))
        .unwrap();
    let mut sub = Subscription::new(Arc::clone(store), GlobalPosition::START);
    // A timeout too large for the clock must not overflow.
    let head = store
        .wait_for_append(GlobalPosition::START, Duration::MAX)
        .unwrap();
    assert_eq!(head, GlobalPosition(3));
    for p in 1..=3 {
        let e = sub.next_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(e.position, GlobalPosition(p));
    }
    assert_eq!(sub.next_timeout(Duration::from_millis(50)).unwrap(), None);
    assert_eq!(sub.checkpoint(), GlobalPosition(3));
    let writer = {
        let store = Arc::clone(store);
        let s = s.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            store
                .append(&s, ExpectedVersion::Exact(StreamVersion(3)), &evs(4, 2))
                .unwrap();
        })
    };
    let started = Instant::now();
    let e = sub
        .next_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("followed a new append");
    assert_eq!(e.position, GlobalPosition(4));
    assert!(started.elapsed() < Duration::from_secs(10));
    let e = sub.next_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!((e.position, e.id), (GlobalPosition(5), ev(5).id));
    writer.join().unwrap();
    let mut resumed = Subscription::new(Arc::clone(store), GlobalPosition(2));
    let positions: Vec<u64> = (0..3)
        .map(|_| resumed.try_next().unwrap().unwrap().position.0)
        .collect();
    assert_eq!(positions, [3, 4, 5]);
    assert!(resumed.try_next().unwrap().is_none());
}

/// Writers append concurrently while a subscriber follows: it must see every
/// position exactly once, in order, even though the appends race (a store
/// that let position n + 1 become visible before n would make it skip n).
pub fn subscription_never_skips_concurrent_appends(store: &Arc<dyn EventStore>) {
    let (writers, per_writer) = (4u128, 25u128);
    let total = (writers * per_writer) as u64;
    let subscriber = {
        let store = Arc::clone(store);
        thread::spawn(move || {
            let mut sub = Subscription::new(store, GlobalPosition::START);
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while (seen.len() as u64) < total && Instant::now() < deadline {
                if let Some(e) = sub.next_timeout(Duration::from_millis(200)).unwrap() {
                    seen.push(e.position.0);
                }
            }
            seen
        })
    };
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(store);
            thread::spawn(move || {
                let s = stream(&format!("writer-{w}"));
                for i in 0..per_writer {
                    store
                        .append(&s, ExpectedVersion::Any, &[ev(1000 * (w + 1) + i)])
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let seen = subscriber.join().unwrap();
    assert_eq!(seen, (1..=total).collect::<Vec<_>>());
}

pub fn snapshots(store: &Arc<dyn EventStore>) {
    let s = stream("ACME");
    store
        .append(&s, ExpectedVersion::NoStream, &evs(1, 5))
        .unwrap();
    let key = SnapshotKey::for_code("account", "code-a").unwrap();
    let other_code = SnapshotKey::for_code("account", "code-b").unwrap();
    let snap = |version: u64, key: &SnapshotKey, data: &[u8]| Snapshot {
        stream: s.clone(),
        version: StreamVersion(version),
        key: key.clone(),
        data: data.to_vec(),
    };
    store.save_snapshot(&snap(2, &key, b"two")).unwrap();
    store.save_snapshot(&snap(4, &key, b"four")).unwrap();
    store
        .save_snapshot(&snap(5, &other_code, b"other code"))
        .unwrap();
    let load =
        |at: u64, key: &SnapshotKey| store.load_snapshot(&s, key, StreamVersion(at)).unwrap();
    assert_eq!(load(10, &key), Some(snap(4, &key, b"four")));
    assert_eq!(load(4, &key), Some(snap(4, &key, b"four")));
    assert_eq!(load(3, &key), Some(snap(2, &key, b"two")));
    assert_eq!(load(1, &key), None);
    assert_eq!(
        load(10, &other_code),
        Some(snap(5, &other_code, b"other code"))
    );
    assert_eq!(load(4, &other_code), None);
    let unknown = SnapshotKey::new("account@code-c").unwrap();
    assert_eq!(load(10, &unknown), None);
    assert_eq!(
        store
            .load_snapshot(&stream("nobody"), &key, StreamVersion(9))
            .unwrap(),
        None
    );
    // The same stream, key and version again replaces the data.
    store.save_snapshot(&snap(4, &key, b"four again")).unwrap();
    assert_eq!(load(4, &key), Some(snap(4, &key, b"four again")));
    // A snapshot of versions the stream does not have is bad input.
    for bad in [snap(6, &key, b"x"), snap(0, &key, b"x")] {
        let err = store.save_snapshot(&bad).unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    }
    let err = store
        .save_snapshot(&Snapshot {
            stream: stream("nobody"),
            ..snap(1, &key, b"x")
        })
        .unwrap_err();
    assert!(err.is_bad_input());
    assert_eq!(load(10, &key), Some(snap(4, &key, b"four again")));
    // Empty data is a valid snapshot.
    store.save_snapshot(&snap(5, &key, b"")).unwrap();
    assert_eq!(load(5, &key), Some(snap(5, &key, b"")));
}

pub fn gap_free_paging(store: &Arc<dyn EventStore>) {
    let streams: Vec<_> = (0..5).map(|i| stream(&format!("customer-{i}"))).collect();
    let mut id = 1;
    for round in 0..12u128 {
        let s = &streams[(round * 7 % 5) as usize];
        let n = round % 3 + 1;
        store.append(s, ExpectedVersion::Any, &evs(id, n)).unwrap();
        id += n;
    }
    let total = id - 1;
    let mut after = GlobalPosition::START;
    let mut seen = Vec::new();
    loop {
        let page = store.read_all(after, 7).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        after = page.last().unwrap().position;
        seen.extend(page);
    }
    assert_eq!(seen.len() as u128, total);
    for (i, e) in seen.iter().enumerate() {
        assert_eq!(e.position, GlobalPosition(i as u64 + 1));
    }
    for s in &streams {
        let events = store.read_stream(s, StreamVersion(1), usize::MAX).unwrap();
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.version, StreamVersion(i as u64 + 1));
            assert_eq!(&e.stream, s);
        }
        assert_eq!(
            store.stream_version(s).unwrap(),
            StreamVersion(events.len() as u64)
        );
    }
}

pub fn verify_counts(store: &Arc<dyn EventStore>) {
    store
        .append(&stream("a"), ExpectedVersion::Any, &evs(1, 3))
        .unwrap();
    store
        .append(&stream("b"), ExpectedVersion::Any, &evs(4, 1))
        .unwrap();
    let report = store.verify().unwrap();
    assert_eq!(report.events, 4);
    assert_eq!(report.streams, 2);
    assert_eq!(report.head, GlobalPosition(4));
}

pub fn streams_in_id_order(store: &Arc<dyn EventStore>) {
    assert_eq!(store.streams().unwrap(), Vec::<StreamId>::new());
    for (name, first) in [("Globex", 1), ("ACME", 3), ("globex-2", 5), ("ACME", 7)] {
        store
            .append(&stream(name), ExpectedVersion::Any, &evs(first, 2))
            .unwrap();
    }
    let expected = vec![stream("ACME"), stream("Globex"), stream("globex-2")];
    assert_eq!(store.streams().unwrap(), expected);
    // The provided implementation (a scan of the log) agrees.
    let scanned = ScanOnly(Arc::clone(store));
    assert_eq!(scanned.streams().unwrap(), expected);
}

/// Every event a replay lends to its visitor, which stops it after
/// `stop_after` events.
fn lent(
    stop_after: usize,
    replay: impl FnOnce(&mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>) -> Result<(), StoreError>,
) -> Vec<EventEnvelope> {
    let mut seen = Vec::new();
    replay(&mut |e| {
        seen.push(e.clone());
        if seen.len() == stop_after {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    seen
}

/// What `replay_stream` lends from `from`, stopped after `stop_after`.
fn replayed_stream(
    store: &dyn EventStore,
    s: &StreamId,
    from: StreamVersion,
    stop_after: usize,
) -> Vec<EventEnvelope> {
    lent(stop_after, |visit| store.replay_stream(s, from, visit))
}

/// What `replay_all` lends after `after`, stopped after `stop_after`.
fn replayed_all(
    store: &dyn EventStore,
    after: GlobalPosition,
    stop_after: usize,
) -> Vec<EventEnvelope> {
    lent(stop_after, |visit| store.replay_all(after, visit))
}

pub fn replay_lends_what_reads_return(store: &Arc<dyn EventStore>) {
    // More than a page of the provided implementations (4,096 events) in
    // one stream, interleaved with two others.
    let (big, small, other) = (stream("big"), stream("small"), stream("other"));
    let mut id = 1;
    for round in 0..50u128 {
        store
            .append(&big, ExpectedVersion::Any, &evs(id, 100))
            .unwrap();
        id += 100;
        let s = if round % 2 == 0 { &small } else { &other };
        store.append(s, ExpectedVersion::Any, &evs(id, 3)).unwrap();
        id += 3;
    }
    let total = id - 1;
    let everything = store.read_all(GlobalPosition::START, usize::MAX).unwrap();
    assert_eq!(everything.len() as u128, total);
    // The backend's own implementation and the provided one (through a
    // wrapper that overrides neither) lend the same events.
    let provided = ScanOnly(Arc::clone(store));
    for replayer in [store.as_ref(), &provided as &dyn EventStore] {
        for after in [
            0,
            1,
            4_095,
            4_096,
            4_097,
            5_000,
            total as u64,
            total as u64 + 5,
        ] {
            let after = GlobalPosition(after);
            assert_eq!(
                replayed_all(replayer, after, usize::MAX),
                store.read_all(after, usize::MAX).unwrap(),
                "replay_all after {after:?}"
            );
        }
        assert_eq!(
            replayed_all(replayer, GlobalPosition(10), 4_500),
            everything[10..4_510]
        );
        for s in [&big, &small, &other, &stream("nobody")] {
            for from in [0, 1, 2, 4_096, 4_097, 4_999, 5_000, 5_001, 9_000] {
                let from = StreamVersion(from);
                assert_eq!(
                    replayed_stream(replayer, s, from, usize::MAX),
                    store.read_stream(s, from, usize::MAX).unwrap(),
                    "replay_stream {s} from {from:?}"
                );
            }
        }
        let head = replayed_stream(replayer, &big, StreamVersion(3), 4_200);
        assert_eq!(
            head,
            store.read_stream(&big, StreamVersion(3), 4_200).unwrap()
        );
        assert_eq!(
            replayed_stream(replayer, &big, StreamVersion(1), 1).len(),
            1
        );
    }
    // The visitor may call the store, appends included.
    let mut appended = 0;
    store
        .replay_stream(&small, StreamVersion::NONE, &mut |e| {
            assert_eq!(store.stream_version(&e.stream).unwrap().0, 75 + appended);
            if appended < 2 {
                let next = ev(total + 1 + u128::from(appended));
                store.append(&small, ExpectedVersion::Any, &[next]).unwrap();
                appended += 1;
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(appended, 2);
    assert_eq!(store.stream_version(&small).unwrap(), StreamVersion(77));
}

/// A store that answers [`EventStore::streams`] with the trait's provided
/// implementation, everything else from the store it wraps.
#[derive(Debug)]
struct ScanOnly(Arc<dyn EventStore>);

impl EventStore for ScanOnly {
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[credence_events::NewEvent],
    ) -> Result<credence_store::AppendOutcome, StoreError> {
        self.0.append(stream, expected, events)
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        max: usize,
    ) -> Result<Vec<credence_events::EventEnvelope>, StoreError> {
        self.0.read_stream(stream, from, max)
    }

    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
    ) -> Result<Vec<credence_events::EventEnvelope>, StoreError> {
        self.0.read_all(after, max)
    }

    fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
        self.0.stream_version(stream)
    }

    fn head(&self) -> Result<GlobalPosition, StoreError> {
        self.0.head()
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.0.save_snapshot(snapshot)
    }

    fn load_snapshot(
        &self,
        stream: &StreamId,
        key: &SnapshotKey,
        at_or_before: StreamVersion,
    ) -> Result<Option<Snapshot>, StoreError> {
        self.0.load_snapshot(stream, key, at_or_before)
    }

    fn verify(&self) -> Result<credence_store::VerifyReport, StoreError> {
        self.0.verify()
    }

    fn wait_for_append(
        &self,
        after: GlobalPosition,
        timeout: Duration,
    ) -> Result<GlobalPosition, StoreError> {
        self.0.wait_for_append(after, timeout)
    }
}

mod memory {
    use super::*;

    fn fixture() -> Fixture {
        Fixture {
            store: Arc::new(MemoryStore::new()),
            _guard: Box::new(()),
        }
    }

    conformance_tests!(fixture);
}
