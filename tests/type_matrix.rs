//! Values drawn for fields with no attribute, column type by column type on every backend:
//! each drawn many times, through `create_batch` and `insert_many`, committed, and read back
//! equal from a second connection. Needs the features `uuid chrono time json rust_decimal`
//! (`--all-features`).

#![cfg(all(
    feature = "uuid",
    feature = "chrono",
    feature = "time",
    feature = "json",
    feature = "rust_decimal"
))]

mod common;

use std::time::Duration;

use fake::Dummy;
use sqlx::types::chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sqlx::types::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use sqlx::types::{Decimal, JsonValue, Uuid};
use sqlx_factory::Factory;

use app_types::{Cents, Plan};
use common::Kind;

#[path = "common/app_types.rs"]
mod app_types;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

#[path = "common/round_trip.rs"]
#[macro_use]
mod round_trip;

/// What the tables of `round_trip!` need: PostgreSQL's enum type for [`Mood`].
fn schema_sql(kind: Kind) -> String {
    match kind {
        Kind::Postgres => "CREATE TYPE mood AS ENUM ('calm', 'busy')",
        _ => "SELECT 1",
    }
    .to_string()
}

/// Decimals as a money or quantity column holds them.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "amounts")]
struct Amount {
    #[factory(primary_key)]
    id: i64,
    amount: Decimal,
    maybe_amount: Option<Decimal>,
}

/// A drawn decimal has at most 8 integer digits and 2 decimal places: `DECIMAL(10, 2)` and
/// `numeric(12, 2)` store every one exactly.
#[test]
fn decimals_fit_a_money_column() {
    let limit = Decimal::new(100_000_000, 0);
    let rows = Amount::factory().build_batch(10_000);
    let values: Vec<Decimal> = rows
        .iter()
        .flat_map(|row| [Some(row.amount), row.maybe_amount])
        .flatten()
        .collect();
    let outside: Vec<&Decimal> = values
        .iter()
        .filter(|d| d.scale() > 2 || d.abs() >= limit)
        .collect();
    assert!(
        outside.is_empty(),
        "{} of {} decimals do not fit numeric(10, 2), e.g. {}",
        outside.len(),
        values.len(),
        outside[0]
    );
    let distinct: std::collections::HashSet<&Decimal> = values.iter().collect();
    assert!(distinct.len() > 9_000, "decimals vary: {}", distinct.len());
    assert!(values.iter().any(|d| !d.fract().is_zero()));
}

round_trip_test! {
    [postgres, mariadb]
    /// `numeric(12, 2)` / `DECIMAL(12, 2)`: every drawn decimal is stored and reads back equal.
    decimals_in_numeric_12_2(kind): Amount, "amounts",
        "amount NUMERIC(12, 2) NOT NULL, maybe_amount NUMERIC(12, 2)", 500, 5_000
}

/// Dates inside an `Option` or a `Vec`, and an array of them on PostgreSQL.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "date_lists")]
struct DateLists {
    #[factory(primary_key)]
    id: i64,
    ats: Vec<DateTime<Utc>>,
    days: Option<Vec<NaiveDate>>,
    stamps: Vec<Option<OffsetDateTime>>,
    maybe_at: Option<NaiveDateTime>,
}

/// Every date drawn inside a `Vec` or `Option` lies between 2000 and 2035, in whole seconds,
/// as a plain date field's does.
#[test]
fn dates_inside_vec_and_option_follow_the_date_rule() {
    let rows = DateLists::factory().build_batch(2_000);
    let mut dates: Vec<NaiveDateTime> = Vec::new();
    for row in &rows {
        dates.extend(row.ats.iter().map(|at| at.naive_utc()));
        dates.extend(
            row.days
                .iter()
                .flatten()
                .map(|day| day.and_hms_opt(0, 0, 0).unwrap()),
        );
        dates.extend(row.stamps.iter().flatten().map(|stamp| {
            let micros = i64::try_from(stamp.unix_timestamp_nanos() / 1_000).unwrap();
            let at = DateTime::from_timestamp_micros(micros).unwrap();
            assert_eq!(stamp.nanosecond(), 0, "{stamp} in whole seconds");
            at.naive_utc()
        }));
        dates.extend(row.maybe_at);
    }
    let outside: Vec<&NaiveDateTime> = dates
        .iter()
        .filter(|at| {
            // 2000-01-01 and 2036-01-01, in seconds since the epoch.
            let at = at.and_utc();
            !(946_684_800..2_082_758_400).contains(&at.timestamp())
                || at.timestamp_subsec_nanos() != 0
        })
        .collect();
    assert!(
        outside.is_empty(),
        "{} of {} dates outside 2000-2035 or finer than a second, e.g. {}",
        outside.len(),
        dates.len(),
        outside[0]
    );
    assert!(dates.len() > 10_000, "{} dates drawn", dates.len());
}

