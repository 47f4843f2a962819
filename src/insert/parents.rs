//! Parent rows: what a child's association creates before the child, one per child, read
//! back whole or as their keys alone.

use super::insertion::{InsertRows, Insertion, KeyInsertion, KeyRows, insert_new};
use super::rows::{in_span, insert_rows_of};
use super::send::{Keys, Numbering, ParentKey, send_rows};
use crate::db::Backend;
use crate::error::{Error, Kept, Operation, Step};
use crate::future::BoxFuture;
use crate::model::{Insert, Model, RowSource, Source, Table};

/// `P: Insert<DB>` for the parent of an association, as a bound that asks nothing of `P` to
/// be well-formed: a wrong `association = NotAModel` is then reported once, by `Association`.
///
/// `ON_CYCLE` is `true` when the association closes a cycle of models (`cycle.rs`): that impl
/// asks nothing, so the models' `Insert` bounds are no cycle for rustc (its `E0275` would hide
/// the derive's error about the cycle). Such a program does not compile: the derive's `const`
/// check reports the cycle.
pub trait InsertParent<DB: Backend, const ON_CYCLE: bool = false>: Sized {
    /// Creates one parent row per child of `children`, as
    /// [`create_parents`](Self::create_parents), and writes each parent's key into its child
    /// with `assign`. Nothing but the key column is read back (`RETURNING id`, no row decoded)
    /// unless the parent's rows are needed: a get-or-create (its found rows), or a key bound
    /// through a conversion. The future is compiled once per backend: what is generic over the
    /// parent, the child and the key is a few small methods of `ParentKeys`.
    #[allow(clippy::too_many_arguments)]
    fn create_parent_keys<'a, M: Model, T>(
        conn: &'a mut DB::Connection,
        source: Source<Self>,
        children: &'a mut [M],
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
        key: ParentKey<Self, T>,
        assign: fn(&mut M, T),
    ) -> BoxFuture<'a, Result<(), Error>>
    where
        T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static;

    /// Creates one parent row per child from `source` for the association on `field` of `M`.
    fn create_parents<'a, M: Model>(
        conn: &'a mut DB::Connection,
        source: Source<Self>,
        children: usize,
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
    ) -> BoxFuture<'a, Result<Vec<Self>, Error>>;
}

impl<DB: Backend, P: Insert<DB>> InsertParent<DB> for P {
    fn create_parent_keys<'a, M: Model, T>(
        conn: &'a mut DB::Connection,
        source: Source<Self>,
        children: &'a mut [M],
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
        key: ParentKey<Self, T>,
        assign: fn(&mut M, T),
    ) -> BoxFuture<'a, Result<(), Error>>
    where
        T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
    {
        // A get-or-create returns rows that already existed, which an INSERT does not.
        let whole = !key.plain || !P::GET_OR_CREATE.is_empty();
        let count = children.len();
        let job = Box::new(ParentKeys {
            rows: KeyInsertion {
                rows: Insertion::new(source.rows(count, seed)),
                keys: Keys {
                    keys: Vec::with_capacity(count),
                    key,
                },
            },
            children,
            assign,
        });
        let at = Parent {
            child: Table::of::<M>(),
            field,
            operation,
        };
        let table = Table::of::<P>();
        Box::pin(insert_parent_keys::<DB>(
            conn,
            table,
            job,
            parent_operation(count),
            at,
            whole,
        ))
    }

    fn create_parents<'a, M: Model>(
        conn: &'a mut DB::Connection,
        source: Source<Self>,
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

// Unreachable in a program that compiles: the bound is cut only on a cycle, which the derive
// reports as a compile error (`cycle.rs`). Should that ever fail, an error, not a panic.
impl<DB: Backend, P> InsertParent<DB, true> for P {
    fn create_parent_keys<'a, M: Model, T>(
        _conn: &'a mut DB::Connection,
        _source: Source<Self>,
        _children: &'a mut [M],
        field: &'static str,
        operation: Operation,
        _seed: Option<u64>,
        _key: ParentKey<Self, T>,
        _assign: fn(&mut M, T),
    ) -> BoxFuture<'a, Result<(), Error>>
    where
        T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
    {
        Box::pin(std::future::ready(Err(cycle_error_at::<M>(
            field, operation,
        ))))
    }

    fn create_parents<'a, M: Model>(
        _conn: &'a mut DB::Connection,
        _source: Source<Self>,
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

/// One association's parents created for their keys, and the children the keys go into: what
/// [`insert_parent_keys`] (compiled once per backend) sees of them, as [`KeyJob`].
struct ParentKeys<'a, P: Model, T, M> {
    rows: KeyInsertion<P, T>,
    children: &'a mut [M],
    /// Writes a parent's key into the child's field.
    assign: fn(&mut M, T),
}

/// [`ParentKeys`] as the code compiled once per backend sees it.
trait KeyJob<DB: Backend>: Send {
    /// The parents, sent for their keys alone or read back whole.
    fn key_rows(&mut self) -> &mut dyn KeyRows<DB>;
    /// Writes the keys into the children: those read back alone, or, when the parents were
    /// read back `whole`, each parent row's key.
    fn finish(&mut self, whole: bool);
}

impl<DB: Backend, P: Insert<DB>, T, M: Send> KeyJob<DB> for ParentKeys<'_, P, T, M>
where
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
{
    fn key_rows(&mut self) -> &mut dyn KeyRows<DB> {
        &mut self.rows
    }

    fn finish(&mut self, whole: bool) {
        let from_row = self.rows.keys.key.from_row;
        let created = &self.rows.rows.created;
        let mut keys = std::mem::take(&mut self.rows.keys.keys).into_iter();
        for i in 0..self.children.len() {
            let key = match whole {
                true => match created.get(i) {
                    Some(parent) => from_row(parent),
                    None => break,
                },
                false => match keys.next() {
                    Some(key) => key,
                    None => break,
                },
            };
            (self.assign)(&mut self.children[i], key);
        }
    }
}

/// [`InsertParent::create_parent_keys`], compiled once per backend: the parents inserted
/// (read back `whole`, or their keys alone), then their keys written into the children.
async fn insert_parent_keys<DB: Backend>(
    conn: &mut DB::Connection,
    table: &'static Table,
    mut job: Box<dyn KeyJob<DB> + '_>,
    operation: Operation,
    at: Parent,
    whole: bool,
) -> Result<(), Error> {
    let whole = match whole {
        true => {
            let rows = job.key_rows().rows();
            insert_parents::<DB>(conn, table, rows, operation, at).await?;
            true
        }
        false => insert_keys::<DB>(conn, table, job.key_rows(), operation, at).await?,
    };
    job.finish(whole);
    Ok(())
}
