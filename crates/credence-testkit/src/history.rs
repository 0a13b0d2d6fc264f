//! Histories: a plan interpreted into timed commands and the events they record.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use credence_aggregates::{
    CancelOrder, ChangeTerms, CheckDeadlines, Command, CustomerAccount, PaymentOrderStatus,
    PlaceOrder, PromiseToPay, ReceivePayment, ReceivePaymentOrder, RecordDelivery,
    RegisterCustomer, Rejection, RequestedLine, ReversePayment,
};
use credence_events::{
    Allocation, BusinessCalendar, CreditDecided, CustomerId, Deferral, DeliveryId, DeliveryLine,
    Event, EventEnvelope, EventId, GlobalPosition, ItemId, ManagerId, Money, NewEvent, OrderId,
    PaymentId, PaymentMethod, PaymentOrderId, PromiseId, Quantity, Rate, ReceivableId,
    ServiceLevel, StreamId, StreamVersion, Terms, Urgency, Verdict,
};
use credence_policies::{
    Policy, PolicyError, decide_order, evaluate_customer, release_held_orders,
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
///
/// Interpreted with a policy ([`interpret_with_policy`]), the events also
/// hold the policy's decisions, recorded as the engine records them: the
/// `CreditDecided` of an order right after its `OrderPlaced`, and after
/// every step an evaluation of the customer (deadlines closed, held orders
/// released, `evaluate_customer`'s changes, notices and reminders).
#[derive(Clone)]
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
    /// The policy whose decisions the events hold, if any.
    pub policy: Option<Policy>,
    /// Every evaluation of the customer (empty without a policy).
    pub evaluations: Vec<EvaluationPoint>,
}

/// Histories are equal when their facts, steps and events are, and they were
/// decided by the same policy version (id, version and content hash).
impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        self.customer == other.customer
            && self.calendar == other.calendar
            && self.steps == other.steps
            && self.events == other.events
            && self.policy.as_ref().map(Policy::reference)
                == other.policy.as_ref().map(Policy::reference)
            && self.evaluations == other.evaluations
    }
}

impl Eq for History {}

/// The policy is shown by its reference (id, version, hash), not its whole
/// document: proptest prints failing histories with `Debug`.
impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("customer", &self.customer)
            .field("calendar", &self.calendar)
            .field("steps", &self.steps)
            .field("events", &self.events)
            .field("policy", &self.policy.as_ref().map(Policy::reference))
            .field("evaluations", &self.evaluations)
            .finish()
    }
}

/// One evaluation of the customer by the policy, after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationPoint {
    /// The business time of the evaluation.
    pub at: DateTime<Utc>,
    /// How many events the stream held when `evaluate_customer` ran (after
    /// deadlines were closed and held orders released): the account it saw
    /// is the fold of `events[..before]`.
    pub before: usize,
}

/// Interpreting or replaying a history failed: a bug in the generator, the
/// aggregate or the policy, reported rather than hidden.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A command was rejected by the aggregate.
    #[error(transparent)]
    Rejected(#[from] StepRejected),
    /// The policy could not decide.
    #[error("step {step} ({command}): the policy failed: {error}")]
    Policy {
        /// Index of the step.
        step: usize,
        /// The command's name.
        command: &'static str,
        /// What the policy reported.
        error: PolicyError,
    },
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

    /// The account folded from the first `count` events (the state a
    /// decision at `events[count]` saw).
    pub fn account_before(&self, count: usize) -> CustomerAccount {
        CustomerAccount::from_history(&self.events[..count.min(self.events.len())])
    }

    /// The credit decisions, with their envelopes, in stream order.
    pub fn credit_decisions(&self) -> impl Iterator<Item = (&EventEnvelope, &CreditDecided)> {
        self.events.iter().filter_map(|e| match &e.event {
            Event::CreditDecided(d) => Some((e, d)),
            _ => None,
        })
    }

    /// The facts only: the events that are not policy decisions (credit
    /// decisions, changes of standing, reminders and notices).
    pub fn facts(&self) -> impl Iterator<Item = &EventEnvelope> {
        self.events.iter().filter(|e| !e.event.is_decision())
    }

    /// Runs the steps again through a fresh account (and the history's
    /// policy, if any) and returns the events.
    ///
    /// # Errors
    ///
    /// [`RunError`] for the first step that fails.
    pub fn replay(&self) -> Result<Vec<EventEnvelope>, RunError> {
        Ok(self.prefix(self.steps.len())?.events)
    }

    /// The history of the first `steps` steps alone, run again (with the
    /// policy, if any): still a valid history, since time only moves
    /// forward. Used to cut a counterexample after the step that breaks a
    /// property.
    ///
    /// # Errors
    ///
    /// [`RunError`] for the first step that fails.
    pub fn prefix(&self, steps: usize) -> Result<History, RunError> {
        let mut recorder = Recorder::new(
            self.customer.clone(),
            self.calendar.clone(),
            self.policy.clone(),
        );
        for (index, step) in self.steps.iter().take(steps).enumerate() {
            recorder
                .run(step.at, step.command.clone())
                .map_err(|failure| failure.at_step(index, &step.command))?;
        }
        Ok(recorder.into_history())
    }
}