round_trip_test! {
    [postgres]
    /// `timestamptz[]`, `date[]` and `timestamptz[]` with NULLs read back as drawn.
    dates_in_arrays(kind): DateLists, "date_lists",
        "ats TIMESTAMPTZ[] NOT NULL, days DATE[], stamps TIMESTAMPTZ[] NOT NULL, maybe_at TIMESTAMP",
        300, 3_000
}

/// Unsigned fields bound through a signed type, as SQLite and PostgreSQL need.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "counters")]
struct Counters {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(try_from = "i64")]
    big: u64,
    #[sqlx(try_from = "i32")]
    count: u32,
    #[factory(into = i64)]
    #[sqlx(try_from = "i64")]
    wide: u64,
}

/// `#[factory(into = i16)]` alone: drawn within `i16` too.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "narrow")]
struct Narrow {
    #[factory(into = i16)]
    small: u32,
    #[factory(into = i64)]
    big: u64,
}

/// Each value drawn for a field bound as a signed type lies within that type, and the values
/// still spread over it.
#[test]
fn unsigned_fields_draw_within_the_bound_type() {
    let rows = Counters::factory().build_batch(10_000);
    let over = |values: Vec<u64>, max: u64, name: &str| {
        let outside = values.iter().filter(|v| **v > max).count();
        assert_eq!(
            outside,
            0,
            "{outside} of {} values of `{name}` above {max}",
            values.len()
        );
        assert!(
            values.iter().any(|v| *v > max / 2),
            "`{name}` spreads over its range"
        );
    };
    over(rows.iter().map(|r| r.big).collect(), i64::MAX as u64, "big");
    over(
        rows.iter().map(|r| u64::from(r.count)).collect(),
        i32::MAX as u64,
        "count",
    );
    over(
        rows.iter().map(|r| r.wide).collect(),
        i64::MAX as u64,
        "wide",
    );
    let rows = Narrow::factory().build_batch(10_000);
    over(
        rows.iter().map(|r| u64::from(r.small)).collect(),
        i16::MAX as u64,
        "small",
    );
    over(rows.iter().map(|r| r.big).collect(), i64::MAX as u64, "big");
}

on_dbs! {
    [sqlite, mariadb]
    /// `Narrow` is only built above (`u32` has no PostgreSQL type): the schema check against
    /// the table its fields describe, where a seeded create fits. `into` binds the signed
    /// type, but the row is read back as the field's own `u32`/`u64`, which MariaDB decodes
    /// from unsigned columns only: on signed ones every create fails reading its row.
    async fn check_narrow(mk, observer, kind) {
        let unsigned = if kind == Kind::MariaDb { " UNSIGNED" } else { "" };
        let ddl = format!("CREATE TABLE narrow (small SMALLINT{unsigned} NOT NULL, big BIGINT{unsigned} NOT NULL)");
        bounded(sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)).execute(&observer)).await.unwrap();
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        bounded(Narrow::factory().seed(1).with_session(&mut *conn).create()).await.unwrap();
        check_clean!(&mut *conn, kind, Narrow);
        if kind == Kind::MariaDb {
            let ddl = "DROP TABLE narrow; CREATE TABLE narrow (small SMALLINT NOT NULL, big BIGINT NOT NULL)";
            bounded(sqlx::raw_sql(ddl).execute(&mut *conn)).await.unwrap();
            // A new connection: sqlx caches the column types of the check's prepared SELECT
            // per connection, those of the table dropped above.
            conn.close_on_drop();
            drop(conn);
            let mut conn = bounded(pool.acquire()).await.unwrap();
            let err = bounded(Narrow::factory().seed(1).with_session(&mut *conn).create()).await.unwrap_err();
            assert!(err.to_string().contains("Rust type `u32`"), "{err}");
            check_finds!(&mut *conn, kind, Narrow, "small", "sqlx cannot decode `u32`");
        }
    }
}

