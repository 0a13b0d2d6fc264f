//! Rejections: why a command was refused. A rejected command records nothing.
//!
//! Every variant is a *business* rejection: the command is wrong for the
//! account's current state, and retrying it unchanged will fail again.
//! Concurrency conflicts and storage failures are not here; they belong to the
//! shell that loads state and appends events.

use chrono::{DateTime, NaiveDate, Utc};
use credence_events::{
    Currency, CustomerId, ItemId, Money, MoneyError, OrderId, PaymentId, PaymentOrderId, PromiseId,
    Quantity, ReceivableId, Verdict,
};

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The customer is not registered.
    #[error("unknown customer {0}")]
    UnknownCustomer(CustomerId),
    /// The customer is already registered.
    #[error("customer {0} is already registered")]
    DuplicateCustomer(CustomerId),
    /// The command names another customer than the account it was given to.
    #[error("command for customer {command} given to the account of {account}")]
    WrongAccount {
        /// The customer the command names.
        command: CustomerId,
        /// The account's customer.
        account: CustomerId,
    },
    /// An id is already used in this account.
    #[error("{kind} {id} already exists")]
    DuplicateId {
        /// What kind of id.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// An amount that must be positive is zero or negative.
    #[error("{field} must be positive, got {amount}")]
    NotPositive {
        /// Which field.
        field: &'static str,
        /// The amount given.
        amount: Money,
    },
    /// An amount is in another currency than the customer's.
    #[error("{field} is in {found}, the customer's currency is {expected}")]
    CurrencyMismatch {
        /// Which field.
        field: &'static str,
        /// The customer's currency.
        expected: Currency,
        /// The currency given.
        found: Currency,
    },
    /// Money arithmetic failed (overflow).
    #[error("amount out of range: {0}")]
    Money(#[from] MoneyError),
    /// A required text or list is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Terms are invalid.
    #[error("invalid terms: {0}")]
    InvalidTerms(String),
    /// The same item appears twice in one order or delivery.
    #[error("item {0} appears more than once")]
    DuplicateItem(ItemId),
    /// The order does not exist in this account.
    #[error("unknown order {0}")]
    UnknownOrder(OrderId),
    /// The order is fully delivered or cancelled.
    #[error("order {0} is closed")]
    OrderClosed(OrderId),
    /// The order's credit decision does not allow delivery.
    #[error("order {order} cannot be delivered: its credit verdict is {verdict:?}")]
    OrderNotReleased {
        /// The order.
        order: OrderId,
        /// Its verdict.
        verdict: Verdict,
    },
    /// The item is not on the order.
    #[error("item {item} is not on order {order}")]
    ItemNotOrdered {
        /// The order.
        order: OrderId,
        /// The item.
        item: ItemId,
    },
    /// More is delivered than is still open on the order line.
    #[error("delivering {requested} of {item} exceeds the {open} still open")]
    OverDelivery {
        /// The item.
        item: ItemId,
        /// The quantity still open.
        open: rust_decimal::Decimal,
        /// The quantity delivered.
        requested: Quantity,
    },
    /// The receivable does not exist in this account (it may be another
    /// customer's).
    #[error("receivable {0} does not belong to this customer")]
    ForeignReceivable(ReceivableId),
    /// The receivable is fully paid.
    #[error("receivable {0} is already paid")]
    ReceivableClosed(ReceivableId),
    /// The receivable was issued after the payment's value date.
    #[error("receivable {receivable} was issued after the payment arrived on {received_on}")]
    ReceivableNotYetIssued {
        /// The receivable.
        receivable: ReceivableId,
        /// The payment's value date.
        received_on: NaiveDate,
    },
    /// More is allocated than the payment or the receivable allows.
    #[error("over-allocation: {0}")]
    OverAllocation(String),
    /// The payment does not exist in this account.
    #[error("unknown payment {0}")]
    UnknownPayment(PaymentId),
    /// The payment was already reversed.
    #[error("payment {0} is already reversed")]
    PaymentAlreadyReversed(PaymentId),
    /// The payment order does not exist in this account.
    #[error("unknown payment order {0}")]
    UnknownPaymentOrder(PaymentOrderId),
    /// The payment order was already cleared or expired.
    #[error("payment order {0} is no longer pending")]
    PaymentOrderNotPending(PaymentOrderId),
    /// The promise does not exist.
    #[error("unknown promise {0}")]
    UnknownPromise(PromiseId),
    /// A date is before another it must follow.
    #[error("{field} {date} is before {earliest}")]
    DateTooEarly {
        /// Which field.
        field: &'static str,
        /// The date given.
        date: NaiveDate,
        /// The earliest allowed.
        earliest: NaiveDate,
    },
    /// A computed date falls outside the representable calendar.
    #[error("date out of range")]
    DateOutOfRange,
    /// `now` is earlier than the last time recorded in the stream.
    #[error("time went backwards: now {now} is before the last recorded {last}")]
    TimeWentBackwards {
        /// The last recorded time.
        last: DateTime<Utc>,
        /// The `now` given.
        now: DateTime<Utc>,
    },
    /// A fact is dated after `now`.
    #[error("occurred_at {occurred_at} is after now {now}")]
    OccursInFuture {
        /// The fact's time.
        occurred_at: DateTime<Utc>,
        /// The `now` given.
        now: DateTime<Utc>,
    },
    /// A reminder of this kind and level was already sent for a receivable.
    #[error("a {kind} reminder of level {level} was already sent for receivable {receivable}")]
    ReminderAlreadySent {
        /// The kind, as text.
        kind: String,
        /// The level.
        level: u8,
        /// The receivable.
        receivable: ReceivableId,
    },
}
