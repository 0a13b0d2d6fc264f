//! Command handling: `decide(state, command, now, calendar) -> events | rejection`.
//!
//! Pure and deterministic: the same state, command, `now` and calendar always
//! give the same events. A rejection produces no events. The events carry
//! everything computed here (due dates, allocations, amounts after discount),
//! so applying them needs nothing else.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use credence_events::{
    Allocation, BusinessCalendar, CreditApplication, CustomerRegistered, DelayExplained,
    DeliveryRecorded, Event, ManagerAssigned, Money, OrderCancelled, OrderLine, OrderPlaced,
    PaymentOrderCleared, PaymentOrderExpired, PaymentOrderReceived, PaymentReceived,
    PaymentReversed, PromiseToPayBroken, PromiseToPayKept, PromiseToPayMade, ReceivableId,
    ReminderSent, Terms, TermsChanged,
};
use rust_decimal::Decimal;

use crate::account::{
    CustomerAccount, OrderStatus, PaymentOrderStatus, Profile, PromiseStatus, ReminderKey,
};
use crate::command::{
    CancelOrder, ChangeTerms, Command, ExplainDelay, PlaceOrder, PromiseToPay, ReceivePayment,
    ReceivePaymentOrder, RecordDelivery, RegisterCustomer, ReversePayment, SendReminder,
};
use crate::rejection::Rejection;

type Decided = Result<Vec<Event>, Rejection>;

/// Business time of one decision: `now`, the fact's own time and the calendar.
struct Ctx<'a> {
    occurred_at: DateTime<Utc>,
    calendar: &'a BusinessCalendar,
}

impl Ctx<'_> {
    fn today(&self) -> NaiveDate {
        self.calendar.local_date(self.occurred_at)
    }
}

impl CustomerAccount {
    /// Decides what `command` records, at business time `now`, with the
    /// supplier's `calendar`.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] when the command is invalid for this account; nothing
    /// is recorded then.
    pub fn decide(
        &self,
        command: &Command,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) -> Decided {
        if let Some(last) = self.last_recorded_at {
            if now < last {
                return Err(Rejection::TimeWentBackwards { last, now });
            }
        }
        let occurred_at = command.occurred_at(now);
        if occurred_at > now {
            return Err(Rejection::OccursInFuture { occurred_at, now });
        }
        let ctx = Ctx {
            occurred_at,
            calendar,
        };
        let profile = match (&self.profile, command) {
            (None, Command::RegisterCustomer(c)) => return self.register(c),
            (None, _) => return Err(Rejection::UnknownCustomer(command.customer().clone())),
            (Some(profile), _) => profile,
        };
        if &profile.customer != command.customer() {
            return Err(Rejection::WrongAccount {
                command: command.customer().clone(),
                account: profile.customer.clone(),
            });
        }
        match command {
            Command::RegisterCustomer(c) => self.register(c),
            Command::ChangeTerms(c) => self.change_terms(profile, c),
            Command::AssignManager(c) => Ok(if c.manager == profile.manager {
                Vec::new()
            } else {
                vec![
                    ManagerAssigned {
                        manager: c.manager.clone(),
                    }
                    .into(),
                ]
            }),
            Command::PlaceOrder(c) => self.place_order(profile, c),
            Command::CancelOrder(c) => self.cancel_order(c),
            Command::RecordDelivery(c) => self.record_delivery(profile, c, &ctx),
            Command::ReceivePayment(c) => self.receive_payment(profile, c, &ctx),
            Command::ReceivePaymentOrder(c) => self.receive_payment_order(profile, c, &ctx),
            Command::ReversePayment(c) => self.reverse_payment(profile, c),
            Command::ExplainDelay(c) => self.explain_delay(profile, c),
            Command::PromiseToPay(c) => self.promise_to_pay(profile, c, &ctx),
            Command::SendReminder(c) => self.send_reminder(c),
            Command::CheckDeadlines(_) => Ok(self.check_deadlines(profile, ctx.today())),
        }
    }

