//! Envelopes: an event with its identity, its place in the log and its two times.
//!
//! * `occurred_at` is **business time**: when the fact happened in the world
//!   (a payment's value date may be days before the engine learned of it).
//! * `recorded_at` is when the engine learned it. Within a stream it never
//!   goes backwards; `occurred_at` is never later than `recorded_at`.
//!
//! A [`NewEvent`] is what a writer proposes; the store gives it a stream
//! version and a global position and hands back an [`EventEnvelope`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::id::{CorrelationId, EventId, StreamId};

/// The 1-based version of an event within its stream. A stream holding `n`
/// events is at version `n`; an empty stream is at [`StreamVersion::NONE`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct StreamVersion(pub u64);

impl StreamVersion {
    /// The version of a stream with no events.
    pub const NONE: StreamVersion = StreamVersion(0);

    /// The version after this one.
    pub const fn next(self) -> StreamVersion {
        StreamVersion(self.0 + 1)
    }
}

impl fmt::Display for StreamVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The 1-based position of an event in the global log, in commit order and
/// without gaps. [`GlobalPosition::START`] (0) is "before the first event".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct GlobalPosition(pub u64);

impl GlobalPosition {
    /// Before the first event.
    pub const START: GlobalPosition = GlobalPosition(0);

    /// The position after this one.
    pub const fn next(self) -> GlobalPosition {
        GlobalPosition(self.0 + 1)
    }
}

impl fmt::Display for GlobalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An event proposed for appending: everything but its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's unique id; appending the same id again is idempotent.
    pub id: EventId,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
    /// When the engine learned it.
    pub recorded_at: DateTime<Utc>,
    /// The request this event belongs to.
    pub correlation_id: Option<CorrelationId>,
    /// The event that caused this one.
    pub causation_id: Option<EventId>,
    /// The fact.
    pub event: Event,
}

impl NewEvent {
    /// An event that happened and was recorded at `at`, with no correlation.
    pub fn new(id: EventId, at: DateTime<Utc>, event: impl Into<Event>) -> Self {
        Self {
            id,
            occurred_at: at,
            recorded_at: at,
            correlation_id: None,
            causation_id: None,
            event: event.into(),
        }
    }

    /// Places the event in the log.
    pub fn into_envelope(
        self,
        stream: StreamId,
        version: StreamVersion,
        position: GlobalPosition,
    ) -> EventEnvelope {
        EventEnvelope {
            id: self.id,
            stream,
            version,
            position,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            event: self.event,
        }
    }
}

/// A stored event: the fact with its identity, place and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    /// The event's unique id.
    pub id: EventId,
    /// The stream (customer) it belongs to.
    pub stream: StreamId,
    /// Its version within the stream (1-based).
    pub version: StreamVersion,
    /// Its position in the global log (1-based, gap-free, commit order).
    pub position: GlobalPosition,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
    /// When the engine learned it.
    pub recorded_at: DateTime<Utc>,
    /// The request this event belongs to.
    pub correlation_id: Option<CorrelationId>,
    /// The event that caused this one.
    pub causation_id: Option<EventId>,
    /// The fact.
    pub event: Event,
}

impl EventEnvelope {
    /// The proposal this envelope was made from (drops stream, version and
    /// position), for comparing a retried append with what is stored.
    pub fn to_new_event(&self) -> NewEvent {
        NewEvent {
            id: self.id,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            event: self.event.clone(),
        }
    }

    /// The proposal this envelope was made from, by move (no copy of the
    /// event).
    pub fn into_new_event(self) -> NewEvent {
        NewEvent {
            id: self.id,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            event: self.event,
        }
    }
}
