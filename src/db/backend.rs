//! The one trait for what differs between the databases, and the interfaces its writers take:
//! where a row's values are bound ([`ArgSink`]) and the rows of a seed ([`SeedFeed`]). Each
//! database implements it in its own module (`sqlite`, `postgres`, `mysql`).

use std::sync::Arc;

use sqlx::Database;
use sqlx::error::BoxDynError;

use crate::column::{Column, ColumnSet};
use crate::error::{Error, Step};
use crate::future::BoxFuture;

/// A database the factories can insert into: SQLite, PostgreSQL or MariaDB.
///
/// This trait holds every difference between the backends that the SQL builder needs, so the
/// generated code and the insert path stay backend-generic. It is sealed: the set of backends
/// follows the crate's cargo features (`sqlite`, `postgres`, `mysql`).
///
/// ```
/// use sqlx_factory::Backend;
///
/// let mut sql = String::new();
/// sqlx::Sqlite::push_ident(&mut sql, "order");
/// assert_eq!(sql, r#""order""#);
/// ```
pub trait Backend: Database<Arguments: Clone> + Sealed {
    /// The most bind parameters one statement may carry.
    const MAX_BIND_PARAMS: usize;

    /// The most rows one multi-row `INSERT` carries, whatever the bind limit allows: past a few
    /// hundred rows a longer statement costs more to parse than it saves in round trips.
    const MAX_ROWS_PER_INSERT: usize;

    /// Seeding mode (`insert_many`): the most rows one INSERT without `RETURNING` carries.
    /// Larger than [`Backend::MAX_ROWS_PER_INSERT`]: nothing comes back to decode, and the
    /// text is prepared once per seed, so a longer statement only saves round trips.
    const SEED_ROWS_PER_INSERT: usize;

    /// What follows the table name in an INSERT of one row that sends no column at all.
    const EMPTY_ROW_VALUES: &'static str;

    /// Whether a statement's values are measured by their encoded length before it is sent
    /// ([`Backend::encoded_len`]): MariaDB drops the connection, and the caller's transaction
    /// with it, on a statement over `max_allowed_packet`, so a value whose size cannot be read
    /// off its type (a newtype around `String`) must not be guessed there. Elsewhere the
    /// limit is 1 GB and the guess from the type is kept.
    const MEASURES_VALUES: bool = false;

    /// How many bytes `value` takes encoded as a bind parameter, where
    /// [`Backend::MEASURES_VALUES`] (not asked elsewhere: 0).
    fn encoded_len<T: for<'q> sqlx::Encode<'q, Self>>(value: &T) -> usize {
        let _ = value;
        0
    }

    /// A failed statement aborts the transaction around it until a `ROLLBACK` (PostgreSQL):
    /// a statement that may fail for a reason the operation handles runs in a savepoint.
    /// Elsewhere a failed statement undoes itself alone.
    const ABORTS_ON_ERROR: bool = false;

    /// The statement that opens a transaction of our own on a bare connection (`None`: sqlx's
    /// `BEGIN`). SQLite's deferred `BEGIN` takes a read snapshot at the first `SELECT` (a
    /// `get_or_create` lookup); when another connection commits a write before ours, our first
    /// write fails at once with "database is locked" (the snapshot is stale), without waiting.
    /// `BEGIN IMMEDIATE` waits for the other writer (the busy timeout) before the lookup, so the
    /// lookup sees its rows. Every operation that opens its own transaction writes.
    const BEGIN: Option<&'static str> = None;

    /// The SQLSTATE of the error a database answers when it picks a statement as a deadlock's
    /// victim (`None`: it has no deadlocks between connections, as SQLite, whose writers wait
    /// in turn). A `get_or_create` batch of several new rows runs in a transaction of its own
    /// even when it is one write, so that after such a deadlock it can be sent again
    /// (`insert::race`): in autocommit its multi-row INSERT deadlocks with nothing to begin
    /// again.
    const DEADLOCK: Option<&'static str> = None;

