//! What the derive implements for a model: its table and columns, how to bind a row, and how
//! to create the rows it refers to.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use sqlx::error::BoxDynError;
use sqlx::{Database, FromRow};

use crate::column::{Column, ColumnSet};
use crate::cycle::Link;
use crate::db::sql::SqlCache;
use crate::db::{ArgSink, Backend};
use crate::error::{Error, Kept, Operation};
use crate::future::BoxFuture;
use crate::seed::Draw;

/// A struct with `#[derive(Factory)]`: the facts about its table, the same on every backend.
pub trait Model: Sized + Send + Sync + Unpin + 'static {
    /// The generated factory's name, e.g. `"UserFactory"`, for error messages.
    const FACTORY: &'static str;
    /// The table rows go into.
    const TABLE: &'static str;
    /// Every column, in field order: what an INSERT may send and what RETURNING reads back.
    const COLUMNS: &'static [Column];
    /// The names of the column fields, which a child's `references = <field>` may name.
    const REFERABLE: &'static [&'static str] = &[];

    /// What the factory asks to be created before its rows: one slot per association,
    /// `None` where the foreign key was given (or is optional and not asked for).
    type Parents: Send;

    /// The values of `#[factory(transient)]` fields, which are not columns: taken out before
    /// the INSERT and put back into the row the database returns.
    type Transient: Send;

    /// The columns of `#[factory(get_or_create(..))]`: a create whose values match an existing
    /// row on them returns that row instead of failing. Empty for plain inserts.
    const GET_OR_CREATE: &'static [&'static str] = &[];

    /// A `get_or_create` column is the foreign key of an association: the parents are got or
    /// created before the lookup, which needs their real keys.
    const KEY_HAS_PARENT: bool = false;

    /// The model has a `back_reference` association, whose parents are created after its rows
    /// ([`Insert::after_insert`]): without one, the insert path compiles no call of that step.
    const BACK_REFERENCE: bool = false;

    /// The values of the `get_or_create` columns (`()` without them).
    type LookupKey: PartialEq + Clone + Send + Sync;

    /// This row's `get_or_create` values.
    fn lookup_key(&self) -> Self::LookupKey;

    /// Whether a `get_or_create` key has a NULL part: such a key never matches a row (NULL is
    /// not equal to NULL), so its row is inserted.
    // The defaults here and in `Insert` are what a model without the feature needs: the derive
    // leaves such items out, which keeps its output (and the compile time) small.
    fn lookup_key_has_null(key: &Self::LookupKey) -> bool {
        let _ = key;
        false
    }

    /// A `get_or_create` key as an error names it: `email = "a@b.c"`, each value by its
    /// `Debug` (by its type where it has none).
    fn key_text(key: &Self::LookupKey) -> String {
        let _ = key;
        String::new()
    }

    /// About how many bytes this row's values take in a statement, to keep a multi-row INSERT
    /// under the server's packet limit.
    fn byte_size(&self) -> usize;

    /// This model's INSERT texts.
    fn sql_cache() -> &'static SqlCache;

    /// Whether `parents` asks for any parent row.
    fn needs_parents(parents: &Self::Parents) -> bool {
        let _ = parents;
        false
    }

    /// The associations `parents` asks a parent row for, a bit per slot (the first 64).
    fn parent_slots(parents: &Self::Parents) -> u64 {
        let _ = parents;
        0
    }

    /// The first association `parents` asks a parent row for: its field and its parent's
    /// type, as an error names them.
    fn parent_asked(parents: &Self::Parents) -> Option<(&'static str, &'static str)> {
        let _ = parents;
        None
    }

    /// Drops the parent asked for the association on the field whose name hashes to `field`
    /// (its key was set instead: a `back_reference` parent pointing back at its child).
    fn clear_parent(parents: &mut Self::Parents, field: u64) {
        let _ = (parents, field);
    }

    /// Puts transient values back into a created row.
    fn restore_transient(&mut self, transient: Self::Transient) {
        let _ = transient;
    }
}

