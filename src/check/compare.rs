//! The comparison of a model's fields with its table's columns, and the words for what it finds.

use sqlx::TypeInfo;

use super::fields::{CheckFields, FieldInfo, Fill};
use super::report::Severity;
use crate::db::{CheckBackend, ColumnFacts, Measure};

/// Everything wrong between one field and its column.
pub(crate) fn compare<DB: CheckBackend, M: CheckFields>(
    field: &FieldInfo<DB, M>,
    column: &ColumnFacts,
    type_info: Option<&DB::TypeInfo>,
    samples: &[M],
) -> Vec<(Severity, String)> {
    let mut out = Vec::new();
    let error = |out: &mut Vec<_>, message: String| out.push((Severity::Error, message));
    let warning = |out: &mut Vec<_>, message: String| out.push((Severity::Warning, message));
    let fill = field.fill;

    // 1. A database-filled field the database does not fill.
    if !fill.sent() && column.not_null && column.filled_by.is_none() {
        error(
            &mut out,
            format!(
                "`{}`, but the database does not fill this NOT NULL column (no default, identity or trigger): every create fails",
                fill.name()
            ),
        );
    }
    // A database-filled field the database leaves NULL, read into a type without NULL.
    let reads_null = !fill.sent()
        && !column.in_view
        && !column.not_null
        && column.filled_by.is_none()
        && !field.option
        && DB::NULL_FAILS_DECODE;
    if reads_null {
        error(
            &mut out,
            format!(
                "`{}`, but nothing fills this column (no default, identity or trigger): it reads back NULL, which `{}` cannot hold: every create fails",
                fill.name(),
                field.rust_type
            ),
        );
    }
    // A database-filled integer field whose default the field's type cannot hold.
    if !fill.sent()
        && let Some(filler) = &column.filled_by
        && let Some(value) = integer_default(filler)
        && let Some((min, max)) = integer_range(field.rust_type)
        && !(min..=max).contains(&value)
    {
        error(
            &mut out,
            format!(
                "the database fills it with {value} ({filler}), which `{}` cannot hold: reading the row fails",
                field.rust_type
            ),
        );
    }
    // 2. Random data where the database decides; a value where only the database may write.
    let always = column
        .filled_by
        .as_deref()
        .is_some_and(|f| f.starts_with("GENERATED ALWAYS"));
    if always && fill.sent() {
        error(
            &mut out,
            format!(
                "the database always computes it ({}), but the factory sends a value: mark it `generated`",
                column.filled_by.as_deref().unwrap_or_default()
            ),
        );
    } else if let Some(filler) = &column.filled_by
        && matches!(fill, Fill::Random | Fill::Fake)
    {
        warning(
            &mut out,
            format!(
                "the database fills it ({filler}), but the factory always sends a random value: mark it `primary_key` or `generated`, or set a value on purpose with `default`"
            ),
        );
    }
    // 3. Types, as sqlx decodes them: by the type each sampled value is stored as, where the
    // backend decides that per value (SQLite); else by the column's declared type.
    let sampled_rows: &[M] = if fill.sent() && fill != Fill::Required && fill != Fill::Association {
        samples
    } else {
        &[]
    };
    let refused = sampled_rows.iter().find_map(|row| {
        let value = (field.db.bound)(row.field(field.index).1)?;
        DB::refuses(column, &value).map(|class| (value, class))
    });
    let by_value = sampled_rows.iter().any(|row| {
        (field.db.bound)(row.field(field.index).1)
            .is_some_and(|value| DB::stored_type(column, &value).is_some())
    });
    if let Some((value, class)) = refused {
        error(
            &mut out,
            format!(
                "`{}` values such as {value} are {class}, which this STRICT table's `{}` column refuses to store: such a create fails",
                fill.name(),
                column.declared,
            ),
        );
    } else if by_value {
        // Judged value by value: the first that does not read back.
        let failing = sampled_rows.iter().find_map(|row| {
            let value = (field.db.bound)(row.field(field.index).1)?;
            let (ty, class) = DB::stored_type(column, &value)?;
            (!(field.db.compatible)(&ty)).then_some((value, class))
        });
        if let Some((value, class)) = failing {
            error(
                &mut out,
                format!(
                    "the column stores `{}` values such as {value} as {class} (by its type `{}`), and sqlx cannot decode `{}` from {class}: reading such a row fails",
                    fill.name(),
                    column.declared,
                    field.rust_type,
                ),
            );
        }
    } else if let Some(ty) = type_info
        && !ty.is_null()
        && !(field.db.compatible)(ty)
    {
        let expected = (field.db.type_name)();
        let hint = if expected == ty.name() {
            DB::SAME_NAME_HINT
        } else {
            ""
        };
        error(
            &mut out,
            format!(
                "sqlx cannot decode `{}` ({expected}) from this {} column{hint}",
                field.rust_type,
                ty.name()
            ),
        );
    } else if let Some(ty) = type_info
        && let Some(why) = DB::bytes_refused(&(field.db.type_name)(), ty, column)
    {
        error(
            &mut out,
            format!("sqlx sends `{}` as bytes, {why}", field.rust_type),
        );
    }
    // A view's columns read as nullable whatever the table under it holds: no warning there.
    if !column.not_null && !field.option && !reads_null && !column.in_view {
        warning(
            &mut out,
            format!(
                "the column is nullable, but `{}` is not an `Option`: reading a NULL fails",
                field.rust_type
            ),
        );
    }

    // 4. The values the factory sends, from the sample.
    // An association's key comes from the parent row in create mode, not from the sample (a
    // fake key in build mode); only its NULLs (an optional key not asked for) are real.
    let sent: Vec<&M> = if fill.sent() && fill != Fill::Required {
        samples.iter().collect()
    } else {
        Vec::new()
    };
    let mut measures: Vec<Measure> = sent.iter().map(|row| field.measure(row)).collect();
    let sent: Vec<&M> = if fill == Fill::Association {
        measures.retain(|m| *m == Measure::Null);
        Vec::new()
    } else {
        sent
    };
    if column.not_null && measures.contains(&Measure::Null) {
        error(
            &mut out,
            format!(
                "the factory sends NULL (`{}`), but the column is NOT NULL",
                field.rust_type
            ),
        );
    }
    let longest = measures
        .iter()
        .filter_map(|m| match m {
            Measure::Text(n) => Some((*n, "characters")),
            Measure::Bytes(n) => Some((*n, "bytes")),
            _ => None,
        })
        .max();
    // The longest value, not how many: that count changes with the run's seed.
    if let (Some((longest, unit)), Some(max)) = (longest, column.max_chars)
        && longest as i64 > max
    {
        error(
            &mut out,
            format!(
                "`{}` values are up to {longest} {unit}, longer than {}",
                fill.name(),
                column.declared
            ),
        );
    }
    let ints = measures.iter().filter_map(|m| match m {
        Measure::Int(v) => Some(*v),
        _ => None,
    });
    let (low, high) = ints.fold((None, None), |(lo, hi): (Option<i128>, Option<i128>), v| {
        (
            Some(lo.map_or(v, |l| l.min(v))),
            Some(hi.map_or(v, |h| h.max(v))),
        )
    });
    #[cfg(feature = "rust_decimal")]
    if let Some((precision, scale)) = column.numeric {
        // The value is rounded to the column's scale first; then its whole digits must fit.
        let whole = |d: &sqlx::types::Decimal| {
            let rounded = d.round_dp(scale).trunc().abs();
            let digits = rounded.mantissa().unsigned_abs() / 10u128.pow(rounded.scale());
            if digits == 0 { 0 } else { digits.ilog10() + 1 }
        };
        let widest = measures
            .iter()
            .filter_map(|m| match m {
                Measure::Decimal(d) => Some(whole(d)),
                _ => None,
            })
            .max();
        let room = precision.saturating_sub(scale);
        if let Some(widest) = widest
            && widest > room
        {
            error(
                &mut out,
                format!(
                    "`{}` values have up to {widest} digits before the decimal point (rounded to {scale} places), more than {} holds ({room})",
                    fill.name(),
                    column.declared
                ),
            );
        } else if let Some(places) = measures
            .iter()
            .filter_map(|m| match m {
                Measure::Decimal(d) if d.normalize().scale() > scale => Some(d.normalize().scale()),
                _ => None,
            })
            .max()
        {
            // Stored, but rounded: what reads back is not what was sent, and a
            // `get_or_create` key is not found again by the value drawn.
            warning(
                &mut out,
                format!(
                    "`{}` values have up to {places} decimal places, which {} rounds to {scale}: they read back different",
                    fill.name(),
                    column.declared
                ),
            );
        }
    }
    let moments = measures.iter().filter_map(|m| match m {
        Measure::Moment(v) => Some(*v),
        _ => None,
    });
    if let (Some(first), Some(last), Some((min, max))) =
        (moments.clone().min(), moments.max(), column.moments)
        && (first < min || last > max)
    {
        error(
            &mut out,
            format!(
                "`{}` values range from {} to {}, but {} holds {} to {}",
                fill.name(),
                moment(first),
                moment(last),
                column.declared,
                moment(min),
                moment(max)
            ),
        );
    }
    if let (Some(low), Some(high), Some((min, max))) = (low, high, column.int_range)
        && (low < min || high > max)
    {
        error(
            &mut out,
            format!(
                "`{}` values fall outside {}'s range {min}..={max}",
                fill.name(),
                column.declared
            ),
        );
    }

    // Text in a narrower character set.
    if let Some(charset) = &column.charset {
        let failing = sent.iter().find_map(|row| {
            let text = field.text(row)?;
            text.chars()
                .any(|c| !charset_holds(charset, c))
                .then_some(text)
        });
        if let Some(text) = failing {
            error(
                &mut out,
                format!(
                    "`{}` values such as '{text}' hold characters the column's character set {charset} cannot store",
                    fill.name()
                ),
            );
        }
    }

    // 5. Enum labels.
    if let Some(labels) = &column.labels {
        let mut sent_labels: Vec<String> = Vec::new();
        for row in &sent {
            let Some(text) = field.text(row) else {
                continue;
            };
            // A SET's value names any of its labels, comma-separated (none: the empty text).
            let each: Vec<String> = if column.label_set {
                text.split(',')
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            } else {
                vec![text]
            };
            for text in each {
                if !sent_labels.contains(&text) {
                    sent_labels.push(text);
                }
            }
        }
        let list = labels
            .iter()
            .map(|l| format!("'{l}'"))
            .collect::<Vec<_>>()
            .join(", ");
        for label in sent_labels.iter().filter(|l| !labels.contains(l)) {
            error(
                &mut out,
                format!(
                    "the factory sends '{label}', which is not a label of {} ({list})",
                    column.declared
                ),
            );
        }
        // A random variant over a thousand draws has shown every variant it has.
        if fill == Fill::Random && !sent_labels.is_empty() && !column.label_set {
            for label in labels.iter().filter(|l| !sent_labels.contains(l)) {
                error(
                    &mut out,
                    format!(
                        "label '{label}' has no variant in `{}`: reading such a row fails",
                        field.rust_type
                    ),
                );
            }
        }
    }

    // 6. Foreign keys.
    if let Some(parent) = field.db.parent_table
        && !column.references.iter().any(|r| same_table(r, parent))
    {
        warning(
            &mut out,
            format!(
                "`association` to table `{parent}`, but the column declares no FOREIGN KEY to it"
            ),
        );
    }
    if fill.random()
        && let Some(parent) = column.references.first()
    {
        warning(
            &mut out,
            format!(
                "FOREIGN KEY to `{parent}`, but the factory fills it with random values: add `association`"
            ),
        );
    }
    out
}

