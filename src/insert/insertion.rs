//! A model's rows on the insert path, owned and behind a trait object ([`InsertRows`],
//! [`KeyRows`]): the insert path's code is compiled once per backend, and what is generic over
//! the model (binding and decoding a row, creating its parents) stays in small methods.

use std::any::Any;
use std::sync::Arc;

use sqlx::error::BoxDynError;

use super::send::{Keys, Numbering, Outgoing, ReadBack, read_whole, restore_transient, send_rows};
use crate::column::ColumnSet;
use crate::db::{Args, Backend};
use crate::error::{Error, Kept, Operation};
use crate::future::BoxFuture;
use crate::model::{Insert, KeyedInsert, KeyedRows, Model, Rows, Table};

/// A model's rows on the insert path, owned: drawn, then sent, then created. What
/// [`InsertRows`] and [`Outgoing`] show of a model, so that the path is compiled once per
/// backend.
pub(crate) struct Insertion<M: Model> {
    /// The rows not sent yet: their parents' keys are written into them, then they are bound
    /// one by one. In drawing order until the first is bound, then reversed (`next`):
    /// a `Vec` popped from its end needs no `vec::IntoIter<M>`, whose methods and drop were
    /// about 330 lines of LLVM IR per model in a model crate.
    pending: Vec<M>,
    /// `pending` is reversed: the next row to send is its last.
    reversed: bool,
    set: ColumnSet,
    /// `None` once handed to `get_or_create`.
    parents: Option<M::Parents>,
    seed: Option<u64>,
    /// The rows read back.
    pub(crate) created: Vec<M>,
    /// The transient values of the rows bound and not read back yet.
    transient: Vec<M::Transient>,
}

impl<M: Model> Insertion<M> {
    pub(crate) fn new(rows: Rows<M>) -> Self {
        let Rows {
            rows,
            set,
            parents,
            seed,
        } = rows;
        Insertion {
            created: Vec::with_capacity(rows.len()),
            pending: rows,
            reversed: false,
            set,
            parents: Some(parents),
            seed,
            transient: Vec::new(),
        }
    }

    /// The next row to send.
    fn next(&mut self) -> Option<M> {
        if !self.reversed {
            reverse(&mut self.pending);
            self.reversed = true;
        }
        self.pending.pop()
    }

    /// The unsent row `i` (0: the next to send).
    fn unsent_row(&self, i: usize) -> &M {
        match self.reversed {
            true => &self.pending[self.pending.len() - 1 - i],
            false => &self.pending[i],
        }
    }

    /// Puts the unsent rows back in drawing order, to write their parents' keys into them or
    /// hand them over.
    fn in_order(&mut self) {
        if self.reversed {
            reverse(&mut self.pending);
            self.reversed = false;
        }
    }

    /// Rows created already, for the after-create steps.
    pub(crate) fn created(created: Vec<M>) -> Self {
        Insertion {
            pending: Vec::new(),
            reversed: false,
            set: ColumnSet::default(),
            parents: None,
            seed: None,
            created,
            transient: Vec::new(),
        }
    }
}

/// `rows.reverse()`, with fewer instances of `core`'s functions per model.
fn reverse<M>(rows: &mut [M]) {
    let n = rows.len();
    for i in 0..n / 2 {
        rows.swap(i, n - 1 - i);
    }
}

impl<M: Model> KeyedRows<M> for Insertion<M> {
    fn take_rows(&mut self) -> Option<Rows<M>> {
        let parents = self.parents.take()?;
        Some(Rows {
            rows: {
                self.in_order();
                std::mem::take(&mut self.pending)
            },
            set: self.set,
            parents,
            seed: self.seed,
        })
    }

    fn set_created(&mut self, created: Vec<M>) {
        self.created = created;
    }
}

