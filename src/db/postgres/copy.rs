//! PostgreSQL's seed writer: `COPY .. FROM STDIN (FORMAT binary)`, what it reads of its table
//! first (`PgTable`), the keys it reserves from the key column's sequence, and how a `COPY` the
//! client gives up on is ended so that the connection stays in step.

use std::any::Any;

use sqlx::Postgres;
use sqlx::error::BoxDynError;

use crate::column::{Column, ColumnSet, binds_per_row, sent_columns};
use crate::db::backend::{ArgSink, Backend, Chunk, KeyStore, KeyedFeed, SeedFeed};
use crate::db::insert::insert_values;
use crate::db::sql::{copy_binary_sql, quoted_table};

use super::binary::{PgColumn, as_column_type};
use crate::error::{Error, HeldPanic, Step};
use crate::future::{BoxFuture, yield_now};

/// PostgreSQL: `COPY .. FROM STDIN (FORMAT binary)`, each of up to `chunk_rows` rows
/// (default 100 000), fed in pieces of at most 10 000 drawn rows. Each value is encoded by
/// sqlx's own `Encode` (the binary format a bind parameter uses, which is also `COPY`'s),
/// behind a 4-byte length as `COPY` wants.
///
/// Within one `COPY` the server inserts a piece while the next is drawn and encoded (sending
/// does not wait for the server), so drawing costs little time. Several `COPY`s rather than
/// one for the whole seed: sqlx's `PgCopyIn` is not cancel-safe (dropped, it writes a
/// `CopyFail` whose error the connection's next statement then reads as its own), so the seed
/// yields and reports progress only between `COPY`s, where a cancellation is safe. A drop at
/// an await inside a `COPY` (a `timeout` firing while the server inserts) still leaves the
/// connection out of step: DESIGN "What users must do after a cancellation".
pub(crate) async fn copy_binary<F: SeedFeed<Postgres>>(
    conn: &mut sqlx::PgConnection,
    chunks: &mut F,
) -> Result<u64, Error> {
    let table = PgTable::read(conn, F::TABLE)
        .await
        .map_err(|e| chunks.error(e, 1, chunks.total()))?;
    if !table.copyable {
        return insert_values::<Postgres, F>(conn, chunks, None).await;
    }
    copy_with::<F, _>(conn, chunks, &mut NoKeys, &table).await
}

/// What a PostgreSQL seed reads of its table before it sends a row.
pub(crate) struct PgTable {
    /// A table `COPY` writes into as INSERTs would. A view (even an updatable one) or a
    /// foreign table is not; nor is a table with an `INSERT` rule (`COPY` applies no rule) or
    /// with row-level security for the current role (the server refuses `COPY FROM` then):
    /// their rows go as INSERTs, as `create()` sends them.
    copyable: bool,
    /// A `BEFORE INSERT` row trigger, on the table or on one of its partitions, may replace
    /// any value sent, the key included: keys are then read back (`INSERT .. RETURNING`),
    /// never reserved.
    row_trigger: bool,
    /// Each column's name and type.
    columns: Vec<(String, PgColumn)>,
}

