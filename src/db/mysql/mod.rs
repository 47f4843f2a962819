//! MariaDB (and MySQL): quoting, limits, the packet size that caps a statement, and how rows
//! go in (multi-row INSERTs).

mod catalogue;

use std::sync::Arc;

use sqlx::{AssertSqlSafe, Executor};

use super::backend::{Backend, Sealed, fetch_methods, push_quoted};
use super::insert::insert_seed_methods;
use crate::future::BoxFuture;

impl Sealed for sqlx::MySql {}

/// MariaDB ≥ 10.5 for `INSERT ... RETURNING`; backticks quote whatever the `sql_mode`.
impl Backend for sqlx::MySql {
    const MAX_BIND_PARAMS: usize = 65_535;
    const MAX_ROWS_PER_INSERT: usize = 500;
    const SEED_ROWS_PER_INSERT: usize = 1_000;
    const EMPTY_ROW_VALUES: &'static str = "() VALUES ()";
    const MEASURES_VALUES: bool = true;
    const LATEST_READ: &'static str = " LOCK IN SHARE MODE";
    /// ER_LOCK_DEADLOCK (1213); InnoDB rolls back the whole transaction.
    const DEADLOCK: Option<&'static str> = Some("40001");

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
    insert_seed_methods!();
}