    fn register(&self, c: &RegisterCustomer) -> Decided {
        if self.profile.is_some() {
            return Err(Rejection::DuplicateCustomer(c.customer.clone()));
        }
        if c.name.trim().is_empty() {
            return Err(Rejection::Empty("name"));
        }
        validate_terms(&c.terms, c.currency)?;
        Ok(vec![
            CustomerRegistered {
                customer: c.customer.clone(),
                name: c.name.clone(),
                manager: c.manager.clone(),
                currency: c.currency,
                tags: c.tags.clone(),
                terms: c.terms.clone(),
            }
            .into(),
        ])
    }

    fn change_terms(&self, profile: &Profile, c: &ChangeTerms) -> Decided {
        validate_terms(&c.terms, profile.currency)?;
        if c.terms == profile.terms {
            return Ok(Vec::new());
        }
        Ok(vec![
            TermsChanged {
                terms: c.terms.clone(),
            }
            .into(),
        ])
    }

    fn place_order(&self, profile: &Profile, c: &PlaceOrder) -> Decided {
        if self.has_order(&c.order) {
            return Err(duplicate("order", &c.order));
        }
        if c.lines.is_empty() {
            return Err(Rejection::Empty("order lines"));
        }
        let mut items = BTreeSet::new();
        let mut total = Money::zero(profile.currency);
        for line in &c.lines {
            if !items.insert(&line.item) {
                return Err(Rejection::DuplicateItem(line.item.clone()));
            }
            check_amount("unit_price", &line.unit_price, profile)?;
            total = total.checked_add(&line.unit_price.checked_mul(line.quantity.value())?)?;
        }
        Ok(vec![
            OrderPlaced {
                order: c.order.clone(),
                lines: c
                    .lines
                    .iter()
                    .map(|l| OrderLine {
                        item: l.item.clone(),
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                    })
                    .collect(),
                requested_delivery: c.requested_delivery,
                urgency: c.urgency,
                discount: profile.terms.base_discount,
            }
            .into(),
        ])
    }

    fn cancel_order(&self, c: &CancelOrder) -> Decided {
        let order = self
            .order(&c.order)
            .ok_or_else(|| Rejection::UnknownOrder(c.order.clone()))?;
        if order.status != OrderStatus::Open {
            return Err(Rejection::OrderClosed(c.order.clone()));
        }
        Ok(vec![
            OrderCancelled {
                order: c.order.clone(),
                reason: c.reason.clone(),
            }
            .into(),
        ])
    }

    fn record_delivery(&self, profile: &Profile, c: &RecordDelivery, ctx: &Ctx<'_>) -> Decided {
        if self.deliveries.contains(&c.delivery) {
            return Err(duplicate("delivery", &c.delivery));
        }
        let receivable = match &c.receivable {
            Some(r) => r.clone(),
            None => ReceivableId::new(c.delivery.as_str())
                .map_err(|_| Rejection::Empty("receivable"))?,
        };
        if self.has_receivable(&receivable) {
            return Err(duplicate("receivable", &receivable));
        }
        let order = self
            .order(&c.order)
            .ok_or_else(|| Rejection::UnknownOrder(c.order.clone()))?;
        if order.status != OrderStatus::Open {
            return Err(Rejection::OrderClosed(c.order.clone()));
        }
        if let Some(verdict @ (credence_events::Verdict::Hold | credence_events::Verdict::Refuse)) =
            order.verdict
        {
            return Err(Rejection::OrderNotReleased {
                order: c.order.clone(),
                verdict,
            });
        }
        if c.lines.is_empty() {
            return Err(Rejection::Empty("delivery lines"));
        }
        let mut items = BTreeSet::new();
        let mut delivered = Vec::with_capacity(c.lines.len());
        for line in &c.lines {
            if !items.insert(&line.item) {
                return Err(Rejection::DuplicateItem(line.item.clone()));
            }
            let ordered = order
                .line(&line.item)
                .ok_or_else(|| Rejection::ItemNotOrdered {
                    order: c.order.clone(),
                    item: line.item.clone(),
                })?;
            if line.quantity.value() > ordered.open_quantity() {
                return Err(Rejection::OverDelivery {
                    item: line.item.clone(),
                    open: ordered.open_quantity(),
                    requested: line.quantity,
                });
            }
            delivered.push((ordered, line.quantity.value()));
        }
        let units = profile.currency.minor_units();
        let amount = Money::new(order.value_of(delivered, units), profile.currency)?;
        let delivered_on = ctx.today();
        let due_date = ctx
            .calendar
            .due_date(delivered_on, profile.terms.deferral)
            .ok_or(Rejection::DateOutOfRange)?;
        // Credit balance from earlier overpayments pays the new receivable,
        // oldest credit first.
        let mut left = amount.amount();
        let mut credit_applied = Vec::new();
        for payment in &self.rare().credit_queue {
            if left <= Decimal::ZERO {
                break;
            }
            let Some(p) = self.payments.get(payment) else {
                continue;
            };
            let used = p.credit_left.min(left);
            if used > Decimal::ZERO {
                left -= used;
                credit_applied.push(CreditApplication {
                    payment: payment.clone(),
                    amount: Money::new(used, profile.currency)?,
                });
            }
        }
        Ok(vec![
            DeliveryRecorded {
                delivery: c.delivery.clone(),
                order: c.order.clone(),
                lines: c.lines.clone(),
                delivered_on,
                receivable,
                amount,
                due_date,
                credit_applied,
            }
            .into(),
        ])
    }

