//! The keys of a seed: what the rows store of parents read from their table
//! (`parents_from_table`), and the keys (or other values) of the rows sent, handed to their
//! children (`with_children`) or returned (`returning_keys`).

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use sqlx::Database;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use sqlx::FromRow;

use super::chunks::{Capture, Chunks, KeyList, ParentKeys};
use crate::column::ColumnSet;
use crate::db::sql::select_columns_sql;
use crate::db::{Backend, KeySink, KeyStore, KeyType};
use crate::error::{Error, Operation};
use crate::future::BoxFuture;
use crate::model::{Association, Insert, Model, SeedParent};

/// What the rows store of a parent table's rows, read when a seed starts
/// (`parents_from_table`).
pub(crate) trait TableKeys<DB: Backend>: Send {
    fn load<'a>(
        &'a self,
        conn: &'a mut DB::Connection,
        operation: Operation,
    ) -> BoxFuture<'a, Result<ParentKeys, Error>>;
}

/// The parents of `M`'s rows of type `P`, read from `P`'s table.
pub(crate) struct FromTable<M, P>(pub(crate) PhantomData<fn() -> (M, P)>);

impl<DB, M, P> TableKeys<DB> for FromTable<M, P>
where
    DB: Backend,
    M: SeedParent<P>,
    P: Model,
    M::Value: Send + Sync + 'static,
    M::Row: for<'r> sqlx::FromRow<'r, <DB as Database>::Row>,
{
    fn load<'a>(
        &'a self,
        conn: &'a mut DB::Connection,
        operation: Operation,
    ) -> BoxFuture<'a, Result<ParentKeys, Error>> {
        let sql = select_columns_sql::<DB>(P::TABLE, M::PARENT_COLUMNS);
        Box::pin(async move {
            // The values alone, decoded row by row: no parent row is held.
            let mut values: Vec<M::Value> = Vec::new();
            let mut each = |row: &<DB as Database>::Row| {
                values.push(M::from_row(M::Row::from_row(row)?));
                Ok(())
            };
            DB::fetch_each(conn, sql.into(), Default::default(), &mut each)
                .await
                .map_err(|e| Error::new(M::FACTORY, M::TABLE, operation, e))?;
            if values.is_empty() {
                let message = format!(
                    "parents_from_table: `{}` has no rows to spread the seed over",
                    P::TABLE
                );
                return Err(Error::message(M::FACTORY, M::TABLE, operation, message));
            }
            Ok(ParentKeys {
                parent: TypeId::of::<P>(),
                name: std::any::type_name::<P>(),
                shape: M::SHAPE,
                keys: Box::new(values),
                required: false,
            })
        })
    }
}

/// A seed that needs the keys of the rows it sends (`with_children`, `returning_keys`),
/// type-erased over the key so that `run` needs no `Association` bound.
pub(crate) trait KeyedSeed<DB: Backend, M: Model>: Send {
    /// Sends every row `chunks` draws, handing their keys on.
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        chunks: &'a mut Chunks<M>,
    ) -> BoxFuture<'a, Result<u64, Error>>;
    fn as_any(&mut self) -> &mut dyn Any;
}

/// Where the keys of a seed's rows go: to `with_children`'s children, into the result of
/// `returning_keys`, or both.
pub struct KeyUse<DB: Backend, M: Association> {
    /// Keys read or reserved, not yet handed on.
    pub(crate) pending: Vec<M::Key>,
    pub(crate) children: Option<Box<dyn ChildSeed<DB, M>>>,
    pub(crate) collected: Option<Vec<M::Key>>,
}

impl<DB, M> KeyedSeed<DB, M> for KeyUse<DB, M>
where
    DB: Backend,
    M: Insert<DB> + Association,
    M::Key: KeyType<DB>,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        chunks: &'a mut Chunks<M>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        DB::seed_keyed::<Chunks<M>>(conn, chunks, self)
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

