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
//! The factory never begins, commits or rolls back the caller's transaction. A failure is an
//! [`Error`] naming the factory, operation, table and step, with the `sqlx::Error` inside. On
//! PostgreSQL a failed statement aborts the whole transaction; `.in_savepoint()` on a bound
//! factory runs the operation inside a `SAVEPOINT` so the transaction stays usable. After a
//! create is cancelled mid-statement (dropped by a timeout), drop its transaction rather than
//! reuse the connection: sqlx connections are not cancel-safe mid-statement.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod back;
mod backend;
mod create;
mod dates;
mod error;
mod lint;
mod model;
mod seed;
mod session;
mod sql;
mod state;

pub use backend::Backend;
pub use create::{Create, CreateBatch};
pub use error::{Error, Operation, Step};
pub use lint::LintReport;
pub use seed::{SEED_VAR, run_seed};
pub use session::{Bound, IntoSession, NoSession, Session, Unbound};

/// Derives `Model::factory()` and the typestate `ModelFactory` for a `sqlx::FromRow` struct.
///
/// The struct needs `#[factory(table = "...")]` (`"schema.table"` works). Every field that is
/// not `skip` gets a setter of its name taking `impl Into<T>`. Field attributes:
///
/// | attribute | meaning |
/// |---|---|
/// | (none) | a random `fake::Dummy<Faker>` value; a type without one is a compile error on the field |
/// | `primary_key` | the database fills it: left out of the INSERT unless set, read back; an `association` can point at the model |
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

/// The `fake` crate the factories draw values with, for `#[factory(fake = ..)]` expressions and
/// `Dummy` impls without a dependency line of your own.
pub use fake;

// Named only by generated code; its items are documented where they are defined, for us.
#[doc(hidden)]
#[allow(missing_docs)]
#[path = "private.rs"]
pub mod __private;
