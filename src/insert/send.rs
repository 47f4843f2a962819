//! The INSERTs of the insert path: rows cut into statements under the bind limit and the
//! server's statement size, each an `INSERT .. RETURNING` whose rows (or keys alone) are read
//! back in order.

use std::sync::Arc;

use sqlx::Arguments;
use sqlx::error::BoxDynError;

use crate::column::{Column, ColumnSet, binds_per_row};
use crate::db::{Args, Backend, SMALL_BATCH_BYTES, row_too_large};
use crate::error::{Error, Kept, Operation, Step};
use crate::model::{Insert, Model, Table};

/// Where a batch's statements are, for errors: `index` statements were sent before, of `of`
/// (0: the count of this call's chunks, all drawn at once).
pub(crate) struct Numbering {
    pub(crate) index: usize,
    pub(crate) of: usize,
}

/// What each chunk's `INSERT .. RETURNING` reads back, and where it goes: the created rows
/// ([`Created`]) or a parent's key alone ([`Keys`]).
pub(crate) trait ReadBack<DB: Backend, M: Insert<DB>>: Send {
    /// The INSERT text for `count` rows sending the columns `set`.
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str>;
    /// Rows read back so far: a chunk's first row is the one after them.
    fn len(&self) -> usize;
    /// What binding a row left (its transient values), kept until its row is read back.
    fn bound(&mut self, transient: M::Transient);
    /// Binds `row` into the statement's `args` and keeps what binding left ([`Self::bound`]).
    fn bind(
        &mut self,
        row: M,
        set: ColumnSet,
        args: &mut DB::Arguments,
    ) -> Result<(), BoxDynError> {
        let transient = row.bind(set, &mut Args::<DB>(args))?;
        self.bound(transient);
        Ok(())
    }
    /// One returned row, in the order the rows were sent.
    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error>;
    /// After the last `count` rows were read back.
    fn chunk_read(&mut self, count: usize) {
        let _ = count;
    }
}

/// The created rows, whole, with their transient values restored.
pub(crate) struct Created<'a, M: Model> {
    pub(crate) rows: &'a mut Vec<M>,
    pub(crate) transient: Vec<M::Transient>,
}

impl<DB: Backend, M: Insert<DB>> ReadBack<DB, M> for Created<'_, M> {
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        M::sql_cache().insert_sql::<DB>((M::TABLE, M::COLUMNS), set, count)
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn bound(&mut self, transient: M::Transient) {
        self.transient.push(transient);
    }

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        read_whole::<DB, M>(self.rows, row)
    }

    fn chunk_read(&mut self, count: usize) {
        restore_transient(self.rows, &mut self.transient, count);
    }
}

/// A returned row, decoded whole into `rows`.
pub(super) fn read_whole<DB: Backend, M: Insert<DB>>(
    rows: &mut Vec<M>,
    row: &<DB as sqlx::Database>::Row,
) -> Result<(), sqlx::Error> {
    M::check_returned(row)?;
    // A `match`, not `?`: no instance of `Result`'s `Try` per model.
    match M::from_row(row) {
        Ok(row) => {
            rows.push(row);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Puts the transient values `transient` back into the last `count` rows read back.
pub(super) fn restore_transient<M: Model>(
    rows: &mut [M],
    transient: &mut Vec<M::Transient>,
    count: usize,
) {
    // A constant: a model without transient fields compiles none of what follows.
    if const { size_of::<M::Transient>() == 0 } {
        transient.clear();
        return;
    }
    let start = rows.len() - count;
    for (row, transient) in rows[start..].iter_mut().zip(transient.drain(..)) {
        row.restore_transient(transient);
    }
}

/// A parent's key column alone, decoded as `T`.
pub(crate) struct Keys<P, T> {
    pub(crate) keys: Vec<T>,
    pub(crate) key: ParentKey<P, T>,
}

impl<DB: Backend, P: Insert<DB>, T> ReadBack<DB, P> for Keys<P, T>
where
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
{
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        P::sql_cache().seed_key_sql::<DB>((P::TABLE, P::COLUMNS), set, count, self.key.column)
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn bound(&mut self, _transient: P::Transient) {}

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        read_key::<DB, T>(&mut self.keys, row, self.key.column, P::TABLE)
    }
}

/// About how many bytes the unsent rows of `rows` take in statements: one call per row.
pub(crate) fn unsent_bytes<DB: Backend>(rows: &dyn Outgoing<DB>) -> usize {
    (0..rows.unsent()).map(|i| rows.wire_size(i)).sum()
}

/// The rows of one send as [`send_rows`] sees them: what is generic over the model (binding a
/// row, decoding one, the INSERT text) behind one object, so that the sending itself is
/// compiled once per backend, not once per model. One call per row, none per column.
pub(crate) trait Outgoing<DB: Backend>: Send {
    /// Rows not bound yet.
    fn unsent(&self) -> usize;
    /// About how many bytes the unsent row `i` takes in a statement ([`Insert::wire_size`]).
    fn wire_size(&self, i: usize) -> usize;
    /// Binds the next row's values for the columns `set`.
    fn bind_next(&mut self, set: ColumnSet, args: &mut DB::Arguments) -> Result<(), BoxDynError>;
    /// The INSERT text for `count` rows sending the columns `set`.
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str>;
    /// Rows read back so far.
    fn read_len(&self) -> usize;
    /// One returned row, in the order the rows were sent.
    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error>;
    /// After the last `count` rows were read back.
    fn chunk_read(&mut self, count: usize);
}

/// A model's rows and where they are read back to: the [`Outgoing`] of a send.
pub(crate) struct Sending<'r, M, R> {
    pub(crate) rows: std::vec::IntoIter<M>,
    pub(crate) read: &'r mut R,
}

impl<DB: Backend, M: Insert<DB>, R: ReadBack<DB, M>> Outgoing<DB> for Sending<'_, M, R> {
    fn unsent(&self) -> usize {
        self.rows.len()
    }

    fn wire_size(&self, i: usize) -> usize {
        self.rows.as_slice()[i].wire_size()
    }

    fn bind_next(&mut self, set: ColumnSet, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        // Through the reader, which may keep what a row binds (`race`'s retained rows).
        if let Some(row) = self.rows.next() {
            self.read.bind(row, set, args)?;
        }
        Ok(())
    }

    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        self.read.sql(set, count)
    }

    fn read_len(&self) -> usize {
        self.read.len()
    }

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        self.read.read(row)
    }

    fn chunk_read(&mut self, count: usize) {
        self.read.chunk_read(count);
    }
}

