//! Seeding mode: `insert_many(n)` streams `n` rows into a table in constant memory and returns
//! only the count. Values are drawn chunk by chunk from one generator (so a seeded run gives
//! the rows `build_batch(n)` gives), then sent with `COPY .. FROM STDIN (FORMAT binary)` on
//! PostgreSQL and multi-row INSERTs without `RETURNING`, one text per chunk size (one prepared
//! statement reused), on SQLite and MariaDB. The whole seed runs in a [`Scope`], like every
//! operation: all or nothing on error, cancellation and panic, never committing the caller's
//! transaction.

use std::any::{Any, TypeId};
use std::future::IntoFuture;
use std::marker::PhantomData;

use sqlx::Database;
use sqlx::error::BoxDynError;

use crate::backend::Backend;
use crate::create::{Pending, State};
use crate::error::{Error, Operation, Step};
use crate::future::BoxFuture;
use crate::model::{Association, Insert, Model, Rows};
use crate::scope::Scope;
use crate::seed::Draw;
use crate::session::Bound;
use crate::sql::ColumnSet;
use crate::state::FactoryState;

/// Where a row's values are bound: a statement's arguments, or a `COPY` row.
pub trait ArgSink<DB: Database> {
    /// Adds the next value.
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>;
}

/// A statement's arguments as an [`ArgSink`].
pub struct Args<'a, DB: Database>(pub &'a mut DB::Arguments);

impl<DB: Database> ArgSink<DB> for Args<'_, DB> {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        sqlx::Arguments::add(self.0, value)
    }
}

/// An unbound factory that draws rows chunk by chunk from one generator: what `insert_many`
/// keeps of the factory once its session is taken out. Implemented by the derive.
pub trait ChunkSource<M: Model>: Send {
    /// The next `n` rows of the stream `draw`.
    fn draw_chunk(&mut self, n: usize, draw: &mut Draw, seed: Option<u64>) -> Rows<M>;
    /// The seed set with `.seed(..)`, if any.
    fn seed(&self) -> Option<u64>;
}

/// How far a seed got: given to the `on_progress` callback after each chunk is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The table being seeded.
    pub table: &'static str,
    /// Rows sent so far (they become visible when the operation ends).
    pub rows: u64,
    /// Rows asked for.
    pub total: u64,
}

type ProgressFn = Box<dyn Fn(Progress) + Send + Sync>;

/// Keys of existing parents of one type, handed to children in turn.
struct ParentKeys {
    parent: TypeId,
    name: &'static str,
    keys: Box<dyn KeyList>,
    /// Children of `with_children`: a row that takes no key is an error (no association to
    /// the parent), where `parents_from` keys may go unused.
    required: bool,
}

trait KeyList: Send + Sync {
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> &(dyn Any + Send + Sync);
}

impl<K: Any + Send + Sync> KeyList for Vec<K> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn get(&self, i: usize) -> &(dyn Any + Send + Sync) {
        &self[i]
    }
}

/// The pending result of `insert_many(n)`: `.await` it to send the rows; it resolves to the
/// number of rows inserted.
#[must_use = "nothing is inserted until the result of `insert_many()` is awaited"]
pub struct InsertMany<S: Pending<M>, M: Model> {
    state: FactoryState<S, M>,
    source: Box<dyn ChunkSource<M>>,
    rows: u64,
    parents: Vec<ParentKeys>,
    progress: Option<ProgressFn>,
    chunk_rows: Option<usize>,
    /// `Box<dyn KeyedChildren<DB, M>>` behind `Any`: `S` alone does not name the backend.
    children: Option<Box<dyn Any + Send>>,
    /// `parents_from_table`: each a `Box<dyn TableKeys<DB>>` behind `Any`, read when the seed
    /// starts.
    from_tables: Vec<Box<dyn Any + Send>>,
    start: fn(Self) -> S::InsertMany,
}

impl<S: State<M>, M: Model> InsertMany<S, M> {
    #[doc(hidden)]
    pub fn new(state: FactoryState<S, M>, source: Box<dyn ChunkSource<M>>, rows: u64) -> Self {
        InsertMany {
            state,
            source,
            rows,
            parents: Vec::new(),
            progress: None,
            chunk_rows: None,
            children: None,
            from_tables: Vec::new(),
            start: S::insert_many,
        }
    }
}

