//! The insert path: `create` and `create_batch`, the futures they return, parent rows and
//! after-create steps.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use sqlx::Arguments;
use sqlx::error::BoxDynError;

use crate::backend::Backend;
use crate::error::{Error, Operation, Step};
use crate::model::{Insert, Model, RowSource, Rows};
use crate::session::{Bound, NoSession, Session};
use crate::sql::binds_per_row;
use crate::state::FactoryState;

/// A boxed future that may cross threads, as `tokio::spawn` wants.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something to do once rows are created, in the same session: an `after_create` hook or the
/// related rows of `with_related`. `S` is the factory's session state.
pub trait AfterCreate<M, S>: Send + Sync {
    /// Runs on all rows the operation created, in order.
    fn run<'a>(
        &'a self,
        created: &'a [M],
        session: &'a mut S,
    ) -> BoxFuture<'a, Result<(), BoxDynError>>;
}

/// The futures `create()` / `create_batch()` resolve to in each state.
///
/// Implemented for every state and every model, with no further bound, so that `.await` on
/// the result of a `create()` the compiler rejected adds no second error to the first.
pub trait Pending<M> {
    /// The future of one insert.
    type Create: Future<Output = Result<M, Error>>;
    /// The future of a batch insert.
    type CreateBatch: Future<Output = Result<Vec<M>, Error>>;
}

/// Never awaited: `create` requires [`Session`], which [`NoSession`] does not implement.
impl<M> Pending<M> for NoSession {
    type Create = std::future::Pending<Result<M, Error>>;
    type CreateBatch = std::future::Pending<Result<Vec<M>, Error>>;
}

impl<'c, DB: Backend, M> Pending<M> for Bound<'c, DB> {
    type Create = BoxFuture<'c, Result<M, Error>>;
    type CreateBatch = BoxFuture<'c, Result<Vec<M>, Error>>;
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
    fn insert_batch(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::CreateBatch;
}

impl<M: Model> State<M> for NoSession {
    fn insert_one(_: FactoryState<Self, M>, _: Rows<M>) -> Self::Create {
        std::future::pending()
    }

