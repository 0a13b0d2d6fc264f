//! Scenario 2 of DOMAIN.md: a customer with an overdue receivable orders for
//! same-day delivery. Under the default policy the order ships on time but
//! for cash on delivery; a stricter policy would queue it or drop the
//! discount. Each outcome is a recorded decision with its reason.
//!
//! Run with: cargo run --example same_day_order

use chrono::{TimeZone, Utc};
use credence::Engine;
use credence::aggregates::Command;
use credence::events::{CustomerId, Event};
use serde_json::json;

fn command(value: serde_json::Value) -> Command {
    serde_json::from_value(value).expect("a valid command")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::in_memory();
    let at = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    let customer = CustomerId::new("LATE-LTD")?;
    for (when, c) in [
        (
            at(2, 8),
            json!({"command": "register_customer", "customer": "LATE-LTD", "name": "Late Ltd",
            "manager": "petro", "currency": "EUR",
            "terms": {"credit_limit": {"amount": "3000", "currency": "EUR"}, "deferral": {"days": 7, "kind": "calendar"},
                      "base_discount": "3", "markup": "0", "bonus": "0", "service_level": "standard"}}),
        ),
        (
            at(2, 9),
            json!({"command": "place_order", "customer": "LATE-LTD", "order": "L-1",
            "lines": [{"item": "paper-a4", "quantity": "40", "unit_price": {"amount": "4.50", "currency": "EUR"}}],
            "requested_delivery": at(3, 9)}),
        ),
        (
            at(3, 9),
            json!({"command": "record_delivery", "customer": "LATE-LTD", "delivery": "D-L-1", "order": "L-1",
            "lines": [{"item": "paper-a4", "quantity": "40"}]}),
        ),
    ] {
        engine.execute(command(c), when)?;
    }
    let state = engine.account(&customer)?;
    println!("Receivable D-L-1 of {} is due on 10 Nov.", state.debt());
    println!("Thursday 12 Nov: LATE-LTD orders toner for today.");
    let placed = engine.execute(
        command(json!({"command": "place_order", "customer": "LATE-LTD", "order": "L-2", "urgency": "same_day",
            "lines": [{"item": "toner", "quantity": "2", "unit_price": {"amount": "60", "currency": "EUR"}}],
            "requested_delivery": at(12, 15)})),
        at(12, 9),
    )?;
    for e in &placed.events {
        if let Event::CreditDecided(d) = &e.event {
            println!(
                "Decision {}: {:?}, fulfilment {}, discount {:?}, priority {}",
                d.decision, d.verdict, d.fulfilment, d.discount, d.priority
            );
            println!("Why: {}", d.explanation.summary);
            for c in &d.explanation.conditions {
                println!(
                    "  {} {} {} (observed {}, from {} events)",
                    c.fact,
                    c.comparison.symbol(),
                    c.threshold,
                    c.observed,
                    c.sources.len()
                );
            }
        }
    }
    Ok(())
}
