//! The after-create steps: `with_related(n, f)` and `after_create` hooks.

use std::any::Any;
use std::marker::PhantomData;

use sqlx::error::BoxDynError;

use crate::db::Backend;
use crate::error::{Kept, Operation};
use crate::future::BoxFuture;
use crate::insert::insert_rows;
use crate::model::{Insert, Model, RowSource, Rows};
use crate::session::Bound;
use crate::state::{AfterCreate, created_rows};

/// `with_related(n, f)`: `n` rows of `C` per created row, from the factory `f` returns.
pub struct Related<F, C, M> {
    pub(crate) per_row: usize,
    pub(crate) factory: F,
    pub(crate) child: PhantomData<fn(&M) -> C>,
}

impl<'c, DB, M, C, F, R> AfterCreate<Bound<'c, DB>> for Related<F, C, M>
where
    DB: Backend,
    M: Model,
    C: Insert<DB>,
    F: Fn(&M) -> R + Send + Sync,
    R: RowSource<C> + 'static,
{
    fn run<'a>(
        &'a self,
        created: &'a dyn Any,
        session: &'a mut Bound<'c, DB>,
    ) -> BoxFuture<'a, Result<(), BoxDynError>> {
        let created = created_rows::<M>(created);
        Box::pin(async move {
            let mut batches: Vec<Rows<C>> = Vec::new();
            for parent in created {
                let rows = (self.factory)(parent).rows(self.per_row, None);
                match batches.last_mut() {
                    // Children that need no parents of their own and send the same columns go
                    // into one multi-row INSERT.
                    Some(last)
                        if last.set == rows.set
                            && !C::needs_parents(&last.parents)
                            && !C::needs_parents(&rows.parents) =>
                    {
                        last.rows.extend(rows.rows);
                    }
                    _ => batches.push(rows),
                }
            }
            for rows in batches {
                let operation = Operation::CreateBatch {
                    rows: rows.rows.len(),
                };
                insert_rows::<DB, C>(session.conn(), rows, operation, Kept::Nothing).await?;
            }
            Ok(())
        })
    }
}

/// An `after_create` hook: a closure given each created row and the connection.
pub struct Hook<F, M> {
    pub(crate) hook: F,
    pub(crate) row: PhantomData<fn(&M)>,
}

impl<'c, DB, M, F> AfterCreate<Bound<'c, DB>> for Hook<F, M>
where
    DB: Backend,
    M: Model,
    F: for<'a> Fn(&'a M, &'a mut DB::Connection) -> BoxFuture<'a, Result<(), BoxDynError>>
        + Send
        + Sync,
{
    fn run<'a>(
        &'a self,
        created: &'a dyn Any,
        session: &'a mut Bound<'c, DB>,
    ) -> BoxFuture<'a, Result<(), BoxDynError>> {
        let created = created_rows::<M>(created);
        Box::pin(async move {
            for row in created {
                (self.hook)(row, session.conn()).await?;
            }
            Ok(())
        })
    }
}
