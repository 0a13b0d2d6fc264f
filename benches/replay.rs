//! Replay: folding typed events in memory, and replaying the file log
//! (read, checksum, decode, fold), each against its baseline measured in
//! the same run.
//!
//! * `replay_memory`: typed events replayed from the memory store
//!   (`EventStore::replay_all`, which lends the stored events) into a plain
//!   fold, against the same plain fold over a `Vec` of the same events (a
//!   match and a running total per event: the floor any replay pays); and
//!   the full fold, `CustomerAccount::apply`, over the `Vec` and from the
//!   store.
//! * `replay_file`: the file log's `replay_all` (read, checksum, decode,
//!   a page of frames at a time) with the plain fold vs serde_json parse
//!   (the codec's `decode`) plus the same plain fold over the same events
//!   as JSON lines in memory; and the file log folded into accounts (a
//!   full replay).
//!
//! Run with: `cargo bench --bench replay`. `CREDENCE_BENCH_QUICK=1` shrinks
//! sizes and times.

#![allow(missing_docs, clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::ControlFlow;

use credence_aggregates::CustomerAccount;
use credence_events::{Event, EventEnvelope, GlobalPosition, StreamId};
use credence_store::{
    Durability, EventStore, ExpectedVersion, FileOptions, FileStore, MemoryStore,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;

/// About `n` events of the kit's histories, customers of ~1,000 events
/// each, in the global order of a store (customer after customer).
fn events(n: usize) -> Vec<EventEnvelope> {
    let per_customer = 1_000.min(n);
    let mut all = Vec::with_capacity(n + per_customer);
    let mut i = 0;
    while all.len() < n {
        let history = common::history(i, per_customer / 3 + 1);
        all.extend(history.events.into_iter().take(n - all.len()));
        i += 1;
    }
    for (k, e) in all.iter_mut().enumerate() {
        e.position = GlobalPosition(k as u64 + 1);
    }
    all
}

/// The plain fold: one match and a running total per event.
#[derive(Default)]
struct Totals {
    events: u64,
    ordered: Decimal,
    paid: Decimal,
}

fn plain_fold(totals: &mut Totals, event: &Event) {
    totals.events += 1;
    match event {
        Event::OrderPlaced(o) => {
            for line in &o.lines {
                totals.ordered += line.unit_price.amount();
            }
        }
        Event::PaymentReceived(p) => totals.paid += p.amount.amount(),
        _ => {}
    }
}

/// The full fold: each stream's account.
fn account_fold(accounts: &mut BTreeMap<StreamId, CustomerAccount>, envelope: &EventEnvelope) {
    match accounts.get_mut(&envelope.stream) {
        Some(account) => account.apply(envelope),
        None => {
            let mut account = CustomerAccount::new();
            account.apply(envelope);
            accounts.insert(envelope.stream.clone(), account);
        }
    }
}

/// Replays the whole file log (`EventStore::replay_all`: read, checksum,
/// decode a page of frames at a time) and hands each event to `f`.
fn read_file(store: &FileStore, mut f: impl FnMut(&EventEnvelope)) {
    store
        .replay_all(GlobalPosition::START, &mut |e| {
            f(e);
            ControlFlow::Continue(())
        })
        .expect("replays");
}

fn replay_memory(c: &mut Criterion) {
    let sizes: &[usize] = common::pick(&[10_000, 100_000], &[1_000, 10_000]);
    let mut group = c.benchmark_group("replay_memory");
    for &n in sizes {
        let events = events(n);
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_function(BenchmarkId::new("plain-fold-baseline", n), |b| {
            b.iter(|| {
                let mut totals = Totals::default();
                for e in &events {
                    plain_fold(&mut totals, &e.event);
                }
                black_box((totals.events, totals.ordered, totals.paid))
            });
        });
        let store = MemoryStore::from_events(events.iter().cloned()).expect("stores");
        group.bench_function(BenchmarkId::new("memory-store-replay-plain-fold", n), |b| {
            b.iter(|| {
                let mut totals = Totals::default();
                store
                    .replay_all(GlobalPosition::START, &mut |e| {
                        plain_fold(&mut totals, &e.event);
                        ControlFlow::Continue(())
                    })
                    .expect("replays");
                black_box((totals.events, totals.ordered, totals.paid))
            });
        });
        group.bench_function(BenchmarkId::new("credence-account-apply", n), |b| {
            b.iter(|| {
                let mut accounts = BTreeMap::new();
                for e in &events {
                    account_fold(&mut accounts, e);
                }
                black_box(accounts.len())
            });
        });
        group.bench_function(
            BenchmarkId::new("memory-store-replay-account-fold", n),
            |b| {
                b.iter(|| {
                    let mut accounts = BTreeMap::new();
                    store
                        .replay_all(GlobalPosition::START, &mut |e| {
                            account_fold(&mut accounts, e);
                            ControlFlow::Continue(())
                        })
                        .expect("replays");
                    black_box(accounts.len())
                });
            },
        );
    }
    group.finish();
}

fn replay_file(c: &mut Criterion) {
    let sizes: &[usize] = common::pick(&[10_000, 100_000], &[1_000, 10_000]);
    let mut group = c.benchmark_group("replay_file");
    for &n in sizes {
        let events = events(n);
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = FileStore::open(
                dir.path(),
                FileOptions::with_durability(Durability::Buffered),
            )
            .expect("opens");
            let mut by_stream: BTreeMap<&StreamId, Vec<_>> = BTreeMap::new();
            for e in &events {
                by_stream
                    .entry(&e.stream)
                    .or_default()
                    .push(e.to_new_event());
            }
            for (stream, new) in by_stream {
                for chunk in new.chunks(1000) {
                    store
                        .append(stream, ExpectedVersion::Any, chunk)
                        .expect("appends");
                }
            }
        }
        let store = FileStore::open(dir.path(), FileOptions::default()).expect("reopens");
        let lines: Vec<String> = events.iter().map(credence_events::codec::encode).collect();
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
        let file_bytes: u64 = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        eprintln!(
            "replay_file/{n}: {} events, JSON lines {bytes} bytes ({:.0} B/event), file log directory {file_bytes} bytes",
            events.len(),
            bytes as f64 / events.len() as f64
        );
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_function(
            BenchmarkId::new("json-lines-parse-plain-fold-baseline", n),
            |b| {
                b.iter(|| {
                    let mut totals = Totals::default();
                    for line in &lines {
                        let e = credence_events::codec::decode(line).expect("decodes");
                        plain_fold(&mut totals, &e.event);
                    }
                    black_box((totals.events, totals.ordered, totals.paid))
                });
            },
        );
        group.bench_function(BenchmarkId::new("file-log-read-plain-fold", n), |b| {
            b.iter(|| {
                let mut totals = Totals::default();
                read_file(&store, |e| plain_fold(&mut totals, &e.event));
                black_box((totals.events, totals.ordered, totals.paid))
            });
        });
        group.bench_function(BenchmarkId::new("file-log-read-account-fold", n), |b| {
            b.iter(|| {
                let mut accounts = BTreeMap::new();
                read_file(&store, |e| account_fold(&mut accounts, e));
                black_box(accounts.len())
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = replay_memory, replay_file
}
criterion_main!(benches);
