//! The seven DOMAIN.md scenarios through the aggregate and the default
//! policy, with literal dates and amounts.

use credence_aggregates::{ExplainDelay, PromiseToPay, ReceivePaymentOrder};
use credence_events::{
    Event, FactValue, FulfilmentMode, PaymentOrderId, Priority, PromiseId, ReasonCode, Urgency,
    Verdict,
};

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
    let receivable = t.state().receivable(&rid("D-1")).unwrap().into_owned();
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
            "reminder Overdue to Customer level 1 [\"D-1\"]: payment of 95.00 EUR for D-1 was due on 2026-11-11: 1 business day overdue (level 1)",
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

/// A customer with D-1 (95.00 EUR, due Wed 11 Nov) unpaid, at Thursday
/// 12 Nov 08:00 (one business day past due), evaluated: residual, P7,
/// customer and manager warned.
fn poor_payer(t: Timeline) -> Timeline {
    let t = t
        .at(at_h(2026, 11, 6, 9))
        .run(cartridge_customer())
        .place(place("O-1", &[("cartridge", 4, "25")], Urgency::Normal))
        .0
        .run(deliver("D-1", "O-1", &[("cartridge", 4)]));
    t.at(at_h(2026, 11, 12, 8)).evaluate().0
}

/// Scenario 2: a same-day order from a customer with an overdue receivable
/// is shipped on time for cash on delivery; a normal order is residual
/// without discount; under a stricter policy the same-day order is queued
/// (deferred until payment). Each is a recorded decision with its reason.
#[test]
fn same_day_order_from_a_poor_payer() {
    let t = poor_payer(Timeline::default_policy()).at(at_h(2026, 11, 13, 9));
    let (t, same_day) = t.place(place("O-2", &[("toner", 1, "40")], Urgency::SameDay));
    assert_lines(
        describe(&[same_day.event.clone().into()]),
        &[
            "credit credit:O-2 Accept cash on delivery P6 discount Kept by cash-on-delivery-same-day-while-overdue",
        ],
    );
    let o2 = event_id_of(&t, "OrderPlaced", 1);
    let d1 = event_id_of(&t, "DeliveryRecorded", 0);
    let c = &same_day.decision.conditions;
    assert_eq!(
        (c[0].fact.as_str(), &c[0].observed, &c[0].sources),
        ("order_same_day", &FactValue::Bool(true), &vec![o2])
    );
    assert_eq!(
        (c[1].fact.as_str(), &c[1].observed, &c[1].sources),
        ("overdue_debt", &FactValue::Money(money("95.00")), &vec![d1])
    );
    let (_, normal) = t.place(place("O-3", &[("toner", 1, "40")], Urgency::Normal));
    assert_lines(
        describe(&[normal.event.clone().into()]),
        &[
            "credit credit:O-3 Accept residual P7 discount Suspended by residual-overdue-over-1-business-day",
        ],
    );

    // A policy that queues same-day orders of late payers instead.
    let mut doc: serde_json::Value =
        serde_json::from_str(credence_policies::DEFAULT_POLICY_JSON).unwrap();
    doc["version"] = 2.into();
    doc["rules"][5]["then"] = serde_json::json!(
        {"verdict": "hold", "fulfilment": "deferred", "priority": 8, "discount": "suspended"});
    let strict = credence_policies::Policy::from_json(&doc.to_string()).unwrap();
    let (_, queued) = poor_payer(Timeline::new(strict))
        .at(at_h(2026, 11, 13, 9))
        .place(place("O-2", &[("toner", 1, "40")], Urgency::SameDay));
    assert_lines(
        describe(&[queued.event.clone().into()]),
        &[
            "credit credit:O-2 Hold deferred until payment P8 discount Suspended by cash-on-delivery-same-day-while-overdue",
        ],
    );
}

