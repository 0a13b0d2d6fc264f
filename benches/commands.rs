//! Command cost, side by side with cqrs-es 0.5.0 on the same workload.
//!
//! * `command_vs_history`: the cost of one command against a customer whose
//!   stream already holds 10 … 100,000 events, through Credence's engine on
//!   the memory store (the kit's mix, and `PlaceOrder` alone) and through
//!   cqrs-es with its `MemStore`.
//! * `commands_per_second`: 1,000 customers x 100 commands (the kit's
//!   realistic mix, interleaved in business-time order), policy evaluation
//!   included, through both.
//!
//! Run with: `cargo bench --bench commands` (cqrs-es's `MemStore` prints a
//! line to stdout per load and per commit; redirect stdout, see
//! BENCHMARKS.md). `CREDENCE_BENCH_QUICK=1` shrinks sizes and times.
//!
//! **Probe mode**, for profiling and controlled experiments rather than
//! criterion's statistics: `CREDENCE_BENCH_PROBE=<n>` runs the mix of
//! `command_vs_history` at `n` events on the same pools, without criterion,
//! and prints the median, 10th and 90th percentile of the time per command
//! over chunks of commands. `CREDENCE_BENCH_PROBE_FILL=<k>` first puts `k`
//! other customers of 100,000 events each in the store, before the pool's
//! own (never loaded by the engine), so that points of different history
//! lengths can be compared on stores of the same size;
//! `CREDENCE_BENCH_PROBE_ROUNDS` sets how many pools are built (by default
//! enough for thirty chunks, at least three). The commands, copied from
//! the plan before the clock starts as in the criterion group, run in
//! `probe_commands`, a function of its own: `valgrind --tool=callgrind
//! --collect-atstart=no --toggle-collect='*probe_commands'` counts them
//! alone.

// cqrs-es's `EventStore::commit` takes its metadata as a `HashMap`.
#![allow(missing_docs, clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
#[path = "common/ledger.rs"]
mod ledger;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::mem_store::MemStore;
use cqrs_es::{Aggregate, CqrsFramework, EventStore as _};
use credence::Engine;
use credence_aggregates::{Command, CustomerAccount};
use credence_events::{
    BusinessCalendar, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion,
};
use credence_store::{EventStore, ExpectedVersion, MemoryStore};
use credence_testkit::Step;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use ledger::{Ledger, LedgerCommand, translate};

/// One customer prepared to `n` stored events: the commands that follow.
struct Prepared {
    prefix: Vec<NewEvent>,
    prefix_steps: Vec<Step>,
    rest: Vec<Step>,
}

/// Decides the kit's plan for customer `i` through the aggregate until the
/// stream holds at least `n` events; the rest of the plan is the supply of
/// measured commands.
fn prepare(i: usize, n: usize) -> Prepared {
    // The kit's plans average about 3.3 commands and events per cycle;
    // leave room for the measured commands (see `budget`).
    let cycles = n / 3 + n / 30 + 12;
    let history = common::history(i, cycles);
    let calendar = BusinessCalendar::default();
    let stream = StreamId::for_customer(&common::customer(i));
    let mut account = CustomerAccount::new();
    let mut prefix = Vec::new();
    let mut steps = history.steps.into_iter();
    let mut prefix_steps = Vec::new();
    for step in steps.by_ref() {
        let events = account
            .decide(&step.command, step.at, &calendar)
            .expect("the kit makes valid histories");
        let occurred_at = step.command.occurred_at(step.at);
        for event in events {
            let version = StreamVersion(prefix.len() as u64 + 1);
            let mut new = NewEvent::new(
                EventId::from_u128(((i as u128 + 1) << 64) | u128::from(version.0)),
                step.at,
                event,
            );
            new.occurred_at = occurred_at;
            account.apply(&new.clone().into_envelope(
                stream.clone(),
                version,
                GlobalPosition(version.0),
            ));
            prefix.push(new);
        }
        prefix_steps.push(step);
        if prefix.len() >= n {
            break;
        }
    }
    Prepared {
        prefix,
        prefix_steps,
        rest: steps.collect(),
    }
}

/// How many customers share the measured commands at history length `n`,
/// so that the measurement grows each one's history by a few percent only.
fn pool_size(n: usize) -> usize {
    (common::pick(400_000, 20_000) / n).clamp(1, 200)
}