/// Why the recorder could not run a command.
#[derive(Debug)]
pub(crate) enum Failure {
    Rejected(Rejection),
    Policy(PolicyError),
}

impl From<PolicyError> for Failure {
    fn from(error: PolicyError) -> Self {
        Failure::Policy(error)
    }
}

impl Failure {
    fn at_step(self, step: usize, command: &Command) -> RunError {
        match self {
            Failure::Rejected(rejection) => RunError::Rejected(StepRejected {
                step,
                command: Box::new(command.clone()),
                rejection,
            }),
            Failure::Policy(error) => RunError::Policy {
                step,
                command: command.name(),
                error,
            },
        }
    }
}

/// Runs commands against an account, stamping the events like a store would.
#[derive(Debug)]
pub(crate) struct Recorder {
    customer: CustomerId,
    stream: StreamId,
    seed: u128,
    calendar: BusinessCalendar,
    policy: Option<Policy>,
    account: CustomerAccount,
    steps: Vec<Step>,
    events: Vec<EventEnvelope>,
    evaluations: Vec<EvaluationPoint>,
}

impl Recorder {
    pub(crate) fn new(
        customer: CustomerId,
        calendar: BusinessCalendar,
        policy: Option<Policy>,
    ) -> Self {
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
            policy,
            account: CustomerAccount::new(),
            steps: Vec::new(),
            events: Vec::new(),
            evaluations: Vec::new(),
        }
    }

    /// Runs `command` as the engine's `execute` does (an order's credit
    /// decision in the same append), then, with a policy, evaluates the
    /// customer as the engine's `evaluate` does.
    pub(crate) fn run(&mut self, at: DateTime<Utc>, command: Command) -> Result<(), Failure> {
        let events = self
            .account
            .decide(&command, at, &self.calendar)
            .map_err(Failure::Rejected)?;
        let occurred_at = command.occurred_at(at);
        // An order's credit decision is decided on the state holding the
        // order and recorded right after it (the engine appends both at once).
        for event in events {
            let placed = match &event {
                Event::OrderPlaced(o) => Some(o.order.clone()),
                _ => None,
            };
            self.push(at, occurred_at, event);
            let decision = match (placed, &self.policy) {
                (Some(order), Some(policy)) => Some(decide_order(
                    policy,
                    &self.account,
                    &order,
                    occurred_at,
                    &self.calendar,
                )?),
                _ => None,
            };
            if let Some(decision) = decision {
                self.push(at, occurred_at, decision.event.into());
            }
        }
        self.steps.push(Step { at, command });
        if self.policy.is_some() && self.account.is_registered() {
            self.evaluate(at)?;
        }
        Ok(())
    }

    /// The engine's `evaluate` at `at`: close deadlines, release held
    /// orders, evaluate the customer; each on the state after the one before.
    fn evaluate(&mut self, at: DateTime<Utc>) -> Result<(), Failure> {
        let Some(policy) = self.policy.clone() else {
            return Ok(());
        };
        let deadlines = self
            .account
            .decide(
                &CheckDeadlines {
                    customer: self.customer.clone(),
                }
                .into(),
                at,
                &self.calendar,
            )
            .map_err(Failure::Rejected)?;
        for event in deadlines {
            self.push(at, at, event);
        }
        for release in release_held_orders(&policy, &self.account, at, &self.calendar)? {
            self.push(at, at, release.event.into());
        }
        let before = self.events.len();
        let evaluation = evaluate_customer(&policy, &self.account, at, &self.calendar)?;
        for event in evaluation.events {
            self.push(at, at, event);
        }
        self.evaluations.push(EvaluationPoint { at, before });
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
            policy: self.policy,
            evaluations: self.evaluations,
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
        attempt: u8,
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
    ChangeCreditLimit(u32),
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
/// [`RunError::Rejected`] if a command is rejected anyway: a generator or
/// aggregate bug, reported rather than hidden.
pub fn interpret(
    plan: &CustomerPlan,
    customer: CustomerId,
    config: &PlanConfig,
) -> Result<History, RunError> {
    Interpreter::new(plan, customer, config, None, PolicyRunConfig::default()).run()
}

/// Turns a plan into a valid history for `customer` with `policy`'s
/// decisions recorded as the engine records them:
///
/// * placing an order records the policy's `CreditDecided` right after the
///   `OrderPlaced` (the engine's `execute`);
/// * after every step the customer is evaluated at the step's time (the
///   engine's `evaluate`): passed deadlines are closed, held orders the
///   policy now accepts are released, and `evaluate_customer`'s changes of
///   standing, notices and due reminders are recorded.
///
/// The plan's intents adapt to the decisions, so the history stays valid:
/// a delivery of an order on credit hold waits (it is tried again each
/// business day, for up to 20 days, and happens once a payment releases the
/// order); a refused order is never delivered.
///
/// # Errors
///
/// [`RunError`] if a command is rejected anyway or the policy fails: a bug
/// in the generator, the aggregate or the policy.
pub fn interpret_with_policy(
    plan: &CustomerPlan,
    customer: CustomerId,
    config: &PlanConfig,
    policy: &Policy,
) -> Result<History, RunError> {
    interpret_with_policy_config(plan, customer, config, policy, PolicyRunConfig::default())
}

/// How a policy takes part in [`interpret_with_policy_config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PolicyRunConfig {
    /// Also evaluate the customer every business day at 08:00 (recorded as
    /// a `CheckDeadlines` step, which the evaluation follows), as a service
    /// running `credence evaluate` each morning does: advance reminders and
    /// deadline notices then go out on their days. Off by default: the
    /// histories are shorter and shrink to fewer steps.
    pub daily_evaluation: bool,
}