impl PgTable {
    async fn read(conn: &mut sqlx::PgConnection, table: &str) -> Result<Self, sqlx::Error> {
        const SQL: &str = "\
            WITH cols AS ( \
                SELECT a.attnum, a.attname::text AS name, b.oid::int8 AS oid, \
                       COALESCE(CASE WHEN el.typtype = 'd' THEN eb.oid ELSE el.oid END, 0)::int8 \
                         AS elem, \
                       COALESCE(CASE WHEN el.typtype = 'd' THEN eb.typcategory \
                                     ELSE el.typcategory END = 'S', false) AS text_elem \
                FROM pg_attribute a \
                CROSS JOIN LATERAL ( \
                    WITH RECURSIVE d (oid, typtype, next, typelem) AS ( \
                        SELECT t.oid, t.typtype, t.typbasetype, t.typelem FROM pg_type t \
                        WHERE t.oid = a.atttypid \
                        UNION ALL \
                        SELECT t.oid, t.typtype, t.typbasetype, t.typelem \
                        FROM d JOIN pg_type t ON t.oid = d.next WHERE d.typtype = 'd') \
                    SELECT oid, typelem FROM d WHERE typtype <> 'd') b \
                LEFT JOIN pg_type el ON el.oid = b.typelem \
                LEFT JOIN pg_type eb ON eb.oid = el.typbasetype \
                WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped) \
            SELECT c.relkind IN ('r', 'p') \
                   AND NOT EXISTS (SELECT 1 FROM pg_rewrite r \
                                   WHERE r.ev_class = c.oid AND r.ev_type = '3') \
                   AND NOT row_security_active(c.oid), \
                   EXISTS (SELECT 1 FROM pg_trigger g \
                           WHERE (g.tgrelid = c.oid \
                                  OR g.tgrelid IN (SELECT relid FROM pg_partition_tree(c.oid))) \
                           AND NOT g.tgisinternal AND g.tgenabled <> 'D' AND (g.tgtype & 7) = 7), \
                   ARRAY(SELECT name FROM cols ORDER BY attnum), \
                   ARRAY(SELECT oid FROM cols ORDER BY attnum), \
                   ARRAY(SELECT elem FROM cols ORDER BY attnum), \
                   ARRAY(SELECT text_elem FROM cols ORDER BY attnum) \
            FROM pg_class c WHERE c.oid = $1::text::regclass";
        type Row = (bool, bool, Vec<String>, Vec<i64>, Vec<i64>, Vec<bool>);
        let (copyable, row_trigger, names, oids, elems, text_elems): Row = sqlx::query_as(SQL)
            .bind(quoted_table::<Postgres>(table))
            .fetch_one(conn)
            .await?;
        let columns = names
            .into_iter()
            .zip(oids.into_iter().zip(elems).zip(text_elems))
            .map(|(name, ((oid, elem), text_elem))| {
                let column = PgColumn {
                    oid: u32::try_from(oid).unwrap_or(0),
                    elem: u32::try_from(elem).unwrap_or(0),
                    text_elem,
                };
                (name, column)
            })
            .collect();
        Ok(PgTable {
            copyable,
            row_trigger,
            columns,
        })
    }

    /// The types of the columns a `COPY` of rows that send `set` writes, in its order.
    fn copied(&self, columns: &'static [Column], set: ColumnSet) -> Vec<PgColumn> {
        sent_columns(columns, set)
            .map(|name| {
                let found = self.columns.iter().find(|(column, _)| column == name);
                found.map(|(_, column)| *column).unwrap_or_default()
            })
            .collect()
    }
}

