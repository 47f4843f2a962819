//! Values drawn for fields with no attribute where `fake`'s own would not be stored exactly:
//! decimals (fake's span 28 digits on either side of the point, which a bounded `numeric`
//! overflows), and the elements of an `Option` or `Vec` of a date or decimal, which follow the
//! rule of their type. See also `dates.rs`.

use fake::RngExt;

/// `None` half of the time (as fake draws an `Option`), else `draw`'s value.
pub fn optional<T, R: RngExt + ?Sized>(rng: &mut R, draw: impl FnOnce(&mut R) -> T) -> Option<T> {
    rng.random_bool(0.5).then(|| draw(rng))
}

/// 0 to 9 elements (fake's length for a `Vec`), each `draw`'s value.
pub fn elements<T, R: RngExt + ?Sized>(rng: &mut R, mut draw: impl FnMut(&mut R) -> T) -> Vec<T> {
    let len = rng.random_range(0..10);
    (0..len).map(|_| draw(rng)).collect()
}

/// A decimal type with a value a money or quantity column stores exactly.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a decimal type sqlx-factory makes values for",
    label = "a field of this type needs a value",
    note = "enable sqlx-factory's `rust_decimal` feature for `rust_decimal::Decimal`, or give the field `#[factory(default = ..)]` or `#[factory(fake = ..)]`"
)]
pub trait DecimalValue: Sized {
    /// A value from 0.00 to 99 999 999.99: at most 8 integer digits and 2 decimal places,
    /// which `DECIMAL(10, 2)` and `numeric(12, 2)` hold.
    fn decimal_value<R: RngExt + ?Sized>(rng: &mut R) -> Self;
}

#[cfg(feature = "rust_decimal")]
impl DecimalValue for sqlx::types::Decimal {
    fn decimal_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
        // Cents below 10^10, scale 2.
        Self::new(rng.random_range(0..10_000_000_000_i64), 2)
    }
}
