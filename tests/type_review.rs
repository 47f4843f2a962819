//! Values drawn with no attribute, attacked column type by column type: the wrappers
//! (`Option`, `Vec`, `Option<Vec<_>>`, `Vec<Option<_>>`, transparent newtypes), integers bound
//! through `try_from`/`into`, decimals on many `numeric(p, s)`, dates inside arrays, PostgreSQL
//! arrays of element types that are not sqlx's default (domains, `name`, `citext`), MariaDB's own
//! types; each through `create_batch`, `insert_many` and `get_or_create_batch`, read back equal
//! from a second connection. Where a create fails, `check!` must name the column; where every
//! create succeeds, it must be silent. Needs `--all-features`.

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
use sqlx::types::chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sqlx::types::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use sqlx::types::{Decimal, JsonValue, Uuid};
use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

#[path = "common/round_trip.rs"]
#[macro_use]
mod round_trip;

use tx::bounded;

/// What the tables here need on PostgreSQL: an enum type, and domains whose arrays are not
/// arrays of sqlx's default element types.
fn schema_sql(kind: Kind) -> String {
    match kind {
        Kind::Postgres => {
            "CREATE TYPE mood AS ENUM ('calm', 'busy');
             CREATE DOMAIN short_text AS VARCHAR(20);
             CREATE DOMAIN json_doc AS JSON;
             CREATE DOMAIN money_amount AS NUMERIC(12, 2)"
        }
        _ => "SELECT 1",
    }
    .to_string()
}

/// Creates `$table` with the columns `$ddl` (after the key) and checks `$model` against it: the
/// report, which has errors on no column but `$column`.
macro_rules! checked {
    ($pool:expr, $observer:expr, $kind:expr, $model:ident, $table:literal, $ddl:expr, $column:literal) => {{
        let ddl = format!(
            "CREATE TABLE {} (id {}, {})",
            $table,
            $kind.serial_pk(),
            $ddl
        );
        bounded(sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)).execute(&$observer))
            .await
            .unwrap();
        let mut conn = bounded($pool.acquire()).await.unwrap();
        let report = bounded(sqlx_factory::check!(&mut *conn, $model)).await;
        assert!(
            report.errors().all(|f| f.column == $column),
            "check! reports errors on other columns of {}:\n{report}",
            $table
        );
        report
    }};
}

/// `create_batch(200)` of `$model`, seeded, in a transaction rolled back after.
macro_rules! created {
    ($pool:expr, $model:ident) => {{
        let mut tx = bounded($pool.begin()).await.unwrap();
        let factory = $model::factory().with_session(&mut tx);
        let created = bounded(factory.seed(round_trip::SEED).create_batch(200)).await;
        bounded(tx.rollback()).await.unwrap();
        created
    }};
}

/// [`checked!`], then: `check!` reports an error on `$column`, and `create_batch` fails.
macro_rules! refused {
    ($pool:expr, $observer:expr, $kind:expr, $model:ident, $table:literal, $ddl:expr, $column:literal) => {{
        let report = checked!($pool, $observer, $kind, $model, $table, $ddl, $column);
        assert!(
            report.errors().any(|f| f.column == $column),
            "check! names no error on {}.{} where creates fail:\n{report}",
            $table,
            $column
        );
        let created = created!($pool, $model);
        let first = created.as_ref().map(|rows| rows.first().cloned());
        assert!(
            created.is_err(),
            "create_batch into {} succeeded where check! reports:\n{report}\nfirst row: {first:?}",
            $table
        );
    }};
}