/// Scenario 3: several customers order the same scarce item. The customer
/// without debt is served first and in full, the one near its credit limit
/// gets scarce items withheld (partial), the late payer is served residually.
#[test]
fn scarce_fast_moving_items() {
    let scarce = [("fast-toner", 2, "20")];
    let (_, alfa) = Timeline::default_policy()
        .at(at_h(2026, 11, 13, 8))
        .run(for_customer(cartridge_customer(), "ALFA"))
        .place(for_customer(place("A-1", &scarce, Urgency::Normal), "ALFA"));
    let (_, gamma) = Timeline::default_policy()
        .at(at_h(2026, 11, 12, 8))
        .run(for_customer(cartridge_customer(), "GAMMA"))
        .place(for_customer(
            place("G-0", &[("drum", 10, "100")], Urgency::Normal),
            "GAMMA",
        ))
        .0
        .run(for_customer(
            deliver("GD-0", "G-0", &[("drum", 10)]),
            "GAMMA",
        ))
        .at(at_h(2026, 11, 13, 8))
        .place(for_customer(
            place("G-1", &scarce, Urgency::Normal),
            "GAMMA",
        ));
    let (_, acme) = poor_payer(Timeline::default_policy())
        .at(at_h(2026, 11, 13, 8))
        .place(place("O-2", &scarce, Urgency::Normal));
    let mut queue = [&alfa, &gamma, &acme].map(|d| {
        (
            d.event.priority,
            d.decision.customer.to_string(),
            d.event.fulfilment,
            d.decision.rule.to_string(),
        )
    });
    queue.sort();
    assert_eq!(
        queue.map(|(p, c, f, r)| format!("{p} {c} {f} {r}")),
        [
            "P2 ALFA full no-debt",
            "P3 GAMMA partial partial-limit-nearly-used",
            "P7 ACME residual residual-overdue-over-1-business-day",
        ]
    );
    // GAMMA: 950.00 owed (not due) + 38.00 ordered = 98.80 % of 1000.00.
    let usage = gamma
        .decision
        .conditions
        .iter()
        .find(|c| c.fact == "limit_usage_percent")
        .unwrap();
    assert_eq!(usage.observed, FactValue::Decimal("98.80".parse().unwrap()));
}

/// Scenario 4: a payment order lifts the hold on trust; when its money never
/// arrives, the customer is put on hold and the manager is told.
#[test]
fn payment_order_before_money() {
    let t = poor_payer(Timeline::default_policy()).at(at_h(2026, 11, 12, 11));
    let (t, trusted) = t
        .run(ReceivePaymentOrder {
            customer: customer(),
            payment_order: PaymentOrderId::new("PO-1").unwrap(),
            amount: money("95.00"),
            expected_by: date(2026, 11, 16),
            receivables: vec![rid("D-1")],
            occurred_at: None,
        })
        .evaluate();
    assert_lines(
        describe(&trusted.events),
        &[
            "fulfilment residual -> full by trust-payment-order",
            "priority P7 -> P4 by trust-payment-order",
            "Discount 0% -> 5% by trust-payment-order",
            "Markup 1% -> 0% by trust-payment-order",
            "reminder PriorityChange to Customer level 0 []: service priority changes from P7 to P4",
            "reminder PriorityChange to Manager level 0 []: customer ACME: service priority changes from P7 to P4",
            "reminder PriceChange to Customer level 0 []: discount 0% -> 5%; markup 1% -> 0%",
            "reminder PriceChange to Manager level 0 []: customer ACME: discount 0% -> 5%; markup 1% -> 0%",
        ],
    );
    let (t, order) =
        t.at(at_h(2026, 11, 13, 9))
            .place(place("O-2", &[("cartridge", 4, "25")], Urgency::Normal));
    assert_lines(
        describe(&[order.event.clone().into()]),
        &["credit credit:O-2 Accept full P4 discount Kept by trust-payment-order"],
    );

    // The money arrives on Monday: normal service.
    let (_, cleared) = t
        .clone()
        .at(at_h(2026, 11, 16, 9))
        .run(credence_aggregates::ReceivePayment {
            payment_order: Some(PaymentOrderId::new("PO-1").unwrap()),
            ..pay("P-1", "95.00")
        })
        .evaluate();
    assert_eq!(cleared.decision.rule.as_str(), "no-debt");

    // It never arrives: on Tuesday the payment order expires.
    let (_, expired) = t
        .at(at_h(2026, 11, 17, 9))
        .run(check_deadlines())
        .evaluate();
    assert_lines(
        describe(&expired.events),
        &[
            "fulfilment full -> deferred until payment by hold-payment-order-expired",
            "priority P4 -> P8 by hold-payment-order-expired",
            "Discount 5% -> 0% by hold-payment-order-expired",
            "Markup 0% -> 1% by hold-payment-order-expired",
            "reminder PriorityChange to Customer level 0 []: service priority changes from P4 to P8",
            "reminder PriorityChange to Manager level 0 []: customer ACME: service priority changes from P4 to P8",
            "reminder PriceChange to Customer level 0 []: discount 5% -> 0%; markup 0% -> 1%",
            "reminder PriceChange to Manager level 0 []: customer ACME: discount 5% -> 0%; markup 0% -> 1%",
            "reminder PaymentOrderOverdue to Manager level 1 [\"D-1\"]: customer ACME: the money of payment order PO-1 (95.00 EUR) expected by 2026-11-16 did not arrive",
        ],
    );
    assert_eq!(expired.decision.outcome.verdict, Verdict::Hold);
}

