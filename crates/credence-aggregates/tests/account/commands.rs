//! Every command's happy path and rejections, in given/when/then form.

use credence_aggregates::testing::given;
use credence_aggregates::{
    AssignManager, CancelOrder, ChangeTerms, CheckDeadlines, ExplainDelay, OrderStatus,
    PaymentOrderStatus, PromiseStatus, PromiseToPay, ReceivePaymentOrder, Rejection,
    ReversePayment, SendReminder,
};
use credence_events::{
    BusinessCalendar, CreditApplication, CreditDecided, DecisionId, Deferral, DeliveryLine,
    DeliveryRecorded, DiscountOutcome, Explanation, FulfilmentMode, ManagerAssigned, ManagerId,
    OrderCancelled, OrderLine, OrderPlaced, PaymentOrderExpired, PaymentOrderId,
    PaymentOrderReceived, PolicyId, PolicyRef, Priority, PromiseId, PromiseToPayBroken,
    PromiseToPayKept, PromiseToPayMade, ReasonCode, Recipient, ReminderId, ReminderKind, RuleId,
    TermsChanged, Urgency, Verdict,
};

use crate::fixtures::*;

#[test]
fn register_customer() {
    given([])
        .at(at(2026, 11, 2))
        .when(register())
        .then([registered_event()]);
}

#[test]
fn register_rejections() {
    given([registered_event()])
        .when(register())
        .then_rejects(Rejection::DuplicateCustomer(customer()));
    let mut c = register();
    c.name = "  ".into();
    given([]).when(c).then_rejects(Rejection::Empty("name"));
    let mut c = register();
    c.terms.credit_limit = usd("100");
    given([]).when(c).then_rejects(Rejection::CurrencyMismatch {
        field: "credit_limit",
        expected: eur(),
        found: usd("1").currency(),
    });
    let mut c = register();
    c.terms.base_discount = rate("120");
    given([])
        .when(c)
        .then_rejects_with(|r| matches!(r, Rejection::InvalidTerms(_)));
}

#[test]
fn commands_need_a_registered_customer() {
    given([])
        .when(place("O1", &[("toner", 1, "10")]))
        .then_rejects(Rejection::UnknownCustomer(customer()));
    given([])
        .when(CheckDeadlines {
            customer: customer(),
        })
        .then_rejects(Rejection::UnknownCustomer(customer()));
}

#[test]
fn commands_for_another_customer_are_refused() {
    let mut c = place("O1", &[("toner", 1, "10")]);
    c.customer = credence_events::CustomerId::new("OTHER").unwrap();
    given([registered_event()])
        .when(c)
        .then_rejects(Rejection::WrongAccount {
            command: credence_events::CustomerId::new("OTHER").unwrap(),
            account: customer(),
        });
}

#[test]
fn change_terms_and_manager() {
    let new_terms = terms(Deferral::business(3), "5");
    given([registered_event()])
        .when(ChangeTerms {
            customer: customer(),
            terms: new_terms.clone(),
        })
        .then([TermsChanged {
            terms: new_terms.clone(),
        }
        .into()])
        // The same terms again change nothing.
        .when(ChangeTerms {
            customer: customer(),
            terms: new_terms,
        })
        .then([]);
    let mut wrong = terms(Deferral::calendar(1), "0");
    wrong.credit_limit = usd("5");
    given([registered_event()])
        .when(ChangeTerms {
            customer: customer(),
            terms: wrong,
        })
        .then_rejects_with(|r| matches!(r, Rejection::CurrencyMismatch { .. }));

    let petro = ManagerId::new("petro").unwrap();
    given([registered_event()])
        .when(AssignManager {
            customer: customer(),
            manager: petro.clone(),
        })
        .then([ManagerAssigned { manager: petro }.into()])
        .when(AssignManager {
            customer: customer(),
            manager: ManagerId::new("petro").unwrap(),
        })
        .then([]);
}

#[test]
fn place_order_carries_the_base_discount() {
    given([])
        .and_then(register_with(terms(Deferral::calendar(14), "5")))
        .when(place("O1", &[("toner", 2, "40"), ("drum", 1, "100")]))
        .then([OrderPlaced {
            order: order_id("O1"),
            lines: vec![
                OrderLine {
                    item: item("toner"),
                    quantity: qty(2),
                    unit_price: money("40"),
                },
                OrderLine {
                    item: item("drum"),
                    quantity: qty(1),
                    unit_price: money("100"),
                },
            ],
            requested_delivery: at(2026, 11, 6),
            urgency: Urgency::Normal,
            discount: rate("5"),
        }
        .into()]);
}

