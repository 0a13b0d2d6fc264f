//! Facts: what a policy may know about a customer at a business time, each
//! with the ids of the events it came from.
//!
//! [`Facts::compute`] reads a [`CustomerAccount`] at `now` and produces named,
//! typed values (the catalogue is [`FACTS`]). Every value carries the events
//! that produced it, so an explanation can point at them: debt points at the
//! deliveries (and partial payments) of the open receivables, the days past
//! due at the oldest overdue receivable, promise counts at the promises, and
//! so on. A value with no events behind it (no debt at all) has no sources.
//!
//! # Cost
//!
//! Debt, aging and days past due read only the open receivables. Payment
//! behaviour, promises and payment orders scan the account's maps of those
//! entities (bounded by a look-back window in the result, but the scan is
//! linear in their number); see the crate docs for what a snapshot-indexed
//! account would need to make that constant.
//!
//! Building the lists of source events costs more than the values. Within
//! the crate a computation can leave out the sources of facts no trace will
//! show: an order decision finds its rule on values alone, then computes
//! the sources of the facts that rule names, and what-if compares outcomes
//! on values alone. [`Facts::compute`] always builds every list.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Days, NaiveDate, Utc};
use credence_aggregates::{
    CustomerAccount, Few, OrderStatus, PaymentOrder, PaymentOrderStatus, Promise, PromiseStatus,
    Receivable, days_late,
};
use credence_events::{
    BusinessCalendar, CustomerId, DayKind, EventId, FactValue, Money, OrderId, ReceivableId,
    ServiceLevel, Urgency, days_past_due,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;

/// The type of a fact, which decides what thresholds and comparisons it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactType {
    /// `true` / `false`; compared with `eq` and `ne`.
    Bool,
    /// A count or a number of days; a JSON integer threshold.
    Integer,
    /// An exact number (a ratio, a percentage); a JSON number or decimal string.
    Decimal,
    /// An amount in the customer's currency; the threshold is a bare amount.
    Money,
    /// A label; compared with `eq` and `ne` against a string.
    Text,
    /// A set of labels (the customer's tags); compared with `contains`.
    Tags,
}

impl fmt::Display for FactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bool => "bool",
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Money => "money",
            Self::Text => "text",
            Self::Tags => "tags",
        })
    }
}

/// One entry of the fact catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactSpec {
    /// The name used in policy documents.
    pub name: &'static str,
    /// Its type.
    pub fact_type: FactType,
    /// What it means.
    pub description: &'static str,
}

const fn spec(name: &'static str, fact_type: FactType, description: &'static str) -> FactSpec {
    FactSpec {
        name,
        fact_type,
        description,
    }
}

/// Every built-in fact a policy document may name.
pub const FACTS: &[FactSpec] = &[
    spec("debt", FactType::Money, "sum of open receivables"),
    spec(
        "overdue_debt",
        FactType::Money,
        "open amounts past their due date",
    ),
    spec(
        "overdue_1_7",
        FactType::Money,
        "overdue debt 1 to 7 days past due",
    ),
    spec(
        "overdue_8_30",
        FactType::Money,
        "overdue debt 8 to 30 days past due",
    ),
    spec(
        "overdue_31_60",
        FactType::Money,
        "overdue debt 31 to 60 days past due",
    ),
    spec(
        "overdue_61_90",
        FactType::Money,
        "overdue debt 61 to 90 days past due",
    ),
    spec(
        "overdue_over_90",
        FactType::Money,
        "overdue debt more than 90 days past due",
    ),
    spec(
        "max_days_past_due",
        FactType::Integer,
        "calendar days past due of the oldest overdue receivable (0 when none)",
    ),
    spec(
        "max_business_days_past_due",
        FactType::Integer,
        "business days past due of the oldest overdue receivable (0 when none)",
    ),
    spec(
        "overdue_receivables",
        FactType::Integer,
        "number of overdue receivables",
    ),
    spec(
        "open_receivables",
        FactType::Integer,
        "number of open receivables",
    ),
    spec(
        "exposure",
        FactType::Money,
        "debt plus accepted, undelivered orders",
    ),
    spec(
        "credit_limit",
        FactType::Money,
        "the credit limit in the terms",
    ),
    spec(
        "limit_usage_percent",
        FactType::Decimal,
        "exposure as a percentage of the credit limit, 2 decimals (100 when the limit is zero and there is exposure)",
    ),
    spec(
        "over_credit_limit",
        FactType::Bool,
        "exposure above the credit limit",
    ),
    spec(
        "credit_balance",
        FactType::Money,
        "unused credit from overpayments",
    ),
    spec(
        "pending_payment_orders",
        FactType::Integer,
        "payment orders whose money has not arrived",
    ),
    spec(
        "pending_payment_orders_amount",
        FactType::Money,
        "amount of pending payment orders",
    ),
    spec(
        "payment_orders_cover_overdue",
        FactType::Bool,
        "there is overdue debt and pending payment orders cover all of it",
    ),
    spec(
        "expired_payment_orders",
        FactType::Integer,
        "payment orders that expired within the look-back window",
    ),
    spec(
        "promises_broken",
        FactType::Integer,
        "promises to pay broken within the look-back window",
    ),
    spec(
        "promises_kept",
        FactType::Integer,
        "promises to pay kept within the look-back window",
    ),
    spec(
        "promises_pending",
        FactType::Integer,
        "promises to pay not yet due",
    ),
    spec(
        "paid_receivables",
        FactType::Integer,
        "closed receivables in the behaviour window (the last N closed)",
    ),
    spec(
        "average_days_late",
        FactType::Decimal,
        "average calendar days late over the behaviour window, 2 decimals (0 when none)",
    ),
    spec(
        "recent_days_late",
        FactType::Integer,
        "days late of the most recently closed receivable (0 when none)",
    ),
    spec(
        "on_time_ratio",
        FactType::Decimal,
        "share of the behaviour window paid by the due date, 2 decimals (1 when none)",
    ),
    spec(
        "deferral_days",
        FactType::Integer,
        "payment deferral in the terms, in days",
    ),
    spec(
        "deferral_kind",
        FactType::Text,
        "\"calendar\" or \"business\"",
    ),
    spec(
        "service_level",
        FactType::Text,
        "\"basic\", \"standard\" or \"premium\"",
    ),
    spec(
        "base_discount_percent",
        FactType::Decimal,
        "the usual discount in the terms, in percent",
    ),
    spec("tags", FactType::Tags, "the customer's tags or segments"),
    spec(
        "order_value",
        FactType::Money,
        "value of the order being decided, after its discount (only at order placement)",
    ),
    spec(
        "order_urgency",
        FactType::Text,
        "\"normal\", \"urgent\" or \"same_day\" (only at order placement)",
    ),
    spec(
        "order_same_day",
        FactType::Bool,
        "the order being decided wants same-day delivery (only at order placement)",
    ),
];

