//! Commands: what a caller asks the customer account to do.
//!
//! Commands are imperative (`PlaceOrder`) and name their customer, so a shell
//! can route them to the right stream. Their JSON shape (`{"command":
//! "place_order", ...}`) is documented in `docs/commands.md`. A command's
//! business time is the `now` given to [`decide`](crate::CustomerAccount::decide),
//! except for facts with a value date of their own (a delivery, a payment, a
//! payment order), which may carry an earlier `occurred_at`.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use credence_events::{
    Allocation, Currency, CustomerId, DeliveryId, DeliveryLine, ItemId, ManagerId, Money, OrderId,
    PaymentId, PaymentMethod, PaymentOrderId, PromiseId, Quantity, ReasonCode, ReceivableId,
    Recipient, ReminderId, ReminderKind, Terms, Urgency,
};
use serde::{Deserialize, Serialize};

/// Register a new customer with its manager, currency, tags and terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterCustomer {
    /// The new customer.
    pub customer: CustomerId,
    /// Its name.
    pub name: String,
    /// The responsible manager.
    pub manager: ManagerId,
    /// The currency of all its amounts.
    pub currency: Currency,
    /// Free-form tags or segments.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// The contract terms.
    pub terms: Terms,
}

/// Replace the customer's contract terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeTerms {
    /// The customer.
    pub customer: CustomerId,
    /// The new terms, in full.
    pub terms: Terms,
}

/// Make another manager responsible for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignManager {
    /// The customer.
    pub customer: CustomerId,
    /// The new manager.
    pub manager: ManagerId,
}

/// One requested line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedLine {
    /// The item.
    pub item: ItemId,
    /// How many.
    pub quantity: Quantity,
    /// The list price per unit, before discount.
    pub unit_price: Money,
}

/// Place an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrder {
    /// The customer.
    pub customer: CustomerId,
    /// The new order's id.
    pub order: OrderId,
    /// Its lines; each item at most once.
    pub lines: Vec<RequestedLine>,
    /// When the customer wants it.
    pub requested_delivery: DateTime<Utc>,
    /// How urgently.
    #[serde(default = "normal_urgency")]
    pub urgency: Urgency,
}

fn normal_urgency() -> Urgency {
    Urgency::Normal
}

/// Cancel the undelivered rest of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOrder {
    /// The customer.
    pub customer: CustomerId,
    /// The order.
    pub order: OrderId,
    /// Why, if known.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Record goods shipped or a service performed against an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDelivery {
    /// The customer.
    pub customer: CustomerId,
    /// The new delivery's id.
    pub delivery: DeliveryId,
    /// The order delivered against.
    pub order: OrderId,
    /// What was delivered (items of the order, at most what is still open).
    pub lines: Vec<DeliveryLine>,
    /// The receivable's id; defaults to the delivery's id.
    #[serde(default)]
    pub receivable: Option<ReceivableId>,
    /// When it was delivered, if earlier than `now`.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Record money received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivePayment {
    /// The customer.
    pub customer: CustomerId,
    /// The new payment's id.
    pub payment: PaymentId,
    /// The amount received.
    pub amount: Money,
    /// How it arrived.
    pub method: PaymentMethod,
    /// Receivables the customer named, with amounts; the rest is allocated
    /// oldest due date first, and what is left becomes credit balance.
    #[serde(default)]
    pub allocations: Vec<Allocation>,
    /// The payment order this money clears, if any.
    #[serde(default)]
    pub payment_order: Option<PaymentOrderId>,
    /// When the money arrived (its value date), if earlier than `now`.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Record a payment order: proof that a transfer was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivePaymentOrder {
    /// The customer.
    pub customer: CustomerId,
    /// The payment order's id.
    pub payment_order: PaymentOrderId,
    /// The amount transferred.
    pub amount: Money,
    /// The date by which the money is expected.
    pub expected_by: NaiveDate,
    /// The receivables it is meant to pay.
    #[serde(default)]
    pub receivables: Vec<ReceivableId>,
    /// When the transfer was issued, if earlier than `now`.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Reverse a payment (bounced, charged back): what it paid is owed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversePayment {
    /// The customer.
    pub customer: CustomerId,
    /// The payment.
    pub payment: PaymentId,
    /// Why.
    pub reason: String,
}

/// Record the manager's explanation of a late payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainDelay {
    /// The customer.
    pub customer: CustomerId,
    /// The late receivables (open ones).
    pub receivables: Vec<ReceivableId>,
    /// A reason code for statistics.
    pub reason: ReasonCode,
    /// The explanation in words.
    pub text: String,
    /// The date the customer says it will pay.
    #[serde(default)]
    pub promised_date: Option<NaiveDate>,
    /// The manager who obtained it; defaults to the customer's manager.
    #[serde(default)]
    pub manager: Option<ManagerId>,
}

