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
    "seed",
    "after_build",
    "after_create",
    "with_related",
    "in_savepoint",
    "clone",
];

const MAX_DB_FILLED: usize = 64;

pub fn check(cx: &mut Ctxt, input: &Input<'_>) {
    if let (Some(_), Some(table)) = (&input.flatten, &input.table) {
        cx.error_spanned_by(
            table,
            "a `flatten` struct has no table of its own: its columns are those of the models that include it with `#[sqlx(flatten)]`; remove `table`",
        );
    }
    if input.flatten.is_some() {
        group(cx, input);
    } else if input.table.is_none() {
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
    for key in &input.get_or_create {
        match input.fields.iter().find(|f| f.ident == key) {
            Some(field) if field.is_flatten() => cx.error_spanned_by(
                key,
                format!("`{key}` is the columns of a `#[sqlx(flatten)]` struct, which cannot find a row: name columns of this struct"),
            ),
            Some(field) if field.is_column() => {}
            Some(_) => cx.error_spanned_by(
                key,
                format!("`{key}` is not a column, so it cannot find a row"),
            ),
            None => cx.error_spanned_by(
                key,
                format!(
                    "`get_or_create` names `{key}`, which is no field of `{}`",
                    input.ident
                ),
            ),
        }
    }
    if !input.fields.iter().any(|f| f.is_column()) {
        cx.error_spanned_by(
            input.ident,
            "a factory model needs at least one column: every field is `skip` or `transient`",
        );
    }
    for field in &input.fields {
        let attrs = &field.attrs;
        let name = field.name();
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
                "a field takes one of `default`, `fake`, `sequence` and `lazy`, not several",
            );
        }
        if let (Some(_), Some(generated)) = (&attrs.primary_key, &attrs.generated) {
            cx.error_spanned_by(
                generated,
                "`primary_key` already means the database fills the column; remove `generated`",
            );
        }
        let flags = |cx: &mut Ctxt, what: &str, conflicting: &[&Option<syn::Ident>]| {
            for other in conflicting.iter().copied().flatten() {
                cx.error_spanned_by(other, format!("{what}; remove `{other}`"));
            }
        };
        if let Some(skip) = &attrs.skip {
            let what = "a `skip` field is not a column and is always `Default::default()`";
            flags(
                cx,
                what,
                &[
                    &attrs.primary_key,
                    &attrs.generated,
                    &attrs.required,
                    &attrs.transient,
                ],
            );
            for (ident, _) in attrs.values() {
                cx.error_spanned_by(ident, format!("{what}; remove `{ident}`"));
            }
            if let Some((ident, _)) = &attrs.association {
                cx.error_spanned_by(ident, format!("{what}; remove `association`"));
            }
            if attrs.column.is_some() {
                cx.error_spanned_by(
                    &attrs.column,
                    "a `skip` field is not a column; remove `column`",
                );
            }
            if !attrs.sqlx_skip && !attrs.sqlx_default {
                cx.error_spanned_by(
                    skip,
                    "`#[factory(skip)]` needs `#[sqlx(skip)]` too, or `FromRow` will read a column that is not returned",
                );
            }
        }
        if let Some(transient) = &attrs.transient {
            let what = "a `transient` field is a factory parameter, not a column";
            flags(cx, what, &[&attrs.primary_key, &attrs.generated]);
            if let Some((ident, _)) = &attrs.association {
                cx.error_spanned_by(ident, format!("{what}; remove `association`"));
            }
            if attrs.column.is_some() {
                cx.error_spanned_by(&attrs.column, format!("{what}; remove `column`"));
            }
            if !attrs.sqlx_skip && !attrs.sqlx_default {
                cx.error_spanned_by(
                    transient,
                    "a `transient` field is not a column, but `FromRow` would read it as one: add `#[sqlx(skip)]`",
                );
            }
        }
        if attrs.association.is_some() {
            for (ident, _) in attrs.values() {
                cx.error_spanned_by(
                    ident,
                    "an `association` field takes its value from the parent row it creates; set a fixed key with the setter instead",
                );
            }
            // A key that is its parent's key too (a 1:1 extension table) is allowed, for one
            // field; the database never fills a foreign key.
            let primary_key = if attrs.group.is_empty() {
                &None
            } else {
                &attrs.primary_key
            };
            flags(
                cx,
                "an `association` field is a foreign key",
                &[primary_key, &attrs.generated],
            );
            if let (Some(primary_key), true) = (&attrs.primary_key, attrs.group.is_empty())
                && field.is_option()
            {
                cx.error_spanned_by(
                    primary_key,
                    "a primary key that is also a foreign key is never NULL: declare the field with the parent's key type, not `Option<..>`",
                );
            }
            if let Some(required) = &attrs.required {
                cx.error_spanned_by(required, "an `association` creates its parent when not set, so it is never required; remove `required`");
            }
        }
        if attrs.required.is_some() {
            for (ident, _) in attrs.values() {
                cx.error_spanned_by(
                    ident,
                    format!("a `required` field has no value of its own: the caller always sets it; remove `{ident}`"),
                );
            }
            flags(
                cx,
                "a `required` field is always sent",
                &[&attrs.primary_key, &attrs.generated],
            );
        }
        if let Some((ident, _)) = &attrs.association
            && field.is_self_reference(input.ident)
            && !field.is_option()
        {
            cx.error_spanned_by(
                ident,
                "a self-referencing `association` needs an optional key (`Option<..>`): a required one would create parents without end",
            );
        }
        if let Some((_, lit)) = &attrs.sqlx_try_from
            && attrs.into.is_none()
            && lit.parse::<syn::Type>().is_err()
        {
            cx.error_spanned_by(
                lit,
                "`Factory` binds a `try_from` field as the type it names, and this is no type: write `#[sqlx(try_from = \"String\")]`, or `#[factory(into = Type)]`",
            );
        }
        if let (Some((into, _)), true) = (&attrs.into, attrs.sqlx_json) {
            cx.error_spanned_by(
                into,
                "a `#[sqlx(json)]` field is bound as JSON; remove `into`",
            );
        }
        if let (Some((references, _)), None) = (&attrs.references, &attrs.association) {
            cx.error_spanned_by(
                references,
                "`references` names the parent's field an `association` stores; add `association = Parent`",
            );
        }
        if let (Some(create_parent), None) = (&attrs.create_parent, &attrs.association) {
            cx.error_spanned_by(
                create_parent,
                "`create_parent` is for an `association` with an `Option<..>` key; add `association = Parent`",
            );
        }
        if !attrs.group.is_empty() || attrs.group_first.is_some() {
            if field.is_option() {
                cx.error_spanned_by(
                    field.ty,
                    "a composite foreign key's fields cannot be `Option<..>` yet: declare the columns `NOT NULL` and the fields with the key's types",
                );
            }
            if let Some((ident, _)) = &attrs.references {
                cx.error_spanned_by(ident, "a composite key names its parent's fields in `references(..)` of the struct's `association(..)`; remove this `references`");
            }
        }
        if let Some(first) = &attrs.group_first {
            for (ident, _) in attrs.values() {
                cx.error_spanned_by(
                    ident,
                    format!("`{}` is filled from the parent row, together with `{first}`; set a fixed key with the setters instead", field.name()),
                );
            }
            flags(
                cx,
                "a composite key field is a foreign key",
                &[&attrs.primary_key, &attrs.generated, &attrs.required],
            );
        }
        if let Some((back, _)) = &attrs.back_reference {
            if attrs.association.is_none() {
                cx.error_spanned_by(back, "`back_reference` names the parent's field that points back at this row; add `association = Parent`");
            } else if !field.is_option() {
                cx.error_spanned_by(back, "`back_reference` inserts this row with NULL first, so its key must be `Option<..>`");
            } else if field.is_self_reference(input.ident) {
                cx.error_spanned_by(
                    back,
                    "a self-reference needs no `back_reference`; remove it",
                );
            } else if !input.fields.iter().any(|f| f.attrs.primary_key.is_some()) {
                cx.error_spanned_by(back, "`back_reference` sets this key with an `UPDATE .. WHERE <primary key> = ..`: mark the model's key field `#[factory(primary_key)]`");
            } else if attrs.references.is_some() || !attrs.group.is_empty() {
                cx.error_spanned_by(
                    back,
                    "`back_reference` stores the parent's primary key; remove `references`",
                );
            }
        }
        if let Some(create_parent) = &attrs.create_parent
            && attrs.association.is_some()
            && !field.is_option()
        {
            cx.error_spanned_by(
                create_parent,
                "a key that is not `Option<..>` always gets a parent; remove `create_parent`",
            );
        }
        if field.is_flatten() {
            flatten_field(cx, field);
        }
    }
}

