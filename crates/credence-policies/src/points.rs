//! Decision points: what the engine calls when an order is placed and when it
//! evaluates a customer, and the events it appends.
//!
//! * [`decide_order`] / [`order_placed`]: placing an order records a
//!   [`CreditDecided`] (verdict, fulfilment mode, discount kept or
//!   suspended, priority) **in the same append** as the `OrderPlaced`.
//! * [`release_held_orders`]: orders on credit hold decided again (after
//!   a payment, say); each release is a `CreditDecided` of its own.
//! * [`evaluate_customer`]: at business time `now`, the changes of standing
//!   (fulfilment mode, priority, discount, markup, bonus), a notice of each
//!   change, the service warnings the deciding rule asks for and the
//!   follow-up and credit-limit reminders that are due. Evaluating again at
//!   the same `now` (after appending) records nothing new: standing is
//!   compared with [`CustomerAccount::standing`] and reminders already sent
//!   are skipped.
//!
//! The engine's order of calls after a command: `order_placed` for an
//! order, then `release_held_orders`, then `evaluate_customer`, appending
//! the events of each before the next (a credit decision also sets the
//! customer's priority, which the evaluation then compares with).

use chrono::{DateTime, Days, NaiveDate, Utc};
use credence_aggregates::{CustomerAccount, Standing};
use credence_events::{
    AdjustmentKind, BusinessCalendar, CreditDecided, DiscountOutcome, Event, EventId, Explanation,
    FulfilmentMode, FulfilmentModeChanged, GlobalPosition, Money, NewEvent, OrderId,
    PriceAdjustmentChanged, Priority, PriorityChanged, Rate, ReceivableId, Recipient, ReminderKind,
    ReminderSent, StreamId, Terms, Verdict,
};
use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::error::PolicyError;
use crate::facts::{Facts, payment_order_expired, promise_broken};
use crate::ids::{
    notice_id, order_decision_id, order_redecision_id, reminder_id, standing_decision_id,
};
use crate::policy::Policy;
use crate::reminders::{not_sent, schedule_reminders};

/// A credit decision on an order, with the event that records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDecision {
    /// The decision with its receipt.
    pub decision: Decision,
    /// The event to append right after the `OrderPlaced`.
    pub event: CreditDecided,
}

/// Decides on `order`, which `account` already holds (its `OrderPlaced`
/// applied), at business time `now`.
///
/// # Errors
///
/// [`PolicyError::UnknownCustomer`] or [`PolicyError::UnknownOrder`].
pub fn decide_order(
    policy: &Policy,
    account: &CustomerAccount,
    order: &OrderId,
    now: DateTime<Utc>,
    calendar: &BusinessCalendar,
) -> Result<OrderDecision, PolicyError> {
    let decision = policy
        .decide_with(|wanted| policy.facts_with(account, Some(order), now, calendar, wanted))?;
    let first = order_decision_id(order)?;
    let id = if account.has_decision(&first) {
        order_redecision_id(order, account.version().0)?
    } else {
        first
    };
    let event = CreditDecided {
        decision: id,
        order: Some(order.clone()),
        verdict: decision.outcome.verdict,
        fulfilment: decision.outcome.fulfilment,
        discount: decision.outcome.discount,
        priority: decision.outcome.priority,
        explanation: decision.explanation(),
    };
    Ok(OrderDecision { decision, event })
}

/// Decides on the order placed by `placed` (an `OrderPlaced` about to be
/// appended to `account`'s stream), at its business time. The engine appends
/// `placed` and the returned event together.
///
/// # Errors
///
/// [`PolicyError::NotAnOrder`] when `placed` is not an `OrderPlaced`, else as
/// [`decide_order`].
pub fn order_placed(
    policy: &Policy,
    account: &CustomerAccount,
    placed: &NewEvent,
    calendar: &BusinessCalendar,
) -> Result<OrderDecision, PolicyError> {
    let Event::OrderPlaced(order) = &placed.event else {
        return Err(PolicyError::NotAnOrder(placed.event.type_name()));
    };
    let customer = &account
        .profile()
        .ok_or(PolicyError::UnknownCustomer)?
        .customer;
    let mut after = account.clone();
    after.apply(&placed.clone().into_envelope(
        StreamId::for_customer(customer),
        account.version().next(),
        GlobalPosition::START,
    ));
    decide_order(policy, &after, &order.order, placed.occurred_at, calendar)
}

