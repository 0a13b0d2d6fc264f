//! Property-based testing of a credit policy: the testkit finds a real flaw
//! in a credit desk's JSON policy, prints the shrunk counterexample as a
//! timeline, saves it for `credence import`, and passes on the fixed policy.
//! See docs/testing-policies.md.
//!
//! Run with: cargo run --example flawed_policy

use credence::policies::Policy;
use credence_testkit::report::Check;
use credence_testkit::{PlanConfig, invariants, strategy};
use serde_json::json;

/// The credit desk's policy. `refuse_when` names the amount that gets a
/// customer refused above 5,000: `debt` is the flaw (a customer who pays on
/// time but buys a lot has debt that is not yet due), `overdue_debt` the fix.
fn desk_policy(refuse_when: &str) -> Result<Policy, Box<dyn std::error::Error>> {
    let doc = json!({
        "id": "credit-desk",
        "version": 1,
        "description": "Refuse large debtors, hold overdue customers, serve the rest.",
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
    Ok(Policy::from_json(&doc.to_string())?)
}

/// "No customer who always pays on time is ever refused", on `policy`.
fn check(name: &str, policy: Policy) -> Result<(), Box<credence_testkit::report::Counterexample>> {
    let config = PlanConfig {
        cycles: 1..=6,
        ..PlanConfig::default()
    };
    Check::new(name).cases(64).deterministic().run_histories(
        strategy::histories_of(strategy::on_time_plans(config.clone()), config, policy),
        invariants::never_refused,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match check("flawed credit desk policy", desk_policy("debt")?) {
        Ok(()) => return Err("the flaw was not found".into()),
        Err(counterexample) => {
            println!("{counterexample}\n");
            println!(
                "shrunk to {} steps and {} events",
                counterexample.history.steps.len(),
                counterexample.history.events.len()
            );
        }
    }
    match check("fixed credit desk policy", desk_policy("overdue_debt")?) {
        Ok(()) => println!("the fixed policy passes: no on-time payer is refused"),
        Err(counterexample) => return Err(counterexample.to_string().into()),
    }
    Ok(())
}
