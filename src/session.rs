//! The typestate: a factory is unbound ([`NoSession`]) until `with_session` binds a
//! connection ([`Bound`]); only a bound factory has `create` and `create_batch`.

use std::fmt;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Transaction};

use crate::backend::Backend;

/// The state of a factory with no database session: it can `build`, not `create`.
///
/// ```
/// use sqlx_factory::{Factory, NoSession};
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     name: String,
/// }
///
/// let factory: TagFactory<NoSession> = Tag::factory();
/// let tag = factory.name("rust").build();
/// assert_eq!(tag.name, "rust");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSession;

/// The state of a factory bound to a connection with `with_session`: it can `create`.
///
/// The factory borrows the connection for `'c` and never begins, commits or rolls back a
/// transaction on it: what it inserts lives and dies with the caller's transaction.
///
/// ```
/// use sqlx_factory::{Bound, Factory};
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// let bound: TagFactory<Bound<'_, sqlx::Sqlite>> = Tag::factory().with_session(&mut conn);
/// assert_eq!(format!("{bound:?}"), "TagFactory { session: Bound<SQLite> }");
/// # Ok::<(), sqlx::Error>(()) }).unwrap();
/// ```
pub struct Bound<'c, DB: Database> {
    pub(crate) conn: &'c mut <DB as Database>::Connection,
}

impl<DB: Database> fmt::Debug for Bound<'_, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bound<{}>", DB::NAME)
    }
}

/// What `with_session` accepts: a transaction, a pooled connection, or a plain connection.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// let mut tx = pool.begin().await?;
/// sqlx::query("CREATE TABLE tags (name TEXT NOT NULL)").execute(&mut *tx).await?;
///
/// let tag = Tag::factory().with_session(&mut tx).name("sql").create().await?;
/// assert_eq!(tag.name, "sql");
/// tx.rollback().await?;
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a database session a factory can bind",
    label = "expected a transaction or a connection",
    note = "pass `&mut tx` (a `sqlx::Transaction`), `&mut conn` (a `PoolConnection`) or a `&mut` backend connection; from a pool, begin a transaction first: `let mut tx = pool.begin().await?;`",
    note = "a helper takes `conn: &mut PgConnection` (or `SqliteConnection`, `MySqlConnection`), called with `&mut *tx`, not `impl Executor`: a factory sends several statements on one connection"
)]
pub trait IntoSession {
    /// The backend the session talks to.
    type Database: Backend;

    /// The connection statements go to.
    fn connection(&mut self) -> &mut <Self::Database as Database>::Connection;
}

impl<DB: Backend> IntoSession for Transaction<'_, DB> {
    type Database = DB;

    fn connection(&mut self) -> &mut DB::Connection {
        self
    }
}

impl<DB: Backend> IntoSession for PoolConnection<DB> {
    type Database = DB;

    fn connection(&mut self) -> &mut DB::Connection {
        self
    }
}

/// `with_session(&mut tx)` where `tx` is itself a `&mut Transaction` (a helper's argument).
// Hidden from "the trait is implemented for `&mut T`" hints: `&mut &mut Pool` is no session
// either, and the note already says what to pass.
#[diagnostic::do_not_recommend]
impl<T: IntoSession + ?Sized> IntoSession for &mut T {
    type Database = T::Database;

    fn connection(&mut self) -> &mut <Self::Database as Database>::Connection {
        (**self).connection()
    }
}

macro_rules! impl_into_session_for_connection {
    ($feature:literal, $connection:ty, $db:ty) => {
        #[cfg(feature = $feature)]
        impl IntoSession for $connection {
            type Database = $db;

            fn connection(&mut self) -> &mut $connection {
                self
            }
        }
    };
}

impl_into_session_for_connection!("sqlite", sqlx::SqliteConnection, sqlx::Sqlite);
impl_into_session_for_connection!("postgres", sqlx::PgConnection, sqlx::Postgres);
impl_into_session_for_connection!("mysql", sqlx::MySqlConnection, sqlx::MySql);

