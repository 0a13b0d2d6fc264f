//! Audit: re-deriving recorded decisions (replay check) and evaluating
//! another policy over the same history (what-if).
//!
//! # Decision points in a stream
//!
//! The decision events of one evaluation are appended together, so the
//! stream is cut into *decision points*: a `CreditDecided` on an order is a
//! point of its own (decided on the state that includes its `OrderPlaced`);
//! otherwise a maximal run of consecutive policy events (`CreditDecided`
//! without an order, `PriorityChanged`, `FulfilmentModeChanged`,
//! `PriceAdjustmentChanged`, and `ReminderSent` with an explanation) with the
//! same policy and the same `evaluated_at` is one point. A `ReminderSent`
//! without an explanation was sent by a person and is not a policy decision.
//!
//! # Replay check
//!
//! For each point, fold the events before it, evaluate the policy it names
//! (looked up by id, version and hash in a [`PolicyRegistry`]) at its
//! `evaluated_at`, and compare the events it would record with the recorded
//! ones, field by field. Folding is incremental, so the check is linear in
//! the stream's length.
//!
//! # What-if
//!
//! For each point (optionally only those in a time range), decide with the
//! recorded policy and with a candidate policy on the same state, and list
//! the points whose outcome differs (verdict, fulfilment, priority,
//! discount, bonus, markup, interest rate, service warning). The candidate's
//! decisions are not fed back into the history: later facts are those that
//! really happened.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credence_aggregates::CustomerAccount;
use credence_events::{
    BusinessCalendar, Event, EventEnvelope, EventId, OrderId, PolicyRef, StreamVersion,
};
use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::error::PolicyError;
use crate::facts::{Facts, Wanted};
use crate::points::{decide_order, evaluate_customer};
use crate::policy::Policy;

/// Policies by id, version and content hash, for replay and audit.
#[derive(Debug, Clone, Default)]
pub struct PolicyRegistry {
    policies: BTreeMap<PolicyRef, Policy>,
}

impl PolicyRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a policy (replacing one with the same reference).
    pub fn insert(&mut self, policy: Policy) {
        self.policies.insert(policy.reference().clone(), policy);
    }

    /// Adds a policy, builder style.
    pub fn with(mut self, policy: Policy) -> Self {
        self.insert(policy);
        self
    }

    /// The policy with exactly this reference.
    pub fn get(&self, reference: &PolicyRef) -> Option<&Policy> {
        self.policies.get(reference)
    }
}

fn order_of(event: &Event) -> Option<&OrderId> {
    match event {
        Event::CreditDecided(e) => e.order.as_ref(),
        _ => None,
    }
}

/// A decision point: a run of policy events recorded by one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionPoint {
    /// Index of its first event in the stream slice.
    pub start: usize,
    /// Index after its last event.
    pub end: usize,
    /// The business time of evaluation.
    pub evaluated_at: DateTime<Utc>,
    /// The policy that decided.
    pub policy: PolicyRef,
    /// The order decided on, for an order decision.
    pub order: Option<OrderId>,
}

/// Cuts a stream into decision points (see the [module docs](self)).
pub fn decision_points(history: &[EventEnvelope]) -> Vec<DecisionPoint> {
    let mut points: Vec<DecisionPoint> = Vec::new();
    let mut cutter = PointCutter::default();
    for (i, envelope) in history.iter().enumerate() {
        if let Cut::Starts { closes: Some(done) } = cutter.feed(i, envelope) {
            points.push(done);
        }
    }
    points.extend(cutter.last);
    points
}

/// What one event is to the decision points.
#[derive(Debug)]
enum Cut {
    /// It starts a point (now the cutter's last), which closes the one
    /// before, if any.
    Starts { closes: Option<DecisionPoint> },
    /// It joins the last point, or is no decision at all.
    Other,
}

/// Cuts a stream into decision points one event at a time, keeping only
/// the last point: [`decision_points`] over a slice, [`WhatIf`] over a
/// stream it never holds whole.
#[derive(Debug, Default)]
struct PointCutter {
    /// The last point started (its `end` kept up to date).
    last: Option<DecisionPoint>,
    /// Whether the previous event was a customer-level policy event that
    /// the next one may join.
    open: bool,
}

