//! Shared helpers of the top-level benchmarks: quick mode, criterion
//! settings and deterministic workloads generated with `credence-testkit`.
//!
//! Every workload is generated from fixed seeds, so two runs measure the same
//! commands and events.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use credence::{Engine, EngineConfig};
use credence_aggregates::Command;
use credence_events::{CustomerId, EventEnvelope};
use credence_policies::Policy;
use credence_store::MemoryStore;
use credence_testkit::{
    CustomerPlan, History, PayerBehaviour, PlanConfig, Step, interpret, strategy,
};
use criterion::Criterion;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Whether `CREDENCE_BENCH_QUICK` is set: shrink sizes and times so that a
/// smoke run of every bench takes seconds.
pub fn quick() -> bool {
    std::env::var_os("CREDENCE_BENCH_QUICK").is_some()
}

/// Picks the full or the quick value.
pub fn pick<T>(full: T, quick_value: T) -> T {
    if quick() { quick_value } else { full }
}

/// Criterion settings: modest by default (the reference machine has two
/// shared cores), tiny in quick mode.
pub fn criterion() -> Criterion {
    if quick() {
        Criterion::default()
            .sample_size(10)
            .warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(200))
            .without_plots()
    } else {
        Criterion::default()
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .without_plots()
    }
}

/// A customer id `C-{i:06}`.
pub fn customer(i: usize) -> CustomerId {
    CustomerId::new(format!("C-{i:06}")).expect("valid id")
}

/// A deterministic plan of `cycles` order cycles drawn from the kit's
/// strategy with `seed`, made to pass the default policy: a high credit
/// limit that never changes and a payer that pays on time (the measured
/// commands are the kit's, decided without a policy: an order the engine's
/// policy held would make its deliveries and payments invalid).
pub fn plan(seed: u64, cycles: usize) -> (CustomerPlan, PlanConfig) {
    let config = PlanConfig {
        cycles: cycles..=cycles,
        reversals: false,
        ..PlanConfig::default()
    };
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8] = 0xc5;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let mut plan = strategy::plans(config.clone())
        .new_tree(&mut runner)
        .expect("plans generate")
        .current();
    plan.terms.credit_limit = 40_000_000;
    plan.behaviour = PayerBehaviour::OnTime { early: 1 };
    for cycle in &mut plan.cycles {
        cycle.new_credit_limit = None;
    }
    (plan, config)
}

/// A valid history of customer `i` with `cycles` order cycles.
pub fn history(i: usize, cycles: usize) -> History {
    let (plan, config) = plan(i as u64 + 1, cycles);
    interpret(&plan, customer(i), &config).expect("the kit makes valid histories")
}

/// The first `commands` commands of each of `customers` customers,
/// interleaved in business-time order (each customer's own order kept).
pub fn workload(customers: usize, commands: usize) -> Vec<Step> {
    // About three commands per cycle; generate generously and cut.
    let cycles = commands / 2 + 2;
    let mut steps: Vec<(DateTime<Utc>, usize, usize, Step)> = Vec::new();
    for i in 0..customers {
        let history = history(i, cycles);
        assert!(
            history.steps.len() >= commands,
            "plan too short: {} steps",
            history.steps.len()
        );
        for (k, step) in history.steps.into_iter().take(commands).enumerate() {
            steps.push((step.at, k, i, step));
        }
    }
    steps.sort_by_key(|a| (a.0, a.1, a.2));
    steps.into_iter().map(|(_, _, _, step)| step).collect()
}

/// An engine over a fresh memory store with the default policy.
pub fn memory_engine() -> Engine {
    Engine::new(
        Arc::new(MemoryStore::new()),
        Policy::default_policy(),
        EngineConfig::default(),
    )
}

/// Runs `step` through `engine` (a copy of its command); see [`execute`].
pub fn run(engine: &Engine, step: &Step) -> bool {
    execute(engine, step.command.clone(), step.at)
}

/// Runs `command` through `engine` at `at`; a business rejection counts
/// (the command was decided), anything else is a bench bug.
pub fn execute(engine: &Engine, command: Command, at: DateTime<Utc>) -> bool {
    let name = command.name();
    match engine.execute(command, at) {
        Ok(_) => true,
        Err(credence::EngineError::Rejected(rejection)) => {
            static SHOWN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            if std::env::var_os("CREDENCE_BENCH_SHOW_REJECTIONS").is_some()
                && SHOWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 5
            {
                eprintln!("rejected {name}: {rejection}");
            }
            false
        }
        Err(e) => panic!("{name} failed: {e}"),
    }
}

/// The name of a command's kind, for the cqrs-es translation.
pub fn kind(command: &Command) -> &'static str {
    command.name()
}

/// All events of `engine`'s global log.
pub fn global_log(engine: &Engine) -> Vec<EventEnvelope> {
    engine.global_log().expect("memory store reads")
}
