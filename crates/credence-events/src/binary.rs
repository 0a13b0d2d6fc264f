//! The binary payload encoding: a compact, explicit byte shape of every event
//! type, for storage backends that keep their own records (the file log).
//!
//! The [JSON codec](crate::codec) stays the public, documented shape of
//! events (exports, imports, the PostgreSQL backend, golden files). This
//! encoding is an internal storage format: it writes no field names and
//! parses no text, so decoding costs a fraction of a JSON parse.
//!
//! # Shape
//!
//! A payload is the event's fields in declaration order, with no framing:
//! the event type and schema version are stored next to the payload by the
//! caller (as they are next to a JSON payload).
//!
//! | value | bytes |
//! | --- | --- |
//! | unsigned integer (`u8` level and priority excepted) | LEB128 varint, at most the type's width |
//! | signed integer (`i64`) | zigzag, then LEB128 |
//! | `u8` (reminder level, priority) | one byte |
//! | `bool` | one byte, `0` or `1` |
//! | `Decimal` (and [`Rate`], [`Quantity`]) | scale `u8` (0–28), then the mantissa as a zigzag LEB128 varint (below 2⁹⁶) |
//! | [`Money`] | currency (three ASCII bytes), then the amount as a `Decimal` |
//! | `NaiveDate` | days since 1970-01-01, zigzag LEB128 |
//! | `DateTime<Utc>` | seconds since the Unix epoch (zigzag LEB128), then nanoseconds (LEB128) |
//! | string, business id | LEB128 byte length, then UTF-8 |
//! | [`EventId`] | the UUID's 16 bytes |
//! | `Option<T>` | `0` for none, `1` then `T` |
//! | `Vec<T>`, `BTreeSet<String>` | LEB128 count, then the items |
//! | pair `(A, B)` | `A`, then `B` |
//! | field-less enum | one byte: the tag listed in the source below; never reordered |
//! | [`FactValue`] | one tag byte (`0` bool … `6` text), then the value |
//!
//! Decoding checks everything the JSON path checks: ids are built by their
//! validating constructors, money, rates and quantities by theirs
//! ([`Money::new`], [`Rate::percent`], [`Quantity::new`]), priorities are
//! never 0, dates and instants are in chrono's range (leap seconds only where
//! chrono allows them, as the JSON parser does). An
//! unknown enum tag, a varint wider than its type, a length beyond the
//! payload, invalid UTF-8 or trailing bytes are errors. Decoding never
//! panics, whatever the bytes.
//!
//! # Versions
//!
//! A payload is always written at its type's current schema version
//! ([`Event::schema_version`]); [`BINARY_SCHEMAS`] lists the `(type, schema)`
//! pairs this build has a binary decoder for. Decoding a payload of any
//! other schema is [`BinaryError::UnsupportedSchema`], never a misread.
//!
//! When an event type's schema is bumped (v*n* → v*n+1*), the decoder of
//! v*n* is kept, frozen, as a separate function that reads the old bytes
//! into the old field set and converts them to the new type (the binary
//! counterpart of a JSON [upcaster](crate::codec::UPCASTERS)), listed as
//! `Type @ n => decoder` next to the new `Type @ n+1` in the
//! `binary_events!` list that generates [`BINARY_SCHEMAS`] and the dispatch:
//!
//! ```text
//! TermsChanged @ 2 => terms_changed_v2,   // frozen: reads v2 bytes, returns the v3 event
//! TermsChanged @ 3,                       // the current Binary impl
//! ```
//! The new version's encoder and
//! decoder are then written for the new fields. Old binary payloads thus stay
//! readable for ever, and the store's checked-in binary fixtures catch an
//! accidental change of an existing version's bytes. `TermsChanged` was at
//! schema 2 when this encoding was introduced: there are no v1 binary
//! payloads, so only its v2 decoder exists (v1 exists only as JSON).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::decision::{
    AdjustmentKind, Comparison, ConditionTrace, DiscountOutcome, Explanation, FactValue,
    FulfilmentMode, PolicyRef, Priority, Recipient, ReminderKind, Verdict,
};
use crate::event::*;
use crate::id::{EventId, IdError};
use crate::money::{Currency, Money, Quantity, Rate};
use crate::time::{DayKind, Deferral};

