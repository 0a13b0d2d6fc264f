//! The projection contract: apply one event at a time, remember the global
//! position applied (the checkpoint), catch up from it.

use credence_events::{EventEnvelope, GlobalPosition};

use crate::error::ProjectionError;

/// What [`Projection::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event was applied; the checkpoint moved to its position.
    Applied,
    /// The event's position is at or before the checkpoint: it was applied
    /// earlier and is ignored, so re-delivering a batch is harmless.
    AlreadyApplied,
}

/// A read model fed one event at a time, in global-log order.
///
/// # The checkpoint rule
///
/// A projection remembers the [`GlobalPosition`] of the last event it
/// applied. It accepts the event right after it (`checkpoint + 1`), ignores
/// events at or before it, and refuses an event further ahead with
/// [`ProjectionError::PositionGap`], changing nothing. So a projection
/// restored from a checkpoint and fed the log from `checkpoint + 1` ends in
/// exactly the state of one rebuilt from position 1: the property tests
/// check this for every split point of generated logs.
pub trait Projection {
    /// Applies one event.
    ///
    /// # Errors
    ///
    /// A [`ProjectionError`] when the event does not follow the checkpoint
    /// or its stream; nothing is changed then.
    fn apply(&mut self, event: &EventEnvelope) -> Result<Applied, ProjectionError>;

    /// The global position of the last event applied
    /// ([`GlobalPosition::START`] when none).
    fn checkpoint(&self) -> GlobalPosition;

    /// Applies every event of `events` after the checkpoint and returns how
    /// many were applied.
    ///
    /// # Errors
    ///
    /// The first [`ProjectionError`]; the events before it stay applied and
    /// the checkpoint says how far the projection got.
    fn catch_up<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a EventEnvelope>,
    ) -> Result<u64, ProjectionError>
    where
        Self: Sized,
    {
        let mut applied = 0;
        for event in events {
            if self.apply(event)? == Applied::Applied {
                applied += 1;
            }
        }
        Ok(applied)
    }
}

/// Checks `event` against a checkpoint: `Ok(true)` to apply, `Ok(false)`
/// when already applied.
pub(crate) fn check_position(
    checkpoint: GlobalPosition,
    event: &EventEnvelope,
) -> Result<bool, ProjectionError> {
    if event.position <= checkpoint {
        Ok(false)
    } else if event.position == checkpoint.next() {
        Ok(true)
    } else {
        Err(ProjectionError::PositionGap {
            checkpoint,
            got: event.position,
        })
    }
}
