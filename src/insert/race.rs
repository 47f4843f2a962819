//! `get_or_create`'s INSERT of the rows whose keys the lookup did not find, when another
//! connection inserts some of those keys in between (parallel tests that share default rows).
//!
//! The INSERT then fails on a key's unique constraint, and binding spent the rows' values on
//! it. So each row is also bound into arguments of its own ([`RowArgs`]), and the rows of a
//! statement that lost are sent again one at a time ([`one_by_one`]): a row whose key is now
//! stored is that stored row, the others are inserted. The rows are sent one statement at a
//! time, so that those after a statement that lost are still at hand. A clash on another
//! unique column stays the operation's error.
//!
//! Batches that insert the same new keys at once can also wait on each other's locks, and the
//! database then undoes one of them (a deadlock): PostgreSQL the statement, back to its
//! savepoint, which is then sent again row by row as a lost race is; MariaDB the whole
//! transaction. When the rows are the first write of a transaction of the operation's own,
//! they begin a new one and are sent again ([`insert_new`]).

use std::sync::Arc;

use sqlx::error::BoxDynError;

use super::lookup::select_by_keys;
use super::send::{
    ChunkError, Created, Numbering, ReadBack, Sending, chunk_sizes, no_row_returned, read_whole,
    send_chunks, too_large,
};
use crate::column::ColumnSet;
use crate::db::{ArgSink, Args, Backend};
use crate::error::{Error, Kept, Operation, Step};
use crate::model::{Insert, Model, Rows};
use crate::scope::{
    Scope, begin_again, in_transaction, open_savepoint, rollback_to, take_fresh, transaction_gone,
};
use crate::session::Bound;

/// How many times an operation alone in a transaction of its own begins it again after the
/// database ended it (a deadlock between batches that insert the same new keys).
const RESTARTS: usize = 5;

/// Inserts `rows` (none of them with a parent to create), whose keys are `keys`, and returns
/// them in order; `ours` gets, for each, whether this operation inserted it (not another
/// connection, whose stored row it is).
///
/// When these rows are the first write of a `create`/`create_batch` in a transaction of its
/// own ([`take_fresh`]) and a deadlock undoes them (batches whose INSERTs wait on each
/// other's new keys; on MariaDB with the whole transaction), nothing is stored: they begin a
/// new transaction and are sent again, one at a time, at most [`RESTARTS`] times.
pub(super) async fn insert_new<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    keys: &[&M::LookupKey],
    operation: Operation,
    kept: Kept,
    ours: &mut Vec<bool>,
) -> Result<Vec<M>, Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let Rows { rows, set, .. } = rows;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let restartable = take_fresh::<DB>(conn);
    // Every row bound into arguments of its own besides the statement's, and its transient
    // values, kept until the operation ends: a row can be sent again.
    let mut bound = RowArgs::<DB, M> {
        rows: Vec::with_capacity(rows.len()),
        args: Vec::with_capacity(rows.len()),
        transient: Vec::with_capacity(rows.len()),
    };
    let mut rows = rows.into_iter();
    let first = insert_pieces::<DB, M>(
        conn,
        &mut rows,
        keys,
        set,
        operation,
        kept,
        ours,
        &mut bound,
        restartable,
    )
    .await;
    let mut e = match first {
        Ok(()) => return Ok(bound.finish()),
        Err(e) => e,
    };
    // The rows never bound (pieces after the one that failed).
    let mut unsent: Vec<M> = rows.collect();
    let mut restarts = 0;
    loop {
        let deadlock = e.as_sqlx().is_some_and(DB::is_deadlock);
        // Every row at hand: bound, or never bound.
        let whole = bound.args.len() == bound.transient.len()
            && bound.args.len() + unsent.len() == keys.len();
        if !(restartable && deadlock && whole && restarts < RESTARTS) {
            return Err(e);
        }
        restarts += 1;
        // The rows never bound (pieces after the one that failed) are bound now.
        for row in unsent.drain(..) {
            let mut own = DB::Arguments::default();
            let transient = row
                .bind(set, &mut Args::<DB>(&mut own))
                .map_err(|e| error(sqlx::Error::Encode(e)))?;
            bound.args.push(own);
            bound.transient.push(transient);
        }
        begin_again::<DB>(conn).await.map_err(error)?;
        back_off(restarts).await;
        bound.rows.clear();
        ours.clear();
        let again: Vec<_> = bound
            .args
            .iter()
            .cloned()
            .zip(keys.iter().copied())
            .collect();
        match each_row::<DB, M>(conn, again.into_iter(), set, operation).await {
            Ok(rows) => {
                for (row, found) in rows {
                    bound.rows.push(row);
                    ours.push(!found);
                }
                return Ok(bound.finish());
            }
            Err(next) => e = next,
        }
    }
}