impl<DB, M> KeySink<DB> for KeyUse<DB, M>
where
    DB: Backend,
    M: Association,
    M::Key: KeyType<DB>,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    fn key_column(&self) -> &'static str {
        M::KEY_COLUMN
    }

    fn decode_key(&mut self, row: &<DB as Database>::Row) -> Result<(), sqlx::Error> {
        // NULL, not a key: SQLite stores NULL in a non-`INTEGER` primary key given no value,
        // and sqlx decodes a NULL text as "" (as `create` reads a parent's key).
        match DB::first_column::<Option<M::Key>>(row)? {
            Some(key) => {
                self.pending.push(key);
                Ok(())
            }
            None => Err(crate::error::ours(format!(
                "the database returned NULL for the key `{}`: give the key a value with \
                 `#[factory(default = ..)]` or `sequence`",
                M::KEY_COLUMN
            ))),
        }
    }

    fn flush<'a>(&'a mut self, conn: &'a mut DB::Connection) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let keys = std::mem::take(&mut self.pending);
            match (&mut self.collected, &mut self.children) {
                (Some(collected), None) => collected.extend(keys),
                (collected, Some(children)) => {
                    if let Some(collected) = collected {
                        collected.extend(keys.iter().cloned());
                    }
                    children.seed(conn, keys).await?;
                }
                (None, None) => {}
            }
            Ok(())
        })
    }
}

impl<DB, M> KeyStore<DB, M::Key> for KeyUse<DB, M>
where
    DB: Backend,
    M: Association,
    M::Key: KeyType<DB>,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    fn pending(&mut self) -> &mut Vec<M::Key> {
        &mut self.pending
    }
}

/// The children of a parent seed (`with_children`), type-erased over the child model.
pub(crate) trait ChildSeed<DB: Backend, M: Association>: Send {
    /// Seeds the children of the rows of `keys`, the rows sent since the last call.
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        keys: Vec<M::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>>;
}

/// The values children store of their parent rows, in the order the parents are drawn:
/// filled by the parents' [`Capture`] as they are drawn, emptied as their keys come back.
pub(crate) type Captured<V> = Arc<Mutex<VecDeque<V>>>;

pub(crate) struct WithChildren<C: Model, V> {
    pub(crate) children: Chunks<C>,
    pub(crate) per_parent: u64,
    /// For an association that stores more than the parent's key: the parents' values.
    pub(crate) captured: Option<Captured<V>>,
}

impl<DB, M, C> ChildSeed<DB, M> for WithChildren<C, C::Value>
where
    DB: Backend,
    M: Association,
    M::Key: Send + Sync + 'static,
    C: Insert<DB> + SeedParent<M>,
    C::Value: Send + Sync + 'static,
{
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        keys: Vec<M::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(async move {
            let rows = keys.len();
            // The values of the rows just sent: as many as keys came back, first drawn first.
            let values: Box<dyn KeyList> = match &self.captured {
                None => Box::new(keys),
                Some(captured) => {
                    let mut captured = captured.lock().unwrap_or_else(|e| e.into_inner());
                    let n = rows.min(captured.len());
                    Box::new(captured.drain(..n).collect::<Vec<C::Value>>())
                }
            };
            let chunks = &mut self.children;
            chunks.total = chunks.drawn + self.per_parent * rows as u64;
            chunks.key_base = chunks.drawn;
            chunks.parents = vec![ParentKeys {
                parent: TypeId::of::<M>(),
                name: std::any::type_name::<M>(),
                shape: C::SHAPE,
                keys: values,
                required: true,
            }];
            DB::seed_rows::<Chunks<C>>(conn, chunks).await
        })
    }
}

/// Takes the values children of type `C` store of each parent row `M` as it is drawn.
pub(crate) struct CaptureFor<C: SeedParent<M>, M> {
    pub(crate) captured: Captured<C::Value>,
}

impl<C, M> Capture<M> for CaptureFor<C, M>
where
    C: SeedParent<M>,
    C::Value: Send,
    M: Model,
{
    fn take(&mut self, rows: &mut [M], set: ColumnSet) -> Result<(), String> {
        // A column the database fills is not in the row drawn: its children cannot be given it.
        let mut db_filled = 0;
        for (column, field) in M::COLUMNS.iter().zip(M::REFERABLE) {
            if column.db_filled {
                if C::PARENT_COLUMNS.contains(&column.name) && !set.contains(db_filled) {
                    return Err(format!(
                        "with_children: the children store `{}` of each parent, which the \
                         database fills: give `{field}` a value (`sequence` or `default`)",
                        column.name
                    ));
                }
                db_filled += 1;
            }
        }
        let Some(value_of) = C::VALUE_OF else {
            unreachable!("only a shape other than the key is captured")
        };
        let mut captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
        captured.extend(rows.iter_mut().map(value_of));
        Ok(())
    }
}
