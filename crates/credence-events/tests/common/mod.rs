//! Shared fixtures of the integration tests: value builders and the typed
//! events held by `tests/golden/0.1.0/events.jsonl`.
//!
//! One customer's story in November 2026 (EUR, supplier in Kyiv, Saturday and
//! Sunday off): registration, new terms, an order, a partial delivery on
//! Friday 6 November due ten business days later, a payment, its reversal,
//! reminders, promises and the decisions a policy takes about it.
//!
//! [`golden_0_1_0`] is the expectation of a golden file that is never edited:
//! change it only when the events' Rust types change, never to follow a
//! change of the JSON shape.

#![allow(dead_code)] // each test binary uses part of the fixtures

use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, Utc};
use credence_events::{
    AdjustmentKind, Allocation, Comparison, ConditionTrace, CorrelationId, CreditApplication,
    CreditDecided, Currency, CustomerRegistered, Deferral, DelayExplained, DeliveryLine,
    DeliveryRecorded, DiscountOutcome, Event, EventEnvelope, EventId, Explanation, FactValue,
    FulfilmentMode, FulfilmentModeChanged, GlobalPosition, ManagerAssigned, Money, OrderCancelled,
    OrderLine, OrderPlaced, PaymentMethod, PaymentOrderCleared, PaymentOrderExpired,
    PaymentOrderReceived, PaymentReceived, PaymentReversed, PolicyRef, PriceAdjustmentChanged,
    Priority, PriorityChanged, PromiseToPayBroken, PromiseToPayKept, PromiseToPayMade, Quantity,
    Rate, Recipient, ReminderKind, ReminderSent, ServiceLevel, StreamId, StreamVersion, Terms,
    TermsChanged, Urgency, Verdict,
};

/// The customer whose stream every fixture belongs to.
pub const CUSTOMER: &str = "ACME-042";

/// Any business id (`CustomerId`, `OrderId`, …) from a literal.
#[track_caller]
pub fn id<T>(text: &'static str) -> T
where
    T: TryFrom<&'static str>,
    T::Error: Debug,
{
    T::try_from(text).expect("fixture ids are valid")
}

/// An amount in euros, such as `"203.60"`.
#[track_caller]
pub fn eur(amount: &str) -> Money {
    money(amount, "EUR")
}

/// An amount in `currency`.
#[track_caller]
pub fn money(amount: &str, currency: &str) -> Money {
    Money::new(
        amount.parse().expect("fixture amounts are decimals"),
        Currency::new(currency).expect("fixture currencies are ISO codes"),
    )
    .expect("fixture amounts fit their currency")
}

/// A rate in percent points, such as `"2.5"`.
#[track_caller]
pub fn rate(percent: &str) -> Rate {
    Rate::percent(percent.parse().expect("fixture rates are decimals")).expect("rate in range")
}

/// A quantity, such as `"12.5"`.
#[track_caller]
pub fn qty(value: &str) -> Quantity {
    Quantity::new(value.parse().expect("fixture quantities are decimals")).expect("positive")
}

/// A calendar date, `YYYY-MM-DD`.
#[track_caller]
pub fn date(text: &str) -> NaiveDate {
    text.parse().expect("fixture dates are YYYY-MM-DD")
}

/// A UTC instant in RFC 3339.
#[track_caller]
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("fixture instants are RFC 3339")
}

/// The `n`th event id of the fixtures (a UUIDv7-looking constant).
pub const fn event_id(n: u128) -> EventId {
    EventId::from_u128(0x0193_6f2a_7c1e_7000_8000_0000_0000_0000 | n)
}

/// The `n`th correlation id of the fixtures.
pub const fn correlation_id(n: u128) -> CorrelationId {
    CorrelationId::from_u128(0x0193_6f2a_0000_7000_9000_0000_0000_0000 | n)
}

/// The `version`th event of [`CUSTOMER`]'s stream, occurred and recorded at
/// `occurred_at`, with no correlation or causation. Its id is
/// `event_id(version)` and its global position `4000 + version`.
#[track_caller]
pub fn envelope(version: u64, occurred_at: &str, event: impl Into<Event>) -> EventEnvelope {
    let at = at(occurred_at);
    EventEnvelope {
        id: event_id(version.into()),
        stream: id::<StreamId>(CUSTOMER),
        version: StreamVersion(version),
        position: GlobalPosition(4000 + version),
        occurred_at: at,
        recorded_at: at,
        correlation_id: None,
        causation_id: None,
        event: event.into(),
    }
}