/// What `with_session` checks: the factory in state `Self` can bind `C`, a session of `DB`.
/// It holds for every state and every [`IntoSession`]; a second `with_session` is reported by
/// [`Unbound`].
///
/// The check is this trait rather than `C: IntoSession` so that the self type of the failed
/// obligation is the factory's state, never the caller's type: for `&mut executor` with
/// `executor: impl PgExecutor<'c>`, rustc then adds no "consider restricting opaque type .. with
/// trait `IntoSession`" help after our message.
#[diagnostic::on_unimplemented(
    message = "`{C}` is not a database session a factory can bind",
    label = "expected a transaction or a connection",
    note = "pass `&mut tx` (a `sqlx::Transaction`), `&mut conn` (a `PoolConnection`) or a `&mut` backend connection; from a pool, begin a transaction first: `let mut tx = pool.begin().await?;`",
    note = "a helper takes `conn: &mut PgConnection` (or `SqliteConnection`, `MySqlConnection`), called with `&mut *tx`, not `impl Executor`: a factory sends several statements on one connection"
)]
pub trait BindSession<C: ?Sized, DB: Backend> {
    /// The connection of `session`.
    fn connection(session: &mut C) -> &mut <DB as Database>::Connection;
}

#[diagnostic::do_not_recommend]
impl<S, C: IntoSession + ?Sized> BindSession<C, C::Database> for S {
    fn connection(session: &mut C) -> &mut <C::Database as Database>::Connection {
        session.connection()
    }
}

impl<'c, DB: Backend> Bound<'c, DB> {
    pub(crate) fn new<C: IntoSession<Database = DB> + ?Sized>(session: &'c mut C) -> Self {
        Bound {
            conn: session.connection(),
        }
    }
}

/// A factory state that still accepts `with_session`: only [`NoSession`].
///
/// Binding twice is a compile error in our words:
///
/// ```compile_fail,E0277
/// # use sqlx_factory::Factory;
/// # #[derive(Debug, sqlx::FromRow, Factory)]
/// # #[factory(table = "tags")]
/// # struct Tag { name: String }
/// # fn f(a: &mut sqlx::SqliteConnection, b: &mut sqlx::SqliteConnection) {
/// let twice = Tag::factory().with_session(a).with_session(b); // this factory already has a database session
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "this factory already has a database session",
    label = "a second `with_session` on a bound factory",
    note = "bind the session once: remove this `.with_session(..)` call"
)]
pub trait Unbound {}

#[diagnostic::do_not_recommend]
impl Unbound for NoSession {}

/// A factory state that can be cloned: only [`NoSession`]. A bound factory holds `&mut` of its
/// connection, which two factories cannot share, so cloning one is a compile error that says
/// to clone before binding:
///
/// ```compile_fail,E0277
/// # use sqlx_factory::Factory;
/// # #[derive(Debug, sqlx::FromRow, Factory)]
/// # #[factory(table = "tags")]
/// # struct Tag { name: String }
/// # fn f(conn: &mut sqlx::SqliteConnection) {
/// let bound = Tag::factory().with_session(conn);
/// let copy = bound.clone(); // a factory bound to a database session cannot be cloned
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "a factory bound to a database session cannot be cloned",
    label = "this factory holds the `&mut` connection, which a clone cannot share",
    note = "clone the unbound factory, then bind each clone: `let base = {M}::factory()..; base.clone().with_session(&mut tx).create().await`"
)]
pub trait Cloneable<M> {
    /// The same state.
    fn clone_session(&self) -> Self;
}

#[diagnostic::do_not_recommend]
impl<M> Cloneable<M> for NoSession {
    fn clone_session(&self) -> Self {
        NoSession
    }
}

/// A factory state that can insert `M`: a bound session whose backend can store every column.
///
/// Only [`Bound`] implements it, so `create` on an unbound factory is a compile error that
/// says how to bind a session:
///
/// ```compile_fail,E0277
/// # use sqlx_factory::Factory;
/// # #[derive(Debug, sqlx::FromRow, Factory)]
/// # #[factory(table = "tags")]
/// # struct Tag { name: String }
/// # async fn f() {
/// let tag = Tag::factory().create().await; // no database session is bound to this factory
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "no database session is bound to this factory",
    label = "`{M}` rows can only be created through a session",
    note = "bind one first: `{M}::factory().with_session(&mut tx).create().await`"
)]
pub trait Session<M> {}
