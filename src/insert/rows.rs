//! The insert path's entry: a model's rows in, with their parents first, inserted or got or
//! created, in a `tracing` span.

use std::future::Future;

use super::get_or_create::get_or_create;
use super::insertion::{InsertRows, Insertion, insert_new};
use crate::db::Backend;
use crate::error::{Error, Kept, Operation};
use crate::future::BoxFuture;
use crate::model::{Insert, KeyedInsert, Rows, Table};

/// Creates the parents `rows` asks for, then inserts `rows` in chunks; in a `tracing` span
/// with the `tracing` feature.
pub(crate) async fn insert_rows<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
    kept: Kept,
) -> Result<Vec<M>, Error> {
    let mut rows = Insertion::new(rows);
    insert_rows_of::<DB>(conn, Table::of::<M>(), &mut rows, operation, kept).await?;
    Ok(rows.created)
}

/// [`insert_rows`], compiled once per backend.
pub(super) async fn insert_rows_of<DB: Backend>(
    conn: &mut DB::Connection,
    table: &'static Table,
    rows: &mut dyn InsertRows<DB>,
    operation: Operation,
    kept: Kept,
) -> Result<(), Error> {
    let count = rows.unsent();
    let insert = insert_or_get::<DB>(conn, table, rows, operation, kept, None);
    in_span(table, insert, operation, count).await
}

/// `insert` in a `sqlx_factory::insert` span naming factory, table, operation and row count,
/// with the `tracing` feature.
pub(crate) async fn in_span<T>(
    table: &'static Table,
    insert: impl Future<Output = T>,
    operation: Operation,
    rows: usize,
) -> T {
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument;
        let span = tracing::debug_span!(
            "sqlx_factory::insert",
            factory = table.factory,
            table = table.table,
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
        let _ = (table, operation, rows);
        insert.await
    }
}

/// The rows inserted, or got or created; `inserted` (when asked) says of each row whether it
/// was inserted.
pub(crate) async fn insert_or_get<DB: Backend>(
    conn: &mut DB::Connection,
    table: &'static Table,
    rows: &mut dyn InsertRows<DB>,
    operation: Operation,
    kept: Kept,
    inserted: Option<&mut Vec<bool>>,
) -> Result<(), Error> {
    if rows.keyed() {
        return rows.get_or_create(conn, operation, kept, inserted).await;
    }
    insert_new::<DB>(conn, table, rows, operation, kept, true).await?;
    if let Some(inserted) = inserted {
        let created = rows.read_len();
        inserted.extend(std::iter::repeat_n(true, created));
    }
    Ok(())
}

/// [`Insert::get_or_create`] of a model with `get_or_create` keys, as the derive writes it.
pub fn keyed_insert<DB: Backend, M: Insert<DB>>(
    job: KeyedInsert<'_, DB, M>,
) -> BoxFuture<'_, Result<(), Error>> {
    let KeyedInsert {
        conn,
        rows,
        operation,
        kept,
        inserted,
    } = job;
    Box::pin(async move {
        let Some(taken) = rows.take_rows() else {
            return Err(Table::of::<M>().error(operation, sqlx::Error::RowNotFound));
        };
        rows.set_created(get_or_create::<DB, M>(conn, taken, operation, kept, inserted).await?);
        Ok(())
    })
}
