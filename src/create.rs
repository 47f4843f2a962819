//! The insert path: `create` and `create_batch`, the futures they return, parent rows and
//! after-create steps.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::sync::Arc;

use sqlx::Arguments;
use sqlx::error::BoxDynError;

use crate::backend::{Backend, SMALL_BATCH_BYTES, row_too_large};
use crate::bulk::{Args, ChunkSource, InsertMany};
use crate::error::{Error, Kept, Operation, Step};
use crate::future::{BoxFuture, overlap};
use crate::model::{Insert, Model, RowSource, Rows};
use crate::scope::{Scope, in_transaction};
use crate::session::{Bound, NoSession, Session};
use crate::sql::{ColumnSet, binds_per_row};
use crate::state::{AfterCreate, FactoryState};

mod race;

/// The futures `create()` / `create_batch()` resolve to in each state.
///
/// Implemented for every state and every model, with no further bound, so that `.await` on
/// the result of a `create()` the compiler rejected adds no second error to the first.
pub trait Pending<M> {
    /// The future of one insert.
    type Create: Future<Output = Result<M, Error>>;
    /// The future of a batch insert.
    type CreateBatch: Future<Output = Result<Vec<M>, Error>>;
    /// The future of a seed (`insert_many`).
    type InsertMany: Future<Output = Result<u64, Error>>;
    /// The future of a `get_or_create()`: the row, and whether it was inserted.
    type GetOrCreate: Future<Output = Result<(M, bool), Error>>;
    /// The future of a `get_or_create_batch(n)`: each row, and whether it was inserted.
    type GetOrCreateBatch: Future<Output = Result<Vec<(M, bool)>, Error>>;
}

/// Never awaited: `create` requires [`Session`], which [`NoSession`] does not implement.
impl<M> Pending<M> for NoSession {
    type Create = std::future::Pending<Result<M, Error>>;
    type CreateBatch = std::future::Pending<Result<Vec<M>, Error>>;
    type InsertMany = std::future::Pending<Result<u64, Error>>;
    type GetOrCreate = std::future::Pending<Result<(M, bool), Error>>;
    type GetOrCreateBatch = std::future::Pending<Result<Vec<(M, bool)>, Error>>;
}

impl<'c, DB: Backend, M> Pending<M> for Bound<'c, DB> {
    type Create = BoxFuture<'c, Result<M, Error>>;
    type CreateBatch = BoxFuture<'c, Result<Vec<M>, Error>>;
    type InsertMany = BoxFuture<'c, Result<u64, Error>>;
    type GetOrCreate = BoxFuture<'c, Result<(M, bool), Error>>;
    type GetOrCreateBatch = BoxFuture<'c, Result<Vec<(M, bool)>, Error>>;
}

