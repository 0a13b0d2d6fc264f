//! Credence inside a small async service: a tokio runtime, many concurrent
//! clients, and the synchronous engine called through `spawn_blocking` so
//! that store IO (fsync of the file log) never blocks the executor.
//!
//! Run with: cargo run --example tokio_service

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use credence::aggregates::Command;
use credence::events::CustomerId;
use credence::policies::Policy;
use credence::{Engine, EngineConfig, EngineError, Executed};
use serde_json::json;

/// The service's handle: cheap to clone, shared by every request handler.
#[derive(Clone)]
struct CreditService {
    engine: Arc<Engine>,
}

impl CreditService {
    async fn execute(
        &self,
        command: Command,
        now: chrono::DateTime<Utc>,
    ) -> Result<Executed, EngineError> {
        let engine = Arc::clone(&self.engine);
        tokio::task::spawn_blocking(move || engine.execute(command, now))
            .await
            .expect("the engine does not panic")
    }

    async fn debt(&self, customer: CustomerId) -> Result<String, EngineError> {
        let engine = Arc::clone(&self.engine);
        tokio::task::spawn_blocking(move || engine.account(&customer).map(|a| a.debt().to_string()))
            .await
            .expect("the engine does not panic")
    }
}

fn command(value: serde_json::Value) -> Command {
    serde_json::from_value(value).expect("a valid command")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("credence-tokio-example-{}", std::process::id()));
    let engine = Engine::open_file(&dir, Policy::default_policy(), EngineConfig::default())?;
    let service = CreditService {
        engine: Arc::new(engine),
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 6, 9, 0, 0).unwrap();

    // Twenty customers register and order concurrently.
    let mut handles = Vec::new();
    for n in 0..20 {
        let service = service.clone();
        handles.push(tokio::spawn(async move {
            let customer = format!("C-{n:02}");
            service.execute(command(json!({
                "command": "register_customer", "customer": customer, "name": format!("Customer {n}"),
                "manager": "olena", "currency": "EUR",
                "terms": {"credit_limit": {"amount": "1000", "currency": "EUR"}, "deferral": {"days": 14, "kind": "calendar"},
                          "base_discount": "0", "markup": "0", "bonus": "0", "service_level": "standard"}})), now).await?;
            for k in 0..5 {
                service.execute(command(json!({
                    "command": "place_order", "customer": customer, "order": format!("{customer}-O{k}"),
                    "lines": [{"item": "toner", "quantity": "1", "unit_price": {"amount": "25", "currency": "EUR"}}],
                    "requested_delivery": now})), now).await?;
            }
            Ok::<_, EngineError>(customer)
        }));
    }
    for handle in handles {
        let customer = handle.await??;
        let debt = service.debt(CustomerId::new(&customer)?).await?;
        let exposure = {
            let engine = Arc::clone(&service.engine);
            let id = CustomerId::new(&customer)?;
            tokio::task::spawn_blocking(move || engine.account(&id).map(|a| a.exposure())).await??
        };
        println!("{customer}: debt {debt}, exposure {exposure}");
    }
    let report = service.engine.store().verify()?;
    println!(
        "{} events stored durably, hash chain verified",
        report.events
    );
    drop(service);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
