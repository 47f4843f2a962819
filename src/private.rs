//! Everything the generated code names, and nothing a user should: not part of the API.

pub use ::core;
// The prelude names generated code uses most, one segment deep: paths are most of the tokens
// a derive emits, and every token is parsed, resolved and hashed on each rebuild.
pub use ::core::clone::Clone;
pub use ::core::default::Default;
pub use ::core::marker::PhantomData;
pub use ::core::option::Option::{self, None, Some};
pub use ::core::result::Result::{self, Ok};
pub use ::fake;
pub use ::sqlx;
pub use ::std::boxed::Box;
pub use ::std::sync::Arc;
pub use ::std::vec::Vec;

pub use crate::check::{
    CheckColumn, CheckFields, CheckModel, Checkable, ColumnFns, FieldFacts, Fill, MeasureKnown,
    MeasureOther, ParentTable, check_model, column, column_read_as, json_column, sample_seed,
};
pub use crate::column::{Column, ColumnSet};
pub use crate::cycle::{CycleSearch, Link, Reach, cycle_error, reach};
pub use crate::dates::DateValue;
pub use crate::db::{ArgSink, Args, Backend, ColumnOf, bind_column, bound};
pub use crate::db::{CheckBackend, Measure};
pub use crate::error::{Error, Operation};
pub use crate::flatten::{
    Flatten, FlattenCheck, FlattenInsert, GroupFactory, GroupSlot, StoresFlatten, group_set,
    splice_columns, splice_facts,
};
pub use crate::future::BoxFuture;
pub use crate::insert::{Back, BackKey, BackSet, Deferred, DeferredFn, deferred_fn};
pub use crate::insert::{InsertParent, ParentKey, keyed_insert};
pub use crate::insert_many::InsertMany;
pub use crate::lint::lint;
pub use crate::model::{
    Association, ChunkSource, Insert, KeyedInsert, Model, OneAssociationTo, ParentValues,
    RowSource, Rows, SameValuesOf, SeedParent, Source, column_of,
};
pub use crate::pending::{
    Creatable, Create, CreateBatch, DefaultRows, GetOrCreate, GetOrCreateBatch, State,
};
pub use crate::probe::{
    ByLength, BySize, DebugKey, EncodedOn, LengthOn, NonNullKey, NullableKey, OpaqueKey, Probe,
};
pub use crate::reference::reference_hash;
pub use crate::seed::{Draw, child_seed, draw, next_sequence, next_stub};
pub use crate::state::Pending;
pub use ::std::string::String;

/// A `get_or_create` key's columns and values as one text: `a = 1, b = "x"`.
pub fn key_text(parts: &[(&str, String)]) -> String {
    let parts: Vec<String> = parts
        .iter()
        .map(|(column, value)| format!("{column} = {value}"))
        .collect();
    parts.join(", ")
}
pub use crate::db::sql::SqlCache;
pub use crate::session::{
    BindSession, Bound, Cloneable, IntoSession, NoSession, Session, SessionArg, Unbound,
};
pub use crate::state::{AfterBuild, AfterCreate, FactoryState};
pub use crate::values::{DecimalValue, Integer, JsonDocument, elements, integer_within, optional};

use fake::{Dummy, Faker};
use sqlx::error::BoxDynError;

use crate::create::{Hook, Related};

/// What an `after_create` hook returns: any error converts with `?`.
pub type HookResult = Result<(), BoxDynError>;

/// The session state `Self` can store the field `F` of type `T`: checked per field where
/// `create()` is called, so that a type the bound backend lacks is one error naming the field
/// (the `State` bound behind it fails on the same sqlx traits, and rustc drops that error as
/// implied by this one). Unbound factories store anything: there the missing session is the
/// error.
#[diagnostic::on_unimplemented(
    message = "the field `{F}` of type `{T}` cannot be stored in a column through `{Self}`",
    label = "`{F}` has no sqlx `Encode`, `Decode` and `Type` for this backend",
    note = "`build()` works on any model; to create it here, change the type of `{F}` to one this backend stores (a `Vec<T>` array exists only on PostgreSQL), or create it on another backend"
)]
pub trait StoresField<T, F> {}

