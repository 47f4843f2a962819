//! The multi-row INSERT writer of a seed: SQLite and MariaDB, and PostgreSQL where a `COPY`
//! cannot go.

use sqlx::Database;

use super::backend::{Args, Backend, KeySink, SeedFeed, row_too_large};
use crate::column::{ColumnSet, binds_per_row};
use crate::error::{Error, Step};
use crate::future::{overlap, yield_now};

/// SQLite and MariaDB (and PostgreSQL if asked): multi-row INSERTs without `RETURNING`, cut
/// by the bind limit and the server's statement size; every full chunk has the same text, so
/// sqlx's per-connection statement cache prepares it once.
///
/// With `children`, each INSERT returns its keys alone (no other column is read back),
/// handed on right after it (the children of those rows are seeded then).
///
/// The next statement is drawn and bound while the database runs the one just sent (see
/// [`overlap`]): on SQLite sqlx's worker thread inserts on the other core meanwhile (1.2 M
/// rows/s instead of 0.73 M), on MariaDB the server (about 10 % more rows/s). One statement
/// in flight at most, so an error still names its own rows, and a statement that fails is
/// reported before an error in drawing the next one.
// The crate's own `Error`, as every operation returns it (the drawing closures return it too).
#[allow(clippy::result_large_err)]
pub(crate) async fn insert_values<DB: Backend, F: SeedFeed<DB>>(
    conn: &mut DB::Connection,
    chunks: &mut F,
    mut children: Option<&mut dyn KeySink<DB>>,
) -> Result<u64, Error> {
    // Three quarters of the server's limit: room for the SQL text and each value's framing.
    let (limit, limit_name) = DB::statement_limit(conn)
        .await
        .map_err(|e| chunks.error(e, 1, chunks.total()))?;
    let mut statements = Statements {
        rows: Vec::new().into_iter().peekable(),
        set: ColumnSet::default(),
        first_row: 1,
        per_statement: None,
        budget: limit / 4 * 3,
        limit,
        limit_name,
    };
    let mut inserted = 0u64;
    let mut next = statements.next::<DB, F>(chunks)?;
    while let Some(statement) = next.take() {
        let Statement {
            args,
            set,
            count,
            first_row,
            ends_chunk,
        } = statement;
        let last_row = first_row + count as u64 - 1;
        // The next statement is drawn while this one runs.
        let drawn = match children.as_deref_mut() {
            None => {
                let sql = chunks.insert_sql(set, count, None);
                let send = DB::execute(&mut *conn, sql, args);
                let (done, drawn) = overlap(send, || statements.next::<DB, F>(chunks))
                    .await
                    .map_err(|e| chunks.error(e, first_row, last_row))?;
                inserted += done;
                drawn
            }
            Some(children) => {
                let key = children.key_column();
                let sql = chunks.insert_sql(set, count, Some(key));
                // Each key decoded as its row arrives (no statement's rows held).
                let mut returned = 0u64;
                let mut each = |row: &<DB as Database>::Row| {
                    returned += 1;
                    children.decode_key(row)
                };
                let send = DB::fetch_each(&mut *conn, sql, args, &mut each);
                let ((), drawn) = overlap(send, || statements.next::<DB, F>(chunks))
                    .await
                    .map_err(|e| chunks.error(e, first_row, last_row))?;
                // Keys go to rows by position: one missing (a trigger dropped its row) would
                // give every later row's key, and children, to the row before it.
                if returned != count as u64 {
                    let text = format!(
                        "the database returned {returned} of the {count} keys of these rows \
                         (a trigger or rule dropped rows?): the keys cannot be matched to the \
                         rows"
                    );
                    return Err(chunks.error(crate::error::ours(text), first_row, last_row));
                }
                inserted += returned;
                children.flush(&mut *conn).await?;
                drawn
            }
        };
        next = drawn?;
        if ends_chunk {
            chunks.report(last_row);
            yield_now().await;
        }
    }
    Ok(inserted)
}

/// The rows of the chunk being sent, cut into statements by binds and bytes.
struct Statements<R> {
    rows: std::iter::Peekable<std::vec::IntoIter<R>>,
    /// The columns the current chunk's rows send.
    set: ColumnSet,
    first_row: u64,
    /// Rows per statement, known once the first row says which columns are sent.
    per_statement: Option<usize>,
    budget: usize,
    /// The server's statement limit and its name, for a row that alone exceeds `budget`.
    limit: usize,
    limit_name: &'static str,
}

