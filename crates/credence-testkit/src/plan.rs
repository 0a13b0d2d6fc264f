//! Plans: small, shrinkable descriptions of a customer's life that
//! [`interpret`](crate::history::interpret) turns into valid commands.
//!
//! proptest generates and shrinks the plan, never the commands themselves:
//! a plan says "order every 7 days, deliver 60 % then the rest, pay 4 days
//! late", and the interpreter works out the ids, quantities and amounts that
//! make each command valid against the account at that moment. So every
//! generated history is valid by construction, and a shrunk counterexample is
//! a short, readable story.

use std::ops::RangeInclusive;

use chrono::NaiveDate;
use credence_events::{Currency, DayKind};
use proptest::prelude::*;

/// How a customer pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayerBehaviour {
    /// Pays every receivable on its due date (or up to `early` days before).
    OnTime {
        /// Days before the due date it pays.
        early: u8,
    },
    /// Always pays `days` days after the due date.
    Late {
        /// Days late.
        days: u8,
    },
    /// Pays each receivable with its own delay (the cycle's `jitter`).
    Erratic,
    /// Sends a payment order the day before due; the money arrives two days
    /// later, unless the cycle says the order never clears, in which case the
    /// money comes 30 days after due.
    ByPaymentOrder,
    /// Pays late; once overdue, promises a date and pays after it.
    BreaksPromises,
}

/// How an order is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryPlan {
    /// Everything, the day it is ordered.
    Full,
    /// `percent` of each line first, the rest the next day.
    Partial {
        /// Share of each line in the first delivery (10–90).
        percent: u8,
    },
    /// `percent` of each line, then the rest is cancelled.
    PartialThenCancel {
        /// Share of each line delivered (10–90).
        percent: u8,
    },
    /// Cancelled before delivery.
    Cancelled,
    /// Never delivered nor cancelled: still open when the history ends
    /// (only with [`PlanConfig::open_orders`]).
    LeftOpen,
    /// `percent` of each line delivered, the rest still open when the
    /// history ends (only with [`PlanConfig::open_orders`]).
    PartialLeftOpen {
        /// Share of each line delivered (10–90).
        percent: u8,
    },
}

/// One order line of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePlan {
    /// Item number (items are `item-0` …).
    pub item: u8,
    /// Units ordered.
    pub quantity: u8,
    /// Unit price in minor units (cents).
    pub price_minor: u32,
}

/// One order cycle of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CyclePlan {
    /// Days after the previous order (moved to the next business day).
    pub gap_days: u8,
    /// The order's lines (repeated items are merged).
    pub lines: Vec<LinePlan>,
    /// How it is delivered.
    pub delivery: DeliveryPlan,
    /// Extra days late for [`PayerBehaviour::Erratic`] (may be negative).
    pub jitter: i8,
    /// Extra money paid on top, in minor units (becomes credit balance).
    pub overpay_minor: u32,
    /// Whether the payment is reversed two days later.
    pub reversed: bool,
    /// For [`PayerBehaviour::ByPaymentOrder`]: whether the order clears.
    pub clears: bool,
    /// A new credit limit (major units) agreed the morning of the order,
    /// the other terms unchanged.
    pub new_credit_limit: Option<u32>,
    /// Days the value date of this cycle's payments lies before the day
    /// they are recorded (a bank statement booked late): the payment's
    /// `occurred_at` is its recording time less these days, but never
    /// before the delivery of the receivable it pays (nor its payment order
    /// or promise, nor a delivery recorded later on the same value date).
    /// Only with [`PlanConfig::backdating`]; mostly 0.
    pub backdate_days: u8,
}

/// The contract terms of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermsPlan {
    /// Credit limit in major units.
    pub credit_limit: u32,
    /// Deferral days.
    pub deferral_days: u8,
    /// Calendar or business days.
    pub deferral_kind: DayKind,
    /// Base discount in whole percent.
    pub discount_percent: u8,
}

/// A customer's whole planned life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPlan {
    /// Terms.
    pub terms: TermsPlan,
    /// Payment behaviour.
    pub behaviour: PayerBehaviour,
    /// Order cycles, in time order.
    pub cycles: Vec<CyclePlan>,
}

