//! The events: one type per fact of credit control, and the [`Event`] enum.
//!
//! Events are past-tense facts. They carry every value their consumers need
//! (due dates, allocations, amounts after discount), computed when the command
//! was decided, so that applying an event never needs the calendar, the
//! policy or any other outside knowledge. Each event type has a name and a
//! schema version used by the [codec](crate::codec); see `docs/events.md`.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::decision::{
    AdjustmentKind, DiscountOutcome, Explanation, FulfilmentMode, Priority, Recipient,
    ReminderKind, Verdict,
};
use crate::id::{
    CustomerId, DecisionId, DeliveryId, ItemId, ManagerId, OrderId, PaymentId, PaymentOrderId,
    PromiseId, ReasonCode, ReceivableId, ReminderId,
};
use crate::money::{Currency, Money, Quantity, Rate};
use crate::time::Deferral;

/// The contract's service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    /// Basic service.
    Basic,
    /// The usual service.
    Standard,
    /// Premium service (faster, more complete).
    Premium,
}

/// Contract terms of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Terms {
    /// The credit limit that exposure is compared with.
    pub credit_limit: Money,
    /// Payment deferral after delivery.
    pub deferral: Deferral,
    /// The customer's usual discount off list prices.
    pub base_discount: Rate,
    /// The customer's markup on list prices.
    pub markup: Rate,
    /// The bonus the customer earns on paid deliveries.
    pub bonus: Rate,
    /// The contract's service level.
    pub service_level: ServiceLevel,
}

/// A customer was registered with its manager, currency, tags and terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRegistered {
    /// The customer (also the stream's id).
    pub customer: CustomerId,
    /// The customer's name.
    pub name: String,
    /// The responsible manager.
    pub manager: ManagerId,
    /// The currency every amount of this customer is in.
    pub currency: Currency,
    /// Free-form tags or segments (`"wholesale"`, `"region:west"`).
    pub tags: BTreeSet<String>,
    /// The initial contract terms.
    pub terms: Terms,
}

/// The contract terms changed (schema v2; v1 knew only calendar-day deferrals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsChanged {
    /// The new terms, in full.
    pub terms: Terms,
}

/// Another manager became responsible for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerAssigned {
    /// The new manager.
    pub manager: ManagerId,
}

/// How urgently an order is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Normal lead time.
    Normal,
    /// Wanted quickly.
    Urgent,
    /// Wanted the same day.
    SameDay,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderLine {
    /// The item ordered.
    pub item: ItemId,
    /// How many.
    pub quantity: Quantity,
    /// The list price per unit, before discount.
    pub unit_price: Money,
}

/// A customer placed an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The order.
    pub order: OrderId,
    /// Its lines; each item appears once.
    pub lines: Vec<OrderLine>,
    /// When the customer wants it.
    pub requested_delivery: DateTime<Utc>,
    /// How urgently.
    pub urgency: Urgency,
    /// The discount the order carries (the customer's base discount when it
    /// was placed); a credit decision may suspend it.
    pub discount: Rate,
}

/// The undelivered rest of an order was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// The order.
    pub order: OrderId,
    /// Why, if known.
    pub reason: Option<String>,
}

/// One delivered line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeliveryLine {
    /// The item delivered.
    pub item: ItemId,
    /// How many.
    pub quantity: Quantity,
}

/// Part of a receivable settled by a payment (or reopened by its reversal).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Allocation {
    /// The receivable.
    pub receivable: ReceivableId,
    /// The amount.
    pub amount: Money,
}

/// Credit balance from an earlier payment consumed by a new receivable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreditApplication {
    /// The overpaid payment whose credit is used.
    pub payment: PaymentId,
    /// The amount used.
    pub amount: Money,
}

/// Goods were shipped or a service performed against an order, creating a
/// receivable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecorded {
    /// The delivery.
    pub delivery: DeliveryId,
    /// The order delivered against.
    pub order: OrderId,
    /// What was delivered; may be part of the order.
    pub lines: Vec<DeliveryLine>,
    /// The supplier's local date of delivery.
    pub delivered_on: NaiveDate,
    /// The receivable created.
    pub receivable: ReceivableId,
    /// The amount owed: delivered quantity × unit price, less the order's
    /// discount, rounded to the minor unit.
    pub amount: Money,
    /// delivered_on + the deferral in force.
    pub due_date: NaiveDate,
    /// Credit balance consumed by this receivable, oldest credit first.
    pub credit_applied: Vec<CreditApplication>,
}