/// Why a binary payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BinaryError {
    /// The event type is not known to this build.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// This build has no binary decoder for the payload's schema version.
    #[error(
        "no binary decoder for {event_type} schema {schema} (this build writes schema {current})"
    )]
    UnsupportedSchema {
        /// The event type.
        event_type: String,
        /// The schema version found.
        schema: u16,
        /// The schema version this build writes.
        current: u16,
    },
    /// The payload ends before the event does.
    #[error("binary {event_type} payload is truncated at byte {offset}")]
    Truncated {
        /// The event type.
        event_type: &'static str,
        /// Where the missing bytes were expected.
        offset: usize,
    },
    /// The payload holds a value that is not allowed there.
    #[error("binary {event_type} payload is invalid at byte {offset}: {reason}")]
    Invalid {
        /// The event type.
        event_type: &'static str,
        /// Where the value starts (or ends, for trailing bytes).
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Declares the binary decoders: one `Type @ schema` per decodable pair,
/// decoded by the type's [`Binary`] impl, or `Type @ schema => decoder` with
/// a `fn(&[u8]) -> Result<Event, BinaryError>` for the frozen decoder of an
/// old schema (see the module docs). Generates [`BINARY_SCHEMAS`] and the
/// dispatch of [`decode_event`] from the same list, so that the two cannot
/// disagree.
macro_rules! binary_events {
    ($($name:ident @ $schema:literal $(=> $decoder:expr)?,)*) => {
        /// Every `(event type, schema version)` this build can decode from
        /// the binary encoding. The encoder writes the current version of
        /// each type; a schema bump keeps the old pair (with its frozen
        /// decoder) and adds the new one.
        pub const BINARY_SCHEMAS: &[(&str, u16)] = &[$((stringify!($name), $schema),)*];

        /// The decoder of `(event_type, schema)`, if there is one.
        fn dispatch(event_type: &str, schema: u16, bytes: &[u8]) -> Option<Result<Event, BinaryError>> {
            match (event_type, schema) {
                $((stringify!($name), $schema) => Some(decoder!($name, bytes $(, $decoder)?)),)*
                _ => None,
            }
        }
    };
}

/// The decoder of one arm of [`binary_events!`].
macro_rules! decoder {
    ($name:ident, $bytes:ident) => {
        read(stringify!($name), $bytes, Event::$name)
    };
    ($name:ident, $bytes:ident, $decoder:expr) => {
        ($decoder)($bytes)
    };
}

binary_events! {
    CustomerRegistered @ 1,
    TermsChanged @ 2,
    ManagerAssigned @ 1,
    OrderPlaced @ 1,
    OrderCancelled @ 1,
    DeliveryRecorded @ 1,
    PaymentReceived @ 1,
    PaymentOrderReceived @ 1,
    PaymentOrderCleared @ 1,
    PaymentOrderExpired @ 1,
    PaymentReversed @ 1,
    ReminderSent @ 1,
    DelayExplained @ 1,
    PromiseToPayMade @ 1,
    PromiseToPayKept @ 1,
    PromiseToPayBroken @ 1,
    CreditDecided @ 1,
    PriceAdjustmentChanged @ 1,
    PriorityChanged @ 1,
    FulfilmentModeChanged @ 1,
}

/// Appends the binary payload of `event` (at its current schema version,
/// [`Event::schema_version`]) to `out`. Never fails.
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
    let w = out;
    match event {
        Event::CustomerRegistered(e) => e.put(w),
        Event::TermsChanged(e) => e.put(w),
        Event::ManagerAssigned(e) => e.put(w),
        Event::OrderPlaced(e) => e.put(w),
        Event::OrderCancelled(e) => e.put(w),
        Event::DeliveryRecorded(e) => e.put(w),
        Event::PaymentReceived(e) => e.put(w),
        Event::PaymentOrderReceived(e) => e.put(w),
        Event::PaymentOrderCleared(e) => e.put(w),
        Event::PaymentOrderExpired(e) => e.put(w),
        Event::PaymentReversed(e) => e.put(w),
        Event::ReminderSent(e) => e.put(w),
        Event::DelayExplained(e) => e.put(w),
        Event::PromiseToPayMade(e) => e.put(w),
        Event::PromiseToPayKept(e) => e.put(w),
        Event::PromiseToPayBroken(e) => e.put(w),
        Event::CreditDecided(e) => e.put(w),
        Event::PriceAdjustmentChanged(e) => e.put(w),
        Event::PriorityChanged(e) => e.put(w),
        Event::FulfilmentModeChanged(e) => e.put(w),
    }
}

