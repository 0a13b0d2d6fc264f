//! Queries: as-of state, what-if of a changed policy, the service queue and
//! scarce stock allocation, and the memory held by customer state and
//! projections.
//!
//! * `as_of_query`: one customer with 1k … 100k events; the engine's
//!   `account_as_of` (business time, half-way through the history). The
//!   projections' `AsOfIndex` has its own bench in `credence-projections`.
//! * `what_if`: `Engine::what_if` of a changed policy over the whole log
//!   (customers of ~130 events recorded through the engine), for two
//!   candidates: one whose change never matters in this workload (the
//!   outcomes are compared, nothing is traced) and one that changes many
//!   decisions (those are traced); then the target's 1M events, three
//!   runs outside criterion.
//! * The service queue and stock allocation are benchmarked by
//!   `credence-projections`' own bench (`cargo bench -p
//!   credence-projections --bench projections`), not repeated here.
//! * `memory_state`: builds `Projections` (every customer's account and
//!   the read models) for many small customers, then their accounts alone;
//!   the growth of the resident set is printed (`memory_state/...: N
//!   bytes`).
//!
//! Run with: `cargo bench --bench queries`. `CREDENCE_BENCH_QUICK=1`
//! shrinks sizes and times. `CREDENCE_BENCH_WHAT_IF=<customers>[:<runs>]`
//! runs only the timed what-if of the lenient candidate (by default the
//! target's 7,700 customers, three runs), outside criterion: for profiling
//! and A/B runs of two builds.

#![allow(missing_docs, clippy::disallowed_methods)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use credence::{AsOf, Engine, EngineConfig};
use credence_aggregates::CustomerAccount;
use credence_events::{EventEnvelope, GlobalPosition};
use credence_policies::Policy;
use credence_projections::{Projection, ProjectionConfig, Projections};
use credence_store::{EventStore, ExpectedVersion, MemoryStore};
use credence_testkit::Step;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

/// The system allocator, counting the bytes requested and the allocations
/// live in the memory child (and only there: `COUNTING` is switched on
/// first thing in that process), so that it reports exactly what the state
/// holds beside the resident set (which also counts the allocator's slack
/// and freed holes). Elsewhere a call costs one relaxed load of a flag that
/// never changes: shared counters would be contended by the multi-threaded
/// what-if and slow it down by a third.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds
// `GlobalAlloc`'s contract; the counters are only bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes requested and allocations live on the heap now.
fn heap() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

/// The resident set size of this process in bytes (Linux `/proc`), 0
/// elsewhere. Deltas of it measure what a structure holds, to within the
/// allocator's slack.
fn live() -> isize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<isize>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// One customer's kit history cut to `n` events.
fn long_history(n: usize) -> Vec<EventEnvelope> {
    let history = common::history(0, n / 3 + 10);
    let mut events = history.events;
    events.truncate(n);
    events
}

fn as_of_query(c: &mut Criterion) {
    let sizes: &[usize] = common::pick(&[1_000, 10_000, 100_000], &[1_000, 10_000]);
    let mut group = c.benchmark_group("as_of_query");
    group.throughput(Throughput::Elements(1));
    for &n in sizes {
        let events = long_history(n);
        let customer = common::customer(0);
        let middle = events[events.len() / 2].occurred_at;
        let store = Arc::new(MemoryStore::new());
        for chunk in events.chunks(1000) {
            let new: Vec<_> = chunk.iter().map(EventEnvelope::to_new_event).collect();
            store
                .append(&events[0].stream, ExpectedVersion::Any, &new)
                .expect("appends");
        }
        let engine = Engine::new(store, Policy::default_policy(), EngineConfig::default());
        group.bench_function(BenchmarkId::new("engine-account-as-of", n), |b| {
            b.iter(|| {
                engine
                    .account_as_of(&customer, AsOf::Business(middle))
                    .expect("registered")
            });
        });
    }
    group.finish();
}

/// An engine on the memory store that ran `customers` x `commands` of the
/// kit's workload.
fn engine_with(workload: &[Step]) -> Engine {
    let engine = common::memory_engine();
    for step in workload {
        common::run(&engine, step);
    }
    engine
}

