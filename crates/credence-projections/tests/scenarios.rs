//! The DOMAIN.md scenarios, seen through the read models. Expected values
//! are written out by hand.

use std::collections::BTreeMap;

use credence_aggregates::{
    CheckDeadlines, ExplainDelay, PromiseToPay, ReceivePaymentOrder, SendReminder,
};
use credence_events::{
    AdjustmentKind, CreditDecided, DecisionId, Deferral, DiscountOutcome, FulfilmentMode,
    FulfilmentModeChanged, PaymentOrderId, PriceAdjustmentChanged, Priority, PriorityChanged,
    PromiseId, Rate, ReasonCode, Recipient, ReminderId, ReminderKind, Urgency, Verdict,
};
use credence_projections::{
    AllocationOutcome, AllocationPass, AsOf, AsOfIndex, Projection, ProjectionConfig, Projections,
    ServiceTier,
};
use rust_decimal::Decimal;

use crate::fixtures::*;

type Streams = BTreeMap<credence_events::StreamId, Vec<credence_events::EventEnvelope>>;

fn read(log: &Log) -> Projections {
    Projections::rebuild(ProjectionConfig::default(), &log.events).unwrap()
}

/// Queue as (position, customer, order, tier).
#[track_caller]
fn check_queue(
    read: &Projections,
    now: chrono::DateTime<chrono::Utc>,
    expected: &[(usize, &str, &str, ServiceTier)],
) {
    let queue = read.service_queue(now);
    let actual: Vec<(usize, String, String, ServiceTier)> = queue
        .entries
        .iter()
        .map(|e| {
            (
                e.position,
                e.customer.to_string(),
                e.order.to_string(),
                e.reason.tier,
            )
        })
        .collect();
    let expected: Vec<(usize, String, String, ServiceTier)> = expected
        .iter()
        .map(|(p, c, o, t)| (*p, c.to_string(), o.to_string(), *t))
        .collect();
    assert_eq!(actual, expected);
}

/// Reminders as (customer, kind, recipient, level, receivable).
#[track_caller]
fn check_reminders(
    read: &Projections,
    now: chrono::DateTime<chrono::Utc>,
    expected: &[(&str, ReminderKind, Recipient, u8, Option<&str>)],
) {
    let actual: Vec<(String, ReminderKind, Recipient, u8, Option<String>)> = read
        .reminder_worklist(now)
        .iter()
        .map(|r| {
            (
                r.customer.to_string(),
                r.key.kind,
                r.key.recipient,
                r.key.level,
                r.key.receivable.as_ref().map(|id| id.to_string()),
            )
        })
        .collect();
    let expected: Vec<(String, ReminderKind, Recipient, u8, Option<String>)> = expected
        .iter()
        .map(|(c, k, r, l, id)| (c.to_string(), *k, *r, *l, id.map(str::to_string)))
        .collect();
    assert_eq!(actual, expected);
}

/// Allocation lines as (customer, order, item, open, allocated, pass, outcome).
#[track_caller]
fn check_plan(
    plan: &credence_projections::AllocationPlan,
    expected: &[(
        &str,
        &str,
        &str,
        &str,
        &str,
        AllocationPass,
        AllocationOutcome,
    )],
) {
    let actual: Vec<_> = plan
        .lines
        .iter()
        .map(|l| {
            (
                l.customer.to_string(),
                l.order.to_string(),
                l.item.to_string(),
                l.open,
                l.allocated,
                l.reason.pass,
                l.reason.outcome,
            )
        })
        .collect();
    let expected: Vec<_> = expected
        .iter()
        .map(|(c, o, i, open, got, pass, outcome)| {
            (
                c.to_string(),
                o.to_string(),
                i.to_string(),
                dec(open),
                dec(got),
                *pass,
                *outcome,
            )
        })
        .collect();
    assert_eq!(actual, expected);
}

fn stock(items: &[(&str, &str)]) -> BTreeMap<credence_events::ItemId, Decimal> {
    items.iter().map(|(i, q)| (item(i), dec(q))).collect()
}

fn mode_changed(
    id: &str,
    from: FulfilmentMode,
    to: FulfilmentMode,
    when: chrono::DateTime<chrono::Utc>,
) -> FulfilmentModeChanged {
    FulfilmentModeChanged {
        decision: DecisionId::new(id).unwrap(),
        from,
        to,
        explanation: explanation("service-mode", when),
    }
}

