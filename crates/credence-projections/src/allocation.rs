//! Scarce stock allocation: stock on hand per item shared over the open
//! orders in service order, with the reason each line got what it got.
//!
//! # The plan
//!
//! Lines are served in three passes, each in service-queue order:
//!
//! 1. **Regular**: orders of customers without debt, then with debt (tiers
//!    [`NoDebt`](ServiceTier::NoDebt) and [`Debt`](ServiceTier::Debt)), in
//!    full or cash-on-delivery mode. Each line takes `min(open, left)`.
//! 2. **Residual**: orders in residual mode, and orders in partial mode
//!    (their scarce items are withheld until everybody else is served), take
//!    what is left.
//! 3. **Not served**: orders held until payment or refused get nothing.
//!
//! So a line only gets stock when every line ranked before it for the same
//! item is served in full: a late payer never gets an item while a customer
//! without debt ranked earlier is short of it. An item missing from the
//! stock list has none on hand. The plan is a pure function of the read
//! models, the stock and `now`: the same inputs give the same plan.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credence_events::{CustomerId, FulfilmentMode, ItemId, OrderId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::queue::{ServiceQueue, ServiceTier};
use crate::read_models::{OpenLine, Projections};

/// Which pass served a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationPass {
    /// Served in service order.
    Regular,
    /// Served from what was left after the regular pass.
    Residual,
    /// Not served: held until payment or refused.
    NotServed,
}

/// What a line got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationOutcome {
    /// Everything open.
    Full,
    /// Part of it: the stock ran out at this line.
    Partial,
    /// Nothing: no stock left when its turn came.
    Nothing,
    /// Nothing: the order is held until payment or refused.
    NotServed,
}

/// Why a line got what it got (with the item's totals in
/// [`AllocationPlan::items`] and the order's place in
/// [`AllocationPlan::queue`]; [`AllocationPlan::explain`] puts them in a
/// sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationReason {
    /// The pass that served it.
    pub pass: AllocationPass,
    /// What it got.
    pub outcome: AllocationOutcome,
    /// Stock of the item left when its turn came.
    pub available: Decimal,
}

/// One order line's share of the stock, borrowing ids from the read models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllocationLine<'a> {
    /// The order's place in the service queue (1-based).
    pub queue_position: usize,
    /// The customer.
    pub customer: &'a CustomerId,
    /// The order.
    pub order: &'a OrderId,
    /// The item.
    pub item: &'a ItemId,
    /// Quantity still to deliver.
    pub open: Decimal,
    /// Quantity allocated from stock.
    pub allocated: Decimal,
    /// Why.
    pub reason: AllocationReason,
}

impl AllocationLine<'_> {
    /// What the line still lacks.
    pub fn short(&self) -> Decimal {
        self.open - self.allocated
    }
}

/// One item's totals in a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemAllocation {
    /// Stock on hand before allocation (zero for an item not in the stock).
    pub on_hand: Decimal,
    /// Open quantity over every line that is served.
    pub demand: Decimal,
    /// Allocated in total.
    pub allocated: Decimal,
    /// Left after allocation.
    pub remaining: Decimal,
}

impl ItemAllocation {
    /// True when the item is scarce: served demand exceeds the stock.
    pub fn scarce(&self) -> bool {
        self.demand > self.on_hand
    }
}

/// An allocation of stock over the open orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllocationPlan<'a> {
    /// The business time the plan was made for.
    pub at: DateTime<Utc>,
    /// The service queue the plan followed.
    pub queue: ServiceQueue<'a>,
    /// The lines in allocation order: regular pass, residual pass, then the
    /// lines not served; within each, service-queue order.
    pub lines: Vec<AllocationLine<'a>>,
    /// Totals per item: every item of the stock and every item ordered.
    pub items: BTreeMap<ItemId, ItemAllocation>,
}

impl AllocationPlan<'_> {
    /// Total allocated per item that got anything.
    pub fn allocated(&self) -> BTreeMap<ItemId, Decimal> {
        self.items
            .iter()
            .filter(|(_, a)| a.allocated > Decimal::ZERO)
            .map(|(item, a)| (item.clone(), a.allocated))
            .collect()
    }

    /// Stock left per item.
    pub fn remaining(&self) -> BTreeMap<ItemId, Decimal> {
        self.items
            .iter()
            .map(|(item, a)| (item.clone(), a.remaining))
            .collect()
    }

    /// Why `line` got what it got, in a sentence for people: "scarce: only 1
    /// left after customers ranked ahead [has debt (overdue 80.00, 2 days
    /// past due); …]".
    pub fn explain(&self, line: &AllocationLine<'_>) -> String {
        let item = self.items.get(line.item).copied().unwrap_or_default();
        let queue = line
            .queue_position
            .checked_sub(1)
            .and_then(|i| self.queue.entries.get(i))
            .map(|e| e.reason);
        let Some(queue) = queue else {
            return String::from("not in the service queue");
        };
        let reason = &line.reason;
        let head = match (reason.outcome, reason.pass) {
            (AllocationOutcome::NotServed, _) => return format!("not served: {}", queue.tier),
            (_, _) if !item.scarce() => {
                format!("stock {} covers all demand {}", item.on_hand, item.demand)
            }
            (AllocationOutcome::Full, AllocationPass::Regular) => {
                format!("served in queue order; {} left", reason.available)
            }
            (_, AllocationPass::Regular) => format!(
                "scarce: only {} left after customers ranked ahead",
                reason.available
            ),
            (_, _) if queue.fulfilment == FulfilmentMode::Partial => format!(
                "partial mode: scarce item withheld until others are served; {} left",
                reason.available
            ),
            (_, _) => format!(
                "residual mode: served from what was left ({})",
                reason.available
            ),
        };
        format!("{head} [{queue}]")
    }
}

