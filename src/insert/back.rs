//! Two tables that reference each other: the side with a nullable key, marked
//! `#[factory(association = P, back_reference = field)]`, is inserted with NULL; then its
//! parents are created pointing back at the new rows, and the keys are set with an `UPDATE`.
//!
//! The `P: Insert<DB>` bound of such an association is the one that makes the pair's bounds
//! a cycle (rustc's E0275), so it is not on the model's `Insert` impl: `create()` asks for it
//! (`S: Deferred<..>`, where `S` is concrete), and the step made there travels to
//! `Insert::after_insert` as a type-erased function pointer.

use std::any::Any;
use std::sync::Arc;

use sqlx::Database;

use super::parents::InsertParent;
use crate::db::{Args, Backend, ColumnOf};
use crate::error::{Error, Operation, Step, short_name};
use crate::future::BoxFuture;
use crate::model::{Association, Model, RowSource, Rows, Source};
use crate::session::{Bound, NoSession};

/// Where a `back_reference` key lives: the field, and the columns of the `UPDATE`.
#[derive(Debug)]
pub struct Back {
    /// The key field of the child (`head_event_id`), for errors.
    pub field: &'static str,
    /// The child's key column, which the parent's key is written to.
    pub column: &'static str,
    /// The child's primary-key column, which finds the row.
    pub key_column: &'static str,
    /// The parent's field that points back (`back_reference = ..`), for errors.
    pub back: &'static str,
}

/// The deferred step, made where `P: Insert<DB>` is known and run by the child's
/// `after_insert`: creates one `P` per row pointing back at it, and sets the rows' keys.
pub type DeferredFn<DB, M, P> = for<'a> fn(
    &'a mut <DB as Database>::Connection,
    Source<P>,
    &'a mut [M],
    &'static Back,
    Operation,
    Option<u64>,
) -> BoxFuture<'a, Result<Vec<P>, Error>>;

/// A session state that can make the deferred step of `M`'s association to `P` whose field
/// `NAME` (hashed) points back: a bound session whose backend stores both. Unbound states
/// make none (build mode, and parents drawn by an unbound factory).
#[diagnostic::on_unimplemented(
    message = "`{M}` cannot create its `back_reference` parent `{P}` through `{Self}`",
    label = "`{P}` cannot be created on this backend",
    note = "`{M}`'s `back_reference` creates a `{P}` after each row, in the same session"
)]
pub trait Deferred<M, P, const NAME: u64> {
    /// The step, type-erased, or `None` when nothing is created.
    fn deferred() -> Option<Box<dyn Any + Send>>;
}

#[diagnostic::do_not_recommend]
impl<M, P, const NAME: u64> Deferred<M, P, NAME> for NoSession {
    fn deferred() -> Option<Box<dyn Any + Send>> {
        None
    }
}

#[diagnostic::do_not_recommend]
impl<'c, DB, M, P, const NAME: u64> Deferred<M, P, NAME> for Bound<'c, DB>
where
    DB: Backend,
    M: BackSet<P, NAME>,
    M::Key: ColumnOf<DB> + Clone + Send + Sync + 'static,
    P: InsertParent<DB> + Association,
    P::Key: ColumnOf<DB>,
{
    fn deferred() -> Option<Box<dyn Any + Send>> {
        let step: DeferredFn<DB, M, P> = deferred_step::<DB, M, P, NAME>;
        Some(Box::new(step))
    }
}

/// Recovers the step `Deferred::deferred` made; `None` if it was made for other types (it
/// cannot be: the slot's types are fixed by the derive).
pub fn deferred_fn<DB: Backend, M: 'static, P: 'static>(
    step: Box<dyn Any + Send>,
) -> Option<DeferredFn<DB, M, P>> {
    step.downcast::<DeferredFn<DB, M, P>>().ok().map(|f| *f)
}

