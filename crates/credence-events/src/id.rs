//! Identifier newtypes: business ids chosen by the supplier and opaque event ids.
//!
//! Business ids (customers, orders, deliveries, …) are short strings the
//! supplier already uses ("ACME-042", "INV-2026-0117"). They are validated on
//! construction and on deserialisation: 1 to [`MAX_ID_LEN`] bytes, no control
//! characters, no leading or trailing whitespace. Event ids are UUIDs chosen by
//! the shell (the core never generates randomness).

use std::fmt;
use std::str::FromStr;

use std::marker::PhantomData;

use compact_str::CompactString;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The longest business id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Why a string is not a valid business id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The id is empty.
    #[error("{kind} id is empty")]
    Empty {
        /// Which kind of id.
        kind: &'static str,
    },
    /// The id is longer than [`MAX_ID_LEN`] bytes.
    #[error("{kind} id is longer than {MAX_ID_LEN} bytes")]
    TooLong {
        /// Which kind of id.
        kind: &'static str,
    },
    /// The id contains a control character or surrounding whitespace.
    #[error("{kind} id {value:?} contains a control character or surrounding whitespace")]
    Malformed {
        /// Which kind of id.
        kind: &'static str,
        /// The rejected text.
        value: String,
    },
}

fn validate(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind });
    }
    if is_malformed(value) {
        return Err(IdError::Malformed {
            kind,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// A control character anywhere, or white space at either end.
fn is_malformed(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        // Most ids are ASCII: one pass over the bytes. ASCII's white space
        // is either a control character or the space.
        (Some(first), Some(last)) if value.is_ascii() => {
            bytes.iter().any(u8::is_ascii_control) || *first == b' ' || *last == b' '
        }
        _ => value.chars().any(char::is_control) || value.trim() != value,
    }
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        ///
        /// Held as a compact string: ids of up to 24 bytes live inline (no
        /// heap allocation; cloning is a copy), longer ones on the heap.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(CompactString);

        impl $name {
            /// Validates and wraps `value`.
            ///
            /// # Errors
            ///
            /// Returns [`IdError`] when `value` is empty, too long, or contains
            /// control characters or surrounding whitespace.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                validate($kind, &value)?;
                Ok(Self(CompactString::from(value)))
            }

            /// Validates and copies `value` (no intermediate `String`).
            fn from_text(value: &str) -> Result<Self, IdError> {
                validate($kind, value)?;
                Ok(Self(CompactString::new(value)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::from_text(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(value: &str) -> Result<Self, IdError> {
                Self::from_text(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into_string()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(IdVisitor::<$name>::new($kind))
            }
        }

        impl ParseId for $name {
            fn parse_id(value: &str) -> Result<Self, IdError> {
                Self::from_text(value)
            }
        }
    };
}

/// Ids parsed by the shared serde visitor.
trait ParseId: Sized {
    fn parse_id(value: &str) -> Result<Self, IdError>;
}

/// Deserialises any id from a (borrowed or owned) string without an
/// intermediate `String`, validating it.
struct IdVisitor<T> {
    kind: &'static str,
    id: PhantomData<T>,
}

impl<T> IdVisitor<T> {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            id: PhantomData,
        }
    }
}

impl<T: ParseId> Visitor<'_> for IdVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} id", self.kind)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        T::parse_id(value).map_err(E::custom)
    }
}

string_id!(
    /// A customer: a B2B buyer with a contract. Also names the customer's stream.
    CustomerId,
    "customer"
);
string_id!(
    /// A manager: the supplier's salesperson responsible for customers.
    ManagerId,
    "manager"
);
string_id!(
    /// An order placed by a customer.
    OrderId,
    "order"
);
string_id!(
    /// A delivery (shipment or service performed) against an order.
    DeliveryId,
    "delivery"
);
string_id!(
    /// A receivable (invoice) created by a delivery.
    ReceivableId,
    "receivable"
);
string_id!(
    /// A payment received from a customer.
    PaymentId,
    "payment"
);
string_id!(
    /// A payment order: the customer's proof that a transfer was issued.
    PaymentOrderId,
    "payment order"
);
string_id!(
    /// A promise to pay obtained from a customer.
    PromiseId,
    "promise"
);
string_id!(
    /// A reminder sent to a customer or a manager.
    ReminderId,
    "reminder"
);
string_id!(
    /// A decision recorded by a policy.
    DecisionId,
    "decision"
);
string_id!(
    /// A stock item (goods or a service kind).
    ItemId,
    "item"
);
string_id!(
    /// A delay reason code, such as `cash-gap` or `dispute`.
    ReasonCode,
    "reason code"
);
string_id!(
    /// A policy's identifier (stable across its versions).
    PolicyId,
    "policy"
);
string_id!(
    /// A rule's identifier, unique within its policy.
    RuleId,
    "rule"
);
string_id!(
    /// A stream's name in the store. Credence keeps one stream per customer,
    /// named by the customer id (see [`StreamId::for_customer`]).
    StreamId,
    "stream"
);

impl StreamId {
    /// The stream that holds `customer`'s events.
    pub fn for_customer(customer: &CustomerId) -> StreamId {
        StreamId(customer.0.clone())
    }
}

impl From<&CustomerId> for StreamId {
    fn from(customer: &CustomerId) -> StreamId {
        StreamId::for_customer(customer)
    }
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// Builds an id from a number; deterministic, for tests and
            /// derived ids.
            pub const fn from_u128(value: u128) -> Self {
                Self(Uuid::from_u128(value))
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, uuid::Error> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// The unique id of one stored event. Chosen by the writer, so that an
    /// append retried with the same ids is idempotent.
    EventId
);
uuid_id!(
    /// Ties together every event caused by one request, across streams.
    CorrelationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        assert_eq!(CustomerId::new("ACME-042").unwrap().as_str(), "ACME-042");
        assert_eq!(
            "Київ 1".parse::<CustomerId>().unwrap().to_string(),
            "Київ 1"
        );
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(
            CustomerId::new(""),
            Err(IdError::Empty { kind: "customer" })
        );
        assert!(matches!(OrderId::new(" x"), Err(IdError::Malformed { .. })));
        assert!(matches!(
            OrderId::new("a\nb"),
            Err(IdError::Malformed { .. })
        ));
        assert!(matches!(
            OrderId::new("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { .. })
        ));
    }

    #[test]
    fn deserialisation_validates() {
        let err = serde_json::from_str::<CustomerId>("\"\"").unwrap_err();
        assert!(err.to_string().contains("customer id is empty"), "{err}");
        let id: CustomerId = serde_json::from_str("\"c1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"c1\"");
    }

    proptest::proptest! {
        /// The ASCII fast path judges as the definition does.
        #[test]
        fn malformed_as_defined(value in proptest::prop_oneof![
            "[ a~]{0,6}",
            "[ aZ~\t\n\x0b\x0c\r\x00\x7f\u{85}\u{a0}\u{2028}é]{0,6}",
        ]) {
            let defined = value.chars().any(char::is_control) || value.trim() != value;
            proptest::prop_assert_eq!(is_malformed(&value), defined);
        }
    }

    #[test]
    fn event_ids_round_trip() {
        let id = EventId::from_u128(7);
        let text = id.to_string();
        assert_eq!(text.parse::<EventId>().unwrap(), id);
    }
}
