//! Two models that reference each other (issue 11): a compile error in our words at the
//! derive, instead of rustc's `E0275 overflow evaluating the requirement ..: InsertParent<..>`
//! at the first `create()`.
//!
//! Each derive sees one struct, so the check runs in a `const`: the child reads the parent's
//! `Model::PARENTS` and panics if it names the child. Both sides of a pair can see the cycle;
//! only the side whose name sorts first reports it, so it is one error.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Input, UnrawString};

/// `Model::PARENTS`: the last path segment of each association's parent, self excluded.
pub fn parents(input: &Input<'_>) -> Vec<String> {
    let mut names: Vec<String> = input
        .fields
        .iter()
        .filter(|f| !f.is_self_reference(input.ident) && !f.is_deferred())
        .filter_map(|f| f.association()?.segments.last())
        .map(|last| last.ident.unraw_string())
        .collect();
    names.dedup();
    names
}

/// One `const _` per association whose parent's name sorts after this model's.
pub fn checks(input: &Input<'_>) -> TokenStream {
    let model = input.ident.unraw_string();
    let checks = input.fields.iter().filter_map(|f| {
        let parent = f.association()?;
        if f.is_deferred() {
            return None;
        }
        let parent_name = parent.segments.last()?.ident.unraw_string();
        if parent_name <= model {
            return None;
        }
        let field = f.name();
        let message = format!(
            "`{model}` and `{parent_name}` reference each other (`{model}.{field}` -> `{parent_name}` -> `{model}`): \
             a factory cannot create either row first. On the side whose key is `Option<..>`, add \
             `back_reference = <the other side's key field>`: that row is inserted with NULL and \
             its key set with an `UPDATE` once the other row exists"
        );
        let span = parent.span();
        let private = quote_spanned!(span=> ::sqlx_factory::__private);
        Some(quote_spanned! {span=>
            const _: () = if #private::names(<#parent as #private::Association>::PARENTS, #model) {
                #private::core::panic!(#message)
            };
        })
    });
    quote!(#(#checks)*)
}