/// Scenario 1: weekly cartridges, 3 business days' deferral.
#[test]
fn weekly_cartridges() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "CART",
            "olena",
            terms("1000", Deferral::business(3), "0"),
        ))
        .run(register(
            "GOOD",
            "taras",
            terms("5000", Deferral::calendar(14), "0"),
        ));
    // Friday 6 Nov: ordered and served; due Wednesday 11 Nov.
    log.at(at(2026, 11, 6))
        .run(place(
            "CART",
            "C-1",
            &[("cartridge", 4, "25.00")],
            at(2026, 11, 6),
        ))
        .run(deliver("CART", "D-1", "C-1", &[("cartridge", 4)]));

    let r = read(&log);
    // Monday: two business days before the due date.
    check_reminders(
        &r,
        at(2026, 11, 9),
        &[(
            "CART",
            ReminderKind::Advance,
            Recipient::Customer,
            0,
            Some("D-1"),
        )],
    );
    check_reminders(
        &r,
        at(2026, 11, 11),
        &[(
            "CART",
            ReminderKind::DueToday,
            Recipient::Customer,
            0,
            Some("D-1"),
        )],
    );
    // Thursday morning: one business day past due.
    let thursday = at_hour(2026, 11, 12, 8);
    check_reminders(
        &r,
        thursday,
        &[
            (
                "CART",
                ReminderKind::Overdue,
                Recipient::Customer,
                1,
                Some("D-1"),
            ),
            (
                "CART",
                ReminderKind::Overdue,
                Recipient::Manager,
                1,
                Some("D-1"),
            ),
            (
                "CART",
                ReminderKind::ServiceWarning,
                Recipient::Customer,
                0,
                Some("D-1"),
            ),
        ],
    );
    let state = r.customer_state(&customer("CART"), thursday).unwrap();
    assert_eq!(state.debt, money("100.00"));
    assert_eq!(state.overdue_debt, money("100.00"));
    assert_eq!(state.max_days_past_due, 1);
    assert_eq!(
        state.aging.amounts(),
        [dec("100.00"), dec("0"), dec("0"), dec("0"), dec("0")]
    );
    assert_eq!(state.exposure, money("100.00"));
    assert_eq!(state.headroom, money("900.00"));
    assert_eq!(state.fulfilment, FulfilmentMode::Full);

    // The warning goes out; the policy puts the customer on residual service.
    log.at(thursday)
        .run(SendReminder {
            customer: customer("CART"),
            reminder: ReminderId::new("R-1").unwrap(),
            kind: ReminderKind::ServiceWarning,
            recipient: Recipient::Customer,
            level: 0,
            receivables: vec![rid("D-1")],
            message: "next order served on a residual basis".into(),
        })
        .record(
            &customer("CART"),
            mode_changed(
                "DEC-1",
                FulfilmentMode::Full,
                FulfilmentMode::Residual,
                thursday,
            ),
        );
    // Friday 13 Nov: both order cartridges; CART wants them earlier.
    log.at(at(2026, 11, 13))
        .run(place(
            "CART",
            "C-2",
            &[("cartridge", 4, "25.00")],
            at(2026, 11, 13),
        ))
        .run(place(
            "GOOD",
            "G-1",
            &[("cartridge", 4, "25.00")],
            at_hour(2026, 11, 13, 12),
        ));
    let r = read(&log);
    check_reminders(
        &r,
        at(2026, 11, 13),
        &[
            (
                "CART",
                ReminderKind::Overdue,
                Recipient::Customer,
                1,
                Some("D-1"),
            ),
            (
                "CART",
                ReminderKind::Overdue,
                Recipient::Manager,
                1,
                Some("D-1"),
            ),
        ],
    );
    check_queue(
        &r,
        at(2026, 11, 13),
        &[
            (1, "GOOD", "G-1", ServiceTier::NoDebt),
            (2, "CART", "C-2", ServiceTier::Residual),
        ],
    );
    let plan = r
        .allocate(&stock(&[("cartridge", "6")]), at(2026, 11, 13))
        .unwrap();
    check_plan(
        &plan,
        &[
            (
                "GOOD",
                "G-1",
                "cartridge",
                "4",
                "4",
                AllocationPass::Regular,
                AllocationOutcome::Full,
            ),
            (
                "CART",
                "C-2",
                "cartridge",
                "4",
                "2",
                AllocationPass::Residual,
                AllocationOutcome::Partial,
            ),
        ],
    );
    assert_eq!(
        plan.explain(&plan.lines[1]),
        "residual mode: served from what was left (2) [residual; priority P3; no payment history; deferral 3 days; mode residual]"
    );
    assert_eq!(plan.remaining(), stock(&[("cartridge", "0")]));

    // Paid on Monday 16 Nov, five days late: back to normal service.
    log.at(at(2026, 11, 16))
        .run(pay("CART", "P-1", "100.00"))
        .record(
            &customer("CART"),
            mode_changed(
                "DEC-2",
                FulfilmentMode::Residual,
                FulfilmentMode::Full,
                at(2026, 11, 16),
            ),
        );
    let r = read(&log);
    let state = r
        .customer_state(&customer("CART"), at(2026, 11, 16))
        .unwrap();
    assert_eq!(state.overdue_debt, money("0.00"));
    assert_eq!(state.fulfilment, FulfilmentMode::Full);
    // Both without debt now; GOOD has no late payments, CART pays 5 days late.
    check_queue(
        &r,
        at(2026, 11, 16),
        &[
            (1, "GOOD", "G-1", ServiceTier::NoDebt),
            (2, "CART", "C-2", ServiceTier::NoDebt),
        ],
    );
    let behaviour = r.payment_behaviour(&customer("CART")).unwrap();
    assert_eq!(behaviour.paid_receivables, 1);
    assert_eq!(behaviour.paid_late, 1);
    assert_eq!(behaviour.average_days_late(), Some(dec("5")));
    assert_eq!(behaviour.days_late, BTreeMap::from([(5, 1)]));
    assert_eq!(behaviour.days_to_pay, BTreeMap::from([(10, 1)]));
    check_reminders(&r, at(2026, 11, 16), &[]);
}