/// Whether two table names are the same table, ignoring schema and quoting.
pub(crate) fn same_table(a: &str, b: &str) -> bool {
    let last = |s: &str| {
        s.rsplit('.')
            .next()
            .unwrap_or(s)
            .trim_matches(|c| c == '"' || c == '`')
            .to_ascii_lowercase()
    };
    last(a) == last(b)
}

/// Whether a `DEFAULT ..` text is a NULL default: `DEFAULT NULL`, `DEFAULT (NULL)`,
/// `DEFAULT NULL::text`.
pub(crate) fn is_null_default(filled_by: &str) -> bool {
    let Some(expr) = filled_by.strip_prefix("DEFAULT ") else {
        return false;
    };
    let expr = expr
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let expr = expr.split("::").next().unwrap_or_default().trim();
    expr.eq_ignore_ascii_case("null")
}

/// A [`Measure::Moment`] as `YYYY-MM-DD hh:mm:ss.ffffff`.
fn moment(digits: i128) -> String {
    let part = |from: u32, width: u32| (digits / 10i128.pow(from)) % 10i128.pow(width);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        part(16, 4),
        part(14, 2),
        part(12, 2),
        part(10, 2),
        part(8, 2),
        part(6, 2),
        part(0, 6)
    )
}

/// Whether a MariaDB character set stores `c` (`latin1` is Windows-1252 there).
pub(crate) fn charset_holds(charset: &str, c: char) -> bool {
    const CP1252: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";
    match charset {
        "ascii" => c.is_ascii(),
        "latin1" => {
            u32::from(c) <= 0x7f || (0xa0..=0xff).contains(&u32::from(c)) || CP1252.contains(c)
        }
        "utf8mb3" | "utf8" => u32::from(c) <= 0xffff,
        _ => true,
    }
}
/// The integer a `DEFAULT` literal fills in (`DEFAULT 5000000000`, `DEFAULT '7'::bigint`,
/// `DEFAULT (7)`); `None` for any other default.
fn integer_default(filled_by: &str) -> Option<i128> {
    let expr = filled_by.strip_prefix("DEFAULT ")?.trim();
    let expr = expr.trim_start_matches('(').trim_end_matches(')').trim();
    let expr = expr.split("::").next().unwrap_or_default().trim();
    expr.trim_matches('\'').parse().ok()
}

/// The values of a Rust integer type written `rust_type` (`i32`, `Option<u8>`).
fn integer_range(rust_type: &str) -> Option<(i128, i128)> {
    let compact: String = rust_type.chars().filter(|c| !c.is_whitespace()).collect();
    let name = compact
        .strip_prefix("Option<")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(&compact);
    Some(match name {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" => (i64::MIN.into(), i64::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        _ => return None,
    })
}
