//! The one error type of the crate.

use std::any::Any;
use std::error::Error as _;
use std::fmt;

use sqlx::error::{BoxDynError, DatabaseError};

/// A database operation of a factory failed.
///
/// The message names the factory, the operation, the table, the step that failed (the INSERT,
/// a parent row, a hook) and what the database said. The [`sqlx::Error`] behind it, however
/// deep, is at hand with [`Error::as_sqlx`].
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
/// assert_eq!(
///     err.to_string(),
///     "TagFactory::create into table `missing_table` failed: no such table: missing_table (SQLite error 1)"
/// );
/// assert!(matches!(err.as_sqlx(), Some(sqlx::Error::Database(_))));
/// # Ok::<(), sqlx::Error>(()) }).unwrap();
/// ```
///
/// `Display` is one line (plus a hint line on PostgreSQL's "transaction is aborted") and holds
/// the whole story: a parent factory's error, a hook's error, the database's message, `DETAIL`
/// and code (`(PostgreSQL error 23505)`, `(SQLite error 2067)`), without sqlx's position in the
/// server's C source. So [`source()`](std::error::Error::source) gives only what the message
/// does not already say (the causes of a hook's own error, say): an error reporter such as
/// anyhow or eyre, which prints the message and then every `source()`, reads each text once.
/// `Debug`, what `unwrap()` and `?` in a test print, adds that chain and the seed to replay the
/// run.
pub struct Error {
    factory: &'static str,
    table: &'static str,
    operation: Operation,
    step: Step,
    /// What the database said beyond its message (PostgreSQL's `DETAIL`), or empty.
    detail: String,
    /// What stays of the operation's row when decoding failed after its INSERT.
    kept: Kept,
    /// A `sqlx::Error`, the `Error` of a parent's factory, or a hook's own error: written into
    /// the message, so not returned by `source()` itself.
    source: BoxDynError,
}

/// What stays of an operation's rows when it fails after its INSERT succeeded (a row that
/// cannot be decoded): said in the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// The operation runs in a savepoint or transaction of its own, rolled back on failure.
    Nothing,
    /// One INSERT straight into the caller's transaction.
    InTransaction,
    /// One INSERT on a connection with no transaction: autocommitted. `pooled`: the connection
    /// is the operation's own, taken from a pool, so no transaction of the caller's can be open
    /// on it unseen (a raw `BEGIN`, which sqlx does not count).
    Committed { pooled: bool },
    /// The database ended the whole transaction (MariaDB does on a deadlock) at this
    /// operation's error, and nothing more of it was sent.
    TransactionGone,
    /// The database had ended the whole transaction before the operation: a READ ONLY
    /// transaction stands in for it, which refused the operation's first write.
    TransactionGoneBefore,
    /// A `get_or_create` whose new rows have parents lost the race for some of its keys (not
    /// all, or in a statement after the first): the savepoint around the rows and their
    /// parents was rolled back.
    LostRace,
    /// Rows undone back to their savepoint by a deadlock were sent again this many times and
    /// met a deadlock each time; the last was rolled back to the savepoint too.
    Resent {
        /// How many times they were sent again.
        times: usize,
        /// How many rows of the operation earlier statements sent (kept until the operation
        /// ended): the other transaction may wait for one of them.
        earlier: usize,
        /// The rows sent again were more than the row savepoints kept open: the first ones'
        /// were released, so the other transaction may wait for one of them.
        released: bool,
    },
}

/// Which factory operation failed, as named in an [`Error`].
///
/// ```
/// use sqlx_factory::Operation;
///
/// assert_eq!(Operation::Create.to_string(), "create");
/// assert_eq!(Operation::CreateBatch { rows: 10 }.to_string(), "create_batch(10)");
/// assert_eq!(Operation::GetOrCreateBatch { rows: 2 }.to_string(), "get_or_create_batch(2)");
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
    /// `insert_many(rows)`: seeding mode, rows streamed in chunks.
    InsertMany {
        /// How many rows the seed asked for.
        rows: u64,
    },
    /// `get_or_create()`: one row, looked up by its key first.
    GetOrCreate,
    /// `get_or_create_batch(rows)`: the rows looked up by their keys first.
    GetOrCreateBatch {
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
    /// Creating the parents of some of a batch's rows: a `create_batch` larger than one
    /// statement creates each chunk's parents right before the chunk.
    ParentOfRows {
        /// The foreign-key field.
        field: &'static str,
        /// The first row whose parents these are, counting the operation's rows from 1.
        first_row: usize,
        /// The last row.
        last_row: usize,
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
    /// Seeding mode: the rows being sent (a chunk of INSERTs, or the `COPY` so far).
    Rows {
        /// The first row, counting the operation's rows from 1.
        first_row: u64,
        /// The last row.
        last_row: u64,
    },
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Create => f.write_str("create"),
            Operation::CreateBatch { rows } => write!(f, "create_batch({rows})"),
            Operation::InsertMany { rows } => write!(f, "insert_many({rows})"),
            Operation::GetOrCreate => f.write_str("get_or_create"),
            Operation::GetOrCreateBatch { rows } => write!(f, "get_or_create_batch({rows})"),
        }
    }
}

