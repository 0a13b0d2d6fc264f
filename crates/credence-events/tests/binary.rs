//! The binary payload encoding (`credence_events::binary`): every event type
//! round-trips, decodes to exactly what the JSON codec decodes, and damaged
//! bytes are errors, never panics and never values the JSON path would
//! reject.
//!
//! The strategies here reach every event type and every field, with values
//! at the edges of what validation allows: any currency code, amounts up to
//! `Money::MAX_AMOUNT`, decimals of every scale, rates up to 1000 %, dates
//! and instants over chrono's whole range (leap seconds included), ids of
//! any printable text.

mod common;

use std::collections::BTreeSet;
use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, Utc};
use credence_events::binary::{self, BinaryError};
use credence_events::codec;
use credence_events::decision::{
    AdjustmentKind, Comparison, ConditionTrace, DiscountOutcome, Explanation, FactValue,
    FulfilmentMode, PolicyRef, Priority, Recipient, ReminderKind, Verdict,
};
use credence_events::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn any_id<T>() -> impl Strategy<Value = T>
where
    T: TryFrom<String> + Debug,
{
    "\\PC{1,16}".prop_filter_map("not a valid id", |text| T::try_from(text).ok())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "\\PC{0,24}", any::<String>()]
}

/// Any decimal: every scale, mantissas up to 96 bits, either sign.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    (
        prop_oneof![0u128..1000, 0u128..(1u128 << 40), 0u128..(1u128 << 96)],
        0u32..=28,
        any::<bool>(),
    )
        .prop_map(|(m, scale, negative)| {
            let m = m as i128;
            Decimal::from_i128_with_scale(if negative { -m } else { m }, scale)
        })
}

fn any_currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        prop::sample::select(vec!["EUR", "UAH", "JPY", "KWD", "BHD", "CLP"]).prop_map(String::from),
        "[A-Z]{3}",
    ]
    .prop_map(|code| Currency::new(&code).expect("three upper-case letters"))
}

fn money_in(currency: Currency) -> impl Strategy<Value = Money> {
    (any_decimal(), prop_oneof![Just(true), Just(false)]).prop_filter_map(
        "does not fit the currency",
        move |(amount, exact)| {
            let amount = if exact {
                amount.round_dp(currency.minor_units())
            } else {
                amount
            };
            Money::new(amount, currency).ok()
        },
    )
}

fn any_money() -> impl Strategy<Value = Money> {
    any_currency().prop_flat_map(money_in)
}

fn any_rate() -> impl Strategy<Value = Rate> {
    prop_oneof![
        Just(Rate::ZERO),
        (0u64..=1000, 0u32..=28).prop_filter_map("out of range", |(m, s)| {
            Rate::percent(Decimal::new(m as i64, s)).ok()
        }),
        any_decimal().prop_filter_map("out of range", |d| Rate::percent(d.abs()).ok()),
    ]
}

fn any_quantity() -> impl Strategy<Value = Quantity> {
    any_decimal().prop_filter_map("not a quantity", |d| Quantity::new(d.abs()).ok())
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        Just(NaiveDate::MIN),
        Just(NaiveDate::MAX),
        (700_000i32..=800_000)
            .prop_filter_map("out of range", NaiveDate::from_num_days_from_ce_opt),
        (-95_000_000i32..95_000_000)
            .prop_filter_map("out of range", NaiveDate::from_num_days_from_ce_opt),
    ]
}

fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let at = |(secs, nanos): (i64, u32)| DateTime::from_timestamp(secs, nanos);
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (946_684_800i64..4_102_444_800, 0u32..1_000_000_000).prop_filter_map("out of range", at),
        // Leap seconds: chrono allows them at a minute's 59th second.
        (0i64..100_000_000, 1_000_000_000u32..2_000_000_000)
            .prop_filter_map("out of range", move |(m, nanos)| at((m * 60 + 59, nanos))),
        (
            -8_200_000_000_000i64..8_200_000_000_000,
            0u32..1_000_000_000
        )
            .prop_filter_map("out of range", at),
    ]
}

fn any_deferral() -> impl Strategy<Value = Deferral> {
    (any::<u16>(), any::<bool>()).prop_map(|(days, business)| {
        if business {
            Deferral::business(days)
        } else {
            Deferral::calendar(days)
        }
    })
}