/// The default policy named `id`, with `change` applied to its rule `rule`.
fn changed_policy(id: &str, rule: &str, change: impl Fn(&mut serde_json::Value)) -> Policy {
    let mut document = Policy::default_policy().document().clone();
    document["id"] = id.into();
    for r in document["rules"].as_array_mut().expect("rules") {
        if r["id"] == rule {
            change(&mut r["then"]);
        }
    }
    Policy::from_json(&document.to_string()).expect("valid policy")
}

/// The default policy with one rule changed: customers overdue by more than
/// a business day keep full fulfilment.
fn lenient_policy() -> Policy {
    changed_policy("lenient", "residual-overdue-over-1-business-day", |then| {
        then["fulfilment"] = "full".into();
        then["service_warning"] = false.into();
    })
}

/// The default policy with the catch-all changed: customers in good
/// standing (some debt, nothing overdue) get priority 2 instead of 3. In
/// the benches' workload it changes many decisions, so what-if also traces
/// both policies' decisions at those points.
fn reprioritised_policy() -> Policy {
    changed_policy("reprioritised", "good-standing", |then| {
        then["priority"] = 2.into();
    })
}

fn what_if(c: &mut Criterion) {
    let sizes: &[usize] = common::pick(&[100, 1_000], &[20, 100]);
    let mut group = c.benchmark_group("what_if");
    group.sampling_mode(criterion::SamplingMode::Flat);
    let candidate = lenient_policy();
    let reprioritised = reprioritised_policy();
    for &customers in sizes {
        let engine = engine_with(&common::workload(customers, 100));
        let events = engine.store().head().expect("head").0;
        group.throughput(Throughput::Elements(events));
        group.bench_function(
            BenchmarkId::new(
                "engine-what-if",
                format!("{customers}-customers-{events}-events"),
            ),
            |b| {
                b.iter(|| {
                    engine
                        .what_if(&candidate, None)
                        .expect("what-if runs")
                        .len()
                })
            },
        );
        let differences = engine
            .what_if(&reprioritised, None)
            .expect("what-if runs")
            .len();
        eprintln!(
            "what_if/engine-what-if-reprioritised/{customers}-customers-{events}-events: {differences} differences"
        );
        group.bench_function(
            BenchmarkId::new(
                "engine-what-if-reprioritised",
                format!("{customers}-customers-{events}-events"),
            ),
            |b| {
                b.iter(|| {
                    engine
                        .what_if(&reprioritised, None)
                        .expect("what-if runs")
                        .len()
                })
            },
        );
    }
    group.finish();
    if !common::quick() {
        // The target's size (1M events, ~7,700 customers) takes about a
        // second per run: timed outside criterion, three runs one after the
        // other, each printed, and their median.
        timed_what_if(7_700, 3, &candidate);
    }
}

/// Builds an engine with `customers` customers of the kit's workload and
/// times `runs` what-ifs of `candidate` over its whole log one after the
/// other, outside criterion: prints each run and the median.
fn timed_what_if(customers: usize, runs: usize, candidate: &Policy) {
    let engine = engine_with(&common::workload(customers, 100));
    let events = engine.store().head().expect("head").0;
    let mut took = Vec::new();
    for run in 1..=runs.max(1) {
        let start = std::time::Instant::now();
        let differences = engine.what_if(candidate, None).expect("what-if runs").len();
        let elapsed = start.elapsed();
        eprintln!(
            "what_if/engine-what-if/{customers}-customers-{events}-events (run {run}): {elapsed:?}, {:.0} events/s, {differences} differences",
            events as f64 / elapsed.as_secs_f64()
        );
        took.push(elapsed);
    }
    took.sort();
    let median = took[took.len() / 2];
    eprintln!(
        "what_if/engine-what-if/{customers}-customers-{events}-events (median of {} runs): {median:?}, {:.0} events/s",
        took.len(),
        events as f64 / median.as_secs_f64()
    );
}