/// Sends `rows` in chunks under the bind limit and the server's statement size, each an
/// `INSERT .. RETURNING` read back in order into `read`: [`send_rows`] for a model.
pub(crate) async fn send_chunks<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Vec<M>,
    set: ColumnSet,
    operation: Operation,
    kept: Kept,
    numbering: &mut Numbering,
    read: &mut impl ReadBack<DB, M>,
) -> Result<(), Error> {
    let mut sending = Sending {
        rows: rows.into_iter(),
        read,
    };
    let table = Table::of::<M>();
    send_rows::<DB>(conn, table, &mut sending, set, operation, kept, numbering).await
}

/// Sends the rows of `rows` in chunks under the bind limit and the server's statement size,
/// each an `INSERT .. RETURNING` read back in order.
pub(crate) async fn send_rows<DB: Backend>(
    conn: &mut DB::Connection,
    table: &'static Table,
    rows: &mut dyn Outgoing<DB>,
    set: ColumnSet,
    operation: Operation,
    kept: Kept,
    numbering: &mut Numbering,
) -> Result<(), Error> {
    let error = |source| table.error(operation, source);
    // Once an INSERT is sent, the transaction holds more than the rows of a later lookup.
    crate::scope::clear_fresh::<DB>(conn);
    // One small row, `create()`'s case: one statement, no list of sizes to allocate.
    let one = rows.unsent() == 1 && unsent_bytes(&*rows) <= SMALL_BATCH_BYTES;
    let chunks = if one {
        std::borrow::Cow::Borrowed(&[1][..])
    } else {
        match chunk_sizes::<DB>(conn, table.columns, &mut *rows, set).await {
            Ok(chunks) => std::borrow::Cow::Owned(chunks),
            Err(ChunkError::Sqlx(e)) => return Err(error(e)),
            Err(ChunkError::TooLarge(why)) => return Err(too_large_in(table, operation, why)),
        }
    };
    let per_row = binds_per_row(table.columns, set);
    let of = match numbering.of {
        0 => chunks.len(),
        of => of.max(numbering.index + chunks.len()),
    };
    for &count in chunks.iter() {
        numbering.index += 1;
        let index = numbering.index;
        let first_row = rows.read_len() + 1;
        // The step names the chunk when there are several, and what is left of a decoded
        // failure when there is one.
        let step = |decoding: bool| match of {
            1 if decoding => Step::Decode,
            1 => Step::Insert,
            of => Step::Chunk {
                index,
                of,
                first_row,
                last_row: first_row + count - 1,
            },
        };
        let fail = |source: sqlx::Error, decoding: bool| {
            let mut e = table.error(operation, source).at(step(decoding));
            if decoding {
                e = e.kept(kept);
            }
            e
        };
        let sql = rows.sql(set, count);
        let mut args = DB::Arguments::default();
        args.reserve(count * per_row, count * per_row * 8);
        for _ in 0..count {
            rows.bind_next(set, &mut args)
                .map_err(|e| fail(sqlx::Error::Encode(e), false))?;
        }
        if count == 1 {
            let row = DB::fetch_one(&mut *conn, sql, args)
                .await
                .map_err(|e| fail(no_row_returned(e), false))?;
            rows.read(&row).map_err(|e| fail(e, true))?;
        } else {
            // Each row is read as it arrives and dropped, as sqlx's `query_as` does: holding
            // a statement's rows until the last one came cost the allocator more than the
            // decode (callgrind, `create_batch_10k` on SQLite).
            let mut returned = 0usize;
            let mut unread = None;
            let mut each = |row: &<DB as sqlx::Database>::Row| {
                returned += 1;
                rows.read(row).map_err(|e| {
                    unread = Some(e);
                    // Stops reading; the error kept above is the one reported.
                    sqlx::Error::RowNotFound
                })
            };
            let sent = DB::fetch_each(&mut *conn, sql, args, &mut each).await;
            if let Some(e) = unread {
                return Err(fail(e, true));
            }
            sent.map_err(|e| fail(e, false))?;
            if returned != count {
                return Err(fail(
                    crate::error::ours(format!(
                        "the INSERT of {count} rows returned {returned}: a trigger or rule on \
                         the table skipped rows"
                    )),
                    false,
                ));
            }
        }
        rows.chunk_read(count);
    }
    Ok(())
}

