//! What the schema check found: [`CheckReport`], its [`Finding`]s and their [`Severity`].

use std::fmt;

/// How bad a finding is: errors fail [`CheckReport::into_result`]; warnings only after
/// [`CheckReport::deny_warnings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something a create or a read will fail on (always, or in some runs).
    Error,
    /// Something that works but is probably not meant: random data where the database decides.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One difference between a factory and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The model, as listed in `check!`.
    pub model: &'static str,
    /// The model's table.
    pub table: &'static str,
    /// The column it is about; empty for the table as a whole.
    pub column: String,
    /// What is wrong and what to do, in one sentence.
    pub message: String,
}

/// What [`check!`](crate::check!) found, printed as a table.
///
/// ```
/// use sqlx_factory::Factory;
///
/// #[derive(Debug, sqlx::FromRow, Factory)]
/// #[factory(table = "tags")]
/// struct Tag {
///     #[factory(primary_key)]
///     id: i64,
///     name: String,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
/// sqlx::raw_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL)")
///     .execute(&mut conn)
///     .await?;
/// let report = sqlx_factory::check!(&mut conn, Tag).await;
/// assert_eq!(report.errors().count(), 1);
/// assert!(report.to_string().contains(
///     "slug    NOT NULL without a default, and no field of the model fills it: every create fails"
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct CheckReport {
    pub(crate) checked: Vec<&'static str>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) deny_warnings: bool,
}

impl CheckReport {
    /// The models checked, in order.
    pub fn checked(&self) -> &[&'static str] {
        &self.checked
    }

    /// Every finding, errors and warnings, in model and column order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// Makes warnings fail [`is_ok`](Self::is_ok) and [`into_result`](Self::into_result) too.
    pub fn deny_warnings(mut self) -> Self {
        self.deny_warnings = true;
        self
    }

    /// No error (and no warning, after [`deny_warnings`](Self::deny_warnings)).
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none() && !(self.deny_warnings && self.warnings().next().is_some())
    }

    /// `Ok` when [`is_ok`](Self::is_ok), else the report, for `.unwrap()` in a test.
    pub fn into_result(self) -> Result<(), CheckReport> {
        if self.is_ok() { Ok(()) } else { Err(self) }
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        model: &'static str,
        table: &'static str,
        column: &str,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            model,
            table,
            column: column.to_owned(),
            message,
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let models = self.checked.len();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        if self.findings.is_empty() {
            return if models == 1 {
                f.write_str("schema check: 1 model matches its table")
            } else {
                write!(f, "schema check: {models} models match their tables")
            };
        }
        writeln!(
            f,
            "schema check: {}, {} in {}",
            plural(self.errors().count(), "error"),
            plural(self.warnings().count(), "warning"),
            plural(models, "model")
        )?;
        let header = ["level", "model", "table", "column", "problem"];
        let rows: Vec<[String; 5]> = self
            .findings
            .iter()
            .map(|x| {
                [
                    x.severity.to_string(),
                    x.model.to_owned(),
                    x.table.to_owned(),
                    x.column.clone(),
                    x.message.clone(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut line = |cells: [&str; 5]| -> fmt::Result {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i == 4 {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            writeln!(f, "{}", text.trim_end())
        };
        line(header)?;
        for row in &rows {
            line([&row[0], &row[1], &row[2], &row[3], &row[4]])?;
        }
        Ok(())
    }
}

/// The table, as `Display` prints it: `check!(..).await.into_result().unwrap()` shows it when
/// it fails a test.
impl fmt::Debug for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for CheckReport {}