/// A model's table as the insert path's code, compiled once per backend rather than once per
/// model, names it: in errors, spans and its INSERT's columns.
#[derive(Clone, Copy)]
pub(crate) struct Table {
    pub(crate) factory: &'static str,
    pub(crate) table: &'static str,
    pub(crate) columns: &'static [Column],
}

impl Table {
    /// `M`'s table, a constant: one pointer wherever it is passed (a plain `create()`'s future
    /// is boxed at every call and must stay small).
    pub(crate) fn of<M: Model>() -> &'static Table {
        const {
            &Table {
                factory: M::FACTORY,
                table: M::TABLE,
                columns: M::COLUMNS,
            }
        }
    }

    /// `source` as this table's operation failing.
    pub(crate) fn error(&self, operation: Operation, source: sqlx::Error) -> Error {
        Error::new(self.factory, self.table, operation, source)
    }
}

/// A model with a `#[factory(primary_key)]`, so `#[factory(association = ..)]` can point at it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the target of an association",
    label = "not a model with `#[derive(Factory)]` and a `#[factory(primary_key)]` field",
    note = "an association creates a row of `{Self}` and stores its primary key: derive `Factory` on `{Self}` and mark its key field `#[factory(primary_key)]`"
)]
pub trait Association: Model {
    /// The model's associations, each linked to its parent's level below (see `cycle.rs`):
    /// level `n` holds the chains of up to `n` associations that start at this model. Read by
    /// a child's derive through this trait: naming the parent as `Association` there makes a
    /// parent that is no model the same single error as the association's own check (rustc
    /// prints identical diagnostics once). One `const` per level, each made from the parents'
    /// level below, so a cycle of models is no cycle of `const`s.
    const LINKS1: &'static [Link] = &[];
    /// The model's path (`module_path!()`, its name, then `#` and its derive's line and
    /// column): what the cycle check compares, so that two models of one name in different
    /// modules, or in a module and a function of it, are not taken for one.
    const PATH: &'static str = "";
    /// See `LINKS1`.
    const LINKS2: &'static [Link] = &[];
    /// See `LINKS1`.
    const LINKS3: &'static [Link] = &[];
    /// See `LINKS1`.
    const LINKS4: &'static [Link] = &[];
    /// See `LINKS1`: the level a child's cycle check reads.
    const LINKS5: &'static [Link] = &[];

    /// The primary key's type.
    type Key;
    /// The model's unbound factory, as `Model::factory()` returns it.
    type Factory: Default + 'static;

    /// The primary key's column.
    const KEY_COLUMN: &'static str;

    /// The key field is bound as its own type (no `try_from`, `into` or `json`): its column,
    /// returned alone, decodes as the key. A child then creates this model's rows as parents
    /// without reading them back whole.
    const PLAIN_KEY: bool = false;

    /// The primary key of this row.
    fn key(&self) -> Self::Key;
}

/// What an association of `Self` to `P` stores of one `P` row, which a seed hands to each row
/// (`parents_from`, `parents_from_table`, `with_children`): the parent's primary key, the field
/// `references` names, or a tuple of a composite key's fields. The derive implements it once
/// per parent type, from the first association to it; a seed fills every association to `P`
/// that stores the same (see [`Insert::set_parent_key`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no association to `{P}` that a seed can fill",
    label = "`{Self}` stores nothing of `{P}` here",
    note = "a seed spreads rows over parents of a type the model points at with `#[factory(association = {P})]` or `association({P}, fields(..))` (a `back_reference` is set after the row, not seeded)"
)]
pub trait SeedParent<P>: Model {
    /// The values stored of one parent row, as `parents_from` takes them.
    // No bounds here: a parent that is no model fails the impl's where-clause alone (one
    // error); the operations bound the value where they hold it.
    type Value;
    /// [`Value`](Self::Value) as a tuple, as `parents_from_table` decodes a row of its columns.
    type Row;
    /// Tells the associations apart in [`Insert::set_parent_key`]: 0 for the parent's primary
    /// key, else the hash of the referenced field names.
    const SHAPE: u64;
    /// The parent's columns the values are read from, in order.
    const PARENT_COLUMNS: &'static [&'static str];
    /// What a row of the parent gives (`with_children`); `None` for the primary key, which
    /// the INSERT returns.
    const VALUE_OF: Option<fn(&mut P) -> Self::Value>;
    /// The value of a row of [`PARENT_COLUMNS`](Self::PARENT_COLUMNS).
    fn from_row(row: Self::Row) -> Self::Value;

    /// The field of the first association to `P` (a composite key's first field), as its
    /// marker type, which prints as the field's name in our errors.
    type First;
    /// The field of the second association to `P`, `()` when there is only one: `with_children`
    /// cannot tell which of two holds the parent ([`OneAssociationTo`]).
    type Second;
    /// The field of the first association to `P` that stores other values of it than the
    /// first (its key beside `references = email`), `()` when all store the same: one list of
    /// values cannot fill both ([`SameValuesOf`]).
    type Other;
}

