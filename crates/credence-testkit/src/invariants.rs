//! Reusable invariants: each returns `Err` with a readable message.

use credence_events::{Event, codec};
use rust_decimal::Decimal;

use crate::history::History;

/// Money is conserved:
///
/// * every payment's allocations plus its unallocated rest equal its amount;
/// * debt = delivered value − allocated payments (directly or through credit
///   balance) + what reversals reopened;
/// * credit balance = unallocated rests − credit used − credit removed;
/// * no receivable's open amount is negative or above its amount, and the
///   open amounts add up to the debt.
///
/// # Errors
///
/// A message naming the first broken rule.
pub fn money_is_conserved(history: &History) -> Result<(), String> {
    let mut delivered = Decimal::ZERO;
    let mut allocated = Decimal::ZERO;
    let mut reopened = Decimal::ZERO;
    let mut credit = Decimal::ZERO;
    for envelope in &history.events {
        match &envelope.event {
            Event::DeliveryRecorded(d) => {
                delivered += d.amount.amount();
                for c in &d.credit_applied {
                    allocated += c.amount.amount();
                    credit -= c.amount.amount();
                }
            }
            Event::PaymentReceived(p) => {
                let parts: Decimal = p.allocations.iter().map(|a| a.amount.amount()).sum();
                if parts + p.unallocated.amount() != p.amount.amount() {
                    return Err(format!(
                        "payment {} of {} split into {} allocated + {} unallocated",
                        p.payment,
                        p.amount,
                        parts,
                        p.unallocated.amount()
                    ));
                }
                allocated += parts;
                credit += p.unallocated.amount();
            }
            Event::PaymentReversed(r) => {
                reopened += r
                    .reopened
                    .iter()
                    .map(|a| a.amount.amount())
                    .sum::<Decimal>();
                credit -= r.credit_removed.amount();
            }
            _ => {}
        }
    }
    let account = history.account();
    let expected_debt = delivered - allocated + reopened;
    if account.debt().amount() != expected_debt {
        return Err(format!(
            "debt {} != delivered {delivered} - allocated {allocated} + reopened {reopened}",
            account.debt()
        ));
    }
    if account.credit_balance().amount() != credit {
        return Err(format!(
            "credit balance {} != unallocated - used - removed = {credit}",
            account.credit_balance()
        ));
    }
    let mut open_total = Decimal::ZERO;
    for r in account.receivables().values() {
        if r.open < Decimal::ZERO || r.open > r.amount {
            return Err(format!(
                "receivable {} has {} open of {}",
                r.id, r.open, r.amount
            ));
        }
        open_total += r.open;
    }
    if open_total != account.debt().amount() {
        return Err(format!(
            "open receivables add up to {open_total}, debt is {}",
            account.debt()
        ));
    }
    Ok(())
}

/// Replaying the history's commands through a fresh account rejects nothing
/// and records exactly the same events.
///
/// # Errors
///
/// The rejected step, or the first differing event.
pub fn replay_reproduces_events(history: &History) -> Result<(), String> {
    let replayed = history.replay().map_err(|e| e.to_string())?;
    if replayed.len() != history.events.len() {
        return Err(format!(
            "replay recorded {} events, the history has {}",
            replayed.len(),
            history.events.len()
        ));
    }
    for (a, b) in replayed.iter().zip(&history.events) {
        if a != b {
            return Err(format!(
                "event {} differs on replay: {:?} vs {:?}",
                b.version, a.event, b.event
            ));
        }
    }
    Ok(())
}

/// Every event survives the JSON codec unchanged.
///
/// # Errors
///
/// The first event that does not round-trip.
pub fn json_round_trip(history: &History) -> Result<(), String> {
    for envelope in &history.events {
        let json = codec::encode(envelope);
        let back = codec::decode(&json).map_err(|e| format!("{e} in {json}"))?;
        if &back != envelope {
            return Err(format!(
                "event {} changed through JSON: {json}",
                envelope.version
            ));
        }
    }
    Ok(())
}

/// Folding a prefix, then the rest, gives the same state as folding all
/// (the basis of snapshots).
///
/// # Errors
///
/// The first split point where the states differ.
pub fn snapshot_plus_tail_equals_full_replay(history: &History) -> Result<(), String> {
    let full = history.account();
    for split in 0..=history.events.len() {
        let mut account =
            credence_aggregates::CustomerAccount::from_history(&history.events[..split]);
        for envelope in &history.events[split..] {
            account.apply(envelope);
        }
        if account != full {
            return Err(format!("state differs when resuming after event {split}"));
        }
    }
    Ok(())
}