/// A state that can insert `M`: a bound session whose backend stores every column of `M`.
///
/// `NoSession` implements it too (its futures never run), so that `create()` on an unbound
/// factory is reported once, by [`Session`].
#[diagnostic::on_unimplemented(
    message = "`{M}` cannot be created through `{Self}`: a field's type cannot be stored there",
    label = "`{M}` has a field type without sqlx's `Encode`, `Decode` and `Type` for this backend",
    note = "`build()` works on any model; to create it, use a backend whose sqlx types cover every field (a `Vec<T>` array exists only on PostgreSQL), or change that field's type"
)]
pub trait State<M: Model>: Pending<M> + Sized {
    /// Starts one insert.
    fn insert_one(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::Create;
    /// Starts a batch insert.
    fn insert_batch(state: FactoryState<Self, M>, rows: Batch<M>) -> Self::CreateBatch;
    /// Starts a seed.
    fn insert_many(job: InsertMany<Self, M>) -> Self::InsertMany;
    /// Starts a `get_or_create()`.
    fn get_or_create_one(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::GetOrCreate;
    /// Starts a `get_or_create_batch(n)`.
    fn get_or_create_batch(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::GetOrCreateBatch;
}

impl<M: Model> State<M> for NoSession {
    fn insert_one(_: FactoryState<Self, M>, _: Rows<M>) -> Self::Create {
        std::future::pending()
    }

    fn insert_batch(_: FactoryState<Self, M>, _: Batch<M>) -> Self::CreateBatch {
        std::future::pending()
    }

    fn insert_many(_: InsertMany<Self, M>) -> Self::InsertMany {
        std::future::pending()
    }

    fn get_or_create_one(_: FactoryState<Self, M>, _: Rows<M>) -> Self::GetOrCreate {
        std::future::pending()
    }

    fn get_or_create_batch(_: FactoryState<Self, M>, _: Rows<M>) -> Self::GetOrCreateBatch {
        std::future::pending()
    }
}

// Reported as `State` with its own message (model and backend), rather than as the three
// sqlx traits (`Encode`, `Type`, `Decode`) each failing field type misses.
#[diagnostic::do_not_recommend]
impl<'c, DB: Backend, M: Insert<DB>> State<M> for Bound<'c, DB> {
    fn insert_one(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::Create {
        // Boxed apart: a plain create's future is a fraction of the size of `run`'s, and the
        // box is allocated and moved into at every `create()`.
        if plain_one::<DB, M>(&state, &rows) {
            return Box::pin(create_plain::<DB, M>(state, rows));
        }
        Box::pin(create_general::<DB, M>(state, rows))
    }

    fn insert_batch(state: FactoryState<Self, M>, rows: Batch<M>) -> Self::CreateBatch {
        let operation = Operation::CreateBatch { rows: rows.len() };
        match rows {
            Batch::Drawn(rows) => Box::pin(run::<DB, M>(state, rows, operation, None)),
            Batch::Lazy(lazy) => Box::pin(run_lazy::<DB, M>(state, lazy, operation)),
        }
    }

    fn insert_many(job: InsertMany<Self, M>) -> Self::InsertMany {
        Box::pin(crate::bulk::run::<DB, M>(job))
    }

    fn get_or_create_one(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::GetOrCreate {
        Box::pin(async move {
            let mut rows = run_reporting::<DB, M>(state, rows, Operation::Create).await?;
            match rows.pop() {
                Some(row) => Ok(row),
                None => Err(Error::new(
                    M::FACTORY,
                    M::TABLE,
                    Operation::Create,
                    sqlx::Error::RowNotFound,
                )),
            }
        })
    }

    fn get_or_create_batch(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::GetOrCreateBatch {
        let operation = Operation::CreateBatch {
            rows: rows.rows.len(),
        };
        Box::pin(run_reporting::<DB, M>(state, rows, operation))
    }
}

/// [`run`], each row with whether it was inserted (`false`: a stored row found by its
/// `get_or_create` key, or the row of a key an earlier row of the operation inserted).
async fn run_reporting<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>, M>,
    rows: Rows<M>,
    operation: Operation,
) -> Result<Vec<(M, bool)>, Error> {
    let mut inserted = Vec::with_capacity(rows.rows.len());
    let rows = run::<DB, M>(state, rows, operation, Some(&mut inserted)).await?;
    Ok(rows.into_iter().zip(inserted).collect())
}

// Hidden from "the trait is implemented for" hints: the error's own note says what to do.
#[diagnostic::do_not_recommend]
impl<'c, DB: Backend, M> Session<M> for Bound<'c, DB> {}

/// The pending result of `create()`: `.await` it to insert the row.
///
/// The row's values were drawn when `create()` was called; nothing is sent until it is
/// awaited. The future is `Send`, so it can run inside `tokio::spawn`.
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
/// sqlx::raw_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT)").execute(&mut conn).await?;
/// let pending = Tag::factory().with_session(&mut conn).name("sql").create();
/// let tag = pending.await?; // the INSERT ... RETURNING runs here
/// assert_eq!((tag.id, tag.name.as_str()), (1, "sql"));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[must_use = "nothing is inserted until the result of `create()` is awaited"]
pub struct Create<S: Pending<M>, M: Model> {
    state: FactoryState<S, M>,
    rows: Rows<M>,
    // Chosen by `create()`, where `S: State<M>` is known, so `IntoFuture` needs no bound.
    start: fn(FactoryState<S, M>, Rows<M>) -> S::Create,
}

/// `new` and `IntoFuture` of a pending operation on drawn rows: `$future` is its future in
/// [`Pending`], `$start` the [`State`] method that starts it.
macro_rules! pending_rows {
    ($name:ident, $future:ident, $start:ident, $output:ty) => {
        impl<S: State<M>, M: Model> $name<S, M> {
            #[doc(hidden)]
            pub fn new(state: FactoryState<S, M>, rows: Rows<M>) -> Self {
                $name {
                    state,
                    rows,
                    start: S::$start,
                }
            }
        }

        impl<S: Pending<M>, M: Model> IntoFuture for $name<S, M> {
            type Output = Result<$output, Error>;
            type IntoFuture = S::$future;

            fn into_future(self) -> Self::IntoFuture {
                (self.start)(self.state, self.rows)
            }
        }
    };
}

pending_rows!(Create, Create, insert_one, M);

/// The pending result of `create_batch(n)`: `.await` it to insert the rows, in multi-row
/// INSERTs of at most 500 rows (fewer when the backend's bind-parameter limit says so).
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     #[factory(primary_key)]
///     id: i64,
///     #[factory(sequence = |n| format!("tag{n}"))]
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT UNIQUE)").execute(&mut conn).await?;
/// let tags = Tag::factory().with_session(&mut conn).create_batch(1_200).await?; // 3 INSERTs
/// assert_eq!(tags.len(), 1_200);
/// assert!(tags.windows(2).all(|w| w[0].id < w[1].id)); // in the order sent
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[must_use = "nothing is inserted until the result of `create_batch()` is awaited"]
pub struct CreateBatch<S: Pending<M>, M: Model> {
    state: FactoryState<S, M>,
    rows: Batch<M>,
    start: fn(FactoryState<S, M>, Batch<M>) -> S::CreateBatch,
}

impl<S: State<M>, M: Model> CreateBatch<S, M> {
    #[doc(hidden)]
    pub fn new(state: FactoryState<S, M>, rows: Rows<M>) -> Self {
        CreateBatch {
            state,
            rows: Batch::Drawn(rows),
            start: S::insert_batch,
        }
    }

    /// A batch drawn chunk by chunk as it is sent, from one generator started now (so the
    /// values are those an eager draw would give).
    #[doc(hidden)]
    pub fn lazy(state: FactoryState<S, M>, source: Box<dyn ChunkSource<M>>, n: usize) -> Self {
        let seed = source.seed();
        CreateBatch {
            state,
            rows: Batch::Lazy(LazyRows {
                draw: crate::seed::draw(seed),
                source,
                seed,
                n,
            }),
            start: S::insert_batch,
        }
    }
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
    fn len(&self) -> usize {
        match self {
            Batch::Drawn(rows) => rows.rows.len(),
            Batch::Lazy(lazy) => lazy.n,
        }
    }
}

/// A batch's generator and the factory it draws from.
#[doc(hidden)]
pub struct LazyRows<M: Model> {
    source: Box<dyn ChunkSource<M>>,
    draw: crate::seed::Draw,
    seed: Option<u64>,
    n: usize,
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

impl<S: Pending<M>, M: Model> IntoFuture for CreateBatch<S, M> {
    type Output = Result<Vec<M>, Error>;
    type IntoFuture = S::CreateBatch;

    fn into_future(self) -> Self::IntoFuture {
        (self.start)(self.state, self.rows)
    }
}

/// The pending result of `get_or_create()` on a model with `#[factory(get_or_create(..))]`:
/// `.await` it for the row and whether it was inserted, as Django's `get_or_create` returns
/// `(object, created)`. `false`: a stored row with this key was found and returned as stored.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "users", get_or_create(email))]
/// struct User {
///     #[factory(primary_key)]
///     id: i64,
///     email: String,
///     /// Not a column: what the factory was given, never read from the database.
///     #[sqlx(skip)]
///     #[factory(transient, default = "secret".to_string())]
///     password: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE)").execute(&mut conn).await?;
/// let (admin, created) = User::factory().with_session(&mut conn).email("admin@example.com").get_or_create().await?;
/// assert!(created);
/// let (again, created) = User::factory().with_session(&mut conn).email("admin@example.com").password("other").get_or_create().await?;
/// assert!(!created); // found: the stored row, with this call's transient values
/// assert_eq!((again.id, again.password.as_str()), (admin.id, "other"));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[must_use = "nothing is inserted until the result of `get_or_create()` is awaited"]
pub struct GetOrCreate<S: Pending<M>, M: Model> {
    state: FactoryState<S, M>,
    rows: Rows<M>,
    start: fn(FactoryState<S, M>, Rows<M>) -> S::GetOrCreate,
}

pending_rows!(GetOrCreate, GetOrCreate, get_or_create_one, (M, bool));

/// The pending result of `get_or_create_batch(n)`: `.await` it for each row, in order, with
/// whether it was inserted (`false` for a stored row found by its key, and for a row whose key
/// an earlier row of the same batch inserted).
#[must_use = "nothing is inserted until the result of `get_or_create_batch()` is awaited"]
pub struct GetOrCreateBatch<S: Pending<M>, M: Model> {
    state: FactoryState<S, M>,
    rows: Rows<M>,
    start: fn(FactoryState<S, M>, Rows<M>) -> S::GetOrCreateBatch,
}

pending_rows!(
    GetOrCreateBatch,
    GetOrCreateBatch,
    get_or_create_batch,
    Vec<(M, bool)>
);

/// Parents, the INSERTs, then the after-create steps, all on the bound connection.
///
/// An operation that may send more than one writing statement (chunks, parents, related rows,
/// hooks), or that asked for `.in_savepoint()`, runs in a [`Scope`]: a savepoint inside the
/// caller's transaction, a transaction of its own on a bare connection, undone on error,
/// cancellation and panic. A single INSERT is sent as it is, one statement.
async fn run<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>, M>,
    rows: Rows<M>,
    operation: Operation,
    inserted: Option<&mut Vec<bool>>,
) -> Result<Vec<M>, Error> {
    let FactoryState {
        mut session,
        after_create,
        savepoint,
        ..
    } = state;
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    session.acquire().await.map_err(error)?;
    if !savepoint && after_create.is_empty() && one_write::<DB, M>(&rows) {
        let kept = if in_transaction::<DB>(session.conn()) {
            Kept::InTransaction
        } else {
            Kept::Committed
        };
        let result =
            run_steps::<DB, M>(&mut session, rows, &after_create, operation, kept, inserted).await;
        let result = crate::scope::settled::<DB, _>(session.conn(), result).await;
        session.release();
        return result;
    }
    let mut scope = Scope::begin(&mut session).await.map_err(error)?;
    let result = run_steps::<DB, M>(
        scope.session(),
        rows,
        &after_create,
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
async fn run_lazy<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>, M>,
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
            let steps =
                run_after_create::<DB, M>(scope.session(), &created, &after_create, operation)
                    .await;
            steps.map(|()| created)
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
fn one_write<DB: Backend, M: Insert<DB>>(rows: &Rows<M>) -> bool {
    if M::needs_parents(&rows.parents) {
        return false;
    }
    if !M::GET_OR_CREATE.is_empty() && rows.rows.len() > 1 {
        let keys: Vec<M::LookupKey> = rows.rows.iter().map(M::lookup_key).collect();
        for (i, key) in keys.iter().enumerate() {
            if !M::lookup_key_has_null(key) && keys[..i].contains(key) {
                return false;
            }
        }
    }
    match rows.rows.len() {
        0 | 1 => true,
        n => {
            n <= rows_per_statement::<DB>(binds_per_row(M::COLUMNS, rows.set))
                && batch_bytes::<DB, M>(&rows.rows) <= SMALL_BATCH_BYTES
        }
    }
}

fn batch_bytes<DB: Backend, M: Insert<DB>>(rows: &[M]) -> usize {
    rows.iter().map(Insert::<DB>::wire_size).sum()
}

async fn run_steps<'c, DB: Backend, M: Insert<DB>>(
    session: &mut Bound<'c, DB>,
    rows: Rows<M>,
    after_create: &[Box<dyn AfterCreate<M, Bound<'c, DB>>>],
    operation: Operation,
    kept: Kept,
    inserted: Option<&mut Vec<bool>>,
) -> Result<Vec<M>, Error> {
    let count = rows.rows.len();
    let created = in_span::<M, _>(
        insert_or_get::<DB, M>(session.conn(), rows, operation, kept, inserted),
        operation,
        count,
    )
    .await?;
    run_after_create::<DB, M>(session, &created, after_create, operation).await?;
    Ok(created)
}

async fn run_after_create<'c, DB: Backend, M: Insert<DB>>(
    session: &mut Bound<'c, DB>,
    created: &[M],
    after_create: &[Box<dyn AfterCreate<M, Bound<'c, DB>>>],
    operation: Operation,
) -> Result<(), Error> {
    for (i, step) in after_create.iter().enumerate() {
        let error = |e| {
            Error::wrap(
                M::FACTORY,
                M::TABLE,
                operation,
                Step::AfterCreate { index: i + 1 },
                e,
            )
        };
        step.run(created, session).await.map_err(error)?;
        // A nested operation of the step (a hook's, whose error the hook handled) found the
        // transaction gone: nothing more of this operation may be sent, it would autocommit.
        if crate::scope::is_gone::<DB>(session.conn()) {
            return Err(crate::scope::transaction_gone(error(
                crate::scope::GONE_IN_STEP.into(),
            )));
        }
    }
    Ok(())
}

/// Creates the parents `rows` asks for, then inserts `rows` in chunks; in a `tracing` span
/// with the `tracing` feature.
pub(crate) async fn insert_rows<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
    kept: Kept,
) -> Result<Vec<M>, Error> {
    let count = rows.rows.len();
    in_span::<M, _>(
        insert_or_get::<DB, M>(conn, rows, operation, kept, None),
        operation,
        count,
    )
    .await
}

/// `insert` in a `sqlx_factory::insert` span naming factory, table, operation and row count,
/// with the `tracing` feature.
async fn in_span<M: Model, T>(
    insert: impl Future<Output = T>,
    operation: Operation,
    rows: usize,
) -> T {
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument;
        let span = tracing::debug_span!(
            "sqlx_factory::insert",
            factory = M::FACTORY,
            table = M::TABLE,
            operation = %operation,
            rows,
        );
        // No subscriber wants the span: entering and leaving it at every poll would still
        // cost (and, with `tracing`'s `log` feature that sqlx turns on, a log check each time:
        // a tenth of what a plain `create()` adds on SQLite, by callgrind).
        if span.is_disabled() {
            insert.await
        } else {
            insert.instrument(span).await
        }
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (operation, rows);
        insert.await
    }
}

/// A `create()` the general way: [`run`], its one row out of the created ones.
async fn create_general<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>, M>,
    rows: Rows<M>,
) -> Result<M, Error> {
    let created = run::<DB, M>(state, rows, Operation::Create, None).await?;
    created.into_iter().next().ok_or_else(|| {
        Error::new(
            M::FACTORY,
            M::TABLE,
            Operation::Create,
            sqlx::Error::RowNotFound,
        )
    })
}

/// Whether a `create()` is its one INSERT and nothing around it: no parents to create, no
/// get-or-create lookup, no hook, no savepoint asked for. Its size is looked at when the
/// future first runs ([`create_plain`]): measuring runs the values' `Encode`, which must not
/// run (or panic) where `create()` is called.
fn plain_one<DB: Backend, M: Insert<DB>>(
    state: &FactoryState<Bound<'_, DB>, M>,
    rows: &Rows<M>,
) -> bool {
    !state.savepoint
        && state.after_create.is_empty()
        && M::GET_OR_CREATE.is_empty()
        && rows.rows.len() == 1
        && !M::needs_parents(&rows.parents)
}

/// A [`plain_one`] `create()`: its one `INSERT .. RETURNING`, with the statement, span and
/// errors that the way through [`run`] and [`send_chunks`] gives, without their layers. Its
/// future is boxed at every `create()`: through `send_chunks` it was 2 968 bytes, past what
/// the allocator keeps at hand, and allocating and filling it was a quarter of what the
/// factory added to a hand-written `query_as(..).fetch_one` (callgrind on SQLite).
async fn create_plain<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>, M>,
    rows: Rows<M>,
) -> Result<M, Error> {
    // A row over 1 MiB goes the general way, which asks the server's statement limit first;
    // boxed, so that this future stays small.
    if batch_bytes::<DB, M>(&rows.rows) > SMALL_BATCH_BYTES {
        return Box::pin(create_general::<DB, M>(state, rows)).await;
    }
    let FactoryState { mut session, .. } = state;
    let operation = Operation::Create;
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    session.acquire().await.map_err(error)?;
    let conn = session.conn();
    let kept = if in_transaction::<DB>(conn) {
        Kept::InTransaction
    } else {
        Kept::Committed
    };
    let Rows { rows, set, .. } = rows;
    let insert = async move {
        let Some(row) = rows.into_iter().next() else {
            return Err(error(sqlx::Error::RowNotFound));
        };
        let per_row = binds_per_row(M::COLUMNS, set);
        let mut args = DB::Arguments::default();
        args.reserve(per_row, per_row * 8);
        let transient = row
            .bind(set, &mut Args::<DB>(&mut args))
            .map_err(|e| error(sqlx::Error::Encode(e)).at(Step::Insert))?;
        let sql = M::sql_cache().insert_sql::<DB, M>(set, 1);
        let returned = DB::fetch_one(conn, sql, args)
            .await
            .map_err(|e| error(e).at(Step::Insert))?;
        let decoded = M::check_returned(&returned).and_then(|()| M::from_row(&returned));
        let mut created = decoded.map_err(|e| error(e).at(Step::Decode).kept(kept))?;
        created.restore_transient(transient);
        Ok(created)
    };
    let result = in_span::<M, _>(insert, operation, 1).await;
    let result = crate::scope::settled::<DB, _>(session.conn(), result).await;
    session.release();
    result
}

/// The rows inserted, or got or created; `inserted` (when asked) says of each row whether it
/// was inserted.
async fn insert_or_get<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
    kept: Kept,
    inserted: Option<&mut Vec<bool>>,
) -> Result<Vec<M>, Error> {
    if M::GET_OR_CREATE.is_empty() {
        let created = insert_new::<DB, M>(conn, rows, operation, kept).await?;
        if let Some(inserted) = inserted {
            inserted.extend(created.iter().map(|_| true));
        }
        Ok(created)
    } else {
        get_or_create::<DB, M>(conn, rows, operation, kept, inserted).await
    }
}

/// Creates the parents, then sends the rows in chunks under the bind limit and the server's
/// statement size, each an `INSERT .. RETURNING` decoded in order.
async fn insert_new<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
    kept: Kept,
) -> Result<Vec<M>, Error> {
    let Rows {
        mut rows,
        set,
        mut parents,
        seed,
    } = rows;
    if let Some(parents) = M::create_parents(&mut parents, &mut rows, &mut *conn, operation, seed) {
        parents.await?;
    }
    insert_created::<DB, M>(conn, rows, set, &mut parents, operation, kept, seed).await
}

