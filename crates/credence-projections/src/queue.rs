//! The service queue: every open order across customers, in service order,
//! with the reason for each position.
//!
//! # Service order
//!
//! Orders are sorted by, in turn:
//!
//! 1. the **tier** ([`ServiceTier`]): customers without debt, then customers
//!    with debt, then orders served residually, then orders held until
//!    payment, then refused orders (listed so that nothing open is hidden,
//!    but never served). "Without debt" is [`NoDebtTest`]: by default no
//!    overdue debt;
//! 2. the customer's **priority** (1 first);
//! 3. **faster payers** first: the customer's average days late (early
//!    payers negative; no payment history counts as 0);
//! 4. **shorter deferral** first (days of the terms' deferral);
//! 5. the **requested delivery** time, then the time the order was placed;
//! 6. customer id and order id, so the order is total and deterministic.
//!
//! The order's fulfilment mode is the one decided for the order, else the
//! customer's current mode, else full.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use credence_aggregates::Order;
use credence_events::{CustomerId, FulfilmentMode, ItemId, OrderId, Priority, Urgency, Verdict};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::NoDebtTest;
use crate::read_models::{CustomerEntry, Projections};

/// Where an order stands in the service order, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    /// The customer has no debt (see [`NoDebtTest`]): processed first.
    NoDebt,
    /// The customer has debt: processed after the customers without.
    Debt,
    /// Served from what is left after everybody else (residual mode).
    Residual,
    /// Held until payment (verdict hold or mode deferred).
    Held,
    /// Refused: listed, never served.
    Refused,
}

impl fmt::Display for ServiceTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoDebt => "no debt",
            Self::Debt => "has debt",
            Self::Residual => "residual",
            Self::Held => "held until payment",
            Self::Refused => "refused",
        })
    }
}

/// Why an order stands where it does: every value the sort compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueReason {
    /// The tier.
    pub tier: ServiceTier,
    /// The customer's priority.
    pub priority: Priority,
    /// The customer's average days late; `None`: no payment history yet.
    pub average_days_late: Option<Decimal>,
    /// Days of the customer's payment deferral.
    pub deferral_days: u16,
    /// The customer's overdue debt (customer's currency).
    pub overdue_debt: Decimal,
    /// The customer's debt (customer's currency).
    pub debt: Decimal,
    /// Days past due of its oldest overdue receivable (0 when none).
    pub max_days_past_due: u32,
    /// The order's fulfilment mode.
    pub fulfilment: FulfilmentMode,
}

impl fmt::Display for QueueReason {
    /// A sentence for people: "has debt (overdue 120.00, 8 days past due);
    /// priority P3; pays 4.5 days late on average; deferral 3 days; mode
    /// residual".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tier {
            ServiceTier::NoDebt | ServiceTier::Debt if self.overdue_debt > Decimal::ZERO => write!(
                f,
                "{} (overdue {}, {} days past due)",
                self.tier, self.overdue_debt, self.max_days_past_due
            )?,
            ServiceTier::NoDebt | ServiceTier::Debt if self.debt > Decimal::ZERO => {
                write!(f, "{} (owes {}, nothing overdue)", self.tier, self.debt)?;
            }
            tier => write!(f, "{tier}")?,
        }
        write!(f, "; priority {}", self.priority)?;
        match self.average_days_late {
            None => f.write_str("; no payment history")?,
            Some(days) if days > Decimal::ZERO => {
                write!(f, "; pays {days} days late on average")?;
            }
            Some(days) if days < Decimal::ZERO => {
                write!(f, "; pays {} days early on average", -days)?;
            }
            Some(_) => f.write_str("; pays on the due date on average")?,
        }
        write!(
            f,
            "; deferral {} days; mode {}",
            self.deferral_days, self.fulfilment
        )
    }
}

/// One open order in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// 1-based place in the queue.
    pub position: usize,
    /// The customer.
    pub customer: CustomerId,
    /// The order.
    pub order: OrderId,
    /// When the customer wants it.
    pub requested_delivery: DateTime<Utc>,
    /// How urgently.
    pub urgency: Urgency,
    /// Business time it was placed.
    pub placed_at: DateTime<Utc>,
    /// The lines still to deliver: item and open quantity.
    pub open_lines: Vec<(ItemId, Decimal)>,
    /// Why it stands here.
    pub reason: QueueReason,
}

/// Every open order, in service order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceQueue {
    /// The business time the queue was computed for.
    pub at: DateTime<Utc>,
    /// The orders, first served first.
    pub entries: Vec<QueueEntry>,
}

/// An open order with its sort key, borrowed from the read models.
#[derive(Debug)]
pub(crate) struct Ranked<'a> {
    pub(crate) customer: &'a CustomerId,
    pub(crate) order: &'a Order,
    pub(crate) reason: QueueReason,
}