/// [`checked!`], then: `check!` has a finding on `$column` among its `$findings` (`errors` or
/// `warnings`) that says `$says`, and `create_batch` succeeds but stores other values than
/// those drawn.
macro_rules! stored_other {
    (
        $pool:expr, $observer:expr, $kind:expr,
        $model:ident, $table:literal, $ddl:expr, $column:literal, $findings:ident, $says:expr
    ) => {{
        let report = checked!($pool, $observer, $kind, $model, $table, $ddl, $column);
        assert!(
            report
                .$findings()
                .any(|f| f.column == $column && f.message.contains($says)),
            "check! does not say on {}.{} that {}:\n{report}",
            $table,
            $column,
            $says
        );
        let created = created!($pool, $model).unwrap();
        let drawn = drawn_again!($model, created.len(), &created);
        assert_ne!(drawn, created, "every value stored as drawn");
    }};
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL arrays.

/// A transparent newtype around text.
#[derive(Debug, Clone, PartialEq, sqlx::Type, Dummy)]
#[sqlx(transparent)]
struct Handle(String);

/// A PostgreSQL enum type, mapped by name.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, Dummy)]
#[sqlx(type_name = "mood", rename_all = "lowercase")]
enum Mood {
    Calm,
    Busy,
}

/// An array of each element type sqlx binds, and the wrappers around them.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pg_arrays")]
struct PgArrays {
    #[factory(primary_key)]
    id: i64,
    smalls: Vec<i16>,
    ints: Vec<i32>,
    reals: Vec<f32>,
    doubles: Vec<f64>,
    flags: Vec<bool>,
    blobs: Vec<Vec<u8>>,
    clocks: Vec<NaiveTime>,
    naive_ats: Vec<NaiveDateTime>,
    fixed_ats: Option<Vec<DateTime<FixedOffset>>>,
    t_days: Vec<Date>,
    t_clocks: Vec<Option<Time>>,
    t_ats: Vec<PrimitiveDateTime>,
    labels: Vec<Option<String>>,
    docs: Vec<JsonValue>,
    json_docs: Option<Vec<Option<JsonValue>>>,
    amounts: Vec<Option<Decimal>>,
    handles: Vec<Handle>,
    moods: Vec<Mood>,
    tokens: Option<Vec<Uuid>>,
}

round_trip_test! {
    [postgres]
    /// Every array type, with NULL arrays and NULL elements, through `COPY` too.
    pg_arrays(kind): PgArrays, "pg_arrays",
        "smalls INT2[] NOT NULL, ints INT4[] NOT NULL, reals REAL[] NOT NULL,
         doubles FLOAT8[] NOT NULL, flags BOOL[] NOT NULL, blobs BYTEA[] NOT NULL,
         clocks TIME[] NOT NULL, naive_ats TIMESTAMP[] NOT NULL, fixed_ats TIMESTAMPTZ[],
         t_days DATE[] NOT NULL, t_clocks TIME[] NOT NULL, t_ats TIMESTAMP[] NOT NULL,
         labels VARCHAR(19)[] NOT NULL, docs JSONB[] NOT NULL, json_docs JSON[],
         amounts NUMERIC(12, 2)[] NOT NULL, handles TEXT[] NOT NULL,
         moods mood[] NOT NULL, tokens UUID[]",
        1_000, 5_000
}

/// Arrays of domains: `short_text[]` (a domain over `VARCHAR(20)`), `json_doc[]` (over `JSON`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pg_domain_arrays")]
struct PgDomainArrays {
    #[factory(primary_key)]
    id: i64,
    labels: Vec<String>,
    maybe_labels: Option<Vec<String>>,
    docs: Vec<JsonValue>,
    label: String,
    doc: JsonValue,
    amount: Decimal,
}

round_trip_test! {
    [postgres]
    pg_domain_arrays(kind): PgDomainArrays, "pg_domain_arrays",
        "labels short_text[] NOT NULL, maybe_labels short_text[], docs json_doc[] NOT NULL,
         label short_text NOT NULL, doc json_doc NOT NULL, amount money_amount NOT NULL",
        1_000, 5_000
}

/// Text in `name` and `bpchar`, alone and in arrays (`bpchar(n)` pads: `CHAR(19)` would read
/// back other text, so the width is left open).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pg_text_types")]
struct PgTextTypes {
    #[factory(primary_key)]
    id: i64,
    name: String,
    names: Vec<String>,
    maybe_names: Option<Vec<Option<String>>>,
    chars: Vec<String>,
}

round_trip_test! {
    [postgres]
    pg_text_types(kind): PgTextTypes, "pg_text_types",
        "name NAME NOT NULL, names NAME[] NOT NULL, maybe_names NAME[], chars BPCHAR[] NOT NULL",
        1_000, 5_000
}

/// Text arrays whose elements are longer than the column's elements hold.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pg_short_arrays")]
struct PgShortArrays {
    #[factory(primary_key)]
    id: i64,
    codes: Vec<String>,
}

pool_test! {
    [postgres]
    /// fake's strings are 5 to 19 characters: `VARCHAR(3)[]` refuses them.
    pg_short_text_array(kind): refused!(PgShortArrays, "pg_short_arrays",
        "codes VARCHAR(3)[] NOT NULL", "codes")
}

/// Decimal arrays whose elements overflow the column's precision.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pg_narrow_amounts")]
struct PgNarrowAmounts {
    #[factory(primary_key)]
    id: i64,
    amounts: Option<Vec<Decimal>>,
}

pool_test! {
    [postgres]
    /// Decimals up to 99 999 999.99 in `NUMERIC(5, 2)[]`.
    pg_narrow_decimal_array(kind): refused!(PgNarrowAmounts, "pg_narrow_amounts",
        "amounts NUMERIC(5, 2)[]", "amounts")
}

// ---------------------------------------------------------------------------------------------
// Decimals.

/// Decimals in columns that hold them all.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "wide_decimals")]
struct WideDecimals {
    #[factory(primary_key)]
    id: i64,
    free: Decimal,
    wide: Decimal,
    money: Option<Decimal>,
    exact: Decimal,
}

round_trip_test! {
    [postgres, mariadb]
    /// `NUMERIC` without a modifier (MariaDB: `DECIMAL(65, 30)`), `(38, 10)`, `(10, 2)`, `(12, 2)`.
    wide_decimals(kind): WideDecimals, "wide_decimals",
        format!("free {} NOT NULL, wide NUMERIC(38, 10) NOT NULL, money DECIMAL(10, 2),
                 exact DECIMAL(12, 2) NOT NULL",
            if kind == Kind::Postgres { "NUMERIC" } else { "DECIMAL(65, 30)" }),
        1_000, 5_000
}

/// One decimal, for the columns that cannot hold it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "tiny_amounts")]
struct TinyAmount {
    #[factory(primary_key)]
    id: i64,
    amount: Option<Decimal>,
}

pool_test! {
    [postgres, mariadb]
    /// `NUMERIC(5, 4)`: one digit before the point.
    decimal_in_numeric_5_4(kind): refused!(TinyAmount, "tiny_amounts", "amount NUMERIC(5, 4)", "amount")
}

/// The same decimal in a three-digit whole column.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "whole_amounts")]
struct WholeAmount {
    #[factory(primary_key)]
    id: i64,
    amount: Decimal,
}

pool_test! {
    [postgres, mariadb]
    /// `NUMERIC(3, 0)`: three digits, none after the point.
    decimal_in_numeric_3_0(kind): refused!(WholeAmount, "whole_amounts",
        "amount NUMERIC(3, 0) NOT NULL", "amount")
}

pool_test! {
    [postgres, mariadb]
    /// `NUMERIC(10, 0)` (MariaDB's `DECIMAL` without precision and scale) holds the drawn
    /// decimals' digits but rounds their two places: every create succeeds and reads back
    /// another value; `check!` warns.
    decimal_rounded_by_its_column(kind): stored_other!(WholeAmount, "whole_amounts",
        "amount NUMERIC(10, 0) NOT NULL", "amount", warnings, "rounds to 0")
}

/// A transparent newtype around a decimal, deriving `fake::Dummy`: fake's own decimals.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, Dummy)]
#[sqlx(transparent)]
struct Price(Decimal);

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "prices")]
struct Priced {
    #[factory(primary_key)]
    id: i64,
    price: Price,
}

