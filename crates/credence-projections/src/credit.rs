//! Customer credit state: debt, overdue, aging, exposure, limit headroom,
//! effective price adjustments, priority, fulfilment mode, credit hold and
//! pending payment orders of one customer at a business time.

use chrono::{DateTime, NaiveDate, Utc};
use credence_aggregates::{CustomerAccount, OrderStatus};
use credence_events::{
    Currency, CustomerId, FulfilmentMode, ManagerId, Money, PaymentOrderId, Priority, Rate,
    StreamId, StreamVersion, Verdict,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aging::Aging;
use crate::config::ProjectionConfig;
use crate::read_models::Projections;

/// One customer's credit position at a business time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerCreditState {
    /// The customer.
    pub customer: CustomerId,
    /// Its name.
    pub name: String,
    /// The responsible manager.
    pub manager: ManagerId,
    /// The currency of every amount below.
    pub currency: Currency,
    /// The supplier's local date the state was computed for.
    pub today: NaiveDate,
    /// The stream version the state reflects.
    pub version: StreamVersion,
    /// Sum of open receivables.
    pub debt: Money,
    /// The part of the debt past its due date.
    pub overdue_debt: Money,
    /// Days past due of the oldest overdue receivable (0 when none).
    pub max_days_past_due: u32,
    /// Overdue debt by days past due.
    pub aging: Aging,
    /// Accepted orders not yet delivered (after discount).
    pub undelivered: Money,
    /// Debt plus undelivered orders.
    pub exposure: Money,
    /// The credit limit of the terms.
    pub credit_limit: Money,
    /// Credit limit minus exposure; negative when over the limit.
    pub headroom: Money,
    /// Unused credit balance from overpayments.
    pub credit_balance: Money,
    /// Effective discount (the terms' base discount until a decision).
    pub discount: Rate,
    /// Effective markup.
    pub markup: Rate,
    /// Effective bonus.
    pub bonus: Rate,
    /// Service priority (1 is served first).
    pub priority: Priority,
    /// Fulfilment mode for new orders.
    pub fulfilment: FulfilmentMode,
    /// Why the customer is on credit hold; empty when it is not.
    pub hold: Vec<HoldReason>,
    /// Payment orders whose money has not arrived, oldest expectation first.
    pub pending_payment_orders: Vec<PendingPaymentOrder>,
}

impl CustomerCreditState {
    /// True when anything holds the customer's credit.
    pub fn on_hold(&self) -> bool {
        !self.hold.is_empty()
    }

    /// The state of `account` at business time `now`; `None` before the
    /// customer is registered. Counting held orders walks the account's
    /// open orders only.
    pub fn of(
        account: &CustomerAccount,
        now: DateTime<Utc>,
        config: &ProjectionConfig,
    ) -> Option<Self> {
        let profile = account.profile()?;
        let currency = profile.currency;
        let money = |amount: Decimal| Money::rounded(amount, currency);
        let today = config.calendar.local_date(now);
        let terms = &profile.terms;
        let standing = account.standing();
        let aging = config.aging.age(account, today);
        let max_days_past_due = account
            .open_receivables()
            .next()
            .map(|r| r.days_past_due(today))
            .filter(|days| *days > 0)
            .map_or(0, |days| u32::try_from(days).unwrap_or(u32::MAX));
        let exposure = account.exposure();
        let limit = terms.credit_limit.amount();
        let headroom = limit.saturating_sub(exposure.amount());
        let fulfilment = standing.map_or(FulfilmentMode::Full, |s| s.fulfilment);

        let mut hold = Vec::new();
        if headroom < Decimal::ZERO {
            hold.push(HoldReason::OverCreditLimit {
                exposure: exposure.amount(),
                limit,
            });
        }
        if matches!(
            fulfilment,
            FulfilmentMode::Deferred | FulfilmentMode::Refused
        ) {
            hold.push(HoldReason::FulfilmentMode(fulfilment));
        }
        let held_orders = account
            .open_orders()
            .filter(|o| {
                o.status == OrderStatus::Open
                    && matches!(o.verdict, Some(Verdict::Hold | Verdict::Refuse))
            })
            .count();
        if held_orders > 0 {
            hold.push(HoldReason::OrdersHeld(held_orders as u64));
        }

        let mut pending_payment_orders: Vec<PendingPaymentOrder> = account
            .pending_payment_orders()
            .map(|po| PendingPaymentOrder {
                id: po.id.clone(),
                amount: money(po.amount),
                issued_on: po.issued_on,
                expected_by: po.expected_by,
                late: po.expected_by < today,
            })
            .collect();
        pending_payment_orders.sort_by(|a, b| (a.expected_by, &a.id).cmp(&(b.expected_by, &b.id)));

        Some(Self {
            customer: profile.customer.clone(),
            name: profile.name.clone(),
            manager: profile.manager.clone(),
            currency,
            today,
            version: account.version(),
            debt: account.debt(),
            overdue_debt: account.overdue_debt(today),
            max_days_past_due,
            aging,
            undelivered: account.undelivered_value(),
            exposure,
            credit_limit: terms.credit_limit,
            headroom: money(headroom),
            credit_balance: account.credit_balance(),
            discount: standing.map_or(terms.base_discount, |s| s.discount),
            markup: standing.map_or(terms.markup, |s| s.markup),
            bonus: standing.map_or(terms.bonus, |s| s.bonus),
            priority: standing.map_or(Priority::NORMAL, |s| s.priority),
            fulfilment,
            hold,
            pending_payment_orders,
        })
    }
}

/// Why a customer's credit is on hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HoldReason {
    /// Exposure is above the credit limit.
    OverCreditLimit {
        /// Debt plus undelivered orders.
        exposure: Decimal,
        /// The limit.
        limit: Decimal,
    },
    /// A decision put new orders in a mode that waits or refuses.
    FulfilmentMode(FulfilmentMode),
    /// This many open orders were held or refused by a credit decision.
    OrdersHeld(u64),
}

/// A payment order whose money has not arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPaymentOrder {
    /// The payment order.
    pub id: PaymentOrderId,
    /// Its amount.
    pub amount: Money,
    /// When the transfer was issued.
    pub issued_on: NaiveDate,
    /// When the money is expected.
    pub expected_by: NaiveDate,
    /// True when the expected date has passed.
    pub late: bool,
}

impl Projections {
    /// One customer's credit state at business time `now`, from the events
    /// applied so far; `None` for an unknown or unregistered customer.
    pub fn customer_state(
        &self,
        customer: &CustomerId,
        now: DateTime<Utc>,
    ) -> Option<CustomerCreditState> {
        let stream = StreamId::for_customer(customer);
        let account = &self.customers.get(&stream)?.account;
        CustomerCreditState::of(account, now, &self.config)
    }
}