/// How a payment arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// A bank transfer.
    BankTransfer,
    /// Cash.
    Cash,
    /// Cash collected on delivery.
    CashOnDelivery,
}

/// Money was received and allocated to receivables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceived {
    /// The payment.
    pub payment: PaymentId,
    /// The whole amount received.
    pub amount: Money,
    /// How it arrived.
    pub method: PaymentMethod,
    /// The supplier's local date the money arrived (its value date).
    pub received_on: NaiveDate,
    /// Where it went: named receivables, else oldest due date first.
    pub allocations: Vec<Allocation>,
    /// What was left over: becomes credit balance.
    pub unallocated: Money,
}

/// The customer sent a payment order: proof a transfer was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrderReceived {
    /// The payment order.
    pub payment_order: PaymentOrderId,
    /// The amount transferred.
    pub amount: Money,
    /// The date the transfer was issued.
    pub issued_on: NaiveDate,
    /// The date by which the money is expected.
    pub expected_by: NaiveDate,
    /// The receivables it is meant to pay, if stated.
    pub receivables: Vec<ReceivableId>,
}

/// The money of a payment order arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrderCleared {
    /// The payment order.
    pub payment_order: PaymentOrderId,
    /// The payment that brought the money.
    pub payment: PaymentId,
}

/// The money of a payment order did not arrive by its expected date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrderExpired {
    /// The payment order.
    pub payment_order: PaymentOrderId,
}

/// A payment was reversed (bounced, charged back); what it paid is owed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReversed {
    /// The payment.
    pub payment: PaymentId,
    /// Why.
    pub reason: String,
    /// The receivables reopened, each by exactly what this payment paid on it
    /// (directly or through credit balance).
    pub reopened: Vec<Allocation>,
    /// The part of the payment's credit balance not yet used, now removed.
    pub credit_removed: Money,
}

/// A reminder was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderSent {
    /// The reminder.
    pub reminder: ReminderId,
    /// What it is about.
    pub kind: ReminderKind,
    /// Who it went to.
    pub recipient: Recipient,
    /// Escalation level (0 for advance and on-due reminders).
    pub level: u8,
    /// The receivables it concerns.
    pub receivables: Vec<ReceivableId>,
    /// The text sent.
    pub message: String,
    /// Why it was sent, when a policy decided it.
    pub explanation: Option<Explanation>,
}

/// The manager explained why a receivable is late.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayExplained {
    /// The late receivables.
    pub receivables: Vec<ReceivableId>,
    /// The manager who obtained the explanation.
    pub manager: ManagerId,
    /// A reason code for statistics.
    pub reason: ReasonCode,
    /// The explanation in words.
    pub text: String,
    /// The date the customer says it will pay, if given.
    pub promised_date: Option<NaiveDate>,
}

/// The customer promised to pay an amount by a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseToPayMade {
    /// The promise.
    pub promise: PromiseId,
    /// The amount promised.
    pub amount: Money,
    /// The date promised.
    pub promised_date: NaiveDate,
    /// The receivables it concerns.
    pub receivables: Vec<ReceivableId>,
}

/// A promise was kept: enough money arrived by the promised date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseToPayKept {
    /// The promise.
    pub promise: PromiseId,
    /// The payment that completed it.
    pub payment: PaymentId,
}

/// A promise was broken: the promised date passed without enough money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseToPayBroken {
    /// The promise.
    pub promise: PromiseId,
    /// How much of the promised amount had arrived.
    pub paid: Money,
}

/// A policy decided on an order or on the customer's standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditDecided {
    /// The decision.
    pub decision: DecisionId,
    /// The order decided on, if any.
    pub order: Option<OrderId>,
    /// The verdict.
    pub verdict: Verdict,
    /// How the order is to be fulfilled.
    pub fulfilment: FulfilmentMode,
    /// Whether the order keeps its discount.
    pub discount: DiscountOutcome,
    /// The customer's priority at the time.
    pub priority: Priority,
    /// Why.
    pub explanation: Explanation,
}

/// A policy changed the customer's discount, markup or bonus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceAdjustmentChanged {
    /// The decision.
    pub decision: DecisionId,
    /// Which adjustment.
    pub adjustment: AdjustmentKind,
    /// The effective rate before.
    pub from: Rate,
    /// The effective rate after.
    pub to: Rate,
    /// Why.
    pub explanation: Explanation,
}

