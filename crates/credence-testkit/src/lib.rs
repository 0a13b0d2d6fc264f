//! Property-based testing of credit policies and of Credence itself.
//!
//! The kit generates *valid, realistic* customer histories with proptest and
//! checks invariants on them:
//!
//! * [`plan`]: shrinkable plans of a customer's life (terms, payer behaviour,
//!   order cycles, partial deliveries, payment orders that may never clear,
//!   broken promises, overpayments, reversals);
//! * [`history`]: a plan interpreted into timed commands and the events they
//!   record, valid by construction; with a policy
//!   ([`interpret_with_policy`]), the policy's decisions recorded as the
//!   engine records them;
//! * [`strategy`]: ready-made proptest strategies of plans and histories,
//!   and [`strategy::portfolio`], several customers merged into one global
//!   log as a store holds them;
//! * [`fixtures`]: terse value constructors for hand-written tests;
//! * [`invariants`]: reusable checks that return a readable error, for any
//!   history and for a policy's decisions (determinism, past only,
//!   explanations, replay, monotonicity);
//! * [`report`]: a failing history as a timeline and as a JSON lines file
//!   `credence import` reads, and [`report::Check`], a property runner that
//!   reports the shrunk counterexample that way.
//!
//! `docs/testing-policies.md` walks through testing a JSON policy and a
//! Rust rule.
//!
//! ```
//! use credence_testkit::{invariants, strategy};
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(8), |(history in strategy::history(Default::default()))| {
//!     invariants::money_is_conserved(&history).map_err(TestCaseError::fail)?;
//! });
//! ```
//!
//! Testing your own policy ("no customer who always pays on time is ever
//! refused"):
//!
//! ```
//! use credence_policies::Policy;
//! use credence_testkit::report::Check;
//! use credence_testkit::{PlanConfig, invariants, strategy};
//!
//! let config = PlanConfig { cycles: 1..=3, ..PlanConfig::default() };
//! Check::new("on-time payers are never refused").cases(8).assert_histories(
//!     strategy::histories_of(
//!         strategy::on_time_plans(config.clone()),
//!         config,
//!         Policy::default_policy(),
//!     ),
//!     invariants::never_refused,
//! );
//! ```
//!
//! # Invariants of the kit
//!
//! * Generated histories are valid: replaying their steps through the
//!   aggregate rejects nothing (tested on thousands of histories), with or
//!   without a policy's decisions (a held order's delivery waits for its
//!   release, a refused order is never delivered).
//! * Generation is deterministic given proptest's seed; time only moves
//!   forward, through business days.
//! * Everything is generated through the aggregate, never edited
//!   afterwards: a back-dated payment is a `ReceivePayment` with an earlier
//!   `occurred_at`, never before the delivery of what it pays (nor, on its
//!   value date, before any delivery it could be allocated to); a
//!   portfolio's decisions are the policy's own.

pub mod fixtures;
pub mod history;
pub mod invariants;
pub mod plan;
pub mod report;
pub mod strategy;

pub use history::{
    EvaluationPoint, History, PolicyRunConfig, RunError, Step, StepRejected, interpret,
    interpret_with_policy, interpret_with_policy_config,
};
pub use plan::{CustomerPlan, PayerBehaviour, PlanConfig};
pub use strategy::{Portfolio, PortfolioConfig};
