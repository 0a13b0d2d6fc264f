//! Property tests over generated multi-customer logs.
//!
//! The customer histories come from `credence-testkit`; this file only
//! merges several of them into one global log, sprinkles in policy
//! decisions (which the kit does not generate) and back-dates some payments.
//! That multi-customer strategy belongs in the testkit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use credence_aggregates::{CustomerAccount, OrderStatus};
use credence_events::{
    CreditDecided, Currency, CustomerId, DecisionId, DiscountOutcome, Event, EventEnvelope,
    EventId, Explanation, FulfilmentMode, FulfilmentModeChanged, GlobalPosition, ItemId, Money,
    OrderId, OrderLine, OrderPlaced, PolicyId, PolicyRef, Priority, PriorityChanged, Quantity,
    Rate, RuleId, StreamId, StreamVersion, Urgency, Verdict,
};
use credence_projections::{
    AllocationPass, AsOf, AsOfIndex, Projection, ProjectionConfig, Projections, ServiceTier,
};
use credence_testkit::{PlanConfig, interpret, strategy};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// A policy decision to insert into a customer's stream.
#[derive(Debug, Clone)]
enum Decision {
    Mode(FulfilmentMode),
    Priority(u8),
    /// On the latest order placed before the insertion point.
    Order(Verdict, FulfilmentMode),
}

fn mode() -> impl Strategy<Value = FulfilmentMode> {
    prop_oneof![
        Just(FulfilmentMode::Full),
        Just(FulfilmentMode::Partial),
        Just(FulfilmentMode::Residual),
        Just(FulfilmentMode::CashOnDelivery),
        Just(FulfilmentMode::Deferred),
        Just(FulfilmentMode::Refused),
    ]
}

fn decision() -> impl Strategy<Value = (u8, Decision)> {
    (
        0u8..=100,
        prop_oneof![
            mode().prop_map(Decision::Mode),
            (1u8..=5).prop_map(Decision::Priority),
            (
                prop_oneof![
                    Just(Verdict::Accept),
                    Just(Verdict::Hold),
                    Just(Verdict::Refuse)
                ],
                mode()
            )
                .prop_map(|(v, m)| Decision::Order(v, m)),
        ],
    )
}

/// Orders left open at the end of a stream: lines of (item, quantity).
type OpenOrders = Vec<Vec<(u8, u8)>>;

/// A customer's generated life: plan, decisions, payment back-dating
/// (days), orders still open at the end.
type Life = (
    credence_testkit::CustomerPlan,
    Vec<(u8, Decision)>,
    u8,
    OpenOrders,
);

fn customer_life() -> impl Strategy<Value = Life> {
    let config = PlanConfig {
        cycles: 1..=6,
        ..PlanConfig::default()
    };
    (
        strategy::plans(config),
        proptest::collection::vec(decision(), 0..=3),
        0u8..=6,
        proptest::collection::vec(proptest::collection::vec((0u8..4, 1u8..=12), 1..=3), 0..=3),
    )
}

fn explanation(at: DateTime<Utc>) -> Explanation {
    Explanation {
        policy: PolicyRef {
            id: PolicyId::new("generated").unwrap(),
            version: 1,
            hash: "0".repeat(64),
        },
        rule: RuleId::new("generated").unwrap(),
        evaluated_at: at,
        conditions: Vec::new(),
        summary: "generated".into(),
    }
}