fn deferred_step<'a, DB, M, P, const NAME: u64>(
    conn: &'a mut DB::Connection,
    source: Source<P>,
    rows: &'a mut [M],
    back: &'static Back,
    operation: Operation,
    seed: Option<u64>,
) -> BoxFuture<'a, Result<Vec<P>, Error>>
where
    DB: Backend,
    M: BackSet<P, NAME>,
    M::Key: ColumnOf<DB> + Clone + Send + Sync + 'static,
    P: InsertParent<DB> + Association,
    P::Key: ColumnOf<DB>,
{
    Box::pin(async move {
        // What the parent's field stores of each row: its key, or the field that field
        // `references`.
        let values: Vec<M::Value> = rows.iter_mut().map(M::back_value).collect();
        let source: Source<P> = Source::new(PointBack::<P, M::Value, NAME> {
            inner: source,
            keys: values.clone(),
            point_back: M::point_back,
        });
        let mut created =
            P::create_parents::<M>(&mut *conn, source, rows.len(), back.field, operation, seed)
                .await?;
        // A parent with `get_or_create` may be found instead of inserted: then it points at
        // another row, and setting this row's key to it would store a wrong reference.
        for (value, parent) in values.iter().zip(created.iter_mut()) {
            if !M::points_back(parent, value) {
                return Err(Error::wrap(
                    M::FACTORY,
                    M::TABLE,
                    operation,
                    Step::Parent { field: back.field },
                    format!(
                        "`get_or_create` found a stored `{parent}` whose `{field}` points at another `{model}` row, \
                         not at the one just inserted: its key would be a wrong reference. Give each \
                         `{parent}` its own `get_or_create` key (e.g. add `{field}` to it)",
                        parent = short_name(std::any::type_name::<P>()),
                        field = back.back,
                        model = short_name(std::any::type_name::<M>()),
                    )
                    .into(),
                ));
            }
        }
        // One UPDATE per chunk: (key, value) per row, then the keys again.
        let chunk = (DB::MAX_BIND_PARAMS / 3).clamp(1, DB::MAX_ROWS_PER_INSERT);
        let bind_error = |e| {
            Error::wrap(
                M::FACTORY,
                M::TABLE,
                operation,
                Step::Parent { field: back.field },
                e,
            )
        };
        for (rows, parents) in rows.chunks(chunk).zip(created.chunks(chunk)) {
            let sql: Arc<str> = crate::db::sql::update_sql::<DB>(
                M::TABLE,
                back.column,
                back.key_column,
                rows.len(),
            )
            .into();
            let mut args = DB::Arguments::default();
            let sink = &mut Args::<DB>(&mut args);
            for (row, parent) in rows.iter().zip(parents) {
                row.key().bind(sink).map_err(bind_error)?;
                parent.key().bind(sink).map_err(bind_error)?;
            }
            for row in rows {
                row.key().bind(sink).map_err(bind_error)?;
            }
            DB::fetch_all(&mut *conn, sql, args)
                .await
                .map_err(|e| Error::new(M::FACTORY, M::TABLE, operation, e))?;
        }
        Ok(created)
    })
}

/// How a child model `Self` points its `back_reference` parent `P` back at a row: sets `P`'s
/// field whose name hashes to `NAME` to what that field stores of the row ([`BackKey`]).
///
/// The derive implements it for every `back_reference`, with no where-clause: a name `P` lacks
/// (or a field that cannot hold the key) is then one error in the impl's body, at the derive,
/// under the user's `back_reference = ..` (through [`BackKey`]), and `create()` still
/// type-checks, so it adds none.
pub trait BackSet<P, const NAME: u64>: Association {
    /// What `P`'s back-reference field stores of a row ([`BackKey::Value`]).
    type Value: Clone + Send + Sync + 'static;
    /// That value of `row`.
    fn back_value(row: &mut Self) -> Self::Value;
    /// Writes `value` into `parent`'s back-reference field.
    fn point_back(parent: &mut P, value: Self::Value);
    /// Whether `parent`'s back-reference field holds `value` (a parent `get_or_create` found
    /// may point at another row).
    fn points_back(parent: &mut P, value: &Self::Value) -> bool;
}

/// What a model's association field whose name hashes to `NAME` stores of a parent row of
/// type `Q`: the parent's primary key, or the field its `references` names. The derive
/// implements it for every association of one field; a `back_reference` on the parent's side
/// uses it to point the row it creates back at the parent.
#[diagnostic::on_unimplemented(
    message = "`back_reference` names no field of `{Self}` whose association can point back at `{Q}`",
    label = "`{Self}` has no field of this name with `#[factory(association = ..)]` whose key type is `{Q}`'s key (or the field its `references` names)",
    note = "name the field of `{Self}` whose `association` points back at this model: the parent row created after this one stores this row's key (or the field its `references` names) in it"
)]
pub trait BackKey<const NAME: u64, Q> {
    /// The field's key type: `Q`'s primary key's, or the referenced field's.
    type Value: Clone + Send + Sync + 'static;
    /// The value the field stores of `parent`.
    fn value_of(parent: &mut Q) -> Self::Value;
    /// Sets the field to `value`.
    fn set_back(&mut self, value: Self::Value);
    /// The value the field holds (`None` for NULL).
    fn back_key(&mut self) -> Option<&Self::Value>;
}

/// The parent rows of a `back_reference`, drawn from the parent factory, with their field
/// `NAME` set to the child rows' keys and no parent of their own for it.
struct PointBack<P, K, const NAME: u64> {
    inner: Source<P>,
    keys: Vec<K>,
    point_back: fn(&mut P, K),
}

impl<P, K: Clone + Send + Sync, const NAME: u64> RowSource<P> for PointBack<P, K, NAME> {
    fn rows(&self, n: usize, inherited: Option<u64>) -> Rows<P>
    where
        P: Model,
    {
        let mut rows = self.inner.rows(n, inherited);
        P::clear_parent(&mut rows.parents, NAME);
        for (row, key) in rows.rows.iter_mut().zip(&self.keys) {
            (self.point_back)(row, key.clone());
        }
        rows
    }

    fn seeded(&self) -> bool {
        self.inner.seeded()
    }
}
