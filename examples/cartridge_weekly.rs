//! The cartridge example of DOMAIN.md: weekly Friday orders, payment due
//! three business days later (Wednesday), a warning on Thursday morning when
//! the money is not in, the next Friday served residually, normal service
//! once paid.
//!
//! Run with: cargo run --example cartridge_weekly

use chrono::{DateTime, TimeZone, Utc};
use credence::aggregates::Command;
use credence::events::{BusinessCalendar, CustomerId, Event};
use credence::policies::Policy;
use credence::store::MemoryStore;
use credence::{Engine, EngineConfig};
use serde_json::json;

fn command(value: serde_json::Value) -> Command {
    serde_json::from_value(value).expect("a valid command")
}

/// `day` November 2026, `hour`:00 in Kyiv (UTC+2).
fn kyiv(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour - 2, 0, 0).unwrap()
}

fn show(label: &str, events: &[credence::events::EventEnvelope]) {
    println!("{label}");
    for e in events {
        match &e.event {
            Event::CreditDecided(d) => println!(
                "  order {}: {:?}, {} - {}",
                d.order.as_ref().map(|o| o.as_str()).unwrap_or("-"),
                d.verdict,
                d.fulfilment,
                d.explanation.summary
            ),
            Event::ReminderSent(r) => println!("  reminder to {:?}: {}", r.recipient, r.message),
            Event::FulfilmentModeChanged(f) => println!("  fulfilment {} -> {}", f.from, f.to),
            Event::PriorityChanged(p) => println!("  priority {} -> {}", p.from, p.to),
            Event::PriceAdjustmentChanged(p) => {
                println!("  {:?} {} -> {}", p.adjustment, p.from, p.to)
            }
            Event::OrderPlaced(o) => println!("  order {} placed", o.order),
            Event::PaymentReceived(p) => {
                println!("  payment {} of {} received", p.payment, p.amount)
            }
            Event::DeliveryRecorded(d) => println!(
                "  receivable {} of {} due {}",
                d.receivable,
                d.amount,
                d.due_date.format("%A %d %b")
            ),
            other => println!("  {}", other.type_name()),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new(
        std::sync::Arc::new(MemoryStore::new()),
        Policy::default_policy(),
        EngineConfig {
            calendar: BusinessCalendar::new(chrono_tz::Europe::Kyiv),
            ..EngineConfig::default()
        },
    );
    let customer = CustomerId::new("PRINT-HUB")?;
    engine.execute(
        command(json!({
            "command": "register_customer", "customer": "PRINT-HUB", "name": "Print Hub",
            "manager": "olena", "currency": "UAH",
            "terms": {"credit_limit": {"amount": "50000", "currency": "UAH"},
                      "deferral": {"days": 3, "kind": "business"},
                      "base_discount": "5", "markup": "0", "bonus": "0", "service_level": "standard"}
        })),
        kyiv(2, 9),
    )?;
    let friday = |week: u32, day: u32| -> Result<(), Box<dyn std::error::Error>> {
        let order = format!("W{week}");
        let placed = engine.execute(
            command(json!({
                "command": "place_order", "customer": "PRINT-HUB", "order": order,
                "lines": [{"item": "cartridge-hp-85a", "quantity": "6", "unit_price": {"amount": "1200", "currency": "UAH"}}],
                "requested_delivery": kyiv(day, 12)
            })),
            kyiv(day, 9),
        )?;
        show(&format!("Friday {day} Nov: order {order}"), &placed.events);
        let delivered = engine.execute(
            command(json!({
                "command": "record_delivery", "customer": "PRINT-HUB", "delivery": format!("D-{order}"),
                "order": order, "lines": [{"item": "cartridge-hp-85a", "quantity": "6"}]
            })),
            kyiv(day, 15),
        )?;
        show("  cartridges installed", &delivered.events);
        Ok(())
    };

    friday(1, 6)?;
    show(
        "Wednesday 11 Nov (due today)",
        &engine.evaluate(&customer, kyiv(11, 9))?.events,
    );
    show(
        "Thursday 12 Nov, 09:00 (money not in)",
        &engine.evaluate(&customer, kyiv(12, 9))?.events,
    );
    friday(2, 13)?;
    let paid = engine.execute(
        command(
            json!({"command": "receive_payment", "customer": "PRINT-HUB", "payment": "PAY-1",
                       "amount": {"amount": "6840", "currency": "UAH"}, "method": "bank_transfer"}),
        ),
        kyiv(16, 10),
    )?;
    show("Monday 16 Nov: W1 paid", &paid.events);
    show(
        "Monday 16 Nov, re-evaluated",
        &engine.evaluate(&customer, kyiv(16, 11))?.events,
    );
    friday(3, 20)?;
    let state = engine.account(&customer)?;
    println!("\nDebt now {}, exposure {}", state.debt(), state.exposure());
    Ok(())
}
