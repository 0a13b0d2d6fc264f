//! Credence: credit control between a supplier and its B2B customers, as an event log.
//!
//! This facade re-exports the Credence crates:
//!
//! * [`events`]: the vocabulary (ids, money, business time, events, codec);
//! * [`aggregates`]: the customer account, commands and their rules.
//!
//! See `README.md` and `ARCHITECTURE.md` in the repository.

pub use credence_aggregates as aggregates;
pub use credence_events as events;