/// Per-item quantities, indexed by the item's number in the plan.
#[derive(Debug, Clone, Copy, Default)]
struct ItemTally {
    on_hand: Decimal,
    left: Decimal,
    demand: Decimal,
}

impl Projections {
    /// Allocates `stock` (quantity on hand per item) over the open orders at
    /// business time `now` (see the [module docs](crate::allocation)).
    ///
    /// Cost: the service queue, then one pass over the open lines with one
    /// item lookup per line.
    ///
    /// # Errors
    ///
    /// [`ProjectionError::NegativeStock`] for a negative quantity.
    pub fn allocate(
        &self,
        stock: &BTreeMap<ItemId, Decimal>,
        now: DateTime<Utc>,
    ) -> Result<AllocationPlan<'_>, ProjectionError> {
        if let Some((item, quantity)) = stock.iter().find(|(_, q)| **q < Decimal::ZERO) {
            return Err(ProjectionError::NegativeStock {
                item: item.clone(),
                quantity: *quantity,
            });
        }
        let queue = self.service_queue(now);
        let mut tallies = vec![ItemTally::default(); self.item_names.len()];
        for (item, quantity) in stock {
            if let Some(number) = self.items.get(item) {
                tallies[*number as usize].on_hand = *quantity;
                tallies[*number as usize].left = *quantity;
            }
        }
        // One pass over the queue gathers the lines of each allocation pass,
        // in queue order.
        let mut by_pass: [Vec<(u32, OpenLine)>; 3] = Default::default();
        for (index, entry) in queue.entries.iter().enumerate() {
            let pass = match (entry.reason.tier, entry.reason.fulfilment) {
                (ServiceTier::Held | ServiceTier::Refused, _) => 2,
                (ServiceTier::Residual, _) | (_, FulfilmentMode::Partial) => 1,
                _ => 0,
            };
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            by_pass[pass].extend(entry.lines().iter().map(|line| (index, *line)));
        }
        let mut lines = Vec::with_capacity(by_pass.iter().map(Vec::len).sum());
        let passes = [
            AllocationPass::Regular,
            AllocationPass::Residual,
            AllocationPass::NotServed,
        ];
        for (pass, pending) in passes.into_iter().zip(by_pass) {
            for (index, line) in pending {
                let (Some(entry), Some(item), Some(tally)) = (
                    queue.entries.get(index as usize),
                    self.item_names.get(line.item as usize),
                    tallies.get_mut(line.item as usize),
                ) else {
                    continue;
                };
                let open = line.open;
                let available = tally.left;
                let (allocated, outcome) = if pass == AllocationPass::NotServed {
                    (Decimal::ZERO, AllocationOutcome::NotServed)
                } else if available >= open {
                    (open, AllocationOutcome::Full)
                } else if available > Decimal::ZERO {
                    (available, AllocationOutcome::Partial)
                } else {
                    (Decimal::ZERO, AllocationOutcome::Nothing)
                };
                if pass != AllocationPass::NotServed {
                    tally.demand += open;
                    tally.left -= allocated;
                }
                lines.push(AllocationLine {
                    queue_position: entry.position,
                    customer: entry.customer,
                    order: entry.order,
                    item,
                    open,
                    allocated,
                    reason: AllocationReason {
                        pass,
                        outcome,
                        available,
                    },
                });
            }
        }
        let mut items: BTreeMap<ItemId, ItemAllocation> = stock
            .iter()
            .map(|(item, on_hand)| {
                let tally = self.items.get(item).and_then(|n| tallies.get(*n as usize));
                (
                    item.clone(),
                    ItemAllocation {
                        on_hand: *on_hand,
                        demand: tally.map_or(Decimal::ZERO, |t| t.demand),
                        allocated: tally.map_or(Decimal::ZERO, |t| t.on_hand - t.left),
                        remaining: tally.map_or(*on_hand, |t| t.left),
                    },
                )
            })
            .collect();
        for (number, tally) in tallies.iter().enumerate() {
            if tally.demand > Decimal::ZERO {
                if let Some(item) = self.item_names.get(number) {
                    items.entry(item.clone()).or_insert(ItemAllocation {
                        on_hand: Decimal::ZERO,
                        demand: tally.demand,
                        allocated: Decimal::ZERO,
                        remaining: Decimal::ZERO,
                    });
                }
            }
        }
        Ok(AllocationPlan {
            at: now,
            queue,
            lines,
            items,
        })
    }
}