/// One INSERT's bound rows.
struct Statement<DB: Backend> {
    args: DB::Arguments,
    set: ColumnSet,
    count: usize,
    first_row: u64,
    /// The last statement of its chunk: progress is reported after it.
    ends_chunk: bool,
}

impl<R> Statements<R> {
    /// Binds the next statement's rows, drawing a chunk first when the last one is sent.
    // The crate's own `Error`, as every operation returns it; made at most once per seed.
    #[allow(clippy::result_large_err)]
    fn next<DB: Backend, F: SeedFeed<DB, Row = R>>(
        &mut self,
        chunks: &mut F,
    ) -> Result<Option<Statement<DB>>, Error> {
        if self.rows.peek().is_none() {
            // A first chunk of one row tells the columns, and so the rows per statement.
            let most = self.per_statement.unwrap_or(1);
            let Some(chunk) = chunks.next(chunks.chunk_rows(most))? else {
                return Ok(None);
            };
            let per_row = binds_per_row(F::COLUMNS, chunk.set);
            self.per_statement.get_or_insert_with(|| {
                match DB::MAX_BIND_PARAMS.checked_div(per_row) {
                    Some(rows) => rows.clamp(1, DB::SEED_ROWS_PER_INSERT),
                    // Rows that send no column go one per statement (`DEFAULT VALUES` takes one).
                    None => 1,
                }
            });
            self.rows = chunk.rows.into_iter().peekable();
            self.set = chunk.set;
            self.first_row = chunk.first_row;
        }
        let limit = self.per_statement.unwrap_or(1);
        let first_row = self.first_row;
        let mut args = DB::Arguments::default();
        let mut count = 0usize;
        let mut bytes = 0usize;
        while let Some(row) = self.rows.peek() {
            let size = F::wire_size(row);
            // A chunk larger than a statement (`chunk_rows`) is cut by binds and bytes.
            if count > 0 && (count == limit || bytes + size > self.budget) {
                break;
            }
            // A row that alone is too large is refused, as `create_batch` refuses it: sent,
            // MariaDB drops the connection, and the caller's transaction with it.
            if size > self.budget {
                let row = first_row + count as u64;
                let why = row_too_large(row, size, self.limit, self.limit_name, "it was not sent");
                let step = Step::Rows {
                    first_row: row,
                    last_row: row,
                };
                return Err(chunks.wrap(step, why.into()));
            }
            bytes += size;
            count += 1;
            let Some(row) = self.rows.next() else { break };
            // The row that failed to encode, not the statement's.
            let row_number = first_row + count as u64 - 1;
            F::bind(row, self.set, &mut Args::<DB>(&mut args))
                .map_err(|e| chunks.error(sqlx::Error::Encode(e), row_number, row_number))?;
        }
        self.first_row += count as u64;
        Ok(Some(Statement {
            args,
            set: self.set,
            count,
            first_row,
            ends_chunk: self.rows.peek().is_none(),
        }))
    }
}

/// `Backend::seed_rows` and `seed_keyed` of a database whose seeds go as multi-row INSERTs.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
macro_rules! insert_seed_methods {
    () => {
        fn seed_rows<'a, F: $crate::db::SeedFeed<Self>>(
            conn: &'a mut Self::Connection,
            feed: &'a mut F,
        ) -> $crate::future::BoxFuture<'a, Result<u64, $crate::error::Error>> {
            Box::pin($crate::db::insert::insert_values::<Self, F>(
                conn, feed, None,
            ))
        }

        fn seed_keyed<'a, F: $crate::db::KeyedFeed<Self>>(
            conn: &'a mut Self::Connection,
            feed: &'a mut F,
            keys: &'a mut dyn $crate::db::KeyStore<Self, F::Key>,
        ) -> $crate::future::BoxFuture<'a, Result<u64, $crate::error::Error>> {
            Box::pin($crate::db::insert::insert_values::<Self, F>(
                conn,
                feed,
                Some(keys),
            ))
        }
    };
}
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) use insert_seed_methods;