fn any_terms() -> impl Strategy<Value = Terms> {
    (
        any_money(),
        any_deferral(),
        any_rate(),
        any_rate(),
        any_rate(),
        prop::sample::select(vec![
            ServiceLevel::Basic,
            ServiceLevel::Standard,
            ServiceLevel::Premium,
        ]),
    )
        .prop_map(
            |(credit_limit, deferral, base_discount, markup, bonus, service_level)| Terms {
                credit_limit,
                deferral,
                base_discount,
                markup,
                bonus,
                service_level,
            },
        )
}

fn any_fact() -> impl Strategy<Value = FactValue> {
    prop_oneof![
        any::<bool>().prop_map(FactValue::Bool),
        any::<i64>().prop_map(FactValue::Integer),
        any_decimal().prop_map(FactValue::Decimal),
        any_rate().prop_map(FactValue::Rate),
        any_money().prop_map(FactValue::Money),
        any_date().prop_map(FactValue::Date),
        any_text().prop_map(FactValue::Text),
    ]
}

fn any_explanation() -> impl Strategy<Value = Explanation> {
    let condition = (
        any_text(),
        prop::sample::select(vec![
            Comparison::Lt,
            Comparison::Le,
            Comparison::Eq,
            Comparison::Ne,
            Comparison::Ge,
            Comparison::Gt,
            Comparison::Contains,
        ]),
        any_fact(),
        any_fact(),
        any::<bool>(),
        prop::collection::vec(any::<u128>().prop_map(EventId::from_u128), 0..4),
    )
        .prop_map(
            |(fact, comparison, threshold, observed, holds, sources)| ConditionTrace {
                fact,
                comparison,
                threshold,
                observed,
                holds,
                sources,
            },
        );
    (
        (any_id(), any::<u32>(), any_text()),
        any_id(),
        any_instant(),
        prop::collection::vec(condition, 0..4),
        any_text(),
    )
        .prop_map(
            |((id, version, hash), rule, evaluated_at, conditions, summary)| Explanation {
                policy: PolicyRef { id, version, hash },
                rule,
                evaluated_at,
                conditions,
                summary,
            },
        )
}

fn fulfilment() -> impl Strategy<Value = FulfilmentMode> {
    prop::sample::select(vec![
        FulfilmentMode::Full,
        FulfilmentMode::Partial,
        FulfilmentMode::Residual,
        FulfilmentMode::CashOnDelivery,
        FulfilmentMode::Deferred,
        FulfilmentMode::Refused,
    ])
}

fn priority() -> impl Strategy<Value = Priority> {
    (1u8..=u8::MAX).prop_map(Priority)
}

fn ids<T: TryFrom<String> + Debug>() -> impl Strategy<Value = Vec<T>> {
    prop::collection::vec(any_id(), 0..4)
}