    /// Whether `error` is [`Backend::DEADLOCK`]: the statement was undone (PostgreSQL: back to
    /// its savepoint; MariaDB: the whole transaction, 1213), and sending it again once the
    /// other transaction ends may succeed.
    fn is_deadlock(error: &sqlx::Error) -> bool {
        matches!((error, Self::DEADLOCK), (sqlx::Error::Database(db), Some(code))
            if db.code().as_deref() == Some(code))
    }

    /// What ends a `SELECT` that must read the latest committed rows inside a transaction,
    /// not its snapshot: after an INSERT lost a race on a `get_or_create` key, the row that
    /// won is read back. MariaDB's `REPEATABLE READ` reads a snapshot unless the read locks;
    /// PostgreSQL's `READ COMMITTED` statement and SQLite's writer see it as they are.
    const LATEST_READ: &'static str = "";

    /// Appends `ident` quoted as an identifier, with embedded quote characters doubled.
    fn push_ident(sql: &mut String, ident: &str);

    /// Appends the placeholder for the bind parameter at `index` (1-based).
    fn push_placeholder(sql: &mut String, index: usize);

    /// Runs `sql` and returns its one row. Execution lives here, per backend, so that generic
    /// code needs no higher-ranked `Executor` bounds.
    fn fetch_one<'e>(
        conn: &'e mut Self::Connection,
        sql: Arc<str>,
        args: Self::Arguments,
    ) -> impl Future<Output = Result<Self::Row, sqlx::Error>> + Send + 'e;

    /// Runs `sql` and returns all its rows, in the order the database sends them.
    fn fetch_all<'e>(
        conn: &'e mut Self::Connection,
        sql: Arc<str>,
        args: Self::Arguments,
    ) -> BoxFuture<'e, Result<Vec<Self::Row>, sqlx::Error>>;

    /// Runs `sql`, a `SELECT` of one column, and decodes that column of every row as it
    /// arrives: only the values are held, never the rows.
    fn fetch_column<'e, K>(
        conn: &'e mut Self::Connection,
        sql: String,
    ) -> BoxFuture<'e, Result<Vec<K>, sqlx::Error>>
    where
        K: for<'r> sqlx::Decode<'r, Self> + sqlx::Type<Self> + Send + Unpin + 'static;

    /// Runs `sql` and hands each row to `each` as it arrives, so that a row is dropped once
    /// read rather than held with all the others of its statement.
    fn fetch_each<'e>(
        conn: &'e mut Self::Connection,
        sql: Arc<str>,
        args: Self::Arguments,
        each: &'e mut (dyn FnMut(&Self::Row) -> Result<(), sqlx::Error> + Send),
    ) -> BoxFuture<'e, Result<(), sqlx::Error>>;

    /// Decodes the first column of `row` (a key returned alone) as `T`.
    fn first_column<T>(row: &Self::Row) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, Self> + sqlx::Type<Self>;

    /// Runs `sql`, which returns no rows, and returns how many rows it affected.
    fn execute<'e>(
        conn: &'e mut Self::Connection,
        sql: Arc<str>,
        args: Self::Arguments,
    ) -> BoxFuture<'e, Result<u64, sqlx::Error>>;

    /// Seeding mode: sends every row `feed` draws and returns how many were inserted.
    /// Multi-row INSERTs without `RETURNING` (`insert::insert_values`); PostgreSQL uses
    /// `COPY` instead.
    fn seed_rows<'a, F: SeedFeed<Self>>(
        conn: &'a mut Self::Connection,
        feed: &'a mut F,
    ) -> BoxFuture<'a, Result<u64, Error>>
    where
        Self: Sized;

    /// Seeding mode when the keys of the rows are needed (`with_children`,
    /// `returning_keys`): INSERTs returning the key column alone, the keys handed to `keys`
    /// after each. PostgreSQL reserves them from the sequence and uses `COPY` instead.
    fn seed_keyed<'a, F: KeyedFeed<Self>>(
        conn: &'a mut Self::Connection,
        feed: &'a mut F,
        keys: &'a mut dyn KeyStore<Self, F::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>>
    where
        Self: Sized,
        usize: sqlx::ColumnIndex<Self::Row>;

    /// Runs `sql` (one statement, or several separated by `;`) for its effect alone: the
    /// savepoint statements of an atomic operation.
    fn execute_raw(
        conn: &mut Self::Connection,
        sql: String,
    ) -> BoxFuture<'_, Result<(), sqlx::Error>>;

    /// The most bytes one statement may carry on this connection, and what names that limit
    /// in an error. Asked only of operations whose rows add up to more than 1 MiB.
    fn statement_limit(
        _conn: &mut Self::Connection,
    ) -> BoxFuture<'_, Result<(usize, &'static str), sqlx::Error>> {
        // PostgreSQL's messages and SQLite's values may be 1 GB.
        Box::pin(std::future::ready(Ok((1 << 30, "the protocol's 1 GB"))))
    }
}