/// Scenario 2: a same-day order from a customer with an overdue receivable.
#[test]
fn same_day_order_from_a_poor_payer() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "POOR",
            "olena",
            terms("2000", Deferral::calendar(7), "5"),
        ))
        .run(register(
            "PROMPT",
            "taras",
            terms("2000", Deferral::calendar(7), "0"),
        ))
        .run(place(
            "POOR",
            "P-1",
            &[("paper", 10, "10.00")],
            at(2026, 11, 2),
        ))
        .run(deliver("POOR", "PD-1", "P-1", &[("paper", 10)]));
    // Tuesday 10 Nov: PD-1 (95.00, due 9 Nov) is one day overdue.
    let mut same_day = place(
        "POOR",
        "P-2",
        &[("paper", 5, "10.00")],
        at_hour(2026, 11, 10, 12),
    );
    same_day.urgency = Urgency::SameDay;
    log.at(at_hour(2026, 11, 10, 9)).run(same_day).run(place(
        "PROMPT",
        "Q-1",
        &[("paper", 5, "10.00")],
        at(2026, 11, 11),
    ));
    let r = read(&log);
    let now = at(2026, 11, 10);
    check_queue(
        &r,
        now,
        &[
            (1, "PROMPT", "Q-1", ServiceTier::NoDebt),
            (2, "POOR", "P-2", ServiceTier::Debt),
        ],
    );
    let queue = r.service_queue(now);
    assert_eq!(
        queue.entries[1].reason.to_string(),
        "has debt (overdue 95.00, 1 days past due); priority P3; no payment history; deferral 7 days; mode full"
    );
    assert_eq!(queue.entries[1].urgency, Urgency::SameDay);
    let state = r.customer_state(&customer("POOR"), now).unwrap();
    assert_eq!(state.exposure, money("142.50"));

    // The policy ships it on time for cash on delivery, without the discount,
    // and lowers the priority.
    log.at(now).record(
        &customer("POOR"),
        CreditDecided {
            decision: DecisionId::new("DEC-7").unwrap(),
            order: Some(order_id("P-2")),
            verdict: Verdict::Accept,
            fulfilment: FulfilmentMode::CashOnDelivery,
            discount: DiscountOutcome::Suspended,
            priority: Priority(4),
            explanation: explanation("same-day-poor-payer", now),
        },
    );
    let r = read(&log);
    let queue = r.service_queue(now);
    assert_eq!(queue.entries[1].order, &order_id("P-2"));
    assert_eq!(
        queue.entries[1].reason.fulfilment,
        FulfilmentMode::CashOnDelivery
    );
    assert_eq!(queue.entries[1].reason.priority, Priority(4));
    let state = r.customer_state(&customer("POOR"), now).unwrap();
    assert_eq!(state.priority, Priority(4));
    assert_eq!(state.exposure, money("145.00"));
    // The priority change is to be told to the customer.
    let notices: Vec<_> = r
        .reminder_worklist(now)
        .into_iter()
        .filter(|d| d.key.kind == ReminderKind::PriorityChange)
        .map(|d| (d.customer.to_string(), d.reason, d.decision))
        .collect();
    assert_eq!(
        notices,
        [(
            "POOR".to_string(),
            "service priority is now P4".to_string(),
            Some(log.events.last().unwrap().id)
        )]
    );
}

