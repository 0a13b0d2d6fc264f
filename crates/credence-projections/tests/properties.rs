//! Property tests over generated multi-customer logs.
//!
//! The logs come from the testkit's portfolio strategy: several customers'
//! histories, each generated through the aggregate with the default
//! policy's real decisions (holds, refusals, residual, partial and deferred
//! service, priority changes), back-dated payments and orders left open,
//! merged into one global log as a store holds them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use credence_aggregates::{CustomerAccount, OrderStatus};
use credence_events::{
    CustomerId, EventEnvelope, FulfilmentMode, GlobalPosition, ItemId, StreamId,
};
use credence_projections::{
    AllocationPass, AsOf, AsOfIndex, Projection, ProjectionConfig, Projections, ServiceTier,
};
use credence_testkit::strategy::{self, PortfolioConfig};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Several customers' streams merged into one global log by recorded time:
/// the testkit's portfolios.
fn global_log() -> impl Strategy<Value = Vec<EventEnvelope>> {
    strategy::portfolio(PortfolioConfig::default()).prop_map(|portfolio| portfolio.log)
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
            open += fold.orders().filter(|o| o.status == OrderStatus::Open).count();
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

    /// With the default fixed spacing (no cap), the index keeps a snapshot
    /// at every multiple of the interval and answers exactly the replay of
    /// the selected events for times taken at, just before and just after
    /// each snapshot boundary (back-dated payments make stragglers).
    #[test]
    fn fixed_interval_as_of_equals_replay_around_snapshot_boundaries(
        events in global_log(),
        interval in 1usize..=6,
    ) {
        let mut index = AsOfIndex::new(interval);
        index.catch_up(&events).unwrap();
        let by_customer = streams(&events);
        let expected_snapshots: usize = by_customer.values().map(|s| s.len() / interval).sum();
        prop_assert_eq!(index.snapshot_count(), expected_snapshots);
        let source: BTreeMap<StreamId, Vec<EventEnvelope>> = by_customer
            .iter()
            .map(|(c, s)| (StreamId::for_customer(c), s.clone()))
            .collect();
        for (customer, stream) in &by_customer {
            let boundaries = (interval..=stream.len()).step_by(interval);
            for at in boundaries.flat_map(|b| [b - 1, b, b + 1]) {
                let Some(event) = stream.get(at.saturating_sub(1)) else { continue };
                let (t, k) = (event.occurred_at, event.recorded_at);
                let nudge = Duration::milliseconds(1);
                for as_of in [
                    AsOf::business(t),
                    AsOf::business(t - nudge),
                    AsOf::known_at(k),
                    AsOf::known_at(k - nudge),
                    AsOf::both(t, k),
                    AsOf::both(t + Duration::days(3), k),
                ] {
                    let expected =
                        CustomerAccount::from_history(stream.iter().filter(|e| as_of.includes(e)));
                    prop_assert_eq!(
                        index.state(customer, as_of, &source).unwrap(),
                        Some(expected),
                        "{:?} at event {}",
                        as_of,
                        at
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

/// The generated logs exercise what the properties are about: back-dated
/// payments (business order differs from recorded order), open orders over
/// several items contested by several orders, every queue tier, every
/// allocation pass and outcome, and the policy's decisions of every kind.
#[test]
fn generated_logs_exercise_every_case() {
    use credence_events::Event;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    // A fixed seed, so what is asserted does not depend on luck; as many
    // cases as the properties run.
    let cases = 48;
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let seen = std::cell::RefCell::new(BTreeMap::<String, u32>::new());
    runner
        .run(&global_log(), |events| {
            let mut found = BTreeSet::new();
            let mut latest = events[0].occurred_at;
            for e in &events {
                if e.occurred_at < latest {
                    found.insert("business order differs from recorded order".to_owned());
                }
                latest = latest.max(e.occurred_at);
                match &e.event {
                    Event::PaymentReceived(_) if e.occurred_at < e.recorded_at => {
                        found.insert("back-dated payment".to_owned());
                    }
                    Event::CreditDecided(d) => {
                        found.insert(format!("verdict {:?}", d.verdict));
                    }
                    Event::FulfilmentModeChanged(c) => {
                        found.insert(format!("mode {:?}", c.to));
                    }
                    Event::PriorityChanged(_) => {
                        found.insert("priority changed".to_owned());
                    }
                    _ => {}
                }
            }
            let read = Projections::rebuild(config(), &events).unwrap();
            let now = events.last().unwrap().recorded_at;
            let queue = read.service_queue(now);
            let mut orders_per_item: BTreeMap<&ItemId, usize> = BTreeMap::new();
            for entry in &queue.entries {
                found.insert(format!("tier {:?}", entry.reason.tier));
                if entry.open_lines().count() >= 2 {
                    found.insert("open order over several items".to_owned());
                }
                for (item, _) in entry.open_lines() {
                    *orders_per_item.entry(item).or_default() += 1;
                }
            }
            if orders_per_item.values().any(|n| *n >= 2) {
                found.insert("item wanted by several open orders".to_owned());
            }
            let stock: BTreeMap<ItemId, Decimal> = (0..4)
                .map(|i| (ItemId::new(format!("item-{i}")).unwrap(), Decimal::from(12)))
                .collect();
            for line in read.allocate(&stock, now).unwrap().lines {
                found.insert(format!("pass {:?}", line.reason.pass));
                found.insert(format!("outcome {:?}", line.reason.outcome));
            }
            let mut seen = seen.borrow_mut();
            for f in found {
                *seen.entry(f).or_default() += 1;
            }
            Ok(())
        })
        .unwrap();
    let seen = seen.into_inner();
    let mut expected: Vec<String> = [
        "business order differs from recorded order",
        "back-dated payment",
        "open order over several items",
        "item wanted by several open orders",
        "verdict Accept",
        "verdict Hold",
        "verdict Refuse",
        "mode Residual",
        "mode Partial",
        "mode Deferred",
        "mode Refused",
        "priority changed",
    ]
    .map(str::to_owned)
    .to_vec();
    for tier in [
        ServiceTier::NoDebt,
        ServiceTier::Debt,
        ServiceTier::Residual,
        ServiceTier::Held,
        ServiceTier::Refused,
    ] {
        expected.push(format!("tier {tier:?}"));
    }
    for pass in [
        AllocationPass::Regular,
        AllocationPass::Residual,
        AllocationPass::NotServed,
    ] {
        expected.push(format!("pass {pass:?}"));
    }
    for outcome in ["Full", "Partial", "Nothing", "NotServed"] {
        expected.push(format!("outcome {outcome}"));
    }
    for what in expected {
        assert!(
            seen.contains_key(&what),
            "no generated log has {what}: {seen:#?}"
        );
    }
}
