//! [`Projections`]: every customer's account plus the indexes and statistics
//! the cross-customer read models need, updated one event at a time.

use std::collections::BTreeMap;

use credence_aggregates::CustomerAccount;
use credence_events::{
    CustomerId, Event, EventEnvelope, EventId, GlobalPosition, ItemId, ManagerId, OrderId,
    ReceivableId, Recipient, ReminderKind, StreamId,
};
use serde::{Deserialize, Serialize};

use crate::config::ProjectionConfig;
use crate::error::ProjectionError;
use crate::projection::{Applied, Projection, check_position};
use crate::stats::{ManagerStatistics, PaymentBehaviour};

/// The read models of every customer, fed from the global log.
///
/// Per event it folds the customer's [`CustomerAccount`] (the aggregate's
/// own fold: allocation, debt and exposure are never re-implemented here),
/// keeps the index of open orders, the payment-behaviour statistics and the
/// change notices not yet sent. Queries that depend on the time
/// ([`customer_state`](Projections::customer_state),
/// [`service_queue`](Projections::service_queue),
/// [`allocate`](Projections::allocate),
/// [`reminder_worklist`](Projections::reminder_worklist),
/// [`manager_worklist`](Projections::manager_worklist)) take `now` as an
/// argument and read that state; none of them replays history.
///
/// `Projections` is serialisable: persist it with its
/// [checkpoint](Projection::checkpoint) and feed it the log from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projections {
    pub(crate) config: ProjectionConfig,
    pub(crate) checkpoint: GlobalPosition,
    /// Boxed: a std `BTreeMap` node holds 11 entries in place and is
    /// often half full, so an entry held by value would cost about twice
    /// its size.
    pub(crate) customers: BTreeMap<StreamId, Box<CustomerEntry>>,
    /// Open orders by stream with their open lines as (item number, open
    /// quantity): what the service queue and the allocation walk.
    pub(crate) open_orders: BTreeMap<StreamId, OpenOrders>,
    /// Item numbers: every item ever ordered, numbered in order of first
    /// appearance, so allocation compares numbers, not strings.
    pub(crate) items: BTreeMap<ItemId, u32>,
    /// Items by number.
    pub(crate) item_names: Vec<ItemId>,
    pub(crate) managers: BTreeMap<ManagerId, ManagerStatistics>,
}

/// What the service queue needs of an open order, kept beside the account
/// so that the queue never looks orders up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OpenOrder {
    pub(crate) lines: Vec<OpenLine>,
    pub(crate) requested_delivery: chrono::DateTime<chrono::Utc>,
    pub(crate) placed_at: chrono::DateTime<chrono::Utc>,
    pub(crate) urgency: credence_events::Urgency,
    pub(crate) verdict: Option<credence_events::Verdict>,
    pub(crate) fulfilment: Option<credence_events::FulfilmentMode>,
}

/// One customer's open orders by id: a sorted vector that grows one entry
/// at a time (a customer has a few open orders; a std `BTreeMap` would take
/// an 11-slot node for the first). Serializes as a map, as the `BTreeMap`
/// it replaces did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OpenOrders(Vec<(OrderId, OpenOrder)>);

impl OpenOrders {
    /// Sets the summary of `order`.
    pub(crate) fn insert(&mut self, order: OrderId, summary: OpenOrder) {
        match self.0.binary_search_by(|(id, _)| id.cmp(&order)) {
            Ok(i) => self.0[i].1 = summary,
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (order, summary));
            }
        }
    }

    /// Forgets `order`.
    pub(crate) fn remove(&mut self, order: &OrderId) {
        if let Ok(i) = self.0.binary_search_by(|(id, _)| id.cmp(order)) {
            self.0.remove(i);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The open orders by id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OrderId, &OpenOrder)> {
        self.0.iter().map(|(id, order)| (id, order))
    }
}

impl Serialize for OpenOrders {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for OpenOrders {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<OrderId, OpenOrder>::deserialize(deserializer)?;
        Ok(Self(map.into_iter().collect()))
    }
}

/// An open order line: the item's number and the quantity still to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OpenLine {
    pub(crate) item: u32,
    pub(crate) open: rust_decimal::Decimal,
}

/// One customer's share of the read models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CustomerEntry {
    pub(crate) account: CustomerAccount,
    pub(crate) behaviour: PaymentBehaviour,
    /// Change decisions the customer has not been told about yet, by the
    /// reminder kind that tells it, with the deciding event.
    pub(crate) notices: BTreeMap<ReminderKind, EventId>,
}

impl Projections {
    /// Empty read models.
    pub fn new(config: ProjectionConfig) -> Self {
        Self {
            config,
            checkpoint: GlobalPosition::START,
            customers: BTreeMap::new(),
            open_orders: BTreeMap::new(),
            items: BTreeMap::new(),
            item_names: Vec::new(),
            managers: BTreeMap::new(),
        }
    }

