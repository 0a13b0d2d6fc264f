//! Read models of Credence: the screens a credit controller, a manager and
//! a warehouse look at, derived from the event log.
//!
//! * [`Projections`]: every customer's [`CustomerAccount`](credence_aggregates::CustomerAccount)
//!   (the aggregate's own fold: allocation, debt and exposure are never
//!   re-implemented here) plus an open-order index, payment-behaviour
//!   statistics and pending change notices, updated one event at a time.
//!   Its queries take the business time `now`:
//!   * [`customer_state`](Projections::customer_state): debt, overdue,
//!     [aging] with configurable buckets, exposure, limit headroom,
//!     effective discount / markup / bonus, priority, fulfilment mode,
//!     credit hold, pending payment orders;
//!   * [`service_queue`](Projections::service_queue): every open order in
//!     [service order](queue) with the reason for each position;
//!   * [`allocate`](Projections::allocate): a [scarce stock allocation](allocation)
//!     with a reason per line;
//!   * [`reminder_worklist`](Projections::reminder_worklist): [reminders]
//!     due and not yet sent;
//!   * [`manager_worklist`](Projections::manager_worklist): per manager,
//!     overdue customers, missing delay explanations, promised dates coming
//!     up, broken promises;
//!   * [`payment_behaviour`](Projections::payment_behaviour),
//!     [`manager_statistics`](Projections::manager_statistics),
//!     [`overall_behaviour`](Projections::overall_behaviour): delay reasons,
//!     days-to-pay distribution, promise reliability ([stats]).
//! * [`AsOfIndex`]: the state of a customer [as of](asof) business time `t`
//!   or as known at recorded time `k`, from a snapshot index.
//!
//! Both are a [`Projection`]: fed the global log in order, they record the
//! position applied (the checkpoint); catching up from a checkpoint gives
//! the same state as rebuilding from zero.
//!
//! ```text
//! let mut read = Projections::new(ProjectionConfig::default());
//! read.catch_up(&events)?;                 // or read.apply(&event)? per event
//! let queue = read.service_queue(now);
//! let plan = read.allocate(&stock, now)?;
//! let mut index = AsOfIndex::default();
//! index.catch_up(&events)?;
//! let then = index.state(&customer, AsOf::known_at(decided_at), &store)?;
//! ```
//!
//! # Invariants
//!
//! * **Pure.** No IO, no clock, no randomness: time is an argument, maps
//!   are ordered, every output is deterministic.
//! * **Incremental equals rebuild.** Applying events one at a time from any
//!   checkpoint gives the state a rebuild from position 1 gives.
//! * **Errors change nothing.** An event out of order is refused with a
//!   [`ProjectionError`] and leaves the read models as they were.
//! * **Queries do not replay.** Time-dependent read models are computed from
//!   state kept per event; as-of queries fold at most one snapshot interval
//!   plus back-dated events.

pub mod aging;
pub mod allocation;
pub mod asof;
pub mod config;
pub mod credit;
pub mod error;
pub mod managers;
pub mod projection;
pub mod queue;
pub mod read_models;
pub mod reminders;
pub mod stats;

pub use aging::{Aging, AgingBucket, AgingBuckets, BucketRange};
pub use allocation::{
    AllocationLine, AllocationOutcome, AllocationPass, AllocationPlan, AllocationReason,
    ItemAllocation,
};
pub use asof::{AsOf, AsOfIndex, StreamEvents};
pub use config::{NoDebtTest, ProjectionConfig, ReminderSchedule};
pub use credit::{CustomerCreditState, HoldReason, PendingPaymentOrder};
pub use error::ProjectionError;
pub use managers::{
    BrokenPromise, ManagerWorklist, MissingExplanation, OverdueCustomer, PromiseSource,
    PromisedDate,
};
pub use projection::{Applied, Projection};
pub use queue::{QueueEntry, QueueReason, ServiceQueue, ServiceTier};
pub use read_models::Projections;
pub use reminders::{DueReminder, scheduled_reminders};
pub use stats::{ManagerStatistics, PaymentBehaviour, PromiseRecord};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Projections>();
        assert_send_sync::<AsOfIndex>();
        assert_send_sync::<ProjectionError>();
        assert_send_sync::<AllocationPlan>();
        assert_send_sync::<ServiceQueue>();
    }
}
