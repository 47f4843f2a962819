//! What a field is bound as: its own type, `Json<T>` for `#[sqlx(json)]`, or the
//! type it converts to for `#[factory(into = T)]` / `#[sqlx(try_from = "T")]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned;

use crate::ast::{Field, Input, is_unsigned_type};

/// The type a field is converted to before binding: `into = T`, else `#[sqlx(try_from = "T")]`
/// (the type `FromRow` decodes and converts from is the one to bind back). `None` when the
/// `try_from` string is no type (reported by `valid`).
pub fn into_type(f: &Field<'_>) -> Option<Type> {
    if let Some((_, ty)) = &f.attrs.into {
        return Some(ty.clone());
    }
    let (_, lit) = f.attrs.sqlx_try_from.as_ref()?;
    lit.parse::<Type>().ok()
}

/// Whether `f` is bound as its own type (no `json`, `into` or `try_from`): its column then
/// decodes as the field's type.
pub fn is_plain(f: &Field<'_>) -> bool {
    !f.attrs.sqlx_json && f.attrs.into.is_none() && f.attrs.sqlx_try_from.is_none()
}

/// The type the backend must encode for `f`.
pub fn bound_type(f: &Field<'_>) -> TokenStream {
    let ty = f.ty;
    let private = quote_spanned!(ty.span()=> ::sqlx_factory::__private);
    if f.attrs.sqlx_json {
        quote_spanned!(ty.span()=> #private::sqlx::types::Json<#ty>)
    } else if let Some(into) = into_type(f) {
        quote!(#into)
    } else {
        quote!(#ty)
    }
}

/// The value bound for `f`, from the local `var` holding the field's value. A conversion is
/// spanned at the field's type, so a type without it is one error there, naming the field.
pub fn bind_value(input: &Input<'_>, f: &Field<'_>, var: &syn::Ident) -> TokenStream {
    let ty = f.ty;
    let private = quote_spanned!(ty.span()=> ::sqlx_factory::__private);
    if f.attrs.sqlx_json {
        quote!(#private::sqlx::types::Json(#var))
    } else if let Some(into) = into_type(f) {
        let marker = crate::refs::marker(input, f.ident);
        quote_spanned!(ty.span()=> <#ty as #private::BindAs<#into, #marker>>::bind_as(#var)?)
    } else {
        quote!(#var)
    }
}

/// `S: StoresField<T, field>` per column, spanned at the field's type: put before `create`'s
/// `State` bound so that a type the bound backend cannot store is reported once, naming the
/// field (see `StoresField`; `StoresUnsigned` for an unsigned integer, whose message says how
/// to bind it as a signed type).
pub fn store_checks(input: &Input<'_>) -> Vec<TokenStream> {
    input
        .fields
        .iter()
        .filter(|f| f.is_column())
        .map(|f| {
            let ty = f.ty;
            let private = quote_spanned!(ty.span()=> ::sqlx_factory::__private);
            let marker = crate::refs::marker(input, f.ident);
            let session = &input.session;
            if f.is_flatten() {
                return quote_spanned!(ty.span()=> #session: #private::StoresFlatten<#ty, #marker>);
            }
            let stored = bound_type(f);
            // An unsigned integer bound as itself: the error names the signed binding.
            let check = if is_plain(f) && is_unsigned_type(ty) {
                quote_spanned!(ty.span()=> StoresUnsigned)
            } else {
                quote_spanned!(ty.span()=> StoresField)
            };
            quote_spanned!(ty.span()=> #session: #private::#check<#stored, #marker>)
        })
        .collect()
}
