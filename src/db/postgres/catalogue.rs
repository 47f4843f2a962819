//! PostgreSQL's catalogue: `pg_attribute` with its defaults, identity, generated expression,
//! enum labels, foreign keys, `CHECK`s and `BEFORE INSERT` triggers, in one query per table.

use sqlx::postgres::{PgConnection, PgTypeInfo};
use sqlx::{Column, Encode, Executor, Postgres, Row, Statement};

use crate::db::catalogue::{
    CheckBackend, ColumnFacts, Constraint, column_types_method, numeric, texts_method,
};
use crate::future::BoxFuture;

/// One row per column of the table `$1` names (quoted as the INSERT quotes it, so
/// `to_regclass` resolves it as the INSERT does, through the `search_path`), with the bodies of
/// the table's `BEFORE INSERT` row triggers, searched for assignments in Rust: a column name is
/// data, never part of a pattern.
const COLUMNS_SQL: &str = r#"
SELECT a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod)
         || CASE WHEN t.typtype = 'd' THEN ' (' || format_type(b.base, b.tm) || ')' ELSE '' END
         AS declared,
       a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) OR EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = a.attrelid
                                 AND p.contype = 'p' AND a.attnum = ANY (p.conkey)) AS not_null,
       CASE
         WHEN a.attidentity <> '' THEN 'GENERATED '
              || CASE a.attidentity WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END || ' AS IDENTITY'
         WHEN a.attgenerated <> '' THEN 'GENERATED ALWAYS AS ' || pg_get_expr(d.adbin, d.adrelid)
         WHEN d.adbin IS NOT NULL THEN 'DEFAULT ' || pg_get_expr(d.adbin, d.adrelid)
         WHEN t.typtype = 'd' AND t.typdefault IS NOT NULL THEN 'DEFAULT ' || t.typdefault
       END AS filled_by,
       CASE WHEN et.typname IN ('varchar', 'bpchar') AND e.tm > 4
            THEN (e.tm - 4)::int8 END AS max_chars,
       bt.typname::text AS type_name,
       CASE WHEN bt.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e
                                             WHERE e.enumtypid = bt.oid ORDER BY e.enumsortorder)
       END AS labels,
       ARRAY(SELECT c.confrelid::regclass::text FROM pg_constraint c
              WHERE c.conrelid = a.attrelid AND c.contype = 'f' AND a.attnum = ANY (c.conkey))
         AS refs,
       ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
              WHERE c.conrelid = a.attrelid AND c.contype = 'c' AND a.attnum = ANY (c.conkey)
              ORDER BY c.oid) AS checks,
       ARRAY(SELECT pg_get_expr(c.conbin, c.conrelid) FROM pg_constraint c
              WHERE c.conrelid = a.attrelid AND c.contype = 'c' AND a.attnum = ANY (c.conkey)
              ORDER BY c.oid) AS check_exprs,
       ARRAY(SELECT (SELECT string_agg(k.attname, chr(31) ORDER BY k.attnum) FROM pg_attribute k
                      WHERE k.attrelid = c.conrelid AND k.attnum = ANY (c.conkey))
               FROM pg_constraint c
              WHERE c.conrelid = a.attrelid AND c.contype = 'c' AND a.attnum = ANY (c.conkey)
              ORDER BY c.oid) AS check_columns,
       ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
              WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.oid) AS domain_checks,
       ARRAY(SELECT pg_get_expr(c.conbin, 0) FROM pg_constraint c
              WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.oid) AS domain_exprs,
       -- Without a length (an explicit cast to varchar(n) would cut the text an INSERT
       -- refuses), but with the modifier that rounds a value as it is stored.
       format_type(b.base, CASE WHEN b.base IN ('numeric'::regtype, 'timestamp'::regtype,
                                                'timestamptz'::regtype, 'time'::regtype,
                                                'timetz'::regtype, 'interval'::regtype)
                                THEN b.tm END) AS cast_type,
       -- A CHECK orders and compares text in the column's collation.
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> bt.typcollation
            THEN a.attcollation::regcollation::text END AS collation,
       CASE WHEN e.base = 'numeric'::regtype AND e.tm > 4
            THEN (((e.tm - 4) >> 16) & 65535)::int8 END AS num_precision,
       CASE WHEN e.base = 'numeric'::regtype AND e.tm > 4
            THEN ((e.tm - 4) & 65535)::int8 END AS num_scale,
       ARRAY(SELECT pr.prosrc FROM pg_trigger tg JOIN pg_proc pr ON pr.oid = tg.tgfoid
              WHERE tg.tgrelid = a.attrelid AND NOT tg.tgisinternal
                AND tg.tgtype & 2 <> 0 AND tg.tgtype & 4 <> 0) AS triggers,
       (SELECT r.relkind = 'v' FROM pg_class r WHERE r.oid = a.attrelid) AS in_view
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
-- A domain's column is judged by the domain's base type and modifier, and its constraints.
CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END AS base,
                           CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS tm) b
