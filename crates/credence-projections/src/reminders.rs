//! The reminder worklist at a time `t`: reminders due and not yet sent.
//!
//! The schedule is a [`ReminderSchedule`] (data, in this crate) counted
//! from receivables' due dates:
//!
//! | kind | to | level | due when |
//! | --- | --- | --- | --- |
//! | advance | customer | 0 | `advance_days` or fewer days before the due date |
//! | due today | customer | 0 | on the due date (`on_due`) |
//! | overdue | customer (and the manager from `manager_from_level`) | 1, 2, … | the highest level of `overdue_levels` reached |
//! | service warning | customer | 0 | `service_warning_after` days past due |
//! | credit limit | customer | 0 nearly used, 1 exceeded | exposure ≥ `credit_limit_percent` of the limit |
//! | price change / priority change | customer | 0 | a decision changed them and no such reminder was sent since |
//! | payment order overdue | manager | 0 | a pending payment order's expected date has passed |
//! | promise broken | manager | 0 | a promise was recorded broken, or its date passed unpaid |
//!
//! A reminder is identified by its [`ReminderKey`] (kind, recipient, level,
//! receivable); the worklist leaves out every key the customer's stream
//! records as sent. A policy crate with its own schedule can plug in through
//! [`Projections::reminder_worklist_with`], which applies the same
//! "not yet sent" filter.

use chrono::{DateTime, NaiveDate, Utc};
use credence_aggregates::{CustomerAccount, PromiseStatus, ReminderKey};
use credence_events::{
    BusinessCalendar, CustomerId, DayKind, EventId, ManagerId, ReceivableId, Recipient,
    ReminderKind,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::ReminderSchedule;
use crate::read_models::{CustomerEntry, Projections};

/// A reminder that is due and has not been sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueReminder {
    /// The customer it concerns.
    pub customer: CustomerId,
    /// The customer's manager.
    pub manager: ManagerId,
    /// Its identity for the "never twice" rule.
    pub key: ReminderKey,
    /// Every receivable it concerns (the key names the first).
    pub receivables: Vec<ReceivableId>,
    /// Why it is due, in words.
    pub reason: String,
    /// The decision event a change notice is about.
    pub decision: Option<EventId>,
}

impl DueReminder {
    fn new(
        account: &CustomerAccount,
        kind: ReminderKind,
        recipient: Recipient,
        level: u8,
        receivable: Option<&ReceivableId>,
        reason: String,
    ) -> Option<Self> {
        let profile = account.profile()?;
        Some(Self {
            customer: profile.customer.clone(),
            manager: profile.manager.clone(),
            key: ReminderKey {
                kind,
                recipient,
                level,
                receivable: receivable.cloned(),
            },
            receivables: receivable.into_iter().cloned().collect(),
            reason,
            decision: None,
        })
    }
}

