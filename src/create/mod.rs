//! The `create` and `create_batch` operations: one row or a batch drawn at once ([`run`]),
//! a batch drawn chunk by chunk as it is sent ([`run_lazy`]), and the plain `create()` that
//! is one INSERT and nothing around it ([`create`], [`create_one`]); each in a [`Scope`] when it sends
//! more than one statement, then its after-create steps.

mod steps;

use std::any::Any;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use sqlx::Arguments;

use crate::column::binds_per_row;
use crate::db::{Backend, SMALL_BATCH_BYTES};
use crate::error::{Error, Kept, Operation, Step};
use crate::future::BoxFuture;
use crate::future::overlap;
use crate::insert::{
    Created, InsertRows, Insertion, Numbering, in_span, insert_or_get, no_row_returned,
    rows_per_statement, send_chunks, unsent_bytes,
};
use crate::model::{ChunkSource, Insert, Model, Rows, Table};
use crate::scope::{Scope, in_transaction};
use crate::session::Bound;
use crate::state::{AfterCreate, FactoryState};
pub use steps::{Hook, Related};

/// [`run`], each row with whether it was inserted (`false`: a stored row found by its
/// `get_or_create` key, or the row of a key an earlier row of the operation inserted).
pub(crate) async fn run_reporting<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>>,
    rows: Rows<M>,
    operation: Operation,
) -> Result<Vec<(M, bool)>, Error> {
    let mut inserted = Vec::with_capacity(rows.rows.len());
    let rows = run::<DB, M>(state, rows, operation, Some(&mut inserted)).await?;
    Ok(rows.into_iter().zip(inserted).collect())
}

/// The rows of a `create_batch`: drawn already, or to draw chunk by chunk.
#[doc(hidden)]
pub enum Batch<M: Model> {
    /// Drawn when `create_batch` was called (models with a `back_reference` association).
    Drawn(Rows<M>),
    /// Drawn as they are sent.
    Lazy(LazyRows<M>),
}

impl<M: Model> Batch<M> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Batch::Drawn(rows) => rows.rows.len(),
            Batch::Lazy(lazy) => lazy.n,
        }
    }
}

/// A batch's generator and the factory it draws from.
#[doc(hidden)]
pub struct LazyRows<M: Model> {
    pub(crate) source: Box<dyn ChunkSource<M>>,
    pub(crate) draw: crate::seed::Draw,
    pub(crate) seed: Option<u64>,
    pub(crate) n: usize,
}

impl<M: Model> LazyRows<M> {
    fn next(&mut self, n: usize) -> Rows<M> {
        let rows = self
            .source
            .draw_chunk(n.min(self.n), &mut self.draw, self.seed);
        self.n -= rows.rows.len();
        rows
    }
}

/// One `create`/`create_batch`'s rows and after-create steps, as [`run_job`] (compiled once
/// per backend) sees them.
trait Job<'c, DB: Backend>: Send {
    /// The rows, on the insert path.
    fn rows(&mut self) -> &mut dyn InsertRows<DB>;
    /// The rows created, a `Vec` of the model, for the shim that hands them to the caller.
    fn created(&mut self) -> &mut dyn Any;
    /// The after-create steps, and the rows created (a `Vec` of the model) they run on: the
    /// steps are run by [`run_after_create`], compiled once per backend.
    fn steps(&self) -> (&Steps<'c, DB>, &dyn Any);
}

/// A bound factory's after-create steps.
type Steps<'c, DB> = [Box<dyn AfterCreate<Bound<'c, DB>>>];

/// A model's [`Job`].
struct RowsJob<'c, DB: Backend, M: Model> {
    rows: Insertion<M>,
    after_create: Vec<Box<dyn AfterCreate<Bound<'c, DB>>>>,
}

impl<'c, DB: Backend, M: Insert<DB>> Job<'c, DB> for RowsJob<'c, DB, M> {
    fn rows(&mut self) -> &mut dyn InsertRows<DB> {
        &mut self.rows
    }

    fn created(&mut self) -> &mut dyn Any {
        &mut self.rows.created
    }

    fn steps(&self) -> (&Steps<'c, DB>, &dyn Any) {
        (&self.after_create, &self.rows.created)
    }
}

