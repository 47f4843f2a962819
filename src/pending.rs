//! The pending operations a bound factory returns (`create()`, `create_batch(n)`,
//! `get_or_create()`, `insert_many(n)`), and which operation runs each: the top of the
//! runtime, where the typestate meets the operations below it.

use std::future::IntoFuture;

use crate::create::{Batch, LazyRows, create, run, run_lazy, run_reporting};
use crate::db::Backend;
use crate::error::{Error, Operation};
use crate::future::BoxFuture;
use crate::insert_many::InsertMany;
use crate::model::RowSource;
use crate::model::{ChunkSource, Insert, Model, Rows};
use crate::session::{Bound, NoSession, Session, SessionArg};
use crate::state::{FactoryState, Pending};

/// A state that can insert `M`: a bound session whose backend stores every column of `M`.
///
/// `NoSession` implements it too (its futures never run), so that `create()` on an unbound
/// factory is reported once, by [`Session`].
#[diagnostic::on_unimplemented(
    message = "`{M}` cannot be created through `{Self}`: a field's type cannot be stored there",
    label = "`{M}` has a field type without sqlx's `Encode`, `Decode` and `Type` for this backend",
    note = "`build()` works on any model; to create it, use a backend whose sqlx types cover every field (a `Vec<T>` array exists only on PostgreSQL), or change that field's type"
)]
pub trait State<M: Model>: Pending<M> + Sized {
    /// Starts one insert.
    fn insert_one(state: FactoryState<Self>, rows: Rows<M>) -> Self::Create;
    /// Starts a batch insert.
    fn insert_batch(state: FactoryState<Self>, rows: Batch<M>) -> Self::CreateBatch;
    /// Starts a seed.
    fn insert_many(job: InsertMany<Self, M>) -> Self::InsertMany;
    /// Starts a `get_or_create()`.
    fn get_or_create_one(state: FactoryState<Self>, rows: Rows<M>) -> Self::GetOrCreate;
    /// Starts a `get_or_create_batch(n)`.
    fn get_or_create_batch(state: FactoryState<Self>, rows: Rows<M>) -> Self::GetOrCreateBatch;
}

impl<M: Model> State<M> for NoSession {
    fn insert_one(_: FactoryState<Self>, _: Rows<M>) -> Self::Create {
        std::future::pending()
    }

    fn insert_batch(_: FactoryState<Self>, _: Batch<M>) -> Self::CreateBatch {
        std::future::pending()
    }

    fn insert_many(_: InsertMany<Self, M>) -> Self::InsertMany {
        std::future::pending()
    }

    fn get_or_create_one(_: FactoryState<Self>, _: Rows<M>) -> Self::GetOrCreate {
        std::future::pending()
    }

    fn get_or_create_batch(_: FactoryState<Self>, _: Rows<M>) -> Self::GetOrCreateBatch {
        std::future::pending()
    }
}

// Reported as `State` with its own message (model and backend), rather than as the three
// sqlx traits (`Encode`, `Type`, `Decode`) each failing field type misses.
#[diagnostic::do_not_recommend]
impl<'c, DB: Backend, M: Insert<DB>> State<M> for Bound<'c, DB> {
    fn insert_one(state: FactoryState<Self>, rows: Rows<M>) -> Self::Create {
        Box::pin(create::<DB, M>(state, rows))
    }

    fn insert_batch(state: FactoryState<Self>, rows: Batch<M>) -> Self::CreateBatch {
        let operation = Operation::CreateBatch { rows: rows.len() };
        match rows {
            Batch::Drawn(rows) => Box::pin(run::<DB, M>(state, rows, operation, None)),
            Batch::Lazy(lazy) => Box::pin(run_lazy::<DB, M>(state, lazy, operation)),
        }
    }

    fn insert_many(job: InsertMany<Self, M>) -> Self::InsertMany {
        Box::pin(crate::insert_many::run::<DB, M>(job))
    }

    fn get_or_create_one(state: FactoryState<Self>, rows: Rows<M>) -> Self::GetOrCreate {
        Box::pin(async move {
            let mut rows = run_reporting::<DB, M>(state, rows, Operation::GetOrCreate).await?;
            match rows.pop() {
                Some(row) => Ok(row),
                None => Err(Error::new(
                    M::FACTORY,
                    M::TABLE,
                    Operation::GetOrCreate,
                    sqlx::Error::RowNotFound,
                )),
            }
        })
    }

    fn get_or_create_batch(state: FactoryState<Self>, rows: Rows<M>) -> Self::GetOrCreateBatch {
        let operation = Operation::GetOrCreateBatch {
            rows: rows.rows.len(),
        };
        Box::pin(run_reporting::<DB, M>(state, rows, operation))
    }
}

// Hidden from "the trait is implemented for" hints: the error's own note says what to do.
#[diagnostic::do_not_recommend]
impl<'c, DB: Backend, M> Session<M> for Bound<'c, DB> {}

