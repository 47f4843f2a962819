//! The schema check: each factory compared with the live table it writes to, column by
//! column, without inserting anything. The derive describes each field ([`FieldInfo`]); each
//! backend reads its catalogue in one query per table ([`CheckBackend`]); this module compares
//! the two and words what it finds.

/// `CheckBackend::column_types` of a concrete backend: the column types of a statement that is
/// prepared (parsed and described) and never run, as a decode sees them.
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
macro_rules! texts_method {
    ($row:ty) => {
        fn texts(row: &$row) -> Vec<Option<String>> {
            (0..row.len())
                .map(|i| row.try_get::<Option<String>, _>(i).ok().flatten())
                .collect()
        }
    };
}

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::any::Any;
use std::fmt;

use sqlx::{Database, Encode, Type, TypeInfo};

use crate::backend::Backend;
use crate::future::BoxFuture;
use crate::model::Model;
use crate::probe::Probe;
use crate::session::IntoSession;

/// How many objects the check draws from each factory to measure its values.
pub const SAMPLES: usize = 1000;

/// How bad a finding is: errors fail [`CheckReport::into_result`]; warnings only after
/// [`CheckReport::deny_warnings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something a create or a read will fail on (always, or in some runs).
    Error,
    /// Something that works but is probably not meant: random data where the database decides.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One difference between a factory and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The model, as listed in `check!`.
    pub model: &'static str,
    /// The model's table.
    pub table: &'static str,
    /// The column it is about; empty for the table as a whole.
    pub column: String,
    /// What is wrong and what to do, in one sentence.
    pub message: String,
}

/// What [`check!`](crate::check!) found, printed as a table.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     #[factory(primary_key)]
///     id: i64,
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL)")
///     .execute(&mut conn)
///     .await?;
/// let report = sqlx_factory::check!(&mut conn, Tag).await;
/// assert_eq!(report.errors().count(), 1);
/// assert!(report.to_string().contains(
///     "slug    NOT NULL without a default, and no field of the model fills it: every create fails"
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct CheckReport {
    checked: Vec<&'static str>,
    findings: Vec<Finding>,
    deny_warnings: bool,
}

impl CheckReport {
    /// The models checked, in order.
    pub fn checked(&self) -> &[&'static str] {
        &self.checked
    }

    /// Every finding, errors and warnings, in model and column order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// Makes warnings fail [`is_ok`](Self::is_ok) and [`into_result`](Self::into_result) too.
    pub fn deny_warnings(mut self) -> Self {
        self.deny_warnings = true;
        self
    }

    /// No error (and no warning, after [`deny_warnings`](Self::deny_warnings)).
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none() && !(self.deny_warnings && self.warnings().next().is_some())
    }

    /// `Ok` when [`is_ok`](Self::is_ok), else the report, for `.unwrap()` in a test.
    pub fn into_result(self) -> Result<(), CheckReport> {
        if self.is_ok() { Ok(()) } else { Err(self) }
    }

    fn push(
        &mut self,
        severity: Severity,
        model: &'static str,
        table: &'static str,
        column: &str,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            model,
            table,
            column: column.to_owned(),
            message,
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let models = self.checked.len();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        if self.findings.is_empty() {
            return if models == 1 {
                f.write_str("schema check: 1 model matches its table")
            } else {
                write!(f, "schema check: {models} models match their tables")
            };
        }
        writeln!(
            f,
            "schema check: {}, {} in {}",
            plural(self.errors().count(), "error"),
            plural(self.warnings().count(), "warning"),
            plural(models, "model")
        )?;
        let header = ["level", "model", "table", "column", "problem"];
        let rows: Vec<[String; 5]> = self
            .findings
            .iter()
            .map(|x| {
                [
                    x.severity.to_string(),
                    x.model.to_owned(),
                    x.table.to_owned(),
                    x.column.clone(),
                    x.message.clone(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut line = |cells: [&str; 5]| -> fmt::Result {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i == 4 {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            writeln!(f, "{}", text.trim_end())
        };
        line(header)?;
        for row in &rows {
            line([&row[0], &row[1], &row[2], &row[3], &row[4]])?;
        }
        Ok(())
    }
}

/// The table, as `Display` prints it: `check!(..).await.into_result().unwrap()` shows it when
/// it fails a test.
impl fmt::Debug for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for CheckReport {}

/// Where a field's value comes from when the factory is not told one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// `primary_key` with no value attribute: left out of the INSERT.
    PrimaryKey,
    /// `generated` with no value attribute: left out of the INSERT.
    Generated,
    /// `association = Parent`: the parent's key.
    Association,
    /// `default = ..`.
    Default,
    /// `fake = ..`.
    Fake,
    /// `sequence = ..`.
    Sequence,
    /// `lazy = ..`.
    Lazy,
    /// `required`: the test sets it.
    Required,
    /// No attribute: a random value of its type.
    Random,
}

impl Fill {
    fn sent(self) -> bool {
        !matches!(self, Fill::PrimaryKey | Fill::Generated)
    }

    /// Values the factory makes up rather than values someone chose.
    fn random(self) -> bool {
        matches!(self, Fill::Random | Fill::Fake | Fill::Sequence)
    }

    fn name(self) -> &'static str {
        match self {
            Fill::PrimaryKey => "primary_key",
            Fill::Generated => "generated",
            Fill::Association => "association",
            Fill::Default => "default",
            Fill::Fake => "fake",
            Fill::Sequence => "sequence",
            Fill::Lazy => "lazy",
            Fill::Required => "required",
            Fill::Random => "random",
        }
    }
}

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

/// A type whose values have a length or an integer value.
pub trait Measurable {
    /// This value's measure.
    fn measure(&self) -> Measure;
}

impl Measurable for str {
    fn measure(&self) -> Measure {
        Measure::Text(self.chars().count())
    }
}

impl Measurable for String {
    fn measure(&self) -> Measure {
        self.as_str().measure()
    }
}

impl Measurable for Box<str> {
    fn measure(&self) -> Measure {
        (**self).measure()
    }
}

macro_rules! measurable_int {
    ($($int:ty),*) => {$(
        impl Measurable for $int {
            fn measure(&self) -> Measure {
                Measure::Int(i128::from(*self))
            }
        }
    )*};
}

measurable_int!(i8, i16, i32, i64, u8, u16, u32, u64);

#[cfg(feature = "rust_decimal")]
impl Measurable for sqlx::types::Decimal {
    fn measure(&self) -> Measure {
        Measure::Decimal(*self)
    }
}

/// An element of a PostgreSQL array whose column's element type limits it: text by its
/// length, a decimal by its digits (`VARCHAR(3)[]`, `NUMERIC(5, 2)[]`).
pub trait ArrayElement {
    /// This element's measure.
    fn element(&self) -> Measure;
}

impl ArrayElement for String {
    fn element(&self) -> Measure {
        self.measure()
    }
}

#[cfg(feature = "rust_decimal")]
impl ArrayElement for sqlx::types::Decimal {
    fn element(&self) -> Measure {
        self.measure()
    }
}

impl<T: ArrayElement> ArrayElement for Option<T> {
    fn element(&self) -> Measure {
        self.as_ref().map_or(Measure::Other, T::element)
    }
}

/// An array is as wide as its widest element: the longest text, the decimal farthest from
/// zero (rounding to the column's scale keeps that order). An empty one is not measured.
impl<T: ArrayElement> Measurable for Vec<T> {
    fn measure(&self) -> Measure {
        self.iter()
            .map(T::element)
            .fold(Measure::Other, |widest, m| match (widest, m) {
                (Measure::Text(a), Measure::Text(b)) => Measure::Text(a.max(b)),
                #[cfg(feature = "rust_decimal")]
                (Measure::Decimal(a), Measure::Decimal(b)) => {
                    Measure::Decimal(if b.abs() > a.abs() { b } else { a })
                }
                (Measure::Other, m) => m,
                (widest, _) => widest,
            })
    }
}

/// The probe's first choice.
pub trait MeasureKnown {
    /// The measure of the probed value.
    fn measure(&self) -> Measure;
}

impl<T: Measurable + ?Sized> MeasureKnown for Probe<'_, T> {
    fn measure(&self) -> Measure {
        self.0.measure()
    }
}

/// The probe's fallback.
pub trait MeasureOther {
    /// [`Measure::Other`].
    fn measure(&self) -> Measure;
}

impl<T: ?Sized> MeasureOther for &Probe<'_, T> {
    fn measure(&self) -> Measure {
        Measure::Other
    }
}

