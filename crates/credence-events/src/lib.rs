//! The vocabulary of Credence: everything that is written to a customer's stream.
//!
//! This crate defines the words every other Credence crate speaks:
//!
//! * [`id`]: validated id newtypes (`CustomerId`, `OrderId`, …) and `EventId`;
//! * [`money`]: exact [`Money`] over `rust_decimal` with an ISO [`Currency`],
//!   plus [`Rate`] and [`Quantity`];
//! * [`time`]: business time: the supplier's [`BusinessCalendar`], deferrals in
//!   calendar or business days, due dates and days past due;
//! * [`event`]: one type per fact of credit control and the [`Event`] enum;
//! * [`decision`]: the persisted shape of decisions and their explanations;
//! * [`envelope`]: [`EventEnvelope`] (identity, stream version, global
//!   position, business and recorded time) and [`NewEvent`];
//! * [`codec`]: the stable JSON shape with a schema version per event type
//!   and upcasting of old payloads;
//! * [`binary`]: a compact binary payload encoding for storage backends
//!   (the file log), checked as strictly as the JSON codec.
//!
//! # Invariants
//!
//! * **Pure.** No IO, no clock, no randomness: ids and times are given by the
//!   caller. The codec works on strings.
//! * **Valid by construction.** Ids, money, rates and quantities are checked
//!   when built and when deserialised; an invalid value cannot exist.
//! * **Exact money.** No floating point anywhere; currencies never mix.
//! * **Old logs stay readable.** Every event type has a schema version; a
//!   payload of an older version is upcast on read. Golden files of every
//!   released shape live in `tests/golden/` and are never edited.

pub mod binary;
pub mod codec;
pub mod decision;
mod describe;
pub mod envelope;
pub mod event;
pub mod id;
pub mod money;
pub mod time;

pub use binary::BinaryError;
pub use codec::CodecError;
pub use decision::{
    AdjustmentKind, Comparison, ConditionTrace, DiscountOutcome, Explanation, FactValue,
    FulfilmentMode, PolicyRef, Priority, Recipient, ReminderKind, Verdict,
};
pub use envelope::{EventEnvelope, GlobalPosition, NewEvent, StreamVersion};
pub use event::*;
pub use id::{
    CorrelationId, CustomerId, DecisionId, DeliveryId, EventId, IdError, ItemId, MAX_ID_LEN,
    ManagerId, OrderId, PaymentId, PaymentOrderId, PolicyId, PromiseId, ReasonCode, ReceivableId,
    ReminderId, RuleId, StreamId,
};
pub use money::{Currency, Money, MoneyError, Quantity, Rate};
pub use time::{BusinessCalendar, DayKind, Deferral, WeekdayName, days_past_due};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Event>();
        assert_send_sync::<EventEnvelope>();
        assert_send_sync::<CodecError>();
        assert_send_sync::<BusinessCalendar>();
    }
}