/// Knobs for generated plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    /// How many order cycles.
    pub cycles: RangeInclusive<usize>,
    /// Lines per order.
    pub lines: RangeInclusive<usize>,
    /// Distinct items.
    pub items: u8,
    /// Unit price range in minor units.
    pub price_minor: RangeInclusive<u32>,
    /// Days between orders.
    pub gap_days: RangeInclusive<u8>,
    /// The currency.
    pub currency: Currency,
    /// The first day (orders start on the first business day from here).
    pub start: NaiveDate,
    /// Whether payments may be reversed.
    pub reversals: bool,
    /// Whether overpayments may happen.
    pub overpayments: bool,
    /// How many days late a [`PayerBehaviour::Late`] customer pays. Past
    /// 30, the default policy refuses its next orders.
    pub late_days: RangeInclusive<u8>,
    /// Whether payments may be back-dated (see [`CyclePlan::backdate_days`]).
    /// Off by default, so the default plans (and benchmarks seeded from
    /// them) stay as they were; the projections' properties turn it on.
    pub backdating: bool,
    /// Whether orders may be left open, wholly or partly undelivered, when
    /// the history ends ([`DeliveryPlan::LeftOpen`],
    /// [`DeliveryPlan::PartialLeftOpen`]). Off by default, as
    /// [`backdating`](Self::backdating).
    pub open_orders: bool,
}

impl Default for PlanConfig {
    /// 1–12 weekly-ish cycles of 1–3 lines over 4 items, prices 1.00–500.00
    /// EUR, from Monday 5 January 2026, late payers 1–20 days late, with
    /// reversals and overpayments, without back-dated payments or orders
    /// left open.
    fn default() -> Self {
        Self {
            cycles: 1..=12,
            lines: 1..=3,
            items: 4,
            price_minor: 100..=50_000,
            gap_days: 1..=10,
            currency: Currency::new("EUR").expect("valid code"),
            start: NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date"),
            reversals: true,
            overpayments: true,
            late_days: 1..=20,
            backdating: false,
            open_orders: false,
        }
    }
}

/// Payer behaviours, all equally likely (late payers 1–20 days late).
pub fn behaviour() -> impl Strategy<Value = PayerBehaviour> {
    behaviour_late_by(1..=20)
}

/// Payer behaviours, all equally likely, late payers `late_days` late.
pub fn behaviour_late_by(late_days: RangeInclusive<u8>) -> impl Strategy<Value = PayerBehaviour> {
    prop_oneof![
        (0u8..=3).prop_map(|early| PayerBehaviour::OnTime { early }),
        late_days.prop_map(|days| PayerBehaviour::Late { days }),
        Just(PayerBehaviour::Erratic),
        Just(PayerBehaviour::ByPaymentOrder),
        Just(PayerBehaviour::BreaksPromises),
    ]
}

/// Terms: limits 1,000–50,000, deferral 0–30 calendar or 0–15 business
/// days, discount 0–10 %.
pub fn terms() -> impl Strategy<Value = TermsPlan> {
    (
        1_000u32..=50_000,
        prop_oneof![
            (0u8..=30).prop_map(|d| (d, DayKind::Calendar)),
            (0u8..=15).prop_map(|d| (d, DayKind::Business)),
        ],
        0u8..=10,
    )
        .prop_map(
            |(credit_limit, (deferral_days, deferral_kind), discount_percent)| TermsPlan {
                credit_limit,
                deferral_days,
                deferral_kind,
                discount_percent,
            },
        )
}

/// Deliveries; with `open_orders`, one order in five is left open (half of
/// them partly delivered). Without, the strategy draws exactly as it always
/// did, so seeded plans do not change.
fn delivery(open_orders: bool) -> BoxedStrategy<DeliveryPlan> {
    let closed = prop_oneof![
        6 => Just(DeliveryPlan::Full),
        2 => (10u8..=90).prop_map(|percent| DeliveryPlan::Partial { percent }),
        1 => (10u8..=90).prop_map(|percent| DeliveryPlan::PartialThenCancel { percent }),
        1 => Just(DeliveryPlan::Cancelled),
    ];
    if !open_orders {
        return closed.boxed();
    }
    prop_oneof![
        8 => closed,
        1 => Just(DeliveryPlan::LeftOpen),
        1 => (10u8..=90).prop_map(|percent| DeliveryPlan::PartialLeftOpen { percent }),
    ]
    .boxed()
}

