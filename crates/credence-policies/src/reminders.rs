//! The reminder schedule: follow-up levels around the due date (like Odoo's
//! follow-up levels, a negative delay meaning "before due"), credit-limit
//! warnings, change notices and service warnings, and which of them are due.
//!
//! ```json
//! "reminders": {
//!   "days": "business",
//!   "follow_up": [
//!     {"delay_days": -2, "recipients": ["customer"]},
//!     {"delay_days": 0, "recipients": ["customer"]},
//!     {"delay_days": 1, "recipients": ["customer"]},
//!     {"delay_days": 5, "recipients": ["customer", "manager"]}
//!   ],
//!   "limit_warnings": [{"percent": 80, "recipients": ["customer", "manager"]}],
//!   "change_notices": ["customer", "manager"],
//!   "service_warnings": ["customer", "manager"]
//! }
//! ```
//!
//! # Which follow-up step is due
//!
//! For each open receivable the *offset* is the number of days from its due
//! date to today (negative before due), counted in business or calendar days
//! as `days` says. The step due is the one with the largest `delay_days` not
//! above the offset, provided it is of the right kind: an advance step
//! (negative delay) only before the due date, the on-due step (delay 0) only
//! on the due date, overdue steps after it. Only that one step is sent, so a
//! customer evaluated rarely gets the current level, not every level it
//! missed. Levels: advance steps 0, 1, … from the earliest; on-due 0;
//! overdue steps 1, 2, … in order.
//!
//! # Never twice
//!
//! A schedule reminder is identified by kind, recipient, level and receivable
//! (the aggregate's [`ReminderKey`]) and is not due once sent. Its id is
//! `reminder:{kind}:{recipient}:{level}:{receivable}`.

use chrono::{DateTime, NaiveDate, Utc};
use credence_aggregates::{CustomerAccount, ReminderKey};
use credence_events::{
    BusinessCalendar, Comparison, ConditionTrace, DayKind, Explanation, FactValue, PolicyRef,
    ReceivableId, Recipient, ReminderKind, ReminderSent, RuleId,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::facts::{Facts, ReceivableFacts};
use crate::ids::reminder_id;

/// One follow-up step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpStep {
    /// Days from the due date: negative before, 0 on, positive after.
    pub delay_days: i32,
    /// Who gets it.
    pub recipients: Vec<Recipient>,
}

/// A credit-limit warning threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitWarning {
    /// Warn when limit usage is at least this percentage.
    pub percent: Decimal,
    /// Who gets it.
    pub recipients: Vec<Recipient>,
}

/// When reminders are sent and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSchedule {
    /// How follow-up delays count days.
    #[serde(default = "business")]
    pub days: DayKind,
    /// Follow-up steps, in increasing `delay_days`.
    #[serde(default)]
    pub follow_up: Vec<FollowUpStep>,
    /// Credit-limit warnings, in increasing `percent`; level = position + 1.
    #[serde(default)]
    pub limit_warnings: Vec<LimitWarning>,
    /// Who is told when priority, discount, markup or bonus change.
    #[serde(default)]
    pub change_notices: Vec<Recipient>,
    /// Who gets service warnings when the deciding rule asks for them.
    #[serde(default)]
    pub service_warnings: Vec<Recipient>,
    /// Who is told when a payment order's money did not arrive by its
    /// expected date or a promise to pay was broken (within the look-back
    /// window), once per receivable concerned.
    #[serde(default)]
    pub deadline_notices: Vec<Recipient>,
}

fn business() -> DayKind {
    DayKind::Business
}

impl Default for ReminderSchedule {
    /// No reminders at all.
    fn default() -> Self {
        Self {
            days: DayKind::Business,
            follow_up: Vec::new(),
            limit_warnings: Vec::new(),
            change_notices: Vec::new(),
            service_warnings: Vec::new(),
            deadline_notices: Vec::new(),
        }
    }
}

fn check_recipients(recipients: &[Recipient], path: &str) -> Result<(), PolicyError> {
    if recipients.is_empty() {
        return Err(PolicyError::invalid(
            path,
            "at least one recipient is needed",
        ));
    }
    for (i, r) in recipients.iter().enumerate() {
        if recipients[..i].contains(r) {
            return Err(PolicyError::invalid(
                format!("{path}[{i}]"),
                "duplicate recipient",
            ));
        }
    }
    Ok(())
}