impl PointCutter {
    /// Feeds the event at index `i` of the stream.
    fn feed(&mut self, i: usize, envelope: &EventEnvelope) -> Cut {
        let Some(explanation) = envelope.event.explanation() else {
            self.open = false;
            return Cut::Other;
        };
        let order = order_of(&envelope.event);
        let joins = self.open
            && order.is_none()
            && self.last.as_ref().is_some_and(|p| {
                p.order.is_none()
                    && p.evaluated_at == explanation.evaluated_at
                    && p.policy == explanation.policy
            });
        self.open = order.is_none();
        if joins {
            if let Some(p) = self.last.as_mut() {
                p.end = i + 1;
            }
            return Cut::Other;
        }
        let closes = self.last.replace(DecisionPoint {
            start: i,
            end: i + 1,
            evaluated_at: explanation.evaluated_at,
            policy: explanation.policy.clone(),
            order: order.cloned(),
        });
        Cut::Starts { closes }
    }
}

/// A recorded decision that did not reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The stream version of the point's first event.
    pub version: StreamVersion,
    /// The ids of the recorded events.
    pub events: Vec<EventId>,
    /// The business time of evaluation.
    pub evaluated_at: DateTime<Utc>,
    /// The policy the recorded events name.
    pub policy: PolicyRef,
    /// What was recorded.
    pub recorded: Vec<Event>,
    /// What the policy decides now on the same state (empty when it could
    /// not be evaluated).
    pub expected: Vec<Event>,
    /// Why, in words.
    pub reason: String,
}

/// The result of a replay check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// How many decision points were checked.
    pub checked: usize,
    /// Those that did not reproduce.
    pub mismatches: Vec<Mismatch>,
}

