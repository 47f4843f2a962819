//! SQLite's catalogue: `pragma_table_xinfo`, `pragma_foreign_key_list` and the `CREATE TABLE` and
//! trigger text in `sqlite_master`. SQLite enforces neither `VARCHAR(n)` nor integer widths and
//! has no enums, so those facts are left empty.

use sqlx::sqlite::SqliteTypeInfo;
use sqlx::{Column, Encode, Executor, Row, Sqlite, SqliteConnection, Statement};

use crate::db::catalogue::{
    Bound, CheckBackend, ColumnFacts, Constraint, column_types_method, texts_method,
};
use crate::future::BoxFuture;

/// One row per column, with the table's `CREATE TABLE` text and its triggers' text (the same on
/// every row; `CHECK`s and trigger assignments are found in it).
const COLUMNS_SQL: &str = r#"
SELECT p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden,
       (SELECT group_concat(f."table", char(31)) FROM pragma_foreign_key_list(?1, ?2) f
         WHERE f."from" = p.name) AS refs,
       (SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1) AS table_sql,
       (SELECT group_concat(sql, char(31)) FROM sqlite_master
         WHERE type = 'trigger' AND tbl_name = ?1) AS triggers,
       (SELECT count(*) FROM pragma_table_info(?1, ?2) WHERE pk > 0) AS pk_count
FROM pragma_table_xinfo(?1, ?2) p
ORDER BY p.cid
"#;

impl CheckBackend for Sqlite {
    const EXACT_COLUMN_NAMES: bool = false;