/// What `parents_from::<P>(values)` takes: values of `V`, what `M`'s associations to `P` store
/// of each `P` row, as any `IntoIterator` (a `Vec`, an array, a range of keys). The one impl
/// lets the item type be inferred from `V` (`Vec::new()`, an integer literal range), and a
/// wrong item type is this trait's error rather than a type mismatch of a private trait's.
#[diagnostic::on_unimplemented(
    message = "`parents_from::<{P}>` takes `{V}` values, what `{M}` stores of each `{P}`, and `{Self}` does not give them",
    label = "expected values of `{V}` here",
    note = "`{M}`'s association to `{P}` stores `{V}` of each `{P}` row: give those of existing rows, owned (a `Vec<{V}>`, an array, a range of keys, or an iterator, e.g. `rows.iter().map(|p| p.<field>.clone())`; borrowed ones as `values.iter().cloned()`), or read them from the table with `.parents_from_table::<{P}>()`"
)]
pub trait ParentValues<V, M, P> {
    /// The values, in order.
    fn into_values(self) -> Vec<V>;
}

#[diagnostic::do_not_recommend]
impl<I, V, M, P> ParentValues<V, M, P> for I
where
    I: IntoIterator<Item = V>,
{
    fn into_values(self) -> Vec<V> {
        self.into_iter().collect()
    }
}

/// `with_children`: the child `Self` has one association to the parent `P`, so each child
/// row's parent is clear. `A` and `B` are [`SeedParent::First`] and [`SeedParent::Second`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` has two associations to `{P}`, `{A}` and `{B}`: `with_children` cannot tell which one holds the parent",
    label = "`{A}` or `{B}`?",
    note = "seed the `{P}` rows first, then `{Self}::factory().with_session(..).insert_many(n).parents_from_table::<{P}>()`, which fills `{A}` and `{B}` both, each from different `{P}` rows where there are two or more"
)]
pub trait OneAssociationTo<P, A, B> {}

impl<C, P, A> OneAssociationTo<P, A, ()> for C {}

/// `parents_from` and `parents_from_table`: every association of `Self` to `P` stores the same
/// values of a `P` row, so one list of values fills them all. `A` and `B` are
/// [`SeedParent::First`] and [`SeedParent::Other`].
#[diagnostic::on_unimplemented(
    message = "`{Self}`'s associations to `{P}` store different values of it, `{A}` one and `{B}` another: one list of values cannot fill both",
    label = "a seed fills every association to `{P}` from one list of values",
    note = "seed `{Self}` with `create_batch`, which takes a `{P}` for each association on its own (created, or given with `.{A}(..)` and `.{B}(..)`)"
)]
pub trait SameValuesOf<P, A, B> {}

impl<M, P, A> SameValuesOf<P, A, ()> for M {}

/// The column of `P`'s field `field` (`""` when `P` has none: the derive reports that name as
/// unknown already).
pub const fn column_of<P: Model>(field: &str) -> &'static str {
    let mut i = 0;
    while i < P::REFERABLE.len() && i < P::COLUMNS.len() {
        if crate::cycle::eq(P::REFERABLE[i], field) {
            return P::COLUMNS[i].name;
        }
        i += 1;
    }
    ""
}

