//! Parsing of `#[factory(..)]`, and of the `#[sqlx(..)]` options that decide column names.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Ident, LitStr, Path, Token};

use crate::ctxt::Ctxt;

pub const TABLE: &str = "table";
pub const GET_OR_CREATE: &str = "get_or_create";
pub const PRIMARY_KEY: &str = "primary_key";
pub const GENERATED: &str = "generated";
pub const DEFAULT: &str = "default";
pub const FAKE: &str = "fake";
pub const SEQUENCE: &str = "sequence";
pub const COLUMN: &str = "column";
pub const SKIP: &str = "skip";
pub const ASSOCIATION: &str = "association";
pub const LAZY: &str = "lazy";
pub const REQUIRED: &str = "required";
pub const TRANSIENT: &str = "transient";
pub const REFERENCES: &str = "references";
pub const CREATE_PARENT: &str = "create_parent";
pub const INTO: &str = "into";
pub const BACK_REFERENCE: &str = "back_reference";
pub const FLATTEN: &str = "flatten";

const STRUCT_ATTRS: &[&str] = &[TABLE, GET_OR_CREATE, ASSOCIATION, FLATTEN];
const FIELD_ATTRS: &[&str] = &[
    PRIMARY_KEY,
    GENERATED,
    DEFAULT,
    FAKE,
    SEQUENCE,
    LAZY,
    ASSOCIATION,
    REFERENCES,
    CREATE_PARENT,
    BACK_REFERENCE,
    INTO,
    REQUIRED,
    TRANSIENT,
    COLUMN,
    SKIP,
];

/// `#[factory(..)]` and `#[sqlx(rename_all = ..)]` on the struct.
#[derive(Default)]
pub struct StructAttrs {
    pub table: Option<LitStr>,
    /// `get_or_create(field, ..)`: the fields whose values find an existing row.
    pub get_or_create: Option<(Ident, Vec<Ident>)>,
    pub rename_all: Option<LitStr>,
    /// `association(Parent, fields(a, b), references(x, y))`: composite foreign keys.
    pub composites: Vec<CompositeAttr>,
    /// `flatten`: no table of its own; the columns of the models that include the struct as a
    /// `#[sqlx(flatten)]` field.
    pub flatten: Option<Ident>,
}

/// One composite foreign key: the child's `fields`, filled from one parent row's `references`
/// (the same names when not given).
pub struct CompositeAttr {
    pub name: Ident,
    pub parent: Path,
    pub fields: Vec<Ident>,
    pub references: Option<(Ident, Vec<Ident>)>,
}

/// A field's attributes: flags keep the span of their name, for errors about them.
#[derive(Default)]
pub struct FieldAttrs {
    pub primary_key: Option<Ident>,
    pub generated: Option<Ident>,
    pub default: Option<(Ident, Expr)>,
    pub fake: Option<(Ident, Expr)>,
    pub sequence: Option<(Ident, Expr)>,
    pub lazy: Option<(Ident, Expr)>,
    pub association: Option<(Ident, Path)>,
    /// `references = field`: the parent's field the key holds, instead of its primary key.
    pub references: Option<(Ident, Ident)>,
    /// `back_reference = field`: the parent's `field` refers back to this model; this row is
    /// inserted with NULL, the parent created after it, and the key set with an `UPDATE`.
    pub back_reference: Option<(Ident, Ident)>,
    /// `create_parent`: an `Option<_>` key gets a parent by default, like a required one.
    pub create_parent: Option<Ident>,
    /// Set by a struct-level composite `association(..)` on its first field: every (field,
    /// parent field) pair of the key, filled from one parent row.
    pub group: Vec<(Ident, Ident)>,
    /// Set on the other fields of a composite key: the first field, whose parent they share.
    pub group_first: Option<Ident>,
    /// `into = Type`: the field is bound as this type, converted with `TryInto`.
    pub into: Option<(Ident, syn::Type)>,
    pub required: Option<Ident>,
    pub transient: Option<Ident>,
    pub column: Option<LitStr>,
    pub skip: Option<Ident>,
    /// `#[sqlx(rename = "..")]`
    pub sqlx_rename: Option<LitStr>,
    /// `#[sqlx(skip)]`: not a column at all.
    pub sqlx_skip: bool,
    /// `#[sqlx(default)]`: a column `FromRow` may find missing (still a column here).
    pub sqlx_default: bool,
    /// `#[sqlx(json)]`: stored as JSON, bound through `sqlx::types::Json`.
    pub sqlx_json: bool,
    /// `#[sqlx(try_from = "Type")]`: decoded from `Type`, so bound back as `Type`.
    pub sqlx_try_from: Option<(Ident, LitStr)>,
    /// `#[sqlx(flatten)]`: the field is the columns of a `#[factory(flatten)]` struct.
    pub sqlx_flatten: Option<Ident>,
}