/// One column field of a model as the derive describes it, the same on every backend: data
/// only (the values are read through [`CheckFields::field`], and
/// the backend-dependent part is [`ColumnFns`]), so the derive emits no closure per field.
pub struct FieldFacts {
    /// The field's name.
    pub field: &'static str,
    /// The column it reads and writes.
    pub column: &'static str,
    /// The field's type as written.
    pub rust_type: &'static str,
    /// Whether the type is an `Option`.
    pub option: bool,
    /// Which attribute fills it.
    pub fill: Fill,
}

/// What the check asks sqlx on `DB` about one field's type, and the parent's table.
pub struct ColumnFns<DB: Database> {
    /// The parent's table, for an association.
    pub parent_table: Option<&'static str>,
    /// sqlx's name of the type it binds (`Type::type_info().name()`).
    pub type_name: fn() -> String,
    /// sqlx's `Type::compatible` for it: whether it decodes from a column of this type.
    pub compatible: fn(&DB::TypeInfo) -> bool,
    /// A field value ([`CheckFields::field`]) as the text the backend receives, for enum labels.
    pub text: fn(&dyn Any) -> Option<String>,
    /// Adds a field value ([`CheckFields::field`]) to a statement's arguments, as a create
    /// binds it; `false` when it cannot (a `#[sqlx(json)]` field, bound through a wrapper).
    pub bind: fn(&dyn Any, &mut <DB as Database>::Arguments) -> bool,
    /// A field value as the backend receives it, where the backend judges by stored values.
    pub bound: fn(&dyn Any) -> Option<Bound>,
    /// A field value measured as it is bound (a `#[sqlx(transparent)]` newtype as its text or
    /// integer), for types the probe does not measure.
    pub measure: fn(&dyn Any) -> Measure,
}

/// The [`ColumnFns`] of a field of type `T`.
pub fn column<DB: CheckBackend, T: CheckColumn<DB> + 'static>(
    parent_table: Option<&'static str>,
) -> ColumnFns<DB> {
    ColumnFns {
        parent_table,
        type_name: T::type_name,
        compatible: T::compatible,
        text: |value| value.downcast_ref::<T>().and_then(T::encoded_text),
        bind: |value, args| {
            value
                .downcast_ref::<T>()
                .is_some_and(|value| value.bind(args))
        },
        bound: |value| value.downcast_ref::<T>().and_then(T::bound),
        measure: |value| {
            value
                .downcast_ref::<T>()
                .map_or(Measure::Other, T::measure_bound)
        },
    }
}

