//! Decisions: the outcome of a policy for one customer (or one order) at one
//! business time, with its receipt, rendered as a sentence and as JSON.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use credence_events::{
    ConditionTrace, CustomerId, DiscountOutcome, Explanation, FulfilmentMode, Money, OrderId,
    PolicyRef, Priority, Rate, ReceivableId, RuleId, Verdict,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a rule decides when it fires: the customer's whole standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Accept, hold (credit hold until payment) or refuse.
    pub verdict: Verdict,
    /// How orders are fulfilled.
    pub fulfilment: FulfilmentMode,
    /// Service priority (1 is served first).
    pub priority: Priority,
    /// Whether the customer's usual discount applies.
    #[serde(default = "kept")]
    pub discount: DiscountOutcome,
    /// Whether the customer's bonus applies.
    #[serde(default = "kept")]
    pub bonus: DiscountOutcome,
    /// Markup added on top of the contract's markup, in percent.
    #[serde(default)]
    pub markup_percent: Rate,
    /// Simple daily interest on arrears, in percent per calendar day past due.
    #[serde(default)]
    pub interest_daily_percent: Rate,
    /// Send service warnings (the next order will be restricted) to the
    /// recipients of the reminder schedule, once per overdue receivable.
    #[serde(default)]
    pub service_warning: bool,
}

fn kept() -> DiscountOutcome {
    DiscountOutcome::Kept
}

impl Outcome {
    /// True when the outcome puts the customer on credit hold.
    pub fn is_hold(&self) -> bool {
        self.verdict == Verdict::Hold
    }
}

/// One receivable's share of interest on arrears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterestLine {
    /// The receivable.
    pub receivable: ReceivableId,
    /// Its open amount.
    pub open: Money,
    /// Calendar days past due.
    pub days_past_due: i64,
    /// `open × rate / 100 × days`, unrounded.
    pub amount: Decimal,
}

/// Interest on arrears:
/// `Σ over overdue receivables (open × daily rate / 100 × calendar days past
/// due)`, rounded once, to the minor unit, half away from zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterestCharge {
    /// The daily rate in percent.
    pub daily_rate: Rate,
    /// Each overdue receivable's share.
    pub lines: Vec<InterestLine>,
    /// The total, rounded once.
    pub total: Money,
}

/// A policy's decision about a customer (and an order, at order placement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The customer.
    pub customer: CustomerId,
    /// The order decided on, at order placement.
    pub order: Option<OrderId>,
    /// The policy version that decided.
    pub policy: PolicyRef,
    /// The rule that fired (the first whose condition held).
    pub rule: RuleId,
    /// The business time of evaluation.
    pub evaluated_at: DateTime<Utc>,
    /// What the rule decided.
    pub outcome: Outcome,
    /// Interest on arrears, when the rule charges it and something is overdue.
    pub interest: Option<InterestCharge>,
    /// Every comparison the rule made.
    pub conditions: Vec<ConditionTrace>,
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Accept => "accepted",
        Verdict::Hold => "held",
        Verdict::Refuse => "refused",
    }
}

/// Appends conditions rendered as `fact observed op threshold [events …]`
/// to `out`.
fn write_conditions(out: &mut String, conditions: &[ConditionTrace]) {
    if conditions.is_empty() {
        out.push_str("no other rule applied");
        return;
    }
    for (i, c) in conditions.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        let _ = write!(
            out,
            "{} {} {} {}",
            c.fact,
            c.observed,
            c.comparison.symbol(),
            c.threshold
        );
        if !c.holds {
            out.push_str(" (not met)");
        }
        if !c.sources.is_empty() {
            out.push_str(" [events ");
            for (k, source) in c.sources.iter().take(3).enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{source}");
            }
            if c.sources.len() > 3 {
                let _ = write!(out, " +{} more", c.sources.len() - 3);
            }
            out.push(']');
        }
    }
}

impl Decision {
    /// A short human sentence, such as
    /// `order O-17 accepted (residual, P7, discount suspended): rule
    /// "overdue-over-1-business-day" (default v1): max_business_days_past_due
    /// 1 > 0 [events …]`.
    pub fn summary(&self) -> String {
        let mut out = String::with_capacity(256);
        let _ = match &self.order {
            Some(order) => write!(out, "order {order}"),
            None => write!(out, "customer {}", self.customer),
        };
        let o = &self.outcome;
        let _ = write!(
            out,
            " {} ({}, {}",
            verdict_word(o.verdict),
            o.fulfilment,
            o.priority
        );
        if o.discount == DiscountOutcome::Suspended {
            out.push_str(", discount suspended");
        }
        if o.bonus == DiscountOutcome::Suspended {
            out.push_str(", bonus suspended");
        }
        if !o.markup_percent.is_zero() {
            let _ = write!(out, ", markup +{}", o.markup_percent);
        }
        if let Some(interest) = &self.interest {
            let _ = write!(out, ", interest {}", interest.total);
        }
        let _ = write!(
            out,
            "): rule \"{}\" ({} v{}): ",
            self.rule, self.policy.id, self.policy.version
        );
        write_conditions(&mut out, &self.conditions);
        out
    }

    /// The receipt stored with the decision events.
    pub fn explanation(&self) -> Explanation {
        Explanation {
            policy: self.policy.clone(),
            rule: self.rule.clone(),
            evaluated_at: self.evaluated_at,
            conditions: self.conditions.clone(),
            summary: self.summary(),
        }
    }

    /// The decision as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