/// Measured commands per customer before its pool is rebuilt: keeps each
/// history within ~5 % (at least 3 commands) of `n`.
fn commands_per_pool(n: usize) -> usize {
    (n / 20).max(3)
}

/// Customers at `n` events on a fresh engine, caches warm.
struct CredencePool {
    engine: Engine,
    next: Vec<usize>,
    executed: usize,
}

impl CredencePool {
    fn new(prepared: &[Prepared]) -> Self {
        Self::with_filler(prepared, &[])
    }

    /// A pool whose store first holds `filler`'s prefixes, as customers
    /// numbered after the pool's, which the engine never loads (probe
    /// mode only).
    fn with_filler(prepared: &[Prepared], filler: &[Prepared]) -> Self {
        let store = Arc::new(MemoryStore::new());
        let customers = (prepared.len()..)
            .zip(filler)
            .chain(prepared.iter().enumerate());
        for (i, p) in customers {
            let stream = StreamId::for_customer(&common::customer(i));
            for chunk in p.prefix.chunks(1000) {
                store
                    .append(&stream, ExpectedVersion::Any, chunk)
                    .expect("memory appends");
            }
        }
        let engine = Engine::new(
            store,
            credence_policies::Policy::default_policy(),
            credence::EngineConfig::default(),
        );
        for i in 0..prepared.len() {
            engine.account(&common::customer(i)).expect("registered");
        }
        Self {
            engine,
            next: vec![0; prepared.len()],
            executed: 0,
        }
    }

    /// The next customer's next step, round-robin; counted as run.
    fn next_step<'a>(&mut self, steps: &[Vec<&'a Step>]) -> &'a Step {
        let c = self.executed % steps.len();
        let step = steps[c][self.next[c]];
        self.next[c] += 1;
        self.executed += 1;
        step
    }

    /// Times `iters` commands, taking customer after customer's next step
    /// from `steps`, rebuilding the pool (outside the timing) once each
    /// customer has run `budget` of them; counts rejections in `rejected`.
    fn time(
        pool: &mut Option<CredencePool>,
        prepared: &[Prepared],
        steps: &[Vec<&Step>],
        budget: usize,
        iters: u64,
        rejected: &mut usize,
    ) -> Duration {
        let k = prepared.len();
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters {
            if pool.as_ref().is_none_or(|p| p.executed >= budget * k) {
                // The old pool goes before the new one is built, as a
                // service holds one state: built beside the old one, the
                // new pool lands in fresh memory and the measured
                // commands' allocations in the old one's freed chunks,
                // which made the 100k-event point about 30 % slower with
                // glibc's allocator (see BENCHMARKS.md).
                drop(pool.take());
                *pool = Some(CredencePool::new(prepared));
            }
            let p = pool.as_mut().expect("built");
            let step = p.next_step(steps);
            // The copy of the command is made before the clock starts, as
            // for cqrs-es below: a copy read from a plan of 100,000 steps
            // misses the caches, one from a plan of 600 does not, and it
            // is the bench's cost, not the engine's.
            let command = step.command.clone();
            let start = Instant::now();
            let ok = common::execute(&p.engine, command, step.at);
            elapsed += start.elapsed();
            *rejected += usize::from(!ok);
        }
        elapsed
    }
}

