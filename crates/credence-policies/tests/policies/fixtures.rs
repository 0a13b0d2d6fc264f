//! Builders for commands, and a timeline that runs commands and policy
//! decision points against one customer's stream.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use credence_aggregates::testing::{Scenario, given};
use credence_aggregates::{
    CheckDeadlines, Command, CustomerAccount, PlaceOrder, ReceivePayment, RecordDelivery,
    RegisterCustomer, RequestedLine,
};
use credence_events::{
    BusinessCalendar, CustomerId, Deferral, DeliveryId, DeliveryLine, Event, EventEnvelope, ItemId,
    ManagerId, PaymentId, PaymentMethod, Quantity, Terms, Urgency,
};
use credence_policies::{Evaluation, OrderDecision, Policy, decide_order, evaluate_customer};

pub use credence_testkit::fixtures::{at, at_hour as at_h, date, eur, money, order_id, rate, rid};

pub fn customer() -> CustomerId {
    CustomerId::new("ACME").unwrap()
}

pub fn terms(deferral: Deferral, discount: &str, limit: &str) -> Terms {
    credence_testkit::fixtures::terms(limit, deferral, discount)
}

pub fn register_with(terms: Terms) -> RegisterCustomer {
    RegisterCustomer {
        customer: customer(),
        name: "Acme Printing".into(),
        manager: ManagerId::new("olena").unwrap(),
        currency: eur(),
        tags: BTreeSet::from(["wholesale".to_string()]),
        terms,
    }
}

/// The cartridge customer: 3 business days' deferral, 5 % discount, limit
/// 1000 EUR.
pub fn cartridge_customer() -> RegisterCustomer {
    register_with(terms(Deferral::business(3), "5", "1000"))
}

pub fn place(order: &str, lines: &[(&str, u32, &str)], urgency: Urgency) -> PlaceOrder {
    PlaceOrder {
        customer: customer(),
        order: order_id(order),
        lines: lines
            .iter()
            .map(|(i, q, p)| RequestedLine {
                item: ItemId::new(*i).unwrap(),
                quantity: Quantity::units(*q).unwrap(),
                unit_price: money(p),
            })
            .collect(),
        requested_delivery: at(2026, 11, 6),
        urgency,
    }
}

/// Delivers everything of `order` (given as its lines); the receivable has
/// the delivery's id.
pub fn deliver(id: &str, order: &str, lines: &[(&str, u32)]) -> RecordDelivery {
    RecordDelivery {
        customer: customer(),
        delivery: DeliveryId::new(id).unwrap(),
        order: order_id(order),
        lines: lines
            .iter()
            .map(|(i, q)| DeliveryLine {
                item: ItemId::new(*i).unwrap(),
                quantity: Quantity::units(*q).unwrap(),
            })
            .collect(),
        receivable: None,
        occurred_at: None,
    }
}

pub fn pay(id: &str, amount: &str) -> ReceivePayment {
    ReceivePayment {
        customer: customer(),
        payment: PaymentId::new(id).unwrap(),
        amount: money(amount),
        method: PaymentMethod::BankTransfer,
        allocations: Vec::new(),
        payment_order: None,
        occurred_at: None,
    }
}

pub fn check_deadlines() -> CheckDeadlines {
    CheckDeadlines {
        customer: customer(),
    }
}

/// One customer's stream driven through commands and the policy.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub scenario: Scenario,
    pub policy: Policy,
    pub calendar: BusinessCalendar,
    now: DateTime<Utc>,
}

impl Timeline {
    pub fn new(policy: Policy) -> Self {
        Self {
            scenario: given([]),
            policy,
            calendar: BusinessCalendar::default(),
            now: DateTime::UNIX_EPOCH,
        }
    }

    pub fn with_calendar(mut self, calendar: BusinessCalendar) -> Self {
        self.scenario = self.scenario.with_calendar(calendar.clone());
        self.calendar = calendar;
        self
    }

    pub fn default_policy() -> Self {
        Self::new(Policy::default_policy())
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self.scenario = self.scenario.at(now);
        self
    }

