//! The rows of a seed, drawn chunk by chunk from one generator with the parents' keys written
//! in: what the database's writer sends ([`SeedFeed`]).

use std::any::{Any, TypeId};
use std::sync::Arc;

use sqlx::error::BoxDynError;

use crate::column::{Column, ColumnSet};
use crate::db::{ArgSink, Backend, Chunk, KeyType, KeyedFeed, SeedFeed};
use crate::error::{Error, Operation, Step, short_name};
#[cfg(doc)]
use crate::model::SeedParent;
use crate::model::{Association, ChunkSource, Insert, Model, Rows};
use crate::seed::Draw;

/// How far a seed got: given to the `on_progress` callback after each chunk is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The table being seeded.
    pub table: &'static str,
    /// Rows sent so far (they become visible when the operation ends).
    pub rows: u64,
    /// Rows asked for.
    pub total: u64,
}

pub(crate) type ProgressFn = Box<dyn Fn(Progress) + Send + Sync>;

/// What the rows store of existing parents of one type (their keys, or the values a
/// `references` or composite association stores: [`SeedParent`]), handed to the rows in turn.
pub(crate) struct ParentKeys {
    pub(crate) parent: TypeId,
    pub(crate) name: &'static str,
    /// [`SeedParent::SHAPE`]: which associations take these values.
    pub(crate) shape: u64,
    pub(crate) keys: Box<dyn KeyList>,
    /// Children of `with_children`: a row that takes no key is an error (no association to
    /// the parent), where `parents_from` keys may go unused.
    pub(crate) required: bool,
}

pub(crate) trait KeyList: Send + Sync {
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> &(dyn Any + Send + Sync);
}

impl<K: Any + Send + Sync> KeyList for Vec<K> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn get(&self, i: usize) -> &(dyn Any + Send + Sync) {
        &self[i]
    }
}

/// Keeps what children store of each parent row as it is drawn, before it is sent
/// (`with_children` through a `references` or composite association).
pub(crate) trait Capture<M>: Send {
    /// Takes the values of `rows`, whose database-filled columns `set` sends; an error when a
    /// value the children need is left to the database.
    fn take(&mut self, rows: &mut [M], set: ColumnSet) -> Result<(), String>;
}

/// The rows of a seed, drawn on demand, with the parents' keys and the progress callback.
pub struct Chunks<M: Model> {
    pub(crate) source: Box<dyn ChunkSource<M>>,
    pub(crate) draw: Draw,
    pub(crate) seed: Option<u64>,
    pub(crate) total: u64,
    pub(crate) drawn: u64,
    pub(crate) parents: Vec<ParentKeys>,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) chunk_rows: Option<usize>,
    pub(crate) operation: Operation,
    /// The row number the parents' round robin starts from.
    pub(crate) key_base: u64,
    /// The values of each row drawn that its children store.
    pub(crate) capture: Option<Box<dyn Capture<M>>>,
}

impl<M: Model> Chunks<M> {
    /// The error of this operation, at the rows `first_row..=last_row`.
    fn rows_error(&self, source: sqlx::Error, first_row: u64, last_row: u64) -> Error {
        Error::new(M::FACTORY, M::TABLE, self.operation, source).at(Step::Rows {
            first_row,
            last_row,
        })
    }

    /// This operation's error, saying `message` (ours, not the database's).
    fn message(&self, message: String) -> Error {
        Error::message(M::FACTORY, M::TABLE, self.operation, message)
    }

    /// Draws up to `max` more rows, with the parents' keys written in; `None` when done.
    // The crate's own `Error`, as every operation returns it; made at most once per seed.
    #[allow(clippy::result_large_err)]
    fn draw<DB: Backend>(&mut self, max: usize) -> Result<Option<Chunk<M>>, Error>
    where
        M: Insert<DB>,
    {
        let left = self.total - self.drawn;
        if left == 0 {
            return Ok(None);
        }
        let n = usize::try_from(left).map_or(max, |left| left.min(max));
        let Rows {
            mut rows,
            set,
            mut parents,
            ..
        } = self.source.draw_chunk(n, &mut self.draw, self.seed);
        let first_row = self.drawn + 1;
        // What the factory would create a parent for, before the first row's keys drop it: a
        // field given a value (`.recipient_id(admin)`) keeps it under `parents_from`.
        let unset = M::parent_slots(&parents);
        for (i, row) in rows.iter_mut().enumerate() {
            let index = self.drawn + i as u64 - self.key_base;
            for pool in &self.parents {
                let len = pool.keys.len() as u64;
                if len == 0 {
                    continue;
                }
                // A model may point at `P` from no field: `parents_from` keys are then unused.
                let key = |k: usize| pool.keys.get(spread(index, len, k as u64));
                // `with_children` fills its field even if set: its parent is the row sent.
                let open = if pool.required { u64::MAX } else { unset };
                if !row.set_parent_key(&mut parents, pool.parent, pool.shape, &key, open)
                    && pool.required
                {
                    return Err(self.message(format!(
                        "with_children: no association of this model stores the values of `{}`",
                        short_name(pool.name)
                    )));
                }
            }
        }
        if M::needs_parents(&parents) {
            if let Some(empty) = self.parents.iter().find(|p| p.keys.len() == 0) {
                return Err(self.message(format!(
                    "`.parents_from::<{}>(values)` was given no values: each row needs a \
                     parent, so give at least one",
                    short_name(empty.name)
                )));
            }
            let given: Vec<&str> = self.parents.iter().map(|p| short_name(p.name)).collect();
            let (field, parent) = M::parent_asked(&parents).unwrap_or(("?", "Parent"));
            // `with_children`'s rows come from a factory, which takes no `parents_from`.
            if self.parents.iter().any(|p| p.required) {
                return Err(self.message(format!(
                    "with_children would create one `{parent}` row per child for `{field}`: \
                     set `{field}` on the children's factory (`.{field}(..)`)"
                )));
            }
            return Err(self.message(format!(
                "insert_many would create one `{parent}` row per row for `{field}`: give the \
                 parents with `.parents_from::<{parent}>(values)` or \
                 `.parents_from_table::<{parent}>()` (given: {given:?}), or set `{field}`"
            )));
        }
        if let Some(capture) = &mut self.capture {
            capture.take(&mut rows, set).map_err(|e| self.message(e))?;
        }
        self.drawn += rows.len() as u64;
        Ok(Some(Chunk {
            rows,
            set,
            first_row,
        }))
    }

