//! `get_or_create`: rows whose `#[factory(get_or_create(..))]` key matches a stored row are
//! read, the others inserted; a key another writer inserted meanwhile is read back.

use super::lookup::select_by_keys;
use super::race;
use super::send::{Created, Numbering, send_chunks, too_large};
use crate::db::{Args, Backend, SMALL_BATCH_BYTES, row_too_large};
use crate::error::{Error, Kept, Operation, Step, short_name};
use crate::model::{Insert, Model, Rows};
use crate::scope::in_transaction;

/// Where a get-or-create row's result comes from.
enum Source {
    /// The stored row at this index of the lookup.
    Found(usize),
    /// The row inserted at this index.
    Inserted(usize),
    /// The same key as an earlier row of the operation that was inserted: read back after.
    Repeat,
}

/// `get_or_create`: the stored rows of the keys that exist are looked up first (so a get
/// creates no parent, unless the key holds a parent's key: then every parent is got or
/// created first), and only the other rows are inserted, with their parents, as
/// [`insert_new`] does. A key with a NULL part never matches (NULL is not equal to NULL): its
/// row is always inserted. A key repeated in one operation is inserted once.
pub(crate) async fn get_or_create<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    operation: Operation,
    kept: Kept,
    reported: Option<&mut Vec<bool>>,
) -> Result<Vec<M>, Error> {
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let Rows {
        mut rows,
        set,
        mut parents,
        seed,
    } = rows;
    // Until its parent exists, an association's field holds a placeholder that matches no
    // stored row: the parents (got or created by their own factories) come first.
    if M::KEY_HAS_PARENT
        && let Some(step) = M::create_parents(&mut parents, &mut rows, &mut *conn, operation, seed)
    {
        step.await?;
    }
    let keys: Vec<M::LookupKey> = rows.iter().map(M::lookup_key).collect();
    let mut wanted: Vec<&M::LookupKey> = Vec::new();
    for key in &keys {
        if !M::lookup_key_has_null(key) && !wanted.contains(&key) {
            wanted.push(key);
        }
    }
    // Keys measured where the backend measures values: a lookup of large keys is split under
    // the server's statement limit, and a key alone over it refused before anything is sent
    // (MariaDB drops the connection, and the caller's transaction with it).
    let budget = if wanted
        .iter()
        .map(|key| M::lookup_key_size(key))
        .sum::<usize>()
        <= SMALL_BATCH_BYTES
    {
        None
    } else {
        let (limit, name) = DB::statement_limit(conn).await.map_err(error)?;
        let budget = limit / 4 * 3;
        for (i, key) in keys.iter().enumerate() {
            let size = M::lookup_key_size(key);
            if size > budget {
                let why = row_too_large(i as u64 + 1, size, limit, name, "nothing was sent");
                return Err(too_large::<M>(operation, why));
            }
        }
        Some(budget)
    };
    let found = select_by_keys::<DB, M>(conn, &wanted, budget, false)
        .await
        .map_err(error)?;
    let mut sources = Vec::with_capacity(rows.len());
    let mut new_rows = Vec::new();
    let mut new_keys: Vec<&M::LookupKey> = Vec::new();
    let mut transients = Vec::new();
    for (row, key) in rows.into_iter().zip(&keys) {
        let has_null = M::lookup_key_has_null(key);
        if !has_null && let Some(i) = found.iter().position(|(k, _)| k == key) {
            // Not inserted: its transient values still go into the row returned for it.
            let mut scratch = DB::Arguments::default();
            let transient = row
                .bind(set, &mut Args::<DB>(&mut scratch))
                .map_err(|e| error(sqlx::Error::Encode(e)))?;
            sources.push(Source::Found(i));
            transients.push(Some(transient));
        } else if !has_null && new_keys.contains(&key) {
            let mut scratch = DB::Arguments::default();
            let transient = row
                .bind(set, &mut Args::<DB>(&mut scratch))
                .map_err(|e| error(sqlx::Error::Encode(e)))?;
            sources.push(Source::Repeat);
            transients.push(Some(transient));
        } else {
            sources.push(Source::Inserted(new_rows.len()));
            transients.push(None);
            new_keys.push(key);
            new_rows.push(row);
        }
    }
    let inserted = Rows {
        rows: new_rows,
        set,
        parents,
        seed,
    };
    // The new rows were inserted by another connection first (their INSERT lost the race).
    let mut raced = false;
    // Of each new row, whether this operation inserted it (when known row by row).
    let mut ours = Vec::new();
    let mut inserted: Vec<Option<M>> =
        match insert_keys_new::<DB, M>(conn, inserted, &new_keys, operation, kept, &mut ours).await
        {
            Ok(rows) => rows.into_iter().map(Some).collect(),
            Err((e, Failed::Other)) => return Err(e),
            Err((e, failed)) => {
                raced = true;
                // Another connection inserted one of these keys between the lookup and the INSERT
                // (parallel tests that share a default row): the row that won is the stored row
                // for that key. Only when every new key is now found; otherwise the clash was on
                // another unique column, and that error stands.
                let again = select_by_keys::<DB, M>(conn, &new_keys, budget, true)
                    .await
                    .map_err(error)?;
                let stored: Vec<_> = new_keys
                    .iter()
                    .map(|key| {
                        (!M::lookup_key_has_null(key))
                            .then(|| again.iter().find(|(k, _)| k == *key))
                            .flatten()
                    })
                    .collect();
                let transients = match failed {
                    Failed::Unique(transients) if stored.iter().all(Option::is_some) => transients,
                    // Some keys are stored now: the race was lost for them. Otherwise the
                    // clash was on another unique column.
                    _ if stored.iter().any(Option::is_some) => {
                        return Err(e.kept(Kept::LostRace));
                    }
                    _ => return Err(e),
                };
                let mut won = Vec::with_capacity(new_keys.len());
                // Every key found.
                for ((_, stored), transient) in stored.into_iter().flatten().zip(transients) {
                    let mut row = M::check_returned(stored)
                        .and_then(|()| M::from_row(stored))
                        .map_err(error)?;
                    row.restore_transient(transient);
                    won.push(Some(row));
                }
                won
            }
        };
    raced |= ours.contains(&false);
    // Each repeated key once: 300 rows of one 100 kB key are one key to read back, not 30 MB.
    let mut repeats: Vec<&M::LookupKey> = Vec::new();
    for (source, key) in sources.iter().zip(&keys) {
        if matches!(source, Source::Repeat) && !repeats.contains(&key) {
            repeats.push(key);
        }
    }
    let read_back = if repeats.is_empty() {
        Vec::new()
    } else {
        // After a lost race the key's row is another transaction's: a snapshot taken at the
        // lookup (MariaDB's REPEATABLE READ) does not see it, the latest committed rows do.
        select_by_keys::<DB, M>(conn, &repeats, budget, raced)
            .await
            .map_err(error)?
    };
    let decode = |rows: &[(M::LookupKey, DB::Row)], key: &M::LookupKey| {
        rows.iter()
            .find(|(k, _)| k == key)
            .map(|(_, row)| M::check_returned(row).and_then(|()| M::from_row(row)))
    };
    let mut out = Vec::with_capacity(sources.len());
    let mut reported = reported;
    for ((source, key), transient) in sources.into_iter().zip(&keys).zip(transients) {
        if let Some(reported) = reported.as_mut() {
            reported.push(match source {
                Source::Inserted(i) => ours.get(i).copied().unwrap_or(!raced),
                _ => false,
            });
        }
        let mut row = match source {
            Source::Inserted(i) => match inserted[i].take() {
                Some(row) => row,
                None => unreachable!("each inserted row has one source"),
            },
            Source::Found(i) => M::check_returned(&found[i].1)
                .and_then(|()| M::from_row(&found[i].1))
                .map_err(error)?,
            Source::Repeat => match decode(&read_back, key) {
                Some(row) => row.map_err(error)?,
                None => return Err(stored_form_differs::<M>(operation, key)),
            },
        };
        if let Some(transient) = transient {
            row.restore_transient(transient);
        }
        out.push(row);
    }
    Ok(out)
}