JOIN pg_type bt ON bt.oid = b.base
-- What limits each value: the type itself, or an array's element type (through a domain, with
-- the domain's modifier); an array column's modifier is its element's.
CROSS JOIN LATERAL (SELECT CASE WHEN el.typtype = 'd' THEN el.typbasetype ELSE COALESCE(el.oid, b.base) END AS base,
                           CASE WHEN el.typtype = 'd' THEN el.typtypmod ELSE b.tm END AS tm
                    FROM (SELECT) one
                    LEFT JOIN pg_type el ON bt.typcategory = 'A' AND el.oid = bt.typelem) e
JOIN pg_type et ON et.oid = e.base
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"#;

impl CheckBackend for Postgres {
    const EXACT_COLUMN_NAMES: bool = true;

    fn columns<'c>(
        conn: &'c mut PgConnection,
        table: &'c str,
    ) -> BoxFuture<'c, Result<Option<Vec<ColumnFacts>>, sqlx::Error>> {
        Box::pin(async move {
            let rows = sqlx::query(COLUMNS_SQL)
                .bind(crate::db::sql::quoted_table::<Postgres>(table))
                .fetch_all(&mut *conn)
                .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let mut columns = Vec::with_capacity(rows.len());
            for row in rows {
                let type_name: String = row.try_get("type_name")?;
                let int_range = match type_name.as_str() {
                    "int2" => Some((i128::from(i16::MIN), i128::from(i16::MAX))),
                    "int4" => Some((i128::from(i32::MIN), i128::from(i32::MAX))),
                    "int8" => Some((i128::from(i64::MIN), i128::from(i64::MAX))),
                    _ => None,
                };
                let name: String = row.try_get("name")?;
                let declared: String = row.try_get("declared")?;
                let triggers: Vec<String> = row.try_get("triggers")?;
                let filled_by: Option<String> = row.try_get("filled_by")?;
                let filled_by = filled_by.or_else(|| {
                    triggers
                        .iter()
                        .any(|body| crate::db::catalogue::assigns_new(body, &name, '"'))
                        .then(|| "a BEFORE INSERT trigger".to_owned())
                });
                let domain = domain_checks(&row, &name, &declared)?;
                let in_view: bool = row.try_get("in_view")?;
                columns.push(ColumnFacts {
                    in_view,
                    name,
                    declared: declared.clone(),
                    not_null: row.try_get("not_null")?,
                    filled_by,
                    max_chars: row.try_get("max_chars")?,
                    int_range,
                    labels: row.try_get("labels")?,
                    references: row.try_get("refs")?,
                    checks: {
                        let shown: Vec<String> = row.try_get("checks")?;
                        let exprs: Vec<String> = row.try_get("check_exprs")?;
                        let columns: Vec<String> = row.try_get("check_columns")?;
                        shown
                            .into_iter()
                            .zip(exprs)
                            .zip(columns)
                            .map(|((shown, expr), columns)| Constraint {
                                shown,
                                expr,
                                columns: columns.split('\u{1f}').map(str::to_owned).collect(),
                            })
                            .chain(domain)
                            .collect()
                    },
                    cast_type: row.try_get("cast_type")?,
                    collation: row.try_get("collation")?,
                    numeric: numeric(row.try_get("num_precision")?, row.try_get("num_scale")?),
                    ..ColumnFacts::default()
                });
            }
            Ok(Some(columns))
        })
    }

    // Parse + Describe only: nothing runs. sqlx resolves custom types (enums) by OID with a
    // query of its own, once per type and connection.
    column_types_method!(PgConnection, PgTypeInfo);

    const TEXT_TYPE: &'static str = "text";

    texts_method!(sqlx::postgres::PgRow);

    fn measure_bound<T: for<'q> Encode<'q, Self> + sqlx::Type<Self> + ?Sized>(
        value: &T,
    ) -> crate::db::catalogue::Measure {
        use crate::db::catalogue::Measure;
        let ty = T::type_info();
        let name = sqlx::TypeInfo::name(&ty);
        let mut buffer = sqlx::postgres::PgArgumentBuffer::default();
        match value.encode_by_ref(&mut buffer) {
            Ok(sqlx::encode::IsNull::Yes) => return Measure::Null,
            Ok(sqlx::encode::IsNull::No) => {}
            Err(_) => return Measure::Other,
        }
        let bytes: &[u8] = &buffer;
        // Binary format: text as its UTF-8 bytes, integers big-endian.
        match (name, bytes.len()) {
            ("TEXT" | "VARCHAR" | "BPCHAR" | "NAME", _) => std::str::from_utf8(bytes)
                .map_or(Measure::Other, |t| Measure::Text(t.chars().count())),
            ("INT2", 2) => Measure::Int(i128::from(i16::from_be_bytes([bytes[0], bytes[1]]))),
            ("INT4", 4) => Measure::Int(i128::from(i32::from_be_bytes(
                bytes.try_into().unwrap_or_default(),
            ))),
            ("INT8", 8) => Measure::Int(i128::from(i64::from_be_bytes(
                bytes.try_into().unwrap_or_default(),
            ))),
            #[cfg(feature = "rust_decimal")]
            ("NUMERIC", _) => numeric_value(bytes).map_or(Measure::Other, Measure::Decimal),
            _ => Measure::Other,
        }
    }

    fn encoded_text<T: for<'q> Encode<'q, Self> + ?Sized>(value: &T) -> Option<String> {
        // Text-like values (enum labels) are sent as their UTF-8 bytes.
        let mut buffer = sqlx::postgres::PgArgumentBuffer::default();
        match value.encode_by_ref(&mut buffer) {
            Ok(sqlx::encode::IsNull::No) => String::from_utf8(buffer.to_vec()).ok(),
            _ => None,
        }
    }
}

