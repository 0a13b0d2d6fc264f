//! JSON round trips: every event type, encoded and decoded, comes back equal
//! (through the binary payload encoding too).
//!
//! [`samples`] holds at least one envelope of every type in [`Event::TYPES`]
//! (the 0.1.0 golden events plus variants: optional fields absent, other enum
//! values, other currencies, non-ASCII ids); a type added without a sample
//! fails [`samples_cover_every_event_type`]. Property tests generate money,
//! rates, quantities and whole envelopes.

mod common;

use std::collections::BTreeSet;
use std::fmt::Debug;

use chrono::{DateTime, Utc};
use credence_events::{
    BusinessCalendar, CreditDecided, Currency, CustomerRegistered, Deferral, DelayExplained,
    DeliveryLine, DeliveryRecorded, DiscountOutcome, Event, EventEnvelope, FulfilmentMode,
    GlobalPosition, Money, OrderCancelled, OrderLine, OrderPlaced, PaymentMethod, PaymentReceived,
    Priority, Quantity, Rate, Recipient, ReminderKind, ReminderSent, ServiceLevel, StreamId,
    StreamVersion, Terms, TermsChanged, Urgency, Verdict,
};
use credence_events::{binary, codec};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use common::{
    at, correlation_id, date, envelope, eur, event_id, golden_0_1_0, id, money,
    overdue_explanation, qty, rate, registration_terms,
};

/// Every sample envelope: the 0.1.0 golden events and the variants below.
fn samples() -> Vec<EventEnvelope> {
    let mut all = golden_0_1_0();
    all.extend(variants());
    all
}

/// Variants the golden file does not show: `None` where the golden event has
/// `Some`, the other enum values, other currencies and scales, unusual ids
/// and sub-second instants.
fn variants() -> Vec<EventEnvelope> {
    let yen = Currency::new("JPY").expect("JPY");
    vec![
        EventEnvelope {
            stream: id::<StreamId>("Київ 1"),
            occurred_at: at("2026-11-02T08:30:00.123456789Z"),
            recorded_at: at("2026-11-02T08:30:01.5Z"),
            correlation_id: Some(correlation_id(99)),
            causation_id: Some(event_id(98)),
            ..envelope(
                1,
                "2026-11-02T08:30:00Z",
                CustomerRegistered {
                    customer: id("Київ 1"),
                    name: "ТОВ \"Київ Інструмент\"\tfiliale \\ 1".into(),
                    manager: id("M-007"),
                    currency: yen,
                    tags: BTreeSet::new(),
                    terms: Terms {
                        credit_limit: money("3000000", "JPY"),
                        deferral: Deferral::business(0),
                        base_discount: rate("0"),
                        markup: rate("12.75"),
                        bonus: rate("0"),
                        service_level: ServiceLevel::Basic,
                    },
                },
            )
        },
        envelope(
            21,
            "2026-11-03T10:15:00Z",
            TermsChanged {
                terms: Terms {
                    credit_limit: money("1250.500", "KWD"),
                    ..registration_terms()
                },
            },
        ),
        envelope(
            22,
            "2026-11-09T08:00:00Z",
            OrderPlaced {
                order: id("ORD-2026-1110"),
                lines: vec![OrderLine {
                    item: id("SERVICE-HOUR"),
                    quantity: qty("0.25"),
                    unit_price: eur("80.00"),
                }],
                requested_delivery: at("2026-11-09T15:00:00Z"),
                urgency: Urgency::SameDay,
                discount: Rate::ZERO,
            },
        ),
        envelope(
            23,
            "2026-11-10T08:00:00Z",
            OrderPlaced {
                order: id("ORD-2026-1111"),
                lines: vec![],
                requested_delivery: at("2026-12-01T08:00:00Z"),
                urgency: Urgency::Normal,
                discount: rate("2.5"),
            },
        ),
        envelope(
            24,
            "2026-11-10T09:00:00Z",
            OrderCancelled {
                order: id("ORD-2026-1111"),
                reason: None,
            },
        ),
        // Calendar deferral, nothing from credit balance: Tuesday 10
        // November + 30 days = Thursday 10 December.
        envelope(
            25,
            "2026-11-10T16:00:00Z",
            DeliveryRecorded {
                delivery: id("DLV-2026-0880"),
                order: id("ORD-2026-1110"),
                lines: vec![DeliveryLine {
                    item: id("SERVICE-HOUR"),
                    quantity: qty("0.25"),
                }],
                delivered_on: date("2026-11-10"),
                receivable: id("INV-2026-0119"),
                amount: eur("20.00"),
                due_date: date("2026-12-10"),
                credit_applied: vec![],
            },
        ),
        envelope(
            26,
            "2026-11-10T16:05:00Z",
            PaymentReceived {
                payment: id("PAY-2026-0312"),
                amount: eur("20.00"),
                method: PaymentMethod::CashOnDelivery,
                received_on: date("2026-11-10"),
                allocations: vec![],
                unallocated: eur("20.00"),
            },
        ),
        envelope(
            27,
            "2026-11-11T12:00:00Z",
            PaymentReceived {
                payment: id("PAY-2026-0313"),
                amount: eur("0.01"),
                method: PaymentMethod::Cash,
                received_on: date("2026-11-11"),
                allocations: vec![],
                unallocated: eur("0.01"),
            },
        ),
        // A reminder sent by hand: no explanation.
        envelope(
            28,
            "2026-11-26T08:00:00Z",
            ReminderSent {
                reminder: id("REM-2026-0460"),
                kind: ReminderKind::PaymentOrderOverdue,
                recipient: Recipient::Manager,
                level: 0,
                receivables: vec![],
                message: String::new(),
                explanation: None,
            },
        ),
        envelope(
            29,
            "2026-11-24T13:05:00Z",
            DelayExplained {
                receivables: vec![id("INV-2026-0117"), id("INV-2026-0119")],
                manager: id("M-012"),
                reason: id("dispute"),
                text: "Customer disputes the drill's condition.".into(),
                promised_date: None,
            },
        ),
        // A decision on the customer's standing, not on an order.
        envelope(
            30,
            "2026-11-30T07:00:00Z",
            CreditDecided {
                decision: id("DEC-2026-1200"),
                order: None,
                verdict: Verdict::Refuse,
                fulfilment: FulfilmentMode::Refused,
                discount: DiscountOutcome::Kept,
                priority: Priority(u8::MAX),
                explanation: overdue_explanation("refuse", "refused"),
            },
        ),
        envelope(
            31,
            "2026-11-30T07:00:00Z",
            CreditDecided {
                decision: id("DEC-2026-1201"),
                order: Some(id("ORD-2026-1112")),
                verdict: Verdict::Accept,
                fulfilment: FulfilmentMode::Residual,
                discount: DiscountOutcome::Kept,
                priority: Priority::FIRST,
                explanation: overdue_explanation("accept", "accepted"),
            },
        ),
    ]
}

