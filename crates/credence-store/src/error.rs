//! The store's error type: conflicts, bad input and infrastructure failures apart.

use std::io;
use std::path::PathBuf;

use credence_events::{BinaryError, CodecError, EventId, GlobalPosition, StreamId, StreamVersion};

use crate::store::ExpectedVersion;

/// Why an event id in an append could not be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DuplicateReason {
    /// The id is stored with different content.
    DifferentContent,
    /// The id is stored in another stream.
    OtherStream,
    /// Some ids of the batch are stored and some are not, or they are stored
    /// in a different order: the batch is not a retry of one stored append.
    PartialOverlap,
    /// The same id appears twice in the batch.
    RepeatedInBatch,
}

impl std::fmt::Display for DuplicateReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DuplicateReason::DifferentContent => "it is already stored with different content",
            DuplicateReason::OtherStream => "it is already stored in another stream",
            DuplicateReason::PartialOverlap => {
                "the batch overlaps a stored append only in part or in another order"
            }
            DuplicateReason::RepeatedInBatch => "it appears twice in the batch",
        })
    }
}

/// Everything that can go wrong in a store.
///
/// Callers handle three families differently:
///
/// * **Conflict** ([`StoreError::Conflict`]): another writer appended to the
///   stream first. Reload the stream, decide again, and retry.
/// * **Bad input** ([`StoreError::DuplicateEvent`], [`StoreError::InvalidInput`]):
///   the request itself is wrong; retrying it unchanged fails again. Nothing
///   was stored.
/// * **Infrastructure** (every other variant): IO, corruption, database or
///   a store made unusable by an earlier failure. Whether the append happened
///   is unknown for IO and database errors; retrying with the same event ids
///   is safe because appends are idempotent.
///
/// [`StoreError::is_conflict`], [`StoreError::is_bad_input`] and
/// [`StoreError::is_infrastructure`] classify an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream is not at the expected version.
    #[error("stream {stream} is at version {actual}, expected {expected}")]
    Conflict {
        /// The stream.
        stream: StreamId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The version found.
        actual: StreamVersion,
    },
    /// An event id in the batch cannot be accepted.
    #[error("event {id} cannot be appended: {reason}")]
    DuplicateEvent {
        /// The offending id.
        id: EventId,
        /// Why.
        reason: DuplicateReason,
    },
    /// The request is malformed (an empty batch, a snapshot of a version the
    /// stream does not have, a record too large, …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An IO operation failed.
    #[error("io error while {context}: {source}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The file log is damaged at a known place.
    #[error("corrupt log segment {} at byte {offset}: {reason}", segment.display())]
    Corruption {
        /// The segment file.
        segment: PathBuf,
        /// The byte offset of the damaged record (or header) in it.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A segment file that must exist is missing.
    #[error("log segment {} is missing", segment.display())]
    MissingSegment {
        /// The missing file.
        segment: PathBuf,
    },
    /// Another writer holds the store directory.
    #[error("store directory {} is locked by another writer", path.display())]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// A stored event could not be decoded.
    #[error("stored event at position {position} cannot be decoded: {source}")]
    Decode {
        /// Its global position.
        position: GlobalPosition,
        /// What the codec reported.
        source: CodecError,
    },
    /// A stored event with a binary payload could not be decoded.
    #[error("stored event at position {position} cannot be decoded: {source}")]
    BinaryDecode {
        /// Its global position.
        position: GlobalPosition,
        /// What the binary decoder reported.
        source: BinaryError,
    },
    /// An earlier write failed in a way that leaves the in-process state
    /// uncertain; reopen the store (recovery will repair the tail).
    #[error("store is unusable after an earlier write failure; reopen it: {0}")]
    Unusable(String),
    /// The database reported an error.
    #[cfg(feature = "postgres")]
    #[error("database error: {0}")]
    Database(#[from] postgres::Error),
    /// The database holds data this build cannot accept (a schema from the
    /// future, a gap in positions).
    #[error("database integrity error: {0}")]
    Integrity(String),
}

impl StoreError {
    /// True for [`StoreError::Conflict`]: reload and retry.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// True when the request itself is wrong and must not be retried unchanged.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::DuplicateEvent { .. } | StoreError::InvalidInput(_)
        )
    }

    /// True for IO, corruption, decoding and database failures.
    pub fn is_infrastructure(&self) -> bool {
        !self.is_conflict() && !self.is_bad_input()
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }

    /// A copy for handing one failure to every appender of a commit group.
    pub(crate) fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Conflict {
                stream,
                expected,
                actual,
            } => StoreError::Conflict {
                stream: stream.clone(),
                expected: *expected,
                actual: *actual,
            },
            StoreError::DuplicateEvent { id, reason } => StoreError::DuplicateEvent {
                id: *id,
                reason: *reason,
            },
            StoreError::InvalidInput(m) => StoreError::InvalidInput(m.clone()),
            StoreError::Io { context, source } => StoreError::Io {
                context: context.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            StoreError::Corruption {
                segment,
                offset,
                reason,
            } => StoreError::Corruption {
                segment: segment.clone(),
                offset: *offset,
                reason: reason.clone(),
            },
            other => StoreError::Unusable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_send_sync_and_classified() {
        fn assert_send_sync<T: Send + Sync + std::error::Error>() {}
        assert_send_sync::<StoreError>();
        let conflict = StoreError::Conflict {
            stream: StreamId::new("c1").unwrap(),
            expected: ExpectedVersion::Exact(StreamVersion(2)),
            actual: StreamVersion(3),
        };
        assert!(conflict.is_conflict() && !conflict.is_infrastructure());
        assert_eq!(
            conflict.to_string(),
            "stream c1 is at version 3, expected version 2"
        );
        let bad = StoreError::InvalidInput("x".into());
        assert!(bad.is_bad_input());
        let io = StoreError::io("reading", io::Error::other("boom"));
        assert!(io.is_infrastructure());
        assert_eq!(io.to_string(), "io error while reading: boom");
    }
}
