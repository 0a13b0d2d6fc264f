//! Builders for commands and events with readable defaults.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use credence_aggregates::{
    Command, PlaceOrder, ReceivePayment, RecordDelivery, RegisterCustomer, RequestedLine,
};
use credence_events::{
    Allocation, Currency, CustomerId, Deferral, DeliveryId, DeliveryLine, Event, ItemId, ManagerId,
    Money, OrderId, PaymentId, PaymentMethod, Quantity, Rate, ReceivableId, ServiceLevel, Terms,
    Urgency,
};
use rust_decimal::Decimal;

pub fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

pub fn money(amount: &str) -> Money {
    Money::new(amount.parse::<Decimal>().unwrap(), eur()).unwrap()
}

pub fn usd(amount: &str) -> Money {
    Money::new(
        amount.parse::<Decimal>().unwrap(),
        Currency::new("USD").unwrap(),
    )
    .unwrap()
}

pub fn customer() -> CustomerId {
    CustomerId::new("ACME").unwrap()
}

pub fn manager() -> ManagerId {
    ManagerId::new("olena").unwrap()
}

pub fn order_id(id: &str) -> OrderId {
    OrderId::new(id).unwrap()
}

pub fn item(id: &str) -> ItemId {
    ItemId::new(id).unwrap()
}

pub fn rid(id: &str) -> ReceivableId {
    ReceivableId::new(id).unwrap()
}

pub fn pid(id: &str) -> PaymentId {
    PaymentId::new(id).unwrap()
}

pub fn qty(n: u32) -> Quantity {
    Quantity::units(n).unwrap()
}

pub fn rate(percent: &str) -> Rate {
    Rate::percent(percent.parse().unwrap()).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// 10:00 UTC on the given day.
pub fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

pub fn terms(deferral: Deferral, discount: &str) -> Terms {
    Terms {
        credit_limit: money("10000"),
        deferral,
        base_discount: rate(discount),
        markup: Rate::ZERO,
        bonus: Rate::ZERO,
        service_level: ServiceLevel::Standard,
    }
}

pub fn register_with(terms: Terms) -> RegisterCustomer {
    RegisterCustomer {
        customer: customer(),
        name: "Acme Printing".into(),
        manager: manager(),
        currency: eur(),
        tags: ["wholesale".to_string()].into_iter().collect(),
        terms,
    }
}

/// Registered with 14 calendar days' deferral and no discount.
pub fn register() -> RegisterCustomer {
    register_with(terms(Deferral::calendar(14), "0"))
}

pub fn registered_event() -> Event {
    let c = register();
    credence_events::CustomerRegistered {
        customer: c.customer,
        name: c.name,
        manager: c.manager,
        currency: c.currency,
        tags: c.tags,
        terms: c.terms,
    }
    .into()
}

/// An order of `lines` (item, quantity, unit price).
pub fn place(order: &str, lines: &[(&str, u32, &str)]) -> PlaceOrder {
    PlaceOrder {
        customer: customer(),
        order: order_id(order),
        lines: lines
            .iter()
            .map(|(i, q, p)| RequestedLine {
                item: item(i),
                quantity: qty(*q),
                unit_price: money(p),
            })
            .collect(),
        requested_delivery: at(2026, 11, 6),
        urgency: Urgency::Normal,
    }
}

/// A delivery `id` of `lines` against `order`; the receivable has the same id.
pub fn deliver(id: &str, order: &str, lines: &[(&str, u32)]) -> RecordDelivery {
    RecordDelivery {
        customer: customer(),
        delivery: DeliveryId::new(id).unwrap(),
        order: order_id(order),
        lines: lines
            .iter()
            .map(|(i, q)| DeliveryLine {
                item: item(i),
                quantity: qty(*q),
            })
            .collect(),
        receivable: None,
        occurred_at: None,
    }
}

pub fn pay(id: &str, amount: &str) -> ReceivePayment {
    ReceivePayment {
        customer: customer(),
        payment: pid(id),
        amount: money(amount),
        method: PaymentMethod::BankTransfer,
        allocations: Vec::new(),
        payment_order: None,
        occurred_at: None,
    }
}

pub fn pay_named(id: &str, amount: &str, to: &[(&str, &str)]) -> ReceivePayment {
    ReceivePayment {
        allocations: to
            .iter()
            .map(|(r, a)| Allocation {
                receivable: rid(r),
                amount: money(a),
            })
            .collect(),
        ..pay(id, amount)
    }
}

pub fn alloc(receivable: &str, amount: &str) -> Allocation {
    Allocation {
        receivable: rid(receivable),
        amount: money(amount),
    }
}

pub fn cmd(c: impl Into<Command>) -> Command {
    c.into()
}