/// Decodes a binary payload stored as `event_type` at `schema`.
///
/// # Errors
///
/// [`BinaryError::UnknownType`] for a type this build does not know,
/// [`BinaryError::UnsupportedSchema`] for a schema version it has no binary
/// decoder for, [`BinaryError::Truncated`] or [`BinaryError::Invalid`] for
/// bytes that are not a valid payload. Never panics.
pub fn decode_event(event_type: &str, schema: u16, bytes: &[u8]) -> Result<Event, BinaryError> {
    dispatch(event_type, schema, bytes).unwrap_or_else(|| {
        Err(match Event::current_schema(event_type) {
            None => BinaryError::UnknownType(event_type.to_owned()),
            Some(current) => BinaryError::UnsupportedSchema {
                event_type: event_type.to_owned(),
                schema,
                current,
            },
        })
    })
}

/// Decodes a whole payload as `T`, naming `name` in errors.
fn read<T: Binary>(
    name: &'static str,
    bytes: &[u8],
    wrap: fn(T) -> Event,
) -> Result<Event, BinaryError> {
    let mut r = Reader::new(bytes);
    let value = T::get(&mut r).and_then(|v| {
        if r.at == r.bytes.len() {
            Ok(v)
        } else {
            r.mark = r.at;
            Err(Fault::Invalid("trailing bytes".into()))
        }
    });
    match value {
        Ok(v) => Ok(wrap(v)),
        Err(Fault::Truncated) => Err(BinaryError::Truncated {
            event_type: name,
            offset: r.at,
        }),
        Err(Fault::Invalid(reason)) => Err(BinaryError::Invalid {
            event_type: name,
            offset: r.mark,
            reason,
        }),
    }
}

/// What went wrong inside a payload or a value; [`decode_event`] gives it
/// the event type and offset ([`BinaryError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The bytes end before the value does.
    #[error("the bytes end before the value does")]
    Truncated,
    /// The bytes hold a value that is not allowed there.
    #[error("invalid value: {0}")]
    Invalid(String),
}

impl From<IdError> for Fault {
    fn from(e: IdError) -> Fault {
        Fault::Invalid(e.to_string())
    }
}

impl From<crate::money::MoneyError> for Fault {
    fn from(e: crate::money::MoneyError) -> Fault {
        Fault::Invalid(e.to_string())
    }
}

fn invalid<T>(reason: &str) -> Result<T, Fault> {
    Err(Fault::Invalid(reason.to_owned()))
}

/// Reads [`Binary`] values from bytes, front to back.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where the value being read started (for error offsets).
    mark: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            mark: 0,
        }
    }

    /// Reads one value.
    ///
    /// # Errors
    ///
    /// [`Fault`] when the bytes ahead are not a `T`.
    pub fn read<T: Binary>(&mut self) -> Result<T, Fault> {
        T::get(self)
    }

    /// True once every byte was read.
    pub fn is_at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Fault> {
        let end = self.at.checked_add(n).ok_or(Fault::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(Fault::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    /// Reads one raw byte (a tag of the caller's own).
    ///
    /// # Errors
    ///
    /// [`Fault::Truncated`] at the end of the bytes.
    pub fn byte(&mut self) -> Result<u8, Fault> {
        self.mark = self.at;
        let b = *self.bytes.get(self.at).ok_or(Fault::Truncated)?;
        self.at += 1;
        Ok(b)
    }

    /// An LEB128 varint of at most `bits` significant bits.
    fn varint(&mut self, bits: u32) -> Result<u128, Fault> {
        let start = self.at;
        let mut value: u128 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.bytes.get(self.at).ok_or(Fault::Truncated)?;
            self.at += 1;
            let low = u128::from(b & 0x7f);
            if shift >= bits || low >> (bits - shift).min(127) != 0 {
                self.mark = start;
                return invalid("varint too wide for its type");
            }
            value |= low << shift;
            if b & 0x80 == 0 {
                self.mark = start;
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn u64(&mut self) -> Result<u64, Fault> {
        // `varint(64)` never exceeds `u64::MAX`.
        self.varint(64).map(|v| v as u64)
    }

    fn i64(&mut self) -> Result<i64, Fault> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A length or count: each item takes at least one byte, so a count
    /// beyond the bytes left is an error before anything is allocated.
    fn len(&mut self) -> Result<usize, Fault> {
        let n = self.u64()?;
        let left = self.bytes.len() - self.at;
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(Fault::Truncated),
        }
    }

    fn str(&mut self) -> Result<&'a str, Fault> {
        let n = self.len()?;
        let start = self.at;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).or_else(|_| {
            self.mark = start;
            invalid("invalid UTF-8")
        })
    }
}

fn put_varint(w: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        w.push((v as u8) | 0x80);
        v >>= 7;
    }
    w.push(v as u8);
}

