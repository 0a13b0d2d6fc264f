//! The crate's error type: what a caller did wrong when feeding or querying
//! the read models.

use credence_events::{GlobalPosition, ItemId, StreamId, StreamVersion};
use rust_decimal::Decimal;

/// Why a read model refused an event or a query. Nothing is changed when an
/// error is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// An event skips global positions: the projection would miss events.
    /// Feed the log in order from the projection's checkpoint.
    #[error("event at global position {got} skips ahead of checkpoint {checkpoint}")]
    PositionGap {
        /// The position the projection has applied up to.
        checkpoint: GlobalPosition,
        /// The position of the event given.
        got: GlobalPosition,
    },
    /// An event's stream version does not follow the stream's last version.
    #[error("stream {stream} is at version {at}, got an event at version {got}")]
    StreamVersionGap {
        /// The stream.
        stream: StreamId,
        /// The version applied so far.
        at: StreamVersion,
        /// The event's version.
        got: StreamVersion,
    },
    /// An event was recorded earlier than the stream's previous event:
    /// `recorded_at` must never go backwards within a stream.
    #[error("stream {stream}: recorded_at went backwards at version {version}")]
    RecordedTimeWentBackwards {
        /// The stream.
        stream: StreamId,
        /// The offending event's version.
        version: StreamVersion,
    },
    /// A stock level was negative.
    #[error("stock of item {item} is negative: {quantity}")]
    NegativeStock {
        /// The item.
        item: ItemId,
        /// The quantity given.
        quantity: Decimal,
    },
    /// An as-of query could not read the events it needs from its source.
    #[error("event source: {0}")]
    EventSource(String),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}
