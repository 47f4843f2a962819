//! What differs between the databases: identifier quoting, placeholders and statement limits.

use std::sync::Arc;

use sqlx::{AssertSqlSafe, Database, Executor};

use crate::bulk::{Chunks, KeyType, KeyUse};
use crate::error::Error;
use crate::future::BoxFuture;
use crate::model::{Association, Insert};

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
pub trait Backend: Database + private::Sealed {
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

    /// Seeding mode: sends every row `chunks` draws and returns how many were inserted.
    /// Multi-row INSERTs without `RETURNING`; PostgreSQL uses `COPY` instead.
    fn seed_rows<'a, M: Insert<Self>>(
        conn: &'a mut Self::Connection,
        chunks: &'a mut Chunks<M>,
    ) -> BoxFuture<'a, Result<u64, Error>>
    where
        Self: Sized,
    {
        Box::pin(crate::bulk::insert_values::<Self, M>(conn, chunks))
    }

    /// Seeding mode when the keys of the rows are needed (`with_children`,
    /// `returning_keys`): INSERTs returning the key column alone, the keys handed to `keys`
    /// after each. PostgreSQL reserves them from the sequence and uses `COPY` instead.
    fn seed_keyed<'a, M>(
        conn: &'a mut Self::Connection,
        chunks: &'a mut Chunks<M>,
        keys: &'a mut KeyUse<Self, M>,
    ) -> BoxFuture<'a, Result<u64, Error>>
    where
        Self: Sized,
        M: Insert<Self> + Association,
        M::Key: KeyType<Self>,
        usize: sqlx::ColumnIndex<Self::Row>,
    {
        Box::pin(crate::bulk::insert_values_with::<Self, M>(
            conn,
            chunks,
            Some(keys),
        ))
    }

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
pub(crate) const SMALL_BATCH_BYTES: usize = 1 << 20;

/// Why a row that alone is larger than a statement may carry (`limit` bytes under `name`) is
/// refused before it is sent: sent, MariaDB drops the connection and the caller's transaction
/// with it. `sent` says what of the operation went before it ("nothing was sent", ..).
pub(crate) fn row_too_large(row: u64, size: usize, limit: usize, name: &str, sent: &str) -> String {
    format!(
        "row {row} is about {size} bytes, more than fits one statement under {name} \
         ({limit} bytes); {sent}. Make its values smaller, or raise the limit"
    )
}

/// The `fetch_one`/`fetch_all` of a concrete backend, where sqlx's executor bounds hold.
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

mod private {
    pub trait Sealed {}
}

fn push_quoted(sql: &mut String, ident: &str, quote: char) {
    sql.push(quote);
    for c in ident.chars() {
        if c == quote {
            sql.push(quote);
        }
        sql.push(c);
    }
    sql.push(quote);
}

#[cfg(feature = "sqlite")]
impl private::Sealed for sqlx::Sqlite {}

/// SQLite ≥ 3.32 (sqlx bundles a newer one) allows 32 766 parameters.
#[cfg(feature = "sqlite")]
impl Backend for sqlx::Sqlite {
    const MAX_BIND_PARAMS: usize = 32_766;
    const MAX_ROWS_PER_INSERT: usize = 500;
    const SEED_ROWS_PER_INSERT: usize = 2_000;
    const EMPTY_ROW_VALUES: &'static str = "DEFAULT VALUES";

    fn push_ident(sql: &mut String, ident: &str) {
        push_quoted(sql, ident, '"');
    }

    fn push_placeholder(sql: &mut String, _index: usize) {
        sql.push('?');
    }

    fetch_methods!();
}

#[cfg(feature = "postgres")]
impl private::Sealed for sqlx::Postgres {}