/// Rows that add up to less than this fit one statement on every server's smallest packet
/// setting in practice (MariaDB's default `max_allowed_packet` is 16 MiB): no need to ask.
pub const SMALL_BATCH_BYTES: usize = 1 << 20;

/// Why a row that alone is larger than a statement may carry (`limit` bytes under `name`) is
/// refused before it is sent: sent, MariaDB drops the connection and the caller's transaction
/// with it. `sent` says what of the operation went before it ("nothing was sent", ..).
pub fn row_too_large(row: u64, size: usize, limit: usize, name: &str, sent: &str) -> String {
    format!(
        "row {row} is about {size} bytes, more than fits one statement under {name} \
         ({limit} bytes); {sent}. Make its values smaller, or raise the limit"
    )
}

/// The `fetch_one`/`fetch_all` of a concrete backend, where sqlx's executor bounds hold.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
macro_rules! fetch_methods {
    () => {
        fn fetch_one<'e>(
            conn: &'e mut Self::Connection,
            sql: Arc<str>,
            args: Self::Arguments,
        ) -> impl Future<Output = Result<Self::Row, sqlx::Error>> + Send + 'e {
            // sqlx's own `fetch_one` boxes `fetch_optional`'s boxed future once more; this is
            // the one box, as `query_as(..).fetch_one` has it (a plain `create()`'s statement).
            let row = conn.fetch_optional(sqlx::query_with(AssertSqlSafe(sql), args));
            async move { row.await?.ok_or(sqlx::Error::RowNotFound) }
        }

        fn fetch_all<'e>(
            conn: &'e mut Self::Connection,
            sql: Arc<str>,
            args: Self::Arguments,
        ) -> BoxFuture<'e, Result<Vec<Self::Row>, sqlx::Error>> {
            conn.fetch_all(sqlx::query_with(AssertSqlSafe(sql), args))
        }

        fn fetch_column<'e, K>(
            conn: &'e mut Self::Connection,
            sql: String,
        ) -> BoxFuture<'e, Result<Vec<K>, sqlx::Error>>
        where
            K: for<'r> sqlx::Decode<'r, Self> + sqlx::Type<Self> + Send + Unpin + 'static,
        {
            Box::pin(async move {
                let mut rows = sqlx::query_scalar::<Self, K>(AssertSqlSafe(sql)).fetch(&mut *conn);
                let mut values = Vec::new();
                while let Some(value) = std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)).await
                {
                    values.push(value?);
                }
                Ok(values)
            })
        }

        fn fetch_each<'e>(
            conn: &'e mut Self::Connection,
            sql: Arc<str>,
            args: Self::Arguments,
            each: &'e mut (dyn FnMut(&Self::Row) -> Result<(), sqlx::Error> + Send),
        ) -> BoxFuture<'e, Result<(), sqlx::Error>> {
            Box::pin(async move {
                let mut rows = conn.fetch(sqlx::query_with(AssertSqlSafe(sql), args));
                while let Some(row) = std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)).await {
                    each(&row?)?;
                }
                Ok(())
            })
        }

        fn first_column<T>(row: &Self::Row) -> Result<T, sqlx::Error>
        where
            T: for<'r> sqlx::Decode<'r, Self> + sqlx::Type<Self>,
        {
            sqlx::Row::try_get(row, 0usize)
        }

        fn execute_raw(
            conn: &mut Self::Connection,
            sql: String,
        ) -> BoxFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                conn.execute(sqlx::raw_sql(AssertSqlSafe(sql))).await?;
                Ok(())
            })
        }

        fn execute<'e>(
            conn: &'e mut Self::Connection,
            sql: Arc<str>,
            args: Self::Arguments,
        ) -> BoxFuture<'e, Result<u64, sqlx::Error>> {
            Box::pin(async move {
                let done = conn
                    .execute(sqlx::query_with(AssertSqlSafe(sql), args))
                    .await?;
                Ok(done.rows_affected())
            })
        }
    };
}

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) use fetch_methods;

