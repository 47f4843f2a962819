//! The insert path's entry: a model's rows in, with their parents first, inserted or got or
//! created, in a `tracing` span.

use std::future::Future;

use super::get_or_create::get_or_create;
use super::send::insert_new;
use crate::db::Backend;
use crate::error::{Error, Kept, Operation};
use crate::future::BoxFuture;
use crate::model::{Insert, KeyedInsert, Model, Rows};

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
pub(crate) async fn in_span<M: Model, T>(
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

/// The rows inserted, or got or created; `inserted` (when asked) says of each row whether it
/// was inserted.
pub(crate) async fn insert_or_get<DB: Backend, M: Insert<DB>>(
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
        M::get_or_create(KeyedInsert {
            conn,
            rows,
            operation,
            kept,
            inserted,
        })
        .await
    }
}

/// [`Insert::get_or_create`] of a model with `get_or_create` keys, as the derive writes it.
pub fn keyed_insert<DB: Backend, M: Insert<DB>>(
    job: KeyedInsert<'_, DB, M>,
) -> BoxFuture<'_, Result<Vec<M>, Error>> {
    let KeyedInsert {
        conn,
        rows,
        operation,
        kept,
        inserted,
    } = job;
    Box::pin(get_or_create::<DB, M>(
        conn, rows, operation, kept, inserted,
    ))
}