/// The binary `COPY` stream's signature, flags and header extension length.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// [`copy_binary`], with `keys` deciding the key column and told each `COPY`'s keys.
async fn copy_with<F: SeedFeed<Postgres>, K: CopyKeys<F>>(
    conn: &mut sqlx::PgConnection,
    chunks: &mut F,
    keys: &mut K,
    table: &PgTable,
) -> Result<u64, Error> {
    // Rows per `COPY`: its round trip is noise next to them.
    const COPY_ROWS: usize = 100_000;
    // Rows drawn and encoded at a time: what the client holds in memory.
    const PIECE_ROWS: usize = 10_000;
    let per_copy = chunks.chunk_rows(COPY_ROWS);
    let piece = per_copy.min(PIECE_ROWS);
    let mut inserted = 0;
    let mut sql = None;
    while let Some(chunk) = chunks.next(piece)? {
        let set = chunk.set;
        let copied = keys.columns(set);
        let first_row = chunk.first_row;
        let fields = i16::try_from(binds_per_row(F::COLUMNS, copied))
            .map_err(|e| chunks.error(sqlx::Error::Encode(Box::new(e)), first_row, first_row))?;
        let (sql, types) = sql.get_or_insert_with(|| {
            let sql = copy_binary_sql::<Postgres>(F::TABLE, F::COLUMNS, copied);
            (sql, table.copied(F::COLUMNS, copied))
        });
        // The rows of this `COPY`: the piece drawn, and up to `per_copy` with those to come.
        let left = usize::try_from(chunks.total() - chunks.drawn()).unwrap_or(usize::MAX);
        let rows = per_copy.min(chunk.rows.len().saturating_add(left));
        keys.before_copy(conn, rows, set)
            .await
            .map_err(|e| chunks.error(e, first_row, first_row))?;
        let mut copy = conn
            .copy_in_raw(sql)
            .await
            .map_err(|e| chunks.error(e, first_row, first_row))?;
        let mut sent = false;
        let fill = Fill {
            fields,
            types,
            per_copy,
            piece,
        };
        let filled = fill_copy(&mut copy, &mut sent, chunks, keys, chunk, &fill);
        let last_row = match filled.await {
            Ok(last_row) => last_row,
            Err(stop) => {
                let sent_rows = chunks.drawn();
                let earlier = end_failed_copy(copy, sent).await;
                let e = match stop {
                    Stop::Failed(e) => e,
                    // Carried up to `run_with`, which resumes it once the seed's savepoint
                    // or transaction is rolled back.
                    Stop::Panicked(panic) => {
                        let held = HeldPanic::new(panic);
                        let step = Step::Rows {
                            first_row,
                            last_row: sent_rows,
                        };
                        return Err(chunks.wrap(step, Box::new(held)));
                    }
                };
                // The server's own error, on rows sent before, is the first to report.
                return Err(match earlier {
                    Some(earlier) => chunks.error(earlier, first_row, sent_rows),
                    None => e,
                });
            }
        };
        inserted += copy
            .finish()
            .await
            .map_err(|e| chunks.error(e, first_row, last_row))?;
        keys.after_copy(conn).await?;
        chunks.report(last_row);
        yield_now().await;
    }
    Ok(inserted)
}

/// The shape of one `COPY`: values per row, their columns' types, rows in all and per piece.
struct Fill<'t> {
    fields: i16,
    types: &'t [PgColumn],
    per_copy: usize,
    piece: usize,
}

/// Why [`fill_copy`] gave up on its `COPY`.
enum Stop {
    Failed(Error),
    /// User code (a `default`, `fake` or `sequence` expression drawing the rows, an `Encode`
    /// binding them) panicked: the panic is held until the `COPY` is ended, since unwinding
    /// through the open `PgCopyIn` drops it, and the connection's next statement would read
    /// the `COPY`'s answers as its own.
    Panicked(Box<dyn Any + Send>),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

/// Runs user code inside an open `COPY`, holding its panic (see [`Stop::Panicked`]).
// The crate's own `Error`, as every operation returns it; made at most once per seed.
#[allow(clippy::result_large_err)]
fn hold_panic<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Stop> {
    // Unwind safety: after a panic the seed ends, and nothing reads what `f` touched.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(Stop::Failed),
        Err(panic) => Err(Stop::Panicked(panic)),
    }
}