/// Rows whose parents exist: their INSERTs read back whole, then the `back_reference` step
/// that needs them (a parent pointing back at its row).
async fn insert_created<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Vec<M>,
    set: ColumnSet,
    parents: &mut M::Parents,
    operation: Operation,
    kept: Kept,
    seed: Option<u64>,
) -> Result<Vec<M>, Error> {
    let mut created = Vec::with_capacity(rows.len());
    let mut numbering = Numbering { index: 0, of: 0 };
    send_chunks::<DB, M>(
        conn,
        rows,
        set,
        operation,
        kept,
        &mut numbering,
        &mut Created {
            rows: &mut created,
            transient: Vec::new(),
        },
    )
    .await?;
    if let Some(step) = M::after_insert(parents, &mut created, &mut *conn, operation, seed) {
        step.await?;
    }
    Ok(created)
}

/// Where a batch's statements are, for errors: `index` statements were sent before, of `of`
/// (0: the count of this call's chunks, all drawn at once).
struct Numbering {
    index: usize,
    of: usize,
}

/// What each chunk's `INSERT .. RETURNING` reads back, and where it goes: the created rows
/// ([`Created`]) or a parent's key alone ([`Keys`]).
trait ReadBack<DB: Backend, M: Insert<DB>>: Send {
    /// The INSERT text for `count` rows sending the columns `set`.
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str>;
    /// Rows read back so far: a chunk's first row is the one after them.
    fn len(&self) -> usize;
    /// What binding a row left (its transient values), kept until its row is read back.
    fn bound(&mut self, transient: M::Transient);
    /// Binds `row` into the statement's `args` and keeps what binding left ([`Self::bound`]).
    fn bind(
        &mut self,
        row: M,
        set: ColumnSet,
        args: &mut DB::Arguments,
    ) -> Result<(), BoxDynError> {
        let transient = row.bind(set, &mut Args::<DB>(args))?;
        self.bound(transient);
        Ok(())
    }
    /// One returned row, in the order the rows were sent.
    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error>;
    /// After the last `count` rows were read back.
    fn chunk_read(&mut self, count: usize) {
        let _ = count;
    }
}

