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
    assert!(account.receivables().len() >= 80);
    let json = serde_json::to_string(&account).unwrap();
    let back: CustomerAccount = serde_json::from_str(&json).unwrap();
    assert_eq!(back, account);
}