impl<S: Pending<M>, M: Model> InsertMany<S, M> {
    /// Spreads the rows over existing parents of type `P`: the foreign key of every
    /// association to `P` takes these keys in turn (row `i` gets key `i % len`), and no parent
    /// is created. `keys` may be a `Vec`, a slice iterator, or a range of integer keys.
    ///
    /// Without it, seeding a model whose association would create a parent fails before
    /// anything is sent (one parent per row is never what a seed wants).
    pub fn parents_from<P>(mut self, keys: impl IntoIterator<Item = P::Key>) -> Self
    where
        P: Association,
        P::Key: Send + Sync + 'static,
    {
        let keys: Vec<P::Key> = keys.into_iter().collect();
        self.parents.push(ParentKeys {
            parent: TypeId::of::<P>(),
            name: std::any::type_name::<P>(),
            keys: Box::new(keys),
            required: false,
        });
        self
    }

    /// Calls `report` after each chunk is sent, with the rows sent so far.
    pub fn on_progress(mut self, report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(report));
        self
    }

    /// Rows per statement, after which progress is reported and the seed may be cancelled
    /// (default: 100 000 per `COPY` on PostgreSQL, drawn 10 000 at a time; the backend's
    /// statement limit for INSERTs elsewhere). Memory grows with it (up to 10 000 rows on
    /// PostgreSQL), not with `n`.
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = Some(rows.max(1));
        self
    }
}

impl<'c, DB, M> InsertMany<Bound<'c, DB>, M>
where
    DB: Backend,
    M: Insert<DB> + Association,
    M::Key: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + Sync + 'static,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    /// Spreads the rows over the parents of type `P` already in `P`'s table, as
    /// [`parents_from`](Self::parents_from) does with their keys: the key column alone is read
    /// once when the seed starts (`SELECT key FROM table ORDER BY key`, in the seed's own
    /// transaction or savepoint, so rows the caller created earlier in the same transaction
    /// count), row by row, holding the keys (8 bytes per parent for an `i64`), not the rows.
    /// An empty table is an error, before anything is sent.
    pub fn parents_from_table<P>(mut self) -> Self
    where
        P: Association,
        P::Key: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + Sync + Unpin + 'static,
    {
        let keys: Box<dyn TableKeys<DB>> = Box::new(FromTable::<P>(PhantomData));
        self.from_tables.push(Box::new(keys));
        self
    }

    /// Seeds `per_parent` rows of `children` (an unbound factory, e.g. `Post::factory()`) for
    /// every row seeded: after each INSERT of parents, which returns their keys alone, their
    /// children are sent (`COPY` on PostgreSQL), each parent's key in the field of the child's
    /// association to this model. Streaming: one statement's keys are held at a time.
    pub fn with_children<C: Insert<DB>>(
        mut self,
        per_parent: u64,
        children: impl ChunkSource<C> + 'static,
    ) -> Self {
        let source: Box<dyn ChunkSource<C>> = Box::new(children);
        let seed = source.seed();
        let chunks = Chunks {
            draw: crate::seed::draw(seed),
            source,
            seed,
            total: 0,
            drawn: 0,
            parents: Vec::new(),
            progress: None,
            chunk_rows: None,
            operation: Operation::InsertMany {
                rows: self.rows.saturating_mul(per_parent),
            },
            key_base: 0,
        };
        let children: Box<dyn KeyedChildren<DB, M>> = Box::new(WithChildren::<M, C> {
            keys: Vec::new(),
            children: chunks,
            per_parent,
        });
        self.children = Some(Box::new(children));
        self
    }
}

/// The keys of a parent table, read when a seed starts (`parents_from_table`).
trait TableKeys<DB: Backend>: Send {
    fn load<'a>(
        &'a self,
        conn: &'a mut DB::Connection,
    ) -> BoxFuture<'a, Result<ParentKeys, sqlx::Error>>;
}

struct FromTable<P>(PhantomData<fn() -> P>);

