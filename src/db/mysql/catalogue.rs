//! MariaDB's catalogue: `information_schema.COLUMNS` with `KEY_COLUMN_USAGE`,
//! `CHECK_CONSTRAINTS`, `TRIGGERS` and `VIEWS`, in one query per table.

use sqlx::mysql::{MySqlConnection, MySqlTypeInfo};
use sqlx::{Column, Encode, Executor, MySql, Row, Statement};

use crate::db::catalogue::{
    CheckBackend, ColumnFacts, Constraint, column_types_method, numeric, texts_method,
};
use crate::future::BoxFuture;

/// One row per column of table `?` in schema `?` (the connection's database when NULL). Each
/// `information_schema` table is filtered by that schema and table name as constants, so that
/// MariaDB opens that one table's definition; filtered by the outer row's columns
/// (`k.TABLE_SCHEMA = c.TABLE_SCHEMA`) it would open every table of every database on the
/// server, once per column, and match names case-insensitively (`Shop.items` for
/// `shop.items`). The pair is bound [`TABLE_READS`] times, in the order of the text.
/// `COLUMN_DEFAULT` is the text `NULL` for a nullable column without a default (MariaDB ≥
/// 10.2.7), SQL NULL for a NOT NULL one. The table's `CHECK`s and `BEFORE INSERT` trigger bodies
/// come whole and are matched to columns in Rust (a column name is data, never part of a
/// `LIKE` or `REGEXP` pattern): a column-level `CHECK` is named after its column, table-level
/// ones name it quoted in the clause.
const COLUMNS_SQL: &str = r"
SELECT c.COLUMN_NAME AS name,
       c.COLUMN_TYPE AS declared,
       c.DATA_TYPE AS data_type,
       CAST(c.IS_NULLABLE = 'NO' OR c.COLUMN_KEY = 'PRI' AS SIGNED) AS not_null,
       CASE
         WHEN c.EXTRA LIKE '%auto_increment%' THEN 'AUTO_INCREMENT'
         WHEN c.IS_GENERATED = 'ALWAYS' THEN CONCAT('GENERATED ALWAYS AS (', c.GENERATION_EXPRESSION, ')')
         WHEN c.COLUMN_DEFAULT IS NOT NULL AND NOT (c.COLUMN_DEFAULT = 'NULL' AND c.IS_NULLABLE = 'YES')
           THEN CONCAT('DEFAULT ', c.COLUMN_DEFAULT)
       END AS filled_by,
       CASE WHEN c.DATA_TYPE IN ('varchar', 'char', 'varbinary', 'binary')
            THEN CAST(c.CHARACTER_MAXIMUM_LENGTH AS SIGNED) END AS max_chars,
       CASE WHEN c.DATA_TYPE IN ('decimal', 'bit') THEN CAST(c.NUMERIC_PRECISION AS SIGNED) END AS num_precision,
       c.CHARACTER_SET_NAME AS charset,
       c.COLLATION_NAME AS collation,
       CASE WHEN c.DATA_TYPE = 'decimal' THEN CAST(c.NUMERIC_SCALE AS SIGNED) END AS num_scale,
       (SELECT GROUP_CONCAT(k.REFERENCED_TABLE_NAME SEPARATOR '\n') FROM information_schema.KEY_COLUMN_USAGE k
         WHERE k.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND k.TABLE_NAME = ?
           AND k.COLUMN_NAME = c.COLUMN_NAME AND k.REFERENCED_TABLE_NAME IS NOT NULL) AS refs,
       (SELECT GROUP_CONCAT(CONCAT(ch.CONSTRAINT_NAME, char(30), ch.CHECK_CLAUSE) SEPARATOR '\0')
          FROM information_schema.CHECK_CONSTRAINTS ch
         WHERE ch.CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND ch.TABLE_NAME = ?) AS checks,
       (SELECT GROUP_CONCAT(t.ACTION_STATEMENT SEPARATOR '\0') FROM information_schema.TRIGGERS t
         WHERE t.EVENT_OBJECT_SCHEMA = COALESCE(?, DATABASE()) AND t.EVENT_OBJECT_TABLE = ?
           AND t.EVENT_MANIPULATION = 'INSERT' AND t.ACTION_TIMING = 'BEFORE') AS triggers,
       CAST(EXISTS (SELECT 1 FROM information_schema.VIEWS v
                     WHERE v.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND v.TABLE_NAME = ?)
            AS SIGNED) AS in_view
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND c.TABLE_NAME = ?
ORDER BY c.ORDINAL_POSITION
";

