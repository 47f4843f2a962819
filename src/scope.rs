//! Atomic operations: a savepoint (inside the caller's transaction) or a transaction of our own
//! (on a bare connection) around an operation that sends more than one statement.
//!
//! Every statement we send is a point where the caller may drop our future (a `timeout`, a
//! panic unwinding). Whatever lands there, the caller's transaction must never be committed or
//! ended by us. sqlx's `TransactionManager` cannot promise that for a level nested in the
//! caller's: its `begin` dropped while its `SAVEPOINT` is in flight rolls back the *caller's*
//! level (PostgreSQL's guard runs before the depth moved) and leaves every later statement to
//! autocommit; its `commit` dropped while `RELEASE` is in flight leaves the depth one too high,
//! and the next rollback names a savepoint that no longer exists; SQLite's worker then drops
//! the caller's next rollback. So inside a transaction a [`Scope`] sends its own `SAVEPOINT`,
//! `RELEASE` and `ROLLBACK TO` under a name of its own and never touches sqlx's depth: the
//! caller's `commit`, `rollback` and drop act on the caller's level as if we were not there,
//! and a savepoint of ours left open by a cancellation ends with the caller's transaction.
//!
//! On a bare connection the level is a transaction of its own, opened with sqlx's manager so
//! that, dropped while open, the [`Scope`] can queue sqlx's synchronous `start_rollback`: the
//! connection sends the `ROLLBACK` before its next statement (the pool's ping when it goes
//! back, or the next user's), so nothing of a cancelled operation is committed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sqlx::Database;
use sqlx_core::transaction::TransactionManager;

use crate::db::Backend;
use crate::error::{Error, Kept};
use crate::session::Bound;

type Manager<DB> = <DB as Database>::TransactionManager;

/// Whether sqlx has a transaction open on `conn` (a `Transaction`, or our own level).
pub(crate) fn in_transaction<DB: Backend>(conn: &DB::Connection) -> bool {
    Manager::<DB>::get_transaction_depth(conn) > 0
}

/// Sends `SAVEPOINT <name>` under a name of its own and returns the name.
pub(crate) async fn open_savepoint<DB: Backend>(
    conn: &mut DB::Connection,
) -> Result<String, sqlx::Error> {
    // Unique in the process: nested operations (a hook's) never reuse an open name, which
    // MariaDB would take as releasing the outer savepoint.
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let name = format!("sqlx_factory_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    // A level inside the transaction: what is sent in it may not begin the transaction again
    // (`begin_again` would end the savepoint with it).
    clear_fresh::<DB>(conn);
    DB::execute_raw(conn, format!("SAVEPOINT {name}")).await?;
    Ok(name)
}

/// The error of an operation whose savepoint could not be rolled back to: the transaction
/// around it is gone (`error` is what ended it, or what failed after).
pub(crate) fn transaction_gone(error: Error) -> Error {
    // A nested operation's error (a parent's, a hook's) that says it already: said once.
    if error.says_transaction_gone() {
        return error;
    }
    error.kept(Kept::TransactionGone)
}

/// Sends `ROLLBACK TO` and `RELEASE` of the savepoint `name`, unless the transaction is known
/// to be gone. Returns `true` when it is gone: the savepoint no longer exists because the
/// database ended the whole transaction (MariaDB does on a deadlock), so every later
/// statement would run outside any transaction. The connection is marked for the levels of
/// ours around this one ([`is_gone`]).
pub(crate) async fn rollback_to<DB: Backend>(conn: &mut DB::Connection, name: &str) -> bool {
    if is_gone::<DB>(conn) {
        return true;
    }
    let sql = format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}");
    let Err(failed) = DB::execute_raw(conn, sql).await else {
        return false;
    };
    mark_gone::<DB>(conn);
    if mariadb_number(&failed).is_some() {
        stand_in::<DB>(conn).await;
    }
    true
}

/// Marks the READ ONLY transaction [`stand_in`] opens: a probe can tell it from one the
/// caller opened READ ONLY itself.
const STAND_IN: &str = "sqlx_factory_transaction_gone";

/// MariaDB's "Cannot execute statement in a READ ONLY transaction".
const READ_ONLY_TRANSACTION: u16 = 1792;

/// The number of MariaDB's error, when `error` is one: MariaDB alone ends a whole
/// transaction on an error inside it.
fn mariadb_number(error: &sqlx::Error) -> Option<u16> {
    #[cfg(feature = "mysql")]
    if let sqlx::Error::Database(db) = error {
        return db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(sqlx::mysql::MySqlDatabaseError::number);
    }
    let _ = error;
    None
}

