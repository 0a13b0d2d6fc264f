//! Histories: a plan interpreted into timed commands and the events they record.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use credence_aggregates::{
    CancelOrder, CheckDeadlines, Command, CustomerAccount, PaymentOrderStatus, PlaceOrder,
    PromiseToPay, ReceivePayment, ReceivePaymentOrder, RecordDelivery, RegisterCustomer, Rejection,
    RequestedLine, ReversePayment,
};
use credence_events::{
    Allocation, BusinessCalendar, CustomerId, Deferral, DeliveryId, DeliveryLine, Event,
    EventEnvelope, EventId, GlobalPosition, ItemId, ManagerId, Money, NewEvent, OrderId, PaymentId,
    PaymentMethod, PaymentOrderId, PromiseId, Quantity, Rate, ReceivableId, ServiceLevel, StreamId,
    StreamVersion, Terms, Urgency,
};
use rust_decimal::Decimal;

use crate::plan::{CustomerPlan, DeliveryPlan, PayerBehaviour, PlanConfig};

/// One command and the business time it was decided at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `now` for the command.
    pub at: DateTime<Utc>,
    /// The command.
    pub command: Command,
}

/// A customer's generated history: the commands and the events they recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The customer.
    pub customer: CustomerId,
    /// The calendar the commands were decided with.
    pub calendar: BusinessCalendar,
    /// The commands, in time order.
    pub steps: Vec<Step>,
    /// The events recorded, as stored envelopes of the customer's stream
    /// (global positions equal stream versions: one stream alone).
    pub events: Vec<EventEnvelope>,
}

/// A command of a generated history was rejected: a bug in the generator or
/// in the aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRejected {
    /// Index of the step.
    pub step: usize,
    /// The command.
    pub command: Box<Command>,
    /// Why.
    pub rejection: Rejection,
}

impl std::fmt::Display for StepRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} ({}) rejected: {}",
            self.step,
            self.command.name(),
            self.rejection
        )
    }
}

impl std::error::Error for StepRejected {}

impl History {
    /// The account folded from all events.
    pub fn account(&self) -> CustomerAccount {
        CustomerAccount::from_history(&self.events)
    }

    /// Runs the steps again through a fresh account and returns the events.
    ///
    /// # Errors
    ///
    /// [`StepRejected`] for the first rejected step.
    pub fn replay(&self) -> Result<Vec<EventEnvelope>, StepRejected> {
        let mut recorder = Recorder::new(self.customer.clone(), self.calendar.clone());
        for (index, step) in self.steps.iter().enumerate() {
            recorder
                .run(step.at, step.command.clone())
                .map_err(|rejection| StepRejected {
                    step: index,
                    command: Box::new(step.command.clone()),
                    rejection,
                })?;
        }
        Ok(recorder.events)
    }
}

/// Runs commands against an account, stamping the events like a store would.
#[derive(Debug)]
pub(crate) struct Recorder {
    customer: CustomerId,
    stream: StreamId,
    seed: u128,
    calendar: BusinessCalendar,
    account: CustomerAccount,
    steps: Vec<Step>,
    events: Vec<EventEnvelope>,
}

impl Recorder {
    pub(crate) fn new(customer: CustomerId, calendar: BusinessCalendar) -> Self {
        // Event ids: a stable hash of the customer in the high bits, the
        // stream version in the low bits.
        let seed = customer
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        Self {
            stream: StreamId::for_customer(&customer),
            customer,
            seed: u128::from(seed) << 64,
            calendar,
            account: CustomerAccount::new(),
            steps: Vec::new(),
            events: Vec::new(),
        }
    }

    pub(crate) fn run(&mut self, at: DateTime<Utc>, command: Command) -> Result<(), Rejection> {
        let events = self.account.decide(&command, at, &self.calendar)?;
        let occurred_at = command.occurred_at(at);
        for event in events {
            self.push(at, occurred_at, event);
        }
        self.steps.push(Step { at, command });
        Ok(())
    }

