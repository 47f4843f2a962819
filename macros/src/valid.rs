//! Checks on the model that parsing alone cannot make: conflicts and missing pieces.

use crate::ast::Input;
use crate::ctxt::Ctxt;

/// Methods every factory has: a field with one of these names would hide it.
const FACTORY_METHODS: &[&str] = &[
    "new",
    "build",
    "build_batch",
    "with_session",
    "create",
    "create_batch",
];

const MAX_DB_FILLED: usize = 64;

pub fn check(cx: &mut Ctxt, input: &Input<'_>) {
    if input.table.is_none() {
        cx.error_spanned_by(
            input.ident,
            format!(
                "missing `#[factory(table = \"...\")]`: name the table `{}` rows go into",
                input.ident
            ),
        );
    }
    if !input.original.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.original.generics,
            "`Factory` cannot be derived for a generic struct: a factory makes owned rows of one concrete type",
        );
    }
    let db_filled = input.fields.iter().filter(|f| f.is_db_filled()).count();
    if db_filled > MAX_DB_FILLED {
        cx.error_spanned_by(
            input.ident,
            format!("at most {MAX_DB_FILLED} fields can be `primary_key` or `generated`, found {db_filled}"),
        );
    }
    for field in &input.fields {
        let attrs = &field.attrs;
        let name = field.ident.to_string();
        if FACTORY_METHODS.contains(&name.as_str()) {
            cx.error_spanned_by(
                field.ident,
                format!("a field named `{name}` would hide the factory's `{name}` method; rename the field and keep the column with `#[sqlx(rename = \"{name}\")]`"),
            );
        }
        // The second of two value attributes is the one to remove.
        for (ident, _) in attrs.values().skip(1) {
            cx.error_spanned_by(
                ident,
                "a field takes one of `default`, `fake` and `sequence`, not several",
            );
        }
        if let (Some(_), Some(generated)) = (&attrs.primary_key, &attrs.generated) {
            cx.error_spanned_by(
                generated,
                "`primary_key` already means the database fills the column; remove `generated`",
            );
        }
        if let Some(skip) = &attrs.skip {
            let others = [&attrs.primary_key, &attrs.generated]
                .into_iter()
                .flatten()
                .chain(attrs.values().map(|(ident, _)| ident));
            for other in others {
                cx.error_spanned_by(
                    other,
                    format!("a `skip` field is not a column and is always `Default::default()`; remove `{other}`"),
                );
            }
            if attrs.column.is_some() {
                cx.error_spanned_by(
                    &attrs.column,
                    "a `skip` field is not a column; remove `column`",
                );
            }
            if !attrs.sqlx_skip {
                cx.error_spanned_by(
                    skip,
                    "`#[factory(skip)]` needs `#[sqlx(skip)]` too, or `FromRow` will read a column that is not returned",
                );
            }
        }
        if let Some(flatten) = &attrs.sqlx_flatten {
            cx.error_spanned_by(
                flatten,
                "`#[sqlx(flatten)]` fields are not supported by `Factory`: list their columns as fields of this struct",
            );
        }
    }
}