/// True when a promise is broken on `today`: recorded as broken, or still
/// pending with its date passed (the aggregate records the break only when
/// deadlines are checked or money arrives; the facts do not wait for that).
pub fn promise_broken(promise: &Promise, today: NaiveDate) -> bool {
    match promise.status {
        PromiseStatus::Broken => true,
        PromiseStatus::Pending => promise.promised_date < today,
        PromiseStatus::Kept => false,
    }
}

/// True when a payment order's money is late on `today`: recorded as
/// expired, or still pending after its expected date.
pub fn payment_order_expired(order: &PaymentOrder, today: NaiveDate) -> bool {
    match order.status {
        PaymentOrderStatus::Expired => true,
        PaymentOrderStatus::Pending => order.expected_by < today,
        PaymentOrderStatus::Cleared => false,
    }
}

/// The catalogue entry for `name`, if it is a built-in fact.
pub fn fact_spec(name: &str) -> Option<&'static FactSpec> {
    FACTS.iter().find(|f| f.name == name)
}

/// A fact's value at evaluation time and the events it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// The value.
    pub value: FactValue,
    /// For a `tags` fact: the labels (the value is their comma-joined text).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub labels: BTreeSet<String>,
    /// The events that produced the value.
    pub sources: Vec<EventId>,
}

impl Observed {
    /// A value with its sources.
    pub fn new(value: FactValue, sources: Vec<EventId>) -> Self {
        Self {
            value,
            labels: BTreeSet::new(),
            sources,
        }
    }

    /// A set of labels.
    pub fn labels(labels: BTreeSet<String>, sources: Vec<EventId>) -> Self {
        let text = labels.iter().cloned().collect::<Vec<_>>().join(",");
        Self {
            value: FactValue::Text(text),
            labels,
            sources,
        }
    }
}

/// A set of built-in facts, by catalogue position: the facts whose values
/// a computation sets, or whose lists of source events it builds (see
/// [`Wanted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FactSet(u64);

const _: () = assert!(FACTS.len() <= 64, "FactSet holds a bit per fact");

impl FactSet {
    /// Every fact.
    pub(crate) const ALL: FactSet = FactSet(u64::MAX);
    /// No fact at all.
    pub(crate) const NONE: FactSet = FactSet(0);

    /// This set and the fact at catalogue position `index`.
    pub(crate) fn with(self, index: usize) -> FactSet {
        FactSet(self.0 | 1 << index)
    }

    /// The facts of this set and of `other`.
    pub(crate) fn union(self, other: FactSet) -> FactSet {
        FactSet(self.0 | other.0)
    }

    /// True when the set is empty.
    pub(crate) fn is_none(self) -> bool {
        self.0 == 0
    }

    /// Whether the fact at catalogue position `index` is in the set.
    fn wants(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }

    /// Whether any of the facts at `indexes` is in the set.
    fn any(self, indexes: &[usize]) -> bool {
        indexes.iter().any(|&i| self.wants(i))
    }
}

/// What a computation of facts builds: the values of a set of built-in
/// facts (the others are absent) and, of those, the lists of source events
/// of a subset (the others get an empty list, as may any fact computed from
/// no source). A rule's untraced check reads the values of the facts its
/// policy's conditions name; a trace also needs the sources of the facts
/// its own conditions name. Public computations ([`Facts::compute`],
/// [`Facts::for_order`]) build everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wanted {
    values: FactSet,
    sources: FactSet,
}