/// When sqlx counts a transaction open on `conn` but MariaDB has none (it ended it on a
/// deadlock, or on a lock wait timeout with `innodb_rollback_on_timeout`), opens a READ ONLY
/// transaction in its place, marked by the savepoint [`STAND_IN`], and returns `true`. Without
/// it every later statement on the connection, ours or the caller's, would run outside any
/// transaction and autocommit; with it every write fails (MariaDB error 1792) until the
/// caller's rollback ends it, and sqlx's count matches the server again (the caller's nested
/// levels have their savepoints in it). Asked only after an
/// error: asked before each write, it would be a second round trip per `create()`. Never sent
/// while a transaction is open, where `START TRANSACTION` would commit it.
async fn stand_in<DB: Backend>(conn: &mut DB::Connection) -> bool {
    if !in_transaction::<DB>(conn) {
        return false;
    }
    let probe = "SELECT 1 FROM DUAL WHERE @@in_transaction = 0";
    // A row: no transaction on the server. No row, or an error: leave the connection alone.
    if DB::fetch_one(conn, probe.into(), DB::Arguments::default())
        .await
        .is_err()
    {
        return false;
    }
    // The caller's nested levels that sqlx counts (its savepoints) stand in too, under sqlx's
    // names and before the marker: the caller's rollback (or release) of such a level finds
    // its savepoint, where the server's answer would be "SAVEPOINT .. does not exist".
    let mut sql = String::from("START TRANSACTION READ ONLY");
    for depth in 1..Manager::<DB>::get_transaction_depth(conn) {
        sql.push_str("; ");
        sql.push_str(sqlx_core::transaction::begin_ansi_transaction_sql(depth).as_str());
    }
    sql.push_str(&format!("; SAVEPOINT {STAND_IN}"));
    let _ = DB::execute_raw(conn, sql).await;
    true
}

/// The error of an operation that failed inside a transaction, saying when the transaction
/// is gone: the database ended it at this error ([`stand_in`] takes its place), or before
/// the operation began (a write refused by the READ ONLY transaction standing in for it).
/// Errors of other databases, and of a connection with no transaction, are returned as they
/// are without a round trip.
pub(crate) async fn settle<DB: Backend>(conn: &mut DB::Connection, error: Error) -> Error {
    let Some(number) = error.as_sqlx().and_then(mariadb_number) else {
        return error;
    };
    if !in_transaction::<DB>(conn) {
        return error;
    }
    if number == READ_ONLY_TRANSACTION {
        // Succeeds only inside the stand-in; it was opened READ ONLY, so nothing is undone.
        let probe = format!("ROLLBACK TO SAVEPOINT {STAND_IN}");
        return match DB::execute_raw(conn, probe).await {
            Ok(()) => error.kept(Kept::TransactionGoneBefore),
            Err(_) => error,
        };
    }
    if stand_in::<DB>(conn).await {
        return transaction_gone(error);
    }
    error
}

/// `result` of an operation sent without a savepoint of ours, through [`settle`] on failure.
pub(crate) async fn settled<DB: Backend, T>(
    conn: &mut DB::Connection,
    result: Result<T, Error>,
) -> Result<T, Error> {
    match result {
        Ok(done) => Ok(done),
        // Boxed: the error path's future does not weigh on every operation's.
        Err(e) => Err(Box::pin(settle::<DB>(conn, e)).await),
    }
}

/// A connection with levels of ours open: how many, and whether the database ended the
/// transaction under them. A hook's nested operation runs on its outer operation's
/// connection; when the nested one finds its savepoint gone (and the hook handles the
/// error), the outer one learns it here before it sends anything more.
struct Open {
    conn: usize,
    levels: usize,
    gone: bool,
    /// The outermost level is a transaction of ours (not a savepoint in the caller's).
    own: bool,
    /// That transaction belongs to a `create`/`create_batch` that has sent nothing in it yet
    /// ([`mark_fresh`]).
    fresh: bool,
}

static OPEN: Mutex<Vec<Open>> = Mutex::new(Vec::new());

/// A connection's identity while it is borrowed by an operation: its address.
fn conn_id<DB: Backend>(conn: &DB::Connection) -> usize {
    std::ptr::from_ref(conn) as usize
}