/// Encodes `envelope`, decodes the line, and checks that it comes back equal
/// and that the line names the right type and current schema.
#[track_caller]
fn check_round_trip(envelope: &EventEnvelope) {
    let line = codec::encode(envelope);
    let decoded = codec::decode(&line).unwrap_or_else(|e| panic!("{e}\n{line}"));
    assert_eq!(decoded, *envelope, "{line}");
    assert_eq!(codec::encode(&decoded), line, "encoding is not stable");

    let value: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
    let event = &envelope.event;
    assert_eq!(value["type"], json!(event.type_name()), "{line}");
    assert_eq!(value["schema"], json!(event.schema_version()), "{line}");
    assert!(
        Event::TYPES.contains(&(event.type_name(), event.schema_version())),
        "{} schema {} is not in Event::TYPES",
        event.type_name(),
        event.schema_version()
    );

    let data = codec::encode_event(event);
    let back = codec::decode_event(event.type_name(), event.schema_version(), &data)
        .unwrap_or_else(|e| panic!("{e}\n{data}"));
    assert_eq!(back, *event, "{data}");

    // The binary payload encoding decodes to the same event as the JSON.
    let mut bytes = Vec::new();
    binary::encode_event(event, &mut bytes);
    let back = binary::decode_event(event.type_name(), event.schema_version(), &bytes)
        .unwrap_or_else(|e| panic!("{e}\n{bytes:?}"));
    assert_eq!(back, *event, "{bytes:?}");
}

#[test]
fn every_sample_round_trips() {
    for envelope in samples() {
        check_round_trip(&envelope);
    }
}

#[test]
fn samples_cover_every_event_type() {
    let covered: BTreeSet<&str> = samples().iter().map(|e| e.event.type_name()).collect();
    let known: BTreeSet<&str> = Event::TYPES.iter().map(|(name, _)| *name).collect();
    let missing: Vec<_> = known.difference(&covered).collect();
    assert!(missing.is_empty(), "no round-trip sample for {missing:?}");
    assert_eq!(covered, known);
}