#[test]
fn place_order_rejections() {
    let s = given([registered_event()]).and_then(place("O1", &[("toner", 1, "10")]));
    s.clone()
        .when(place("O1", &[("toner", 1, "10")]))
        .then_rejects(Rejection::DuplicateId {
            kind: "order",
            id: "O1".into(),
        });
    s.clone()
        .when(place("O2", &[]))
        .then_rejects(Rejection::Empty("order lines"));
    s.clone()
        .when(place("O2", &[("toner", 1, "10"), ("toner", 2, "10")]))
        .then_rejects(Rejection::DuplicateItem(item("toner")));
    s.clone()
        .when(place("O2", &[("toner", 1, "0")]))
        .then_rejects(Rejection::NotPositive {
            field: "unit_price",
            amount: money("0"),
        });
    s.clone()
        .when(place("O2", &[("toner", 1, "-3")]))
        .then_rejects(Rejection::NotPositive {
            field: "unit_price",
            amount: money("-3"),
        });
    let mut c = place("O2", &[("toner", 1, "10")]);
    c.lines[0].unit_price = usd("10");
    s.when(c).then_rejects(Rejection::CurrencyMismatch {
        field: "unit_price",
        expected: eur(),
        found: usd("1").currency(),
    });
}

#[test]
fn cancel_order() {
    let s = given([registered_event()]).and_then(place("O1", &[("toner", 4, "10")]));
    let s = s
        .when(CancelOrder {
            customer: customer(),
            order: order_id("O1"),
            reason: Some("customer changed its mind".into()),
        })
        .then([OrderCancelled {
            order: order_id("O1"),
            reason: Some("customer changed its mind".into()),
        }
        .into()]);
    assert_eq!(
        s.state().order(&order_id("O1")).unwrap().status,
        OrderStatus::Cancelled
    );
    assert!(s.state().undelivered_value().is_zero());
    s.clone()
        .when(CancelOrder {
            customer: customer(),
            order: order_id("O1"),
            reason: None,
        })
        .then_rejects(Rejection::OrderClosed(order_id("O1")));
    s.when(CancelOrder {
        customer: customer(),
        order: order_id("O9"),
        reason: None,
    })
    .then_rejects(Rejection::UnknownOrder(order_id("O9")));
}

#[test]
fn partial_delivery_then_cancel_the_rest() {
    let s = given([registered_event()])
        .at(at(2026, 11, 2))
        .and_then(place("O1", &[("toner", 4, "10"), ("drum", 1, "100")]))
        .when(deliver("D1", "O1", &[("toner", 3)]))
        .then([DeliveryRecorded {
            delivery: credence_events::DeliveryId::new("D1").unwrap(),
            order: order_id("O1"),
            lines: vec![DeliveryLine {
                item: item("toner"),
                quantity: qty(3),
            }],
            delivered_on: date(2026, 11, 2),
            receivable: rid("D1"),
            amount: money("30"),
            due_date: date(2026, 11, 16),
            credit_applied: vec![],
        }
        .into()]);
    let state = s.state();
    assert_eq!(state.debt(), money("30"));
    // 1 toner (10) + 1 drum (100) still to deliver.
    assert_eq!(state.undelivered_value(), money("110"));
    assert_eq!(state.exposure(), money("140"));
    let s = s
        .when(CancelOrder {
            customer: customer(),
            order: order_id("O1"),
            reason: None,
        })
        .then([OrderCancelled {
            order: order_id("O1"),
            reason: None,
        }
        .into()]);
    assert_eq!(s.state().exposure(), money("30"));
    s.when(deliver("D2", "O1", &[("toner", 1)]))
        .then_rejects(Rejection::OrderClosed(order_id("O1")));
}