/// Any event of any type.
fn any_event() -> impl Strategy<Value = Event> {
    let registration = (
        any_id(),
        any_text(),
        any_id(),
        any_currency(),
        prop::collection::btree_set(any_text(), 0..4),
        any_terms(),
    )
        .prop_map(
            |(customer, name, manager, currency, tags, terms)| CustomerRegistered {
                customer,
                name,
                manager,
                currency,
                tags: tags.into_iter().collect::<BTreeSet<_>>(),
                terms,
            },
        );
    let order = (
        any_id(),
        prop::collection::vec(
            (any_id(), any_quantity(), any_money()).prop_map(|(item, quantity, unit_price)| {
                OrderLine {
                    item,
                    quantity,
                    unit_price,
                }
            }),
            0..4,
        ),
        any_instant(),
        prop::sample::select(vec![Urgency::Normal, Urgency::Urgent, Urgency::SameDay]),
        any_rate(),
    )
        .prop_map(
            |(order, lines, requested_delivery, urgency, discount)| OrderPlaced {
                order,
                lines,
                requested_delivery,
                urgency,
                discount,
            },
        );
    let delivery = (
        any_id(),
        any_id(),
        prop::collection::vec(
            (any_id(), any_quantity()).prop_map(|(item, quantity)| DeliveryLine { item, quantity }),
            0..4,
        ),
        any_date(),
        any_id(),
        any_money(),
        any_date(),
        prop::collection::vec(
            (any_id(), any_money())
                .prop_map(|(payment, amount)| CreditApplication { payment, amount }),
            0..3,
        ),
    )
        .prop_map(
            |(delivery, order, lines, delivered_on, receivable, amount, due_date, credit)| {
                DeliveryRecorded {
                    delivery,
                    order,
                    lines,
                    delivered_on,
                    receivable,
                    amount,
                    due_date,
                    credit_applied: credit,
                }
            },
        );
    let allocations = || {
        prop::collection::vec(
            (any_id(), any_money())
                .prop_map(|(receivable, amount)| Allocation { receivable, amount }),
            0..4,
        )
    };
    let payment = (
        any_id(),
        any_money(),
        prop::sample::select(vec![
            PaymentMethod::BankTransfer,
            PaymentMethod::Cash,
            PaymentMethod::CashOnDelivery,
        ]),
        any_date(),
        allocations(),
        any_money(),
    )
        .prop_map(
            |(payment, amount, method, received_on, allocations, unallocated)| PaymentReceived {
                payment,
                amount,
                method,
                received_on,
                allocations,
                unallocated,
            },
        );
    let reminder = (
        any_id(),
        prop::sample::select(vec![
            ReminderKind::Advance,
            ReminderKind::DueToday,
            ReminderKind::Overdue,
            ReminderKind::CreditLimit,
            ReminderKind::PriceChange,
            ReminderKind::PriorityChange,
            ReminderKind::ServiceWarning,
            ReminderKind::PaymentOrderOverdue,
            ReminderKind::PromiseBroken,
        ]),
        prop::sample::select(vec![Recipient::Customer, Recipient::Manager]),
        any::<u8>(),
        ids(),
        any_text(),
        prop::option::of(any_explanation()),
    )
        .prop_map(
            |(reminder, kind, recipient, level, receivables, message, explanation)| ReminderSent {
                reminder,
                kind,
                recipient,
                level,
                receivables,
                message,
                explanation,
            },
        );
    let decided = (
        any_id(),
        prop::option::of(any_id()),
        prop::sample::select(vec![Verdict::Accept, Verdict::Hold, Verdict::Refuse]),
        fulfilment(),
        prop::sample::select(vec![DiscountOutcome::Kept, DiscountOutcome::Suspended]),
        priority(),
        any_explanation(),
    )
        .prop_map(
            |(decision, order, verdict, fulfilment, discount, priority, explanation)| {
                CreditDecided {
                    decision,
                    order,
                    verdict,
                    fulfilment,
                    discount,
                    priority,
                    explanation,
                }
            },
        );
    prop_oneof![
        registration.prop_map(Event::from),
        any_terms().prop_map(|terms| Event::from(TermsChanged { terms })),
        any_id().prop_map(|manager| Event::from(ManagerAssigned { manager })),
        order.prop_map(Event::from),
        (any_id(), prop::option::of(any_text()))
            .prop_map(|(order, reason)| Event::from(OrderCancelled { order, reason })),
        delivery.prop_map(Event::from),
        payment.prop_map(Event::from),
        (any_id(), any_money(), any_date(), any_date(), ids()).prop_map(
            |(payment_order, amount, issued_on, expected_by, receivables)| {
                Event::from(PaymentOrderReceived {
                    payment_order,
                    amount,
                    issued_on,
                    expected_by,
                    receivables,
                })
            }
        ),
        (any_id(), any_id()).prop_map(|(payment_order, payment)| Event::from(
            PaymentOrderCleared {
                payment_order,
                payment
            }
        )),
        any_id().prop_map(|payment_order| Event::from(PaymentOrderExpired { payment_order })),
        (any_id(), any_text(), allocations(), any_money()).prop_map(
            |(payment, reason, reopened, credit_removed)| Event::from(PaymentReversed {
                payment,
                reason,
                reopened,
                credit_removed,
            })
        ),
        reminder.prop_map(Event::from),
        (
            ids(),
            any_id(),
            any_id(),
            any_text(),
            prop::option::of(any_date())
        )
            .prop_map(|(receivables, manager, reason, text, promised_date)| {
                Event::from(DelayExplained {
                    receivables,
                    manager,
                    reason,
                    text,
                    promised_date,
                })
            }),
        (any_id(), any_money(), any_date(), ids()).prop_map(
            |(promise, amount, promised_date, receivables)| Event::from(PromiseToPayMade {
                promise,
                amount,
                promised_date,
                receivables,
            })
        ),
        (any_id(), any_id())
            .prop_map(|(promise, payment)| Event::from(PromiseToPayKept { promise, payment })),
        (any_id(), any_money())
            .prop_map(|(promise, paid)| Event::from(PromiseToPayBroken { promise, paid })),
        decided.prop_map(Event::from),
        (
            any_id(),
            prop::sample::select(vec![
                AdjustmentKind::Discount,
                AdjustmentKind::Markup,
                AdjustmentKind::Bonus
            ]),
            any_rate(),
            any_rate(),
            any_explanation()
        )
            .prop_map(|(decision, adjustment, from, to, explanation)| {
                Event::from(PriceAdjustmentChanged {
                    decision,
                    adjustment,
                    from,
                    to,
                    explanation,
                })
            }),
        (any_id(), priority(), priority(), any_explanation()).prop_map(
            |(decision, from, to, explanation)| Event::from(PriorityChanged {
                decision,
                from,
                to,
                explanation,
            })
        ),
        (any_id(), fulfilment(), fulfilment(), any_explanation()).prop_map(
            |(decision, from, to, explanation)| Event::from(FulfilmentModeChanged {
                decision,
                from,
                to,
                explanation,
            })
        ),
    ]
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

fn encode(event: &Event) -> Vec<u8> {
    let mut out = Vec::new();
    binary::encode_event(event, &mut out);
    out
}

/// Whatever the binary decoder accepts, the JSON codec accepts too and
/// decodes to the same event; and it encodes to bytes that decode to it.
fn check_accepted(event: &Event) -> Result<(), TestCaseError> {
    let json = codec::encode_event(event);
    let from_json = codec::decode_event(event.type_name(), event.schema_version(), &json);
    prop_assert!(
        from_json.is_ok(),
        "JSON rejects what binary accepted: {:?}\n{}",
        from_json,
        json
    );
    prop_assert_eq!(from_json.unwrap(), event.clone());
    let again = binary::decode_event(event.type_name(), event.schema_version(), &encode(event));
    prop_assert_eq!(again, Ok(event.clone()));
    Ok(())
}

#[test]
fn the_golden_events_round_trip() {
    let mut types = BTreeSet::new();
    for envelope in common::golden_0_1_0() {
        let event = &envelope.event;
        let bytes = encode(event);
        let json = codec::encode_event(event);
        assert!(
            bytes.len() < json.len(),
            "{}: {} bytes binary, {} JSON",
            event.type_name(),
            bytes.len(),
            json.len()
        );
        assert_eq!(
            binary::decode_event(event.type_name(), event.schema_version(), &bytes),
            Ok(event.clone())
        );
        types.insert(event.type_name());
    }
    assert!(types.len() >= 15, "{types:?}");
}

#[test]
fn a_known_payload_keeps_its_bytes() {
    // ManagerAssigned { manager: "M-7" } and PromiseToPayBroken: pinned
    // bytes, so that an accidental change of the shape fails here (the
    // store's fixture segments pin every type).
    let e = Event::from(ManagerAssigned {
        manager: ManagerId::new("M-7").unwrap(),
    });
    assert_eq!(encode(&e), b"\x03M-7");
    let e = Event::from(PromiseToPayBroken {
        promise: PromiseId::new("P").unwrap(),
        paid: Money::new(Decimal::new(-12345, 2), Currency::new("EUR").unwrap()).unwrap(),
    });
    // "P", "EUR", scale 2, zigzag(-12345) = 24689 = 0xF1 0xC0 0x01.
    assert_eq!(encode(&e), b"\x01PEUR\x02\xf1\xc0\x01");
}

#[test]
fn invalid_values_are_rejected() {
    let decode = |t: &str, b: &[u8]| binary::decode_event(t, 1, b);
    // An empty id, an id with surrounding whitespace, a control character.
    assert!(decode("ManagerAssigned", b"\x00").is_err());
    assert!(decode("ManagerAssigned", b"\x02 m").is_err());
    assert!(decode("ManagerAssigned", b"\x02m\n").is_err());
    assert!(decode("ManagerAssigned", b"\x02\xff\xfe").is_err());
    // Money with more decimals than the currency has, a lower-case
    // currency, a scale above 28, a mantissa of 2^96.
    assert!(decode("PromiseToPayBroken", b"\x01PEUR\x03\x02").is_err());
    assert!(decode("PromiseToPayBroken", b"\x01PEUR\x02\x02").is_ok());
    assert!(decode("PromiseToPayBroken", b"\x01Peur\x02\x02").is_err());
    assert!(decode("PromiseToPayBroken", b"\x01PJPY\x1d\x00").is_err());
    let mut big = b"\x01PEUR\x00".to_vec();
    big.extend_from_slice(&[0x80; 13]);
    big.push(0x40); // zigzag(2^96) = 2^97: wider than 97 bits
    assert!(matches!(
        decode("PromiseToPayBroken", &big),
        Err(BinaryError::Invalid { .. })
    ));
    // More than Money::MAX_AMOUNT.
    let mut over = b"\x01PEUR\x00".to_vec();
    let m: u128 = 2 * (10u128.pow(24) + 1);
    let mut v = m;
    while v >= 0x80 {
        over.push((v as u8) | 0x80);
        v >>= 7;
    }
    over.push(v as u8);
    assert!(decode("PromiseToPayBroken", &over).is_err());
    // Priority 0, an unknown enum tag, a bool of 2, an option byte of 2.
    let base = encode(&Event::from(PriorityChanged {
        decision: DecisionId::new("D").unwrap(),
        from: Priority(1),
        to: Priority(2),
        explanation: common::overdue_explanation("r", "s"),
    }));
    assert!(binary::decode_event("PriorityChanged", 1, &base).is_ok());
    let mut zero = base.clone();
    zero[2] = 0;
    assert!(binary::decode_event("PriorityChanged", 1, &zero).is_err());
    let cancelled = |reason: &[u8]| {
        let mut b = b"\x01O".to_vec();
        b.extend_from_slice(reason);
        binary::decode_event("OrderCancelled", 1, &b)
    };
    assert!(cancelled(b"\x00").is_ok());
    assert!(cancelled(b"\x01\x00").is_ok());
    assert!(cancelled(b"\x02\x00").is_err());
    assert!(cancelled(b"").is_err());
    let urgency = |tag: u8| {
        let mut b = b"\x01O\x00\x00\x00".to_vec();
        b.push(tag);
        b.extend_from_slice(b"\x00\x00");
        binary::decode_event("OrderPlaced", 1, &b)
    };
    assert!(urgency(2).is_ok());
    assert!(urgency(3).is_err());
    // Rates below 0 or above 1000 %, a quantity of zero.
    let rate = |bytes: &[u8]| {
        let mut b = b"\x01O\x00\x00\x00\x00".to_vec();
        b.extend_from_slice(bytes);
        binary::decode_event("OrderPlaced", 1, &b)
    };
    assert!(rate(b"\x00\xd0\x0f").is_ok()); // 1000
    assert!(rate(b"\x00\xd2\x0f").is_err()); // 1001
    assert!(rate(b"\x00\x01").is_err()); // -1
}

#[test]
fn garbage_is_an_error_for_every_type() {
    let patterns: [&[u8]; 6] = [
        b"",
        b"\x00",
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x7f",
        &[0x80; 64],
        b"\x01a\x01b\x01c\x01d\x01e\x01f\x01g",
    ];
    for (name, schema) in Event::TYPES {
        for bytes in patterns {
            if let Ok(event) = binary::decode_event(name, *schema, bytes) {
                check_accepted(&event).unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every event round-trips, equals its JSON decoding, and is not larger
    /// than its JSON.
    #[test]
    fn every_event_round_trips(event in any_event()) {
        let bytes = encode(&event);
        let decoded = binary::decode_event(event.type_name(), event.schema_version(), &bytes);
        prop_assert_eq!(decoded.as_ref(), Ok(&event), "{:?}", bytes);
        check_accepted(&event)?;
        prop_assert!(bytes.len() <= codec::encode_event(&event).len());
    }

    /// Every strict prefix of a payload is an error.
    #[test]
    fn truncated_payloads_are_errors(event in any_event()) {
        let bytes = encode(&event);
        for cut in 0..bytes.len() {
            let r = binary::decode_event(event.type_name(), event.schema_version(), &bytes[..cut]);
            prop_assert!(r.is_err(), "a prefix of {} bytes decoded: {:?}", cut, r);
        }
    }

    /// Damaged payloads decode to an error or to a valid event; never a
    /// panic, never a value the JSON codec would reject.
    #[test]
    fn damaged_payloads_never_misbehave(
        event in any_event(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = encode(&event);
        for (at, value, op) in edits {
            if bytes.is_empty() {
                bytes.push(value);
                continue;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = value,
                1 => bytes.insert(i, value),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        for (name, schema) in Event::TYPES {
            if let Ok(decoded) = binary::decode_event(name, *schema, &bytes) {
                check_accepted(&decoded)?;
            }
        }
    }

    /// Random bytes, read as every type.
    #[test]
    fn random_bytes_never_misbehave(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        for (name, schema) in Event::TYPES {
            if let Ok(decoded) = binary::decode_event(name, *schema, &bytes) {
                check_accepted(&decoded)?;
            }
        }
    }
}
