//! FactoryBot's `lint`: create one of every factory in a test transaction and report each that
//! fails, so a migration that breaks a factory is caught by one test.

use std::fmt;

use sqlx::Database;

use crate::db::Backend;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::scope::Scope;
use crate::session::{Bound, SessionArg};

/// What [`lint!`](crate::lint!) found: the factories it created and the ones that failed.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     name: String,
/// }
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "labels")] // no such table: this factory is broken
/// struct Label {
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE tags (name TEXT NOT NULL)").execute(&mut conn).await?;
/// let mut tx = sqlx::Connection::begin(&mut conn).await?;
/// let report = sqlx_factory::lint!(&mut tx, Tag, Label).await;
/// assert_eq!(report.checked(), ["Tag", "Label"]);
/// assert_eq!(report.failures().map(|(name, _)| name).collect::<Vec<_>>(), ["Label"]);
/// assert!(report.to_string().contains("LabelFactory::create into table `labels` failed"));
/// tx.rollback().await?;
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct LintReport {
    checked: Vec<&'static str>,
    failures: Vec<(&'static str, Error)>,
    /// Bound to a pool that gave no connection: nothing was checked.
    no_connection: Option<sqlx::Error>,
}

impl LintReport {
    #[doc(hidden)]
    pub fn record(&mut self, model: &'static str, result: Result<(), Error>) {
        self.checked.push(model);
        if let Err(error) = result {
            self.failures.push((model, error));
        }
    }

    /// The models checked, in order.
    pub fn checked(&self) -> &[&'static str] {
        &self.checked
    }

    /// Each model whose factory failed, with its error.
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, &Error)> {
        self.failures.iter().map(|(model, error)| (*model, error))
    }

    fn unchecked(&mut self, error: sqlx::Error) {
        self.no_connection = Some(error);
    }

    /// Whether every factory created its row.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && self.no_connection.is_none()
    }

    /// `Ok` when every factory created its row, else the report, for `?` or `.unwrap()`.
    pub fn into_result(self) -> Result<(), LintReport> {
        if self.is_ok() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for LintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(error) = &self.no_connection {
            return write!(
                f,
                "no factory was checked: the pool gave no connection: {error}"
            );
        }
        if self.failures.is_empty() {
            return write!(f, "all {} factories created a row", self.checked.len());
        }
        writeln!(
            f,
            "{} of {} factories failed:",
            self.failures.len(),
            self.checked.len()
        )?;
        for (model, error) in &self.failures {
            writeln!(f, "- {model}: {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LintReport {}

/// Builds and creates one row of each listed model's default factory on `conn` (what
/// `with_session` takes: a `&mut` transaction or connection, or a pool), each in a savepoint of its own, and returns a [`LintReport`] of
/// those that failed. Nothing is committed and nothing stays: the whole check runs in a
/// savepoint (a transaction of its own on a bare connection) that is rolled back at the end,
/// also when the check is cancelled or panics. In a test:
/// `lint!(&mut tx, User, Post, Comment).await.into_result().unwrap()` (the example is on
/// [`LintReport`]).
///
/// The models are listed, not collected behind the scenes: a model whose fields its backend
/// cannot store is then a compile error at this call, and models with `required` fields,
/// which have no default row, are left out by not listing them.
#[macro_export]
macro_rules! lint {
    ($conn:expr, $($model:ty),+ $(,)?) => {
        $crate::__private::lint($conn, |conn, report| {
            $crate::__private::Box::pin(async move {
                $(
                    let _ = <$model>::factory().build();
                    let created = <$model>::factory()
                        .with_session(&mut *conn)
                        .in_savepoint()
                        .create()
                        .await
                        .map(|_| ());
                    report.record(::core::stringify!($model), created);
                )+
            })
        })
    };
}

/// What `lint!` expands to: `checks` run on the session inside a level that is always rolled
/// back. Where that level cannot be opened (a PostgreSQL transaction that already failed), the
/// checks run all the same, and each reports the reason.
pub fn lint<'c, A, F>(session: A, checks: F) -> impl Future<Output = LintReport> + Send + 'c
where
    A: SessionArg<'c>,
    F: for<'a> FnOnce(
            &'a mut <A::Database as Database>::Connection,
            &'a mut LintReport,
        ) -> BoxFuture<'a, ()>
        + Send
        + 'c,
{
    // Bound before the future, so that the future's type names no `A: SessionArg<'c>`: rustc
    // then proves it `Send` inside a caller's boxed future without a higher-ranked bound.
    run(session.bind(), checks)
}

async fn run<'c, DB: Backend, F>(mut bound: Bound<'c, DB>, checks: F) -> LintReport
where
    F: for<'a> FnOnce(&'a mut DB::Connection, &'a mut LintReport) -> BoxFuture<'a, ()>,
{
    let mut report = LintReport::default();
    if let Err(e) = bound.acquire().await {
        report.unchecked(e);
        return report;
    }
    let mut checks = Some(checks);
    if let Ok(mut scope) = Scope::begin(&mut bound).await
        && let Some(checks) = checks.take()
    {
        checks(scope.session().conn(), &mut report).await;
        // Only reads were sent: a transaction gone under them loses nothing.
        let _ = scope.rollback().await;
    }
    if let Some(checks) = checks {
        checks(bound.conn(), &mut report).await;
    }
    bound.release();
    report
}