/// A `create()`'s [`Job`]: not generic over the model, so that the job, its drop and its
/// methods are compiled once per backend; the model's rows are the [`Insertion`] behind `rows`.
struct CreateJob<'c, DB: Backend> {
    rows: Box<dyn InsertRows<DB> + 'c>,
    after_create: Vec<Box<dyn AfterCreate<Bound<'c, DB>>>>,
}

impl<'c, DB: Backend> Job<'c, DB> for CreateJob<'c, DB> {
    fn rows(&mut self) -> &mut dyn InsertRows<DB> {
        &mut *self.rows
    }

    fn created(&mut self) -> &mut dyn Any {
        self.rows.created()
    }

    fn steps(&self) -> (&Steps<'c, DB>, &dyn Any) {
        (&self.after_create, self.rows.created_rows())
    }
}

/// Parents, the INSERTs, then the after-create steps, all on the bound connection.
///
/// An operation that may send more than one writing statement (chunks, parents, related rows,
/// hooks), or that asked for `.in_savepoint()`, runs in a [`Scope`]: a savepoint inside the
/// caller's transaction, a transaction of its own on a bare connection, undone on error,
/// cancellation and panic. A single INSERT is sent as it is, one statement.
pub(crate) async fn run<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>>,
    rows: Rows<M>,
    operation: Operation,
    inserted: Option<&mut Vec<bool>>,
) -> Result<Vec<M>, Error> {
    let FactoryState {
        mut session,
        after_create,
        savepoint,
        after_build,
        ..
    } = state;
    drop(after_build);
    let table = Table::of::<M>();
    let mut job = RowsJob {
        rows: Insertion::new(rows),
        after_create,
    };
    let scoped =
        savepoint || !job.after_create.is_empty() || !one_write::<DB>(&mut job.rows, table);
    run_job::<DB>(&mut session, table, &mut job, operation, scoped, inserted).await?;
    Ok(job.rows.created)
}

/// [`run`], compiled once per backend: `scoped` when it runs in a [`Scope`].
async fn run_job<'c, DB: Backend>(
    session: &mut Bound<'c, DB>,
    table: &'static Table,
    job: &mut dyn Job<'c, DB>,
    operation: Operation,
    scoped: bool,
    inserted: Option<&mut Vec<bool>>,
) -> Result<(), Error> {
    let error = |source| table.error(operation, source);
    session.acquire().await.map_err(error)?;
    if !scoped {
        let kept = if in_transaction::<DB>(session.conn()) {
            Kept::InTransaction
        } else {
            Kept::Committed {
                pooled: session.is_pooled(),
            }
        };
        let result = run_steps::<DB>(session, table, job, operation, kept, inserted).await;
        let result = crate::scope::settled::<DB, _>(session.conn(), result).await;
        session.release();
        return result;
    }
    let mut scope = Scope::begin(session).await.map_err(error)?;
    // In a transaction of its own, the first `get_or_create` rows sent before anything else
    // may begin it again after a deadlock (`scope::take_fresh`).
    crate::scope::mark_fresh::<DB>(scope.session().conn());
    let result = run_steps::<DB>(
        scope.session(),
        table,
        job,
        operation,
        Kept::Nothing,
        inserted,
    )
    .await;
    let result = scope.finish(result, error).await;
    session.release();
    result
}