/// A `#[factory(flatten)]` struct: columns of other tables' rows, so nothing that makes a row
/// of its own (a key, a parent, a typestate).
fn group(cx: &mut Ctxt, input: &Input<'_>) {
    let what = "a `flatten` struct is columns of the models that include it, not a table";
    if let Some(key) = input.get_or_create.first() {
        cx.error_spanned_by(key, format!("{what}: `get_or_create` goes on the model"));
    }
    for field in &input.fields {
        let attrs = &field.attrs;
        let flags = [
            &attrs.primary_key,
            &attrs.required,
            &attrs.transient,
            &attrs.create_parent,
        ];
        refuse(
            cx,
            what,
            flags.into_iter().flatten().chain(parent_attrs(attrs)),
        );
    }
}

/// A `#[sqlx(flatten)]` field: its struct names the columns and how each is filled.
fn flatten_field(cx: &mut Ctxt, field: &crate::ast::Field<'_>) {
    let attrs = &field.attrs;
    let what = "a `#[sqlx(flatten)]` field is the columns of its struct, each declared there";
    let flags = [
        &attrs.primary_key,
        &attrs.generated,
        &attrs.transient,
        &attrs.skip,
        &attrs.create_parent,
    ];
    let into = attrs.into.as_ref().map(|(ident, _)| ident);
    refuse(
        cx,
        what,
        flags
            .into_iter()
            .flatten()
            .chain(parent_attrs(attrs))
            .chain(into),
    );
    if let Some(column) = &attrs.column {
        cx.error_spanned_by(column, format!("{what}; remove `column`"));
    }
}

/// The names of the attributes that make a field a foreign key, where present.
fn parent_attrs(attrs: &crate::attr::FieldAttrs) -> impl Iterator<Item = &syn::Ident> {
    [
        attrs.association.as_ref().map(|(ident, _)| ident),
        attrs.references.as_ref().map(|(ident, _)| ident),
        attrs.back_reference.as_ref().map(|(ident, _)| ident),
    ]
    .into_iter()
    .flatten()
}

/// One error per attribute name in `present`: `what`, and to remove it.
fn refuse<'i>(cx: &mut Ctxt, what: &str, present: impl Iterator<Item = &'i syn::Ident>) {
    for ident in present {
        cx.error_spanned_by(ident, format!("{what}; remove `{ident}`"));
    }
}