impl Wanted {
    /// Every value, every list of sources.
    pub(crate) const ALL: Wanted = Wanted {
        values: FactSet::ALL,
        sources: FactSet::ALL,
    };

    /// The values of `values`, without sources.
    pub(crate) fn values(values: FactSet) -> Wanted {
        Wanted {
            values,
            sources: FactSet::NONE,
        }
    }

    /// The same values and the lists of sources of `sources` (whose values
    /// are then wanted too).
    pub(crate) fn with_sources(self, sources: FactSet) -> Wanted {
        Wanted {
            values: self.values.union(sources),
            sources,
        }
    }
}

/// The facts a computation sets: those whose values are wanted. An
/// observation is built (a closure called) only for a wanted fact.
struct Sink {
    map: FactMap,
    wanted: FactSet,
}

impl Sink {
    fn new(wanted: FactSet) -> Self {
        Self {
            map: FactMap::default(),
            wanted,
        }
    }

    /// Sets the built-in fact at catalogue position `index` when its value
    /// is wanted.
    fn set(&mut self, index: usize, observed: impl FnOnce() -> Observed) {
        if self.wanted.wants(index) {
            self.map.set(index, observed());
        }
    }

    /// Whether the value of any of the facts at `indexes` is wanted.
    fn wants_any(&self, indexes: &[usize]) -> bool {
        self.wanted.any(indexes)
    }
}

/// Settings of fact computation that a policy chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsConfig {
    /// How many of the most recently closed receivables payment behaviour
    /// looks at.
    #[serde(default = "default_window")]
    pub behaviour_window: u16,
    /// How many calendar days back broken/kept promises and expired payment
    /// orders count.
    #[serde(default = "default_lookback")]
    pub lookback_days: u16,
}

fn default_window() -> u16 {
    6
}

fn default_lookback() -> u16 {
    90
}

impl Default for FactsConfig {
    fn default() -> Self {
        Self {
            behaviour_window: default_window(),
            lookback_days: default_lookback(),
        }
    }
}

/// One open receivable as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivableFacts {
    /// The receivable.
    pub id: ReceivableId,
    /// What is still owed.
    pub open: Money,
    /// Its due date.
    pub due_date: NaiveDate,
    /// Calendar days past due (zero or negative: not overdue).
    pub days_past_due: i64,
    /// Business days past due.
    pub business_days_past_due: u32,
    /// The delivery event that created it, then the payments that paid on it.
    pub sources: Vec<EventId>,
}

impl ReceivableFacts {
    /// True when past its due date.
    pub fn is_overdue(&self) -> bool {
        self.days_past_due > 0
    }
}

/// Everything a policy knows about one customer at one business time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The customer.
    pub customer: CustomerId,
    /// The business time of evaluation.
    pub evaluated_at: DateTime<Utc>,
    /// The supplier's local date at `evaluated_at`.
    pub today: NaiveDate,
    /// The order being decided, at order placement.
    pub order: Option<OrderId>,
    /// Open receivables, oldest due date first.
    pub receivables: Vec<ReceivableFacts>,
    /// Built-in facts by catalogue position, extension facts by name.
    values: FactMap,
}

fn push_unique(into: &mut Vec<EventId>, ids: impl IntoIterator<Item = EventId>) {
    for id in ids {
        if !into.contains(&id) {
            into.push(id);
        }
    }
}

fn receivable_sources(r: &Receivable) -> Vec<EventId> {
    sources_of(r.source, &r.paid_by)
}

/// A receivable's sources from its issuing event and its payments'.
fn sources_of(source: EventId, paid_by: &Few<EventId>) -> Vec<EventId> {
    let mut sources = Vec::with_capacity(1 + paid_by.len());
    sources.push(source);
    push_unique(&mut sources, paid_by.iter().copied());
    sources
}

/// The catalogue position of built-in fact `name`, for use in constants
/// (`fact!("debt")`): a name missing from [`FACTS`] fails the build.
const fn index_of(name: &str) -> usize {
    let mut i = 0;
    while i < FACTS.len() {
        if str_eq(FACTS[i].name, name) {
            return i;
        }
        i += 1;
    }
    panic!("not a built-in fact")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The catalogue position of a built-in fact, checked at compile time.
macro_rules! fact {
    ($name:literal) => {
        const { index_of($name) }
    };
}

/// The facts whose sources include the exposure's (debt and accepted open
/// orders).
const EXPOSURE_FACTS: [usize; 3] = [
    index_of("exposure"),
    index_of("limit_usage_percent"),
    index_of("over_credit_limit"),
];

/// The facts whose sources include the event that set the terms' limit.
const LIMIT_FACTS: [usize; 3] = [
    index_of("credit_limit"),
    index_of("limit_usage_percent"),
    index_of("over_credit_limit"),
];

/// The built-in facts' catalogue positions in name order: what name lookups
/// search and what iteration walks.
fn by_name() -> &'static [(&'static str, usize)] {
    static BY_NAME: std::sync::LazyLock<Vec<(&'static str, usize)>> =
        std::sync::LazyLock::new(|| {
            let mut names: Vec<_> = FACTS.iter().enumerate().map(|(i, f)| (f.name, i)).collect();
            names.sort_unstable();
            names
        });
    &BY_NAME
}

/// The catalogue position of built-in fact `name`.
pub(crate) fn builtin_index(name: &str) -> Option<usize> {
    let names = by_name();
    names
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| names[i].1)
}