/// The step as it reads inside the message: nothing for the INSERT itself.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Insert => Ok(()),
            Step::Parent { field } => write!(f, " creating the `{field}` parent"),
            Step::ParentOfRows {
                field,
                first_row,
                last_row,
            } => write!(
                f,
                " creating the `{field}` parents of rows {first_row} to {last_row}"
            ),
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
            Step::Rows {
                first_row,
                last_row,
            } if first_row == last_row => write!(f, " sending row {first_row}"),
            Step::Rows {
                first_row,
                last_row,
            } => write!(f, " sending rows {first_row} to {last_row}"),
        }
    }
}

/// PostgreSQL keeps the column and value of a violation in `DETAIL`, which sqlx's message
/// leaves out ("Key (email)=(a@b.c) already exists."). The other backends name the column in
/// the message itself.
fn detail(source: &sqlx::Error) -> String {
    match source {
        sqlx::Error::Database(db) => db_detail(&**db),
        _ => String::new(),
    }
}

fn db_detail(db: &dyn DatabaseError) -> String {
    #[cfg(feature = "postgres")]
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        && let Some(detail) = pg.detail()
    {
        return detail.to_owned();
    }
    let _ = db;
    String::new()
}

/// PostgreSQL's `in_failed_sql_transaction`: an earlier statement failed, not this one.
const ABORTED_TRANSACTION: &str = "25P02";

const ABORTED_HINT: &str = "\n  hint: an earlier statement in this transaction failed, not this \
    one; call `.in_savepoint()` on the create you expect to fail, so the transaction stays usable";

/// A database's error in our words: message, `DETAIL`, code, and the constraint when the message
/// does not name it. sqlx's own `Display` is not used: for PostgreSQL it appends the line of
/// the server's C source ("at line 2039"), which reads like a line of SQL; for SQLite it puts
/// "(code: 2067)" first.
fn write_db(f: &mut fmt::Formatter<'_>, db: &dyn DatabaseError, detail: &str) -> fmt::Result {
    let message = db.message();
    f.write_str(message)?;
    if !detail.is_empty() {
        write!(f, ": {detail}")?;
    }
    let code = db.code();
    let code = code.as_deref().unwrap_or("unknown");
    f.write_str(" (")?;
    write_code(f, db, code)?;
    if let Some(constraint) = db.constraint()
        && !message.contains(constraint)
    {
        write!(f, ", constraint `{constraint}`")?;
    }
    f.write_str(")")
}

/// The backend's name with its code: each backend's codes mean different things.
fn write_code(f: &mut fmt::Formatter<'_>, db: &dyn DatabaseError, code: &str) -> fmt::Result {
    #[cfg(feature = "postgres")]
    if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return write!(f, "PostgreSQL error {code}");
    }
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return write!(f, "MariaDB error {}, SQLSTATE {code}", my.number());
    }
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return write!(f, "SQLite error {code}");
    }
    let _ = db;
    write!(f, "code {code}")
}

/// The first cause that the message of `shown` (an error written into ours) does not already
/// say. Ours says its whole chain but for what its own `source()` gives; sqlx's `Display`
/// includes its source's (and a database's error is written in full); any other error's
/// `source()` is its own business.
fn unsaid_cause<'a>(
    shown: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    if let Some(ours) = shown.downcast_ref::<Error>() {
        return std::error::Error::source(ours);
    }
    match shown.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(_)) => None,
        // The message replaced sqlx's text, whose first line is its source's message.
        Some(error) if mariadb_enum_column(error).is_some() => error.source(),
        Some(error) => error.source().and_then(|said| said.source()),
        None => shown.source(),
    }
}