/// The backends are the crate's: `Backend` is implemented in each database's module only.
pub trait Sealed {}

/// Appends `ident` between `quote`s, with embedded `quote`s doubled.
pub(crate) fn push_quoted(sql: &mut String, ident: &str, quote: char) {
    sql.push(quote);
    for c in ident.chars() {
        if c == quote {
            sql.push(quote);
        }
        sql.push(c);
    }
    sql.push(quote);
}

/// Where a row's values are bound: a statement's arguments, or a `COPY` row.
pub trait ArgSink<DB: Database> {
    /// Adds the next value.
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>;
}

/// A statement's arguments as an [`ArgSink`].
pub struct Args<'a, DB: Database>(pub &'a mut DB::Arguments);

impl<DB: Database> ArgSink<DB> for Args<'_, DB> {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        sqlx::Arguments::add(self.0, value)
    }
}

/// A field type the backend `DB` can store (`Encode + Type`), named in our words when it
/// cannot. No supertraits: a where-clause on it is reported as itself, not as `Encode` and
/// `Type` separately.
#[diagnostic::on_unimplemented(
    message = "a field of type `{Self}` cannot be stored in a `{DB}` column",
    label = "`{Self}` has no `sqlx::Encode` and `sqlx::Type` for `{DB}`",
    note = "create this model on a backend that stores `{Self}`, or change the field's type"
)]
pub trait ColumnOf<DB: sqlx::Database> {
    /// Binds this value as the next parameter (or the next field of a `COPY` row).
    fn bind<A: ArgSink<DB>>(self, args: &mut A) -> Result<(), BoxDynError>;
    /// Its encoded length where the backend measures values ([`Backend::MEASURES_VALUES`]).
    fn encoded_len(&self) -> usize;
}

#[diagnostic::do_not_recommend]
impl<DB: Backend, T> ColumnOf<DB> for T
where
    T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn bind<A: ArgSink<DB>>(self, args: &mut A) -> Result<(), BoxDynError> {
        args.add(self)
    }

    fn encoded_len(&self) -> usize {
        DB::encoded_len(self)
    }
}

/// Binds `value` as the next parameter unless an earlier value of the row failed, whose error
/// `failed` keeps. A model's generated `bind` calls this once per column and checks `failed`
/// once at the end ([`bound`]): one instance per column type, shared by every model, rather
/// than an error branch per column in each model's code.
pub fn bind_column<DB: Backend, A: ArgSink<DB>, T: ColumnOf<DB>>(
    failed: &mut Option<BoxDynError>,
    value: T,
    args: &mut A,
) {
    if failed.is_none()
        && let Err(e) = value.bind(args)
    {
        *failed = Some(e);
    }
}

/// The end of a generated `bind`: `value` (the row's transient values), or the first column's
/// error ([`bind_column`]).
pub fn bound<T>(failed: Option<BoxDynError>, value: T) -> Result<T, BoxDynError> {
    match failed {
        None => Ok(value),
        Some(e) => Err(e),
    }
}