fn open_levels() -> std::sync::MutexGuard<'static, Vec<Open>> {
    OPEN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn enter(conn: usize, own: bool) {
    let mut open = open_levels();
    match open.iter_mut().find(|o| o.conn == conn) {
        Some(o) => o.levels += 1,
        None => open.push(Open {
            conn,
            levels: 1,
            gone: false,
            own,
            fresh: false,
        }),
    }
}

fn leave(conn: usize) {
    let mut open = open_levels();
    if let Some(i) = open.iter().position(|o| o.conn == conn) {
        open[i].levels -= 1;
        if open[i].levels == 0 && open.swap_remove(i).fresh {
            FRESH.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

fn mark_gone<DB: Backend>(conn: &DB::Connection) {
    let id = conn_id::<DB>(conn);
    if let Some(o) = open_levels().iter_mut().find(|o| o.conn == id) {
        o.gone = true;
    }
}

/// How many connections are [`Open::fresh`]: while none is, [`clear_fresh`] takes no lock.
static FRESH: AtomicUsize = AtomicUsize::new(0);

/// Marks the transaction of ours open on `conn` (one level, ours) as sent nothing yet: the
/// `create`/`create_batch` that opened it runs its insert path next.
pub(crate) fn mark_fresh<DB: Backend>(conn: &DB::Connection) {
    let id = conn_id::<DB>(conn);
    if let Some(o) = open_levels()
        .iter_mut()
        .find(|o| o.conn == id && o.own && o.levels == 1 && !o.fresh)
    {
        o.fresh = true;
        FRESH.fetch_add(1, Ordering::Relaxed);
    }
}

/// Something is sent in the transaction on `conn` (an INSERT, an after-create step): what
/// comes after is no longer all it holds.
pub(crate) fn clear_fresh<DB: Backend>(conn: &DB::Connection) {
    if FRESH.load(Ordering::Relaxed) > 0 {
        take_fresh::<DB>(conn);
    }
}

/// Whether the rows about to be sent on `conn` are the first write of a `create` or
/// `create_batch` alone in a transaction of its own, no other level open ([`mark_fresh`]):
/// when the database ends the transaction (a deadlock), they may begin a new one and be sent
/// again, since nothing else was in it. Asked once: what is sent after them is not first.
pub(crate) fn take_fresh<DB: Backend>(conn: &DB::Connection) -> bool {
    let id = conn_id::<DB>(conn);
    let mut open = open_levels();
    let Some(o) = open.iter_mut().find(|o| o.conn == id && o.fresh) else {
        return false;
    };
    o.fresh = false;
    FRESH.fetch_sub(1, Ordering::Relaxed);
    o.own && o.levels == 1 && !o.gone
}

/// Ends what is left of our own transaction on `conn` after the database ended it (a
/// deadlock), and begins a new one in its place: sqlx still counts one level, the server has
/// one again. Only for [`take_fresh`]'s rows.
pub(crate) async fn begin_again<DB: Backend>(conn: &mut DB::Connection) -> Result<(), sqlx::Error> {
    let begin = DB::BEGIN.unwrap_or("BEGIN");
    DB::execute_raw(conn, format!("ROLLBACK; {begin}")).await
}

/// Whether the database ended the transaction under the levels of ours open on `conn`.
pub(crate) fn is_gone<DB: Backend>(conn: &DB::Connection) -> bool {
    let id = conn_id::<DB>(conn);
    open_levels().iter().any(|o| o.conn == id && o.gone)
}

/// The message of a step after which the transaction was found gone.
pub(crate) const GONE_IN_STEP: &str = "an operation inside this step could not roll back to its \
    savepoint";

/// What a [`Scope`] opened.
enum Level {
    /// `SAVEPOINT <name>` inside the caller's transaction, unknown to sqlx.
    Savepoint(String),
    /// A transaction of its own on a bare connection, known to sqlx (depth 0 → 1).
    Transaction {
        /// `COMMIT`/`ROLLBACK` was sent and its answer not yet read.
        finishing: bool,
    },
}

/// An open savepoint or transaction of one operation on a bound session; see the module docs.
pub(crate) struct Scope<'s, 'c, DB: Backend> {
    session: &'s mut Bound<'c, DB>,
    level: Level,
    /// The connection's [`conn_id`], entered in [`OPEN`] while the level is open.
    conn: usize,
}

impl<'s, 'c, DB: Backend> Scope<'s, 'c, DB> {
    /// Opens the level. On a PostgreSQL transaction that already failed the `SAVEPOINT` fails
    /// with SQLSTATE 25P02 and changes nothing: that error is returned.
    pub(crate) async fn begin(session: &'s mut Bound<'c, DB>) -> Result<Self, sqlx::Error> {
        if in_transaction::<DB>(session.conn()) {
            let name = open_savepoint::<DB>(session.conn()).await?;
            let conn = conn_id::<DB>(session.conn());
            enter(conn, false);
            return Ok(Scope {
                session,
                level: Level::Savepoint(name),
                conn,
            });
        }
        // Dropped while this is in flight, sqlx's guard does nothing at depth 0 and the
        // connection may stay inside an empty transaction sqlx does not know of: sqlx's own
        // `conn.begin()` has the same window. Nothing of the operation was sent yet.
        let begin = DB::BEGIN.map(sqlx::SqlStr::from_static);
        Manager::<DB>::begin(session.conn(), begin).await?;
        let conn = conn_id::<DB>(session.conn());
        enter(conn, true);
        Ok(Scope {
            session,
            level: Level::Transaction { finishing: false },
            conn,
        })
    }

    /// The session, for the operation's statements.
    pub(crate) fn session(&mut self) -> &mut Bound<'c, DB> {
        self.session
    }

    /// Releases the savepoint, or commits our own transaction. Fails, sending nothing (or a
    /// `ROLLBACK` that leaves sqlx's count of our own level right), when the database ended
    /// the transaction under it: a `COMMIT` then would report success for nothing.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        if is_gone::<DB>(self.session.conn()) {
            if let Level::Transaction { finishing } = &mut self.level {
                *finishing = true;
                let _ = Manager::<DB>::rollback(self.session.conn()).await;
                *finishing = false;
            }
            return Err(crate::error::ours(
                "the database ended the transaction this operation ran in (MariaDB does on a \
                 deadlock): nothing of it is kept",
            ));
        }
        match &mut self.level {
            Level::Savepoint(name) => {
                let sql = format!("RELEASE SAVEPOINT {name}");
                DB::execute_raw(self.session.conn(), sql).await
            }
            Level::Transaction { finishing } => {
                *finishing = true;
                Manager::<DB>::commit(self.session.conn()).await?;
                *finishing = false;
                Ok(())
            }
        }
    }

    /// Ends the operation with its `result`: commits on success (a failed commit is the
    /// operation's error, through `error`), rolls back on failure, and says in the error when
    /// the transaction is gone.
    pub(crate) async fn finish<T>(
        mut self,
        result: Result<T, Error>,
        error: impl FnOnce(sqlx::Error) -> Error,
    ) -> Result<T, Error> {
        match result {
            Ok(done) => {
                self.commit().await.map_err(error)?;
                Ok(done)
            }
            Err(e) if self.undo().await => Err(transaction_gone(e)),
            Err(e) => Err(settle::<DB>(self.session.conn(), e).await),
        }
    }

    /// Undoes the operation now. Returns `true` when the transaction is gone (see
    /// [`rollback_to`]): the operation's error must say so.
    #[must_use = "a transaction that is gone must be said in the operation's error"]
    pub(crate) async fn rollback(mut self) -> bool {
        self.undo().await
    }

    /// [`Scope::rollback`], keeping the scope (dropped after it: the level is closed).
    async fn undo(&mut self) -> bool {
        // If our own transaction's rollback fails, the operation's own error is the one to
        // report: `drop` rolls it back.
        match &mut self.level {
            Level::Savepoint(name) => rollback_to::<DB>(self.session.conn(), name).await,
            Level::Transaction { finishing } => {
                *finishing = true;
                let _ = Manager::<DB>::rollback(self.session.conn()).await;
                *finishing = false;
                is_gone::<DB>(self.session.conn())
            }
        }
    }
}

impl<DB: Backend> Drop for Scope<'_, '_, DB> {
    fn drop(&mut self) {
        leave(self.conn);
        let Level::Transaction { finishing } = self.level else {
            return;
        };
        // Still open: queue its rollback. Or dropped while `COMMIT`/`ROLLBACK` was in flight:
        // PostgreSQL and MariaDB still count the level (a `ROLLBACK` after a finished `COMMIT`
        // only warns), and SQLite's worker, which already counted it closed, waits for one
        // rollback call to swallow; either way one call leaves the connection at depth 0.
        if finishing || in_transaction::<DB>(self.session.conn()) {
            Manager::<DB>::start_rollback(self.session.conn());
        }
    }
}