/// sqlx 0.9 compares a derived enum's type info with a MariaDB column's, flags included, so an
/// `ENUM(..) NOT NULL` column (flag NOT_NULL) fails to decode after the INSERT succeeded. Its
/// message ("`ENUM` is not compatible with SQL type `ENUM`") reads as nonsense: say what
/// happened instead. Returns the column when `error` is that failure.
fn mariadb_enum_column(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::ColumnDecode { index, source }
            if source
                .to_string()
                .ends_with("(as SQL type `ENUM`) is not compatible with SQL type `ENUM`") =>
        {
            Some(index.trim_matches('"'))
        }
        _ => None,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}::{} into table `{}` failed{}: ",
            self.factory, self.operation, self.table, self.step
        )?;
        match self.source.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(db)) => {
                write_db(f, &**db, &self.detail)?;
                if db.code().as_deref() == Some(ABORTED_TRANSACTION) {
                    f.write_str(ABORTED_HINT)?;
                }
            }
            Some(error) => match mariadb_enum_column(error) {
                Some(column) => write!(
                    f,
                    "column `{column}` could not be read back: \
                     sqlx 0.9 cannot decode a derived enum from a MariaDB `ENUM(..) NOT NULL` \
                     column; declare the column without `NOT NULL` (see the README, \"Backends \
                     and column types\")"
                )?,
                None => fmt::Display::fmt(error, f)?,
            },
            None => fmt::Display::fmt(&self.source, f)?,
        }
        if let Kept::Resent {
            times,
            earlier,
            released,
        } = self.kept
        {
            write!(
                f,
                "; the rows were sent again {times} times after a deadlock and met one each \
                 time, so nothing of this operation is kept: what the other transaction waits \
                 for was written "
            )?;
            // A row of an earlier statement, its savepoint released, is waited for until the
            // transaction ends (PostgreSQL), undone with the operation or not.
            if earlier > 0 {
                write!(
                    f,
                    "by an earlier statement of this operation (its first {earlier} rows), or \
                     before it in the same transaction, "
                )?;
            } else {
                f.write_str(
                    "before this operation in the same transaction (or by this operation's \
                     parents), ",
                )?;
            }
            if released {
                f.write_str(
                    "or by its own rows sent one at a time, whose savepoints were released \
                     past the 64 kept open, ",
                )?;
            }
            return f
                .write_str("and no resend frees it; roll the transaction back and run it again");
        }
        f.write_str(match self.kept {
            Kept::Nothing | Kept::Resent { .. } => "",
            Kept::InTransaction => {
                "; the INSERT succeeded, so its row stays in the caller's transaction: roll \
                 back, or create with `.in_savepoint()` to undo it on failure"
            }
            Kept::Committed { .. } => {
                "; the INSERT succeeded and, with no transaction on this connection, its row \
                 is committed"
            }
            Kept::TransactionGone => {
                "; the database ended the whole transaction (MariaDB does on a deadlock or, \
                 with innodb_rollback_on_timeout, a lock wait timeout) and nothing more of this \
                 operation was sent: every earlier statement of the transaction is undone, and \
                 in the caller's transaction every later write on this connection fails until \
                 the caller rolls back, rather than run outside any transaction"
            }
            Kept::TransactionGoneBefore => {
                "; the database ended the whole transaction before this operation (MariaDB \
                 does on a deadlock or, with innodb_rollback_on_timeout, a lock wait timeout; \
                 an earlier error said so) and nothing of this operation was written: a READ \
                 ONLY transaction stands in for it, so that no write on this connection runs \
                 outside any transaction, until the caller rolls back"
            }
            Kept::LostRace => {
                "; another connection inserted this `get_or_create` key after this operation \
                 looked its keys up, and committed while the INSERT waited on it (the INSERT \
                 lost the race). Rows with parents to create are not sent again one by one (the \
                 parents made for rows found stored would stay), so nothing of the operation \
                 was kept, its parents neither. Run it again: the keys stored now are returned, \
                 the others created"
            }
        })
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        unsaid_cause(&*self.source)
    }
}

/// What `unwrap()` and `?` in a test print: the message, the causes it does not say (as anyhow
/// prints them), and the seed that replays the run, right under the message rather than after a
/// backtrace.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)?;
        let mut cause = std::error::Error::source(self);
        if cause.is_some() {
            f.write_str("\n\nCaused by:")?;
        }
        let mut index = 0;
        while let Some(error) = cause {
            let text = error.to_string();
            write!(f, "\n    {index}: {}", text.replace('\n', "\n       "))?;
            cause = error.source();
            index += 1;
        }
        write!(
            f,
            "\n\nReplay this run's data with {}={}",
            crate::seed::SEED_VAR,
            crate::run_seed()
        )
    }
}

