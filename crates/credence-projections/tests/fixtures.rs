//! A multi-customer log built from commands, stamped like a store would,
//! and builders with readable defaults.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credence_aggregates::{
    Command, CustomerAccount, PlaceOrder, ReceivePayment, RecordDelivery, RegisterCustomer,
    RequestedLine,
};
use credence_events::{
    BusinessCalendar, CustomerId, DeliveryId, DeliveryLine, Event, EventEnvelope, EventId,
    Explanation, GlobalPosition, ManagerId, NewEvent, PaymentId, PaymentMethod, PolicyId,
    PolicyRef, Quantity, RuleId, StreamId, StreamVersion, Terms, Urgency,
};

pub use credence_testkit::fixtures::{
    at, at_hour, date, dec, eur, item, money, order_id, rate, rid, terms,
};

/// The global log of several customers.
#[derive(Debug, Clone, Default)]
pub struct Log {
    calendar: BusinessCalendar,
    accounts: BTreeMap<CustomerId, CustomerAccount>,
    pub events: Vec<EventEnvelope>,
    now: DateTime<Utc>,
}

impl Log {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets business and recorded time for what follows.
    pub fn at(&mut self, now: DateTime<Utc>) -> &mut Self {
        self.now = now;
        self
    }

    /// Decides `command` against its customer's account and records the
    /// events.
    #[track_caller]
    pub fn run(&mut self, command: impl Into<Command>) -> &mut Self {
        let command = command.into();
        let customer = command.customer().clone();
        let account = self.accounts.get(&customer).cloned().unwrap_or_default();
        let events = account
            .decide(&command, self.now, &self.calendar)
            .unwrap_or_else(|r| panic!("setup command {} rejected: {r}", command.name()));
        let occurred_at = command.occurred_at(self.now);
        for event in events {
            self.push(&customer, occurred_at, event);
        }
        self
    }

    /// Records an event as is (decisions, which a policy would produce).
    pub fn record(&mut self, customer: &CustomerId, event: impl Into<Event>) -> &mut Self {
        let now = self.now;
        self.push(customer, now, event.into());
        self
    }

    fn push(&mut self, customer: &CustomerId, occurred_at: DateTime<Utc>, event: Event) {
        let account = self.accounts.entry(customer.clone()).or_default();
        let position = GlobalPosition(self.events.len() as u64 + 1);
        let mut new = NewEvent::new(EventId::from_u128(position.0.into()), self.now, event);
        new.occurred_at = occurred_at;
        let envelope = new.into_envelope(
            StreamId::for_customer(customer),
            StreamVersion(account.version().0 + 1),
            position,
        );
        account.apply(&envelope);
        self.events.push(envelope);
    }
}

pub fn customer(id: &str) -> CustomerId {
    CustomerId::new(id).unwrap()
}

pub fn manager(id: &str) -> ManagerId {
    ManagerId::new(id).unwrap()
}

pub fn register(id: &str, manager_id: &str, terms: Terms) -> RegisterCustomer {
    RegisterCustomer {
        customer: customer(id),
        name: format!("{id} Ltd"),
        manager: manager(manager_id),
        currency: eur(),
        tags: Default::default(),
        terms,
    }
}

/// An order of `lines` (item, quantity, unit price), wanted at `wanted`.
pub fn place(
    who: &str,
    order: &str,
    lines: &[(&str, u32, &str)],
    wanted: DateTime<Utc>,
) -> PlaceOrder {
    PlaceOrder {
        customer: customer(who),
        order: order_id(order),
        lines: lines
            .iter()
            .map(|(i, q, p)| RequestedLine {
                item: item(i),
                quantity: Quantity::units(*q).unwrap(),
                unit_price: money(p),
            })
            .collect(),
        requested_delivery: wanted,
        urgency: Urgency::Normal,
    }
}

/// A delivery `id` of `lines` against `order`; the receivable has the same id.
pub fn deliver(who: &str, id: &str, order: &str, lines: &[(&str, u32)]) -> RecordDelivery {
    RecordDelivery {
        customer: customer(who),
        delivery: DeliveryId::new(id).unwrap(),
        order: order_id(order),
        lines: lines
            .iter()
            .map(|(i, q)| DeliveryLine {
                item: item(i),
                quantity: Quantity::units(*q).unwrap(),
            })
            .collect(),
        receivable: Some(rid(id)),
        occurred_at: None,
    }
}

pub fn pay(who: &str, id: &str, amount: &str) -> ReceivePayment {
    ReceivePayment {
        customer: customer(who),
        payment: PaymentId::new(id).unwrap(),
        amount: money(amount),
        method: PaymentMethod::BankTransfer,
        allocations: Vec::new(),
        payment_order: None,
        occurred_at: None,
    }
}

/// The explanation a policy would attach to a decision.
pub fn explanation(rule: &str, at: DateTime<Utc>) -> Explanation {
    Explanation {
        policy: PolicyRef {
            id: PolicyId::new("default").unwrap(),
            version: 1,
            hash: "0".repeat(64),
        },
        rule: RuleId::new(rule).unwrap(),
        evaluated_at: at,
        conditions: Vec::new(),
        summary: rule.replace('-', " "),
    }
}

/// The log split into streams: an in-memory event source for as-of queries.
pub fn by_stream(events: &[EventEnvelope]) -> BTreeMap<StreamId, Vec<EventEnvelope>> {
    let mut streams: BTreeMap<StreamId, Vec<EventEnvelope>> = BTreeMap::new();
    for event in events {
        streams
            .entry(event.stream.clone())
            .or_default()
            .push(event.clone());
    }
    streams
}
