//! Concurrency: many writers race for the same stream versions.

use std::sync::{Arc, Barrier};
use std::thread;

use credence_events::{EventId, GlobalPosition, StreamVersion};
use credence_store::{
    EventStore, ExpectedVersion, FileOptions, FileStore, MemoryStore, StoreError,
};

use crate::support::{ev, stream, unique};

/// `threads` writers each append `per_thread` events to one stream, every
/// append expecting the version it last saw and retrying on conflict; and
/// as many writers append to their own streams. Checks that every version
/// has exactly one winner, losers saw conflicts, nothing is lost or
/// duplicated, and the global log has no gaps.
pub fn race(store: Arc<dyn EventStore>, threads: usize, per_thread: usize) {
    let contested = stream("contested");
    let base = unique();
    let barrier = Arc::new(Barrier::new(threads * 2));
    let mut handles = Vec::new();
    for t in 0..threads {
        let (store1, contested, barrier1) =
            (Arc::clone(&store), contested.clone(), Arc::clone(&barrier));
        handles.push(thread::spawn(move || {
            let (store, barrier) = (store1, barrier1);
            barrier.wait();
            let mut conflicts = 0;
            let mut won = Vec::new();
            for i in 0..per_thread {
                let id = base + (t * 1_000_000 + i) as u128;
                loop {
                    let seen = store.stream_version(&contested).unwrap();
                    match store.append(&contested, ExpectedVersion::Exact(seen), &[ev(id)]) {
                        Ok(outcome) => {
                            assert_eq!(outcome.stream_version, seen.next());
                            won.push((outcome.stream_version, EventId::from_u128(id)));
                            break;
                        }
                        Err(StoreError::Conflict { actual, .. }) => {
                            assert_ne!(actual, seen);
                            conflicts += 1;
                        }
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
            }
            (won, conflicts)
        }));
        let (store2, barrier2) = (Arc::clone(&store), Arc::clone(&barrier));
        handles.push(thread::spawn(move || {
            let (store, barrier) = (store2, barrier2);
            barrier.wait();
            let own = stream(&format!("own-{t}"));
            for i in 0..per_thread {
                let id = base + (500_000_000 + t * 1_000_000 + i) as u128;
                store
                    .append(
                        &own,
                        ExpectedVersion::Exact(StreamVersion(i as u64)),
                        &[ev(id)],
                    )
                    .unwrap();
            }
            (Vec::new(), 0)
        }));
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for h in handles {
        let (won, c) = h.join().unwrap();
        winners.extend(won);
        conflicts += c;
    }
    winners.sort();
    let total = threads * per_thread;
    assert_eq!(winners.len(), total);
    for (i, (version, _)) in winners.iter().enumerate() {
        assert_eq!(
            *version,
            StreamVersion(i as u64 + 1),
            "each version has exactly one winner"
        );
    }
    let stored = store
        .read_stream(&contested, StreamVersion(1), usize::MAX)
        .unwrap();
    assert_eq!(stored.len(), total);
    for (event, (version, id)) in stored.iter().zip(&winners) {
        assert_eq!((event.version, event.id), (*version, *id));
    }
    let all = store.read_all(GlobalPosition::START, usize::MAX).unwrap();
    assert_eq!(all.len(), total * 2);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(
            e.position,
            GlobalPosition(i as u64 + 1),
            "the global log has no gaps"
        );
    }
    let mut ids: Vec<_> = all.iter().map(|e| e.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total * 2, "no event is duplicated");
    eprintln!("{total} contested appends, {conflicts} conflicts");
    store.verify().unwrap();
}

#[test]
fn memory_writers_race() {
    race(Arc::new(MemoryStore::new()), 8, 40);
}

#[test]
fn file_writers_race() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), FileOptions::default().segment_size(8 * 1024)).unwrap();
    race(Arc::new(store), 8, 25);
    // Everything is still there after reopening, and the chain holds.
    let store = FileStore::open(
        dir.path(),
        FileOptions::default().verify_chain_on_open(true),
    )
    .unwrap();
    assert_eq!(store.head().unwrap(), GlobalPosition(400));
    assert!(store.recovery_report().segments > 1);
}

/// Many threads retry the same batch at once: one stores it, every other
/// is acknowledged with the same positions, and nothing is duplicated.
pub fn concurrent_retries(store: Arc<dyn EventStore>, threads: usize) {
    let s = stream("retried");
    let base = unique();
    let batch = [ev(base + 1), ev(base + 2)];
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (store, barrier, s, batch) = (
                Arc::clone(&store),
                Arc::clone(&barrier),
                s.clone(),
                batch.clone(),
            );
            thread::spawn(move || {
                barrier.wait();
                store.append(&s, ExpectedVersion::NoStream, &batch).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| !o.already_stored).count(), 1);
    for o in &outcomes {
        assert_eq!(
            (o.first_position, o.last_position),
            (GlobalPosition(1), GlobalPosition(2))
        );
        assert_eq!(o.stream_version, StreamVersion(2));
    }
    assert_eq!(store.head().unwrap(), GlobalPosition(2));
}

#[test]
fn memory_concurrent_retries() {
    concurrent_retries(Arc::new(MemoryStore::new()), 8);
}

#[test]
fn file_concurrent_retries() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
    concurrent_retries(Arc::new(store), 8);
}