    fn insert_batch(_: FactoryState<Self, M>, _: Rows<M>) -> Self::CreateBatch {
        std::future::pending()
    }
}

// Reported as `State` with its own message (model and backend), rather than as the three
// sqlx traits (`Encode`, `Type`, `Decode`) each failing field type misses.
#[diagnostic::do_not_recommend]
impl<'c, DB: Backend, M: Insert<DB>> State<M> for Bound<'c, DB> {
    fn insert_one(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::Create {
        Box::pin(async move {
            let created = run::<DB, M>(state, rows, Operation::Create).await?;
            match created.into_iter().next() {
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

    fn insert_batch(state: FactoryState<Self, M>, rows: Rows<M>) -> Self::CreateBatch {
        let operation = Operation::CreateBatch {
            rows: rows.rows.len(),
        };
        Box::pin(run::<DB, M>(state, rows, operation))
    }
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

impl<S: State<M>, M: Model> Create<S, M> {
    #[doc(hidden)]
    pub fn new(state: FactoryState<S, M>, rows: Rows<M>) -> Self {
        Create {
            state,
            rows,
            start: S::insert_one,
        }
    }
}

impl<S: Pending<M>, M: Model> IntoFuture for Create<S, M> {
    type Output = Result<M, Error>;
    type IntoFuture = S::Create;

    fn into_future(self) -> Self::IntoFuture {
        (self.start)(self.state, self.rows)
    }
}

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
    rows: Rows<M>,
    start: fn(FactoryState<S, M>, Rows<M>) -> S::CreateBatch,
}

impl<S: State<M>, M: Model> CreateBatch<S, M> {
    #[doc(hidden)]
    pub fn new(state: FactoryState<S, M>, rows: Rows<M>) -> Self {
        CreateBatch {
            state,
            rows,
            start: S::insert_batch,
        }
    }
}

impl<S: Pending<M>, M: Model> IntoFuture for CreateBatch<S, M> {
    type Output = Result<Vec<M>, Error>;
    type IntoFuture = S::CreateBatch;

    fn into_future(self) -> Self::IntoFuture {
        (self.start)(self.state, self.rows)
    }
}

/// Parents, the INSERTs, then the after-create steps, all on the bound connection; inside a
/// savepoint when asked for.
async fn run<DB: Backend, M: Insert<DB>>(
    state: FactoryState<Bound<'_, DB>, M>,
    rows: Rows<M>,
    operation: Operation,
) -> Result<Vec<M>, Error> {
    let FactoryState {
        mut session,
        after_create,
        savepoint,
        ..
    } = state;
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    // sqlx's own transaction manager: a numbered savepoint inside a transaction (so nested
    // ones do not collide), a transaction of its own on a bare connection.
    if savepoint {
        DB::begin_nested(&mut *session.conn).await.map_err(error)?;
    }
    let result = run_steps::<DB, M>(&mut session, rows, &after_create, operation).await;
    if savepoint {
        if result.is_ok() {
            DB::commit_nested(&mut *session.conn).await.map_err(error)?;
        } else {
            // The operation's error is the one to report; the caller's transaction is usable
            // again once this ran.
            let _ = DB::rollback_nested(&mut *session.conn).await;
        }
    }
    result
}

async fn run_steps<'c, DB: Backend, M: Insert<DB>>(
    session: &mut Bound<'c, DB>,
    rows: Rows<M>,
    after_create: &[Box<dyn AfterCreate<M, Bound<'c, DB>>>],
    operation: Operation,
) -> Result<Vec<M>, Error> {
    let created = insert_rows::<DB, M>(&mut *session.conn, rows, operation).await?;
    for (i, step) in after_create.iter().enumerate() {
        step.run(&created, session).await.map_err(|e| {
            Error::wrap(
                M::FACTORY,
                M::TABLE,
                operation,
                Step::AfterCreate { index: i + 1 },
                e,
            )
        })?;
    }
    Ok(created)
}

/// Creates the parents `rows` asks for, then inserts `rows` in chunks; in a `tracing` span
/// with the `tracing` feature.
pub(crate) async fn insert_rows<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
) -> Result<Vec<M>, Error> {
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument;
        let span = tracing::debug_span!(
            "sqlx_factory::insert",
            factory = M::FACTORY,
            table = M::TABLE,
            operation = %operation,
            rows = rows.rows.len(),
        );
        insert_rows_untraced::<DB, M>(conn, rows, operation)
            .instrument(span)
            .await
    }
    #[cfg(not(feature = "tracing"))]
    insert_rows_untraced::<DB, M>(conn, rows, operation).await
}

async fn insert_rows_untraced<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
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
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let total = rows.len();
    let per_row = binds_per_row(M::COLUMNS, set);
    let chunk = rows_per_statement::<DB>(per_row);
    let mut created = Vec::with_capacity(total);
    // get_or_create: the keys the rows asked for, in order, taken before binding moves them.
    let keys: Vec<M::LookupKey> = if M::GET_OR_CREATE.is_empty() {
        Vec::new()
    } else {
        rows.iter().map(M::lookup_key).collect()
    };
    let mut rows = rows.into_iter();
    let mut transient = Vec::new();
    while rows.len() > 0 {
        let count = rows.len().min(chunk);
        let sql = M::sql_cache().insert_sql::<DB, M>(set, count);
        let mut args = DB::Arguments::default();
        args.reserve(count * per_row, count * per_row * 8);
        transient.clear();
        for row in rows.by_ref().take(count) {
            transient.push(
                row.bind(set, &mut args)
                    .map_err(|e| error(sqlx::Error::Encode(e)))?,
            );
        }
        if !M::GET_OR_CREATE.is_empty() {
            let keys = &keys[created.len()..created.len() + count];
            let returned = DB::fetch_all(&mut *conn, sql, args).await.map_err(error)?;
            for row in get_or_create::<DB, M>(conn, returned, keys)
                .await
                .map_err(error)?
            {
                created.push(row);
            }
        } else if count == 1 {
            let row = DB::fetch_one(&mut *conn, sql, args).await.map_err(error)?;
            M::check_returned(&row).map_err(error)?;
            created.push(M::from_row(&row).map_err(error)?);
        } else {
            let returned = DB::fetch_all(&mut *conn, sql, args).await.map_err(error)?;
            if returned.len() != count {
                return Err(error(sqlx::Error::Protocol(format!(
                    "INSERT of {count} rows returned {} rows",
                    returned.len()
                ))));
            }
            for row in &returned {
                M::check_returned(row).map_err(error)?;
                created.push(M::from_row(row).map_err(error)?);
            }
        }
        let start = created.len() - count;
        for (row, transient) in created[start..].iter_mut().zip(transient.drain(..)) {
            row.restore_transient(transient);
        }
    }
    if let Some(step) = M::after_insert(&mut parents, &mut created, &mut *conn, operation, seed) {
        step.await?;
    }
    Ok(created)
}

/// The rows of one get-or-create chunk, in the order of `keys`: each is the row the INSERT
/// returned for that key, or, where it inserted nothing (the key exists), the existing row,
/// read with one `SELECT .. WHERE key = .. OR ..`. Rows are decoded per key, so two rows of a
/// chunk that share a key both get the stored row.
async fn get_or_create<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    returned: Vec<DB::Row>,
    keys: &[M::LookupKey],
) -> Result<Vec<M>, sqlx::Error> {
    let mut found: Vec<(M::LookupKey, DB::Row)> = Vec::with_capacity(keys.len());
    for row in returned {
        found.push((M::from_row(&row)?.lookup_key(), row));
    }
    let mut missing: Vec<&M::LookupKey> = Vec::new();
    for key in keys {
        if !found.iter().any(|(k, _)| k == key) && !missing.contains(&key) {
            missing.push(key);
        }
    }
    if !missing.is_empty() {
        let sql = crate::sql::select_by_keys_sql::<DB>(
            M::TABLE,
            M::COLUMNS,
            M::GET_OR_CREATE,
            missing.len(),
        );
        let mut args = DB::Arguments::default();
        for key in &missing {
            M::bind_lookup_key((*key).clone(), &mut args).map_err(sqlx::Error::Encode)?;
        }
        for row in DB::fetch_all(&mut *conn, sql.into(), args).await? {
            found.push((M::from_row(&row)?.lookup_key(), row));
        }
    }
    keys.iter()
        .map(|key| match found.iter().find(|(k, _)| k == key) {
            Some((_, row)) => M::check_returned(row).and_then(|()| M::from_row(row)),
            None => Err(sqlx::Error::RowNotFound),
        })
        .collect()
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
pub trait InsertParent<DB: Backend>: Sized {
    /// Creates one parent row per child from `source` for the association on `field` of `M`.
    fn create_parents<'a, M: Model>(
        conn: &'a mut DB::Connection,
        source: Box<dyn RowSource<Self>>,
        children: usize,
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
    ) -> BoxFuture<'a, Result<Vec<Self>, Error>>;
}

impl<DB: Backend, P: Insert<DB>> InsertParent<DB> for P {
    fn create_parents<'a, M: Model>(
        conn: &'a mut DB::Connection,
        source: Box<dyn RowSource<Self>>,
        children: usize,
        field: &'static str,
        operation: Operation,
        seed: Option<u64>,
    ) -> BoxFuture<'a, Result<Vec<Self>, Error>> {
        let parent_operation = match children {
            1 => Operation::Create,
            rows => Operation::CreateBatch { rows },
        };
        Box::pin(async move {
            insert_rows::<DB, P>(conn, source.into_rows(children, seed), parent_operation)
                .await
                .map_err(|e| {
                    Error::wrap(
                        M::FACTORY,
                        M::TABLE,
                        operation,
                        Step::Parent { field },
                        Box::new(e),
                    )
                })
        })
    }
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
                let rows = Box::new((self.factory)(parent)).into_rows(self.per_row, None);
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
                insert_rows::<DB, C>(&mut *session.conn, rows, operation).await?;
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
                (self.hook)(row, &mut *session.conn).await?;
            }
            Ok(())
        })
    }
}
