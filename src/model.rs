//! What the derive implements for a model: its table and columns, and how to bind a row.

use sqlx::error::BoxDynError;
use sqlx::{Database, FromRow};

use crate::backend::Backend;
use crate::sql::{Column, ColumnSet, SqlCache};

/// A struct with `#[derive(Factory)]`: the facts about its table, the same on every backend.
pub trait Model: Sized + Send + Unpin + 'static {
    /// The generated factory's name, e.g. `"UserFactory"`, for error messages.
    const FACTORY: &'static str;
    /// The table rows go into.
    const TABLE: &'static str;
    /// Every column, in field order: what an INSERT may send and what RETURNING reads back.
    const COLUMNS: &'static [Column];

    /// This model's INSERT texts.
    fn sql_cache() -> &'static SqlCache;
}

/// A model whose every column can be bound on `DB` and whose row decodes from `DB`.
///
/// The derive emits one impl per model, generic over the backend, carrying the per-field
/// `Encode + Type` bounds, so a model that compiles for a backend inserts into it.
pub trait Insert<DB: Backend>: Model + for<'r> FromRow<'r, <DB as Database>::Row> {
    /// Binds this row's values for the columns `set` sends, in [`Model::COLUMNS`] order.
    fn bind(
        self,
        set: ColumnSet,
        args: &mut <DB as Database>::Arguments,
    ) -> Result<(), BoxDynError>;
}