    /// Read models built from a whole log, from position 1.
    ///
    /// # Errors
    ///
    /// The first [`ProjectionError`] (a gap in the log, say).
    pub fn rebuild<'a>(
        config: ProjectionConfig,
        events: impl IntoIterator<Item = &'a EventEnvelope>,
    ) -> Result<Self, ProjectionError> {
        let mut projections = Self::new(config);
        projections.catch_up(events)?;
        Ok(projections)
    }

    /// The configuration.
    pub fn config(&self) -> &ProjectionConfig {
        &self.config
    }

    /// One customer's account as folded so far.
    pub fn account(&self, customer: &CustomerId) -> Option<&CustomerAccount> {
        self.customers
            .get(&StreamId::for_customer(customer))
            .map(|entry| &entry.account)
    }

    /// Every customer's account, by stream.
    pub fn accounts(&self) -> impl Iterator<Item = &CustomerAccount> {
        self.customers.values().map(|entry| &entry.account)
    }

    /// How many customers (streams) were seen.
    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    /// How many orders are open across all customers.
    pub fn open_order_count(&self) -> usize {
        self.open_orders.values().map(OpenOrders::len).sum()
    }

    /// One customer's payment behaviour and delay reasons.
    pub fn payment_behaviour(&self, customer: &CustomerId) -> Option<&PaymentBehaviour> {
        self.customers
            .get(&StreamId::for_customer(customer))
            .map(|entry| &entry.behaviour)
    }

    /// Delay reasons and promise reliability per manager.
    pub fn manager_statistics(&self) -> &BTreeMap<ManagerId, ManagerStatistics> {
        &self.managers
    }

    /// Payment behaviour over all customers: the histograms and counts
    /// summed.
    pub fn overall_behaviour(&self) -> PaymentBehaviour {
        let mut all = PaymentBehaviour::default();
        for entry in self.customers.values() {
            let b = &entry.behaviour;
            all.paid_receivables += b.paid_receivables;
            all.days_late_total = all.days_late_total.saturating_add(b.days_late_total);
            all.paid_late += b.paid_late;
            all.reversals += b.reversals;
            all.promises.kept += b.promises.kept;
            all.promises.broken += b.promises.broken;
            for (days, n) in &b.days_late {
                all.days_late.add(*days, *n);
            }
            for (days, n) in &b.days_to_pay {
                all.days_to_pay.add(*days, *n);
            }
            for (reason, n) in &b.delay_reasons {
                *all.delay_reasons.entry(reason.clone()).or_default() += n;
            }
        }
        all
    }

    fn apply_unchecked(&mut self, envelope: &EventEnvelope) {
        let entry = self
            .customers
            .entry(envelope.stream.clone())
            .or_insert_with(|| {
                Box::new(CustomerEntry {
                    account: CustomerAccount::new(),
                    behaviour: PaymentBehaviour::default(),
                    notices: BTreeMap::new(),
                })
            });

        // What the event may close: remember which of them are open now.
        let touched: Vec<ReceivableId> = match &envelope.event {
            Event::PaymentReceived(e) => {
                e.allocations.iter().map(|a| a.receivable.clone()).collect()
            }
            Event::DeliveryRecorded(e) => vec![e.receivable.clone()],
            _ => Vec::new(),
        };
        let was_open: Vec<bool> = touched
            .iter()
            .map(|id| entry.account.receivable(id).is_none_or(|r| r.is_open()))
            .collect();
        let priority_before = entry
            .account
            .standing()
            .map_or(credence_events::Priority::NORMAL, |s| s.priority);

        entry.account.apply(envelope);

        for (id, was_open) in touched.iter().zip(was_open) {
            if let Some(r) = entry.account.receivable(id) {
                if let (true, Some(closed_on)) = (was_open, r.closed_on) {
                    if !r.is_open() && r.amount > rust_decimal::Decimal::ZERO {
                        entry.behaviour.record_closing(
                            (closed_on - r.issued_on).num_days(),
                            (closed_on - r.due_date).num_days(),
                        );
                    }
                }
            }
        }

        let manager = entry.account.profile().map(|p| p.manager.clone());
        match &envelope.event {
            Event::PaymentReversed(_) => entry.behaviour.reversals += 1,
            Event::DelayExplained(e) => {
                *entry
                    .behaviour
                    .delay_reasons
                    .entry(e.reason.clone())
                    .or_default() += 1;
                *self
                    .managers
                    .entry(e.manager.clone())
                    .or_default()
                    .delay_reasons
                    .entry(e.reason.clone())
                    .or_default() += 1;
            }
            Event::PromiseToPayKept(_) => {
                entry.behaviour.promises.kept += 1;
                if let Some(m) = manager {
                    self.managers.entry(m).or_default().promises.kept += 1;
                }
            }
            Event::PromiseToPayBroken(_) => {
                entry.behaviour.promises.broken += 1;
                if let Some(m) = manager {
                    self.managers.entry(m).or_default().promises.broken += 1;
                }
            }
            Event::PriceAdjustmentChanged(e) if e.from != e.to => {
                entry.notices.insert(ReminderKind::PriceChange, envelope.id);
            }
            Event::PriorityChanged(e) if e.from != e.to => {
                entry
                    .notices
                    .insert(ReminderKind::PriorityChange, envelope.id);
            }
            Event::CreditDecided(e) if priority_before != e.priority => {
                entry
                    .notices
                    .insert(ReminderKind::PriorityChange, envelope.id);
            }
            Event::ReminderSent(e) if e.recipient == Recipient::Customer => {
                entry.notices.remove(&e.kind);
            }
            _ => {}
        }

        // Keep the open-order index in step with the orders the event touched.
        let order = match &envelope.event {
            Event::OrderPlaced(e) => Some(&e.order),
            Event::OrderCancelled(e) => Some(&e.order),
            Event::DeliveryRecorded(e) => Some(&e.order),
            Event::CreditDecided(e) => e.order.as_ref(),
            _ => None,
        };
        if let Some(order) = order {
            let open = entry
                .account
                .order(order)
                .filter(|o| o.status == credence_aggregates::OrderStatus::Open);
            if let Some(open) = open {
                let lines = open
                    .lines
                    .iter()
                    .filter(|l| l.open_quantity() > rust_decimal::Decimal::ZERO)
                    .map(|l| {
                        let number = match self.items.get(&l.item) {
                            Some(number) => *number,
                            None => {
                                let number =
                                    u32::try_from(self.item_names.len()).unwrap_or(u32::MAX);
                                self.items.insert(l.item.clone(), number);
                                self.item_names.push(l.item.clone());
                                number
                            }
                        };
                        OpenLine {
                            item: number,
                            open: l.open_quantity(),
                        }
                    })
                    .collect();
                let summary = OpenOrder {
                    lines,
                    requested_delivery: open.requested_delivery,
                    placed_at: open.placed_at,
                    urgency: open.urgency,
                    verdict: open.verdict,
                    fulfilment: open.fulfilment,
                };
                self.open_orders
                    .entry(envelope.stream.clone())
                    .or_default()
                    .insert(order.clone(), summary);
            } else if let Some(orders) = self.open_orders.get_mut(&envelope.stream) {
                orders.remove(order);
                if orders.is_empty() {
                    self.open_orders.remove(&envelope.stream);
                }
            }
        }
        self.checkpoint = envelope.position;
    }
}