/// A lazy batch: the first chunk is drawn; when the batch fits one statement, is a
/// get-or-create, or is seeded and needs parents, the rest is drawn at once and it runs as
/// [`run`]. Otherwise chunks are drawn, sent (each after its own parents) and decoded one at a
/// time, so the drawn values of one chunk are all that is held besides the created rows, in a
/// [`Scope`] exactly as `run` opens it.
pub(crate) async fn run_lazy<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>>,
    mut lazy: LazyRows<M>,
    operation: Operation,
) -> Result<Vec<M>, Error> {
    let total = lazy.n;
    let mut first = lazy.next(DB::MAX_ROWS_PER_INSERT);
    let most = rows_per_statement::<DB>(binds_per_row(M::COLUMNS, first.set));
    // Parents are created chunk by chunk with their children (all of a chunk's parents, then
    // the chunk), as a careful hand-written loop does: MariaDB runs that order about a tenth
    // faster than all parents first (PERFORMANCE.md). Not for a seeded batch: each chunk's
    // parents would be drawn from the same derived seed, where an eager batch draws all its
    // parents from one stream, so seeded values stay those of the eager path. The same holds
    // for a parent factory seeded by `<field>_with(|p| p.seed(..))`, at any depth: restarted
    // per chunk it would repeat its first chunk's values (and `sequence` keys).
    let streams = lazy.n > 0
        && M::GET_OR_CREATE.is_empty()
        && !(M::needs_parents(&first.parents)
            && (lazy.seed.is_some() || lazy.source.parents_seeded()));
    if !streams {
        while lazy.n > 0 {
            let more = lazy.next(most);
            first.rows.extend(more.rows);
        }
        return run::<DB, M>(state, first, operation, None).await;
    }
    let FactoryState {
        mut session,
        after_create,
        ..
    } = state;
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    session.acquire().await.map_err(error)?;
    let mut scope = Scope::begin(&mut session).await.map_err(error)?;
    let inserts = async {
        let conn = scope.session().conn();
        let mut created = Vec::with_capacity(total);
        let mut numbering = Numbering {
            index: 0,
            of: total.div_ceil(most),
        };
        let mut piece = first;
        loop {
            let Rows {
                mut rows,
                set,
                mut parents,
                seed,
            } = piece;
            // A parent's failure names the rows of this chunk, not the chunk's own count.
            let (first_row, last_row) = (created.len() + 1, created.len() + rows.len());
            let mut read = Created {
                rows: &mut created,
                transient: Vec::new(),
            };
            let (conn, numbering) = (&mut *conn, &mut numbering);
            let send = async move {
                if let Some(parents) =
                    M::create_parents(&mut parents, &mut rows, &mut *conn, operation, seed)
                {
                    parents
                        .await
                        .map_err(|e| e.parents_of_rows(first_row, last_row))?;
                }
                send_chunks::<DB, M>(
                    conn,
                    rows,
                    set,
                    operation,
                    Kept::Nothing,
                    numbering,
                    &mut read,
                )
                .await
            };
            // The next piece is drawn while this one's INSERT runs.
            let ((), next) = overlap(send, || (lazy.n > 0).then(|| lazy.next(most))).await?;
            match next {
                Some(next) => piece = next,
                None => break,
            }
        }
        Ok::<_, Error>(created)
    };
    // The same span as `insert_rows` gives a batch drawn at once.
    #[cfg(feature = "tracing")]
    let result = {
        use tracing::Instrument;
        let span = tracing::debug_span!(
            "sqlx_factory::insert",
            factory = M::FACTORY,
            table = M::TABLE,
            operation = %operation,
            rows = total,
        );
        inserts.instrument(span).await
    };
    #[cfg(not(feature = "tracing"))]
    let result = inserts.await;
    let result = match result {
        Ok(created) => {
            let mut job = RowsJob {
                rows: Insertion::created(created),
                after_create,
            };
            let table = Table::of::<M>();
            let steps = run_after_create::<DB>(scope.session(), table, &mut job, operation).await;
            steps.map(|()| job.rows.created)
        }
        Err(e) => Err(e),
    };
    let result = scope.finish(result, error).await;
    session.release();
    result
}

/// Whether `rows` go in one INSERT (or a get-or-create's one INSERT after its lookups) with no
/// parent to create first, and nothing read after it that may fail: a get-or-create that
/// repeats a key reads that key's row back after the INSERT.
fn one_write<DB: Backend>(rows: &mut dyn InsertRows<DB>, table: &'static Table) -> bool {
    // A get_or_create batch where connections can deadlock: in a transaction of our own, it
    // is sent again after a deadlock (`race::insert_new`).
    let restartable = DB::DEADLOCK.is_some() && rows.keyed() && rows.unsent() > 1;
    if rows.needs_parents() || rows.repeats_key() || restartable {
        return false;
    }
    match rows.unsent() {
        0 | 1 => true,
        n => {
            n <= rows_per_statement::<DB>(binds_per_row(table.columns, rows.set()))
                && unsent_bytes::<DB>(rows.outgoing()) <= SMALL_BATCH_BYTES
        }
    }
}

