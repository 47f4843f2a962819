//! The insert path: `create` and `create_batch` and the futures they return.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use sqlx::{Arguments, AssertSqlSafe, Executor, IntoArguments};

use crate::backend::Backend;
use crate::error::{Error, Operation};
use crate::model::{Insert, Model};
use crate::session::{Bound, NoSession, Session};
use crate::sql::{ColumnSet, binds_per_row};

/// A boxed future that may cross threads, as `tokio::spawn` wants.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What each factory state does when a [`Create`] or [`CreateBatch`] is awaited.
///
/// Every state implements it, the unbound one too, so awaiting the result of a rejected
/// `create()` adds no second error to the one `create` already reports.
pub trait State<M> {
    /// The future of one insert.
    type Create: Future<Output = Result<M, Error>>;
    /// The future of a batch insert.
    type CreateBatch: Future<Output = Result<Vec<M>, Error>>;

    /// Inserts `row`.
    fn create(self, row: M, set: ColumnSet) -> Self::Create;
    /// Inserts `rows` in chunks.
    fn create_batch(self, rows: Vec<M>, set: ColumnSet) -> Self::CreateBatch;
}

/// Never used: `create` requires [`Session`], which [`NoSession`] does not implement, so no
/// `Create<NoSession, _>` can be made.
impl<M> State<M> for NoSession {
    type Create = std::future::Pending<Result<M, Error>>;
    type CreateBatch = std::future::Pending<Result<Vec<M>, Error>>;

    fn create(self, _: M, _: ColumnSet) -> Self::Create {
        std::future::pending()
    }

    fn create_batch(self, _: Vec<M>, _: ColumnSet) -> Self::CreateBatch {
        std::future::pending()
    }
}

impl<'c, DB, M> State<M> for Bound<'c, DB>
where
    DB: Backend,
    M: Insert<DB>,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    type Create = BoxFuture<'c, Result<M, Error>>;
    type CreateBatch = BoxFuture<'c, Result<Vec<M>, Error>>;

    fn create(self, row: M, set: ColumnSet) -> Self::Create {
        Box::pin(insert_one::<DB, M>(self.conn, row, set))
    }

    fn create_batch(self, rows: Vec<M>, set: ColumnSet) -> Self::CreateBatch {
        Box::pin(insert_batch::<DB, M>(self.conn, rows, set))
    }
}

// Hidden from "the trait is implemented for" hints: the error's own note says what to do.
#[diagnostic::do_not_recommend]
impl<'c, DB, M> Session<M> for Bound<'c, DB>
where
    DB: Backend,
    M: Insert<DB>,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
}

/// The pending result of `create()`: `.await` it to insert the row.
///
/// The row's values were drawn when `create()` was called; nothing is sent until it is
/// awaited.
#[must_use = "nothing is inserted until the result of `create()` is awaited"]
pub struct Create<S, M> {
    session: S,
    row: M,
    set: ColumnSet,
}

impl<S, M> Create<S, M> {
    #[doc(hidden)]
    pub fn new(session: S, row: M, set: ColumnSet) -> Self {
        Create { session, row, set }
    }
}

impl<S: State<M>, M> IntoFuture for Create<S, M> {
    type Output = Result<M, Error>;
    type IntoFuture = S::Create;

    fn into_future(self) -> Self::IntoFuture {
        self.session.create(self.row, self.set)
    }
}

/// The pending result of `create_batch(n)`: `.await` it to insert the rows.
#[must_use = "nothing is inserted until the result of `create_batch()` is awaited"]
pub struct CreateBatch<S, M> {
    session: S,
    rows: Vec<M>,
    set: ColumnSet,
    model: PhantomData<M>,
}

impl<S, M> CreateBatch<S, M> {
    #[doc(hidden)]
    pub fn new(session: S, rows: Vec<M>, set: ColumnSet) -> Self {
        CreateBatch {
            session,
            rows,
            set,
            model: PhantomData,
        }
    }
}

impl<S: State<M>, M> IntoFuture for CreateBatch<S, M> {
    type Output = Result<Vec<M>, Error>;
    type IntoFuture = S::CreateBatch;

    fn into_future(self) -> Self::IntoFuture {
        self.session.create_batch(self.rows, self.set)
    }
}

fn error<M: Model>(operation: Operation) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::new(M::FACTORY, M::TABLE, operation, source)
}

async fn insert_one<DB, M>(conn: &mut DB::Connection, row: M, set: ColumnSet) -> Result<M, Error>
where
    DB: Backend,
    M: Insert<DB>,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    let error = error::<M>(Operation::Create);
    let sql = M::sql_cache().insert_sql::<DB, M>(set, 1);
    let mut args = DB::Arguments::default();
    if let Err(e) = row.bind(set, &mut args) {
        return Err(error(sqlx::Error::Encode(e)));
    }
    let query = sqlx::query_with::<DB, _>(AssertSqlSafe(sql), args);
    match conn.fetch_one(query).await {
        Ok(row) => M::from_row(&row).map_err(error),
        Err(e) => Err(error(e)),
    }
}

/// How many rows one statement of a batch carries: under the bind limit and the row cap.
pub(crate) fn rows_per_statement<DB: Backend>(binds_per_row: usize) -> usize {
    match binds_per_row {
        // Rows that send no column go one per statement (`DEFAULT VALUES` takes one row).
        0 => 1,
        n => (DB::MAX_BIND_PARAMS / n).clamp(1, DB::MAX_ROWS_PER_INSERT),
    }
}

async fn insert_batch<DB, M>(
    conn: &mut DB::Connection,
    rows: Vec<M>,
    set: ColumnSet,
) -> Result<Vec<M>, Error>
where
    DB: Backend,
    M: Insert<DB>,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    let total = rows.len();
    let error = |source| {
        Error::new(
            M::FACTORY,
            M::TABLE,
            Operation::CreateBatch { rows: total },
            source,
        )
    };
    let per_row = binds_per_row(M::COLUMNS, set);
    let chunk = rows_per_statement::<DB>(per_row);
    let mut created = Vec::with_capacity(total);
    let mut rows = rows.into_iter();
    while rows.len() > 0 {
        let count = rows.len().min(chunk);
        let sql = M::sql_cache().insert_sql::<DB, M>(set, count);
        let mut args = DB::Arguments::default();
        args.reserve(count * per_row, count * per_row * 8);
        for row in rows.by_ref().take(count) {
            if let Err(e) = row.bind(set, &mut args) {
                return Err(error(sqlx::Error::Encode(e)));
            }
        }
        let query = sqlx::query_with::<DB, _>(AssertSqlSafe(sql), args);
        let returned = conn.fetch_all(query).await.map_err(error)?;
        for row in &returned {
            created.push(M::from_row(row).map_err(error)?);
        }
    }
    Ok(created)
}