/// The rows of [`insert_new`], statement by statement: a statement that lost a race is sent
/// again row by row ([`one_by_one`]). On failure, `bound` holds every row bound so far and
/// `rows` the rows never bound.
#[allow(clippy::too_many_arguments)]
async fn insert_pieces<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: &mut std::vec::IntoIter<M>,
    keys: &[&M::LookupKey],
    set: ColumnSet,
    operation: Operation,
    kept: Kept,
    ours: &mut Vec<bool>,
    bound: &mut RowArgs<DB, M>,
    restartable: bool,
) -> Result<(), Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    // The statements' sizes, measured on the rows before they are bound.
    let mut scratch = Vec::new();
    let mut reader = Created {
        rows: &mut scratch,
        transient: Vec::new(),
    };
    let mut outgoing = Sending {
        rows: std::mem::take(rows),
        read: &mut reader,
    };
    let sizes = chunk_sizes::<DB>(conn, M::COLUMNS, &mut outgoing, set).await;
    *rows = outgoing.rows;
    let sizes = match sizes {
        Ok(sizes) => sizes,
        Err(ChunkError::Sqlx(e)) => return Err(error(e)),
        Err(ChunkError::TooLarge(why)) => return Err(too_large::<M>(operation, why)),
    };
    let mut numbering = Numbering {
        index: 0,
        of: sizes.len(),
    };
    let mut keys = keys.iter().copied();
    for size in sizes {
        let piece: Vec<M> = rows.by_ref().take(size).collect();
        let piece_keys: Vec<&M::LookupKey> = keys.by_ref().take(size).collect();
        let start = bound.rows.len();
        // PostgreSQL's transaction fails with the statement: a savepoint to go on after it.
        let savepoint = match DB::ABORTS_ON_ERROR && in_transaction::<DB>(conn) {
            true => Some(open_savepoint::<DB>(conn).await.map_err(error)?),
            false => None,
        };
        let sent =
            send_chunks::<DB, M>(conn, piece, set, operation, kept, &mut numbering, bound).await;
        let e = match sent {
            Ok(()) => {
                if let Some(name) = savepoint {
                    let release = format!("RELEASE SAVEPOINT {name}");
                    DB::execute_raw(conn, release).await.map_err(error)?;
                }
                ours.resize(bound.rows.len(), true);
                continue;
            }
            Err(e) => e,
        };
        let in_savepoint = savepoint.is_some();
        if let Some(name) = savepoint
            && rollback_to::<DB>(conn, &name).await
        {
            return Err(transaction_gone(e));
        }
        // Every row of the statement bound, and the statement undone (alone, or back to the
        // savepoint): rows it returned before it failed are not stored. It lost a race on a
        // key, or was a deadlock's victim back to its savepoint (PostgreSQL) or, on a pool's
        // connection in no transaction, alone (a single row's INSERT in autocommit: on MariaDB
        // two of them that wait on a third transaction's row of their key deadlock when it
        // rolls back): either way it is sent again row by row, each found or inserted once
        // the other ends. Not on the caller's connection: sqlx counts no transaction there
        // after a raw `BEGIN`, whose whole transaction the deadlock ended, and a resend would
        // commit rows the caller means to roll back.
        let autocommit_own =
            matches!(kept, Kept::Committed { pooled: true }) && !in_transaction::<DB>(conn);
        let undone_alone =
            (in_savepoint || autocommit_own) && e.as_sqlx().is_some_and(DB::is_deadlock);
        let lost = bound.args.len() == start + size
            && bound.transient.len() == start + size
            && (undone_alone
                || matches!(e.as_sqlx(), Some(sqlx::Error::Database(db)) if db.is_unique_violation()));
        bound.rows.truncate(start);
        if !lost {
            return Err(e);
        }
        let mut tries = 0;
        let sent = loop {
            if undone_alone || tries > 0 {
                back_off(tries).await;
            }
            let again: Vec<_> = bound.args[start..]
                .iter()
                .cloned()
                .zip(piece_keys.iter().copied())
                .collect();
            let again = again.into_iter();
            let sent = match restartable {
                // The transaction is the operation's alone: a failure undoes it all, and a
                // deadlock begins it again ([`insert_new`]).
                true => each_row::<DB, M>(conn, again, set, operation).await,
                false => one_by_one::<DB, M>(conn, again, set, operation).await,
            };
            match sent {
                // The rows met the same deadlock again (the other transaction took a key
                // back before ours): undone back to their own savepoint or transaction,
                // they are sent once more, at most `RESTARTS` times; then the error says so.
                Err(e)
                    if !restartable
                        && !e.says_transaction_gone()
                        && e.as_sqlx().is_some_and(DB::is_deadlock) =>
                {
                    if tries == RESTARTS {
                        return Err(e.kept(Kept::Resent {
                            times: tries + 1,
                            earlier: start,
                            released: size > OPEN_ROWS,
                        }));
                    }
                    tries += 1;
                }
                sent => break sent?,
            }
        };
        for (row, found) in sent {
            bound.rows.push(row);
            ours.push(!found);
        }
    }
    Ok(())
}