/// The pending result of `create()`: `.await` it to insert the row.
///
/// The row's values were drawn when `create()` was called; nothing is sent until it is
/// awaited. The future is `Send`, so it can run inside `tokio::spawn`.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     #[factory(primary_key)]
///     id: i64,
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT)").execute(&mut conn).await?;
/// let pending = Tag::factory().with_session(&mut conn).name("sql").create();
/// let tag = pending.await?; // the INSERT ... RETURNING runs here
/// assert_eq!((tag.id, tag.name.as_str()), (1, "sql"));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[must_use = "nothing is inserted until the result of `create()` is awaited"]
pub struct Create<S: Pending<M>, M: Model> {
    state: FactoryState<S>,
    rows: Rows<M>,
    // Chosen by `create()`, where `S: State<M>` is known, so `IntoFuture` needs no bound.
    start: fn(FactoryState<S>, Rows<M>) -> S::Create,
}

/// `new` and `IntoFuture` of a pending operation on drawn rows: `$future` is its future in
/// [`Pending`], `$start` the [`State`] method that starts it.
macro_rules! pending_rows {
    ($name:ident, $future:ident, $start:ident, $output:ty) => {
        impl<S: State<M>, M: Model> $name<S, M> {
            #[doc(hidden)]
            pub fn new(state: FactoryState<S>, rows: Rows<M>) -> Self {
                $name {
                    state,
                    rows,
                    start: S::$start,
                }
            }
        }

        impl<S: Pending<M>, M: Model> IntoFuture for $name<S, M> {
            type Output = Result<$output, Error>;
            type IntoFuture = S::$future;

            fn into_future(self) -> Self::IntoFuture {
                (self.start)(self.state, self.rows)
            }
        }
    };
}

pending_rows!(Create, Create, insert_one, M);

/// The pending result of `create_batch(n)`: `.await` it to insert the rows, in multi-row
/// INSERTs of at most 500 rows (fewer when the backend's bind-parameter limit says so).
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     #[factory(primary_key)]
///     id: i64,
///     #[factory(sequence = |n| format!("tag{n}"))]
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT UNIQUE)").execute(&mut conn).await?;
/// let tags = Tag::factory().with_session(&mut conn).create_batch(1_200).await?; // 3 INSERTs
/// assert_eq!(tags.len(), 1_200);
/// assert!(tags.windows(2).all(|w| w[0].id < w[1].id)); // in the order sent
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[must_use = "nothing is inserted until the result of `create_batch()` is awaited"]
pub struct CreateBatch<S: Pending<M>, M: Model> {
    state: FactoryState<S>,
    rows: Batch<M>,
    start: fn(FactoryState<S>, Batch<M>) -> S::CreateBatch,
}

impl<S: State<M>, M: Model> CreateBatch<S, M> {
    #[doc(hidden)]
    pub fn new(state: FactoryState<S>, rows: Rows<M>) -> Self {
        CreateBatch {
            state,
            rows: Batch::Drawn(rows),
            start: S::insert_batch,
        }
    }

    /// A batch drawn chunk by chunk as it is sent, from one generator started now (so the
    /// values are those an eager draw would give).
    #[doc(hidden)]
    pub fn lazy(state: FactoryState<S>, source: Box<dyn ChunkSource<M>>, n: usize) -> Self {
        let seed = source.seed();
        CreateBatch {
            state,
            rows: Batch::Lazy(LazyRows {
                draw: crate::seed::draw(seed),
                source,
                seed,
                n,
            }),
            start: S::insert_batch,
        }
    }
}

impl<S: Pending<M>, M: Model> IntoFuture for CreateBatch<S, M> {
    type Output = Result<Vec<M>, Error>;
    type IntoFuture = S::CreateBatch;

    fn into_future(self) -> Self::IntoFuture {
        (self.start)(self.state, self.rows)
    }
}

/// The pending result of `get_or_create()` on a model with `#[factory(get_or_create(..))]`:
/// `.await` it for the row and whether it was inserted, as Django's `get_or_create` returns
/// `(object, created)`. `false`: a stored row with this key was found and returned as stored.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "users", get_or_create(email))]
/// struct User {
///     #[factory(primary_key)]
///     id: i64,
///     email: String,
///     /// Not a column: what the factory was given, never read from the database.
///     #[sqlx(skip)]
///     #[factory(transient, default = "secret".to_string())]
///     password: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE)").execute(&mut conn).await?;
/// let (admin, created) = User::factory().with_session(&mut conn).email("admin@example.com").get_or_create().await?;
/// assert!(created);
/// let (again, created) = User::factory().with_session(&mut conn).email("admin@example.com").password("other").get_or_create().await?;
/// assert!(!created); // found: the stored row, with this call's transient values
/// assert_eq!((again.id, again.password.as_str()), (admin.id, "other"));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[must_use = "nothing is inserted until the result of `get_or_create()` is awaited"]
pub struct GetOrCreate<S: Pending<M>, M: Model> {
    state: FactoryState<S>,
    rows: Rows<M>,
    start: fn(FactoryState<S>, Rows<M>) -> S::GetOrCreate,
}

