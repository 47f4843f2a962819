//! The schema check's view of a model (issue 12): one `FieldInfo` per column field, saying what
//! the factory sends and reads, plus a way to draw sample rows. The comparison with the live
//! table is runtime code (`src/check/`); this file only describes the fields.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::{Field, Input, Value};

/// `impl CheckModel<DB> for Model`, generic over the backend like `Insert<DB>`, with the same
/// per-field bounds: a model a backend cannot store simply has no impl there.
pub fn check_impl(input: &Input<'_>, factory: &syn::Ident, has_required: bool) -> TokenStream {
    let private = quote!(::sqlx_factory::__private);
    let model = input.ident;
    let columns: Vec<&Field<'_>> = input.fields.iter().filter(|f| f.is_column()).collect();
    let bounds = columns.iter().map(|f| {
        let ty = stored_type(f);
        quote!(#ty: #private::CheckColumn<__DB>)
    });
    let parent_bounds = columns
        .iter()
        .filter_map(|f| f.association())
        .map(|parent| quote!(#parent: #private::ParentTable<__DB>));
    let infos = columns.iter().map(|f| field_info(f, model));
    // Models with `required` fields have no default object to draw: their values are not
    // sampled (lengths, ranges, NULLs and enum labels go unchecked for them).
    let sample = if has_required {
        quote!(let _ = (__n, __seed); #private::Vec::new())
    } else {
        quote! {
            (0..__n)
                .map(|__i| #factory::new().seed(#private::sample_seed(__seed, __i)).build())
                .collect()
        }
    };
    quote! {
        #[automatically_derived]
        impl<__DB: #private::CheckBackend> #private::CheckModel<__DB> for #model
        where
            #(#bounds,)*
            #(#parent_bounds,)*
        {
            fn fields() -> #private::Vec<#private::FieldInfo<__DB, Self>> {
                #private::Vec::from([#(#infos),*])
            }

            fn sample(__n: usize, __seed: u64) -> #private::Vec<Self> {
                #sample
            }
        }
    }
}

/// The type sqlx binds and decodes: `Json<T>` for `#[sqlx(json)]` fields.
fn stored_type(f: &Field<'_>) -> TokenStream {
    let ty = f.ty;
    if f.attrs.sqlx_json {
        quote!(::sqlx_factory::__private::sqlx::types::Json<#ty>)
    } else {
        quote!(#ty)
    }
}

fn field_info(f: &Field<'_>, model: &syn::Ident) -> TokenStream {
    let private = quote!(::sqlx_factory::__private);
    let ident = f.ident;
    let name = f.name();
    let column = &f.column;
    let ty = stored_type(f);
    let rust_type = type_name(f.ty);
    let option = f.is_option();
    let fill = fill(f);
    let parent_table = match f.association() {
        // Through a bound that names the backend, so that when `association = NotAModel` the
        // impl just does not apply: the association's own error stays the only one.
        Some(parent) => {
            quote!(#private::core::option::Option::Some(<#parent as #private::ParentTable<__DB>>::TABLE))
        }
        None => quote!(#private::core::option::Option::None),
    };
    // Values are measured through the autoref probe on the concrete type: text length, integer
    // value, or nothing for other types. `Option` is unwrapped here, by syntax, as elsewhere.
    let measure = match (f.attrs.sqlx_json, f.option_inner()) {
        (true, _) => quote!(|_: &#model| #private::Measure::Other),
        (false, Some(_)) => quote! {
            |__row: &#model| match &__row.#ident {
                #private::core::option::Option::None => #private::Measure::Null,
                #private::core::option::Option::Some(__value) => {
                    #[allow(unused_imports)]
                    use #private::{MeasureKnown as _, MeasureOther as _};
                    (&#private::Probe(__value)).measure()
                }
            }
        },
        (false, None) => quote! {
            |__row: &#model| {
                #[allow(unused_imports)]
                use #private::{MeasureKnown as _, MeasureOther as _};
                (&#private::Probe(&__row.#ident)).measure()
            }
        },
    };
    let text = if f.attrs.sqlx_json {
        quote!(|_: &#model| #private::core::option::Option::None)
    } else {
        quote!(|__row: &#model| <#ty as #private::CheckColumn<__DB>>::encoded_text(&__row.#ident))
    };
    quote! {
        #private::FieldInfo {
            field: #name,
            column: #column,
            rust_type: #rust_type,
            option: #option,
            fill: #fill,
            parent_table: #parent_table,
            type_name: <#ty as #private::CheckColumn<__DB>>::type_name,
            compatible: <#ty as #private::CheckColumn<__DB>>::compatible,
            measure: #measure,
            text: #text,
        }
    }
}

/// Which attribute fills the field when the factory is not told a value.
fn fill(f: &Field<'_>) -> TokenStream {
    let private = quote!(::sqlx_factory::__private);
    let variant = if f.association().is_some() {
        "Association"
    } else {
        match f.value() {
            // A database-filled field with no value attribute is left out of the INSERT.
            Value::Dummy if f.attrs.primary_key.is_some() => "PrimaryKey",
            Value::Dummy if f.attrs.generated.is_some() => "Generated",
            Value::Dummy => "Random",
            Value::Default(_) => "Default",
            Value::Fake(_) => "Fake",
            Value::Sequence(_) => "Sequence",
            Value::Lazy(_) => "Lazy",
            Value::Required => "Required",
            Value::Skip => "Random",
        }
    };
    let variant = format_ident!("{}", variant);
    quote!(#private::Fill::#variant)
}

/// The field's type as the user wrote it, without the token spacing: `Option<DateTime<Utc>>`.
fn type_name(ty: &syn::Type) -> String {
    let text: String = quote!(#ty)
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.replace(',', ", ")
}