async fn run_steps<'c, DB: Backend>(
    session: &mut Bound<'c, DB>,
    table: &'static Table,
    job: &mut dyn Job<'c, DB>,
    operation: Operation,
    kept: Kept,
    inserted: Option<&mut Vec<bool>>,
) -> Result<(), Error> {
    let rows = job.rows();
    let count = rows.unsent();
    let insert = insert_or_get::<DB>(session.conn(), table, rows, operation, kept, inserted);
    in_span(table, insert, operation, count).await?;
    run_after_create::<DB>(session, table, job, operation).await
}

async fn run_after_create<'c, DB: Backend>(
    session: &mut Bound<'c, DB>,
    table: &'static Table,
    job: &mut dyn Job<'c, DB>,
    operation: Operation,
) -> Result<(), Error> {
    // What a step sends is not the insert path's: nothing after it may begin the transaction
    // again.
    crate::scope::clear_fresh::<DB>(session.conn());
    let mut i = 0;
    loop {
        let (steps, created) = job.steps();
        let Some(step) = steps.get(i) else {
            return Ok(());
        };
        i += 1;
        let error = |e| {
            Error::wrap(
                table.factory,
                table.table,
                operation,
                Step::AfterCreate { index: i },
                e,
            )
        };
        step.run(created, &mut *session).await.map_err(error)?;
        // A nested operation of the step (a hook's, whose error the hook handled) found the
        // transaction gone: nothing more of this operation may be sent, it would autocommit.
        if crate::scope::is_gone::<DB>(session.conn()) {
            return Err(crate::scope::transaction_gone(error(
                crate::scope::GONE_IN_STEP.into(),
            )));
        }
    }
}

/// `create()`: its rows and after-create steps handed, as a [`Job`], to [`create_job`]
/// (compiled once per backend), and its row taken back out of the job by [`Finish`]. What is
/// generic over the model is this shim and a few small methods.
pub(crate) fn create<'c, DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'c, DB>>,
    rows: Rows<M>,
) -> Finish<'c, DB, M> {
    let FactoryState {
        session,
        after_create,
        savepoint,
        ..
    } = state;
    let job = CreateJob {
        rows: Box::new(Insertion::new(rows)),
        after_create,
    };
    let table = Table::of::<M>();
    Finish {
        running: Box::pin(create_job::<DB>(session, table, job, savepoint)),
        table,
        row: PhantomData,
    }
}

/// The operation of a [`Job`], compiled once per backend, which hands the job back when done.
type Running<'c, DB> = BoxFuture<'c, Result<CreateJob<'c, DB>, Error>>;

/// A `create()`'s future: its operation ([`Running`]), then its one row taken out of the job.
pub(crate) struct Finish<'c, DB: Backend, M> {
    running: Running<'c, DB>,
    table: &'static Table,
    row: PhantomData<fn() -> M>,
}

impl<DB: Backend, M: Model> Future for Finish<'_, DB, M> {
    type Output = Result<M, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut job = match ready!(self.running.as_mut().poll(cx)) {
            Ok(job) => job,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let row = match job.created().downcast_mut::<Vec<M>>() {
            Some(rows) => rows.pop(),
            None => None,
        };
        Poll::Ready(match row {
            Some(row) => Ok(row),
            None => Err(self
                .table
                .error(Operation::Create, sqlx::Error::RowNotFound)),
        })
    }
}

/// A `create()`, compiled once per backend: one INSERT and nothing around it ([`create_one`])
/// when it has no parents to create, no get-or-create lookup, no hook and no savepoint asked
/// for; else the general way ([`run_job`]), boxed, so that the plain create's future, boxed
/// at every call, stays small. Its size is looked at when the future first runs: measuring runs
/// the values' `Encode`, which must not run (or panic) where `create()` is called.
async fn create_job<'c, DB: Backend>(
    mut session: Bound<'c, DB>,
    table: &'static Table,
    mut job: CreateJob<'c, DB>,
    savepoint: bool,
) -> Result<CreateJob<'c, DB>, Error> {
    let steps = !job.steps().0.is_empty();
    let rows = job.rows();
    if !savepoint && !steps && !rows.keyed() && rows.unsent() == 1 && !rows.needs_parents() {
        create_one::<DB>(&mut session, table, &mut job).await?;
    } else {
        let scoped = savepoint || steps || !one_write::<DB>(rows, table);
        let operation = Operation::Create;
        Box::pin(run_job::<DB>(
            &mut session,
            table,
            &mut job,
            operation,
            scoped,
            None,
        ))
        .await?;
    }
    Ok(job)
}