impl<DB, P> TableKeys<DB> for FromTable<P>
where
    DB: Backend,
    P: Association,
    P::Key: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + Sync + Unpin + 'static,
{
    fn load<'a>(
        &'a self,
        conn: &'a mut DB::Connection,
    ) -> BoxFuture<'a, Result<ParentKeys, sqlx::Error>> {
        let sql = crate::sql::select_keys_sql::<DB>(P::TABLE, P::KEY_COLUMN);
        Box::pin(async move {
            let keys: Vec<P::Key> = DB::fetch_column(conn, sql).await?;
            if keys.is_empty() {
                return Err(sqlx::Error::Protocol(format!(
                    "parents_from_table: `{}` has no rows to spread the seed over",
                    P::TABLE
                )));
            }
            Ok(ParentKeys {
                parent: TypeId::of::<P>(),
                name: std::any::type_name::<P>(),
                keys: Box::new(keys),
                required: false,
            })
        })
    }
}

/// The children of a parent seed (`with_children`), type-erased over the child model.
pub(crate) trait KeyedChildren<DB: Backend, M>: Send {
    /// The parent's key column, which its INSERTs return.
    fn key_column(&self) -> &'static str;
    /// Reads the keys an INSERT of parents returned.
    fn decode_keys(&mut self, rows: &[<DB as Database>::Row]) -> Result<(), sqlx::Error>;
    /// Seeds the children of the keys read so far.
    fn seed<'a>(&'a mut self, conn: &'a mut DB::Connection) -> BoxFuture<'a, Result<u64, Error>>;
}

struct WithChildren<M: Association, C: Model> {
    keys: Vec<M::Key>,
    children: Chunks<C>,
    per_parent: u64,
}

impl<DB, M, C> KeyedChildren<DB, M> for WithChildren<M, C>
where
    DB: Backend,
    M: Association,
    M::Key: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + Sync + 'static,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
    C: Insert<DB>,
{
    fn key_column(&self) -> &'static str {
        M::KEY_COLUMN
    }

    fn decode_keys(&mut self, rows: &[<DB as Database>::Row]) -> Result<(), sqlx::Error> {
        for row in rows {
            self.keys.push(sqlx::Row::try_get::<M::Key, usize>(row, 0)?);
        }
        Ok(())
    }

    fn seed<'a>(&'a mut self, conn: &'a mut DB::Connection) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(async move {
            let keys = std::mem::take(&mut self.keys);
            let chunks = &mut self.children;
            chunks.total = chunks.drawn + self.per_parent * keys.len() as u64;
            chunks.key_base = chunks.drawn;
            chunks.parents = vec![ParentKeys {
                parent: TypeId::of::<M>(),
                name: std::any::type_name::<M>(),
                keys: Box::new(keys),
                required: true,
            }];
            DB::seed_rows::<C>(conn, chunks).await
        })
    }
}

impl<S: Pending<M>, M: Model> IntoFuture for InsertMany<S, M> {
    type Output = Result<u64, Error>;
    type IntoFuture = S::InsertMany;

    fn into_future(self) -> Self::IntoFuture {
        (self.start)(self)
    }
}

/// The rows of a seed, drawn on demand, with the parents' keys and the progress callback.
pub struct Chunks<M: Model> {
    source: Box<dyn ChunkSource<M>>,
    draw: Draw,
    seed: Option<u64>,
    total: u64,
    drawn: u64,
    parents: Vec<ParentKeys>,
    progress: Option<ProgressFn>,
    chunk_rows: Option<usize>,
    operation: Operation,
    /// The row number the parents' round robin starts from.
    key_base: u64,
}

/// One drawn chunk: its rows, the columns they send, and the number of its first row.
pub(crate) struct Chunk<M> {
    pub(crate) rows: Vec<M>,
    pub(crate) set: ColumnSet,
    pub(crate) first_row: u64,
}

impl<M: Model> Chunks<M> {
    /// Rows per chunk the caller asked for, else `default`.
    pub(crate) fn chunk_rows(&self, default: usize) -> usize {
        self.chunk_rows.unwrap_or(default)
    }

    /// The error of this operation, at the rows `first_row..=last_row`.
    pub(crate) fn error(&self, source: sqlx::Error, first_row: u64, last_row: u64) -> Error {
        Error::new(M::FACTORY, M::TABLE, self.operation, source).at(Step::Rows {
            first_row,
            last_row,
        })
    }

