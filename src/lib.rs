//! Test-data factories for [sqlx] whose mistakes are compile errors.
//!
//! `#[derive(Factory)]` on a [`sqlx::FromRow`] struct gives it a typestate builder:
//! `Model::factory()` builds realistic objects in memory with no database, and after
//! `.with_session(&mut tx)` it inserts real rows with `create()` (one `INSERT ... RETURNING`)
//! or `create_batch(n)` (multi-row INSERTs). A `create()` with no session bound does not
//! compile, and the factory never commits: the rows live and die with the caller's
//! transaction.
//!
//! ```
//! use sqlx_factory::Factory;
//!
//! #[derive(Debug, Clone, sqlx::FromRow, Factory)]
//! #[factory(table = "users")]
//! struct User {
//!     #[factory(primary_key)]
//!     id: i64,
//!     #[factory(sequence = |n| format!("user{n}@example.com"))]
//!     email: String,
//!     #[factory(fake = fake::faker::name::en::Name())]
//!     name: String,
//!     #[factory(default = 30)]
//!     age: i32,
//!     bio: Option<String>,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // Build mode: no database.
//! let ann = User::factory().name("Ann").build();
//! assert_eq!((ann.name.as_str(), ann.age), ("Ann", 30));
//!
//! // Create mode: bind a session, then create.
//! let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
//! let mut tx = pool.begin().await?;
//! sqlx::query(
//!     "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
//!      name TEXT NOT NULL, age INTEGER NOT NULL, bio TEXT)",
//! )
//! .execute(&mut *tx)
//! .await?;
//! let bob = User::factory().with_session(&mut tx).name("Bob").create().await?;
//! assert!(bob.id > 0); // the id the database gave
//! let many = User::factory().with_session(&mut tx).create_batch(100).await?;
//! assert_eq!(many.len(), 100);
//! tx.rollback().await?; // the factory never commits
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # The typestate
//!
//! The generated `UserFactory<S>` carries its session in its type: `S` is [`NoSession`] from
//! `User::factory()`, and `.with_session(&mut tx)` turns it into [`Bound<'c, DB>`](Bound).
//! `create`/`create_batch` require `S:` [`Session`], which only `Bound` implements, so
//!
//! ```compile_fail,E0277
//! # use sqlx_factory::Factory;
//! # #[derive(Debug, sqlx::FromRow, Factory)]
//! # #[factory(table = "users")]
//! # struct User { name: String }
//! # async fn f() {
//! let user = User::factory().create().await; // no session bound
//! # }
//! ```
//!
//! fails with "no database session is bound to this factory" and the line to write instead.
//! `with_session` exists only while unbound ([`Unbound`]), and fields marked
//! `#[factory(required)]` add a type parameter each, so `build`/`create` only exist once they
//! are set. Everything else (setters, `seed`, `after_build`, your own "trait" methods in
//! `impl<S> UserFactory<S>`) works in every state.
//!
//! # Attributes
//!
//! See [`Factory`] for every `#[factory(..)]` attribute.
//!
//! # Backends and features
//!
//! | feature | backend | session types accepted |
//! |---|---|---|
//! | `sqlite` (default) | SQLite (sqlx's bundled build) | `SqliteConnection`, `Transaction<Sqlite>`, `PoolConnection<Sqlite>` |
//! | `postgres` | PostgreSQL | `PgConnection`, `Transaction<Postgres>`, `PoolConnection<Postgres>` |
//! | `mysql` | MariaDB ≥ 10.5 (`INSERT ... RETURNING`) | `MySqlConnection`, `Transaction<MySql>`, `PoolConnection<MySql>` |
//! | `tracing` | — | a span per INSERT step: factory, table, operation, rows |
//!
//! One model struct works on every enabled backend; you never name one. The crate picks no
//! async runtime: enable one on `sqlx` as usual. From a pool, take a connection or begin a
//! transaction per call (`let mut tx = pool.begin().await?`): a factory binds `&mut` of it.
//!
//! # Errors and transactions
//!
//! The factory never commits, rolls back or ends the caller's transaction, whatever happens (an
//! error, a future dropped at any point, a panic), and a failed operation leaves nothing:
//!
//! - A `create()` that sends one INSERT sends just that statement.
//! - An operation that sends more (batch chunks, parents, `with_related` rows, hooks) runs in a
//!   savepoint of its own inside the caller's transaction, or in a transaction of its own on a
//!   bare connection, undone on failure. Dropped half-way on a bare connection, nothing of it
//!   is committed; inside the caller's transaction, what it had sent belongs to that
//!   transaction and goes when the caller rolls back.
//! - `.in_savepoint()` does the same for a single INSERT: on PostgreSQL, where a failed
//!   statement aborts the whole transaction, the transaction then stays usable.
//!
//! A failure is an [`Error`] naming the factory, operation, table and step (for a batch, which
//! INSERT and which rows), with the `sqlx::Error` inside. On a PostgreSQL transaction that
//! already failed, an operation that needs a savepoint gets its `SAVEPOINT` refused, which
//! changes nothing, and says that an earlier statement failed. After a `timeout` fired in the
//! middle of a statement on MariaDB, or in the middle of a PostgreSQL `insert_many` (inside
//! its `COPY`), close the pooled connection (`conn.close_on_drop()`) instead of returning it:
//! sqlx's MariaDB connection and its PostgreSQL `COPY` are not cancel-safe mid-statement.
//! The rule per backend is in `docs/DESIGN.md`, "Transactions and atomicity".

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Without a backend feature there is nothing to insert into: the writers go unused.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]

