//! The one error type of the crate.

use std::fmt;

/// A database operation of a factory failed.
///
/// The message names the factory, the operation, the table and what the database said; the
/// [`sqlx::Error`] itself is kept as [`source()`](std::error::Error::source) and can be taken
/// back with [`Error::into_sqlx`].
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "missing_table")]
/// struct Tag {
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// let err = Tag::factory().with_session(&mut conn).create().await.unwrap_err();
/// assert_eq!(err.table(), "missing_table");
/// assert!(err.to_string().starts_with("TagFactory::create into table `missing_table` failed: "));
/// assert!(err.to_string().contains("no such table: missing_table"));
/// # Ok::<(), sqlx::Error>(()) }).unwrap();
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{factory}::{operation} into table `{table}` failed: {source}")]
pub struct Error {
    factory: &'static str,
    table: &'static str,
    operation: Operation,
    #[source]
    source: sqlx::Error,
}

/// Which factory operation failed, as named in an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `create()`: one row.
    Create,
    /// `create_batch(rows)`: the whole batch, sent in chunks.
    CreateBatch {
        /// How many rows the batch asked for.
        rows: usize,
    },
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Create => f.write_str("create"),
            Operation::CreateBatch { rows } => write!(f, "create_batch({rows})"),
        }
    }
}

impl Error {
    pub(crate) fn new(
        factory: &'static str,
        table: &'static str,
        operation: Operation,
        source: sqlx::Error,
    ) -> Self {
        Error {
            factory,
            table,
            operation,
            source,
        }
    }

    /// The generated factory's name, e.g. `"UserFactory"`.
    pub fn factory(&self) -> &'static str {
        self.factory
    }

    /// The table the factory inserts into.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The database's own error, e.g. to match on [`sqlx::Error::Database`].
    pub fn as_sqlx(&self) -> &sqlx::Error {
        &self.source
    }

    /// Takes the database's own error out.
    pub fn into_sqlx(self) -> sqlx::Error {
        self.source
    }
}