/// The rows of the insert path as its code, compiled once per backend, sees them: besides
/// sending them ([`Outgoing`]), their parents and their `get_or_create` lookup.
pub(crate) trait InsertRows<DB: Backend>: Outgoing<DB> {
    /// The columns sent.
    fn set(&self) -> ColumnSet;
    /// Creates the parents the rows ask for (`Insert::create_parents`); `None`: none.
    fn create_parents<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        operation: Operation,
    ) -> Option<BoxFuture<'a, Result<(), Error>>>;
    /// The `back_reference` step after the INSERTs (`Insert::after_insert`); `None`: none.
    fn after_insert<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        operation: Operation,
    ) -> Option<BoxFuture<'a, Result<(), Error>>>;
    /// A parent is still to be created: a `back_reference` one, after the INSERT.
    fn needs_parents(&self) -> bool;
    /// The model has `get_or_create` keys.
    fn keyed(&self) -> bool;
    /// Two unsent rows have the same `get_or_create` key (with no NULL part).
    fn repeats_key(&self) -> bool;
    /// Its `get_or_create` (`Insert::get_or_create`), the found or created rows kept.
    fn get_or_create<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        operation: Operation,
        kept: Kept,
        inserted: Option<&'a mut Vec<bool>>,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// These rows as [`Outgoing`].
    fn outgoing(&mut self) -> &mut dyn Outgoing<DB>;
    /// The rows created, a `Vec` of the model.
    fn created(&mut self) -> &mut dyn Any;
    /// The rows created, a `Vec` of the model, for the after-create steps.
    fn created_rows(&self) -> &dyn Any;
}

impl<DB: Backend, M: Insert<DB>> Outgoing<DB> for Insertion<M> {
    fn unsent(&self) -> usize {
        self.pending.len()
    }

    fn wire_size(&self, i: usize) -> usize {
        self.unsent_row(i).wire_size()
    }

    fn bind_next(&mut self, set: ColumnSet, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        if let Some(row) = self.next() {
            match row.bind(set, &mut Args::<DB>(args)) {
                Ok(transient) => self.transient.push(transient),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        M::sql_cache().insert_sql::<DB>((M::TABLE, M::COLUMNS), set, count)
    }

    fn read_len(&self) -> usize {
        self.created.len()
    }

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        read_whole::<DB, M>(&mut self.created, row)
    }

    fn chunk_read(&mut self, count: usize) {
        restore_transient(&mut self.created, &mut self.transient, count);
    }
}

impl<DB: Backend, M: Insert<DB>> InsertRows<DB> for Insertion<M> {
    fn set(&self) -> ColumnSet {
        self.set
    }

    // `let .. else`, not `?`: no instance of `Option`'s `Try` per model.
    #[allow(clippy::question_mark)]
    fn create_parents<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        operation: Operation,
    ) -> Option<BoxFuture<'a, Result<(), Error>>> {
        self.in_order();
        let Some(parents) = &mut self.parents else {
            return None;
        };
        M::create_parents(parents, &mut self.pending, conn, operation, self.seed)
    }

    fn after_insert<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        operation: Operation,
    ) -> Option<BoxFuture<'a, Result<(), Error>>> {
        // A constant: a model without `back_reference` compiles no call of the step.
        if const { !M::BACK_REFERENCE } {
            return None;
        }
        let Some(parents) = &mut self.parents else {
            return None;
        };
        M::after_insert(parents, &mut self.created, conn, operation, self.seed)
    }

    fn needs_parents(&self) -> bool {
        // A `match`, not `is_some_and`: no instance of `Option`'s methods per model.
        match &self.parents {
            Some(parents) => M::needs_parents(parents),
            None => false,
        }
    }

    fn keyed(&self) -> bool {
        !M::GET_OR_CREATE.is_empty()
    }

    fn repeats_key(&self) -> bool {
        // A constant: a model without keys compiles none of what follows.
        if const { M::GET_OR_CREATE.is_empty() } {
            return false;
        }
        let rows = &self.pending[..];
        if rows.len() < 2 {
            return false;
        }
        let keys: Vec<M::LookupKey> = rows.iter().map(M::lookup_key).collect();
        keys.iter()
            .enumerate()
            .any(|(i, key)| !M::lookup_key_has_null(key) && keys[..i].contains(key))
    }

    fn get_or_create<'a>(
        &'a mut self,
        conn: &'a mut DB::Connection,
        operation: Operation,
        kept: Kept,
        inserted: Option<&'a mut Vec<bool>>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        // A constant: a model without keys is never asked (`keyed`), and compiles no hand-over.
        if const { M::GET_OR_CREATE.is_empty() } {
            let e = Table::of::<M>().error(operation, sqlx::Error::RowNotFound);
            return Box::pin(std::future::ready(Err(e)));
        }
        M::get_or_create(KeyedInsert {
            conn,
            rows: self,
            operation,
            kept,
            inserted,
        })
    }

    fn outgoing(&mut self) -> &mut dyn Outgoing<DB> {
        self
    }

    fn created(&mut self) -> &mut dyn Any {
        &mut self.created
    }

    fn created_rows(&self) -> &dyn Any {
        &self.created
    }
}