/// Scenario 3: scarce fast-moving items shared by four customers.
#[test]
fn scarce_items_go_to_customers_without_debt_first() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2));
    for who in ["A", "B", "C", "D"] {
        log.run(register(
            who,
            "olena",
            terms("10000", Deferral::calendar(7), "0"),
        ));
    }
    log.run(place("C", "C-0", &[("toner", 1, "80.00")], at(2026, 11, 2)))
        .run(deliver("C", "CD-0", "C-0", &[("toner", 1)]))
        .record(
            &customer("A"),
            PriorityChanged {
                decision: DecisionId::new("DEC-A").unwrap(),
                from: Priority::NORMAL,
                to: Priority::FIRST,
                explanation: explanation("fast-payer", at(2026, 11, 2)),
            },
        )
        .record(
            &customer("D"),
            mode_changed(
                "DEC-D",
                FulfilmentMode::Full,
                FulfilmentMode::Partial,
                at(2026, 11, 2),
            ),
        );
    log.at(at(2026, 11, 11))
        .run(place(
            "A",
            "A-1",
            &[("toner", 4, "30.00"), ("drum", 2, "90.00")],
            at(2026, 11, 12),
        ))
        .run(place(
            "B",
            "B-1",
            &[("toner", 5, "30.00")],
            at(2026, 11, 12),
        ))
        .run(place(
            "C",
            "C-1",
            &[("toner", 6, "30.00"), ("drum", 1, "90.00")],
            at(2026, 11, 11),
        ))
        .run(place(
            "D",
            "D-1",
            &[("toner", 3, "30.00")],
            at(2026, 11, 11),
        ));
    let r = read(&log);
    let now = at_hour(2026, 11, 11, 12);
    check_queue(
        &r,
        now,
        &[
            (1, "A", "A-1", ServiceTier::NoDebt),
            (2, "D", "D-1", ServiceTier::NoDebt),
            (3, "B", "B-1", ServiceTier::NoDebt),
            (4, "C", "C-1", ServiceTier::Debt),
        ],
    );
    let plan = r
        .allocate(&stock(&[("toner", "10"), ("drum", "5")]), now)
        .unwrap();
    use AllocationOutcome::*;
    use AllocationPass::*;
    check_plan(
        &plan,
        &[
            ("A", "A-1", "toner", "4", "4", Regular, Full),
            ("A", "A-1", "drum", "2", "2", Regular, Full),
            ("B", "B-1", "toner", "5", "5", Regular, Full),
            ("C", "C-1", "toner", "6", "1", Regular, Partial),
            ("C", "C-1", "drum", "1", "1", Regular, Full),
            ("D", "D-1", "toner", "3", "0", Residual, Nothing),
        ],
    );
    let reasons: Vec<String> = plan.lines.iter().map(|l| plan.explain(l)).collect();
    assert_eq!(
        reasons[3],
        "scarce: only 1 left after customers ranked ahead [has debt (overdue 80.00, 2 days past due); priority P3; no payment history; deferral 7 days; mode full]"
    );
    assert_eq!(
        reasons[4],
        "stock 5 covers all demand 3 [has debt (overdue 80.00, 2 days past due); priority P3; no payment history; deferral 7 days; mode full]"
    );
    assert_eq!(
        reasons[5],
        "partial mode: scarce item withheld until others are served; 0 left [no debt; priority P3; no payment history; deferral 7 days; mode partial]"
    );
    assert_eq!(plan.remaining(), stock(&[("drum", "2"), ("toner", "0")]));
    assert_eq!(plan.allocated(), stock(&[("drum", "3"), ("toner", "10")]));
    // Deterministic.
    assert_eq!(
        r.allocate(&stock(&[("toner", "10"), ("drum", "5")]), now)
            .unwrap(),
        plan
    );
}

