//! The model of a `#[derive(Factory)]` struct, borrowing from the input to keep its spans.

use syn::{
    Data, DeriveInput, Expr, Fields, GenericArgument, Ident, LitStr, Path, PathArguments, Type,
    Visibility,
};

use crate::attr::{self, FieldAttrs};
use crate::ctxt::Ctxt;

pub struct Input<'a> {
    pub original: &'a DeriveInput,
    /// The factory's session parameter (see [`session_param`]).
    pub session: Ident,
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub table: Option<LitStr>,
    pub get_or_create: Vec<Ident>,
    pub fields: Vec<Field<'a>>,
    /// `#[factory(flatten)]`: a group of columns that models include, with no table of its own.
    pub flatten: Option<Ident>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
    /// The column name: `column`, else `#[sqlx(rename)]`, else `rename_all` of the field name.
    pub column: String,
    /// The name `FromRow` reads: `#[sqlx(rename)]`, else `rename_all` of the field name.
    pub from_row_name: String,
}

/// Where a field's value comes from when the factory is not told one.
pub enum Value<'a> {
    /// No attribute: a `fake::Dummy<Faker>` value.
    Dummy,
    Default(&'a Expr),
    Fake(&'a Expr),
    Sequence(&'a Expr),
    /// Computed last, from the object: a placeholder first.
    Lazy(&'a Expr),
    /// Always set by the user: the typestate guarantees an override.
    Required,
    /// Not a column: `Default::default()`.
    Skip,
}

impl<'a> Input<'a> {
    /// `None` when the input is not a struct with named fields (reported in `cx`).
    pub fn from_syn(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(fields) => fields,
                _ => {
                    cx.error_spanned_by(
                        &input.ident,
                        "`Factory` needs a struct with named fields, one per column",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "`Factory` can be derived for structs only, not enums",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "`Factory` can be derived for structs only, not unions",
                );
                return None;
            }
        };
        let struct_attrs = attr::struct_attrs(cx, &input.attrs);
        let rename_all = struct_attrs.rename_all.as_ref().map(LitStr::value);
        let mut fields: Vec<Field<'a>> = fields
            .named
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                let mut attrs = attr::field_attrs(cx, &field.attrs);
                // `association = Self` names the model; generated code sits in the factory's
                // impls, where `Self` is the factory.
                if let Some((_, path)) = &mut attrs.association
                    && path.is_ident("Self")
                {
                    // The model's own ident (a raw `r#Name` stays raw), at `Self`'s span.
                    let mut model = input.ident.clone();
                    model.set_span(path.segments[0].ident.span());
                    *path = Path::from(model);
                }
                let from_row_name = match &attrs.sqlx_rename {
                    Some(rename) => rename.value(),
                    None => rename(&ident.unraw_string(), rename_all.as_deref()),
                };
                let column = match &attrs.column {
                    Some(column) => column.value(),
                    None => from_row_name.clone(),
                };
                Some(Field {
                    ident,
                    ty: &field.ty,
                    attrs,
                    column,
                    from_row_name,
                })
            })
            .collect();
        for composite in &struct_attrs.composites {
            group(cx, &mut fields, composite);
        }
        Some(Input {
            original: input,
            session: session_param(input),
            ident: &input.ident,
            vis: &input.vis,
            table: struct_attrs.table,
            flatten: struct_attrs.flatten,
            get_or_create: struct_attrs
                .get_or_create
                .map(|(_, f)| f)
                .unwrap_or_default(),
            fields,
        })
    }
}

/// The factory's session type parameter: `S` (what rustc's notes show, `UserFactory::<S>::create`),
/// or, when the struct's tokens name `S` (the model itself, a field's type, a parent), which the
/// parameter would hide inside the factory's impls, `__S` with as many more `_` as it takes to
/// name nothing the struct names.
pub fn session_param(input: &DeriveInput) -> Ident {
    fn collect(tokens: proc_macro2::TokenStream, names: &mut Vec<String>) {
        for token in tokens {
            match token {
                proc_macro2::TokenTree::Ident(ident) => names.push(ident.unraw_string()),
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), names),
                _ => {}
            }
        }
    }
    let mut names = Vec::new();
    collect(quote::ToTokens::into_token_stream(input), &mut names);
    let mut name = String::from("S");
    if names.contains(&name) {
        name = String::from("__S");
        while names.contains(&name) {
            name.insert(0, '_');
        }
    }
    local(&name)
}

/// An identifier of the generated code's own (a local, the session parameter) under the
/// derive's span, where it is declared. Placed among the user's tokens (`quote_spanned!` at a
/// field's type or a parent's path), it must not take their span: those tokens may come from
/// another macro's input, which would look the name up in that macro's context.
pub fn local(name: &str) -> Ident {
    Ident::new(name, proc_macro2::Span::call_site())
}

