//! Reusable invariants: each returns `Err` with a readable message.
//!
//! The first group holds for any history (money, replay, codec,
//! snapshots). The second needs a history interpreted with a policy
//! ([`interpret_with_policy`]) and checks the
//! policy's decisions: determinism, dependence on the past only,
//! explanations, replay. [`policy_invariants`] runs them all; the
//! monotonicity helper [`improving_payment_never_worsens`] compares two
//! histories of the same customer, one paying better.
//!
//! Properties a policy should have that are particular to it (say "no
//! customer who always pays on time is ever refused", [`never_refused`])
//! are written the same way: a function of a history returning
//! `Result<(), String>`.

use std::fmt::Debug;

use credence_events::{CreditDecided, CustomerId, Event, FulfilmentMode, Verdict, codec};
use credence_policies::{
    Policy, PolicyError, PolicyRegistry, decision_points, evaluate_customer, replay_check,
};
use rust_decimal::Decimal;

use crate::history::{History, interpret_with_policy};
use crate::plan::{CustomerPlan, PlanConfig};

/// Money is conserved:
///
/// * every payment's allocations plus its unallocated rest equal its amount;
/// * debt = delivered value − allocated payments (directly or through credit
///   balance) + what reversals reopened;
/// * credit balance = unallocated rests − credit used − credit removed;
/// * no receivable's open amount is negative or above its amount, and the
///   open amounts add up to the debt;
/// * the undelivered value the account keeps up to date equals that of its
///   accepted open orders, valued again from their lines.
///
/// # Errors
///
/// A message naming the first broken rule.
pub fn money_is_conserved(history: &History) -> Result<(), String> {
    let mut delivered = Decimal::ZERO;
    let mut allocated = Decimal::ZERO;
    let mut reopened = Decimal::ZERO;
    let mut credit = Decimal::ZERO;
    for envelope in &history.events {
        match &envelope.event {
            Event::DeliveryRecorded(d) => {
                delivered += d.amount.amount();
                for c in &d.credit_applied {
                    allocated += c.amount.amount();
                    credit -= c.amount.amount();
                }
            }
            Event::PaymentReceived(p) => {
                let parts: Decimal = p.allocations.iter().map(|a| a.amount.amount()).sum();
                if parts + p.unallocated.amount() != p.amount.amount() {
                    return Err(format!(
                        "payment {} of {} split into {} allocated + {} unallocated",
                        p.payment,
                        p.amount,
                        parts,
                        p.unallocated.amount()
                    ));
                }
                allocated += parts;
                credit += p.unallocated.amount();
            }
            Event::PaymentReversed(r) => {
                reopened += r
                    .reopened
                    .iter()
                    .map(|a| a.amount.amount())
                    .sum::<Decimal>();
                credit -= r.credit_removed.amount();
            }
            _ => {}
        }
    }
    let account = history.account();
    let expected_debt = delivered - allocated + reopened;
    if account.debt().amount() != expected_debt {
        return Err(format!(
            "debt {} != delivered {delivered} - allocated {allocated} + reopened {reopened}",
            account.debt()
        ));
    }
    if account.credit_balance().amount() != credit {
        return Err(format!(
            "credit balance {} != unallocated - used - removed = {credit}",
            account.credit_balance()
        ));
    }
    let mut open_total = Decimal::ZERO;
    for r in account.receivables() {
        if r.open < Decimal::ZERO || r.open > r.amount {
            return Err(format!(
                "receivable {} has {} open of {}",
                r.id, r.open, r.amount
            ));
        }
        open_total += r.open;
    }
    if open_total != account.debt().amount() {
        return Err(format!(
            "open receivables add up to {open_total}, debt is {}",
            account.debt()
        ));
    }
    let units = account.currency().minor_units();
    let undelivered: Decimal = account
        .open_orders()
        .filter(|o| o.is_accepted_open())
        .map(|o| o.undelivered_value(units))
        .sum();
    if undelivered != account.undelivered_value().amount() {
        return Err(format!(
            "accepted open orders are worth {undelivered} undelivered, the account keeps {}",
            account.undelivered_value()
        ));
    }
    Ok(())
}

