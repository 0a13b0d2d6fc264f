//! Terse constructors of values for hand-written tests: `money("12.50")`,
//! `rate("5")`, `at(2026, 11, 6)`. They panic on invalid literals, which in
//! a test is a typo in the test itself.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use credence_events::{
    Currency, Deferral, ItemId, Money, OrderId, Rate, ReceivableId, ServiceLevel, Terms,
};
use rust_decimal::Decimal;

/// The euro.
pub fn eur() -> Currency {
    Currency::new("EUR").expect("valid code")
}

/// An amount in euros, such as `"12.50"`.
///
/// # Panics
///
/// On a malformed or over-precise literal.
pub fn money(amount: &str) -> Money {
    Money::new(dec(amount), eur()).expect("a valid EUR amount")
}

/// A decimal literal.
///
/// # Panics
///
/// On a malformed literal.
pub fn dec(value: &str) -> Decimal {
    value.parse().expect("a decimal literal")
}

/// A rate of `percent` percent, such as `"2.5"`.
///
/// # Panics
///
/// On a malformed or negative literal.
pub fn rate(percent: &str) -> Rate {
    Rate::percent(dec(percent)).expect("a valid rate")
}

/// A calendar date.
///
/// # Panics
///
/// On an impossible date.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

/// `h`:00 UTC on the given day.
///
/// # Panics
///
/// On an impossible date or hour.
pub fn at_hour(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("a valid time")
}

/// 10:00 UTC on the given day.
///
/// # Panics
///
/// On an impossible date.
pub fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    at_hour(y, m, d, 10)
}

/// An order id.
///
/// # Panics
///
/// On an invalid id.
pub fn order_id(id: &str) -> OrderId {
    OrderId::new(id).expect("a valid id")
}

/// An item id.
///
/// # Panics
///
/// On an invalid id.
pub fn item(id: &str) -> ItemId {
    ItemId::new(id).expect("a valid id")
}

/// A receivable id.
///
/// # Panics
///
/// On an invalid id.
pub fn rid(id: &str) -> ReceivableId {
    ReceivableId::new(id).expect("a valid id")
}

/// Terms with a credit limit and discount in euros and percent, no markup or
/// bonus, standard service.
///
/// # Panics
///
/// On malformed literals.
pub fn terms(limit: &str, deferral: Deferral, discount: &str) -> Terms {
    Terms {
        credit_limit: money(limit),
        deferral,
        base_discount: rate(discount),
        markup: Rate::ZERO,
        bonus: Rate::ZERO,
        service_level: ServiceLevel::Standard,
    }
}
