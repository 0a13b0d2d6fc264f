//! The customer account's state and its total `apply` (evolve) function.
//!
//! The state is what command handling and the policies need to know about a
//! customer, kept up to date one event at a time: profile and terms; orders
//! and their undelivered value; receivables with due dates and open amounts;
//! payments and what they paid; credit balance from overpayment; payment
//! orders; promises; delay explanations; reminders sent; the standing set by
//! policy decisions. Totals (debt, undelivered value, credit) are maintained
//! incrementally, so reading them costs nothing whatever the history length.
//!
//! What grows with the customer's history (orders, deliveries, receivables,
//! payments, payment orders, promises, reminders, decisions and the indexes
//! over them) is kept in persistent B-trees ([`SharedMap`], [`SharedSet`]):
//! cloning an account is O(1) in its history (the small rest — the boxed
//! profile and standing — is copied; the rarely used parts, payment
//! orders, promises, reminders and the payments with unused credit, sit
//! behind one shared pointer), and a clone shares every node with its
//! original until one of them changes, when only the changed path is
//! copied. That is what lets the as-of index keep a snapshot every few
//! events at the cost of what changed in between.
//!
//! The indexes of open receivables (allocation order) and of closed ones
//! (closing order) carry each one's open amount and days late: the facts a
//! policy decides on read them without looking each receivable up in a
//! history-sized tree. Snapshots write them as plain sets of keys and
//! rebuild them from the receivables.
//!
//! **Open items and closed ones are kept apart.** The maps hold the open
//! orders, the open receivables and the payments with credit left: what
//! commands and policies read and change. An order delivered or
//! cancelled, a receivable paid and a payment spent is frozen into a
//! compact record in the account's archive (module `closed`), and thawed
//! back if a later event changes it (a reversal reopens a receivable).
//! [`orders`](CustomerAccount::orders),
//! [`receivables`](CustomerAccount::receivables) and
//! [`payments`](CustomerAccount::payments) list both, open items borrowed
//! and closed ones decoded ([`Cow`]); the hot maps stay as small as the
//! customer's open business, whatever its history.
//!
//! An account is small in place (224 bytes; it is held by value in every
//! customer map) and its items are compact: a receivable's delay
//! explanation is boxed, a receivable's payments and a payment's
//! allocations keep a single element in place ([`Few`]). Accounts of
//! about 11 events (3 orders, 3 deliveries, 3 payments, all closed) held
//! by value in a `BTreeMap` take 1.6 kB of heap each, the map included,
//! in 5.6 blocks (`cargo bench --bench queries`, `memory_state`).
//!
//! `apply` never fails and never decides: it trusts that events were produced
//! by [`decide`](CustomerAccount::decide) and only records them. Amounts are
//! kept as [`Decimal`] in the customer's currency with saturating arithmetic,
//! so even a hand-made inconsistent event cannot make it panic.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use credence_events::{
    AdjustmentKind, Allocation, Currency, CustomerId, DecisionId, DeliveryId, Event, EventEnvelope,
    EventId, FulfilmentMode, ItemId, ManagerId, Money, OrderId, PaymentId, PaymentMethod,
    PaymentOrderId, Priority, PromiseId, Rate, ReasonCode, ReceivableId, Recipient, ReminderId,
    ReminderKind, StreamVersion, Terms, Urgency, Verdict, days_past_due,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::closed::{Archive, Freeze};
use crate::few::Few;
use crate::shared::{SharedMap, SharedSet};

/// Who the customer is and the contract it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The customer.
    pub customer: CustomerId,
    /// Its name.
    pub name: String,
    /// The responsible manager.
    pub manager: ManagerId,
    /// The currency of all its amounts.
    pub currency: Currency,
    /// Tags or segments.
    pub tags: BTreeSet<String>,
    /// Current terms.
    pub terms: Terms,
    /// The event that last changed the terms.
    pub terms_source: EventId,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Something is still to be delivered.
    Open,
    /// Everything ordered was delivered.
    Delivered,
    /// The undelivered rest was cancelled.
    Cancelled,
}

/// One order line with what has been delivered of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineState {
    /// The item.
    pub item: ItemId,
    /// The quantity ordered.
    pub ordered: Decimal,
    /// The quantity delivered so far.
    pub delivered: Decimal,
    /// List price per unit.
    pub unit_price: Decimal,
}

impl OrderLineState {
    /// The quantity still to deliver.
    pub fn open_quantity(&self) -> Decimal {
        (self.ordered - self.delivered).max(Decimal::ZERO)
    }
}

/// An order and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order.
    pub id: OrderId,
    /// Its lines.
    pub lines: Vec<OrderLineState>,
    /// When the customer wants it.
    pub requested_delivery: DateTime<Utc>,
    /// How urgently.
    pub urgency: Urgency,
    /// The discount applied to its deliveries (zero when suspended).
    pub discount: Rate,
    /// Progress.
    pub status: OrderStatus,
    /// The latest credit verdict on it, if a policy decided.
    pub verdict: Option<Verdict>,
    /// The fulfilment mode decided for it, if a policy decided.
    pub fulfilment: Option<FulfilmentMode>,
    /// The event that placed it.
    pub source: EventId,
    /// Business time it was placed.
    pub placed_at: DateTime<Utc>,
}

impl Order {
    /// Whether the order counts as accepted for exposure: open and not held
    /// or refused by a credit decision.
    pub fn is_accepted_open(&self) -> bool {
        self.status == OrderStatus::Open && matches!(self.verdict, None | Some(Verdict::Accept))
    }

    /// Value of `quantity` of each line at the order's prices less its
    /// discount, rounded once to the currency's minor unit.
    pub fn value_of<'a>(
        &self,
        quantities: impl IntoIterator<Item = (&'a OrderLineState, Decimal)>,
        minor_units: u32,
    ) -> Decimal {
        let gross = quantities
            .into_iter()
            .fold(Decimal::ZERO, |acc, (line, q)| {
                acc.saturating_add(q.saturating_mul(line.unit_price))
            });
        net_of_discount(gross, self.discount, minor_units)
    }

    /// Value of what is still to be delivered, less the order's discount.
    pub fn undelivered_value(&self, minor_units: u32) -> Decimal {
        if self.status != OrderStatus::Open {
            return Decimal::ZERO;
        }
        self.value_of(
            self.lines.iter().map(|l| (l, l.open_quantity())),
            minor_units,
        )
    }

