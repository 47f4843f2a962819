//! Atomic operations: a savepoint (inside a transaction) or a transaction of our own (on a bare
//! connection) around an operation, undone whatever way the operation ends — error,
//! cancellation (its future dropped) or panic (dropped while unwinding).
//!
//! The level is opened with sqlx's own `TransactionManager`, so its depth counter and the
//! caller's `Transaction` agree on what is open. sqlx's `begin` has no guard against the future
//! being dropped after the level is open, so a [`Scope`] is that guard: dropped while its level
//! is still open, it queues sqlx's synchronous `start_rollback`, which the connection sends
//! before its next statement (the next pool user's, or the caller's own). Whatever the caller
//! does next then starts at the depth it had before the operation, with none of its rows.

use sqlx::Database;
use sqlx_core::transaction::TransactionManager;

use crate::backend::Backend;
use crate::session::Bound;

type Manager<DB> = <DB as Database>::TransactionManager;

/// Whether sqlx has a transaction open on `conn` (a `Transaction`, or our own level).
pub(crate) fn in_transaction<DB: Backend>(conn: &DB::Connection) -> bool {
    Manager::<DB>::get_transaction_depth(conn) > 0
}

/// An open savepoint or transaction of one operation on a bound session; see the module docs.
pub(crate) struct Scope<'s, 'c, DB: Backend> {
    session: &'s mut Bound<'c, DB>,
    /// The depth the caller had: ours is `outer + 1` while open.
    outer: usize,
}

impl<'s, 'c, DB: Backend> Scope<'s, 'c, DB> {
    /// Opens the level. On PostgreSQL a transaction that already failed is refused first, with
    /// nothing sent that could end it (sqlx's `begin` would roll the caller's level back when
    /// its `SAVEPOINT` fails, and every later statement would autocommit).
    pub(crate) async fn begin(session: &'s mut Bound<'c, DB>) -> Result<Self, sqlx::Error> {
        let outer = Manager::<DB>::get_transaction_depth(session.conn);
        if outer > 0 {
            DB::check_not_aborted(session.conn).await?;
        }
        Manager::<DB>::begin(session.conn, None).await?;
        Ok(Scope { session, outer })
    }

    /// The session, for the operation's statements.
    pub(crate) fn session(&mut self) -> &mut Bound<'c, DB> {
        self.session
    }

    /// Releases the savepoint, or commits our own transaction.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        // On failure (or cancellation) the level stays open and `drop` rolls it back.
        Manager::<DB>::commit(self.session.conn).await
    }

    /// Rolls the level back now, rather than on the next statement.
    pub(crate) async fn rollback(self) {
        // If this fails the level is still open, and `drop` queues the rollback again; the
        // operation's own error is the one to report.
        let _ = Manager::<DB>::rollback(self.session.conn).await;
    }
}

impl<DB: Backend> Drop for Scope<'_, '_, DB> {
    fn drop(&mut self) {
        if Manager::<DB>::get_transaction_depth(self.session.conn) > self.outer {
            Manager::<DB>::start_rollback(self.session.conn);
        }
    }
}