#[test]
fn delivery_rejections() {
    let s = given([registered_event()])
        .and_then(place("O1", &[("toner", 4, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 1)]));
    s.clone()
        .when(deliver("D2", "O9", &[("toner", 1)]))
        .then_rejects(Rejection::UnknownOrder(order_id("O9")));
    s.clone()
        .when(deliver("D2", "O1", &[("drum", 1)]))
        .then_rejects(Rejection::ItemNotOrdered {
            order: order_id("O1"),
            item: item("drum"),
        });
    s.clone()
        .when(deliver("D2", "O1", &[("toner", 4)]))
        .then_rejects(Rejection::OverDelivery {
            item: item("toner"),
            open: "3".parse().unwrap(),
            requested: qty(4),
        });
    s.clone()
        .when(deliver("D1", "O1", &[("toner", 1)]))
        .then_rejects(Rejection::DuplicateId {
            kind: "delivery",
            id: "D1".into(),
        });
    let mut c = deliver("D2", "O1", &[("toner", 1)]);
    c.receivable = Some(rid("D1"));
    s.clone().when(c).then_rejects(Rejection::DuplicateId {
        kind: "receivable",
        id: "D1".into(),
    });
    s.clone()
        .when(deliver("D2", "O1", &[]))
        .then_rejects(Rejection::Empty("delivery lines"));
    s.clone()
        .when(deliver("D2", "O1", &[("toner", 1), ("toner", 1)]))
        .then_rejects(Rejection::DuplicateItem(item("toner")));
    // The rest can be delivered; then the order is closed.
    let s = s.and_then(deliver("D2", "O1", &[("toner", 3)]));
    assert_eq!(
        s.state().order(&order_id("O1")).unwrap().status,
        OrderStatus::Delivered
    );
    s.when(deliver("D3", "O1", &[("toner", 1)]))
        .then_rejects(Rejection::OrderClosed(order_id("O1")));
}

fn explanation() -> Explanation {
    Explanation {
        policy: PolicyRef {
            id: PolicyId::new("default").unwrap(),
            version: 1,
            hash: "00".into(),
        },
        rule: RuleId::new("overdue").unwrap(),
        evaluated_at: at(2026, 11, 2),
        conditions: vec![],
        summary: "held".into(),
    }
}

#[test]
fn held_or_refused_orders_are_not_delivered_nor_exposed() {
    for verdict in [Verdict::Hold, Verdict::Refuse] {
        let s = given([registered_event()])
            .and_then(place("O1", &[("toner", 4, "10")]))
            .and([CreditDecided {
                decision: DecisionId::new("dec-1").unwrap(),
                order: Some(order_id("O1")),
                verdict,
                fulfilment: FulfilmentMode::Deferred,
                discount: DiscountOutcome::Kept,
                priority: Priority(5),
                explanation: explanation(),
            }
            .into()]);
        assert!(s.state().exposure().is_zero());
        assert_eq!(s.state().standing().unwrap().priority, Priority(5));
        s.when(deliver("D1", "O1", &[("toner", 1)]))
            .then_rejects(Rejection::OrderNotReleased {
                order: order_id("O1"),
                verdict,
            });
    }
}

#[test]
fn a_suspended_discount_prices_the_delivery_in_full() {
    let s = given([])
        .and_then(register_with(terms(Deferral::calendar(14), "10")))
        .and_then(place("O1", &[("toner", 2, "50")]));
    assert_eq!(s.state().undelivered_value(), money("90"));
    let s = s.and([CreditDecided {
        decision: DecisionId::new("dec-1").unwrap(),
        order: Some(order_id("O1")),
        verdict: Verdict::Accept,
        fulfilment: FulfilmentMode::Full,
        discount: DiscountOutcome::Suspended,
        priority: Priority(4),
        explanation: explanation(),
    }
    .into()]);
    assert_eq!(s.state().undelivered_value(), money("100"));
    let (events, _) = s.when(deliver("D1", "O1", &[("toner", 2)])).events();
    let credence_events::Event::DeliveryRecorded(d) = &events[0] else {
        panic!("expected a delivery")
    };
    assert_eq!(d.amount, money("100"));
}

#[test]
fn business_day_deferral_from_friday_is_wednesday() {
    let s = given([])
        .at(at(2026, 11, 6))
        .and_then(register_with(terms(Deferral::business(3), "0")))
        .and_then(place("O1", &[("cartridge", 5, "12")]));
    let (events, _) = s.when(deliver("D1", "O1", &[("cartridge", 5)])).events();
    let credence_events::Event::DeliveryRecorded(d) = &events[0] else {
        panic!("expected a delivery")
    };
    assert_eq!(d.delivered_on, date(2026, 11, 6));
    assert_eq!(d.due_date, date(2026, 11, 11));
}

