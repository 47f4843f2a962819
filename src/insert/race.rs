//! `get_or_create`'s INSERT of the rows whose keys the lookup did not find, when another
//! connection inserts some of those keys in between (parallel tests that share default rows).
//!
//! The INSERT then fails on a key's unique constraint, and binding spent the rows' values on
//! it. So each row is also bound into arguments of its own ([`Retained`]), and the rows of a
//! statement that lost are sent again one at a time ([`one_by_one`]): a row whose key is now
//! stored is that stored row, the others are inserted. The rows are sent one statement at a
//! time, so that those after a statement that lost are still at hand. A clash on another
//! unique column stays the operation's error.

use std::sync::Arc;

use sqlx::error::BoxDynError;

use super::lookup::select_by_keys;
use super::send::{
    ChunkError, Created, Numbering, ReadBack, Sending, chunk_sizes, send_chunks, too_large,
};
use crate::column::ColumnSet;
use crate::db::{ArgSink, Backend};
use crate::error::{Error, Kept, Operation, Step};
use crate::model::{Insert, Model, Rows};
use crate::scope::{Scope, in_transaction, open_savepoint, rollback_to, transaction_gone};
use crate::session::Bound;

/// Inserts `rows` (none of them with a parent to create), whose keys are `keys`, and returns
/// them in order; `ours` gets, for each, whether this operation inserted it (not another
/// connection, whose stored row it is).
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
    // The statements' sizes, measured on the rows before they are bound.
    let mut scratch = Vec::new();
    let mut reader = Created {
        rows: &mut scratch,
        transient: Vec::new(),
    };
    let mut outgoing = Sending {
        rows: rows.into_iter(),
        read: &mut reader,
    };
    let sizes = chunk_sizes::<DB>(conn, M::COLUMNS, &mut outgoing, set).await;
    let rows: Vec<M> = outgoing.rows.collect();
    let sizes = match sizes {
        Ok(sizes) => sizes,
        Err(ChunkError::Sqlx(e)) => return Err(error(e)),
        Err(ChunkError::TooLarge(why)) => return Err(too_large::<M>(operation, why)),
    };
    let mut numbering = Numbering {
        index: 0,
        of: sizes.len(),
    };
    let mut created = Vec::with_capacity(rows.len());
    let (mut rows, mut keys) = (rows.into_iter(), keys.iter().copied());
    for size in sizes {
        let piece: Vec<M> = rows.by_ref().take(size).collect();
        let piece_keys: Vec<&M::LookupKey> = keys.by_ref().take(size).collect();
        let start = created.len();
        // PostgreSQL's transaction fails with the statement: a savepoint to go on after it.
        let savepoint = match DB::ABORTS_ON_ERROR && in_transaction::<DB>(conn) {
            true => Some(open_savepoint::<DB>(conn).await.map_err(error)?),
            false => None,
        };
        let mut read = Retained::<DB, M> {
            created: Created {
                rows: &mut created,
                transient: Vec::new(),
            },
            args: Vec::new(),
        };
        let sent =
            send_chunks::<DB, M>(conn, piece, set, operation, kept, &mut numbering, &mut read)
                .await;
        let Retained {
            created: Created { transient, .. },
            args,
        } = read;
        let e = match sent {
            Ok(()) => {
                if let Some(name) = savepoint {
                    let release = format!("RELEASE SAVEPOINT {name}");
                    DB::execute_raw(conn, release).await.map_err(error)?;
                }
                ours.resize(created.len(), true);
                continue;
            }
            Err(e) => e,
        };
        if let Some(name) = savepoint
            && rollback_to::<DB>(conn, &name).await
        {
            return Err(transaction_gone(e));
        }
        // Every row of the statement bound, and the statement undone (alone, or back to the
        // savepoint): rows it returned before it failed are not stored.
        let lost = args.len() == size
            && transient.len() == size
            && matches!(e.as_sqlx(), Some(sqlx::Error::Database(db)) if db.is_unique_violation());
        if !lost {
            return Err(e);
        }
        created.truncate(start);
        let again = args.into_iter().zip(transient).zip(piece_keys);
        for (row, found) in one_by_one::<DB, M>(conn, again, set, operation).await? {
            created.push(row);
            ours.push(!found);
        }
    }
    Ok(created)
}

/// The rows of a statement that lost a race (their own arguments, transient values and keys),
/// each inserted alone or found by its key, in a savepoint (or a transaction) of their own:
/// a row that fails for another reason leaves none of them. Each comes with whether it was
/// found.
async fn one_by_one<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: impl Iterator<Item = ((DB::Arguments, M::Transient), &M::LookupKey)> + Send,
    set: ColumnSet,
    operation: Operation,
) -> Result<Vec<(M, bool)>, Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let mut session = Bound::<DB>::borrowed(conn);
    let mut scope = Scope::begin(&mut session).await.map_err(error)?;
    let result = async {
        let sql = M::sql_cache().insert_sql::<DB>((M::TABLE, M::COLUMNS), set, 1);
        let mut out = Vec::new();
        for ((args, transient), key) in rows {
            let conn = scope.session().conn();
            let (row, found) = insert_or_find::<DB, M>(conn, &sql, args, key, operation).await?;
            let mut row = M::check_returned(&row)
                .and_then(|()| M::from_row(&row))
                .map_err(|e| error(e).at(Step::Decode))?;
            row.restore_transient(transient);
            out.push((row, found));
        }
        Ok(out)
    }
    .await;
    let result = scope.finish(result, error).await;
    session.release();
    result
}

/// One row's INSERT (`sql`, `args`); on a unique violation, the stored row of its `key` when
/// there is one now (`true`: found), else that error.
async fn insert_or_find<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    sql: &Arc<str>,
    args: DB::Arguments,
    key: &M::LookupKey,
    operation: Operation,
) -> Result<(DB::Row, bool), Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let savepoint = match DB::ABORTS_ON_ERROR {
        true => Some(open_savepoint::<DB>(conn).await.map_err(error)?),
        false => None,
    };
    let e = match DB::fetch_one(conn, sql.clone(), args).await {
        Ok(row) => {
            if let Some(name) = savepoint {
                let release = format!("RELEASE SAVEPOINT {name}");
                DB::execute_raw(conn, release).await.map_err(error)?;
            }
            return Ok((row, false));
        }
        Err(e) => e,
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
        Some((_, row)) => Ok((row, true)),
        None => Err(error(e)),
    }
}

/// The created rows ([`Created`]), each row's values also bound into arguments of its own,
/// kept until its statement's rows are read back.
struct Retained<'a, DB: Backend, M: Model> {
    created: Created<'a, M>,
    args: Vec<DB::Arguments>,
}

impl<DB: Backend, M: Insert<DB>> ReadBack<DB, M> for Retained<'_, DB, M> {
    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        ReadBack::<DB, M>::sql(&self.created, set, count)
    }

    fn len(&self) -> usize {
        ReadBack::<DB, M>::len(&self.created)
    }

    fn bound(&mut self, transient: M::Transient) {
        ReadBack::<DB, M>::bound(&mut self.created, transient);
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
        ReadBack::<DB, M>::bound(&mut self.created, transient);
        Ok(())
    }

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        ReadBack::<DB, M>::read(&mut self.created, row)
    }

    fn chunk_read(&mut self, count: usize) {
        ReadBack::<DB, M>::chunk_read(&mut self.created, count);
        self.args.clear();
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
