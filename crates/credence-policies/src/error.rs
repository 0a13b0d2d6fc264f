//! The crate's error type: why a policy could not be loaded or applied.

use credence_events::PolicyRef;

/// Why a policy document was rejected or a policy could not be applied.
///
/// Loading errors name the place in the document (`rules[2].when.all[1].fact`)
/// so a credit controller can fix the file; evaluation errors are rare (an
/// unregistered customer, amounts in mixed currencies) and mean the caller
/// passed state the policy cannot judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is not well-formed JSON.
    #[error("malformed policy json: {0}")]
    Json(String),
    /// The document is JSON but breaks a rule of the policy format.
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the document, such as `rules[2].when.all[1].fact`.
        path: String,
        /// What is wrong, in lower case.
        message: String,
    },
    /// The account holds events recorded after the evaluation time: a policy
    /// decides only on the past, so evaluate a prefix of the stream instead.
    #[error("the account holds events recorded at {last}, after the evaluation time {now}")]
    FutureEvents {
        /// The latest `recorded_at` in the account.
        last: chrono::DateTime<chrono::Utc>,
        /// The evaluation time.
        now: chrono::DateTime<chrono::Utc>,
    },
    /// The customer is not registered: there is nothing to judge.
    #[error("customer is not registered")]
    UnknownCustomer,
    /// The order a decision was asked for is not in the account.
    #[error("order {0} is not in the account")]
    UnknownOrder(String),
    /// The event given as an order placement is not an `OrderPlaced`.
    #[error("expected an OrderPlaced event, got {0}")]
    NotAnOrder(&'static str),
    /// A money computation failed (mixed currencies or overflow).
    #[error("money: {0}")]
    Money(#[from] credence_events::MoneyError),
    /// A derived id is invalid (cannot happen for ids built from valid ids).
    #[error("id: {0}")]
    Id(#[from] credence_events::IdError),
    /// A recorded decision names a policy version the registry does not hold.
    #[error("unknown policy {} v{} ({})", .0.id, .0.version, .0.hash)]
    UnknownPolicy(PolicyRef),
}

impl PolicyError {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}