#[diagnostic::do_not_recommend]
impl<'c, DB, T, F> StoresField<T, F> for Bound<'c, DB>
where
    DB: Backend,
    T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
{
}

#[diagnostic::do_not_recommend]
impl<T, F> StoresField<T, F> for NoSession {}

/// [`StoresField`] for a field of an unsigned integer type bound as itself: the backends
/// without it (SQLite's `u64`, PostgreSQL's every unsigned type) store it through a signed
/// type, and the message says how.
#[diagnostic::on_unimplemented(
    message = "the field `{F}` of type `{T}` cannot be stored in a column through `{Self}`: this backend has no unsigned `{T}`",
    label = "`{F}` has no sqlx `Encode`, `Decode` and `Type` for this backend",
    note = "bind it as a signed type: `#[sqlx(try_from = \"i64\")]` on `{F}` (sqlx reads it as `i64`, the factory binds it as `i64`), or `#[factory(into = i64)]` if the row is read some other way; the values drawn for `{F}` then fit `i64`",
    note = "`build()` works on any model; or create it on a backend with unsigned columns (MariaDB)"
)]
pub trait StoresUnsigned<T, F> {}

#[diagnostic::do_not_recommend]
impl<S: StoresField<T, F>, T, F> StoresUnsigned<T, F> for S {}

/// The session state `Self` can read a row RETURNING gives back into `M`: `M` implements
/// `sqlx::FromRow` for the bound backend's rows. Checked at `create()` after the per-field
/// checks and before `State`, so a model without `#[derive(sqlx::FromRow)]` is one error that
/// says so (the `State` error behind it fails on the same predicate and is dropped).
#[diagnostic::on_unimplemented(
    message = "`{M}` does not implement `sqlx::FromRow`, so the rows a create inserts cannot be read back",
    label = "`{M}` rows are returned by `INSERT .. RETURNING` and decoded with `sqlx::FromRow`",
    note = "derive it on the model: `#[derive(sqlx::FromRow, Factory)]` (or implement `sqlx::FromRow` for this backend's row type)"
)]
pub trait ReadsRow<M> {}

#[diagnostic::do_not_recommend]
impl<'c, DB, M> ReadsRow<M> for Bound<'c, DB>
where
    DB: Backend,
    M: for<'r> sqlx::FromRow<'r, <DB as sqlx::Database>::Row>,
{
}

#[diagnostic::do_not_recommend]
impl<M> ReadsRow<M> for NoSession {}

/// A field type with a fake value, for fields with no value attribute.
#[diagnostic::on_unimplemented(
    message = "the field type `{Self}` has no fake value",
    label = "this field has no `#[factory]` attribute that gives it a value",
    note = "give the field a value: `#[factory(default = ..)]`, `#[factory(fake = ..)]` or `#[factory(sequence = |n| ..)]`, or implement `fake::Dummy<fake::Faker>` for `{Self}`",
    // Two `fake`s in one build give rustc's long "multiple different versions" listing; this
    // note names the cause, since rustc cannot be stopped from printing the rest.
    note = "if `{Self}` already derives `fake::Dummy`, your `fake` is another major version than sqlx-factory's `fake` 5, whose `Dummy` is a different trait: depend on `fake = {{ version = \"5\", features = [\"derive\"] }}` (`cargo tree -i fake` lists the versions)"
)]
pub trait FakeValue: Sized {
    fn fake_value<R: fake::RngExt + ?Sized>(rng: &mut R) -> Self;
}

// Reported as `FakeValue` (our message), not as the `Dummy` bound behind it.
#[diagnostic::do_not_recommend]
impl<T: Dummy<Faker>> FakeValue for T {
    fn fake_value<R: fake::RngExt + ?Sized>(rng: &mut R) -> Self {
        T::dummy_with_rng(&Faker, rng)
    }
}