/// One customer's stream: the kit's history plus decisions and back-dated
/// payments, versions renumbered.
fn stream(
    index: usize,
    plan: &credence_testkit::CustomerPlan,
    decisions: &[(u8, Decision)],
    backdate: u8,
    open_orders: &OpenOrders,
) -> Vec<EventEnvelope> {
    let config = PlanConfig {
        cycles: 1..=6,
        ..PlanConfig::default()
    };
    let customer = CustomerId::new(format!("C-{index}")).unwrap();
    let history = interpret(plan, customer, &config).expect("the kit makes valid histories");
    let mut events = history.events;
    let last = events.last().cloned().expect("a registered customer");
    for (n, lines) in open_orders.iter().enumerate() {
        let mut lines: Vec<OrderLine> = lines
            .iter()
            .map(|(item, quantity)| OrderLine {
                item: ItemId::new(format!("item-{item}")).unwrap(),
                quantity: Quantity::units((*quantity).into()).unwrap(),
                unit_price: Money::new(Decimal::new(1250, 2), Currency::new("EUR").unwrap())
                    .unwrap(),
            })
            .collect();
        lines.sort_by(|a, b| a.item.cmp(&b.item));
        lines.dedup_by(|a, b| a.item == b.item);
        let mut envelope = last.clone();
        envelope.id = EventId::from_u128(0x0de0_0000_0000 + (index as u128) * 100 + n as u128);
        envelope.event = OrderPlaced {
            order: OrderId::new(format!("open-{index}-{n}")).unwrap(),
            lines,
            requested_delivery: last.recorded_at + Duration::hours(n as i64),
            urgency: Urgency::Normal,
            discount: Rate::ZERO,
        }
        .into();
        events.push(envelope);
    }
    for (n, (at, decision)) in decisions.iter().enumerate() {
        let point = (usize::from(*at) * events.len() / 100).clamp(1, events.len());
        let before = &events[point - 1];
        let when = before.recorded_at;
        let id = DecisionId::new(format!("D-{index}-{n}")).unwrap();
        let event: Event = match decision {
            Decision::Mode(to) => FulfilmentModeChanged {
                decision: id,
                from: FulfilmentMode::Full,
                to: *to,
                explanation: explanation(when),
            }
            .into(),
            Decision::Priority(rank) => PriorityChanged {
                decision: id,
                from: Priority::NORMAL,
                to: Priority(*rank),
                explanation: explanation(when),
            }
            .into(),
            Decision::Order(verdict, mode) => {
                let order = events[..point].iter().rev().find_map(|e| match &e.event {
                    Event::OrderPlaced(o) => Some(o.order.clone()),
                    _ => None,
                });
                CreditDecided {
                    decision: id,
                    order,
                    verdict: *verdict,
                    fulfilment: *mode,
                    discount: DiscountOutcome::Kept,
                    priority: Priority(2),
                    explanation: explanation(when),
                }
                .into()
            }
        };
        let mut envelope = before.clone();
        envelope.event = event;
        envelope.occurred_at = when;
        envelope.id = EventId::from_u128(0xdec0_0000_0000 + (index as u128) * 100 + n as u128);
        events.insert(point, envelope);
    }
    for event in &mut events {
        if let Event::PaymentReceived(_) = event.event {
            event.occurred_at -= Duration::days(backdate.into());
        }
    }
    for (i, event) in events.iter_mut().enumerate() {
        event.version = StreamVersion(i as u64 + 1);
    }
    events
}

/// Several customers' streams merged into one global log by recorded time.
fn global_log() -> impl Strategy<Value = Vec<EventEnvelope>> {
    proptest::collection::vec(customer_life(), 1..=4).prop_map(|lives| {
        let mut all: Vec<(usize, EventEnvelope)> = lives
            .iter()
            .enumerate()
            .flat_map(|(i, (plan, decisions, backdate, open))| {
                stream(i, plan, decisions, *backdate, open)
                    .into_iter()
                    .map(move |e| (i, e))
            })
            .collect();
        all.sort_by(|(a, x), (b, y)| {
            (x.recorded_at, a, x.version).cmp(&(y.recorded_at, b, y.version))
        });
        all.into_iter()
            .enumerate()
            .map(|(n, (_, mut e))| {
                e.position = GlobalPosition(n as u64 + 1);
                e
            })
            .collect()
    })
}

fn streams(events: &[EventEnvelope]) -> BTreeMap<CustomerId, Vec<EventEnvelope>> {
    let mut by: BTreeMap<CustomerId, Vec<EventEnvelope>> = BTreeMap::new();
    for e in events {
        by.entry(CustomerId::new(e.stream.as_str()).unwrap())
            .or_default()
            .push(e.clone());
    }
    by
}

