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

use crate::backend::{Backend, row_too_large};
use crate::create::{Pending, State};
use crate::error::{Error, Operation, Step};
use crate::future::{BoxFuture, overlap};
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
    /// Whether a parent factory it customises (at any depth) has a seed of its own (see
    /// [`RowSource::seeded`](crate::model::RowSource::seeded)).
    fn parents_seeded(&self) -> bool {
        false
    }
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
    /// `Box<dyn KeyedSeed<DB, M>>` behind `Any` (`with_children`, `returning_keys`): `S`
    /// alone does not name the backend.
    keyed: Option<Box<dyn Any + Send>>,
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
            keyed: None,
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
    M::Key: KeyType<DB>,
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
        self.key_use().children = Some(Box::new(WithChildren::<C> {
            children: chunks,
            per_parent,
        }));
        self
    }

    /// Resolves to the keys of the rows inserted, in the order drawn, instead of their count
    /// (call it last: the other options are on `insert_many`'s result). Nothing else is read
    /// back: SQLite and MariaDB return the key column alone (`RETURNING id`); PostgreSQL, whose
    /// `COPY` returns nothing, reserves the keys from the column's sequence in bulk
    /// (`nextval` once per row, one statement per `COPY`) and sends them in the `COPY`. The
    /// keys are held in memory (8 bytes per row for an `i64`), unlike the rows.
    pub fn returning_keys(mut self) -> InsertManyKeys<'c, DB, M> {
        self.key_use().collected = Some(Vec::new());
        InsertManyKeys { job: self }
    }

    /// The seed's [`KeyUse`], made on first use.
    fn key_use(&mut self) -> &mut KeyUse<DB, M> {
        let keyed = self.keyed.get_or_insert_with(|| {
            let keyed: Box<dyn KeyedSeed<DB, M>> = Box::new(KeyUse::<DB, M> {
                pending: Vec::new(),
                children: None,
                collected: None,
            });
            Box::new(keyed)
        });
        match keyed
            .downcast_mut::<Box<dyn KeyedSeed<DB, M>>>()
            .and_then(|keyed| keyed.as_any().downcast_mut::<KeyUse<DB, M>>())
        {
            Some(keys) => keys,
            None => unreachable!("only key_use stores the seed's KeyUse"),
        }
    }
}

/// The pending result of `insert_many(n).returning_keys()`: `.await` it to send the rows; it
/// resolves to their keys.
#[must_use = "nothing is inserted until the result of `returning_keys()` is awaited"]
pub struct InsertManyKeys<'c, DB: Backend, M: Model> {
    job: InsertMany<Bound<'c, DB>, M>,
}

impl<'c, DB, M> IntoFuture for InsertManyKeys<'c, DB, M>
where
    DB: Backend,
    M: Insert<DB> + Association,
    M::Key: KeyType<DB>,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    type Output = Result<Vec<M::Key>, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(mut self) -> Self::IntoFuture {
        Box::pin(async move {
            let Some(keyed) = self.job.keyed.take() else {
                unreachable!("returning_keys stores the seed's KeyUse")
            };
            let Ok(mut keyed) = keyed.downcast::<Box<dyn KeyedSeed<DB, M>>>() else {
                unreachable!("only key_use stores the seed's KeyUse")
            };
            run_with::<DB, M>(self.job, Some(&mut **keyed)).await?;
            match keyed.as_any().downcast_mut::<KeyUse<DB, M>>() {
                Some(keys) => Ok(keys.collected.take().unwrap_or_default()),
                None => unreachable!("only key_use stores the seed's KeyUse"),
            }
        })
    }
}

/// What a primary key needs to be read back, reserved and sent by a seed.
pub trait KeyType<DB: Database>:
    for<'r> sqlx::Decode<'r, DB>
    + for<'q> sqlx::Encode<'q, DB>
    + sqlx::Type<DB>
    + Clone
    + Send
    + Sync
    + Unpin
    + 'static
{
}