    /// Runs a command; panics on rejection (a broken test setup).
    #[track_caller]
    pub fn run(mut self, command: impl Into<Command>) -> Self {
        self.scenario = self.scenario.and_then(command);
        self
    }

    /// Places an order and records the policy's credit decision with it.
    #[track_caller]
    pub fn place(self, command: impl Into<Command>) -> (Self, OrderDecision) {
        let command = command.into();
        let Command::PlaceOrder(place) = &command else {
            panic!("not an order");
        };
        let order = place.order.clone();
        let (_, scenario) = self.scenario.clone().when(command).events();
        let decision = decide_order(
            &self.policy,
            &scenario.state(),
            &order,
            self.now,
            &self.calendar,
        )
        .expect("order decision");
        let scenario = scenario.and([Event::from(decision.event.clone())]);
        (Self { scenario, ..self }, decision)
    }

    /// Evaluates the customer and appends what it records.
    #[track_caller]
    pub fn evaluate(self) -> (Self, Evaluation) {
        let evaluation = evaluate_customer(&self.policy, &self.state(), self.now, &self.calendar)
            .expect("evaluation");
        let scenario = self.scenario.clone().and(evaluation.events.clone());
        (Self { scenario, ..self }, evaluation)
    }

    /// Decides again on held orders and appends the releases.
    #[track_caller]
    pub fn release(self) -> (Self, Vec<OrderDecision>) {
        let released = credence_policies::release_held_orders(
            &self.policy,
            &self.state(),
            self.now,
            &self.calendar,
        )
        .expect("release");
        let scenario = self
            .scenario
            .clone()
            .and(released.iter().map(|d| Event::from(d.event.clone())));
        (Self { scenario, ..self }, released)
    }

    pub fn state(&self) -> CustomerAccount {
        self.scenario.state()
    }

    pub fn history(&self) -> &[EventEnvelope] {
        self.scenario.history()
    }
}

/// One line per event, for readable expectations.
pub fn describe(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::CreditDecided(d) => format!(
                "credit {} {:?} {} {} discount {:?} by {}",
                d.decision, d.verdict, d.fulfilment, d.priority, d.discount, d.explanation.rule
            ),
            Event::FulfilmentModeChanged(c) => {
                format!(
                    "fulfilment {} -> {} by {}",
                    c.from, c.to, c.explanation.rule
                )
            }
            Event::PriorityChanged(c) => {
                format!("priority {} -> {} by {}", c.from, c.to, c.explanation.rule)
            }
            Event::PriceAdjustmentChanged(c) => format!(
                "{:?} {} -> {} by {}",
                c.adjustment, c.from, c.to, c.explanation.rule
            ),
            Event::ReminderSent(r) => format!(
                "reminder {:?} to {:?} level {} {:?}: {}",
                r.kind,
                r.recipient,
                r.level,
                r.receivables.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                r.message
            ),
            other => other.type_name().to_owned(),
        })
        .collect()
}

#[track_caller]
pub fn assert_lines(actual: Vec<String>, expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(actual, expected, "\nactual:\n{}\n", actual.join("\n"));
}

/// The id of the `n`th event of type `type_name` in the timeline's history.
#[track_caller]
pub fn event_id_of(t: &Timeline, type_name: &str, n: usize) -> credence_events::EventId {
    t.history()
        .iter()
        .filter(|e| e.event.type_name() == type_name)
        .nth(n)
        .unwrap_or_else(|| panic!("no {type_name} #{n}"))
        .id
}

/// `command` for customer `id` instead of ACME.
pub fn for_customer(command: impl Into<Command>, id: &str) -> Command {
    let id = CustomerId::new(id).unwrap();
    let mut command = command.into();
    match &mut command {
        Command::RegisterCustomer(c) => c.customer = id,
        Command::PlaceOrder(c) => c.customer = id,
        Command::RecordDelivery(c) => c.customer = id,
        Command::ReceivePayment(c) => c.customer = id,
        Command::CheckDeadlines(c) => c.customer = id,
        other => panic!("for_customer does not handle {}", other.name()),
    }
    command
}