/// The created rows, whole, with their transient values restored.
struct Created<'a, M: Model> {
    rows: &'a mut Vec<M>,
    transient: Vec<M::Transient>,
}

impl<DB: Backend, M: Insert<DB>> ReadBack<DB, M> for Created<'_, M> {
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        M::sql_cache().insert_sql::<DB, M>(set, count)
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn bound(&mut self, transient: M::Transient) {
        self.transient.push(transient);
    }

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        M::check_returned(row)?;
        self.rows.push(M::from_row(row)?);
        Ok(())
    }

    fn chunk_read(&mut self, count: usize) {
        let start = self.rows.len() - count;
        for (row, transient) in self.rows[start..].iter_mut().zip(self.transient.drain(..)) {
            row.restore_transient(transient);
        }
    }
}

/// A parent's key column alone, decoded as `T`.
struct Keys<P, T> {
    keys: Vec<T>,
    key: ParentKey<P, T>,
}

impl<DB: Backend, P: Insert<DB>, T> ReadBack<DB, P> for Keys<P, T>
where
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
{
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        P::sql_cache().seed_key_sql::<DB, P>(set, count, self.key.column)
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn bound(&mut self, _transient: P::Transient) {}

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        // NULL where the child's field takes `None` is a key that did not come back (SQLite
        // stores NULL in a non-`INTEGER` primary key given no value).
        match DB::first_column::<Option<T>>(row)? {
            Some(value) => {
                self.keys.push(value);
                Ok(())
            }
            None => Err(sqlx::Error::Protocol(format!(
                "the database returned NULL for the key `{}` of a `{}` created as a parent: \
                 give the key a value with `#[factory(default = ..)]` or `sequence`",
                self.key.column,
                P::TABLE
            ))),
        }
    }
}

