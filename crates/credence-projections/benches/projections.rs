//! Criterion benchmarks of the read models: the service queue and scarce
//! stock allocation over many open orders, and as-of queries on long
//! streams.
//!
//! Run with: `cargo bench -p credence-projections --bench projections`.
//! `CREDENCE_BENCH_QUICK=1` shrinks sizes and measurement times so that a
//! smoke run takes seconds.
//!
//! Workloads:
//!
//! * `service_queue/N` and `allocate/N`: N open orders (1–3 lines over 50
//!   items) of N/5 customers; every third customer has an overdue
//!   receivable, every seventh is in residual or partial mode; stock covers
//!   about half the demand. Throughput: open orders.
//! * `apply/N`: building the read models from the N-order log. Throughput:
//!   events.
//! * `as_of/business/N` and `as_of/known_at/N`: one customer's stream of N
//!   events (order, delivery, payment cycles; every tenth payment recorded
//!   two days after its value date), queried at a time in the middle of the
//!   stream, reading the events to fold from an in-memory source.
//!   Throughput: one query.

#![allow(missing_docs, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use credence_aggregates::{
    Command, CustomerAccount, PlaceOrder, ReceivePayment, RecordDelivery, RegisterCustomer,
    RequestedLine,
};
use credence_events::{
    BusinessCalendar, Currency, CustomerId, DecisionId, Deferral, DeliveryId, DeliveryLine, Event,
    EventEnvelope, EventId, Explanation, FulfilmentMode, FulfilmentModeChanged, GlobalPosition,
    ItemId, ManagerId, Money, NewEvent, OrderId, PaymentId, PaymentMethod, PolicyId, PolicyRef,
    Quantity, Rate, ReceivableId, RuleId, ServiceLevel, StreamId, StreamVersion, Terms, Urgency,
};
use credence_projections::{AsOf, AsOfIndex, Projection, ProjectionConfig, Projections};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;

fn quick() -> bool {
    std::env::var_os("CREDENCE_BENCH_QUICK").is_some()
}

fn configure(c: &mut Criterion) -> Criterion {
    let _ = c;
    if quick() {
        Criterion::default()
            .sample_size(10)
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
    } else {
        Criterion::default().sample_size(20)
    }
}

fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

fn money(minor: i64) -> Money {
    Money::new(Decimal::new(minor, 2), eur()).unwrap()
}

/// Builds a global log by running commands against each customer's account.
struct Builder {
    calendar: BusinessCalendar,
    accounts: BTreeMap<CustomerId, CustomerAccount>,
    events: Vec<EventEnvelope>,
}

