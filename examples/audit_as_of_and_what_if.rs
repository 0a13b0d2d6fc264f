//! Scenario 7 of DOMAIN.md, an auditor's questions: what was the customer's
//! state when an order was held, what do we know now about that day, which
//! rule of which policy version decided, and what would a different policy
//! have decided on the same history.
//!
//! Run with: cargo run --example audit_as_of_and_what_if

use chrono::{TimeZone, Utc};
use credence::aggregates::Command;
use credence::events::CustomerId;
use credence::policies::Policy;
use credence::{AsOf, Engine};
use serde_json::json;

fn command(value: serde_json::Value) -> Command {
    serde_json::from_value(value).expect("a valid command")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::in_memory();
    let at = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    let customer = CustomerId::new("AUDITED")?;
    for (when, c) in [
        (
            at(2, 8),
            json!({"command": "register_customer", "customer": "AUDITED", "name": "Audited Co",
            "manager": "olena", "currency": "EUR",
            "terms": {"credit_limit": {"amount": "2000", "currency": "EUR"}, "deferral": {"days": 2, "kind": "business"},
                      "base_discount": "5", "markup": "0", "bonus": "0", "service_level": "standard"}}),
        ),
        (
            at(2, 9),
            json!({"command": "place_order", "customer": "AUDITED", "order": "A-1",
            "lines": [{"item": "drum", "quantity": "2", "unit_price": {"amount": "150", "currency": "EUR"}}],
            "requested_delivery": at(2, 12)}),
        ),
        (
            at(2, 12),
            json!({"command": "record_delivery", "customer": "AUDITED", "delivery": "D-A-1", "order": "A-1",
            "lines": [{"item": "drum", "quantity": "2"}]}),
        ),
    ] {
        engine.execute(command(c), when)?;
    }
    // Due Wednesday 4 Nov. On Friday 6 Nov the customer orders again.
    engine.execute(
        command(json!({"command": "place_order", "customer": "AUDITED", "order": "A-2",
            "lines": [{"item": "drum", "quantity": "1", "unit_price": {"amount": "150", "currency": "EUR"}}],
            "requested_delivery": at(6, 12)})),
        at(6, 9),
    )?;
    // The customer had paid on 5 Nov; the bank statement is booked on 9 Nov.
    engine.execute(
        command(json!({"command": "receive_payment", "customer": "AUDITED", "payment": "P-1",
            "amount": {"amount": "285", "currency": "EUR"}, "method": "bank_transfer", "occurred_at": at(5, 15)})),
        at(9, 10),
    )?;

    println!("Why was order A-2 served the way it was on 6 November?");
    let decision = engine.explain("A-2")?.expect("recorded");
    if let credence::events::Event::CreditDecided(d) = &decision.event {
        println!("  {}", d.explanation.summary);
        println!(
            "  policy {} v{} ({})",
            d.explanation.policy.id,
            d.explanation.policy.version,
            &d.explanation.policy.hash[..12]
        );
    }
    let known = engine.account_as_of(&customer, AsOf::Known(at(6, 9)))?;
    let business = engine.account_as_of(&customer, AsOf::Business(at(6, 9)))?;
    let today = engine.calendar().local_date(at(6, 9));
    println!(
        "What the engine knew at 09:00 on 6 Nov: debt {}, overdue {}",
        known.debt(),
        known.overdue_debt(today)
    );
    println!(
        "What had really happened by then:       debt {}, overdue {}",
        business.debt(),
        business.overdue_debt(today)
    );

    let reports = engine.replay_check()?;
    for (customer, report) in &reports {
        println!(
            "Replay check {customer}: {} decisions, {} mismatches",
            report.checked,
            report.mismatches.len()
        );
    }

    // A lenient policy: customers past due by one business day keep full service.
    let mut lenient = Policy::default_policy().document().clone();
    lenient["id"] = "lenient".into();
    for rule in lenient["rules"].as_array_mut().expect("rules") {
        if rule["id"] == "residual-overdue-over-1-business-day" {
            rule["then"]["fulfilment"] = "full".into();
            rule["then"]["service_warning"] = false.into();
        }
    }
    let lenient = Policy::from_json(&lenient.to_string())?;
    println!("What would the lenient policy have decided differently?");
    for (_, difference) in engine.what_if(&lenient, None)? {
        println!("  {}", difference.summary());
    }
    Ok(())
}
