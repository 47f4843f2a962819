//! The schema check's view of a model: one `FieldInfo` per column field, saying what
//! the factory sends and reads, plus a way to draw sample rows. The comparison with the live
//! table is runtime code (`src/check/`); this file only describes the fields.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::{Field, Input, Value};

/// `impl CheckFields for Model` (the field table and the samples, the same on every backend)
/// and `impl CheckModel<DB> for Model`, generic over the backend like `Insert<DB>`, with the
/// same per-field bounds: a model a backend cannot store simply has no impl there. The generic
/// impl holds one call per field and no closure, so each backend costs little.
pub fn check_impl(input: &Input<'_>, factory: &syn::Ident, has_required: bool) -> TokenStream {
    let private = format_ident!("__sf");
    let model = input.ident;
    let bounds = column_bounds(input);
    let parent_bounds = input
        .fields
        .iter()
        .filter(|f| f.is_column())
        .filter_map(|f| f.association())
        .map(|parent| quote!(#parent: #private::ParentTable<__DB>));
    let facts = facts_list(input);
    let field = field_body(input);
    let columns = columns_body(input);
    // Models with `required` fields have no default object to draw: their values are not
    // sampled (lengths, ranges, NULLs and enum labels go unchecked for them).
    let sample = if has_required {
        quote!(let _ = (__n, __seed); #private::Vec::new())
    } else {
        quote! {
            let mut __sample = #private::Vec::with_capacity(__n);
            for __i in 0..__n {
                __sample.push(#factory::new().seed(#private::sample_seed(__seed, __i)).build());
            }
            __sample
        }
    };
    quote! {
        #[automatically_derived]
        impl #private::CheckFields for #model {
            const FIELDS: &'static [#private::FieldFacts] = #facts;

            #[inline]
            fn field(&self, __field: usize) -> (#private::Measure, &dyn #private::core::any::Any) {
                #field
            }

            #[inline]
            fn sample(__n: usize, __seed: u64) -> #private::Vec<Self> {
                #sample
            }
        }

        #[automatically_derived]
        impl<__DB: #private::CheckBackend> #private::CheckModel<__DB> for #model
        where
            #(#bounds,)*
            #(#parent_bounds,)*
        {
            fn columns() -> #private::Vec<#private::ColumnFns<__DB>> {
                #columns
            }
        }
    }
}

/// `FIELDS`: one `FieldFacts` per column, a group's spliced in.
pub fn facts_list(input: &Input<'_>) -> TokenStream {
    crate::flatten::spliced(
        input,
        quote!(__sf::FieldFacts),
        quote!(__sf::splice_facts),
        field_facts,
        "FIELDS",
    )
}

/// Per column, what the check needs of its type on `__DB` (a group: of all its columns).
pub fn column_bounds(input: &Input<'_>) -> Vec<TokenStream> {
    let private = format_ident!("__sf");
    input
        .fields
        .iter()
        .filter(|f| f.is_column())
        .map(|f| {
            let ty = stored_type(f);
            let read = f.ty;
            if f.is_flatten() {
                quote!(#ty: #private::FlattenCheck<__DB>)
            } else if read_as_own_type(f) {
                quote!(#ty: #private::CheckColumn<__DB>, #read: #private::sqlx::Type<__DB>)
            } else {
                quote!(#ty: #private::CheckColumn<__DB>)
            }
        })
        .collect()
}

/// The body of `field(&self, __field)`: the value of the column at `__field` in `FIELDS`.
pub fn field_body(input: &Input<'_>) -> TokenStream {
    let private = format_ident!("__sf");
    let columns: Vec<&Field<'_>> = input.fields.iter().filter(|f| f.is_column()).collect();
    if !crate::flatten::has_groups(input) {
        let arms = columns.iter().enumerate().map(|(i, f)| {
            let ident = f.ident;
            let measure = measure(f);
            quote!(#i => (#measure, &self.#ident),)
        });
        return quote! {
            match __field {
                #(#arms)*
                _ => (#private::Measure::Other, &()),
            }
        };
    }
    // Positions are `const` expressions past a group, so an `if` each instead of a `match`.
    let arms = columns.iter().map(|f| {
        let ident = f.ident;
        let at = crate::flatten::position(input, f);
        if f.is_flatten() {
            let columns = crate::flatten::group(f, "COLUMNS");
            let field = crate::flatten::group(f, "field");
            quote! {
                if __field.wrapping_sub(#at) < #columns.len() {
                    return #field(&self.#ident, __field - #at);
                }
            }
        } else {
            let measure = measure(f);
            quote! {
                if __field == #at {
                    return (#measure, &self.#ident);
                }
            }
        }
    });
    quote! {
        #(#arms)*
        (#private::Measure::Other, &())
    }
}

/// The body of `columns()`: one `ColumnFns` per column, a group's spliced in.
pub fn columns_body(input: &Input<'_>) -> TokenStream {
    let private = format_ident!("__sf");
    let fns = input.fields.iter().filter(|f| f.is_column()).map(|f| {
        let ty = stored_type(f);
        if f.is_flatten() {
            return quote!(<#ty as #private::FlattenCheck<__DB>>::columns());
        }
        let read = f.ty;
        let column = if f.attrs.sqlx_json {
            quote!(json_column::<__DB, #ty>)
        } else if read_as_own_type(f) {
            quote!(column_read_as::<__DB, #ty, #read>)
        } else {
            quote!(column::<__DB, #ty>)
        };
        // Through a bound that names the backend, so that when `association = NotAModel` the
        // impl just does not apply: the association's own error stays the only one.
        let parent_table = match f.association() {
            Some(parent) => {
                quote!(#private::Some(<#parent as #private::ParentTable<__DB>>::TABLE))
            }
            None => quote!(#private::None),
        };
        quote!(#private::#column(#parent_table))
    });
    if !crate::flatten::has_groups(input) {
        return quote!(#private::Vec::from([#(#fns),*]));
    }
    let pushes = input
        .fields
        .iter()
        .filter(|f| f.is_column())
        .zip(fns)
        .map(|(f, fns)| {
            if f.is_flatten() {
                quote!(__columns.extend(#fns);)
            } else {
                quote!(__columns.push(#fns);)
            }
        });
    quote! {
        let mut __columns = #private::Vec::new();
        #(#pushes)*
        __columns
    }
}

/// The type sqlx binds: `Json<T>` for `#[sqlx(json)]` fields, the converted type for
/// `#[factory(into = T)]` / `#[sqlx(try_from = "T")]` (the column holds that type, and its
/// values are the field's own: measured by the probe on the field's type). It is also the type
/// read back, but for `into` alone ([`read_as_own_type`]).
fn stored_type(f: &Field<'_>) -> TokenStream {
    let ty = f.ty;
    if f.attrs.sqlx_json {
        quote!(__sf::sqlx::types::Json<#ty>)
    } else if let Some(into) = crate::stored::into_type(f) {
        quote!(#into)
    } else {
        quote!(#ty)
    }
}

/// Whether `f` is bound as another type than it is read as: `#[factory(into = T)]` without
/// `#[sqlx(try_from)]` binds `T`, and `FromRow` decodes the field's own type.
fn read_as_own_type(f: &Field<'_>) -> bool {
    f.attrs.into.is_some() && f.attrs.sqlx_try_from.is_none() && !f.attrs.sqlx_json
}

fn field_facts(f: &Field<'_>) -> TokenStream {
    let private = format_ident!("__sf");
    let name = f.name();
    let column = &f.column;
    let rust_type = type_name(f.ty);
    let option = f.is_option();
    let fill = fill(f);
    quote! {
        #private::FieldFacts {
            field: #name,
            column: #column,
            rust_type: #rust_type,
            option: #option,
            fill: #fill,
        }
    }
}

/// The measure of the field `f` of `self`: its value measured through the autoref probe on the
/// concrete type (text length, integer value, or nothing for other types); `Option` is
/// unwrapped here, by syntax, as elsewhere. `Other` for `#[sqlx(json)]` fields (not measured).
fn measure(f: &Field<'_>) -> TokenStream {
    let private = format_ident!("__sf");
    let ident = f.ident;
    // `MeasureKnown` and `MeasureOther` are imported once, in the impls' `const _` block.
    match (f.attrs.sqlx_json, f.option_inner()) {
        (true, _) => quote!(#private::Measure::Other),
        (false, Some(_)) => quote! {
            match &self.#ident {
                #private::None => #private::Measure::Null,
                #private::Some(__value) => (&#private::Probe(__value)).measure(),
            }
        },
        (false, None) => quote!((&#private::Probe(&self.#ident)).measure()),
    }
}

/// Which attribute fills the field when the factory is not told a value.
fn fill(f: &Field<'_>) -> TokenStream {
    let private = format_ident!("__sf");
    // Every field of a composite key is filled from the parent row, not only the first (which
    // carries the association).
    let variant = if f.association().is_some() || f.attrs.group_first.is_some() {
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
    let ty = crate::ast::peel(ty);
    let text: String = quote!(#ty)
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.replace(',', ", ")
}
