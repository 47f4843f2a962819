//! Models that reference each other in a cycle: a compile error in our words at the
//! derive, instead of rustc's `E0275 overflow evaluating the requirement ..: InsertParent<..>`
//! at the first `create()`.
//!
//! Each derive sees one struct, so the graph is walked in `const`s (`src/cycle.rs`): a model's
//! `Association` impl records its associations, each linked to its parent's level below
//! (`LINKS1..=5`), and a child finds itself at the end of one of its parent's chains, searched
//! once per association into a `const` of the association's field marker. The association's
//! `InsertParent` bound is then cut (`ON_CYCLE = true`), and the model of the cycle whose name
//! sorts first panics with the cycle, so it is one error.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Path;
use syn::spanned::Spanned;

use crate::ast::{Field, Input, UnrawString};

/// The associations the graph follows: not a self-reference (an `Option` key, one level), not
/// a `back_reference` (inserted with NULL first): those never need their parent first.
fn edges<'a>(input: &'a Input<'a>) -> impl Iterator<Item = (&'a Field<'a>, &'a Path)> + 'a {
    input.fields.iter().filter_map(|f| {
        let parent = f.association()?;
        if f.is_self_reference(input.ident) || f.is_deferred() {
            return None;
        }
        Some((f, parent))
    })
}

/// The model's path, `module_path!()` and its name, then `#` and the line and column of its
/// derive: what the check compares (two models of one name in two modules, or in a module and
/// a function of it, are two models), shortened to the name in messages. Every use is written
/// by this derive, so each reads the same line and column.
fn model_path(input: &Input<'_>) -> TokenStream {
    let name = input.ident.unraw_string();
    let core = quote!(::sqlx_factory::__private::core);
    quote!(#core::concat!(
        #core::module_path!(), "::", #name, "#", #core::line!(), ":", #core::column!()
    ))
}

/// The parent's path, read from its `Association` impl, spanned at the user's path.
fn parent_path(parent: &Path) -> TokenStream {
    let span = parent.span();
    let private = quote_spanned!(span=> ::sqlx_factory::__private);
    quote_spanned!(span=> <#parent as #private::Association>::PATH)
}

/// `const PATH` and `const LINKS1..=5` of the model's `Association` impl (the levels only for
/// a model with an edge).
pub fn association_consts(input: &Input<'_>) -> TokenStream {
    let path = model_path(input);
    let path = quote!(const PATH: &'static str = #path;);
    let edges: Vec<_> = edges(input).collect();
    if edges.is_empty() {
        return path;
    }
    let private = quote!(::sqlx_factory::__private);
    let levels = (1..=5u32).map(|level| {
        let name = quote::format_ident!("LINKS{}", level);
        let below = quote::format_ident!("LINKS{}", level - 1);
        let links = edges.iter().map(|(f, parent)| {
            let field = f.name();
            let to = parent_path(parent);
            let span = parent.span();
            let spanned = quote_spanned!(span=> ::sqlx_factory::__private);
            let next = if level == 1 {
                quote!(&[])
            } else {
                quote_spanned!(span=> <#parent as #spanned::Association>::#below)
            };
            quote!(#private::Link { field: #field, to: #to, next: #next })
        });
        quote! {
            const #name: &'static [#private::Link] = &[#(#links),*];
        }
    });
    quote!(#path #(#levels)*)
}

/// Where what the search from `field`'s parent found (`Reach`) is kept: the `FOUND` of the
/// field's marker type (`CycleSearch`), one per association, so the graph is searched once per
/// association however many places read it. An associated `const` of a hidden type, so it
/// adds no name to the user's module and needs no `allow` (which `forbid` would refuse).
fn found(input: &Input<'_>, field: &Field<'_>, span: proc_macro2::Span) -> TokenStream {
    let marker = crate::refs::marker(input, field.ident);
    let private = quote_spanned!(span=> ::sqlx_factory::__private);
    quote_spanned!(span=> <#marker as #private::CycleSearch>::FOUND)
}

/// The `ON_CYCLE` argument of the association's `InsertParent` bound: whether `field`'s
/// parent's chains come back to this model. Spanned at the parent's path, as every mention of
/// it.
pub fn on_cycle(input: &Input<'_>, field: &Field<'_>) -> TokenStream {
    let Some(parent) = field.association() else {
        return quote!(false);
    };
    let found = found(input, field, parent.span());
    quote_spanned!(parent.span()=> { #found.on_cycle() })
}

/// Per association, the `CycleSearch` impl that keeps what its search found; per parent, one
/// `const _` that panics with the cycle when this model is the one to report it.
pub fn checks(input: &Input<'_>) -> TokenStream {
    let model = model_path(input);
    let searches = edges(input).map(|(f, parent)| {
        let marker = crate::refs::marker(input, f.ident);
        let span = parent.span();
        let private = quote_spanned!(span=> ::sqlx_factory::__private);
        quote_spanned! {span=>
            impl #private::CycleSearch for #marker {
                const FOUND: #private::Reach =
                    #private::reach(<#parent as #private::Association>::LINKS5, #model);
            }
        }
    });
    let mut seen = Vec::new();
    let checks = edges(input).filter_map(|(f, parent)| {
        // Two associations to one parent would report the same cycle twice.
        let written = quote!(#parent).to_string();
        if seen.contains(&written) {
            return None;
        }
        seen.push(written);
        let parent_path = parent_path(parent);
        let field = f.name();
        let span = parent.span();
        let found = found(input, f, span);
        let private = quote_spanned!(span=> ::sqlx_factory::__private);
        Some(quote_spanned! {span=>
            const _: () = {
                // The message (a kilobyte built in the `const`, searching again) only on a
                // cycle, or when the graph is too wide to tell.
                if #found.to_report() {
                    let links = <#parent as #private::Association>::LINKS5;
                    let error = #private::cycle_error(links, #model, #field, #parent_path);
                    if error.is_error() {
                        #private::core::panic!("{}", error.as_str())
                    }
                }
            };
        })
    });
    quote!(#(#searches)* #(#checks)*)
}
