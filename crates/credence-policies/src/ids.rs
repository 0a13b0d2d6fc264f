//! Deterministic ids for decisions and reminders, derived from stable inputs
//! so that replaying a stream reproduces them exactly.
//!
//! | what | id |
//! | --- | --- |
//! | credit decision on an order | `credit:{order}` |
//! | later decision on a held order | `credit:{order}:v{stream version}` |
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

/// The id of a later decision on `order` (releasing a hold), decided at
/// stream `version`.
///
/// # Errors
///
/// Never in practice: the text is always a valid id.
pub fn order_redecision_id(order: &OrderId, version: u64) -> Result<DecisionId, IdError> {
    DecisionId::new(bounded("credit", format!("credit:{order}:v{version}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_derived_and_bounded() {
        let order = OrderId::new("O-17").unwrap();
        assert_eq!(order_decision_id(&order).unwrap().as_str(), "credit:O-17");
        let customer = CustomerId::new("ACME").unwrap();
        assert_eq!(
            standing_decision_id("priority", &customer, 12)
                .unwrap()
                .as_str(),
            "priority:ACME:v12"
        );
        let r = ReceivableId::new("INV-1").unwrap();
        assert_eq!(
            reminder_id(ReminderKind::Overdue, Recipient::Manager, 2, Some(&r), None)
                .unwrap()
                .as_str(),
            "reminder:overdue:manager:2:INV-1"
        );
        let long = CustomerId::new("x".repeat(128)).unwrap();
        let id = standing_decision_id("priority", &long, 1).unwrap();
        assert!(id.as_str().starts_with("priority:sha256:"));
        assert_eq!(id, standing_decision_id("priority", &long, 1).unwrap());
        assert_ne!(id, standing_decision_id("priority", &long, 2).unwrap());
    }
}
