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

use std::fmt;

use chrono::{DateTime, Utc};
use credence_events::{CustomerId, FulfilmentMode, ItemId, OrderId, Priority, Urgency, Verdict};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::config::NoDebtTest;
use crate::read_models::{CustomerEntry, OpenLine, OpenOrder, Projections};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// One open order in the queue, borrowing ids from the read models (the
/// queue of 100,000 orders is built without copying an id or looking an
/// order up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueEntry<'a> {
    /// 1-based place in the queue.
    pub position: usize,
    /// The customer.
    pub customer: &'a CustomerId,
    /// The order.
    pub order: &'a OrderId,
    /// When the customer wants it.
    pub requested_delivery: DateTime<Utc>,
    /// Business time it was placed.
    pub placed_at: DateTime<Utc>,
    /// How urgently.
    pub urgency: Urgency,
    /// The verdict a credit decision gave the order, if any.
    pub verdict: Option<Verdict>,
    /// Why it stands here.
    pub reason: QueueReason,
    #[serde(skip)]
    lines: &'a [OpenLine],
    #[serde(skip)]
    items: &'a [ItemId],
}

impl<'a> QueueEntry<'a> {
    /// The lines still to deliver: item and open quantity.
    pub fn open_lines(&self) -> impl Iterator<Item = (&'a ItemId, Decimal)> + use<'a> {
        let items = self.items;
        self.lines
            .iter()
            .filter_map(move |l| Some((items.get(l.item as usize)?, l.open)))
    }

    pub(crate) fn lines(&self) -> &'a [OpenLine] {
        self.lines
    }
}

/// Every open order, in service order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceQueue<'a> {
    /// The business time the queue was computed for.
    pub at: DateTime<Utc>,
    /// The orders, first served first.
    pub entries: Vec<QueueEntry<'a>>,
}

/// The sort key of a queue entry, packed into integers so that sorting
/// 100,000 orders compares no strings and no decimals: (tier, priority,
/// average days late in hundredths, deferral), requested delivery, placed
/// at, and the entry's rank in (customer id, order id) order.
type SortKey = (u64, i64, i64, u32);

/// The customer's part of the first key field: priority, average days late
/// and deferral.
fn customer_key(customer: &CustomerFacts<'_>) -> u64 {
    let late = customer
        .average_days_late
        .unwrap_or_default()
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|hundredths| hundredths.to_i64())
        .unwrap_or(0)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    // Offset into an unsigned 32-bit field that keeps the order.
    let late = u64::try_from(late - i64::from(i32::MIN)).unwrap_or(0);
    u64::from(customer.priority.0) << 48 | late << 16 | u64::from(customer.deferral_days)
}

impl Projections {
    /// The service queue at business time `now`: every open order across
    /// customers in service order (see the [module docs](crate::queue)).
    ///
    /// Cost: one pass over the open orders and a sort of integer keys; no
    /// history replay, no copies of ids.
    pub fn service_queue(&self, now: DateTime<Utc>) -> ServiceQueue<'_> {
        self.queue(now)
    }

    fn queue(&self, now: DateTime<Utc>) -> ServiceQueue<'_> {
        let today = self.config.calendar.local_date(now);
        let count = self.open_order_count();
        // Small records first (customer facts once per customer), the wide
        // entries only in the final, sorted pass: the gather stays in cache.
        let mut customers: Vec<CustomerFacts<'_>> = Vec::new();
        let mut unsorted: Vec<(u32, &OrderId, &OpenOrder, ServiceTier, FulfilmentMode)> =
            Vec::with_capacity(count);
        let mut keys: Vec<(SortKey, u32)> = Vec::with_capacity(count);
        // Streams and order ids are visited in (customer, order) order: the
        // sequence number is the final tie-break.
        for (stream, orders) in &self.open_orders {
            let Some(entry) = self.customers.get(stream) else {
                continue;
            };
            let Some(customer) = CustomerFacts::of(entry, today, self.config.no_debt) else {
                continue;
            };
            let base = customer_key(&customer);
            let number = u32::try_from(customers.len()).unwrap_or(u32::MAX);
            for (id, order) in orders.iter() {
                let fulfilment = order.fulfilment.unwrap_or(customer.fulfilment);
                let tier = match (order.verdict, fulfilment) {
                    (Some(Verdict::Refuse), _) | (_, FulfilmentMode::Refused) => {
                        ServiceTier::Refused
                    }
                    (Some(Verdict::Hold), _) | (_, FulfilmentMode::Deferred) => ServiceTier::Held,
                    (_, FulfilmentMode::Residual) => ServiceTier::Residual,
                    _ => customer.tier,
                };
                let sequence = u32::try_from(unsorted.len()).unwrap_or(u32::MAX);
                keys.push((
                    (
                        (tier as u64) << 56 | base,
                        order.requested_delivery.timestamp_micros(),
                        order.placed_at.timestamp_micros(),
                        sequence,
                    ),
                    sequence,
                ));
                unsorted.push((number, id, order, tier, fulfilment));
            }
            customers.push(customer);
        }
        keys.sort_unstable_by_key(|(key, _)| *key);
        let entries = keys
            .into_iter()
            .enumerate()
            .filter_map(|(position, (_, index))| {
                let (number, id, order, tier, fulfilment) = *unsorted.get(index as usize)?;
                let customer = customers.get(number as usize)?;
                Some(QueueEntry {
                    position: position + 1,
                    customer: customer.id,
                    order: id,
                    requested_delivery: order.requested_delivery,
                    placed_at: order.placed_at,
                    urgency: order.urgency,
                    verdict: order.verdict,
                    lines: &order.lines,
                    items: &self.item_names,
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
                })
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
