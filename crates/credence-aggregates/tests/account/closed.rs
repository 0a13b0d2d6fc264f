//! Closed items (delivered orders, paid receivables, spent payments) are
//! kept frozen apart from the open ones: every query sees each item once,
//! wherever it is kept, and a change to a closed item brings it back.

use credence_aggregates::testing::given;
use credence_aggregates::{CustomerAccount, OrderStatus};
use credence_events::{Event, Money};
use rust_decimal::Decimal;

use crate::fixtures::*;

/// The last event of a scenario's history.
fn last(history: &[credence_events::EventEnvelope]) -> Event {
    history.last().expect("an event").event.clone()
}

#[test]
fn each_item_is_seen_once_whether_open_or_closed() {
    let scenario = given([])
        .at(at(2026, 11, 2))
        .and_then(register())
        .and_then(place("O1", &[("toner", 2, "10")]))
        .and_then(place("O2", &[("toner", 4, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 2)]))
        .and_then(deliver("D2", "O2", &[("toner", 1)]))
        .and_then(pay("P1", "20"))
        .and_then(pay("P2", "50"));
    let account = scenario.state();
    let orders: Vec<_> = account
        .orders()
        .map(|o| (o.id.to_string(), o.status))
        .collect();
    assert_eq!(
        orders,
        [
            ("O1".into(), OrderStatus::Delivered),
            ("O2".into(), OrderStatus::Open)
        ]
    );
    assert_eq!(
        account.order(&order_id("O1")).unwrap().status,
        OrderStatus::Delivered
    );
    assert!(account.has_order(&order_id("O1")) && account.has_order(&order_id("O2")));
    assert!(!account.has_order(&order_id("O3")) && account.order(&order_id("O3")).is_none());
    let receivables: Vec<_> = account
        .receivables()
        .map(|r| (r.id.to_string(), r.open))
        .collect();
    assert_eq!(
        receivables,
        [("D1".into(), Decimal::ZERO), ("D2".into(), Decimal::ZERO)]
    );
    // P1 paid D1 and is spent; P2 paid D2 and has credit left.
    let payments: Vec<_> = account
        .payments()
        .map(|p| (p.id.to_string(), p.credit_left))
        .collect();
    assert_eq!(
        payments,
        [
            ("P1".into(), Decimal::ZERO),
            ("P2".into(), Decimal::new(40, 0))
        ]
    );
    assert!(account.has_payment(&pid("P1")) && account.has_receivable(&rid("D1")));
    assert_eq!(account.payment(&pid("P1")).unwrap().allocations.len(), 1);
}

#[test]
fn a_reversal_reopens_what_was_closed() {
    let scenario = given([])
        .at(at(2026, 11, 2))
        .and_then(register())
        .and_then(place("O1", &[("toner", 2, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 2)]))
        .and_then(pay("P1", "20"));
    assert!(!scenario.state().receivable(&rid("D1")).unwrap().is_open());
    let scenario = scenario.and_then(credence_aggregates::ReversePayment {
        customer: customer(),
        payment: pid("P1"),
        reason: "bounced".into(),
    });
    let account = scenario.state();
    let d1 = account.receivable(&rid("D1")).unwrap();
    assert!(d1.is_open() && d1.open == Decimal::new(20, 0));
    assert!(account.payment(&pid("P1")).unwrap().reversed);
    assert_eq!(account.open_receivables().count(), 1);
    assert_eq!(account.debt().amount(), Decimal::new(20, 0));
    // The round trip through JSON agrees, item for item.
    let json = serde_json::to_string(&account).unwrap();
    let back: CustomerAccount = serde_json::from_str(&json).unwrap();
    assert_eq!(back, account);
}

/// `apply` is total: hand-made events that use an id again replace the
/// item, as a map's insert does, wherever the old one was kept.
#[test]
fn an_id_used_again_by_hand_made_events_leaves_one_item_the_latest() {
    let scenario = given([])
        .at(at(2026, 11, 2))
        .and_then(register())
        .and_then(place("O1", &[("toner", 2, "10")]));
    let placed = last(scenario.history());
    let scenario = scenario
        .and_then(deliver("D1", "O1", &[("toner", 2)]))
        .and_then(pay("P1", "50"));
    // P1 left credit: it is open. The same id again, spent at once.
    let Event::PaymentReceived(mut again) = last(scenario.history()) else {
        panic!("a payment")
    };
    again.amount = money("20");
    again.unallocated = Money::zero(eur());
    // O1 was delivered: it is closed. The same order placed again is open.
    let account = scenario
        .and([Event::PaymentReceived(again), placed])
        .state();
    let payments: Vec<_> = account
        .payments()
        .map(|p| (p.id.to_string(), p.credit_left))
        .collect();
    assert_eq!(payments, [("P1".into(), Decimal::ZERO)]);
    let orders: Vec<_> = account
        .orders()
        .map(|o| (o.id.to_string(), o.status))
        .collect();
    assert_eq!(orders, [("O1".into(), OrderStatus::Open)]);
    assert_eq!(account.open_orders().count(), 1);
}

#[test]
fn a_snapshot_that_lists_a_closed_order_as_open_is_refused() {
    let account = given([])
        .at(at(2026, 11, 2))
        .and_then(register())
        .and_then(place("O1", &[("toner", 2, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 2)]))
        .state();
    let mut json = serde_json::to_value(&account).unwrap();
    assert_eq!(json["open_orders"], serde_json::json!([]));
    assert_eq!(json["orders"]["O1"]["status"], "delivered");
    json["open_orders"] = serde_json::json!(["O1"]);
    let error = serde_json::from_value::<CustomerAccount>(json).unwrap_err();
    assert!(error.to_string().contains("open_orders"), "{error}");
}
