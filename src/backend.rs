//! What differs between the databases: identifier quoting, placeholders and statement limits.

use std::sync::Arc;

use sqlx::{AssertSqlSafe, Database, Executor};
use sqlx_core::transaction::TransactionManager;

use crate::create::BoxFuture;

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

    /// Appends what makes an INSERT keep existing rows that match on `keys` instead of
    /// failing: `ON CONFLICT (..) DO NOTHING` (SQLite, PostgreSQL; such rows are not
    /// returned) or a no-op `ON DUPLICATE KEY UPDATE` (MariaDB; such rows are returned as
    /// stored).
    fn push_on_conflict_keep(sql: &mut String, keys: &[&str]) {
        sql.push_str(" ON CONFLICT (");
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            Self::push_ident(sql, key);
        }
        sql.push_str(") DO NOTHING");
    }

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

    /// Opens a savepoint (in a transaction) or a transaction (outside one), tracked by sqlx's
    /// own depth counter, so nested savepoints and the caller's `Transaction` agree.
    fn begin_nested(conn: &mut Self::Connection) -> BoxFuture<'_, Result<(), sqlx::Error>>;

    /// Releases (commits) what `begin_nested` opened.
    fn commit_nested(conn: &mut Self::Connection) -> BoxFuture<'_, Result<(), sqlx::Error>>;

    /// Rolls back to what `begin_nested` opened.
    fn rollback_nested(conn: &mut Self::Connection) -> BoxFuture<'_, Result<(), sqlx::Error>>;
}

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

        fn begin_nested(conn: &mut Self::Connection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(<Self as Database>::TransactionManager::begin(conn, None))
        }

        fn commit_nested(conn: &mut Self::Connection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(<Self as Database>::TransactionManager::commit(conn))
        }

        fn rollback_nested(conn: &mut Self::Connection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(<Self as Database>::TransactionManager::rollback(conn))
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

    fn push_on_conflict_keep(sql: &mut String, keys: &[&str]) {
        // MariaDB has no ON CONFLICT; a no-op update makes RETURNING give the stored row.
        // It fires on any unique key, not only `keys`.
        if let Some(key) = keys.first() {
            sql.push_str(" ON DUPLICATE KEY UPDATE ");
            Self::push_ident(sql, key);
            sql.push_str(" = ");
            Self::push_ident(sql, key);
        }
    }

    fn push_placeholder(sql: &mut String, _index: usize) {
        sql.push('?');
    }

    fetch_methods!();
}