/// The facts: built-in ones in a slot per catalogue entry (set and read by
/// position, no name comparison, no sorting), facts of Rust extensions by
/// name in a sorted vector. A name is in one or the other, never both, so
/// equal maps have equal representations. Serialised as a map in name
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FactMap {
    builtin: Vec<Option<Observed>>,
    extra: Vec<(String, Observed)>,
}

impl Default for FactMap {
    fn default() -> Self {
        Self {
            builtin: FACTS.iter().map(|_| None).collect(),
            extra: Vec::new(),
        }
    }
}

impl FactMap {
    /// Sets the built-in fact at catalogue position `index`.
    fn set(&mut self, index: usize, observed: Observed) {
        self.builtin[index] = Some(observed);
    }

    fn insert(&mut self, name: String, observed: Observed) {
        if let Some(index) = builtin_index(&name) {
            return self.set(index, observed);
        }
        match self.extra.binary_search_by(|(k, _)| k.as_str().cmp(&name)) {
            Ok(i) => self.extra[i].1 = observed,
            Err(i) => self.extra.insert(i, (name, observed)),
        }
    }

    fn get(&self, name: &str) -> Option<&Observed> {
        match builtin_index(name) {
            Some(index) => self.builtin[index].as_ref(),
            None => self
                .extra
                .binary_search_by(|(k, _)| k.as_str().cmp(name))
                .ok()
                .map(|i| &self.extra[i].1),
        }
    }

    /// Every fact, in name order.
    fn iter(&self) -> impl Iterator<Item = (&str, &Observed)> {
        let mut builtin = by_name()
            .iter()
            .filter_map(|&(name, i)| self.builtin[i].as_ref().map(|o| (name, o)))
            .peekable();
        let mut extra = self.extra.iter().map(|(k, v)| (k.as_str(), v)).peekable();
        std::iter::from_fn(move || match (builtin.peek(), extra.peek()) {
            (Some(b), Some(e)) if e.0 < b.0 => extra.next(),
            (Some(_), _) => builtin.next(),
            (None, _) => extra.next(),
        })
    }

    fn values(&self) -> impl Iterator<Item = &Observed> {
        self.builtin
            .iter()
            .flatten()
            .chain(self.extra.iter().map(|(_, v)| v))
    }
}

impl Serialize for FactMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for FactMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Observed>::deserialize(deserializer)?;
        let mut facts = FactMap::default();
        for (name, observed) in map {
            facts.insert(name, observed);
        }
        Ok(facts)
    }
}

/// The facts of exposure and the credit limit.
const LIMIT_AND_EXPOSURE: [usize; 4] = [
    index_of("exposure"),
    index_of("credit_limit"),
    index_of("limit_usage_percent"),
    index_of("over_credit_limit"),
];

/// Exposure, credit limit, limit usage and over-limit facts.
fn exposure_facts(
    values: &mut Sink,
    exposure: Money,
    exposure_sources: Vec<EventId>,
    limit: Money,
    // `None` when sources are not wanted.
    terms_source: Option<EventId>,
) {
    let mut limit_sources = Vec::new();
    if let Some(terms_source) = terms_source {
        limit_sources.reserve_exact(exposure_sources.len() + 1);
        limit_sources.extend_from_slice(&exposure_sources);
        push_unique(&mut limit_sources, [terms_source]);
    }
    values.set(fact!("exposure"), || {
        Observed::new(FactValue::Money(exposure), exposure_sources)
    });
    values.set(fact!("credit_limit"), || {
        Observed::new(FactValue::Money(limit), terms_source.into_iter().collect())
    });
    values.set(fact!("limit_usage_percent"), || {
        let usage = if limit.amount().is_zero() {
            if exposure.is_positive() {
                Decimal::ONE_HUNDRED
            } else {
                Decimal::ZERO
            }
        } else {
            exposure
                .amount()
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(limit.amount()))
                .unwrap_or(Decimal::MAX)
                .round_dp(2)
        };
        Observed::new(FactValue::Decimal(usage), limit_sources.clone())
    });
    values.set(fact!("over_credit_limit"), || {
        Observed::new(
            FactValue::Bool(exposure.amount() > limit.amount()),
            limit_sources,
        )
    });
}

fn int(v: impl TryInto<i64>) -> FactValue {
    FactValue::Integer(v.try_into().unwrap_or(i64::MAX))
}

impl Facts {
    /// Computes the facts of `account` at business time `now`. The account
    /// must hold only what was known at `now` (a prefix of the stream for an
    /// as-of evaluation), so a decision depends only on the past.
    ///
    /// # Errors
    ///
    /// [`PolicyError::UnknownCustomer`] for an unregistered account;
    /// [`PolicyError::FutureEvents`] when the account holds events recorded
    /// after `now`.
    pub fn compute(
        account: &CustomerAccount,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
        config: &FactsConfig,
    ) -> Result<Facts, PolicyError> {
        Self::compute_with(account, now, calendar, config, Wanted::ALL)
    }