impl ReminderSchedule {
    /// Checks the schedule; `path` is where it sits in the document.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`] for delays or percentages out of order,
    /// missing or duplicate recipients.
    pub fn validate(&self, path: &str) -> Result<(), PolicyError> {
        for (i, step) in self.follow_up.iter().enumerate() {
            let here = format!("{path}.follow_up[{i}]");
            if i > 0 && step.delay_days <= self.follow_up[i - 1].delay_days {
                return Err(PolicyError::invalid(
                    format!("{here}.delay_days"),
                    "delays must increase strictly",
                ));
            }
            check_recipients(&step.recipients, &format!("{here}.recipients"))?;
        }
        for (i, w) in self.limit_warnings.iter().enumerate() {
            let here = format!("{path}.limit_warnings[{i}]");
            if w.percent <= Decimal::ZERO
                || (i > 0 && w.percent <= self.limit_warnings[i - 1].percent)
            {
                return Err(PolicyError::invalid(
                    format!("{here}.percent"),
                    "percentages must be positive and increase strictly",
                ));
            }
            check_recipients(&w.recipients, &format!("{here}.recipients"))?;
        }
        for (name, list) in [
            ("change_notices", &self.change_notices),
            ("service_warnings", &self.service_warnings),
            ("deadline_notices", &self.deadline_notices),
        ] {
            for (i, r) in list.iter().enumerate() {
                if list[..i].contains(r) {
                    return Err(PolicyError::invalid(
                        format!("{path}.{name}[{i}]"),
                        "duplicate recipient",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The step due for a receivable at `offset` days from its due date, with
    /// its kind and level.
    pub fn step_at(&self, offset: i64) -> Option<(&FollowUpStep, ReminderKind, u8)> {
        let index = self
            .follow_up
            .iter()
            .rposition(|s| i64::from(s.delay_days) <= offset)?;
        let step = &self.follow_up[index];
        let delay = i64::from(step.delay_days);
        let (kind, level) = if delay < 0 {
            if offset >= 0 {
                return None;
            }
            (ReminderKind::Advance, index)
        } else if delay == 0 {
            if offset > 0 {
                return None;
            }
            (ReminderKind::DueToday, 0)
        } else {
            let first_overdue = self.follow_up.iter().position(|s| s.delay_days > 0)?;
            (ReminderKind::Overdue, index - first_overdue + 1)
        };
        Some((step, kind, u8::try_from(level).unwrap_or(u8::MAX)))
    }

    /// Days from `due` to `today` in this schedule's day kind: negative
    /// before the due date.
    pub fn offset(&self, calendar: &BusinessCalendar, due: NaiveDate, today: NaiveDate) -> i64 {
        match self.days {
            DayKind::Calendar => (today - due).num_days(),
            DayKind::Business if today >= due => {
                i64::from(calendar.business_days_between(due, today))
            }
            DayKind::Business => -i64::from(calendar.business_days_between(today, due)),
        }
    }
}

pub(crate) fn kind_name(kind: ReminderKind) -> &'static str {
    match kind {
        ReminderKind::Advance => "advance",
        ReminderKind::DueToday => "due_today",
        ReminderKind::Overdue => "overdue",
        ReminderKind::CreditLimit => "credit_limit",
        ReminderKind::PriceChange => "price_change",
        ReminderKind::PriorityChange => "priority_change",
        ReminderKind::ServiceWarning => "service_warning",
        ReminderKind::PaymentOrderOverdue => "payment_order_overdue",
        ReminderKind::PromiseBroken => "promise_broken",
    }
}

pub(crate) fn recipient_name(recipient: Recipient) -> &'static str {
    match recipient {
        Recipient::Customer => "customer",
        Recipient::Manager => "manager",
    }
}

fn rule_id(text: String) -> Result<RuleId, PolicyError> {
    Ok(RuleId::new(text)?)
}

pub(crate) fn not_sent(
    account: &CustomerAccount,
    kind: ReminderKind,
    recipient: Recipient,
    level: u8,
    receivable: Option<&ReceivableId>,
) -> bool {
    !account.reminder_sent(&ReminderKey {
        kind,
        recipient,
        level,
        receivable: receivable.cloned(),
    })
}

fn follow_up_message(
    kind: ReminderKind,
    r: &ReceivableFacts,
    offset: i64,
    level: u8,
    days: DayKind,
) -> String {
    let count = if kind == ReminderKind::Advance {
        -offset
    } else {
        offset
    };
    let unit = match (days, count) {
        (DayKind::Business, 1) => "business day",
        (DayKind::Business, _) => "business days",
        (DayKind::Calendar, 1) => "day",
        (DayKind::Calendar, _) => "days",
    };
    match kind {
        ReminderKind::Advance => format!(
            "payment of {} for {} is due on {} (in {} {unit})",
            r.open, r.id, r.due_date, -offset
        ),
        ReminderKind::DueToday => {
            format!(
                "payment of {} for {} is due today, {}",
                r.open, r.id, r.due_date
            )
        }
        _ => format!(
            "payment of {} for {} was due on {}: {offset} {unit} overdue (level {level})",
            r.open, r.id, r.due_date
        ),
    }
}

/// Follow-up and credit-limit reminders due at `facts.evaluated_at` and not
/// yet sent, in a stable order (receivables oldest due first, customer
/// before manager).
///
/// # Errors
///
/// Never in practice (ids derived from valid ids are valid).
pub fn schedule_reminders(
    schedule: &ReminderSchedule,
    policy: &PolicyRef,
    account: &CustomerAccount,
    facts: &Facts,
    calendar: &BusinessCalendar,
) -> Result<Vec<ReminderSent>, PolicyError> {
    let now: DateTime<Utc> = facts.evaluated_at;
    let mut out = Vec::new();
    for r in &facts.receivables {
        let offset = schedule.offset(calendar, r.due_date, facts.today);
        let Some((step, kind, level)) = schedule.step_at(offset) else {
            continue;
        };
        let fact = match schedule.days {
            DayKind::Business => format!("business_days_from_due[{}]", r.id),
            DayKind::Calendar => format!("days_from_due[{}]", r.id),
        };
        for &recipient in &step.recipients {
            if !not_sent(account, kind, recipient, level, Some(&r.id)) {
                continue;
            }
            let message = follow_up_message(kind, r, offset, level, schedule.days);
            let rule = rule_id(format!("follow-up:{}:{level}", kind_name(kind)))?;
            let summary = format!(
                "{} reminder to {} for {}: {fact} {offset} >= {} (follow-up step {} v{})",
                kind_name(kind),
                recipient_name(recipient),
                r.id,
                step.delay_days,
                policy.id,
                policy.version
            );
            out.push(ReminderSent {
                reminder: reminder_id(kind, recipient, level, Some(&r.id), None)?,
                kind,
                recipient,
                level,
                receivables: vec![r.id.clone()],
                message: match recipient {
                    Recipient::Customer => message,
                    Recipient::Manager => format!("customer {}: {message}", facts.customer),
                },
                explanation: Some(Explanation {
                    policy: policy.clone(),
                    rule,
                    evaluated_at: now,
                    conditions: vec![ConditionTrace {
                        fact: fact.clone(),
                        comparison: Comparison::Ge,
                        threshold: FactValue::Integer(step.delay_days.into()),
                        observed: FactValue::Integer(offset),
                        holds: true,
                        sources: r.sources.clone(),
                    }],
                    summary,
                }),
            });
        }
    }
    if let Some(usage) = facts.get("limit_usage_percent") {
        if let FactValue::Decimal(percent) = usage.value {
            let reached = schedule
                .limit_warnings
                .iter()
                .rposition(|w| w.percent <= percent);
            if let Some(index) = reached {
                let warning = &schedule.limit_warnings[index];
                let level = u8::try_from(index + 1).unwrap_or(u8::MAX);
                for &recipient in &warning.recipients {
                    let receivables: Vec<ReceivableId> = facts
                        .receivables
                        .iter()
                        .map(|r| r.id.clone())
                        .filter(|id| {
                            not_sent(
                                account,
                                ReminderKind::CreditLimit,
                                recipient,
                                level,
                                Some(id),
                            )
                        })
                        .collect();
                    let due = if facts.receivables.is_empty() {
                        not_sent(account, ReminderKind::CreditLimit, recipient, level, None)
                    } else {
                        !receivables.is_empty()
                    };
                    if !due {
                        continue;
                    }
                    let message = format!(
                        "credit limit {}% used (warning at {}%)",
                        percent.normalize(),
                        warning.percent.normalize()
                    );
                    out.push(ReminderSent {
                        reminder: reminder_id(
                            ReminderKind::CreditLimit,
                            recipient,
                            level,
                            receivables.first(),
                            Some(account.version().0),
                        )?,
                        kind: ReminderKind::CreditLimit,
                        recipient,
                        level,
                        receivables,
                        message: match recipient {
                            Recipient::Customer => message.clone(),
                            Recipient::Manager => {
                                format!("customer {}: {message}", facts.customer)
                            }
                        },
                        explanation: Some(Explanation {
                            policy: policy.clone(),
                            rule: rule_id(format!("limit-warning:{level}"))?,
                            evaluated_at: now,
                            conditions: vec![ConditionTrace {
                                fact: "limit_usage_percent".into(),
                                comparison: Comparison::Ge,
                                threshold: FactValue::Decimal(warning.percent),
                                observed: usage.value.clone(),
                                holds: true,
                                sources: usage.sources.clone(),
                            }],
                            summary: format!(
                                "credit limit warning to {}: limit_usage_percent {percent} >= {} ({} v{})",
                                recipient_name(recipient),
                                warning.percent,
                                policy.id,
                                policy.version
                            ),
                        }),
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> ReminderSchedule {
        let step = |delay_days| FollowUpStep {
            delay_days,
            recipients: vec![Recipient::Customer],
        };
        ReminderSchedule {
            follow_up: vec![step(-5), step(-2), step(0), step(1), step(5)],
            ..ReminderSchedule::default()
        }
    }

    #[test]
    fn the_step_reached_today_is_due() {
        let s = schedule();
        let cases = [
            (-9, None),
            (-5, Some((ReminderKind::Advance, 0))),
            (-3, Some((ReminderKind::Advance, 0))),
            (-2, Some((ReminderKind::Advance, 1))),
            (-1, Some((ReminderKind::Advance, 1))),
            (0, Some((ReminderKind::DueToday, 0))),
            (1, Some((ReminderKind::Overdue, 1))),
            (4, Some((ReminderKind::Overdue, 1))),
            (5, Some((ReminderKind::Overdue, 2))),
            (40, Some((ReminderKind::Overdue, 2))),
        ];
        for (offset, expected) in cases {
            assert_eq!(
                s.step_at(offset).map(|(_, kind, level)| (kind, level)),
                expected,
                "offset {offset}"
            );
        }
        // Without overdue steps, an advance step is never sent after due.
        let only_advance = ReminderSchedule {
            follow_up: vec![schedule().follow_up[1].clone()],
            ..ReminderSchedule::default()
        };
        assert_eq!(only_advance.step_at(3).map(|(_, k, l)| (k, l)), None);
    }

    #[test]
    fn offsets_count_business_or_calendar_days() {
        let calendar = BusinessCalendar::default();
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let business = schedule();
        let calendar_days = ReminderSchedule {
            days: DayKind::Calendar,
            ..schedule()
        };
        // Due Wednesday 11 Nov.
        assert_eq!(business.offset(&calendar, d(11), d(9)), -2);
        assert_eq!(business.offset(&calendar, d(11), d(11)), 0);
        assert_eq!(business.offset(&calendar, d(11), d(16)), 3);
        assert_eq!(calendar_days.offset(&calendar, d(11), d(16)), 5);
        // Due Friday 13: Saturday is still "due today" in business days.
        assert_eq!(business.offset(&calendar, d(13), d(14)), 0);
    }

    #[test]
    fn validation_names_the_place() {
        let mut s = schedule();
        s.follow_up[2].recipients.clear();
        assert_eq!(
            s.validate("reminders").unwrap_err().to_string(),
            "reminders.follow_up[2].recipients: at least one recipient is needed"
        );
        let mut s = schedule();
        s.change_notices = vec![Recipient::Manager, Recipient::Manager];
        assert_eq!(
            s.validate("reminders").unwrap_err().to_string(),
            "reminders.change_notices[1]: duplicate recipient"
        );
    }
}
