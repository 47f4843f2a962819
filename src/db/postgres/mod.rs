//! PostgreSQL: quoting, limits, and how rows go in: `COPY .. FROM STDIN (FORMAT binary)`, with
//! keys reserved from the key column's sequence (`copy`).

mod catalogue;

mod binary;
mod copy;

use std::sync::Arc;

use sqlx::{AssertSqlSafe, Executor};

use super::backend::{Backend, KeyStore, KeyedFeed, Sealed, SeedFeed, fetch_methods, push_quoted};
use super::insert::insert_values;
use crate::error::Error;
use crate::future::BoxFuture;

impl Sealed for sqlx::Postgres {}

/// The wire protocol counts parameters in an `i16`-sized field read as unsigned: 65 535.
impl Backend for sqlx::Postgres {
    const MAX_BIND_PARAMS: usize = 65_535;
    const MAX_ROWS_PER_INSERT: usize = 500;
    const SEED_ROWS_PER_INSERT: usize = 500;
    const EMPTY_ROW_VALUES: &'static str = "DEFAULT VALUES";
    const ABORTS_ON_ERROR: bool = true;
    /// `deadlock_detected`: the statement fails, and with it the transaction (or back to the
    /// savepoint around it).
    const DEADLOCK: Option<&'static str> = Some("40P01");

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
    fn seed_rows<'a, F: SeedFeed<Self>>(
        conn: &'a mut Self::Connection,
        feed: &'a mut F,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        if F::COLUMNS.iter().all(|column| column.db_filled) {
            // Possibly no column to send (`COPY t ()` does not parse): INSERTs instead.
            return Box::pin(insert_values::<Self, F>(conn, feed, None));
        }
        Box::pin(copy::copy_binary::<F>(conn, feed))
    }

    /// Keys reserved from the sequence and sent in the `COPY` (`copy_keyed`).
    fn seed_keyed<'a, F: KeyedFeed<Self>>(
        conn: &'a mut Self::Connection,
        feed: &'a mut F,
        keys: &'a mut dyn KeyStore<Self, F::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(copy::copy_keyed::<F>(conn, feed, keys))
    }
}
