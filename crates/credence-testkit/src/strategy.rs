//! Ready-made proptest strategies: one customer's history, or a portfolio
//! of several customers merged into one global log.

use std::ops::RangeInclusive;

use credence_events::{CustomerId, EventEnvelope, GlobalPosition};
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

/// Knobs of [`portfolio`].
#[derive(Debug, Clone)]
pub struct PortfolioConfig {
    /// How many customers.
    pub customers: RangeInclusive<usize>,
    /// Each customer's plan.
    pub plan: PlanConfig,
    /// The policy whose decisions every customer's history records, if any.
    pub policy: Option<Policy>,
}

impl Default for PortfolioConfig {
    /// 1–4 customers of 1–10 cycles each, 1–14 days apart, with back-dated
    /// payments, orders left open and late payers up to 45 days late,
    /// decided by the default policy: orders are held, and refused (in about
    /// one portfolio in eight: a customer still ordering when a debt is a
    /// month overdue), and standings move to residual, partial, deferred or
    /// refused service and change priority.
    fn default() -> Self {
        Self {
            customers: 1..=4,
            plan: PlanConfig {
                cycles: 1..=10,
                gap_days: 1..=14,
                late_days: 1..=45,
                backdating: true,
                open_orders: true,
                ..PlanConfig::default()
            },
            policy: Some(Policy::default_policy()),
        }
    }
}

/// Several customers' histories and the global log a store would hold of
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portfolio {
    /// Customer `C-{i + 1}`'s history at index `i`; its events carry stream
    /// versions, and global positions equal to them (one stream alone).
    pub histories: Vec<History>,
    /// Every customer's events merged by (recorded time, customer index,
    /// stream version), global positions renumbered `1..=n` in that order.
    pub log: Vec<EventEnvelope>,
}

impl Portfolio {
    /// Merges `histories` into a portfolio (see [`Portfolio::log`]).
    pub fn new(histories: Vec<History>) -> Self {
        let mut all: Vec<(usize, &EventEnvelope)> = histories
            .iter()
            .enumerate()
            .flat_map(|(i, h)| h.events.iter().map(move |e| (i, e)))
            .collect();
        all.sort_by_key(|(i, e)| (e.recorded_at, *i, e.version));
        let log = all
            .into_iter()
            .enumerate()
            .map(|(n, (_, e))| {
                let mut e = e.clone();
                e.position = GlobalPosition(n as u64 + 1);
                e
            })
            .collect();
        Self { histories, log }
    }
}

/// The `i`-th customer of a portfolio: `C-{i + 1}`.
pub fn portfolio_customer(i: usize) -> CustomerId {
    CustomerId::new(format!("C-{}", i + 1)).expect("valid id")
}

/// Portfolios of valid histories under `config`: each customer's plan is
/// interpreted through the aggregate (and the policy's decisions recorded
/// with [`interpret_with_policy`](crate::interpret_with_policy)), never
/// edited afterwards. They shrink to fewer customers with shorter plans.
///
/// # Panics
///
/// When a generated command is rejected or the policy fails to decide: a
/// bug in the generator, the aggregate or the policy.
pub fn portfolio(config: PortfolioConfig) -> impl Strategy<Value = Portfolio> {
    let PortfolioConfig {
        customers,
        plan,
        policy,
    } = config;
    proptest::collection::vec(customer_plan(plan.clone()), customers).prop_map(move |plans| {
        let histories = plans
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let customer = portfolio_customer(i);
                match &policy {
                    Some(policy) => interpret_with_policy_config(
                        p,
                        customer,
                        &plan,
                        policy,
                        PolicyRunConfig::default(),
                    ),
                    None => interpret(p, customer, &plan),
                }
                .unwrap_or_else(|e| panic!("generated history is invalid: {e}\nplan: {p:?}"))
            })
            .collect();
        Portfolio::new(histories)
    })
}