/// Sends `rows` in chunks under the bind limit and the server's statement size, each an
/// `INSERT .. RETURNING` read back in order into `read`.
async fn send_chunks<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Vec<M>,
    set: ColumnSet,
    operation: Operation,
    kept: Kept,
    numbering: &mut Numbering,
    read: &mut impl ReadBack<DB, M>,
) -> Result<(), Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    // One small row, `create()`'s case: one statement, no list of sizes to allocate.
    let one = rows.len() == 1 && batch_bytes::<DB, M>(&rows) <= SMALL_BATCH_BYTES;
    let chunks = if one {
        std::borrow::Cow::Borrowed(&[1][..])
    } else {
        match chunk_sizes::<DB, M>(conn, &rows, set).await {
            Ok(chunks) => std::borrow::Cow::Owned(chunks),
            Err(ChunkError::Sqlx(e)) => return Err(error(e)),
            Err(ChunkError::TooLarge(why)) => return Err(too_large::<M>(operation, why)),
        }
    };
    let per_row = binds_per_row(M::COLUMNS, set);
    let of = match numbering.of {
        0 => chunks.len(),
        of => of.max(numbering.index + chunks.len()),
    };
    let mut rows = rows.into_iter();
    for &count in chunks.iter() {
        numbering.index += 1;
        let index = numbering.index;
        let first_row = read.len() + 1;
        // The step names the chunk when there are several, and what is left of a decoded
        // failure when there is one.
        let step = |decoding: bool| match of {
            1 if decoding => Step::Decode,
            1 => Step::Insert,
            of => Step::Chunk {
                index,
                of,
                first_row,
                last_row: first_row + count - 1,
            },
        };
        let fail = |source: sqlx::Error, decoding: bool| {
            let mut e = Error::new(M::FACTORY, M::TABLE, operation, source).at(step(decoding));
            if decoding {
                e = e.kept(kept);
            }
            e
        };
        let sql = read.sql(set, count);
        let mut args = DB::Arguments::default();
        args.reserve(count * per_row, count * per_row * 8);
        for row in rows.by_ref().take(count) {
            read.bind(row, set, &mut args)
                .map_err(|e| fail(sqlx::Error::Encode(e), false))?;
        }
        if count == 1 {
            let row = DB::fetch_one(&mut *conn, sql, args)
                .await
                .map_err(|e| fail(e, false))?;
            read.read(&row).map_err(|e| fail(e, true))?;
        } else {
            // Each row is read as it arrives and dropped, as sqlx's `query_as` does: holding
            // a statement's rows until the last one came cost the allocator more than the
            // decode (callgrind, `create_batch_10k` on SQLite).
            let mut returned = 0usize;
            let mut unread = None;
            let mut each = |row: &<DB as sqlx::Database>::Row| {
                returned += 1;
                read.read(row).map_err(|e| {
                    unread = Some(e);
                    // Stops reading; the error kept above is the one reported.
                    sqlx::Error::RowNotFound
                })
            };
            let sent = DB::fetch_each(&mut *conn, sql, args, &mut each).await;
            if let Some(e) = unread {
                return Err(fail(e, true));
            }
            sent.map_err(|e| fail(e, false))?;
            if returned != count {
                return Err(fail(
                    sqlx::Error::Protocol(format!(
                        "INSERT of {count} rows returned {returned} rows"
                    )),
                    false,
                ));
            }
        }
        read.chunk_read(count);
    }
    Ok(())
}