/// The [`ColumnFns`] of a `#[sqlx(json)]` field, bound as `T` (`Json<_>`): no label text.
pub fn json_column<DB: CheckBackend, T: CheckColumn<DB>>(
    parent_table: Option<&'static str>,
) -> ColumnFns<DB> {
    ColumnFns {
        parent_table,
        type_name: T::type_name,
        compatible: T::compatible,
        text: |_| None,
        bind: |_, _| false,
        bound: |_| None,
        measure: |_| Measure::Other,
    }
}

/// One column field of a model, as the check compares it: its facts and its backend part.
pub struct FieldInfo<DB: Database, M> {
    facts: &'static FieldFacts,
    /// Its position in [`CheckFields::FIELDS`].
    index: usize,
    model: std::marker::PhantomData<fn(&M)>,
    /// What sqlx says about its type on `DB`.
    pub db: ColumnFns<DB>,
}

impl<DB: Database, M> std::ops::Deref for FieldInfo<DB, M> {
    type Target = FieldFacts;

    fn deref(&self) -> &FieldFacts {
        self.facts
    }
}

impl<DB: Database, M: CheckFields> FieldInfo<DB, M> {
    /// This field of `row` as the text the backend receives, for enum labels.
    fn text(&self, row: &M) -> Option<String> {
        (self.db.text)(row.field(self.index).1)
    }

    /// The length or integer value of this field of `row`: what the probe measures on the
    /// field's own type, else the value as it is bound.
    fn measure(&self, row: &M) -> Measure {
        match row.field(self.index) {
            (Measure::Other, value) => (self.db.measure)(value),
            (measure, _) => measure,
        }
    }
}

/// What the derive implements for the check on every backend: the fields and sample rows.
pub trait CheckFields: Model {
    /// Every column field, in field order.
    const FIELDS: &'static [FieldFacts];

    /// The field at `field` in [`Self::FIELDS`]: its length or integer value, and the value
    /// itself, for [`ColumnFns::text`].
    // One method, not a `measure` and a `value`: a body less per model on every rebuild.
    fn field(&self, field: usize) -> (Measure, &dyn Any);

    /// `n` objects of the default factory, the `i`-th seeded from `seed` and `i`, so sequences
    /// start from `n` different bases; empty for models with `required` fields.
    fn sample(n: usize, seed: u64) -> Vec<Self>;
}

/// What the derive implements for the check, per backend: what sqlx says about each field's
/// type (the impl carries the per-field `CheckColumn` bounds).
pub trait CheckModel<DB: CheckBackend>: CheckFields {
    /// One per column field, in field order.
    fn columns() -> Vec<ColumnFns<DB>>;
}

fn fields<DB: CheckBackend, M: CheckModel<DB>>() -> Vec<FieldInfo<DB, M>> {
    M::FIELDS
        .iter()
        .zip(M::columns())
        .enumerate()
        .map(|(index, (facts, db))| FieldInfo {
            facts,
            index,
            model: std::marker::PhantomData,
            db,
        })
        .collect()
}

/// A backend `M` can be checked on: what `check!` requires, so that a model with a field type
/// the backend cannot store is one error in our words, at the `check!` call.
#[diagnostic::on_unimplemented(
    message = "`{M}` cannot be checked on `{Self}`: a field's type cannot be stored there",
    label = "`{M}` has a field type without sqlx's `Encode` and `Type` for `{Self}`",
    note = "check it on a backend whose sqlx types cover every field (a `Vec<T>` array exists only on PostgreSQL), or change that field's type"
)]
pub trait Checkable<M>: CheckBackend {
    /// Checks `M` against its table on `conn`.
    fn check<'a>(
        conn: &'a mut Self::Connection,
        model: &'static str,
        report: &'a mut CheckReport,
    ) -> BoxFuture<'a, ()>;
}

#[diagnostic::do_not_recommend]
impl<DB: CheckBackend, M: CheckModel<DB>> Checkable<M> for DB {
    fn check<'a>(
        conn: &'a mut DB::Connection,
        model: &'static str,
        report: &'a mut CheckReport,
    ) -> BoxFuture<'a, ()> {
        Box::pin(check::<DB, M>(conn, model, report))
    }
}

/// A field type the check can ask sqlx about on `DB`.
#[diagnostic::on_unimplemented(
    message = "a field of type `{Self}` cannot be checked against a `{DB}` column",
    label = "`{Self}` has no `sqlx::Encode` and `sqlx::Type` for `{DB}`",
    note = "check this model on a backend that stores `{Self}`, or change the field's type"
)]
pub trait CheckColumn<DB: CheckBackend> {
    /// sqlx's name of the type this binds.
    fn type_name() -> String;
    /// sqlx's own `Type::compatible`.
    fn compatible(ty: &DB::TypeInfo) -> bool;
    /// The value as the text the backend receives (enum labels), if it is text.
    fn encoded_text(&self) -> Option<String>;
    /// Adds the value to `args` as a create binds it; `false` when it does not encode.
    fn bind(&self, args: &mut <DB as Database>::Arguments) -> bool;
    /// The value as the backend receives it, where it judges by stored values.
    fn bound(&self) -> Option<Bound>;
    /// The value measured as it is bound: its text's length or its integer.
    fn measure_bound(&self) -> Measure;
}

