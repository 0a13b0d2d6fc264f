//! Payment behaviour and delay-reason statistics, kept up to date per event.
//!
//! * **Days to pay / days late.** When an event closes a receivable (a
//!   payment, or credit balance applied to a new delivery) the receivable's
//!   closing date minus its issue date (days to pay) and minus its due date
//!   (days late; negative when early) are counted once. A reversal that
//!   reopens a receivable does not erase the earlier observation; it is
//!   counted in `reversals`, and the receivable's next closing is observed
//!   again.
//! * **Delay reasons.** Each `DelayExplained` counts once for the customer
//!   and once for the manager it names.
//! * **Promise reliability.** `PromiseToPayKept` / `PromiseToPayBroken` count
//!   for the customer and for the customer's manager at that moment.

use std::collections::BTreeMap;
use std::fmt;

use credence_events::ReasonCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How one customer pays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentBehaviour {
    /// Receivables observed closing.
    pub paid_receivables: u64,
    /// Sum of days late over them (early payments count negative).
    pub days_late_total: i64,
    /// How many closed after their due date.
    pub paid_late: u64,
    /// Days late → number of receivables (negative: paid early).
    pub days_late: Histogram,
    /// Days from delivery to closing → number of receivables.
    pub days_to_pay: Histogram,
    /// Payments reversed.
    pub reversals: u64,
    /// Delay reason → count.
    pub delay_reasons: BTreeMap<ReasonCode, u64>,
    /// Promises kept and broken.
    pub promises: PromiseRecord,
}

impl PaymentBehaviour {
    /// Average days late (negative: early) to two decimal places; `None`
    /// before any receivable was paid.
    pub fn average_days_late(&self) -> Option<Decimal> {
        if self.paid_receivables == 0 {
            return None;
        }
        let average = Decimal::from(self.days_late_total) / Decimal::from(self.paid_receivables);
        Some(average.round_dp(2))
    }

    pub(crate) fn record_closing(&mut self, days_to_pay: i64, days_late: i64) {
        self.paid_receivables += 1;
        self.days_late_total = self.days_late_total.saturating_add(days_late);
        if days_late > 0 {
            self.paid_late += 1;
        }
        self.days_late.add(days_late, 1);
        self.days_to_pay.add(days_to_pay, 1);
    }
}

/// Counts by a number of days, in ascending order of days: a sorted vector
/// that grows by one entry at a time (a customer's payments fall on a few
/// distinct days; a std `BTreeMap` would take a 192-byte node for the
/// first). Reads like a `BTreeMap<i64, u64>`, compares equal to one with
/// the same entries, and serializes as one (a map).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Histogram(Vec<(i64, u64)>);

impl Histogram {
    /// An empty histogram (allocates nothing).
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds `count` to the bucket of `days`.
    pub fn add(&mut self, days: i64, count: u64) {
        match self.0.binary_search_by_key(&days, |&(d, _)| d) {
            Ok(i) => self.0[i].1 = self.0[i].1.saturating_add(count),
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (days, count));
            }
        }
    }

    /// The count of `days`, if any receivable fell there.
    pub fn get(&self, days: i64) -> Option<u64> {
        self.0
            .binary_search_by_key(&days, |&(d, _)| d)
            .ok()
            .map(|i| self.0[i].1)
    }

    /// Every (days, count) in ascending order of days.
    pub fn iter(&self) -> HistogramIter<'_> {
        HistogramIter(self.0.iter())
    }

    /// How many distinct day counts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Histogram {
    type Item = (&'a i64, &'a u64);
    type IntoIter = HistogramIter<'a>;

    fn into_iter(self) -> HistogramIter<'a> {
        self.iter()
    }
}

/// The (days, count) entries of a [`Histogram`], in ascending order of
/// days (double-ended).
#[derive(Debug, Clone)]
pub struct HistogramIter<'a>(std::slice::Iter<'a, (i64, u64)>);

impl<'a> Iterator for HistogramIter<'a> {
    type Item = (&'a i64, &'a u64);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(d, n)| (d, n))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for HistogramIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(d, n)| (d, n))
    }
}

impl ExactSizeIterator for HistogramIter<'_> {}

impl FromIterator<(i64, u64)> for Histogram {
    fn from_iter<I: IntoIterator<Item = (i64, u64)>>(iter: I) -> Self {
        let mut histogram = Self::new();
        for (days, count) in iter {
            histogram.add(days, count);
        }
        histogram
    }
}

impl PartialEq<BTreeMap<i64, u64>> for Histogram {
    fn eq(&self, other: &BTreeMap<i64, u64>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<i64, u64>::deserialize(deserializer)?;
        let mut histogram = Self(Vec::with_capacity(map.len()));
        histogram.0.extend(map);
        Ok(histogram)
    }
}

/// Kept and broken promises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseRecord {
    /// Promises kept.
    pub kept: u64,
    /// Promises broken.
    pub broken: u64,
}

impl PromiseRecord {
    /// Share of settled promises that were kept, in percent to two decimal
    /// places; `None` before any promise was settled.
    pub fn reliability_percent(&self) -> Option<Decimal> {
        let settled = self.kept + self.broken;
        if settled == 0 {
            return None;
        }
        Some((Decimal::from(self.kept) * Decimal::ONE_HUNDRED / Decimal::from(settled)).round_dp(2))
    }
}

/// Statistics of one manager's customers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerStatistics {
    /// Delay reason → count, over the explanations this manager obtained.
    pub delay_reasons: BTreeMap<ReasonCode, u64>,
    /// Promises kept and broken by this manager's customers.
    pub promises: PromiseRecord,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::Histogram;

    proptest! {
        /// A histogram counts, reads, iterates and serializes as the
        /// `BTreeMap<i64, u64>` it stands for.
        #[test]
        fn behaves_like_a_btreemap(adds in proptest::collection::vec((-40i64..40, 0u64..5), 0..200)) {
            let mut histogram = Histogram::new();
            let mut model: BTreeMap<i64, u64> = BTreeMap::new();
            for (days, count) in adds {
                histogram.add(days, count);
                *model.entry(days).or_default() += count;
            }
            prop_assert!(histogram == model);
            prop_assert_eq!(histogram.len(), model.len());
            prop_assert_eq!(histogram.is_empty(), model.is_empty());
            prop_assert!(histogram.iter().rev().eq(model.iter().rev()));
            for days in -41..41 {
                prop_assert_eq!(histogram.get(days), model.get(&days).copied());
            }
            let json = serde_json::to_string(&histogram).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&model).unwrap());
            let back: Histogram = serde_json::from_str(&json).unwrap();
            prop_assert!(back == histogram);
            prop_assert_eq!(format!("{histogram:?}"), format!("{model:?}"));
        }
    }
}
