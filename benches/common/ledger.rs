//! The cqrs-es side of the comparison: a small credit ledger aggregate for
//! cqrs-es 0.5.0 (one command = one event, `rust_decimal` amounts) and the
//! translation of Credence's commands into its commands, so that both
//! frameworks run the same workload.

use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use credence_aggregates::Command;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A command of the ledger.
#[derive(Debug, Clone)]
pub enum LedgerCommand {
    /// Open the account.
    Register {
        /// Credit limit.
        credit_limit: Decimal,
    },
    /// Place an order worth `amount`.
    PlaceOrder {
        /// Order id.
        order: String,
        /// Value.
        amount: Decimal,
    },
    /// Deliver `amount` worth of an order (it becomes debt).
    Deliver {
        /// Order id.
        order: String,
        /// Value.
        amount: Decimal,
    },
    /// Cancel what is left of an order.
    Cancel {
        /// Order id.
        order: String,
    },
    /// Money in (or out, for a reversal).
    Pay {
        /// Amount, negative for a reversal.
        amount: Decimal,
    },
    /// Anything else (promises, payment orders, reminders): recorded as is.
    Note {
        /// The command's name.
        kind: String,
    },
}

/// An event of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LedgerEvent {
    /// Account opened.
    Registered {
        /// Credit limit.
        credit_limit: Decimal,
    },
    /// Order placed, with the credit check's verdict.
    OrderPlaced {
        /// Order id.
        order: String,
        /// Value.
        amount: Decimal,
        /// Whether exposure stayed within the limit.
        within_limit: bool,
    },
    /// Delivered.
    Delivered {
        /// Order id.
        order: String,
        /// Value.
        amount: Decimal,
    },
    /// Rest of the order cancelled.
    Cancelled {
        /// Order id.
        order: String,
    },
    /// Money moved.
    Paid {
        /// Amount.
        amount: Decimal,
    },
    /// Something else happened.
    Noted {
        /// The command's name.
        kind: String,
    },
}

impl DomainEvent for LedgerEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Registered { .. } => "Registered",
            Self::OrderPlaced { .. } => "OrderPlaced",
            Self::Delivered { .. } => "Delivered",
            Self::Cancelled { .. } => "Cancelled",
            Self::Paid { .. } => "Paid",
            Self::Noted { .. } => "Noted",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// A rejected ledger command.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LedgerError(pub String);

/// The ledger aggregate: limit, debt and open order values.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    registered: bool,
    credit_limit: Decimal,
    debt: Decimal,
    open: BTreeMap<String, Decimal>,
}

impl Ledger {
    fn exposure(&self) -> Decimal {
        self.debt + self.open.values().copied().sum::<Decimal>()
    }
}

impl Aggregate for Ledger {
    const TYPE: &'static str = "ledger";
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    type Error = LedgerError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _service: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        if !self.registered && !matches!(command, LedgerCommand::Register { .. }) {
            return Err(LedgerError("not registered".into()));
        }
        let event = match command {
            LedgerCommand::Register { credit_limit } => LedgerEvent::Registered { credit_limit },
            LedgerCommand::PlaceOrder { order, amount } => {
                if amount <= Decimal::ZERO {
                    return Err(LedgerError("empty order".into()));
                }
                let within_limit = self.exposure() + amount <= self.credit_limit;
                LedgerEvent::OrderPlaced {
                    order,
                    amount,
                    within_limit,
                }
            }
            LedgerCommand::Deliver { order, amount } => {
                if !self.open.contains_key(&order) {
                    return Err(LedgerError("unknown order".into()));
                }
                LedgerEvent::Delivered { order, amount }
            }
            LedgerCommand::Cancel { order } => LedgerEvent::Cancelled { order },
            LedgerCommand::Pay { amount } => LedgerEvent::Paid { amount },
            LedgerCommand::Note { kind } => LedgerEvent::Noted { kind },
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            LedgerEvent::Registered { credit_limit } => {
                self.registered = true;
                self.credit_limit = credit_limit;
            }
            LedgerEvent::OrderPlaced { order, amount, .. } => {
                self.open.insert(order, amount);
            }
            LedgerEvent::Delivered { order, amount } => {
                if let Some(open) = self.open.get_mut(&order) {
                    *open -= amount.min(*open);
                }
                self.debt += amount;
            }
            LedgerEvent::Cancelled { order } => {
                self.open.remove(&order);
            }
            LedgerEvent::Paid { amount } => self.debt -= amount,
            LedgerEvent::Noted { .. } => {}
        }
    }
}

/// The ledger command for a Credence command, and the aggregate id.
pub fn translate(command: &Command) -> (String, LedgerCommand) {
    let id = command.customer().as_str().to_owned();
    let ledger = match command {
        Command::RegisterCustomer(c) => LedgerCommand::Register {
            credit_limit: c.terms.credit_limit.amount(),
        },
        Command::PlaceOrder(c) => LedgerCommand::PlaceOrder {
            order: c.order.as_str().to_owned(),
            amount: c
                .lines
                .iter()
                .map(|l| l.quantity.value() * l.unit_price.amount())
                .sum(),
        },
        Command::RecordDelivery(c) => LedgerCommand::Deliver {
            order: c.order.as_str().to_owned(),
            // The unit price is not on the delivery; one unit = 1.
            amount: c.lines.iter().map(|l| l.quantity.value()).sum(),
        },
        Command::CancelOrder(c) => LedgerCommand::Cancel {
            order: c.order.as_str().to_owned(),
        },
        Command::ReceivePayment(c) => LedgerCommand::Pay {
            amount: c.amount.amount(),
        },
        other => LedgerCommand::Note {
            kind: other.name().to_owned(),
        },
    };
    (id, ledger)
}