impl Projection for Projections {
    fn apply(&mut self, event: &EventEnvelope) -> Result<Applied, ProjectionError> {
        if !check_position(self.checkpoint, event)? {
            return Ok(Applied::AlreadyApplied);
        }
        if let Some(entry) = self.customers.get(&event.stream) {
            check_stream(&entry.account, event)?;
        } else {
            check_stream(&CustomerAccount::new(), event)?;
        }
        self.apply_unchecked(event);
        Ok(Applied::Applied)
    }

    fn checkpoint(&self) -> GlobalPosition {
        self.checkpoint
    }
}

/// Checks that `event` is the next of the stream `account` was folded from.
pub(crate) fn check_stream(
    account: &CustomerAccount,
    event: &EventEnvelope,
) -> Result<(), ProjectionError> {
    if event.version != account.version().next() {
        return Err(ProjectionError::StreamVersionGap {
            stream: event.stream.clone(),
            at: account.version(),
            got: event.version,
        });
    }
    if account
        .last_recorded_at()
        .is_some_and(|last| event.recorded_at < last)
    {
        return Err(ProjectionError::RecordedTimeWentBackwards {
            stream: event.stream.clone(),
            version: event.version,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use credence_events::{OrderId, Urgency};
    use rust_decimal::Decimal;

    use super::{OpenLine, OpenOrder, OpenOrders};

    fn summary(open: i64) -> OpenOrder {
        let at = Utc.with_ymd_and_hms(2026, 11, 6, 10, 0, 0).unwrap();
        OpenOrder {
            lines: vec![OpenLine {
                item: 0,
                open: Decimal::from(open),
            }],
            requested_delivery: at,
            placed_at: at,
            urgency: Urgency::Normal,
            verdict: None,
            fulfilment: None,
        }
    }

    /// Inserts, replacements and removals keep the orders as a `BTreeMap`
    /// would, in order, and the JSON is the map's.
    #[test]
    fn open_orders_behave_like_a_btreemap() {
        let mut orders = OpenOrders::default();
        let mut model = BTreeMap::new();
        for (k, id) in ["O-2", "O-10", "O-1", "O-2", "O-3", "O-10"]
            .iter()
            .enumerate()
        {
            let id = OrderId::new(*id).unwrap();
            let k = i64::try_from(k).unwrap();
            orders.insert(id.clone(), summary(k));
            model.insert(id, summary(k));
        }
        for gone in ["O-3", "O-9"] {
            let gone = OrderId::new(gone).unwrap();
            orders.remove(&gone);
            model.remove(&gone);
        }
        assert_eq!(orders.len(), model.len());
        assert!(!orders.is_empty());
        assert!(orders.iter().eq(model.iter()));
        let json = serde_json::to_string(&orders).unwrap();
        assert_eq!(json, serde_json::to_string(&model).unwrap());
        let back: OpenOrders = serde_json::from_str(&json).unwrap();
        assert_eq!(back, orders);
    }
}
