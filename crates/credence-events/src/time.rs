//! Business time: UTC instants, local calendar dates, business days and due dates.
//!
//! # The rules
//!
//! * Instants (`occurred_at`, `recorded_at`, a command's `now`) are UTC.
//! * Due dates, delivery dates and promised dates are calendar dates in the
//!   supplier's time zone ([`BusinessCalendar::time_zone`]).
//! * A deferral of *n* calendar days makes a receivable due *n* days after the
//!   delivery date. A deferral of *n* business days counts only business days
//!   (not a weekend day, not a public holiday): a Friday delivery with three
//!   business days is due on Wednesday (Monday, Tuesday, Wednesday).
//! * A receivable is due *on* its due date and overdue from the day after:
//!   days past due are `today - due_date` in calendar days, and the business
//!   days past due count the business days in `(due_date, today]`.

use std::collections::BTreeSet;
use std::ops::Bound;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Whether a deferral counts calendar days or business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Every day counts.
    Calendar,
    /// Only business days count (see [`BusinessCalendar`]).
    Business,
}

/// A payment deferral: how long after delivery a receivable falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deferral {
    /// Number of days.
    pub days: u16,
    /// Which days count.
    pub kind: DayKind,
}

impl Deferral {
    /// `days` calendar days.
    pub const fn calendar(days: u16) -> Self {
        Self {
            days,
            kind: DayKind::Calendar,
        }
    }

    /// `days` business days.
    pub const fn business(days: u16) -> Self {
        Self {
            days,
            kind: DayKind::Business,
        }
    }
}

/// The supplier's calendar: its time zone, weekend days and public holidays.
///
/// Holidays are explicit dates; a caller loads them for the years it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessCalendar {
    /// The supplier's time zone; local dates are taken in it.
    pub time_zone: Tz,
    /// Days of the week that are not business days.
    pub weekend: BTreeSet<WeekdayName>,
    /// Public holidays (not business days).
    pub holidays: BTreeSet<NaiveDate>,
}

/// A day of the week, serialisable and ordered Monday first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum WeekdayName {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<Weekday> for WeekdayName {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Mon => Self::Monday,
            Weekday::Tue => Self::Tuesday,
            Weekday::Wed => Self::Wednesday,
            Weekday::Thu => Self::Thursday,
            Weekday::Fri => Self::Friday,
            Weekday::Sat => Self::Saturday,
            Weekday::Sun => Self::Sunday,
        }
    }
}

impl Default for BusinessCalendar {
    /// UTC, Saturday and Sunday off, no holidays.
    fn default() -> Self {
        Self::new(Tz::UTC)
    }
}

impl BusinessCalendar {
    /// A calendar in `time_zone` with Saturday and Sunday off and no holidays.
    pub fn new(time_zone: Tz) -> Self {
        Self {
            time_zone,
            weekend: [WeekdayName::Saturday, WeekdayName::Sunday]
                .into_iter()
                .collect(),
            holidays: BTreeSet::new(),
        }
    }

    /// Adds public holidays.
    pub fn with_holidays(mut self, holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(holidays);
        self
    }

    /// The supplier's local calendar date at instant `at`.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    /// True when `date` is neither a weekend day nor a holiday.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !self.weekend.contains(&date.weekday().into()) && !self.holidays.contains(&date)
    }

    /// The date `days` business days after `date` (`date` itself never counts).
    /// Returns `None` past the end of the representable calendar or when the
    /// calendar has no business days at all.
    pub fn add_business_days(&self, date: NaiveDate, days: u16) -> Option<NaiveDate> {
        if self.weekend.len() >= 7 {
            return None;
        }
        let mut current = date;
        let mut left = days;
        // Bounded: each week has at least one business day unless every day in
        // a long stretch is a holiday, which the year limit below cuts off.
        let mut guard: u32 = 0;
        while left > 0 {
            current = current.checked_add_days(Days::new(1))?;
            guard += 1;
            if guard > u32::from(days) * 7 + 3660 {
                return None;
            }
            if self.is_business_day(current) {
                left -= 1;
            }
        }
        Some(current)
    }

    /// The due date of something delivered on `delivered_on` under `deferral`.
    /// `None` only past the end of the representable calendar.
    pub fn due_date(&self, delivered_on: NaiveDate, deferral: Deferral) -> Option<NaiveDate> {
        match deferral.kind {
            DayKind::Calendar => delivered_on.checked_add_days(Days::new(deferral.days.into())),
            DayKind::Business => self.add_business_days(delivered_on, deferral.days),
        }
    }

    /// Business days in `(from, to]`; zero when `to <= from`.
    pub fn business_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if from >= to {
            return 0;
        }
        // Whole weeks at once (each has the same number of working
        // weekdays), the remaining days one by one, then the holidays that
        // fall on working weekdays in the range: O(holidays in range), not
        // O(days).
        let days = (to - from).num_days();
        let weeks = days / 7;
        let working_weekdays = 7 - self.weekend.len().min(7) as i64;
        let mut count = weeks * working_weekdays;
        let mut day = from
            .checked_add_days(Days::new((weeks * 7) as u64))
            .unwrap_or(to);
        while day < to {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            if !self.weekend.contains(&day.weekday().into()) {
                count += 1;
            }
        }
        let holidays = self
            .holidays
            .range((Bound::Excluded(from), Bound::Included(to)))
            .filter(|h| !self.weekend.contains(&h.weekday().into()))
            .count() as i64;
        u32::try_from(count - holidays).unwrap_or(u32::MAX)
    }

    /// Business days past due on `today` for a receivable due on `due`:
    /// business days in `(due, today]`.
    pub fn business_days_past_due(&self, due: NaiveDate, today: NaiveDate) -> u32 {
        self.business_days_between(due, today)
    }
}

