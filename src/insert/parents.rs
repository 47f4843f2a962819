//! Parent rows: what a child's association creates before the child, one per child, read
//! back whole or as their keys alone.

use std::sync::Arc;

use super::insertion::{InsertRows, Insertion, KeyInsertion, KeyRows, insert_new};
use super::rows::{in_span, insert_rows_of};
use super::send::{Keys, Numbering, ParentKey, send_rows};
use crate::db::Backend;
use crate::error::{Error, Kept, Operation, Step};
use crate::future::BoxFuture;
use crate::model::{Insert, Model, RowSource, Table};

/// `P: Insert<DB>` for the parent of an association, as a bound that asks nothing of `P` to
/// be well-formed: a wrong `association = NotAModel` is then reported once, by `Association`.
///
/// `ON_CYCLE` is `true` when the association closes a cycle of models (`cycle.rs`): that impl
/// asks nothing, so the models' `Insert` bounds are no cycle for rustc (its `E0275` would hide
/// the derive's error about the cycle). Such a program does not compile: the derive's `const`
/// check reports the cycle.
pub trait InsertParent<DB: Backend, const ON_CYCLE: bool = false>: Sized {
    /// Creates one parent row per child, as [`create_parents`](Self::create_parents), and
    /// returns only their keys, as the child's field stores them. Nothing but the key column
    /// is read back (`RETURNING id`, no row decoded) unless the parent's rows are needed: a
    /// get-or-create (its found rows), or a key bound through a conversion.
    #[allow(clippy::too_many_arguments)]
    fn create_parent_keys<'a, M: Model, T>(
        conn: &'a mut DB::Connection,
        source: Arc<dyn RowSource<Self>>,
        children: usize,
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
        key: ParentKey<Self, T>,
    ) -> BoxFuture<'a, Result<Vec<T>, Error>>
    where
        T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static;

    /// Creates one parent row per child from `source` for the association on `field` of `M`.
    fn create_parents<'a, M: Model>(
        conn: &'a mut DB::Connection,
        source: Arc<dyn RowSource<Self>>,
        children: usize,
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
    ) -> BoxFuture<'a, Result<Vec<Self>, Error>>;
}

impl<DB: Backend, P: Insert<DB>> InsertParent<DB> for P {
    fn create_parent_keys<'a, M: Model, T>(
        conn: &'a mut DB::Connection,
        source: Arc<dyn RowSource<Self>>,
        children: usize,
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
        key: ParentKey<Self, T>,
    ) -> BoxFuture<'a, Result<Vec<T>, Error>>
    where
        T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
    {
        // A get-or-create returns rows that already existed, which an INSERT does not.
        if !key.plain || !P::GET_OR_CREATE.is_empty() {
            return Box::pin(async move {
                let parents = <Self as InsertParent<DB>>::create_parents::<M>(
                    conn, source, children, field, operation, seed,
                )
                .await?;
                Ok(parents.iter().map(key.from_row).collect())
            });
        }
        let parent_operation = parent_operation(children);
        Box::pin(async move {
            let mut rows = KeyInsertion {
                rows: Insertion::new(source.rows(children, seed)),
                keys: Keys {
                    keys: Vec::with_capacity(children),
                    key,
                },
            };
            let at = Parent {
                child: Table::of::<M>(),
                field,
                operation,
            };
            let whole =
                insert_keys::<DB>(conn, Table::of::<P>(), &mut rows, parent_operation, at).await?;
            Ok(match whole {
                true => rows
                    .rows
                    .created
                    .iter()
                    .map(rows.keys.key.from_row)
                    .collect(),
                false => rows.keys.keys,
            })
        })
    }

    fn create_parents<'a, M: Model>(
        conn: &'a mut DB::Connection,
        source: Arc<dyn RowSource<Self>>,
        children: usize,
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
    ) -> BoxFuture<'a, Result<Vec<Self>, Error>> {
        let parent_operation = parent_operation(children);
        Box::pin(async move {
            // Parents are created only inside an operation's scope.
            let mut rows = Insertion::new(source.rows(children, seed));
            let at = Parent {
                child: Table::of::<M>(),
                field,
                operation,
            };
            insert_parents::<DB>(conn, Table::of::<P>(), &mut rows, parent_operation, at).await?;
            Ok(rows.created)
        })
    }
}