/// A model whose every column can be bound on `DB` and whose row decodes from `DB`.
///
/// The derive emits one impl per model, generic over the backend, carrying the per-field
/// `Encode + Type` bounds, so a model that compiles for a backend inserts into it.
pub trait Insert<DB: Backend>: Model + for<'r> FromRow<'r, <DB as Database>::Row> {
    /// Binds this row's values for the columns `set` sends, in [`Model::COLUMNS`] order, and
    /// returns its transient values.
    fn bind<A: ArgSink<DB>>(
        self,
        set: ColumnSet,
        args: &mut A,
    ) -> Result<Self::Transient, BoxDynError>;

    /// Seeding mode: writes what an association of shape `shape` stores of a parent row of
    /// type `parent` (a [`SeedParent::Value`] behind `Any`) into the foreign key fields of
    /// every such association, and drops the parents those fields would have created: the
    /// `k`-th association to `parent` (from 0, in field order) takes `value(k)`, so that two
    /// associations to one parent type are filled each on its own. Only the associations
    /// whose bit (by slot in `Parents`) is set in `open` take a value: `parents_from` leaves
    /// out a field the factory was given a value for (`.recipient_id(admin)`, see
    /// [`Model::parent_slots`]); a nullable one left NULL is filled too. Returns whether any
    /// field stores the values of `parent`.
    fn set_parent_key<'v>(
        &mut self,
        parents: &mut Self::Parents,
        parent: std::any::TypeId,
        shape: u64,
        value: &dyn Fn(usize) -> &'v (dyn std::any::Any + Send + Sync),
        open: u64,
    ) -> bool {
        let _ = (parents, parent, shape, value, open);
        false
    }

    /// About how many bytes this row's values take in a statement: [`Model::byte_size`], or,
    /// where the backend measures values ([`Backend::MEASURES_VALUES`]), each value bound as
    /// the field's own type measured by its encoded length (the derive's override).
    fn wire_size(&self) -> usize {
        self.byte_size()
    }

    /// About how many bytes a `get_or_create` key's values take in a lookup, measured as
    /// [`Insert::wire_size`] measures a row's (0 where nothing is measured).
    fn lookup_key_size(key: &Self::LookupKey) -> usize {
        let _ = key;
        0
    }

    /// Binds a `get_or_create` key, in [`Model::GET_OR_CREATE`] order.
    fn bind_lookup_key(
        key: Self::LookupKey,
        args: &mut <DB as Database>::Arguments,
    ) -> Result<(), BoxDynError> {
        let _ = (key, args);
        Ok(())
    }

    /// The insert path of a model with `get_or_create` keys: its stored rows looked up, the
    /// others inserted. The derive overrides this only for such models, so that the lookup's
    /// machinery is compiled for them alone; the default is never reached (the insert path
    /// asks only where [`Model::GET_OR_CREATE`] is not empty).
    #[doc(hidden)]
    fn get_or_create(job: KeyedInsert<'_, DB, Self>) -> BoxFuture<'_, Result<(), Error>> {
        no_keys(Table::of::<Self>(), job.operation)
    }

    /// Fails when a row came back with NULL in a key column the database was left to fill but
    /// the field cannot hold NULL (SQLite stores NULL in a `TEXT PRIMARY KEY`, and decoding it
    /// into a `String` gives `""`): the key belongs to the application, so the model must give it.
    fn check_returned(row: &<DB as Database>::Row) -> Result<(), sqlx::Error> {
        let _ = row;
        Ok(())
    }

    /// Creates the parent rows `parents` asks for, one per row, and writes their keys into
    /// `rows`. `None` when nothing is asked for, so the common case allocates nothing.
    fn create_parents<'a>(
        parents: &mut Self::Parents,
        rows: &'a mut [Self],
        conn: &'a mut <DB as Database>::Connection,
        operation: Operation,
        seed: Option<u64>,
    ) -> Option<BoxFuture<'a, Result<(), Error>>> {
        let _ = (parents, rows, conn, operation, seed);
        None
    }

    /// Creates the parents of `back_reference` associations once `rows` are inserted (with NULL
    /// in those keys), points them back at the rows, sets the keys with an `UPDATE` and in
    /// `rows`. `None` when there are none.
    fn after_insert<'a>(
        parents: &mut Self::Parents,
        rows: &'a mut [Self],
        conn: &'a mut <DB as Database>::Connection,
        operation: Operation,
        seed: Option<u64>,
    ) -> Option<BoxFuture<'a, Result<(), Error>>> {
        let _ = (parents, rows, conn, operation, seed);
        None
    }
}