/// How many times [`COLUMNS_SQL`] takes the schema and the table name.
const TABLE_READS: usize = 5;

impl CheckBackend for MySql {
    const EXACT_COLUMN_NAMES: bool = false;
    // sqlx compares a derived enum's type info with the column's flags included.
    const SAME_NAME_HINT: &'static str = ": sqlx also compares the column's flags (NOT NULL, UNSIGNED), e.g. make an ENUM column nullable";

    fn columns<'c>(
        conn: &'c mut MySqlConnection,
        table: &'c str,
    ) -> BoxFuture<'c, Result<Option<Vec<ColumnFacts>>, sqlx::Error>> {
        Box::pin(async move {
            let (schema, name) = match table.rsplit_once('.') {
                Some((schema, name)) => (Some(schema), name),
                None => (None, table),
            };
            let mut query = sqlx::query(COLUMNS_SQL);
            for _ in 0..TABLE_READS {
                query = query.bind(schema).bind(name);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let split = |text: Option<String>| -> Vec<String> {
                text.map(|t| t.split('\n').map(str::to_owned).collect())
                    .unwrap_or_default()
            };
            let mut columns = Vec::with_capacity(rows.len());
            for row in rows {
                let declared: String = row.try_get("declared")?;
                let data_type: String = row.try_get("data_type")?;
                let not_null: i64 = row.try_get("not_null")?;
                let unsigned = declared.contains("unsigned");
                let bits = match data_type.as_str() {
                    "tinyint" => Some(8),
                    "smallint" => Some(16),
                    "mediumint" => Some(24),
                    "int" => Some(32),
                    "bigint" => Some(64),
                    _ => None,
                };
                let num_precision: Option<i64> = row.try_get("num_precision")?;
                let int_range = bits.map(|bits: u32| {
                    if unsigned {
                        (0, (1i128 << bits) - 1)
                    } else {
                        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
                    }
                });
                let int_range = match data_type.as_str() {
                    // Four-digit years (two-digit ones are converted, and 0 is kept).
                    "year" => Some((1901, 2155)),
                    "bit" => num_precision
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| *n < 64)
                        .map(|n| (0, (1i128 << n) - 1)),
                    _ => int_range,
                };
                let labels =
                    matches!(data_type.as_str(), "enum" | "set").then(|| enum_labels(&declared));
                // In UTC, the connection's time zone (sqlx sets it); grouped as the digits of
                // a `Measure::Moment`: date, time, microseconds.
                #[allow(clippy::inconsistent_digit_grouping)]
                let moments = (data_type == "timestamp")
                    .then_some((19700101_000001_000000, 20380119_031407_999999));
                let charset: Option<String> = row.try_get("charset")?;
                // A CHECK compares text in the column's character set and collation (a
                // binary one tells 'ABC' from 'abc'), not the connection's.
                let collation: Option<String> = row.try_get("collation")?;
                let text_cast = match (&charset, collation) {
                    (Some(charset), Some(collation))
                        if matches!(
                            data_type.as_str(),
                            "char"
                                | "varchar"
                                | "tinytext"
                                | "text"
                                | "mediumtext"
                                | "longtext"
                                | "enum"
                                | "set"
                        ) =>
                    {
                        Some((format!("CHAR CHARACTER SET {charset}"), collation))
                    }
                    _ => None,
                };
                let charset = charset
                    .filter(|c| matches!(c.as_str(), "latin1" | "ascii" | "utf8mb3" | "utf8"));
                let name: String = row.try_get("name")?;
                let filled_by: Option<String> = row.try_get("filled_by")?;
                let triggers: Option<String> = row.try_get("triggers")?;
                let filled_by = filled_by.or_else(|| {
                    triggers
                        .iter()
                        .flat_map(|t| t.split('\0'))
                        .any(|body| crate::db::catalogue::assigns_new(body, &name, '`'))
                        .then(|| "a BEFORE INSERT trigger".to_owned())
                });
                let checks: Option<String> = row.try_get("checks")?;
                let checks = checks
                    .iter()
                    .flat_map(|c| c.split('\0'))
                    .filter_map(|c| c.split_once('\u{1e}'))
                    .filter(|(constraint, clause)| {
                        constraint.eq_ignore_ascii_case(&name) || names(clause, &name)
                    })
                    .map(|(_, clause)| Constraint {
                        shown: format!("CHECK ({clause})"),
                        expr: clause.to_owned(),
                        columns: Vec::new(),
                    })
                    .collect();
                columns.push(ColumnFacts {
                    not_null: not_null != 0,
                    filled_by,
                    max_chars: row.try_get("max_chars")?,
                    int_range,
                    moments,
                    labels,
                    references: split(row.try_get("refs")?),
                    checks,
                    numeric: if data_type == "decimal" {
                        numeric(num_precision, row.try_get("num_scale")?)
                    } else {
                        None
                    },
                    label_set: data_type == "set",
                    in_view: row.try_get::<i64, _>("in_view")? != 0,
                    charset,
                    declared,
                    name,
                    ..ColumnFacts::default()
                });
                // A CHECK sees a decimal rounded to the column's scale, as it is stored.
                let column = columns.last_mut().expect("just pushed");
                column.cast_type = column
                    .numeric
                    .map(|(precision, scale)| format!("DECIMAL({precision},{scale})"));
                if let Some((cast_type, collation)) = text_cast {
                    column.cast_type = Some(cast_type);
                    column.collation = Some(collation);
                }
            }
            crate::db::catalogue::name_check_columns(&mut columns, names);
            Ok(Some(columns))
        })
    }

    // COM_STMT_PREPARE only: the column definitions, flags included, as a decode sees them.
    column_types_method!(MySqlConnection, MySqlTypeInfo);

    const TEXT_TYPE: &'static str = "CHAR";
    const VALUES_WITH_PARAMETERS: bool = false;

    texts_method!(sqlx::mysql::MySqlRow);

    fn measure_bound<T: for<'q> Encode<'q, Self> + sqlx::Type<Self> + ?Sized>(
        value: &T,
    ) -> crate::db::catalogue::Measure {
        use crate::db::catalogue::Measure;
        let ty = T::type_info();
        let name = sqlx::TypeInfo::name(&ty).to_owned();
        let mut buffer = Vec::new();
        match value.encode_by_ref(&mut buffer) {
            Ok(sqlx::encode::IsNull::Yes) => return Measure::Null,
            Ok(sqlx::encode::IsNull::No) => {}
            Err(_) => return Measure::Other,
        }
        // Binary protocol: text length-prefixed, integers little-endian at their width.
        let int = |bytes: &[u8]| -> Option<i128> {
            let unsigned = name.ends_with("UNSIGNED");
            let mut le = [0u8; 8];
            le.get_mut(..bytes.len())?.copy_from_slice(bytes);
            let raw = u64::from_le_bytes(le);
            let bits = bytes.len() * 8;
            Some(if unsigned || bits == 0 {
                i128::from(raw)
            } else {
                let shift = 64 - bits;
                i128::from(((raw << shift) as i64) >> shift)
            })
        };
        match name.split(' ').next().unwrap_or_default() {
            "TEXT" | "VARCHAR" | "CHAR" => Self::encoded_text(value)
                .map_or(Measure::Other, |t| Measure::Text(t.chars().count())),
            "TINYINT" | "SMALLINT" | "INT" | "BIGINT" if buffer.len() <= 8 => {
                int(&buffer).map_or(Measure::Other, Measure::Int)
            }
            // Bytes (a `Uuid` too), length-prefixed.
            "BLOB" | "VARBINARY" | "BINARY" => {
                length_prefixed(&buffer).map_or(Measure::Other, |b| Measure::Bytes(b.len()))
            }
            // Dates and times: the length, then year (2 bytes), month, day, hour, minute,
            // second and microseconds (4 bytes), as far as the length goes.
            "TIMESTAMP" | "DATETIME" | "DATE" => {
                moment(&buffer).map_or(Measure::Other, Measure::Moment)
            }
            // A decimal is sent as its text.
            #[cfg(feature = "rust_decimal")]
            "DECIMAL" => Self::encoded_text(value)
                .and_then(|t| t.parse().ok())
                .map_or(Measure::Other, Measure::Decimal),
            _ => Measure::Other,
        }
    }

    fn bytes_refused(field: &str, column: &MySqlTypeInfo, facts: &ColumnFacts) -> Option<String> {
        const USE: &str = "use a BINARY(n), VARBINARY(n) or BLOB column (BINARY(16) for a `Uuid`)";
        if field != "BLOB" {
            return None;
        }
        let text = matches!(
            sqlx::TypeInfo::name(column),
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT"
        );
        if facts.declared == "uuid" {
            // It takes the 16 bytes, and reads back its 36-character text.
            Some(format!("but MariaDB's `uuid` reads back as text: {USE}"))
        } else if text && facts.charset.as_deref() != Some("latin1") {
            // `latin1` stores every byte as a character of its own, and gives it back.
            Some(format!(
                "but `{}` holds text: bytes that are no text in its character set are refused, and what reads back is text, not the bytes sent; {USE}",
                facts.declared
            ))
        } else {
            None
        }
    }

    fn encoded_text<T: for<'q> Encode<'q, Self> + ?Sized>(value: &T) -> Option<String> {
        // Text is sent length-prefixed (a length-encoded integer); anything whose prefix does
        // not give exactly the rest of the bytes is not text.
        let mut buffer = Vec::new();
        if !matches!(
            value.encode_by_ref(&mut buffer),
            Ok(sqlx::encode::IsNull::No)
        ) {
            return None;
        }
        String::from_utf8(length_prefixed(&buffer)?.to_vec()).ok()
    }
}