/// A foreign key's type with a fake value: what `build()` stores in an `association` field,
/// since it makes no parent row in memory. Its own message, because the field does have an
/// attribute, and a value attribute beside `association` is refused: the fix is on the type.
#[diagnostic::on_unimplemented(
    message = "the foreign key type `{Self}` has no fake value, which `build()` needs",
    label = "`build()` creates no parent, so it fills this key with a value of its own",
    note = "derive `fake::Dummy` on `{Self}` (`#[derive(fake::Dummy)]`), or implement `fake::Dummy<fake::Faker>` for it; `create()` never stores this value: it stores the key of the parent it creates, or the key given to the setter",
    note = "if `{Self}` already derives `fake::Dummy`, your `fake` is another major version than sqlx-factory's `fake` 5, whose `Dummy` is a different trait: depend on `fake = {{ version = \"5\", features = [\"derive\"] }}` (`cargo tree -i fake` lists the versions)"
)]
pub trait FakeKey: Sized {
    fn fake_key<R: fake::RngExt + ?Sized>(rng: &mut R) -> Self;
}

// Reported as `FakeKey` (our message), not as the `Dummy` bound behind it.
#[diagnostic::do_not_recommend]
impl<T: Dummy<Faker>> FakeKey for T {
    fn fake_key<R: fake::RngExt + ?Sized>(rng: &mut R) -> Self {
        T::dummy_with_rng(&Faker, rng)
    }
}

/// A database-filled field's value in build mode, from the row's stub number (`next_stub`):
/// what no database gives, so a reader tells a built row from a stored one. The derive uses it
/// for the types below (and `Option` of them), named as such; others get a fake value.
pub trait Stub {
    fn stub(n: u64) -> Self;
}

macro_rules! stub_integers {
    ($($t:ty),*) => {$(
        impl Stub for $t {
            fn stub(n: u64) -> Self {
                // Past the type's range (an `i16` key after 32 767 rows), count again from 1001.
                let span = (<$t>::MAX as u64).min(u64::MAX) - 1000;
                ((n - 1001) % span + 1001) as $t
            }
        }
    )*};
}
stub_integers!(i16, i32, i64, u16, u32, u64);

impl Stub for String {
    fn stub(n: u64) -> Self {
        format!("built-{n}")
    }
}

impl<T: Stub> Stub for Option<T> {
    fn stub(n: u64) -> Self {
        Some(T::stub(n))
    }
}

/// The value a `lazy` field holds until its closure runs.
#[diagnostic::on_unimplemented(
    message = "a `lazy` field needs a type with `Default`, and `{Self}` has none",
    label = "this field's value is computed last, from the others",
    note = "use `default = ..` with a fixed value instead, or implement `Default` for `{Self}`"
)]
pub trait LazyPlaceholder {
    fn placeholder() -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Default> LazyPlaceholder for T {
    fn placeholder() -> Self {
        T::default()
    }
}

/// Adds `value` to a factory's `Debug` output if it was set.
pub fn debug_set<T>(debug: &mut core::fmt::DebugStruct<'_, '_>, name: &str, value: &Option<T>)
where
    for<'a> &'a T: core::fmt::Debug,
{
    if let Some(value) = value {
        debug.field(name, &value);
    }
}

/// Draws one object of `M`: what the derive implements for a model's struct of overrides.
pub trait DrawObject<M> {
    /// One object, values drawn from `draw`, lazy fields computed, `hooks` run.
    fn object(&self, draw: &mut Draw, hooks: &AfterBuild) -> M;
}

/// `n` objects: one loop here rather than a closure in every model's code.
#[inline]
pub fn objects<M, O: DrawObject<M>>(
    overrides: &O,
    n: usize,
    draw: &mut Draw,
    hooks: &AfterBuild,
) -> Vec<M> {
    let mut objects = Vec::with_capacity(n);
    for _ in 0..n {
        objects.push(overrides.object(draw, hooks));
    }
    objects
}

/// Runs the after-build hooks on a freshly drawn object.
#[inline]
pub fn after_build<M: 'static>(hooks: &AfterBuild, object: &mut M) {
    if !hooks.is_empty() {
        hooks.run(object);
    }
}