impl ReplayReport {
    /// True when every recorded decision reproduced.
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// The events `policy` records at `point` on `state`: what the replay
/// check compares with the recorded ones.
fn rederive(
    policy: &Policy,
    state: &CustomerAccount,
    point: &DecisionPoint,
    calendar: &BusinessCalendar,
) -> Result<Vec<Event>, PolicyError> {
    match &point.order {
        Some(order) => {
            let d = decide_order(policy, state, order, point.evaluated_at, calendar)?;
            Ok(vec![d.event.into()])
        }
        None => Ok(evaluate_customer(policy, state, point.evaluated_at, calendar)?.events),
    }
}

/// The decisions of the `recorded` policy and of the `candidate` at one
/// decision point, on the same state, when their outcomes differ; `None`
/// when they agree. The outcomes are compared first, untraced, on facts
/// without sources when both policies decide on values alone; only where
/// they differ are the facts computed with sources and the decisions
/// traced. The facts are computed once for both policies when they compute
/// them alike (same settings, same Rust fact providers); then the rules the
/// policies share at their head (`shared_rules`, from
/// [`Policy::same_conditions`]) are checked once for both.
fn decide_both(
    recorded: &Policy,
    candidate: &Policy,
    shared_rules: usize,
    state: &CustomerAccount,
    point: &DecisionPoint,
    calendar: &BusinessCalendar,
) -> Result<Option<(Decision, Decision)>, PolicyError> {
    let facts_of = |policy: &Policy, wanted| {
        policy.facts_with(
            state,
            point.order.as_ref(),
            point.evaluated_at,
            calendar,
            wanted,
        )
    };
    let shared = candidate.computes_facts_like(recorded);
    let both = |wanted| -> Result<(Facts, Option<Facts>), PolicyError> {
        let facts = facts_of(recorded, wanted)?;
        let candidate_facts = if shared {
            None
        } else {
            Some(facts_of(candidate, wanted)?)
        };
        Ok((facts, candidate_facts))
    };
    // The values both policies' rules read, without sources, when both
    // decide on values alone.
    let wanted = if recorded.decides_on_values() && candidate.decides_on_values() {
        Wanted::values(recorded.reads().union(candidate.reads()))
    } else {
        Wanted::ALL
    };
    let (facts, candidate_facts) = both(wanted)?;
    let old = recorded.firing_index(&facts);
    let new = match &candidate_facts {
        Some(candidate_facts) => candidate.firing_index(candidate_facts),
        // The shared rules fire alike: the one that fired for the recorded
        // policy fires for the candidate too, or none of them holds.
        None if old < shared_rules => old,
        None => candidate.firing_index_from(&facts, shared_rules),
    };
    debug_assert_eq!(
        new,
        candidate.firing_index(candidate_facts.as_ref().unwrap_or(&facts)),
        "the shared rules fire alike"
    );
    if recorded.outcome_of(old) == candidate.outcome_of(new) {
        return Ok(None);
    }
    // The two decisions are traced: their rules' facts, with sources.
    let (facts, candidate_facts) = if wanted == Wanted::ALL {
        (facts, candidate_facts)
    } else {
        both(
            wanted.with_sources(
                recorded
                    .rule_sources(old)
                    .union(candidate.rule_sources(new)),
            ),
        )?
    };
    let old = recorded.evaluate(&facts);
    let new = candidate.evaluate(candidate_facts.as_ref().unwrap_or(&facts));
    debug_assert_ne!(
        old.outcome, new.outcome,
        "firing_index() answers as evaluate()"
    );
    Ok(Some((old, new)))
}

/// Re-derives every recorded decision of one customer's stream with the
/// policy version it names and reports those that do not reproduce.
pub fn replay_check(
    history: &[EventEnvelope],
    registry: &PolicyRegistry,
    calendar: &BusinessCalendar,
) -> ReplayReport {
    let mut report = ReplayReport::default();
    let mut state = CustomerAccount::transient();
    let mut applied = 0;
    for point in decision_points(history) {
        for envelope in &history[applied..point.start] {
            state.apply(envelope);
        }
        applied = point.start;
        let recorded_envelopes = &history[point.start..point.end];
        let recorded: Vec<Event> = recorded_envelopes.iter().map(|e| e.event.clone()).collect();
        let mismatch = |expected: Vec<Event>, reason: String| Mismatch {
            version: recorded_envelopes[0].version,
            events: recorded_envelopes.iter().map(|e| e.id).collect(),
            evaluated_at: point.evaluated_at,
            policy: point.policy.clone(),
            recorded: recorded.clone(),
            expected,
            reason,
        };
        report.checked += 1;
        let Some(policy) = registry.get(&point.policy) else {
            report.mismatches.push(mismatch(
                Vec::new(),
                PolicyError::UnknownPolicy(point.policy.clone()).to_string(),
            ));
            continue;
        };
        match rederive(policy, &state, &point, calendar) {
            Ok(expected) if expected == recorded => {}
            Ok(expected) => {
                let reason = first_difference(&recorded, &expected);
                report.mismatches.push(mismatch(expected, reason));
            }
            Err(e) => report.mismatches.push(mismatch(Vec::new(), e.to_string())),
        }
    }
    report
}

fn first_difference(recorded: &[Event], expected: &[Event]) -> String {
    for (i, (r, e)) in recorded.iter().zip(expected).enumerate() {
        if r != e {
            return format!(
                "event {i} differs: recorded {} {}, re-derived {} {}",
                r.type_name(),
                event_gist(r),
                e.type_name(),
                event_gist(e)
            );
        }
    }
    format!(
        "recorded {} events, re-derived {}",
        recorded.len(),
        expected.len()
    )
}

fn event_gist(event: &Event) -> String {
    match event {
        Event::CreditDecided(e) => format!(
            "{} {:?} {} {} {:?}",
            e.decision, e.verdict, e.fulfilment, e.priority, e.discount
        ),
        Event::PriorityChanged(e) => format!("{} {} -> {}", e.decision, e.from, e.to),
        Event::FulfilmentModeChanged(e) => format!("{} {} -> {}", e.decision, e.from, e.to),
        Event::PriceAdjustmentChanged(e) => {
            format!("{} {:?} {} -> {}", e.decision, e.adjustment, e.from, e.to)
        }
        Event::ReminderSent(e) => format!("{} {}", e.reminder, e.message),
        other => other.type_name().to_owned(),
    }
}

/// A decision that another policy would take differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIfDifference {
    /// The stream version of the decision point's first event.
    pub version: StreamVersion,
    /// The business time of the decision.
    pub evaluated_at: DateTime<Utc>,
    /// The order decided on, for an order decision.
    pub order: Option<OrderId>,
    /// The decision of the recorded policy, re-derived.
    pub old: Decision,
    /// The candidate policy's decision.
    pub new: Decision,
}

impl WhatIfDifference {
    /// One line: who, when, old and new outcome and rule.
    pub fn summary(&self) -> String {
        let o = &self.old.outcome;
        let n = &self.new.outcome;
        format!(
            "{} {}{}: {:?}/{}/{} by \"{}\" ({} v{}) -> {:?}/{}/{} by \"{}\" ({} v{})",
            self.old.customer,
            self.evaluated_at.format("%Y-%m-%d %H:%M"),
            self.order
                .as_ref()
                .map(|o| format!(" order {o}"))
                .unwrap_or_default(),
            o.verdict,
            o.fulfilment,
            o.priority,
            self.old.rule,
            self.old.policy.id,
            self.old.policy.version,
            n.verdict,
            n.fulfilment,
            n.priority,
            self.new.rule,
            self.new.policy.id,
            self.new.policy.version,
        )
    }
}

