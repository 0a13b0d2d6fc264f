//! Payment allocation with worked numbers.

use credence_aggregates::testing::{Scenario, given};
use credence_aggregates::{Rejection, ReversePayment};
use credence_events::{Allocation, Event, PaymentMethod, PaymentReceived, PaymentReversed};

use crate::fixtures::*;

/// Three receivables: D1 100 due 16 Nov, D2 50 due 18 Nov, D3 30 due 20 Nov.
fn three_receivables() -> Scenario {
    given([registered_event()])
        .at(at(2026, 11, 2))
        .and_then(place("O1", &[("toner", 18, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 10)]))
        .at(at(2026, 11, 4))
        .and_then(deliver("D2", "O1", &[("toner", 5)]))
        .at(at(2026, 11, 6))
        .and_then(deliver("D3", "O1", &[("toner", 3)]))
}

fn received(id: &str, amount: &str, allocations: Vec<Allocation>, unallocated: &str) -> Event {
    PaymentReceived {
        payment: pid(id),
        amount: money(amount),
        method: PaymentMethod::BankTransfer,
        received_on: date(2026, 11, 10),
        allocations,
        unallocated: money(unallocated),
    }
    .into()
}

#[test]
fn oldest_due_date_first() {
    let s = three_receivables().at(at(2026, 11, 10));
    assert_eq!(s.state().debt(), money("180"));
    // 120 pays D1 (100) in full and 20 of D2.
    let s = s.when(pay("P1", "120")).then([received(
        "P1",
        "120",
        vec![alloc("D1", "100"), alloc("D2", "20")],
        "0",
    )]);
    let state = s.state();
    assert_eq!(state.debt(), money("60"));
    assert_eq!(
        state.receivable(&rid("D1")).unwrap().closed_on,
        Some(date(2026, 11, 10))
    );
    assert_eq!(
        state.receivable(&rid("D2")).unwrap().open,
        "30".parse().unwrap()
    );
    let open: Vec<_> = state.open_receivables().map(|r| r.id.to_string()).collect();
    assert_eq!(open, ["D2", "D3"]);
}

#[test]
fn named_receivables_first_then_oldest() {
    // The customer says: 30 for D3. The other 90 goes to D1 (oldest).
    three_receivables()
        .at(at(2026, 11, 10))
        .when(pay_named("P1", "120", &[("D3", "30")]))
        .then([received(
            "P1",
            "120",
            vec![alloc("D3", "30"), alloc("D1", "90")],
            "0",
        )]);
}

#[test]
fn overpayment_becomes_credit() {
    let s = three_receivables()
        .at(at(2026, 11, 10))
        .when(pay("P1", "200.50"))
        .then([received(
            "P1",
            "200.50",
            vec![alloc("D1", "100"), alloc("D2", "50"), alloc("D3", "30")],
            "20.50",
        )]);
    let state = s.state();
    assert!(state.debt().is_zero());
    assert_eq!(state.credit_balance(), money("20.50"));
}

#[test]
fn allocation_rejections() {
    let s = three_receivables().at(at(2026, 11, 10));
    s.clone()
        .when(pay_named("P1", "50", &[("D9", "10")]))
        .then_rejects(Rejection::ForeignReceivable(rid("D9")));
    s.clone()
        .when(pay_named("P1", "500", &[("D1", "101")]))
        .then_rejects_with(|r| matches!(r, Rejection::OverAllocation(m) if m.contains("D1")));
    s.clone()
        .when(pay_named("P1", "50", &[("D1", "40"), ("D2", "20")]))
        .then_rejects_with(|r| matches!(r, Rejection::OverAllocation(m) if m.contains("exceed")));
    s.clone()
        .when(pay_named("P1", "50", &[("D1", "10"), ("D1", "10")]))
        .then_rejects_with(|r| matches!(r, Rejection::DuplicateId { .. }));
    s.clone()
        .when(pay_named("P1", "50", &[("D1", "0")]))
        .then_rejects_with(|r| matches!(r, Rejection::NotPositive { .. }));
    s.clone()
        .when(pay("P1", "0"))
        .then_rejects(Rejection::NotPositive {
            field: "amount",
            amount: money("0"),
        });
    s.clone()
        .when(pay("P1", "-5"))
        .then_rejects(Rejection::NotPositive {
            field: "amount",
            amount: money("-5"),
        });
    let mut foreign_currency = pay("P1", "5");
    foreign_currency.amount = usd("5");
    s.clone()
        .when(foreign_currency)
        .then_rejects(Rejection::CurrencyMismatch {
            field: "amount",
            expected: eur(),
            found: usd("1").currency(),
        });
    // A closed receivable cannot be paid again; a payment id cannot be reused.
    let s = s.and_then(pay("P1", "100"));
    s.clone()
        .when(pay_named("P2", "10", &[("D1", "10")]))
        .then_rejects(Rejection::ReceivableClosed(rid("D1")));
    s.when(pay("P1", "10"))
        .then_rejects(Rejection::DuplicateId {
            kind: "payment",
            id: "P1".into(),
        });
}

