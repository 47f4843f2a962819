//! The one error type of the crate.

use std::fmt;

use sqlx::error::BoxDynError;

use crate::create::Kept;

/// A database operation of a factory failed.
///
/// The message names the factory, the operation, the table, the step that failed (the INSERT,
/// a parent row, a hook) and what the database said; the underlying error is kept as
/// [`source()`](std::error::Error::source), and the [`sqlx::Error`] behind it, however deep,
/// is at hand with [`Error::as_sqlx`].
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
/// assert!(matches!(err.as_sqlx(), Some(sqlx::Error::Database(_))));
/// # Ok::<(), sqlx::Error>(()) }).unwrap();
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{factory}::{operation} into table `{table}` failed{step}: {source}{detail}")]
pub struct Error {
    factory: &'static str,
    table: &'static str,
    operation: Operation,
    step: Step,
    /// What the database said beyond its message (PostgreSQL's `DETAIL`), or empty.
    detail: String,
    /// A `sqlx::Error`, the `Error` of a parent's factory, or a hook's own error.
    #[source]
    source: BoxDynError,
}

/// Which factory operation failed, as named in an [`Error`].
///
/// ```
/// use sqlx_factory::Operation;
///
/// assert_eq!(Operation::Create.to_string(), "create");
/// assert_eq!(Operation::CreateBatch { rows: 10 }.to_string(), "create_batch(10)");
/// ```
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

/// Which step of an operation failed.
///
/// ```
/// use sqlx_factory::Step;
///
/// // As it reads inside an error message, after "... failed".
/// assert_eq!(Step::Parent { field: "author_id" }.to_string(), " creating the `author_id` parent");
/// assert_eq!(Step::AfterCreate { index: 2 }.to_string(), " in after-create step 2");
/// assert_eq!(Step::Insert.to_string(), "");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// The model's own INSERT.
    Insert,
    /// Creating the parent rows of the association on this field.
    Parent {
        /// The foreign-key field.
        field: &'static str,
    },
    /// Creating the related rows added with `with_related`, or running an `after_create` hook.
    AfterCreate {
        /// Which one, counting from 1 in the order they were added.
        index: usize,
    },
    /// One INSERT of a batch sent in several.
    Chunk {
        /// Which INSERT, counting from 1.
        index: usize,
        /// How many INSERTs the batch takes.
        of: usize,
        /// The first row it carries, counting the operation's rows from 1.
        first_row: usize,
        /// The last row it carries.
        last_row: usize,
    },
    /// Decoding the row an INSERT returned into the model (`FromRow`): the INSERT succeeded.
    Decode,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Create => f.write_str("create"),
            Operation::CreateBatch { rows } => write!(f, "create_batch({rows})"),
        }
    }
}

/// The step as it reads inside the message: nothing for the INSERT itself.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Insert => Ok(()),
            Step::Parent { field } => write!(f, " creating the `{field}` parent"),
            Step::AfterCreate { index } => write!(f, " in after-create step {index}"),
            Step::Chunk {
                index,
                of,
                first_row,
                last_row,
            } => write!(
                f,
                " in INSERT {index} of {of} (rows {first_row} to {last_row})"
            ),
            Step::Decode => f.write_str(" decoding the row the INSERT returned"),
        }
    }
}

/// PostgreSQL keeps the column and value of a violation in `DETAIL`, which sqlx's message
/// leaves out ("Key (email)=(a@b.c) already exists."): add it. The other backends name the
/// column in the message itself.
fn detail(source: &sqlx::Error) -> String {
    let mut out = String::new();
    #[cfg(feature = "postgres")]
    if let sqlx::Error::Database(db) = source
        && let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
    {
        if let Some(detail) = pg.detail() {
            out = format!(" ({detail})");
        }
        if pg.code() == IN_FAILED_TRANSACTION {
            out.push_str(ABORTED_HINT);
        }
    }
    let _ = source;
    out
}

/// PostgreSQL's SQLSTATE for a statement sent in a transaction that already failed.
#[cfg(feature = "postgres")]
const IN_FAILED_TRANSACTION: &str = "25P02";

/// Said after PostgreSQL's "current transaction is aborted": the failure to read is earlier.
#[cfg(feature = "postgres")]
const ABORTED_HINT: &str = " — an earlier statement in this transaction failed, and PostgreSQL \
    refuses every statement until the transaction is rolled back: that earlier error is the one \
    to read. To go on after a create you expect to fail, call `.in_savepoint()` on that create";

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
            step: Step::Insert,
            detail: detail(&source),
            source: Box::new(source),
        }
    }

    /// `inner` failed while this factory ran `step` of `operation`.
    pub(crate) fn wrap(
        factory: &'static str,
        table: &'static str,
        operation: Operation,
        step: Step,
        source: BoxDynError,
    ) -> Self {
        Error {
            factory,
            table,
            operation,
            step,
            detail: String::new(),
            source,
        }
    }

    /// The same error, at `step` of the operation.
    pub(crate) fn at(mut self, step: Step) -> Self {
        self.step = step;
        self
    }

    /// Says what stays of the operation's row when decoding failed after its INSERT.
    pub(crate) fn kept(mut self, kept: Kept) -> Self {
        self.detail.push_str(match kept {
            Kept::Nothing => "",
            Kept::InTransaction => {
                "; the INSERT succeeded, so its row stays in the caller's transaction: roll \
                 back, or create with `.in_savepoint()` to undo it on failure"
            }
            Kept::Committed => {
                "; the INSERT succeeded and, with no transaction on this connection, its row \
                 is committed"
            }
        });
        self
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

    /// The step of the operation that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// Turns this error into a `sqlx::Error`, for code whose error type is `sqlx::Error` (a
    /// `#[sqlx::test]` returning `sqlx::Result`): the database's own error when there is one,
    /// else this error's message as `sqlx::Error::Protocol`.
    ///
    /// ```
    /// # use sqlx_factory::Factory;
    /// # #[derive(Debug, sqlx::FromRow, Factory)]
    /// # #[factory(table = "nowhere")]
    /// # struct Tag { name: String }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
    /// let err = Tag::factory().with_session(&mut conn).create().await.unwrap_err();
    /// assert!(matches!(err.into_sqlx(), sqlx::Error::Database(_)));
    /// # Ok::<(), sqlx::Error>(()) }).unwrap();
    /// ```
    pub fn into_sqlx(self) -> sqlx::Error {
        if self.as_sqlx().is_none() {
            return sqlx::Error::Protocol(self.to_string());
        }
        let mut source = self.source;
        loop {
            source = match source.downcast::<Error>() {
                Ok(inner) => inner.source,
                Err(other) => match other.downcast::<sqlx::Error>() {
                    Ok(sqlx_error) => return *sqlx_error,
                    // `as_sqlx` found one, so the chain ends in a `sqlx::Error`.
                    Err(other) => return sqlx::Error::Protocol(other.to_string()),
                },
            };
        }
    }

    /// The database's own error, however deep (a parent's INSERT, a hook's query), e.g. to
    /// match on [`sqlx::Error::Database`]. `None` when a hook failed with another error.
    pub fn as_sqlx(&self) -> Option<&sqlx::Error> {
        if let Some(inner) = self.source.downcast_ref::<Error>() {
            return inner.as_sqlx();
        }
        self.source.downcast_ref()
    }
}