    fn columns<'c>(
        conn: &'c mut SqliteConnection,
        table: &'c str,
    ) -> BoxFuture<'c, Result<Option<Vec<ColumnFacts>>, sqlx::Error>> {
        Box::pin(async move {
            let (schema, name) = match table.rsplit_once('.') {
                Some((schema, name)) => (schema, name),
                None => ("main", table),
            };
            let rows = sqlx::query(COLUMNS_SQL)
                .bind(name)
                .bind(schema)
                .fetch_all(&mut *conn)
                .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let mut columns = Vec::with_capacity(rows.len());
            for row in rows {
                let name: String = row.try_get("name")?;
                let declared: String = row.try_get("type")?;
                let not_null: i64 = row.try_get("notnull")?;
                let default: Option<String> = row.try_get("dflt_value")?;
                let pk: i64 = row.try_get("pk")?;
                let hidden: i64 = row.try_get("hidden")?;
                let refs: Option<String> = row.try_get("refs")?;
                let table_sql: Option<String> = row.try_get("table_sql")?;
                let triggers: Option<String> = row.try_get("triggers")?;
                let pk_count: i64 = row.try_get("pk_count")?;
                let table_sql = table_sql.unwrap_or_default();
                let strict = is_strict(&table_sql);
                let filled_by =
                    if pk == 1 && pk_count == 1 && declared.eq_ignore_ascii_case("integer") {
                        Some("INTEGER PRIMARY KEY".to_owned())
                    } else if hidden == 2 || hidden == 3 {
                        Some("GENERATED ALWAYS".to_owned())
                    } else if let Some(default) = default {
                        Some(format!("DEFAULT {default}"))
                    } else if triggers
                        .as_deref()
                        .unwrap_or_default()
                        .split('\u{1f}')
                        .any(|trigger| trigger_sets(trigger, &name))
                    {
                        Some("an INSERT trigger".to_owned())
                    } else {
                        None
                    };
                let checks = column_checks(&table_sql, &name)
                    .into_iter()
                    .map(|shown| Constraint {
                        expr: shown.trim_start_matches("CHECK").trim().to_owned(),
                        shown,
                        columns: Vec::new(),
                    })
                    .collect();
                columns.push(ColumnFacts {
                    not_null: not_null != 0 || pk > 0,
                    declared,
                    filled_by,
                    references: refs
                        .map(|r| r.split('\u{1f}').map(str::to_owned).collect())
                        .unwrap_or_default(),
                    checks,
                    name,
                    strict,
                    ..ColumnFacts::default()
                });
            }
            crate::db::catalogue::name_check_columns(&mut columns, mentions);
            Ok(Some(columns))
        })
    }

    // SQLite's declared types map onto sqlx's few storage classes; a declared type sqlx does not
    // recognise (`UUID`, `NUMERIC`) comes back as NULL and is not compared.
    column_types_method!(SqliteConnection, sqlx::sqlite::SqliteTypeInfo);

    const TEXT_TYPE: &'static str = "TEXT";

    texts_method!(sqlx::sqlite::SqliteRow);

    fn measure_bound<T: for<'q> Encode<'q, Self> + sqlx::Type<Self> + ?Sized>(
        value: &T,
    ) -> crate::db::catalogue::Measure {
        match Self::bound(value) {
            Some(Bound::Null) => crate::db::catalogue::Measure::Null,
            Some(Bound::Int(v)) => crate::db::catalogue::Measure::Int(i128::from(v)),
            Some(Bound::Text(t)) => crate::db::catalogue::Measure::Text(t.chars().count()),
            _ => crate::db::catalogue::Measure::Other,
        }
    }

    fn bound<T: for<'q> Encode<'q, Self> + ?Sized>(value: &T) -> Option<Bound> {
        // sqlx keeps the encoded value to itself but for `Debug`:
        // `SqliteArgumentsBuffer([Text("12")])`, `..([Int64(5)])`, `..([Double(2.0)])`.
        let mut buffer = sqlx::sqlite::SqliteArgumentsBuffer::default();
        match value.encode_by_ref(&mut buffer) {
            Ok(sqlx::encode::IsNull::Yes) => return Some(Bound::Null),
            Ok(sqlx::encode::IsNull::No) => {}
            Err(_) => return None,
        }
        let debug = format!("{buffer:?}");
        let inner = debug
            .strip_prefix("SqliteArgumentsBuffer([")?
            .strip_suffix("])")?;
        let (variant, rest) = inner.split_once('(')?;
        let content = rest.strip_suffix(')')?;
        match variant {
            "Null" => Some(Bound::Null),
            "Int" | "Int64" => content.parse().ok().map(Bound::Int),
            "Double" => content.parse().ok().map(Bound::Real),
            "Blob" => Some(Bound::Blob),
            "Text" | "TextSlice" => {
                let text = content.strip_prefix('"')?.strip_suffix('"')?;
                // Escaped text holds a character no number has: what matters is that it
                // stays text.
                Some(Bound::Text(if text.contains('\\') {
                    "\u{fffd}".to_owned()
                } else {
                    text.to_owned()
                }))
            }
            _ => None,
        }
    }

    fn stored_type(column: &ColumnFacts, value: &Bound) -> Option<(SqliteTypeInfo, &'static str)> {
        let class = stored_class(column_affinity(column), value)?;
        let ty = match class {
            Class::Integer => <i64 as sqlx::Type<Sqlite>>::type_info(),
            Class::Real => <f64 as sqlx::Type<Sqlite>>::type_info(),
            Class::Text => <String as sqlx::Type<Sqlite>>::type_info(),
            Class::Blob => <Vec<u8> as sqlx::Type<Sqlite>>::type_info(),
        };
        Some((ty, class.name()))
    }

    fn refuses(column: &ColumnFacts, value: &Bound) -> Option<&'static str> {
        if !column.strict {
            return None;
        }
        // A STRICT column converts by its affinity, then takes only its own class (`ANY`:
        // every value, as it comes).
        let class = stored_class(column_affinity(column), value)?;
        let takes = match column_affinity(column) {
            _ if column.declared.eq_ignore_ascii_case("any") => return None,
            Affinity::Integer => Class::Integer,
            Affinity::Real => Class::Real,
            Affinity::Text => Class::Text,
            Affinity::Blob | Affinity::Numeric => Class::Blob,
        };
        (class != takes).then_some(class.name())
    }

    const NULL_FAILS_DECODE: bool = false;

    fn encoded_text<T: for<'q> Encode<'q, Self> + ?Sized>(_value: &T) -> Option<String> {
        // No enums: nothing to compare labels with.
        None
    }
}