pool_test! {
    [postgres, mariadb]
    /// fake's decimals (28 digits) in `NUMERIC(12, 2)`: the newtype is measured as it is bound.
    newtype_decimal_in_numeric_12_2(kind): refused!(Priced, "prices",
        "price NUMERIC(12, 2) NOT NULL", "price")
}

// ---------------------------------------------------------------------------------------------
// Integers bound as another integer type.

/// Every unsigned width, `usize` and `i8`, through `try_from` alone and with `into`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "converted")]
struct Converted {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(try_from = "i16")]
    tiny: u8,
    #[factory(into = i16)]
    #[sqlx(try_from = "i16")]
    signed_tiny: i8,
    #[sqlx(try_from = "i32")]
    word: u16,
    #[factory(into = i32)]
    #[sqlx(try_from = "i32")]
    word_into: u16,
    #[sqlx(try_from = "i64")]
    count: u32,
    #[sqlx(try_from = "i64")]
    size: usize,
    #[factory(into = i64)]
    #[sqlx(try_from = "i64")]
    big: u64,
    #[sqlx(try_from = "i32")]
    narrow_big: u64,
    #[sqlx(try_from = "i16")]
    short_count: u32,
}

round_trip_test! {
    [sqlite, postgres, mariadb]
    converted_integers(kind): Converted, "converted",
        "tiny SMALLINT NOT NULL, signed_tiny SMALLINT NOT NULL, word INTEGER NOT NULL,
         word_into INTEGER NOT NULL, count BIGINT NOT NULL, size BIGINT NOT NULL,
         big BIGINT NOT NULL, narrow_big INTEGER NOT NULL, short_count SMALLINT NOT NULL",
        1_000, 5_000
}