/// Calls a `lazy` closure on the object whose other fields are final.
pub fn lazy<M, T, F: FnOnce(&M) -> T>(f: F, object: &M) -> T {
    f(object)
}

/// Calls a `sequence` closure, so that `|n| ..` infers `n: u64` and its result type is checked.
pub fn sequence<T, F: FnOnce(u64) -> T>(f: F, n: u64) -> T {
    f(n)
}

/// Draws a value of `T` from a `fake` expression.
pub fn fake<T, F, R>(faker: &F, rng: &mut R) -> T
where
    T: Dummy<F>,
    R: fake::RngExt + ?Sized,
{
    T::dummy_with_rng(faker, rng)
}

/// A required field's type parameter before its setter ran.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unset;

/// A required field's type parameter once its setter ran.
#[derive(Debug, Clone, Copy, Default)]
pub struct Set;

/// Holds for [`Set`]: `build` and `create` require it of every required field's parameter.
#[diagnostic::on_unimplemented(
    message = "the required field `{F}` is not set",
    label = "`{F}` has no value yet",
    note = "set it before building or creating: `.{F}(..)`"
)]
pub trait IsSet<F> {}

#[diagnostic::do_not_recommend]
impl<F> IsSet<F> for Set {}

/// The parent factory an association uses when none was customised.
pub fn default_parent<P>() -> Source<P>
where
    P: Association,
    P::Factory: RowSource<P>,
{
    Source::default_rows(default_rows::<P>)
}

/// `n` rows from `P`'s default factory, into `out` (an `Option<Rows<P>>`): [`default_parent`]'s
/// source.
fn default_rows<P>(n: usize, inherited: Option<u64>, out: &mut dyn std::any::Any)
where
    P: Association,
    P::Factory: RowSource<P>,
{
    if let Some(out) = out.downcast_mut::<Option<Rows<P>>>() {
        *out = Some(P::Factory::default().rows(n, inherited));
    }
}

/// A foreign-key field of type `Self` (the field `F`) that stores a parent's key of type `K`:
/// `K` itself or `Option<K>`, nothing that merely converts (a `String` column must not store a
/// uuid's text because `Uuid: Into<String>`).
#[diagnostic::on_unimplemented(
    message = "the foreign key `{F}` has type `{Self}`, but the parent's key it stores has type `{K}`",
    label = "must be `{K}` or `Option<{K}>`",
    note = "declare `{F}` with the parent's key type, or point the association at the parent's field of this type with `references = <field>`"
)]
pub trait ForeignKey<K, F>: Sized {
    fn from_key(key: K) -> Self;
    /// The key this value holds (`None` for NULL).
    fn key_ref(&self) -> Option<&K>;
}

#[diagnostic::do_not_recommend]
impl<K, F> ForeignKey<K, F> for K {
    fn from_key(key: K) -> Self {
        key
    }
    fn key_ref(&self) -> Option<&K> {
        Some(self)
    }
}

#[diagnostic::do_not_recommend]
impl<K, F> ForeignKey<K, F> for Option<K> {
    fn from_key(key: K) -> Self {
        Some(key)
    }
    fn key_ref(&self) -> Option<&K> {
        self.as_ref()
    }
}

/// A field of type `Self` (the field `F`) bound as `T`: `#[factory(into = T)]` or
/// `#[sqlx(try_from = "T")]`, converted with `TryInto` (so `u64` binds as `i64`, and a newtype
/// with `impl From<Id> for String` as `String`); a failed conversion fails the bind.
#[diagnostic::on_unimplemented(
    message = "the field `{F}` is stored as `{T}`, but `{Self}` does not convert to `{T}`",
    label = "needs `TryInto<{T}>` (e.g. `impl From<{Self}> for {T}`)",
    note = "implement `From<{Self}> for {T}` (or `TryFrom`), or name the type to bind with `#[factory(into = ..)]`"
)]
pub trait BindAs<T, F> {
    fn bind_as(self) -> Result<T, BoxDynError>;
}