/// Scenario 6: the manager's reason and promised date are recorded; broken
/// promises are detected and worsen the rank, two of them put the customer
/// on hold.
#[test]
fn delay_reasons_and_broken_promises() {
    let t = poor_payer(Timeline::default_policy())
        .at(at_h(2026, 11, 12, 11))
        .run(ExplainDelay {
            customer: customer(),
            receivables: vec![rid("D-1")],
            reason: ReasonCode::new("cash-gap").unwrap(),
            text: "waiting for their own customer to pay".into(),
            promised_date: Some(date(2026, 11, 16)),
            manager: None,
        })
        .run(PromiseToPay {
            customer: customer(),
            promise: PromiseId::new("PR-1").unwrap(),
            amount: money("95.00"),
            promised_date: date(2026, 11, 16),
            receivables: vec![rid("D-1")],
        });
    let explanation = t
        .state()
        .receivable(&rid("D-1"))
        .unwrap()
        .explanation
        .clone()
        .unwrap();
    assert_eq!(explanation.reason.as_str(), "cash-gap");
    assert_eq!(explanation.promised_date, Some(date(2026, 11, 16)));

    let (t, first) = t
        .at(at_h(2026, 11, 17, 9))
        .run(check_deadlines())
        .evaluate();
    assert_lines(
        describe(&first.events),
        &[
            "priority P7 -> P8 by residual-overdue-broken-promise",
            "reminder PriorityChange to Customer level 0 []: service priority changes from P7 to P8",
            "reminder PriorityChange to Manager level 0 []: customer ACME: service priority changes from P7 to P8",
            "reminder PromiseBroken to Manager level 1 [\"D-1\"]: customer ACME: promise PR-1 to pay 95.00 EUR by 2026-11-16 was broken",
        ],
    );
    let pr1 = event_id_of(&t, "PromiseToPayMade", 0);
    let (t, second) = t
        .run(PromiseToPay {
            customer: customer(),
            promise: PromiseId::new("PR-2").unwrap(),
            amount: money("95.00"),
            promised_date: date(2026, 11, 20),
            receivables: vec![rid("D-1")],
        })
        .at(at_h(2026, 11, 23, 9))
        .run(check_deadlines())
        .evaluate();
    let pr2 = event_id_of(&t, "PromiseToPayMade", 1);
    assert_eq!(second.decision.rule.as_str(), "hold-promises-broken");
    let broken = &second.decision.conditions[0];
    assert_eq!(
        (broken.fact.as_str(), &broken.observed, &broken.sources),
        ("promises_broken", &FactValue::Integer(2), &vec![pr1, pr2])
    );
    assert_lines(
        describe(&second.events),
        &[
            "fulfilment residual -> deferred until payment by hold-promises-broken",
            "reminder PromiseBroken to Manager level 2 [\"D-1\"]: customer ACME: promise PR-2 to pay 95.00 EUR by 2026-11-20 was broken",
            "reminder Overdue to Customer level 2 [\"D-1\"]: payment of 95.00 EUR for D-1 was due on 2026-11-11: 8 business days overdue (level 2)",
            "reminder Overdue to Manager level 2 [\"D-1\"]: customer ACME: payment of 95.00 EUR for D-1 was due on 2026-11-11: 8 business days overdue (level 2)",
        ],
    );
}

