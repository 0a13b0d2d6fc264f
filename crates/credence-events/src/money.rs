//! Exact money: [`Money`] is a [`Decimal`] amount in an ISO 4217 [`Currency`].
//!
//! # Scale and rounding
//!
//! * Every `Money` is kept at its currency's minor-unit scale
//!   ([`Currency::minor_units`]: 2 for most currencies, 0 for JPY and a few
//!   others, 3 for BHD, KWD and a few others). `12.5 EUR` is stored and shown
//!   as `12.50 EUR`.
//! * Amounts that come from outside (commands, JSON) must already fit that
//!   scale: `10.005 EUR` is rejected with [`MoneyError::Precision`], never
//!   rounded silently. Sums and differences of such amounts are exact.
//! * Amounts the library computes (quantity × unit price, percentages,
//!   interest) are rounded once, to the minor unit, half away from zero
//!   ("commercial rounding", [`RoundingStrategy::MidpointAwayFromZero`]).
//! * Mixing currencies is an error ([`MoneyError::CurrencyMismatch`]), never a
//!   conversion. Overflow is an error, never a wrap or a panic.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Why a money operation or value is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// The currency of the left operand.
        left: Currency,
        /// The currency of the right operand.
        right: Currency,
    },
    /// The result does not fit in a [`Decimal`].
    #[error("amount overflow")]
    Overflow,
    /// The amount has more decimal places than the currency's minor unit.
    #[error("{amount} has more than {minor_units} decimal places allowed for {currency}")]
    Precision {
        /// The rejected amount.
        amount: Decimal,
        /// The currency.
        currency: Currency,
        /// The currency's minor-unit scale.
        minor_units: u32,
    },
    /// The text is not a three-letter upper-case ISO 4217 code.
    #[error("{0:?} is not an ISO 4217 currency code (three upper-case letters)")]
    InvalidCurrency(String),
    /// A rate or quantity is out of its allowed range.
    #[error("{0}")]
    OutOfRange(String),
}