/// The default credit policy, version 3.
pub fn policy() -> PolicyRef {
    PolicyRef {
        id: id("default-credit"),
        version: 3,
        hash: "9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d".into(),
    }
}

/// A condition a rule checked.
pub fn condition(
    fact: &str,
    comparison: Comparison,
    threshold: FactValue,
    observed: FactValue,
    holds: bool,
    sources: &[u128],
) -> ConditionTrace {
    ConditionTrace {
        fact: fact.into(),
        comparison,
        threshold,
        observed,
        holds,
        sources: sources.iter().copied().map(event_id).collect(),
    }
}

/// The explanation of the decisions taken on 23 November 2026, after the
/// reversal of PAY-2026-0311 (event 8) reopened 191.20 EUR of INV-2026-0117
/// (delivered in event 6, due 20 November): three days overdue.
pub fn overdue_explanation(rule: &'static str, summary: &str) -> Explanation {
    Explanation {
        policy: policy(),
        rule: id(rule),
        evaluated_at: at("2026-11-23T07:00:00Z"),
        conditions: vec![
            condition(
                "overdue_debt",
                Comparison::Gt,
                FactValue::Money(eur("0.00")),
                FactValue::Money(eur("191.20")),
                true,
                &[6, 8],
            ),
            condition(
                "max_days_past_due",
                Comparison::Ge,
                FactValue::Integer(3),
                FactValue::Integer(3),
                true,
                &[6],
            ),
            condition(
                "limit_utilisation",
                Comparison::Lt,
                FactValue::Decimal("0.9".parse().expect("decimal")),
                FactValue::Decimal("0.0064".parse().expect("decimal")),
                true,
                &[2, 6, 8],
            ),
        ],
        summary: summary.into(),
    }
}

/// The terms the customer registered with: 30 calendar days.
pub fn registration_terms() -> Terms {
    Terms {
        credit_limit: eur("25000.00"),
        deferral: Deferral::calendar(30),
        base_discount: rate("2.5"),
        markup: rate("0"),
        bonus: rate("1"),
        service_level: ServiceLevel::Standard,
    }
}

/// The terms of the `TermsChanged` in the 0.1.0 golden file: ten business
/// days.
pub fn business_day_terms() -> Terms {
    Terms {
        credit_limit: eur("30000.00"),
        deferral: Deferral::business(10),
        base_discount: rate("3"),
        markup: rate("0"),
        bonus: rate("1.5"),
        service_level: ServiceLevel::Premium,
    }
}

