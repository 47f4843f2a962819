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
//! Features: `sqlite` (default), `postgres`, `mysql` (MariaDB ≥ 10.5, for `RETURNING`).
//! The crate picks no async runtime: enable one on `sqlx` as usual.

mod backend;
mod create;
mod error;
mod model;
mod seed;
mod session;
mod sql;
mod state;

pub use backend::Backend;
pub use create::{Create, CreateBatch};
pub use error::{Error, Operation, Step};
pub use seed::{SEED_VAR, run_seed};
pub use session::{Bound, IntoSession, NoSession, Session, Unbound};

/// Derives a factory for a `sqlx::FromRow` struct. See the crate documentation.
pub use sqlx_factory_macros::Factory;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
