//! The vocabulary of decisions and their explanations, as persisted in events.
//!
//! A decision is recorded with an [`Explanation`]: which rule of which policy
//! version fired, at which business time, and every condition it checked with
//! the threshold, the observed value and the ids of the events that produced
//! the observed value. The policy engine (credence-policies) fills these in;
//! this crate only defines their persisted shape.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{EventId, PolicyId, RuleId};
use crate::money::{Money, Rate};

/// Identifies one exact version of a policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyRef {
    /// The policy's stable id.
    pub id: PolicyId,
    /// Its version number.
    pub version: u32,
    /// Hex SHA-256 of the policy's canonical content, so that two documents
    /// claiming the same version but differing in content are told apart.
    pub hash: String,
}

/// A value a fact had, or a threshold it was compared with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FactValue {
    /// A yes/no fact.
    Bool(bool),
    /// A count or a number of days.
    Integer(i64),
    /// A ratio or other exact number.
    Decimal(Decimal),
    /// A percentage.
    Rate(Rate),
    /// An amount.
    Money(Money),
    /// A calendar date.
    Date(NaiveDate),
    /// A label such as a tag or a mode.
    Text(String),
}

impl fmt::Display for FactValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(v) => write!(f, "{v}"),
            Self::Integer(v) => write!(f, "{v}"),
            Self::Decimal(v) => write!(f, "{v}"),
            Self::Rate(v) => write!(f, "{v}"),
            Self::Money(v) => write!(f, "{v}"),
            Self::Date(v) => write!(f, "{v}"),
            Self::Text(v) => f.write_str(v),
        }
    }
}

/// How an observed value is compared with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// observed < threshold
    Lt,
    /// observed <= threshold
    Le,
    /// observed == threshold
    Eq,
    /// observed != threshold
    Ne,
    /// observed >= threshold
    Ge,
    /// observed > threshold
    Gt,
    /// a set-valued fact (tags) contains the threshold
    Contains,
}

impl Comparison {
    /// The operator as a symbol for human-readable explanations.
    pub fn symbol(&self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Ge => ">=",
            Self::Gt => ">",
            Self::Contains => "contains",
        }
    }
}

/// One condition a rule checked, with what it saw.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConditionTrace {
    /// The fact's name, such as `overdue_debt` or `max_days_past_due`.
    pub fact: String,
    /// The comparison.
    pub comparison: Comparison,
    /// The threshold from the policy.
    pub threshold: FactValue,
    /// The value observed in the customer's history.
    pub observed: FactValue,
    /// Whether the condition held.
    pub holds: bool,
    /// The events that produced the observed value.
    pub sources: Vec<EventId>,
}

/// Why a decision was taken: the receipt stored with every decision event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Explanation {
    /// The policy version that decided.
    pub policy: PolicyRef,
    /// The rule that fired.
    pub rule: RuleId,
    /// The business time of the evaluation.
    pub evaluated_at: DateTime<Utc>,
    /// Every condition the rule checked.
    pub conditions: Vec<ConditionTrace>,
    /// A short human sentence.
    pub summary: String,
}

/// The verdict on an order or a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Go ahead (possibly with a restricted fulfilment mode).
    Accept,
    /// Wait: the order is held until a condition clears (usually payment).
    Hold,
    /// Do not serve.
    Refuse,
}

/// How an order is fulfilled. Ordered from the most to the least generous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentMode {
    /// Everything ordered, in normal order.
    Full,
    /// Scarce, fast-moving items withheld; the rest shipped.
    Partial,
    /// Served from what is left after everybody else.
    Residual,
    /// Shipped only against cash on delivery.
    CashOnDelivery,
    /// Deferred until payment arrives.
    Deferred,
    /// Not served.
    Refused,
}

impl fmt::Display for FulfilmentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "full",
            Self::Partial => "partial",
            Self::Residual => "residual",
            Self::CashOnDelivery => "cash on delivery",
            Self::Deferred => "deferred until payment",
            Self::Refused => "refused",
        })
    }
}

/// Service priority: a rank where **1 is served first**; larger numbers wait.
/// Rank 0 does not exist: deserialising it is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Priority(pub u8);

impl TryFrom<u8> for Priority {
    type Error = String;
    fn try_from(rank: u8) -> Result<Self, String> {
        if rank == 0 {
            Err("priority rank 0 does not exist; 1 is served first".into())
        } else {
            Ok(Priority(rank))
        }
    }
}

impl From<Priority> for u8 {
    fn from(p: Priority) -> u8 {
        p.0
    }
}

impl Priority {
    /// The best rank.
    pub const FIRST: Priority = Priority(1);
    /// The rank of a customer in good standing under the default policy.
    pub const NORMAL: Priority = Priority(3);
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.0)
    }
}

/// Whether an order keeps the customer's usual discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountOutcome {
    /// The discount recorded on the order applies.
    Kept,
    /// No discount on this order.
    Suspended,
}

/// Which price adjustment changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// A discount off the price.
    Discount,
    /// A markup on the price (or interest on arrears).
    Markup,
    /// A bonus credited for good payment.
    Bonus,
}

/// What a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// A payment falls due soon.
    Advance,
    /// A payment is due today.
    DueToday,
    /// A payment is overdue (escalating levels).
    Overdue,
    /// The credit limit is nearly or fully used.
    CreditLimit,
    /// Discount, markup or bonus changed.
    PriceChange,
    /// Service priority changed.
    PriorityChange,
    /// The next order will be refused or served residually.
    ServiceWarning,
    /// A payment order's money did not arrive in time.
    PaymentOrderOverdue,
    /// A promise to pay was broken.
    PromiseBroken,
}

/// Who a reminder goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The customer's responsible person.
    Customer,
    /// The customer's manager at the supplier.
    Manager,
}
