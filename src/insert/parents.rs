//! Parent rows: what a child's association creates before the child, one per child, read
//! back whole or as their keys alone.

use std::sync::Arc;

use super::rows::insert_rows;
use super::send::{Keys, Numbering, ParentKey, insert_created, send_chunks};
use crate::db::Backend;
use crate::error::{Error, Kept, Operation, Step};
use crate::future::BoxFuture;
use crate::model::{Insert, Model, RowSource, Rows};

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
            let rows = source.rows(children, seed);
            let inserts = insert_keys::<DB, P, T>(conn, rows, parent_operation, key);
            #[cfg(feature = "tracing")]
            let inserts = {
                use tracing::Instrument;
                let span = tracing::debug_span!(
                    "sqlx_factory::insert",
                    factory = P::FACTORY,
                    table = P::TABLE,
                    operation = %parent_operation,
                    rows = children,
                );
                inserts.instrument(span)
            };
            inserts
                .await
                .map_err(|e| parent_error::<M>(field, operation, e))
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
            let rows = source.rows(children, seed);
            insert_rows::<DB, P>(conn, rows, parent_operation, Kept::Nothing)
                .await
                .map_err(|e| parent_error::<M>(field, operation, e))
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

/// A parent's failure, as the child's operation failing at the association on `field`.
fn parent_error<M: Model>(field: &'static str, operation: Operation, e: Error) -> Error {
    Error::wrap(
        M::FACTORY,
        M::TABLE,
        operation,
        Step::Parent { field },
        Box::new(e),
    )
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
/// [`send_chunks`] cuts them, each `INSERT .. RETURNING key`, decoded as `T`.
async fn insert_keys<DB: Backend, P: Insert<DB>, T>(
    conn: &mut DB::Connection,
    rows: Rows<P>,
    operation: Operation,
    key: ParentKey<P, T>,
) -> Result<Vec<T>, Error>
where
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
{
    let Rows {
        mut rows,
        set,
        mut parents,
        seed,
    } = rows;
    if let Some(parents) = P::create_parents(&mut parents, &mut rows, &mut *conn, operation, seed) {
        parents.await?;
    }
    // What is left is a `back_reference` step, which needs the rows: read them back whole.
    if P::needs_parents(&parents) {
        let created = insert_created::<DB, P>(
            conn,
            rows,
            set,
            &mut parents,
            operation,
            Kept::Nothing,
            seed,
        )
        .await?;
        return Ok(created.iter().map(key.from_row).collect());
    }
    let mut read = Keys {
        keys: Vec::with_capacity(rows.len()),
        key,
    };
    let mut numbering = Numbering { index: 0, of: 0 };
    send_chunks::<DB, P>(
        conn,
        rows,
        set,
        operation,
        Kept::Nothing,
        &mut numbering,
        &mut read,
    )
    .await?;
    Ok(read.keys)
}