round_trip_test! {
    [sqlite, postgres, mariadb]
    /// `BIGINT` and `INTEGER` columns through `try_from`: every row stored and read back.
    unsigned_through_signed(kind): Counters, "counters",
        "big BIGINT NOT NULL, count INTEGER NOT NULL, wide BIGINT NOT NULL", 300, 3_000
}

/// JSON with floats: a drawn `JsonValue` (numbers are floats half the time) and a
/// `#[sqlx(json)]` list of `f64`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "json_floats")]
struct JsonFloats {
    #[factory(primary_key)]
    id: i64,
    doc: JsonValue,
    #[sqlx(json)]
    floats: Vec<f64>,
}

/// The JSON column type of each backend.
fn json(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "TEXT",
        Kind::Postgres => "JSONB",
        Kind::MariaDb => "JSON",
    }
}

round_trip_test! {
    [sqlite, postgres, mariadb]
    /// Every float in a JSON column reads back as the float drawn.
    json_floats_read_back_equal(kind): JsonFloats, "json_floats",
        format!("doc {json} NOT NULL, floats {json} NOT NULL", json = json(kind)), 300, 3_000
}

// The type matrix: every column type the README lists, on each backend that stores it.

/// A transparent newtype around text.
#[derive(Debug, Clone, PartialEq, sqlx::Type, Dummy)]
#[sqlx(transparent)]
struct Handle(String);

/// The types every backend stores.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "common_types")]
struct CommonTypes {
    #[factory(primary_key)]
    id: i64,
    small: i16,
    int: i32,
    big: i64,
    ratio: f32,
    real: f64,
    flag: bool,
    name: String,
    bytes: Vec<u8>,
    token: Uuid,
    at: DateTime<Utc>,
    naive_at: NaiveDateTime,
    day: NaiveDate,
    clock: NaiveTime,
    stamp: OffsetDateTime,
    t_at: PrimitiveDateTime,
    t_day: Date,
    t_clock: Time,
    doc: JsonValue,
    #[sqlx(json)]
    tags: Vec<String>,
    plan: Option<Plan>,
    price: Cents,
    handle: Handle,
    #[sqlx(try_from = "i64")]
    count: u64,
    maybe_name: Option<String>,
    maybe_big: Option<i64>,
    maybe_at: Option<DateTime<Utc>>,
    maybe_day: Option<Date>,
}

fn common_columns(kind: Kind) -> String {
    let (real, flag, bytes, uuid, at, naive_at, clock, json, plan) = match kind {
        Kind::Sqlite => (
            "REAL", "BOOLEAN", "BLOB", "BLOB", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT",
        ),
        Kind::Postgres => (
            "DOUBLE PRECISION",
            "BOOLEAN",
            "BYTEA",
            "UUID",
            "TIMESTAMPTZ",
            "TIMESTAMP",
            "TIME",
            "JSONB",
            "TEXT",
        ),
        Kind::MariaDb => (
            "DOUBLE",
            "BOOLEAN",
            "BLOB",
            "BINARY(16)",
            "TIMESTAMP(6)",
            "DATETIME(6)",
            "TIME(6)",
            "JSON",
            "ENUM('free', 'pro', 'team') NULL",
        ),
    };
    let ratio = if kind == Kind::Postgres {
        "REAL"
    } else {
        "FLOAT"
    };
    let text = kind.varchar();
    format!(
        "small SMALLINT NOT NULL, `int` INTEGER NOT NULL, big BIGINT NOT NULL,
         ratio {ratio} NOT NULL, `real` {real} NOT NULL, flag {flag} NOT NULL,
         name {text} NOT NULL, bytes {bytes} NOT NULL, token {uuid} NOT NULL,
         `at` {at} NOT NULL, naive_at {naive_at} NOT NULL, `day` DATE NOT NULL,
         clock {clock} NOT NULL, stamp {at} NOT NULL, t_at {naive_at} NOT NULL,
         t_day DATE NOT NULL, t_clock {clock} NOT NULL, doc {json} NOT NULL,
         tags {json} NOT NULL, plan {plan}, price BIGINT NOT NULL, handle {text} NOT NULL,
         count BIGINT NOT NULL, maybe_name {text}, maybe_big BIGINT, maybe_at {at},
         maybe_day DATE"
    )
    .replace('`', if kind == Kind::MariaDb { "`" } else { "\"" })
}