    /// [`Facts::compute`], building only what is `wanted`: the facts whose
    /// values are not wanted are absent, and without sources a fact's list
    /// is empty; every value present is the one [`Facts::compute`] gives.
    /// What a rule's untraced check reads, at a fraction of the cost (no
    /// list of events is built, no unread fact computed).
    pub(crate) fn compute_with(
        account: &CustomerAccount,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
        config: &FactsConfig,
        wanted: Wanted,
    ) -> Result<Facts, PolicyError> {
        let sourced = wanted.sources;
        // Which intermediate lists of sources are needed: each feeds the
        // facts named here.
        let debt_facts = [
            fact!("debt"),
            fact!("open_receivables"),
            EXPOSURE_FACTS[0],
            EXPOSURE_FACTS[1],
            EXPOSURE_FACTS[2],
        ];
        let overdue_facts = [
            fact!("overdue_debt"),
            fact!("overdue_receivables"),
            fact!("payment_orders_cover_overdue"),
        ];
        let bucket_facts = [
            fact!("overdue_1_7"),
            fact!("overdue_8_30"),
            fact!("overdue_31_60"),
            fact!("overdue_61_90"),
            fact!("overdue_over_90"),
        ];
        let keep_debt = sourced.any(&debt_facts);
        let keep_overdue = sourced.any(&overdue_facts);
        let keep_receivables = keep_debt
            || keep_overdue
            || sourced.any(&bucket_facts)
            || sourced.any(&[
                fact!("max_days_past_due"),
                fact!("max_business_days_past_due"),
            ]);
        let keep_exposure = sourced.any(&EXPOSURE_FACTS);
        let keep_terms_in_limit = sourced.any(&LIMIT_FACTS);
        let keep_pending = sourced.any(&[
            fact!("pending_payment_orders"),
            fact!("pending_payment_orders_amount"),
            fact!("payment_orders_cover_overdue"),
        ]);
        let keep_behaviour = sourced.any(&[
            fact!("paid_receivables"),
            fact!("average_days_late"),
            fact!("on_time_ratio"),
        ]);
        let keep_terms = sourced.any(&[
            fact!("deferral_days"),
            fact!("deferral_kind"),
            fact!("service_level"),
            fact!("base_discount_percent"),
        ]);
        let profile = account.profile().ok_or(PolicyError::UnknownCustomer)?;
        if let Some(last) = account.last_recorded_at() {
            if last > now {
                return Err(PolicyError::FutureEvents { last, now });
            }
        }
        let currency = profile.currency;
        let today = calendar.local_date(now);
        let money = |d: Decimal| Money::rounded(d, currency);
        let mut values = Sink::new(wanted.values);

        // Open receivables: debt, overdue, aging, days past due. Without
        // sources, read from the account's index (no lookup of each).
        let receivable_facts = |id: &ReceivableId, open, due_date, sources| ReceivableFacts {
            id: id.clone(),
            open: money(open),
            due_date,
            days_past_due: days_past_due(due_date, today),
            business_days_past_due: calendar.business_days_past_due(due_date, today),
            sources,
        };
        let receivables: Vec<ReceivableFacts> = if keep_receivables {
            account
                .open_receivables()
                .map(|r| receivable_facts(&r.id, r.open, r.due_date, receivable_sources(r)))
                .collect()
        } else {
            account
                .open_amounts()
                .map(|(id, open, due_date)| receivable_facts(id, open, due_date, Vec::new()))
                .collect()
        };
        let mut debt_sources =
            Vec::with_capacity(receivables.iter().map(|r| r.sources.len()).sum());
        let mut overdue_sources = Vec::new();
        let mut overdue = Decimal::ZERO;
        let mut overdue_count = 0_i64;
        let mut buckets = [Decimal::ZERO; 5];
        let mut bucket_sources: [Vec<EventId>; 5] = Default::default();
        let mut max_dpd = (0_i64, None);
        let mut max_bdpd = (0_u32, None);
        for r in &receivables {
            if keep_debt {
                push_unique(&mut debt_sources, r.sources.iter().copied());
            }
            if !r.is_overdue() {
                continue;
            }
            overdue_count += 1;
            overdue = overdue.saturating_add(r.open.amount());
            let bucket = match r.days_past_due {
                ..=7 => 0,
                8..=30 => 1,
                31..=60 => 2,
                61..=90 => 3,
                _ => 4,
            };
            buckets[bucket] = buckets[bucket].saturating_add(r.open.amount());
            if keep_overdue {
                push_unique(&mut overdue_sources, r.sources.iter().copied());
            }
            if sourced.wants(bucket_facts[bucket]) {
                push_unique(&mut bucket_sources[bucket], r.sources.iter().copied());
            }
            if r.days_past_due > max_dpd.0 {
                max_dpd = (r.days_past_due, r.sources.first().copied());
            }
            if r.business_days_past_due > max_bdpd.0 {
                max_bdpd = (r.business_days_past_due, r.sources.first().copied());
            }
        }
        values.set(fact!("debt"), || {
            Observed::new(FactValue::Money(account.debt()), debt_sources.clone())
        });
        values.set(fact!("overdue_debt"), || {
            Observed::new(FactValue::Money(money(overdue)), overdue_sources.clone())
        });
        for ((index, amount), sources) in bucket_facts.into_iter().zip(buckets).zip(bucket_sources)
        {
            values.set(index, || {
                Observed::new(FactValue::Money(money(amount)), sources)
            });
        }
        values.set(fact!("max_days_past_due"), || {
            Observed::new(int(max_dpd.0), max_dpd.1.into_iter().collect())
        });
        values.set(fact!("max_business_days_past_due"), || {
            Observed::new(int(max_bdpd.0), max_bdpd.1.into_iter().collect())
        });
        values.set(fact!("overdue_receivables"), || {
            Observed::new(int(overdue_count), overdue_sources.clone())
        });
        // Exposure and the credit limit.
        let mut exposure_sources = Vec::new();
        if keep_exposure {
            // Room for the debt's sources and a few open orders.
            exposure_sources.reserve_exact(debt_sources.len() + 4);
            exposure_sources.extend_from_slice(&debt_sources);
            push_unique(
                &mut exposure_sources,
                account
                    .open_orders()
                    .filter(|o| o.is_accepted_open())
                    .map(|o| o.source),
            );
        }
        values.set(fact!("open_receivables"), || {
            Observed::new(int(receivables.len()), debt_sources)
        });
        if values.wants_any(&LIMIT_AND_EXPOSURE) {
            exposure_facts(
                &mut values,
                account.exposure(),
                exposure_sources,
                profile.terms.credit_limit,
                keep_terms_in_limit.then_some(profile.terms_source),
            );
        }
        values.set(fact!("credit_balance"), || {
            Observed::new(FactValue::Money(account.credit_balance()), Vec::new())
        });

        // Payment orders and promises within the look-back window.
        let lookback_start = today
            .checked_sub_days(Days::new(config.lookback_days.into()))
            .unwrap_or(NaiveDate::MIN);
        if values.wants_any(&[
            fact!("pending_payment_orders"),
            fact!("pending_payment_orders_amount"),
            fact!("payment_orders_cover_overdue"),
            fact!("expired_payment_orders"),
        ]) {
            let mut pending = (0_i64, Decimal::ZERO, Vec::new());
            let mut expired = (0_i64, Vec::new());
            for po in account.payment_orders().values() {
                if payment_order_expired(po, today) {
                    if po.expected_by > lookback_start {
                        expired.0 += 1;
                        if sourced.wants(fact!("expired_payment_orders")) {
                            expired.1.push(po.source);
                        }
                    }
                } else if po.status == PaymentOrderStatus::Pending {
                    pending.0 += 1;
                    pending.1 = pending.1.saturating_add(po.amount);
                    if keep_pending {
                        pending.2.push(po.source);
                    }
                }
            }
            let covers = overdue > Decimal::ZERO && pending.1 >= overdue;
            let mut cover_sources = Vec::with_capacity(pending.2.len() + overdue_sources.len());
            cover_sources.extend_from_slice(&pending.2);
            push_unique(&mut cover_sources, overdue_sources);
            values.set(fact!("pending_payment_orders"), || {
                Observed::new(int(pending.0), pending.2.clone())
            });
            values.set(fact!("pending_payment_orders_amount"), || {
                Observed::new(FactValue::Money(money(pending.1)), pending.2)
            });
            values.set(fact!("payment_orders_cover_overdue"), || {
                Observed::new(FactValue::Bool(covers), cover_sources)
            });
            values.set(fact!("expired_payment_orders"), || {
                Observed::new(int(expired.0), expired.1)
            });
        }
        if values.wants_any(&[
            fact!("promises_broken"),
            fact!("promises_kept"),
            fact!("promises_pending"),
        ]) {
            let mut broken = (0_i64, Vec::new());
            let mut kept = (0_i64, Vec::new());
            let mut promised = (0_i64, Vec::new());
            for p in account.promises().values() {
                let recent = p.promised_date > lookback_start;
                if promise_broken(p, today) {
                    if recent {
                        broken.0 += 1;
                        if sourced.wants(fact!("promises_broken")) {
                            broken.1.push(p.source);
                        }
                    }
                } else if p.status == PromiseStatus::Kept {
                    if recent {
                        kept.0 += 1;
                        if sourced.wants(fact!("promises_kept")) {
                            kept.1.push(p.source);
                        }
                    }
                } else if p.status == PromiseStatus::Pending {
                    promised.0 += 1;
                    if sourced.wants(fact!("promises_pending")) {
                        promised.1.push(p.source);
                    }
                }
            }
            values.set(fact!("promises_broken"), || {
                Observed::new(int(broken.0), broken.1)
            });
            values.set(fact!("promises_kept"), || {
                Observed::new(int(kept.0), kept.1)
            });
            values.set(fact!("promises_pending"), || {
                Observed::new(int(promised.0), promised.1)
            });
        }

        // Payment behaviour over the last N closed receivables: their days
        // late from the account's index; the receivables themselves (a
        // lookup each) only for sources.
        if values.wants_any(&[
            fact!("paid_receivables"),
            fact!("average_days_late"),
            fact!("on_time_ratio"),
            fact!("recent_days_late"),
        ]) {
            let window = usize::from(config.behaviour_window);
            // Room for the usual window at once (a wide one grows).
            let mut late: Vec<i64> = Vec::with_capacity(window.min(64));
            late.extend(account.closed_days_late_latest_first(today).take(window));
            // Their sources, read from the front of each record.
            let closed: Vec<(EventId, Few<EventId>)> =
                if keep_behaviour || sourced.wants(fact!("recent_days_late")) {
                    account
                        .closed_receivable_sources_latest_first(today)
                        .take(window)
                        .collect()
                } else {
                    Vec::new()
                };
            debug_assert!(
                account
                    .closed_receivables_latest_first(today)
                    .take(window)
                    .map(|r| r.closed_on.map_or(0, |on| days_late(on, r.due_date)))
                    .eq(late.iter().copied()),
                "the index's days late are the receivables'"
            );
            let mut behaviour_sources = Vec::new();
            for (source, paid_by) in closed.iter().filter(|_| keep_behaviour) {
                // As `receivable_sources`, without a vector per receivable.
                push_unique(
                    &mut behaviour_sources,
                    std::iter::once(*source).chain(paid_by.iter().copied()),
                );
            }
            // Over no receivable, nobody was late: on time, 0 days late.
            let share = |part: Decimal, otherwise: Decimal| {
                if late.is_empty() {
                    otherwise
                } else {
                    (part / Decimal::from(late.len())).round_dp(2)
                }
            };
            values.set(fact!("paid_receivables"), || {
                Observed::new(int(late.len()), behaviour_sources.clone())
            });
            values.set(fact!("average_days_late"), || {
                let average = share(Decimal::from(late.iter().sum::<i64>()), Decimal::ZERO);
                Observed::new(FactValue::Decimal(average), behaviour_sources.clone())
            });
            values.set(fact!("on_time_ratio"), || {
                let on_time = late.iter().filter(|&&days| days == 0).count();
                let ratio = share(Decimal::from(on_time), Decimal::ONE);
                Observed::new(FactValue::Decimal(ratio), behaviour_sources)
            });
            values.set(fact!("recent_days_late"), || {
                Observed::new(
                    int(late.first().copied().unwrap_or(0)),
                    closed
                        .first()
                        .filter(|_| sourced.wants(fact!("recent_days_late")))
                        .map(|(source, paid_by)| sources_of(*source, paid_by))
                        .unwrap_or_default(),
                )
            });
        }

        // Terms and tags.
        let terms = &profile.terms;
        let terms_source: Vec<EventId> = keep_terms
            .then_some(profile.terms_source)
            .into_iter()
            .collect();
        values.set(fact!("deferral_days"), || {
            Observed::new(int(terms.deferral.days), terms_source.clone())
        });
        values.set(fact!("deferral_kind"), || {
            Observed::new(
                FactValue::Text(
                    match terms.deferral.kind {
                        DayKind::Calendar => "calendar",
                        DayKind::Business => "business",
                    }
                    .into(),
                ),
                terms_source.clone(),
            )
        });
        values.set(fact!("service_level"), || {
            Observed::new(
                FactValue::Text(
                    match terms.service_level {
                        ServiceLevel::Basic => "basic",
                        ServiceLevel::Standard => "standard",
                        ServiceLevel::Premium => "premium",
                    }
                    .into(),
                ),
                terms_source.clone(),
            )
        });
        values.set(fact!("base_discount_percent"), || {
            Observed::new(
                FactValue::Decimal(terms.base_discount.as_percent()),
                terms_source,
            )
        });
        values.set(fact!("tags"), || {
            Observed::labels(profile.tags.clone(), Vec::new())
        });

        Ok(Facts {
            customer: profile.customer.clone(),
            evaluated_at: now,
            today,
            order: None,
            receivables,
            values: values.map,
        })
    }

