//! Configuration of the read models: calendar, aging buckets, what "without
//! debt" means for the service queue, the reminder schedule and the manager
//! worklist horizon.

use credence_events::{BusinessCalendar, DayKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aging::AgingBuckets;

/// Everything the read models need besides the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectionConfig {
    /// The supplier's calendar: local dates and business days.
    pub calendar: BusinessCalendar,
    /// Aging bucket edges.
    pub aging: AgingBuckets,
    /// Which customers count as "without debt" in the service queue.
    pub no_debt: NoDebtTest,
    /// When reminders fall due.
    pub reminders: ReminderSchedule,
    /// The manager worklist lists promised dates up to this many calendar
    /// days ahead.
    pub promise_horizon_days: u32,
}

impl Default for ProjectionConfig {
    /// UTC calendar with weekends off, default buckets, overdue debt as
    /// "debt", the default reminder schedule and a 7-day promise horizon.
    fn default() -> Self {
        Self {
            calendar: BusinessCalendar::default(),
            aging: AgingBuckets::default(),
            no_debt: NoDebtTest::NoOverdueDebt,
            reminders: ReminderSchedule::default(),
            promise_horizon_days: 7,
        }
    }
}

/// What "a customer without debt" means when the service queue serves such
/// customers first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoDebtTest {
    /// Nothing past its due date (the default): receivables still within
    /// their deferral are trade credit the contract grants, not debt the
    /// customer is late with.
    NoOverdueDebt,
    /// Nothing owed at all.
    NothingOwed,
}

/// When reminders fall due, counted from receivables' due dates.
///
/// Every reminder has a [`ReminderKey`](credence_aggregates::ReminderKey)
/// (kind, recipient, level, receivable); one that was recorded as sent
/// (`ReminderSent`) is never due again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderSchedule {
    /// Whether `advance_days`, `overdue_levels` and `service_warning_after`
    /// count calendar or business days.
    pub days: DayKind,
    /// An advance reminder to the customer this many days before the due
    /// date (and up to the day before it); `None`: no advance reminders.
    pub advance_days: Option<u32>,
    /// A reminder to the customer on the due date.
    pub on_due: bool,
    /// Days past due at which overdue levels 1, 2, … fall due (strictly
    /// increasing). Only the highest level reached is due: a level that was
    /// skipped (the receivable jumped past it) is not sent late.
    pub overdue_levels: Vec<u32>,
    /// From this overdue level on, the manager gets the overdue notice too.
    pub manager_from_level: u8,
    /// Days past due from which a service warning (next order refused or
    /// served residually) goes to the customer; `None`: never.
    pub service_warning_after: Option<u32>,
    /// Percent of the credit limit used by exposure from which a credit-limit
    /// reminder is due (level 0: nearly used; level 1: exceeded); `None`:
    /// never.
    pub credit_limit_percent: Option<Decimal>,
    /// Tell the customer when a decision changed its discount, markup, bonus
    /// or priority.
    pub change_notices: bool,
    /// Tell the manager when a payment order's money is late.
    pub payment_order_overdue: bool,
    /// Tell the manager when a promise to pay was broken.
    pub broken_promises: bool,
}

impl Default for ReminderSchedule {
    /// Business days; advance 3 days before due, on the due date, overdue
    /// levels at 1, 8 and 31 days past due with the manager told from level
    /// 1, a service warning from 1 day past due, credit limit at 90 %, and
    /// every notice on.
    fn default() -> Self {
        Self {
            days: DayKind::Business,
            advance_days: Some(3),
            on_due: true,
            overdue_levels: vec![1, 8, 31],
            manager_from_level: 1,
            service_warning_after: Some(1),
            credit_limit_percent: Some(Decimal::from(90)),
            change_notices: true,
            payment_order_overdue: true,
            broken_promises: true,
        }
    }
}