    /// The line for `item`.
    pub fn line(&self, item: &ItemId) -> Option<&OrderLineState> {
        self.lines.iter().find(|l| &l.item == item)
    }
}

/// `gross × (1 − discount)`, rounded half away from zero to `minor_units`.
pub(crate) fn net_of_discount(gross: Decimal, discount: Rate, minor_units: u32) -> Decimal {
    let factor = Decimal::ONE - discount.as_fraction();
    gross
        .saturating_mul(factor)
        .round_dp_with_strategy(minor_units, RoundingStrategy::MidpointAwayFromZero)
}

/// A delay explanation recorded for one or more receivables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayExplanation {
    /// The reason code.
    pub reason: ReasonCode,
    /// The explanation in words.
    pub text: String,
    /// The promised payment date, if given.
    pub promised_date: Option<NaiveDate>,
    /// The manager who obtained it.
    pub manager: ManagerId,
    /// The event that recorded it.
    pub source: EventId,
}

/// An amount owed for one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receivable {
    /// The receivable.
    pub id: ReceivableId,
    /// The delivery that created it.
    pub delivery: DeliveryId,
    /// The order delivered against.
    pub order: OrderId,
    /// The amount invoiced.
    pub amount: Decimal,
    /// What is still owed.
    pub open: Decimal,
    /// The delivery date.
    pub issued_on: NaiveDate,
    /// The due date.
    pub due_date: NaiveDate,
    /// When the last payment closed it; `None` while open.
    pub closed_on: Option<NaiveDate>,
    /// The delivery event.
    pub source: EventId,
    /// The payment events that paid on it, in order (mostly one: kept in
    /// place).
    pub paid_by: Few<EventId>,
    /// The latest delay explanation for it (boxed: most receivables have
    /// none).
    pub explanation: Option<Box<DelayExplanation>>,
}

impl Receivable {
    /// True while something is owed.
    pub fn is_open(&self) -> bool {
        self.open > Decimal::ZERO
    }

    /// Calendar days past due on `today` (zero or less: not overdue).
    pub fn days_past_due(&self, today: NaiveDate) -> i64 {
        days_past_due(self.due_date, today)
    }

    /// True when open and past its due date on `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.is_open() && self.days_past_due(today) > 0
    }
}

/// A payment and where its money went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The payment.
    pub id: PaymentId,
    /// The amount received.
    pub amount: Decimal,
    /// How it arrived.
    pub method: PaymentMethod,
    /// Its value date.
    pub received_on: NaiveDate,
    /// Every receivable it paid on, directly or through credit balance, and
    /// how much. A reversal reopens exactly these. Mostly one: kept in
    /// place.
    pub allocations: Few<(ReceivableId, Decimal)>,
    /// Credit balance from this payment not yet used.
    pub credit_left: Decimal,
    /// True once reversed.
    pub reversed: bool,
    /// The event that recorded it.
    pub source: EventId,
}

/// Where a payment order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOrderStatus {
    /// Money not yet arrived.
    Pending,
    /// Money arrived.
    Cleared,
    /// Money did not arrive in time.
    Expired,
}

/// A payment order: a transfer announced, money not yet received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrder {
    /// The payment order.
    pub id: PaymentOrderId,
    /// The amount.
    pub amount: Decimal,
    /// When it was issued.
    pub issued_on: NaiveDate,
    /// When the money is expected.
    pub expected_by: NaiveDate,
    /// The receivables it is meant for.
    pub receivables: Vec<ReceivableId>,
    /// Where it stands.
    pub status: PaymentOrderStatus,
    /// The event that recorded it.
    pub source: EventId,
}

/// Where a promise stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseStatus {
    /// The date has not passed and the money is not all in.
    Pending,
    /// Enough money arrived by the date.
    Kept,
    /// The date passed without enough money.
    Broken,
}

/// A promise to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    /// The promise.
    pub id: PromiseId,
    /// The amount promised.
    pub amount: Decimal,
    /// The date promised.
    pub promised_date: NaiveDate,
    /// The receivables it concerns.
    pub receivables: Vec<ReceivableId>,
    /// Money received since the promise was made.
    pub paid: Decimal,
    /// Where it stands.
    pub status: PromiseStatus,
    /// The event that recorded it.
    pub source: EventId,
}

/// The customer's standing as last set by policy decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// Service priority (1 is served first).
    pub priority: Priority,
    /// Fulfilment mode for new orders.
    pub fulfilment: FulfilmentMode,
    /// Effective discount.
    pub discount: Rate,
    /// Effective markup.
    pub markup: Rate,
    /// Effective bonus.
    pub bonus: Rate,
    /// The decision event that set the priority.
    pub priority_source: Option<EventId>,
    /// The decision event that set the fulfilment mode.
    pub fulfilment_source: Option<EventId>,
    /// The decision events that set discount, markup and bonus.
    pub adjustment_sources: AdjustmentSources,
}

/// The decision event that last set each price adjustment (discount,
/// markup, bonus): a fixed slot per kind. Serializes as a map from kind to
/// event, as the `BTreeMap` it replaces did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdjustmentSources([Option<EventId>; 3]);

impl AdjustmentSources {
    fn slot(kind: AdjustmentKind) -> usize {
        match kind {
            AdjustmentKind::Discount => 0,
            AdjustmentKind::Markup => 1,
            AdjustmentKind::Bonus => 2,
        }
    }

    /// The event that last set `kind`, if any did.
    pub fn get(&self, kind: AdjustmentKind) -> Option<EventId> {
        self.0[Self::slot(kind)]
    }

    /// Records that `source` set `kind`.
    pub fn set(&mut self, kind: AdjustmentKind, source: EventId) {
        self.0[Self::slot(kind)] = Some(source);
    }

    /// Every kind set so far with its event, in the kinds' order.
    pub fn iter(&self) -> impl Iterator<Item = (AdjustmentKind, EventId)> + '_ {
        [
            AdjustmentKind::Discount,
            AdjustmentKind::Markup,
            AdjustmentKind::Bonus,
        ]
        .into_iter()
        .filter_map(|kind| self.get(kind).map(|source| (kind, source)))
    }

    /// True when no adjustment was set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

