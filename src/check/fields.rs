//! The model's side of the schema check: what the derive says of each field
//! ([`FieldInfo`]), and the values drawn from the factory measured against the column.

use std::any::Any;

use sqlx::{Database, Encode, Type, TypeInfo};

use crate::db::{Bound, CheckBackend, Measure};
use crate::model::Model;
use crate::probe::Probe;

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
    pub(crate) fn sent(self) -> bool {
        !matches!(self, Fill::PrimaryKey | Fill::Generated)
    }

    /// Values the factory makes up rather than values someone chose.
    pub(crate) fn random(self) -> bool {
        matches!(self, Fill::Random | Fill::Fake | Fill::Sequence)
    }

    pub(crate) fn name(self) -> &'static str {
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

/// The [`ColumnFns`] of a field bound as `T` and read as `R`: `#[factory(into = T)]` without
/// `#[sqlx(try_from)]`, whose row `FromRow` decodes as the field's own type `R`. Whether the
/// column reads back is `R`'s to say; what is sent is `T`.
pub fn column_read_as<DB: CheckBackend, T: CheckColumn<DB> + 'static, R: Type<DB>>(
    parent_table: Option<&'static str>,
) -> ColumnFns<DB> {
    ColumnFns {
        type_name: || R::type_info().name().to_owned(),
        compatible: R::compatible,
        ..column::<DB, T>(parent_table)
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
    pub(crate) facts: &'static FieldFacts,
    /// Its position in [`CheckFields::FIELDS`].
    pub(crate) index: usize,
    pub(crate) model: std::marker::PhantomData<fn(&M)>,
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
    pub(crate) fn text(&self, row: &M) -> Option<String> {
        (self.db.text)(row.field(self.index).1)
    }

    /// The length or integer value of this field of `row`: what the probe measures on the
    /// field's own type, else the value as it is bound.
    pub(crate) fn measure(&self, row: &M) -> Measure {
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

pub(crate) fn fields<DB: CheckBackend, M: CheckModel<DB>>() -> Vec<FieldInfo<DB, M>> {
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
