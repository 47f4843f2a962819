//! SQL text for the inserts, built once per model, backend, column set and row count.

use std::sync::{Arc, Mutex, PoisonError};

use super::backend::Backend;
use crate::column::{Column, ColumnSet, binds_per_row, sent_columns};

/// Appends a table name, quoting each part of a schema-qualified name (`app.users`).
fn push_table<DB: Backend>(sql: &mut String, table: &str) {
    for (i, part) in table.split('.').enumerate() {
        if i > 0 {
            sql.push('.');
        }
        DB::push_ident(sql, part);
    }
}

/// The table's name quoted as the backend quotes it (`"app"."users"`), for catalogue lookups
/// that take a name rather than an identifier (`to_regclass`).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // only PostgreSQL's check uses it
pub(crate) fn quoted_table<DB: Backend>(table: &str) -> String {
    let mut sql = String::new();
    push_table::<DB>(&mut sql, table);
    sql
}

/// `SELECT a, b FROM t ORDER BY a, b`: what a seed's rows store of every row of a parent table.
pub(crate) fn select_columns_sql<DB: Backend>(table: &str, columns: &[&str]) -> String {
    let mut sql = String::from("SELECT ");
    push_names::<DB>(&mut sql, columns);
    sql.push_str(" FROM ");
    push_table::<DB>(&mut sql, table);
    sql.push_str(" ORDER BY ");
    push_names::<DB>(&mut sql, columns);
    sql
}

fn push_names<DB: Backend>(sql: &mut String, columns: &[&str]) {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        DB::push_ident(sql, column);
    }
}

/// `SELECT a, b FROM t WHERE 1 = 0`: prepared, never run, by the schema check to learn the
/// column types sqlx sees (the same `TypeInfo` a decode compares against).
pub(crate) fn select_nothing_sql<DB: Backend>(table: &str, columns: &[&str]) -> String {
    let mut sql = String::from("SELECT ");
    push_names::<DB>(&mut sql, columns);
    sql.push_str(" FROM ");
    push_table::<DB>(&mut sql, table);
    sql.push_str(" WHERE 1 = 0");
    sql
}

/// `INSERT INTO t (a, b) VALUES (..), (..) RETURNING <every column>` for `rows` rows.
///
/// A row that sends no column at all uses the backend's empty-row form, one row per statement.
pub fn insert_sql<DB: Backend>(
    table: &str,
    columns: &'static [Column],
    set: ColumnSet,
    rows: usize,
) -> String {
    let mut sql = insert_values_sql::<DB>(table, columns, set, rows);
    push_returning::<DB>(&mut sql, columns);
    sql
}

/// `INSERT INTO t (a, b) VALUES (..), (..)` with no `RETURNING`: seeding mode, where only the
/// count matters, so nothing is sent back or decoded.
pub(crate) fn insert_values_sql<DB: Backend>(
    table: &str,
    columns: &'static [Column],
    set: ColumnSet,
    rows: usize,
) -> String {
    let mut sql = String::with_capacity(64 + 16 * columns.len() * (rows + 1));
    sql.push_str("INSERT INTO ");
    push_table::<DB>(&mut sql, table);
    let per_row = binds_per_row(columns, set);
    if per_row == 0 {
        sql.push(' ');
        sql.push_str(DB::EMPTY_ROW_VALUES);
    } else {
        sql.push_str(" (");
        for (i, name) in sent_columns(columns, set).enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            DB::push_ident(&mut sql, name);
        }
        sql.push_str(") VALUES ");
        let mut index = 0;
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for i in 0..per_row {
                if i > 0 {
                    sql.push_str(", ");
                }
                index += 1;
                DB::push_placeholder(&mut sql, index);
            }
            sql.push(')');
        }
    }
    sql
}

/// `COPY t (a, b) FROM STDIN (FORMAT binary)`: seeding mode on PostgreSQL, the columns an
/// INSERT with `set` would send, in the same order as `Insert::bind` writes them.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn copy_binary_sql<DB: Backend>(
    table: &str,
    columns: &'static [Column],
    set: ColumnSet,
) -> String {
    let mut sql = String::from("COPY ");
    push_table::<DB>(&mut sql, table);
    sql.push_str(" (");
    for (i, name) in sent_columns(columns, set).enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        DB::push_ident(&mut sql, name);
    }
    sql.push_str(") FROM STDIN (FORMAT binary)");
    sql
}

