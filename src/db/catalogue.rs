//! What the schema check reads of a live table, per database: the [`CheckBackend`] trait each
//! database implements in its own module (`catalogue.rs` beside its `Backend`), and the facts
//! it returns ([`ColumnFacts`], [`Constraint`]), in terms the check compares.

use std::fmt;

use sqlx::{Encode, Type};

use super::backend::Backend;
use crate::future::BoxFuture;

/// `CheckBackend::column_types` of a concrete backend: the column types of a statement that is
/// prepared (parsed and described) and never run, as a decode sees them.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
macro_rules! column_types_method {
    ($conn:ty, $info:ty) => {
        fn column_types<'c>(
            conn: &'c mut $conn,
            sql: String,
        ) -> BoxFuture<'c, Result<Vec<$info>, sqlx::Error>> {
            Box::pin(async move {
                let statement = conn
                    .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql)))
                    .await?;
                Ok(statement
                    .columns()
                    .iter()
                    .map(|c| c.type_info().clone())
                    .collect())
            })
        }
    };
}

/// `CheckBackend::texts` of a concrete backend: every column of a row read as text.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
macro_rules! texts_method {
    ($row:ty) => {
        fn texts(row: &$row) -> Vec<Option<String>> {
            (0..row.len())
                .map(|i| row.try_get::<Option<String>, _>(i).ok().flatten())
                .collect()
        }
    };
}
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) use {column_types_method, texts_method};

/// A sampled value, as far as lengths and ranges are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// `None`.
    Null,
    /// Text of this many characters.
    Text(usize),
    /// Bytes, this many.
    Bytes(usize),
    /// A date and time as the digits `YYYYMMDDhhmmssffffff` (to the microsecond), which
    /// order as the moments do.
    Moment(i128),
    /// An integer.
    Int(i128),
    /// A decimal, for a column's precision and scale.
    #[cfg(feature = "rust_decimal")]
    Decimal(sqlx::types::Decimal),
    /// Anything else: not measured.
    Other,
}

/// A value as a backend that keeps each value's own type stores it (SQLite), for judging what
/// a column's affinity turns it into.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Null => f.write_str("NULL"),
            Bound::Int(v) => write!(f, "{v}"),
            Bound::Real(v) => write!(f, "{v:?}"),
            Bound::Text(v) => write!(f, "'{v}'"),
            Bound::Blob => f.write_str("a blob"),
        }
    }
}

/// A column as the catalogue describes it.
#[derive(Debug, Clone, Default)]
pub struct ColumnFacts {
    /// Its name.
    pub name: String,
    /// Its type as declared (`character varying(32)`, `int(11)`, `TEXT`).
    pub declared: String,
    /// `NOT NULL` (or part of the primary key).
    pub not_null: bool,
    /// What fills it when an INSERT leaves it out: `DEFAULT now()`, an identity, a trigger.
    pub filled_by: Option<String>,
    /// The most characters it holds, where the backend enforces it.
    pub max_chars: Option<i64>,
    /// The integers it holds, where narrower than 64 bits or unsigned.
    pub int_range: Option<(i128, i128)>,
    /// The moments it holds, as [`Measure::Moment`]s, where narrower than a date/time type's
    /// own (MariaDB's `TIMESTAMP`: 1970 to 2038).
    pub moments: Option<(i128, i128)>,
    /// The labels of its enum type.
    pub labels: Option<Vec<String>>,
    /// Precision and scale of a `numeric(p, s)` / `DECIMAL(p, s)`.
    pub numeric: Option<(u32, u32)>,
    /// [`labels`](Self::labels) are a `SET`'s: a value is any of them, comma-separated.
    pub label_set: bool,
    /// The character set of a text column, where it is narrower than Unicode's (MariaDB's
    /// `latin1`, `ascii`, `utf8mb3`).
    pub charset: Option<String>,
    /// The tables its foreign keys reference.
    pub references: Vec<String>,
    /// Its `CHECK` constraints.
    pub checks: Vec<Constraint>,
    /// The type a value for it is cast to when a `CHECK` is evaluated over sampled values,
    /// where the backend needs one (PostgreSQL: the column's type without its modifier).
    pub cast_type: Option<String>,
    /// The collation a value for it is compared in when a `CHECK` is evaluated, where the
    /// backend needs one (MariaDB: the column's, not the connection's).
    pub collation: Option<String>,
    /// Its table is SQLite `STRICT`: a value its declared type cannot hold is refused, not
    /// stored as it comes.
    pub strict: bool,
    /// Its relation is a view: what fills a column an INSERT leaves out is decided by the
    /// table under it, which the view's catalogue does not show.
    pub in_view: bool,
}

/// A `CHECK` constraint as the catalogue gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraint {
    /// As the report shows it: `CHECK ((balance >= 0))`.
    pub shown: String,
    /// Its expression alone, as the database evaluates it in a `SELECT`.
    pub expr: String,
    /// The columns it names, as the catalogue spells them.
    pub columns: Vec<String>,
}

/// What the check needs from a backend: its catalogue, and how it sends a value as text.
/// Kept apart from [`Backend`] so the insert path does not carry it.
pub trait CheckBackend: Backend {
    /// Column names compare exactly (PostgreSQL, which the INSERT's quoting makes
    /// case-sensitive) or ignoring ASCII case (SQLite, MariaDB).
    const EXACT_COLUMN_NAMES: bool;