/// Scenario 5: reminders before, on and after the due date at escalating
/// levels, a credit-limit warning, notices of changes; each sent once.
#[test]
fn reminders() {
    let t = Timeline::default_policy()
        .at(at_h(2026, 11, 6, 9))
        .run(cartridge_customer())
        .place(place("O-1", &[("drum", 9, "100")], Urgency::Normal))
        .0
        .run(deliver("D-1", "O-1", &[("drum", 9)]));
    let days = [
        at_h(2026, 11, 6, 12),
        at_h(2026, 11, 9, 8),
        at_h(2026, 11, 10, 8),
        at_h(2026, 11, 11, 8),
        at_h(2026, 11, 12, 8),
        at_h(2026, 11, 12, 18),
        at_h(2026, 11, 18, 8),
        at_h(2026, 12, 2, 8),
    ];
    let mut t = t;
    let mut lines = Vec::new();
    for day in days {
        let (next, evaluation) = t.at(day).evaluate();
        t = next;
        for line in describe(&evaluation.events) {
            if !line.contains("Change to") {
                lines.push(format!("{}: {line}", day.format("%a %d %b %H:%M")));
            }
        }
    }
    assert_lines(
        lines,
        &[
            "Fri 06 Nov 12:00: priority P2 -> P3 by good-standing",
            "Fri 06 Nov 12:00: reminder CreditLimit to Customer level 1 [\"D-1\"]: credit limit 85.5% used (warning at 80%)",
            "Fri 06 Nov 12:00: reminder CreditLimit to Manager level 1 [\"D-1\"]: customer ACME: credit limit 85.5% used (warning at 80%)",
            "Mon 09 Nov 08:00: reminder Advance to Customer level 0 [\"D-1\"]: payment of 855.00 EUR for D-1 is due on 2026-11-11 (in 2 business days)",
            "Wed 11 Nov 08:00: reminder DueToday to Customer level 0 [\"D-1\"]: payment of 855.00 EUR for D-1 is due today, 2026-11-11",
            "Thu 12 Nov 08:00: fulfilment full -> residual by residual-overdue-over-1-business-day",
            "Thu 12 Nov 08:00: priority P3 -> P7 by residual-overdue-over-1-business-day",
            "Thu 12 Nov 08:00: Discount 5% -> 0% by residual-overdue-over-1-business-day",
            "Thu 12 Nov 08:00: Markup 0% -> 1% by residual-overdue-over-1-business-day",
            "Thu 12 Nov 08:00: reminder ServiceWarning to Customer level 1 [\"D-1\"]: D-1 (855.00 EUR) was due on 2026-11-11 and is unpaid: your next order will be served on a residual basis until it is paid",
            "Thu 12 Nov 08:00: reminder ServiceWarning to Manager level 1 [\"D-1\"]: customer ACME: D-1 (855.00 EUR) was due on 2026-11-11 and is unpaid; the next order will be served on a residual basis; obtain a payment date and the reason for the delay",
            "Thu 12 Nov 08:00: reminder Overdue to Customer level 1 [\"D-1\"]: payment of 855.00 EUR for D-1 was due on 2026-11-11: 1 business day overdue (level 1)",
            "Wed 18 Nov 08:00: reminder Overdue to Customer level 2 [\"D-1\"]: payment of 855.00 EUR for D-1 was due on 2026-11-11: 5 business days overdue (level 2)",
            "Wed 18 Nov 08:00: reminder Overdue to Manager level 2 [\"D-1\"]: customer ACME: payment of 855.00 EUR for D-1 was due on 2026-11-11: 5 business days overdue (level 2)",
            "Wed 02 Dec 08:00: reminder Overdue to Customer level 3 [\"D-1\"]: payment of 855.00 EUR for D-1 was due on 2026-11-11: 15 business days overdue (level 3)",
            "Wed 02 Dec 08:00: reminder Overdue to Manager level 3 [\"D-1\"]: customer ACME: payment of 855.00 EUR for D-1 was due on 2026-11-11: 15 business days overdue (level 3)",
        ],
    );
    // Notices of changes went to both recipients each time.
    let notices = t
        .history()
        .iter()
        .filter(|e| matches!(&e.event, Event::ReminderSent(r) if r.message.contains("->") || r.message.contains("priority changes")))
        .count();
    assert_eq!(
        notices, 6,
        "P2->P3, P3->P7 and the price change, to customer and manager"
    );
    // Interest on 2 Dec: 855.00 × 0.05 % × 21 days = 8.9775, rounded once.
    let (_, dec2) = t.evaluate();
    assert!(dec2.events.is_empty());
    assert_eq!(dec2.decision.interest.unwrap().total, money("8.98"));
}