/// Sets `slot` once; a second occurrence is an error on the second one.
fn set_once<T>(cx: &mut Ctxt, slot: &mut Option<T>, value: T, name: &Ident) {
    if slot.is_some() {
        cx.error_spanned_by(name, format!("duplicate factory attribute `{name}`"));
    } else {
        *slot = Some(value);
    }
}

fn meta_ident(meta: &ParseNestedMeta<'_>) -> syn::Result<Ident> {
    meta.path
        .get_ident()
        .cloned()
        .ok_or_else(|| meta.error("expected a factory attribute name, like `default = ..`"))
}

fn unknown(name: &Ident, known: &[&str], place: &str) -> syn::Error {
    let list = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = name.to_string();
    let suggestion = known
        .iter()
        .filter(|k| edit_distance(&text, k) <= 2)
        .min_by_key(|k| edit_distance(&text, k))
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    syn::Error::new(
        name.span(),
        format!("unknown factory {place} attribute `{name}`{suggestion}\nexpected one of {list}"),
    )
}

/// Levenshtein distance, for "did you mean" on a misspelled attribute.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn is_factory(attr: &Attribute) -> bool {
    attr.path().is_ident("factory")
}

fn is_sqlx(attr: &Attribute) -> bool {
    attr.path().is_ident("sqlx")
}

pub fn struct_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut out = StructAttrs::default();
    for attr in attrs {
        if is_factory(attr) {
            let result = attr.parse_nested_meta(|meta| {
                let name = meta_ident(&meta)?;
                if name == TABLE {
                    let table: LitStr = meta.value()?.parse()?;
                    set_once(cx, &mut out.table, table, &name);
                    Ok(())
                } else if name == GET_OR_CREATE {
                    let mut fields = Vec::new();
                    meta.parse_nested_meta(|field| {
                        fields.push(field.path.require_ident()?.clone());
                        Ok(())
                    })?;
                    if fields.is_empty() {
                        return Err(meta.error("`get_or_create` needs the fields that find a row: `get_or_create(email)`"));
                    }
                    set_once(cx, &mut out.get_or_create, (name.clone(), fields), &name);
                    Ok(())
                } else if name == ASSOCIATION {
                    out.composites.push(composite(&meta, name)?);
                    Ok(())
                } else if name == FLATTEN {
                    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                        return Err(meta.error("`flatten` takes no value: write `#[factory(flatten)]`"));
                    }
                    set_once(cx, &mut out.flatten, name.clone(), &name);
                    Ok(())
                } else {
                    Err(unknown(&name, STRUCT_ATTRS, "struct"))
                }
            });
            if let Err(e) = result {
                cx.syn_error(e);
            }
        } else if is_sqlx(attr) {
            // sqlx's own derive reports malformed `#[sqlx]` attributes; read what we need.
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") {
                    out.rename_all = Some(meta.value()?.parse()?);
                    Ok(())
                } else {
                    skip_meta(&meta)
                }
            });
        }
    }
    out
}