#[test]
fn the_calendar_decides_the_local_delivery_date() {
    // 23:30 UTC on Thursday 5 Nov is Friday 6 Nov in Kyiv.
    let late = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 5, 23, 30, 0).unwrap();
    let kyiv = BusinessCalendar::new(chrono_tz::Europe::Kyiv);
    let s = given([])
        .with_calendar(kyiv)
        .at(late)
        .and_then(register_with(terms(Deferral::business(3), "0")))
        .and_then(place("O1", &[("cartridge", 1, "12")]));
    let (events, _) = s.when(deliver("D1", "O1", &[("cartridge", 1)])).events();
    let credence_events::Event::DeliveryRecorded(d) = &events[0] else {
        panic!("expected a delivery")
    };
    assert_eq!(d.delivered_on, date(2026, 11, 6));
    assert_eq!(d.due_date, date(2026, 11, 11));
}

#[test]
fn overpayment_credit_is_consumed_by_the_next_delivery() {
    let s = given([registered_event()])
        .at(at(2026, 11, 2))
        .and_then(place("O1", &[("toner", 10, "10")]))
        .and_then(pay("P1", "30"));
    assert_eq!(s.state().credit_balance(), money("30"));
    let s = s
        .when(deliver("D1", "O1", &[("toner", 2)]))
        .then([DeliveryRecorded {
            delivery: credence_events::DeliveryId::new("D1").unwrap(),
            order: order_id("O1"),
            lines: vec![DeliveryLine {
                item: item("toner"),
                quantity: qty(2),
            }],
            delivered_on: date(2026, 11, 2),
            receivable: rid("D1"),
            amount: money("20"),
            due_date: date(2026, 11, 16),
            credit_applied: vec![CreditApplication {
                payment: pid("P1"),
                amount: money("20"),
            }],
        }
        .into()]);
    let state = s.state();
    assert!(state.debt().is_zero());
    assert_eq!(state.credit_balance(), money("10"));
    assert!(!state.receivable(&rid("D1")).unwrap().is_open());
    let s = s.and_then(deliver("D2", "O1", &[("toner", 3)]));
    let state = s.state();
    assert_eq!(state.debt(), money("20"));
    assert!(state.credit_balance().is_zero());
}

#[test]
fn time_must_not_go_backwards() {
    let s = given([registered_event()]).at(at(2026, 11, 5));
    let s = s.and_then(place("O1", &[("toner", 1, "10")]));
    s.clone()
        .at(at(2026, 11, 4))
        .when(place("O2", &[("toner", 1, "10")]))
        .then_rejects(Rejection::TimeWentBackwards {
            last: at(2026, 11, 5),
            now: at(2026, 11, 4),
        });
    let mut c = pay("P1", "5");
    c.occurred_at = Some(at(2026, 11, 6));
    s.clone().when(c).then_rejects(Rejection::OccursInFuture {
        occurred_at: at(2026, 11, 6),
        now: at(2026, 11, 5),
    });
    // A fact with an earlier value date is fine: the money arrived on 3 Nov.
    let mut c = pay("P1", "5");
    c.occurred_at = Some(at(2026, 11, 3));
    let (events, _) = s.when(c).events();
    let credence_events::Event::PaymentReceived(p) = &events[0] else {
        panic!("expected a payment")
    };
    assert_eq!(p.received_on, date(2026, 11, 3));
}