/// An ISO 4217 currency code such as `EUR` or `UAH`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a three-letter upper-case code.
    ///
    /// # Errors
    ///
    /// [`MoneyError::InvalidCurrency`] when `code` is not three ASCII
    /// upper-case letters.
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(MoneyError::InvalidCurrency(code.to_owned())),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The bytes are validated ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Decimal places of the currency's minor unit (ISO 4217 exponent).
    ///
    /// 0 for BIF, CLP, DJF, GNF, ISK, JPY, KMF, KRW, PYG, RWF, UGX, UYI, VND,
    /// VUV, XAF, XOF, XPF; 3 for BHD, IQD, JOD, KWD, LYD, OMR, TND; 2 for all
    /// others.
    pub fn minor_units(&self) -> u32 {
        // Matched on the three bytes: this runs for every amount computed.
        match &self.0 {
            b"BIF" | b"CLP" | b"DJF" | b"GNF" | b"ISK" | b"JPY" | b"KMF" | b"KRW" | b"PYG"
            | b"RWF" | b"UGX" | b"UYI" | b"VND" | b"VUV" | b"XAF" | b"XOF" | b"XPF" => 0,
            b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        Self::new(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, MoneyError> {
        Self::new(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

/// An exact amount of money in one currency, at the currency's minor-unit
/// scale. See the [module docs](self) for scale and rounding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMoney")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

#[derive(Deserialize)]
struct RawMoney {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = MoneyError;
    fn try_from(raw: RawMoney) -> Result<Self, MoneyError> {
        Money::new(raw.amount, raw.currency)
    }
}

impl Money {
    /// An exact amount. Any sign is allowed; commands check positivity.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Precision`] when `amount` has more decimal places than the
    /// currency's minor unit (after dropping trailing zeros);
    /// [`MoneyError::Overflow`] when its magnitude exceeds [`Money::MAX_AMOUNT`].
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        Self::bounded(amount)?;
        let minor_units = currency.minor_units();
        let normalized = amount.normalize();
        if normalized.scale() > minor_units {
            return Err(MoneyError::Precision {
                amount,
                currency,
                minor_units,
            });
        }
        Ok(Self::at_scale(normalized, currency))
    }

    /// The largest magnitude an amount may have: 10^24 units of any currency.
    /// It leaves room for the minor-unit scale inside a [`Decimal`], so every
    /// `Money` within it is exactly at its currency's scale.
    // 10^24 as the 96-bit mantissa (lo, mid, hi) with scale 0.
    pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xa1000000, 0x1bcecced, 0xd3c2, false, 0);

    fn bounded(amount: Decimal) -> Result<Decimal, MoneyError> {
        if amount.abs() > Self::MAX_AMOUNT {
            Err(MoneyError::Overflow)
        } else {
            Ok(amount)
        }
    }

    /// Rounds `amount` to the currency's minor unit, half away from zero. For
    /// amounts the library computes from valid amounts (which stay far below
    /// [`Money::MAX_AMOUNT`]); beyond `Decimal`'s precision the minor-unit
    /// scale cannot be kept.
    pub fn rounded(amount: Decimal, currency: Currency) -> Self {
        let amount = amount.round_dp_with_strategy(
            currency.minor_units(),
            RoundingStrategy::MidpointAwayFromZero,
        );
        Self::at_scale(amount, currency)
    }

    fn at_scale(mut amount: Decimal, currency: Currency) -> Self {
        // `rescale` only adds zeros here: the scale is at most minor_units.
        amount.rescale(currency.minor_units());
        if amount.is_zero() {
            amount.set_sign_positive(true);
        }
        Self { amount, currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::at_scale(Decimal::ZERO, currency)
    }

    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True for exactly zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// True for an amount above zero.
    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    /// True for an amount below zero.
    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)
            .and_then(Self::bounded)?;
        Ok(Self::at_scale(amount, self.currency))
    }

    /// `self - other`.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)
            .and_then(Self::bounded)?;
        Ok(Self::at_scale(amount, self.currency))
    }

    /// `self × factor`, rounded to the minor unit (half away from zero).
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(&self, factor: Decimal) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)
            .and_then(Self::bounded)?;
        Ok(Self::rounded(amount, self.currency))
    }

    /// `rate` percent of `self`, rounded to the minor unit.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`].
    pub fn percent(&self, rate: Rate) -> Result<Money, MoneyError> {
        self.checked_mul(rate.as_fraction())
    }

    /// The smaller of two amounts.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`].
    pub fn min(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(if self.amount <= other.amount {
            *self
        } else {
            *other
        })
    }

    /// Compares two amounts of the same currency.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`].
    pub fn compare(&self, other: &Money) -> Result<std::cmp::Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Sums amounts, all in `currency`.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// `p / 100` for every whole percent `p` a [`Rate`] can be (0 to 1000), as
/// the division gives it (same value and scale).
static WHOLE_PERCENT_FRACTIONS: LazyLock<Vec<Decimal>> = LazyLock::new(|| {
    (0..=1000_u32)
        .map(|p| Decimal::from(p) / Decimal::ONE_HUNDRED)
        .collect()
});

/// A non-negative percentage, such as a discount of `2.5` (%), a markup, a
/// bonus or a daily interest rate. Serialised as a decimal string of percent
/// points: `"2.5"` means 2.5 %.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Rate(Decimal);

impl Rate {
    /// Zero percent.
    pub const ZERO: Rate = Rate(Decimal::ZERO);

    /// A rate of `percent` percent.
    ///
    /// # Errors
    ///
    /// [`MoneyError::OutOfRange`] for a negative rate or one above 1000 %.
    pub fn percent(percent: Decimal) -> Result<Self, MoneyError> {
        if percent.is_sign_negative() && !percent.is_zero() {
            return Err(MoneyError::OutOfRange(format!(
                "rate {percent}% is negative"
            )));
        }
        if percent > Decimal::ONE_THOUSAND {
            return Err(MoneyError::OutOfRange(format!(
                "rate {percent}% is above 1000%"
            )));
        }
        Ok(Self(percent.normalize()))
    }

