//! File-log specific tests: the conformance suite, reopening, locking, segment rolls.

use std::sync::Arc;

use credence_events::{GlobalPosition, StreamVersion};
use credence_store::{
    Durability, EventStore, ExpectedVersion, FileOptions, FileStore, Snapshot, SnapshotKey,
    StoreError,
};

use crate::support::{Fixture, ev, evs, stream};

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    // Small segments so that the suite also crosses segment boundaries.
    let store = FileStore::open(dir.path(), FileOptions::default().segment_size(600)).unwrap();
    Fixture {
        store: Arc::new(store),
        _guard: Box::new(dir),
    }
}

crate::conformance_tests!(fixture);

mod buffered {
    use super::*;

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(
            dir.path(),
            FileOptions::with_durability(Durability::Buffered),
        )
        .unwrap();
        Fixture {
            store: Arc::new(store),
            _guard: Box::new(dir),
        }
    }

    crate::conformance_tests!(fixture);
}

#[test]
fn events_and_snapshots_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let options = FileOptions::default().segment_size(1000);
    let s = stream("ACME");
    let key = SnapshotKey::for_code("account", "h1").unwrap();
    let before = {
        let store = FileStore::open(dir.path(), options.clone()).unwrap();
        for i in 0..20 {
            store
                .append(
                    &s,
                    ExpectedVersion::Exact(StreamVersion(i * 2)),
                    &evs(u128::from(i) * 2 + 1, 2),
                )
                .unwrap();
        }
        store
            .save_snapshot(&Snapshot {
                stream: s.clone(),
                version: StreamVersion(7),
                key: key.clone(),
                data: b"state".to_vec(),
            })
            .unwrap();
        store.read_all(GlobalPosition::START, 1000).unwrap()
    };
    let store = FileStore::open(dir.path(), options.verify_chain_on_open(true)).unwrap();
    let report = store.recovery_report();
    assert!(report.segments > 2, "{report:?}");
    assert_eq!(report.events, 40);
    assert_eq!(report.torn_tail, None);
    assert_eq!(store.read_all(GlobalPosition::START, 1000).unwrap(), before);
    assert_eq!(store.stream_version(&s).unwrap(), StreamVersion(40));
    let snapshot = store
        .load_snapshot(&s, &key, StreamVersion(40))
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.data, b"state");
    // Appends continue the chain across the reopen.
    store
        .append(&s, ExpectedVersion::Exact(StreamVersion(40)), &[ev(1000)])
        .unwrap();
    let retry = store
        .append(&s, ExpectedVersion::NoStream, &evs(1, 2))
        .unwrap();
    assert!(retry.already_stored);
    let verified = store.verify().unwrap();
    assert_eq!(verified.events, 41);
    assert!(verified.segments >= report.segments);
    assert!(verified.head_hash.is_some());
}

#[test]
fn a_second_writer_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let first = FileStore::open(dir.path(), FileOptions::default()).unwrap();
    let err = FileStore::open(dir.path(), FileOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is locked by another writer"),
        "{err}"
    );
    drop(first);
    FileStore::open(dir.path(), FileOptions::default()).unwrap();
}

#[test]
fn oversized_events_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
    let mut big = ev(1);
    big.event = credence_events::ManagerAssigned {
        manager: credence_events::ManagerId::new("m").unwrap(),
    }
    .into();
    store
        .append(&stream("a"), ExpectedVersion::Any, &[big])
        .unwrap();
    let err = store
        .save_snapshot(&Snapshot {
            stream: stream("a"),
            version: StreamVersion(1),
            key: SnapshotKey::new("k").unwrap(),
            data: vec![0; 17 * 1024 * 1024],
        })
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
}