#[test]
fn payment_orders_clear_or_expire() {
    let s = given([registered_event()])
        .at(at(2026, 11, 2))
        .and_then(place("O1", &[("toner", 10, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 10)]));
    let po = PaymentOrderId::new("PO-1").unwrap();
    let receive = ReceivePaymentOrder {
        customer: customer(),
        payment_order: po.clone(),
        amount: money("100"),
        expected_by: date(2026, 11, 4),
        receivables: vec![rid("D1")],
        occurred_at: None,
    };
    let s = s.when(receive.clone()).then([PaymentOrderReceived {
        payment_order: po.clone(),
        amount: money("100"),
        issued_on: date(2026, 11, 2),
        expected_by: date(2026, 11, 4),
        receivables: vec![rid("D1")],
    }
    .into()]);
    s.clone()
        .when(receive.clone())
        .then_rejects(Rejection::DuplicateId {
            kind: "payment order",
            id: "PO-1".into(),
        });
    // Nothing is due on the expected date itself.
    let s = s
        .at(at(2026, 11, 4))
        .when(CheckDeadlines {
            customer: customer(),
        })
        .then([]);
    // The money clears it.
    let mut money_in = pay("P1", "100");
    money_in.payment_order = Some(po.clone());
    let cleared = s.clone().and_then(money_in.clone());
    assert_eq!(
        cleared.state().payment_orders()[&po].status,
        PaymentOrderStatus::Cleared
    );
    cleared
        .when(ReceivePaymentOrder {
            payment_order: PaymentOrderId::new("PO-2").unwrap(),
            ..receive.clone()
        })
        .then_rejects(Rejection::ReceivableClosed(rid("D1")));
    // Or the day after, it expires.
    let expired = s
        .at(at(2026, 11, 5))
        .when(CheckDeadlines {
            customer: customer(),
        })
        .then([PaymentOrderExpired {
            payment_order: po.clone(),
        }
        .into()]);
    expired
        .clone()
        .when(money_in)
        .then_rejects(Rejection::PaymentOrderNotPending(po));
    let mut unknown = pay("P2", "1");
    unknown.payment_order = Some(PaymentOrderId::new("PO-9").unwrap());
    expired
        .clone()
        .when(unknown)
        .then_rejects(Rejection::UnknownPaymentOrder(
            PaymentOrderId::new("PO-9").unwrap(),
        ));
    expired
        .when(ReceivePaymentOrder {
            payment_order: PaymentOrderId::new("PO-3").unwrap(),
            expected_by: date(2026, 11, 1),
            ..receive
        })
        .then_rejects(Rejection::DateTooEarly {
            field: "expected_by",
            date: date(2026, 11, 1),
            earliest: date(2026, 11, 5),
        });
}

#[test]
fn promises_are_kept_or_broken() {
    let s = given([registered_event()])
        .at(at(2026, 11, 2))
        .and_then(place("O1", &[("toner", 10, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 10)]));
    let promise = PromiseId::new("PR-1").unwrap();
    let make = PromiseToPay {
        customer: customer(),
        promise: promise.clone(),
        amount: money("60"),
        promised_date: date(2026, 11, 10),
        receivables: vec![rid("D1")],
    };
    let s = s.when(make.clone()).then([PromiseToPayMade {
        promise: promise.clone(),
        amount: money("60"),
        promised_date: date(2026, 11, 10),
        receivables: vec![rid("D1")],
    }
    .into()]);
    // Kept: 40 then 20 by the date.
    let kept = s
        .clone()
        .at(at(2026, 11, 9))
        .and_then(pay("P1", "40"))
        .when(pay("P2", "20"))
        .events()
        .1;
    assert_eq!(
        kept.state().promises()[&promise].status,
        PromiseStatus::Kept
    );
    let (events, _) = s
        .clone()
        .at(at(2026, 11, 9))
        .and_then(pay("P1", "40"))
        .when(pay("P2", "20"))
        .events();
    assert_eq!(
        events[1],
        PromiseToPayKept {
            promise: promise.clone(),
            payment: pid("P2")
        }
        .into()
    );
    // Broken: the date passes with 40 of 60 in.
    s.clone()
        .at(at(2026, 11, 9))
        .and_then(pay("P1", "40"))
        .at(at(2026, 11, 11))
        .when(CheckDeadlines {
            customer: customer(),
        })
        .then([PromiseToPayBroken {
            promise: promise.clone(),
            paid: money("40"),
        }
        .into()]);
    // Broken too when the money comes after the date.
    let (events, _) = s
        .clone()
        .at(at(2026, 11, 12))
        .when(pay("P1", "60"))
        .events();
    assert_eq!(
        events[1],
        PromiseToPayBroken {
            promise: promise.clone(),
            paid: money("0")
        }
        .into()
    );
    s.clone()
        .when(make.clone())
        .then_rejects(Rejection::DuplicateId {
            kind: "promise",
            id: "PR-1".into(),
        });
    s.when(PromiseToPay {
        promise: PromiseId::new("PR-2").unwrap(),
        promised_date: date(2026, 11, 1),
        ..make
    })
    .then_rejects(Rejection::DateTooEarly {
        field: "promised_date",
        date: date(2026, 11, 1),
        earliest: date(2026, 11, 2),
    });
}

