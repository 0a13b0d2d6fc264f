//! A runtime-free `given(events).when(command).then(events)` test harness.
//!
//! ```
//! use credence_aggregates::testing::given;
//! use credence_aggregates::{Command, Rejection, CheckDeadlines};
//! use credence_events::CustomerId;
//!
//! let customer = CustomerId::new("ACME").unwrap();
//! given([])
//!     .when(CheckDeadlines { customer: customer.clone() })
//!     .then_rejects(Rejection::UnknownCustomer(customer));
//! ```
//!
//! Given events are stamped with consecutive versions, deterministic ids
//! (`EventId::from_u128(version)`) and the time set by [`Scenario::at`]
//! (the Unix epoch by default), so `now` in `when` must not be earlier.

use chrono::{DateTime, Utc};
use credence_events::{
    BusinessCalendar, Event, EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId,
    StreamVersion,
};

use crate::account::CustomerAccount;
use crate::command::Command;
use crate::rejection::Rejection;

/// Starts a scenario from a history.
pub fn given(events: impl IntoIterator<Item = Event>) -> Scenario {
    let mut scenario = Scenario {
        calendar: BusinessCalendar::default(),
        history: Vec::new(),
        now: DateTime::UNIX_EPOCH,
    };
    scenario.extend(events);
    scenario
}

/// A history, a calendar and a time, waiting for a command.
#[derive(Debug, Clone)]
pub struct Scenario {
    calendar: BusinessCalendar,
    history: Vec<EventEnvelope>,
    now: DateTime<Utc>,
}

impl Scenario {
    /// Uses `calendar` instead of the default (UTC, weekends off).
    pub fn with_calendar(mut self, calendar: BusinessCalendar) -> Self {
        self.calendar = calendar;
        self
    }

    /// Sets the time for the following `and`/`when`.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Adds more history at the current time.
    pub fn and(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        self.extend(events);
        self
    }

    /// Runs `command` through `decide` and appends its events to the
    /// history, for building a history from commands.
    ///
    /// # Panics
    ///
    /// When the command is rejected: a broken test setup.
    #[track_caller]
    pub fn and_then(mut self, command: impl Into<Command>) -> Self {
        let command = command.into();
        let state = self.state();
        let events = state
            .decide(&command, self.now, &self.calendar)
            .unwrap_or_else(|r| panic!("setup command {} rejected: {r}", command.name()));
        self.extend(events);
        self
    }

    fn extend(&mut self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            let version = StreamVersion(self.history.len() as u64 + 1);
            let envelope = NewEvent::new(EventId::from_u128(version.0.into()), self.now, event)
                .into_envelope(
                    StreamId::new("scenario").expect("valid stream name"),
                    version,
                    GlobalPosition(version.0),
                );
            self.history.push(envelope);
        }
    }

    /// The state folded from the history so far.
    pub fn state(&self) -> CustomerAccount {
        CustomerAccount::from_history(&self.history)
    }

    /// The history so far.
    pub fn history(&self) -> &[EventEnvelope] {
        &self.history
    }

    /// Decides `command` at the scenario's time.
    pub fn when(self, command: impl Into<Command>) -> Outcome {
        let state = self.state();
        let result = state.decide(&command.into(), self.now, &self.calendar);
        Outcome {
            scenario: self,
            result,
        }
    }
}

/// What a command decided, ready for assertions.
#[derive(Debug)]
pub struct Outcome {
    scenario: Scenario,
    result: Result<Vec<Event>, Rejection>,
}

impl Outcome {
    /// Asserts the command produced exactly `expected`.
    ///
    /// # Panics
    ///
    /// On a rejection or different events.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = Event>) -> Scenario {
        let expected: Vec<Event> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "the command produced other events");
                let mut scenario = self.scenario;
                scenario.extend(events);
                scenario
            }
            Err(rejection) => panic!("expected events, the command was rejected: {rejection}"),
        }
    }

    /// Asserts the command succeeded and returns its events for custom checks,
    /// with the scenario continued by them.
    ///
    /// # Panics
    ///
    /// On a rejection.
    #[track_caller]
    pub fn events(self) -> (Vec<Event>, Scenario) {
        match self.result {
            Ok(events) => {
                let mut scenario = self.scenario;
                scenario.extend(events.clone());
                (events, scenario)
            }
            Err(rejection) => panic!("expected events, the command was rejected: {rejection}"),
        }
    }

    /// Asserts the command was rejected with exactly `expected`.
    ///
    /// # Panics
    ///
    /// When the command succeeded or was rejected otherwise.
    #[track_caller]
    pub fn then_rejects(self, expected: Rejection) {
        match self.result {
            Ok(events) => panic!("expected rejection {expected}, got events {events:?}"),
            Err(rejection) => assert_eq!(rejection, expected),
        }
    }

    /// Asserts the command was rejected with a rejection `check` accepts.
    ///
    /// # Panics
    ///
    /// When the command succeeded or `check` returns false.
    #[track_caller]
    pub fn then_rejects_with(self, check: impl FnOnce(&Rejection) -> bool) {
        match self.result {
            Ok(events) => panic!("expected a rejection, got events {events:?}"),
            Err(rejection) => assert!(check(&rejection), "unexpected rejection: {rejection}"),
        }
    }
}