    /// Appended when sqlx refuses a column type whose name is the field type's own.
    const SAME_NAME_HINT: &'static str = "";

    /// The table's columns, from one catalogue query; `None` when there is no such table.
    fn columns<'c>(
        conn: &'c mut Self::Connection,
        table: &'c str,
    ) -> BoxFuture<'c, Result<Option<Vec<ColumnFacts>>, sqlx::Error>>;

    /// The column types sqlx sees for `sql` (prepared, not run).
    fn column_types<'c>(
        conn: &'c mut Self::Connection,
        sql: String,
    ) -> BoxFuture<'c, Result<Vec<Self::TypeInfo>, sqlx::Error>>;

    /// The type a column is cast to for reading it as text (`CAST(x AS ..)`).
    const TEXT_TYPE: &'static str;

    /// Whether a `VALUES` list in a `WITH` takes bound parameters (MariaDB reads them as NULL
    /// there: its sampled rows are a `UNION ALL` of `SELECT`s instead).
    const VALUES_WITH_PARAMETERS: bool = true;

    /// Every column of `row` as text, `None` for NULL (or what does not read as text).
    fn texts(row: &Self::Row) -> Vec<Option<String>>;

    /// `value` as the backend stores it, where a column's declared type does not decide what
    /// a read gets (SQLite: each value keeps its own type, converted by the column's affinity).
    fn bound<T: for<'q> Encode<'q, Self> + ?Sized>(_value: &T) -> Option<Bound> {
        None
    }

    /// The type a read gets for `value` stored in `column`, with a word for what it is
    /// (`INTEGER`); `None` where the column's declared type decides.
    fn stored_type(
        _column: &ColumnFacts,
        _value: &Bound,
    ) -> Option<(Self::TypeInfo, &'static str)> {
        None
    }

    /// What `value` is (`TEXT`) when `column` refuses to store it (SQLite's `STRICT` tables);
    /// `None` when it is stored.
    fn refuses(_column: &ColumnFacts, _value: &Bound) -> Option<&'static str> {
        None
    }

    /// Whether a NULL read into a field that is no `Option` fails. SQLite's sqlx reads it as
    /// the type's empty value (`""`, `0`) instead.
    const NULL_FAILS_DECODE: bool = true;

    /// Why a column sqlx decodes a field from does not keep the bytes sqlx sends for it
    /// (`field` is sqlx's name of the field's type, `column` the column's type); `None` where
    /// it keeps them.
    fn bytes_refused(
        _field: &str,
        _column: &Self::TypeInfo,
        _facts: &ColumnFacts,
    ) -> Option<String> {
        None
    }

    /// `value` measured as it is encoded: text's length, an integer's value, else `Other`.
    fn measure_bound<T: for<'q> Encode<'q, Self> + Type<Self> + ?Sized>(value: &T) -> Measure;

    /// `value` as the text the backend receives, when it is sent as text.
    fn encoded_text<T: for<'q> Encode<'q, Self> + ?Sized>(value: &T) -> Option<String>;
}

/// Fills in the columns each `CHECK` names, once every column's name is known: those whose
/// name `names(expr, name)` finds in its expression.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) fn name_check_columns(columns: &mut [ColumnFacts], names: fn(&str, &str) -> bool) {
    let all: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    for column in columns {
        for check in &mut column.checks {
            check.columns = all
                .iter()
                .filter(|name| names(&check.expr, name))
                .cloned()
                .collect();
        }
    }
}

/// Whether a trigger body assigns `NEW.<column>` (`NEW.col := ..`, `SET NEW.col = ..`), the
/// column written bare (ASCII case ignored) or quoted with `quote`. Plain text search: a column
/// name is data, and no character of it is pattern syntax.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn assigns_new(body: &str, column: &str, quote: char) -> bool {
    let lower = body.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let ident_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    lower.match_indices("new.").any(|(at, _)| {
        if at > 0 && ident_char(char::from(bytes[at - 1])) {
            return false;
        }
        let rest = &body[at + 4..];
        let after = if let Some(quoted) = rest.strip_prefix(quote) {
            let mut name = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == quote {
                    if chars.peek().is_some_and(|&(_, n)| n == quote) {
                        chars.next();
                        name.push(quote);
                        continue;
                    }
                    end = Some(i + c.len_utf8());
                    break;
                }
                name.push(c);
            }
            let Some(end) = end else { return false };
            if name != column {
                return false;
            }
            &quoted[end..]
        } else {
            let end = rest.find(|c: char| !ident_char(c)).unwrap_or(rest.len());
            let name = &rest[..end];
            if !name.eq_ignore_ascii_case(column) {
                return false;
            }
            &rest[end..]
        };
        let after = after.trim_start();
        let after = after.strip_prefix(':').unwrap_or(after);
        after.starts_with('=') && !after.starts_with("==")
    })
}

/// Precision and scale from the catalogue, when both are there and in range.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn numeric(precision: Option<i64>, scale: Option<i64>) -> Option<(u32, u32)> {
    Some((u32::try_from(precision?).ok()?, u32::try_from(scale?).ok()?))
}
