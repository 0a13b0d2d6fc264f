//! Payment behaviour and delay-reason statistics, kept up to date per event.
//!
//! * **Days to pay / days late.** When an event closes a receivable (a
//!   payment, or credit balance applied to a new delivery) the receivable's
//!   closing date minus its issue date (days to pay) and minus its due date
//!   (days late; negative when early) are counted once. A reversal that
//!   reopens a receivable does not erase the earlier observation; it is
//!   counted in `reversals`, and the receivable's next closing is observed
//!   again.
//! * **Delay reasons.** Each `DelayExplained` counts once for the customer
//!   and once for the manager it names.
//! * **Promise reliability.** `PromiseToPayKept` / `PromiseToPayBroken` count
//!   for the customer and for the customer's manager at that moment.

use std::collections::BTreeMap;

use credence_events::ReasonCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How one customer pays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentBehaviour {
    /// Receivables observed closing.
    pub paid_receivables: u64,
    /// Sum of days late over them (early payments count negative).
    pub days_late_total: i64,
    /// How many closed after their due date.
    pub paid_late: u64,
    /// Days late → number of receivables (negative: paid early).
    pub days_late: BTreeMap<i64, u64>,
    /// Days from delivery to closing → number of receivables.
    pub days_to_pay: BTreeMap<i64, u64>,
    /// Payments reversed.
    pub reversals: u64,
    /// Delay reason → count.
    pub delay_reasons: BTreeMap<ReasonCode, u64>,
    /// Promises kept and broken.
    pub promises: PromiseRecord,
}

impl PaymentBehaviour {
    /// Average days late (negative: early) to two decimal places; `None`
    /// before any receivable was paid.
    pub fn average_days_late(&self) -> Option<Decimal> {
        if self.paid_receivables == 0 {
            return None;
        }
        let average = Decimal::from(self.days_late_total) / Decimal::from(self.paid_receivables);
        Some(average.round_dp(2))
    }

    pub(crate) fn record_closing(&mut self, days_to_pay: i64, days_late: i64) {
        self.paid_receivables += 1;
        self.days_late_total = self.days_late_total.saturating_add(days_late);
        if days_late > 0 {
            self.paid_late += 1;
        }
        *self.days_late.entry(days_late).or_default() += 1;
        *self.days_to_pay.entry(days_to_pay).or_default() += 1;
    }
}

/// Kept and broken promises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseRecord {
    /// Promises kept.
    pub kept: u64,
    /// Promises broken.
    pub broken: u64,
}

impl PromiseRecord {
    /// Share of settled promises that were kept, in percent to two decimal
    /// places; `None` before any promise was settled.
    pub fn reliability_percent(&self) -> Option<Decimal> {
        let settled = self.kept + self.broken;
        if settled == 0 {
            return None;
        }
        Some((Decimal::from(self.kept) * Decimal::ONE_HUNDRED / Decimal::from(settled)).round_dp(2))
    }
}

/// Statistics of one manager's customers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerStatistics {
    /// Delay reason → count, over the explanations this manager obtained.
    pub delay_reasons: BTreeMap<ReasonCode, u64>,
    /// Promises kept and broken by this manager's customers.
    pub promises: PromiseRecord,
}