/// A `u64` bound as `i64` into a 32-bit column.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "overflowing")]
struct Overflowing {
    #[factory(primary_key)]
    id: i64,
    #[factory(into = i64)]
    #[sqlx(try_from = "i64")]
    big: u64,
}

pool_test! {
    [postgres, mariadb]
    /// Values up to `i64::MAX` in `INTEGER`.
    converted_integer_overflows_its_column(kind): refused!(Overflowing, "overflowing",
        "big INTEGER NOT NULL", "big")
}

// ---------------------------------------------------------------------------------------------
// Dates and times.

/// Every date/time type of chrono and time, alone and in an `Option`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "clocks")]
struct Clocks {
    #[factory(primary_key)]
    id: i64,
    local: DateTime<Local>,
    clock: NaiveTime,
    maybe_clock: Option<NaiveTime>,
    maybe_day: Option<NaiveDate>,
    t_clock: Time,
    maybe_t_at: Option<PrimitiveDateTime>,
    maybe_stamp: Option<OffsetDateTime>,
    at: DateTime<Utc>,
}

round_trip_test! {
    [sqlite, postgres, mariadb]
    clocks(kind): Clocks, "clocks",
        match kind {
            Kind::Sqlite => "local TEXT NOT NULL, clock TEXT NOT NULL, maybe_clock TEXT,
                maybe_day TEXT, t_clock TEXT NOT NULL, maybe_t_at TEXT, maybe_stamp TEXT,
                at TEXT NOT NULL",
            Kind::Postgres => "local TIMESTAMPTZ NOT NULL, clock TIME NOT NULL, maybe_clock TIME,
                maybe_day DATE, t_clock TIME NOT NULL, maybe_t_at TIMESTAMP,
                maybe_stamp TIMESTAMPTZ, at TIMESTAMPTZ NOT NULL",
            Kind::MariaDb => "local TIMESTAMP(6) NOT NULL, clock TIME(6) NOT NULL,
                maybe_clock TIME(6), maybe_day DATE, t_clock TIME(6) NOT NULL,
                maybe_t_at DATETIME(6), maybe_stamp TIMESTAMP(6) NULL, at DATETIME(6) NOT NULL",
        },
        1_000, 5_000
}