    /// Draws up to `max` more rows, with the parents' keys written in; `None` when done.
    // The crate's own `Error`, as every operation returns it; made at most once per seed.
    #[allow(clippy::result_large_err)]
    pub(crate) fn next<DB: Backend>(&mut self, max: usize) -> Result<Option<Chunk<M>>, Error>
    where
        M: Insert<DB>,
    {
        let left = self.total - self.drawn;
        if left == 0 {
            return Ok(None);
        }
        let n = usize::try_from(left).map_or(max, |left| left.min(max));
        let Rows {
            mut rows,
            set,
            mut parents,
            ..
        } = self.source.draw_chunk(n, &mut self.draw, self.seed);
        let first_row = self.drawn + 1;
        for (i, row) in rows.iter_mut().enumerate() {
            let index = self.drawn + i as u64 - self.key_base;
            for pool in &self.parents {
                let len = pool.keys.len() as u64;
                if len == 0 {
                    continue;
                }
                // A model may point at `P` from no field: `parents_from` keys are then unused.
                let key = pool.keys.get((index % len) as usize);
                if !row.set_parent_key(&mut parents, pool.parent, key) && pool.required {
                    return Err(Error::new(
                        M::FACTORY,
                        M::TABLE,
                        self.operation,
                        sqlx::Error::Protocol(format!(
                            "with_children: no association of this model stores the key of `{}`",
                            pool.name
                        )),
                    ));
                }
            }
        }
        if M::needs_parents(&parents) {
            let given: Vec<&str> = self.parents.iter().map(|p| p.name).collect();
            let message = format!(
                "insert_many would create one parent row per row: give the parents' keys with \
                 `.parents_from::<Parent>(keys)` (given: {given:?}), or set the foreign key"
            );
            return Err(Error::new(
                M::FACTORY,
                M::TABLE,
                self.operation,
                sqlx::Error::Protocol(message),
            ));
        }
        self.drawn += rows.len() as u64;
        Ok(Some(Chunk {
            rows,
            set,
            first_row,
        }))
    }

    /// Reports that `sent` rows have been sent so far: the callback, and a `tracing` event.
    pub(crate) fn report(&self, sent: u64) {
        let progress = Progress {
            table: M::TABLE,
            rows: sent,
            total: self.total,
        };
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "sqlx_factory::seed",
            factory = M::FACTORY,
            table = M::TABLE,
            rows = sent,
            total = self.total,
            "chunk sent"
        );
        if let Some(report) = &self.progress {
            report(progress);
        }
    }
}

/// Runs a seed in a [`Scope`] (a savepoint, or a transaction of its own on a bare connection),
/// as `run` in create.rs does for a batch.
pub(crate) async fn run<DB: Backend, M: Insert<DB>>(
    job: InsertMany<Bound<'_, DB>, M>,
) -> Result<u64, Error> {
    let InsertMany {
        state,
        source,
        rows,
        parents,
        progress,
        chunk_rows,
        children,
        from_tables,
        ..
    } = job;
    let FactoryState {
        mut session,
        after_create,
        ..
    } = state;
    let operation = Operation::InsertMany { rows };
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    if !after_create.is_empty() {
        return Err(error(sqlx::Error::Protocol(
            "`after_create` and `with_related` need the created rows, which insert_many does \
             not read back: seed the related table with its own insert_many and `parents_from`"
                .into(),
        )));
    }
    if rows == 0 {
        return Ok(0);
    }
    let seed = source.seed();
    let mut chunks = Chunks {
        draw: crate::seed::draw(seed),
        source,
        seed,
        total: rows,
        drawn: 0,
        parents: Vec::new(),
        progress,
        chunk_rows,
        operation,
        key_base: 0,
    };
    let mut children = children.and_then(|c| c.downcast::<Box<dyn KeyedChildren<DB, M>>>().ok());
    let mut scope = Scope::begin(&mut session).await.map_err(error)?;
    let conn = &mut *scope.session().conn;
    let result = async {
        chunks.parents = parents;
        for table in from_tables {
            let Ok(table) = table.downcast::<Box<dyn TableKeys<DB>>>() else {
                unreachable!("parents_from_table is stored for the seed's own backend")
            };
            let keys = table.load(&mut *conn).await.map_err(error)?;
            chunks.parents.push(keys);
        }
        match children.as_deref_mut() {
            None => DB::seed_rows::<M>(conn, &mut chunks).await,
            // Parents go as INSERTs returning their keys (also on PostgreSQL, where `COPY`
            // returns nothing); their children as a seed of their own, `COPY` there.
            Some(children) => {
                insert_values_with::<DB, M>(conn, &mut chunks, Some(&mut **children)).await
            }
        }
    }
    .await;
    match result {
        Ok(inserted) => {
            scope.commit().await.map_err(error)?;
            Ok(inserted)
        }
        Err(e) => {
            scope.rollback().await;
            Err(e)
        }
    }
}

