//! The schema check: each factory compared with the live table it writes to, column by
//! column, without inserting anything. The derive describes each field ([`FieldInfo`]); each
//! backend reads its catalogue in one query per table ([`CheckBackend`]); this module compares
//! the two and words what it finds.

/// Checks that factories match the live tables they write to, without inserting anything:
/// `check!(&mut tx, User, Post, Comment).await` returns a [`CheckReport`]. It reads each
/// table's catalogue (one query, and one prepared but never run `SELECT` for sqlx's column
/// types) and draws 1 000 objects from each factory with the run's seed, then reports:
///
/// - a column the model names that the table lacks, a `NOT NULL` column without default that no
///   field fills, a `primary_key`/`generated` field the database does not fill (errors);
/// - a column the database fills (default, identity, trigger) that the factory fills with random
///   values (warning);
/// - a field type sqlx cannot decode from the column's type (error), a non-`Option` field on a
///   nullable column (warning), sampled `NULL`s for a `NOT NULL` column (error);
/// - sampled text longer than a `VARCHAR(n)`/`CHAR(n)`, sampled integers outside the column's
///   range, and `CHECK` constraints on columns filled with unconstrained random values (errors);
/// - enum values that are not labels of the column's enum, and labels with no variant (errors);
/// - an `association` whose column has no `FOREIGN KEY` to the parent's table, and a foreign-key
///   column filled with random values (warnings).
///
/// In a test: `check!(&mut tx, User, Post).await.into_result().unwrap()` fails on errors and
/// prints the report; `.deny_warnings()` first fails on warnings too. Models are listed, as
/// for [`lint!`](crate::lint!), so a model its backend cannot store is a compile error here.
#[macro_export]
macro_rules! check {
    ($conn:expr, $($model:ty),+ $(,)?) => {
        async {
            let conn = $conn;
            let mut report = $crate::CheckReport::default();
            $(
                $crate::__private::check_model::<_, $model>(
                    &mut *conn,
                    ::core::stringify!($model),
                    &mut report,
                )
                .await;
            )+
            report
        }
    };
}

mod compare;
mod fields;
mod report;

use sqlx::Database;

use crate::db::{CheckBackend, ColumnFacts, Constraint};
use crate::future::BoxFuture;
use crate::session::IntoSession;
use compare::{compare, is_null_default};
pub use fields::{
    CheckColumn, CheckFields, CheckModel, ColumnFns, FieldFacts, Fill, MeasureKnown, MeasureOther,
    ParentTable, column, column_read_as, json_column, sample_seed,
};
use fields::{FieldInfo, fields};
pub use report::{CheckReport, Finding, Severity};

/// How many objects the check draws from each factory to measure its values.
pub const SAMPLES: usize = 1000;

/// Checks model `M` against its table on `session`'s connection and adds what it finds to
/// `report`. What `check!` runs per model. Not an `async fn`: the bound would then be
/// reported three times (call, future, `.await`) instead of once.
pub fn check_model<'a, C, M>(
    session: &'a mut C,
    model: &'static str,
    report: &'a mut CheckReport,
) -> BoxFuture<'a, ()>
where
    C: IntoSession + ?Sized,
    C::Database: Checkable<M>,
{
    <C::Database as Checkable<M>>::check(session.connection(), model, report)
}