/// What a primary key needs to be read back, reserved and sent by a seed.
pub trait KeyType<DB: Database>:
    for<'r> sqlx::Decode<'r, DB>
    + for<'q> sqlx::Encode<'q, DB>
    + sqlx::Type<DB>
    + Clone
    + Send
    + Sync
    + Unpin
    + 'static
{
}

impl<DB: Database, K> KeyType<DB> for K where
    K: for<'r> sqlx::Decode<'r, DB>
        + for<'q> sqlx::Encode<'q, DB>
        + sqlx::Type<DB>
        + Clone
        + Send
        + Sync
        + Unpin
        + 'static
{
}

/// One drawn chunk of a seed: its rows, the columns they send, and the number of its first row.
pub struct Chunk<R> {
    pub(crate) rows: Vec<R>,
    pub(crate) set: ColumnSet,
    pub(crate) first_row: u64,
}

/// The rows of a seed as a database's writer takes them: the seeding operation draws them
/// chunk by chunk (the parents' keys written in) and reports progress; the writer
/// ([`Backend::seed_rows`]) binds and sends them, in INSERTs or a `COPY`.
// The crate's own `Error`, as every operation returns it; made at most once per seed.
#[allow(clippy::result_large_err)]
pub trait SeedFeed<DB: Backend>: Send {
    /// A row.
    type Row: Send;
    /// The table the rows go into.
    const TABLE: &'static str;
    /// Its columns, in the order the rows bind them.
    const COLUMNS: &'static [Column];
    /// Rows asked for in all.
    fn total(&self) -> u64;
    /// Rows drawn so far.
    fn drawn(&self) -> u64;
    /// Rows per chunk the caller asked for, else `default`.
    fn chunk_rows(&self, default: usize) -> usize;
    /// Draws up to `max` more rows; `None` when done.
    fn next(&mut self, max: usize) -> Result<Option<Chunk<Self::Row>>, Error>;
    /// Reports that `sent` rows have been sent so far.
    fn report(&self, sent: u64);
    /// The seed's error at the rows `first_row..=last_row`.
    fn error(&self, source: sqlx::Error, first_row: u64, last_row: u64) -> Error;
    /// The seed's error at `step`, for an error that is not the database's.
    fn wrap(&self, step: Step, source: BoxDynError) -> Error;
    /// The INSERT text of `rows` rows that send `set`, returning the column `key` if given.
    fn insert_sql(&self, set: ColumnSet, rows: usize, key: Option<&'static str>) -> Arc<str>;
    /// About how many bytes `row`'s values take in a statement.
    fn wire_size(row: &Self::Row) -> usize;
    /// Binds `row`'s values for the columns `set` sends, in [`SeedFeed::COLUMNS`] order.
    fn bind<A: ArgSink<DB>>(
        row: Self::Row,
        set: ColumnSet,
        sink: &mut A,
    ) -> Result<(), BoxDynError>;
}

/// A seed whose rows have a primary key, which the seed hands on.
pub trait KeyedFeed<DB: Backend>: SeedFeed<DB> {
    /// The key's type.
    type Key: KeyType<DB>;
    /// The key's column.
    const KEY_COLUMN: &'static str;
    /// `row`'s key, where the row carries it.
    fn key(row: &Self::Row) -> Self::Key;
}

/// Where the keys of a seed's rows go once an INSERT returned them.
pub trait KeySink<DB: Backend>: Send {
    /// The key column, which the INSERTs return.
    fn key_column(&self) -> &'static str;
    /// Reads the key of one row an INSERT returned.
    fn decode_key(&mut self, row: &<DB as Database>::Row) -> Result<(), sqlx::Error>;
    /// Hands the keys read so far on (seeds their children).
    fn flush<'a>(&'a mut self, conn: &'a mut DB::Connection) -> BoxFuture<'a, Result<(), Error>>;
}

/// A [`KeySink`] that takes keys known before the rows are sent (reserved, or the rows' own).
pub trait KeyStore<DB: Backend, K>: KeySink<DB> {
    /// The keys not yet handed on, in the rows' order.
    fn pending(&mut self) -> &mut Vec<K>;
}