    fn receive_payment(&self, profile: &Profile, c: &ReceivePayment, ctx: &Ctx<'_>) -> Decided {
        if self.has_payment(&c.payment) {
            return Err(duplicate("payment", &c.payment));
        }
        check_amount("amount", &c.amount, profile)?;
        let received_on = ctx.today();
        let currency = profile.currency;
        let mut events = Vec::new();
        if let Some(po) = &c.payment_order {
            let order = self
                .rare()
                .payment_orders
                .get(po)
                .ok_or_else(|| Rejection::UnknownPaymentOrder(po.clone()))?;
            if order.status != PaymentOrderStatus::Pending {
                return Err(Rejection::PaymentOrderNotPending(po.clone()));
            }
        }

        // Named allocations first, each checked.
        let mut remaining = c.amount.amount();
        let mut allocated: BTreeMap<&ReceivableId, Decimal> = BTreeMap::new();
        let mut allocations = Vec::new();
        for a in &c.allocations {
            check_amount("allocation amount", &a.amount, profile)?;
            let r = self
                .receivable(&a.receivable)
                .ok_or_else(|| Rejection::ForeignReceivable(a.receivable.clone()))?;
            if !r.is_open() {
                return Err(Rejection::ReceivableClosed(a.receivable.clone()));
            }
            if r.issued_on > received_on {
                return Err(Rejection::ReceivableNotYetIssued {
                    receivable: a.receivable.clone(),
                    received_on,
                });
            }
            if allocated.contains_key(&a.receivable) {
                return Err(duplicate("allocation to receivable", &a.receivable));
            }
            if a.amount.amount() > r.open {
                return Err(Rejection::OverAllocation(format!(
                    "{} allocated to receivable {} which has {} open",
                    a.amount,
                    a.receivable,
                    Money::rounded(r.open, currency)
                )));
            }
            if a.amount.amount() > remaining {
                return Err(Rejection::OverAllocation(format!(
                    "allocations exceed the payment of {}",
                    c.amount
                )));
            }
            remaining -= a.amount.amount();
            allocated.insert(&a.receivable, a.amount.amount());
            allocations.push(a.clone());
        }
        // The rest goes to the oldest due date first.
        for r in self.open_receivables() {
            if remaining <= Decimal::ZERO {
                break;
            }
            if allocated.contains_key(&r.id) || r.issued_on > received_on {
                continue;
            }
            let amount = r.open.min(remaining);
            remaining -= amount;
            allocations.push(Allocation {
                receivable: r.id.clone(),
                amount: Money::new(amount, currency)?,
            });
        }
        // Promises: a pending promise whose date passed before this money is
        // broken; one whose amount is now reached is kept.
        for promise in self.rare().promises.values() {
            if promise.status != PromiseStatus::Pending {
                continue;
            }
            if promise.promised_date < received_on {
                events.push(
                    PromiseToPayBroken {
                        promise: promise.id.clone(),
                        paid: Money::new(promise.paid, currency)?,
                    }
                    .into(),
                );
            } else if promise.paid.saturating_add(c.amount.amount()) >= promise.amount {
                events.push(
                    PromiseToPayKept {
                        promise: promise.id.clone(),
                        payment: c.payment.clone(),
                    }
                    .into(),
                );
            }
        }
        // The payment goes first so that "kept" follows the money it counts.
        events.insert(
            0,
            PaymentReceived {
                payment: c.payment.clone(),
                amount: c.amount,
                method: c.method,
                received_on,
                allocations,
                unallocated: Money::new(remaining, currency)?,
            }
            .into(),
        );
        if let Some(po) = &c.payment_order {
            events.push(
                PaymentOrderCleared {
                    payment_order: po.clone(),
                    payment: c.payment.clone(),
                }
                .into(),
            );
        }
        Ok(events)
    }