/// How many rows each INSERT carries: at most [`rows_per_statement`], and, for rows that add
/// up to more than [`SMALL_BATCH_BYTES`], at most three quarters of the server's statement
/// limit in values (room for the SQL text and each value's framing), the limit asked once per
/// such operation. A row that alone exceeds the limit is refused before anything is sent: the
/// server would drop the connection, and the caller's transaction with it.
pub(crate) async fn chunk_sizes<DB: Backend>(
    conn: &mut DB::Connection,
    columns: &'static [Column],
    // `&mut`: a `&dyn` held across the await would need the rows to be `Sync`.
    rows: &mut dyn Outgoing<DB>,
    set: ColumnSet,
) -> Result<Vec<usize>, ChunkError> {
    let most = rows_per_statement::<DB>(binds_per_row(columns, set));
    let len = rows.unsent();
    if unsent_bytes(&*rows) <= SMALL_BATCH_BYTES {
        let mut sizes = vec![most; len / most];
        if !len.is_multiple_of(most) {
            sizes.push(len % most);
        }
        return Ok(sizes);
    }
    let (limit, name) = DB::statement_limit(conn).await?;
    let budget = limit / 4 * 3;
    let mut sizes = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for i in 0..len {
        let size = rows.wire_size(i);
        if size > budget {
            return Err(ChunkError::TooLarge(row_too_large(
                i as u64 + 1,
                size,
                limit,
                name,
                "nothing was sent",
            )));
        }
        if count > 0 && (count == most || bytes + size > budget) {
            sizes.push(count);
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += size;
    }
    sizes.push(count);
    Ok(sizes)
}

/// A row or key refused before sending: larger than one statement may be ([`row_too_large`]).
pub(crate) fn too_large<M: Model>(operation: Operation, why: String) -> Error {
    too_large_in(Table::of::<M>(), operation, why)
}

fn too_large_in(table: &'static Table, operation: Operation, why: String) -> Error {
    Error::wrap(
        table.factory,
        table.table,
        operation,
        Step::Insert,
        why.into(),
    )
}

/// Why rows could not be split into statements.
pub(crate) enum ChunkError {
    /// Asking the server's limit failed.
    Sqlx(sqlx::Error),
    /// A row is larger than one statement may be.
    TooLarge(String),
}

impl From<sqlx::Error> for ChunkError {
    fn from(e: sqlx::Error) -> Self {
        ChunkError::Sqlx(e)
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

/// A parent's key read back alone into `keys`: generic over the key's type, not the parent, so
/// one instance serves every parent with keys of that type.
fn read_key<DB: Backend, T>(
    keys: &mut Vec<T>,
    row: &<DB as sqlx::Database>::Row,
    column: &'static str,
    table: &'static str,
) -> Result<(), sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
{
    // NULL where the child's field takes `None` is a key that did not come back (SQLite
    // stores NULL in a non-`INTEGER` primary key given no value).
    match DB::first_column::<Option<T>>(row)? {
        Some(value) => {
            keys.push(value);
            Ok(())
        }
        None => Err(crate::error::ours(format!(
            "the database returned NULL for the key `{column}` of a `{table}` created as a \
             parent: give the key a value with `#[factory(default = ..)]` or `sequence`"
        ))),
    }
}

/// What a child stores of a parent it has created: the key, as the child's field type `T`
/// (the key's type, or an `Option` of it). Generated per association to a primary key.
pub struct ParentKey<P, T> {
    /// The parent's key column, returned alone.
    pub column: &'static str,
    /// The parent's key field is bound as its own type (no `try_from`, `into` or `json`), so
    /// the column decodes as `T`.
    pub plain: bool,
    /// The key of a parent row, for parents whose rows are read back whole.
    pub from_row: fn(&P) -> T,
}

/// An `INSERT .. RETURNING` of one row that returned none: sqlx's `RowNotFound` ("no rows
/// returned by a query that expected ..") said as what happened.
pub(crate) fn no_row_returned(e: sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::RowNotFound => crate::error::ours(
            "the INSERT returned no row: a trigger or rule on the table skipped it",
        ),
        e => e,
    }
}