pub fn field_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs {
        if is_factory(attr) {
            let result = attr.parse_nested_meta(|meta| {
                let name = meta_ident(&meta)?;
                let flag = match name.to_string().as_str() {
                    PRIMARY_KEY => Some(&mut out.primary_key),
                    GENERATED => Some(&mut out.generated),
                    SKIP => Some(&mut out.skip),
                    REQUIRED => Some(&mut out.required),
                    TRANSIENT => Some(&mut out.transient),
                    CREATE_PARENT => Some(&mut out.create_parent),
                    _ => None,
                };
                if let Some(slot) = flag {
                    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                        return Err(meta.error(format!(
                            "`{name}` takes no value: write `#[factory({name})]`"
                        )));
                    }
                    set_once(cx, slot, name.clone(), &name);
                    return Ok(());
                }
                match name.to_string().as_str() {
                    DEFAULT => {
                        let expr = meta.value()?.parse()?;
                        set_once(cx, &mut out.default, (name.clone(), expr), &name);
                    }
                    FAKE => {
                        let expr = meta.value()?.parse()?;
                        set_once(cx, &mut out.fake, (name.clone(), expr), &name);
                    }
                    SEQUENCE => {
                        let expr = meta.value()?.parse()?;
                        set_once(cx, &mut out.sequence, (name.clone(), expr), &name);
                    }
                    LAZY => {
                        let expr = meta.value()?.parse()?;
                        set_once(cx, &mut out.lazy, (name.clone(), expr), &name);
                    }
                    ASSOCIATION => {
                        let path = meta.value()?.parse()?;
                        set_once(cx, &mut out.association, (name.clone(), path), &name);
                    }
                    REFERENCES => {
                        let field: Ident = meta.value()?.parse()?;
                        set_once(cx, &mut out.references, (name.clone(), field), &name);
                    }
                    BACK_REFERENCE => {
                        let field: Ident = meta.value()?.parse()?;
                        set_once(cx, &mut out.back_reference, (name.clone(), field), &name);
                    }
                    INTO => {
                        let ty: syn::Type = meta.value()?.parse()?;
                        set_once(cx, &mut out.into, (name.clone(), ty), &name);
                    }
                    COLUMN => {
                        let column = meta.value()?.parse()?;
                        set_once(cx, &mut out.column, column, &name);
                    }
                    _ => return Err(unknown(&name, FIELD_ATTRS, "field")),
                }
                Ok(())
            });
            if let Err(e) = result {
                cx.syn_error(e);
            }
        } else if is_sqlx(attr) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    out.sqlx_rename = Some(meta.value()?.parse()?);
                    Ok(())
                } else if meta.path.is_ident("skip") {
                    out.sqlx_skip = true;
                    Ok(())
                } else if meta.path.is_ident("default") {
                    out.sqlx_default = true;
                    Ok(())
                } else if meta.path.is_ident("json") {
                    out.sqlx_json = true;
                    skip_meta(&meta)
                } else if meta.path.is_ident("try_from") {
                    let ident = meta.path.get_ident().cloned();
                    let ty: LitStr = meta.value()?.parse()?;
                    out.sqlx_try_from = ident.map(|ident| (ident, ty));
                    Ok(())
                } else if meta.path.is_ident("flatten") {
                    out.sqlx_flatten = meta.path.get_ident().cloned();
                    Ok(())
                } else {
                    skip_meta(&meta)
                }
            });
        }
    }
    out
}

/// `association(Parent, fields(a, b), references(x, y))` on the struct.
fn composite(meta: &ParseNestedMeta<'_>, name: Ident) -> syn::Result<CompositeAttr> {
    const SYNTAX: &str = "write a composite key as `association(Parent, fields(a, b))`, with `references(x, y)` when the parent's fields have other names";
    let mut parent: Option<Path> = None;
    let mut fields: Option<Vec<Ident>> = None;
    let mut references = None;
    let list = |inner: &ParseNestedMeta<'_>| -> syn::Result<Vec<Ident>> {
        let mut names = Vec::new();
        inner.parse_nested_meta(|item| {
            names.push(item.path.require_ident()?.clone());
            Ok(())
        })?;
        Ok(names)
    };
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("fields") && inner.input.peek(syn::token::Paren) {
            fields = Some(list(&inner)?);
        } else if inner.path.is_ident("references") && inner.input.peek(syn::token::Paren) {
            let ident = inner.path.require_ident()?.clone();
            references = Some((ident, list(&inner)?));
        } else if parent.is_none()
            && !inner.input.peek(Token![=])
            && !inner.input.peek(syn::token::Paren)
        {
            parent = Some(inner.path.clone());
        } else {
            return Err(inner.error(SYNTAX));
        }
        Ok(())
    })?;
    match (parent, fields) {
        (Some(parent), Some(fields)) if fields.len() >= 2 => Ok(CompositeAttr {
            name,
            parent,
            fields,
            references,
        }),
        (Some(_), Some(_)) => Err(meta.error(
            "a composite key has two fields or more; for one, write `#[factory(association = Parent)]` on the field",
        )),
        _ => Err(meta.error(SYNTAX)),
    }
}

/// Consumes a `#[sqlx]` option we do not read: `key`, `key = value` or `key(..)`.
fn skip_meta(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_meta(&inner))?;
    }
    Ok(())
}

impl FieldAttrs {
    /// The value attributes present, by name, in a fixed order.
    pub fn values(&self) -> impl Iterator<Item = &(Ident, Expr)> {
        [&self.default, &self.fake, &self.sequence, &self.lazy]
            .into_iter()
            .flatten()
    }
}