round_trip_test! {
    [sqlite, postgres, mariadb]
    /// Every type all three backends store, drawn with no attribute.
    common_types(kind): CommonTypes, "common_types", common_columns(kind), 300, 3_000
}

/// Unsigned integers as themselves, where the backend stores them (SQLite up to `u32`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "unsigned_types")]
struct UnsignedTypes {
    #[factory(primary_key)]
    id: i64,
    tiny: u8,
    word: u16,
    count: u32,
    signed_tiny: i8,
}

round_trip_test! {
    [sqlite, mariadb]
    unsigned_types(kind): UnsignedTypes, "unsigned_types",
        match kind {
            Kind::MariaDb => "tiny TINYINT UNSIGNED NOT NULL, word SMALLINT UNSIGNED NOT NULL,
                count INT UNSIGNED NOT NULL, signed_tiny TINYINT NOT NULL",
            _ => "tiny INTEGER NOT NULL, word INTEGER NOT NULL, count INTEGER NOT NULL,
                signed_tiny INTEGER NOT NULL",
        },
        300, 3_000
}

/// MariaDB's own: decimals and a `u64` in `BIGINT UNSIGNED`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "mariadb_types")]
struct MariaDbTypes {
    #[factory(primary_key)]
    id: i64,
    amount: Decimal,
    maybe_amount: Option<Decimal>,
    big: u64,
}

round_trip_test! {
    [mariadb]
    mariadb_types(kind): MariaDbTypes, "mariadb_types",
        "amount DECIMAL(12, 2) NOT NULL, maybe_amount DECIMAL(10, 2), big BIGINT UNSIGNED NOT NULL",
        300, 3_000
}

/// A PostgreSQL enum type, mapped by name.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, Dummy)]
#[sqlx(type_name = "mood", rename_all = "lowercase")]
enum Mood {
    Calm,
    Busy,
}

/// PostgreSQL's own: numerics, arrays of sqlx's default element types, an enum type.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "postgres_types")]
struct PostgresTypes {
    #[factory(primary_key)]
    id: i64,
    amount: Decimal,
    free_amount: Option<Decimal>,
    amounts: Vec<Decimal>,
    tags: Vec<String>,
    numbers: Vec<i64>,
    ats: Vec<DateTime<Utc>>,
    days: Option<Vec<NaiveDate>>,
    stamps: Vec<OffsetDateTime>,
    tokens: Vec<Uuid>,
    mood: Mood,
    #[sqlx(try_from = "i32")]
    small_count: u32,
}

round_trip_test! {
    [postgres]
    postgres_types(kind): PostgresTypes, "postgres_types",
        "amount NUMERIC(12, 2) NOT NULL, free_amount NUMERIC, amounts NUMERIC(12, 2)[] NOT NULL,
         tags TEXT[] NOT NULL, numbers BIGINT[] NOT NULL, ats TIMESTAMPTZ[] NOT NULL,
         days DATE[], stamps TIMESTAMPTZ[] NOT NULL, tokens UUID[] NOT NULL,
         mood mood NOT NULL, small_count INTEGER NOT NULL",
        300, 3_000
}

/// `json` (not `jsonb`): sqlx binds JSON as `jsonb`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "postgres_json")]
struct PostgresJson {
    #[factory(primary_key)]
    id: i64,
    doc: JsonValue,
    #[sqlx(json)]
    floats: Vec<f64>,
}

/// `varchar(n)[]`: an array whose element type is not sqlx's default for `String`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "postgres_varchar_array")]
struct PostgresVarcharArray {
    #[factory(primary_key)]
    id: i64,
    labels: Vec<String>,
    maybe_labels: Option<Vec<String>>,
}

round_trip_test! {
    [postgres]
    postgres_json_column(kind): PostgresJson, "postgres_json",
        "doc JSON NOT NULL, floats JSON NOT NULL", 300, 3_000
}

round_trip_test! {
    [postgres]
    postgres_varchar_array(kind): PostgresVarcharArray, "postgres_varchar_array",
        "labels VARCHAR(40)[] NOT NULL, maybe_labels VARCHAR(40)[]", 300, 3_000
}