    /// Computes the facts for deciding on `order`, which the account already
    /// holds (its `OrderPlaced` applied): the customer's facts, with the order
    /// counted in exposure, plus the order facts.
    ///
    /// # Errors
    ///
    /// [`PolicyError::UnknownCustomer`] or [`PolicyError::UnknownOrder`].
    pub fn for_order(
        account: &CustomerAccount,
        order: &OrderId,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
        config: &FactsConfig,
    ) -> Result<Facts, PolicyError> {
        Self::for_order_with(account, order, now, calendar, config, Wanted::ALL)
    }

    /// [`Facts::for_order`], with or without sources (see
    /// [`Facts::compute_with`]).
    pub(crate) fn for_order_with(
        account: &CustomerAccount,
        order: &OrderId,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
        config: &FactsConfig,
        wanted: Wanted,
    ) -> Result<Facts, PolicyError> {
        let sourced = wanted.sources;
        let keep_order = sourced.any(&[
            fact!("order_value"),
            fact!("order_urgency"),
            fact!("order_same_day"),
        ]);
        let keep_exposure = sourced.any(&EXPOSURE_FACTS);
        let o = account.order(order);
        let held = o
            .as_ref()
            .is_some_and(|o| !o.is_accepted_open() && o.status == OrderStatus::Open);
        // The sources of a held order's exposure start from the customer's:
        // the exposure fact is then computed even when only its sources'
        // heirs are wanted (and set again below, with the order).
        let wanted = if held && keep_exposure {
            Wanted {
                values: wanted.values.with(fact!("exposure")),
                ..wanted
            }
        } else {
            wanted
        };
        let mut facts = Self::compute_with(account, now, calendar, config, wanted)?;
        let o = o.ok_or_else(|| PolicyError::UnknownOrder(order.to_string()))?;
        let currency = account.currency();
        let value = || Money::rounded(o.undelivered_value(currency.minor_units()), currency);
        let source: Vec<EventId> = keep_order.then_some(o.source).into_iter().collect();
        let mut values = Sink {
            map: facts.values,
            wanted: wanted.values,
        };
        if held && values.wants_any(&LIMIT_AND_EXPOSURE) {
            // A held order is out of the account's exposure; deciding on it
            // again counts it, as its first decision did.
            let profile = account.profile().ok_or(PolicyError::UnknownCustomer)?;
            let mut sources = values
                .map
                .get("exposure")
                .map(|e| e.sources.clone())
                .unwrap_or_default();
            if keep_exposure {
                push_unique(&mut sources, [o.source]);
            }
            let exposure = account.exposure().checked_add(&value())?;
            exposure_facts(
                &mut values,
                exposure,
                sources,
                profile.terms.credit_limit,
                sourced.any(&LIMIT_FACTS).then_some(profile.terms_source),
            );
        }
        values.set(fact!("order_value"), || {
            Observed::new(FactValue::Money(value()), source.clone())
        });
        values.set(fact!("order_urgency"), || {
            Observed::new(
                FactValue::Text(
                    match o.urgency {
                        Urgency::Normal => "normal",
                        Urgency::Urgent => "urgent",
                        Urgency::SameDay => "same_day",
                    }
                    .into(),
                ),
                source.clone(),
            )
        });
        values.set(fact!("order_same_day"), || {
            Observed::new(FactValue::Bool(o.urgency == Urgency::SameDay), source)
        });
        facts.values = values.map;
        facts.order = Some(order.clone());
        Ok(facts)
    }