fn command_vs_history(c: &mut Criterion) {
    let sizes: &[usize] = common::pick(&[10, 100, 1_000, 10_000, 100_000], &[10, 100, 1_000]);
    let mut group = c.benchmark_group("command_vs_history");
    group.throughput(Throughput::Elements(1));
    if !common::quick() {
        // Criterion sizes its samples from the warm-up's wall time, which
        // here includes the (untimed) pool builds: with a short warm-up it
        // estimates ~1 s a command at 10k events and times one command per
        // sample, each right after a pause, on cold caches. A warm-up long
        // enough to amortise the builds gives samples of many commands
        // round-robin over the pool (the steady state), and 30 samples of
        // 6 s a median that holds from one run to the next.
        group
            .sample_size(30)
            .warm_up_time(Duration::from_secs(12))
            .measurement_time(Duration::from_secs(6));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for &n in sizes {
        let k = pool_size(n);
        let prepared: Vec<Prepared> = (0..k).map(|i| prepare(i, n)).collect();
        let budget = commands_per_pool(n);
        let supply = prepared.iter().map(|p| p.rest.len()).min().unwrap_or(0);
        assert!(supply >= budget, "plan too short for n = {n}");

        // Credence: engine on the memory store.
        let all: Vec<Vec<&Step>> = prepared.iter().map(|p| p.rest.iter().collect()).collect();
        let mut pool: Option<CredencePool> = None;
        let mut rejected = 0usize;
        group.bench_function(BenchmarkId::new("credence-memory", n), |b| {
            b.iter_custom(|iters| {
                CredencePool::time(&mut pool, &prepared, &all, budget, iters, &mut rejected)
            });
        });
        if rejected > 0 {
            eprintln!("command_vs_history/credence-memory/{n}: {rejected} commands rejected");
        }

        // Credence, `PlaceOrder` only: the command that carries the policy
        // evaluation (the mix above is bimodal: its median says little).
        let orders: Vec<Vec<&Step>> = prepared
            .iter()
            .map(|p| {
                p.rest
                    .iter()
                    .filter(|s| matches!(s.command, credence_aggregates::Command::PlaceOrder(_)))
                    .collect()
            })
            .collect();
        let order_budget = orders.iter().map(Vec::len).min().unwrap_or(0).min(budget);
        assert!(order_budget > 0, "no orders to place for n = {n}");
        let mut pool: Option<CredencePool> = None;
        group.bench_function(BenchmarkId::new("credence-memory-place-order", n), |b| {
            b.iter_custom(|iters| {
                CredencePool::time(
                    &mut pool,
                    &prepared,
                    &orders,
                    order_budget,
                    iters,
                    &mut rejected,
                )
            });
        });
        if rejected > 0 {
            eprintln!(
                "command_vs_history/credence-memory-place-order/{n}: {rejected} commands rejected"
            );
        }

        // cqrs-es: MemStore, the same commands translated.
        let mut cqrs: Option<(MemStore<Ledger>, Vec<usize>, usize)> = None;
        group.bench_function(BenchmarkId::new("cqrs-es-memstore", n), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let rebuild = cqrs.as_ref().is_none_or(|c| c.2 >= budget * k);
                    if rebuild {
                        // As for Credence's pools: the old one goes first.
                        drop(cqrs.take());
                        cqrs = Some((rt.block_on(ledger_pool(&prepared)), vec![0; k], 0));
                    }
                    let (store, next, executed) = cqrs.as_mut().expect("built");
                    let c = *executed % k;
                    let (id, command) = translate(&prepared[c].rest[next[c]].command);
                    let framework = CqrsFramework::new(store.clone(), vec![], ());
                    let start = Instant::now();
                    let _ = rt.block_on(framework.execute(&id, command));
                    elapsed += start.elapsed();
                    next[c] += 1;
                    *executed += 1;
                }
                elapsed
            });
        });
    }
    group.finish();
}

/// A cqrs-es `MemStore` with each prepared customer's prefix committed (in
/// chunks of 1,000 commands: cqrs-es has no bulk import).
async fn ledger_pool(prepared: &[Prepared]) -> MemStore<Ledger> {
    let store = MemStore::<Ledger>::default();
    for p in prepared {
        for chunk in p.prefix_steps.chunks(1000) {
            let id = translate(&chunk[0].command).0;
            let mut context = store.load_aggregate(&id).await.expect("loads");
            let sink = EventSink::<Ledger>::default();
            for step in chunk {
                let (_, command) = translate(&step.command);
                let _ = cqrs_es::AggregateContext::aggregate(&mut context)
                    .handle(command, &(), &sink)
                    .await;
            }
            store
                .commit(sink.collect().await, context, HashMap::new())
                .await
                .expect("commits");
        }
    }
    store
}