async fn check<DB, M>(conn: &mut DB::Connection, model: &'static str, report: &mut CheckReport)
where
    DB: CheckBackend,
    M: CheckModel<DB>,
{
    report.checked.push(model);
    let table = M::TABLE;
    let columns = match guarded::<DB, _>(conn, |c| DB::columns(c, table)).await {
        Ok(Some(columns)) => columns,
        Ok(None) => {
            report.push(
                Severity::Error,
                model,
                table,
                "",
                "no such table".to_owned(),
            );
            return;
        }
        Err(e) => {
            report.push(
                Severity::Error,
                model,
                table,
                "",
                format!("reading the catalogue failed: {e}"),
            );
            return;
        }
    };
    // `DEFAULT NULL` fills nothing: the column reads NULL unless the INSERT sends a value.
    let mut columns = columns;
    for column in &mut columns {
        if column.filled_by.as_deref().is_some_and(is_null_default) {
            column.filled_by = None;
        }
    }
    let fields = fields::<DB, M>();
    let find = |name: &str| {
        columns.iter().position(|c| {
            if DB::EXACT_COLUMN_NAMES {
                c.name == name
            } else {
                c.name.eq_ignore_ascii_case(name)
            }
        })
    };
    let matched: Vec<Option<usize>> = fields.iter().map(|f| find(f.column)).collect();

    // The types sqlx sees, for the columns that exist (a missing one would fail the prepare,
    // and on PostgreSQL abort the caller's transaction).
    let present: Vec<&str> = fields
        .iter()
        .zip(&matched)
        .filter(|(_, m)| m.is_some())
        .map(|(f, _)| f.column)
        .collect();
    let mut types = Vec::new();
    if !present.is_empty() {
        let sql = crate::db::sql::select_nothing_sql::<DB>(table, &present);
        match guarded::<DB, _>(conn, |c| DB::column_types(c, sql)).await {
            Ok(found) => types = found,
            Err(e) => report.push(
                Severity::Error,
                model,
                table,
                "",
                format!("preparing a SELECT of its columns failed: {e}"),
            ),
        }
    }
    let mut types = types.into_iter();

    // A factory that panics drawing an object panics on every create: an error here, not a
    // panic of the check.
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        M::sample(SAMPLES, crate::seed::run_seed())
    }));
    let samples = match drawn {
        Ok(samples) => samples,
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            report.push(
                Severity::Error,
                model,
                table,
                "",
                format!("drawing an object panics ({text}): every create fails"),
            );
            Vec::new()
        }
    };
    let mut in_order: Vec<(usize, Severity, String)> = Vec::new();
    for (field, position) in fields.iter().zip(&matched) {
        let Some(position) = *position else {
            in_order.push((
                usize::MAX,
                Severity::Error,
                format!(
                    "field `{}` names this column, which the table does not have",
                    field.field
                ),
            ));
            continue;
        };
        let column = &columns[position];
        let type_info = types.next();
        for (severity, message) in compare(field, column, type_info.as_ref(), &samples) {
            in_order.push((position, severity, message));
        }
    }
    // Columns no field fills.
    for (position, column) in columns.iter().enumerate() {
        if matched.contains(&Some(position)) {
            continue;
        }
        if column.not_null && column.filled_by.is_none() {
            in_order.push((
                position,
                Severity::Error,
                "NOT NULL without a default, and no field of the model fills it: every create fails"
                    .to_owned(),
            ));
        }
    }
    // CHECK constraints, each once (a table constraint is listed under every column it names),
    // under the first column it names.
    let mut seen: Vec<&Constraint> = Vec::new();
    for (position, column) in columns.iter().enumerate() {
        for constraint in &column.checks {
            if seen.contains(&constraint) {
                continue;
            }
            seen.push(constraint);
            if let Some(finding) =
                judge_check::<DB, M>(conn, constraint, &columns, &fields, &matched, &samples).await
            {
                in_order.push((position, finding.0, finding.1));
            }
        }
    }
    // Table order; missing columns (named by the model only) after the table's.
    let mut missing = fields
        .iter()
        .zip(&matched)
        .filter(|(_, m)| m.is_none())
        .map(|(f, _)| f.column);
    in_order.sort_by_key(|(position, ..)| *position);
    for (position, severity, message) in in_order {
        let column = match columns.get(position) {
            Some(c) => c.name.as_str(),
            None => missing.next().unwrap_or_default(),
        };
        report.push(severity, model, table, column, message);
    }
}

