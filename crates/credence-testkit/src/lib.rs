//! Property-based testing of credit policies and of Credence itself.
//!
//! The kit generates *valid, realistic* customer histories with proptest and
//! checks invariants on them:
//!
//! * [`plan`]: shrinkable plans of a customer's life (terms, payer behaviour,
//!   order cycles, partial deliveries, payment orders that may never clear,
//!   broken promises, overpayments, reversals);
//! * [`history`]: a plan interpreted into timed commands and the events they
//!   record, valid by construction;
//! * [`strategy`]: ready-made proptest strategies of histories;
//! * [`invariants`]: reusable checks that return a readable error.
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
//! # Invariants of the kit
//!
//! * Generated histories are valid: replaying their steps through the
//!   aggregate rejects nothing (tested on thousands of histories).
//! * Generation is deterministic given proptest's seed; time only moves
//!   forward, through business days.

pub mod history;
pub mod invariants;
pub mod plan;
pub mod report;
pub mod strategy;

pub use history::{
    EvaluationPoint, History, RunError, Step, StepRejected, interpret, interpret_with_policy,
};
pub use plan::{CustomerPlan, PayerBehaviour, PlanConfig};
