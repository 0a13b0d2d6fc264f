//! Event storage for Credence: one [`EventStore`] contract, three backends.
//!
//! Credence keeps money facts, so its store promises three things: an
//! acknowledged event is never lost, a corrupted or tampered log is
//! detected, and concurrent writers never interleave a stream. The
//! [`EventStore`] trait states the contract (expected-version appends,
//! idempotent retries by event id, gap-free global order, catch-up
//! [`Subscription`]s, snapshots keyed by code hash); each backend keeps it:
//!
//! | backend | for | durability |
//! | --- | --- | --- |
//! | [`FileStore`] (default) | one process embedding Credence | [`Durability::Fsync`] (group commit) or [`Durability::Buffered`] |
//! | [`PostgresStore`] (feature `postgres`) | services sharing one log across processes and machines | the database's commit |
//! | [`MemoryStore`] | tests and what-if runs | none |
//!
//! # The file log
//!
//! A directory of append-only segment files. Every record is framed with
//! its length and a CRC32C, and carries the SHA-256 of the previous record,
//! so [`EventStore::verify`] proves the whole chain: a record edited with a
//! recomputed checksum breaks it. Concurrent appenders are committed in
//! groups: one leader writes and `fdatasync`s for all of them. On open,
//! recovery cuts a torn tail (an append that never completed, so was never
//! acknowledged) and reports it in [`FileStore::recovery_report`]; damage
//! anywhere else is a [`StoreError::Corruption`] naming the segment file and
//! byte offset. A `LOCK` file keeps a second writer out. The byte layout is
//! in [`file::format`] and `docs/storage.md`.
//!
//! # Errors
//!
//! [`StoreError`] separates a **conflict** (reload, decide again, retry),
//! **bad input** (do not retry unchanged; nothing was stored) and
//! **infrastructure** failures (retrying with the same event ids is safe).
//!
//! # Async services
//!
//! The trait is synchronous: its methods block on disk or network IO and
//! the store never spawns tasks. A tokio service keeps the store in an
//! `Arc` and calls it from `tokio::task::spawn_blocking`, so no executor
//! thread ever blocks:
//!
//! ```text
//! let store = Arc::clone(&store);
//! let outcome = tokio::task::spawn_blocking(move || {
//!     store.append(&stream, ExpectedVersion::Exact(version), &events)
//! })
//! .await??;
//! ```
//!
//! # Example
//!
//! ```
//! use credence_events::{EventId, GlobalPosition, ManagerAssigned, ManagerId, NewEvent, StreamId, StreamVersion};
//! use credence_store::{EventStore, ExpectedVersion, FileOptions, FileStore, StoreError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let store = FileStore::open(dir.path(), FileOptions::default())?;
//! let stream = StreamId::new("ACME-042")?;
//! let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
//! let event = NewEvent::new(EventId::from_u128(1), at, ManagerAssigned { manager: ManagerId::new("anna")? });
//!
//! let outcome = store.append(&stream, ExpectedVersion::NoStream, &[event.clone()])?;
//! assert_eq!(outcome.stream_version, StreamVersion(1));
//! // A retry is acknowledged, not duplicated.
//! assert!(store.append(&stream, ExpectedVersion::NoStream, &[event])?.already_stored);
//! // A writer that saw an older version gets a conflict.
//! let stale = NewEvent::new(EventId::from_u128(2), at, ManagerAssigned { manager: ManagerId::new("ben")? });
//! let err = store.append(&stream, ExpectedVersion::NoStream, &[stale]).unwrap_err();
//! assert!(matches!(err, StoreError::Conflict { .. }));
//! assert_eq!(store.read_all(GlobalPosition::START, 10)?.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `postgres` | [`PostgresStore`] over the synchronous `postgres` client |

// The crate docs link `PostgresStore`, which exists only with `postgres`.
#![cfg_attr(not(feature = "postgres"), allow(rustdoc::broken_intra_doc_links))]
// The store is imperative shell: it reads the clock only to bound waits
// (subscriptions, polling), never to decide anything.
#![allow(clippy::disallowed_methods)]

pub mod error;
pub mod file;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod store;
pub mod subscription;

pub use error::{DuplicateReason, StoreError};
pub use file::{Durability, FileOptions, FileStore, RecoveryReport, TornTail};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use store::{
    AppendOutcome, EventStore, ExpectedVersion, MAX_SNAPSHOT_KEY_LEN, Snapshot, SnapshotKey,
    VerifyReport,
};
pub use subscription::Subscription;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_send_sync_and_object_safe() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<MemoryStore>();
        assert_send_sync::<FileStore>();
        assert_send_sync::<Subscription>();
        let store: std::sync::Arc<dyn EventStore> = std::sync::Arc::new(MemoryStore::new());
        assert_eq!(
            store.head().unwrap(),
            credence_events::GlobalPosition::START
        );
    }
}