#[diagnostic::do_not_recommend]
impl<DB: CheckBackend, T> CheckColumn<DB> for T
where
    T: for<'q> Encode<'q, DB> + Type<DB>,
{
    fn type_name() -> String {
        T::type_info().name().to_owned()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        T::compatible(ty)
    }

    fn encoded_text(&self) -> Option<String> {
        DB::encoded_text(self)
    }

    fn bind(&self, args: &mut <DB as Database>::Arguments) -> bool {
        sqlx::Arguments::add(args, self).is_ok()
    }

    fn bound(&self) -> Option<Bound> {
        DB::bound(self)
    }

    fn measure_bound(&self) -> Measure {
        DB::measure_bound(self)
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

    /// The type a read gets for `value` stored in a column declared `declared`, with a word
    /// for what it is (`INTEGER`); `None` where the column's declared type decides.
    fn stored_type(_declared: &str, _value: &Bound) -> Option<(Self::TypeInfo, &'static str)> {
        None
    }

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

/// The table of an association's parent. Generic over the backend only so that the derive's
/// `where Parent: ParentTable<DB>` is no error when the parent is no model: the impl then does
/// not apply, and the association's own error is the only one.
pub trait ParentTable<DB> {
    /// The parent's table.
    const TABLE: &'static str;
}

impl<DB, P: Model> ParentTable<DB> for P {
    const TABLE: &'static str = P::TABLE;
}

/// The seed of the `i`-th sample object.
pub fn sample_seed(seed: u64, i: usize) -> u64 {
    crate::seed::child_seed(Some(seed), i).unwrap_or(seed)
}

/// Checks model `M` against its table on `session`'s connection and adds what it finds to
/// `report`. What `check!` runs per model. Not an `async fn`: the bound would then be
/// reported three times (call, future, `.await`) instead of once.
pub fn check_model<'a, C, M>(
    session: &'a mut C,
    model: &'static str,
    report: &'a mut CheckReport,
) -> BoxFuture<'a, ()>
where
    C: IntoSession + ?Sized,
    C::Database: Checkable<M>,
{
    <C::Database as Checkable<M>>::check(session.connection(), model, report)
}

async fn check<DB, M>(conn: &mut DB::Connection, model: &'static str, report: &mut CheckReport)
where
    DB: CheckBackend,
    M: CheckModel<DB>,
{
    report.checked.push(model);
    let table = M::TABLE;
    let columns = match guarded::<DB, _>(conn, |c| DB::columns(c, table)).await {
        Ok(Some(columns)) => columns,
        Ok(None) => {
            report.push(
                Severity::Error,
                model,
                table,
                "",
                "no such table".to_owned(),
            );
            return;
        }
        Err(e) => {
            report.push(
                Severity::Error,
                model,
                table,
                "",
                format!("reading the catalogue failed: {e}"),
            );
            return;
        }
    };
    // `DEFAULT NULL` fills nothing: the column reads NULL unless the INSERT sends a value.
    let mut columns = columns;
    for column in &mut columns {
        if column.filled_by.as_deref().is_some_and(is_null_default) {
            column.filled_by = None;
        }
    }
    let fields = fields::<DB, M>();
    let find = |name: &str| {
        columns.iter().position(|c| {
            if DB::EXACT_COLUMN_NAMES {
                c.name == name
            } else {
                c.name.eq_ignore_ascii_case(name)
            }
        })
    };
    let matched: Vec<Option<usize>> = fields.iter().map(|f| find(f.column)).collect();

    // The types sqlx sees, for the columns that exist (a missing one would fail the prepare,
    // and on PostgreSQL abort the caller's transaction).
    let present: Vec<&str> = fields
        .iter()
        .zip(&matched)
        .filter(|(_, m)| m.is_some())
        .map(|(f, _)| f.column)
        .collect();
    let mut types = Vec::new();
    if !present.is_empty() {
        let sql = crate::sql::select_nothing_sql::<DB>(table, &present);
        match guarded::<DB, _>(conn, |c| DB::column_types(c, sql)).await {
            Ok(found) => types = found,
            Err(e) => report.push(
                Severity::Error,
                model,
                table,
                "",
                format!("preparing a SELECT of its columns failed: {e}"),
            ),
        }
    }
    let mut types = types.into_iter();

    let samples = M::sample(SAMPLES, crate::seed::run_seed());
    let mut in_order: Vec<(usize, Severity, String)> = Vec::new();
    for (field, position) in fields.iter().zip(&matched) {
        let Some(position) = *position else {
            in_order.push((
                usize::MAX,
                Severity::Error,
                format!(
                    "field `{}` names this column, which the table does not have",
                    field.field
                ),
            ));
            continue;
        };
        let column = &columns[position];
        let type_info = types.next();
        for (severity, message) in compare(field, column, type_info.as_ref(), &samples) {
            in_order.push((position, severity, message));
        }
    }
    // Columns no field fills.
    for (position, column) in columns.iter().enumerate() {
        if matched.contains(&Some(position)) {
            continue;
        }
        if column.not_null && column.filled_by.is_none() {
            in_order.push((
                position,
                Severity::Error,
                "NOT NULL without a default, and no field of the model fills it: every create fails"
                    .to_owned(),
            ));
        }
    }
    // CHECK constraints, each once (a table constraint is listed under every column it names),
    // under the first column it names.
    let mut seen: Vec<&Constraint> = Vec::new();
    for (position, column) in columns.iter().enumerate() {
        for constraint in &column.checks {
            if seen.contains(&constraint) {
                continue;
            }
            seen.push(constraint);
            if let Some(finding) =
                judge_check::<DB, M>(conn, constraint, &columns, &fields, &matched, &samples).await
            {
                in_order.push((position, finding.0, finding.1));
            }
        }
    }
    // Table order; missing columns (named by the model only) after the table's.
    let mut missing = fields
        .iter()
        .zip(&matched)
        .filter(|(_, m)| m.is_none())
        .map(|(f, _)| f.column);
    in_order.sort_by_key(|(position, ..)| *position);
    for (position, severity, message) in in_order {
        let column = match columns.get(position) {
            Some(c) => c.name.as_str(),
            None => missing.next().unwrap_or_default(),
        };
        report.push(severity, model, table, column, message);
    }
}

/// Everything wrong between one field and its column.
fn compare<DB: CheckBackend, M: CheckFields>(
    field: &FieldInfo<DB, M>,
    column: &ColumnFacts,
    type_info: Option<&DB::TypeInfo>,
    samples: &[M],
) -> Vec<(Severity, String)> {
    let mut out = Vec::new();
    let error = |out: &mut Vec<_>, message: String| out.push((Severity::Error, message));
    let warning = |out: &mut Vec<_>, message: String| out.push((Severity::Warning, message));
    let fill = field.fill;

    // 1. A database-filled field the database does not fill.
    if !fill.sent() && column.not_null && column.filled_by.is_none() {
        error(
            &mut out,
            format!(
                "`{}`, but the database does not fill this NOT NULL column (no default, identity or trigger): every create fails",
                fill.name()
            ),
        );
    }
    // 2. Random data where the database decides; a value where only the database may write.
    let always = column
        .filled_by
        .as_deref()
        .is_some_and(|f| f.starts_with("GENERATED ALWAYS"));
    if always && fill.sent() {
        error(
            &mut out,
            format!(
                "the database always computes it ({}), but the factory sends a value: mark it `generated`",
                column.filled_by.as_deref().unwrap_or_default()
            ),
        );
    } else if let Some(filler) = &column.filled_by
        && matches!(fill, Fill::Random | Fill::Fake)
    {
        warning(
            &mut out,
            format!(
                "the database fills it ({filler}), but the factory always sends a random value: mark it `primary_key` or `generated`, or set a value on purpose with `default`"
            ),
        );
    }
    // 3. Types, as sqlx decodes them: by the type each sampled value is stored as, where the
    // backend decides that per value (SQLite); else by the column's declared type.
    let sampled_rows: &[M] = if fill.sent() && fill != Fill::Required && fill != Fill::Association {
        samples
    } else {
        &[]
    };
    let by_value = sampled_rows.iter().any(|row| {
        (field.db.bound)(row.field(field.index).1)
            .is_some_and(|value| DB::stored_type(&column.declared, &value).is_some())
    });
    if by_value {
        // Judged value by value: the first that does not read back.
        let failing = sampled_rows.iter().find_map(|row| {
            let value = (field.db.bound)(row.field(field.index).1)?;
            let (ty, class) = DB::stored_type(&column.declared, &value)?;
            (!(field.db.compatible)(&ty)).then_some((value, class))
        });
        if let Some((value, class)) = failing {
            error(
                &mut out,
                format!(
                    "the column stores `{}` values such as {value} as {class} (by its type `{}`), and sqlx cannot decode `{}` from {class}: reading such a row fails",
                    fill.name(),
                    column.declared,
                    field.rust_type,
                ),
            );
        }
    } else if let Some(ty) = type_info
        && !ty.is_null()
        && !(field.db.compatible)(ty)
    {
        let expected = (field.db.type_name)();
        let hint = if expected == ty.name() {
            DB::SAME_NAME_HINT
        } else {
            ""
        };
        error(
            &mut out,
            format!(
                "sqlx cannot decode `{}` ({expected}) from this {} column{hint}",
                field.rust_type,
                ty.name()
            ),
        );
    } else if let Some(ty) = type_info
        && let Some(why) = DB::bytes_refused(&(field.db.type_name)(), ty, column)
    {
        error(
            &mut out,
            format!("sqlx sends `{}` as bytes, {why}", field.rust_type),
        );
    }
    if !column.not_null && !field.option {
        warning(
            &mut out,
            format!(
                "the column is nullable, but `{}` is not an `Option`: reading a NULL fails",
                field.rust_type
            ),
        );
    }

    // 4. The values the factory sends, from the sample.
    // An association's key comes from the parent row in create mode, not from the sample (a
    // fake key in build mode); only its NULLs (an optional key not asked for) are real.
    let sent: Vec<&M> = if fill.sent() && fill != Fill::Required {
        samples.iter().collect()
    } else {
        Vec::new()
    };
    let mut measures: Vec<Measure> = sent.iter().map(|row| field.measure(row)).collect();
    let sent: Vec<&M> = if fill == Fill::Association {
        measures.retain(|m| *m == Measure::Null);
        Vec::new()
    } else {
        sent
    };
    if column.not_null && measures.contains(&Measure::Null) {
        error(
            &mut out,
            format!(
                "the factory sends NULL (`{}`), but the column is NOT NULL",
                field.rust_type
            ),
        );
    }
    let longest = measures
        .iter()
        .filter_map(|m| match m {
            Measure::Text(n) => Some((*n, "characters")),
            Measure::Bytes(n) => Some((*n, "bytes")),
            _ => None,
        })
        .max();
    // The longest value, not how many: that count changes with the run's seed.
    if let (Some((longest, unit)), Some(max)) = (longest, column.max_chars)
        && longest as i64 > max
    {
        error(
            &mut out,
            format!(
                "`{}` values are up to {longest} {unit}, longer than {}",
                fill.name(),
                column.declared
            ),
        );
    }
    let ints = measures.iter().filter_map(|m| match m {
        Measure::Int(v) => Some(*v),
        _ => None,
    });
    let (low, high) = ints.fold((None, None), |(lo, hi): (Option<i128>, Option<i128>), v| {
        (
            Some(lo.map_or(v, |l| l.min(v))),
            Some(hi.map_or(v, |h| h.max(v))),
        )
    });
    #[cfg(feature = "rust_decimal")]
    if let Some((precision, scale)) = column.numeric {
        // The value is rounded to the column's scale first; then its whole digits must fit.
        let whole = |d: &sqlx::types::Decimal| {
            let rounded = d.round_dp(scale).trunc().abs();
            let digits = rounded.mantissa().unsigned_abs() / 10u128.pow(rounded.scale());
            if digits == 0 { 0 } else { digits.ilog10() + 1 }
        };
        let widest = measures
            .iter()
            .filter_map(|m| match m {
                Measure::Decimal(d) => Some(whole(d)),
                _ => None,
            })
            .max();
        let room = precision.saturating_sub(scale);
        if let Some(widest) = widest
            && widest > room
        {
            error(
                &mut out,
                format!(
                    "`{}` values have up to {widest} digits before the decimal point (rounded to {scale} places), more than {} holds ({room})",
                    fill.name(),
                    column.declared
                ),
            );
        } else if let Some(places) = measures
            .iter()
            .filter_map(|m| match m {
                Measure::Decimal(d) if d.normalize().scale() > scale => Some(d.normalize().scale()),
                _ => None,
            })
            .max()
        {
            // Stored, but rounded: what reads back is not what was sent, and a
            // `get_or_create` key is not found again by the value drawn.
            warning(
                &mut out,
                format!(
                    "`{}` values have up to {places} decimal places, which {} rounds to {scale}: they read back different",
                    fill.name(),
                    column.declared
                ),
            );
        }
    }
    let moments = measures.iter().filter_map(|m| match m {
        Measure::Moment(v) => Some(*v),
        _ => None,
    });
    if let (Some(first), Some(last), Some((min, max))) =
        (moments.clone().min(), moments.max(), column.moments)
        && (first < min || last > max)
    {
        error(
            &mut out,
            format!(
                "`{}` values range from {} to {}, but {} holds {} to {}",
                fill.name(),
                moment(first),
                moment(last),
                column.declared,
                moment(min),
                moment(max)
            ),
        );
    }
    if let (Some(low), Some(high), Some((min, max))) = (low, high, column.int_range)
        && (low < min || high > max)
    {
        error(
            &mut out,
            format!(
                "`{}` values fall outside {}'s range {min}..={max}",
                fill.name(),
                column.declared
            ),
        );
    }

    // Text in a narrower character set.
    if let Some(charset) = &column.charset {
        let failing = sent.iter().find_map(|row| {
            let text = field.text(row)?;
            text.chars()
                .any(|c| !charset_holds(charset, c))
                .then_some(text)
        });
        if let Some(text) = failing {
            error(
                &mut out,
                format!(
                    "`{}` values such as '{text}' hold characters the column's character set {charset} cannot store",
                    fill.name()
                ),
            );
        }
    }

    // 5. Enum labels.
    if let Some(labels) = &column.labels {
        let mut sent_labels: Vec<String> = Vec::new();
        for row in &sent {
            let Some(text) = field.text(row) else {
                continue;
            };
            // A SET's value names any of its labels, comma-separated (none: the empty text).
            let each: Vec<String> = if column.label_set {
                text.split(',')
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            } else {
                vec![text]
            };
            for text in each {
                if !sent_labels.contains(&text) {
                    sent_labels.push(text);
                }
            }
        }
        let list = labels
            .iter()
            .map(|l| format!("'{l}'"))
            .collect::<Vec<_>>()
            .join(", ");
        for label in sent_labels.iter().filter(|l| !labels.contains(l)) {
            error(
                &mut out,
                format!(
                    "the factory sends '{label}', which is not a label of {} ({list})",
                    column.declared
                ),
            );
        }
        // A random variant over a thousand draws has shown every variant it has.
        if fill == Fill::Random && !sent_labels.is_empty() && !column.label_set {
            for label in labels.iter().filter(|l| !sent_labels.contains(l)) {
                error(
                    &mut out,
                    format!(
                        "label '{label}' has no variant in `{}`: reading such a row fails",
                        field.rust_type
                    ),
                );
            }
        }
    }

    // 6. Foreign keys.
    if let Some(parent) = field.db.parent_table
        && !column.references.iter().any(|r| same_table(r, parent))
    {
        warning(
            &mut out,
            format!(
                "`association` to table `{parent}`, but the column declares no FOREIGN KEY to it"
            ),
        );
    }
    if fill.random()
        && let Some(parent) = column.references.first()
    {
        warning(
            &mut out,
            format!(
                "FOREIGN KEY to `{parent}`, but the factory fills it with random values: add `association`"
            ),
        );
    }
    out
}

/// Whether two table names are the same table, ignoring schema and quoting.
fn same_table(a: &str, b: &str) -> bool {
    let last = |s: &str| {
        s.rsplit('.')
            .next()
            .unwrap_or(s)
            .trim_matches(|c| c == '"' || c == '`')
            .to_ascii_lowercase()
    };
    last(a) == last(b)
}

/// Checks that factories match the live tables they write to, without inserting anything:
/// `check!(&mut tx, User, Post, Comment).await` returns a [`CheckReport`]. It reads each
/// table's catalogue (one query, and one prepared but never run `SELECT` for sqlx's column
/// types) and draws 1 000 objects from each factory with the run's seed, then reports:
///
/// - a column the model names that the table lacks, a `NOT NULL` column without default that no
///   field fills, a `primary_key`/`generated` field the database does not fill (errors);
/// - a column the database fills (default, identity, trigger) that the factory fills with random
///   values (warning);
/// - a field type sqlx cannot decode from the column's type (error), a non-`Option` field on a
///   nullable column (warning), sampled `NULL`s for a `NOT NULL` column (error);
/// - sampled text longer than a `VARCHAR(n)`/`CHAR(n)`, sampled integers outside the column's
///   range, and `CHECK` constraints on columns filled with unconstrained random values (errors);
/// - enum values that are not labels of the column's enum, and labels with no variant (errors);
/// - an `association` whose column has no `FOREIGN KEY` to the parent's table, and a foreign-key
///   column filled with random values (warnings).
///
/// In a test: `check!(&mut tx, User, Post).await.into_result().unwrap()` fails on errors and
/// prints the report; `.deny_warnings()` first fails on warnings too. Models are listed, as
/// for [`lint!`](crate::lint!), so a model its backend cannot store is a compile error here.
#[macro_export]
macro_rules! check {
    ($conn:expr, $($model:ty),+ $(,)?) => {
        async {
            let conn = $conn;
            let mut report = $crate::CheckReport::default();
            $(
                $crate::__private::check_model::<_, $model>(
                    &mut *conn,
                    ::core::stringify!($model),
                    &mut report,
                )
                .await;
            )+
            report
        }
    };
}

/// Fills in the columns each `CHECK` names, once every column's name is known: those whose
/// name `names(expr, name)` finds in its expression.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
fn name_check_columns(columns: &mut [ColumnFacts], names: fn(&str, &str) -> bool) {
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
fn assigns_new(body: &str, column: &str, quote: char) -> bool {
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

/// Runs one catalogue statement of the check. Inside the caller's transaction it runs under a
/// savepoint of its own, rolled back to when it fails: on PostgreSQL a failed statement would
/// otherwise abort the caller's transaction. Cancelled midway, the savepoint stays open until
/// the caller's transaction ends; it wrote nothing.
async fn guarded<DB, T>(
    conn: &mut DB::Connection,
    run: impl for<'c> FnOnce(&'c mut DB::Connection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error>
where
    DB: CheckBackend,
{
    if !crate::scope::in_transaction::<DB>(conn) {
        return run(conn).await;
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let name = format!(
        "sqlx_factory_check_{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    DB::execute_raw(conn, format!("SAVEPOINT {name}")).await?;
    match run(conn).await {
        Ok(value) => {
            DB::execute_raw(conn, format!("RELEASE SAVEPOINT {name}")).await?;
            Ok(value)
        }
        Err(e) => {
            // The statement's own error is the one to report.
            let _ = DB::execute_raw(
                conn,
                format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
            )
            .await;
            Err(e)
        }
    }
}

/// Whether a `DEFAULT ..` text is a NULL default: `DEFAULT NULL`, `DEFAULT (NULL)`,
/// `DEFAULT NULL::text`.
fn is_null_default(filled_by: &str) -> bool {
    let Some(expr) = filled_by.strip_prefix("DEFAULT ") else {
        return false;
    };
    let expr = expr
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let expr = expr.split("::").next().unwrap_or_default().trim();
    expr.eq_ignore_ascii_case("null")
}

/// One `CHECK` judged by the sampled values: the database evaluates the constraint's own
/// expression over them in a `SELECT` from a `VALUES` list (nothing is inserted), so every form
/// it can take, multi-column ones included, is judged as an INSERT would judge it. An error
/// with the first sampled row that fails it; a warning where it cannot be evaluated; nothing
/// when it names no column the factory makes values for.
async fn judge_check<DB: CheckBackend, M: CheckModel<DB>>(
    conn: &mut DB::Connection,
    constraint: &Constraint,
    columns: &[ColumnFacts],
    fields: &[FieldInfo<DB, M>],
    matched: &[Option<usize>],
    samples: &[M],
) -> Option<(Severity, String)> {
    let shown = &constraint.shown;
    let cannot = |reason: String| {
        Some((
            Severity::Warning,
            format!("{shown} cannot be judged by the sampled values: {reason}"),
        ))
    };
    // Each named column: a field's sampled values, or NULL (no field, nothing fills it).
    let mut sampled: Vec<(&ColumnFacts, &FieldInfo<DB, M>)> = Vec::new();
    let mut nulls: Vec<&ColumnFacts> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for name in &constraint.columns {
        let Some(position) = columns.iter().position(|c| &c.name == name) else {
            continue;
        };
        let column = &columns[position];
        match matched.iter().position(|m| *m == Some(position)) {
            None if column.filled_by.is_none() => nulls.push(column),
            None => unknown.push(format!("the database fills `{name}`")),
            Some(i) => {
                let field = &fields[i];
                match field.fill {
                    Fill::PrimaryKey | Fill::Generated => {
                        unknown.push(format!("the database fills `{name}`"));
                    }
                    Fill::Association => {
                        unknown.push(format!("`{name}` comes from the parent row"));
                    }
                    Fill::Required => unknown.push(format!("the test sets `{name}`")),
                    _ => sampled.push((column, field)),
                }
            }
        }
    }
    // Nothing the factory makes up: its values are the database's, the parent's or the test's.
    if sampled.is_empty() {
        return None;
    }
    if samples.is_empty() {
        return cannot("the model has `required` fields, so no objects are drawn".to_owned());
    }
    if !unknown.is_empty() {
        return cannot(unknown.join(", "));
    }

    let names: Vec<&str> = sampled
        .iter()
        .map(|(c, _)| c.name.as_str())
        .chain(nulls.iter().map(|c| c.name.as_str()))
        .collect();
    let cast = |sql: &mut String, value: &dyn Fn(&mut String), column: &ColumnFacts| {
        match &column.cast_type {
            Some(ty) => {
                sql.push_str("CAST(");
                value(sql);
                sql.push_str(" AS ");
                sql.push_str(ty);
                sql.push(')');
            }
            None => value(sql),
        }
        if let Some(collation) = &column.collation {
            sql.push_str(" COLLATE ");
            sql.push_str(collation);
        }
    };
    let per_statement = (DB::MAX_BIND_PARAMS / sampled.len()).clamp(1, samples.len());
    let mut select = String::from("SELECT ");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            select.push_str(", ");
        }
        select.push_str("CAST(");
        DB::push_ident(&mut select, name);
        select.push_str(" AS ");
        select.push_str(DB::TEXT_TYPE);
        select.push(')');
    }
    for chunk in samples.chunks(per_statement) {
        // The rows: `(..), (..)` for a `VALUES` list, or `SELECT .. AS a UNION ALL SELECT ..`
        // on MariaDB, whose `VALUES` reads bound parameters as NULL in a derived table.
        let mut rows = String::new();
        let mut args = <DB as Database>::Arguments::default();
        let mut index = 0;
        for (r, row) in chunk.iter().enumerate() {
            rows.push_str(match (DB::VALUES_WITH_PARAMETERS, r) {
                (true, 0) => "(",
                (true, _) => ", (",
                (false, 0) => "SELECT ",
                (false, _) => " UNION ALL SELECT ",
            });
            let name_it = |sql: &mut String, i: usize| {
                if !DB::VALUES_WITH_PARAMETERS && r == 0 {
                    sql.push_str(" AS ");
                    DB::push_ident(sql, names[i]);
                }
            };
            for (i, (column, field)) in sampled.iter().enumerate() {
                if i > 0 {
                    rows.push_str(", ");
                }
                if !(field.db.bind)(row.field(field.index).1, &mut args) {
                    // MariaDB's own `json_valid` on a JSON column: sqlx sends valid JSON.
                    if constraint
                        .expr
                        .to_ascii_lowercase()
                        .starts_with("json_valid(")
                    {
                        return None;
                    }
                    return cannot(format!(
                        "`{}` is bound through a conversion (`json`, `into` or `try_from`)",
                        field.field
                    ));
                }
                index += 1;
                cast(&mut rows, &|sql| DB::push_placeholder(sql, index), column);
                name_it(&mut rows, i);
            }
            for (i, column) in nulls.iter().enumerate() {
                rows.push_str(", ");
                cast(&mut rows, &|sql| sql.push_str("NULL"), column);
                name_it(&mut rows, sampled.len() + i);
            }
            if DB::VALUES_WITH_PARAMETERS {
                rows.push(')');
            }
        }
        let mut sql = String::new();
        if DB::VALUES_WITH_PARAMETERS {
            sql.push_str("WITH sqlx_factory_sample (");
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                DB::push_ident(&mut sql, name);
            }
            sql.push_str(") AS (VALUES ");
            sql.push_str(&rows);
            sql.push_str(") ");
            sql.push_str(&select);
            sql.push_str(" FROM sqlx_factory_sample");
        } else {
            sql.push_str(&select);
            sql.push_str(" FROM (");
            sql.push_str(&rows);
            sql.push_str(") AS sqlx_factory_sample");
        }
        sql.push_str(" WHERE NOT (");
        sql.push_str(&constraint.expr);
        sql.push_str(") LIMIT 1");
        let sql: std::sync::Arc<str> = sql.into();
        let rows = match guarded::<DB, _>(conn, |c| DB::fetch_all(c, sql, args)).await {
            Ok(rows) => rows,
            // A data exception (SQLSTATE class 22: a division by zero, a value out of range)
            // or a domain's CHECK refusing the cast (23514: an enclosing domain's own) comes
            // from the values, cast as a create casts them: the INSERT of such a value meets it
            // as well.
            Err(e)
                if e.as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|code| code.starts_with("22") || code == "23514") =>
            {
                return Some((
                    Severity::Error,
                    format!(
                        "evaluating {shown} over sampled values fails ({e}): creates with such values fail"
                    ),
                ));
            }
            Err(e) => {
                return cannot(format!(
                    "the database could not evaluate it over them ({e})"
                ));
            }
        };
        if let Some(row) = rows.first() {
            let values = names
                .iter()
                .zip(DB::texts(row))
                .map(|(name, value)| format!("{name} = {}", value.as_deref().unwrap_or("NULL")))
                .collect::<Vec<_>>()
                .join(", ");
            return Some((
                Severity::Error,
                format!(
                    "sampled values fail {shown} (first: {values}): give the field `fake = ..` or `default = ..` that meets the constraint"
                ),
            ));
        }
    }
    None
}

/// Precision and scale from the catalogue, when both are there and in range.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn numeric(precision: Option<i64>, scale: Option<i64>) -> Option<(u32, u32)> {
    Some((u32::try_from(precision?).ok()?, u32::try_from(scale?).ok()?))
}

/// A [`Measure::Moment`] as `YYYY-MM-DD hh:mm:ss.ffffff`.
fn moment(digits: i128) -> String {
    let part = |from: u32, width: u32| (digits / 10i128.pow(from)) % 10i128.pow(width);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        part(16, 4),
        part(14, 2),
        part(12, 2),
        part(10, 2),
        part(8, 2),
        part(6, 2),
        part(0, 6)
    )
}

/// Whether a MariaDB character set stores `c` (`latin1` is Windows-1252 there).
fn charset_holds(charset: &str, c: char) -> bool {
    const CP1252: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";
    match charset {
        "ascii" => c.is_ascii(),
        "latin1" => {
            u32::from(c) <= 0x7f || (0xa0..=0xff).contains(&u32::from(c)) || CP1252.contains(c)
        }
        "utf8mb3" | "utf8" => u32::from(c) <= 0xffff,
        _ => true,
    }
}