/// Runs one catalogue statement of the check. Inside the caller's transaction it runs under a
/// savepoint of its own, rolled back to when it fails: on PostgreSQL a failed statement would
/// otherwise abort the caller's transaction. Cancelled midway, the savepoint stays open until
/// the caller's transaction ends; it wrote nothing.
async fn guarded<DB, T>(
    conn: &mut DB::Connection,
    run: impl for<'c> FnOnce(&'c mut DB::Connection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error>
where
    DB: CheckBackend,
{
    if !crate::scope::in_transaction::<DB>(conn) {
        return run(conn).await;
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let name = format!(
        "sqlx_factory_check_{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    DB::execute_raw(conn, format!("SAVEPOINT {name}")).await?;
    match run(conn).await {
        Ok(value) => {
            DB::execute_raw(conn, format!("RELEASE SAVEPOINT {name}")).await?;
            Ok(value)
        }
        Err(e) => {
            // The statement's own error is the one to report.
            let _ = DB::execute_raw(
                conn,
                format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
            )
            .await;
            Err(e)
        }
    }
}

/// One `CHECK` judged by the sampled values: the database evaluates the constraint's own
/// expression over them in a `SELECT` from a `VALUES` list (nothing is inserted), so every form
/// it can take, multi-column ones included, is judged as an INSERT would judge it. An error
/// with the first sampled row that fails it; a warning where it cannot be evaluated; nothing
/// when it names no column the factory makes values for.
async fn judge_check<DB: CheckBackend, M: CheckModel<DB>>(
    conn: &mut DB::Connection,
    constraint: &Constraint,
    columns: &[ColumnFacts],
    fields: &[FieldInfo<DB, M>],
    matched: &[Option<usize>],
    samples: &[M],
) -> Option<(Severity, String)> {
    let shown = &constraint.shown;
    let cannot = |reason: String| {
        Some((
            Severity::Warning,
            format!("{shown} cannot be judged by the sampled values: {reason}"),
        ))
    };
    // Each named column: a field's sampled values, or NULL (no field, nothing fills it).
    let mut sampled: Vec<(&ColumnFacts, &FieldInfo<DB, M>)> = Vec::new();
    let mut nulls: Vec<&ColumnFacts> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for name in &constraint.columns {
        let Some(position) = columns.iter().position(|c| &c.name == name) else {
            continue;
        };
        let column = &columns[position];
        match matched.iter().position(|m| *m == Some(position)) {
            None if column.filled_by.is_none() => nulls.push(column),
            None => unknown.push(format!("the database fills `{name}`")),
            Some(i) => {
                let field = &fields[i];
                match field.fill {
                    Fill::PrimaryKey | Fill::Generated => {
                        unknown.push(format!("the database fills `{name}`"));
                    }
                    Fill::Association => {
                        unknown.push(format!("`{name}` comes from the parent row"));
                    }
                    Fill::Required => unknown.push(format!("the test sets `{name}`")),
                    _ => sampled.push((column, field)),
                }
            }
        }
    }
    // Nothing the factory makes up: its values are the database's, the parent's or the test's.
    if sampled.is_empty() {
        return None;
    }
    if samples.is_empty() {
        return cannot("the model has `required` fields, so no objects are drawn".to_owned());
    }
    if !unknown.is_empty() {
        return cannot(unknown.join(", "));
    }

    let names: Vec<&str> = sampled
        .iter()
        .map(|(c, _)| c.name.as_str())
        .chain(nulls.iter().map(|c| c.name.as_str()))
        .collect();
    let cast = |sql: &mut String, value: &dyn Fn(&mut String), column: &ColumnFacts| {
        match &column.cast_type {
            Some(ty) => {
                sql.push_str("CAST(");
                value(sql);
                sql.push_str(" AS ");
                sql.push_str(ty);
                sql.push(')');
            }
            None => value(sql),
        }
        if let Some(collation) = &column.collation {
            sql.push_str(" COLLATE ");
            sql.push_str(collation);
        }
    };
    let per_statement = (DB::MAX_BIND_PARAMS / sampled.len()).clamp(1, samples.len());
    let mut select = String::from("SELECT ");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            select.push_str(", ");
        }
        select.push_str("CAST(");
        DB::push_ident(&mut select, name);
        select.push_str(" AS ");
        select.push_str(DB::TEXT_TYPE);
        select.push(')');
    }
    for chunk in samples.chunks(per_statement) {
        // The rows: `(..), (..)` for a `VALUES` list, or `SELECT .. AS a UNION ALL SELECT ..`
        // on MariaDB, whose `VALUES` reads bound parameters as NULL in a derived table.
        let mut rows = String::new();
        let mut args = <DB as Database>::Arguments::default();
        let mut index = 0;
        for (r, row) in chunk.iter().enumerate() {
            rows.push_str(match (DB::VALUES_WITH_PARAMETERS, r) {
                (true, 0) => "(",
                (true, _) => ", (",
                (false, 0) => "SELECT ",
                (false, _) => " UNION ALL SELECT ",
            });
            let name_it = |sql: &mut String, i: usize| {
                if !DB::VALUES_WITH_PARAMETERS && r == 0 {
                    sql.push_str(" AS ");
                    DB::push_ident(sql, names[i]);
                }
            };
            for (i, (column, field)) in sampled.iter().enumerate() {
                if i > 0 {
                    rows.push_str(", ");
                }
                if !(field.db.bind)(row.field(field.index).1, &mut args) {
                    // MariaDB's own `json_valid` on a JSON column: sqlx sends valid JSON.
                    if constraint
                        .expr
                        .to_ascii_lowercase()
                        .starts_with("json_valid(")
                    {
                        return None;
                    }
                    return cannot(format!(
                        "`{}` is bound through a conversion (`json`, `into` or `try_from`)",
                        field.field
                    ));
                }
                index += 1;
                cast(&mut rows, &|sql| DB::push_placeholder(sql, index), column);
                name_it(&mut rows, i);
            }
            for (i, column) in nulls.iter().enumerate() {
                rows.push_str(", ");
                cast(&mut rows, &|sql| sql.push_str("NULL"), column);
                name_it(&mut rows, sampled.len() + i);
            }
            if DB::VALUES_WITH_PARAMETERS {
                rows.push(')');
            }
        }
        let mut sql = String::new();
        if DB::VALUES_WITH_PARAMETERS {
            sql.push_str("WITH sqlx_factory_sample (");
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                DB::push_ident(&mut sql, name);
            }
            sql.push_str(") AS (VALUES ");
            sql.push_str(&rows);
            sql.push_str(") ");
            sql.push_str(&select);
            sql.push_str(" FROM sqlx_factory_sample");
        } else {
            sql.push_str(&select);
            sql.push_str(" FROM (");
            sql.push_str(&rows);
            sql.push_str(") AS sqlx_factory_sample");
        }
        sql.push_str(" WHERE NOT (");
        sql.push_str(&constraint.expr);
        sql.push_str(") LIMIT 1");
        let sql: std::sync::Arc<str> = sql.into();
        let rows = match guarded::<DB, _>(conn, |c| DB::fetch_all(c, sql, args)).await {
            Ok(rows) => rows,
            // A data exception (SQLSTATE class 22: a division by zero, a value out of range)
            // or a domain's CHECK refusing the cast (23514: an enclosing domain's own) comes
            // from the values, cast as a create casts them: the INSERT of such a value meets it
            // as well.
            Err(e)
                if e.as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|code| code.starts_with("22") || code == "23514") =>
            {
                return Some((
                    Severity::Error,
                    format!(
                        "evaluating {shown} over sampled values fails ({e}): creates with such values fail"
                    ),
                ));
            }
            Err(e) => {
                return cannot(format!(
                    "the database could not evaluate it over them ({e})"
                ));
            }
        };
        if let Some(row) = rows.first() {
            let values = names
                .iter()
                .zip(DB::texts(row))
                .map(|(name, value)| format!("{name} = {}", value.as_deref().unwrap_or("NULL")))
                .collect::<Vec<_>>()
                .join(", ");
            return Some((
                Severity::Error,
                format!(
                    "sampled values fail {shown} (first: {values}): give the field `fake = ..` or `default = ..` that meets the constraint"
                ),
            ));
        }
    }
    None
}

/// A backend `M` can be checked on: what `check!` requires, so that a model with a field type
/// the backend cannot store is one error in our words, at the `check!` call.
#[diagnostic::on_unimplemented(
    message = "`{M}` cannot be checked on `{Self}`: a field's type cannot be stored there",
    label = "`{M}` has a field type without sqlx's `Encode` and `Type` for `{Self}`",
    note = "check it on a backend whose sqlx types cover every field (a `Vec<T>` array exists only on PostgreSQL), or change that field's type"
)]
pub trait Checkable<M>: CheckBackend {
    /// Checks `M` against its table on `conn`.
    fn check<'a>(
        conn: &'a mut Self::Connection,
        model: &'static str,
        report: &'a mut CheckReport,
    ) -> BoxFuture<'a, ()>;
}

#[diagnostic::do_not_recommend]
impl<DB: CheckBackend, M: CheckModel<DB>> Checkable<M> for DB {
    fn check<'a>(
        conn: &'a mut DB::Connection,
        model: &'static str,
        report: &'a mut CheckReport,
    ) -> BoxFuture<'a, ()> {
        Box::pin(check::<DB, M>(conn, model, report))
    }
}