/// How many rows each INSERT carries: at most [`rows_per_statement`], and, for rows that add
/// up to more than [`SMALL_BATCH_BYTES`], at most three quarters of the server's statement
/// limit in values (room for the SQL text and each value's framing), the limit asked once per
/// such operation. A row that alone exceeds the limit is refused before anything is sent: the
/// server would drop the connection, and the caller's transaction with it.
async fn chunk_sizes<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: &[M],
    set: ColumnSet,
) -> Result<Vec<usize>, ChunkError> {
    let most = rows_per_statement::<DB>(binds_per_row(M::COLUMNS, set));
    if batch_bytes::<DB, M>(rows) <= SMALL_BATCH_BYTES {
        let mut sizes = vec![most; rows.len() / most];
        if !rows.len().is_multiple_of(most) {
            sizes.push(rows.len() % most);
        }
        return Ok(sizes);
    }
    let (limit, name) = DB::statement_limit(conn).await?;
    let budget = limit / 4 * 3;
    let mut sizes = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for (i, row) in rows.iter().enumerate() {
        let size = row.wire_size();
        if size > budget {
            return Err(ChunkError::TooLarge(row_too_large(
                i as u64 + 1,
                size,
                limit,
                name,
                "nothing was sent",
            )));
        }
        if count > 0 && (count == most || bytes + size > budget) {
            sizes.push(count);
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += size;
    }
    sizes.push(count);
    Ok(sizes)
}

/// A row or key refused before sending: larger than one statement may be ([`row_too_large`]).
fn too_large<M: Model>(operation: Operation, why: String) -> Error {
    Error::wrap(M::FACTORY, M::TABLE, operation, Step::Insert, why.into())
}

/// Why rows could not be split into statements.
enum ChunkError {
    /// Asking the server's limit failed.
    Sqlx(sqlx::Error),
    /// A row is larger than one statement may be.
    TooLarge(String),
}

impl From<sqlx::Error> for ChunkError {
    fn from(e: sqlx::Error) -> Self {
        ChunkError::Sqlx(e)
    }
}

/// Where a get-or-create row's result comes from.
enum Source {
    /// The stored row at this index of the lookup.
    Found(usize),
    /// The row inserted at this index.
    Inserted(usize),
    /// The same key as an earlier row of the operation that was inserted: read back after.
    Repeat,
}

/// `get_or_create`: the stored rows of the keys that exist are looked up first (so a get
/// creates no parent, unless the key holds a parent's key: then every parent is got or
/// created first), and only the other rows are inserted, with their parents, as
/// [`insert_new`] does. A key with a NULL part never matches (NULL is not equal to NULL): its
/// row is always inserted. A key repeated in one operation is inserted once.
async fn get_or_create<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
    kept: Kept,
    reported: Option<&mut Vec<bool>>,
) -> Result<Vec<M>, Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let Rows {
        mut rows,
        set,
        mut parents,
        seed,
    } = rows;
    // Until its parent exists, an association's field holds a placeholder that matches no
    // stored row: the parents (got or created by their own factories) come first.
    if M::KEY_HAS_PARENT
        && let Some(step) = M::create_parents(&mut parents, &mut rows, &mut *conn, operation, seed)
    {
        step.await?;
    }
    let keys: Vec<M::LookupKey> = rows.iter().map(M::lookup_key).collect();
    let mut wanted: Vec<&M::LookupKey> = Vec::new();
    for key in &keys {
        if !M::lookup_key_has_null(key) && !wanted.contains(&key) {
            wanted.push(key);
        }
    }
    // Keys measured where the backend measures values: a lookup of large keys is split under
    // the server's statement limit, and a key alone over it refused before anything is sent
    // (MariaDB drops the connection, and the caller's transaction with it).
    let budget = if wanted
        .iter()
        .map(|key| M::lookup_key_size(key))
        .sum::<usize>()
        <= SMALL_BATCH_BYTES
    {
        None
    } else {
        let (limit, name) = DB::statement_limit(conn).await.map_err(error)?;
        let budget = limit / 4 * 3;
        for (i, key) in keys.iter().enumerate() {
            let size = M::lookup_key_size(key);
            if size > budget {
                let why = row_too_large(i as u64 + 1, size, limit, name, "nothing was sent");
                return Err(too_large::<M>(operation, why));
            }
        }
        Some(budget)
    };
    let found = select_by_keys::<DB, M>(conn, &wanted, budget, false)
        .await
        .map_err(error)?;
    let mut sources = Vec::with_capacity(rows.len());
    let mut new_rows = Vec::new();
    let mut new_keys: Vec<&M::LookupKey> = Vec::new();
    let mut transients = Vec::new();
    for (row, key) in rows.into_iter().zip(&keys) {
        let has_null = M::lookup_key_has_null(key);
        if !has_null && let Some(i) = found.iter().position(|(k, _)| k == key) {
            // Not inserted: its transient values still go into the row returned for it.
            let mut scratch = DB::Arguments::default();
            let transient = row
                .bind(set, &mut Args::<DB>(&mut scratch))
                .map_err(|e| error(sqlx::Error::Encode(e)))?;
            sources.push(Source::Found(i));
            transients.push(Some(transient));
        } else if !has_null && new_keys.contains(&key) {
            let mut scratch = DB::Arguments::default();
            let transient = row
                .bind(set, &mut Args::<DB>(&mut scratch))
                .map_err(|e| error(sqlx::Error::Encode(e)))?;
            sources.push(Source::Repeat);
            transients.push(Some(transient));
        } else {
            sources.push(Source::Inserted(new_rows.len()));
            transients.push(None);
            new_keys.push(key);
            new_rows.push(row);
        }
    }
    let inserted = Rows {
        rows: new_rows,
        set,
        parents,
        seed,
    };
    // The new rows were inserted by another connection first (their INSERT lost the race).
    let mut raced = false;
    // Of each new row, whether this operation inserted it (when known row by row).
    let mut ours = Vec::new();
    let mut inserted: Vec<Option<M>> =
        match insert_keys_new::<DB, M>(conn, inserted, &new_keys, operation, kept, &mut ours)
            .await
        {
            Ok(rows) => rows.into_iter().map(Some).collect(),
            Err((e, None)) => return Err(e),
            Err((e, Some(transients))) => {
                raced = true;
                // Another connection inserted one of these keys between the lookup and the INSERT
                // (parallel tests that share a default row): the row that won is the stored row
                // for that key. Only when every new key is now found; otherwise the clash was on
                // another unique column, and that error stands.
                let again = select_by_keys::<DB, M>(conn, &new_keys, budget, true)
                    .await
                    .map_err(error)?;
                let mut won = Vec::with_capacity(new_keys.len());
                for (key, transient) in new_keys.iter().zip(transients) {
                    let stored = (!M::lookup_key_has_null(key))
                        .then(|| again.iter().find(|(k, _)| k == *key))
                        .flatten();
                    let Some((_, stored)) = stored else {
                        return Err(e);
                    };
                    let mut row = M::check_returned(stored)
                        .and_then(|()| M::from_row(stored))
                        .map_err(error)?;
                    row.restore_transient(transient);
                    won.push(Some(row));
                }
                won
            }
        };
    raced |= ours.contains(&false);
    // Each repeated key once: 300 rows of one 100 kB key are one key to read back, not 30 MB.
    let mut repeats: Vec<&M::LookupKey> = Vec::new();
    for (source, key) in sources.iter().zip(&keys) {
        if matches!(source, Source::Repeat) && !repeats.contains(&key) {
            repeats.push(key);
        }
    }
    let read_back = if repeats.is_empty() {
        Vec::new()
    } else {
        // After a lost race the key's row is another transaction's: a snapshot taken at the
        // lookup (MariaDB's REPEATABLE READ) does not see it, the latest committed rows do.
        select_by_keys::<DB, M>(conn, &repeats, budget, raced)
            .await
            .map_err(error)?
    };
    let decode = |rows: &[(M::LookupKey, DB::Row)], key: &M::LookupKey| {
        rows.iter()
            .find(|(k, _)| k == key)
            .map(|(_, row)| M::check_returned(row).and_then(|()| M::from_row(row)))
    };
    let mut out = Vec::with_capacity(sources.len());
    let mut reported = reported;
    for ((source, key), transient) in sources.into_iter().zip(&keys).zip(transients) {
        if let Some(reported) = reported.as_mut() {
            reported.push(match source {
                Source::Inserted(i) => ours.get(i).copied().unwrap_or(!raced),
                _ => false,
            });
        }
        let mut row = match source {
            Source::Inserted(i) => match inserted[i].take() {
                Some(row) => row,
                None => unreachable!("each inserted row has one source"),
            },
            Source::Found(i) => M::check_returned(&found[i].1)
                .and_then(|()| M::from_row(&found[i].1))
                .map_err(error)?,
            Source::Repeat => match decode(&read_back, key) {
                Some(row) => row.map_err(error)?,
                None => return Err(stored_form_differs::<M>(operation, key)),
            },
        };
        if let Some(transient) = transient {
            row.restore_transient(transient);
        }
        out.push(row);
    }
    Ok(out)
}