/// ` RETURNING <every column>`, each aliased to the name `FromRow` reads.
fn push_returning<DB: Backend>(sql: &mut String, columns: &'static [Column]) {
    sql.push_str(" RETURNING ");
    push_columns::<DB>(sql, columns);
}

fn push_columns<DB: Backend>(sql: &mut String, columns: &'static [Column]) {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        DB::push_ident(sql, column.name);
        if column.from_row_name != column.name {
            sql.push_str(" AS ");
            DB::push_ident(sql, column.from_row_name);
        }
    }
}

/// `UPDATE t SET column = CASE key WHEN ? THEN ? .. END WHERE key IN (?, ..)` for `rows`
/// rows: sets the `back_reference` keys of a chunk in one statement. Binds (key, value) per
/// row, then the keys again.
pub(crate) fn update_sql<DB: Backend>(table: &str, column: &str, key: &str, rows: usize) -> String {
    let mut sql = String::from("UPDATE ");
    push_table::<DB>(&mut sql, table);
    sql.push_str(" SET ");
    DB::push_ident(&mut sql, column);
    sql.push_str(" = CASE ");
    DB::push_ident(&mut sql, key);
    let mut index = 0;
    let mut next = |sql: &mut String| {
        index += 1;
        DB::push_placeholder(sql, index);
    };
    for _ in 0..rows {
        sql.push_str(" WHEN ");
        next(&mut sql);
        sql.push_str(" THEN ");
        next(&mut sql);
    }
    sql.push_str(" END WHERE ");
    DB::push_ident(&mut sql, key);
    sql.push_str(" IN (");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        next(&mut sql);
    }
    sql.push(')');
    sql
}

/// `SELECT <every column> FROM t WHERE (k1 = ? AND k2 = ?) OR ..` for `count` keys: the rows a
/// get-or-create INSERT left in place.
pub(crate) fn select_by_keys_sql<DB: Backend>(
    table: &str,
    columns: &'static [Column],
    keys: &[&str],
    count: usize,
    latest: bool,
) -> String {
    let mut sql = String::from("SELECT ");
    push_columns::<DB>(&mut sql, columns);
    sql.push_str(" FROM ");
    push_table::<DB>(&mut sql, table);
    sql.push_str(" WHERE ");
    let mut index = 0;
    for i in 0..count {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push('(');
        for (j, key) in keys.iter().enumerate() {
            if j > 0 {
                sql.push_str(" AND ");
            }
            DB::push_ident(&mut sql, key);
            sql.push_str(" = ");
            index += 1;
            DB::push_placeholder(&mut sql, index);
        }
        sql.push(')');
    }
    if latest {
        sql.push_str(DB::LATEST_READ);
    }
    sql
}

/// The INSERT texts one model has needed so far, so each is built once and sqlx's
/// per-connection statement cache sees the same text every time.
#[derive(Debug, Default)]
pub struct SqlCache {
    entries: Mutex<Vec<(CacheKey, Arc<str>)>>,
}

