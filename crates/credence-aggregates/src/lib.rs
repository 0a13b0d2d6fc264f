//! The customer account: Credence's consistency boundary for credit decisions.
//!
//! One customer's stream folds into a [`CustomerAccount`]; a [`Command`] is
//! decided against it:
//!
//! ```text
//! decide(&account, &command, now, &calendar) -> Result<Vec<Event>, Rejection>
//! account.apply(&envelope)                    // total: never fails, never decides
//! ```
//!
//! The account knows the terms; open orders and their undelivered value;
//! receivables with due dates and open amounts; payments and where their
//! money went; credit balance from overpayment; pending payment orders;
//! promises; delay explanations; reminders sent; the standing set by policy
//! decisions; and the derived debt, overdue debt and exposure.
//!
//! The history-long collections of the account are persistent B-trees
//! ([`SharedMap`], [`SharedSet`], module [`shared`]): cloning an account is
//! O(1) in its history and a clone shares structure with its original, so
//! as-of snapshots are cheap to keep. Closed items (delivered orders, paid
//! receivables, spent payments) are frozen into compact byte records apart
//! from the open ones, so what a command reads stays as small as the
//! customer's open business. An account folded once and dropped (an audit,
//! a what-if) can skip that work: [`CustomerAccount::transient`] keeps its
//! closed items as values beside the open ones, and is in every other way
//! the same account.
//!
//! # Payment allocation
//!
//! A payment pays the receivables it names, with the amounts it names; the
//! rest goes to open receivables by oldest due date first (then oldest issue
//! date, then id); what is left becomes credit balance, which the next
//! receivables consume as they are issued, oldest credit first. A reversal
//! reopens exactly what the payment paid, directly or through its credit, and
//! removes its unused credit. A payment never pays a receivable issued after
//! its value date.
//!
//! # Invariants
//!
//! * **Pure.** No IO, no clock, no randomness; `now` and the calendar are
//!   arguments. The same inputs always decide the same events.
//! * **A rejection records nothing.** Every invalid command returns a typed
//!   [`Rejection`] and no events.
//! * **Money is conserved.** debt = delivered value − allocated payments; no
//!   receivable's open amount is negative or above its amount; a payment's
//!   allocations plus its unallocated credit equal its amount.
//! * **Cost does not grow with history.** Totals are maintained per event;
//!   commands touch only the entities they name and the open receivables.

mod account;
mod closed;
mod command;
mod decide;
pub mod few;
mod rejection;
pub mod shared;
pub mod testing;

pub use account::{
    AdjustmentSources, CustomerAccount, DelayExplanation, Order, OrderLineState, OrderStatus,
    Payment, PaymentOrder, PaymentOrderStatus, Profile, Promise, PromiseStatus, Receivable,
    ReminderKey, Standing, days_late,
};
pub use command::{
    AssignManager, CancelOrder, ChangeTerms, CheckDeadlines, Command, ExplainDelay, PlaceOrder,
    PromiseToPay, ReceivePayment, ReceivePaymentOrder, RecordDelivery, RegisterCustomer,
    RequestedLine, ReversePayment, SendReminder,
};
pub use few::Few;
pub use rejection::Rejection;
pub use shared::{SharedMap, SharedSet};