/// Replaying the history's commands through a fresh account rejects nothing
/// and records exactly the same events.
///
/// # Errors
///
/// The rejected step, or the first differing event.
pub fn replay_reproduces_events(history: &History) -> Result<(), String> {
    let replayed = history.replay().map_err(|e| e.to_string())?;
    if replayed.len() != history.events.len() {
        return Err(format!(
            "replay recorded {} events, the history has {}",
            replayed.len(),
            history.events.len()
        ));
    }
    for (a, b) in replayed.iter().zip(&history.events) {
        if a != b {
            return Err(format!(
                "event {} differs on replay: {:?} vs {:?}",
                b.version, a.event, b.event
            ));
        }
    }
    Ok(())
}

/// Every event survives the JSON codec unchanged.
///
/// # Errors
///
/// The first event that does not round-trip.
pub fn json_round_trip(history: &History) -> Result<(), String> {
    for envelope in &history.events {
        let json = codec::encode(envelope);
        let back = codec::decode(&json).map_err(|e| format!("{e} in {json}"))?;
        if &back != envelope {
            return Err(format!(
                "event {} changed through JSON: {json}",
                envelope.version
            ));
        }
    }
    Ok(())
}

/// Folding a prefix, then the rest, gives the same state as folding all
/// (the basis of snapshots).
///
/// # Errors
///
/// The first split point where the states differ.
pub fn snapshot_plus_tail_equals_full_replay(history: &History) -> Result<(), String> {
    let full = history.account();
    for split in 0..=history.events.len() {
        let mut account =
            credence_aggregates::CustomerAccount::from_history(&history.events[..split]);
        for envelope in &history.events[split..] {
            account.apply(envelope);
        }
        if account != full {
            return Err(format!("state differs when resuming after event {split}"));
        }
    }
    Ok(())
}

/// Every event survives upcasting: its payload, lifted from its schema
/// version to the current one through the registered upcasters, decodes to
/// the same event (a payload already current is left as it is); and a
/// `TermsChanged` with a calendar-day deferral, written in its v1 shape
/// (flat, `deferral_days`), upcasts to the same event.
///
/// # Errors
///
/// The first event that changes or fails to lift.
pub fn upcasting_preserves_events(history: &History) -> Result<(), String> {
    for envelope in &history.events {
        let event = &envelope.event;
        let data: serde_json::Value = serde_json::from_str(&codec::encode_event(event))
            .map_err(|e| format!("event {} payload is not JSON: {e}", envelope.version))?;
        let lifted = codec::upcast(event.type_name(), event.schema_version(), data)
            .map_err(|e| format!("event {} does not upcast: {e}", envelope.version))?;
        let back = codec::decode_event(
            event.type_name(),
            event.schema_version(),
            &lifted.to_string(),
        )
        .map_err(|e| {
            format!(
                "event {} does not decode after upcasting: {e}",
                envelope.version
            )
        })?;
        if &back != event {
            return Err(format!(
                "event {} ({}) changed through upcasting",
                envelope.version,
                event.type_name()
            ));
        }
        if let Event::TermsChanged(changed) = event {
            if changed.terms.deferral.kind == credence_events::DayKind::Calendar {
                terms_changed_v1_upcasts(envelope.version.0, event, &lifted)?;
            }
        }
    }
    Ok(())
}