/// Decides again on every open order on credit hold (verdict `hold`,
/// deferred until payment), at business time `now`, and returns the
/// decisions that release one (any verdict but `hold`), oldest order first.
/// Each is decided on the state that includes the ones before it; the
/// engine appends them in order, each as a decision point of its own.
/// Evaluating again after appending releases nothing new.
///
/// # Errors
///
/// [`PolicyError::UnknownCustomer`] for an unregistered account.
pub fn release_held_orders(
    policy: &Policy,
    account: &CustomerAccount,
    now: DateTime<Utc>,
    calendar: &BusinessCalendar,
) -> Result<Vec<OrderDecision>, PolicyError> {
    let profile = account.profile().ok_or(PolicyError::UnknownCustomer)?;
    let stream = StreamId::for_customer(&profile.customer);
    let mut held: Vec<_> = account
        .open_orders()
        .filter(|o| o.verdict == Some(Verdict::Hold))
        .map(|o| (o.placed_at, o.id.clone()))
        .collect();
    held.sort();
    let mut state = account.clone();
    let mut released = Vec::new();
    for (i, (_, order)) in held.into_iter().enumerate() {
        let decision = decide_order(policy, &state, &order, now, calendar)?;
        if decision.event.verdict == Verdict::Hold {
            continue;
        }
        let version = state.version().next();
        state.apply(
            &NewEvent::new(
                EventId::from_u128(u128::MAX - i as u128),
                now,
                decision.event.clone(),
            )
            .into_envelope(stream.clone(), version, GlobalPosition::START),
        );
        released.push(decision);
    }
    Ok(released)
}

/// The standing a customer has before any policy decision: normal priority,
/// full fulfilment, and the adjustments of its terms.
pub fn initial_standing(terms: &Terms) -> Standing {
    Standing {
        priority: Priority::NORMAL,
        fulfilment: FulfilmentMode::Full,
        discount: terms.base_discount,
        markup: terms.markup,
        bonus: terms.bonus,
        priority_source: None,
        fulfilment_source: None,
        adjustment_sources: Default::default(),
    }
}

/// The result of evaluating a customer at a business time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision with its receipt.
    pub decision: Decision,
    /// The events to append: changes of standing, notices, service warnings
    /// and due reminders. Empty when nothing changed and nothing is due.
    pub events: Vec<Event>,
}

impl Evaluation {
    /// The reminders among the events.
    pub fn reminders(&self) -> impl Iterator<Item = &ReminderSent> {
        self.events.iter().filter_map(|e| match e {
            Event::ReminderSent(r) => Some(r),
            _ => None,
        })
    }
}

/// The standing `outcome` asks for under `terms`.
///
/// # Errors
///
/// [`PolicyError::Money`] when the markup would leave the range of a rate.
pub fn desired_standing(decision: &Decision, terms: &Terms) -> Result<Standing, PolicyError> {
    let o = &decision.outcome;
    let markup = Rate::percent(terms.markup.as_percent() + o.markup_percent.as_percent())?;
    Ok(Standing {
        priority: o.priority,
        fulfilment: o.fulfilment,
        discount: match o.discount {
            DiscountOutcome::Kept => terms.base_discount,
            DiscountOutcome::Suspended => Rate::ZERO,
        },
        markup,
        bonus: match o.bonus {
            DiscountOutcome::Kept => terms.bonus,
            DiscountOutcome::Suspended => Rate::ZERO,
        },
        priority_source: None,
        fulfilment_source: None,
        adjustment_sources: Default::default(),
    })
}