/// Scenario 4: a payment order before the money.
#[test]
fn payment_order_before_money() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "PO",
            "olena",
            terms("1000", Deferral::calendar(7), "0"),
        ))
        .run(place(
            "PO",
            "O-1",
            &[("valve", 2, "100.00")],
            at(2026, 11, 2),
        ))
        .run(deliver("PO", "PO-D1", "O-1", &[("valve", 2)]));
    log.at(at(2026, 11, 10)).run(ReceivePaymentOrder {
        customer: customer("PO"),
        payment_order: PaymentOrderId::new("PO-1").unwrap(),
        amount: money("200.00"),
        expected_by: date(2026, 11, 12),
        receivables: vec![rid("PO-D1")],
        occurred_at: None,
    });
    let r = read(&log);
    let state = r.customer_state(&customer("PO"), at(2026, 11, 10)).unwrap();
    let pending: Vec<_> = state
        .pending_payment_orders
        .iter()
        .map(|p| {
            (
                p.id.to_string(),
                p.amount,
                p.issued_on,
                p.expected_by,
                p.late,
            )
        })
        .collect();
    assert_eq!(
        pending,
        [(
            "PO-1".to_string(),
            money("200.00"),
            date(2026, 11, 10),
            date(2026, 11, 12),
            false
        )]
    );
    // Friday 13 Nov: the money is late.
    let state = r.customer_state(&customer("PO"), at(2026, 11, 13)).unwrap();
    assert!(state.pending_payment_orders[0].late);
    check_reminders(
        &r,
        at(2026, 11, 13),
        &[
            (
                "PO",
                ReminderKind::Overdue,
                Recipient::Customer,
                1,
                Some("PO-D1"),
            ),
            (
                "PO",
                ReminderKind::Overdue,
                Recipient::Manager,
                1,
                Some("PO-D1"),
            ),
            (
                "PO",
                ReminderKind::ServiceWarning,
                Recipient::Customer,
                0,
                Some("PO-D1"),
            ),
            (
                "PO",
                ReminderKind::PaymentOrderOverdue,
                Recipient::Manager,
                0,
                Some("PO-D1"),
            ),
        ],
    );
    // The money arrives on Monday 16 Nov.
    let mut payment = pay("PO", "P-1", "200.00");
    payment.payment_order = Some(PaymentOrderId::new("PO-1").unwrap());
    log.at(at(2026, 11, 16)).run(payment);
    let r = read(&log);
    let state = r.customer_state(&customer("PO"), at(2026, 11, 16)).unwrap();
    assert_eq!(state.pending_payment_orders, []);
    assert_eq!(state.debt, money("0.00"));
    check_reminders(&r, at(2026, 11, 16), &[]);
}

/// Scenario 5: advance, due-date and escalating overdue reminders, the
/// credit limit, and price changes.
#[test]
fn reminders_escalate_and_are_never_sent_twice() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "REM",
            "olena",
            terms("1000", Deferral::business(3), "0"),
        ))
        .run(place(
            "REM",
            "R-1",
            &[("ink", 9, "100.00")],
            at(2026, 11, 2),
        ))
        .run(deliver("REM", "RD-1", "R-1", &[("ink", 9)]));
    // Due Thursday 5 Nov; exposure 900.00 is 90 % of the limit.
    let r = read(&log);
    use Recipient::*;
    use ReminderKind::*;
    check_reminders(
        &r,
        at(2026, 11, 2),
        &[
            ("REM", Advance, Customer, 0, Some("RD-1")),
            ("REM", CreditLimit, Customer, 0, None),
        ],
    );
    check_reminders(
        &r,
        at(2026, 11, 5),
        &[
            ("REM", DueToday, Customer, 0, Some("RD-1")),
            ("REM", CreditLimit, Customer, 0, None),
        ],
    );
    check_reminders(
        &r,
        at(2026, 11, 6),
        &[
            ("REM", Overdue, Customer, 1, Some("RD-1")),
            ("REM", Overdue, Manager, 1, Some("RD-1")),
            ("REM", ServiceWarning, Customer, 0, Some("RD-1")),
            ("REM", CreditLimit, Customer, 0, None),
        ],
    );
    // Tuesday 17 Nov: 8 business days past due, level 2.
    check_reminders(
        &r,
        at(2026, 11, 17),
        &[
            ("REM", Overdue, Customer, 2, Some("RD-1")),
            ("REM", Overdue, Manager, 2, Some("RD-1")),
            ("REM", ServiceWarning, Customer, 0, Some("RD-1")),
            ("REM", CreditLimit, Customer, 0, None),
        ],
    );
    let send = |id: &str, kind, recipient, level, receivables: Vec<_>| SendReminder {
        customer: customer("REM"),
        reminder: ReminderId::new(id).unwrap(),
        kind,
        recipient,
        level,
        receivables,
        message: "reminder".into(),
    };
    log.at(at(2026, 11, 17))
        .run(send("S-1", Overdue, Customer, 2, vec![rid("RD-1")]))
        .run(send("S-2", CreditLimit, Customer, 0, vec![]))
        .run(place(
            "REM",
            "R-2",
            &[("ink", 2, "100.00")],
            at(2026, 11, 18),
        ))
        .record(
            &customer("REM"),
            PriceAdjustmentChanged {
                decision: DecisionId::new("DEC-M").unwrap(),
                adjustment: AdjustmentKind::Markup,
                from: Rate::ZERO,
                to: rate("2"),
                explanation: explanation("late-payer-markup", at(2026, 11, 17)),
            },
        );
    let r = read(&log);
    // Exposure 1100.00 exceeds the limit: level 1 of the credit-limit reminder.
    check_reminders(
        &r,
        at(2026, 11, 17),
        &[
            ("REM", Overdue, Manager, 2, Some("RD-1")),
            ("REM", ServiceWarning, Customer, 0, Some("RD-1")),
            ("REM", CreditLimit, Customer, 1, None),
            ("REM", PriceChange, Customer, 0, None),
        ],
    );
    let price = r
        .reminder_worklist(at(2026, 11, 17))
        .into_iter()
        .find(|d| d.key.kind == PriceChange)
        .unwrap();
    assert_eq!(price.reason, "discount 0%, markup 2%, bonus 0% now apply");
    log.run(send("S-3", PriceChange, Customer, 0, vec![]));
    let r = read(&log);
    assert!(
        r.reminder_worklist(at(2026, 11, 17))
            .iter()
            .all(|d| d.key.kind != PriceChange)
    );
    let state = r
        .customer_state(&customer("REM"), at(2026, 11, 17))
        .unwrap();
    assert_eq!(state.markup, rate("2"));
    assert_eq!(state.headroom, money("-100.00"));
    assert!(state.on_hold());
}