    fn receive_payment_order(
        &self,
        profile: &Profile,
        c: &ReceivePaymentOrder,
        ctx: &Ctx<'_>,
    ) -> Decided {
        if self.rare().payment_orders.contains_key(&c.payment_order) {
            return Err(duplicate("payment order", &c.payment_order));
        }
        check_amount("amount", &c.amount, profile)?;
        let issued_on = ctx.today();
        not_before("expected_by", c.expected_by, issued_on)?;
        self.check_open_receivables(&c.receivables)?;
        Ok(vec![
            PaymentOrderReceived {
                payment_order: c.payment_order.clone(),
                amount: c.amount,
                issued_on,
                expected_by: c.expected_by,
                receivables: c.receivables.clone(),
            }
            .into(),
        ])
    }

    fn reverse_payment(&self, profile: &Profile, c: &ReversePayment) -> Decided {
        let payment = self
            .payment(&c.payment)
            .ok_or_else(|| Rejection::UnknownPayment(c.payment.clone()))?;
        if payment.reversed {
            return Err(Rejection::PaymentAlreadyReversed(c.payment.clone()));
        }
        if c.reason.trim().is_empty() {
            return Err(Rejection::Empty("reason"));
        }
        // Merge what the payment paid on each receivable, first-paid order.
        let mut reopened: Vec<(ReceivableId, Decimal)> = Vec::new();
        for (receivable, amount) in &payment.allocations {
            match reopened.iter_mut().find(|(r, _)| r == receivable) {
                Some((_, total)) => *total += *amount,
                None => reopened.push((receivable.clone(), *amount)),
            }
        }
        let reopened = reopened
            .into_iter()
            .filter(|(_, amount)| *amount > Decimal::ZERO)
            .map(|(receivable, amount)| {
                Ok(Allocation {
                    receivable,
                    amount: Money::new(amount, profile.currency)?,
                })
            })
            .collect::<Result<Vec<_>, Rejection>>()?;
        Ok(vec![
            PaymentReversed {
                payment: c.payment.clone(),
                reason: c.reason.clone(),
                reopened,
                credit_removed: Money::new(payment.credit_left, profile.currency)?,
            }
            .into(),
        ])
    }

    fn explain_delay(&self, profile: &Profile, c: &ExplainDelay) -> Decided {
        if c.receivables.is_empty() {
            return Err(Rejection::Empty("receivables"));
        }
        if c.text.trim().is_empty() {
            return Err(Rejection::Empty("text"));
        }
        self.check_open_receivables(&c.receivables)?;
        Ok(vec![
            DelayExplained {
                receivables: c.receivables.clone(),
                manager: c.manager.clone().unwrap_or_else(|| profile.manager.clone()),
                reason: c.reason.clone(),
                text: c.text.clone(),
                promised_date: c.promised_date,
            }
            .into(),
        ])
    }

    fn promise_to_pay(&self, profile: &Profile, c: &PromiseToPay, ctx: &Ctx<'_>) -> Decided {
        if self.rare().promises.contains_key(&c.promise) {
            return Err(duplicate("promise", &c.promise));
        }
        check_amount("amount", &c.amount, profile)?;
        not_before("promised_date", c.promised_date, ctx.today())?;
        self.check_open_receivables(&c.receivables)?;
        Ok(vec![
            PromiseToPayMade {
                promise: c.promise.clone(),
                amount: c.amount,
                promised_date: c.promised_date,
                receivables: c.receivables.clone(),
            }
            .into(),
        ])
    }