/// How many rows' savepoints [`each_row`] leaves open at most (PostgreSQL). Each open one holds
/// a lock in the server's shared lock table (`max_locks_per_transaction` × connections, 6,400
/// by default) until it ends: left open for every row, a few thousand rows sent one at a time
/// failed with "out of shared memory", and took the table from every other connection. Past
/// this many (the server's default per transaction) they are released together and the next
/// rows nest anew; the released rows belong to the level around them (a waiter for them
/// waits for the whole transaction), so a deadlock on them stands after the resends.
const OPEN_ROWS: usize = 64;
// The error after futile resends says this number (`Kept::Resent`'s text).
const _: () = assert!(OPEN_ROWS == 64);

/// Waits before rows that a deadlock undid are sent again (`tries` times before): the other
/// transaction, woken by the rollback, then takes the keys it waited for, where rows sent at
/// once would take them back first and meet it again (on PostgreSQL, in a caller's
/// transaction, about one resend in two deadlocked again without the wait).
async fn back_off(tries: usize) {
    let millis = 5u64 << tries.min(5);
    sqlx_core::rt::sleep(std::time::Duration::from_millis(millis)).await;
}

/// The rows of a statement that lost a race (their own arguments and keys), each inserted
/// alone or found by its key ([`each_row`]), in a savepoint (or a transaction) of their own:
/// a row that fails for another reason leaves none of them.
async fn one_by_one<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: impl Iterator<Item = (DB::Arguments, &M::LookupKey)> + Send,
    set: ColumnSet,
    operation: Operation,
) -> Result<Vec<(M, bool)>, Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let mut session = Bound::<DB>::borrowed(conn);
    let mut scope = Scope::begin(&mut session).await.map_err(error)?;
    let conn = scope.session().conn();
    let result = each_row::<DB, M>(conn, rows, set, operation).await;
    let result = scope.finish(result, error).await;
    session.release();
    result
}

/// Each row (its own arguments and key) inserted alone or found by its key; each comes with
/// whether it was found. Decoded, its transient values not restored yet.
async fn each_row<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: impl Iterator<Item = (DB::Arguments, &M::LookupKey)> + Send,
    set: ColumnSet,
    operation: Operation,
) -> Result<Vec<(M, bool)>, Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let sql = M::sql_cache().insert_sql::<DB>((M::TABLE, M::COLUMNS), set, 1);
    let mut out = Vec::new();
    // The outermost row savepoint still open, and how many are open in it.
    let mut outermost: Option<String> = None;
    let mut open = 0;
    for (args, key) in rows {
        if open == OPEN_ROWS
            && let Some(name) = outermost.take()
        {
            let release = format!("RELEASE SAVEPOINT {name}");
            DB::execute_raw(conn, release).await.map_err(error)?;
            open = 0;
        }
        let (row, found, savepoint) =
            insert_or_find::<DB, M>(conn, &sql, args, key, operation).await?;
        if let Some(name) = savepoint {
            outermost.get_or_insert(name);
            open += 1;
        }
        let row = M::check_returned(&row)
            .and_then(|()| M::from_row(&row))
            .map_err(|e| error(e).at(Step::Decode))?;
        out.push((row, found));
    }
    // Released at the end as well: in a transaction of ours the next statement's rows would
    // nest in them, and a deadlock there begins the transaction again anyway.
    if let Some(name) = outermost {
        let release = format!("RELEASE SAVEPOINT {name}");
        DB::execute_raw(conn, release).await.map_err(error)?;
    }
    Ok(out)
}