/// Scenario 6: delay reasons, promised dates, broken promises, statistics.
#[test]
fn delay_reasons_and_promises() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "X",
            "olena",
            terms("5000", Deferral::calendar(7), "0"),
        ))
        .run(register(
            "Y",
            "olena",
            terms("5000", Deferral::calendar(7), "0"),
        ))
        .run(register(
            "Z",
            "taras",
            terms("5000", Deferral::calendar(7), "0"),
        ))
        .run(place("X", "X-1", &[("pump", 2, "100.00")], at(2026, 11, 2)))
        .run(deliver("X", "X-D1", "X-1", &[("pump", 1)]))
        .run(deliver("X", "X-D2", "X-1", &[("pump", 1)]))
        .run(place("Y", "Y-1", &[("pump", 1, "100.00")], at(2026, 11, 2)))
        .run(deliver("Y", "Y-D1", "Y-1", &[("pump", 1)]))
        .run(place("Z", "Z-1", &[("pump", 1, "100.00")], at(2026, 11, 2)))
        .run(deliver("Z", "Z-D1", "Z-1", &[("pump", 1)]));
    let now = at(2026, 11, 11);
    let r = read(&log);
    let lists = r.manager_worklist(now);
    let olena = &lists[&manager("olena")];
    let overdue: Vec<_> = olena
        .overdue_customers
        .iter()
        .map(|o| {
            (
                o.customer.to_string(),
                o.overdue_debt,
                o.max_days_past_due,
                o.overdue_receivables,
            )
        })
        .collect();
    assert_eq!(
        overdue,
        [
            ("X".to_string(), money("200.00"), 2, 2),
            ("Y".to_string(), money("100.00"), 2, 1)
        ]
    );
    let missing: Vec<_> = olena
        .missing_explanations
        .iter()
        .map(|m| m.receivable.to_string())
        .collect();
    assert_eq!(missing, ["X-D1", "X-D2", "Y-D1"]);

    let explain = |who: &str, receivable: &str, reason: &str, promised| ExplainDelay {
        customer: customer(who),
        receivables: vec![rid(receivable)],
        reason: ReasonCode::new(reason).unwrap(),
        text: format!("{reason} at {who}"),
        promised_date: promised,
        manager: None,
    };
    log.at(now)
        .run(explain("X", "X-D1", "cash-gap", Some(date(2026, 11, 13))))
        .run(PromiseToPay {
            customer: customer("X"),
            promise: PromiseId::new("PR-1").unwrap(),
            amount: money("100.00"),
            promised_date: date(2026, 11, 12),
            receivables: vec![rid("X-D1")],
        })
        .run(explain("Y", "Y-D1", "cash-gap", None))
        .run(explain("Z", "Z-D1", "dispute", None));
    let r = read(&log);
    let lists = r.manager_worklist(now);
    let olena = &lists[&manager("olena")];
    let missing: Vec<_> = olena
        .missing_explanations
        .iter()
        .map(|m| m.receivable.to_string())
        .collect();
    assert_eq!(missing, ["X-D2"]);
    let promised: Vec<_> = olena
        .promised_dates
        .iter()
        .map(|p| (p.customer.to_string(), p.date))
        .collect();
    assert_eq!(
        promised,
        [
            ("X".to_string(), date(2026, 11, 12)),
            ("X".to_string(), date(2026, 11, 13))
        ]
    );
    assert_eq!(olena.broken_promises, []);
    assert_eq!(lists[&manager("taras")].missing_explanations, []);

    // Friday 13 Nov: nothing paid; the deadline check records the promise broken.
    log.at(at(2026, 11, 13)).run(CheckDeadlines {
        customer: customer("X"),
    });
    let r = read(&log);
    let lists = r.manager_worklist(at(2026, 11, 13));
    let broken: Vec<_> = lists[&manager("olena")]
        .broken_promises
        .iter()
        .map(|b| {
            (
                b.promise.to_string(),
                b.promised_date,
                b.amount,
                b.paid,
                b.recorded,
            )
        })
        .collect();
    assert_eq!(
        broken,
        [(
            "PR-1".to_string(),
            date(2026, 11, 12),
            money("100.00"),
            money("0.00"),
            true
        )]
    );

    let x = r.payment_behaviour(&customer("X")).unwrap();
    assert_eq!(
        x.delay_reasons,
        BTreeMap::from([(ReasonCode::new("cash-gap").unwrap(), 1)])
    );
    assert_eq!(x.promises.broken, 1);
    assert_eq!(x.promises.reliability_percent(), Some(dec("0")));
    let stats = r.manager_statistics();
    assert_eq!(
        stats[&manager("olena")].delay_reasons,
        BTreeMap::from([(ReasonCode::new("cash-gap").unwrap(), 2)])
    );
    assert_eq!(stats[&manager("olena")].promises.broken, 1);
    assert_eq!(
        stats[&manager("taras")].delay_reasons,
        BTreeMap::from([(ReasonCode::new("dispute").unwrap(), 1)])
    );
    assert_eq!(r.overall_behaviour().delay_reasons.values().sum::<u64>(), 3);
    // The statistics survive a persisted checkpoint.
    let restored: Projections = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(restored, r);
}