// The runtime in layers, each using only those above it in this list (`.ci/cycles` keeps it
// so; docs/DESIGN.md draws it):
// values and errors, then the database layer, the model traits and sessions, atomicity and the
// factory state, the insert path, the operations, and the pending operations on top.
mod column;
mod cycle;
mod dates;
mod error;
mod future;
mod probe;
mod seed;
mod values;

mod db;

mod model;
mod reference;
mod session;

mod scope;
mod state;

mod insert;

mod check;
mod create;
mod insert_many;
mod lint;

mod flatten;
mod pending;

// Compiles the per-backend code once here, for every crate that uses a factory (not for this
// crate's own unit tests, which nothing links).
#[cfg(all(
    not(test),
    any(feature = "sqlite", feature = "postgres", feature = "mysql")
))]
mod instances;

// The derive names this crate `::sqlx_factory`; `instances` derives inside it.
extern crate self as sqlx_factory;

pub use check::{CheckReport, Finding, Severity};
pub use db::{Backend, KeyType};
pub use error::{Error, Operation, Step};
pub use insert_many::{InsertMany, InsertManyKeys, Progress};
pub use lint::LintReport;
pub use pending::{Creatable, Create, CreateBatch, GetOrCreate, GetOrCreateBatch};
pub use seed::{Inherited, LocalSequences, SEED_VAR, inherit, local_sequences, run_seed};
pub use session::{
    BindSession, Bound, Cloneable, IntoSession, NoSession, Session, SessionArg, Unbound,
};

/// Derives `Model::factory()` and the typestate `ModelFactory` for a `sqlx::FromRow` struct.
///
/// The struct needs `#[factory(table = "...")]` (`"schema.table"` works). Every field that is
/// not `skip` gets a setter of its name taking `impl Into<T>`. Field attributes:
///
/// | attribute | meaning |
/// |---|---|
/// | (none) | a random `fake::Dummy<Faker>` value; a type without one is a compile error on the field |
/// | `primary_key` | the database fills it: left out of the INSERT unless set, read back; an `association` can point at the model. With `association` too: the parent's key, always sent (a 1:1 extension table) |
/// | `generated` | the database fills it (`DEFAULT now()`, a trigger): left out unless set, read back |
/// | `default = EXPR` | this expression, evaluated per object, of exactly the field's type |
/// | `fake = EXPR` | a faker, e.g. `fake::faker::internet::en::SafeEmail()` or a range `18..90` |
/// | `sequence = \|n\| ..` | `n: u64`, unique per model, thread and process (see docs/DESIGN.md) |
/// | `lazy = \|obj: &Model\| ..` | computed last from the object's other final values |
/// | `association = Model` | a foreign key to `Model`'s primary key: create mode creates the parent first, in the same session, unless set; `field_with(\|f\| ..)` customises it; `Option<_>` keys stay NULL unless asked for |
/// | `required` | no value of its own: `build`/`create` do not compile until it is set |
/// | `transient` | a factory parameter, not a column (with `#[sqlx(skip)]`): lazy fields and hooks read it; put back into created rows |
/// | `column = "name"` | the column's name differs from the field's (`#[sqlx(rename)]` and `rename_all` are honoured as is) |
/// | `skip` | not a column (with `#[sqlx(skip)]`): `Default::default()` |
///
/// A `#[sqlx(flatten)]` field is the columns of a struct that derives `Factory` with
/// `#[factory(flatten)]` in place of a table; `<field>_with(|f| ..)` customises the factory that
/// draws it.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, Clone, sqlx::FromRow, Factory)]
/// #[factory(table = "users")]
/// struct User {
///     #[factory(primary_key)]
///     id: i64,
///     #[factory(sequence = |n| format!("user{n}@example.com"))]
///     email: String,
///     #[factory(fake = fake::faker::name::en::Name())]
///     name: String,
///     #[factory(lazy = |u: &User| u.name.to_uppercase())]
///     display: String,
///     #[factory(default = 30)]
///     age: i32,
/// }
///
/// let ann = User::factory().name("Ann").build();
/// assert_eq!((ann.display.as_str(), ann.age), ("ANN", 30));
/// ```
pub use sqlx_factory_macros::Factory;

/// The `fake` crate (version 5) the factories draw values with. `use sqlx_factory::fake;` makes
/// `#[factory(fake = fake::faker::..)]` paths work without a dependency line of your own, but
/// `#[derive(fake::Dummy)]` expands to `::fake::` paths, so deriving `Dummy` needs `fake` 5
/// (feature `derive`) in your own `Cargo.toml`.
pub use fake;

// Every Rust block of the README compiles and runs as written.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The README's `cfg_attr` pattern with the feature on (`all()` is always true): the derive and
/// the struct attribute in one `cfg_attr` work.
///
/// ```
/// #[derive(Debug, Clone, sqlx::FromRow)]
/// #[cfg_attr(all(), derive(sqlx_factory::Factory), factory(table = "users"))]
/// pub struct User {
///     #[cfg_attr(all(), factory(primary_key))]
///     pub id: i64,
///     #[cfg_attr(all(), factory(fake = fake::faker::name::en::Name()))]
///     pub name: String,
///     pub bio: Option<String>,
/// }
///
/// let user = User::factory().name("Ann").build();
/// assert_eq!(user.name, "Ann");
/// ```
#[cfg(doctest)]
struct FactoriesBehindAFeature;

// Named only by generated code; its items are documented where they are defined, for us.
#[doc(hidden)]
#[allow(missing_docs)]
#[path = "private.rs"]
pub mod __private;
