//! The testkit finds the flaw in a deliberately flawed policy, shrinks it to
//! a handful of events, saves it for `credence import`, and passes on the
//! fixed policy: once for a JSON policy, once for a custom Rust rule.

use std::sync::Arc;

use credence_events::{
    Comparison, ConditionTrace, DiscountOutcome, Event, FactValue, FulfilmentMode, Priority, Rate,
    RuleId, Verdict, codec,
};
use credence_policies::{Facts, Outcome, Policy, Rule, RuleCheck};
use credence_testkit::report::{Check, Counterexample};
use credence_testkit::{PlanConfig, invariants, strategy};
use serde_json::{Value, json};

/// A credit desk's policy. The flaw: it refuses customers whose debt is
/// above 5,000 even when nothing of it is overdue, so a customer who always
/// pays on time but buys a lot is refused.
fn desk_policy(refuse_when: &str) -> Policy {
    let doc = json!({
        "id": "credit-desk",
        "version": 1,
        "rules": [
            {"id": "refuse-large-debt",
             "when": {"fact": refuse_when, "op": "gt", "value": 5000},
             "then": {"verdict": "refuse", "fulfilment": "refused", "priority": 9}},
            {"id": "hold-overdue",
             "when": {"fact": "overdue_debt", "op": "gt", "value": 0},
             "then": {"verdict": "hold", "fulfilment": "deferred", "priority": 7}},
            {"id": "good-standing",
             "then": {"verdict": "accept", "fulfilment": "full", "priority": 3}}
        ]
    });
    Policy::from_json(&doc.to_string()).unwrap()
}

/// The same flaw as a Rust rule: refuses when the fact `fact` (an amount)
/// is above `limit`.
#[derive(Debug)]
struct RefuseAbove {
    id: RuleId,
    fact: &'static str,
    limit: i64,
    outcome: Outcome,
}

impl RefuseAbove {
    fn new(fact: &'static str, limit: i64) -> Self {
        Self {
            id: RuleId::new(format!("refuse-{fact}-above-{limit}")).unwrap(),
            fact,
            limit,
            outcome: Outcome {
                verdict: Verdict::Refuse,
                fulfilment: FulfilmentMode::Refused,
                priority: Priority(9),
                discount: DiscountOutcome::Suspended,
                bonus: DiscountOutcome::Suspended,
                markup_percent: Rate::ZERO,
                interest_daily_percent: Rate::ZERO,
                service_warning: false,
            },
        }
    }
}

impl Rule for RefuseAbove {
    fn id(&self) -> &RuleId {
        &self.id
    }
    fn outcome(&self) -> &Outcome {
        &self.outcome
    }
    fn check(&self, facts: &Facts) -> RuleCheck {
        let Some(observed) = facts.get(self.fact) else {
            return RuleCheck {
                holds: false,
                conditions: Vec::new(),
            };
        };
        let holds = match &observed.value {
            FactValue::Money(m) => m.amount() > self.limit.into(),
            _ => false,
        };
        RuleCheck {
            holds,
            conditions: vec![ConditionTrace {
                fact: self.fact.into(),
                comparison: Comparison::Gt,
                threshold: FactValue::Integer(self.limit),
                observed: observed.value.clone(),
                holds,
                sources: observed.sources.clone(),
            }],
        }
    }
    fn fingerprint(&self) -> Value {
        json!({"rule": "refuse-above", "fact": self.fact, "limit": self.limit})
    }
}

/// The default policy with the Rust rule checked first.
fn with_rust_rule(fact: &'static str) -> Policy {
    Policy::default_policy()
        .with_rule(0, Arc::new(RefuseAbove::new(fact, 5000)))
        .unwrap()
}

fn config() -> PlanConfig {
    PlanConfig {
        cycles: 1..=6,
        ..PlanConfig::default()
    }
}

fn out_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("credence-testkit-{}", std::process::id()))
}

/// Runs "no customer who always pays on time is ever refused" on `policy`.
fn check_on_time_payers(name: &str, policy: &Policy) -> Result<(), Box<Counterexample>> {
    Check::new(name)
        .cases(64)
        .deterministic()
        .out_dir(out_dir())
        .run_histories(
            strategy::histories_of(strategy::on_time_plans(config()), config(), policy.clone()),
            invariants::never_refused,
        )
}

/// The flaw is found, shrunk to one order of a little over 5,000, and
/// saved as a JSON lines file the CLI imports.
#[track_caller]
fn check_found(counterexample: &Counterexample, max_events: usize) {
    let report = counterexample.to_string();
    let history = &counterexample.history;
    assert!(
        counterexample.message.contains("refuses the customer"),
        "{report}"
    );
    // Register, place, deliver: nothing else is needed to show it (the
    // report cuts the history after the step that breaks the property).
    assert!(history.steps.len() <= 3, "not shrunk:\n{report}");
    assert!(history.facts().count() <= 3, "not shrunk:\n{report}");
    assert!(history.events.len() <= max_events, "not shrunk:\n{report}");
    let orders = history
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::OrderPlaced(_)))
        .count();
    assert_eq!(orders, 1, "{report}");
    assert!(
        report.contains("RefuseAbove") || report.contains("refuse"),
        "{report}"
    );
    assert!(report.contains("credence import"), "{report}");

    // The saved file is what `credence import` reads: one envelope a line,
    // versions 1, 2, 3 … of one stream.
    let path = counterexample.file.as_ref().expect("saved");
    let text = std::fs::read_to_string(path).unwrap();
    let decoded: Vec<_> = text
        .lines()
        .map(|line| codec::decode(line).unwrap())
        .collect();
    assert_eq!(decoded, history.events);
    for (i, e) in decoded.iter().enumerate() {
        assert_eq!(e.version.0, i as u64 + 1);
        assert_eq!(e.position.0, i as u64 + 1);
    }
}

#[test]
fn a_flawed_json_policy_is_caught_and_the_fixed_one_passes() {
    let flawed = check_on_time_payers("flawed json policy", &desk_policy("debt"))
        .expect_err("the flaw is found");
    // No reminder schedule: the decisions are the order's and the changes
    // of standing after the delivery.
    check_found(&flawed, 8);
    check_on_time_payers("fixed json policy", &desk_policy("overdue_debt"))
        .unwrap_or_else(|c| panic!("{c}"));
}

#[test]
fn a_flawed_rust_rule_is_caught_and_the_fixed_one_passes() {
    let flawed = check_on_time_payers("flawed rust rule", &with_rust_rule("debt"))
        .expect_err("the flaw is found");
    // The default policy sends notices of every change to the customer and
    // the manager: more decision events, the same four facts.
    check_found(&flawed, 20);
    check_on_time_payers("fixed rust rule", &with_rust_rule("overdue_debt"))
        .unwrap_or_else(|c| panic!("{c}"));
}

#[test]
fn the_report_is_a_timeline_with_the_decision() {
    let flawed = check_on_time_payers("flawed json policy timeline", &desk_policy("debt"))
        .expect_err("the flaw is found");
    let report = flawed.to_string();
    for expected in [
        "property \"flawed json policy timeline\" failed",
        "CustomerRegistered",
        "OrderPlaced",
        "DeliveryRecorded",
        "FulfilmentModeChanged",
        "rule \"refuse-large-debt\"",
        "policy credit-desk v1",
        "saved as JSON lines:",
    ] {
        assert!(report.contains(expected), "no {expected:?} in\n{report}");
    }
}