impl Builder {
    fn new() -> Self {
        Self {
            calendar: BusinessCalendar::default(),
            accounts: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn run(&mut self, now: DateTime<Utc>, command: impl Into<Command>) {
        let command = command.into();
        let customer = command.customer().clone();
        let account = self.accounts.entry(customer.clone()).or_default();
        let events = account
            .decide(&command, now, &self.calendar)
            .unwrap_or_else(|r| panic!("{} rejected: {r}", command.name()));
        let occurred_at = command.occurred_at(now);
        for event in events {
            Self::push(
                &mut self.events,
                account,
                &customer,
                now,
                occurred_at,
                event,
            );
        }
    }

    fn record(&mut self, now: DateTime<Utc>, customer: &CustomerId, event: Event) {
        let account = self.accounts.entry(customer.clone()).or_default();
        Self::push(&mut self.events, account, customer, now, now, event);
    }

    fn push(
        events: &mut Vec<EventEnvelope>,
        account: &mut CustomerAccount,
        customer: &CustomerId,
        now: DateTime<Utc>,
        occurred_at: DateTime<Utc>,
        event: Event,
    ) {
        let position = GlobalPosition(events.len() as u64 + 1);
        let mut new = NewEvent::new(EventId::from_u128(position.0.into()), now, event);
        new.occurred_at = occurred_at;
        let envelope = new.into_envelope(
            StreamId::for_customer(customer),
            StreamVersion(account.version().0 + 1),
            position,
        );
        account.apply(&envelope);
        events.push(envelope);
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

fn register(customer: &CustomerId, deferral: u16) -> RegisterCustomer {
    RegisterCustomer {
        customer: customer.clone(),
        name: customer.to_string(),
        manager: ManagerId::new(format!("m-{}", customer.as_str().len() % 7)).unwrap(),
        currency: eur(),
        tags: Default::default(),
        terms: Terms {
            credit_limit: money(100_000_000),
            deferral: Deferral::calendar(deferral),
            base_discount: Rate::ZERO,
            markup: Rate::ZERO,
            bonus: Rate::ZERO,
            service_level: ServiceLevel::Standard,
        },
    }
}

fn item(i: usize) -> ItemId {
    ItemId::new(format!("item-{i}")).unwrap()
}

/// `orders` open orders over `orders / 5` customers, and the stock.
fn open_orders(orders: usize) -> (Vec<EventEnvelope>, BTreeMap<ItemId, Decimal>) {
    let mut b = Builder::new();
    let customers = (orders / 5).max(1);
    let t0 = start();
    let mut demand: BTreeMap<ItemId, Decimal> = BTreeMap::new();
    for c in 0..customers {
        let id = CustomerId::new(format!("c-{c}")).unwrap();
        b.run(t0, register(&id, (c % 4 * 7) as u16));
        if c % 3 == 0 {
            // A receivable due 14 days later, never paid: overdue at query time.
            let order = OrderId::new(format!("old-{c}")).unwrap();
            b.run(
                t0,
                PlaceOrder {
                    customer: id.clone(),
                    order: order.clone(),
                    lines: vec![RequestedLine {
                        item: item(0),
                        quantity: Quantity::units(1).unwrap(),
                        unit_price: money(1000),
                    }],
                    requested_delivery: t0,
                    urgency: Urgency::Normal,
                },
            );
            b.run(
                t0,
                RecordDelivery {
                    customer: id.clone(),
                    delivery: DeliveryId::new(format!("d-{c}")).unwrap(),
                    order,
                    lines: vec![DeliveryLine {
                        item: item(0),
                        quantity: Quantity::units(1).unwrap(),
                    }],
                    receivable: Some(ReceivableId::new(format!("r-{c}")).unwrap()),
                    occurred_at: None,
                },
            );
        }
        if c % 7 == 0 {
            let to = if c % 14 == 0 {
                FulfilmentMode::Residual
            } else {
                FulfilmentMode::Partial
            };
            b.record(t0, &id, decision(&format!("dec-{c}"), to, t0));
        }
    }
    let t1 = t0 + Span::days(30);
    for o in 0..orders {
        let c = o % customers;
        let id = CustomerId::new(format!("c-{c}")).unwrap();
        let lines: Vec<RequestedLine> = (0..=o % 3)
            .map(|l| {
                let it = item((o * 7 + l * 13) % 50);
                let quantity = 1 + (o % 5) as u32;
                *demand.entry(it.clone()).or_default() += Decimal::from(quantity);
                RequestedLine {
                    item: it,
                    quantity: Quantity::units(quantity).unwrap(),
                    unit_price: money(2500),
                }
            })
            .collect();
        let mut lines = lines;
        lines.sort_by(|a, b| a.item.cmp(&b.item));
        lines.dedup_by(|a, b| a.item == b.item);
        b.run(
            t1,
            PlaceOrder {
                customer: id,
                order: OrderId::new(format!("o-{o}")).unwrap(),
                lines,
                requested_delivery: t1 + Span::minutes((o % 600) as i64),
                urgency: Urgency::Normal,
            },
        );
    }
    let stock = demand
        .into_iter()
        .map(|(i, q)| (i, (q / Decimal::TWO).floor()))
        .collect();
    (b.events, stock)
}

fn decision(id: &str, to: FulfilmentMode, at: DateTime<Utc>) -> Event {
    FulfilmentModeChanged {
        decision: DecisionId::new(id).unwrap(),
        from: FulfilmentMode::Full,
        to,
        explanation: Explanation {
            policy: PolicyRef {
                id: PolicyId::new("bench").unwrap(),
                version: 1,
                hash: "0".repeat(64),
            },
            rule: RuleId::new("bench").unwrap(),
            evaluated_at: at,
            conditions: Vec::new(),
            summary: String::new(),
        },
    }
    .into()
}

/// One customer's stream of about `events` events.
fn long_stream(events: usize) -> (Vec<EventEnvelope>, DateTime<Utc>, DateTime<Utc>) {
    let mut b = Builder::new();
    let id = CustomerId::new("long").unwrap();
    let t0 = start();
    b.run(t0, register(&id, 7));
    let mut now = t0;
    let mut cycle = 0usize;
    while b.events.len() + 3 <= events.max(4) {
        now += Span::hours(2);
        let order = OrderId::new(format!("o-{cycle}")).unwrap();
        b.run(
            now,
            PlaceOrder {
                customer: id.clone(),
                order: order.clone(),
                lines: vec![RequestedLine {
                    item: item(cycle % 50),
                    quantity: Quantity::units(1).unwrap(),
                    unit_price: money(10_000),
                }],
                requested_delivery: now,
                urgency: Urgency::Normal,
            },
        );
        b.run(
            now,
            RecordDelivery {
                customer: id.clone(),
                delivery: DeliveryId::new(format!("d-{cycle}")).unwrap(),
                order,
                lines: vec![DeliveryLine {
                    item: item(cycle % 50),
                    quantity: Quantity::units(1).unwrap(),
                }],
                receivable: Some(ReceivableId::new(format!("r-{cycle}")).unwrap()),
                occurred_at: None,
            },
        );
        // Paid a week later; every tenth payment recorded two days late.
        if cycle >= 84 {
            let paid = now - Span::days(7) + Span::hours(1);
            let occurred_at = (cycle % 10 == 0).then(|| paid - Span::days(2));
            b.run(
                now,
                ReceivePayment {
                    customer: id.clone(),
                    payment: PaymentId::new(format!("p-{cycle}")).unwrap(),
                    amount: money(10_000),
                    method: PaymentMethod::BankTransfer,
                    allocations: Vec::new(),
                    payment_order: None,
                    occurred_at: occurred_at.filter(|t| *t >= paid - Span::days(2)),
                },
            );
        }
        cycle += 1;
    }
    let middle = b.events[b.events.len() / 2].recorded_at;
    (b.events, middle, middle - Span::days(1))
}

fn sizes(full: &[usize], quick_sizes: &[usize]) -> Vec<usize> {
    if quick() {
        quick_sizes.to_vec()
    } else {
        full.to_vec()
    }
}

fn queue_and_allocation(c: &mut Criterion) {
    let mut apply = c.benchmark_group("apply");
    let mut built = Vec::new();
    for n in sizes(&[1_000, 10_000, 100_000], &[1_000]) {
        let (events, stock) = open_orders(n);
        apply.throughput(Throughput::Elements(events.len() as u64));
        apply.bench_with_input(BenchmarkId::from_parameter(n), &events, |b, events| {
            b.iter(|| Projections::rebuild(ProjectionConfig::default(), black_box(events)).unwrap())
        });
        let read = Projections::rebuild(ProjectionConfig::default(), &events).unwrap();
        assert_eq!(read.open_order_count(), n);
        built.push((n, read, stock));
    }
    apply.finish();

    let now = start() + Span::days(31);
    let mut queue = c.benchmark_group("service_queue");
    for (n, read, _) in &built {
        queue.throughput(Throughput::Elements(*n as u64));
        queue.bench_with_input(BenchmarkId::from_parameter(n), read, |b, read| {
            b.iter(|| read.service_queue(black_box(now)))
        });
    }
    queue.finish();

    let mut allocate = c.benchmark_group("allocate");
    for (n, read, stock) in &built {
        allocate.throughput(Throughput::Elements(*n as u64));
        allocate.bench_with_input(BenchmarkId::from_parameter(n), stock, |b, stock| {
            b.iter(|| read.allocate(black_box(stock), now).unwrap())
        });
    }
    allocate.finish();
}

fn as_of(c: &mut Criterion) {
    let mut group = c.benchmark_group("as_of");
    let customer = CustomerId::new("long").unwrap();
    for n in sizes(&[1_000, 10_000, 100_000], &[1_000, 10_000]) {
        let (events, business, known) = long_stream(n);
        let index = AsOfIndex::rebuild(AsOfIndex::DEFAULT_INTERVAL, &events).unwrap();
        assert_eq!(index.checkpoint(), GlobalPosition(events.len() as u64));
        let source: BTreeMap<StreamId, Vec<EventEnvelope>> =
            BTreeMap::from([(StreamId::for_customer(&customer), events.clone())]);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("business", n), &index, |b, index| {
            b.iter(|| index.state(&customer, AsOf::business(black_box(business)), &source))
        });
        group.bench_with_input(BenchmarkId::new("known_at", n), &index, |b, index| {
            b.iter(|| index.state(&customer, AsOf::known_at(black_box(known)), &source))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = configure(&mut Criterion::default());
    targets = queue_and_allocation, as_of
}
criterion_main!(benches);