/// [`interpret_with_policy`] with the evaluations `run` asks for.
///
/// # Errors
///
/// As [`interpret_with_policy`].
pub fn interpret_with_policy_config(
    plan: &CustomerPlan,
    customer: CustomerId,
    config: &PlanConfig,
    policy: &Policy,
    run: PolicyRunConfig,
) -> Result<History, RunError> {
    Interpreter::new(plan, customer, config, Some(policy.clone()), run).run()
}

/// How many business days a delivery of a held order waits for a release.
const HOLD_RETRIES: u8 = 20;

struct Interpreter<'a> {
    plan: &'a CustomerPlan,
    config: &'a PlanConfig,
    run_config: PolicyRunConfig,
    recorder: Recorder,
    schedule: Schedule,
    /// Per receivable, the latest time of a fact its payment must not be
    /// back-dated before (its delivery, payment order, promise).
    not_before: BTreeMap<ReceivableId, DateTime<Utc>>,
    /// The times of every delivery recorded, in order.
    deliveries: Vec<DateTime<Utc>>,
}

impl<'a> Interpreter<'a> {
    fn new(
        plan: &'a CustomerPlan,
        customer: CustomerId,
        config: &'a PlanConfig,
        policy: Option<Policy>,
        run_config: PolicyRunConfig,
    ) -> Self {
        Self {
            plan,
            config,
            run_config,
            recorder: Recorder::new(customer, BusinessCalendar::default(), policy),
            schedule: Schedule {
                queue: BinaryHeap::new(),
                intents: BTreeMap::new(),
                next: 0,
            },
            not_before: BTreeMap::new(),
            deliveries: Vec::new(),
        }
    }