    /// The value of fact `name`; `None` for an unknown fact or an order fact
    /// outside order placement.
    pub fn get(&self, name: &str) -> Option<&Observed> {
        self.values.get(name)
    }

    /// The built-in fact at catalogue position `index` (see
    /// [`builtin_index`]).
    pub(crate) fn get_builtin(&self, index: usize) -> Option<&Observed> {
        self.values.builtin.get(index).and_then(Option::as_ref)
    }

    /// Adds or replaces a fact: for facts computed by Rust extensions
    /// ([`FactProvider`](crate::FactProvider)).
    pub fn insert(&mut self, name: impl Into<String>, observed: Observed) {
        self.values.insert(name.into(), observed);
    }

    /// Every fact, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Observed)> {
        self.values.iter()
    }

    /// Every event id any fact points at, sorted.
    pub fn all_sources(&self) -> BTreeSet<EventId> {
        self.values
            .values()
            .flat_map(|o| o.sources.iter().copied())
            .chain(
                self.receivables
                    .iter()
                    .flat_map(|r| r.sources.iter().copied()),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(n: i64) -> Observed {
        Observed::new(FactValue::Integer(n), vec![EventId::from_u128(n as u128)])
    }

    #[test]
    fn compile_time_positions_match_the_catalogue() {
        assert_eq!(FACTS[fact!("debt")].name, "debt");
        assert_eq!(FACTS[fact!("order_same_day")].name, "order_same_day");
        for (i, spec) in FACTS.iter().enumerate() {
            assert_eq!(builtin_index(spec.name), Some(i), "{}", spec.name);
        }
        assert_eq!(builtin_index("no_such_fact"), None);
        assert_eq!(by_name().len(), FACTS.len());
    }

    #[test]
    fn built_in_and_extension_facts_iterate_in_name_order_and_round_trip() {
        let mut map = FactMap::default();
        map.set(fact!("overdue_debt"), observed(1));
        map.set(fact!("debt"), observed(2));
        map.insert("aaa_first".into(), observed(3));
        map.insert("ordered_late".into(), observed(4));
        map.insert("zzz_last".into(), observed(5));
        // A built-in name given as an extension replaces the built-in.
        map.insert("debt".into(), observed(6));
        let names: Vec<&str> = map.iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "aaa_first",
                "debt",
                "ordered_late",
                "overdue_debt",
                "zzz_last"
            ]
        );
        assert_eq!(map.get("debt"), Some(&observed(6)));
        assert_eq!(map.get("ordered_late"), Some(&observed(4)));
        assert_eq!(map.get("exposure"), None);
        assert_eq!(map.get("nothing"), None);
        assert_eq!(map.values().count(), 5);

        let json = serde_json::to_value(&map).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5);
        let back: FactMap = serde_json::from_value(json).unwrap();
        assert_eq!(back, map);
    }
}
