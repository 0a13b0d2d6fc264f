//! Whole-log audits through the engine: what-if and the replay check give
//! the same results on one thread and on several, equal to the per-customer
//! functions of `credence-policies`.

use std::sync::Arc;

use credence::aggregates::CustomerAccount;
use credence::policies::{
    Facts, Outcome, Policy, PolicyRegistry, Rule, RuleCheck, WhatIfDifference, decision_points,
    replay_check, what_if,
};
use credence::store::{EventStore, ExpectedVersion, MemoryStore};
use credence::{Engine, EngineConfig};
use credence_events::{BusinessCalendar, EventEnvelope, FactValue, Priority, RuleId};
use credence_testkit::strategy::{self, PortfolioConfig};
use proptest::prelude::*;

/// The default policy with its catch-all rule giving a better priority:
/// every decision that the catch-all took differs.
fn candidate() -> Policy {
    let mut document = Policy::default_policy().document().clone();
    document["id"] = "candidate".into();
    let rules = document["rules"].as_array_mut().expect("rules");
    let last = rules.last_mut().expect("a catch-all rule");
    last["then"]["priority"] = 1.into();
    Policy::from_json(&document.to_string()).expect("valid policy")
}

/// The default policy with a lower limit-usage threshold: decisions of
/// several rules differ, not only the catch-all's.
fn stricter() -> Policy {
    let mut document = Policy::default_policy().document().clone();
    document["id"] = "stricter".into();
    for rule in document["rules"].as_array_mut().expect("rules") {
        if rule["id"] == "partial-limit-nearly-used" {
            rule["when"]["value"] = 10.into();
        }
    }
    Policy::from_json(&document.to_string()).expect("valid policy")
}

/// A Rust rule: overdue customers get priority 1, not held.
#[derive(Debug)]
struct OverdueFirst {
    id: RuleId,
    outcome: Outcome,
}

impl Rule for OverdueFirst {
    fn id(&self) -> &RuleId {
        &self.id
    }
    fn outcome(&self) -> &Outcome {
        &self.outcome
    }
    fn check(&self, facts: &Facts) -> RuleCheck {
        let overdue = facts.get("overdue_receivables").expect("a built-in fact");
        RuleCheck {
            holds: overdue.value != FactValue::Integer(0),
            conditions: Vec::new(),
        }
    }
    fn fingerprint(&self) -> serde_json::Value {
        serde_json::json!({"rule": "overdue-first"})
    }
}

/// The default policy with a Rust rule third: its decisions are taken on
/// facts with sources, and only the two rules before it are shared with
/// the default policy.
fn with_rust_rule() -> Policy {
    let default = Policy::default_policy();
    let mut outcome = *default.rules()[0].outcome();
    outcome.priority = Priority(1);
    default
        .with_rule(
            2,
            Arc::new(OverdueFirst {
                id: RuleId::new("overdue-first").expect("a rule id"),
                outcome,
            }),
        )
        .expect("a valid rule")
}

/// What-if by its definition: at every decision point, both policies'
/// decisions from facts with sources, kept where the outcomes differ.
fn what_if_by_definition(
    history: &[EventEnvelope],
    registry: &PolicyRegistry,
    candidate: &Policy,
    calendar: &BusinessCalendar,
) -> Vec<WhatIfDifference> {
    let mut differences = Vec::new();
    let mut state = CustomerAccount::new();
    let mut applied = 0;
    for point in decision_points(history) {
        for envelope in &history[applied..point.start] {
            state.apply(envelope);
        }
        applied = point.start;
        let decide = |policy: &Policy| {
            let facts = match &point.order {
                Some(order) => policy.order_facts(&state, order, point.evaluated_at, calendar),
                None => policy.facts(&state, point.evaluated_at, calendar),
            }
            .expect("facts");
            policy.evaluate(&facts)
        };
        let old = decide(registry.get(&point.policy).expect("known policy"));
        let new = decide(candidate);
        if old.outcome != new.outcome {
            differences.push(WhatIfDifference {
                version: history[point.start].version,
                evaluated_at: point.evaluated_at,
                order: point.order.clone(),
                old,
                new,
            });
        }
    }
    differences
}

fn engine_on(store: &Arc<MemoryStore>, audit_threads: usize) -> Engine {
    Engine::new(
        store.clone(),
        Policy::default_policy(),
        EngineConfig {
            audit_threads,
            ..EngineConfig::default()
        },
    )
}