impl Serialize for AdjustmentSources {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for AdjustmentSources {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<AdjustmentKind, EventId>::deserialize(deserializer)?;
        let mut sources = Self::default();
        for (kind, source) in map {
            sources.set(kind, source);
        }
        Ok(sources)
    }
}

/// A reminder's identity for the "never twice" rule: kind, recipient, level
/// and receivable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReminderKey {
    /// What it is about.
    pub kind: ReminderKind,
    /// Who it went to.
    pub recipient: Recipient,
    /// Escalation level.
    pub level: u8,
    /// The receivable, if it concerned one.
    pub receivable: Option<ReceivableId>,
}

/// The state of one customer's account, folded from its stream.
///
/// Cheap to clone: what grows with the history is held in persistent
/// [`SharedMap`]s and [`SharedSet`]s, which a clone shares until one side
/// changes. Serializes as it did with std's `BTreeMap`/`BTreeSet` (maps as
/// maps, sets as sequences).
///
/// Small in place (an account is held by value in every customer map): the
/// profile and the standing are boxed, and what few customers have (payment
/// orders, promises, reminders, payments with credit left) sits behind one
/// shared pointer, absent until first needed. The serialized form is the
/// flat one of the earlier layout, so snapshots stay readable.
#[derive(Debug, Clone, Default)]
pub struct CustomerAccount {
    pub(crate) profile: Option<Box<Profile>>,
    pub(crate) version: StreamVersion,
    pub(crate) last_recorded_at: Option<DateTime<Utc>>,
    /// Open orders (something still to deliver); closed ones are in
    /// `closed` (here too, when `closed` is loose: see
    /// [`CustomerAccount::transient`]).
    pub(crate) orders: SharedMap<OrderId, Order>,
    pub(crate) deliveries: SharedSet<DeliveryId>,
    /// Open receivables; paid ones are in `closed`.
    pub(crate) receivables: SharedMap<ReceivableId, Receivable>,
    /// Open receivables by (due date, issue date, id): allocation order;
    /// each with its open amount, so that facts without sources need not
    /// look it up (see [`OpenKey`]).
    pub(crate) open_receivables: SharedSet<OpenKey>,
    /// Closed receivables by (closing date, id): payment behaviour reads the
    /// latest few without sorting the whole history; each with its days
    /// late (see [`ClosedKey`]).
    pub(crate) closed_receivables: SharedSet<ClosedKey>,
    /// Payments with credit left; spent ones are in `closed`.
    pub(crate) payments: SharedMap<PaymentId, Payment>,
    /// Closed orders, receivables and payments, each frozen into a compact
    /// record (see [`Archive`]).
    pub(crate) closed: Archive,
    pub(crate) decisions: SharedSet<DecisionId>,
    /// What few customers have; `None` while all of it is empty.
    pub(crate) rare: RarePart,
    pub(crate) standing: Option<Box<Standing>>,
    pub(crate) debt: Decimal,
    pub(crate) undelivered: Decimal,
    pub(crate) credit: Decimal,
}

impl PartialEq for CustomerAccount {
    /// Equal when they hold the same state: the same items of each kind
    /// (whether frozen, loose or open), indexes and totals.
    fn eq(&self, other: &Self) -> bool {
        // Every field named, so that a new one is not forgotten here.
        let CustomerAccount {
            profile,
            version,
            last_recorded_at,
            orders,
            deliveries,
            receivables,
            open_receivables,
            closed_receivables,
            payments,
            closed,
            decisions,
            rare,
            standing,
            debt,
            undelivered,
            credit,
        } = self;
        let items = if closed.is_loose() || other.closed.is_loose() {
            // Closed items in the maps on one side at least: item by item.
            self.orders().eq(other.orders())
                && self.receivables().eq(other.receivables())
                && self.payments().eq(other.payments())
        } else {
            *orders == other.orders
                && *receivables == other.receivables
                && *payments == other.payments
                && *closed == other.closed
        };
        items
            && *profile == other.profile
            && *version == other.version
            && *last_recorded_at == other.last_recorded_at
            && *deliveries == other.deliveries
            && *open_receivables == other.open_receivables
            && *closed_receivables == other.closed_receivables
            && *decisions == other.decisions
            && *rare == other.rare
            && *standing == other.standing
            && *debt == other.debt
            && *undelivered == other.undelivered
            && *credit == other.credit
    }
}

impl Eq for CustomerAccount {}

/// An open receivable in the account's index: due date, issue date and id
/// (the allocation order; unique), then its open amount, which never
/// decides the order. Kept equal to the receivable's `open`.
pub(crate) type OpenKey = (NaiveDate, NaiveDate, ReceivableId, Decimal);

/// A closed receivable in the account's index: closing date and id (unique),
/// then its days late ([`days_late`]), which never decides the order.
pub(crate) type ClosedKey = (NaiveDate, ReceivableId, i32);

/// Whole days from `due` to `closed_on`, zero when paid on time or early.
pub fn days_late(closed_on: NaiveDate, due: NaiveDate) -> i64 {
    (closed_on - due).num_days().max(0)
}

/// The index entry of an open receivable.
fn open_key(r: &Receivable) -> OpenKey {
    (r.due_date, r.issued_on, r.id.clone(), r.open)
}

/// The index entry of a receivable closed on `on`.
fn closed_key(r: &Receivable, on: NaiveDate) -> ClosedKey {
    let late = i32::try_from(days_late(on, r.due_date)).unwrap_or(i32::MAX);
    (on, r.id.clone(), late)
}

/// An index serialized without its last component: the set of the earlier
/// layout (snapshots keep their shape).
struct WithoutLast<'a, T>(&'a SharedSet<T>);

impl Serialize for WithoutLast<'_, OpenKey> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(due, issued, id, _)| (due, issued, id)))
    }
}

impl Serialize for WithoutLast<'_, ClosedKey> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(on, id, _)| (on, id)))
    }
}

/// The parts of an account that most customers never use, kept out of
/// line so that they cost one pointer until first used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rare {
    /// Payments with credit left, oldest first.
    pub(crate) credit_queue: VecDeque<PaymentId>,
    pub(crate) payment_orders: SharedMap<PaymentOrderId, PaymentOrder>,
    pub(crate) promises: SharedMap<PromiseId, Promise>,
    pub(crate) reminders: SharedSet<ReminderId>,
    pub(crate) reminder_keys: SharedSet<ReminderKey>,
}

