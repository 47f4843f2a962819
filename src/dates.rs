//! Date and time values a database stores as they are: `fake`'s own date/time values range
//! over hundreds of millennia with nanoseconds and odd offsets, which MariaDB refuses, SQLite's
//! `time` encoding rejects and PostgreSQL rounds. A field of a known date/time type with no
//! attribute, or an `Option` or `Vec` of one, gets values between 2000 and 2035, in UTC, in
//! whole seconds: MariaDB's `DATETIME`, `TIMESTAMP` and `TIME` keep no fraction unless declared
//! with one, and a key rounded as it is stored is not found again by `get_or_create`.

use fake::RngExt;

/// 2000-01-01T00:00:00Z, in seconds since the epoch.
#[cfg(any(feature = "chrono", feature = "time"))]
const START_SECONDS: i64 = 946_684_800;
/// 2036-01-01T00:00:00Z, in seconds since the epoch.
#[cfg(any(feature = "chrono", feature = "time"))]
const END_SECONDS: i64 = 2_082_758_400;

/// A whole second between 2000 and 2035, in microseconds since the epoch.
#[cfg(any(feature = "chrono", feature = "time"))]
fn micros<R: RngExt + ?Sized>(rng: &mut R) -> i64 {
    rng.random_range(START_SECONDS..END_SECONDS) * 1_000_000
}

/// A date/time type with a value the databases store exactly.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a date/time type sqlx-factory makes values for",
    label = "a field of this type needs a value",
    note = "enable sqlx-factory's `chrono` or `time` feature for their types, or give the field `#[factory(default = ..)]` or `#[factory(fake = ..)]`"
)]
pub trait DateValue: Sized {
    /// A value between 2000 and 2035, UTC, whole seconds.
    fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self;
}

#[cfg(feature = "chrono")]
mod chrono_values {
    use super::{DateValue, RngExt, micros};
    use sqlx::types::chrono::{
        DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, Utc,
    };

    fn utc<R: RngExt + ?Sized>(rng: &mut R) -> DateTime<Utc> {
        // In range by construction: 2000..2036 is well inside chrono's.
        DateTime::from_timestamp_micros(micros(rng)).unwrap_or_default()
    }

    impl DateValue for DateTime<Utc> {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng)
        }
    }

    impl DateValue for DateTime<FixedOffset> {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng).fixed_offset()
        }
    }

    impl DateValue for DateTime<Local> {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng).with_timezone(&Local)
        }
    }

    impl DateValue for NaiveDateTime {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng).naive_utc()
        }
    }

    impl DateValue for NaiveDate {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng).date_naive()
        }
    }

    impl DateValue for NaiveTime {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng).time()
        }
    }
}

#[cfg(feature = "time")]
mod time_values {
    use super::{DateValue, RngExt, micros};
    use sqlx::types::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

    fn utc<R: RngExt + ?Sized>(rng: &mut R) -> OffsetDateTime {
        // In range by construction: 2000..2036 is well inside time's.
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros(rng)) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    impl DateValue for OffsetDateTime {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng)
        }
    }

    impl DateValue for PrimitiveDateTime {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            let at = utc(rng);
            PrimitiveDateTime::new(at.date(), at.time())
        }
    }

    impl DateValue for Date {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng).date()
        }
    }

    impl DateValue for Time {
        fn date_value<R: RngExt + ?Sized>(rng: &mut R) -> Self {
            utc(rng).time()
        }
    }
}
