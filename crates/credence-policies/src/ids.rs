//! Deterministic ids for decisions and reminders, derived from stable inputs
//! so that replaying a stream reproduces them exactly.
//!
//! | what | id |
//! | --- | --- |
//! | credit decision on an order | `credit:{order}` |
//! | change of standing | `{priority,fulfilment,discount,markup,bonus}:{customer}:v{stream version}` |
//! | follow-up / service warning | `reminder:{kind}:{recipient}:{level}:{receivable}` |
//! | credit-limit warning | `reminder:credit_limit:{recipient}:{level}:{first new receivable or none}:v{stream version}` |
//! | change notice | `notice:{kind}:{recipient}:{customer}:v{stream version}` |
//!
//! The stream version is the account's version when it was evaluated (the
//! version just before the decision events), so two evaluations that change
//! the standing never share an id. An id longer than the 128-byte limit of
//! business ids is replaced by its kind prefix and the SHA-256 of the full
//! text.

use credence_events::id::MAX_ID_LEN;
use credence_events::{
    CustomerId, DecisionId, IdError, OrderId, ReceivableId, Recipient, ReminderId, ReminderKind,
};
use sha2::{Digest, Sha256};

use crate::reminders::{kind_name, recipient_name};

fn bounded(prefix: &str, text: String) -> String {
    if text.len() <= MAX_ID_LEN {
        return text;
    }
    let digest: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}:sha256:{digest}")
}

/// The id of the credit decision on `order`.
///
/// # Errors
///
/// Never in practice: the text is always a valid id.
pub fn order_decision_id(order: &OrderId) -> Result<DecisionId, IdError> {
    DecisionId::new(bounded("credit", format!("credit:{order}")))
}

/// The id of a change of `what` (priority, fulfilment, discount, markup,
/// bonus) decided for `customer` at stream `version`.
///
/// # Errors
///
/// Never in practice: the text is always a valid id.
pub fn standing_decision_id(
    what: &str,
    customer: &CustomerId,
    version: u64,
) -> Result<DecisionId, IdError> {
    DecisionId::new(bounded(what, format!("{what}:{customer}:v{version}")))
}

/// The id of a reminder.
///
/// # Errors
///
/// Never in practice: the text is always a valid id.
pub fn reminder_id(
    kind: ReminderKind,
    recipient: Recipient,
    level: u8,
    receivable: Option<&ReceivableId>,
    version: Option<u64>,
) -> Result<ReminderId, IdError> {
    let mut text = format!(
        "reminder:{}:{}:{level}:{}",
        kind_name(kind),
        recipient_name(recipient),
        receivable.map(ReceivableId::as_str).unwrap_or("none")
    );
    if let Some(v) = version {
        text.push_str(&format!(":v{v}"));
    }
    ReminderId::new(bounded("reminder", text))
}

/// The id of a change notice.
///
/// # Errors
///
/// Never in practice: the text is always a valid id.
pub fn notice_id(
    kind: ReminderKind,
    recipient: Recipient,
    customer: &CustomerId,
    version: u64,
) -> Result<ReminderId, IdError> {
    ReminderId::new(bounded(
        "notice",
        format!(
            "notice:{}:{}:{customer}:v{version}",
            kind_name(kind),
            recipient_name(recipient)
        ),
    ))
}