fn store_of(log: &[EventEnvelope]) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    for e in log {
        store
            .append(&e.stream, ExpectedVersion::Any, &[e.to_new_event()])
            .expect("appends");
    }
    store
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn audits_agree_on_one_thread_and_on_several(
        portfolio in strategy::portfolio(PortfolioConfig {
            customers: 1..=6,
            ..PortfolioConfig::default()
        })
    ) {
        let store = store_of(&portfolio.log);
        let candidate = candidate();
        let calendar = BusinessCalendar::default();
        let registry = PolicyRegistry::new().with(Policy::default_policy());
        let single = engine_on(&store, 1);
        let expected_what_if = single.what_if(&candidate, None).expect("what-if runs");
        let expected_replay = single.replay_check().expect("replay check runs");

        // The engine's results are the per-customer functions', in
        // customer order.
        let mut by_function = Vec::new();
        let mut reports = Vec::new();
        let mut customers: Vec<_> = portfolio
            .histories
            .iter()
            .map(|h| (h.customer.clone(), h.events.clone()))
            .collect();
        customers.sort_by(|a, b| a.0.cmp(&b.0));
        let stricter = stricter();
        let rust_rule = with_rust_rule();
        for (customer, events) in &customers {
            for d in what_if(events, &registry, &candidate, None, &calendar).expect("what-if") {
                by_function.push((customer.clone(), d));
            }
            // The fast path (outcomes first, on facts without sources)
            // finds what the definition finds.
            for policy in [&candidate, &stricter, &rust_rule] {
                let all = what_if_by_definition(events, &registry, policy, &calendar);
                prop_assert_eq!(
                    what_if(events, &registry, policy, None, &calendar).expect("what-if"),
                    all.clone()
                );
                // A range keeps the points evaluated in [from, to): its
                // bounds are the times of two of the differences.
                if let (Some(first), Some(last)) = (all.get(all.len() / 3), all.get(2 * all.len() / 3)) {
                    let range = (first.evaluated_at, last.evaluated_at);
                    let within: Vec<_> = all
                        .iter()
                        .filter(|d| d.evaluated_at >= range.0 && d.evaluated_at < range.1)
                        .cloned()
                        .collect();
                    prop_assert_eq!(
                        what_if(events, &registry, policy, Some(range), &calendar).expect("what-if"),
                        within
                    );
                }
            }
            reports.push((customer.clone(), replay_check(events, &registry, &calendar)));
        }
        let ids: Vec<_> = customers.iter().map(|(c, _)| c.clone()).collect();
        prop_assert_eq!(single.customers().expect("customers"), ids);
        prop_assert_eq!(&expected_what_if, &by_function);
        prop_assert_eq!(&expected_replay, &reports);
        prop_assert!(expected_replay.iter().all(|(_, r)| r.is_clean()));

        for threads in [2, 3, 8] {
            let engine = engine_on(&store, threads);
            prop_assert_eq!(&engine.what_if(&candidate, None).expect("what-if"), &expected_what_if);
            prop_assert_eq!(&engine.replay_check().expect("replay"), &expected_replay);
        }
    }
}

/// The log of a portfolio of `customers`, always the same.
fn portfolio_log(customers: usize) -> Vec<EventEnvelope> {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    strategy::portfolio(PortfolioConfig {
        customers: customers..=customers,
        ..PortfolioConfig::default()
    })
    .new_tree(&mut runner)
    .expect("generates")
    .current()
    .log
}

#[test]
fn the_candidate_changes_decisions_so_the_comparison_is_not_vacuous() {
    let log = portfolio_log(4);
    let store = store_of(&log);
    for candidate in [candidate(), stricter(), with_rust_rule()] {
        let differences = engine_on(&store, 2)
            .what_if(&candidate, None)
            .expect("what-if runs");
        assert!(!differences.is_empty(), "{}", candidate.reference().id);
    }
}

#[test]
fn customers_are_the_streams_that_register_one() {
    use credence_events::{CustomerId, EventId, ManagerAssigned, ManagerId, NewEvent, StreamId};
    let log = portfolio_log(3);
    let store = store_of(&log);
    // A stream some other writer put in the same store: not a customer.
    let at = log[0].occurred_at;
    store
        .append(
            &StreamId::new("aaa-not-a-customer").expect("valid id"),
            ExpectedVersion::NoStream,
            &[NewEvent::new(
                EventId::from_u128(u128::MAX),
                at,
                ManagerAssigned {
                    manager: ManagerId::new("nobody").expect("valid id"),
                },
            )],
        )
        .expect("appends");
    let mut expected: Vec<CustomerId> = log
        .iter()
        .filter_map(|e| match &e.event {
            credence_events::Event::CustomerRegistered(r) => Some(r.customer.clone()),
            _ => None,
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 3);
    assert_eq!(
        engine_on(&store, 1).customers().expect("customers"),
        expected
    );
}