/// What [`Insert::get_or_create`] is given: the rows and where they go.
#[doc(hidden)]
pub struct KeyedInsert<'a, DB: Backend, M: Model> {
    pub(crate) conn: &'a mut <DB as Database>::Connection,
    /// The rows, handed over whole: taken out of the insert path only for a model with keys,
    /// so that the others never compile the hand-over.
    pub(crate) rows: &'a mut dyn KeyedRows<M>,
    pub(crate) operation: Operation,
    pub(crate) kept: Kept,
    pub(crate) inserted: Option<&'a mut Vec<bool>>,
}

/// The rows of [`Insert::get_or_create`] as the insert path holds them.
pub(crate) trait KeyedRows<M: Model>: Send {
    /// The rows not sent yet, with their parents; `None` once taken.
    fn take_rows(&mut self) -> Option<Rows<M>>;
    /// Puts back the rows found or created, in order.
    fn set_created(&mut self, created: Vec<M>);
}

/// [`Insert::get_or_create`] of a model without `get_or_create` keys, never reached (the insert
/// path asks only models with keys): an error, compiled once.
fn no_keys(table: &'static Table, operation: Operation) -> BoxFuture<'static, Result<(), Error>> {
    let error = Error::message(
        table.factory,
        table.table,
        operation,
        "this model has no `get_or_create` keys".into(),
    );
    Box::pin(std::future::ready(Err(error)))
}

/// The rows one `create`/`create_batch` sends, drawn from a factory, with what they need.
pub struct Rows<M: Model> {
    /// The objects, values drawn.
    pub rows: Vec<M>,
    /// Which database-filled columns are sent.
    pub set: ColumnSet,
    /// The parent rows to create first.
    pub parents: M::Parents,
    /// The seed these rows were drawn from, if the factory had one: parents inherit it.
    pub seed: Option<u64>,
}

/// An unbound factory that can draw rows: what `association_with` and `with_related` take.
/// Drawing borrows it, so one customised parent factory, shared by the clones of a factory
/// ([`Source`]), draws for each of them.
#[diagnostic::on_unimplemented(
    message = "this factory cannot make `{M}` rows yet",
    label = "the `{M}` factory has required fields that are not set",
    note = "a `{M}` with required fields has no default row: set the foreign key, or build the parent with `<field>_with(|f| f.<required>(..))`"
)]
pub trait RowSource<M>: Send + Sync {
    /// Draws `n` rows, as `create_batch(n)` would before inserting them.
    // The bound sits on the method, not the trait, so that naming `dyn RowSource<NotAModel>`
    // is no error of its own: the association's check reports the mistake once.
    /// A factory with no seed of its own draws from `inherited` when given (a seeded child's).
    fn rows(&self, n: usize, inherited: Option<u64>) -> Rows<M>
    where
        M: Model;

    /// Whether two calls of [`rows`](Self::rows) draw the same values: the factory, or a
    /// parent factory it customises (at any depth), has a seed of its own. A batch then
    /// draws its parents at once, in one stream, rather than chunk by chunk.
    fn seeded(&self) -> bool {
        false
    }
}

