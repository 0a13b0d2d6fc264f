//! Credence's credit policies: versioned rule sets that turn a customer's
//! history into explained decisions, reminders, a replay check and what-if.
//!
//! ```text
//! Policy::from_json(doc)                     // or Policy::default_policy()
//! policy.facts(&account, now, &calendar)     // Facts, each with source events
//! policy.evaluate(&facts)                    // Decision with its receipt
//! order_placed(&policy, &account, &placed, &calendar)  // CreditDecided to append
//! evaluate_customer(&policy, &account, now, &calendar) // changes + reminders
//! release_held_orders(&policy, &account, now, &calendar) // holds lifted
//! replay_check(&history, &registry, &calendar)         // mismatches
//! what_if(&history, &registry, &other, range, &calendar)
//! ```
//!
//! A complete round, as the engine does it (load, decide, append, evaluate):
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use credence_aggregates::{Command, CustomerAccount, RegisterCustomer};
//! use credence_events::{
//!     BusinessCalendar, Currency, CustomerId, Deferral, EventId, GlobalPosition, ManagerId,
//!     Money, NewEvent, Rate, ServiceLevel, StreamId, Terms,
//! };
//! use credence_policies::{Policy, evaluate_customer};
//!
//! let policy = Policy::default_policy();
//! let calendar = BusinessCalendar::default();
//! let now = Utc.with_ymd_and_hms(2026, 11, 6, 9, 0, 0).unwrap();
//! let eur = Currency::new("EUR")?;
//! let register = Command::RegisterCustomer(RegisterCustomer {
//!     customer: CustomerId::new("ACME")?,
//!     name: "Acme Printing".into(),
//!     manager: ManagerId::new("olena")?,
//!     currency: eur,
//!     tags: Default::default(),
//!     terms: Terms {
//!         credit_limit: Money::new(1000.into(), eur)?,
//!         deferral: Deferral::business(3),
//!         base_discount: Rate::percent(5.into())?,
//!         markup: Rate::ZERO,
//!         bonus: Rate::ZERO,
//!         service_level: ServiceLevel::Standard,
//!     },
//! });
//! let mut account = CustomerAccount::new();
//! for (i, event) in account.decide(&register, now, &calendar)?.into_iter().enumerate() {
//!     let version = account.version().next();
//!     account.apply(&NewEvent::new(EventId::from_u128(i as u128 + 1), now, event).into_envelope(
//!         StreamId::new("ACME")?,
//!         version,
//!         GlobalPosition(version.0),
//!     ));
//! }
//! let evaluation = evaluate_customer(&policy, &account, now, &calendar)?;
//! assert_eq!(evaluation.decision.rule.as_str(), "no-debt");
//! assert!(evaluation.decision.summary().starts_with(
//!     "customer ACME accepted (full, P2): rule \"no-debt\" (default v1): debt 0.00 EUR = 0.00 EUR"
//! ));
//! // The engine appends `evaluation.events` (here: the priority change and
//! // its notices); evaluating again at the same `now` then records nothing.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Key design decision: the first matching rule decides everything
//!
//! A policy is an ordered list of rules from the most to the least severe,
//! like Kill Bill's overdue states. Evaluation checks them in order; the
//! **first rule whose condition holds decides the whole outcome**: verdict
//! (accept, hold, refuse), fulfilment mode, service priority, discount kept
//! or suspended, bonus kept or suspended, extra markup, daily interest on
//! arrears and whether service warnings go out. Outcomes are never merged,
//! so there are no conflicts to resolve; precedence is the order of the
//! rules. The last rule is a catch-all ("good standing") without a
//! condition, so every evaluation decides.
//!
//! Every decision carries an [`Explanation`](credence_events::Explanation):
//! the policy's id, version and SHA-256 content hash (of the canonical JSON
//! document, plus the fingerprints of Rust extensions), the rule, the
//! business time, and each comparison the rule made with its threshold, the
//! observed value and the events that produced it.
//!
//! # Extending from Rust
//!
//! Implement [`Rule`] for a condition JSON cannot express and insert it with
//! [`Policy::with_rule`], or implement [`FactProvider`] to compute new facts
//! that JSON conditions can then name ([`Policy::from_json_with`]).
//!
//! # Interest on arrears
//!
//! `interest = round( Σ over overdue receivables: open amount × daily rate /
//! 100 × calendar days past due )`, rounded once to the currency's minor
//! unit, half away from zero. It is computed in the [`Decision`]
//! ([`InterestCharge`]) and shown in its summary; no event type records an
//! interest charge yet.
//!
//! # Invariants
//!
//! * **Pure.** No IO, no clock, no randomness: `now` and the calendar are
//!   arguments; ids are derived from stable inputs ([`ids`]).
//! * **Deterministic.** No hash maps; the same account, time and policy give
//!   the same decision and the same events.
//! * **Idempotent.** Evaluating a customer again at the same `now` after
//!   appending its events records nothing new.
//! * **Reproducible.** Replaying a stream with the policy versions it names
//!   re-derives every recorded decision ([`replay_check`]).
//! * **Past only.** An account holding events recorded after `now` is
//!   refused ([`PolicyError::FutureEvents`]); as-of evaluation folds a prefix.
//! * **Cost.** Debt, overdue, aging and the reminder schedule read the open
//!   receivables only. Payment behaviour (closed receivables), promises,
//!   payment orders and the sources of exposure (open orders) scan those
//!   maps of the account: linear in their count. Indexes in the aggregate
//!   (recently closed receivables, open orders) would make them constant.

pub mod audit;
pub mod condition;
pub mod decision;
mod error;
pub mod facts;
pub mod ids;
pub mod points;
pub mod policy;
pub mod reminders;

pub use audit::{
    DecisionPoint, Mismatch, PolicyRegistry, ReplayReport, WhatIf, WhatIfDifference,
    decision_points, replay_check, what_if,
};
pub use condition::{Condition, Threshold};
pub use decision::{Decision, InterestCharge, InterestLine, Outcome};
pub use error::PolicyError;
pub use facts::{
    FACTS, FactSpec, FactType, Facts, FactsConfig, Observed, ReceivableFacts, fact_spec,
    payment_order_expired, promise_broken,
};
pub use points::{
    Evaluation, OrderDecision, decide_order, desired_standing, evaluate_customer, initial_standing,
    order_placed, release_held_orders,
};
pub use policy::{
    DEFAULT_POLICY_JSON, FactProvider, JsonRule, Policy, Rule, RuleCheck, canonical_json, evaluate,
};
pub use reminders::{FollowUpStep, LimitWarning, ReminderSchedule, schedule_reminders};