    /// Records that `receivable`'s payment must not occur before `at`.
    fn not_before(&mut self, receivable: &ReceivableId, at: DateTime<Utc>) {
        let entry = self.not_before.entry(receivable.clone()).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// When a payment of `receivable` recorded at `at` occurred: `days`
    /// earlier, but not before the facts it follows (see
    /// [`CyclePlan::backdate_days`](crate::plan::CyclePlan::backdate_days)),
    /// and after every delivery recorded on the same value date, so the
    /// money never settles, as of any business time, a receivable that does
    /// not exist yet. `None` when not back-dated.
    fn value_time(
        &self,
        receivable: &ReceivableId,
        at: DateTime<Utc>,
        days: u8,
    ) -> Option<DateTime<Utc>> {
        if days == 0 {
            return None;
        }
        let calendar = &self.recorder.calendar;
        let mut occurred = at - chrono::Duration::days(days.into());
        if let Some(floor) = self.not_before.get(receivable) {
            occurred = occurred.max(*floor);
        }
        let date = calendar.local_date(occurred);
        for delivered in &self.deliveries {
            if calendar.local_date(*delivered) == date {
                occurred = occurred.max(*delivered);
            }
        }
        (occurred < at).then_some(occurred)
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

    /// The plan's terms with a credit limit of `limit` major units.
    fn terms(&self, limit: u32) -> Terms {
        let t = self.plan.terms;
        Terms {
            credit_limit: self.money(limit.saturating_mul(100)),
            deferral: Deferral {
                days: t.deferral_days.into(),
                kind: t.deferral_kind,
            },
            base_discount: Rate::percent(t.discount_percent.min(100).into()).unwrap_or(Rate::ZERO),
            markup: Rate::ZERO,
            bonus: Rate::ZERO,
            service_level: ServiceLevel::Standard,
        }
    }

    fn run(mut self) -> Result<History, RunError> {
        let calendar = self.recorder.calendar.clone();
        let start = next_business_day(&calendar, self.config.start);
        let terms = self.terms(self.plan.terms.credit_limit);
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
            if let Some(limit) = cycle.new_credit_limit {
                self.schedule.push(
                    at - chrono::Duration::minutes(30),
                    Intent::ChangeCreditLimit(limit),
                );
            }
            self.schedule.push(at, Intent::Place(index));
            let deliver = |percent, part| Intent::Deliver {
                cycle: index,
                percent,
                part,
                attempt: 0,
            };
            let shipping = at + chrono::Duration::hours(2);
            match cycle.delivery {
                DeliveryPlan::Full => self.schedule.push(shipping, deliver(100, 1)),
                DeliveryPlan::Partial { percent } => {
                    self.schedule.push(shipping, deliver(percent, 1));
                    let next_day = morning(next_business_day(&calendar, shift(day, 1)));
                    self.schedule.push(next_day, deliver(100, 2));
                }
                DeliveryPlan::PartialThenCancel { percent } => {
                    self.schedule.push(shipping, deliver(percent, 1));
                    self.schedule
                        .push(at + chrono::Duration::hours(5), Intent::Cancel(index));
                }
                DeliveryPlan::Cancelled => self
                    .schedule
                    .push(at + chrono::Duration::hours(1), Intent::Cancel(index)),
                DeliveryPlan::LeftOpen => {}
                DeliveryPlan::PartialLeftOpen { percent } => {
                    self.schedule.push(shipping, deliver(percent, 1));
                }
            }
        }
        let mut evaluated_through = start;
        while let Some((at, intent)) = self.schedule.pop() {
            if self.run_config.daily_evaluation {
                evaluated_through = self.evaluate_days(evaluated_through, at)?;
            }
            self.perform(at, intent)?;
        }
        Ok(self.recorder.into_history())
    }

    /// The morning evaluations of the business days after `through` whose
    /// 08:00 comes before `until`; returns the last day evaluated.
    fn evaluate_days(
        &mut self,
        mut through: NaiveDate,
        until: DateTime<Utc>,
    ) -> Result<NaiveDate, RunError> {
        let calendar = self.recorder.calendar.clone();
        loop {
            let Some(day) = through.succ_opt() else {
                return Ok(through);
            };
            let at = day.and_hms_opt(8, 0, 0).expect("08:00 exists").and_utc();
            if at >= until {
                return Ok(through);
            }
            if calendar.is_business_day(day) {
                let command = CheckDeadlines {
                    customer: self.customer(),
                };
                self.execute(at, command.into())?;
            }
            through = day;
        }
    }

    fn execute(&mut self, at: DateTime<Utc>, command: Command) -> Result<(), RunError> {
        let step = self.recorder.steps.len();
        self.recorder
            .run(at, command.clone())
            .map_err(|failure| failure.at_step(step, &command))
    }

    fn order_id(cycle: usize) -> OrderId {
        OrderId::new(format!("O-{cycle}")).expect("valid id")
    }

    fn perform(&mut self, at: DateTime<Utc>, intent: Intent) -> Result<(), RunError> {
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
                attempt,
            } => {
                let Some(order) = account.order(&Self::order_id(cycle)) else {
                    return Ok(());
                };
                let held = order.status == credence_aggregates::OrderStatus::Open
                    && order.verdict == Some(Verdict::Hold);
                if held && attempt < HOLD_RETRIES {
                    // On credit hold: the goods wait for a release.
                    let calendar = &self.recorder.calendar;
                    let day = next_business_day(calendar, shift(calendar.local_date(at), 1));
                    self.schedule.push(
                        morning(day) + chrono::Duration::hours(2),
                        Intent::Deliver {
                            cycle,
                            percent,
                            part,
                            attempt: attempt + 1,
                        },
                    );
                    return Ok(());
                }
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
                self.deliveries.push(at);
                self.not_before(&receivable, at);
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
                if account.has_payment(&payment) {
                    return Ok(());
                }
                let occurred_at =
                    self.value_time(&receivable, at, self.plan.cycles[cycle].backdate_days);
                let command = ReceivePayment {
                    customer: self.customer(),
                    payment: payment.clone(),
                    amount: Money::new(open + overpay, currency).expect("exact"),
                    method: PaymentMethod::BankTransfer,
                    allocations,
                    payment_order,
                    occurred_at,
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
                self.not_before(&receivable, at);
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
                self.not_before(&receivable, at);
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
                let reversible = account.payment(&payment).is_some_and(|p| !p.reversed);
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
            Intent::ChangeCreditLimit(limit) => {
                let command = ChangeTerms {
                    customer: self.customer(),
                    terms: self.terms(limit),
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