/// The reminders `schedule` makes due for `account` at `now`, sent or not.
pub fn scheduled_reminders(
    account: &CustomerAccount,
    now: DateTime<Utc>,
    calendar: &BusinessCalendar,
    schedule: &ReminderSchedule,
) -> Vec<DueReminder> {
    let Some(profile) = account.profile() else {
        return Vec::new();
    };
    let today = calendar.local_date(now);
    let mut due = Vec::new();
    let mut push = |kind, recipient, level, receivable: Option<&ReceivableId>, reason: String| {
        due.extend(DueReminder::new(
            account, kind, recipient, level, receivable, reason,
        ));
    };
    for r in account.open_receivables() {
        let id = Some(&r.id);
        if r.due_date > today {
            let before = days_between(calendar, schedule.days, today, r.due_date);
            if schedule.advance_days.is_some_and(|days| before <= days) {
                push(
                    ReminderKind::Advance,
                    Recipient::Customer,
                    0,
                    id,
                    format!(
                        "{} of {} due on {} ({before} days)",
                        r.open, r.id, r.due_date
                    ),
                );
            }
            continue;
        }
        if r.due_date == today {
            if schedule.on_due {
                push(
                    ReminderKind::DueToday,
                    Recipient::Customer,
                    0,
                    id,
                    format!("{} of {} due today", r.open, r.id),
                );
            }
            continue;
        }
        let past = days_between(calendar, schedule.days, r.due_date, today);
        let reached = schedule
            .overdue_levels
            .iter()
            .take_while(|&&from| from <= past)
            .count();
        if let Ok(level @ 1..) = u8::try_from(reached) {
            let reason = format!(
                "{} of {} is {past} days past due (level {level})",
                r.open, r.id
            );
            push(
                ReminderKind::Overdue,
                Recipient::Customer,
                level,
                id,
                reason.clone(),
            );
            if level >= schedule.manager_from_level {
                push(ReminderKind::Overdue, Recipient::Manager, level, id, reason);
            }
        }
        if schedule.service_warning_after.is_some_and(|d| past >= d) {
            push(
                ReminderKind::ServiceWarning,
                Recipient::Customer,
                0,
                id,
                format!(
                    "{} is {past} days past due: the next order will be refused or served residually",
                    r.id
                ),
            );
        }
    }
    if let Some(percent) = schedule.credit_limit_percent {
        let limit = profile.terms.credit_limit.amount();
        let exposure = account.exposure().amount();
        if limit > Decimal::ZERO {
            let used = (exposure * Decimal::ONE_HUNDRED / limit).round_dp(2);
            if exposure > limit {
                push(
                    ReminderKind::CreditLimit,
                    Recipient::Customer,
                    1,
                    None,
                    format!("credit limit exceeded: exposure {exposure} of {limit} ({used} %)"),
                );
            } else if used >= percent {
                push(
                    ReminderKind::CreditLimit,
                    Recipient::Customer,
                    0,
                    None,
                    format!("credit limit nearly used: exposure {exposure} of {limit} ({used} %)"),
                );
            }
        }
    }
    if schedule.payment_order_overdue {
        for po in account.pending_payment_orders() {
            if po.expected_by < today {
                let receivable = po.receivables.first();
                let mut reminder = DueReminder::new(
                    account,
                    ReminderKind::PaymentOrderOverdue,
                    Recipient::Manager,
                    0,
                    receivable,
                    format!(
                        "the money of payment order {} ({}) expected by {} has not arrived",
                        po.id, po.amount, po.expected_by
                    ),
                );
                if let Some(r) = reminder.as_mut() {
                    r.receivables.clone_from(&po.receivables);
                }
                due.extend(reminder);
            }
        }
    }
    if schedule.broken_promises {
        for promise in account.promises().values() {
            let broken = promise.status == PromiseStatus::Broken
                || (promise.status == PromiseStatus::Pending && promise.promised_date < today);
            if broken {
                let mut reminder = DueReminder::new(
                    account,
                    ReminderKind::PromiseBroken,
                    Recipient::Manager,
                    0,
                    promise.receivables.first(),
                    format!(
                        "promise {} to pay {} by {} was broken ({} paid)",
                        promise.id, promise.amount, promise.promised_date, promise.paid
                    ),
                );
                if let Some(r) = reminder.as_mut() {
                    r.receivables.clone_from(&promise.receivables);
                }
                due.extend(reminder);
            }
        }
    }
    due
}

/// Days from `from` to `to` counted as `kind` (0 when `to <= from`).
fn days_between(calendar: &BusinessCalendar, kind: DayKind, from: NaiveDate, to: NaiveDate) -> u32 {
    match kind {
        DayKind::Calendar => u32::try_from((to - from).num_days()).unwrap_or(0),
        DayKind::Business => calendar.business_days_between(from, to),
    }
}

impl Projections {
    /// Reminders due at business time `now` under the configured
    /// [`ReminderSchedule`] and not yet sent, customer by customer.
    pub fn reminder_worklist(&self, now: DateTime<Utc>) -> Vec<DueReminder> {
        let schedule = &self.config.reminders;
        let calendar = &self.config.calendar;
        let mut due = self.reminder_worklist_with(now, |account, now| {
            scheduled_reminders(account, now, calendar, schedule)
        });
        if schedule.change_notices {
            for entry in self.customers.values() {
                due.extend(change_notices(entry));
            }
            due.sort_by(|a, b| a.customer.cmp(&b.customer));
        }
        due
    }

    /// Reminders `schedule` (a policy's own reminder schedule, say) makes due
    /// at `now`, less those the streams record as sent, customer by
    /// customer. A reminder key that occurs twice is listed once.
    pub fn reminder_worklist_with(
        &self,
        now: DateTime<Utc>,
        schedule: impl Fn(&CustomerAccount, DateTime<Utc>) -> Vec<DueReminder>,
    ) -> Vec<DueReminder> {
        let mut due = Vec::new();
        for entry in self.customers.values() {
            let start = due.len();
            for reminder in schedule(&entry.account, now) {
                let seen = due[start..]
                    .iter()
                    .any(|d: &DueReminder| d.key == reminder.key);
                if !seen && !entry.account.reminder_sent(&reminder.key) {
                    due.push(reminder);
                }
            }
        }
        due
    }
}

fn change_notices(entry: &CustomerEntry) -> Vec<DueReminder> {
    let Some(standing) = entry.account.standing() else {
        return Vec::new();
    };
    entry
        .notices
        .iter()
        .filter_map(|(kind, decision)| {
            let reason = match kind {
                ReminderKind::PriceChange => format!(
                    "discount {}, markup {}, bonus {} now apply",
                    standing.discount, standing.markup, standing.bonus
                ),
                _ => format!("service priority is now {}", standing.priority),
            };
            let mut reminder =
                DueReminder::new(&entry.account, *kind, Recipient::Customer, 0, None, reason)?;
            reminder.decision = Some(*decision);
            Some(reminder)
        })
        .collect()
}