    fn send_reminder(&self, c: &SendReminder) -> Decided {
        if self.rare().reminders.contains(&c.reminder) {
            return Err(duplicate("reminder", &c.reminder));
        }
        if c.message.trim().is_empty() {
            return Err(Rejection::Empty("message"));
        }
        for r in &c.receivables {
            if !self.has_receivable(r) {
                return Err(Rejection::ForeignReceivable(r.clone()));
            }
            let key = ReminderKey {
                kind: c.kind,
                recipient: c.recipient,
                level: c.level,
                receivable: Some(r.clone()),
            };
            if self.rare().reminder_keys.contains(&key) {
                return Err(Rejection::ReminderAlreadySent {
                    kind: format!("{:?}", c.kind),
                    level: c.level,
                    receivable: r.clone(),
                });
            }
        }
        Ok(vec![
            ReminderSent {
                reminder: c.reminder.clone(),
                kind: c.kind,
                recipient: c.recipient,
                level: c.level,
                receivables: c.receivables.clone(),
                message: c.message.clone(),
                explanation: None,
            }
            .into(),
        ])
    }

    fn check_deadlines(&self, profile: &Profile, today: NaiveDate) -> Vec<Event> {
        let mut events: Vec<Event> = self
            .pending_payment_orders()
            .filter(|po| po.expected_by < today)
            .map(|po| {
                PaymentOrderExpired {
                    payment_order: po.id.clone(),
                }
                .into()
            })
            .collect();
        events.extend(
            self.rare()
                .promises
                .values()
                .filter(|p| p.status == PromiseStatus::Pending && p.promised_date < today)
                .map(|p| {
                    PromiseToPayBroken {
                        promise: p.id.clone(),
                        paid: Money::rounded(p.paid, profile.currency),
                    }
                    .into()
                }),
        );
        events
    }

    fn check_open_receivables(&self, receivables: &[ReceivableId]) -> Result<(), Rejection> {
        let mut seen = BTreeSet::new();
        for id in receivables {
            if !seen.insert(id) {
                return Err(duplicate("receivable reference", id));
            }
            let r = self
                .receivable(id)
                .ok_or_else(|| Rejection::ForeignReceivable(id.clone()))?;
            if !r.is_open() {
                return Err(Rejection::ReceivableClosed(id.clone()));
            }
        }
        Ok(())
    }
}

fn not_before(field: &'static str, date: NaiveDate, earliest: NaiveDate) -> Result<(), Rejection> {
    if date < earliest {
        return Err(Rejection::DateTooEarly {
            field,
            date,
            earliest,
        });
    }
    Ok(())
}

fn duplicate(kind: &'static str, id: &impl std::fmt::Display) -> Rejection {
    Rejection::DuplicateId {
        kind,
        id: id.to_string(),
    }
}

fn check_amount(field: &'static str, amount: &Money, profile: &Profile) -> Result<(), Rejection> {
    if amount.currency() != profile.currency {
        return Err(Rejection::CurrencyMismatch {
            field,
            expected: profile.currency,
            found: amount.currency(),
        });
    }
    if !amount.is_positive() {
        return Err(Rejection::NotPositive {
            field,
            amount: *amount,
        });
    }
    Ok(())
}

fn validate_terms(terms: &Terms, currency: credence_events::Currency) -> Result<(), Rejection> {
    if terms.credit_limit.currency() != currency {
        return Err(Rejection::CurrencyMismatch {
            field: "credit_limit",
            expected: currency,
            found: terms.credit_limit.currency(),
        });
    }
    if terms.credit_limit.is_negative() {
        return Err(Rejection::InvalidTerms(format!(
            "credit limit {} is negative",
            terms.credit_limit
        )));
    }
    if terms.base_discount.as_percent() > Decimal::ONE_HUNDRED {
        return Err(Rejection::InvalidTerms(format!(
            "base discount {} is above 100%",
            terms.base_discount
        )));
    }
    Ok(())
}