/// Gives the runtime a turn between chunks: a long seed is then cancellable (a `timeout`
/// fires) and shares its thread, even when every write completes without waiting.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

/// SQLite and MariaDB (and PostgreSQL if asked): multi-row INSERTs without `RETURNING`, cut
/// by the bind limit and the server's statement size; every full chunk has the same text, so
/// sqlx's per-connection statement cache prepares it once.
pub(crate) async fn insert_values<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    chunks: &mut Chunks<M>,
) -> Result<u64, Error> {
    insert_values_with::<DB, M>(conn, chunks, None).await
}

/// [`insert_values`], and with `children`, each INSERT returns its keys alone (no other column
/// is read back), and the children of those rows are seeded right after it.
async fn insert_values_with<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    chunks: &mut Chunks<M>,
    mut children: Option<&mut dyn KeyedChildren<DB, M>>,
) -> Result<u64, Error> {
    // Three quarters of the server's limit: room for the SQL text and each value's framing.
    let budget = DB::statement_limit(conn)
        .await
        .map(|(limit, _)| limit / 4 * 3)
        .map_err(|e| chunks.error(e, 1, chunks.total))?;
    let mut inserted = 0u64;
    let mut per_statement = None;
    loop {
        // Known once the first row says which columns are sent: a first chunk of one row.
        let most = per_statement.unwrap_or(1);
        let Some(chunk) = chunks.next::<DB>(chunks.chunk_rows(most))? else {
            break;
        };
        let per_row = crate::sql::binds_per_row(M::COLUMNS, chunk.set);
        let limit = *per_statement.get_or_insert_with(|| {
            match DB::MAX_BIND_PARAMS.checked_div(per_row) {
                Some(rows) => rows.clamp(1, DB::SEED_ROWS_PER_INSERT),
                // Rows that send no column go one per statement (`DEFAULT VALUES` takes one).
                None => 1,
            }
        });
        let mut first_row = chunk.first_row;
        let mut rows = chunk.rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut args = DB::Arguments::default();
            let mut count = 0usize;
            let mut bytes = 0usize;
            while let Some(row) = rows.peek() {
                let size = row.byte_size();
                // A chunk larger than a statement (`chunk_rows`) is cut by binds and bytes.
                if count > 0 && (count == limit || bytes + size > budget) {
                    break;
                }
                bytes += size;
                count += 1;
                let Some(row) = rows.next() else { break };
                row.bind(chunk.set, &mut Args::<DB>(&mut args))
                    .map_err(|e| {
                        chunks.error(
                            sqlx::Error::Encode(e),
                            first_row,
                            first_row + count as u64 - 1,
                        )
                    })?;
            }
            let last_row = first_row + count as u64 - 1;
            match children.as_deref_mut() {
                None => {
                    let sql = M::sql_cache().seed_sql::<DB, M>(chunk.set, count);
                    inserted += DB::execute(&mut *conn, sql, args)
                        .await
                        .map_err(|e| chunks.error(e, first_row, last_row))?;
                }
                Some(children) => {
                    let key = children.key_column();
                    let sql = M::sql_cache().seed_key_sql::<DB, M>(chunk.set, count, key);
                    let keys = DB::fetch_all(&mut *conn, sql, args)
                        .await
                        .map_err(|e| chunks.error(e, first_row, last_row))?;
                    inserted += keys.len() as u64;
                    children
                        .decode_keys(&keys)
                        .map_err(|e| chunks.error(e, first_row, last_row))?;
                    drop(keys);
                    children.seed(&mut *conn).await?;
                }
            }
            first_row = last_row + 1;
        }
        chunks.report(first_row - 1);
        yield_now().await;
    }
    Ok(inserted)
}

