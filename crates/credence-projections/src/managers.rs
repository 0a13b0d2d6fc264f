//! The manager worklist: per manager, the overdue customers, the overdue
//! receivables without a delay explanation, the promised dates coming up
//! and the broken promises.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use credence_aggregates::PromiseStatus;
use credence_events::{CustomerId, ManagerId, Money, PromiseId, ReasonCode, ReceivableId};
use serde::{Deserialize, Serialize};

use crate::read_models::Projections;

/// What one manager has to chase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerWorklist {
    /// Customers with overdue debt, longest overdue first.
    pub overdue_customers: Vec<OverdueCustomer>,
    /// Overdue receivables with no delay explanation, oldest due first.
    pub missing_explanations: Vec<MissingExplanation>,
    /// Promised payment dates from today to the horizon, earliest first.
    pub promised_dates: Vec<PromisedDate>,
    /// Promises broken, or pending with their date passed, earliest first.
    pub broken_promises: Vec<BrokenPromise>,
}

impl ManagerWorklist {
    fn is_empty(&self) -> bool {
        self.overdue_customers.is_empty()
            && self.missing_explanations.is_empty()
            && self.promised_dates.is_empty()
            && self.broken_promises.is_empty()
    }
}

/// A customer with overdue debt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueCustomer {
    /// The customer.
    pub customer: CustomerId,
    /// Its overdue debt.
    pub overdue_debt: Money,
    /// Days past due of its oldest overdue receivable.
    pub max_days_past_due: u32,
    /// Overdue receivables.
    pub overdue_receivables: u32,
}

/// An overdue receivable the manager has not explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingExplanation {
    /// The customer.
    pub customer: CustomerId,
    /// The receivable.
    pub receivable: ReceivableId,
    /// Its due date.
    pub due_date: NaiveDate,
    /// Days past due.
    pub days_past_due: u32,
    /// What is still owed.
    pub open: Money,
}

/// Where a promised date comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PromiseSource {
    /// A recorded promise to pay.
    Promise {
        /// The promise.
        promise: PromiseId,
        /// The amount promised.
        amount: Money,
    },
    /// A delay explanation's promised date for an open receivable.
    Explanation {
        /// The receivable.
        receivable: ReceivableId,
        /// The reason given.
        reason: ReasonCode,
    },
}

/// A promised payment date coming up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromisedDate {
    /// The customer.
    pub customer: CustomerId,
    /// The date.
    pub date: NaiveDate,
    /// What promised it.
    pub source: PromiseSource,
}

/// A promise that was broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenPromise {
    /// The customer.
    pub customer: CustomerId,
    /// The promise.
    pub promise: PromiseId,
    /// The date promised.
    pub promised_date: NaiveDate,
    /// The amount promised.
    pub amount: Money,
    /// What arrived.
    pub paid: Money,
    /// True when the stream records it broken; false when its date passed
    /// and nobody has recorded it yet.
    pub recorded: bool,
}

impl Projections {
    /// Every manager's worklist at business time `now`; managers with
    /// nothing to do are left out.
    pub fn manager_worklist(&self, now: DateTime<Utc>) -> BTreeMap<ManagerId, ManagerWorklist> {
        let today = self.config.calendar.local_date(now);
        let horizon = today
            .checked_add_days(Days::new(self.config.promise_horizon_days.into()))
            .unwrap_or(NaiveDate::MAX);
        let mut lists: BTreeMap<ManagerId, ManagerWorklist> = BTreeMap::new();
        for entry in self.customers.values() {
            let account = &entry.account;
            let Some(profile) = account.profile() else {
                continue;
            };
            let money = |amount| Money::rounded(amount, profile.currency);
            let list = lists.entry(profile.manager.clone()).or_default();
            let customer = &profile.customer;

            let mut overdue = Vec::new();
            for r in account.open_receivables() {
                let days = r.days_past_due(today);
                if days > 0 {
                    overdue.push((r, u32::try_from(days).unwrap_or(u32::MAX)));
                }
                match &r.explanation {
                    None if days > 0 => list.missing_explanations.push(MissingExplanation {
                        customer: customer.clone(),
                        receivable: r.id.clone(),
                        due_date: r.due_date,
                        days_past_due: u32::try_from(days).unwrap_or(u32::MAX),
                        open: money(r.open),
                    }),
                    Some(e) => {
                        if let Some(date) = e.promised_date.filter(|d| *d >= today && *d <= horizon)
                        {
                            list.promised_dates.push(PromisedDate {
                                customer: customer.clone(),
                                date,
                                source: PromiseSource::Explanation {
                                    receivable: r.id.clone(),
                                    reason: e.reason.clone(),
                                },
                            });
                        }
                    }
                    None => {}
                }
            }
            if let Some((_, max_days)) = overdue.first() {
                list.overdue_customers.push(OverdueCustomer {
                    customer: customer.clone(),
                    overdue_debt: account.overdue_debt(today),
                    max_days_past_due: *max_days,
                    overdue_receivables: u32::try_from(overdue.len()).unwrap_or(u32::MAX),
                });
            }
            for promise in account.promises().values() {
                match promise.status {
                    PromiseStatus::Pending if promise.promised_date < today => {
                        list.broken_promises
                            .push(broken(customer, promise, false, &money));
                    }
                    PromiseStatus::Pending if promise.promised_date <= horizon => {
                        list.promised_dates.push(PromisedDate {
                            customer: customer.clone(),
                            date: promise.promised_date,
                            source: PromiseSource::Promise {
                                promise: promise.id.clone(),
                                amount: money(promise.amount),
                            },
                        });
                    }
                    PromiseStatus::Broken => {
                        list.broken_promises
                            .push(broken(customer, promise, true, &money));
                    }
                    _ => {}
                }
            }
        }
        lists.retain(|_, list| !list.is_empty());
        for list in lists.values_mut() {
            list.overdue_customers.sort_by(|a, b| {
                b.max_days_past_due
                    .cmp(&a.max_days_past_due)
                    .then_with(|| a.customer.cmp(&b.customer))
            });
            list.missing_explanations.sort_by(|a, b| {
                (a.due_date, &a.customer, &a.receivable).cmp(&(
                    b.due_date,
                    &b.customer,
                    &b.receivable,
                ))
            });
            list.promised_dates
                .sort_by(|a, b| (a.date, &a.customer).cmp(&(b.date, &b.customer)));
            list.broken_promises.sort_by(|a, b| {
                (a.promised_date, &a.customer, &a.promise).cmp(&(
                    b.promised_date,
                    &b.customer,
                    &b.promise,
                ))
            });
        }
        lists
    }
}

fn broken(
    customer: &CustomerId,
    promise: &credence_aggregates::Promise,
    recorded: bool,
    money: &impl Fn(rust_decimal::Decimal) -> Money,
) -> BrokenPromise {
    BrokenPromise {
        customer: customer.clone(),
        promise: promise.id.clone(),
        promised_date: promise.promised_date,
        amount: money(promise.amount),
        paid: money(promise.paid),
        recorded,
    }
}