/// A repeated key's row, inserted once, that reading back by the key did not find.
fn stored_form_differs<M: Model>(operation: Operation, key: &M::LookupKey) -> Error {
    Error::wrap(
        M::FACTORY,
        M::TABLE,
        operation,
        Step::Insert,
        format!(
            "the `{model}` row of `get_or_create` key {key} was inserted once for the rows \
             that repeat the key, but reading it back by that key found no row: the stored \
             key differs from the one sent (a trigger or the column's type changed it: \
             case, fractional seconds rounded, text truncated or padded); give the key the \
             value the database stores",
            model = crate::back::short_name(std::any::type_name::<M>()),
            key = M::key_text(key),
        )
        .into(),
    )
}

/// The new rows of a get_or_create, inserted with their parents as [`insert_new`] does, in a
/// savepoint of their own inside a transaction where a failed INSERT would abort it
/// (PostgreSQL) or leave parents created for it: the transaction stays usable and holds
/// nothing of the attempt. On a unique violation by the rows' one INSERT, the error comes with
/// the transient values of the rows it carried, for the rows that won the race in their place.
/// Rows with no parent to create go through [`race::insert_new`], which also recovers from a
/// race lost for some of the keys only; `ours` gets its rows' `created` flags.
#[allow(clippy::type_complexity)]
async fn insert_keys_new<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    keys: &[&M::LookupKey],
    operation: Operation,
    kept: Kept,
    ours: &mut Vec<bool>,
) -> Result<Vec<M>, (Error, Option<Vec<M::Transient>>)> {
    if !M::needs_parents(&rows.parents) {
        return race::insert_new::<DB, M>(conn, rows, keys, operation, kept, ours)
            .await
            .map_err(|e| (e, None));
    }
    let Rows {
        mut rows,
        set,
        mut parents,
        seed,
    } = rows;
    let count = rows.len();
    if count == 0 {
        return Ok(Vec::new());
    }
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let savepoint =
        if in_transaction::<DB>(conn) && (DB::ABORTS_ON_ERROR || M::needs_parents(&parents)) {
            let name = crate::scope::open_savepoint::<DB>(conn)
                .await
                .map_err(|e| (error(e), None))?;
            Some(name)
        } else {
            None
        };
    let mut created = Vec::with_capacity(count);
    let mut sent = Ok(());
    if let Some(step) = M::create_parents(&mut parents, &mut rows, &mut *conn, operation, seed) {
        sent = step.await;
    }
    let mut read = Created {
        rows: &mut created,
        transient: Vec::new(),
    };
    if sent.is_ok() {
        let mut numbering = Numbering { index: 0, of: 0 };
        sent = send_chunks::<DB, M>(
            &mut *conn,
            rows,
            set,
            operation,
            kept,
            &mut numbering,
            &mut read,
        )
        .await;
    }
    // Bound and not read back: the rows of the INSERT that failed.
    let unread = std::mem::take(&mut read.transient);
    if sent.is_ok()
        && let Some(step) = M::after_insert(&mut parents, &mut created, &mut *conn, operation, seed)
    {
        sent = step.await;
    }
    match (sent, savepoint) {
        (Ok(()), None) => Ok(created),
        (Ok(()), Some(name)) => {
            DB::execute_raw(conn, format!("RELEASE SAVEPOINT {name}"))
                .await
                .map_err(|e| (error(e), None))?;
            Ok(created)
        }
        (Err(e), savepoint) => {
            if let Some(name) = savepoint
                && crate::scope::rollback_to::<DB>(conn, &name).await
            {
                return Err((crate::scope::transaction_gone(e), None));
            }
            // The first INSERT failed on a unique constraint with every row bound: a race
            // on a key is possible. Any other failure is the operation's error.
            let raced = created.is_empty()
                && unread.len() == count
                && matches!(e.as_sqlx(), Some(sqlx::Error::Database(db)) if db.is_unique_violation());
            Err((e, raced.then_some(unread)))
        }
    }
}