impl Rare {
    const EMPTY: Rare = Rare {
        credit_queue: VecDeque::new(),
        payment_orders: SharedMap::new(),
        promises: SharedMap::new(),
        reminders: SharedSet::new(),
        reminder_keys: SharedSet::new(),
    };

    fn is_empty(&self) -> bool {
        self.credit_queue.is_empty()
            && self.payment_orders.is_empty()
            && self.promises.is_empty()
            && self.reminders.is_empty()
            && self.reminder_keys.is_empty()
    }
}

/// The rarely used parts of an account, absent until first needed. Equal
/// by content: absent and empty are the same (an account that used them
/// and emptied them again equals its JSON copy).
#[derive(Debug, Clone, Default)]
pub(crate) struct RarePart(Option<Arc<Rare>>);

impl RarePart {
    /// Holds `rare`, or nothing when it is empty.
    fn new(rare: Rare) -> Self {
        Self((!rare.is_empty()).then(|| Arc::new(rare)))
    }

    fn get(&self) -> &Rare {
        self.0.as_deref().unwrap_or(&NO_RARE)
    }

    /// For a change: created on first use, copied if a clone shares it.
    fn get_mut(&mut self) -> &mut Rare {
        Arc::make_mut(self.0.get_or_insert_with(Default::default))
    }

    /// Drops the parts once all of them are empty again.
    fn tidy(&mut self) {
        if self.get().is_empty() {
            self.0 = None;
        }
    }
}

impl PartialEq for RarePart {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            _ => self.get() == other.get(),
        }
    }
}

impl Eq for RarePart {}

/// What an account without any rare part reads.
static NO_RARE: Rare = Rare::EMPTY;

/// The serialized form of [`CustomerAccount`]: the flat field list of the
/// earlier in-memory layout, borrowed for writing.
#[derive(Serialize)]
struct AccountRef<'a> {
    profile: &'a Option<Box<Profile>>,
    version: StreamVersion,
    last_recorded_at: Option<DateTime<Utc>>,
    orders: AllItems<'a, Order>,
    deliveries: &'a SharedSet<DeliveryId>,
    receivables: AllItems<'a, Receivable>,
    open_receivables: WithoutLast<'a, OpenKey>,
    closed_receivables: WithoutLast<'a, ClosedKey>,
    open_orders: OpenIds<'a, Order>,
    payments: AllItems<'a, Payment>,
    credit_queue: &'a VecDeque<PaymentId>,
    payment_orders: &'a SharedMap<PaymentOrderId, PaymentOrder>,
    promises: &'a SharedMap<PromiseId, Promise>,
    reminders: &'a SharedSet<ReminderId>,
    reminder_keys: &'a SharedSet<ReminderKey>,
    decisions: &'a SharedSet<DecisionId>,
    standing: &'a Option<Box<Standing>>,
    debt: Decimal,
    undelivered: Decimal,
    credit: Decimal,
}

/// Every item of a kind, open and closed, serialized as the map by id it
/// was kept in before closed items were frozen.
struct AllItems<'a, V: Freeze>(&'a SharedMap<V::Id, V>, &'a Archive);

impl<V: Freeze + Serialize> Serialize for AllItems<'_, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // The length up front, as the map this replaces gave it (some
        // formats need it).
        let len = self.0.len() + self.1.count::<V>();
        let mut map = serializer.serialize_map(Some(len))?;
        for item in self.1.merged(self.0) {
            map.serialize_entry(V::id_text(item.id()), &*item)?;
        }
        map.end()
    }
}

/// The ids of a kind's open items, serialized as a set (the orders' open
/// index of the earlier layout).
struct OpenIds<'a, V: Freeze>(&'a SharedMap<V::Id, V>);

impl<V: Freeze> Serialize for OpenIds<'_, V>
where
    V::Id: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A transient account's map holds its closed items too.
        serializer.collect_seq(self.0.values().filter(|v| !v.is_closed()).map(V::id))
    }
}

/// The serialized form of [`CustomerAccount`], owned for reading.
#[derive(Deserialize)]
struct AccountOwned {
    profile: Option<Box<Profile>>,
    version: StreamVersion,
    last_recorded_at: Option<DateTime<Utc>>,
    orders: SharedMap<OrderId, Order>,
    deliveries: SharedSet<DeliveryId>,
    receivables: SharedMap<ReceivableId, Receivable>,
    open_receivables: SharedSet<(NaiveDate, NaiveDate, ReceivableId)>,
    closed_receivables: SharedSet<(NaiveDate, ReceivableId)>,
    /// Derived from the orders' states: checked against them.
    open_orders: SharedSet<OrderId>,
    payments: SharedMap<PaymentId, Payment>,
    credit_queue: VecDeque<PaymentId>,
    payment_orders: SharedMap<PaymentOrderId, PaymentOrder>,
    promises: SharedMap<PromiseId, Promise>,
    reminders: SharedSet<ReminderId>,
    reminder_keys: SharedSet<ReminderKey>,
    decisions: SharedSet<DecisionId>,
    standing: Option<Box<Standing>>,
    debt: Decimal,
    undelivered: Decimal,
    credit: Decimal,
}

