//! `#[sqlx(flatten)]` fields: where a column field stands once the columns of the groups
//! before it are spliced in, and the spliced lists themselves. Each is a `const` expression
//! over the groups' `Flatten` consts (this derive sees one struct, not the group's fields); a
//! model without groups gets plain numbers and lists, as before.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Field, Input};

/// `<Group as Flatten>::item` for a flatten field, every token spanned at its type: a type
/// that is no group is then one error there, however many items name it.
pub fn group(f: &Field<'_>, item: &str) -> TokenStream {
    let ty = f.ty;
    let span = ty.span();
    let private = quote_spanned!(span=> ::sqlx_factory::__private);
    let item = syn::Ident::new(item, span);
    quote_spanned!(span=> <#ty as #private::Flatten>::#item)
}

/// The override slot of a group-drawn field: the group's factory, which `<field>_with`
/// customises.
pub fn slot(f: &Field<'_>) -> syn::Ident {
    quote::format_ident!("__{}_group", f.ident)
}

pub fn has_groups(input: &Input<'_>) -> bool {
    input.fields.iter().any(|f| f.is_column() && f.is_flatten())
}

/// `f`'s index among the model's columns: the columns before it, groups' counted whole.
pub fn position(input: &Input<'_>, f: &Field<'_>) -> TokenStream {
    count_before(
        input,
        f,
        |_| true,
        |g| {
            let columns = group(g, "COLUMNS");
            quote!(#columns.len())
        },
    )
}

/// The `ColumnSet` bit of `f`, a database-filled column (or of a group's first): the
/// database-filled columns before it, groups' counted whole.
pub fn bit(input: &Input<'_>, f: &Field<'_>) -> TokenStream {
    count_before(input, f, |c| c.is_db_filled(), |g| group(g, "DB_FILLED"))
}

fn count_before(
    input: &Input<'_>,
    f: &Field<'_>,
    own: impl Fn(&Field<'_>) -> bool,
    whole: impl Fn(&Field<'_>) -> TokenStream,
) -> TokenStream {
    let mut count = 0usize;
    let mut groups = Vec::new();
    for column in input.fields.iter().filter(|c| c.is_column()) {
        if std::ptr::eq(column, f) {
            break;
        }
        if column.is_flatten() {
            groups.push(whole(column));
        } else if own(column) {
            count += 1;
        }
    }
    if count > 0 {
        groups.insert(0, quote!(#count));
    }
    sum(groups)
}

/// `a + b + ..` of `terms` (`0` for none), without a `0 +` that clippy would flag in the
/// user's code.
pub fn sum(terms: Vec<TokenStream>) -> TokenStream {
    match terms.len() {
        0 => quote!(0usize),
        1 => quote!(#(#terms)*),
        _ => quote!((#(#terms)+*)),
    }
}

/// The model's list of `elem` (`Column`, `FieldFacts`), one per column: `&[..]` of `own(f)`,
/// or, with groups, their lists (the group's const `list`) spliced in by `splice` in a `const`.
pub fn spliced(
    input: &Input<'_>,
    elem: TokenStream,
    splice: TokenStream,
    own: impl Fn(&Field<'_>) -> TokenStream,
    list: &str,
) -> TokenStream {
    let columns = input.fields.iter().filter(|f| f.is_column());
    if !has_groups(input) {
        let own = columns.map(own);
        return quote!(&[#(#own),*]);
    }
    let mut span = None;
    let mut parts: Vec<TokenStream> = Vec::new();
    let mut lens: Vec<TokenStream> = Vec::new();
    let mut run: Vec<TokenStream> = Vec::new();
    let flush = |run: &mut Vec<TokenStream>, parts: &mut Vec<TokenStream>, lens: &mut Vec<_>| {
        if !run.is_empty() {
            let n = run.len();
            parts.push(quote!(&[#(#run),*]));
            lens.push(quote!(#n));
            run.clear();
        }
    };
    for f in columns {
        if f.is_flatten() {
            span.get_or_insert(f.ty.span());
            flush(&mut run, &mut parts, &mut lens);
            let list = group(f, list);
            lens.push(quote!(#list.len()));
            parts.push(list);
        } else {
            run.push(own(f));
        }
    }
    flush(&mut run, &mut parts, &mut lens);
    let n = sum(lens);
    let block = quote!({
        const __N: usize = #n;
        const __ALL: [#elem; __N] = #splice::<__N>(&[#(#parts),*]);
        &__ALL
    });
    // At the first group's type, as every mention of a group: a type that is no group is one
    // error there, not one more at the derive for the `const`s that could not be computed.
    match span {
        Some(span) => crate::refs::respan(block, span),
        None => block,
    }
}