    fn push(&mut self, at: DateTime<Utc>, occurred_at: DateTime<Utc>, event: Event) {
        let version = StreamVersion(self.events.len() as u64 + 1);
        let mut new = NewEvent::new(
            EventId::from_u128(self.seed | u128::from(version.0)),
            at,
            event,
        );
        new.occurred_at = occurred_at;
        let envelope = new.into_envelope(self.stream.clone(), version, GlobalPosition(version.0));
        self.account.apply(&envelope);
        self.events.push(envelope);
    }

    pub(crate) fn into_history(self) -> History {
        History {
            customer: self.customer,
            calendar: self.calendar,
            steps: self.steps,
            events: self.events,
        }
    }
}

#[derive(Debug, Clone)]
enum Intent {
    Place(usize),
    Deliver {
        cycle: usize,
        percent: u8,
        part: u8,
    },
    Cancel(usize),
    Pay {
        receivable: ReceivableId,
        cycle: usize,
        payment_order: Option<PaymentOrderId>,
    },
    SendPaymentOrder {
        receivable: ReceivableId,
        cycle: usize,
        expected_by: NaiveDate,
    },
    Promise {
        receivable: ReceivableId,
        cycle: usize,
        promised: NaiveDate,
    },
    Reverse(PaymentId),
    CheckDeadlines,
}

struct Schedule {
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64)>>,
    intents: BTreeMap<u64, Intent>,
    next: u64,
}

impl Schedule {
    fn push(&mut self, at: DateTime<Utc>, intent: Intent) {
        self.queue.push(Reverse((at, self.next)));
        self.intents.insert(self.next, intent);
        self.next += 1;
    }

    fn pop(&mut self) -> Option<(DateTime<Utc>, Intent)> {
        let Reverse((at, seq)) = self.queue.pop()?;
        self.intents.remove(&seq).map(|intent| (at, intent))
    }
}

/// 10:00 UTC on `date`.
fn morning(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(10, 0, 0).expect("10:00 exists").and_utc()
}

fn next_business_day(calendar: &BusinessCalendar, mut date: NaiveDate) -> NaiveDate {
    for _ in 0..14 {
        if calendar.is_business_day(date) {
            return date;
        }
        date = date.succ_opt().unwrap_or(date);
    }
    date
}

fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
    .unwrap_or(date)
}

/// Turns a plan into a valid history for `customer`. Every command is valid
/// when decided; the interpreter skips an intent that no longer applies (a
/// receivable already paid, say) rather than issue an invalid command.
///
/// # Errors
///
/// [`StepRejected`] if a command is rejected anyway: a generator or
/// aggregate bug, reported rather than hidden.
pub fn interpret(
    plan: &CustomerPlan,
    customer: CustomerId,
    config: &PlanConfig,
) -> Result<History, StepRejected> {
    Interpreter::new(plan, customer, config).run()
}

struct Interpreter<'a> {
    plan: &'a CustomerPlan,
    config: &'a PlanConfig,
    recorder: Recorder,
    schedule: Schedule,
}

impl<'a> Interpreter<'a> {
    fn new(plan: &'a CustomerPlan, customer: CustomerId, config: &'a PlanConfig) -> Self {
        Self {
            plan,
            config,
            recorder: Recorder::new(customer, BusinessCalendar::default()),
            schedule: Schedule {
                queue: BinaryHeap::new(),
                intents: BTreeMap::new(),
                next: 0,
            },
        }
    }

    fn money(&self, minor: u32) -> Money {
        let currency = self.config.currency;
        Money::new(
            Decimal::new(i64::from(minor), currency.minor_units()),
            currency,
        )
        .expect("minor units fit the currency")
    }

    fn customer(&self) -> CustomerId {
        self.recorder.customer.clone()
    }