impl<DB: Database, K> KeyType<DB> for K where
    K: for<'r> sqlx::Decode<'r, DB>
        + for<'q> sqlx::Encode<'q, DB>
        + sqlx::Type<DB>
        + Clone
        + Send
        + Sync
        + Unpin
        + 'static
{
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

/// A seed that needs the keys of the rows it sends (`with_children`, `returning_keys`),
/// type-erased over the key so that `run` needs no `Association` bound.
pub(crate) trait KeyedSeed<DB: Backend, M: Model>: Send {
    /// Sends every row `chunks` draws, handing their keys on.
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        chunks: &'a mut Chunks<M>,
    ) -> BoxFuture<'a, Result<u64, Error>>;
    fn as_any(&mut self) -> &mut dyn Any;
}

/// Where the keys of a seed's rows go: to `with_children`'s children, into the result of
/// `returning_keys`, or both.
pub struct KeyUse<DB: Backend, M: Association> {
    /// Keys read or reserved, not yet handed on.
    pub(crate) pending: Vec<M::Key>,
    children: Option<Box<dyn ChildSeed<DB, M>>>,
    collected: Option<Vec<M::Key>>,
}

impl<DB, M> KeyedSeed<DB, M> for KeyUse<DB, M>
where
    DB: Backend,
    M: Insert<DB> + Association,
    M::Key: KeyType<DB>,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        chunks: &'a mut Chunks<M>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        DB::seed_keyed::<M>(conn, chunks, self)
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// The keys of the rows an INSERT returned, handed on after each statement.
pub(crate) trait KeySink<DB: Backend, M>: Send {
    /// The key column, which the INSERTs return.
    fn key_column(&self) -> &'static str;
    /// Reads the key of one row an INSERT returned.
    fn decode_key(&mut self, row: &<DB as Database>::Row) -> Result<(), sqlx::Error>;
    /// Hands the keys read so far on (seeds their children).
    fn flush<'a>(&'a mut self, conn: &'a mut DB::Connection) -> BoxFuture<'a, Result<(), Error>>;
}

impl<DB, M> KeySink<DB, M> for KeyUse<DB, M>
where
    DB: Backend,
    M: Association,
    M::Key: KeyType<DB>,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    fn key_column(&self) -> &'static str {
        M::KEY_COLUMN
    }

    fn decode_key(&mut self, row: &<DB as Database>::Row) -> Result<(), sqlx::Error> {
        // NULL, not a key: SQLite stores NULL in a non-`INTEGER` primary key given no value,
        // and sqlx decodes a NULL text as "" (as `create` reads a parent's key, create.rs).
        match DB::first_column::<Option<M::Key>>(row)? {
            Some(key) => {
                self.pending.push(key);
                Ok(())
            }
            None => Err(sqlx::Error::Protocol(format!(
                "the database returned NULL for the key `{}`: give the key a value with \
                 `#[factory(default = ..)]` or `sequence`",
                M::KEY_COLUMN
            ))),
        }
    }

    fn flush<'a>(&'a mut self, conn: &'a mut DB::Connection) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let keys = std::mem::take(&mut self.pending);
            match (&mut self.collected, &mut self.children) {
                (Some(collected), None) => collected.extend(keys),
                (collected, Some(children)) => {
                    if let Some(collected) = collected {
                        collected.extend(keys.iter().cloned());
                    }
                    children.seed(conn, keys).await?;
                }
                (None, None) => {}
            }
            Ok(())
        })
    }
}

/// The children of a parent seed (`with_children`), type-erased over the child model.
trait ChildSeed<DB: Backend, M: Association>: Send {
    /// Seeds the children of `keys`.
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        keys: Vec<M::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>>;
}

struct WithChildren<C: Model> {
    children: Chunks<C>,
    per_parent: u64,
}