/// Marks the fields of a composite key: the first one carries the association and
/// every (field, parent field) pair; the others point at it. A field claimed twice, a name
/// that is no field and a count mismatch are errors under the user's tokens.
fn group(cx: &mut Ctxt, fields: &mut [Field<'_>], composite: &attr::CompositeAttr) {
    let references = match &composite.references {
        Some((ident, names)) if names.len() != composite.fields.len() => {
            cx.error_spanned_by(
                ident,
                format!(
                    "`fields` names {} fields and `references` {}: each field takes one parent field, in order",
                    composite.fields.len(),
                    names.len()
                ),
            );
            return;
        }
        Some((_, names)) => names.clone(),
        None => composite.fields.clone(),
    };
    let mut first: Option<usize> = None;
    let mut pairs = Vec::new();
    for (name, parent_field) in composite.fields.iter().zip(references) {
        let Some(index) = fields.iter().position(|f| f.ident == name) else {
            cx.error_spanned_by(name, format!("`{name}` is no field of this struct"));
            continue;
        };
        let field = &mut fields[index];
        // The second claim is the error: a field's own `association` comes after the
        // struct's attribute in the source; of two composites, the later one.
        if let Some((ident, _)) = &field.attrs.association
            && field.attrs.group.is_empty()
        {
            cx.error_spanned_by(
                ident,
                format!("`{name}` is already filled by the composite key `association({}, fields(..))` of the struct; remove this `association`", quote::ToTokens::to_token_stream(&composite.parent)),
            );
            continue;
        }
        if field.attrs.association.is_some() || field.attrs.group_first.is_some() {
            cx.error_spanned_by(
                name,
                format!("`{name}` already belongs to another composite key: a key field is filled from one parent"),
            );
            continue;
        }
        match first {
            None => {
                first = Some(index);
                field.attrs.association = Some((composite.name.clone(), composite.parent.clone()));
            }
            Some(first) => {
                let first = fields[first].ident.clone();
                fields[index].attrs.group_first = Some(first);
            }
        }
        pairs.push((name.clone(), parent_field));
    }
    if let Some(first) = first {
        fields[first].attrs.group = pairs;
    }
}

impl Field<'_> {
    /// An association to the model itself.
    ///
    /// Written as the model's bare name: a longer path may name a model of the same name in
    /// another module (`admin::User` -> `crate::User`), which is no self-reference. A longer
    /// path to the model itself is an edge of the cycle graph, reported at the derive
    /// (`src/cycle.rs`) with the bare name to write.
    pub fn is_self_reference(&self, model: &Ident) -> bool {
        self.association().is_some_and(|path| {
            path.leading_colon.is_none()
                && path.segments.len() == 1
                && path.segments[0].ident == *model
                && path.segments[0].arguments.is_none()
        })
    }

    /// A `#[sqlx(flatten)]` field: the columns of a `#[factory(flatten)]` struct.
    pub fn is_flatten(&self) -> bool {
        self.attrs.sqlx_flatten.is_some()
    }

    /// A flatten field with no value attribute: drawn by its group's factory, which
    /// `<field>_with` customises.
    pub fn is_group_drawn(&self) -> bool {
        self.is_flatten() && matches!(self.value(), Value::Dummy)
    }

    /// The field's name without `r#`, as it reads in messages and method names.
    pub fn name(&self) -> String {
        self.ident.unraw_string()
    }

    /// Not a column and not settable: `#[factory(skip)]` or `#[sqlx(skip)]`.
    pub fn is_skipped(&self) -> bool {
        self.attrs.transient.is_none()
            && (self.attrs.skip.is_some() || self.attrs.sqlx_skip && self.attrs.column.is_none())
    }

    /// A factory parameter, not a column: settable, put back into created rows.
    pub fn is_transient(&self) -> bool {
        self.attrs.transient.is_some()
    }

    /// A column the INSERT may send and RETURNING reads.
    pub fn is_column(&self) -> bool {
        !self.is_skipped() && !self.is_transient()
    }

    /// The database fills it unless the factory is given a value. Not a key that is also a
    /// foreign key (`primary_key, association = Parent`): its parent's key is always sent.
    pub fn is_db_filled(&self) -> bool {
        (self.attrs.primary_key.is_some() || self.attrs.generated.is_some())
            && self.association().is_none()
    }

    /// A key or database-filled column given no value: build mode fills it with a stub where
    /// its type has one (`is_stub_type`), so it reads as not from the database.
    pub fn is_stubbed(&self) -> bool {
        (self.attrs.primary_key.is_some() || self.attrs.generated.is_some())
            && matches!(self.value(), Value::Dummy)
            && is_stub_type(self.ty)
    }

    pub fn is_required(&self) -> bool {
        self.attrs.required.is_some()
    }

    /// An association whose parent is created after this row (`back_reference`).
    pub fn is_deferred(&self) -> bool {
        self.attrs.back_reference.is_some()
    }

    pub fn association(&self) -> Option<&Path> {
        self.attrs.association.as_ref().map(|(_, path)| path)
    }

    /// `Option<T>`, judged by the type's last path segment.
    pub fn is_option(&self) -> bool {
        option_inner(self.ty).is_some()
    }

    /// `T` of an `Option<T>` field.
    pub fn option_inner(&self) -> Option<&Type> {
        option_inner(self.ty)
    }

    pub fn value(&self) -> Value<'_> {
        if self.is_skipped() {
            return Value::Skip;
        }
        if self.is_required() {
            return Value::Required;
        }
        let attrs = &self.attrs;
        match (&attrs.default, &attrs.fake, &attrs.sequence, &attrs.lazy) {
            (Some((_, e)), ..) => Value::Default(e),
            (_, Some((_, e)), ..) => Value::Fake(e),
            (_, _, Some((_, e)), _) => Value::Sequence(e),
            (.., Some((_, e))) => Value::Lazy(e),
            _ => Value::Dummy,
        }
    }
}