/// A plain `create()`, compiled once per backend. Its future is boxed at every `create()`:
/// through `send_chunks` it was 2 968 bytes, past what the allocator keeps at hand, and
/// allocating and filling it was a quarter of what the factory added to a hand-written
/// `query_as(..).fetch_one` (callgrind on SQLite). So the session is borrowed, not moved in
/// (an `async fn` keeps its arguments for its whole life), and it is one `async fn`.
async fn create_one<'c, DB: Backend>(
    session: &mut Bound<'c, DB>,
    table: &'static Table,
    job: &mut dyn Job<'c, DB>,
) -> Result<(), Error> {
    let operation = Operation::Create;
    // A row over 1 MiB goes the general way, which asks the server's statement limit first;
    // boxed, so that this future stays small.
    if unsent_bytes::<DB>(job.rows().outgoing()) > SMALL_BATCH_BYTES {
        return Box::pin(run_job::<DB>(session, table, job, operation, false, None)).await;
    }
    let error = |source| table.error(operation, source);
    session.acquire().await.map_err(error)?;
    let rows = job.rows();
    let set = rows.set();
    let rows = rows.outgoing();
    let pooled = session.is_pooled();
    let conn = session.conn();
    let kept = if in_transaction::<DB>(conn) {
        Kept::InTransaction
    } else {
        Kept::Committed { pooled }
    };
    let insert = async move {
        if rows.unsent() == 0 {
            return Err(error(sqlx::Error::RowNotFound));
        }
        let per_row = binds_per_row(table.columns, set);
        let mut args = DB::Arguments::default();
        args.reserve(per_row, per_row * 8);
        rows.bind_next(set, &mut args)
            .map_err(|e| error(sqlx::Error::Encode(e)).at(Step::Insert))?;
        let sql = rows.sql(set, 1);
        let returned = DB::fetch_one(conn, sql, args)
            .await
            .map_err(|e| error(no_row_returned(e)).at(Step::Insert))?;
        rows.read(&returned)
            .map_err(|e| error(e).at(Step::Decode).kept(kept))?;
        rows.chunk_read(1);
        Ok(())
    };
    let result = in_span(table, insert, operation, 1).await;
    let result = crate::scope::settled::<DB, _>(session.conn(), result).await;
    session.release();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of what `f` returns, without calling it.
    fn output_size<A, R, F: FnOnce(A) -> R>(_: &F) -> usize {
        size_of::<R>()
    }

    /// The size of a `create()`'s operation on `DB`.
    fn create_job_size<DB: Backend>() -> usize {
        type Args<DB> = (
            Bound<'static, DB>,
            &'static Table,
            CreateJob<'static, DB>,
            bool,
        );
        let start = |(session, table, job, savepoint): Args<DB>| {
            create_job::<DB>(session, table, job, savepoint)
        };
        output_size(&start)
    }

    /// A `create()`'s operation is boxed at every call besides the small [`Finish`] that
    /// `tests/create.rs` measures: at most what glibc's per-thread cache serves (blocks up to
    /// 1 032 bytes).
    #[test]
    fn create_job_stays_small() {
        let mut sizes = Vec::new();
        #[cfg(feature = "sqlite")]
        sizes.push(("sqlite", create_job_size::<sqlx::Sqlite>()));
        #[cfg(feature = "postgres")]
        sizes.push(("postgres", create_job_size::<sqlx::Postgres>()));
        #[cfg(feature = "mysql")]
        sizes.push(("mysql", create_job_size::<sqlx::MySql>()));
        for (backend, size) in sizes {
            assert!(
                size <= 1024,
                "create_job's future is {size} bytes on {backend}"
            );
        }
    }
}