/// Sends one `COPY`'s rows, from `chunk` on, up to `per_copy` of them and its trailer; the
/// number of its last row. `sent` tells whether anything (the header first) was sent.
// The crate's own `Error`, as every operation returns it; made at most once per seed.
#[allow(clippy::result_large_err)]
async fn fill_copy<F: SeedFeed<Postgres>, K: CopyKeys<F>>(
    copy: &mut sqlx::postgres::PgCopyIn<&mut sqlx::PgConnection>,
    sent: &mut bool,
    chunks: &mut F,
    keys: &mut K,
    mut chunk: Chunk<F::Row>,
    fill: &Fill<'_>,
) -> Result<u64, Stop> {
    use sqlx::postgres::PgArgumentBuffer;

    let &Fill {
        fields,
        types,
        per_copy,
        piece,
    } = fill;
    let set = chunk.set;
    let first_row = chunk.first_row;
    let mut buf = PgArgumentBuffer::default();
    buf.extend_from_slice(COPY_HEADER);
    let mut in_copy = 0;
    let last_row = loop {
        let last_row = chunk.first_row + chunk.rows.len() as u64 - 1;
        in_copy += chunk.rows.len();
        hold_panic(|| {
            for (row_number, row) in (chunk.first_row..).zip(chunk.rows) {
                buf.extend_from_slice(&fields.to_be_bytes());
                let mut sink = CopyRow {
                    buf: &mut buf,
                    types,
                    at: 0,
                };
                keys.bind(row, set, &mut sink)
                    .map_err(|e| chunks.error(sqlx::Error::Encode(e), row_number, row_number))?;
            }
            Ok(())
        })?;
        if in_copy >= per_copy {
            break last_row;
        }
        match hold_panic(|| chunks.next(piece.min(per_copy - in_copy)))? {
            Some(next) => {
                copy.send(&buf[..])
                    .await
                    .map_err(|e| chunks.error(e, first_row, last_row))?;
                *sent = true;
                // A fresh buffer: sqlx's may hold notes for types it resolves later.
                buf = PgArgumentBuffer::default();
                chunk = next;
            }
            None => break last_row,
        }
    };
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(&buf[..])
        .await
        .map_err(|e| chunks.error(e, first_row, last_row))?;
    Ok(last_row)
}

/// Ends a `COPY` the client gives up on (a value that fails to encode, rows that cannot be
/// drawn) so that the connection's next statement reads its own answer.
///
/// sqlx's `PgCopyIn::abort` cannot do it in every case: when the server has already failed
/// the `COPY` (a value it refused in rows sent earlier), it ignores the `CopyFail`, `abort`
/// reads the server's error as the answer and leaves its `ReadyForQuery` unread, and every
/// later statement on the connection reads the answer of the one before. Instead the client
/// makes the server fail the `COPY` itself, with a row of 32 767 fields (no table has that
/// many), and `finish` reads the error and the `ReadyForQuery` that follow, whether the server
/// failed before or now. Nothing of the `COPY` is kept: a failed `COPY` inserts no row.
///
/// Returns the server's error when it had failed the `COPY` before (on a value it refused),
/// rather than on the row sent here (SQLSTATE 22P04, "row field count is 32767").
async fn end_failed_copy(
    mut copy: sqlx::postgres::PgCopyIn<&mut sqlx::PgConnection>,
    header_sent: bool,
) -> Option<sqlx::Error> {
    let mut refused = Vec::with_capacity(COPY_HEADER.len() + 2);
    if !header_sent {
        refused.extend_from_slice(COPY_HEADER);
    }
    refused.extend_from_slice(&i16::MAX.to_be_bytes());
    // If sending fails the connection is gone, and the operation's own error is the one to
    // report.
    copy.send(refused).await.ok()?;
    match copy.finish().await {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() != Some("22P04") => {
            Some(sqlx::Error::Database(e))
        }
        _ => None,
    }
}

/// What a `COPY` does with the key column: nothing ([`NoKeys`]), or reserve it and hand the
/// keys on ([`SequenceKeys`]).
trait CopyKeys<F: SeedFeed<Postgres>> {
    /// The columns the `COPY` sends, for rows that send `set`.
    fn columns(&self, set: ColumnSet) -> ColumnSet;
    /// Before a `COPY` of `rows` rows that send `set` starts (no other statement can run
    /// during it).
    fn before_copy<'a>(
        &'a mut self,
        conn: &'a mut sqlx::PgConnection,
        rows: usize,
        set: ColumnSet,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;
    /// Writes one row.
    fn bind(
        &mut self,
        row: F::Row,
        set: ColumnSet,
        sink: &mut CopyRow<'_>,
    ) -> Result<(), BoxDynError>;
    /// After a `COPY` finished.
    fn after_copy<'a>(
        &'a mut self,
        conn: &'a mut sqlx::PgConnection,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// A plain seed: the rows as drawn, nothing read back.
struct NoKeys;

impl<F: SeedFeed<Postgres>> CopyKeys<F> for NoKeys {
    fn columns(&self, set: ColumnSet) -> ColumnSet {
        set
    }

