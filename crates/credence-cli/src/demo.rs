//! `credence demo`: the seven DOMAIN.md scenarios, played on an embedded
//! file store in a fresh directory, printed as a timeline.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use credence::aggregates::{
    Command, ExplainDelay, PlaceOrder, PromiseToPay, ReceivePayment, ReceivePaymentOrder,
    RecordDelivery, RegisterCustomer, RequestedLine,
};
use credence::events::{
    BusinessCalendar, Currency, CustomerId, Deferral, DeliveryId, DeliveryLine, ItemId, ManagerId,
    Money, OrderId, PaymentId, PaymentMethod, PaymentOrderId, PromiseId, Quantity, Rate,
    ReasonCode, ServiceLevel, Terms, Urgency,
};
use credence::policies::Policy;
use credence::{AsOf, Engine, EngineConfig};
use rust_decimal::Decimal;

use crate::error::CliError;
use crate::render;

/// Runs the demo in `dir` (a fresh temporary directory when `None`).
pub fn run(dir: Option<&Path>, out: &mut dyn Write) -> Result<(), CliError> {
    let (dir, _temp) = match dir {
        Some(d) => {
            if d.join("log").exists() {
                return Err(CliError::new(
                    crate::error::Exit::BadInput,
                    format!(
                        "{} already holds a demo; give a fresh directory",
                        d.display()
                    ),
                ));
            }
            (d.to_path_buf(), None)
        }
        None => {
            let temp = std::env::temp_dir().join(format!(
                "credence-demo-{}-{}",
                std::process::id(),
                crate::time::now().timestamp_nanos_opt().unwrap_or_default()
            ));
            (temp.clone(), Some(TempDir(temp)))
        }
    };
    let calendar = BusinessCalendar::new(chrono_tz::Europe::Kyiv);
    let engine = Engine::open_file(
        dir.join("log"),
        Policy::default_policy(),
        EngineConfig {
            calendar,
            ..EngineConfig::default()
        },
    )?;
    let mut demo = Demo { engine, out };
    demo.say(&format!(
        "Credence demo: the seven scenarios of DOMAIN.md on an embedded file log in {}",
        dir.display()
    ))?;
    demo.say(
        "Policy: built-in default v1. Business calendar: Europe/Kyiv, Saturday and Sunday off.",
    )?;
    demo.cartridges()?;
    demo.same_day_order()?;
    demo.scarce_items()?;
    demo.payment_order()?;
    demo.reminders()?;
    demo.delay_reasons()?;
    demo.audit()?;
    let report = demo.engine.store().verify().map_err(CliError::io)?;
    demo.say(&format!(
        "\nLog verified: {} events in {} streams, hash chain intact.",
        report.events, report.streams
    ))?;
    Ok(())
}

/// Removes the demo's temporary directory when the demo ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Demo<'a> {
    engine: Engine,
    out: &'a mut dyn Write,
}

fn eur() -> Currency {
    Currency::new("EUR").expect("valid code")
}

fn money(amount: i64) -> Money {
    Money::new(Decimal::from(amount), eur()).expect("whole euros")
}

/// `d` November 2026 at `h`:`m` Kyiv time (UTC+2 in November).
fn nov(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h - 2, m, 0)
        .single()
        .expect("valid demo time")
}

fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("valid demo id")
}