    fn run(mut self) -> Result<History, StepRejected> {
        let calendar = self.recorder.calendar.clone();
        let start = next_business_day(&calendar, self.config.start);
        let t = self.plan.terms;
        let terms = Terms {
            credit_limit: self.money(t.credit_limit.saturating_mul(100)),
            deferral: Deferral {
                days: t.deferral_days.into(),
                kind: t.deferral_kind,
            },
            base_discount: Rate::percent(t.discount_percent.into()).expect("0-10 %"),
            markup: Rate::ZERO,
            bonus: Rate::ZERO,
            service_level: ServiceLevel::Standard,
        };
        let register = RegisterCustomer {
            customer: self.customer(),
            name: format!("Customer {}", self.customer()),
            manager: ManagerId::new("manager-1").expect("valid id"),
            currency: self.config.currency,
            tags: Default::default(),
            terms,
        };
        self.execute(morning(start) - chrono::Duration::hours(1), register.into())?;

        let mut day = start;
        for (index, cycle) in self.plan.cycles.iter().enumerate() {
            if index > 0 {
                day = next_business_day(&calendar, shift(day, cycle.gap_days.into()));
            }
            let at = morning(day);
            self.schedule.push(at, Intent::Place(index));
            match cycle.delivery {
                DeliveryPlan::Full => self.schedule.push(
                    at + chrono::Duration::hours(2),
                    Intent::Deliver {
                        cycle: index,
                        percent: 100,
                        part: 1,
                    },
                ),
                DeliveryPlan::Partial { percent } => {
                    self.schedule.push(
                        at + chrono::Duration::hours(2),
                        Intent::Deliver {
                            cycle: index,
                            percent,
                            part: 1,
                        },
                    );
                    self.schedule.push(
                        morning(next_business_day(&calendar, shift(day, 1))),
                        Intent::Deliver {
                            cycle: index,
                            percent: 100,
                            part: 2,
                        },
                    );
                }
                DeliveryPlan::PartialThenCancel { percent } => {
                    self.schedule.push(
                        at + chrono::Duration::hours(2),
                        Intent::Deliver {
                            cycle: index,
                            percent,
                            part: 1,
                        },
                    );
                    self.schedule
                        .push(at + chrono::Duration::hours(5), Intent::Cancel(index));
                }
                DeliveryPlan::Cancelled => self
                    .schedule
                    .push(at + chrono::Duration::hours(1), Intent::Cancel(index)),
            }
        }
        while let Some((at, intent)) = self.schedule.pop() {
            self.perform(at, intent)?;
        }
        Ok(self.recorder.into_history())
    }

    fn execute(&mut self, at: DateTime<Utc>, command: Command) -> Result<(), StepRejected> {
        let step = self.recorder.steps.len();
        self.recorder
            .run(at, command.clone())
            .map_err(|rejection| StepRejected {
                step,
                command: Box::new(command),
                rejection,
            })
    }

    fn order_id(cycle: usize) -> OrderId {
        OrderId::new(format!("O-{cycle}")).expect("valid id")
    }