/// Calendar days past due on `today` for something due on `due`; zero or
/// negative means not overdue (a receivable is overdue from the day after its
/// due date).
pub fn days_past_due(due: NaiveDate, today: NaiveDate) -> i64 {
    (today - due).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const WEEK: [WeekdayName; 7] = [
        WeekdayName::Monday,
        WeekdayName::Tuesday,
        WeekdayName::Wednesday,
        WeekdayName::Thursday,
        WeekdayName::Friday,
        WeekdayName::Saturday,
        WeekdayName::Sunday,
    ];

    /// Business days in `(from, to]`, counted one day at a time.
    fn business_days_by_definition(cal: &BusinessCalendar, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = day.succ_opt().unwrap();
            if cal.is_business_day(day) {
                count += 1;
            }
        }
        count
    }

    proptest::proptest! {
        #[test]
        fn business_days_between_counts_as_day_by_day(
            start in 0i64..2_000,
            span in -10i64..800,
            weekend in proptest::collection::btree_set(0u8..7, 0..4),
            holidays in proptest::collection::vec(0i64..2_800, 0..40),
        ) {
            let base = date(2024, 1, 1);
            let from = base + chrono::Duration::days(start);
            let to = from + chrono::Duration::days(span);
            let cal = BusinessCalendar {
                weekend: weekend.iter().map(|&d| WEEK[d as usize]).collect(),
                holidays: holidays.iter().map(|&d| base + chrono::Duration::days(d)).collect(),
                ..BusinessCalendar::default()
            };
            proptest::prop_assert_eq!(
                cal.business_days_between(from, to),
                business_days_by_definition(&cal, from, to)
            );
        }
    }

    #[test]
    fn three_business_days_after_friday_is_wednesday() {
        let cal = BusinessCalendar::default();
        let friday = date(2026, 11, 6);
        assert_eq!(friday.weekday(), Weekday::Fri);
        let due = cal.due_date(friday, Deferral::business(3)).unwrap();
        assert_eq!(due, date(2026, 11, 11));
        assert_eq!(due.weekday(), Weekday::Wed);
    }

    #[test]
    fn holidays_do_not_count() {
        let cal = BusinessCalendar::default().with_holidays([date(2026, 11, 9)]);
        let due = cal
            .due_date(date(2026, 11, 6), Deferral::business(3))
            .unwrap();
        assert_eq!(due, date(2026, 11, 12));
    }

    #[test]
    fn calendar_deferral_counts_every_day() {
        let cal = BusinessCalendar::default();
        let due = cal
            .due_date(date(2026, 11, 6), Deferral::calendar(3))
            .unwrap();
        assert_eq!(due, date(2026, 11, 9));
    }

    #[test]
    fn overdue_from_the_day_after_due() {
        let cal = BusinessCalendar::default();
        let due = date(2026, 11, 11);
        assert_eq!(days_past_due(due, due), 0);
        assert_eq!(days_past_due(due, date(2026, 11, 12)), 1);
        assert_eq!(cal.business_days_past_due(due, date(2026, 11, 12)), 1);
        // Saturday and Sunday do not add business days past due.
        assert_eq!(cal.business_days_past_due(due, date(2026, 11, 15)), 2);
        assert_eq!(cal.business_days_past_due(due, date(2026, 11, 16)), 3);
        assert_eq!(cal.business_days_past_due(due, date(2026, 11, 1)), 0);
    }

    #[test]
    fn local_date_follows_the_time_zone() {
        let cal = BusinessCalendar::new(chrono_tz::Europe::Kyiv);
        // 23:30 UTC on 5 Nov is already 6 Nov in Kyiv (UTC+2 in winter).
        let at = Utc.with_ymd_and_hms(2026, 11, 5, 23, 30, 0).unwrap();
        assert_eq!(cal.local_date(at), date(2026, 11, 6));
        assert_eq!(
            BusinessCalendar::default().local_date(at),
            date(2026, 11, 5)
        );
    }

    #[test]
    fn no_business_days_is_not_a_hang() {
        let cal = BusinessCalendar {
            weekend: WEEK.into_iter().collect(),
            ..BusinessCalendar::default()
        };
        assert_eq!(cal.add_business_days(date(2026, 1, 1), 1), None);
    }
}
