//! A cloned account shares its history with the original (persistent
//! B-trees): a change to one never shows in the other, at any size.

use credence_aggregates::CustomerAccount;
use credence_aggregates::testing::given;
use credence_events::EventEnvelope;

use crate::fixtures::*;

/// Orders, deliveries (receivables) and payments (some with credit left),
/// enough for the account's trees to have several levels.
fn history(cycles: usize) -> Vec<EventEnvelope> {
    let mut scenario = given([]).at(at(2026, 11, 2)).and_then(register());
    for c in 0..cycles {
        let order = format!("O{c}");
        scenario = scenario
            .and_then(place(&order, &[("toner", 2, "10")]))
            .and_then(deliver(&format!("D{c}"), &order, &[("toner", 2)]));
        if c % 2 == 1 {
            scenario = scenario.and_then(pay(&format!("P{c}"), "30"));
        }
    }
    scenario.history().to_vec()
}

#[test]
fn changes_after_a_clone_never_reach_the_clone() {
    let events = history(120);
    let (first, rest) = events.split_at(events.len() / 2);
    let mut live = CustomerAccount::from_history(first);
    let snapshot = live.clone();
    let saved = serde_json::to_string(&snapshot).unwrap();
    for event in rest {
        live.apply(event);
    }
    assert_eq!(snapshot, CustomerAccount::from_history(first));
    assert_eq!(serde_json::to_string(&snapshot).unwrap(), saved);
    assert_eq!(live, CustomerAccount::from_history(&events));
    assert_ne!(live, snapshot);

    // The other way round: the clone moves on, the original stays.
    let mut other = snapshot.clone();
    for event in rest {
        other.apply(event);
    }
    assert_eq!(other, live);
    assert_eq!(snapshot, CustomerAccount::from_history(first));
    assert_eq!(serde_json::to_string(&snapshot).unwrap(), saved);
}

#[test]
fn an_account_round_trips_through_json() {
    let account = CustomerAccount::from_history(&history(80));
    assert!(account.receivables().count() >= 80);
    let json = serde_json::to_string(&account).unwrap();
    let back: CustomerAccount = serde_json::from_str(&json).unwrap();
    assert_eq!(back, account);
}

/// An account that uses the rarely used parts too: credit left from an
/// overpayment, a payment order, a promise, a reminder, a delay
/// explanation.
fn history_with_every_part() -> Vec<EventEnvelope> {
    use credence_aggregates::{ExplainDelay, PromiseToPay, ReceivePaymentOrder, SendReminder};
    use credence_events::{
        PaymentOrderId, PromiseId, ReasonCode, Recipient, ReminderId, ReminderKind,
    };
    given([])
        .at(at(2026, 11, 2))
        .and_then(register())
        .and_then(place("O1", &[("toner", 2, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 2)]))
        .and_then(place("O2", &[("toner", 3, "10")]))
        .and_then(deliver("D2", "O2", &[("toner", 3)]))
        .and_then(pay("P1", "25"))
        .and_then(ReceivePaymentOrder {
            customer: customer(),
            payment_order: PaymentOrderId::new("PO1").unwrap(),
            amount: money("5"),
            expected_by: date(2026, 11, 20),
            receivables: vec![rid("D2")],
            occurred_at: None,
        })
        .and_then(PromiseToPay {
            customer: customer(),
            promise: PromiseId::new("PR1").unwrap(),
            amount: money("5"),
            promised_date: date(2026, 11, 25),
            receivables: vec![rid("D2")],
        })
        .and_then(SendReminder {
            customer: customer(),
            reminder: ReminderId::new("R1").unwrap(),
            kind: ReminderKind::Advance,
            recipient: Recipient::Customer,
            level: 0,
            receivables: vec![rid("D2")],
            message: "due soon".into(),
        })
        .and_then(ExplainDelay {
            customer: customer(),
            receivables: vec![rid("D2")],
            reason: ReasonCode::new("cash-flow").unwrap(),
            text: "waiting for a customer of theirs".into(),
            promised_date: None,
            manager: None,
        })
        .and_then(pay("P2", "40"))
        .history()
        .to_vec()
}