/// The affinity values are converted by in `column`: a STRICT table's `ANY` keeps each value
/// as it comes (elsewhere `ANY` has NUMERIC affinity).
fn column_affinity(column: &ColumnFacts) -> Affinity {
    if column.strict && column.declared.eq_ignore_ascii_case("any") {
        Affinity::Blob
    } else {
        affinity(&column.declared)
    }
}

/// Whether a `CREATE TABLE` text ends with the `STRICT` table option.
fn is_strict(table_sql: &str) -> bool {
    let Some(open) = table_sql.find('(') else {
        return false;
    };
    let Some(close) = matching_paren(table_sql, open) else {
        return false;
    };
    table_sql[close + 1..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .any(|option| option.eq_ignore_ascii_case("strict"))
}

/// SQLite's five type affinities, from a column's declared type (the rules of "Determination
/// of Column Affinity", in their order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

fn affinity(declared: &str) -> Affinity {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        Affinity::Integer
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Affinity::Text
    } else if d.contains("BLOB") || d.trim().is_empty() {
        Affinity::Blob
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// A stored value's storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Integer,
    Real,
    Text,
    Blob,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Integer => "INTEGER",
            Class::Real => "REAL",
            Class::Text => "TEXT",
            Class::Blob => "BLOB",
        }
    }
}

/// The class `value` is stored as in a column of `affinity`: TEXT turns numbers into text;
/// INTEGER and NUMERIC turn text that is a well-formed number into one, and any real with an
/// exact integer value into an integer; REAL turns integers and numeric text into reals; BLOB
/// keeps every value as it comes.
fn stored_class(affinity: Affinity, value: &Bound) -> Option<Class> {
    let integral = |x: f64| {
        x.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&x)
    };
    Some(match (affinity, value) {
        (_, Bound::Null) => return None,
        (_, Bound::Blob) => Class::Blob,
        (Affinity::Blob, Bound::Int(_)) => Class::Integer,
        (Affinity::Blob, Bound::Real(_)) => Class::Real,
        (Affinity::Blob | Affinity::Text, Bound::Text(_)) => Class::Text,
        (Affinity::Text, _) => Class::Text,
        (Affinity::Real, Bound::Int(_) | Bound::Real(_)) => Class::Real,
        (Affinity::Real, Bound::Text(t)) => match number(t) {
            Some(_) => Class::Real,
            None => Class::Text,
        },
        (Affinity::Integer | Affinity::Numeric, Bound::Int(_)) => Class::Integer,
        (Affinity::Integer | Affinity::Numeric, Bound::Real(x)) if integral(*x) => Class::Integer,
        (Affinity::Integer | Affinity::Numeric, Bound::Real(_)) => Class::Real,
        (Affinity::Integer | Affinity::Numeric, Bound::Text(t)) => match number(t) {
            Some(Number::Integer) => Class::Integer,
            Some(Number::Real(x)) if integral(x) => Class::Integer,
            Some(Number::Real(_)) => Class::Real,
            None => Class::Text,
        },
    })
}

enum Number {
    Integer,
    Real(f64),
}

/// `text` as SQLite reads a well-formed integer or real literal (surrounding spaces allowed;
/// hexadecimal is not converted); an integer too large for 64 bits is a real.
fn number(text: &str) -> Option<Number> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(match t.parse::<i64>() {
            Ok(_) => Number::Integer,
            Err(_) => Number::Real(t.parse().ok()?),
        });
    }
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(at) => (&digits[..at], Some(&digits[at + 1..])),
        None => (digits, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(whole) && all_digits(fraction)) || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || !all_digits(e) {
            return None;
        }
    }
    t.parse().ok().map(Number::Real)
}

