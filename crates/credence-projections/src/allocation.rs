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
use std::fmt;

use chrono::{DateTime, Utc};
use credence_events::{CustomerId, FulfilmentMode, ItemId, OrderId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::queue::{QueueReason, ServiceTier};
use crate::read_models::Projections;

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

/// Why a line got what it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationReason {
    /// The pass that served it.
    pub pass: AllocationPass,
    /// What it got.
    pub outcome: AllocationOutcome,
    /// Stock of the item left when its turn came.
    pub available: Decimal,
    /// Total open quantity of the item over every line that is served.
    pub demand: Decimal,
    /// Stock of the item on hand before allocation.
    pub on_hand: Decimal,
    /// Why its order stands where it does in the service queue.
    pub queue: QueueReason,
}

impl AllocationReason {
    /// True when the item is scarce: served demand exceeds the stock.
    pub fn scarce(&self) -> bool {
        self.demand > self.on_hand
    }
}

impl fmt::Display for AllocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.outcome, self.pass) {
            (AllocationOutcome::NotServed, _) => {
                write!(f, "not served: {}", self.queue.tier)?;
                return Ok(());
            }
            (_, _) if !self.scarce() => write!(
                f,
                "stock {} covers all demand {}",
                self.on_hand, self.demand
            )?,
            (AllocationOutcome::Full, AllocationPass::Regular) => {
                write!(f, "served in queue order; {} left", self.available)?;
            }
            (_, AllocationPass::Regular) => write!(
                f,
                "scarce: only {} left after customers ranked ahead",
                self.available
            )?,
            (_, _) if self.queue.fulfilment == FulfilmentMode::Partial => write!(
                f,
                "partial mode: scarce item withheld until others are served; {} left",
                self.available
            )?,
            (_, _) => write!(
                f,
                "residual mode: served from what was left ({})",
                self.available
            )?,
        }
        write!(f, " [{}]", self.queue)
    }
}

/// One order line's share of the stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationLine {
    /// The order's place in the service queue (1-based).
    pub queue_position: usize,
    /// The customer.
    pub customer: CustomerId,
    /// The order.
    pub order: OrderId,
    /// The item.
    pub item: ItemId,
    /// Quantity still to deliver.
    pub open: Decimal,
    /// Quantity allocated from stock.
    pub allocated: Decimal,
    /// Why.
    pub reason: AllocationReason,
}

impl AllocationLine {
    /// What the line still lacks.
    pub fn short(&self) -> Decimal {
        self.open - self.allocated
    }
}

/// An allocation of stock over the open orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationPlan {
    /// The business time the plan was made for.
    pub at: DateTime<Utc>,
    /// The lines in allocation order: regular pass, residual pass, then the
    /// lines not served; within each, service-queue order.
    pub lines: Vec<AllocationLine>,
    /// Stock left per item (every item of the stock list).
    pub remaining: BTreeMap<ItemId, Decimal>,
}

impl AllocationPlan {
    /// Total allocated per item.
    pub fn allocated(&self) -> BTreeMap<ItemId, Decimal> {
        let mut totals: BTreeMap<ItemId, Decimal> = BTreeMap::new();
        for line in &self.lines {
            if line.allocated > Decimal::ZERO {
                *totals.entry(line.item.clone()).or_default() += line.allocated;
            }
        }
        totals
    }
}

struct Pending<'a> {
    pass: AllocationPass,
    queue_position: usize,
    customer: &'a CustomerId,
    order: &'a OrderId,
    item: &'a ItemId,
    open: Decimal,
    queue: &'a QueueReason,
}

impl Projections {
    /// Allocates `stock` (quantity on hand per item) over the open orders at
    /// business time `now` (see the [module docs](crate::allocation)).
    ///
    /// # Errors
    ///
    /// [`ProjectionError::NegativeStock`] for a negative quantity.
    pub fn allocate(
        &self,
        stock: &BTreeMap<ItemId, Decimal>,
        now: DateTime<Utc>,
    ) -> Result<AllocationPlan, ProjectionError> {
        if let Some((item, quantity)) = stock.iter().find(|(_, q)| **q < Decimal::ZERO) {
            return Err(ProjectionError::NegativeStock {
                item: item.clone(),
                quantity: *quantity,
            });
        }
        let ranked = self.ranked(now);
        let mut pending = Vec::new();
        let mut demand: BTreeMap<&ItemId, Decimal> = BTreeMap::new();
        for (index, r) in ranked.iter().enumerate() {
            let pass = match (r.reason.tier, r.reason.fulfilment) {
                (ServiceTier::Held | ServiceTier::Refused, _) => AllocationPass::NotServed,
                (ServiceTier::Residual, _) | (_, FulfilmentMode::Partial) => {
                    AllocationPass::Residual
                }
                _ => AllocationPass::Regular,
            };
            for line in &r.order.lines {
                let open = line.open_quantity();
                if open <= Decimal::ZERO {
                    continue;
                }
                if pass != AllocationPass::NotServed {
                    *demand.entry(&line.item).or_default() += open;
                }
                pending.push(Pending {
                    pass,
                    queue_position: index + 1,
                    customer: r.customer,
                    order: &r.order.id,
                    item: &line.item,
                    open,
                    queue: &r.reason,
                });
            }
        }
        // Stable: keeps queue order within each pass.
        pending.sort_by_key(|p| p.pass);

        let mut left: BTreeMap<&ItemId, Decimal> = stock.iter().map(|(i, q)| (i, *q)).collect();
        let lines = pending
            .into_iter()
            .map(|p| {
                let on_hand = stock.get(p.item).copied().unwrap_or_default();
                let available = left.get(p.item).copied().unwrap_or_default();
                let (allocated, outcome) = if p.pass == AllocationPass::NotServed {
                    (Decimal::ZERO, AllocationOutcome::NotServed)
                } else if available >= p.open {
                    (p.open, AllocationOutcome::Full)
                } else if available > Decimal::ZERO {
                    (available, AllocationOutcome::Partial)
                } else {
                    (Decimal::ZERO, AllocationOutcome::Nothing)
                };
                if allocated > Decimal::ZERO {
                    if let Some(q) = left.get_mut(p.item) {
                        *q -= allocated;
                    }
                }
                AllocationLine {
                    queue_position: p.queue_position,
                    customer: p.customer.clone(),
                    order: p.order.clone(),
                    item: p.item.clone(),
                    open: p.open,
                    allocated,
                    reason: AllocationReason {
                        pass: p.pass,
                        outcome,
                        available,
                        demand: demand.get(p.item).copied().unwrap_or_default(),
                        on_hand,
                        queue: p.queue.clone(),
                    },
                }
            })
            .collect();
        Ok(AllocationPlan {
            at: now,
            lines,
            remaining: left.into_iter().map(|(i, q)| (i.clone(), q)).collect(),
        })
    }
}
