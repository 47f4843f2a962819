//! `#[sqlx(flatten)]` fields: a struct of columns (`#[factory(flatten)]`, a "group") whose
//! columns are those of every model that includes it. The group's derive implements the traits
//! here; a model's derive splices the group's lists into its own (`COLUMNS`, the schema check's
//! `FIELDS`) in `const`s, and hands the group's value to it to draw, bind and measure. Nothing
//! else at run time knows about groups: a model's columns are one flat list, as before.

use std::any::Any;
use std::sync::Arc;

use sqlx::error::BoxDynError;

use crate::check::{ColumnFns, FieldFacts, Fill};
use crate::column::{Column, ColumnSet};
use crate::db::{ArgSink, Backend, CheckBackend, Measure};
use crate::seed::Draw;
use crate::session::{Bound, NoSession};

/// A struct with `#[derive(Factory)]` and `#[factory(flatten)]`: columns other models include.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be flattened into a factory model",
    label = "`#[sqlx(flatten)]` makes the columns of `{Self}` columns of this model",
    note = "derive `Factory` on `{Self}` with `#[factory(flatten)]` in place of a table: `#[derive(sqlx::FromRow, Factory)]` and `#[factory(flatten)]` on the struct"
)]
pub trait Flatten: Sized {
    /// Its columns, in field order (a group it includes spliced in).
    const COLUMNS: &'static [Column];
    /// How many of [`Self::COLUMNS`] are database-filled: the bits of a [`ColumnSet`] it takes.
    const DB_FILLED: usize;
    /// The schema check's facts of its columns, in the order of [`Self::COLUMNS`].
    const FIELDS: &'static [FieldFacts];

    /// Its unbound factory (`Group::factory()`), which a model's `<field>_with` customises.
    type Factory: Default + Clone + Send + Sync + 'static;

    /// One value from `factory`, in the stream of the row that includes it: `stub` is that
    /// row's stub number, for its database-filled columns in build mode.
    fn draw(factory: &Self::Factory, draw: &mut Draw, stub: u64) -> Self;

    /// Which of its database-filled columns `factory` gives a value (bits from 0).
    fn column_set(factory: &Self::Factory) -> ColumnSet;

    /// About how many bytes its values take in a statement ([`Model::byte_size`](crate::model::Model::byte_size)).
    fn byte_size(&self) -> usize;

    /// The value of its column at `field` in [`Self::FIELDS`], for the schema check.
    fn field(&self, field: usize) -> (Measure, &dyn Any);

    /// [`Self::draw`] from the factory in a model's `slot`, or a default one.
    fn draw_from(slot: &GroupSlot, draw: &mut Draw, stub: u64) -> Self {
        match factory::<Self>(slot) {
            Some(factory) => Self::draw(factory, draw, stub),
            None => Self::draw(&Self::Factory::default(), draw, stub),
        }
    }

    /// [`Self::column_set`] of the factory in a model's `slot`, or of a default one.
    fn set_from(slot: &GroupSlot) -> ColumnSet {
        match factory::<Self>(slot) {
            Some(factory) => Self::column_set(factory),
            None => Self::column_set(&Self::Factory::default()),
        }
    }

    /// Puts `customize` of the factory in `slot` (a default one at first) into `slot`.
    fn customize(slot: &mut GroupSlot, customize: impl FnOnce(Self::Factory) -> Self::Factory) {
        let factory = factory::<Self>(slot).cloned().unwrap_or_default();
        *slot = Some(Arc::new(customize(factory)));
    }
}

/// The bound of a model's `<field>_with`: `G` is the group's factory. Generic in `G`, so that
/// a type that is no group is an error only where `_with` is called (a bound on `Flatten`
/// itself would be checked at the derive too).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be flattened into a factory model",
    label = "`#[sqlx(flatten)]` makes the columns of `{Self}` columns of this model",
    note = "derive `Factory` on `{Self}` with `#[factory(flatten)]` in place of a table: `#[derive(sqlx::FromRow, Factory)]` and `#[factory(flatten)]` on the struct"
)]
pub trait GroupFactory<G> {
    /// [`Flatten::customize`].
    fn customize(slot: &mut GroupSlot, customize: impl FnOnce(G) -> G);
}