/// Back-dating days: 0 three times in four, else 1–6; always 0 (drawing
/// nothing) without `backdating`.
fn backdate_days(backdating: bool) -> BoxedStrategy<u8> {
    if backdating {
        prop_oneof![3 => Just(0u8), 1 => 1u8..=6].boxed()
    } else {
        Just(0u8).boxed()
    }
}

/// One cycle under `config`.
pub fn cycle(config: &PlanConfig) -> impl Strategy<Value = CyclePlan> + use<> {
    let line = (0..config.items.max(1), 1u8..=20, config.price_minor.clone()).prop_map(
        |(item, quantity, price_minor)| LinePlan {
            item,
            quantity,
            price_minor,
        },
    );
    let reversals = config.reversals;
    let overpayments = config.overpayments;
    (
        config.gap_days.clone(),
        proptest::collection::vec(line, config.lines.clone()),
        delivery(config.open_orders),
        -3i8..=15,
        prop_oneof![8 => Just(0u32), 1 => 1u32..=20_000],
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.8),
        prop_oneof![19 => Just(None), 1 => (1_000u32..=50_000).prop_map(Some)],
        backdate_days(config.backdating),
    )
        .prop_map(
            move |(
                gap_days,
                lines,
                delivery,
                jitter,
                overpay_minor,
                reversed,
                clears,
                new_credit_limit,
                backdate_days,
            )| CyclePlan {
                gap_days,
                lines,
                delivery,
                jitter,
                overpay_minor: if overpayments { overpay_minor } else { 0 },
                reversed: reversals && reversed,
                clears,
                new_credit_limit,
                backdate_days,
            },
        )
}

/// A whole customer plan under `config`.
pub fn customer_plan(config: PlanConfig) -> impl Strategy<Value = CustomerPlan> {
    (
        terms(),
        behaviour_late_by(config.late_days.clone()),
        proptest::collection::vec(cycle(&config), config.cycles.clone()),
    )
        .prop_map(|(terms, behaviour, cycles)| CustomerPlan {
            terms,
            behaviour,
            cycles,
        })
}

impl CustomerPlan {
    /// The same customer paying on time: every receivable on its due date,
    /// payment orders that clear, no bounced payments, no broken promises.
    /// Orders, deliveries and amounts are unchanged.
    pub fn paying_on_time(&self) -> CustomerPlan {
        let mut plan = self.clone();
        plan.behaviour = PayerBehaviour::OnTime { early: 0 };
        for cycle in &mut plan.cycles {
            cycle.reversed = false;
            cycle.clears = true;
        }
        plan
    }

    /// The same customer paying better, one step: a late payer pays half as
    /// late (on time once that is under a day), an erratic payer is never
    /// later than its due date, payment orders clear, a promise breaker pays
    /// two days late without promising, an on-time payer a day earlier;
    /// no payment bounces. Every receivable is paid no later than before.
    /// Orders, deliveries and amounts are unchanged.
    pub fn paying_earlier(&self) -> CustomerPlan {
        let mut plan = self.clone();
        plan.behaviour = match self.behaviour {
            PayerBehaviour::OnTime { early } => PayerBehaviour::OnTime {
                early: early.saturating_add(1).min(3),
            },
            PayerBehaviour::Late { days } if days >= 2 => PayerBehaviour::Late { days: days / 2 },
            PayerBehaviour::Late { .. } => PayerBehaviour::OnTime { early: 0 },
            PayerBehaviour::Erratic => PayerBehaviour::Erratic,
            PayerBehaviour::ByPaymentOrder => PayerBehaviour::ByPaymentOrder,
            PayerBehaviour::BreaksPromises => PayerBehaviour::Late { days: 2 },
        };
        for cycle in &mut plan.cycles {
            cycle.jitter = cycle.jitter.min(0);
            cycle.reversed = false;
            cycle.clears = true;
        }
        plan
    }
}

/// Plans of customers who always pay on time (on or before the due date,
/// no bounced payments, payment orders that clear, no promises needed):
/// the population of "no customer who always pays on time is ever refused".
pub fn on_time_plan(config: PlanConfig) -> impl Strategy<Value = CustomerPlan> {
    (customer_plan(config), 0u8..=3).prop_map(|(plan, early)| {
        let mut plan = plan.paying_on_time();
        plan.behaviour = PayerBehaviour::OnTime { early };
        plan
    })
}
