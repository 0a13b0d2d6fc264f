#![doc = include_str!("../README.md")]
//!
//! # Crates
//!
//! * [`events`]: the vocabulary (ids, money, business time, events, codec);
//! * [`aggregates`]: the customer account, commands and their rules;
//! * [`policies`]: versioned credit rules, explained decisions, reminders;
//! * [`projections`]: read models (service queue, allocation, worklists, as-of);
//! * [`store`]: the event store contract and its backends;
//! * [`Engine`]: the shell that wires them.
//!
//! # Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `postgres` | `Engine::open_postgres` over `credence_store::PostgresStore` |

// The engine is shell code: it draws random event ids.
mod engine;

pub use credence_aggregates as aggregates;
pub use credence_events as events;
pub use credence_policies as policies;
pub use credence_projections as projections;
pub use credence_store as store;
pub use engine::{AsOf, Engine, EngineConfig, EngineError, Executed, ReadModels};