#[test]
fn optional_fields_are_written_as_null() {
    let line = codec::encode(&envelope(
        24,
        "2026-11-10T09:00:00Z",
        OrderCancelled {
            order: id("ORD-2026-1111"),
            reason: None,
        },
    ));
    assert!(
        line.contains(r#""correlation_id":null,"causation_id":null"#),
        "{line}"
    );
    assert!(
        line.ends_with(r#""data":{"order":"ORD-2026-1111","reason":null}}"#),
        "{line}"
    );
}

#[test]
fn instants_are_utc_with_whole_groups_of_fraction_digits() {
    let registered = variants().remove(0);
    let line = codec::encode(&registered);
    assert!(
        line.contains(
            r#""occurred_at":"2026-11-02T08:30:00.123456789Z","recorded_at":"2026-11-02T08:30:01.500Z""#
        ),
        "{line}"
    );
    // An offset is accepted on read and written back as UTC.
    let shifted = line.replace("2026-11-02T08:30:01.500Z", "2026-11-02T10:30:01.5+02:00");
    assert_eq!(
        codec::decode(&shifted).expect("an offset is valid"),
        registered
    );
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// Currencies with 0, 2 and 3 decimal places.
fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["EUR", "UAH", "USD", "JPY", "KWD", "BHD"])
        .prop_map(|code| Currency::new(code).expect("ISO code"))
}

/// Any amount that fits `currency`'s minor unit, either sign.
fn money_in(currency: Currency) -> impl Strategy<Value = Money> {
    (any::<i64>(), 0..=currency.minor_units()).prop_map(move |(mantissa, scale)| {
        Money::new(Decimal::new(mantissa, scale), currency).expect("fits the minor unit")
    })
}

fn any_money() -> impl Strategy<Value = Money> {
    currency().prop_flat_map(money_in)
}

/// A non-negative amount in euros, in cents.
fn euros(max_cents: i64) -> impl Strategy<Value = Money> {
    (0..=max_cents).prop_map(|cents| {
        Money::new(Decimal::new(cents, 2), Currency::new("EUR").expect("EUR")).expect("cents")
    })
}

/// A rate between 0 and 1000 % with up to six decimal places.
fn any_rate() -> impl Strategy<Value = Rate> {
    (0u32..=6).prop_flat_map(|scale| {
        let max = 1000 * 10i64.pow(scale);
        (0..=max).prop_map(move |m| Rate::percent(Decimal::new(m, scale)).expect("in range"))
    })
}

/// A positive quantity with up to six decimal places.
fn any_quantity() -> impl Strategy<Value = Quantity> {
    (1..=i64::MAX, 0u32..=6)
        .prop_map(|(m, scale)| Quantity::new(Decimal::new(m, scale)).expect("positive"))
}

/// A valid business id: any printable text without surrounding whitespace,
/// including quotes, backslashes and non-ASCII letters.
fn any_id<T>() -> impl Strategy<Value = T>
where
    T: TryFrom<String> + Debug,
{
    "\\PC{1,24}".prop_filter_map("not a valid id", |text| T::try_from(text).ok())
}

/// An instant between 2000 and 2100 with nanoseconds.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800i64..4_102_444_800, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).expect("in chrono's range"))
}

fn any_deferral() -> impl Strategy<Value = Deferral> {
    prop_oneof![
        (0u16..=120).prop_map(Deferral::calendar),
        (0u16..=60).prop_map(Deferral::business),
    ]
}