fn put_i64(w: &mut Vec<u8>, v: i64) {
    put_varint(w, u128::from(((v << 1) ^ (v >> 63)) as u64));
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    put_varint(w, n as u128);
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_len(w, s.len());
    w.extend_from_slice(s.as_bytes());
}

/// A value with a compact binary shape (the table in the [module
/// docs](self)).
///
/// Implemented for the events, their fields and the value types they are
/// made of. Other crates build their own compact records from these
/// shapes (the account keeps its closed items so): such records are an
/// in-memory or internal format, written and read by the same build.
pub trait Binary: Sized {
    /// Appends the value's bytes to `w`. Never fails.
    fn put(&self, w: &mut Vec<u8>);

    /// Reads a value from `r`, validating it as its constructors do.
    ///
    /// # Errors
    ///
    /// [`Fault`] when the bytes ahead are not a valid value. Never panics,
    /// whatever the bytes.
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault>;
}

/// Decodes `bytes` as exactly one `T`.
///
/// # Errors
///
/// [`Fault`] when they are not a valid `T`, or when bytes are left after
/// it.
pub fn decode_value<T: Binary>(bytes: &[u8]) -> Result<T, Fault> {
    let mut r = Reader::new(bytes);
    let value = T::get(&mut r)?;
    if r.is_at_end() {
        Ok(value)
    } else {
        invalid("trailing bytes")
    }
}

impl Binary for bool {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        match r.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => invalid("a bool is 0 or 1"),
        }
    }
}

impl Binary for u8 {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        r.byte()
    }
}