/// Creates the parents (when `parents_first`), then sends the rows in chunks under the bind
/// limit and the server's statement size, each an `INSERT .. RETURNING` decoded in order,
/// then the `back_reference` step.
pub(crate) async fn insert_new<DB: Backend>(
    conn: &mut DB::Connection,
    table: &'static Table,
    rows: &mut dyn InsertRows<DB>,
    operation: Operation,
    kept: Kept,
    parents_first: bool,
) -> Result<(), Error> {
    if parents_first && let Some(parents) = rows.create_parents(&mut *conn, operation) {
        parents.await?;
    }
    let set = rows.set();
    let mut numbering = Numbering { index: 0, of: 0 };
    send_rows::<DB>(
        &mut *conn,
        table,
        rows.outgoing(),
        set,
        operation,
        kept,
        &mut numbering,
    )
    .await?;
    if let Some(step) = rows.after_insert(&mut *conn, operation) {
        step.await?;
    }
    Ok(())
}

/// A parent's rows inserted for their key alone: sent as [`Insertion`], read back as [`Keys`].
pub(crate) struct KeyInsertion<P: Model, T> {
    pub(crate) rows: Insertion<P>,
    pub(crate) keys: Keys<P, T>,
}

/// [`KeyInsertion`] as the code compiled once per backend sees it.
pub(crate) trait KeyRows<DB: Backend>: Outgoing<DB> {
    /// The rows, to create their parents or to read them back whole.
    fn rows(&mut self) -> &mut dyn InsertRows<DB>;
    /// The rows sent, their keys read back.
    fn outgoing(&mut self) -> &mut dyn Outgoing<DB>;
}

impl<DB: Backend, P: Insert<DB>, T> Outgoing<DB> for KeyInsertion<P, T>
where
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
{
    fn unsent(&self) -> usize {
        self.rows.pending.len()
    }

    fn wire_size(&self, i: usize) -> usize {
        Outgoing::<DB>::wire_size(&self.rows, i)
    }

    fn bind_next(&mut self, set: ColumnSet, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        // The rows' own method, one instance for the parent model whether it is created whole
        // or for its key (the transient values it keeps are never read back here).
        Outgoing::<DB>::bind_next(&mut self.rows, set, args)
    }

    fn sql(&self, set: ColumnSet, count: usize) -> Arc<str> {
        ReadBack::<DB, P>::sql(&self.keys, set, count)
    }

    fn read_len(&self) -> usize {
        self.keys.keys.len()
    }

    fn read(&mut self, row: &<DB as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
        ReadBack::<DB, P>::read(&mut self.keys, row)
    }

    fn chunk_read(&mut self, _count: usize) {}
}

impl<DB: Backend, P: Insert<DB>, T> KeyRows<DB> for KeyInsertion<P, T>
where
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'static,
{
    fn rows(&mut self) -> &mut dyn InsertRows<DB> {
        &mut self.rows
    }

    fn outgoing(&mut self) -> &mut dyn Outgoing<DB> {
        self
    }
}