/// Scenario 7: the state at a past moment, on both times.
#[test]
fn as_of_business_time_and_as_known_at() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "AUD",
            "olena",
            terms("1000", Deferral::calendar(7), "0"),
        ))
        .run(place(
            "AUD",
            "A-1",
            &[("pump", 3, "100.00")],
            at(2026, 11, 2),
        ))
        .run(deliver("AUD", "AD-1", "A-1", &[("pump", 3)]));
    log.at(at(2026, 11, 6)).record(
        &customer("AUD"),
        PriorityChanged {
            decision: DecisionId::new("DEC-6").unwrap(),
            from: Priority::NORMAL,
            to: Priority(5),
            explanation: explanation("unpaid", at(2026, 11, 6)),
        },
    );
    // Recorded on 9 Nov, the money's value date is 5 Nov.
    let mut late = pay("AUD", "P-1", "300.00");
    late.occurred_at = Some(at(2026, 11, 5));
    log.at(at(2026, 11, 9)).run(late);

    let index = AsOfIndex::rebuild(2, &log.events).unwrap();
    assert_eq!(index.checkpoint(), credence_events::GlobalPosition(5));
    let aud = customer("AUD");
    let streams = by_stream(&log.events);
    #[track_caller]
    fn check(
        (index, streams): (&AsOfIndex, &Streams),
        as_of: AsOf,
        debt: &str,
        priority: Option<Priority>,
    ) {
        let state = index
            .state(&customer("AUD"), as_of, streams)
            .unwrap()
            .unwrap();
        assert_eq!(state.debt(), money(debt));
        assert_eq!(state.standing().map(|s| s.priority), priority);
    }
    let read = (&index, &streams);
    check(
        read,
        AsOf::business(at(2026, 11, 6)),
        "0.00",
        Some(Priority(5)),
    );
    check(
        read,
        AsOf::known_at(at(2026, 11, 6)),
        "300.00",
        Some(Priority(5)),
    );
    check(
        read,
        AsOf::both(at(2026, 11, 6), at(2026, 11, 8)),
        "300.00",
        Some(Priority(5)),
    );
    check(
        read,
        AsOf::both(at(2026, 11, 6), at(2026, 11, 9)),
        "0.00",
        Some(Priority(5)),
    );
    check(read, AsOf::business(at(2026, 11, 4)), "300.00", None);
    let before = index
        .state(&aud, AsOf::known_at(at(2026, 11, 1)), &streams)
        .unwrap()
        .unwrap();
    assert!(!before.is_registered());
    assert_eq!(
        index.version_known_at(&aud, at(2026, 11, 6)),
        credence_events::StreamVersion(4)
    );

    // The credit state on 6 Nov, as the decision saw it.
    let config = ProjectionConfig::default();
    let then = index
        .state(&aud, AsOf::known_at(at(2026, 11, 6)), &streams)
        .unwrap()
        .unwrap();
    let state =
        credence_projections::CustomerCreditState::of(&then, at(2026, 11, 6), &config).unwrap();
    assert_eq!(state.debt, money("300.00"));
    assert_eq!(state.overdue_debt, money("0.00"));
    assert_eq!(state.priority, Priority(5));
}