impl Ranked<'_> {
    fn key_cmp(&self, other: &Self) -> Ordering {
        let a = &self.reason;
        let b = &other.reason;
        a.tier
            .cmp(&b.tier)
            .then(a.priority.cmp(&b.priority))
            .then(
                a.average_days_late
                    .unwrap_or_default()
                    .cmp(&b.average_days_late.unwrap_or_default()),
            )
            .then(a.deferral_days.cmp(&b.deferral_days))
            .then(
                self.order
                    .requested_delivery
                    .cmp(&other.order.requested_delivery),
            )
            .then(self.order.placed_at.cmp(&other.order.placed_at))
            .then(self.customer.cmp(other.customer))
            .then(self.order.id.cmp(&other.order.id))
    }
}

impl Projections {
    /// Every open order ranked at business time `now`, borrowed.
    pub(crate) fn ranked(&self, now: DateTime<Utc>) -> Vec<Ranked<'_>> {
        let today = self.config.calendar.local_date(now);
        let mut ranked = Vec::with_capacity(self.open_order_count());
        for (stream, orders) in &self.open_orders {
            let Some(entry) = self.customers.get(stream) else {
                continue;
            };
            let Some(customer) = CustomerFacts::of(entry, today, self.config.no_debt) else {
                continue;
            };
            for id in orders {
                let Some(order) = entry.account.order(id) else {
                    continue;
                };
                let fulfilment = order.fulfilment.unwrap_or(customer.fulfilment);
                let tier = match (order.verdict, fulfilment) {
                    (Some(Verdict::Refuse), _) | (_, FulfilmentMode::Refused) => {
                        ServiceTier::Refused
                    }
                    (Some(Verdict::Hold), _) | (_, FulfilmentMode::Deferred) => ServiceTier::Held,
                    (_, FulfilmentMode::Residual) => ServiceTier::Residual,
                    _ => customer.tier,
                };
                ranked.push(Ranked {
                    customer: customer.id,
                    order,
                    reason: QueueReason {
                        tier,
                        priority: customer.priority,
                        average_days_late: customer.average_days_late,
                        deferral_days: customer.deferral_days,
                        overdue_debt: customer.overdue_debt,
                        debt: customer.debt,
                        max_days_past_due: customer.max_days_past_due,
                        fulfilment,
                    },
                });
            }
        }
        ranked.sort_unstable_by(Ranked::key_cmp);
        ranked
    }

    /// The service queue at business time `now`: every open order across
    /// customers in service order (see the [module docs](crate::queue)).
    ///
    /// Cost: one pass over the open orders and a sort; no history replay.
    pub fn service_queue(&self, now: DateTime<Utc>) -> ServiceQueue {
        let entries = self
            .ranked(now)
            .into_iter()
            .enumerate()
            .map(|(index, r)| QueueEntry {
                position: index + 1,
                customer: r.customer.clone(),
                order: r.order.id.clone(),
                requested_delivery: r.order.requested_delivery,
                urgency: r.order.urgency,
                placed_at: r.order.placed_at,
                open_lines: r
                    .order
                    .lines
                    .iter()
                    .filter(|l| l.open_quantity() > Decimal::ZERO)
                    .map(|l| (l.item.clone(), l.open_quantity()))
                    .collect(),
                reason: r.reason,
            })
            .collect();
        ServiceQueue { at: now, entries }
    }
}

/// What the queue needs to know about a customer, computed once per query.
struct CustomerFacts<'a> {
    id: &'a CustomerId,
    tier: ServiceTier,
    priority: Priority,
    fulfilment: FulfilmentMode,
    average_days_late: Option<Decimal>,
    deferral_days: u16,
    overdue_debt: Decimal,
    debt: Decimal,
    max_days_past_due: u32,
}

impl<'a> CustomerFacts<'a> {
    fn of(entry: &'a CustomerEntry, today: chrono::NaiveDate, test: NoDebtTest) -> Option<Self> {
        let account = &entry.account;
        let profile = account.profile()?;
        let oldest = account.open_receivables().next();
        let max_days_past_due = oldest
            .map(|r| r.days_past_due(today))
            .filter(|d| *d > 0)
            .map_or(0, |d| u32::try_from(d).unwrap_or(u32::MAX));
        let overdue_debt = if max_days_past_due > 0 {
            account.overdue_debt(today).amount()
        } else {
            Decimal::ZERO
        };
        let debt = account.debt().amount();
        let has_debt = match test {
            NoDebtTest::NoOverdueDebt => overdue_debt > Decimal::ZERO,
            NoDebtTest::NothingOwed => debt > Decimal::ZERO,
        };
        let standing = account.standing();
        Some(Self {
            id: &profile.customer,
            tier: if has_debt {
                ServiceTier::Debt
            } else {
                ServiceTier::NoDebt
            },
            priority: standing.map_or(Priority::NORMAL, |s| s.priority),
            fulfilment: standing.map_or(FulfilmentMode::Full, |s| s.fulfilment),
            average_days_late: entry.behaviour.average_days_late(),
            deferral_days: profile.terms.deferral.days,
            overdue_debt,
            debt,
            max_days_past_due,
        })
    }
}