pending_rows!(GetOrCreate, GetOrCreate, get_or_create_one, (M, bool));

/// The pending result of `get_or_create_batch(n)`: `.await` it for each row, in order, with
/// whether it was inserted (`false` for a stored row found by its key, and for a row whose key
/// an earlier row of the same batch inserted).
#[must_use = "nothing is inserted until the result of `get_or_create_batch()` is awaited"]
pub struct GetOrCreateBatch<S: Pending<M>, M: Model> {
    state: FactoryState<S>,
    rows: Rows<M>,
    start: fn(FactoryState<S>, Rows<M>) -> S::GetOrCreateBatch,
}

pending_rows!(
    GetOrCreateBatch,
    GetOrCreateBatch,
    get_or_create_batch,
    Vec<(M, bool)>
);

impl<S: State<M>, M: Model> InsertMany<S, M> {
    #[doc(hidden)]
    pub fn new(state: FactoryState<S>, source: Box<dyn ChunkSource<M>>, rows: u64) -> Self {
        InsertMany {
            state,
            source,
            rows,
            parents: Vec::new(),
            progress: None,
            chunk_rows: None,
            keyed: None,
            from_tables: Vec::new(),
            capture: None,
            start: S::insert_many,
        }
    }
}

/// A model that code generic over the backend (or over the model) can create with its default
/// values: `M::create(&mut tx)` is `M::factory().with_session(&mut tx).create()`.
///
/// `create()` on a factory has one bound per field (so a type the backend cannot store is one
/// error naming the field), which a function generic over `DB` could not write. This trait is
/// the one bound to write instead; the derive implements it for every model without
/// `required` fields (those have no default row), for each backend that stores all its fields.
///
/// ```
/// use sqlx_factory::{Backend, Creatable, Factory};
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "users")]
/// struct User {
///     #[factory(primary_key)]
///     id: i64,
///     name: String,
/// }
///
/// /// One helper for every backend and every model.
/// async fn make<DB: Backend, M: Creatable<DB>>(
///     tx: &mut sqlx::Transaction<'_, DB>,
///     n: usize,
/// ) -> Result<Vec<M>, sqlx_factory::Error> {
///     M::create_batch(tx, n).await
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be created with its default values on `{DB}`",
    label = "`{Self}` is not `Creatable<{DB}>`",
    note = "the derive implements `Creatable<DB>` for models without `required` fields (those have no default row), for each backend that stores every field"
)]
pub trait Creatable<DB: Backend>: Sized {
    /// Inserts one row with the factory's default values, as `create()` does, on what
    /// `with_session` takes (a `&mut` transaction or connection, or a pool).
    fn create<'c, A>(session: A) -> BoxFuture<'c, Result<Self, Error>>
    where
        A: SessionArg<'c, Database = DB>;

    /// Inserts `n` rows with the factory's default values, as `create_batch(n)` does.
    fn create_batch<'c, A>(session: A, n: usize) -> BoxFuture<'c, Result<Vec<Self>, Error>>
    where
        A: SessionArg<'c, Database = DB>;
}

/// A model without `required` fields or `back_reference` associations: its default factory
/// draws complete rows unbound, so [`Creatable`] is one blanket impl here over `Insert<DB>`
/// instead of an impl per model with one bound per field (callgrind: about 2 M instructions
/// per model on every rebuild of the model crate). The derive implements this for such models;
/// a model with a `back_reference` (whose rows need the bound session's step) keeps a
/// generated `Creatable` impl.
pub trait DefaultRows: Model {
    /// `Model::factory()`'s type.
    type Unbound: RowSource<Self> + ChunkSource<Self> + Default + 'static;
}

// `create()` and `create_batch(n)` of a fresh factory bound to `session`, which for these
// models are exactly these calls (no seed, hooks or savepoint; no deferred parent step).
// `Insert<DB>` carries the per-column `Encode + Type` bounds and `FromRow`, what `create()`'s
// per-field bounds check (in our words) for a concrete backend.
#[diagnostic::do_not_recommend]
impl<DB: Backend, M: Insert<DB> + DefaultRows> Creatable<DB> for M {
    fn create<'c, A>(session: A) -> BoxFuture<'c, Result<Self, Error>>
    where
        A: SessionArg<'c, Database = DB>,
    {
        let rows = M::Unbound::default().rows(1, None);
        let state = FactoryState::new().bind(session.bind());
        std::future::IntoFuture::into_future(Create::new(state, rows))
    }

    fn create_batch<'c, A>(session: A, n: usize) -> BoxFuture<'c, Result<Vec<Self>, Error>>
    where
        A: SessionArg<'c, Database = DB>,
    {
        let state = FactoryState::new().bind(session.bind());
        let source = Box::new(M::Unbound::default());
        std::future::IntoFuture::into_future(CreateBatch::lazy(state, source, n))
    }
}