/// Aging with edges of the caller's choice, and the stricter "nothing owed"
/// reading of "without debt".
#[test]
fn aging_edges_and_no_debt_test_are_configurable() {
    let mut log = Log::new();
    log.at(at(2026, 10, 1))
        .run(register(
            "AGE",
            "olena",
            terms("10000", Deferral::calendar(0), "0"),
        ))
        .run(register(
            "NEW",
            "olena",
            terms("10000", Deferral::calendar(30), "0"),
        ))
        .run(place(
            "AGE",
            "O-1",
            &[("pump", 3, "100.00")],
            at(2026, 10, 1),
        ))
        .run(deliver("AGE", "D-1", "O-1", &[("pump", 1)]));
    log.at(at(2026, 10, 31))
        .run(deliver("AGE", "D-2", "O-1", &[("pump", 1)]));
    log.at(at(2026, 11, 17))
        .run(deliver("AGE", "D-3", "O-1", &[("pump", 1)]))
        .run(place(
            "NEW",
            "N-1",
            &[("pump", 1, "100.00")],
            at(2026, 11, 20),
        ))
        .run(deliver("NEW", "ND-1", "N-1", &[("pump", 1)]))
        .run(place(
            "NEW",
            "N-2",
            &[("pump", 1, "100.00")],
            at(2026, 11, 21),
        ))
        .run(place(
            "AGE",
            "O-2",
            &[("pump", 1, "100.00")],
            at(2026, 11, 20),
        ));
    let config = ProjectionConfig {
        aging: credence_projections::AgingBuckets::new(vec![1, 15, 45]).unwrap(),
        ..ProjectionConfig::default()
    };
    let r = Projections::rebuild(config.clone(), &log.events).unwrap();
    // On 20 Nov: D-1 is 50 days past due, D-2 20 days, D-3 3 days.
    let state = r
        .customer_state(&customer("AGE"), at(2026, 11, 20))
        .unwrap();
    let buckets: Vec<(String, Decimal, u64)> = state
        .aging
        .buckets
        .iter()
        .map(|b| (b.range.to_string(), b.amount, b.receivables))
        .collect();
    assert_eq!(
        buckets,
        [
            ("1-14".to_string(), dec("100.00"), 1),
            ("15-44".to_string(), dec("100.00"), 1),
            ("45+".to_string(), dec("100.00"), 1),
        ]
    );
    assert_eq!(state.max_days_past_due, 50);
    // NEW owes 100.00, due in 30 days: without debt by default, with debt
    // when "without debt" means nothing owed.
    check_queue(
        &r,
        at(2026, 11, 20),
        &[
            (1, "NEW", "N-2", ServiceTier::NoDebt),
            (2, "AGE", "O-2", ServiceTier::Debt),
        ],
    );
    let strict = Projections::rebuild(
        ProjectionConfig {
            no_debt: credence_projections::NoDebtTest::NothingOwed,
            ..config
        },
        &log.events,
    )
    .unwrap();
    // Both have debt now; AGE's shorter deferral (0 days) puts it first.
    check_queue(
        &strict,
        at(2026, 11, 20),
        &[
            (1, "AGE", "O-2", ServiceTier::Debt),
            (2, "NEW", "N-2", ServiceTier::Debt),
        ],
    );
}

/// A policy's own reminder schedule plugs in; sent reminders stay out.
#[test]
fn a_custom_reminder_schedule_plugs_in() {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "HOOK",
            "olena",
            terms("1000", Deferral::calendar(7), "0"),
        ))
        .run(place(
            "HOOK",
            "O-1",
            &[("pump", 1, "100.00")],
            at(2026, 11, 2),
        ))
        .run(deliver("HOOK", "D-1", "O-1", &[("pump", 1)]))
        .run(SendReminder {
            customer: customer("HOOK"),
            reminder: ReminderId::new("R-1").unwrap(),
            kind: ReminderKind::Overdue,
            recipient: Recipient::Customer,
            level: 1,
            receivables: vec![rid("D-1")],
            message: "pay".into(),
        });
    let r = read(&log);
    let due = r.reminder_worklist_with(at(2026, 11, 20), |account, _| {
        [1u8, 2]
            .into_iter()
            .filter_map(|level| {
                let profile = account.profile()?;
                Some(credence_projections::DueReminder {
                    customer: profile.customer.clone(),
                    manager: profile.manager.clone(),
                    key: credence_aggregates::ReminderKey {
                        kind: ReminderKind::Overdue,
                        recipient: Recipient::Customer,
                        level,
                        receivable: Some(rid("D-1")),
                    },
                    receivables: vec![rid("D-1")],
                    reason: format!("level {level}"),
                    decision: None,
                })
            })
            .collect()
    });
    let reasons: Vec<&str> = due.iter().map(|d| d.reason.as_str()).collect();
    assert_eq!(reasons, ["level 2"]);
}