/// Record a promise to pay an amount by a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseToPay {
    /// The customer.
    pub customer: CustomerId,
    /// The new promise's id.
    pub promise: PromiseId,
    /// The amount promised.
    pub amount: Money,
    /// The date promised (today or later).
    pub promised_date: NaiveDate,
    /// The receivables it concerns (open ones).
    #[serde(default)]
    pub receivables: Vec<ReceivableId>,
}

/// Record a reminder that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReminder {
    /// The customer.
    pub customer: CustomerId,
    /// The new reminder's id.
    pub reminder: ReminderId,
    /// What it is about.
    pub kind: ReminderKind,
    /// Who it goes to.
    pub recipient: Recipient,
    /// Escalation level.
    #[serde(default)]
    pub level: u8,
    /// The receivables it concerns.
    #[serde(default)]
    pub receivables: Vec<ReceivableId>,
    /// The text.
    pub message: String,
}

/// Close what a deadline has passed on: payment orders whose money did not
/// arrive by their expected date expire, promises whose date passed without
/// the money are broken. Produces nothing when nothing is due, so it can be
/// run at any time, as often as wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDeadlines {
    /// The customer.
    pub customer: CustomerId,
}

/// Everything the customer account can be asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// See [`RegisterCustomer`].
    RegisterCustomer(RegisterCustomer),
    /// See [`ChangeTerms`].
    ChangeTerms(ChangeTerms),
    /// See [`AssignManager`].
    AssignManager(AssignManager),
    /// See [`PlaceOrder`].
    PlaceOrder(PlaceOrder),
    /// See [`CancelOrder`].
    CancelOrder(CancelOrder),
    /// See [`RecordDelivery`].
    RecordDelivery(RecordDelivery),
    /// See [`ReceivePayment`].
    ReceivePayment(ReceivePayment),
    /// See [`ReceivePaymentOrder`].
    ReceivePaymentOrder(ReceivePaymentOrder),
    /// See [`ReversePayment`].
    ReversePayment(ReversePayment),
    /// See [`ExplainDelay`].
    ExplainDelay(ExplainDelay),
    /// See [`PromiseToPay`].
    PromiseToPay(PromiseToPay),
    /// See [`SendReminder`].
    SendReminder(SendReminder),
    /// See [`CheckDeadlines`].
    CheckDeadlines(CheckDeadlines),
}

impl Command {
    /// The customer whose stream the command goes to.
    pub fn customer(&self) -> &CustomerId {
        match self {
            Self::RegisterCustomer(c) => &c.customer,
            Self::ChangeTerms(c) => &c.customer,
            Self::AssignManager(c) => &c.customer,
            Self::PlaceOrder(c) => &c.customer,
            Self::CancelOrder(c) => &c.customer,
            Self::RecordDelivery(c) => &c.customer,
            Self::ReceivePayment(c) => &c.customer,
            Self::ReceivePaymentOrder(c) => &c.customer,
            Self::ReversePayment(c) => &c.customer,
            Self::ExplainDelay(c) => &c.customer,
            Self::PromiseToPay(c) => &c.customer,
            Self::SendReminder(c) => &c.customer,
            Self::CheckDeadlines(c) => &c.customer,
        }
    }

    /// The business time of the fact the command records: its own
    /// `occurred_at` when it has one, else `now`.
    pub fn occurred_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let own = match self {
            Self::RecordDelivery(c) => c.occurred_at,
            Self::ReceivePayment(c) => c.occurred_at,
            Self::ReceivePaymentOrder(c) => c.occurred_at,
            _ => None,
        };
        own.unwrap_or(now)
    }

    /// The command's name as in its JSON form (`"place_order"`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::RegisterCustomer(_) => "register_customer",
            Self::ChangeTerms(_) => "change_terms",
            Self::AssignManager(_) => "assign_manager",
            Self::PlaceOrder(_) => "place_order",
            Self::CancelOrder(_) => "cancel_order",
            Self::RecordDelivery(_) => "record_delivery",
            Self::ReceivePayment(_) => "receive_payment",
            Self::ReceivePaymentOrder(_) => "receive_payment_order",
            Self::ReversePayment(_) => "reverse_payment",
            Self::ExplainDelay(_) => "explain_delay",
            Self::PromiseToPay(_) => "promise_to_pay",
            Self::SendReminder(_) => "send_reminder",
            Self::CheckDeadlines(_) => "check_deadlines",
        }
    }
}

macro_rules! into_command {
    ($($name:ident),*) => {$(
        impl From<$name> for Command {
            fn from(c: $name) -> Command {
                Command::$name(c)
            }
        }
    )*};
}

into_command!(
    RegisterCustomer,
    ChangeTerms,
    AssignManager,
    PlaceOrder,
    CancelOrder,
    RecordDelivery,
    ReceivePayment,
    ReceivePaymentOrder,
    ReversePayment,
    ExplainDelay,
    PromiseToPay,
    SendReminder,
    CheckDeadlines
);