/// A policy changed the customer's service priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityChanged {
    /// The decision.
    pub decision: DecisionId,
    /// The rank before.
    pub from: Priority,
    /// The rank after.
    pub to: Priority,
    /// Why.
    pub explanation: Explanation,
}

/// A policy changed the customer's fulfilment mode for new orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentModeChanged {
    /// The decision.
    pub decision: DecisionId,
    /// The mode before.
    pub from: FulfilmentMode,
    /// The mode after.
    pub to: FulfilmentMode,
    /// Why.
    pub explanation: Explanation,
}

macro_rules! events {
    ($($(#[$meta:meta])* $name:ident = $schema:literal,)*) => {
        /// Every fact that can be recorded in a customer's stream.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Event {
            $($(#[$meta])* $name($name),)*
        }

        impl Event {
            /// Every event type name with its current schema version.
            pub const TYPES: &'static [(&'static str, u16)] = &[$((stringify!($name), $schema),)*];

            /// The event's type name, as stored (`"OrderPlaced"`).
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => stringify!($name),)*
                }
            }

            /// The current schema version of this event's type.
            pub fn schema_version(&self) -> u16 {
                match self {
                    $(Self::$name(_) => $schema,)*
                }
            }

            /// The current schema version of the type called `type_name`.
            pub fn current_schema(type_name: &str) -> Option<u16> {
                match type_name {
                    $(stringify!($name) => Some($schema),)*
                    _ => None,
                }
            }

            /// Serialises the payload (without type and version) as JSON.
            pub(crate) fn data_to_writer<W: std::io::Write>(&self, writer: W) -> serde_json::Result<()> {
                match self {
                    $(Self::$name(e) => serde_json::to_writer(writer, e),)*
                }
            }

            /// Deserialises a current-schema payload of type `type_name`.
            /// `None` for an unknown type.
            pub(crate) fn data_from_str(type_name: &str, data: &str) -> Option<serde_json::Result<Event>> {
                match type_name {
                    $(stringify!($name) => Some(serde_json::from_str::<$name>(data).map(Self::$name)),)*
                    _ => None,
                }
            }

            /// Deserialises a current-schema payload from an upcast JSON value.
            pub(crate) fn data_from_value(type_name: &str, data: serde_json::Value) -> Option<serde_json::Result<Event>> {
                match type_name {
                    $(stringify!($name) => Some(serde_json::from_value::<$name>(data).map(Self::$name)),)*
                    _ => None,
                }
            }
        }

        $(
            impl From<$name> for Event {
                fn from(e: $name) -> Event {
                    Event::$name(e)
                }
            }
        )*
    };
}

events! {
    /// See [`CustomerRegistered`].
    CustomerRegistered = 1,
    /// See [`TermsChanged`].
    TermsChanged = 2,
    /// See [`ManagerAssigned`].
    ManagerAssigned = 1,
    /// See [`OrderPlaced`].
    OrderPlaced = 1,
    /// See [`OrderCancelled`].
    OrderCancelled = 1,
    /// See [`DeliveryRecorded`].
    DeliveryRecorded = 1,
    /// See [`PaymentReceived`].
    PaymentReceived = 1,
    /// See [`PaymentOrderReceived`].
    PaymentOrderReceived = 1,
    /// See [`PaymentOrderCleared`].
    PaymentOrderCleared = 1,
    /// See [`PaymentOrderExpired`].
    PaymentOrderExpired = 1,
    /// See [`PaymentReversed`].
    PaymentReversed = 1,
    /// See [`ReminderSent`].
    ReminderSent = 1,
    /// See [`DelayExplained`].
    DelayExplained = 1,
    /// See [`PromiseToPayMade`].
    PromiseToPayMade = 1,
    /// See [`PromiseToPayKept`].
    PromiseToPayKept = 1,
    /// See [`PromiseToPayBroken`].
    PromiseToPayBroken = 1,
    /// See [`CreditDecided`].
    CreditDecided = 1,
    /// See [`PriceAdjustmentChanged`].
    PriceAdjustmentChanged = 1,
    /// See [`PriorityChanged`].
    PriorityChanged = 1,
    /// See [`FulfilmentModeChanged`].
    FulfilmentModeChanged = 1,
}

impl Event {
    /// True for the events a policy records (decisions and reminders).
    pub fn is_decision(&self) -> bool {
        matches!(
            self,
            Event::CreditDecided(_)
                | Event::PriceAdjustmentChanged(_)
                | Event::PriorityChanged(_)
                | Event::FulfilmentModeChanged(_)
                | Event::ReminderSent(_)
        )
    }
}