/// A model's table and its columns: what the INSERT texts are built from.
pub(crate) type Table = (&'static str, &'static [Column]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CacheKey {
    backend: &'static str,
    set: ColumnSet,
    rows: usize,
    returning: Returning,
}

/// What an INSERT text returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Returning {
    /// Every column: `create`, `create_batch`.
    All,
    /// Nothing: `insert_many`.
    Nothing,
    /// The key column alone: `insert_many` of parents `with_children`.
    Key(&'static str),
}

impl SqlCache {
    /// An empty cache, for a `static`.
    pub const fn new() -> Self {
        SqlCache {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The INSERT text for `rows` rows of `M` with `set` on `DB`, built on first use.
    pub(crate) fn insert_sql<DB: Backend>(
        &self,
        table: Table,
        set: ColumnSet,
        rows: usize,
    ) -> Arc<str> {
        self.get::<DB>(table, set, rows, Returning::All)
    }

    /// The seeding INSERT text (no `RETURNING`) for `rows` rows: one text per chunk size, so
    /// every full chunk reuses the connection's prepared statement.
    pub(crate) fn seed_sql<DB: Backend>(
        &self,
        table: Table,
        set: ColumnSet,
        rows: usize,
    ) -> Arc<str> {
        self.get::<DB>(table, set, rows, Returning::Nothing)
    }

    /// The seeding INSERT text returning the key column alone: parents whose children need
    /// their keys, nothing else read back.
    pub(crate) fn seed_key_sql<DB: Backend>(
        &self,
        table: Table,
        set: ColumnSet,
        rows: usize,
        key: &'static str,
    ) -> Arc<str> {
        self.get::<DB>(table, set, rows, Returning::Key(key))
    }

    fn get<DB: Backend>(
        &self,
        (table, columns): Table,
        set: ColumnSet,
        rows: usize,
        returning: Returning,
    ) -> Arc<str> {
        let key = CacheKey {
            backend: DB::NAME,
            set,
            rows,
            returning,
        };
        // A panic elsewhere while the lock was held leaves the list itself intact.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, sql)) = entries.iter().find(|(k, _)| *k == key) {
            return Arc::clone(sql);
        }
        let sql: Arc<str> = match returning {
            Returning::All => insert_sql::<DB>(table, columns, set, rows),
            Returning::Nothing => insert_values_sql::<DB>(table, columns, set, rows),
            Returning::Key(key) => {
                let mut sql = insert_values_sql::<DB>(table, columns, set, rows);
                sql.push_str(" RETURNING ");
                DB::push_ident(&mut sql, key);
                sql
            }
        }
        .into();
        entries.push((key, Arc::clone(&sql)));
        sql
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    const fn column(name: &'static str, db_filled: bool) -> Column {
        Column {
            name,
            from_row_name: name,
            db_filled,
        }
    }

    const COLUMNS: &[Column] = &[
        column("id", true),
        column("email", false),
        column("created_at", true),
    ];

    #[test]
    fn leaves_out_db_filled_columns_unless_set() {
        let sql = insert_sql::<sqlx::Sqlite>("users", COLUMNS, ColumnSet::default(), 2);
        assert_eq!(
            sql,
            r#"INSERT INTO "users" ("email") VALUES (?), (?) RETURNING "id", "email", "created_at""#
        );
        let set = ColumnSet::default().with(1, true);
        let sql = insert_sql::<sqlx::Sqlite>("app.users", COLUMNS, set, 1);
        assert_eq!(
            sql,
            r#"INSERT INTO "app"."users" ("email", "created_at") VALUES (?, ?) RETURNING "id", "email", "created_at""#
        );
    }

    #[test]
    fn schema_check_selects_nothing() {
        let sql = select_nothing_sql::<sqlx::Sqlite>("app.users", &["id", "order"]);
        assert_eq!(
            sql,
            r#"SELECT "id", "order" FROM "app"."users" WHERE 1 = 0"#
        );
        assert_eq!(quoted_table::<sqlx::Sqlite>("user"), r#""user""#);
    }

    #[test]
    fn aliases_renamed_columns_to_the_from_row_name() {
        const RENAMED: &[Column] = &[Column {
            name: "display",
            from_row_name: "display_name",
            db_filled: false,
        }];
        let sql = insert_sql::<sqlx::Sqlite>("users", RENAMED, ColumnSet::default(), 1);
        assert_eq!(
            sql,
            r#"INSERT INTO "users" ("display") VALUES (?) RETURNING "display" AS "display_name""#
        );
    }

    #[test]
    fn get_or_create_looks_up_keys() {
        let select = select_by_keys_sql::<sqlx::Sqlite>("users", COLUMNS, &["email"], 2, false);
        assert_eq!(
            select,
            r#"SELECT "id", "email", "created_at" FROM "users" WHERE ("email" = ?) OR ("email" = ?)"#
        );
    }

    #[test]
    fn empty_row_uses_backend_form() {
        const ONLY_ID: &[Column] = &[column("id", true)];
        let sql = insert_sql::<sqlx::Sqlite>("t", ONLY_ID, ColumnSet::default(), 1);
        assert_eq!(sql, r#"INSERT INTO "t" DEFAULT VALUES RETURNING "id""#);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_numbers_placeholders_across_rows() {
        let set = ColumnSet::default().with(0, true);
        let sql = insert_sql::<sqlx::Postgres>("user", COLUMNS, set, 2);
        assert_eq!(
            sql,
            r#"INSERT INTO "user" ("id", "email") VALUES ($1, $2), ($3, $4) RETURNING "id", "email", "created_at""#
        );
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_quotes_with_backticks() {
        let sql = insert_sql::<sqlx::MySql>("order`s", COLUMNS, ColumnSet::default(), 1);
        assert_eq!(
            sql,
            "INSERT INTO `order``s` (`email`) VALUES (?) RETURNING `id`, `email`, `created_at`"
        );
    }
}