#[test]
fn delay_explanations() {
    let s = given([registered_event()])
        .at(at(2026, 11, 2))
        .and_then(place("O1", &[("toner", 10, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 10)]));
    let explain = ExplainDelay {
        customer: customer(),
        receivables: vec![rid("D1")],
        reason: ReasonCode::new("cash-gap").unwrap(),
        text: "waiting for its own customer to pay".into(),
        promised_date: Some(date(2026, 11, 20)),
        manager: None,
    };
    let s = s.and_then(explain.clone());
    let e = s
        .state()
        .receivable(&rid("D1"))
        .unwrap()
        .explanation
        .clone();
    assert_eq!(e.unwrap().manager, manager());
    s.clone()
        .when(ExplainDelay {
            receivables: vec![],
            ..explain.clone()
        })
        .then_rejects(Rejection::Empty("receivables"));
    s.clone()
        .when(ExplainDelay {
            text: " ".into(),
            ..explain.clone()
        })
        .then_rejects(Rejection::Empty("text"));
    s.clone()
        .when(ExplainDelay {
            receivables: vec![rid("X")],
            ..explain.clone()
        })
        .then_rejects(Rejection::ForeignReceivable(rid("X")));
    s.and_then(pay("P1", "100"))
        .when(explain)
        .then_rejects(Rejection::ReceivableClosed(rid("D1")));
}

#[test]
fn reminders_are_never_sent_twice() {
    let s = given([registered_event()])
        .at(at(2026, 11, 2))
        .and_then(place("O1", &[("toner", 10, "10")]))
        .and_then(deliver("D1", "O1", &[("toner", 10)]));
    let remind = SendReminder {
        customer: customer(),
        reminder: ReminderId::new("R1").unwrap(),
        kind: ReminderKind::Overdue,
        recipient: Recipient::Customer,
        level: 1,
        receivables: vec![rid("D1")],
        message: "your payment is overdue".into(),
    };
    let s = s.and_then(remind.clone());
    s.clone()
        .when(remind.clone())
        .then_rejects(Rejection::DuplicateId {
            kind: "reminder",
            id: "R1".into(),
        });
    s.clone()
        .when(SendReminder {
            reminder: ReminderId::new("R2").unwrap(),
            ..remind.clone()
        })
        .then_rejects(Rejection::ReminderAlreadySent {
            kind: "Overdue".into(),
            level: 1,
            receivable: rid("D1"),
        });
    // Level 2, or the manager, is another reminder.
    s.clone()
        .and_then(SendReminder {
            reminder: ReminderId::new("R2").unwrap(),
            level: 2,
            ..remind.clone()
        })
        .and_then(SendReminder {
            reminder: ReminderId::new("R3").unwrap(),
            recipient: Recipient::Manager,
            ..remind.clone()
        });
    s.when(SendReminder {
        reminder: ReminderId::new("R4").unwrap(),
        message: String::new(),
        ..remind
    })
    .then_rejects(Rejection::Empty("message"));
}

#[test]
fn reversal_rejections() {
    let s = given([registered_event()]).and_then(pay("P1", "10"));
    s.clone()
        .when(ReversePayment {
            customer: customer(),
            payment: pid("P9"),
            reason: "bounced".into(),
        })
        .then_rejects(Rejection::UnknownPayment(pid("P9")));
    s.clone()
        .when(ReversePayment {
            customer: customer(),
            payment: pid("P1"),
            reason: "".into(),
        })
        .then_rejects(Rejection::Empty("reason"));
    s.and_then(ReversePayment {
        customer: customer(),
        payment: pid("P1"),
        reason: "bounced".into(),
    })
    .when(ReversePayment {
        customer: customer(),
        payment: pid("P1"),
        reason: "bounced".into(),
    })
    .then_rejects(Rejection::PaymentAlreadyReversed(pid("P1")));
}

#[test]
fn check_deadlines_with_nothing_due_records_nothing() {
    given([registered_event()])
        .when(CheckDeadlines {
            customer: customer(),
        })
        .then([]);
}

#[test]
fn commands_round_trip_through_json() {
    let command = cmd(place("O1", &[("toner", 2, "40")]));
    let json = serde_json::to_string(&command).unwrap();
    assert!(
        json.starts_with(r#"{"command":"place_order","customer":"ACME""#),
        "{json}"
    );
    let back: credence_aggregates::Command = serde_json::from_str(&json).unwrap();
    assert_eq!(back, command);
    let minimal = r#"{"command":"receive_payment","customer":"ACME","payment":"P1",
        "amount":{"amount":"10","currency":"EUR"},"method":"cash"}"#;
    let c: credence_aggregates::Command = serde_json::from_str(minimal).unwrap();
    assert_eq!(
        c,
        cmd(credence_aggregates::ReceivePayment {
            method: credence_events::PaymentMethod::Cash,
            ..pay("P1", "10")
        })
    );
}
