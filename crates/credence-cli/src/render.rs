//! Human-readable tables and lines, or JSON with `--json`.

use std::io::Write;

use chrono::NaiveDate;
use chrono_tz::Tz;
use credence::AsOf;
use credence::aggregates::CustomerAccount;
use credence::events::CustomerId;
use credence::events::ReminderSent;
use credence::events::{Event, EventEnvelope, codec};
use credence::policies::{ReplayReport, WhatIfDifference};
use credence::projections::{AllocationPlan, ServiceQueue};
use serde_json::json;

use crate::error::CliError;

fn w(out: &mut dyn Write, line: impl AsRef<str>) -> Result<(), CliError> {
    writeln!(out, "{}", line.as_ref()).map_err(CliError::io)
}

/// One line saying what an event records.
pub fn describe(event: &Event) -> String {
    event.describe()
}

/// Stored events, one line each (or JSON lines).
/// Times are shown in the supplier's time zone `tz`.
pub fn events(
    out: &mut dyn Write,
    events: &[EventEnvelope],
    json: bool,
    tz: Tz,
) -> Result<(), CliError> {
    for e in events {
        if json {
            w(out, codec::encode(e))?;
        } else {
            w(
                out,
                format!(
                    "{} {:<10} {}",
                    e.occurred_at.with_timezone(&tz).format("%a %d %b %H:%M"),
                    e.stream.as_str(),
                    describe(&e.event)
                ),
            )?;
        }
    }
    Ok(())
}

/// A customer's credit state.
pub fn state(
    out: &mut dyn Write,
    account: &CustomerAccount,
    as_of: AsOf,
    today: NaiveDate,
    json: bool,
) -> Result<(), CliError> {
    let Some(profile) = account.profile() else {
        return w(out, "not registered");
    };
    let standing = account.standing();
    let open: Vec<_> = account.open_receivables().collect();
    if json {
        let value = json!({
            "customer": profile.customer,
            "as_of": match as_of { AsOf::Now => json!("now"), AsOf::Business(t) => json!({"business": t}), AsOf::Known(k) => json!({"known": k}) },
            "debt": account.debt(),
            "overdue_debt": account.overdue_debt(today),
            "exposure": account.exposure(),
            "credit_limit": profile.terms.credit_limit,
            "credit_balance": account.credit_balance(),
            "standing": standing,
            "open_receivables": open.iter().map(|r| json!({
                "receivable": r.id, "issued_on": r.issued_on, "due_date": r.due_date,
                "open": r.open, "days_past_due": r.days_past_due(today).max(0),
            })).collect::<Vec<_>>(),
        });
        return w(out, value.to_string());
    }
    let view = match as_of {
        AsOf::Now => "now".to_owned(),
        AsOf::Business(t) => format!("business time {}", t.format("%Y-%m-%d %H:%M UTC")),
        AsOf::Known(k) => format!("as known at {}", k.format("%Y-%m-%d %H:%M UTC")),
    };
    w(
        out,
        format!(
            "customer   {} ({}), manager {}",
            profile.customer, profile.name, profile.manager
        ),
    )?;
    w(out, format!("as of      {view}"))?;
    w(
        out,
        format!(
            "debt       {}  (overdue {})",
            account.debt(),
            account.overdue_debt(today)
        ),
    )?;
    w(
        out,
        format!(
            "exposure   {}  of limit {}",
            account.exposure(),
            profile.terms.credit_limit
        ),
    )?;
    w(out, format!("credit     {}", account.credit_balance()))?;
    match standing {
        Some(s) => w(
            out,
            format!(
                "standing   priority {}, fulfilment {}, discount {}, markup {}, bonus {}",
                s.priority, s.fulfilment, s.discount, s.markup, s.bonus
            ),
        )?,
        None => w(out, "standing   no policy decision yet")?,
    }
    if open.is_empty() {
        return w(out, "no open receivables");
    }
    w(
        out,
        format!(
            "{:<14} {:<10} {:<10} {:>14} {:>5}",
            "receivable", "issued", "due", "open", "late"
        ),
    )?;
    for r in open {
        w(
            out,
            format!(
                "{:<14} {:<10} {:<10} {:>14} {:>5}",
                r.id.as_str(),
                r.issued_on,
                r.due_date,
                r.open,
                r.days_past_due(today).max(0)
            ),
        )?;
    }
    Ok(())
}