    /// Reports that `sent` rows have been sent so far: the callback, and a `tracing` event.
    fn report_sent(&self, sent: u64) {
        let progress = Progress {
            table: M::TABLE,
            rows: sent,
            total: self.total,
        };
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "sqlx_factory::seed",
            factory = M::FACTORY,
            table = M::TABLE,
            rows = sent,
            total = self.total,
            "chunk sent"
        );
        if let Some(report) = &self.progress {
            report(progress);
        }
    }
}

/// Which of `len` values row `index` gives its `k`-th association to one parent type: the
/// first takes them in turn (`index % len`); the `k`-th other takes the `k`-th of the values
/// after the first's (in turn, wrapping), starting 0 to `len - 2` values further at each pass
/// over the values. So the associations of a row hold different values wherever there are as
/// many values as associations (a message's recipient is never its sender given two users),
/// the second over `len * (len - 1)` rows holds every ordered pair once with the first, and
/// each field holds each value as often as any other.
fn spread(index: u64, len: u64, k: u64) -> usize {
    let first = index % len;
    if k == 0 || len == 1 {
        return first as usize;
    }
    let others = len - 1;
    let start = (index / len) % others;
    ((first + 1 + (start + k - 1) % others) % len) as usize
}

// The seed's rows as the database's writer takes them.
#[allow(clippy::result_large_err)]
impl<DB: Backend, M: Insert<DB>> SeedFeed<DB> for Chunks<M> {
    type Row = M;
    const TABLE: &'static str = M::TABLE;
    const COLUMNS: &'static [Column] = M::COLUMNS;

    fn total(&self) -> u64 {
        self.total
    }

    fn drawn(&self) -> u64 {
        self.drawn
    }

    fn chunk_rows(&self, default: usize) -> usize {
        self.chunk_rows.unwrap_or(default)
    }

    fn next(&mut self, max: usize) -> Result<Option<Chunk<M>>, Error> {
        self.draw::<DB>(max)
    }

    fn report(&self, sent: u64) {
        self.report_sent(sent);
    }

    fn error(&self, source: sqlx::Error, first_row: u64, last_row: u64) -> Error {
        self.rows_error(source, first_row, last_row)
    }

    fn wrap(&self, step: Step, source: BoxDynError) -> Error {
        Error::wrap(M::FACTORY, M::TABLE, self.operation, step, source)
    }

    fn insert_sql(&self, set: ColumnSet, rows: usize, key: Option<&'static str>) -> Arc<str> {
        let table = (M::TABLE, M::COLUMNS);
        match key {
            None => M::sql_cache().seed_sql::<DB>(table, set, rows),
            Some(key) => M::sql_cache().seed_key_sql::<DB>(table, set, rows, key),
        }
    }

    fn wire_size(row: &M) -> usize {
        row.wire_size()
    }

    fn bind<A: ArgSink<DB>>(row: M, set: ColumnSet, sink: &mut A) -> Result<(), BoxDynError> {
        row.bind(set, sink).map(drop)
    }
}

impl<DB, M> KeyedFeed<DB> for Chunks<M>
where
    DB: Backend,
    M: Insert<DB> + Association,
    M::Key: KeyType<DB>,
{
    type Key = M::Key;
    const KEY_COLUMN: &'static str = M::KEY_COLUMN;

    fn key(row: &M) -> M::Key {
        row.key()
    }
}

#[cfg(test)]
mod tests {
    use super::spread;

    /// Over `len * (len - 1)` rows: a row's first `len` associations hold different values,
    /// each field every value equally often, and the first two every ordered pair once.
    #[test]
    fn spread_keeps_a_rows_values_apart() {
        for len in 2..9u64 {
            let rows = len * (len - 1);
            let mut pairs = std::collections::HashSet::new();
            let mut per_field = vec![vec![0u64; len as usize]; len as usize];
            for index in 0..rows {
                let values: Vec<usize> = (0..len).map(|k| spread(index, len, k)).collect();
                let mut distinct = values.clone();
                distinct.sort_unstable();
                distinct.dedup();
                assert_eq!(
                    distinct.len(),
                    values.len(),
                    "len {len}, row {index}: {values:?}"
                );
                for (k, &v) in values.iter().enumerate() {
                    per_field[k][v] += 1;
                }
                pairs.insert((values[0], values[1]));
            }
            assert_eq!(pairs.len() as u64, rows, "len {len}");
            for counts in &per_field {
                assert!(
                    counts.iter().all(|&c| c == len - 1),
                    "len {len}: {counts:?}"
                );
            }
        }
        assert_eq!(spread(7, 1, 2), 0);
    }
}