    fn before_copy<'a>(
        &'a mut self,
        _: &'a mut sqlx::PgConnection,
        _: usize,
        _: ColumnSet,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn bind(
        &mut self,
        row: F::Row,
        set: ColumnSet,
        sink: &mut CopyRow<'_>,
    ) -> Result<(), BoxDynError> {
        F::bind(row, set, sink)
    }

    fn after_copy<'a>(
        &'a mut self,
        _: &'a mut sqlx::PgConnection,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The key column of a seed whose keys are needed: reserved from its sequence before each
/// `COPY` (`SELECT nextval(..) FROM generate_series(1, n)`, one statement) and written into
/// each row, or, when the rows carry their key, read off them. Either way they are in the
/// rows' order, and handed on after the `COPY`.
struct SequenceKeys<'k, K> {
    keys: &'k mut dyn KeyStore<Postgres, K>,
    /// The reserving statement, when the database fills the key and the rows do not send it.
    reserve: Option<String>,
    /// The key column's bit among the database-filled columns.
    bit: Option<usize>,
    /// The next reserved key to write.
    next: usize,
}

impl<F: KeyedFeed<Postgres>> CopyKeys<F> for SequenceKeys<'_, F::Key> {
    fn columns(&self, set: ColumnSet) -> ColumnSet {
        match (&self.reserve, self.bit) {
            (Some(_), Some(bit)) if !set.contains(bit) => set.with(bit, true),
            _ => set,
        }
    }

    fn before_copy<'a>(
        &'a mut self,
        conn: &'a mut sqlx::PgConnection,
        rows: usize,
        set: ColumnSet,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(async move {
            self.next = 0;
            // Rows that send their own key (a `sequence`, a setter) hand on those keys: none
            // is reserved for them.
            let own_keys = self.bit.is_some_and(|bit| set.contains(bit));
            if let (Some(reserve), false) = (&self.reserve, own_keys) {
                let sql = format!("{reserve}{rows})");
                let reserved: Vec<F::Key> = Postgres::fetch_column(conn, sql).await?;
                *self.keys.pending() = reserved;
            }
            Ok(())
        })
    }

    fn bind(
        &mut self,
        row: F::Row,
        set: ColumnSet,
        sink: &mut CopyRow<'_>,
    ) -> Result<(), BoxDynError> {
        let (Some(_), Some(bit)) = (&self.reserve, self.bit) else {
            self.keys.pending().push(F::key(&row));
            return F::bind(row, set, sink);
        };
        if set.contains(bit) {
            self.keys.pending().push(F::key(&row));
            return F::bind(row, set, sink);
        }
        let next = self.next;
        let Some(key) = self.keys.pending().get(next) else {
            return Err("sqlx-factory bug: fewer keys reserved than rows in the COPY".into());
        };
        self.next += 1;
        // The key goes where the column list has it: after the sent columns before it.
        let at = key_position(F::COLUMNS, set, F::KEY_COLUMN);
        let mut with_key = WithKey {
            sink,
            at,
            seen: 0,
            key: Some(key),
        };
        F::bind(row, set, &mut with_key)?;
        if let Some(key) = with_key.key.take() {
            with_key.sink.add(key)?;
        }
        Ok(())
    }

    fn after_copy<'a>(
        &'a mut self,
        conn: &'a mut sqlx::PgConnection,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.keys.flush(conn)
    }
}

/// How many of the columns `set` sends come before `key` in `columns`.
fn key_position(columns: &[Column], set: ColumnSet, key: &str) -> usize {
    let mut db_filled = 0;
    let mut sent = 0;
    for column in columns {
        if column.name == key {
            break;
        }
        if column.db_filled {
            db_filled += 1;
            if set.contains(db_filled - 1) {
                sent += 1;
            }
        } else {
            sent += 1;
        }
    }
    sent
}