#[diagnostic::do_not_recommend]
impl<T: Flatten> GroupFactory<T::Factory> for T {
    fn customize(slot: &mut GroupSlot, customize: impl FnOnce(T::Factory) -> T::Factory) {
        <T as Flatten>::customize(slot, customize);
    }
}

/// A model's override slot for a group-drawn field: the group's factory once `<field>_with`
/// customised it. Type-erased so that the model's factory names nothing of the group: a type
/// that is no group is then one error (`Flatten`), where the group is drawn, not one per use
/// of the factory.
pub type GroupSlot = Option<Arc<dyn Any + Send + Sync>>;

fn factory<T: Flatten>(slot: &GroupSlot) -> Option<&T::Factory> {
    slot.as_deref()
        .and_then(|factory| factory.downcast_ref::<T::Factory>())
}

/// A group whose every column `DB` stores and decodes: the derive's impl carries the
/// per-column bounds, as [`Insert`](crate::model::Insert) does for a model. (No `Flatten` supertrait:
/// a model's bound on it would then be a second error where the type is no group.)
pub trait FlattenInsert<DB: Backend> {
    /// Binds its values for the columns `set` sends, its database-filled ones from bit
    /// `offset` (where the including model's count of them stands).
    fn bind<A: ArgSink<DB>>(
        self,
        set: ColumnSet,
        offset: usize,
        args: &mut A,
    ) -> Result<(), BoxDynError>;

    /// About how many bytes its values take in a statement on `DB`.
    fn wire_size(&self) -> usize;
}

/// What the schema check asks sqlx about the group's column types on `DB` (no supertrait,
/// as [`FlattenInsert`]).
pub trait FlattenCheck<DB: CheckBackend> {
    /// One per column, in the order of [`Flatten::COLUMNS`].
    fn columns() -> Vec<ColumnFns<DB>>;
}

/// [`StoresField`](crate::__private::StoresField) for a `#[sqlx(flatten)]` field: every column
/// of the group can be stored through the session state `Self`.
#[diagnostic::on_unimplemented(
    message = "the columns of the flattened field `{F}` (`{T}`) cannot all be stored through `{Self}`",
    label = "a field of `{T}` has no sqlx `Encode`, `Decode` and `Type` for this backend",
    note = "`build()` works on any model; to create it here, change that field's type in `{T}` to one this backend stores, or create it on another backend"
)]
pub trait StoresFlatten<T, F> {}

#[diagnostic::do_not_recommend]
impl<'c, DB: Backend, T: FlattenInsert<DB>, F> StoresFlatten<T, F> for Bound<'c, DB> {}

#[diagnostic::do_not_recommend]
impl<T, F> StoresFlatten<T, F> for NoSession {}

/// `set` with a group's bits from `offset`: those `group` has, or all `count` of them when
/// the group's value is given whole (`all`).
pub fn group_set(
    mut set: ColumnSet,
    offset: usize,
    count: usize,
    group: ColumnSet,
    all: bool,
) -> ColumnSet {
    for bit in 0..count {
        set = set.with(offset + bit, all || group.contains(bit));
    }
    set
}

/// The lists `parts` one after the other: a model's columns with its groups' spliced in.
/// `N` is their total length (a mismatch fails the `const` that calls it).
pub const fn splice_columns<const N: usize>(parts: &[&[Column]]) -> [Column; N] {
    let mut out = [Column {
        name: "",
        from_row_name: "",
        db_filled: false,
    }; N];
    let (mut at, mut part) = (0, 0);
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            out[at] = parts[part][i];
            at += 1;
            i += 1;
        }
        part += 1;
    }
    assert!(at == N, "sqlx-factory bug: spliced columns miscounted");
    out
}

/// [`splice_columns`] for the schema check's [`FieldFacts`].
pub const fn splice_facts<const N: usize>(parts: &[&[FieldFacts]]) -> [FieldFacts; N] {
    let mut out = [const {
        FieldFacts {
            field: "",
            column: "",
            rust_type: "",
            option: false,
            fill: Fill::Random,
        }
    }; N];
    let (mut at, mut part) = (0, 0);
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            let facts = &parts[part][i];
            out[at] = FieldFacts {
                field: facts.field,
                column: facts.column,
                rust_type: facts.rust_type,
                option: facts.option,
                fill: facts.fill,
            };
            at += 1;
            i += 1;
        }
        part += 1;
    }
    assert!(at == N, "sqlx-factory bug: spliced fields miscounted");
    out
}