/// The cartridge history of scenario 1 under `policy`.
pub fn cartridge_timeline(policy: credence_policies::Policy) -> Timeline {
    let t = Timeline::new(policy)
        .at(at_h(2026, 11, 6, 9))
        .run(cartridge_customer())
        .place(place("O-1", &[("cartridge", 4, "25")], Urgency::Normal))
        .0
        .run(deliver("D-1", "O-1", &[("cartridge", 4)]));
    let t = t.at(at_h(2026, 11, 9, 8)).evaluate().0;
    let t = t.at(at_h(2026, 11, 11, 8)).evaluate().0;
    let t = t.at(at_h(2026, 11, 12, 8)).evaluate().0;
    let t = t
        .at(at_h(2026, 11, 13, 9))
        .place(place("O-2", &[("cartridge", 4, "25")], Urgency::Normal))
        .0;
    t.at(at_h(2026, 11, 16, 9))
        .run(pay("P-1", "95.00"))
        .evaluate()
        .0
}

/// Scenario 7: for a past decision, the state at that moment, the rule and
/// policy version that fired, a replay check that reproduces every recorded
/// decision (and catches a tampered one), and what another policy would
/// have decided.
#[test]
fn audit() {
    use credence_aggregates::CustomerAccount;
    use credence_policies::{Policy, PolicyRegistry, decision_points, replay_check, what_if};

    let t = cartridge_timeline(Policy::default_policy());
    let history = t.history().to_vec();
    let registry = PolicyRegistry::new().with(Policy::default_policy());

    // The decision points: two orders and four evaluations that recorded
    // something (Monday, Wednesday, Thursday, the Monday after payment).
    let points = decision_points(&history);
    assert_eq!(
        points
            .iter()
            .map(|p| format!(
                "{} {}",
                p.evaluated_at.format("%a %d %b %H:%M"),
                p.order.as_ref().map(|o| o.as_str()).unwrap_or("evaluation")
            ))
            .collect::<Vec<_>>(),
        [
            "Fri 06 Nov 09:00 O-1",
            "Mon 09 Nov 08:00 evaluation",
            "Wed 11 Nov 08:00 evaluation",
            "Thu 12 Nov 08:00 evaluation",
            "Fri 13 Nov 09:00 O-2",
            "Mon 16 Nov 09:00 evaluation",
        ]
    );

    // What the customer's state was when O-2 was decided, and why.
    let o2 = &points[4];
    let before = CustomerAccount::from_history(&history[..o2.start]);
    assert_eq!(before.overdue_debt(date(2026, 11, 13)), money("95.00"));
    let Event::CreditDecided(recorded) = &history[o2.start].event else {
        panic!("not a credit decision");
    };
    assert_eq!(
        recorded.explanation.rule.as_str(),
        "residual-overdue-over-1-business-day"
    );
    assert_eq!(
        recorded.explanation.policy,
        *Policy::default_policy().reference()
    );

    // Replay reproduces every recorded decision.
    let calendar = credence_events::BusinessCalendar::default();
    let report = replay_check(&history, &registry, &calendar);
    assert_eq!((report.checked, report.mismatches.len()), (6, 0));

    // A tampered decision is found.
    let mut tampered = history.clone();
    if let Event::CreditDecided(d) = &mut tampered[o2.start].event {
        d.fulfilment = FulfilmentMode::Full;
    }
    let report = replay_check(&tampered, &registry, &calendar);
    assert_eq!(report.mismatches.len(), 1);
    let mismatch = &report.mismatches[0];
    assert_eq!(mismatch.version, history[o2.start].version);
    assert_eq!(
        mismatch.reason,
        "event 0 differs: recorded CreditDecided credit:O-2 Accept full P7 Suspended, re-derived CreditDecided credit:O-2 Accept residual P7 Suspended"
    );
    // A decision whose policy version is unknown is reported too.
    let report = replay_check(&history, &PolicyRegistry::new(), &calendar);
    assert_eq!(report.mismatches.len(), 6);
    assert!(
        report.mismatches[0]
            .reason
            .starts_with("unknown policy default v1 (")
    );

    // What-if: the cartridge threshold raised from 0 to 1 business day.
    let mut doc: serde_json::Value =
        serde_json::from_str(credence_policies::DEFAULT_POLICY_JSON).unwrap();
    doc["version"] = 2.into();
    doc["rules"][6]["when"]["value"] = 1.into();
    let lenient = Policy::from_json(&doc.to_string()).unwrap();
    let differences = what_if(&history, &registry, &lenient, None, &calendar).unwrap();
    assert_eq!(
        differences.iter().map(|d| d.summary()).collect::<Vec<_>>(),
        [
            "ACME 2026-11-12 08:00: Accept/residual/P7 by \"residual-overdue-over-1-business-day\" (default v1) -> Accept/full/P5 by \"overdue-grace\" (default v2)"
        ]
    );
    let d = &differences[0];
    assert_eq!(d.new.conditions[0].fact, "overdue_debt");
    assert_eq!(
        d.new.conditions[0].observed,
        FactValue::Money(money("95.00"))
    );
    assert_eq!(d.old.rule.as_str(), "residual-overdue-over-1-business-day");
    // Limited to a range without Thursday: nothing differs.
    let differences = what_if(
        &history,
        &registry,
        &lenient,
        Some((at_h(2026, 11, 13, 0), at_h(2026, 11, 30, 0))),
        &calendar,
    )
    .unwrap();
    assert!(differences.is_empty());
}

