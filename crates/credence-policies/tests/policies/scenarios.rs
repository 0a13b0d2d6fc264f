//! The seven DOMAIN.md scenarios through the aggregate and the default
//! policy, with literal dates and amounts.

use credence_events::{Event, FactValue, FulfilmentMode, Priority, Urgency, Verdict};

use crate::fixtures::*;

/// Scenario 1, the cartridge example: Friday 6 Nov 2026 order and delivery,
/// 3 business days' deferral, due Wednesday 11 Nov; no money by Thursday
/// 12 Nov morning: service warning to the customer and notice to the
/// manager; the next Friday's order is served residually; once paid, normal
/// service again.
#[test]
fn weekly_cartridges() {
    let t = Timeline::default_policy()
        .at(at_h(2026, 11, 6, 9))
        .run(cartridge_customer());
    let (t, first) = t.place(place("O-1", &[("cartridge", 4, "25")], Urgency::Normal));
    assert_lines(
        describe(&[first.event.clone().into()]),
        &["credit credit:O-1 Accept full P2 discount Kept by no-debt"],
    );
    let t = t.run(deliver("D-1", "O-1", &[("cartridge", 4)]));
    let receivable = t.state().receivable(&rid("D-1")).unwrap().clone();
    assert_eq!(receivable.due_date, date(2026, 11, 11), "Wednesday");
    assert_eq!(receivable.amount.to_string(), "95.00");

    // Monday: two business days before due, an advance reminder.
    let (t, monday) = t.at(at_h(2026, 11, 9, 8)).evaluate();
    assert_lines(
        describe(&monday.events),
        &[
            "priority P2 -> P3 by good-standing",
            "reminder PriorityChange to Customer level 0 []: service priority changes from P2 to P3",
            "reminder PriorityChange to Manager level 0 []: customer ACME: service priority changes from P2 to P3",
            "reminder Advance to Customer level 0 [\"D-1\"]: payment of 95.00 EUR for D-1 is due on 2026-11-11 (in 2 business days)",
        ],
    );
    // Wednesday: due today.
    let (t, wednesday) = t.at(at_h(2026, 11, 11, 8)).evaluate();
    assert_lines(
        describe(&wednesday.events),
        &[
            "reminder DueToday to Customer level 0 [\"D-1\"]: payment of 95.00 EUR for D-1 is due today, 2026-11-11",
        ],
    );

    // Thursday morning: one business day past due.
    let (t, thursday) = t.at(at_h(2026, 11, 12, 8)).evaluate();
    assert_eq!(
        thursday.decision.rule.as_str(),
        "residual-overdue-over-1-business-day"
    );
    assert_lines(
        describe(&thursday.events),
        &[
            "fulfilment full -> residual by residual-overdue-over-1-business-day",
            "priority P3 -> P7 by residual-overdue-over-1-business-day",
            "Discount 5% -> 0% by residual-overdue-over-1-business-day",
            "Markup 0% -> 1% by residual-overdue-over-1-business-day",
            "reminder PriorityChange to Customer level 0 []: service priority changes from P3 to P7",
            "reminder PriorityChange to Manager level 0 []: customer ACME: service priority changes from P3 to P7",
            "reminder PriceChange to Customer level 0 []: discount 5% -> 0%; markup 0% -> 1%",
            "reminder PriceChange to Manager level 0 []: customer ACME: discount 5% -> 0%; markup 0% -> 1%",
            "reminder ServiceWarning to Customer level 1 [\"D-1\"]: D-1 (95.00 EUR) was due on 2026-11-11 and is unpaid: your next order will be served on a residual basis until it is paid",
            "reminder ServiceWarning to Manager level 1 [\"D-1\"]: customer ACME: D-1 (95.00 EUR) was due on 2026-11-11 and is unpaid; the next order will be served on a residual basis; obtain a payment date and the reason for the delay",
            "reminder Overdue to Customer level 1 [\"D-1\"]: payment of 95.00 EUR for D-1 was due on 2026-11-11: 1 business days overdue (level 1)",
        ],
    );
    let delivery_event = event_id_of(&t, "DeliveryRecorded", 0);
    let condition = &thursday.decision.conditions[0];
    assert_eq!(condition.fact, "max_business_days_past_due");
    assert_eq!(condition.observed, FactValue::Integer(1));
    assert_eq!(condition.threshold, FactValue::Integer(0));
    assert_eq!(condition.sources, vec![delivery_event]);
    // Interest: 95.00 × 0.05 % × 1 day = 0.0475, rounded once: 0.05 EUR.
    assert_eq!(
        thursday.decision.interest.as_ref().unwrap().total,
        money("0.05")
    );
    assert_eq!(
        thursday.decision.summary(),
        format!(
            "customer ACME accepted (residual, P7, discount suspended, bonus suspended, markup +1%, interest 0.05 EUR): rule \"residual-overdue-over-1-business-day\" (default v1): max_business_days_past_due 1 > 0 [events {delivery_event}]"
        )
    );
    // Idempotent: the same time again records nothing.
    let (t, again) = t.evaluate();
    assert!(again.events.is_empty(), "{:?}", describe(&again.events));

    // Next Friday's order: residual, no discount, low priority.
    let (t, second) =
        t.at(at_h(2026, 11, 13, 9))
            .place(place("O-2", &[("cartridge", 4, "25")], Urgency::Normal));
    assert_eq!(second.event.verdict, Verdict::Accept);
    assert_eq!(second.event.fulfilment, FulfilmentMode::Residual);
    assert_eq!(second.event.priority, Priority(7));
    assert_lines(
        describe(&[second.event.clone().into()]),
        &[
            "credit credit:O-2 Accept residual P7 discount Suspended by residual-overdue-over-1-business-day",
        ],
    );
    assert!(
        second
            .event
            .explanation
            .summary
            .starts_with("order O-2 accepted (residual, P7, discount suspended"),
        "{}",
        second.event.explanation.summary
    );
    assert_eq!(
        t.state()
            .order(&order_id("O-2"))
            .unwrap()
            .discount
            .to_string(),
        "0%"
    );

    // Paid on Monday 16 Nov: back to normal service.
    let (t, paid) = t
        .at(at_h(2026, 11, 16, 9))
        .run(pay("P-1", "95.00"))
        .evaluate();
    assert_eq!(paid.decision.rule.as_str(), "no-debt");
    assert_lines(
        describe(&paid.events)[..5].to_vec(),
        &[
            "fulfilment residual -> full by no-debt",
            "priority P7 -> P2 by no-debt",
            "Discount 0% -> 5% by no-debt",
            "Markup 1% -> 0% by no-debt",
            "reminder PriorityChange to Customer level 0 []: service priority changes from P7 to P2",
        ],
    );
    let standing = t.state().standing().unwrap().clone();
    assert_eq!(
        (standing.priority, standing.fulfilment, standing.discount),
        (Priority(2), FulfilmentMode::Full, rate("5"))
    );
    assert!(matches!(
        t.history().last().unwrap().event,
        Event::ReminderSent(_)
    ));
}