/// Dates and times in columns without fractional seconds: MariaDB's `DATETIME`, `TIMESTAMP`
/// and `TIME` as declared by default, PostgreSQL's with a precision of 0.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "whole_seconds")]
struct WholeSeconds {
    #[factory(primary_key)]
    id: i64,
    at: DateTime<Utc>,
    naive_at: NaiveDateTime,
    clock: NaiveTime,
    maybe_stamp: Option<OffsetDateTime>,
    t_clock: Time,
}

round_trip_test! {
    [postgres, mariadb]
    whole_second_columns(kind): WholeSeconds, "whole_seconds",
        if kind == Kind::Postgres {
            "at TIMESTAMPTZ(0) NOT NULL, naive_at TIMESTAMP(0) NOT NULL, clock TIME(0) NOT NULL,
             maybe_stamp TIMESTAMPTZ(0), t_clock TIME(0) NOT NULL"
        } else {
            "at DATETIME NOT NULL, naive_at DATETIME NOT NULL, clock TIME NOT NULL,
             maybe_stamp TIMESTAMP NULL, t_clock TIME NOT NULL"
        },
        1_000, 5_000
}

/// `DateTime<FixedOffset>` where sqlx decodes it (SQLite, PostgreSQL).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "fixed_offsets")]
struct FixedOffsets {
    #[factory(primary_key)]
    id: i64,
    at: DateTime<FixedOffset>,
    maybe_at: Option<DateTime<FixedOffset>>,
}

round_trip_test! {
    [sqlite, postgres]
    fixed_offsets(kind): FixedOffsets, "fixed_offsets",
        if kind == Kind::Postgres { "at TIMESTAMPTZ NOT NULL, maybe_at TIMESTAMPTZ" }
        else { "at TEXT NOT NULL, maybe_at TEXT" },
        1_000, 5_000
}

/// fake's own dates (years 1677 to 2262, nanoseconds), asked for with `fake`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "fake_dates")]
struct FakeDates {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::Faker)]
    at: DateTime<Utc>,
}

pool_test! {
    [mariadb]
    /// MariaDB's `TIMESTAMP` holds 1970 to 2038 only: a create of a date outside stores another
    /// (the current time), and `check!` names the column.
    fake_dates_in_timestamp(kind): stored_other!(FakeDates, "fake_dates",
        "at TIMESTAMP(6) NOT NULL", "at", errors,
        "1970-01-01 00:00:01.000000 to 2038-01-19 03:14:07.999999")
}

// ---------------------------------------------------------------------------------------------
// Text, bytes, floats, booleans, uuids, JSON.

/// Text in columns as narrow as fake's strings allow (5 to 19 characters), bytes, floats.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "scalars")]
struct Scalars {
    #[factory(primary_key)]
    id: i64,
    name: String,
    code: Option<String>,
    handle: Handle,
    bytes: Vec<u8>,
    maybe_bytes: Option<Vec<u8>>,
    ratio: f32,
    real: f64,
    flag: bool,
    maybe_flag: Option<bool>,
    token: Uuid,
    doc: Option<JsonValue>,
}

round_trip_test! {
    [sqlite, postgres, mariadb]
    scalars(kind): Scalars, "scalars",
        match kind {
            Kind::Sqlite => "name VARCHAR(19) NOT NULL, code CHAR(19), handle VARCHAR(19) NOT NULL,
                bytes BLOB NOT NULL, maybe_bytes BLOB, ratio REAL NOT NULL, real REAL NOT NULL,
                flag BOOLEAN NOT NULL, maybe_flag BOOLEAN, token BLOB NOT NULL, doc TEXT",
            Kind::Postgres => "name VARCHAR(19) NOT NULL, code VARCHAR(19),
                handle VARCHAR(19) NOT NULL, bytes BYTEA NOT NULL, maybe_bytes BYTEA,
                ratio REAL NOT NULL, real DOUBLE PRECISION NOT NULL, flag BOOLEAN NOT NULL,
                maybe_flag BOOLEAN, token UUID NOT NULL, doc JSON",
            Kind::MariaDb => "name VARCHAR(19) NOT NULL, code CHAR(19),
                handle VARCHAR(19) NOT NULL, bytes VARBINARY(9) NOT NULL,
                maybe_bytes BLOB, ratio FLOAT NOT NULL, `real` DOUBLE NOT NULL,
                flag TINYINT(1) NOT NULL, maybe_flag BIT(1), token BINARY(16) NOT NULL,
                doc JSON",
        },
        1_000, 5_000
}