/// Writes a current `TermsChanged` payload in its v1 shape and checks that
/// upcasting it gives the event back.
fn terms_changed_v1_upcasts(
    version: u64,
    event: &Event,
    current: &serde_json::Value,
) -> Result<(), String> {
    let mut v1 = current
        .get("terms")
        .and_then(serde_json::Value::as_object)
        .cloned()
        .ok_or_else(|| format!("event {version}: TermsChanged without terms"))?;
    let days = v1
        .remove("deferral")
        .and_then(|d| d.get("days").cloned())
        .ok_or_else(|| format!("event {version}: TermsChanged without a deferral"))?;
    v1.insert("deferral_days".into(), days);
    let lifted = codec::upcast("TermsChanged", 1, serde_json::Value::Object(v1))
        .map_err(|e| format!("event {version}: v1 TermsChanged does not upcast: {e}"))?;
    let back = codec::decode_event("TermsChanged", event.schema_version(), &lifted.to_string())
        .map_err(|e| format!("event {version}: upcast v1 TermsChanged does not decode: {e}"))?;
    if &back != event {
        return Err(format!(
            "event {version}: TermsChanged changed through the v1 upcaster"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Decisions of a policy.

fn policy_of(history: &History) -> Result<&Policy, String> {
    history.policy.as_ref().ok_or_else(|| {
        "the history has no policy: generate it with interpret_with_policy".to_owned()
    })
}

/// An invariant of a history.
pub type Invariant = fn(&History) -> Result<(), String>;

/// All the invariants of a policy's decisions on `history`:
/// [`decisions_are_deterministic`], [`decisions_depend_only_on_the_past`],
/// [`explanations_point_at_earlier_events`] and
/// [`replay_reproduces_decisions`], then the history invariants
/// ([`money_is_conserved`], [`replay_reproduces_events`],
/// [`json_round_trip`], [`upcasting_preserves_events`],
/// [`snapshot_plus_tail_equals_full_replay`]).
///
/// # Errors
///
/// The first broken invariant, named.
pub fn policy_invariants(history: &History) -> Result<(), String> {
    let checks: [(&str, Invariant); 9] = [
        ("decisions are deterministic", decisions_are_deterministic),
        (
            "decisions depend only on the past",
            decisions_depend_only_on_the_past,
        ),
        (
            "explanations point at earlier events",
            explanations_point_at_earlier_events,
        ),
        ("replay reproduces decisions", replay_reproduces_decisions),
        ("money is conserved", money_is_conserved),
        ("replay reproduces events", replay_reproduces_events),
        ("json round trip", json_round_trip),
        ("upcasting preserves events", upcasting_preserves_events),
        (
            "snapshot + tail = full replay",
            snapshot_plus_tail_equals_full_replay,
        ),
    ];
    for (name, check) in checks {
        check(history).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// The policy is deterministic and idempotent: evaluating the customer
/// twice on the same state at the same time gives the same decision and the
/// same events, which are the ones recorded; after the last evaluation,
/// evaluating again records nothing.
///
/// # Errors
///
/// The first evaluation that differs, or a history without a policy.
pub fn decisions_are_deterministic(history: &History) -> Result<(), String> {
    let policy = policy_of(history)?;
    let calendar = &history.calendar;
    for point in &history.evaluations {
        let account = history.account_before(point.before);
        let a =
            evaluate_customer(policy, &account, point.at, calendar).map_err(|e| e.to_string())?;
        let b =
            evaluate_customer(policy, &account, point.at, calendar).map_err(|e| e.to_string())?;
        if a != b {
            return Err(format!(
                "two evaluations at {} differ: {a:?} vs {b:?}",
                point.at
            ));
        }
        let recorded: Vec<&Event> = history
            .events
            .iter()
            .skip(point.before)
            .take(a.events.len())
            .map(|e| &e.event)
            .collect();
        if recorded != a.events.iter().collect::<Vec<_>>() {
            return Err(format!(
                "the evaluation at {} decides {:?} but recorded {:?}",
                point.at, a.events, recorded
            ));
        }
    }
    if let Some(last) = history.evaluations.last() {
        let again = evaluate_customer(policy, &history.account(), last.at, calendar)
            .map_err(|e| e.to_string())?;
        if !again.events.is_empty() {
            return Err(format!(
                "evaluating again at {} records {:?}",
                last.at, again.events
            ));
        }
    }
    Ok(())
}

/// Decisions depend only on the past: cutting the history after any step
/// and running it again records exactly the events recorded up to that step
/// (the future changes nothing already decided); at every decision point
/// the policy, given only the events before it, picks the rule that was
/// recorded; and an account holding events recorded after the evaluation
/// time is refused rather than evaluated.
///
/// # Errors
///
/// The first decision whose rule differs, or a history without a policy.
pub fn decisions_depend_only_on_the_past(history: &History) -> Result<(), String> {
    let policy = policy_of(history)?;
    let calendar = &history.calendar;
    for steps in 1..history.steps.len() {
        let prefix = history.prefix(steps).map_err(|e| e.to_string())?;
        let n = prefix.events.len();
        if history.events.get(..n) != Some(&prefix.events[..]) {
            return Err(format!(
                "the history cut after step {steps} records other events than the first {n}"
            ));
        }
    }
    for point in decision_points(&history.events) {
        let prefix = history.account_before(point.start);
        let facts = match &point.order {
            Some(order) => policy.order_facts(&prefix, order, point.evaluated_at, calendar),
            None => policy.facts(&prefix, point.evaluated_at, calendar),
        }
        .map_err(|e| format!("decision at event {}: {e}", point.start + 1))?;
        let rule = policy.evaluate(&facts).rule;
        let Some(recorded) = history.events[point.start].event.explanation() else {
            continue;
        };
        // Schedule reminders name their follow-up step, not a policy rule.
        let scheduled = ["follow-up:", "limit-warning:"]
            .iter()
            .any(|p| recorded.rule.as_str().starts_with(p));
        if !scheduled && rule != recorded.rule {
            return Err(format!(
                "event {} records rule {:?}, the events before it give {:?}",
                point.start + 1,
                recorded.rule.as_str(),
                rule.as_str()
            ));
        }
    }
    if let Some(first) = history.evaluations.first() {
        let earlier = first.at - chrono::Duration::days(1);
        if !matches!(
            policy.facts(&history.account(), earlier, calendar),
            Err(PolicyError::FutureEvents { .. })
        ) {
            return Err(format!(
                "an account holding events after {earlier} was evaluated at {earlier}"
            ));
        }
    }
    Ok(())
}

/// Every decision carries an explanation naming the history's policy, made
/// no later than it was recorded, whose every source is an earlier event of
/// the stream.
///
/// # Errors
///
/// The first decision without an explanation or pointing elsewhere.
pub fn explanations_point_at_earlier_events(history: &History) -> Result<(), String> {
    let policy = policy_of(history)?;
    for (i, envelope) in history.events.iter().enumerate() {
        if !envelope.event.is_decision() {
            continue;
        }
        let Some(explanation) = envelope.event.explanation() else {
            return Err(format!(
                "event {} ({}) has no explanation",
                envelope.version,
                envelope.event.type_name()
            ));
        };
        if &explanation.policy != policy.reference() {
            return Err(format!(
                "event {} names policy {:?}, the history was decided by {:?}",
                envelope.version,
                explanation.policy,
                policy.reference()
            ));
        }
        if explanation.evaluated_at > envelope.recorded_at {
            return Err(format!(
                "event {} was evaluated at {}, after it was recorded at {}",
                envelope.version, explanation.evaluated_at, envelope.recorded_at
            ));
        }
        for c in &explanation.conditions {
            for source in &c.sources {
                if !history.events[..i].iter().any(|e| e.id == *source) {
                    return Err(format!(
                        "event {} (rule {:?}) points at {source}, not an earlier event",
                        envelope.version,
                        explanation.rule.as_str()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Replaying the stream with the policy (credence-policies' `replay_check`,
/// as `credence verify` does) re-derives every recorded decision.
///
/// # Errors
///
/// The first mismatch.
pub fn replay_reproduces_decisions(history: &History) -> Result<(), String> {
    let policy = policy_of(history)?;
    let registry = PolicyRegistry::new().with(policy.clone());
    let report = replay_check(&history.events, &registry, &history.calendar);
    match report.mismatches.first() {
        None => Ok(()),
        Some(m) => Err(format!(
            "the decision at event {} did not reproduce: {} (recorded {:?}, expected {:?})",
            m.version, m.reason, m.recorded, m.expected
        )),
    }
}

/// No order is refused and the customer's fulfilment mode is never set to
/// refused: the property "no customer who always pays on time is ever
/// refused", checked on histories of [on-time payers](crate::strategy::on_time_plans).
///
/// # Errors
///
/// The first refusal, with its explanation.
pub fn never_refused(history: &History) -> Result<(), String> {
    for envelope in &history.events {
        let refused = match &envelope.event {
            Event::CreditDecided(d) => {
                d.verdict == Verdict::Refuse || d.fulfilment == FulfilmentMode::Refused
            }
            Event::FulfilmentModeChanged(c) => c.to == FulfilmentMode::Refused,
            _ => false,
        };
        if refused {
            let why = envelope
                .event
                .explanation()
                .map(|e| e.summary.as_str())
                .unwrap_or("");
            return Err(format!(
                "event {} refuses the customer: {why}",
                envelope.version
            ));
        }
    }
    Ok(())
}

/// Outcome orderings for [`improving_payment_never_worsens`]: each maps a
/// credit decision to a key where greater is worse.
pub mod outcome {
    use credence_events::{CreditDecided, FulfilmentMode, Priority, Verdict};

    /// The verdict: accept < hold < refuse.
    pub fn verdict(decision: &CreditDecided) -> Verdict {
        decision.verdict
    }

    /// Whether the order is refused (refused is worse).
    pub fn refused(decision: &CreditDecided) -> bool {
        decision.verdict == Verdict::Refuse || decision.fulfilment == FulfilmentMode::Refused
    }

    /// The service priority (1 is served first, so greater is worse).
    pub fn priority(decision: &CreditDecided) -> Priority {
        decision.priority
    }
}

/// Monotonicity: the customer of `plan`, paying better (`improve`, say
/// [`CustomerPlan::paying_earlier`] or [`CustomerPlan::paying_on_time`]),
/// never gets a worse first decision on any of its orders, where `worse`
/// is a greater `key` (see [`outcome`] for ready-made keys). Both plans are
/// interpreted with `policy`; orders are placed at the same times in both.
/// A policy's holds change what gets delivered, so an order's decisions are
/// compared only when the same deliveries preceded them in both histories:
/// the two customers then differ only in how they paid.
///
/// # Errors
///
/// The first order decided worse for the better payer, with both
/// explanations; or a generator failure.
pub fn improving_payment_never_worsens<K: Ord + Debug>(
    plan: &CustomerPlan,
    config: &PlanConfig,
    policy: &Policy,
    improve: impl Fn(&CustomerPlan) -> CustomerPlan,
    key: impl Fn(&CreditDecided) -> K,
) -> Result<(), String> {
    let customer = CustomerId::new("C-1").map_err(|e| e.to_string())?;
    let worse =
        interpret_with_policy(plan, customer.clone(), config, policy).map_err(|e| e.to_string())?;
    let better = interpret_with_policy(&improve(plan), customer, config, policy)
        .map_err(|e| e.to_string())?;
    // The first decision on each order, with the deliveries made before
    // it. A policy's holds change what gets delivered, so two decisions
    // are compared only when the same goods had been delivered: the
    // customers then differ in how they paid alone.
    let first = |h: &History| {
        let mut firsts: std::collections::BTreeMap<
            credence_events::OrderId,
            (CreditDecided, Vec<(String, String)>),
        > = Default::default();
        let mut delivered = Vec::new();
        for envelope in &h.events {
            match &envelope.event {
                Event::DeliveryRecorded(d) => {
                    delivered.push((d.delivery.to_string(), d.amount.to_string()));
                }
                Event::CreditDecided(d) => {
                    if let Some(order) = &d.order {
                        firsts
                            .entry(order.clone())
                            .or_insert_with(|| (d.clone(), delivered.clone()));
                    }
                }
                _ => {}
            }
        }
        firsts
    };
    let worse_firsts = first(&worse);
    for (order, (b, b_delivered)) in first(&better) {
        let Some((w, w_delivered)) = worse_firsts.get(&order) else {
            continue;
        };
        if &b_delivered != w_delivered {
            continue;
        }
        if key(&b) > key(w) {
            return Err(format!(
                "order {order}: the better payer gets {:?} ({}), the worse payer {:?} ({})",
                key(&b),
                b.explanation.summary,
                key(w),
                w.explanation.summary
            ));
        }
    }
    Ok(())
}