impl Serialize for CustomerAccount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rare = self.rare();
        AccountRef {
            profile: &self.profile,
            version: self.version,
            last_recorded_at: self.last_recorded_at,
            orders: AllItems(&self.orders, &self.closed),
            deliveries: &self.deliveries,
            receivables: AllItems(&self.receivables, &self.closed),
            open_receivables: WithoutLast(&self.open_receivables),
            closed_receivables: WithoutLast(&self.closed_receivables),
            open_orders: OpenIds(&self.orders),
            payments: AllItems(&self.payments, &self.closed),
            credit_queue: &rare.credit_queue,
            payment_orders: &rare.payment_orders,
            promises: &rare.promises,
            reminders: &rare.reminders,
            reminder_keys: &rare.reminder_keys,
            decisions: &self.decisions,
            standing: &self.standing,
            debt: self.debt,
            undelivered: self.undelivered,
            credit: self.credit,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CustomerAccount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let a = AccountOwned::deserialize(deserializer)?;
        let receivable = |id: &ReceivableId| {
            a.receivables.get(id).ok_or_else(|| {
                serde::de::Error::custom(format!("indexed receivable {id} is not in `receivables`"))
            })
        };
        let open_receivables = a
            .open_receivables
            .iter()
            .map(|(_, _, id)| receivable(id).map(open_key))
            .collect::<Result<_, D::Error>>()?;
        let closed_receivables = a
            .closed_receivables
            .iter()
            .map(|(on, id)| receivable(id).map(|r| closed_key(r, *on)))
            .collect::<Result<_, D::Error>>()?;
        let rare = Rare {
            credit_queue: a.credit_queue,
            payment_orders: a.payment_orders,
            promises: a.promises,
            reminders: a.reminders,
            reminder_keys: a.reminder_keys,
        };
        // Each item goes where its state says: open ones in the maps, closed
        // ones frozen, as `apply` keeps them.
        let mut closed = Archive::default();
        let mut orders = SharedMap::new();
        for order in a.orders.values() {
            closed.place(&mut orders, order.clone());
        }
        let mut receivables = SharedMap::new();
        for receivable in a.receivables.values() {
            closed.place(&mut receivables, receivable.clone());
        }
        let mut payments = SharedMap::new();
        for payment in a.payments.values() {
            closed.place(&mut payments, payment.clone());
        }
        if !orders.keys().eq(a.open_orders.iter()) {
            return Err(serde::de::Error::custom(
                "`open_orders` does not list exactly the open orders",
            ));
        }
        Ok(Self {
            profile: a.profile,
            version: a.version,
            last_recorded_at: a.last_recorded_at,
            orders,
            deliveries: a.deliveries,
            receivables,
            open_receivables,
            closed_receivables,
            payments,
            closed,
            decisions: a.decisions,
            rare: RarePart::new(rare),
            standing: a.standing,
            debt: a.debt,
            undelivered: a.undelivered,
            credit: a.credit,
        })
    }
}

impl CustomerAccount {
    /// An account with no history (an unregistered customer).
    pub fn new() -> Self {
        Self::default()
    }

    /// An account with no history that keeps its closed items as values,
    /// beside the open ones, instead of freezing them into compact records
    /// (its archive is loose): for an account folded
    /// once, read, and dropped (an audit, a what-if, a replay check).
    /// Closing an item then costs nothing, so it folds events faster; it
    /// holds several times the memory once most of its history is closed.
    /// In every other way (queries, decisions, equality, snapshots) it is
    /// the account [`new`](Self::new) folds. Accounts kept for long (a
    /// service's cache) should be [`new`](Self::new) ones.
    ///
    /// ```
    /// use credence_aggregates::CustomerAccount;
    /// # let history: Vec<credence_events::EventEnvelope> = Vec::new();
    /// // An audit folds each customer's stream once, reads, and drops it.
    /// let mut account = CustomerAccount::transient();
    /// for envelope in &history {
    ///     account.apply(envelope);
    /// }
    /// assert_eq!(account, CustomerAccount::from_history(&history));
    /// ```
    pub fn transient() -> Self {
        Self {
            closed: Archive::loose(),
            ..Self::default()
        }
    }