#[test]
fn a_payment_never_pays_a_receivable_issued_after_its_value_date() {
    let s = three_receivables().at(at(2026, 11, 10));
    // Money that arrived on 3 Nov: only D1 (issued 2 Nov) existed then.
    let mut early = pay("P1", "120");
    early.occurred_at = Some(at(2026, 11, 3));
    let (events, _) = s.clone().when(early.clone()).events();
    let Event::PaymentReceived(p) = &events[0] else {
        panic!("expected a payment")
    };
    assert_eq!(p.allocations, vec![alloc("D1", "100")]);
    assert_eq!(p.unallocated, money("20"));
    early.allocations = vec![alloc("D3", "30")];
    s.when(early)
        .then_rejects(Rejection::ReceivableNotYetIssued {
            receivable: rid("D3"),
            received_on: date(2026, 11, 3),
        });
}

#[test]
fn a_reversal_reopens_exactly_what_the_payment_paid() {
    // P1 pays 120: D1 100, D2 20. P2 pays 70: D2 30, D3 30, credit 10.
    // D4 (20) then uses P2's 10 of credit. Reversing P2 reopens D2 30, D3 30
    // and D4 10, and removes nothing (its credit is used up).
    let s = three_receivables()
        .at(at(2026, 11, 10))
        .and_then(pay("P1", "120"))
        .and_then(pay("P2", "70"))
        .and_then(place("O2", &[("drum", 1, "20")]))
        .and_then(deliver("D4", "O2", &[("drum", 1)]));
    let before = s.state();
    assert_eq!(before.debt(), money("10"));
    assert!(before.credit_balance().is_zero());
    let s = s
        .when(ReversePayment {
            customer: customer(),
            payment: pid("P2"),
            reason: "bounced".into(),
        })
        .then([PaymentReversed {
            payment: pid("P2"),
            reason: "bounced".into(),
            reopened: vec![alloc("D2", "30"), alloc("D3", "30"), alloc("D4", "10")],
            credit_removed: money("0"),
        }
        .into()]);
    let after = s.state();
    assert_eq!(after.debt(), money("80"));
    assert_eq!(
        after.receivable(&rid("D2")).unwrap().open,
        "30".parse().unwrap()
    );
    assert_eq!(
        after.receivable(&rid("D4")).unwrap().open,
        "20".parse().unwrap()
    );
    assert_eq!(
        after.receivable(&rid("D1")).unwrap().open,
        "0".parse().unwrap()
    );
}

#[test]
fn a_reversal_removes_unused_credit() {
    let s = three_receivables()
        .at(at(2026, 11, 10))
        .and_then(pay("P1", "200"))
        .when(ReversePayment {
            customer: customer(),
            payment: pid("P1"),
            reason: "charged back".into(),
        })
        .then([PaymentReversed {
            payment: pid("P1"),
            reason: "charged back".into(),
            reopened: vec![alloc("D1", "100"), alloc("D2", "50"), alloc("D3", "30")],
            credit_removed: money("20"),
        }
        .into()]);
    let state = s.state();
    assert_eq!(state.debt(), money("180"));
    assert!(state.credit_balance().is_zero());
}

#[test]
fn discounts_round_once_half_away_from_zero() {
    // 3 × 3.35 = 10.05; less 5 % = 9.5475 -> 9.55.
    let s = given([])
        .at(at(2026, 11, 2))
        .and_then(register_with(terms(
            credence_events::Deferral::calendar(7),
            "5",
        )))
        .and_then(place("O1", &[("clip", 3, "3.35")]));
    let (events, _) = s.when(deliver("D1", "O1", &[("clip", 3)])).events();
    let Event::DeliveryRecorded(d) = &events[0] else {
        panic!("expected a delivery")
    };
    assert_eq!(d.amount, money("9.55"));
}