/// Run in a child process (a fresh heap): builds `Projections` for
/// `customers` customers (or, with `accounts_only`, just their
/// `CustomerAccount`s, to split the figure), feeding each generated history
/// and dropping it, and prints two figures: the heap bytes the state holds,
/// exactly (requested sizes, from the counting allocator; the allocator's
/// own per-block overhead and slack are not in it), and the growth of the
/// resident set (an upper bound of what is held: it includes the
/// allocator's slack and freed holes).
fn memory_child(customers: usize, accounts_only: bool) {
    let before = live();
    let (heap_before, blocks_before) = heap();
    let mut projections = Projections::new(ProjectionConfig::default());
    let mut accounts = std::collections::BTreeMap::new();
    let mut position = 0u64;
    for i in 0..customers {
        let history = common::history(i, 3);
        if accounts_only {
            position += history.events.len() as u64;
            accounts.insert(
                history.customer.clone(),
                CustomerAccount::from_history(&history.events),
            );
            continue;
        }
        for mut e in history.events {
            position += 1;
            e.position = GlobalPosition(position);
            projections.apply(&e).expect("applies");
        }
    }
    let held = live() - before;
    let (heap_after, blocks_after) = heap();
    let (bytes, blocks) = (heap_after - heap_before, blocks_after - blocks_before);
    let what = if accounts_only {
        format!("CustomerAccounts alone ({})", accounts.len())
    } else {
        format!("Projections ({} accounts)", projections.customer_count())
    };
    let per = |n: isize| n as f64 / customers as f64;
    eprintln!(
        "memory_state/{customers}-customers: {position} events, {what} hold {bytes} heap bytes in {blocks} allocations ({:.0} bytes, {:.1} allocations/customer; {:.1} MB), at most {held} resident bytes ({:.0} bytes/customer, {:.1} MB resident growth)",
        per(bytes),
        per(blocks),
        bytes as f64 / 1e6,
        per(held),
        held as f64 / 1e6
    );
}

fn memory_state(c: &mut Criterion) {
    let customers = common::pick(100_000, 2_000);
    for mode in ["", ":accounts"] {
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env("CREDENCE_BENCH_MEMORY_CHILD", format!("{customers}{mode}"))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("child runs");
        assert!(status.success(), "memory child failed");
    }
    let mut events = Vec::new();
    for i in 0..common::pick(10_000, 1_000) {
        events.extend(common::history(i, 3).events);
    }
    for (k, e) in events.iter_mut().enumerate() {
        e.position = GlobalPosition(k as u64 + 1);
    }
    let mut group = c.benchmark_group("memory_state");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(
        BenchmarkId::new("projections-rebuild", format!("{}-events", events.len())),
        |b| {
            b.iter(|| {
                Projections::rebuild(ProjectionConfig::default(), &events)
                    .expect("projections build")
                    .customer_count()
            });
        },
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = as_of_query, what_if, memory_state
}

fn main() {
    if let Some(child) = std::env::var_os("CREDENCE_BENCH_MEMORY_CHILD") {
        // Blocks allocated before this are not counted; the child measures
        // a difference taken well after, so they do not matter.
        COUNTING.store(true, Ordering::Relaxed);
        let child = child.to_string_lossy();
        let (customers, accounts_only) = match child.strip_suffix(":accounts") {
            Some(n) => (n, true),
            None => (&*child, false),
        };
        memory_child(customers.parse().unwrap_or(1), accounts_only);
        return;
    }
    if let Ok(spec) = std::env::var("CREDENCE_BENCH_WHAT_IF") {
        // `<customers>[:<runs>]`: only the timed what-if of the lenient
        // candidate, for profiling and A/B runs.
        let mut parts = spec.split(':');
        let number = |part: Option<&str>, default| {
            part.map_or(default, |p| {
                p.parse()
                    .expect("CREDENCE_BENCH_WHAT_IF: <customers>[:<runs>]")
            })
        };
        let customers = number(parts.next(), 7_700);
        let runs = number(parts.next(), 3);
        timed_what_if(customers, runs, &lenient_policy());
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