fn config() -> ProjectionConfig {
    ProjectionConfig::default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Incremental (one event at a time) equals a rebuild, and each
    /// customer's account equals the aggregate's own fold of its stream; the
    /// open-order index holds exactly the open orders.
    #[test]
    fn incremental_equals_rebuild(events in global_log()) {
        let mut incremental = Projections::new(config());
        for e in &events {
            incremental.apply(e).unwrap();
        }
        let rebuilt = Projections::rebuild(config(), &events).unwrap();
        prop_assert_eq!(&incremental, &rebuilt);
        let mut open = 0;
        for (customer, stream) in streams(&events) {
            let fold = CustomerAccount::from_history(&stream);
            open += fold.orders().values().filter(|o| o.status == OrderStatus::Open).count();
            prop_assert_eq!(rebuilt.account(&customer), Some(&fold));
        }
        prop_assert_eq!(rebuilt.open_order_count(), open);
        let now = events.last().unwrap().recorded_at;
        prop_assert_eq!(rebuilt.service_queue(now).entries.len(), open);
    }

    /// Restoring a persisted checkpoint and catching up (the whole log is
    /// re-delivered) equals a rebuild, for every split point.
    #[test]
    fn catch_up_from_any_checkpoint_equals_rebuild(
        events in global_log(),
        interval in 1usize..=8,
        max_snapshots in 2usize..=4,
    ) {
        let rebuilt = Projections::rebuild(config(), &events).unwrap();
        let mut index = AsOfIndex::with_max_snapshots(interval, max_snapshots);
        index.catch_up(&events).unwrap();
        let step = (events.len() / 12).max(1);
        for k in (0..=events.len()).step_by(step) {
            let partial = Projections::rebuild(config(), &events[..k]).unwrap();
            prop_assert_eq!(partial.checkpoint(), GlobalPosition(k as u64));
            let saved = serde_json::to_string(&partial).unwrap();
            let mut resumed: Projections = serde_json::from_str(&saved).unwrap();
            resumed.catch_up(&events).unwrap();
            prop_assert_eq!(&resumed, &rebuilt);

            let mut partial_index = AsOfIndex::with_max_snapshots(interval, max_snapshots);
            partial_index.catch_up(&events[..k]).unwrap();
            let mut partial_index = partial_index.clone();
            partial_index.catch_up(&events).unwrap();
            prop_assert_eq!(&partial_index, &index);
        }
    }

    /// As of business time t, as known at k, and both: the snapshot index
    /// gives exactly the fold of the events the definition selects.
    #[test]
    fn as_of_equals_replay_of_the_selected_events(
        events in global_log(),
        interval in 1usize..=8,
        max_snapshots in 2usize..=4,
        picks in proptest::collection::vec((any::<prop::sample::Index>(), -36i64..=36, any::<prop::sample::Index>()), 6),
    ) {
        let mut index = AsOfIndex::with_max_snapshots(interval, max_snapshots);
        index.catch_up(&events).unwrap();
        let by_customer = streams(&events);
        let source: BTreeMap<StreamId, Vec<EventEnvelope>> = by_customer
            .iter()
            .map(|(c, s)| (StreamId::for_customer(c), s.clone()))
            .collect();
        for (pick, hours, other) in picks {
            let t = pick.get(&events).occurred_at + Duration::hours(hours);
            let k = other.get(&events).recorded_at;
            for as_of in [AsOf::business(t), AsOf::known_at(k), AsOf::both(t, k)] {
                for (customer, stream) in &by_customer {
                    let expected =
                        CustomerAccount::from_history(stream.iter().filter(|e| as_of.includes(e)));
                    prop_assert_eq!(
                        index.state(customer, as_of, &source).unwrap(),
                        Some(expected),
                        "{:?}",
                        as_of
                    );
                }
            }
        }
    }

    /// The allocation plan never allocates more than stock, never serves a
    /// line while an earlier-ranked served line for the item is short, puts
    /// customers without debt ahead of customers with debt, and is
    /// deterministic.
    #[test]
    fn allocation_respects_stock_and_rank(
        events in global_log(),
        cut in any::<prop::sample::Index>(),
        stock in proptest::collection::vec(0u32..=40, 4),
        later in 0i64..=20,
    ) {
        let events = &events[..=cut.index(events.len())];
        let read = Projections::rebuild(config(), events).unwrap();
        let now = events.last().unwrap().recorded_at + Duration::days(later);
        let stock: BTreeMap<ItemId, Decimal> = stock
            .iter()
            .enumerate()
            .map(|(i, q)| (ItemId::new(format!("item-{i}")).unwrap(), Decimal::from(*q)))
            .collect();
        let plan = read.allocate(&stock, now).unwrap();

        let mut given: BTreeMap<&ItemId, Decimal> = BTreeMap::new();
        let mut short_ranked_ahead: BTreeSet<&ItemId> = BTreeSet::new();
        let mut last_regular_tier = ServiceTier::NoDebt;
        let open_lines: usize = read
            .service_queue(now)
            .entries
            .iter()
            .map(|e| e.open_lines().count())
            .sum();
        prop_assert_eq!(plan.lines.len(), open_lines);
        for line in &plan.lines {
            prop_assert!(line.allocated >= Decimal::ZERO && line.allocated <= line.open);
            // The incremental open-line index agrees with the account.
            let order = read.account(line.customer).unwrap().order(line.order).unwrap();
            prop_assert_eq!(order.line(line.item).unwrap().open_quantity(), line.open);
            if line.allocated > Decimal::ZERO {
                prop_assert!(
                    !short_ranked_ahead.contains(&line.item),
                    "{} got {} of {} while a line ranked ahead is short", line.order, line.allocated, line.item
                );
            }
            if line.reason.pass != AllocationPass::NotServed && line.short() > Decimal::ZERO {
                short_ranked_ahead.insert(line.item);
            }
            if line.reason.pass == AllocationPass::NotServed {
                prop_assert_eq!(line.allocated, Decimal::ZERO);
            }
            let tier = plan.queue.entries[line.queue_position - 1].reason.tier;
            if line.reason.pass == AllocationPass::Regular {
                prop_assert!(tier >= last_regular_tier);
                last_regular_tier = tier;
            }
            *given.entry(line.item).or_default() += line.allocated;
        }
        for (item, on_hand) in &stock {
            let allocated = given.get(item).copied().unwrap_or_default();
            prop_assert!(allocated <= *on_hand);
            prop_assert_eq!(plan.items[item].remaining, *on_hand - allocated);
            prop_assert_eq!(plan.items[item].allocated, allocated);
        }
        for item in given.keys() {
            prop_assert!(stock.contains_key(*item) || given[item].is_zero());
        }
        // Deterministic, and the same from a rebuilt copy.
        prop_assert_eq!(&read.allocate(&stock, now).unwrap(), &plan);
        let copy: Projections = serde_json::from_str(&serde_json::to_string(&read).unwrap()).unwrap();
        prop_assert_eq!(&copy.allocate(&stock, now).unwrap(), &plan);

        let queue = read.service_queue(now);
        for entry in &queue.entries {
            let order = read.account(entry.customer).unwrap().order(entry.order).unwrap();
            prop_assert_eq!(order.status, OrderStatus::Open);
            prop_assert_eq!(
                (entry.requested_delivery, entry.placed_at, entry.verdict),
                (order.requested_delivery, order.placed_at, order.verdict)
            );
            prop_assert_eq!(
                entry.reason.fulfilment,
                order.fulfilment.unwrap_or_else(|| read
                    .account(entry.customer)
                    .unwrap()
                    .standing()
                    .map_or(FulfilmentMode::Full, |s| s.fulfilment))
            );
        }
        let positions: Vec<usize> = queue.entries.iter().map(|e| e.position).collect();
        prop_assert_eq!(positions, (1..=queue.entries.len()).collect::<Vec<_>>());
        prop_assert!(queue.entries.windows(2).all(|w| w[0].reason.tier <= w[1].reason.tier));
    }
}