impl Error {
    pub(crate) fn new(
        factory: &'static str,
        table: &'static str,
        operation: Operation,
        source: sqlx::Error,
    ) -> Self {
        // A text of ours that came through code whose error type is `sqlx::Error` ([`ours`])
        // is [`Error::message`]'s: no sqlx error that `as_sqlx()` would give.
        let source = match source {
            sqlx::Error::Decode(inner) => match inner.downcast::<Ours>() {
                Ok(ours) => return Error::message(factory, table, operation, ours.0),
                Err(inner) => sqlx::Error::Decode(inner),
            },
            source => source,
        };
        Error {
            factory,
            table,
            operation,
            step: Step::Insert,
            detail: detail(&source),
            kept: Kept::Nothing,
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
            kept: Kept::Nothing,
            source,
        }
    }

    /// An error of ours, not the database's: its message says it all (no "encountered
    /// unexpected or invalid data" of sqlx's protocol error in front).
    pub(crate) fn message(
        factory: &'static str,
        table: &'static str,
        operation: Operation,
        message: String,
    ) -> Self {
        Error::wrap(factory, table, operation, Step::Insert, message.into())
    }

    /// The same error, at `step` of the operation.
    pub(crate) fn at(mut self, step: Step) -> Self {
        self.step = step;
        self
    }

    /// A parent's failure (`Step::Parent`) as that of the parents of rows `first_row` to
    /// `last_row` only; any other error unchanged.
    pub(crate) fn parents_of_rows(self, first_row: usize, last_row: usize) -> Self {
        match self.step {
            Step::Parent { field } => self.at(Step::ParentOfRows {
                field,
                first_row,
                last_row,
            }),
            _ => self,
        }
    }

    /// Says what stays of the operation's row when decoding failed after its INSERT.
    pub(crate) fn kept(mut self, kept: Kept) -> Self {
        self.kept = kept;
        self
    }

    /// Whether this error, or an error of ours it holds (a parent's, a hook's), already says
    /// that the database ended the transaction: said once, where it happened.
    pub(crate) fn says_transaction_gone(&self) -> bool {
        matches!(
            self.kept,
            Kept::TransactionGone | Kept::TransactionGoneBefore
        ) || self
            .source
            .downcast_ref::<Error>()
            .is_some_and(Error::says_transaction_gone)
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

    /// The error this one wraps, whether or not its message says it already (`source()`
    /// returns only what the message does not say).
    pub(crate) fn inner(&self) -> &(dyn std::error::Error + 'static) {
        &*self.source
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

/// A panic of user code inside an open `COPY`, carried as the seed's error until its savepoint or
/// transaction is rolled back, then resumed: inside the caller's transaction PostgreSQL
/// refuses every statement after the failed `COPY` until that rollback, so resuming it
/// earlier would leave the caller a transaction that can only be rolled back.
pub(crate) struct HeldPanic(std::sync::Mutex<Option<Box<dyn Any + Send>>>);

impl HeldPanic {
    /// Holds `panic`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn new(panic: Box<dyn Any + Send>) -> Self {
        HeldPanic(std::sync::Mutex::new(Some(panic)))
    }
}

impl std::fmt::Debug for HeldPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeldPanic")
    }
}

impl std::fmt::Display for HeldPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("user code panicked while the rows were drawn or encoded")
    }
}

impl std::error::Error for HeldPanic {}

/// The panic [`HeldPanic`] carries in `error` or its sources, if any (a child seed's error
/// reaches the seed's end inside its parent's).
pub(crate) fn held_panic(error: &Error) -> Option<Box<dyn Any + Send>> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(error.inner());
    while let Some(e) = at {
        if let Some(held) = e.downcast_ref::<HeldPanic>() {
            return held.0.lock().ok()?.take();
        }
        at = match e.downcast_ref::<Error>() {
            Some(error) => Some(error.inner()),
            None => e.source(),
        };
    }
    None
}

/// `a::b::Name` → `Name`: a type as the user wrote it in their code.
pub(crate) fn short_name(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

/// A message of ours where a `sqlx::Error` is expected (a row read back that the crate
/// refuses): carried in `sqlx::Error::Decode` only until [`Error::new`] takes it out, so that
/// it reads as [`Error::message`]'s texts do, with no prefix of sqlx's ("error occurred while
/// decoding") and no `as_sqlx()`.
#[derive(Debug)]
pub(crate) struct Ours(String);

impl fmt::Display for Ours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Ours {}

/// `text` as a `sqlx::Error`, for code whose error type is `sqlx::Error`: [`Error::new`] makes
/// it [`Error::message`]'s error.
pub(crate) fn ours(text: impl Into<String>) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(Ours(text.into())))
}
