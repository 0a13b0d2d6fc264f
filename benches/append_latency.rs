//! Latency distribution of durable single-event appends to the file log
//! (fsync, group commit): p50 / p90 / p99 / max, which criterion's summary
//! does not give; and durable batches of 100 from 1, 4 and 8 threads at
//! once (group commit sharing fsyncs between batches). One writer's single
//! and batched appends are measured by the store crate's own bench (`cargo
//! bench -p credence-store --bench store`), not repeated here.
//!
//! Run with: `cargo bench --bench append_latency`. Percentiles are printed
//! to stderr as `durable_append_latency/...: p50 ... p99 ...`.
//! `CREDENCE_BENCH_QUICK=1` shrinks times.

#![allow(missing_docs, clippy::disallowed_methods)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::DateTime;
use credence_events::{EventId, ManagerAssigned, ManagerId, NewEvent, StreamId};
use credence_store::{Durability, EventStore, ExpectedVersion, FileOptions, FileStore};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn event(id: u64) -> NewEvent {
    NewEvent::new(
        EventId::from_u128(u128::from(id) | (9 << 100)),
        DateTime::from_timestamp(1_790_000_000, 0).expect("valid time"),
        ManagerAssigned {
            manager: ManagerId::new(format!("manager-{}", id % 97)).expect("valid id"),
        },
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn durable_append_latency(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path(), FileOptions::with_durability(Durability::Fsync))
        .expect("opens");
    let stream = StreamId::new("latency").expect("valid id");
    let mut next = 0u64;
    let mut samples: Vec<Duration> = Vec::new();
    let mut group = c.benchmark_group("durable_append_latency");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("file-fsync", "single-event"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                next += 1;
                let e = [event(next)];
                let start = Instant::now();
                store
                    .append(&stream, ExpectedVersion::Any, &e)
                    .expect("appends");
                let took = start.elapsed();
                samples.push(took);
                total += took;
            }
            total
        });
    });
    group.finish();
    samples.sort();
    if !samples.is_empty() {
        eprintln!(
            "durable_append_latency/file-fsync/single-event: {} appends, p50 {:?} p90 {:?} p99 {:?} max {:?}",
            samples.len(),
            percentile(&samples, 0.50),
            percentile(&samples, 0.90),
            percentile(&samples, 0.99),
            samples[samples.len() - 1]
        );
    }
}

/// Batch numbers, so that no event id repeats (a repeated id is an
/// idempotent no-op append).
static NEXT_BATCH: AtomicU64 = AtomicU64::new(0);

/// Durable batches of 100 from several threads at once: what group commit
/// can make of one fsync shared by concurrent batches (the store bench
/// measures one writer's batches).
fn durable_concurrent_batches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path(), FileOptions::with_durability(Durability::Fsync))
        .expect("opens");
    let mut group = c.benchmark_group("durable_concurrent_batches");
    for threads in [1u64, 4, 8] {
        group.throughput(Throughput::Elements(threads * 100));
        group.bench_function(
            BenchmarkId::new("file-fsync-batch-100", format!("{threads}-threads")),
            |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    std::thread::scope(|scope| {
                        for t in 0..threads {
                            let store = &store;
                            scope.spawn(move || {
                                let stream = StreamId::new(format!("batch-{t}")).expect("valid id");
                                for _ in 0..iters {
                                    let batch_number = NEXT_BATCH.fetch_add(1, Ordering::Relaxed);
                                    let base = (batch_number << 8) | (1 << 50);
                                    let batch: Vec<NewEvent> =
                                        (0..100).map(|k| event(base + k)).collect();
                                    store
                                        .append(&stream, ExpectedVersion::Any, &batch)
                                        .expect("appends");
                                }
                            });
                        }
                    });
                    start.elapsed()
                });
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = durable_append_latency, durable_concurrent_batches
}
criterion_main!(benches);