/// Scenario 1 variants: a deferral in calendar days, and a public holiday
/// that the business calendar skips.
#[test]
fn cartridges_with_calendar_days_and_holidays() {
    #[track_caller]
    fn first_warning(
        deferral: credence_events::Deferral,
        calendar: credence_events::BusinessCalendar,
        due: chrono::NaiveDate,
        quiet: chrono::DateTime<chrono::Utc>,
        warned: chrono::DateTime<chrono::Utc>,
    ) {
        let t = Timeline::default_policy()
            .with_calendar(calendar)
            .at(at_h(2026, 11, 6, 9))
            .run(register_with(terms(deferral, "5", "1000")))
            .place(place("O-1", &[("cartridge", 4, "25")], Urgency::Normal))
            .0
            .run(deliver("D-1", "O-1", &[("cartridge", 4)]));
        assert_eq!(t.state().receivable(&rid("D-1")).unwrap().due_date, due);
        let (t, before) = t.at(quiet).evaluate();
        assert!(
            !before
                .reminders()
                .any(|r| r.kind == credence_events::ReminderKind::ServiceWarning),
            "warned too early"
        );
        let (_, after) = t.at(warned).evaluate();
        assert_eq!(
            after.decision.rule.as_str(),
            "residual-overdue-over-1-business-day"
        );
        assert_eq!(
            after
                .reminders()
                .filter(|r| r.kind == credence_events::ReminderKind::ServiceWarning)
                .count(),
            2
        );
    }
    use credence_events::{BusinessCalendar, Deferral};
    // Three calendar days after Friday: due Monday 9, warned Tuesday 10.
    first_warning(
        Deferral::calendar(3),
        BusinessCalendar::default(),
        date(2026, 11, 9),
        at_h(2026, 11, 9, 8),
        at_h(2026, 11, 10, 8),
    );
    // Monday 9 a holiday: due Thursday 12, warned Friday 13.
    first_warning(
        Deferral::business(3),
        BusinessCalendar::default().with_holidays([date(2026, 11, 9)]),
        date(2026, 11, 12),
        at_h(2026, 11, 12, 8),
        at_h(2026, 11, 13, 8),
    );
    // Due Wednesday 11, Thursday 12 a holiday: not warned until Friday 13.
    first_warning(
        Deferral::business(3),
        BusinessCalendar::default().with_holidays([date(2026, 11, 12)]),
        date(2026, 11, 11),
        at_h(2026, 11, 12, 8),
        at_h(2026, 11, 13, 8),
    );
}