    fn perform(&mut self, at: DateTime<Utc>, intent: Intent) -> Result<(), StepRejected> {
        let account = &self.recorder.account;
        match intent {
            Intent::Place(cycle) => {
                let mut lines: BTreeMap<u8, (u32, u32)> = BTreeMap::new();
                for line in &self.plan.cycles[cycle].lines {
                    let entry = lines.entry(line.item).or_insert((0, line.price_minor));
                    entry.0 += u32::from(line.quantity.max(1));
                }
                if lines.is_empty() {
                    return Ok(());
                }
                let lines = lines
                    .into_iter()
                    .map(|(item, (quantity, price))| RequestedLine {
                        item: ItemId::new(format!("item-{item}")).expect("valid id"),
                        quantity: Quantity::units(quantity).expect("positive"),
                        unit_price: self.money(price.max(1)),
                    })
                    .collect();
                let command = PlaceOrder {
                    customer: self.customer(),
                    order: Self::order_id(cycle),
                    lines,
                    requested_delivery: at,
                    urgency: Urgency::Normal,
                };
                self.execute(at, command.into())
            }
            Intent::Deliver {
                cycle,
                percent,
                part,
            } => {
                let Some(order) = account.order(&Self::order_id(cycle)) else {
                    return Ok(());
                };
                if !order.is_accepted_open() {
                    return Ok(());
                }
                let lines: Vec<DeliveryLine> = order
                    .lines
                    .iter()
                    .filter_map(|l| {
                        let open = l.open_quantity();
                        let share = if percent >= 100 {
                            open
                        } else {
                            (l.ordered * Decimal::from(percent) / Decimal::ONE_HUNDRED)
                                .floor()
                                .max(Decimal::ONE)
                                .min(open)
                        };
                        Quantity::new(share).ok().map(|quantity| DeliveryLine {
                            item: l.item.clone(),
                            quantity,
                        })
                    })
                    .collect();
                if lines.is_empty() {
                    return Ok(());
                }
                let id = format!("D-{cycle}-{part}");
                let receivable = ReceivableId::new(&id).expect("valid id");
                let command = RecordDelivery {
                    customer: self.customer(),
                    delivery: DeliveryId::new(&id).expect("valid id"),
                    order: Self::order_id(cycle),
                    lines,
                    receivable: None,
                    occurred_at: None,
                };
                self.execute(at, command.into())?;
                self.schedule_payment(receivable, cycle);
                Ok(())
            }
            Intent::Cancel(cycle) => {
                let open = account
                    .order(&Self::order_id(cycle))
                    .is_some_and(|o| o.status == credence_aggregates::OrderStatus::Open);
                if !open {
                    return Ok(());
                }
                let command = CancelOrder {
                    customer: self.customer(),
                    order: Self::order_id(cycle),
                    reason: Some("planned cancellation".into()),
                };
                self.execute(at, command.into())
            }
            Intent::Pay {
                receivable,
                cycle,
                payment_order,
            } => {
                let Some(r) = account.receivable(&receivable) else {
                    return Ok(());
                };
                let open = r.open;
                let overpay = self.money(self.plan.cycles[cycle].overpay_minor).amount();
                if open <= Decimal::ZERO && overpay <= Decimal::ZERO {
                    return Ok(());
                }
                let currency = self.config.currency;
                let payment_order = payment_order.filter(|po| {
                    account
                        .payment_orders()
                        .get(po)
                        .is_some_and(|p| p.status == PaymentOrderStatus::Pending)
                });
                let allocations = if open > Decimal::ZERO {
                    vec![Allocation {
                        receivable: receivable.clone(),
                        amount: Money::new(open, currency).expect("account amounts are exact"),
                    }]
                } else {
                    Vec::new()
                };
                let payment = PaymentId::new(format!("P-{receivable}")).expect("valid id");
                if account.payments().contains_key(&payment) {
                    return Ok(());
                }
                let command = ReceivePayment {
                    customer: self.customer(),
                    payment: payment.clone(),
                    amount: Money::new(open + overpay, currency).expect("exact"),
                    method: PaymentMethod::BankTransfer,
                    allocations,
                    payment_order,
                    occurred_at: None,
                };
                self.execute(at, command.into())?;
                if self.plan.cycles[cycle].reversed {
                    self.schedule
                        .push(at + chrono::Duration::days(2), Intent::Reverse(payment));
                }
                Ok(())
            }
            Intent::SendPaymentOrder {
                receivable,
                cycle,
                expected_by,
            } => {
                let Some(r) = account.receivable(&receivable) else {
                    return Ok(());
                };
                if !r.is_open() {
                    return Ok(());
                }
                let today = self.recorder.calendar.local_date(at);
                let po = PaymentOrderId::new(format!("PO-{receivable}")).expect("valid id");
                let command = ReceivePaymentOrder {
                    customer: self.customer(),
                    payment_order: po.clone(),
                    amount: Money::new(r.open, self.config.currency).expect("exact"),
                    expected_by: expected_by.max(today),
                    receivables: vec![receivable.clone()],
                    occurred_at: None,
                };
                self.execute(at, command.into())?;
                let calendar_day = expected_by.max(today);
                if self.plan.cycles[cycle].clears {
                    self.schedule.push(
                        morning(calendar_day),
                        Intent::Pay {
                            receivable,
                            cycle,
                            payment_order: Some(po),
                        },
                    );
                } else {
                    self.schedule
                        .push(morning(shift(calendar_day, 1)), Intent::CheckDeadlines);
                    self.schedule.push(
                        morning(shift(calendar_day, 28)),
                        Intent::Pay {
                            receivable,
                            cycle,
                            payment_order: None,
                        },
                    );
                }
                Ok(())
            }
            Intent::Promise {
                receivable,
                cycle,
                promised,
            } => {
                let Some(r) = account.receivable(&receivable) else {
                    return Ok(());
                };
                if !r.is_open() {
                    return Ok(());
                }
                let today = self.recorder.calendar.local_date(at);
                let promised = promised.max(today);
                let command = PromiseToPay {
                    customer: self.customer(),
                    promise: PromiseId::new(format!("PR-{receivable}")).expect("valid id"),
                    amount: Money::new(r.open, self.config.currency).expect("exact"),
                    promised_date: promised,
                    receivables: vec![receivable.clone()],
                };
                self.execute(at, command.into())?;
                self.schedule
                    .push(morning(shift(promised, 1)), Intent::CheckDeadlines);
                self.schedule.push(
                    morning(shift(promised, 3)),
                    Intent::Pay {
                        receivable,
                        cycle,
                        payment_order: None,
                    },
                );
                Ok(())
            }
            Intent::Reverse(payment) => {
                let reversible = account
                    .payments()
                    .get(&payment)
                    .is_some_and(|p| !p.reversed);
                if !reversible {
                    return Ok(());
                }
                let command = ReversePayment {
                    customer: self.customer(),
                    payment,
                    reason: "returned by the bank".into(),
                };
                self.execute(at, command.into())
            }
            Intent::CheckDeadlines => {
                let command = CheckDeadlines {
                    customer: self.customer(),
                };
                self.execute(at, command.into())
            }
        }
    }