/// Evaluates `account` at business time `now` and returns the events to
/// append (see the [module docs](self)).
///
/// # Errors
///
/// [`PolicyError::UnknownCustomer`] for an unregistered account.
pub fn evaluate_customer(
    policy: &Policy,
    account: &CustomerAccount,
    now: DateTime<Utc>,
    calendar: &BusinessCalendar,
) -> Result<Evaluation, PolicyError> {
    let profile = account.profile().ok_or(PolicyError::UnknownCustomer)?;
    let customer = &profile.customer;
    let facts = policy.facts(account, now, calendar)?;
    let decision = policy.evaluate(&facts);
    let explanation = decision.explanation();
    let current = account
        .standing()
        .cloned()
        .unwrap_or_else(|| initial_standing(&profile.terms));
    let desired = desired_standing(&decision, &profile.terms)?;
    let version = account.version().0;
    let schedule = policy.reminders();
    let mut events: Vec<Event> = Vec::new();

    if desired.fulfilment != current.fulfilment {
        events.push(
            FulfilmentModeChanged {
                decision: standing_decision_id("fulfilment", customer, version)?,
                from: current.fulfilment,
                to: desired.fulfilment,
                explanation: explanation.clone(),
            }
            .into(),
        );
    }
    let priority_changed = desired.priority != current.priority;
    if priority_changed {
        events.push(
            PriorityChanged {
                decision: standing_decision_id("priority", customer, version)?,
                from: current.priority,
                to: desired.priority,
                explanation: explanation.clone(),
            }
            .into(),
        );
    }
    let mut price_changes = Vec::new();
    for (kind, name, from, to) in [
        (
            AdjustmentKind::Discount,
            "discount",
            current.discount,
            desired.discount,
        ),
        (
            AdjustmentKind::Markup,
            "markup",
            current.markup,
            desired.markup,
        ),
        (AdjustmentKind::Bonus, "bonus", current.bonus, desired.bonus),
    ] {
        if from != to {
            price_changes.push(format!("{name} {from} -> {to}"));
            events.push(
                PriceAdjustmentChanged {
                    decision: standing_decision_id(name, customer, version)?,
                    adjustment: kind,
                    from,
                    to,
                    explanation: explanation.clone(),
                }
                .into(),
            );
        }
    }

    // Notices of changes.
    let mut notices = Vec::new();
    if priority_changed {
        notices.push((
            ReminderKind::PriorityChange,
            format!(
                "service priority changes from {} to {}",
                current.priority, desired.priority
            ),
        ));
    }
    if !price_changes.is_empty() {
        notices.push((ReminderKind::PriceChange, price_changes.join("; ")));
    }
    for (kind, text) in notices {
        for &recipient in &schedule.change_notices {
            events.push(
                ReminderSent {
                    reminder: notice_id(kind, recipient, customer, version)?,
                    kind,
                    recipient,
                    level: 0,
                    receivables: Vec::new(),
                    message: addressed(recipient, customer.as_str(), &text),
                    explanation: Some(explanation.clone()),
                }
                .into(),
            );
        }
    }

    // Service warnings the deciding rule asks for, once per overdue
    // receivable and recipient.
    if decision.outcome.service_warning {
        for r in facts.receivables.iter().filter(|r| r.is_overdue()) {
            for &recipient in &schedule.service_warnings {
                let (kind, level) = (ReminderKind::ServiceWarning, 1);
                if !not_sent(account, kind, recipient, level, Some(&r.id)) {
                    continue;
                }
                let text = match recipient {
                    Recipient::Customer => format!(
                        "{} ({}) was due on {} and is unpaid: your next order will be {} until it is paid",
                        r.id,
                        r.open,
                        r.due_date,
                        service_words(decision.outcome.fulfilment)
                    ),
                    Recipient::Manager => format!(
                        "customer {customer}: {} ({}) was due on {} and is unpaid; the next order will be {}; obtain a payment date and the reason for the delay",
                        r.id,
                        r.open,
                        r.due_date,
                        service_words(decision.outcome.fulfilment)
                    ),
                };
                events.push(
                    ReminderSent {
                        reminder: reminder_id(kind, recipient, level, Some(&r.id), None)?,
                        kind,
                        recipient,
                        level,
                        receivables: vec![r.id.clone()],
                        message: text,
                        explanation: Some(explanation.clone()),
                    }
                    .into(),
                );
            }
        }
    }

    deadline_notices(policy, account, &facts, &explanation, &mut events)?;
    events.extend(
        schedule_reminders(schedule, policy.reference(), account, &facts, calendar)?
            .into_iter()
            .map(Event::from),
    );
    Ok(Evaluation { decision, events })
}