/// The stored rows whose `get_or_create` columns equal one of `keys`, with their keys as Rust
/// sees them: `SELECT .. WHERE (k = ?) OR ..`, in statements under the bind limit and, with
/// `budget`, keys of at most that many bytes ([`Insert::lookup_key_size`]) each. `latest`:
/// the latest committed rows, not a transaction's snapshot ([`Backend::LATEST_READ`]).
async fn select_by_keys<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    keys: &[&M::LookupKey],
    budget: Option<usize>,
    latest: bool,
) -> Result<Vec<(M::LookupKey, DB::Row)>, sqlx::Error> {
    let per_key = M::GET_OR_CREATE.len();
    let most = rows_per_statement::<DB>(per_key);
    let mut chunks = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let mut count = 0usize;
        let mut bytes = 0usize;
        for key in rest.iter().take(most) {
            let size = budget.map_or(0, |_| M::lookup_key_size(key));
            if count > 0 && budget.is_some_and(|budget| bytes + size > budget) {
                break;
            }
            count += 1;
            bytes += size;
        }
        let (chunk, tail) = rest.split_at(count);
        chunks.push(chunk);
        rest = tail;
    }
    let mut found = Vec::new();
    for chunk in chunks {
        let sql = crate::sql::select_by_keys_sql::<DB>(
            M::TABLE,
            M::COLUMNS,
            M::GET_OR_CREATE,
            chunk.len(),
            latest,
        );
        let mut args = DB::Arguments::default();
        for key in chunk {
            M::bind_lookup_key((*key).clone(), &mut args).map_err(sqlx::Error::Encode)?;
        }
        for row in DB::fetch_all(&mut *conn, sql.into(), args).await? {
            found.push((M::from_row(&row)?.lookup_key(), row));
        }
    }
    Ok(found)
}

/// How many rows one statement of a batch carries: under the bind limit and the row cap.
pub(crate) fn rows_per_statement<DB: Backend>(binds_per_row: usize) -> usize {
    match binds_per_row {
        // Rows that send no column go one per statement (`DEFAULT VALUES` takes one row).
        0 => 1,
        n => (DB::MAX_BIND_PARAMS / n).clamp(1, DB::MAX_ROWS_PER_INSERT),
    }
}

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

/// What a child stores of a parent it has created: the key, as the child's field type `T`
/// (the key's type, or an `Option` of it). Generated per association to a primary key.
pub struct ParentKey<P, T> {
    /// The parent's key column, returned alone.
    pub column: &'static str,
    /// The parent's key field is bound as its own type (no `try_from`, `into` or `json`), so
    /// the column decodes as `T`.
    pub plain: bool,
    /// The key of a parent row, for parents whose rows are read back whole.
    pub from_row: fn(&P) -> T,
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

/// `with_related(n, f)`: `n` rows of `C` per created row, from the factory `f` returns.
pub struct Related<F, C> {
    pub(crate) per_row: usize,
    pub(crate) factory: F,
    pub(crate) child: PhantomData<fn() -> C>,
}

impl<'c, DB, M, C, F, R> AfterCreate<M, Bound<'c, DB>> for Related<F, C>
where
    DB: Backend,
    M: Model,
    C: Insert<DB>,
    F: Fn(&M) -> R + Send + Sync,
    R: RowSource<C> + 'static,
{
    fn run<'a>(
        &'a self,
        created: &'a [M],
        session: &'a mut Bound<'c, DB>,
    ) -> BoxFuture<'a, Result<(), BoxDynError>> {
        Box::pin(async move {
            let mut batches: Vec<Rows<C>> = Vec::new();
            for parent in created {
                let rows = (self.factory)(parent).rows(self.per_row, None);
                match batches.last_mut() {
                    // Children that need no parents of their own and send the same columns go
                    // into one multi-row INSERT.
                    Some(last)
                        if last.set == rows.set
                            && !C::needs_parents(&last.parents)
                            && !C::needs_parents(&rows.parents) =>
                    {
                        last.rows.extend(rows.rows);
                    }
                    _ => batches.push(rows),
                }
            }
            for rows in batches {
                let operation = Operation::CreateBatch {
                    rows: rows.rows.len(),
                };
                insert_rows::<DB, C>(session.conn(), rows, operation, Kept::Nothing).await?;
            }
            Ok(())
        })
    }
}

/// An `after_create` hook: a closure given each created row and the connection.
pub struct Hook<F> {
    pub(crate) hook: F,
}

impl<'c, DB, M, F> AfterCreate<M, Bound<'c, DB>> for Hook<F>
where
    DB: Backend,
    M: Model,
    F: for<'a> Fn(&'a M, &'a mut DB::Connection) -> BoxFuture<'a, Result<(), BoxDynError>>
        + Send
        + Sync,
{
    fn run<'a>(
        &'a self,
        created: &'a [M],
        session: &'a mut Bound<'c, DB>,
    ) -> BoxFuture<'a, Result<(), BoxDynError>> {
        Box::pin(async move {
            for row in created {
                (self.hook)(row, session.conn()).await?;
            }
            Ok(())
        })
    }
}