/// A decision and its receipt.
pub fn explanation(
    out: &mut dyn Write,
    envelope: &EventEnvelope,
    json: bool,
) -> Result<(), CliError> {
    if json {
        return w(out, codec::encode(envelope));
    }
    w(
        out,
        format!(
            "{} {}: {}",
            envelope.stream,
            envelope.occurred_at.format("%Y-%m-%d %H:%M"),
            describe(&envelope.event)
        ),
    )?;
    let Some(e) = envelope.event.explanation() else {
        return w(out, "recorded by a person: no policy explanation");
    };
    w(
        out,
        format!(
            "policy     {} v{} (sha256 {})",
            e.policy.id, e.policy.version, e.policy.hash
        ),
    )?;
    w(out, format!("rule       {}", e.rule))?;
    w(
        out,
        format!("evaluated  {}", e.evaluated_at.format("%Y-%m-%d %H:%M UTC")),
    )?;
    for c in &e.conditions {
        w(
            out,
            format!(
                "  {} {} {} {} : observed {} [{}]",
                if c.holds { "holds" } else { "fails" },
                c.fact,
                c.comparison.symbol(),
                c.threshold,
                c.observed,
                c.sources
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )?;
    }
    Ok(())
}

/// Replay reports; returns the number of mismatches.
pub fn replay(
    out: &mut dyn Write,
    reports: &[(CustomerId, ReplayReport)],
    json: bool,
) -> Result<usize, CliError> {
    let mut mismatches = 0;
    for (customer, report) in reports {
        mismatches += report.mismatches.len();
        if json {
            w(out, json!({
                "customer": customer,
                "checked": report.checked,
                "mismatches": report.mismatches.iter().map(|m| json!({"version": m.version, "evaluated_at": m.evaluated_at, "reason": m.reason})).collect::<Vec<_>>(),
            }).to_string())?;
        } else {
            w(
                out,
                format!(
                    "{customer}: {} decision points checked, {} mismatches",
                    report.checked,
                    report.mismatches.len()
                ),
            )?;
            for m in &report.mismatches {
                w(
                    out,
                    format!(
                        "  version {} at {}: {}",
                        m.version,
                        m.evaluated_at.format("%Y-%m-%d %H:%M"),
                        m.reason
                    ),
                )?;
            }
        }
    }
    Ok(mismatches)
}

/// What-if differences.
pub fn what_if(
    out: &mut dyn Write,
    differences: &[(CustomerId, WhatIfDifference)],
    json: bool,
) -> Result<(), CliError> {
    if differences.is_empty() && !json {
        return w(out, "no decision would change");
    }
    for (_, d) in differences {
        if json {
            w(out, serde_json::to_string(d).map_err(CliError::io)?)?;
        } else {
            w(out, d.summary())?;
        }
    }
    Ok(())
}

/// The service queue.
pub fn queue(out: &mut dyn Write, queue: &ServiceQueue<'_>, json: bool) -> Result<(), CliError> {
    if json {
        return w(out, serde_json::to_string(queue).map_err(CliError::io)?);
    }
    if queue.entries.is_empty() {
        return w(out, "no open orders");
    }
    w(
        out,
        format!("{:>3}  {:<12} {:<10} why", "#", "customer", "order"),
    )?;
    for e in &queue.entries {
        w(
            out,
            format!(
                "{:>3}  {:<12} {:<10} {}",
                e.position,
                e.customer.as_str(),
                e.order.as_str(),
                e.reason
            ),
        )?;
    }
    Ok(())
}

/// A stock allocation plan.
pub fn allocation(
    out: &mut dyn Write,
    plan: &AllocationPlan<'_>,
    json: bool,
) -> Result<(), CliError> {
    if json {
        return w(out, serde_json::to_string(plan).map_err(CliError::io)?);
    }
    if plan.lines.is_empty() {
        return w(out, "no open order lines");
    }
    w(
        out,
        format!(
            "{:>3}  {:<12} {:<10} {:<12} {:>8} {:>9}  why",
            "#", "customer", "order", "item", "open", "allocated"
        ),
    )?;
    for l in &plan.lines {
        w(
            out,
            format!(
                "{:>3}  {:<12} {:<10} {:<12} {:>8} {:>9}  {}",
                l.queue_position,
                l.customer.as_str(),
                l.order.as_str(),
                l.item.as_str(),
                l.open,
                l.allocated,
                plan.explain(l)
            ),
        )?;
    }
    for (item, left) in &plan.remaining() {
        w(out, format!("left: {left} {item}"))?;
    }
    Ok(())
}

/// Reminders due.
pub fn reminders(out: &mut dyn Write, due: &[ReminderSent], json: bool) -> Result<(), CliError> {
    if due.is_empty() && !json {
        return w(out, "no reminders due");
    }
    for r in due {
        if json {
            w(out, serde_json::to_string(r).map_err(CliError::io)?)?;
        } else {
            w(
                out,
                format!(
                    "{:?} {:?} level {}: {}",
                    r.recipient, r.kind, r.level, r.message
                ),
            )?;
        }
    }
    Ok(())
}
