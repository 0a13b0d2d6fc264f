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
//! ```
//! use std::collections::BTreeMap;
//!
//! use chrono::{TimeZone, Utc};
//! use credence_aggregates::testing::given;
//! use credence_aggregates::{PlaceOrder, RegisterCustomer, RequestedLine};
//! use credence_events::{
//!     Currency, CustomerId, Deferral, ItemId, ManagerId, Money, OrderId, Quantity, Rate,
//!     ServiceLevel, Terms, Urgency,
//! };
//! use credence_projections::{AsOf, AsOfIndex, Projection, ProjectionConfig, Projections};
//! use rust_decimal::Decimal;
//!
//! # fn main() -> Result<(), credence_projections::ProjectionError> {
//! // The harness writes to a stream called "scenario": name the customer so.
//! let customer = CustomerId::new("scenario").unwrap();
//! let eur = Currency::new("EUR").unwrap();
//! let money = |units: i64| Money::new(Decimal::from(units), eur).unwrap();
//! let now = Utc.with_ymd_and_hms(2026, 11, 6, 10, 0, 0).unwrap();
//! let history = given([])
//!     .at(now)
//!     .and_then(RegisterCustomer {
//!         customer: customer.clone(),
//!         name: "Acme".into(),
//!         manager: ManagerId::new("olena").unwrap(),
//!         currency: eur,
//!         tags: Default::default(),
//!         terms: Terms {
//!             credit_limit: money(1000),
//!             deferral: Deferral::business(3),
//!             base_discount: Rate::ZERO,
//!             markup: Rate::ZERO,
//!             bonus: Rate::ZERO,
//!             service_level: ServiceLevel::Standard,
//!         },
//!     })
//!     .and_then(PlaceOrder {
//!         customer: customer.clone(),
//!         order: OrderId::new("O-1").unwrap(),
//!         lines: vec![RequestedLine {
//!             item: ItemId::new("cartridge").unwrap(),
//!             quantity: Quantity::units(4).unwrap(),
//!             unit_price: money(25),
//!         }],
//!         requested_delivery: now,
//!         urgency: Urgency::Normal,
//!     })
//!     .history()
//!     .to_vec();
//!
//! let mut read = Projections::new(ProjectionConfig::default());
//! read.catch_up(&history)?; // or read.apply(&event)? per event
//! assert_eq!(read.customer_state(&customer, now).unwrap().exposure, money(100));
//! assert_eq!(read.service_queue(now).entries.len(), 1);
//!
//! let stock = BTreeMap::from([(ItemId::new("cartridge").unwrap(), Decimal::from(3))]);
//! let plan = read.allocate(&stock, now)?;
//! assert_eq!(plan.lines[0].allocated, Decimal::from(3));
//! println!("{}", plan.explain(&plan.lines[0]));
//!
//! let mut index = AsOfIndex::default();
//! index.catch_up(&history)?;
//! let streams = BTreeMap::from([(history[0].stream.clone(), history.clone())]);
//! let before = index.state(&customer, AsOf::known_at(now), &streams)?.unwrap();
//! assert_eq!(before.exposure(), money(100));
//! # Ok(())
//! # }
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
pub use stats::{Histogram, HistogramIter, ManagerStatistics, PaymentBehaviour, PromiseRecord};

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