    /// The rate in percent points.
    pub fn as_percent(&self) -> Decimal {
        self.0
    }

    /// The rate as a fraction (`2.5 %` is `0.025`).
    pub fn as_fraction(&self) -> Decimal {
        // Whole percents (a rate is normalised, so most have scale 0) come
        // from a table of the same divisions, computed once: a division is
        // most of what pricing an order line costs.
        if self.0.scale() == 0 {
            if let Some(fraction) = usize::try_from(self.0.mantissa())
                .ok()
                .and_then(|percent| WHOLE_PERCENT_FRACTIONS.get(percent))
            {
                return *fraction;
            }
        }
        self.0 / Decimal::ONE_HUNDRED
    }

    /// True for zero percent.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl TryFrom<Decimal> for Rate {
    type Error = MoneyError;
    fn try_from(value: Decimal) -> Result<Self, MoneyError> {
        Self::percent(value)
    }
}

impl From<Rate> for Decimal {
    fn from(rate: Rate) -> Decimal {
        rate.0
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({}%)", self.0)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// A positive quantity of an item (pieces, kilograms, hours), with at most
/// six decimal places. Serialised as a decimal string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Quantity(Decimal);

impl Quantity {
    /// The most decimal places a quantity may have.
    pub const MAX_SCALE: u32 = 6;

    /// A positive quantity.
    ///
    /// # Errors
    ///
    /// [`MoneyError::OutOfRange`] for zero, a negative value or more than
    /// [`Quantity::MAX_SCALE`] decimal places.
    pub fn new(value: Decimal) -> Result<Self, MoneyError> {
        let value = value.normalize();
        if value <= Decimal::ZERO {
            return Err(MoneyError::OutOfRange(format!(
                "quantity {value} is not positive"
            )));
        }
        if value.scale() > Self::MAX_SCALE {
            return Err(MoneyError::OutOfRange(format!(
                "quantity {value} has more than {} decimal places",
                Self::MAX_SCALE
            )));
        }
        Ok(Self(value))
    }

    /// A whole number of units.
    ///
    /// # Errors
    ///
    /// [`MoneyError::OutOfRange`] for zero.
    pub fn units(units: u32) -> Result<Self, MoneyError> {
        Self::new(Decimal::from(units))
    }

    /// The quantity as a decimal.
    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Quantity {
    type Error = MoneyError;
    fn try_from(value: Decimal) -> Result<Self, MoneyError> {
        Self::new(value)
    }
}

impl From<Quantity> for Decimal {
    fn from(q: Quantity) -> Decimal {
        q.0
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({})", self.0)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn eur() -> Currency {
        Currency::new("EUR").unwrap()
    }

    #[test]
    fn currency_codes_are_validated() {
        assert!(Currency::new("EUR").is_ok());
        assert!(matches!(
            Currency::new("eur"),
            Err(MoneyError::InvalidCurrency(_))
        ));
        assert!(Currency::new("EURO").is_err());
        assert_eq!(Currency::new("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::new("KWD").unwrap().minor_units(), 3);
        assert_eq!(Currency::new("UAH").unwrap().minor_units(), 2);
    }

    #[test]
    fn money_keeps_minor_unit_scale() {
        let m = Money::new(dec!(12.5), eur()).unwrap();
        assert_eq!(m.to_string(), "12.50 EUR");
        assert_eq!(Money::new(dec!(12.500), eur()).unwrap(), m);
        assert!(matches!(
            Money::new(dec!(10.005), eur()),
            Err(MoneyError::Precision { minor_units: 2, .. })
        ));
        let yen = Currency::new("JPY").unwrap();
        assert!(Money::new(dec!(1.5), yen).is_err());
    }

    #[test]
    fn arithmetic_is_exact_and_checked() {
        let a = Money::new(dec!(0.10), eur()).unwrap();
        let b = Money::new(dec!(0.20), eur()).unwrap();
        assert_eq!(a.checked_add(&b).unwrap().amount(), dec!(0.30));
        assert_eq!(b.checked_sub(&a).unwrap().amount(), dec!(0.10));
        let usd = Money::new(dec!(1), Currency::new("USD").unwrap()).unwrap();
        assert_eq!(
            a.checked_add(&usd),
            Err(MoneyError::CurrencyMismatch {
                left: eur(),
                right: Currency::new("USD").unwrap()
            })
        );
        assert_eq!(
            Money::MAX_AMOUNT.to_string(),
            format!("1{}", "0".repeat(24))
        );
        let max = Money::new(Money::MAX_AMOUNT, eur()).unwrap();
        assert_eq!(max.to_string(), format!("1{}.00 EUR", "0".repeat(24)));
        assert_eq!(max.checked_add(&max), Err(MoneyError::Overflow));
        assert_eq!(Money::new(Decimal::MAX, eur()), Err(MoneyError::Overflow));
    }

    #[test]
    fn computed_amounts_round_half_away_from_zero() {
        let price = Money::new(dec!(0.05), eur()).unwrap();
        // 0.05 * 0.5 = 0.025 -> 0.03
        assert_eq!(price.checked_mul(dec!(0.5)).unwrap().amount(), dec!(0.03));
        let hundred = Money::new(dec!(100), eur()).unwrap();
        let rate = Rate::percent(dec!(2.5)).unwrap();
        assert_eq!(hundred.percent(rate).unwrap().amount(), dec!(2.50));
        let odd = Money::new(dec!(0.99), eur()).unwrap();
        // 0.99 * 0.5 = 0.495 -> 0.50
        assert_eq!(odd.checked_mul(dec!(0.5)).unwrap().amount(), dec!(0.50));
    }

    #[test]
    fn money_json_shape_and_validation() {
        let m = Money::new(dec!(1234.5), eur()).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"1234.50","currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        let err =
            serde_json::from_str::<Money>(r#"{"amount":"1.001","currency":"EUR"}"#).unwrap_err();
        assert!(err.to_string().contains("decimal places"), "{err}");
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"eu"}"#).is_err());
    }

    #[test]
    fn rates_and_quantities_are_validated() {
        assert!(Rate::percent(dec!(-1)).is_err());
        assert_eq!(Rate::percent(dec!(5.00)).unwrap().to_string(), "5%");
        assert!(serde_json::from_str::<Rate>("\"-2\"").is_err());
        assert!(Quantity::new(dec!(0)).is_err());
        assert!(Quantity::new(dec!(0.0000001)).is_err());
        assert_eq!(Quantity::units(3).unwrap().value(), dec!(3));
    }

    /// The table of whole percents gives exactly what the division gives,
    /// scale included (it shows in serialised amounts); other rates divide.
    #[test]
    fn a_fraction_is_the_percent_divided_by_a_hundred_to_the_scale() {
        let whole = (0..=1000).map(Decimal::from);
        let parts = [
            dec!(0.5),
            dec!(2.5),
            dec!(12.25),
            dec!(0.001),
            dec!(999.999),
        ];
        for percent in whole.chain(parts) {
            let rate = Rate::percent(percent).unwrap();
            let divided = rate.as_percent() / Decimal::ONE_HUNDRED;
            let fraction = rate.as_fraction();
            assert_eq!(
                (fraction.mantissa(), fraction.scale()),
                (divided.mantissa(), divided.scale()),
                "{percent}%"
            );
        }
        // The division keeps a scale of two here: so does the table.
        assert_eq!(
            Rate::percent(dec!(250)).unwrap().as_fraction().to_string(),
            "2.50"
        );
    }
}