impl Binary for u16 {
    fn put(&self, w: &mut Vec<u8>) {
        put_varint(w, u128::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        r.varint(16).map(|v| v as u16)
    }
}

impl Binary for u32 {
    fn put(&self, w: &mut Vec<u8>) {
        put_varint(w, u128::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        r.varint(32).map(|v| v as u32)
    }
}

impl Binary for i64 {
    fn put(&self, w: &mut Vec<u8>) {
        put_i64(w, *self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        r.i64()
    }
}

impl Binary for String {
    fn put(&self, w: &mut Vec<u8>) {
        put_str(w, self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        r.str().map(str::to_owned)
    }
}

impl<T: Binary> Binary for Option<T> {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            None => w.push(0),
            Some(v) => {
                w.push(1);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        match r.byte()? {
            0 => Ok(None),
            1 => T::get(r).map(Some),
            _ => invalid("an option's presence byte is 0 or 1"),
        }
    }
}

impl<T: Binary> Binary for Vec<T> {
    fn put(&self, w: &mut Vec<u8>) {
        put_len(w, self.len());
        for item in self {
            item.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let n = r.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::get(r)?);
        }
        Ok(out)
    }
}

impl<A: Binary, B: Binary> Binary for (A, B) {
    fn put(&self, w: &mut Vec<u8>) {
        self.0.put(w);
        self.1.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok((A::get(r)?, B::get(r)?))
    }
}

impl Binary for BTreeSet<String> {
    fn put(&self, w: &mut Vec<u8>) {
        put_len(w, self.len());
        for item in self {
            put_str(w, item);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let n = r.len()?;
        let mut out = BTreeSet::new();
        for _ in 0..n {
            out.insert(String::get(r)?);
        }
        Ok(out)
    }
}

impl Binary for Decimal {
    fn put(&self, w: &mut Vec<u8>) {
        // The scale is at most 28 and the mantissa below 2^96 in magnitude.
        w.push(self.scale() as u8);
        let m = self.mantissa();
        put_varint(w, ((m << 1) ^ (m >> 127)) as u128);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let scale = u32::from(r.byte()?);
        let start = r.mark;
        let z = r.varint(97)?;
        let m = ((z >> 1) as i128) ^ -((z & 1) as i128);
        r.mark = start;
        Decimal::try_from_i128_with_scale(m, scale).or_else(|e| invalid(&e.to_string()))
    }
}

impl Binary for Currency {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(self.as_str().as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        r.mark = r.at;
        let code = r.take(3)?;
        match std::str::from_utf8(code) {
            Ok(code) => Ok(Currency::new(code)?),
            Err(_) => invalid("a currency code is three upper-case ASCII letters"),
        }
    }
}

impl Binary for Money {
    fn put(&self, w: &mut Vec<u8>) {
        self.currency().put(w);
        self.amount().put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let currency = Currency::get(r)?;
        let amount = Decimal::get(r)?;
        Ok(Money::new(amount, currency)?)
    }
}

impl Binary for Rate {
    fn put(&self, w: &mut Vec<u8>) {
        self.as_percent().put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Rate::percent(Decimal::get(r)?)?)
    }
}

impl Binary for Quantity {
    fn put(&self, w: &mut Vec<u8>) {
        self.value().put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Quantity::new(Decimal::get(r)?)?)
    }
}

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

impl Binary for NaiveDate {
    fn put(&self, w: &mut Vec<u8>) {
        put_i64(
            w,
            i64::from(self.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE,
        );
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let days = r.i64()?;
        days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)
            .and_then(|d| i32::try_from(d).ok())
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .map_or_else(|| invalid("date out of range"), Ok)
    }
}

impl Binary for DateTime<Utc> {
    fn put(&self, w: &mut Vec<u8>) {
        put_i64(w, self.timestamp());
        put_varint(w, u128::from(self.timestamp_subsec_nanos()));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let secs = r.i64()?;
        let start = r.mark;
        let nanos = u32::get(r)?;
        r.mark = start;
        DateTime::from_timestamp(secs, nanos).map_or_else(|| invalid("instant out of range"), Ok)
    }
}

impl Binary for EventId {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(self.as_uuid().as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let bytes = r.take(16)?;
        let mut uuid = [0; 16];
        uuid.copy_from_slice(bytes);
        Ok(EventId::from_uuid(Uuid::from_bytes(uuid)))
    }
}

/// Business ids: a length-prefixed string, validated by the id's constructor.
macro_rules! binary_ids {
    ($($id:ident),* $(,)?) => {$(
        impl Binary for crate::id::$id {
            fn put(&self, w: &mut Vec<u8>) {
                put_str(w, self.as_str());
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
                let s = r.str()?;
                Ok(crate::id::$id::try_from(s)?)
            }
        }
    )*};
}

binary_ids!(
    CustomerId,
    ManagerId,
    OrderId,
    DeliveryId,
    ReceivableId,
    PaymentId,
    PaymentOrderId,
    PromiseId,
    ReminderId,
    DecisionId,
    ItemId,
    ReasonCode,
    PolicyId,
    RuleId,
);

/// Field-less enums: one byte per variant, with the tags given here. A tag is
/// never reused or renumbered; new variants take new tags.
macro_rules! binary_enums {
    ($($ty:ident { $($variant:ident = $tag:literal),* $(,)? })*) => {$(
        impl Binary for $ty {
            fn put(&self, w: &mut Vec<u8>) {
                w.push(match self {
                    $($ty::$variant => $tag,)*
                });
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
                match r.byte()? {
                    $($tag => Ok($ty::$variant),)*
                    _ => invalid(concat!("unknown ", stringify!($ty), " tag")),
                }
            }
        }
    )*};
}

binary_enums! {
    ServiceLevel { Basic = 0, Standard = 1, Premium = 2 }
    DayKind { Calendar = 0, Business = 1 }
    Urgency { Normal = 0, Urgent = 1, SameDay = 2 }
    PaymentMethod { BankTransfer = 0, Cash = 1, CashOnDelivery = 2 }
    Comparison { Lt = 0, Le = 1, Eq = 2, Ne = 3, Ge = 4, Gt = 5, Contains = 6 }
    Verdict { Accept = 0, Hold = 1, Refuse = 2 }
    FulfilmentMode {
        Full = 0, Partial = 1, Residual = 2, CashOnDelivery = 3, Deferred = 4, Refused = 5
    }
    DiscountOutcome { Kept = 0, Suspended = 1 }
    AdjustmentKind { Discount = 0, Markup = 1, Bonus = 2 }
    ReminderKind {
        Advance = 0, DueToday = 1, Overdue = 2, CreditLimit = 3, PriceChange = 4,
        PriorityChange = 5, ServiceWarning = 6, PaymentOrderOverdue = 7, PromiseBroken = 8
    }
    Recipient { Customer = 0, Manager = 1 }
}

impl Binary for Priority {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(self.0);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Priority::try_from(r.byte()?).map_err(Fault::Invalid)
    }
}

impl Binary for FactValue {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            FactValue::Bool(v) => {
                w.push(0);
                v.put(w);
            }
            FactValue::Integer(v) => {
                w.push(1);
                v.put(w);
            }
            FactValue::Decimal(v) => {
                w.push(2);
                v.put(w);
            }
            FactValue::Rate(v) => {
                w.push(3);
                v.put(w);
            }
            FactValue::Money(v) => {
                w.push(4);
                v.put(w);
            }
            FactValue::Date(v) => {
                w.push(5);
                v.put(w);
            }
            FactValue::Text(v) => {
                w.push(6);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(match r.byte()? {
            0 => FactValue::Bool(Binary::get(r)?),
            1 => FactValue::Integer(Binary::get(r)?),
            2 => FactValue::Decimal(Binary::get(r)?),
            3 => FactValue::Rate(Binary::get(r)?),
            4 => FactValue::Money(Binary::get(r)?),
            5 => FactValue::Date(Binary::get(r)?),
            6 => FactValue::Text(Binary::get(r)?),
            _ => return invalid("unknown FactValue tag"),
        })
    }
}

/// Structs: their fields in the order listed, which is the declaration order.
/// Changing a list changes the bytes of a released schema: bump the type's
/// schema instead (see the module docs).
macro_rules! binary_structs {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl Binary for $ty {
            fn put(&self, w: &mut Vec<u8>) {
                let $ty { $($field),* } = self;
                $(Binary::put($field, w);)*
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
                $(let $field = Binary::get(r)?;)*
                Ok($ty { $($field),* })
            }
        }
    )*};
}

