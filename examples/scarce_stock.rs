//! Scenario 3 of DOMAIN.md: several customers order the same scarce,
//! fast-moving item. Stock goes first to customers without debt, then by
//! priority and payment speed; a late payer served residually gets what is
//! left.
//!
//! Run with: cargo run --example scarce_stock

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use credence::Engine;
use credence::aggregates::Command;
use credence::events::ItemId;
use rust_decimal::Decimal;
use serde_json::json;

fn command(value: serde_json::Value) -> Command {
    serde_json::from_value(value).expect("a valid command")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::in_memory();
    let at = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    let terms = |deferral: u16| {
        json!({"credit_limit": {"amount": "20000", "currency": "EUR"},
               "deferral": {"days": deferral, "kind": "calendar"},
               "base_discount": "0", "markup": "0", "bonus": "0", "service_level": "standard"})
    };
    // Three customers: FAST pays on time with a short deferral, SLOW has a
    // long deferral, LATE has an invoice two weeks overdue.
    for (customer, deferral) in [("FAST", 7), ("SLOW", 30), ("LATE", 7)] {
        engine.execute(
            command(
                json!({"command": "register_customer", "customer": customer, "name": customer,
                           "manager": "olena", "currency": "EUR", "terms": terms(deferral)}),
            ),
            at(2, 8),
        )?;
    }
    engine.execute(
        command(json!({"command": "place_order", "customer": "LATE", "order": "L-0", "requested_delivery": at(2, 9),
            "lines": [{"item": "paper", "quantity": "100", "unit_price": {"amount": "3", "currency": "EUR"}}]})),
        at(2, 9),
    )?;
    engine.execute(
        command(json!({"command": "record_delivery", "customer": "LATE", "delivery": "D-L-0", "order": "L-0",
            "lines": [{"item": "paper", "quantity": "100"}]})),
        at(2, 10),
    )?;
    // On 20 Nov all three want the same fast-moving toner.
    for (customer, hour) in [("LATE", 8), ("SLOW", 9), ("FAST", 10)] {
        let placed = engine.execute(
            command(json!({"command": "place_order", "customer": customer, "order": format!("{customer}-T"),
                "requested_delivery": at(20, 14),
                "lines": [{"item": "toner-x", "quantity": "6", "unit_price": {"amount": "80", "currency": "EUR"}}]})),
            at(20, hour),
        )?;
        if let credence::events::Event::CreditDecided(d) = &placed.events[1].event {
            println!(
                "{customer}: order {:?}, {} ({})",
                d.verdict, d.fulfilment, d.explanation.rule
            );
        }
    }
    let now = at(20, 12);
    println!("\nService queue:");
    engine.service_queue(now, |queue| {
        for entry in &queue.entries {
            println!(
                "  {}. {} {}: {}",
                entry.position, entry.customer, entry.order, entry.reason
            );
        }
    })?;
    let stock: BTreeMap<ItemId, Decimal> = [(ItemId::new("toner-x")?, Decimal::from(10))].into();
    println!("\n10 toners on hand for 18 ordered:");
    engine.allocate(&stock, now, |plan| {
        for line in &plan.lines {
            println!(
                "  {} {}: {} of {} - {}",
                line.customer,
                line.order,
                line.allocated,
                line.open,
                plan.explain(line)
            );
        }
    })?;
    Ok(())
}