/// One text field, for the columns too narrow for it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "short_texts")]
struct ShortText {
    #[factory(primary_key)]
    id: i64,
    code: Option<String>,
}

pool_test! {
    [postgres, mariadb]
    short_varchar(kind): refused!(ShortText, "short_texts", "code VARCHAR(3)", "code")
}

/// One text field in `CHAR(3)`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "short_chars")]
struct ShortChar {
    #[factory(primary_key)]
    id: i64,
    code: String,
}

pool_test! {
    [postgres, mariadb]
    short_char(kind): refused!(ShortChar, "short_chars", "code CHAR(3) NOT NULL", "code")
}

/// Bytes in a column narrower than fake's (up to 9 bytes).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "short_bytes")]
struct ShortBytes {
    #[factory(primary_key)]
    id: i64,
    bytes: Vec<u8>,
}

pool_test! {
    [mariadb]
    short_varbinary(kind): refused!(ShortBytes, "short_bytes", "bytes VARBINARY(2) NOT NULL", "bytes")
}

/// A uuid in MariaDB's text columns and its own `UUID` type.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "text_uuids")]
struct TextUuid {
    #[factory(primary_key)]
    id: i64,
    token: Uuid,
}

pool_test! {
    [mariadb]
    /// sqlx binds a `Uuid` as 16 bytes: `CHAR(36)` takes no such text.
    uuid_in_char_36(kind): refused!(TextUuid, "text_uuids", "token CHAR(36) NOT NULL", "token")
}

/// A uuid in MariaDB's own `UUID` type.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "native_uuids")]
struct NativeUuid {
    #[factory(primary_key)]
    id: i64,
    maybe_token: Option<Uuid>,
}

pool_test! {
    [mariadb]
    /// MariaDB's `UUID` stores the 16 bytes, but reads back the 36 characters of its text,
    /// which sqlx's `Uuid` does not decode.
    uuid_in_mariadb_uuid(kind): refused!(NativeUuid, "native_uuids", "maybe_token UUID", "maybe_token")
}

// ---------------------------------------------------------------------------------------------
// get_or_create with keys of every type.

/// A key of dates, a uuid, a converted integer and text: found again by the values drawn.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "keyed", get_or_create(at, day, clock, token, count, name))]
struct Keyed {
    #[factory(primary_key)]
    id: i64,
    at: DateTime<Utc>,
    day: NaiveDate,
    clock: NaiveTime,
    token: Uuid,
    #[sqlx(try_from = "i64")]
    count: u64,
    name: String,
    stamp: OffsetDateTime,
}

/// A key of a decimal and a float.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "keyed_amounts", get_or_create(amount, ratio))]
struct KeyedAmount {
    #[factory(primary_key)]
    id: i64,
    amount: Decimal,
    ratio: f64,
    note: Option<String>,
}

