//! Built-in facts read from an account's history.

use credence_events::Urgency;

use crate::fixtures::*;

/// Payment-behaviour facts cite, for each closed receivable they count,
/// the delivery that issued it and every payment that paid it (read from
/// the account's compact record of the closed receivable).
#[test]
fn payment_behaviour_cites_each_receivables_delivery_and_payments() {
    let t = Timeline::default_policy()
        .at(at_h(2026, 11, 6, 9))
        .run(cartridge_customer());
    let (t, _) = t.place(place("O-1", &[("cartridge", 4, "25")], Urgency::Normal));
    let t = t.run(deliver("D-1", "O-1", &[("cartridge", 4)]));
    // 95.00 due on Wednesday 11 Nov, paid in two parts, the second late.
    let t = t.at(at_h(2026, 11, 10, 9)).run(pay("P-1", "40.00"));
    let t = t.at(at_h(2026, 11, 13, 9)).run(pay("P-2", "55.00"));
    let delivery = event_id_of(&t, "DeliveryRecorded", 0);
    let payments = [
        event_id_of(&t, "PaymentReceived", 0),
        event_id_of(&t, "PaymentReceived", 1),
    ];
    assert_eq!(t.state().open_receivables().count(), 0, "paid");

    let facts = t
        .policy
        .facts(&t.state(), at_h(2026, 11, 16, 9), &t.calendar)
        .expect("facts");
    for name in [
        "paid_receivables",
        "average_days_late",
        "on_time_ratio",
        "recent_days_late",
    ] {
        let observed = facts.get(name).expect("a built-in fact");
        assert_eq!(
            observed.sources,
            vec![delivery, payments[0], payments[1]],
            "{name}"
        );
    }
    assert_eq!(
        facts.get("recent_days_late").unwrap().value,
        credence_events::FactValue::Integer(2)
    );
}
