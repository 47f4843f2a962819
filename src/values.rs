//! Values drawn for fields with no attribute where `fake`'s own would not be stored exactly:
//! decimals (fake's span 28 digits on either side of the point, which a bounded `numeric`
//! overflows), integers bound as another integer type (a `u64` bound as `i64`: fake's values
//! above `i64::MAX` do not convert), and the elements of an `Option` or `Vec` of a date or decimal, which follow the
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
    note = "a field whose type is named `Decimal` gets a decimal a money column stores; for `rust_decimal::Decimal`, enable sqlx-factory's `rust_decimal` feature",
    note = "for a type of your own named `Decimal`, give the field `#[factory(fake = fake::Faker)]` (fake's value) or `#[factory(default = ..)]`"
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

/// A primitive integer type, its range as `i128` (`u128`'s top cut to `i128::MAX`: no backend
/// stores more).
pub trait Integer: Sized {
    /// The smallest value.
    const MIN: i128;
    /// The largest value (at most `i128::MAX`).
    const MAX: i128;
    /// `value`, which lies in `MIN..=MAX`.
    fn from_i128(value: i128) -> Self;
}

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl Integer for $ty {
            const MIN: i128 = <$ty>::MIN as i128;
            const MAX: i128 = if <$ty>::MAX as u128 > i128::MAX as u128 {
                i128::MAX
            } else {
                <$ty>::MAX as i128
            };
            fn from_i128(value: i128) -> Self {
                value as $ty
            }
        }
    )*};
}

integers!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

/// A `T` that `B` holds too, uniform over the values both hold: a field of type `T` bound as
/// `B` (`#[factory(into = B)]`, `#[sqlx(try_from = "B")]`) always converts.
pub fn integer_within<T: Integer, B: Integer, R: RngExt + ?Sized>(rng: &mut R) -> T {
    T::from_i128(rng.random_range(T::MIN.max(B::MIN)..=T::MAX.min(B::MAX)))
}

/// A JSON document type with a value every backend's JSON column stores: fake's own nests
/// without bound, and MariaDB refuses a document nested deeper than 32 levels (its `JSON`
/// column's `CHECK (json_valid(..))` fails), so a field with no attribute failed at random.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JSON type sqlx-factory makes values for",
    label = "a field of this type needs a value",
    note = "a field whose type is named `JsonValue` gets a JSON document; enable sqlx-factory's `json` feature",
    note = "for a type of your own named `JsonValue`, give the field `#[factory(fake = fake::Faker)]` (fake's value) or `#[factory(default = ..)]`"
)]
pub trait JsonDocument: Sized {
    /// A document at most four levels deep: scalars, and arrays and objects of up to five
    /// members.
    fn json_document<R: RngExt + ?Sized>(rng: &mut R) -> Self;
}

#[cfg(feature = "json")]
impl JsonDocument for serde_json::Value {
    fn json_document<R: RngExt + ?Sized>(rng: &mut R) -> Self {
        json_at(rng, 0)
    }
}

/// A JSON value at nesting `depth`: containers only above the deepest level.
#[cfg(feature = "json")]
fn json_at<R: RngExt + ?Sized>(rng: &mut R, depth: u32) -> serde_json::Value {
    use fake::{Fake, Faker};
    use serde_json::Value;
    const DEEPEST: u32 = 3;
    let kinds = if depth < DEEPEST { 6 } else { 4 };
    match rng.random_range(0..kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.random_bool(0.5)),
        2 => Value::from(rng.random_range(-1_000_000_i64..1_000_000)),
        3 => Value::String(Faker.fake_with_rng::<String, R>(rng)),
        4 => Value::Array(
            (0..rng.random_range(0..5))
                .map(|_| json_at(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..5))
                .map(|_| {
                    (
                        Faker.fake_with_rng::<String, R>(rng),
                        json_at(rng, depth + 1),
                    )
                })
                .collect(),
        ),
    }
}