/// Evaluates `candidate` at every recorded decision point of one customer's
/// stream whose `evaluated_at` is in `[from, to)` (all when `range` is
/// `None`) and lists the points where its outcome differs from the recorded
/// policy's. [`WhatIf`] does the same over a stream fed one event at a
/// time.
///
/// # Errors
///
/// [`PolicyError::UnknownPolicy`] when a recorded policy is not in the
/// registry; evaluation errors of either policy.
pub fn what_if(
    history: &[EventEnvelope],
    registry: &PolicyRegistry,
    candidate: &Policy,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    calendar: &BusinessCalendar,
) -> Result<Vec<WhatIfDifference>, PolicyError> {
    let mut run = WhatIf::new(registry, candidate, range, calendar);
    for envelope in history {
        run.push(envelope)?;
    }
    Ok(run.finish())
}

/// A what-if over one customer's stream fed one event at a time, in
/// version order (from an event store's `replay_stream`, say): the stream
/// is never held whole. At each decision point it decides with the recorded
/// policy and with the candidate on the state before the point, as
/// [`what_if`] does.
///
/// ```
/// # use credence_events::BusinessCalendar;
/// # use credence_policies::{Policy, PolicyRegistry, WhatIf};
/// let registry = PolicyRegistry::new().with(Policy::default_policy());
/// let candidate = Policy::default_policy();
/// let calendar = BusinessCalendar::default();
/// let mut run = WhatIf::new(&registry, &candidate, None, &calendar);
/// # let history: Vec<credence_events::EventEnvelope> = Vec::new();
/// for envelope in &history {
///     run.push(envelope)?;
/// }
/// assert!(run.finish().is_empty());
/// # Ok::<(), credence_policies::PolicyError>(())
/// ```
#[derive(Debug)]
pub struct WhatIf<'a> {
    registry: &'a PolicyRegistry,
    candidate: &'a Policy,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    calendar: &'a BusinessCalendar,
    /// The stream folded so far.
    state: CustomerAccount,
    cutter: PointCutter,
    /// The last recorded policy met and how many rules at its head it
    /// shares with the candidate ([`Policy::same_conditions`]).
    shared_rules: Option<(&'a Policy, usize)>,
    /// Events fed so far.
    fed: usize,
    differences: Vec<WhatIfDifference>,
}

impl<'a> WhatIf<'a> {
    /// A run of `candidate` against the policies of `registry` (those the
    /// stream's decisions name), at the points whose `evaluated_at` is in
    /// `range` (`[from, to)`; all when `None`).
    pub fn new(
        registry: &'a PolicyRegistry,
        candidate: &'a Policy,
        range: Option<(DateTime<Utc>, DateTime<Utc>)>,
        calendar: &'a BusinessCalendar,
    ) -> Self {
        Self {
            registry,
            candidate,
            range,
            calendar,
            state: CustomerAccount::transient(),
            cutter: PointCutter::default(),
            shared_rules: None,
            fed: 0,
            differences: Vec::new(),
        }
    }

    /// Feeds the stream's next event: decides at it when it starts a
    /// decision point in range, then folds it.
    ///
    /// # Errors
    ///
    /// [`PolicyError::UnknownPolicy`] when the point's recorded policy is
    /// not in the registry; evaluation errors of either policy. The run
    /// should then be dropped.
    pub fn push(&mut self, envelope: &EventEnvelope) -> Result<(), PolicyError> {
        let i = self.fed;
        self.fed += 1;
        if let Cut::Starts { .. } = self.cutter.feed(i, envelope) {
            if let Some(point) = self.cutter.last.as_ref().filter(|p| {
                self.range
                    .is_none_or(|(from, to)| p.evaluated_at >= from && p.evaluated_at < to)
            }) {
                let recorded = self
                    .registry
                    .get(&point.policy)
                    .ok_or_else(|| PolicyError::UnknownPolicy(point.policy.clone()))?;
                let shared_rules = match self.shared_rules {
                    Some((policy, n)) if std::ptr::eq(policy, recorded) => n,
                    _ => {
                        let n = recorded.same_conditions(self.candidate);
                        self.shared_rules = Some((recorded, n));
                        n
                    }
                };
                if let Some((old, new)) = decide_both(
                    recorded,
                    self.candidate,
                    shared_rules,
                    &self.state,
                    point,
                    self.calendar,
                )? {
                    self.differences.push(WhatIfDifference {
                        version: envelope.version,
                        evaluated_at: point.evaluated_at,
                        order: point.order.clone(),
                        old,
                        new,
                    });
                }
            }
        }
        self.state.apply(envelope);
        Ok(())
    }

    /// The points where the candidate decides differently, in stream order.
    pub fn finish(self) -> Vec<WhatIfDifference> {
        self.differences
    }
}