/// A `numeric` in its binary form (digit count, weight, sign, scale, then base-10000 digits,
/// the first of them at 10000^weight) as a decimal, for its digits; `None` for NaN, an
/// infinity or a value no `Decimal` holds.
#[cfg(feature = "rust_decimal")]
fn numeric_value(bytes: &[u8]) -> Option<sqlx::types::Decimal> {
    let word = |i: usize| -> Option<u16> {
        let pair = bytes.get(2 * i..2 * i + 2)?;
        Some(u16::from_be_bytes([pair[0], pair[1]]))
    };
    let (count, weight, sign) = (word(0)?, word(1)? as i16, word(2)?);
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        _ => return None,
    };
    let mut text = String::from(if negative { "-0" } else { "0" });
    // The digit groups before the point: `weight + 1` of them (missing ones are zeros).
    let whole = i32::from(weight) + 1;
    for i in 0..whole.max(0) {
        let group = if i < i32::from(count) {
            word(4 + i as usize)?
        } else {
            0
        };
        text.push_str(&format!("{group:04}"));
    }
    text.push('.');
    for _ in whole..0 {
        text.push_str("0000");
    }
    for i in whole.max(0)..i32::from(count) {
        text.push_str(&format!("{:04}", word(4 + i as usize)?));
    }
    text.trim_end_matches('0')
        .trim_end_matches('.')
        .parse()
        .ok()
}

/// A domain's `CHECK`s as constraints on the column `name`: the domain's `VALUE` is the column.
fn domain_checks(
    row: &sqlx::postgres::PgRow,
    name: &str,
    declared: &str,
) -> Result<Vec<Constraint>, sqlx::Error> {
    let shown: Vec<String> = row.try_get("domain_checks")?;
    let exprs: Vec<String> = row.try_get("domain_exprs")?;
    let domain = declared.split(" (").next().unwrap_or(declared);
    let mut column = String::new();
    <Postgres as crate::db::Backend>::push_ident(&mut column, name);
    Ok(shown
        .into_iter()
        .zip(exprs)
        .map(|(shown, expr)| Constraint {
            shown: format!("{shown} of domain {domain}"),
            expr: replace_value(&expr, &column),
            columns: vec![name.to_owned()],
        })
        .collect())
}

/// `expr` with every `VALUE` keyword (a whole word outside quotes, as PostgreSQL prints a
/// domain constraint) replaced by `column`.
fn replace_value(expr: &str, column: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if rest.starts_with("VALUE")
                && !out.ends_with(|p: char| p.is_alphanumeric() || p == '_')
                && !rest[5..].starts_with(|n: char| n.is_alphanumeric() || n == '_') =>
            {
                out.push_str(column);
                rest = &rest[5..];
                continue;
            }
            None => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::replace_value;

    /// Decimals encoded as sqlx binds them, read back by their binary form.
    #[cfg(feature = "rust_decimal")]
    #[test]
    fn numeric_values_read_from_their_binary_form() {
        use sqlx::types::Decimal;
        for text in [
            "0",
            "1",
            "-1",
            "12.5",
            "99999999.99",
            "-0.0001",
            "0.00000123",
            "10000",
            "123456789012345678.9",
            "79228162514264337593543950335",
            "0.1234567890123456789012345678",
        ] {
            let value: Decimal = text.parse().unwrap();
            let mut buffer = sqlx::postgres::PgArgumentBuffer::default();
            let _ = sqlx::Encode::<sqlx::Postgres>::encode_by_ref(&value, &mut buffer).unwrap();
            assert_eq!(super::numeric_value(&buffer), Some(value), "{text}");
        }
    }

    #[test]
    fn domain_value_is_the_column() {
        assert_eq!(
            replace_value(
                "((VALUE > 0) AND (VALUE <> 'VALUE'::text) AND MY_VALUE)",
                "\"qty\""
            ),
            "((\"qty\" > 0) AND (\"qty\" <> 'VALUE'::text) AND MY_VALUE)"
        );
    }
}
