//! Criterion benchmarks of the stores: appends (single, batched, concurrent)
//! for each durability setting, and reads (one stream, the global log).
//!
//! Run with: `cargo bench -p credence-store --all-features --bench store`.
//! `CREDENCE_BENCH_QUICK=1` shrinks sizes and measurement times so that a
//! smoke run takes seconds. The PostgreSQL benchmarks (feature `postgres`)
//! use `CREDENCE_TEST_DATABASE_URL`, or start a throwaway server with
//! `scripts/postgres.sh`; when neither works they are left out with a note.

#![allow(missing_docs, clippy::disallowed_methods)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::DateTime;
use credence_events::{
    EventId, GlobalPosition, ManagerAssigned, ManagerId, NewEvent, StreamId, StreamVersion,
};
use credence_store::{Durability, EventStore, ExpectedVersion, FileOptions, FileStore};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn quick() -> bool {
    std::env::var_os("CREDENCE_BENCH_QUICK").is_some()
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn events(n: usize) -> Vec<NewEvent> {
    let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    (0..n)
        .map(|_| {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            NewEvent::new(
                EventId::from_u128(u128::from(id) | (7 << 100)),
                at,
                ManagerAssigned {
                    manager: ManagerId::new(format!("manager-{}", id % 97)).unwrap(),
                },
            )
        })
        .collect()
}

fn stream(i: usize) -> StreamId {
    StreamId::new(format!("customer-{i}")).unwrap()
}

struct Backend {
    name: String,
    store: Arc<dyn EventStore>,
    _guard: Box<dyn std::any::Any>,
}

fn file_backend(durability: Durability) -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), FileOptions::with_durability(durability)).unwrap();
    let name = match durability {
        Durability::Fsync => "file-fsync",
        _ => "file-buffered",
    };
    Backend {
        name: name.into(),
        store: Arc::new(store),
        _guard: Box::new(dir),
    }
}

#[cfg(feature = "postgres")]
fn postgres_backend() -> Option<Backend> {
    use credence_store::{PostgresOptions, PostgresStore};
    let url = match std::env::var("CREDENCE_TEST_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/postgres.sh");
            let output = std::process::Command::new("bash")
                .args([
                    script,
                    "start",
                    "--owner-pid",
                    &std::process::id().to_string(),
                ])
                .output()
                .ok()?;
            if !output.status.success() {
                eprintln!(
                    "postgres benchmarks left out: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                return None;
            }
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .last()?
                .trim()
                .to_owned()
        }
    };
    let schema = format!("credence_bench_{}", std::process::id());
    let store =
        PostgresStore::connect_with(&url, PostgresOptions::default().schema(schema)).ok()?;
    Some(Backend {
        name: "postgres".into(),
        store: Arc::new(store),
        _guard: Box::new(()),
    })
}

#[cfg(not(feature = "postgres"))]
fn postgres_backend() -> Option<Backend> {
    None
}

fn backends() -> Vec<Backend> {
    let mut out = vec![
        file_backend(Durability::Fsync),
        file_backend(Durability::Buffered),
    ];
    out.extend(postgres_backend());
    out
}

fn configure(c: &mut Criterion) -> Criterion {
    let _ = c;
    if quick() {
        Criterion::default()
            .sample_size(10)
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
    } else {
        Criterion::default()
            .sample_size(20)
            .measurement_time(Duration::from_secs(5))
    }
}

fn append(c: &mut Criterion) {
    let mut c = configure(c);
    let mut group = c.benchmark_group("append");
    for backend in backends() {
        for batch in [1usize, 100] {
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(
                BenchmarkId::new(&backend.name, format!("batch-{batch}")),
                |b| {
                    let s = stream(batch);
                    b.iter_batched(
                        || events(batch),
                        |events| {
                            backend
                                .store
                                .append(&s, ExpectedVersion::Any, &events)
                                .unwrap()
                        },
                        criterion::BatchSize::SmallInput,
                    );
                },
            );
        }
        // Eight threads appending single events to their own streams: what
        // group commit is for.
        let threads = 8;
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(BenchmarkId::new(&backend.name, "8-threads-single"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for t in 0..threads {
                        let store = &backend.store;
                        scope.spawn(move || {
                            let s = stream(1000 + t);
                            for _ in 0..iters {
                                store.append(&s, ExpectedVersion::Any, &events(1)).unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let mut c = configure(c);
    let (streams, per_stream) = if quick() { (10, 100) } else { (50, 1000) };
    let mut group = c.benchmark_group("read");
    for backend in backends() {
        if backend.name == "file-fsync" {
            continue; // reads do not depend on the durability setting
        }
        for i in 0..streams {
            for chunk in 0..per_stream / 100 {
                let expected = StreamVersion((chunk * 100) as u64);
                backend
                    .store
                    .append(
                        &stream(10_000 + i),
                        ExpectedVersion::Exact(expected),
                        &events(100),
                    )
                    .unwrap();
            }
        }
        let total = backend.store.head().unwrap().0;
        group.throughput(Throughput::Elements(per_stream as u64));
        group.bench_function(
            BenchmarkId::new(&backend.name, format!("stream-{per_stream}")),
            |b| {
                b.iter(|| {
                    let events = backend
                        .store
                        .read_stream(&stream(10_007), StreamVersion(1), usize::MAX)
                        .unwrap();
                    assert_eq!(events.len(), per_stream);
                });
            },
        );
        group.throughput(Throughput::Elements(total));
        group.bench_function(
            BenchmarkId::new(&backend.name, format!("all-{total}")),
            |b| {
                b.iter(|| {
                    let mut after = GlobalPosition::START;
                    let mut n = 0;
                    loop {
                        let page = backend.store.read_all(after, 1000).unwrap();
                        let Some(last) = page.last() else { break };
                        after = last.position;
                        n += page.len();
                    }
                    assert_eq!(n as u64, total);
                });
            },
        );
        if backend.name == "file-buffered" {
            // The baseline a file replay must beat: parsing the same events
            // from JSON lines with the codec.
            let lines: Vec<String> = backend
                .store
                .read_all(GlobalPosition::START, usize::MAX)
                .unwrap()
                .iter()
                .map(credence_events::codec::encode)
                .collect();
            group.bench_function(
                BenchmarkId::new("json-lines", format!("all-{total}")),
                |b| {
                    b.iter(|| {
                        for line in &lines {
                            std::hint::black_box(credence_events::codec::decode(line).unwrap());
                        }
                    });
                },
            );
        }
    }
    group.finish();
}

/// Opening a file log: scanning every frame's CRC and rebuilding the index.
fn open(c: &mut Criterion) {
    let mut c = configure(c);
    let total: usize = if quick() { 2_000 } else { 100_000 };
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FileStore::open(
            dir.path(),
            FileOptions::with_durability(Durability::Buffered),
        )
        .unwrap();
        for chunk in 0..total / 100 {
            store
                .append(
                    &stream(20_000 + chunk % 100),
                    ExpectedVersion::Any,
                    &events(100),
                )
                .unwrap();
        }
    }
    let mut group = c.benchmark_group("open");
    group.throughput(Throughput::Elements(total as u64));
    group.bench_function(BenchmarkId::new("file", format!("events-{total}")), |b| {
        b.iter(|| {
            let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
            assert_eq!(store.head().unwrap().0, total as u64);
        });
    });
    group.finish();
}

criterion_group!(benches, append, read, open);
criterion_main!(benches);