/// `$n` rows of `$model` by `create_batch` and `$n` by `insert_many`, committed; then
/// `get_or_create_batch($n)` with the same seeds finds every one of them: not created, equal
/// to the stored row, and the table holds no more rows.
macro_rules! found_again {
    ($pool:expr, $observer:expr, $kind:expr, $model:ident, $table:literal, $ddl:expr, $n:expr) => {{
        bounded(sqlx::raw_sql(sqlx::AssertSqlSafe($ddl)).execute(&$observer))
            .await
            .unwrap();
        // The schema check calls nothing an error here: every create below succeeds.
        let mut conn = bounded($pool.acquire()).await.unwrap();
        check_clean!(&mut *conn, $kind, $model);
        drop(conn);
        let select = concat!("SELECT * FROM ", $table, " ORDER BY id");
        let mut tx = bounded($pool.begin()).await.unwrap();
        bounded(
            $model::factory()
                .with_session(&mut tx)
                .seed(round_trip::SEED)
                .create_batch($n),
        )
        .await
        .unwrap();
        bounded(
            $model::factory()
                .with_session(&mut tx)
                .seed(round_trip::SEED + 1)
                .insert_many($n),
        )
        .await
        .unwrap();
        bounded(tx.commit()).await.unwrap();
        let stored: Vec<$model> = bounded(sqlx::query_as(select).fetch_all(&$observer))
            .await
            .unwrap();
        assert_eq!(stored.len(), 2 * $n);
        for (seed, rows) in [
            (round_trip::SEED, &stored[..$n]),
            (round_trip::SEED + 1, &stored[$n..]),
        ] {
            let mut tx = bounded($pool.begin()).await.unwrap();
            let found = bounded(
                $model::factory()
                    .with_session(&mut tx)
                    .seed(seed)
                    .get_or_create_batch($n),
            )
            .await
            .unwrap_or_else(|e| panic!("get_or_create_batch on {} (seed {seed}): {e}", $table));
            bounded(tx.commit()).await.unwrap();
            let created = found.iter().filter(|(_, created)| *created).count();
            assert_eq!(
                created,
                0,
                "{}: rows created again (seed {seed}); first: {:?}",
                $table,
                found.iter().find(|(_, created)| *created)
            );
            let found: Vec<$model> = found.into_iter().map(|(row, _)| row).collect();
            round_trip::assert_read_back(concat!($table, ", get_or_create_batch"), rows, &found);
        }
        let count = durable!($observer, $table);
        assert_eq!(count, 2 * $n as i64, "{}: rows after get_or_create", $table);
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    async fn keys_of_every_type(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let (at, clock, uuid, text) = match kind {
            Kind::Sqlite => ("TEXT", "TEXT", "BLOB", "TEXT"),
            Kind::Postgres => ("TIMESTAMPTZ", "TIME", "UUID", "TEXT"),
            Kind::MariaDb => ("TIMESTAMP(6)", "TIME(6)", "BINARY(16)", "VARCHAR(19)"),
        };
        let ddl = format!(
            "CREATE TABLE keyed (id {pk}, at {at} NOT NULL, day DATE NOT NULL, clock {clock} NOT NULL,
             token {uuid} NOT NULL, count BIGINT NOT NULL, name {text} NOT NULL,
             stamp {at} NOT NULL, UNIQUE (at, day, clock, token, count, name))",
            pk = kind.serial_pk()
        );
        found_again!(pool, observer, kind, Keyed, "keyed", ddl, 500);
    }
}

on_dbs! {
    [postgres, mariadb]
    async fn decimal_and_float_keys(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let ddl = format!(
            "CREATE TABLE keyed_amounts (id {pk}, amount DECIMAL(12, 4) NOT NULL,
             ratio DOUBLE PRECISION NOT NULL, note VARCHAR(40), UNIQUE (amount, ratio))",
            pk = kind.serial_pk()
        );
        found_again!(pool, observer, kind, KeyedAmount, "keyed_amounts", ddl, 500);
    }
}

/// A `get_or_create` key on a date/time column without fractional seconds.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "keyed_seconds", get_or_create(at))]
struct KeyedSeconds {
    #[factory(primary_key)]
    id: i64,
    at: DateTime<Utc>,
}

on_dbs! {
    [postgres, mariadb]
    async fn whole_second_keys(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let ddl = format!(
            "CREATE TABLE keyed_seconds (id {pk}, at {at} NOT NULL UNIQUE)",
            pk = kind.serial_pk(),
            at = if kind == Kind::Postgres { "TIMESTAMPTZ(0)" } else { "DATETIME" }
        );
        found_again!(pool, observer, kind, KeyedSeconds, "keyed_seconds", ddl, 500);
    }
}