    /// Folds a whole stream.
    pub fn from_history<'a>(events: impl IntoIterator<Item = &'a EventEnvelope>) -> Self {
        let mut account = Self::new();
        for envelope in events {
            account.apply(envelope);
        }
        account
    }

    // ----- queries -------------------------------------------------------

    /// The profile; `None` until the customer is registered.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_deref()
    }

    /// True once registered.
    pub fn is_registered(&self) -> bool {
        self.profile.is_some()
    }

    /// The stream version this state reflects.
    pub fn version(&self) -> StreamVersion {
        self.version
    }

    /// The latest `recorded_at` applied.
    pub fn last_recorded_at(&self) -> Option<DateTime<Utc>> {
        self.last_recorded_at
    }

    /// The customer's currency (`XXX`, "no currency", before registration).
    pub fn currency(&self) -> Currency {
        self.profile
            .as_ref()
            .map(|p| p.currency)
            .unwrap_or_else(|| Currency::new("XXX").expect("XXX is a valid code"))
    }

    fn money(&self, amount: Decimal) -> Money {
        Money::rounded(amount, self.currency())
    }

    /// Sum of open receivables.
    pub fn debt(&self) -> Money {
        self.money(self.debt)
    }

    /// Open amounts of receivables past their due date on `today`.
    pub fn overdue_debt(&self, today: NaiveDate) -> Money {
        let overdue = self
            .open_amounts()
            .take_while(|(_, _, due)| *due < today)
            .fold(Decimal::ZERO, |acc, (_, open, _)| acc.saturating_add(open));
        self.money(overdue)
    }

    /// Value of accepted, undelivered order lines (after discount).
    pub fn undelivered_value(&self) -> Money {
        self.money(self.undelivered)
    }

    /// Debt plus accepted, undelivered orders: what is compared with the
    /// credit limit.
    pub fn exposure(&self) -> Money {
        self.money(self.debt.saturating_add(self.undelivered))
    }

    /// Unused credit balance from overpayments.
    pub fn credit_balance(&self) -> Money {
        self.money(self.credit)
    }

    /// Open receivables, oldest due date first.
    pub fn open_receivables(&self) -> impl Iterator<Item = &Receivable> {
        self.open_receivables
            .iter()
            .filter_map(|(_, _, id, _)| self.receivables.get(id))
    }

    /// Open receivables, oldest due date first, as (id, open amount, due
    /// date): what [`open_receivables`](Self::open_receivables) gives,
    /// read from the account's index without looking each receivable up.
    pub fn open_amounts(&self) -> impl Iterator<Item = (&ReceivableId, Decimal, NaiveDate)> {
        self.open_receivables
            .iter()
            .map(|(due, _, id, open)| (id, *open, *due))
    }

    /// The closed-receivable index's entries that closed on or before
    /// `up_to`, the most recently closed first (ties: larger id first).
    fn closed_latest_first(&self, up_to: NaiveDate) -> impl Iterator<Item = &ClosedKey> {
        // Evaluating at the present skips nothing; evaluating the past skips
        // what closed after it.
        self.closed_receivables
            .iter()
            .rev()
            .skip_while(move |(closed_on, _, _)| *closed_on > up_to)
    }

    /// Closed receivables that closed on or before `up_to`, the most
    /// recently closed first (ties: larger id first). Each is decoded from
    /// its compact record as it is reached.
    pub fn closed_receivables_latest_first(
        &self,
        up_to: NaiveDate,
    ) -> impl Iterator<Item = Receivable> + '_ {
        self.closed_latest_first(up_to).filter_map(|(_, id, _)| {
            if self.closed.is_loose() {
                self.receivables.get(id).cloned()
            } else {
                self.closed.get::<Receivable>(id)
            }
        })
    }

    /// The sources of the receivables
    /// [`closed_receivables_latest_first`](Self::closed_receivables_latest_first)
    /// gives, in its order: each one's issuing event, then those of the
    /// payments that paid it (its `source` and `paid_by`). Read from the
    /// front of each compact record, without decoding the rest: what
    /// payment-behaviour facts cite.
    pub fn closed_receivable_sources_latest_first(
        &self,
        up_to: NaiveDate,
    ) -> impl Iterator<Item = (EventId, Few<EventId>)> + '_ {
        self.closed_latest_first(up_to).filter_map(|(_, id, _)| {
            if self.closed.is_loose() {
                let r = self.receivables.get(id)?;
                Some((r.source, r.paid_by.clone()))
            } else {
                self.closed.receivable_sources(id)
            }
        })
    }

    /// The days late ([`days_late`]) of the receivables
    /// [`closed_receivables_latest_first`](Self::closed_receivables_latest_first)
    /// gives, in its order, read from the account's index without looking
    /// each receivable up.
    pub fn closed_days_late_latest_first(&self, up_to: NaiveDate) -> impl Iterator<Item = i64> {
        self.closed_latest_first(up_to)
            .map(|(_, _, late)| i64::from(*late))
    }

    /// Orders with something still to deliver (neither fully delivered nor
    /// cancelled), by id.
    pub fn open_orders(&self) -> impl Iterator<Item = &Order> {
        // A transient account's map holds its closed orders too.
        self.orders
            .values()
            .filter(|o| o.status == OrderStatus::Open)
    }

    /// Every receivable ever issued, by id: open ones borrowed, paid ones
    /// decoded from their compact records (see [`CustomerAccount`]).
    pub fn receivables(&self) -> impl Iterator<Item = Cow<'_, Receivable>> {
        self.closed.merged(&self.receivables)
    }

    /// One receivable: borrowed while open, decoded once paid.
    pub fn receivable(&self, id: &ReceivableId) -> Option<Cow<'_, Receivable>> {
        self.closed.find(&self.receivables, id)
    }

    /// True when a receivable has this id (without decoding it).
    pub fn has_receivable(&self, id: &ReceivableId) -> bool {
        self.receivables.contains_key(id) || self.closed.contains::<Receivable>(id)
    }

    /// Every order, by id: open ones borrowed, closed ones (delivered or
    /// cancelled) decoded from their compact records.
    pub fn orders(&self) -> impl Iterator<Item = Cow<'_, Order>> {
        self.closed.merged(&self.orders)
    }

    /// One order: borrowed while open, decoded once closed.
    pub fn order(&self, id: &OrderId) -> Option<Cow<'_, Order>> {
        self.closed.find(&self.orders, id)
    }

    /// True when an order has this id (without decoding it).
    pub fn has_order(&self, id: &OrderId) -> bool {
        self.orders.contains_key(id) || self.closed.contains::<Order>(id)
    }

    /// Every payment, by id: those with credit left borrowed, the others
    /// decoded from their compact records.
    pub fn payments(&self) -> impl Iterator<Item = Cow<'_, Payment>> {
        self.closed.merged(&self.payments)
    }

    /// One payment: borrowed while it has credit left, decoded after.
    pub fn payment(&self, id: &PaymentId) -> Option<Cow<'_, Payment>> {
        self.closed.find(&self.payments, id)
    }

    /// True when a payment has this id (without decoding it).
    pub fn has_payment(&self, id: &PaymentId) -> bool {
        self.payments.contains_key(id) || self.closed.contains::<Payment>(id)
    }

    /// Every payment order, by id.
    pub fn payment_orders(&self) -> &SharedMap<PaymentOrderId, PaymentOrder> {
        &self.rare().payment_orders
    }

    /// Payment orders whose money has not arrived.
    pub fn pending_payment_orders(&self) -> impl Iterator<Item = &PaymentOrder> {
        self.rare()
            .payment_orders
            .values()
            .filter(|p| p.status == PaymentOrderStatus::Pending)
    }

    /// Every promise, by id.
    pub fn promises(&self) -> &SharedMap<PromiseId, Promise> {
        &self.rare().promises
    }

    /// Whether a reminder with this key was already sent.
    pub fn reminder_sent(&self, key: &ReminderKey) -> bool {
        self.rare().reminder_keys.contains(key)
    }

    /// The standing set by policy decisions; `None` before the first one.
    pub fn standing(&self) -> Option<&Standing> {
        self.standing.as_deref()
    }

    /// The rarely used parts (empty ones when absent).
    pub(crate) fn rare(&self) -> &Rare {
        self.rare.get()
    }

    /// The rarely used parts, for a change (created on first use, copied
    /// if a clone shares them).
    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_mut()
    }

    /// Whether a decision id was recorded.
    pub fn has_decision(&self, id: &DecisionId) -> bool {
        self.decisions.contains(id)
    }

    // ----- evolve --------------------------------------------------------

    /// Records one stored event. Total: never fails, never decides.
    pub fn apply(&mut self, envelope: &EventEnvelope) {
        self.version = envelope.version;
        self.last_recorded_at = Some(match self.last_recorded_at {
            Some(last) if last > envelope.recorded_at => last,
            _ => envelope.recorded_at,
        });
        self.apply_event(envelope.id, envelope.occurred_at, &envelope.event);
    }

    fn minor_units(&self) -> u32 {
        self.currency().minor_units()
    }

    /// Recomputes the undelivered total around a change to one order.
    /// `lines_change` says whether `change` may change quantities; the
    /// order's value is computed again after the change only then, or when
    /// its discount changed. An order that closes is frozen; a closed one
    /// is thawed for the change.
    fn update_order(&mut self, id: &OrderId, lines_change: bool, change: impl FnOnce(&mut Order)) {
        let units = self.minor_units();
        let values = self.closed.modify(&mut self.orders, id, |order| {
            let counted = order
                .is_accepted_open()
                .then(|| order.undelivered_value(units));
            let before = counted.unwrap_or(Decimal::ZERO);
            let discount = order.discount;
            change(order);
            let after = match counted {
                _ if !order.is_accepted_open() => Decimal::ZERO,
                Some(value) if !lines_change && order.discount == discount => value,
                _ => order.undelivered_value(units),
            };
            (before, after)
        });
        if let Some((before, after)) = values {
            self.undelivered = self
                .undelivered
                .saturating_sub(before)
                .saturating_add(after);
        }
    }

    /// Pays `amount` off a receivable on `on` by event `source`.
    fn settle(&mut self, id: &ReceivableId, amount: Decimal, on: NaiveDate, source: EventId) {
        let (debt, open_index, closed_index) = (
            &mut self.debt,
            &mut self.open_receivables,
            &mut self.closed_receivables,
        );
        self.closed.modify(&mut self.receivables, id, |r| {
            let amount = amount.min(r.open);
            let was = r.is_open().then(|| open_key(r));
            r.open -= amount;
            r.paid_by.push(source);
            *debt = debt.saturating_sub(amount);
            if let Some(was) = was {
                open_index.remove(&was);
            }
            if r.open <= Decimal::ZERO {
                r.closed_on = Some(on);
                closed_index.insert(closed_key(r, on));
            } else {
                open_index.insert(open_key(r));
            }
        });
    }

    fn reopen(&mut self, id: &ReceivableId, amount: Decimal) {
        let (debt, open_index, closed_index) = (
            &mut self.debt,
            &mut self.open_receivables,
            &mut self.closed_receivables,
        );
        self.closed.modify(&mut self.receivables, id, |r| {
            let amount = amount.min(r.amount - r.open);
            if amount <= Decimal::ZERO {
                return;
            }
            if let Some(closed_on) = r.closed_on.take() {
                closed_index.remove(&closed_key(r, closed_on));
            }
            if r.is_open() {
                open_index.remove(&open_key(r));
            }
            r.open += amount;
            *debt = debt.saturating_add(amount);
            open_index.insert(open_key(r));
        });
    }

    fn standing_mut(&mut self) -> &mut Standing {
        let terms = self.profile.as_ref().map(|p| &p.terms);
        self.standing.get_or_insert_with(|| {
            Box::new(Standing {
                priority: Priority::NORMAL,
                fulfilment: FulfilmentMode::Full,
                discount: terms.map(|t| t.base_discount).unwrap_or_default(),
                markup: terms.map(|t| t.markup).unwrap_or_default(),
                bonus: terms.map(|t| t.bonus).unwrap_or_default(),
                priority_source: None,
                fulfilment_source: None,
                adjustment_sources: AdjustmentSources::default(),
            })
        })
    }

    fn apply_event(&mut self, id: EventId, occurred_at: DateTime<Utc>, event: &Event) {
        match event {
            Event::CustomerRegistered(e) => {
                self.profile = Some(Box::new(Profile {
                    customer: e.customer.clone(),
                    name: e.name.clone(),
                    manager: e.manager.clone(),
                    currency: e.currency,
                    tags: e.tags.clone(),
                    terms: e.terms.clone(),
                    terms_source: id,
                }));
            }
            Event::TermsChanged(e) => {
                if let Some(p) = self.profile.as_mut() {
                    p.terms = e.terms.clone();
                    p.terms_source = id;
                }
            }
            Event::ManagerAssigned(e) => {
                if let Some(p) = self.profile.as_mut() {
                    p.manager = e.manager.clone();
                }
            }
            Event::OrderPlaced(e) => {
                let order = Order {
                    id: e.order.clone(),
                    lines: e
                        .lines
                        .iter()
                        .map(|l| OrderLineState {
                            item: l.item.clone(),
                            ordered: l.quantity.value(),
                            delivered: Decimal::ZERO,
                            unit_price: l.unit_price.amount(),
                        })
                        .collect(),
                    requested_delivery: e.requested_delivery,
                    urgency: e.urgency,
                    discount: e.discount,
                    status: OrderStatus::Open,
                    verdict: None,
                    fulfilment: None,
                    source: id,
                    placed_at: occurred_at,
                };
                self.undelivered = self
                    .undelivered
                    .saturating_add(order.undelivered_value(self.minor_units()));
                self.closed.place(&mut self.orders, order);
            }
            Event::OrderCancelled(e) => {
                self.update_order(&e.order, false, |o| o.status = OrderStatus::Cancelled);
            }
            Event::DeliveryRecorded(e) => {
                self.update_order(&e.order, true, |o| {
                    for delivered in &e.lines {
                        if let Some(line) = o.lines.iter_mut().find(|l| l.item == delivered.item) {
                            line.delivered += delivered.quantity.value();
                        }
                    }
                    if o.lines.iter().all(|l| l.open_quantity().is_zero()) {
                        o.status = OrderStatus::Delivered;
                    }
                });
                self.deliveries.insert(e.delivery.clone());
                let receivable = Receivable {
                    id: e.receivable.clone(),
                    delivery: e.delivery.clone(),
                    order: e.order.clone(),
                    amount: e.amount.amount(),
                    open: e.amount.amount(),
                    issued_on: e.delivered_on,
                    due_date: e.due_date,
                    closed_on: None,
                    source: id,
                    paid_by: Few::new(),
                    explanation: None,
                };
                self.debt = self.debt.saturating_add(receivable.open);
                if receivable.is_open() {
                    self.open_receivables.insert(open_key(&receivable));
                } else {
                    // A zero-amount delivery (100 % discount) is settled at once.
                    let mut receivable = receivable;
                    receivable.closed_on = Some(e.delivered_on);
                    self.closed_receivables
                        .insert(closed_key(&receivable, e.delivered_on));
                    self.closed.place(&mut self.receivables, receivable);
                    return;
                }
                self.closed.place(&mut self.receivables, receivable);
                for applied in &e.credit_applied {
                    let amount = applied.amount.amount();
                    let mut credit_source = id;
                    let used = self
                        .closed
                        .modify(&mut self.payments, &applied.payment, |p| {
                            let amount = amount.min(p.credit_left);
                            p.credit_left -= amount;
                            p.allocations.push((e.receivable.clone(), amount));
                            (amount, p.source, p.credit_left.is_zero())
                        });
                    if let Some((used, source, spent)) = used {
                        credit_source = source;
                        if spent {
                            self.rare_mut()
                                .credit_queue
                                .retain(|q| q != &applied.payment);
                            self.rare.tidy();
                        }
                        self.credit = self.credit.saturating_sub(used);
                    }
                    self.settle(&e.receivable, amount, e.delivered_on, credit_source);
                }
            }
            Event::PaymentReceived(e) => {
                for Allocation { receivable, amount } in &e.allocations {
                    self.settle(receivable, amount.amount(), e.received_on, id);
                }
                let credit_left = e.unallocated.amount().max(Decimal::ZERO);
                self.credit = self.credit.saturating_add(credit_left);
                if credit_left > Decimal::ZERO {
                    self.rare_mut().credit_queue.push_back(e.payment.clone());
                }
                self.closed.place(
                    &mut self.payments,
                    Payment {
                        id: e.payment.clone(),
                        amount: e.amount.amount(),
                        method: e.method,
                        received_on: e.received_on,
                        allocations: e
                            .allocations
                            .iter()
                            .map(|a| (a.receivable.clone(), a.amount.amount()))
                            .collect(),
                        credit_left,
                        reversed: false,
                        source: id,
                    },
                );
                let pending: Vec<PromiseId> = self
                    .rare()
                    .promises
                    .values()
                    .filter(|p| p.status == PromiseStatus::Pending)
                    .map(|p| p.id.clone())
                    .collect();
                if !pending.is_empty() {
                    let promises = &mut self.rare_mut().promises;
                    for id in &pending {
                        if let Some(promise) = promises.get_mut(id) {
                            promise.paid = promise.paid.saturating_add(e.amount.amount());
                        }
                    }
                }
            }
            Event::PaymentReversed(e) => {
                for Allocation { receivable, amount } in &e.reopened {
                    self.reopen(receivable, amount.amount());
                }
                let removed = self.closed.modify(&mut self.payments, &e.payment, |p| {
                    p.reversed = true;
                    let removed = e.credit_removed.amount().min(p.credit_left);
                    p.credit_left -= removed;
                    removed
                });
                if let Some(removed) = removed {
                    self.credit = self.credit.saturating_sub(removed);
                    if self.rare().credit_queue.contains(&e.payment) {
                        self.rare_mut().credit_queue.retain(|q| q != &e.payment);
                        self.rare.tidy();
                    }
                }
            }
            Event::PaymentOrderReceived(e) => {
                self.rare_mut().payment_orders.insert(
                    e.payment_order.clone(),
                    PaymentOrder {
                        id: e.payment_order.clone(),
                        amount: e.amount.amount(),
                        issued_on: e.issued_on,
                        expected_by: e.expected_by,
                        receivables: e.receivables.clone(),
                        status: PaymentOrderStatus::Pending,
                        source: id,
                    },
                );
            }
            Event::PaymentOrderCleared(e) => {
                if let Some(po) = self.rare_mut().payment_orders.get_mut(&e.payment_order) {
                    po.status = PaymentOrderStatus::Cleared;
                }
            }
            Event::PaymentOrderExpired(e) => {
                if let Some(po) = self.rare_mut().payment_orders.get_mut(&e.payment_order) {
                    po.status = PaymentOrderStatus::Expired;
                }
            }
            Event::ReminderSent(e) => {
                let rare = self.rare_mut();
                rare.reminders.insert(e.reminder.clone());
                let keys: Vec<Option<ReceivableId>> = if e.receivables.is_empty() {
                    vec![None]
                } else {
                    e.receivables.iter().cloned().map(Some).collect()
                };
                for receivable in keys {
                    rare.reminder_keys.insert(ReminderKey {
                        kind: e.kind,
                        recipient: e.recipient,
                        level: e.level,
                        receivable,
                    });
                }
            }
            Event::DelayExplained(e) => {
                let explanation = DelayExplanation {
                    reason: e.reason.clone(),
                    text: e.text.clone(),
                    promised_date: e.promised_date,
                    manager: e.manager.clone(),
                    source: id,
                };
                for r in &e.receivables {
                    self.closed.modify(&mut self.receivables, r, |r| {
                        r.explanation = Some(Box::new(explanation.clone()));
                    });
                }
            }
            Event::PromiseToPayMade(e) => {
                self.rare_mut().promises.insert(
                    e.promise.clone(),
                    Promise {
                        id: e.promise.clone(),
                        amount: e.amount.amount(),
                        promised_date: e.promised_date,
                        receivables: e.receivables.clone(),
                        paid: Decimal::ZERO,
                        status: PromiseStatus::Pending,
                        source: id,
                    },
                );
            }
            Event::PromiseToPayKept(e) => {
                if let Some(p) = self.rare_mut().promises.get_mut(&e.promise) {
                    p.status = PromiseStatus::Kept;
                }
            }
            Event::PromiseToPayBroken(e) => {
                if let Some(p) = self.rare_mut().promises.get_mut(&e.promise) {
                    p.status = PromiseStatus::Broken;
                }
            }
            Event::CreditDecided(e) => {
                self.decisions.insert(e.decision.clone());
                if let Some(order) = &e.order {
                    let (verdict, fulfilment, suspend) = (
                        e.verdict,
                        e.fulfilment,
                        e.discount == credence_events::DiscountOutcome::Suspended,
                    );
                    self.update_order(order, false, |o| {
                        o.verdict = Some(verdict);
                        o.fulfilment = Some(fulfilment);
                        if suspend {
                            o.discount = Rate::ZERO;
                        }
                    });
                }
                let standing = self.standing_mut();
                standing.priority = e.priority;
                standing.priority_source = Some(id);
            }
            Event::PriceAdjustmentChanged(e) => {
                self.decisions.insert(e.decision.clone());
                let standing = self.standing_mut();
                match e.adjustment {
                    AdjustmentKind::Discount => standing.discount = e.to,
                    AdjustmentKind::Markup => standing.markup = e.to,
                    AdjustmentKind::Bonus => standing.bonus = e.to,
                }
                standing.adjustment_sources.set(e.adjustment, id);
            }
            Event::PriorityChanged(e) => {
                self.decisions.insert(e.decision.clone());
                let standing = self.standing_mut();
                standing.priority = e.to;
                standing.priority_source = Some(id);
            }
            Event::FulfilmentModeChanged(e) => {
                self.decisions.insert(e.decision.clone());
                let standing = self.standing_mut();
                standing.fulfilment = e.to;
                standing.fulfilment_source = Some(id);
            }
            // `Event` is non-exhaustive: a newer event type this build does not
            // know changes nothing here.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}
