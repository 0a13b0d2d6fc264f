//! Catch-up subscriptions: everything after a checkpoint, then new appends as they come.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credence_events::{EventEnvelope, GlobalPosition};

use crate::error::StoreError;
use crate::store::EventStore;

/// How many events a subscription reads from the store at once.
pub const SUBSCRIPTION_BATCH: usize = 512;

/// A reader of the global log that starts after a checkpoint, catches up
/// with everything stored, and then follows new appends.
///
/// Events come in position order, each exactly once. Persist
/// [`Subscription::checkpoint`] with what you derived from the events, and
/// resume from it with [`Subscription::new`].
///
/// `next_timeout` blocks its thread; from async code run the subscription on
/// a blocking thread (`tokio::task::spawn_blocking`) and forward the events
/// through a channel.
pub struct Subscription {
    store: Arc<dyn EventStore>,
    checkpoint: GlobalPosition,
    buffered: VecDeque<EventEnvelope>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("store", &self.store)
            .field("checkpoint", &self.checkpoint)
            .field("buffered", &self.buffered.len())
            .finish()
    }
}

impl Subscription {
    /// A subscription delivering every event after `checkpoint`
    /// ([`GlobalPosition::START`] for the whole log).
    pub fn new(store: Arc<dyn EventStore>, checkpoint: GlobalPosition) -> Subscription {
        Subscription {
            store,
            checkpoint,
            buffered: VecDeque::new(),
        }
    }

    /// The position of the last event delivered (or the starting checkpoint).
    pub fn checkpoint(&self) -> GlobalPosition {
        self.checkpoint
    }

    /// The next event if one is stored already; never waits.
    ///
    /// # Errors
    ///
    /// Errors of [`EventStore::read_all`].
    pub fn try_next(&mut self) -> Result<Option<EventEnvelope>, StoreError> {
        if self.buffered.is_empty() {
            self.buffered
                .extend(self.store.read_all(self.checkpoint, SUBSCRIPTION_BATCH)?);
        }
        Ok(self.buffered.pop_front().inspect(|event| {
            self.checkpoint = event.position;
        }))
    }

    /// The next event, waiting up to `timeout` for one to be appended;
    /// `None` when none came in time.
    ///
    /// # Errors
    ///
    /// Errors of [`EventStore::read_all`] and [`EventStore::wait_for_append`].
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<EventEnvelope>, StoreError> {
        let deadline = crate::store::deadline_after(timeout);
        loop {
            if let Some(event) = self.try_next()? {
                return Ok(Some(event));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.store
                .wait_for_append(self.checkpoint, deadline - now)?;
        }
    }
}

impl Iterator for Subscription {
    type Item = Result<EventEnvelope, StoreError>;

    /// Blocks until the next event is stored; never returns `None`.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_timeout(Duration::from_secs(3600)) {
                Ok(Some(event)) => return Some(Ok(event)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