// Unreachable in a program that compiles, unless a model reaches more models than the check
// records (then the cycle is not reported at compile time): an error, not a panic.
impl<DB: Backend, P> InsertParent<DB, true> for P {
    fn create_parent_keys<'a, M: Model, T>(
        _conn: &'a mut DB::Connection,
        _source: Arc<dyn RowSource<Self>>,
        _children: usize,
        field: &'static str,
        operation: Operation,
        _seed: Option<u64>,
        _key: ParentKey<Self, T>,
    ) -> BoxFuture<'a, Result<Vec<T>, Error>>
    where
        T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
    {
        Box::pin(async move { Err(cycle_error_at::<M>(field, operation)) })
    }

    fn create_parents<'a, M: Model>(
        _conn: &'a mut DB::Connection,
        _source: Arc<dyn RowSource<Self>>,
        _children: usize,
        field: &'static str,
        operation: Operation,
        _seed: Option<u64>,
    ) -> BoxFuture<'a, Result<Vec<Self>, Error>> {
        Box::pin(async move { Err(cycle_error_at::<M>(field, operation)) })
    }
}

/// How a parent's own INSERT is reported: one row per child.
fn parent_operation(children: usize) -> Operation {
    match children {
        1 => Operation::Create,
        rows => Operation::CreateBatch { rows },
    }
}

/// Where parents are created: for the association on `field` of `child`'s `operation`.
#[derive(Clone, Copy)]
struct Parent {
    child: &'static Table,
    field: &'static str,
    operation: Operation,
}

impl Parent {
    /// A parent's failure, as the child's operation failing at the association.
    fn error(self, e: Error) -> Error {
        let child = self.child;
        let step = Step::Parent { field: self.field };
        Error::wrap(
            child.factory,
            child.table,
            self.operation,
            step,
            Box::new(e),
        )
    }
}

/// One parent per child, read back whole, in the span of the parent's insert.
async fn insert_parents<DB: Backend>(
    conn: &mut DB::Connection,
    table: &'static Table,
    rows: &mut dyn InsertRows<DB>,
    operation: Operation,
    at: Parent,
) -> Result<(), Error> {
    insert_rows_of::<DB>(conn, table, rows, operation, Kept::Nothing)
        .await
        .map_err(|e| at.error(e))
}

fn cycle_error_at<M: Model>(field: &'static str, operation: Operation) -> Error {
    Error::wrap(
        M::FACTORY,
        M::TABLE,
        operation,
        Step::Parent { field },
        "this association closes a cycle of models, so no row can be created first: add \
         `back_reference` on a nullable side"
            .into(),
    )
}

/// Parents inserted for their keys alone: their own parents first, then chunks as
/// [`send_rows`] cuts them, each `INSERT .. RETURNING key`. `true`: a `back_reference` step was
/// left, which needs the rows, so they were read back whole instead.
async fn insert_keys<DB: Backend>(
    conn: &mut DB::Connection,
    table: &'static Table,
    rows: &mut dyn KeyRows<DB>,
    operation: Operation,
    at: Parent,
) -> Result<bool, Error> {
    let count = rows.unsent();
    let insert = async {
        let whole = rows.rows();
        if let Some(parents) = whole.create_parents(&mut *conn, operation) {
            parents.await?;
        }
        if whole.needs_parents() {
            insert_new::<DB>(conn, table, whole, operation, Kept::Nothing, false).await?;
            return Ok(true);
        }
        let set = whole.set();
        let mut numbering = Numbering { index: 0, of: 0 };
        let sent = rows.outgoing();
        send_rows::<DB>(
            conn,
            table,
            sent,
            set,
            operation,
            Kept::Nothing,
            &mut numbering,
        )
        .await?;
        Ok(false)
    };
    in_span(table, insert, operation, count)
        .await
        .map_err(|e| at.error(e))
}
