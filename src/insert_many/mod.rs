//! Seeding mode: `insert_many(n)` streams `n` rows into a table in constant memory and returns
//! only the count. Values are drawn chunk by chunk from one generator (so a seeded run gives
//! the rows `build_batch(n)` gives), then sent by the database's writer
//! ([`Backend::seed_rows`]: `COPY .. FROM STDIN (FORMAT binary)` on PostgreSQL, multi-row
//! INSERTs without `RETURNING` elsewhere). The whole seed runs in a [`Scope`], like every
//! operation: all or nothing on error, cancellation and panic, never committing the caller's
//! transaction.

mod chunks;
mod keys;

use std::any::{Any, TypeId};
use std::future::IntoFuture;
use std::marker::PhantomData;

use sqlx::Database;

use crate::db::{Backend, KeyType};
use crate::error::{Error, Operation, held_panic};
use crate::future::BoxFuture;
use crate::model::{
    Association, ChunkSource, Insert, Model, OneAssociationTo, ParentValues, SameValuesOf,
    SeedParent,
};
use crate::scope::Scope;
use crate::session::Bound;
use crate::state::{FactoryState, Pending};
pub use chunks::Progress;
use chunks::{Capture, Chunks, ParentKeys, ProgressFn};
use keys::{CaptureFor, Captured, FromTable, KeyUse, KeyedSeed, TableKeys, WithChildren};

/// The pending result of `insert_many(n)`: `.await` it to send the rows; it resolves to the
/// number of rows inserted.
#[must_use = "nothing is inserted until the result of `insert_many()` is awaited"]
pub struct InsertMany<S: Pending<M>, M: Model> {
    pub(crate) state: FactoryState<S>,
    pub(crate) source: Box<dyn ChunkSource<M>>,
    pub(crate) rows: u64,
    pub(crate) parents: Vec<ParentKeys>,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) chunk_rows: Option<usize>,
    /// `Box<dyn KeyedSeed<DB, M>>` behind `Any` (`with_children`, `returning_keys`): `S`
    /// alone does not name the backend.
    pub(crate) keyed: Option<Box<dyn Any + Send>>,
    /// `parents_from_table`: each a `Box<dyn TableKeys<DB>>` behind `Any`, read when the seed
    /// starts.
    pub(crate) from_tables: Vec<Box<dyn Any + Send>>,
    /// `with_children` through an association that stores more than this model's key.
    pub(crate) capture: Option<Box<dyn Capture<M>>>,
    pub(crate) start: fn(Self) -> S::InsertMany,
}