/// A parent factory as an association holds it (`<field>_with`, or the parent's default):
/// any [`RowSource`] of `P`, shared by the factory's clones. Its storage is not generic over
/// `P` (the factory behind `dyn Any`-like erasure), so that dropping and cloning it, done in
/// every model's factory, is compiled once rather than once per parent type. The parent's
/// default factory, what most associations use, is a `fn` that draws from it, with nothing
/// allocated or erased.
pub struct Source<P> {
    inner: Inner,
    parent: PhantomData<fn() -> P>,
}

/// A [`Source`]'s factory, not generic over the model.
#[derive(Clone)]
enum Inner {
    /// A customised parent factory.
    Shared(Arc<dyn ErasedSource>),
    /// The parent's default factory: draws `n` rows from it into an `Option<Rows<P>>`.
    Default(fn(usize, Option<u64>, &mut dyn Any)),
}

impl Inner {
    fn rows_into(&self, n: usize, inherited: Option<u64>, out: &mut dyn Any) {
        match self {
            Inner::Shared(inner) => inner.rows_into(n, inherited, out),
            Inner::Default(rows_into) => rows_into(n, inherited, out),
        }
    }

    fn seeded(&self) -> bool {
        match self {
            Inner::Shared(inner) => inner.seeded(),
            // A default factory has no seed.
            Inner::Default(_) => false,
        }
    }
}

impl<P> Clone for Source<P> {
    fn clone(&self) -> Self {
        Source {
            inner: self.inner.clone(),
            parent: PhantomData,
        }
    }
}

impl<P: Model> Source<P> {
    /// `factory` as the source of `P` rows.
    pub fn new<F: RowSource<P> + 'static>(factory: F) -> Self {
        Source {
            inner: Inner::Shared(Arc::new(Typed(factory, PhantomData::<fn() -> P>))),
            parent: PhantomData,
        }
    }

    /// The parent's default factory, through `rows_into`, which draws from it into an
    /// `Option<Rows<P>>` (`Source<P>` is named for any `P`, `Rows<P>` only for a model).
    pub(crate) fn default_rows(rows_into: fn(usize, Option<u64>, &mut dyn Any)) -> Self {
        Source {
            inner: Inner::Default(rows_into),
            parent: PhantomData,
        }
    }
}

impl<P> RowSource<P> for Source<P> {
    fn rows(&self, n: usize, inherited: Option<u64>) -> Rows<P>
    where
        P: Model,
    {
        let mut rows: Option<Rows<P>> = None;
        self.inner.rows_into(n, inherited, &mut rows);
        rows.expect("sqlx-factory bug: a parent factory made for another model")
    }

    fn seeded(&self) -> bool {
        self.inner.seeded()
    }
}

/// [`RowSource`] with its model erased: the rows are written into an `Option<Rows<P>>`
/// behind `&mut dyn Any`.
trait ErasedSource: Send + Sync {
    fn rows_into(&self, n: usize, inherited: Option<u64>, out: &mut dyn Any);
    fn seeded(&self) -> bool;
}

/// A factory `F` of `P` rows as an [`ErasedSource`].
struct Typed<F, P>(F, PhantomData<fn() -> P>);

impl<F: RowSource<P>, P: Model> ErasedSource for Typed<F, P> {
    fn rows_into(&self, n: usize, inherited: Option<u64>, out: &mut dyn Any) {
        if let Some(out) = out.downcast_mut::<Option<Rows<P>>>() {
            *out = Some(self.0.rows(n, inherited));
        }
    }

    fn seeded(&self) -> bool {
        self.0.seeded()
    }
}

/// An unbound factory that draws rows chunk by chunk from one generator: what `insert_many`
/// keeps of the factory once its session is taken out. Implemented by the derive.
pub trait ChunkSource<M: Model>: Send {
    /// The next `n` rows of the stream `draw`.
    fn draw_chunk(&mut self, n: usize, draw: &mut Draw, seed: Option<u64>) -> Rows<M>;
    /// The seed set with `.seed(..)`, if any.
    fn seed(&self) -> Option<u64>;
    /// Whether a parent factory it customises (at any depth) has a seed of its own (see
    /// [`RowSource::seeded`]).
    fn parents_seeded(&self) -> bool {
        false
    }
}
