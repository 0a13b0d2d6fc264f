//! One-line human descriptions of events, shared by every timeline (the
//! CLI, the demo, the testkit's failure reports).

use crate::decision::Explanation;
use crate::event::Event;

impl Event {
    /// The explanation a policy recorded with this event: every decision
    /// event, and a reminder a policy decided. `None` for facts and for
    /// reminders sent by a person.
    pub fn explanation(&self) -> Option<&Explanation> {
        match self {
            Event::CreditDecided(e) => Some(&e.explanation),
            Event::PriorityChanged(e) => Some(&e.explanation),
            Event::FulfilmentModeChanged(e) => Some(&e.explanation),
            Event::PriceAdjustmentChanged(e) => Some(&e.explanation),
            Event::ReminderSent(e) => e.explanation.as_ref(),
            _ => None,
        }
    }

    /// One line saying what the event records, for people:
    /// `"delivery D-1 of order O-1: receivable D-1 of 285.00 EUR due Wed 11 Nov"`.
    pub fn describe(&self) -> String {
        match self {
            Event::CustomerRegistered(e) => format!(
                "customer {} ({}) registered: manager {}, limit {}, deferral {} {:?} days, discount {}",
                e.customer,
                e.name,
                e.manager,
                e.terms.credit_limit,
                e.terms.deferral.days,
                e.terms.deferral.kind,
                e.terms.base_discount
            ),
            Event::TermsChanged(e) => format!(
                "terms changed: limit {}, deferral {} {:?} days, discount {}",
                e.terms.credit_limit,
                e.terms.deferral.days,
                e.terms.deferral.kind,
                e.terms.base_discount
            ),
            Event::ManagerAssigned(e) => format!("manager {} assigned", e.manager),
            Event::OrderPlaced(e) => format!(
                "order {} placed: {} ({:?})",
                e.order,
                e.lines
                    .iter()
                    .map(|l| format!("{} x {} at {}", l.quantity, l.item, l.unit_price))
                    .collect::<Vec<_>>()
                    .join(", "),
                e.urgency
            ),
            Event::OrderCancelled(e) => format!("order {} cancelled", e.order),
            Event::DeliveryRecorded(e) => format!(
                "delivery {} of order {}: receivable {} of {} due {}{}",
                e.delivery,
                e.order,
                e.receivable,
                e.amount,
                e.due_date.format("%a %d %b"),
                if e.credit_applied.is_empty() {
                    ""
                } else {
                    " (part paid from credit balance)"
                }
            ),
            Event::PaymentReceived(e) => format!(
                "payment {} of {} ({:?}) received {}: {}{}",
                e.payment,
                e.amount,
                e.method,
                e.received_on,
                e.allocations
                    .iter()
                    .map(|a| format!("{} to {}", a.amount, a.receivable))
                    .collect::<Vec<_>>()
                    .join(", "),
                if e.unallocated.is_zero() {
                    String::new()
                } else {
                    format!("; {} to credit balance", e.unallocated)
                }
            ),
            Event::PaymentOrderReceived(e) => format!(
                "payment order {} for {} received, money expected by {}",
                e.payment_order, e.amount, e.expected_by
            ),
            Event::PaymentOrderCleared(e) => format!(
                "payment order {} cleared by payment {}",
                e.payment_order, e.payment
            ),
            Event::PaymentOrderExpired(e) => format!(
                "payment order {} expired: the money never arrived",
                e.payment_order
            ),
            Event::PaymentReversed(e) => format!("payment {} reversed ({})", e.payment, e.reason),
            Event::ReminderSent(e) => format!(
                "reminder to {:?} ({:?}, level {}): {}",
                e.recipient, e.kind, e.level, e.message
            ),
            Event::DelayExplained(e) => format!(
                "delay explained by {}: {} ({}){}",
                e.manager,
                e.reason,
                e.text,
                e.promised_date
                    .map(|d| format!(", promised {d}"))
                    .unwrap_or_default()
            ),
            Event::PromiseToPayMade(e) => {
                format!("promise {}: {} by {}", e.promise, e.amount, e.promised_date)
            }
            Event::PromiseToPayKept(e) => {
                format!("promise {} kept (payment {})", e.promise, e.payment)
            }
            Event::PromiseToPayBroken(e) => {
                format!("promise {} broken ({} paid)", e.promise, e.paid)
            }
            Event::CreditDecided(e) => format!(
                "credit decision{}: {:?}, fulfilment {}, discount {:?}, priority {} - {}",
                e.order
                    .as_ref()
                    .map(|o| format!(" on order {o}"))
                    .unwrap_or_default(),
                e.verdict,
                e.fulfilment,
                e.discount,
                e.priority,
                e.explanation.summary
            ),
            Event::PriceAdjustmentChanged(e) => format!(
                "{:?} {} -> {} (rule {:?})",
                e.adjustment,
                e.from,
                e.to,
                e.explanation.rule.as_str()
            ),
            Event::PriorityChanged(e) => format!(
                "priority {} -> {} (rule {:?})",
                e.from,
                e.to,
                e.explanation.rule.as_str()
            ),
            Event::FulfilmentModeChanged(e) => format!(
                "fulfilment {} -> {} - {}",
                e.from, e.to, e.explanation.summary
            ),
        }
    }
}