/// A repeated key's row, inserted once, that reading back by the key did not find.
fn stored_form_differs<M: Model>(operation: Operation, key: &M::LookupKey) -> Error {
    Error::wrap(
        M::FACTORY,
        M::TABLE,
        operation,
        Step::Insert,
        format!(
            "the `{model}` row of `get_or_create` key {key} was inserted once for the rows \
             that repeat the key, but reading it back by that key found no row: the stored \
             key differs from the one sent (a trigger or the column's type changed it: \
             case, fractional seconds rounded, text truncated or padded); give the key the \
             value the database stores",
            model = short_name(std::any::type_name::<M>()),
            key = M::key_text(key),
        )
        .into(),
    )
}

/// How the INSERT of a get_or_create's new rows with parents failed.
enum Failed<T> {
    /// Not on a unique constraint, or not in the INSERT: the error stands.
    Other,
    /// On a unique constraint, in the first statement with every row bound (their transient
    /// values): every key may have been inserted by another connection meanwhile.
    Unique(Vec<T>),
    /// On a unique constraint, after some rows were read back.
    UniqueLater,
}

/// The new rows of a get_or_create, inserted with their parents as [`insert_new`] does, in a
/// savepoint of their own inside a transaction where a failed INSERT would abort it
/// (PostgreSQL) or leave parents created for it: the transaction stays usable and holds
/// nothing of the attempt. On a unique violation by the rows' INSERT, the error says how
/// ([`Failed`]): with the transient values of the rows when it was the first statement, for the
/// rows that won the race in their place. Rows with no parent to create go through
/// [`race::insert_new`], which also recovers from a race lost for some of the keys only;
/// `ours` gets its rows' `created` flags.
async fn insert_keys_new<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    rows: Rows<M>,
    keys: &[&M::LookupKey],
    operation: Operation,
    kept: Kept,
    ours: &mut Vec<bool>,
) -> Result<Vec<M>, (Error, Failed<M::Transient>)> {
    if !M::needs_parents(&rows.parents) {
        return race::insert_new::<DB, M>(conn, rows, keys, operation, kept, ours)
            .await
            .map_err(|e| (e, Failed::Other));
    }
    let Rows {
        mut rows,
        set,
        mut parents,
        seed,
    } = rows;
    let count = rows.len();
    if count == 0 {
        return Ok(Vec::new());
    }
    let error = |source| Error::new(M::FACTORY, M::TABLE, operation, source);
    let savepoint =
        if in_transaction::<DB>(conn) && (DB::ABORTS_ON_ERROR || M::needs_parents(&parents)) {
            let name = crate::scope::open_savepoint::<DB>(conn)
                .await
                .map_err(|e| (error(e), Failed::Other))?;
            Some(name)
        } else {
            None
        };
    let mut created = Vec::with_capacity(count);
    let mut sent = Ok(());
    if let Some(step) = M::create_parents(&mut parents, &mut rows, &mut *conn, operation, seed) {
        sent = step.await;
    }
    let mut read = Created {
        rows: &mut created,
        transient: Vec::new(),
    };
    // Whether the failure, if any, is the rows' own INSERT's.
    let inserting = sent.is_ok();
    if inserting {
        let mut numbering = Numbering { index: 0, of: 0 };
        sent = send_chunks::<DB, M>(
            &mut *conn,
            rows,
            set,
            operation,
            kept,
            &mut numbering,
            &mut read,
        )
        .await;
    }
    // Bound and not read back: the rows of the INSERT that failed.
    let unread = std::mem::take(&mut read.transient);
    let inserting = inserting && sent.is_err();
    if sent.is_ok()
        && let Some(step) = M::after_insert(&mut parents, &mut created, &mut *conn, operation, seed)
    {
        sent = step.await;
    }
    match (sent, savepoint) {
        (Ok(()), None) => Ok(created),
        (Ok(()), Some(name)) => {
            DB::execute_raw(conn, format!("RELEASE SAVEPOINT {name}"))
                .await
                .map_err(|e| (error(e), Failed::Other))?;
            Ok(created)
        }
        (Err(e), savepoint) => {
            if let Some(name) = savepoint
                && crate::scope::rollback_to::<DB>(conn, &name).await
            {
                return Err((crate::scope::transaction_gone(e), Failed::Other));
            }
            // The rows' INSERT failed on a unique constraint: a race on a key is possible.
            // Any other failure is the operation's error.
            let unique =
                matches!(e.as_sqlx(), Some(sqlx::Error::Database(db)) if db.is_unique_violation());
            if !inserting || !unique {
                return Err((e, Failed::Other));
            }
            match created.is_empty() && unread.len() == count {
                true => Err((e, Failed::Unique(unread))),
                false => Err((e, Failed::UniqueLater)),
            }
        }
    }
}
