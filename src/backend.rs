//! What differs between the databases: identifier quoting, placeholders and statement limits.

use std::sync::Arc;

use sqlx::{AssertSqlSafe, Database, Executor};

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
pub trait Backend: Database + private::Sealed {
    /// The most bind parameters one statement may carry.
    const MAX_BIND_PARAMS: usize;

    /// The most rows one multi-row `INSERT` carries, whatever the bind limit allows: past a few
    /// hundred rows a longer statement costs more to parse than it saves in round trips.
    const MAX_ROWS_PER_INSERT: usize;

    /// What follows the table name in an INSERT of one row that sends no column at all.
    const EMPTY_ROW_VALUES: &'static str;

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
    ) -> BoxFuture<'e, Result<Self::Row, sqlx::Error>>;

    /// Runs `sql` and returns all its rows, in the order the database sends them.
    fn fetch_all<'e>(
        conn: &'e mut Self::Connection,
        sql: Arc<str>,
        args: Self::Arguments,
    ) -> BoxFuture<'e, Result<Vec<Self::Row>, sqlx::Error>>;

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

/// The `fetch_one`/`fetch_all` of a concrete backend, where sqlx's executor bounds hold.
macro_rules! fetch_methods {
    () => {
        fn fetch_one<'e>(
            conn: &'e mut Self::Connection,
            sql: Arc<str>,
            args: Self::Arguments,
        ) -> BoxFuture<'e, Result<Self::Row, sqlx::Error>> {
            conn.fetch_one(sqlx::query_with(AssertSqlSafe(sql), args))
        }

        fn fetch_all<'e>(
            conn: &'e mut Self::Connection,
            sql: Arc<str>,
            args: Self::Arguments,
        ) -> BoxFuture<'e, Result<Vec<Self::Row>, sqlx::Error>> {
            conn.fetch_all(sqlx::query_with(AssertSqlSafe(sql), args))
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
    const EMPTY_ROW_VALUES: &'static str = "DEFAULT VALUES";

    fn push_ident(sql: &mut String, ident: &str) {
        push_quoted(sql, ident, '"');
    }

    fn push_placeholder(sql: &mut String, index: usize) {
        use std::fmt::Write;
        // Writing into a String cannot fail.
        let _ = write!(sql, "${index}");
    }

    fetch_methods!();
}

#[cfg(feature = "mysql")]
impl private::Sealed for sqlx::MySql {}

/// MariaDB ≥ 10.5 for `INSERT ... RETURNING`; backticks quote whatever the `sql_mode`.
#[cfg(feature = "mysql")]
impl Backend for sqlx::MySql {
    const MAX_BIND_PARAMS: usize = 65_535;
    const MAX_ROWS_PER_INSERT: usize = 500;
    const EMPTY_ROW_VALUES: &'static str = "() VALUES ()";

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
