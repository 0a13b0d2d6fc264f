//! The invariants of a policy's decisions hold for the default policy, and
//! the monotonicity helpers compare a customer with a better-paying self.

use credence_policies::Policy;
use credence_testkit::invariants::{self, outcome};
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