impl<DB, M, C> ChildSeed<DB, M> for WithChildren<C>
where
    DB: Backend,
    M: Association,
    M::Key: Send + Sync + 'static,
    C: Insert<DB>,
{
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        keys: Vec<M::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(async move {
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
            if let Some(empty) = self.parents.iter().find(|p| p.keys.len() == 0) {
                let message = format!(
                    "`.parents_from::<{}>(keys)` was given no keys: each row needs a parent, so \
                     give at least one key",
                    short_type_name(empty.name)
                );
                return Err(Error::new(
                    M::FACTORY,
                    M::TABLE,
                    self.operation,
                    sqlx::Error::Protocol(message),
                ));
            }
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

/// `Owner` of `my_app::models::Owner`: the name a user wrote in `parents_from::<Owner>`.
fn short_type_name(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

/// Runs a seed in a [`Scope`] (a savepoint, or a transaction of its own on a bare connection),
/// as `run` in create.rs does for a batch.
pub(crate) async fn run<DB: Backend, M: Insert<DB>>(
    mut job: InsertMany<Bound<'_, DB>, M>,
) -> Result<u64, Error> {
    let mut keyed = job
        .keyed
        .take()
        .and_then(|keyed| keyed.downcast::<Box<dyn KeyedSeed<DB, M>>>().ok());
    run_with::<DB, M>(job, keyed.as_deref_mut().map(|keyed| &mut **keyed)).await
}

/// [`run`], with `keyed` when the keys of the rows are needed.
async fn run_with<DB: Backend, M: Insert<DB>>(
    job: InsertMany<Bound<'_, DB>, M>,
    keyed: Option<&mut (dyn KeyedSeed<DB, M> + 'static)>,
) -> Result<u64, Error> {
    let InsertMany {
        state,
        source,
        rows,
        parents,
        progress,
        chunk_rows,
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
    session.acquire().await.map_err(error)?;
    let mut scope = Scope::begin(&mut session).await.map_err(error)?;
    let conn = scope.session().conn();
    let result = async {
        chunks.parents = parents;
        for table in from_tables {
            let Ok(table) = table.downcast::<Box<dyn TableKeys<DB>>>() else {
                unreachable!("parents_from_table is stored for the seed's own backend")
            };
            let keys = table.load(&mut *conn).await.map_err(error)?;
            chunks.parents.push(keys);
        }
        match keyed {
            None => DB::seed_rows::<M>(conn, &mut chunks).await,
            Some(keyed) => keyed.seed(conn, &mut chunks).await,
        }
    }
    .await;
    let result = scope.finish(result, error).await;
    // A panic held through a `COPY` goes on once the seed is rolled back.
    if let Err(e) = &result
        && let Some(panic) = held_panic(e)
    {
        std::panic::resume_unwind(panic);
    }
    session.release();
    result
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

/// [`insert_values`], and with `keys`, each INSERT returns its keys alone (no other column
/// is read back), handed on right after it (the children of those rows are seeded then).
///
/// The next statement is drawn and bound while the database runs the one just sent (see
/// [`overlap`]): on SQLite sqlx's worker thread inserts on the other core meanwhile (1.2 M
/// rows/s instead of 0.73 M), on MariaDB the server (about 10 % more rows/s). One statement
/// in flight at most, so an error still names its own rows, and a statement that fails is
/// reported before an error in drawing the next one.
// The crate's own `Error`, as every operation returns it (the drawing closures return it too).
#[allow(clippy::result_large_err)]
pub(crate) async fn insert_values_with<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    chunks: &mut Chunks<M>,
    mut children: Option<&mut dyn KeySink<DB, M>>,
) -> Result<u64, Error> {
    // Three quarters of the server's limit: room for the SQL text and each value's framing.
    let (limit, limit_name) = DB::statement_limit(conn)
        .await
        .map_err(|e| chunks.error(e, 1, chunks.total))?;
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
    let mut next = statements.next::<DB>(chunks)?;
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
                let sql = M::sql_cache().seed_sql::<DB, M>(set, count);
                let send = DB::execute(&mut *conn, sql, args);
                let (done, drawn) = overlap(send, || statements.next::<DB>(chunks))
                    .await
                    .map_err(|e| chunks.error(e, first_row, last_row))?;
                inserted += done;
                drawn
            }
            Some(children) => {
                let key = children.key_column();
                let sql = M::sql_cache().seed_key_sql::<DB, M>(set, count, key);
                // Each key decoded as its row arrives (no statement's rows held).
                let mut returned = 0u64;
                let mut each = |row: &<DB as Database>::Row| {
                    returned += 1;
                    children.decode_key(row)
                };
                let send = DB::fetch_each(&mut *conn, sql, args, &mut each);
                let ((), drawn) = overlap(send, || statements.next::<DB>(chunks))
                    .await
                    .map_err(|e| chunks.error(e, first_row, last_row))?;
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
struct Statements<M> {
    rows: std::iter::Peekable<std::vec::IntoIter<M>>,
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

impl<M: Model> Statements<M> {
    /// Binds the next statement's rows, drawing a chunk first when the last one is sent.
    // The crate's own `Error`, as every operation returns it; made at most once per seed.
    #[allow(clippy::result_large_err)]
    fn next<DB: Backend>(&mut self, chunks: &mut Chunks<M>) -> Result<Option<Statement<DB>>, Error>
    where
        M: Insert<DB>,
    {
        if self.rows.peek().is_none() {
            // A first chunk of one row tells the columns, and so the rows per statement.
            let most = self.per_statement.unwrap_or(1);
            let Some(chunk) = chunks.next::<DB>(chunks.chunk_rows(most))? else {
                return Ok(None);
            };
            let per_row = crate::sql::binds_per_row(M::COLUMNS, chunk.set);
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
            let size = row.wire_size();
            // A chunk larger than a statement (`chunk_rows`) is cut by binds and bytes.
            if count > 0 && (count == limit || bytes + size > self.budget) {
                break;
            }
            // A row that alone is too large is refused, as `create_batch` refuses it: sent,
            // MariaDB drops the connection, and the caller's transaction with it.
            if size > self.budget {
                let row = first_row + count as u64;
                let why = row_too_large(row, size, self.limit, self.limit_name, "it was not sent");
                return Err(Error::wrap(
                    M::FACTORY,
                    M::TABLE,
                    chunks.operation,
                    Step::Rows {
                        first_row: row,
                        last_row: row,
                    },
                    why.into(),
                ));
            }
            bytes += size;
            count += 1;
            let Some(row) = self.rows.next() else { break };
            // The row that failed to encode, not the statement's.
            let row_number = first_row + count as u64 - 1;
            row.bind(self.set, &mut Args::<DB>(&mut args))
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
#[cfg(feature = "postgres")]
pub(crate) async fn copy_binary<M: Insert<sqlx::Postgres>>(
    conn: &mut sqlx::PgConnection,
    chunks: &mut Chunks<M>,
) -> Result<u64, Error> {
    let table = PgTable::read(conn, M::TABLE)
        .await
        .map_err(|e| chunks.error(e, 1, chunks.total))?;
    if !table.copyable {
        return insert_values::<sqlx::Postgres, M>(conn, chunks).await;
    }
    copy_with::<M, _>(conn, chunks, &mut NoKeys, &table).await
}

/// What a PostgreSQL seed reads of its table before it sends a row.
#[cfg(feature = "postgres")]
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

/// A column's type as the server stores it (a domain's base type, through domains over
/// domains), and its element type when it is an array (else 0), the base type of a domain
/// element too (an array of a domain over `json` takes `json` elements).
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, Copy, Default)]
struct PgColumn {
    oid: u32,
    elem: u32,
    /// The element type is text in the server's own sense (category `S`: `text`, `varchar`,
    /// `bpchar`, `name`, an extension's such as `citext`): its binary form is the text's bytes.
    text_elem: bool,
}

#[cfg(feature = "postgres")]
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
            .bind(crate::sql::quoted_table::<sqlx::Postgres>(table))
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
    fn copied(&self, columns: &'static [crate::sql::Column], set: ColumnSet) -> Vec<PgColumn> {
        crate::sql::sent_columns(columns, set)
            .map(|name| {
                let found = self.columns.iter().find(|(column, _)| column == name);
                found.map(|(_, column)| *column).unwrap_or_default()
            })
            .collect()
    }
}

/// The binary `COPY` stream's signature, flags and header extension length.
#[cfg(feature = "postgres")]
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// [`copy_binary`], with `keys` deciding the key column and told each `COPY`'s keys.
#[cfg(feature = "postgres")]
async fn copy_with<M: Insert<sqlx::Postgres>, K: CopyKeys<M>>(
    conn: &mut sqlx::PgConnection,
    chunks: &mut Chunks<M>,
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
    while let Some(chunk) = chunks.next::<sqlx::Postgres>(piece)? {
        let set = chunk.set;
        let copied = keys.columns(set);
        let first_row = chunk.first_row;
        let fields = i16::try_from(crate::sql::binds_per_row(M::COLUMNS, copied))
            .map_err(|e| chunks.error(sqlx::Error::Encode(Box::new(e)), first_row, first_row))?;
        let (sql, types) = sql.get_or_insert_with(|| {
            let sql = crate::sql::copy_binary_sql::<sqlx::Postgres>(M::TABLE, M::COLUMNS, copied);
            (sql, table.copied(M::COLUMNS, copied))
        });
        // The rows of this `COPY`: the piece drawn, and up to `per_copy` with those to come.
        let left = usize::try_from(chunks.total - chunks.drawn).unwrap_or(usize::MAX);
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
                let sent_rows = chunks.drawn;
                let earlier = end_failed_copy(copy, sent).await;
                let e = match stop {
                    Stop::Failed(e) => e,
                    // Carried up to `run_with`, which resumes it once the seed's savepoint
                    // or transaction is rolled back.
                    Stop::Panicked(panic) => {
                        let held = HeldPanic(std::sync::Mutex::new(Some(panic)));
                        let step = Step::Rows {
                            first_row,
                            last_row: sent_rows,
                        };
                        return Err(Error::wrap(
                            M::FACTORY,
                            M::TABLE,
                            chunks.operation,
                            step,
                            Box::new(held),
                        ));
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
#[cfg(feature = "postgres")]
struct Fill<'t> {
    fields: i16,
    types: &'t [PgColumn],
    per_copy: usize,
    piece: usize,
}

/// Why [`fill_copy`] gave up on its `COPY`.
#[cfg(feature = "postgres")]
enum Stop {
    Failed(Error),
    /// User code (a `default`, `fake` or `sequence` expression drawing the rows, an `Encode`
    /// binding them) panicked: the panic is held until the `COPY` is ended, since unwinding
    /// through the open `PgCopyIn` drops it, and the connection's next statement would read
    /// the `COPY`'s answers as its own.
    Panicked(Box<dyn Any + Send>),
}

#[cfg(feature = "postgres")]
impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

/// A panic of user code inside a `COPY`, carried as the seed's error until its savepoint or
/// transaction is rolled back, then resumed: inside the caller's transaction PostgreSQL
/// refuses every statement after the failed `COPY` until that rollback, so resuming it
/// earlier would leave the caller a transaction that can only be rolled back.
#[cfg(feature = "postgres")]
struct HeldPanic(std::sync::Mutex<Option<Box<dyn Any + Send>>>);

#[cfg(feature = "postgres")]
impl std::fmt::Debug for HeldPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeldPanic")
    }
}

#[cfg(feature = "postgres")]
impl std::fmt::Display for HeldPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("user code panicked while the rows were drawn or encoded")
    }
}

#[cfg(feature = "postgres")]
impl std::error::Error for HeldPanic {}

/// The panic [`HeldPanic`] carries in `error` or its sources, if any (a child seed's error
/// reaches `run_with` inside its parent's).
fn held_panic(error: &Error) -> Option<Box<dyn Any + Send>> {
    #[cfg(feature = "postgres")]
    {
        let mut at: Option<&(dyn std::error::Error + 'static)> = Some(error.inner());
        while let Some(e) = at {
            if let Some(held) = e.downcast_ref::<HeldPanic>() {
                return held.0.lock().ok()?.take();
            }
            at = match e.downcast_ref::<Error>() {
                Some(error) => Some(error.inner()),
                None => e.source(),
            };
        }
    }
    let _ = error;
    None
}

/// Runs user code inside an open `COPY`, holding its panic (see [`Stop::Panicked`]).
#[cfg(feature = "postgres")]
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
#[cfg(feature = "postgres")]
// The crate's own `Error`, as every operation returns it; made at most once per seed.
#[allow(clippy::result_large_err)]
async fn fill_copy<M: Insert<sqlx::Postgres>, K: CopyKeys<M>>(
    copy: &mut sqlx::postgres::PgCopyIn<&mut sqlx::PgConnection>,
    sent: &mut bool,
    chunks: &mut Chunks<M>,
    keys: &mut K,
    mut chunk: Chunk<M>,
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
        match hold_panic(|| chunks.next::<sqlx::Postgres>(piece.min(per_copy - in_copy)))? {
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
#[cfg(feature = "postgres")]
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
#[cfg(feature = "postgres")]
trait CopyKeys<M: Insert<sqlx::Postgres>> {
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
    fn bind(&mut self, row: M, set: ColumnSet, sink: &mut CopyRow<'_>) -> Result<(), BoxDynError>;
    /// After a `COPY` finished.
    fn after_copy<'a>(
        &'a mut self,
        conn: &'a mut sqlx::PgConnection,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// A plain seed: the rows as drawn, nothing read back.
#[cfg(feature = "postgres")]
struct NoKeys;

#[cfg(feature = "postgres")]
impl<M: Insert<sqlx::Postgres>> CopyKeys<M> for NoKeys {
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

    fn bind(&mut self, row: M, set: ColumnSet, sink: &mut CopyRow<'_>) -> Result<(), BoxDynError> {
        row.bind(set, sink).map(drop)
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
#[cfg(feature = "postgres")]
struct SequenceKeys<'k, M: Association> {
    keys: &'k mut KeyUse<sqlx::Postgres, M>,
    /// The reserving statement, when the database fills the key and the rows do not send it.
    reserve: Option<String>,
    /// The key column's bit among the database-filled columns.
    bit: Option<usize>,
    /// The next reserved key to write.
    next: usize,
}

#[cfg(feature = "postgres")]
impl<M> CopyKeys<M> for SequenceKeys<'_, M>
where
    M: Insert<sqlx::Postgres> + Association,
    M::Key: KeyType<sqlx::Postgres>,
{
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
                let reserved: Vec<M::Key> =
                    <sqlx::Postgres as Backend>::fetch_column(conn, sql).await?;
                self.keys.pending = reserved;
            }
            Ok(())
        })
    }

    fn bind(&mut self, row: M, set: ColumnSet, sink: &mut CopyRow<'_>) -> Result<(), BoxDynError> {
        let (Some(_), Some(bit)) = (&self.reserve, self.bit) else {
            self.keys.pending.push(row.key());
            return row.bind(set, sink).map(drop);
        };
        if set.contains(bit) {
            self.keys.pending.push(row.key());
            return row.bind(set, sink).map(drop);
        }
        let Some(key) = self.keys.pending.as_slice().get(self.next) else {
            return Err("sqlx-factory bug: fewer keys reserved than rows in the COPY".into());
        };
        self.next += 1;
        // The key goes where the column list has it: after the sent columns before it.
        let at = key_position(M::COLUMNS, set, M::KEY_COLUMN);
        let mut with_key = WithKey {
            sink,
            at,
            seen: 0,
            key: Some(key),
        };
        row.bind(set, &mut with_key)?;
        if let Some(key) = with_key.key.take() {
            with_key.sink.add(key)?;
        }
        Ok(())
    }

    fn after_copy<'a>(
        &'a mut self,
        conn: &'a mut sqlx::PgConnection,
    ) -> BoxFuture<'a, Result<(), Error>> {
        KeySink::<sqlx::Postgres, M>::flush(&mut *self.keys, conn)
    }
}

/// How many of the columns `set` sends come before `key` in `columns`.
#[cfg(feature = "postgres")]
fn key_position(columns: &[crate::sql::Column], set: ColumnSet, key: &str) -> usize {
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
#[cfg(feature = "postgres")]
struct WithKey<'s, 'b, K> {
    sink: &'s mut CopyRow<'b>,
    at: usize,
    seen: usize,
    key: Option<&'s K>,
}

#[cfg(feature = "postgres")]
impl<K> ArgSink<sqlx::Postgres> for WithKey<'_, '_, K>
where
    K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
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
#[cfg(feature = "postgres")]
pub(crate) async fn copy_keyed<M>(
    conn: &mut sqlx::PgConnection,
    chunks: &mut Chunks<M>,
    keys: &mut KeyUse<sqlx::Postgres, M>,
) -> Result<u64, Error>
where
    M: Insert<sqlx::Postgres> + Association,
    M::Key: KeyType<sqlx::Postgres>,
{
    let table = PgTable::read(conn, M::TABLE)
        .await
        .map_err(|e| chunks.error(e, 1, chunks.total))?;
    let position = M::COLUMNS.iter().position(|c| c.name == M::KEY_COLUMN);
    let (Some(position), true, false) = (position, table.copyable, table.row_trigger) else {
        return insert_values_with::<sqlx::Postgres, M>(conn, chunks, Some(keys)).await;
    };
    let column = M::COLUMNS[position];
    let mut reserve = None;
    let mut bit = None;
    if column.db_filled {
        bit = Some(
            M::COLUMNS[..position]
                .iter()
                .filter(|c| c.db_filled)
                .count(),
        );
        let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, $2)")
            .bind(crate::sql::quoted_table::<sqlx::Postgres>(M::TABLE))
            .bind(M::KEY_COLUMN)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| chunks.error(e, 1, chunks.total))?;
        let Some(sequence) = sequence else {
            return insert_values_with::<sqlx::Postgres, M>(conn, chunks, Some(keys)).await;
        };
        let ty = <M::Key as sqlx::Type<sqlx::Postgres>>::type_info();
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
    copy_with::<M, _>(conn, chunks, &mut copy_keys, &table).await
}

/// One `COPY` row being written: each value as its length (`-1` for NULL) and its bytes.
#[cfg(feature = "postgres")]
pub(crate) struct CopyRow<'a> {
    buf: &'a mut sqlx::postgres::PgArgumentBuffer,
    /// The types of the row's columns, in order.
    types: &'a [PgColumn],
    /// The column of the next value.
    at: usize,
}

#[cfg(feature = "postgres")]
impl ArgSink<sqlx::Postgres> for CopyRow<'_> {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let column = self.types.get(self.at).copied().unwrap_or_default();
        self.at += 1;
        let buf = &mut *self.buf;
        let offset = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let len = match value.encode(buf) {
            Ok(sqlx::encode::IsNull::No) => {
                let bound = <T as sqlx::Type<sqlx::Postgres>>::type_info().oid();
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

/// Rewrites a value encoded as the type sqlx binds (`bound`), the last thing in `buf` from
/// `start` on, into the binary form of its column's type, where the two differ only in a
/// header. A bind parameter gets that from the server (sqlx learns the parameter's type from
/// `Describe`), a `COPY` does not:
/// - `jsonb` into `json`: the version byte before the text goes (`json` keeps its text as
///   sent, so a space there would be stored), in a value or in each element of an array;
/// - an array of `text` into an array of `varchar`, `bpchar`, `name` or another text type
///   (`citext`), or of a domain over one: the element type in the array's header becomes the
///   column's. Their elements' bytes are the same.
///
/// Other pairs are left as they are: the server refuses what it cannot read, naming the
/// column.
#[cfg(feature = "postgres")]
fn as_column_type(column: PgColumn, bound: u32, buf: &mut Vec<u8>, start: usize) {
    const JSON: u32 = 114;
    const JSONB: u32 = 3802;
    const TEXT_LIKE: [u32; 3] = [25, 1042, 1043]; // text, bpchar, varchar
    if column.oid == JSON && bound == JSONB {
        if buf.as_slice().get(start) == Some(&1) {
            buf.remove(start);
        }
    } else if column.elem == JSON {
        let value = buf.split_off(start);
        match json_elements(&value) {
            Some(rewritten) => buf.extend_from_slice(&rewritten),
            None => buf.extend_from_slice(&value),
        }
    } else if column.text_elem
        && let Some(header) = buf.as_mut_slice().get_mut(start + 8..start + 12)
    {
        let elem = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if elem != column.elem && TEXT_LIKE.contains(&elem) {
            header.copy_from_slice(&column.elem.to_be_bytes());
        }
    }
}

/// An array of `jsonb` as an array of `json`: the element type in its header, and each
/// element without its version byte. `None` when `value` is not such an array.
#[cfg(feature = "postgres")]
fn json_elements(value: &[u8]) -> Option<Vec<u8>> {
    const JSON: u32 = 114;
    const JSONB: u32 = 3802;
    let int = |at: usize| -> Option<i32> {
        let bytes = value.get(at..at + 4)?;
        Some(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    let ndim = usize::try_from(int(0)?).ok()?;
    if int(8)? as u32 != JSONB {
        return None;
    }
    // The dimensions and lower bounds follow the header, then each element.
    let mut at = 12 + 8 * ndim;
    let mut out = Vec::with_capacity(value.len());
    out.extend_from_slice(value.get(..8)?);
    out.extend_from_slice(&JSON.to_be_bytes());
    out.extend_from_slice(value.get(12..at)?);
    while at < value.len() {
        let len = int(at)?;
        at += 4;
        let Ok(len) = usize::try_from(len) else {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        };
        let element = value.get(at..at + len)?;
        at += len;
        let text = match element.split_first() {
            Some((1, text)) => text,
            _ => element,
        };
        out.extend_from_slice(&i32::try_from(text.len()).ok()?.to_be_bytes());
        out.extend_from_slice(text);
    }
    Some(out)
}