fn commands_per_second(c: &mut Criterion) {
    let (customers, per_customer) = common::pick((1_000, 100), (50, 40));
    let workload = common::workload(customers, per_customer);
    let total = workload.len();
    let mut group = c.benchmark_group("commands_per_second");
    group.throughput(Throughput::Elements(1));
    let name = format!("{customers}x{per_customer}");

    let mut state: Option<(Engine, usize)> = None;
    let mut rejected = 0usize;
    group.bench_function(BenchmarkId::new("credence-memory", &name), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut start = Instant::now();
            for _ in 0..iters {
                if state.as_ref().is_none_or(|s| s.1 == total) {
                    elapsed += start.elapsed();
                    state = Some((common::memory_engine(), 0));
                    start = Instant::now();
                }
                let (engine, next) = state.as_mut().expect("built");
                rejected += usize::from(!common::run(engine, &workload[*next]));
                *next += 1;
            }
            elapsed + start.elapsed()
        });
    });
    if rejected > 0 {
        eprintln!("commands_per_second/credence-memory: {rejected} commands rejected");
    }

    let translated: Vec<(String, LedgerCommand)> =
        workload.iter().map(|s| translate(&s.command)).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut cqrs: Option<(CqrsFramework<Ledger, MemStore<Ledger>>, usize)> = None;
    group.bench_function(BenchmarkId::new("cqrs-es-memstore", &name), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut start = Instant::now();
            for _ in 0..iters {
                if cqrs.as_ref().is_none_or(|s| s.1 == total) {
                    elapsed += start.elapsed();
                    cqrs = Some((CqrsFramework::new(MemStore::default(), vec![], ()), 0));
                    start = Instant::now();
                }
                let (framework, next) = cqrs.as_mut().expect("built");
                let (id, command) = &translated[*next];
                let _ = rt.block_on(framework.execute(id, command.clone()));
                *next += 1;
            }
            elapsed + start.elapsed()
        });
    });
    group.finish();
}

fn config() -> Criterion {
    common::criterion()
}

criterion_group! {
    name = benches;
    config = config();
    targets = command_vs_history, commands_per_second
}
fn main() {
    if let Ok(n) = std::env::var("CREDENCE_BENCH_PROBE") {
        probe(n.parse().expect("CREDENCE_BENCH_PROBE: a number of events"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// An optional number from the environment.
fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}: a number, not {v:?}"))
    })
}

/// Probe mode (see the module docs).
fn probe(n: usize) {
    let k = pool_size(n);
    let prepared: Vec<Prepared> = (0..k).map(|i| prepare(i, n)).collect();
    let fill = env_number("CREDENCE_BENCH_PROBE_FILL", 0);
    let filler: Vec<Prepared> = (0..fill).map(|i| prepare(k + i, 100_000)).collect();
    let steps: Vec<Vec<&Step>> = prepared.iter().map(|p| p.rest.iter().collect()).collect();
    let budget = commands_per_pool(n) * k;
    // At least three chunks a pool and thirty in all, unless told.
    let chunk = (budget / 3).min(1000);
    let rounds = env_number(
        "CREDENCE_BENCH_PROBE_ROUNDS",
        (30 * chunk).div_ceil(budget).max(3),
    );
    let mut times = Vec::new();
    for _ in 0..rounds {
        // The filler goes in first: the pool's own events are the latest,
        // and its accounts are loaded last, as without a filler.
        let mut pool = CredencePool::with_filler(&prepared, &filler);
        while pool.executed + chunk <= budget {
            // Copied before the clock starts, as in the criterion group.
            let commands: Vec<(Command, DateTime<Utc>)> = (0..chunk)
                .map(|_| {
                    let step = pool.next_step(&steps);
                    (step.command.clone(), step.at)
                })
                .collect();
            let start = Instant::now();
            let rejected = probe_commands(&pool.engine, commands);
            times.push(start.elapsed().as_secs_f64() * 1e6 / chunk as f64);
            assert_eq!(rejected, 0, "the kit's commands are accepted");
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |q: usize| times[(times.len() - 1) * q / 100];
    eprintln!(
        "probe n={n} customers={k} fill={fill}x100000 chunks={}x{chunk}: median {:.3} us/command (p10 {:.3}, p90 {:.3})",
        times.len(),
        at(50),
        at(10),
        at(90)
    );
}

/// Runs `commands` through `engine`; returns how many were rejected.
#[inline(never)]
fn probe_commands(engine: &Engine, commands: Vec<(Command, DateTime<Utc>)>) -> usize {
    commands
        .into_iter()
        .map(|(command, at)| usize::from(!common::execute(engine, command, at)))
        .sum()
}
