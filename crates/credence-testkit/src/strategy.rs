//! Ready-made proptest strategies.

use credence_events::CustomerId;
use proptest::prelude::*;

use crate::history::{History, interpret};
use crate::plan::{CustomerPlan, PlanConfig, customer_plan};

/// Plans under `config`; pair with [`interpret`] to handle generator errors
/// yourself.
pub fn plans(config: PlanConfig) -> impl Strategy<Value = CustomerPlan> {
    customer_plan(config)
}

/// Valid histories of customer `C-1` under `config`.
///
/// # Panics
///
/// When a generated command is rejected: a bug in the generator or the
/// aggregate, which the kit's own tests guard against.
pub fn history(config: PlanConfig) -> impl Strategy<Value = History> {
    let customer = CustomerId::new("C-1").expect("valid id");
    customer_plan(config.clone()).prop_map(move |plan| {
        interpret(&plan, customer.clone(), &config)
            .unwrap_or_else(|e| panic!("generated history is invalid: {e}\nplan: {plan:?}"))
    })
}