#[diagnostic::do_not_recommend]
impl<T, F, U> BindAs<T, F> for U
where
    U: TryInto<T>,
    U::Error: std::error::Error + Send + Sync + 'static,
{
    fn bind_as(self) -> Result<T, BoxDynError> {
        self.try_into().map_err(|e| Box::new(e) as BoxDynError)
    }
}

/// A model with a column field whose name hashes to `NAME` (FNV-1a), which an
/// association with `references = <field>` stores instead of the primary key.
#[diagnostic::on_unimplemented(
    message = "`references` names no column field of `{Self}`",
    label = "`{Self}` has no column field of this name",
    note = "name a field of `{Self}` that is a column (not `skip` or `transient`)"
)]
pub trait Reference<const NAME: u64> {
    /// The field's type.
    type Value;
    /// The field: read (and cloned) for `references`, written by a `back_reference` to point
    /// the parent created after a row back at it.
    // One method per impl, not a getter and a setter: the derive writes one impl per column
    // field of every model, and each body costs on every rebuild of the model crate.
    fn field(&mut self) -> &mut Self::Value;
}

pub fn hook<'c, DB, M, F>(hook: F) -> Box<dyn AfterCreate<Bound<'c, DB>>>
where
    DB: Backend,
    M: Model,
    F: for<'a> Fn(&'a M, &'a mut DB::Connection) -> BoxFuture<'a, HookResult>
        + Send
        + Sync
        + 'static,
{
    Box::new(Hook {
        hook,
        row: std::marker::PhantomData::<fn(&M)>,
    })
}

pub fn related<'c, DB, M, C, R, F>(
    per_row: usize,
    factory: F,
) -> Box<dyn AfterCreate<Bound<'c, DB>>>
where
    DB: Backend,
    M: Model,
    C: Insert<DB>,
    R: RowSource<C> + 'static,
    F: Fn(&M) -> R + Send + Sync + 'static,
{
    Box::new(Related {
        per_row,
        factory,
        child: std::marker::PhantomData,
    })
}

/// What a setter takes for a field of type `T`: anything `Into<T>`. Reported in our words, with
/// no list of every `From` impl of `T` in the dependency graph.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot be set on a field of type `{T}`",
    label = "expected a `{T}`",
    note = "pass a `{T}`, or a value with `Into<{T}>`"
)]
pub trait SetterValue<T> {
    fn into_value(self) -> T;
}

#[diagnostic::do_not_recommend]
impl<T, U: Into<T>> SetterValue<T> for U {
    fn into_value(self) -> T {
        self.into()
    }
}

/// What a setter of an `Option<N>` number field takes: `N` or `Option<N>`. Only two impls, so
/// a literal (`.age(5)`) is inferred as `N` instead of falling back to `i32`.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot be set on a field of type `Option<{N}>`",
    label = "expected a `{N}` or an `Option<{N}>`",
    note = "pass a `{N}`, `Some(..)` or `None`"
)]
pub trait OptionalNumber<N> {
    fn into_option(self) -> Option<N>;
}

#[diagnostic::do_not_recommend]
impl<N> OptionalNumber<N> for N {
    fn into_option(self) -> Option<N> {
        Some(self)
    }
}

#[diagnostic::do_not_recommend]
impl<N> OptionalNumber<N> for Option<N> {
    fn into_option(self) -> Option<N> {
        self
    }
}

/// The error of a key column that came back NULL into a field that cannot hold it.
pub fn null_key<R>(
    row: &R,
    index: usize,
    column: &'static str,
    field: &'static str,
) -> Result<(), sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
{
    use sqlx::ValueRef;
    if !row.try_get_raw(index)?.is_null() {
        return Ok(());
    }
    Err(sqlx::Error::ColumnDecode {
        index: format!("`{column}`"),
        source: format!(
            "the database returned NULL for the key `{field}`: it does not fill this column, so \
             give the field a value with `#[factory(default = ..)]` or \
             `#[factory(sequence = |n| ..)]` (or set it on every create)"
        )
        .into(),
    })
}
