//! As-of queries on both times, backed by a snapshot index.
//!
//! # The two times
//!
//! Every event has a business time (`occurred_at`: when it happened) and a
//! recorded time (`recorded_at`: when the engine learned it). Within a
//! stream `recorded_at` never goes backwards; `occurred_at` may (a payment
//! with value date 5 Nov recorded on 9 Nov).
//!
//! * **As of business time `t`** ([`AsOf::business`]): the fold, in stream
//!   order, of the events with `occurred_at <= t`: "what was the debt on
//!   6 Nov", including the payment recorded on 9 Nov for 5 Nov.
//! * **As known at recorded time `k`** ([`AsOf::known_at`]): the fold of
//!   the events with `recorded_at <= k`, a prefix of the stream: "what did
//!   we know on 6 Nov when we decided"; the late payment is not in it, so it
//!   never rewrites the audit of an earlier decision.
//! * **Both** ([`AsOf::both`]): events with `occurred_at <= t` and
//!   `recorded_at <= k`: "what did we know on 9 Nov about 6 Nov".
//!
//! # The index
//!
//! For each stream the index keeps the events, snapshots of the
//! [`CustomerAccount`] (shared, immutable; see [`AsOfIndex`] for their
//! spacing), the running maximum of `occurred_at` and the list of
//! *stragglers*: events whose `occurred_at` is earlier than that of an event
//! before them.
//!
//! * Known at `k`: binary-search the last event with `recorded_at <= k`,
//!   clone the nearest snapshot at or before it and fold the events in
//!   between.
//! * As of `t`: binary-search the longest prefix whose running maximum of
//!   `occurred_at` is `<= t` (all of it qualifies), fold it from the nearest
//!   snapshot as above, then fold the stragglers after the prefix that have
//!   `occurred_at <= t`. Every later qualifying event is a straggler: it
//!   happened no later than `t`, before the business time of an earlier
//!   event. Stragglers are rare (back-dated records), so no query replays
//!   the stream from the start.
//!
//! # Cost, and what it does not achieve
//!
//! A query is a binary search, one snapshot clone and a bounded fold. The
//! snapshot clone is the term that grows with history: a
//! [`CustomerAccount`] keeps every order, receivable and payment ever seen
//! in ordinary `BTreeMap`s, so cloning it costs in proportion to its size
//! (about 20 ms for a 100,000-event stream). Making as-of queries
//! logarithmic needs an account whose clone is cheap (persistent maps, or
//! settled history moved out of the live state) in `credence-aggregates`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_aggregates::CustomerAccount;
use credence_events::{CustomerId, EventEnvelope, GlobalPosition, StreamId, StreamVersion};

use crate::error::ProjectionError;
use crate::projection::{Applied, Projection, check_position};
use crate::read_models::check_stream;

/// Which events an as-of query folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    /// Only events with `occurred_at <= business`.
    pub business: Option<DateTime<Utc>>,
    /// Only events with `recorded_at <= known_at`.
    pub known_at: Option<DateTime<Utc>>,
}

impl AsOf {
    /// The state on business time `t`, with everything known now.
    pub fn business(t: DateTime<Utc>) -> Self {
        Self {
            business: Some(t),
            known_at: None,
        }
    }

    /// What was known at recorded time `k`.
    pub fn known_at(k: DateTime<Utc>) -> Self {
        Self {
            business: None,
            known_at: Some(k),
        }
    }

    /// The state on business time `t` as known at recorded time `k`.
    pub fn both(t: DateTime<Utc>, k: DateTime<Utc>) -> Self {
        Self {
            business: Some(t),
            known_at: Some(k),
        }
    }

    /// Whether `event` is part of this view (the definition the index
    /// implements faster).
    pub fn includes(&self, event: &EventEnvelope) -> bool {
        self.business.is_none_or(|t| event.occurred_at <= t)
            && self.known_at.is_none_or(|k| event.recorded_at <= k)
    }
}

/// Snapshot index of every stream for as-of queries.
///
/// # Snapshot spacing
///
/// A stream gets a snapshot every `interval` events until it holds
/// `max_snapshots`; then every other snapshot is dropped and the stream's
/// interval doubles. So a stream never holds more than `max_snapshots`
/// snapshots (memory stays within a constant factor of its current state)
/// and an as-of query folds at most `max(interval, 2 × length /
/// max_snapshots)` events after cloning a snapshot. The spacing depends only
/// on the stream's length, so catching up and rebuilding agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOfIndex {
    interval: usize,
    max_snapshots: usize,
    checkpoint: GlobalPosition,
    streams: BTreeMap<StreamId, StreamIndex>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct StreamIndex {
    events: Vec<EventEnvelope>,
    /// `max_occurred[i]`: the latest `occurred_at` of `events[..=i]`.
    max_occurred: Vec<DateTime<Utc>>,
    /// Indexes of events earlier in business time than an event before them.
    stragglers: Vec<usize>,
    /// `(number of events folded, state)`, every `interval` events.
    snapshots: Vec<(usize, Arc<CustomerAccount>)>,
    /// This stream's snapshot interval (the index's, doubled on thinning).
    interval: usize,
    head: CustomerAccount,
}

impl AsOfIndex {
    /// The default snapshot interval.
    pub const DEFAULT_INTERVAL: usize = 256;

    /// The default most snapshots per stream.
    pub const DEFAULT_MAX_SNAPSHOTS: usize = 16;

