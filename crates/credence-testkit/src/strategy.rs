//! Ready-made proptest strategies.

use credence_events::CustomerId;
use credence_policies::Policy;
use proptest::prelude::*;

use crate::history::{History, PolicyRunConfig, interpret, interpret_with_policy_config};
use crate::plan::{CustomerPlan, PlanConfig, customer_plan, on_time_plan};

/// Plans under `config`; pair with [`interpret`] to handle generator errors
/// yourself.
pub fn plans(config: PlanConfig) -> impl Strategy<Value = CustomerPlan> {
    customer_plan(config)
}

/// Plans of customers who always pay on time, under `config`.
pub fn on_time_plans(config: PlanConfig) -> impl Strategy<Value = CustomerPlan> {
    on_time_plan(config)
}

/// The customer of the ready-made strategies: `C-1`.
pub fn customer() -> CustomerId {
    CustomerId::new("C-1").expect("valid id")
}

/// Valid histories of customer `C-1` under `config`.
///
/// # Panics
///
/// When a generated command is rejected: a bug in the generator or the
/// aggregate, which the kit's own tests guard against.
pub fn history(config: PlanConfig) -> impl Strategy<Value = History> {
    let customer = customer();
    customer_plan(config.clone()).prop_map(move |plan| {
        interpret(&plan, customer.clone(), &config)
            .unwrap_or_else(|e| panic!("generated history is invalid: {e}\nplan: {plan:?}"))
    })
}

/// Valid histories of customer `C-1` under `config` with `policy`'s
/// decisions recorded (see [`interpret_with_policy`](crate::interpret_with_policy)).
///
/// # Panics
///
/// When a generated command is rejected or the policy fails to decide: a
/// bug in the generator, the aggregate or the policy.
pub fn history_with_policy(config: PlanConfig, policy: Policy) -> impl Strategy<Value = History> {
    histories_of(plans(config.clone()), config, policy)
}

/// Histories interpreted with `policy` from the plans of `plans` (say
/// [`on_time_plans`]); they shrink as the plans do.
///
/// # Panics
///
/// As [`history_with_policy`].
pub fn histories_of(
    plans: impl Strategy<Value = CustomerPlan>,
    config: PlanConfig,
    policy: Policy,
) -> impl Strategy<Value = History> {
    histories_with(plans, config, policy, PolicyRunConfig::default())
}

/// [`histories_of`] with the evaluations `run` asks for (say a daily
/// evaluation).
///
/// # Panics
///
/// As [`history_with_policy`].
pub fn histories_with(
    plans: impl Strategy<Value = CustomerPlan>,
    config: PlanConfig,
    policy: Policy,
    run: PolicyRunConfig,
) -> impl Strategy<Value = History> {
    let customer = customer();
    plans.prop_map(move |plan| {
        interpret_with_policy_config(&plan, customer.clone(), &config, &policy, run)
            .unwrap_or_else(|e| panic!("generated history is invalid: {e}\nplan: {plan:?}"))
    })
}
