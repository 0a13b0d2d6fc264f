#![doc = include_str!("../README.md")]
//!
//! # Crates
//!
//! * [`events`]: the vocabulary (ids, money, business time, events, codec);
//! * [`aggregates`]: the customer account, commands and their rules.

pub use credence_aggregates as aggregates;
pub use credence_events as events;
