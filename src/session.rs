//! The typestate: a factory is unbound ([`NoSession`]) until `with_session` binds a
//! connection ([`Bound`]); only a bound factory has `create` and `create_batch`.

use std::fmt;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Transaction};

use crate::db::Backend;

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
    link: Link<'c, DB>,
    /// An operation took a connection from the pool and has not ended yet: see the `Drop`.
    busy: bool,
}

/// Where a bound factory's statements go.
enum Link<'c, DB: Database> {
    /// The caller's transaction or connection, borrowed for `'c`.
    Borrowed(&'c mut <DB as Database>::Connection),
    /// A pool: each operation takes one connection when it starts ([`Bound::acquire`]).
    Pool(Pool<DB>),
    /// The connection this operation took from the pool; back to the pool when it ends.
    Acquired(PoolConnection<DB>),
}

impl<DB: Database> fmt::Debug for Bound<'_, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bound<{}>", DB::NAME)
    }
}

impl<'c, DB: Database> Bound<'c, DB> {
    pub(crate) fn borrowed(conn: &'c mut DB::Connection) -> Self {
        Bound {
            link: Link::Borrowed(conn),
            busy: false,
        }
    }

    pub(crate) fn pool(pool: Pool<DB>) -> Self {
        Bound {
            link: Link::Pool(pool),
            busy: false,
        }
    }

    /// Takes this operation's connection when the session is a pool; a no-op otherwise. Every
    /// operation calls it before its first statement.
    pub(crate) async fn acquire(&mut self) -> Result<(), sqlx::Error> {
        if let Link::Pool(pool) = &self.link {
            // Boxed: sqlx's acquire future is 2.5 KB, and every operation's future would
            // carry that much, on a borrowed connection too, where it never runs.
            self.link = Link::Acquired(Box::pin(pool.acquire()).await?);
            self.busy = true;
        }
        Ok(())
    }

    /// The operation ended where its connection is between statements: a connection taken
    /// from the pool may go back to it. Every operation calls it on its way out; one that
    /// does not (a cancellation, a panic, an early error) closes the connection instead.
    pub(crate) fn release(&mut self) {
        self.busy = false;
    }

    /// Whether the connection is the operation's own, taken from a pool.
    pub(crate) fn is_pooled(&self) -> bool {
        matches!(self.link, Link::Acquired(_))
    }

    /// The connection statements go to.
    pub(crate) fn conn(&mut self) -> &mut DB::Connection {
        match &mut self.link {
            Link::Borrowed(conn) => conn,
            Link::Acquired(conn) => conn,
            // Each operation's entry point (`State`, `InsertMany`) acquires first.
            Link::Pool(_) => unreachable!("a pool session is acquired before its first statement"),
        }
    }
}

/// A connection this crate took from the pool goes back only if its operation ended
/// (`Bound::release`). Dropped in the middle of a statement or of a `COPY` (a `timeout`, a
/// panic, a `select!`), sqlx's connections are out of step with the server: the next user of
/// the pool would read this operation's answers as its own, or wait for them. The caller
/// cannot `close_on_drop()` a connection it never held, so we do, as DESIGN advises users to
/// do with theirs; the pool opens a fresh one when needed.
impl<DB: Database> Drop for Bound<'_, DB> {
    fn drop(&mut self) {
        if let (Link::Acquired(conn), true) = (&mut self.link, self.busy) {
            conn.close_on_drop();
        }
    }
}

/// A connection `with_session` can borrow as `&mut`: a transaction, a pooled connection, or a
/// plain connection (see [`SessionArg`] for everything it accepts, pools included).
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
    label = "expected a transaction, a connection or a pool",
    note = "pass `&mut tx` (a `sqlx::Transaction`), `&mut conn` (a connection or `PoolConnection`) or `&pool`",
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

/// What `with_session` accepts: `&mut` of an [`IntoSession`] (a transaction, a pooled
/// connection, a connection), or a pool (`&pool`, `pool`, `&mut pool`).
///
/// Bound to a borrowed connection, a factory sends its statements there and never begins,
/// commits or rolls back the caller's transaction. Bound to a pool, each operation (`create`,
/// `create_batch`, `insert_many`, ..) takes one connection and runs as on a bare connection:
/// one INSERT autocommits; several statements run in a transaction of its own, committed on
/// success and rolled back on error, cancellation or panic. There is no caller's transaction
/// to respect, as with `sqlx::query(..).execute(&pool)`; hooks get that operation's connection.
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
/// sqlx::query("CREATE TABLE tags (name TEXT NOT NULL)").execute(&pool).await?;
///
/// // What `#[sqlx::test]` hands out: committed, as `execute(&pool)` would be.
/// let tags = Tag::factory().with_session(&pool).create_batch(3).await?;
/// assert_eq!(tags.len(), 3);
/// let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM tags").fetch_one(&pool).await?;
/// assert_eq!(stored, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub trait SessionArg<'c> {
    /// The backend the session talks to.
    type Database: Backend;

    /// The bound state.
    fn bind(self) -> Bound<'c, Self::Database>;
}

// Hidden from "the trait is implemented for" hints: `BindSession`'s notes say what to pass.
#[diagnostic::do_not_recommend]
impl<'c, T: IntoSession + ?Sized> SessionArg<'c> for &'c mut T {
    type Database = T::Database;

    fn bind(self) -> Bound<'c, T::Database> {
        Bound::borrowed(self.connection())
    }
}

#[diagnostic::do_not_recommend]
impl<'c, DB: Backend> SessionArg<'c> for Pool<DB> {
    type Database = DB;

    fn bind(self) -> Bound<'c, DB> {
        Bound::pool(self)
    }
}

#[diagnostic::do_not_recommend]
impl<'c, DB: Backend> SessionArg<'c> for &Pool<DB> {
    type Database = DB;

    fn bind(self) -> Bound<'c, DB> {
        self.clone().bind()
    }
}

#[diagnostic::do_not_recommend]
impl<'c, DB: Backend> SessionArg<'c> for &mut Pool<DB> {
    type Database = DB;

    fn bind(self) -> Bound<'c, DB> {
        self.clone().bind()
    }
}

/// What `with_session` checks: the factory in state `Self` can bind `A`, a session of `DB`.
/// It holds for every state and every [`SessionArg`]; a second `with_session` is reported by
/// [`Unbound`].
///
/// The check is this trait rather than `A: SessionArg` so that the self type of the failed
/// obligation is the factory's state, never the caller's type: for `executor: impl
/// PgExecutor<'c>`, rustc then adds no "consider restricting opaque type .. with trait
/// `SessionArg`" help after our message.
#[diagnostic::on_unimplemented(
    message = "`{A}` is not a database session a factory can bind",
    label = "expected a transaction, a connection or a pool",
    note = "pass `&mut tx` (a `sqlx::Transaction`), `&mut conn` (a connection or `PoolConnection`) or `&pool`",
    note = "a helper takes `conn: &mut PgConnection` (or `SqliteConnection`, `MySqlConnection`), called with `&mut *tx`, not `impl Executor`: a factory sends several statements on one connection"
)]
pub trait BindSession<'c, A, DB: Backend> {
    /// The bound state of `session`.
    fn bind(session: A) -> Bound<'c, DB>;
}

#[diagnostic::do_not_recommend]
impl<'c, S, A: SessionArg<'c>> BindSession<'c, A, A::Database> for S {
    fn bind(session: A) -> Bound<'c, A::Database> {
        session.bind()
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