impl Demo<'_> {
    fn say(&mut self, line: &str) -> Result<(), CliError> {
        writeln!(self.out, "{line}").map_err(CliError::io)
    }

    fn heading(&mut self, title: &str) -> Result<(), CliError> {
        self.say(&format!("\n== {title}"))
    }

    fn run(&mut self, at: DateTime<Utc>, command: impl Into<Command>) -> Result<(), CliError> {
        let executed = self.engine.execute(command.into(), at)?;
        render::events(
            self.out,
            &executed.events,
            false,
            self.engine.calendar().time_zone,
        )
    }

    fn evaluate(&mut self, customer: &str, at: DateTime<Utc>) -> Result<(), CliError> {
        let executed = self.engine.evaluate(&id(customer), at)?;
        if executed.events.is_empty() {
            self.say(&format!(
                "{} {customer:<10} evaluated: nothing changed, nothing due",
                at.with_timezone(&self.engine.calendar().time_zone)
                    .format("%a %d %b %H:%M")
            ))
        } else {
            render::events(
                self.out,
                &executed.events,
                false,
                self.engine.calendar().time_zone,
            )
        }
    }

    fn register(
        &mut self,
        customer: &str,
        name: &str,
        deferral: Deferral,
        limit: i64,
    ) -> Result<(), CliError> {
        let command = RegisterCustomer {
            customer: id(customer),
            name: name.into(),
            manager: id::<ManagerId>("olena"),
            currency: eur(),
            tags: Default::default(),
            terms: Terms {
                credit_limit: money(limit),
                deferral,
                base_discount: Rate::percent(Decimal::from(5)).expect("5 %"),
                markup: Rate::ZERO,
                bonus: Rate::ZERO,
                service_level: ServiceLevel::Standard,
            },
        };
        self.run(nov(2, 9, 0), command)
    }

    fn order(
        &mut self,
        at: DateTime<Utc>,
        customer: &str,
        order: &str,
        lines: &[(&str, u32, i64)],
        urgency: Urgency,
    ) -> Result<(), CliError> {
        let command = PlaceOrder {
            customer: id(customer),
            order: id(order),
            lines: lines
                .iter()
                .map(|(item, quantity, price)| RequestedLine {
                    item: id::<ItemId>(item),
                    quantity: Quantity::units(*quantity).expect("positive"),
                    unit_price: money(*price),
                })
                .collect(),
            requested_delivery: at,
            urgency,
        };
        self.run(at, command)
    }

    fn deliver(
        &mut self,
        at: DateTime<Utc>,
        customer: &str,
        delivery: &str,
        order: &str,
        lines: &[(&str, u32)],
    ) -> Result<(), CliError> {
        let command = RecordDelivery {
            customer: id(customer),
            delivery: id::<DeliveryId>(delivery),
            order: id::<OrderId>(order),
            lines: lines
                .iter()
                .map(|(item, quantity)| DeliveryLine {
                    item: id(item),
                    quantity: Quantity::units(*quantity).expect("positive"),
                })
                .collect(),
            receivable: None,
            occurred_at: None,
        };
        self.run(at, command)
    }

    fn pay(
        &mut self,
        at: DateTime<Utc>,
        customer: &str,
        payment: &str,
        amount: i64,
        occurred_at: Option<DateTime<Utc>>,
    ) -> Result<(), CliError> {
        let command = ReceivePayment {
            customer: id(customer),
            payment: id::<PaymentId>(payment),
            amount: money(amount),
            method: PaymentMethod::BankTransfer,
            allocations: Vec::new(),
            payment_order: None,
            occurred_at,
        };
        self.run(at, command)
    }

    fn state(
        &mut self,
        customer: &str,
        as_of: AsOf,
        today_at: DateTime<Utc>,
    ) -> Result<(), CliError> {
        let customer: CustomerId = id(customer);
        let account = self.engine.account_as_of(&customer, as_of)?;
        let today = self.engine.calendar().local_date(today_at);
        render::state(self.out, &account, as_of, today, false)
    }

    /// 1. Weekly cartridges: Friday orders, due Wednesday, the Thursday warning.
    fn cartridges(&mut self) -> Result<(), CliError> {
        self.heading("1. Weekly cartridges (3 business days deferral)")?;
        self.register(
            "CARTRIDGE",
            "Cartridge Office",
            Deferral::business(3),
            5_000,
        )?;
        self.order(
            nov(6, 9, 0),
            "CARTRIDGE",
            "C-06",
            &[("cartridge", 10, 30)],
            Urgency::Normal,
        )?;
        self.deliver(
            nov(6, 15, 0),
            "CARTRIDGE",
            "D-C-06",
            "C-06",
            &[("cartridge", 10)],
        )?;
        self.say("Friday 6 Nov delivery: due three business days later, Wednesday 11 Nov.")?;
        self.evaluate("CARTRIDGE", nov(11, 9, 0))?;
        self.say("Thursday 12 Nov, 09:00: the money is not in.")?;
        self.evaluate("CARTRIDGE", nov(12, 9, 0))?;
        self.order(
            nov(13, 9, 0),
            "CARTRIDGE",
            "C-13",
            &[("cartridge", 10, 30)],
            Urgency::Normal,
        )?;
        self.pay(nov(16, 10, 0), "CARTRIDGE", "PAY-C-06", 285, None)?;
        self.evaluate("CARTRIDGE", nov(16, 11, 0))?;
        self.order(
            nov(20, 9, 0),
            "CARTRIDGE",
            "C-20",
            &[("cartridge", 10, 30)],
            Urgency::Normal,
        )
    }

    /// 2. A same-day order from a customer with an overdue receivable.
    fn same_day_order(&mut self) -> Result<(), CliError> {
        self.heading("2. Same-day order from a poor payer")?;
        self.register("QUICKPRINT", "Quick Print", Deferral::calendar(7), 5_000)?;
        self.order(
            nov(2, 10, 0),
            "QUICKPRINT",
            "Q-1",
            &[("paper", 20, 5)],
            Urgency::Normal,
        )?;
        self.deliver(
            nov(2, 12, 0),
            "QUICKPRINT",
            "D-Q-1",
            "Q-1",
            &[("paper", 20)],
        )?;
        self.say("Due Monday 9 Nov, unpaid. On Tuesday 10 Nov a same-day order arrives:")?;
        self.order(
            nov(10, 9, 0),
            "QUICKPRINT",
            "Q-2",
            &[("toner", 2, 60)],
            Urgency::SameDay,
        )
    }

    /// 3. Scarce fast-moving items ordered by several customers.
    fn scarce_items(&mut self) -> Result<(), CliError> {
        self.heading("3. Scarce fast-moving items")?;
        self.register("GOODPAY", "Good Payer", Deferral::calendar(14), 10_000)?;
        self.order(
            nov(17, 9, 0),
            "GOODPAY",
            "G-1",
            &[("drum", 4, 120)],
            Urgency::Normal,
        )?;
        self.order(
            nov(17, 9, 5),
            "QUICKPRINT",
            "Q-3",
            &[("drum", 4, 120)],
            Urgency::Normal,
        )?;
        self.say("-- The service queue on Friday 20 Nov: customers without debt first, then by priority and payment speed; residual orders last:")?;
        let now = nov(20, 12, 0);
        let out = &mut *self.out;
        self.engine.read_models(|read| {
            render::queue(out, &read.projections.service_queue(now), false)
        })??;
        self.say("-- Stock on hand: 5 drums (scarce), 20 cartridges, 10 toners:")?;
        let stock = [("drum", 5), ("cartridge", 20), ("toner", 10)]
            .into_iter()
            .map(|(item, quantity)| (id(item), Decimal::from(quantity)))
            .collect();
        let out = &mut *self.out;
        self.engine
            .read_models(|read| match read.projections.allocate(&stock, now) {
                Ok(plan) => render::allocation(out, &plan, false),
                Err(e) => Err(CliError::io(e)),
            })??;
        Ok(())
    }

    /// 4. A payment order before the money.
    fn payment_order(&mut self) -> Result<(), CliError> {
        self.heading("4. Payment order before money")?;
        self.register("TRUSTY", "Trusty Trade", Deferral::calendar(5), 5_000)?;
        self.order(
            nov(2, 11, 0),
            "TRUSTY",
            "T-1",
            &[("ink", 10, 40)],
            Urgency::Normal,
        )?;
        self.deliver(nov(2, 14, 0), "TRUSTY", "D-T-1", "T-1", &[("ink", 10)])?;
        self.evaluate("TRUSTY", nov(10, 9, 0))?;
        self.say("The customer sends a payment order for the overdue 380.00 EUR; money expected by 12 Nov:")?;
        self.run(
            nov(10, 10, 0),
            ReceivePaymentOrder {
                customer: id("TRUSTY"),
                payment_order: id::<PaymentOrderId>("PO-T-1"),
                amount: money(380),
                expected_by: chrono::NaiveDate::from_ymd_opt(2026, 11, 12).expect("date"),
                receivables: vec![id("D-T-1")],
                occurred_at: None,
            },
        )?;
        self.evaluate("TRUSTY", nov(10, 10, 5))?;
        self.say("13 Nov: the money never arrived.")?;
        self.evaluate("TRUSTY", nov(13, 9, 0))
    }

    /// 5. Reminders: advance, on due, overdue levels, credit limit.
    fn reminders(&mut self) -> Result<(), CliError> {
        self.heading("5. Reminders")?;
        self.register("STEADY", "Steady Supplies", Deferral::calendar(10), 1_000)?;
        self.order(
            nov(3, 9, 0),
            "STEADY",
            "S-1",
            &[("paper", 100, 8)],
            Urgency::Normal,
        )?;
        self.deliver(nov(3, 12, 0), "STEADY", "D-S-1", "S-1", &[("paper", 100)])?;
        self.say("Receivable due Friday 13 Nov; the credit limit of 1,000.00 EUR is 76 % used.")?;
        for (day, note) in [
            (11, "two business days before due"),
            (13, "due today"),
            (16, "one business day late"),
        ] {
            self.say(&format!("-- {day} Nov ({note})"))?;
            self.evaluate("STEADY", nov(day, 9, 0))?;
        }
        Ok(())
    }

    /// 6. Delay reasons, promises kept and broken.
    fn delay_reasons(&mut self) -> Result<(), CliError> {
        self.heading("6. Delay reasons and promises")?;
        self.run(
            nov(16, 12, 0),
            ExplainDelay {
                customer: id("STEADY"),
                receivables: vec![id("D-S-1")],
                reason: id::<ReasonCode>("cash-gap"),
                text: "waiting for its own customer to pay".into(),
                promised_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 18),
                manager: None,
            },
        )?;
        self.run(
            nov(16, 12, 5),
            PromiseToPay {
                customer: id("STEADY"),
                promise: id::<PromiseId>("PR-S-1"),
                amount: money(760),
                promised_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 18).expect("date"),
                receivables: vec![id("D-S-1")],
            },
        )?;
        self.say("19 Nov: nothing arrived by the promised date.")?;
        self.evaluate("STEADY", nov(19, 9, 0))?;
        self.say("20 Nov: five business days late, the reminders escalate to the manager.")?;
        self.evaluate("STEADY", nov(20, 9, 0))
    }

    /// 7. Audit: state as of a date, what was known, why, and what-if.
    fn audit(&mut self) -> Result<(), CliError> {
        self.heading("7. Audit")?;
        self.say("QUICKPRINT had paid 95.00 EUR on 9 Nov, but the bank statement is recorded only on 23 Nov:")?;
        self.pay(
            nov(23, 10, 0),
            "QUICKPRINT",
            "PAY-Q-1",
            95,
            Some(nov(9, 16, 0)),
        )?;
        self.say("-- QUICKPRINT on 10 Nov, as the facts stand now (the payment had happened):")?;
        self.state("QUICKPRINT", AsOf::Business(nov(10, 23, 0)), nov(10, 23, 0))?;
        self.say("-- QUICKPRINT on 10 Nov, as known when the same-day order was decided:")?;
        self.state("QUICKPRINT", AsOf::Known(nov(10, 23, 0)), nov(10, 23, 0))?;
        self.say("-- Why was CARTRIDGE's order of 13 Nov served residually?")?;
        if let Some(envelope) = self.engine.explain("C-13")? {
            render::explanation(self.out, &envelope, false)?;
        }
        self.say("-- Replay check of every recorded decision:")?;
        let reports = self.engine.replay_check()?;
        let mismatches = render::replay(self.out, &reports, false)?;
        if mismatches > 0 {
            return Err(CliError::new(
                crate::error::Exit::CheckFailed,
                format!("{mismatches} decisions do not reproduce"),
            ));
        }
        self.say("-- What if a stricter policy had refused orders one business day late?")?;
        let strict = strict_policy()?;
        let differences = self.engine.what_if(&strict, None)?;
        render::what_if(self.out, &differences, false)
    }
}

/// The default policy with the cartridge rule refusing instead of serving
/// residually.
pub fn strict_policy() -> Result<Policy, CliError> {
    let mut document = Policy::default_policy().document().clone();
    document["id"] = "strict".into();
    document["description"] = "Default, but one business day late means refused.".into();
    if let Some(rules) = document["rules"].as_array_mut() {
        for rule in rules {
            if rule["id"] == "residual-overdue-over-1-business-day" {
                rule["then"]["verdict"] = "refuse".into();
                rule["then"]["fulfilment"] = "refused".into();
                rule["then"]["priority"] = 9.into();
            }
        }
    }
    Policy::from_json(&document.to_string()).map_err(CliError::io)
}