/// Notices of payment orders whose money did not arrive and of broken
/// promises, once per receivable concerned (the overdue receivables when the
/// payment order or promise named none).
fn deadline_notices(
    policy: &Policy,
    account: &CustomerAccount,
    facts: &Facts,
    explanation: &Explanation,
    events: &mut Vec<Event>,
) -> Result<(), PolicyError> {
    let recipients = &policy.reminders().deadline_notices;
    if recipients.is_empty() {
        return Ok(());
    }
    let lookback_start = facts
        .today
        .checked_sub_days(Days::new(policy.facts_config().lookback_days.into()))
        .unwrap_or(NaiveDate::MIN);
    let overdue: Vec<ReceivableId> = facts
        .receivables
        .iter()
        .filter(|r| r.is_overdue())
        .map(|r| r.id.clone())
        .collect();
    // Level n for the n-th missed deadline of its kind in the window, so a
    // second broken promise on the same receivable is told too.
    let mut missed: Vec<(ReminderKind, u8, Vec<ReceivableId>, String)> = Vec::new();
    let mut expired: Vec<_> = account
        .payment_orders()
        .values()
        .filter(|po| payment_order_expired(po, facts.today) && po.expected_by > lookback_start)
        .collect();
    expired.sort_by(|a, b| (a.expected_by, &a.id).cmp(&(b.expected_by, &b.id)));
    for (n, po) in expired.into_iter().enumerate() {
        missed.push((
            ReminderKind::PaymentOrderOverdue,
            u8::try_from(n + 1).unwrap_or(u8::MAX),
            po.receivables.clone(),
            format!(
                "the money of payment order {} ({}) expected by {} did not arrive",
                po.id,
                Money::rounded(po.amount, account.currency()),
                po.expected_by
            ),
        ));
    }
    let mut broken: Vec<_> = account
        .promises()
        .values()
        .filter(|p| promise_broken(p, facts.today) && p.promised_date > lookback_start)
        .collect();
    broken.sort_by(|a, b| (a.promised_date, &a.id).cmp(&(b.promised_date, &b.id)));
    for (n, p) in broken.into_iter().enumerate() {
        missed.push((
            ReminderKind::PromiseBroken,
            u8::try_from(n + 1).unwrap_or(u8::MAX),
            p.receivables.clone(),
            format!(
                "promise {} to pay {} by {} was broken",
                p.id,
                Money::rounded(p.amount, account.currency()),
                p.promised_date
            ),
        ));
    }
    let customer = &facts.customer;
    for (kind, level, named, text) in missed {
        let concerned = if named.is_empty() {
            overdue.clone()
        } else {
            named
        };
        for &recipient in recipients {
            let fresh: Vec<ReceivableId> = concerned
                .iter()
                .filter(|r| not_sent(account, kind, recipient, level, Some(r)))
                .cloned()
                .collect();
            let Some(first) = fresh.first() else {
                continue;
            };
            events.push(
                ReminderSent {
                    reminder: reminder_id(kind, recipient, level, Some(first), None)?,
                    kind,
                    recipient,
                    level,
                    receivables: fresh.clone(),
                    message: addressed(recipient, customer.as_str(), &text),
                    explanation: Some(explanation.clone()),
                }
                .into(),
            );
        }
    }
    Ok(())
}

fn addressed(recipient: Recipient, customer: &str, text: &str) -> String {
    match recipient {
        Recipient::Customer => text.to_owned(),
        Recipient::Manager => format!("customer {customer}: {text}"),
    }
}

fn service_words(mode: FulfilmentMode) -> &'static str {
    match mode {
        FulfilmentMode::Full => "served in full",
        FulfilmentMode::Partial => "served partly (scarce items withheld)",
        FulfilmentMode::Residual => "served on a residual basis",
        FulfilmentMode::CashOnDelivery => "shipped only against cash on delivery",
        FulfilmentMode::Deferred => "deferred until payment",
        FulfilmentMode::Refused => "refused",
    }
}