impl<S: Pending<M>, M: Model> InsertMany<S, M> {
    /// Spreads the rows over existing parents of type `P`, given by what this model's
    /// association to `P` stores of each: its primary key (`Vec<i64>`, a range of integer
    /// keys), the field `references` names (`parents_from::<User>(emails)`), or a tuple of a
    /// composite key's fields (`parents_from::<Split>(vec![(index, split)])`). Row `i` takes
    /// value `i % len`, and no parent is created.
    ///
    /// A model with two associations to `P` (a message's `sender_id` and `recipient_id`) has
    /// both filled from the values, each on its own: the first takes value `i % len`, the
    /// second another one, never the first's where there are two values or more, so that over
    /// `len * (len - 1)` rows every ordered pair of two values comes once; a third takes yet
    /// another where there are three values or more, and so on. Associations that
    /// store different values of `P` (its key, and `references = email`) are a compile error.
    ///
    /// Without it, seeding a model whose association would create a parent fails before
    /// anything is sent (one parent per row is never what a seed wants).
    pub fn parents_from<P: 'static>(
        mut self,
        values: impl ParentValues<<M as SeedParent<P>>::Value, M, P>,
    ) -> Self
    where
        M: SeedParent<P>
            + SameValuesOf<P, <M as SeedParent<P>>::First, <M as SeedParent<P>>::Other>,
        <M as SeedParent<P>>::Value: Send + Sync + 'static,
    {
        let values: Vec<<M as SeedParent<P>>::Value> = values.into_values();
        self.parents.push(ParentKeys {
            parent: TypeId::of::<P>(),
            name: std::any::type_name::<P>(),
            shape: <M as SeedParent<P>>::SHAPE,
            keys: Box::new(values),
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
    M: Insert<DB>,
{
    /// Spreads the rows over the parents of type `P` already in `P`'s table, as
    /// [`parents_from`](Self::parents_from) does with the values given: the columns this
    /// model's association stores (the key, the `references` field, a composite key's fields)
    /// are read once when the seed starts (`SELECT email FROM users ORDER BY email`, in the
    /// seed's own transaction or savepoint, so rows the caller created earlier in the same
    /// transaction count), row by row, holding those values (8 bytes per parent for an `i64`
    /// key), not the rows. An empty table is an error, before anything is sent. Every
    /// association to `P` is filled, each on its own, as `parents_from` fills them.
    pub fn parents_from_table<P>(mut self) -> Self
    where
        P: Model,
        M: SeedParent<P>
            + SameValuesOf<P, <M as SeedParent<P>>::First, <M as SeedParent<P>>::Other>,
        <M as SeedParent<P>>::Value: Send + Sync + 'static,
        <M as SeedParent<P>>::Row: for<'r> sqlx::FromRow<'r, <DB as Database>::Row>,
    {
        let keys: Box<dyn TableKeys<DB>> = Box::new(FromTable::<M, P>(PhantomData));
        self.from_tables.push(Box::new(keys));
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
    /// Seeds `per_parent` rows of `children` (an unbound factory, e.g. `Post::factory()`) for
    /// every row seeded: after each INSERT of parents, which returns their keys alone, their
    /// children are sent (`COPY` on PostgreSQL), each with what its association to this model
    /// stores of its parent: the key, or the values of a `references` field or composite key,
    /// taken from each parent row as it is drawn. Streaming: one statement's keys (and values)
    /// are held at a time. A child with two associations to this model is a compile error
    /// (which one would hold the parent?).
    pub fn with_children<C>(
        mut self,
        per_parent: u64,
        children: impl ChunkSource<C> + 'static,
    ) -> Self
    where
        C: Insert<DB>
            + SeedParent<M>
            + OneAssociationTo<M, <C as SeedParent<M>>::First, <C as SeedParent<M>>::Second>,
        C::Value: Send + Sync + 'static,
    {
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
            capture: None,
        };
        // Values other than the key are taken from the parent rows before they are sent.
        let captured = C::VALUE_OF.map(|_| Captured::<C::Value>::default());
        if let Some(captured) = &captured {
            self.capture = Some(Box::new(CaptureFor::<C, M> {
                captured: captured.clone(),
            }));
        }
        self.key_use().children = Some(Box::new(WithChildren::<C, C::Value> {
            children: chunks,
            per_parent,
            captured,
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
    pub(crate) job: InsertMany<Bound<'c, DB>, M>,
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

impl<S: Pending<M>, M: Model> IntoFuture for InsertMany<S, M> {
    type Output = Result<u64, Error>;
    type IntoFuture = S::InsertMany;

    fn into_future(self) -> Self::IntoFuture {
        (self.start)(self)
    }
}

/// Runs a seed in a [`Scope`] (a savepoint, or a transaction of its own on a bare connection),
/// as a batch is run.
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
pub(crate) async fn run_with<DB: Backend, M: Insert<DB>>(
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
        capture,
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
        let message = "`after_create` and `with_related` need the created rows, which \
                       insert_many does not read back: seed the related table with its own \
                       insert_many and `parents_from`";
        return Err(Error::message(
            M::FACTORY,
            M::TABLE,
            operation,
            message.into(),
        ));
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
        capture,
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
            let keys = table.load(&mut *conn, operation).await?;
            chunks.parents.push(keys);
        }
        match keyed {
            None => DB::seed_rows::<Chunks<M>>(conn, &mut chunks).await,
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