/// A `COPY` row with a reserved key written in at position `at`.
struct WithKey<'s, 'b, K> {
    sink: &'s mut CopyRow<'b>,
    at: usize,
    seen: usize,
    key: Option<&'s K>,
}

impl<K> ArgSink<Postgres> for WithKey<'_, '_, K>
where
    K: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
{
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        if self.seen == self.at
            && let Some(key) = self.key.take()
        {
            self.sink.add(key)?;
        }
        self.seen += 1;
        self.sink.add(value)
    }
}

/// PostgreSQL's key path of a seed (`with_children`, `returning_keys`): the keys reserved
/// from the key column's sequence and sent in the `COPY`, when the database fills the key
/// from a sequence (`SERIAL`, `BIGSERIAL`, identity); the rows' own keys when they send
/// them; otherwise (a key filled by another default, e.g. `gen_random_uuid()`) INSERTs
/// returning the key, as on the other backends.
pub(crate) async fn copy_keyed<F: KeyedFeed<Postgres>>(
    conn: &mut sqlx::PgConnection,
    chunks: &mut F,
    keys: &mut dyn KeyStore<Postgres, F::Key>,
) -> Result<u64, Error> {
    let table = PgTable::read(conn, F::TABLE)
        .await
        .map_err(|e| chunks.error(e, 1, chunks.total()))?;
    let position = F::COLUMNS.iter().position(|c| c.name == F::KEY_COLUMN);
    let (Some(position), true, false) = (position, table.copyable, table.row_trigger) else {
        return insert_values::<Postgres, F>(conn, chunks, Some(keys)).await;
    };
    let column = F::COLUMNS[position];
    let mut reserve = None;
    let mut bit = None;
    if column.db_filled {
        bit = Some(
            F::COLUMNS[..position]
                .iter()
                .filter(|c| c.db_filled)
                .count(),
        );
        let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, $2)")
            .bind(quoted_table::<Postgres>(F::TABLE))
            .bind(F::KEY_COLUMN)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| chunks.error(e, 1, chunks.total()))?;
        let Some(sequence) = sequence else {
            return insert_values::<Postgres, F>(conn, chunks, Some(keys)).await;
        };
        let ty = <F::Key as sqlx::Type<Postgres>>::type_info();
        reserve = Some(format!(
            "SELECT nextval('{}')::{} FROM generate_series(1, ",
            sequence.replace('\'', "''"),
            sqlx::TypeInfo::name(&ty),
        ));
    }
    let mut copy_keys = SequenceKeys {
        keys,
        reserve,
        bit,
        next: 0,
    };
    copy_with::<F, _>(conn, chunks, &mut copy_keys, &table).await
}

/// One `COPY` row being written: each value as its length (`-1` for NULL) and its bytes.
pub(crate) struct CopyRow<'a> {
    buf: &'a mut sqlx::postgres::PgArgumentBuffer,
    /// The types of the row's columns, in order.
    types: &'a [PgColumn],
    /// The column of the next value.
    at: usize,
}

impl ArgSink<Postgres> for CopyRow<'_> {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        let column = self.types.get(self.at).copied().unwrap_or_default();
        self.at += 1;
        let buf = &mut *self.buf;
        let offset = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let len = match value.encode(buf) {
            Ok(sqlx::encode::IsNull::No) => {
                let bound = <T as sqlx::Type<Postgres>>::type_info().oid();
                as_column_type(column, bound.map_or(0, |oid| oid.0), buf, offset + 4);
                i32::try_from(buf.len() - offset - 4)?
            }
            Ok(sqlx::encode::IsNull::Yes) => -1,
            Err(e) => {
                buf.truncate(offset);
                return Err(e);
            }
        };
        buf[offset..offset + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}