/// A date/time value in the binary protocol as `YYYYMMDDhhmmssffffff`.
fn moment(buffer: &[u8]) -> Option<i128> {
    let (&len, rest) = buffer.split_first()?;
    let rest = rest.get(..usize::from(len))?;
    let byte = |i: usize| i128::from(rest.get(i).copied().unwrap_or(0));
    let year = match rest {
        [low, high, ..] => i128::from(u16::from_le_bytes([*low, *high])),
        _ => 0,
    };
    let micros = rest.get(7..11).map_or(0, |b| {
        i128::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    });
    let digits = [
        (year, 4),
        (byte(2), 2),
        (byte(3), 2),
        (byte(4), 2),
        (byte(5), 2),
        (byte(6), 2),
    ];
    let seconds = digits
        .iter()
        .fold(0i128, |acc, (part, width)| acc * 10i128.pow(*width) + part);
    Some(seconds * 1_000_000 + micros)
}

/// The body of a length-prefixed value (a length-encoded integer, then that many bytes);
/// `None` when the prefix does not give exactly the rest of the bytes.
fn length_prefixed(buffer: &[u8]) -> Option<&[u8]> {
    let (&first, rest) = buffer.split_first()?;
    let (len, body) = match first {
        0..=250 => (usize::from(first), rest),
        0xfc if rest.len() >= 2 => (
            usize::from(u16::from_le_bytes([rest[0], rest[1]])),
            &rest[2..],
        ),
        _ => return None,
    };
    (body.len() == len).then_some(body)
}

/// The labels of `enum('a','b''c')` or `set('a','b')`.
fn enum_labels(declared: &str) -> Vec<String> {
    let inner = declared
        .strip_prefix("enum(")
        .or_else(|| declared.strip_prefix("set("))
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_default();
    let mut labels = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut label = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    label.push('\'');
                } else {
                    break;
                }
            } else {
                label.push(c);
            }
        }
        labels.push(label);
    }
    labels
}

/// Whether a stored `CHECK` clause names column `name`: MariaDB writes every identifier in it
/// quoted with backticks (ASCII case ignored, as for column names).
fn names(clause: &str, name: &str) -> bool {
    let quoted = format!("`{}`", name.replace('`', "``"));
    clause.to_lowercase().contains(&quoted.to_lowercase())
}
