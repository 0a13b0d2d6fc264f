//! Aging buckets: overdue debt split by days past due, with configurable edges.

use std::fmt;

use chrono::NaiveDate;
use credence_aggregates::CustomerAccount;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;

/// The lower edges (in calendar days past due) of the aging buckets.
///
/// Edges `[1, 8, 31, 61, 91]` (the default) give the buckets 1–7, 8–30,
/// 31–60, 61–90 and 91+ (“90+”). The first edge must be at least 1 (a
/// receivable is overdue from the day after its due date) and the edges
/// strictly increase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<u32>", into = "Vec<u32>")]
pub struct AgingBuckets(Vec<u32>);

impl AgingBuckets {
    /// Buckets starting at `edges`.
    ///
    /// # Errors
    ///
    /// [`ProjectionError::InvalidConfig`] when `edges` is empty, starts below
    /// 1 or does not strictly increase.
    pub fn new(edges: Vec<u32>) -> Result<Self, ProjectionError> {
        match edges.first() {
            None => return Err(ProjectionError::InvalidConfig("no aging buckets".into())),
            Some(0) => {
                return Err(ProjectionError::InvalidConfig(
                    "the first aging bucket must start at 1 day past due or later".into(),
                ));
            }
            Some(_) => {}
        }
        if edges.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ProjectionError::InvalidConfig(
                "aging bucket edges must strictly increase".into(),
            ));
        }
        Ok(Self(edges))
    }

    /// The lower edges.
    pub fn edges(&self) -> &[u32] {
        &self.0
    }

    /// The bucket ranges, the last one open-ended.
    pub fn ranges(&self) -> impl Iterator<Item = BucketRange> + '_ {
        self.0.iter().enumerate().map(|(i, &from)| BucketRange {
            from,
            to: self.0.get(i + 1).map(|next| next - 1),
        })
    }

    /// Splits the customer's open receivables by days past due on `today`.
    pub fn age(&self, account: &CustomerAccount, today: NaiveDate) -> Aging {
        let mut amounts = vec![Decimal::ZERO; self.0.len()];
        let mut counts = vec![0u64; self.0.len()];
        for receivable in account.open_receivables() {
            let days = receivable.days_past_due(today);
            if days <= 0 {
                // Oldest due date first: nothing after this is overdue.
                break;
            }
            let days = u32::try_from(days).unwrap_or(u32::MAX);
            let bucket = self.0.partition_point(|&edge| edge <= days);
            if let Some(index) = bucket.checked_sub(1) {
                amounts[index] = amounts[index].saturating_add(receivable.open);
                counts[index] += 1;
            }
        }
        Aging {
            buckets: self
                .ranges()
                .zip(amounts)
                .zip(counts)
                .map(|((range, amount), receivables)| AgingBucket {
                    range,
                    amount,
                    receivables,
                })
                .collect(),
        }
    }
}

impl Default for AgingBuckets {
    /// 1–7, 8–30, 31–60, 61–90, 90+.
    fn default() -> Self {
        Self(vec![1, 8, 31, 61, 91])
    }
}

impl TryFrom<Vec<u32>> for AgingBuckets {
    type Error = ProjectionError;

    fn try_from(edges: Vec<u32>) -> Result<Self, ProjectionError> {
        Self::new(edges)
    }
}

impl From<AgingBuckets> for Vec<u32> {
    fn from(buckets: AgingBuckets) -> Vec<u32> {
        buckets.0
    }
}

/// A range of days past due, `from..=to`; `to` is `None` for the last bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRange {
    /// First day past due in the bucket.
    pub from: u32,
    /// Last day past due in the bucket; `None`: no upper end.
    pub to: Option<u32>,
}

impl fmt::Display for BucketRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to {
            Some(to) if to == self.from => write!(f, "{}", self.from),
            Some(to) => write!(f, "{}-{}", self.from, to),
            None => write!(f, "{}+", self.from),
        }
    }
}

/// Overdue debt in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgingBucket {
    /// Days past due covered.
    pub range: BucketRange,
    /// Open amount overdue by that many days (customer's currency).
    pub amount: Decimal,
    /// How many receivables.
    pub receivables: u64,
}

/// Overdue debt split into buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aging {
    /// The buckets, youngest first.
    pub buckets: Vec<AgingBucket>,
}

impl Aging {
    /// The amounts alone, youngest bucket first.
    pub fn amounts(&self) -> Vec<Decimal> {
        self.buckets.iter().map(|b| b.amount).collect()
    }

    /// Total overdue over all buckets.
    pub fn total(&self) -> Decimal {
        self.buckets
            .iter()
            .fold(Decimal::ZERO, |acc, b| acc.saturating_add(b.amount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_invalid(edges: Vec<u32>, expected: &str) {
        match AgingBuckets::new(edges) {
            Err(ProjectionError::InvalidConfig(message)) => assert_eq!(message, expected),
            other => panic!("expected an invalid configuration, got {other:?}"),
        }
    }

    #[test]
    fn invalid_edges_are_rejected() {
        check_invalid(vec![], "no aging buckets");
        check_invalid(
            vec![0, 8],
            "the first aging bucket must start at 1 day past due or later",
        );
        check_invalid(vec![1, 8, 8], "aging bucket edges must strictly increase");
    }

    #[test]
    fn default_ranges_read_as_the_handbook_says() {
        let ranges: Vec<String> = AgingBuckets::default()
            .ranges()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(ranges, ["1-7", "8-30", "31-60", "61-90", "91+"]);
    }
}