/// One row's INSERT (`sql`, `args`) and the savepoint it left open (PostgreSQL); on a unique
/// violation, the stored row of its `key` when there is one now (`true`: found), else that
/// error.
async fn insert_or_find<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    sql: &Arc<str>,
    args: DB::Arguments,
    key: &M::LookupKey,
    operation: Operation,
) -> Result<(DB::Row, bool, Option<String>), Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let savepoint = match DB::ABORTS_ON_ERROR {
        true => Some(open_savepoint::<DB>(conn).await.map_err(error)?),
        false => None,
    };
    let e = match DB::fetch_one(conn, sql.clone(), args).await {
        // The savepoint stays open (the next row's nests in it) until the rows' own savepoint
        // or transaction ends. Released now, PostgreSQL would make a connection that waits
        // for this row wait for our whole transaction (a released savepoint's rows belong to
        // its parent): after a deadlock, rolling back the rows would not free it, and sending
        // them again would meet the same deadlock.
        Ok(row) => return Ok((row, false, savepoint)),
        Err(e) => no_row_returned(e),
    };
    if let Some(name) = savepoint
        && rollback_to::<DB>(conn, &name).await
    {
        return Err(transaction_gone(error(e)));
    }
    if !matches!(&e, sqlx::Error::Database(db) if db.is_unique_violation()) {
        return Err(error(e));
    }
    let stored = select_by_keys::<DB, M>(conn, &[key], None, true)
        .await
        .map_err(error)?;
    match stored.into_iter().find(|(k, _)| k == key) {
        Some((_, row)) => Ok((row, true, None)),
        None => Err(error(e)),
    }
}

/// The rows of [`insert_new`]: each row's values also bound into arguments of its own (kept
/// with its transient values until the operation ends), the rows read back decoded, their
/// transient values restored at the end ([`RowArgs::finish`]).
struct RowArgs<DB: Backend, M: Model> {
    rows: Vec<M>,
    args: Vec<DB::Arguments>,
    transient: Vec<M::Transient>,
}

impl<DB: Backend, M: Model> RowArgs<DB, M> {
    /// The rows, their transient values restored.
    fn finish(self) -> Vec<M> {
        let RowArgs {
            mut rows,
            transient,
            ..
        } = self;
        for (row, transient) in rows.iter_mut().zip(transient) {
            row.restore_transient(transient);
        }
        rows
    }
}

impl<DB: Backend, M: Insert<DB>> ReadBack<DB, M> for RowArgs<DB, M> {
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        M::sql_cache().insert_sql::<DB>((M::TABLE, M::COLUMNS), set, count)
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn bound(&mut self, transient: M::Transient) {
        self.transient.push(transient);
    }

    fn bind(
        &mut self,
        row: M,
        set: ColumnSet,
        args: &mut DB::Arguments,
    ) -> Result<(), BoxDynError> {
        let mut own = DB::Arguments::default();
        let sink = &mut Tee::<DB> {
            statement: args,
            row: &mut own,
        };
        let transient = row.bind(set, sink)?;
        self.args.push(own);
        self.transient.push(transient);
        Ok(())
    }

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        read_whole::<DB, M>(&mut self.rows, row)
    }
}

/// Each value into the statement's arguments and into its row's own.
struct Tee<'a, DB: Backend> {
    statement: &'a mut DB::Arguments,
    row: &'a mut DB::Arguments,
}

impl<DB: Backend> ArgSink<DB> for Tee<'_, DB> {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        sqlx::Arguments::add(self.statement, &value)?;
        sqlx::Arguments::add(self.row, value)
    }
}