/// The `CHECK`s that name `column`: in its own definition, or table constraints mentioning it.
fn column_checks(table_sql: &str, column: &str) -> Vec<String> {
    let Some(open) = table_sql.find('(') else {
        return Vec::new();
    };
    let Some(close) = matching_paren(table_sql, open) else {
        return Vec::new();
    };
    let body = &table_sql[open + 1..close];
    let mut out = Vec::new();
    for item in split_top_level(body) {
        let item = item.trim();
        let first = item
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or_default();
        // A keyword is never quoted; a quoted first word is a column's name.
        let first_lower = first.to_ascii_lowercase();
        let is_constraint = matches!(
            first_lower.as_str(),
            "constraint" | "check" | "primary" | "unique" | "foreign"
        );
        let checks = check_clauses(item);
        if is_constraint {
            out.extend(checks.into_iter().filter(|c| mentions(c, column)));
        } else {
            if leading_name(item).eq_ignore_ascii_case(column) {
                out.extend(checks);
            }
        }
    }
    out
}

/// The column name a column definition starts with: quoted (`"a ""b"""`, `` `a b` ``,
/// `[a b]`, spaces and doubled quotes included) or a bare word.
fn leading_name(item: &str) -> String {
    let close = match item.chars().next() {
        Some('"') => '"',
        Some('`') => '`',
        Some('[') => ']',
        _ => {
            let end = item
                .find(|c: char| c.is_whitespace() || c == '(')
                .unwrap_or(item.len());
            return item[..end].to_owned();
        }
    };
    let mut name = String::new();
    let mut chars = item[1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == close {
            if close != ']' && chars.peek() == Some(&close) {
                chars.next();
            } else {
                break;
            }
        }
        name.push(c);
    }
    name
}

/// `body` split at commas outside parentheses and quotes.
fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// Whether an `INSERT` trigger's body assigns `column` (`UPDATE .. SET column = ..`): SQLite
/// triggers cannot change `NEW`, so they fill columns with an UPDATE after the insert.
fn trigger_sets(trigger: &str, column: &str) -> bool {
    let lower = trigger.to_ascii_lowercase();
    let Some(begin) = lower.find("begin") else {
        return false;
    };
    if !mentions(&lower[..begin], "insert") {
        return false;
    }
    let body = &lower[begin..];
    let Some(set) = body.find(" set ") else {
        return false;
    };
    let column = column.to_ascii_lowercase();
    body[set..].match_indices(&column).any(|(i, _)| {
        let rest = body[set + i + column.len()..].trim_start_matches(['"', '`', ' ']);
        rest.starts_with('=') && !rest.starts_with("==")
    })
}