/// Scenario 5 continued: an order that would take the customer over its
/// credit limit is held; the customer is warned as the limit fills; the
/// bonus is withdrawn while overdue and restored once paid.
#[test]
fn credit_limit_and_bonus() {
    let mut terms = terms(credence_events::Deferral::business(3), "5", "1000");
    terms.bonus = rate("2");
    let t = Timeline::default_policy()
        .at(at_h(2026, 11, 6, 9))
        .run(register_with(terms))
        .place(place("O-1", &[("drum", 9, "100")], Urgency::Normal))
        .0
        .run(deliver("D-1", "O-1", &[("drum", 9)]));
    let (t, held) = t.place(place("O-2", &[("drum", 2, "100")], Urgency::Normal));
    assert_lines(
        describe(&[held.event.clone().into()]),
        &[
            "credit credit:O-2 Hold deferred until payment P4 discount Kept by hold-over-credit-limit",
        ],
    );
    let usage = &held.decision.conditions[0];
    assert_eq!(
        (usage.fact.as_str(), &usage.observed),
        ("over_credit_limit", &FactValue::Bool(true))
    );
    // The held order no longer counts in exposure: 855.00 of 1000.00.
    let (t, friday) = t.at(at_h(2026, 11, 6, 12)).evaluate();
    assert_eq!(friday.decision.rule.as_str(), "good-standing");
    assert_eq!(
        friday
            .reminders()
            .filter(|r| r.kind == credence_events::ReminderKind::CreditLimit)
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>(),
        [
            "credit limit 85.5% used (warning at 80%)",
            "customer ACME: credit limit 85.5% used (warning at 80%)"
        ]
    );
    let (t, thursday) = t.at(at_h(2026, 11, 12, 8)).evaluate();
    assert!(
        describe(&thursday.events)
            .contains(&"Bonus 2% -> 0% by residual-overdue-over-1-business-day".to_string())
    );
    let (t, paid) = t
        .at(at_h(2026, 11, 13, 8))
        .run(pay("P-1", "855.00"))
        .evaluate();
    assert_eq!(paid.decision.rule.as_str(), "no-debt");
    assert!(describe(&paid.events).contains(&"Bonus 0% -> 2% by no-debt".to_string()));

    // Paid: the held order is released, counted in exposure again.
    let (t, released) = t.release();
    let version = t.history().len() - 1;
    assert_lines(
        describe(
            &released
                .iter()
                .map(|d| d.event.clone().into())
                .collect::<Vec<_>>(),
        ),
        &[&format!(
            "credit credit:O-2:v{version} Accept full P2 discount Kept by no-debt"
        )],
    );
    let exposure = released[0]
        .decision
        .conditions
        .iter()
        .find(|c| c.fact == "debt")
        .unwrap();
    assert_eq!(exposure.observed, FactValue::Money(money("0.00")));
    assert!(
        t.state()
            .order(&order_id("O-2"))
            .unwrap()
            .is_accepted_open()
    );
    assert_eq!(t.state().exposure(), money("190.00"));
    let (t, again) = t.release();
    assert!(again.is_empty());
    // The whole history replays, releases included.
    let registry = credence_policies::PolicyRegistry::new().with(t.policy.clone());
    let report = credence_policies::replay_check(t.history(), &registry, &t.calendar);
    assert!(report.is_clean(), "{:?}", report.mismatches);
    assert_eq!(report.checked, 6);
}