/// The typed envelopes of `tests/golden/0.1.0/events.jsonl`, in file order:
/// one per event type of release 0.1.0, as versions 1 to 20 of
/// [`CUSTOMER`]'s stream (event ids `event_id(1)` to `event_id(20)`).
pub fn golden_0_1_0() -> Vec<EventEnvelope> {
    // The policy runs after the reversal (event 8) and records its decisions
    // a second later, all under one correlation id.
    let decided = |version, event: Event| EventEnvelope {
        recorded_at: at("2026-11-23T07:00:01Z"),
        correlation_id: Some(correlation_id(23)),
        causation_id: Some(event_id(8)),
        ..envelope(version, "2026-11-23T07:00:00Z", event)
    };
    vec![
        envelope(
            1,
            "2026-11-02T08:30:00Z",
            CustomerRegistered {
                customer: id(CUSTOMER),
                name: "Acme Hardware GmbH".into(),
                manager: id("M-007"),
                currency: Currency::new("EUR").expect("EUR"),
                tags: ["region:west".into(), "wholesale".into()].into(),
                terms: registration_terms(),
            },
        ),
        envelope(
            2,
            "2026-11-03T10:15:00Z",
            TermsChanged {
                terms: business_day_terms(),
            },
        ),
        envelope(
            3,
            "2026-11-03T10:20:00Z",
            ManagerAssigned {
                manager: id("M-012"),
            },
        ),
        EventEnvelope {
            correlation_id: Some(correlation_id(4)),
            ..envelope(
                4,
                "2026-11-04T09:12:30Z",
                OrderPlaced {
                    order: id("ORD-2026-1101"),
                    lines: vec![
                        OrderLine {
                            item: id("BOLT-M8"),
                            quantity: qty("500"),
                            unit_price: eur("0.12"),
                        },
                        OrderLine {
                            item: id("DRILL-X2"),
                            quantity: qty("2"),
                            unit_price: eur("149.90"),
                        },
                        OrderLine {
                            item: id("CABLE-3x1.5"),
                            quantity: qty("12.5"),
                            unit_price: eur("1.85"),
                        },
                    ],
                    requested_delivery: at("2026-11-06T07:00:00Z"),
                    urgency: Urgency::Urgent,
                    discount: rate("3"),
                },
            )
        },
        envelope(
            5,
            "2026-11-05T14:00:00Z",
            OrderCancelled {
                order: id("ORD-2026-1102"),
                reason: Some("customer found the cable cheaper elsewhere".into()),
            },
        ),
        // Friday 6 November + 10 business days = Friday 20 November.
        // 500 × 0.12 + 1 × 149.90 = 209.90, less 3 % = 203.603 -> 203.60;
        // 12.40 of it paid from an earlier overpayment (PAY-2026-0298).
        envelope(
            6,
            "2026-11-06T15:45:00Z",
            DeliveryRecorded {
                delivery: id("DLV-2026-0877"),
                order: id("ORD-2026-1101"),
                lines: vec![
                    DeliveryLine {
                        item: id("BOLT-M8"),
                        quantity: qty("500"),
                    },
                    DeliveryLine {
                        item: id("DRILL-X2"),
                        quantity: qty("1"),
                    },
                ],
                delivered_on: date("2026-11-06"),
                receivable: id("INV-2026-0117"),
                amount: eur("203.60"),
                due_date: date("2026-11-20"),
                credit_applied: vec![CreditApplication {
                    payment: id("PAY-2026-0298"),
                    amount: eur("12.40"),
                }],
            },
        ),
        // Value date Friday 20 November, learned on Monday the 23rd:
        // 191.20 settles INV-2026-0117, 58.80 becomes credit balance.
        EventEnvelope {
            recorded_at: at("2026-11-23T06:10:00Z"),
            ..envelope(
                7,
                "2026-11-20T12:00:00Z",
                PaymentReceived {
                    payment: id("PAY-2026-0311"),
                    amount: eur("250.00"),
                    method: PaymentMethod::BankTransfer,
                    received_on: date("2026-11-20"),
                    allocations: vec![Allocation {
                        receivable: id("INV-2026-0117"),
                        amount: eur("191.20"),
                    }],
                    unallocated: eur("58.80"),
                },
            )
        },
        EventEnvelope {
            causation_id: Some(event_id(7)),
            ..envelope(
                8,
                "2026-11-23T06:30:00Z",
                PaymentReversed {
                    payment: id("PAY-2026-0311"),
                    reason: "chargeback: payer account closed".into(),
                    reopened: vec![Allocation {
                        receivable: id("INV-2026-0117"),
                        amount: eur("191.20"),
                    }],
                    credit_removed: eur("58.80"),
                },
            )
        },
        decided(
            9,
            ReminderSent {
                reminder: id("REM-2026-0451"),
                kind: ReminderKind::Overdue,
                recipient: Recipient::Customer,
                level: 1,
                receivables: vec![id("INV-2026-0117")],
                message: "Invoice INV-2026-0117: 191.20 EUR was due on 20 November 2026.".into(),
                explanation: Some(overdue_explanation(
                    "overdue-reminder-1",
                    "first reminder: 191.20 EUR overdue for 3 days",
                )),
            }
            .into(),
        ),
        decided(
            10,
            CreditDecided {
                decision: id("DEC-2026-1188"),
                order: Some(id("ORD-2026-1105")),
                verdict: Verdict::Hold,
                fulfilment: FulfilmentMode::Deferred,
                discount: DiscountOutcome::Suspended,
                priority: Priority(4),
                explanation: overdue_explanation(
                    "hold-while-overdue",
                    "hold ORD-2026-1105: 191.20 EUR overdue for 3 days",
                ),
            }
            .into(),
        ),
        decided(
            11,
            PriceAdjustmentChanged {
                decision: id("DEC-2026-1189"),
                adjustment: AdjustmentKind::Discount,
                from: rate("3"),
                to: rate("0"),
                explanation: overdue_explanation(
                    "suspend-discount",
                    "discount 3% -> 0% while overdue",
                ),
            }
            .into(),
        ),
        decided(
            12,
            PriorityChanged {
                decision: id("DEC-2026-1190"),
                from: Priority::NORMAL,
                to: Priority(4),
                explanation: overdue_explanation(
                    "lower-priority",
                    "priority P3 -> P4 while overdue",
                ),
            }
            .into(),
        ),
        envelope(
            13,
            "2026-11-23T09:20:00Z",
            PaymentOrderReceived {
                payment_order: id("PO-2026-0077"),
                amount: eur("1500.00"),
                issued_on: date("2026-11-23"),
                expected_by: date("2026-11-25"),
                receivables: vec![id("INV-2026-0121"), id("INV-2026-0124")],
            },
        ),
        envelope(
            14,
            "2026-11-24T13:05:00Z",
            DelayExplained {
                receivables: vec![id("INV-2026-0117")],
                manager: id("M-012"),
                reason: id("cash-gap"),
                text: "Waiting for a large customer of theirs to pay; \"end of next week\".".into(),
                promised_date: Some(date("2026-12-04")),
            },
        ),
        envelope(
            15,
            "2026-11-24T13:06:00Z",
            PromiseToPayMade {
                promise: id("PRM-2026-0031"),
                amount: eur("191.20"),
                promised_date: date("2026-12-04"),
                receivables: vec![id("INV-2026-0117")],
            },
        ),
        EventEnvelope {
            causation_id: Some(event_id(13)),
            ..envelope(
                16,
                "2026-11-25T11:00:00Z",
                PaymentOrderCleared {
                    payment_order: id("PO-2026-0077"),
                    payment: id("PAY-2026-0315"),
                },
            )
        },
        // Another payment order, sent earlier, whose money never came.
        envelope(
            17,
            "2026-11-26T22:00:00Z",
            PaymentOrderExpired {
                payment_order: id("PO-2026-0074"),
            },
        ),
        // Promises obtained before November.
        envelope(
            18,
            "2026-11-27T09:30:00Z",
            PromiseToPayKept {
                promise: id("PRM-2026-0029"),
                payment: id("PAY-2026-0320"),
            },
        ),
        envelope(
            19,
            "2026-11-27T22:00:00Z",
            PromiseToPayBroken {
                promise: id("PRM-2026-0027"),
                paid: eur("50.00"),
            },
        ),
        EventEnvelope {
            recorded_at: at("2026-11-28T07:00:01Z"),
            correlation_id: Some(correlation_id(28)),
            causation_id: Some(event_id(19)),
            ..envelope(
                20,
                "2026-11-28T07:00:00Z",
                FulfilmentModeChanged {
                    decision: id("DEC-2026-1203"),
                    from: FulfilmentMode::Full,
                    to: FulfilmentMode::CashOnDelivery,
                    explanation: broken_promise_explanation(),
                },
            )
        },
    ]
}

/// The explanation of the switch to cash on delivery on 28 November 2026,
/// after a broken promise (event 19); shows every kind of fact value.
fn broken_promise_explanation() -> Explanation {
    Explanation {
        policy: policy(),
        rule: id("cod-after-broken-promise"),
        evaluated_at: at("2026-11-28T07:00:00Z"),
        conditions: vec![
            condition(
                "tags",
                Comparison::Contains,
                FactValue::Text("wholesale".into()),
                FactValue::Text("region:west, wholesale".into()),
                true,
                &[1],
            ),
            condition(
                "promise_broken",
                Comparison::Eq,
                FactValue::Bool(true),
                FactValue::Bool(true),
                true,
                &[19],
            ),
            condition(
                "oldest_overdue_due_date",
                Comparison::Le,
                FactValue::Date(date("2026-11-20")),
                FactValue::Date(date("2026-11-20")),
                true,
                &[6],
            ),
            condition(
                "base_discount",
                Comparison::Gt,
                FactValue::Rate(rate("0")),
                FactValue::Rate(rate("3")),
                true,
                &[2],
            ),
        ],
        summary: "cash on delivery after a broken promise to pay".into(),
    }
}