#[test]
fn the_serialized_form_keeps_the_flat_layout_and_round_trips() {
    let events = history_with_every_part();
    let account = CustomerAccount::from_history(&events);
    assert_eq!(account.promises().len(), 1);
    assert_eq!(account.payment_orders().len(), 1);
    assert!(account.credit_balance().amount() > rust_decimal::Decimal::ZERO);
    assert!(
        account
            .receivable(&rid("D2"))
            .is_some_and(|r| r.explanation.is_some())
    );
    let json: serde_json::Value = serde_json::to_value(&account).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The field list (and so the snapshot layout) of the earlier, flat
    // struct: every part present, in that order.
    let expected = [
        "profile",
        "version",
        "last_recorded_at",
        "orders",
        "deliveries",
        "receivables",
        "open_receivables",
        "closed_receivables",
        "open_orders",
        "payments",
        "credit_queue",
        "payment_orders",
        "promises",
        "reminders",
        "reminder_keys",
        "decisions",
        "standing",
        "debt",
        "undelivered",
        "credit",
    ];
    let mut sorted_expected = expected.to_vec();
    sorted_expected.sort_unstable();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort_unstable();
    assert_eq!(sorted_keys, sorted_expected);
    assert_eq!(json["credit_queue"].as_array().unwrap().len(), 1);
    let back: CustomerAccount = serde_json::from_value(json).unwrap();
    assert_eq!(back, account);

    // An account that never used the rare parts writes them empty and
    // reads back equal.
    let plain = CustomerAccount::from_history(&history(3));
    let json = serde_json::to_value(&plain).unwrap();
    assert_eq!(json["promises"], serde_json::json!({}));
    assert_eq!(json["credit_queue"], serde_json::json!([]));
    let back: CustomerAccount = serde_json::from_value(json).unwrap();
    assert_eq!(back, plain);
}

/// The receivable indexes are written as the sets of the earlier layout
/// (without the open amounts and days late the account keeps in them) and
/// rebuilt from the receivables on reading; an index naming a receivable
/// the snapshot does not hold is an error, not a silent gap.
#[test]
fn receivable_indexes_keep_their_shape_and_are_checked_on_reading() {
    // Before the last payment: D1 paid, D2 partly paid.
    let events = history_with_every_part();
    let last_payment = events
        .iter()
        .rposition(|e| matches!(e.event, credence_events::Event::PaymentReceived(_)))
        .unwrap();
    let account = CustomerAccount::from_history(&events[..last_payment]);
    assert_eq!(account.open_amounts().count(), 1);
    assert_eq!(
        account
            .closed_days_late_latest_first(date(2026, 12, 31))
            .count(),
        1
    );
    let json = serde_json::to_value(&account).unwrap();
    let open = json["open_receivables"].as_array().unwrap();
    assert!(
        open.iter().all(|k| k.as_array().unwrap().len() == 3),
        "{open:?}"
    );
    let closed = json["closed_receivables"].as_array().unwrap();
    assert!(
        closed.iter().all(|k| k.as_array().unwrap().len() == 2),
        "{closed:?}"
    );

    let back: CustomerAccount = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, account);

    for (index, id_at) in [("open_receivables", 2), ("closed_receivables", 1)] {
        let mut damaged = json.clone();
        damaged[index][0][id_at] = "NOT-A-RECEIVABLE".into();
        let err = serde_json::from_value::<CustomerAccount>(damaged).unwrap_err();
        assert!(
            err.to_string().contains("NOT-A-RECEIVABLE"),
            "{index}: {err}"
        );
    }
}

/// Credit from an overpayment, then used up by the next delivery: the
/// account that used its rarely used parts and emptied them again equals
/// its JSON copy and the same history folded anew.
#[test]
fn an_account_whose_rare_parts_emptied_again_equals_its_copy() {
    let events = given([])
        .at(at(2026, 11, 2))
        .and_then(register())
        .and_then(place("O1", &[("toner", 2, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 2)]))
        .and_then(pay("P1", "30"))
        .and_then(place("O2", &[("toner", 3, "10")]))
        .and_then(deliver("D2", "O2", &[("toner", 3)]))
        .history()
        .to_vec();
    let (before, _) = events.split_at(4);
    assert!(
        CustomerAccount::from_history(before)
            .credit_balance()
            .amount()
            > rust_decimal::Decimal::ZERO
    );
    let account = CustomerAccount::from_history(&events);
    assert!(account.credit_balance().amount().is_zero());
    let back: CustomerAccount =
        serde_json::from_str(&serde_json::to_string(&account).unwrap()).unwrap();
    assert_eq!(back, account);
    assert_eq!(account, back);
}