binary_structs! {
    Deferral { days, kind }
    Terms { credit_limit, deferral, base_discount, markup, bonus, service_level }
    OrderLine { item, quantity, unit_price }
    DeliveryLine { item, quantity }
    Allocation { receivable, amount }
    CreditApplication { payment, amount }
    PolicyRef { id, version, hash }
    ConditionTrace { fact, comparison, threshold, observed, holds, sources }
    Explanation { policy, rule, evaluated_at, conditions, summary }

    CustomerRegistered { customer, name, manager, currency, tags, terms }
    TermsChanged { terms }
    ManagerAssigned { manager }
    OrderPlaced { order, lines, requested_delivery, urgency, discount }
    OrderCancelled { order, reason }
    DeliveryRecorded {
        delivery, order, lines, delivered_on, receivable, amount, due_date, credit_applied
    }
    PaymentReceived { payment, amount, method, received_on, allocations, unallocated }
    PaymentOrderReceived { payment_order, amount, issued_on, expected_by, receivables }
    PaymentOrderCleared { payment_order, payment }
    PaymentOrderExpired { payment_order }
    PaymentReversed { payment, reason, reopened, credit_removed }
    ReminderSent { reminder, kind, recipient, level, receivables, message, explanation }
    DelayExplained { receivables, manager, reason, text, promised_date }
    PromiseToPayMade { promise, amount, promised_date, receivables }
    PromiseToPayKept { promise, payment }
    PromiseToPayBroken { promise, paid }
    CreditDecided { decision, order, verdict, fulfilment, discount, priority, explanation }
    PriceAdjustmentChanged { decision, adjustment, from, to, explanation }
    PriorityChanged { decision, from, to, explanation }
    FulfilmentModeChanged { decision, from, to, explanation }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_schemas_are_the_current_schemas() {
        // A schema bump must come with a binary decoder for the new version
        // (and keep the old one): see the module docs.
        for (name, current) in Event::TYPES {
            assert!(
                BINARY_SCHEMAS.contains(&(*name, *current)),
                "{name} schema {current} has no binary decoder"
            );
        }
        for (name, schema) in BINARY_SCHEMAS {
            assert!(
                Event::current_schema(name).is_some_and(|c| c >= *schema),
                "{name} schema {schema} is not a known schema"
            );
        }
    }

    mod frozen_decoders {
        use super::super::*;

        /// A stand-in frozen decoder: reads what an old schema wrote and
        /// converts it to today's event.
        fn manager_v0(bytes: &[u8]) -> Result<Event, BinaryError> {
            read("ManagerAssigned", bytes, |m: ManagerAssigned| {
                Event::ManagerAssigned(m)
            })
        }

        binary_events! {
            ManagerAssigned @ 1,
            ManagerAssigned @ 0 => manager_v0,
        }

        #[test]
        fn an_old_schema_is_read_by_its_frozen_decoder() {
            assert_eq!(
                BINARY_SCHEMAS,
                &[("ManagerAssigned", 1), ("ManagerAssigned", 0)]
            );
            let expected = Event::ManagerAssigned(ManagerAssigned {
                manager: crate::ManagerId::new("m").unwrap(),
            });
            assert_eq!(
                dispatch("ManagerAssigned", 0, b"\x01m"),
                Some(Ok(expected.clone()))
            );
            assert_eq!(dispatch("ManagerAssigned", 1, b"\x01m"), Some(Ok(expected)));
            assert_eq!(dispatch("ManagerAssigned", 2, b"\x01m"), None);
        }
    }

    #[test]
    fn varints_round_trip_and_reject_overflow() {
        for v in [0u128, 1, 127, 128, 300, u128::from(u64::MAX)] {
            let mut w = Vec::new();
            put_varint(&mut w, v);
            let mut r = Reader {
                bytes: &w,
                at: 0,
                mark: 0,
            };
            assert_eq!(r.varint(64).unwrap(), v);
            assert_eq!(r.at, w.len());
        }
        // u64::MAX + 1 does not fit 64 bits.
        let mut w = Vec::new();
        put_varint(&mut w, u128::from(u64::MAX) + 1);
        let mut r = Reader {
            bytes: &w,
            at: 0,
            mark: 0,
        };
        assert!(matches!(r.varint(64), Err(Fault::Invalid(_))));
        // 2^16 does not fit a u16.
        let mut w = Vec::new();
        put_varint(&mut w, 1 << 16);
        let mut r = Reader {
            bytes: &w,
            at: 0,
            mark: 0,
        };
        assert!(matches!(u16::get(&mut r), Err(Fault::Invalid(_))));
        // An endless varint is truncated, not a panic.
        let w = [0xff; 40];
        let mut r = Reader {
            bytes: &w,
            at: 0,
            mark: 0,
        };
        assert!(r.varint(128).is_err());
    }

    #[test]
    fn unknown_types_and_schemas_are_errors() {
        assert!(matches!(
            decode_event("Nope", 1, &[]),
            Err(BinaryError::UnknownType(_))
        ));
        assert_eq!(
            decode_event("TermsChanged", 1, &[]),
            Err(BinaryError::UnsupportedSchema {
                event_type: "TermsChanged".into(),
                schema: 1,
                current: 2
            })
        );
        assert!(matches!(
            decode_event("ManagerAssigned", 2, &[1, b'm']),
            Err(BinaryError::UnsupportedSchema { .. })
        ));
        assert_eq!(
            decode_event("ManagerAssigned", 1, &[1, b'm']).unwrap(),
            Event::ManagerAssigned(ManagerAssigned {
                manager: crate::ManagerId::new("m").unwrap()
            })
        );
        assert!(matches!(
            decode_event("ManagerAssigned", 1, &[1, b'm', 0]),
            Err(BinaryError::Invalid { offset: 2, .. })
        ));
        assert!(matches!(
            decode_event("ManagerAssigned", 1, &[2, b'm']),
            Err(BinaryError::Truncated { .. })
        ));
        assert!(matches!(
            decode_event("ManagerAssigned", 1, &[0]),
            Err(BinaryError::Invalid { .. })
        ));
    }
}