/// The text of every `CHECK (..)` in `sql`, each with balanced parentheses; a `check (` inside
/// a string or a quoted name is text, not a constraint.
fn check_clauses(sql: &str) -> Vec<String> {
    let lower = sql.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut quote: Option<u8> = None;
    let mut at = 0;
    while at < lower.len() {
        let b = lower.as_bytes()[at];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'\'' | b'"' | b'`') => quote = Some(b),
            None if b == b'[' => quote = Some(b']'),
            // Bytes, not a `str` slice: `at` may be inside a multi-byte character.
            None if lower.as_bytes()[at..].starts_with(b"check")
                && (at == 0 || !is_ident_char(lower.as_bytes()[at - 1])) =>
            {
                let rest = lower[at + 5..].trim_start();
                if rest.starts_with('(') {
                    let open = lower.len() - rest.len();
                    if let Some(close) = matching_paren(sql, open) {
                        out.push(format!("CHECK {}", &sql[open..=close]));
                        at = close + 1;
                        continue;
                    }
                }
            }
            None => {}
        }
        at += 1;
    }
    out
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The index of the `)` closing the `(` at `open`, skipping quoted text.
fn matching_paren(sql: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in sql[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `text` names `ident` as a whole word (quoted or not), ignoring ASCII case.
fn mentions(text: &str, ident: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let ident = ident.to_ascii_lowercase();
    // Quoted, a name's own quote is doubled: `"a ""b"""` names `a "b"`.
    let quoted = [
        format!("\"{}\"", ident.replace('"', "\"\"")),
        format!("`{}`", ident.replace('`', "``")),
        format!("[{ident}]"),
    ];
    if quoted.iter().any(|q| text.contains(q.as_str())) {
        return true;
    }
    let bytes = text.as_bytes();
    text.match_indices(&ident).any(|(i, _)| {
        let before = i == 0 || !is_ident_char(bytes[i - 1]);
        let end = i + ident.len();
        let after = end >= bytes.len() || !is_ident_char(bytes[end]);
        before && after
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_check_clauses() {
        let sql = "CREATE TABLE t (a INT CHECK (a >= 0), b TEXT, CONSTRAINT c CHECK(length(b) < 3 AND b <> ')'))";
        assert_eq!(
            check_clauses("CREATE TABLE t (\"é\" TEXT DEFAULT 'check (x)' CHECK (\"é\" <> 'é'))"),
            ["CHECK (\"é\" <> 'é')"]
        );
        assert_eq!(
            check_clauses(sql),
            ["CHECK (a >= 0)", "CHECK (length(b) < 3 AND b <> ')')"]
        );
        assert!(mentions("length(b) < 3", "b"));
        assert!(!mentions("length(bb) < 3", "b"));
        assert_eq!(leading_name("\"a \"\"b\"\"\" INT CHECK (1)"), "a \"b\"");
        assert_eq!(leading_name("[a b] INT"), "a b");
        assert_eq!(leading_name("`a b` INT"), "a b");
        assert_eq!(leading_name("ab(1)"), "ab");
    }

    #[test]
    fn numbers_as_sqlite_reads_them() {
        let class = |a, t: &str| stored_class(a, &Bound::Text(t.to_owned()));
        assert_eq!(class(Affinity::Integer, "12"), Some(Class::Integer));
        assert_eq!(class(Affinity::Integer, " -12 "), Some(Class::Integer));
        assert_eq!(class(Affinity::Integer, "1.0"), Some(Class::Integer));
        assert_eq!(class(Affinity::Integer, "1e3"), Some(Class::Integer));
        assert_eq!(class(Affinity::Numeric, "1.5"), Some(Class::Real));
        assert_eq!(
            class(Affinity::Integer, "99999999999999999999"),
            Some(Class::Real)
        );
        assert_eq!(class(Affinity::Real, "7"), Some(Class::Real));
        for text in ["0x10", "abc", ".", "-", "1e", "", "1.2.3", "t12"] {
            assert_eq!(class(Affinity::Integer, text), Some(Class::Text), "{text}");
        }
        assert_eq!(class(Affinity::Blob, "12"), Some(Class::Text));
        assert_eq!(
            stored_class(Affinity::Text, &Bound::Int(5)),
            Some(Class::Text)
        );
        assert_eq!(
            stored_class(Affinity::Integer, &Bound::Real(2.0)),
            Some(Class::Integer)
        );
        assert_eq!(
            stored_class(Affinity::Integer, &Bound::Real(2.5)),
            Some(Class::Real)
        );
        assert_eq!(affinity("VARCHAR(10)"), Affinity::Text);
        assert_eq!(affinity("BIGINT"), Affinity::Integer);
        assert_eq!(affinity(""), Affinity::Blob);
        assert_eq!(affinity("DOUBLE PRECISION"), Affinity::Real);
        assert_eq!(affinity("DATETIME"), Affinity::Numeric);
    }
}