fn any_terms() -> impl Strategy<Value = Terms> {
    (
        euros(100_000_000),
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

/// A payment whose allocations and unallocated rest add up to its amount.
fn any_payment() -> impl Strategy<Value = PaymentReceived> {
    (
        any_id(),
        prop::collection::vec((any_id(), euros(1_000_000)), 0..5),
        euros(1_000_000),
        prop::sample::select(vec![
            PaymentMethod::BankTransfer,
            PaymentMethod::Cash,
            PaymentMethod::CashOnDelivery,
        ]),
        0u64..3650,
    )
        .prop_map(|(payment, parts, unallocated, method, day)| {
            let allocations: Vec<_> = parts
                .into_iter()
                .map(|(receivable, amount)| credence_events::Allocation { receivable, amount })
                .collect();
            let amount = Money::sum(
                unallocated.currency(),
                allocations.iter().map(|a| &a.amount).chain([&unallocated]),
            )
            .expect("euros add up");
            PaymentReceived {
                payment,
                amount,
                method,
                received_on: date("2026-01-01") + chrono::Days::new(day),
                allocations,
                unallocated,
            }
        })
}

/// A delivery against an order, due by a generated deferral from Monday 2
/// November 2026 to the end of 2026, with a holiday on 9 November.
fn any_delivery() -> impl Strategy<Value = DeliveryRecorded> {
    (
        any_id(),
        any_id(),
        prop::collection::vec((any_id(), any_quantity()), 1..4),
        0u64..60,
        any_deferral(),
        any_id(),
        euros(10_000_000),
    )
        .prop_map(
            |(delivery, order, lines, day, deferral, receivable, amount)| {
                let calendar = BusinessCalendar::new(chrono_tz::Europe::Kyiv)
                    .with_holidays([date("2026-11-09")]);
                let delivered_on = date("2026-11-02") + chrono::Days::new(day);
                DeliveryRecorded {
                    delivery,
                    order,
                    lines: lines
                        .into_iter()
                        .map(|(item, quantity)| DeliveryLine { item, quantity })
                        .collect(),
                    delivered_on,
                    receivable,
                    amount,
                    due_date: calendar
                        .due_date(delivered_on, deferral)
                        .expect("due within the calendar"),
                    credit_applied: vec![],
                }
            },
        )
}

/// Wraps `event` in an envelope with generated identity, place and times.
fn enveloped(event: impl Strategy<Value = Event>) -> impl Strategy<Value = EventEnvelope> {
    (
        event,
        any::<u128>(),
        any_id::<StreamId>(),
        any::<u64>(),
        any::<u64>(),
        any_instant(),
        0i64..86_400_000,
        prop::option::of(any::<u128>()),
        prop::option::of(any::<u128>()),
    )
        .prop_map(
            |(event, id, stream, version, position, occurred_at, lag_ms, correlation, cause)| {
                EventEnvelope {
                    id: credence_events::EventId::from_u128(id),
                    stream,
                    version: StreamVersion(version),
                    position: GlobalPosition(position),
                    occurred_at,
                    recorded_at: occurred_at + chrono::Duration::milliseconds(lag_ms),
                    correlation_id: correlation.map(credence_events::CorrelationId::from_u128),
                    causation_id: cause.map(credence_events::EventId::from_u128),
                    event,
                }
            },
        )
}

proptest! {
    #[test]
    fn money_round_trips(m in any_money()) {
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        // Written at the currency's minor-unit scale.
        let amount = serde_json::from_str::<serde_json::Value>(&json).unwrap()["amount"]
            .as_str()
            .unwrap()
            .to_owned();
        let decimals = amount.split_once('.').map_or(0, |(_, fraction)| fraction.len());
        prop_assert_eq!(decimals as u32, m.currency().minor_units(), "{}", json);
    }

    #[test]
    fn rate_round_trips(r in any_rate()) {
        let json = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<Rate>(&json).unwrap(), r);
        prop_assert_eq!(json, format!("\"{}\"", r.as_percent()));
    }

    #[test]
    fn quantity_round_trips(q in any_quantity()) {
        let json = serde_json::to_string(&q).unwrap();
        prop_assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), q);
        prop_assert_eq!(json, format!("\"{q}\""));
    }

    #[test]
    fn payments_round_trip(envelope in enveloped(any_payment().prop_map(Event::from))) {
        check_round_trip(&envelope);
    }

    #[test]
    fn deliveries_round_trip(envelope in enveloped(any_delivery().prop_map(Event::from))) {
        check_round_trip(&envelope);
    }

    #[test]
    fn terms_changes_round_trip(
        envelope in enveloped(any_terms().prop_map(|terms| TermsChanged { terms }.into()))
    ) {
        check_round_trip(&envelope);
    }

    /// Any v1 `TermsChanged` decodes to the v2 event with the same terms and
    /// a calendar-day deferral.
    #[test]
    fn terms_changed_v1_upcasts(terms in any_terms(), days in any::<u16>()) {
        let v1 = json!({
            "credit_limit": terms.credit_limit,
            "deferral_days": days,
            "base_discount": terms.base_discount,
            "markup": terms.markup,
            "bonus": terms.bonus,
            "service_level": terms.service_level,
        });
        let decoded = codec::decode_event("TermsChanged", 1, &v1.to_string()).unwrap();
        let expected = TermsChanged { terms: Terms { deferral: Deferral::calendar(days), ..terms } };
        prop_assert_eq!(decoded, Event::from(expected));
    }
}
