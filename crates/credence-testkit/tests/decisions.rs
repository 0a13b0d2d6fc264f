//! The invariants of a policy's decisions hold for the default policy, and
//! the monotonicity helpers compare a customer with a better-paying self.

use credence_policies::Policy;
use credence_testkit::invariants::{self, outcome};
use credence_testkit::report::Check;
use credence_testkit::{PlanConfig, strategy};
use proptest::prelude::*;

fn config() -> PlanConfig {
    PlanConfig {
        cycles: 1..=6,
        ..PlanConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_default_policy_keeps_every_invariant(
        history in strategy::history_with_policy(config(), Policy::default_policy())
    ) {
        invariants::policy_invariants(&history).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn paying_earlier_never_worsens_priority(plan in strategy::plans(config())) {
        invariants::improving_payment_never_worsens(
            &plan, &config(), &Policy::default_policy(),
            |p| p.paying_earlier(), outcome::priority,
        ).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn paying_on_time_never_brings_a_refusal(plan in strategy::plans(config())) {
        invariants::improving_payment_never_worsens(
            &plan, &config(), &Policy::default_policy(),
            |p| p.paying_on_time(), outcome::refused,
        ).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn on_time_payers_are_never_refused(
        history in strategy::histories_of(strategy::on_time_plans(config()), config(), Policy::default_policy())
    ) {
        invariants::never_refused(&history).map_err(TestCaseError::fail)?;
    }
}

/// A policy that rewards paying late (overdue customers are served first)
/// is caught by the monotonicity helper.
#[test]
fn a_policy_rewarding_late_payers_breaks_monotonicity() {
    let doc = serde_json::json!({
        "id": "upside-down",
        "version": 1,
        "rules": [
            {"id": "overdue-first",
             "when": {"fact": "overdue_debt", "op": "gt", "value": 0},
             "then": {"verdict": "accept", "fulfilment": "full", "priority": 1}},
            {"id": "others",
             "then": {"verdict": "accept", "fulfilment": "full", "priority": 5}}
        ]
    });
    let policy = Policy::from_json(&doc.to_string()).unwrap();
    let config = config();
    let found = Check::new("upside-down policy is monotone")
        .cases(64)
        .deterministic()
        .out_dir(std::env::temp_dir().join(format!("credence-testkit-{}", std::process::id())))
        .run_plans(
            strategy::plans(config.clone()),
            &config,
            &policy,
            |plan, _| {
                invariants::improving_payment_never_worsens(
                    plan,
                    &config,
                    &policy,
                    |p| p.paying_on_time(),
                    outcome::priority,
                )
            },
        )
        .expect_err("the inversion is found");
    assert!(
        found.message.contains("the better payer gets Priority(5)"),
        "{found}"
    );
    let plan = found.plan.as_ref().unwrap();
    // Shrunk to a few small orders: some to owe, one to be decided.
    assert!(plan.cycles.len() <= 4, "{found}");
    assert!(plan.cycles.iter().all(|c| c.lines.len() == 1), "{found}");
}
