//! The keys of a seed: parents' keys read from their table (`parents_from_table`), and the
//! keys of the rows sent, handed to their children (`with_children`) or returned
//! (`returning_keys`).

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use sqlx::Database;

use super::chunks::{Chunks, ParentKeys};
use crate::db::sql::select_keys_sql;
use crate::db::{Backend, KeySink, KeyStore, KeyType};
use crate::error::Error;
use crate::future::BoxFuture;
use crate::model::{Association, Insert, Model};

/// The keys of a parent table, read when a seed starts (`parents_from_table`).
pub(crate) trait TableKeys<DB: Backend>: Send {
    fn load<'a>(
        &'a self,
        conn: &'a mut DB::Connection,
    ) -> BoxFuture<'a, Result<ParentKeys, sqlx::Error>>;
}

pub(crate) struct FromTable<P>(pub(crate) PhantomData<fn() -> P>);

impl<DB, P> TableKeys<DB> for FromTable<P>
where
    DB: Backend,
    P: Association,
    P::Key: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + Sync + Unpin + 'static,
{
    fn load<'a>(
        &'a self,
        conn: &'a mut DB::Connection,
    ) -> BoxFuture<'a, Result<ParentKeys, sqlx::Error>> {
        let sql = select_keys_sql::<DB>(P::TABLE, P::KEY_COLUMN);
        Box::pin(async move {
            let keys: Vec<P::Key> = DB::fetch_column(conn, sql).await?;
            if keys.is_empty() {
                return Err(sqlx::Error::Protocol(format!(
                    "parents_from_table: `{}` has no rows to spread the seed over",
                    P::TABLE
                )));
            }
            Ok(ParentKeys {
                parent: TypeId::of::<P>(),
                name: std::any::type_name::<P>(),
                keys: Box::new(keys),
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
            None => Err(sqlx::Error::Protocol(format!(
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
    /// Seeds the children of `keys`.
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        keys: Vec<M::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>>;
}

pub(crate) struct WithChildren<C: Model> {
    pub(crate) children: Chunks<C>,
    pub(crate) per_parent: u64,
}

impl<DB, M, C> ChildSeed<DB, M> for WithChildren<C>
where
    DB: Backend,
    M: Association,
    M::Key: Send + Sync + 'static,
    C: Insert<DB>,
{
    fn seed<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        keys: Vec<M::Key>,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(async move {
            let chunks = &mut self.children;
            chunks.total = chunks.drawn + self.per_parent * keys.len() as u64;
            chunks.key_base = chunks.drawn;
            chunks.parents = vec![ParentKeys {
                parent: TypeId::of::<M>(),
                name: std::any::type_name::<M>(),
                keys: Box::new(keys),
                required: true,
            }];
            DB::seed_rows::<Chunks<C>>(conn, chunks).await
        })
    }
}