    /// Schedules how the customer pays a new receivable.
    fn schedule_payment(&mut self, receivable: ReceivableId, cycle: usize) {
        let Some(r) = self.recorder.account.receivable(&receivable) else {
            return;
        };
        let (issued, due) = (r.issued_on, r.due_date);
        let pay_on = |days: i64| morning(shift(due, days).max(issued)) + chrono::Duration::hours(3);
        let pay = |payment_order| Intent::Pay {
            receivable: receivable.clone(),
            cycle,
            payment_order,
        };
        match self.plan.behaviour {
            PayerBehaviour::OnTime { early } => {
                self.schedule.push(pay_on(-i64::from(early)), pay(None));
            }
            PayerBehaviour::Late { days } => self.schedule.push(pay_on(days.into()), pay(None)),
            PayerBehaviour::Erratic => {
                let jitter = self.plan.cycles[cycle].jitter;
                self.schedule.push(pay_on(jitter.into()), pay(None));
            }
            PayerBehaviour::ByPaymentOrder => {
                let at = morning(shift(due, -1).max(issued)) + chrono::Duration::hours(2);
                self.schedule.push(
                    at,
                    Intent::SendPaymentOrder {
                        receivable: receivable.clone(),
                        cycle,
                        expected_by: shift(due, 1),
                    },
                );
            }
            PayerBehaviour::BreaksPromises => {
                self.schedule.push(
                    morning(shift(due, 2)),
                    Intent::Promise {
                        receivable: receivable.clone(),
                        cycle,
                        promised: shift(due, 4),
                    },
                );
            }
        }
    }
}