/// The last path segments of the chrono and `time` types that get a database-friendly date
/// instead of `fake`'s (any millennium, nanoseconds, odd offsets).
const DATE_TYPES: &[&str] = &[
    "DateTime",
    "NaiveDateTime",
    "NaiveDate",
    "NaiveTime",
    "OffsetDateTime",
    "PrimitiveDateTime",
    "Date",
    "Time",
];

/// Whether `ty`'s last path segment names a date/time type.
pub fn is_date_type(ty: &Type) -> bool {
    let Type::Path(path) = peel(ty) else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|last| DATE_TYPES.iter().any(|name| last.ident == name))
}

/// Whether `ty` names serde_json's document type: `JsonValue` (as sqlx re-exports it) or
/// `serde_json::Value`.
pub fn is_json_document_type(ty: &Type) -> bool {
    let Type::Path(path) = peel(ty) else {
        return false;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.as_slice() {
        [.., last] if last == "JsonValue" => true,
        [.., module, last] => module == "serde_json" && last == "Value",
        _ => false,
    }
}

/// Whether `ty`'s last path segment is `Decimal` (rust_decimal's, as sqlx re-exports it).
pub fn is_decimal_type(ty: &Type) -> bool {
    let Type::Path(path) = peel(ty) else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|last| last.ident == "Decimal")
}

const UNSIGNED: &[&str] = &["u8", "u16", "u32", "u64", "u128", "usize"];
const SIGNED: &[&str] = &["i8", "i16", "i32", "i64", "i128", "isize"];

/// Whether `ty` names a primitive integer type (`u64`, `i32`, ..).
pub fn is_integer_type(ty: &Type) -> bool {
    names_one_of(ty, UNSIGNED) || names_one_of(ty, SIGNED)
}

/// Whether `ty` names a primitive unsigned integer type.
pub fn is_unsigned_type(ty: &Type) -> bool {
    names_one_of(ty, UNSIGNED)
}

/// Whether `ty` is a path without generics whose last segment is one of `names`.
fn names_one_of(ty: &Type, names: &[&str]) -> bool {
    let Type::Path(path) = peel(ty) else {
        return false;
    };
    path.qself.is_none()
        && path.path.segments.last().is_some_and(|last| {
            last.arguments.is_none() && names.iter().any(|name| last.ident == name)
        })
}

/// The types whose build-mode value for a database-filled field is a stub (`__private::Stub`):
/// integers and text, as the standard library names them.
const STUB_TYPES: &[&str] = &["i16", "i32", "i64", "u16", "u32", "u64", "String"];

/// Whether `ty` (or `T` of `Option<T>`) is named as one of `STUB_TYPES`.
pub fn is_stub_type(ty: &Type) -> bool {
    names_one_of(option_inner(ty).unwrap_or(ty), STUB_TYPES)
}

/// `T` of `Option<T>`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    generic_inner(ty, "Option")
}

/// `T` of `Vec<T>`.
pub fn vec_inner(ty: &Type) -> Option<&Type> {
    generic_inner(ty, "Vec")
}

/// `ty` without the invisible group a `macro_rules!` puts around a `$t:ty` it passes on, or
/// parentheses: `Option<i64>` from a macro's input is an `Option` as written out.
pub fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peel(&group.elem),
        Type::Paren(paren) => peel(&paren.elem),
        _ => ty,
    }
}

/// `T` of `Wrapper<T>`, judged by the type's last path segment.
fn generic_inner<'t>(ty: &'t Type, wrapper: &str) -> Option<&'t Type> {
    let Type::Path(path) = peel(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) => match args.args.first()? {
            GenericArgument::Type(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

pub trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for Ident {
    fn unraw_string(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
    }
}

/// sqlx's `rename_all` rules, applied to a snake_case field name.
fn rename(field: &str, rule: Option<&str>) -> String {
    let words = field.split('_').filter(|w| !w.is_empty());
    let capitalize = |w: &str| {
        let mut chars = w.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    match rule {
        Some("lowercase") => field.to_lowercase(),
        Some("UPPERCASE") => field.to_uppercase(),
        Some("SCREAMING_SNAKE_CASE") => field.to_uppercase(),
        Some("kebab-case") => field.replace('_', "-"),
        Some("PascalCase") => words.map(capitalize).collect(),
        Some("camelCase") => words
            .enumerate()
            .map(|(i, w)| if i == 0 { w.to_owned() } else { capitalize(w) })
            .collect(),
        _ => field.to_owned(),
    }
}