/// The wire protocol counts parameters in an `i16`-sized field read as unsigned: 65 535.
#[cfg(feature = "postgres")]
impl Backend for sqlx::Postgres {
    const MAX_BIND_PARAMS: usize = 65_535;
    const MAX_ROWS_PER_INSERT: usize = 500;
    const SEED_ROWS_PER_INSERT: usize = 500;
    const EMPTY_ROW_VALUES: &'static str = "DEFAULT VALUES";
    const ABORTS_ON_ERROR: bool = true;

    fn push_ident(sql: &mut String, ident: &str) {
        push_quoted(sql, ident, '"');
    }

    fn push_placeholder(sql: &mut String, index: usize) {
        use std::fmt::Write;
        // Writing into a String cannot fail.
        let _ = write!(sql, "${index}");
    }

    fetch_methods!();

    /// `COPY .. FROM STDIN (FORMAT binary)`: the server's fastest way in, and the binary format
    /// is the one sqlx already encodes bind parameters in. A row with no column to send
    /// cannot be copied: those go as INSERTs.
    fn seed_rows<'a, M: Insert<Self>>(
        conn: &'a mut Self::Connection,
        chunks: &'a mut Chunks<M>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        if M::COLUMNS.iter().all(|column| column.db_filled) {
            // Possibly no column to send (`COPY t ()` does not parse): INSERTs instead.
            return Box::pin(crate::bulk::insert_values::<Self, M>(conn, chunks));
        }
        Box::pin(crate::bulk::copy_binary::<M>(conn, chunks))
    }

    /// Keys reserved from the sequence and sent in the `COPY` (`copy_keyed`).
    fn seed_keyed<'a, M>(
        conn: &'a mut Self::Connection,
        chunks: &'a mut Chunks<M>,
        keys: &'a mut KeyUse<Self, M>,
    ) -> BoxFuture<'a, Result<u64, Error>>
    where
        M: Insert<Self> + Association,
        M::Key: KeyType<Self>,
        usize: sqlx::ColumnIndex<Self::Row>,
    {
        Box::pin(crate::bulk::copy_keyed::<M>(conn, chunks, keys))
    }
}

#[cfg(feature = "mysql")]
impl private::Sealed for sqlx::MySql {}

/// MariaDB ≥ 10.5 for `INSERT ... RETURNING`; backticks quote whatever the `sql_mode`.
#[cfg(feature = "mysql")]
impl Backend for sqlx::MySql {
    const MAX_BIND_PARAMS: usize = 65_535;
    const MAX_ROWS_PER_INSERT: usize = 500;
    const SEED_ROWS_PER_INSERT: usize = 1_000;
    const EMPTY_ROW_VALUES: &'static str = "() VALUES ()";
    const MEASURES_VALUES: bool = true;
    const LATEST_READ: &'static str = " LOCK IN SHARE MODE";

    /// Encoded into a scratch buffer of the thread's: the length the value adds to the
    /// statement's packet. A value that fails to encode counts 0; binding it fails after.
    fn encoded_len<T: for<'q> sqlx::Encode<'q, Self>>(value: &T) -> usize {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCRATCH.with_borrow_mut(|buf| {
            buf.clear();
            let _ = value.encode_by_ref(buf);
            let len = buf.len();
            // A huge value measured once is not kept for the thread's lifetime.
            if buf.capacity() > 1 << 20 {
                *buf = Vec::new();
            }
            len
        })
    }

    fn push_ident(sql: &mut String, ident: &str) {
        push_quoted(sql, ident, '`');
    }

    /// `max_allowed_packet` caps a whole statement with its values; asked once per large
    /// operation. A statement over it makes the server drop the connection, and with it the
    /// caller's transaction.
    fn statement_limit(
        conn: &mut Self::Connection,
    ) -> BoxFuture<'_, Result<(usize, &'static str), sqlx::Error>> {
        Box::pin(async move {
            let limit: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
                .fetch_one(&mut *conn)
                .await?;
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            Ok((limit, "MariaDB's max_allowed_packet"))
        })
    }

    fn push_placeholder(sql: &mut String, _index: usize) {
        sql.push('?');
    }

    fetch_methods!();
}
