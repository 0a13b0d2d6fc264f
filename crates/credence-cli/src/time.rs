//! Parsing times given on the command line or in command files.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use credence::events::BusinessCalendar;

use crate::error::{CliError, Exit};

/// What a bare date (`2026-11-06`) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateMeans {
    /// The first instant of that local day (for "do this on that day").
    StartOfDay,
    /// The last instant of that local day (for "the state on that day").
    EndOfDay,
}

/// Parses an RFC 3339 instant (`2026-11-06T09:00:00Z`, any offset) or a
/// date in the supplier's time zone.
pub fn parse(
    text: &str,
    calendar: &BusinessCalendar,
    date: DateMeans,
) -> Result<DateTime<Utc>, CliError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        CliError::new(
            Exit::BadInput,
            format!("{text:?} is neither an RFC 3339 time nor a YYYY-MM-DD date"),
        )
    })?;
    let local = match date {
        DateMeans::StartOfDay => day.and_time(NaiveTime::MIN),
        DateMeans::EndOfDay => day
            .and_hms_opt(23, 59, 59)
            .unwrap_or(day.and_time(NaiveTime::MIN)),
    };
    local
        .and_local_timezone(calendar.time_zone)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            CliError::new(
                Exit::BadInput,
                format!("{text:?} does not exist in {}", calendar.time_zone),
            )
        })
}

/// The wall clock, for commands given without a time.
pub fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

/// `text` parsed as a business time (a date means its start), or now.
pub fn parse_or_now(
    text: Option<&str>,
    calendar: &BusinessCalendar,
) -> Result<DateTime<Utc>, CliError> {
    match text {
        Some(text) => parse(text, calendar, DateMeans::StartOfDay),
        None => Ok(now()),
    }
}