/// PostgreSQL: `COPY .. FROM STDIN (FORMAT binary)`, each of up to `chunk_rows` rows
/// (default 100 000), fed in pieces of at most 10 000 drawn rows. Each value is encoded by
/// sqlx's own `Encode` (the binary format a bind parameter uses, which is also `COPY`'s),
/// behind a 4-byte length as `COPY` wants.
///
/// Within one `COPY` the server inserts a piece while the next is drawn and encoded (sending
/// does not wait for the server), so drawing costs little time. Several `COPY`s rather than
/// one for the whole seed: sqlx's `PgCopyIn` is not cancel-safe (dropped, it writes a
/// `CopyFail` whose error the connection's next statement then reads as its own), so the seed
/// yields, reports progress and may be cancelled only between `COPY`s.
#[cfg(feature = "postgres")]
pub(crate) async fn copy_binary<M: Insert<sqlx::Postgres>>(
    conn: &mut sqlx::PgConnection,
    chunks: &mut Chunks<M>,
) -> Result<u64, Error> {
    use sqlx::postgres::PgArgumentBuffer;

    // Rows per `COPY`: its round trip is noise next to them.
    const COPY_ROWS: usize = 100_000;
    // Rows drawn and encoded at a time: what the client holds in memory.
    const PIECE_ROWS: usize = 10_000;
    const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
    let per_copy = chunks.chunk_rows(COPY_ROWS);
    let piece = per_copy.min(PIECE_ROWS);
    let mut inserted = 0;
    let mut sql = None;
    while let Some(mut chunk) = chunks.next::<sqlx::Postgres>(piece)? {
        let set = chunk.set;
        let first_row = chunk.first_row;
        let fields = i16::try_from(crate::sql::binds_per_row(M::COLUMNS, set))
            .map_err(|e| chunks.error(sqlx::Error::Encode(Box::new(e)), first_row, first_row))?;
        let sql = sql.get_or_insert_with(|| {
            crate::sql::copy_binary_sql::<sqlx::Postgres>(M::TABLE, M::COLUMNS, set)
        });
        let mut copy = conn
            .copy_in_raw(sql)
            .await
            .map_err(|e| chunks.error(e, first_row, first_row))?;
        let mut buf = PgArgumentBuffer::default();
        buf.extend_from_slice(HEADER);
        let mut in_copy = 0;
        let last_row = loop {
            let last_row = chunk.first_row + chunk.rows.len() as u64 - 1;
            in_copy += chunk.rows.len();
            for row in chunk.rows {
                buf.extend_from_slice(&fields.to_be_bytes());
                row.bind(set, &mut CopyRow(&mut buf))
                    .map_err(|e| chunks.error(sqlx::Error::Encode(e), first_row, last_row))?;
            }
            if in_copy >= per_copy {
                break last_row;
            }
            match chunks.next::<sqlx::Postgres>(piece.min(per_copy - in_copy))? {
                Some(next) => {
                    copy.send(&buf[..])
                        .await
                        .map_err(|e| chunks.error(e, first_row, last_row))?;
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
        drop(buf);
        inserted += copy
            .finish()
            .await
            .map_err(|e| chunks.error(e, first_row, last_row))?;
        chunks.report(last_row);
        yield_now().await;
    }
    Ok(inserted)
}

/// One `COPY` row being written: each value as its length (`-1` for NULL) and its bytes.
#[cfg(feature = "postgres")]
struct CopyRow<'a>(&'a mut sqlx::postgres::PgArgumentBuffer);

#[cfg(feature = "postgres")]
impl ArgSink<sqlx::Postgres> for CopyRow<'_> {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let buf = &mut *self.0;
        let offset = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let len = match value.encode(buf) {
            Ok(sqlx::encode::IsNull::No) => i32::try_from(buf.len() - offset - 4)?,
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