    /// An empty index with a snapshot every `interval` events of a stream
    /// (at least 1) and at most [`AsOfIndex::DEFAULT_MAX_SNAPSHOTS`] per
    /// stream.
    pub fn new(interval: usize) -> Self {
        Self::with_max_snapshots(interval, Self::DEFAULT_MAX_SNAPSHOTS)
    }

    /// An empty index with a snapshot every `interval` events of a stream
    /// and at most `max_snapshots` (at least 2) per stream.
    pub fn with_max_snapshots(interval: usize, max_snapshots: usize) -> Self {
        Self {
            interval: interval.max(1),
            max_snapshots: max_snapshots.max(2),
            checkpoint: GlobalPosition::START,
            streams: BTreeMap::new(),
        }
    }

    /// An index built from a whole log.
    ///
    /// # Errors
    ///
    /// The first [`ProjectionError`].
    pub fn rebuild<'a>(
        interval: usize,
        events: impl IntoIterator<Item = &'a EventEnvelope>,
    ) -> Result<Self, ProjectionError> {
        let mut index = Self::new(interval);
        index.catch_up(events)?;
        Ok(index)
    }

    /// The snapshot interval.
    pub fn interval(&self) -> usize {
        self.interval
    }

    /// How many snapshots the index holds over all streams.
    pub fn snapshot_count(&self) -> usize {
        self.streams.values().map(|s| s.snapshots.len()).sum()
    }

    /// The customer's current state (every event applied).
    pub fn current(&self, customer: &CustomerId) -> Option<&CustomerAccount> {
        self.streams
            .get(&StreamId::for_customer(customer))
            .map(|s| &s.head)
    }

    /// The customer's account folded from the events `as_of` selects, in
    /// stream order; `None` for a stream the index has not seen.
    pub fn state(&self, customer: &CustomerId, as_of: AsOf) -> Option<CustomerAccount> {
        let stream = self.streams.get(&StreamId::for_customer(customer))?;
        Some(stream.state(as_of))
    }

    /// The stream version that was current at recorded time `k` (the
    /// version a decision taken then saw).
    pub fn version_known_at(&self, customer: &CustomerId, k: DateTime<Utc>) -> StreamVersion {
        self.streams
            .get(&StreamId::for_customer(customer))
            .map_or(StreamVersion::NONE, |s| {
                StreamVersion(s.events.partition_point(|e| e.recorded_at <= k) as u64)
            })
    }
}

impl Default for AsOfIndex {
    fn default() -> Self {
        Self::new(Self::DEFAULT_INTERVAL)
    }
}

impl StreamIndex {
    fn state(&self, as_of: AsOf) -> CustomerAccount {
        let known = match as_of.known_at {
            Some(k) => self.events.partition_point(|e| e.recorded_at <= k),
            None => self.events.len(),
        };
        let prefix = match as_of.business {
            Some(t) => self.max_occurred[..known].partition_point(|m| *m <= t),
            None => known,
        };
        let mut account = self.fold_prefix(prefix);
        if let Some(t) = as_of.business {
            let first = self.stragglers.partition_point(|&i| i < prefix);
            for &i in &self.stragglers[first..] {
                if i >= known {
                    break;
                }
                let event = &self.events[i];
                if event.occurred_at <= t {
                    account.apply(event);
                }
            }
        }
        account
    }

    /// The fold of the first `n` events, from the nearest snapshot.
    fn fold_prefix(&self, n: usize) -> CustomerAccount {
        if n == self.events.len() {
            return self.head.clone();
        }
        let at = self.snapshots.partition_point(|(folded, _)| *folded <= n);
        let (start, mut account) = match at.checked_sub(1).map(|i| &self.snapshots[i]) {
            Some((folded, snapshot)) => (*folded, CustomerAccount::clone(snapshot)),
            None => (0, CustomerAccount::new()),
        };
        for event in &self.events[start..n] {
            account.apply(event);
        }
        account
    }
}

impl Projection for AsOfIndex {
    fn apply(&mut self, event: &EventEnvelope) -> Result<Applied, ProjectionError> {
        if !check_position(self.checkpoint, event)? {
            return Ok(Applied::AlreadyApplied);
        }
        let stream = self
            .streams
            .entry(event.stream.clone())
            .or_insert_with(|| StreamIndex {
                events: Vec::new(),
                max_occurred: Vec::new(),
                stragglers: Vec::new(),
                snapshots: Vec::new(),
                interval: self.interval,
                head: CustomerAccount::new(),
            });
        if let Err(error) = check_stream(&stream.head, event) {
            if stream.events.is_empty() {
                self.streams.remove(&event.stream);
            }
            return Err(error);
        }
        let index = stream.events.len();
        let max = match stream.max_occurred.last() {
            Some(&max) if max > event.occurred_at => {
                stream.stragglers.push(index);
                max
            }
            _ => event.occurred_at,
        };
        stream.max_occurred.push(max);
        stream.head.apply(event);
        stream.events.push(event.clone());
        if stream.events.len() % stream.interval == 0 {
            stream
                .snapshots
                .push((stream.events.len(), Arc::new(stream.head.clone())));
            if stream.snapshots.len() > self.max_snapshots {
                let wider = stream.interval.saturating_mul(2);
                stream.snapshots.retain(|(folded, _)| folded % wider == 0);
                stream.interval = wider;
            }
        }
        self.checkpoint = event.position;
        Ok(Applied::Applied)
    }

    fn checkpoint(&self) -> GlobalPosition {
        self.checkpoint
    }
}
