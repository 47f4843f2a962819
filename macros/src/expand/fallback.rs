//! The stub emitted after a derive error (thiserror's `fallback.rs`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{DeriveInput, Ident};

use crate::ast::{Input, UnrawString};

/// The errors, plus a stub factory with every method the real one would have (thiserror's
/// `fallback.rs`), so that the user's other uses of it (`Model::factory()`, a trait `impl`,
/// setters, `build`, `with_session(..).create()`) add no error of their own: one mistake in the
/// derive is one error. The stub's methods accept anything and are never run.
///
/// When the attributes parsed (`model` is `Some`; a check in `valid` failed), the stub follows
/// them: setters for the settable fields, and `<field>_with` only for associations, typed with
/// the parent's factory (`{Parent}Factory`, named by the path so a self-reference needs no
/// `Association` impl), so that `|u| u.admin()` infers.
pub(super) fn fallback(
    input: &DeriveInput,
    errors: syn::Error,
    model: Option<&Input<'_>>,
) -> TokenStream {
    let errors = errors.to_compile_error();
    let ident = &input.ident;
    let vis = &input.vis;
    let factory = format_ident!("{}Factory", input.ident);
    let private = quote!(::sqlx_factory::__private);
    let s = crate::ast::session_param(input);
    let stub = quote! {
        #vis struct #factory<#s = #private::NoSession>(#private::PhantomData<#s>);

        impl<#s> #private::core::fmt::Debug for #factory<#s> {
            fn fmt(&self, f: &mut #private::core::fmt::Formatter<'_>) -> #private::core::fmt::Result {
                f.write_str(#private::core::stringify!(#factory))
            }
        }
    };
    // A generic model's methods would need its parameters; only the type is stubbed then.
    if !input.generics.params.is_empty() {
        return quote!(#errors #stub);
    }
    const METHODS: &[&str] = &[
        "new",
        "seed",
        "after_build",
        "after_create",
        "with_related",
        "in_savepoint",
        "with_session",
        "clone",
        "build",
        "build_batch",
        "create",
        "create_batch",
    ];
    let setter = |field: &Ident, with: TokenStream| {
        quote! {
            #vis fn #field<__T>(self, _: __T) -> Self { self }
            #with
        }
    };
    let untyped_with = |field: &Ident| {
        let with = format_ident!("{}_with", field.unraw_string());
        quote!(#vis fn #with<__T>(self, _: __T) -> Self { self })
    };
    let unclaimed = |field: &&Ident| !METHODS.contains(&field.unraw_string().as_str());
    let setters: Vec<TokenStream> = match model {
        Some(model) => model
            .fields
            .iter()
            .filter(|f| !f.is_skipped() && unclaimed(&f.ident))
            .map(|f| {
                // The parent's factory, or a flatten field's group's, named by its path.
                let path = match crate::ast::peel(f.ty) {
                    syn::Type::Path(ty) if f.is_group_drawn() => Some(&ty.path),
                    _ => f.association(),
                };
                let with = path.map(|parent| {
                    let with = format_ident!("{}_with", f.ident.unraw_string());
                    let mut parent_factory = parent.clone();
                    if let Some(last) = parent_factory.segments.last_mut() {
                        last.ident = format_ident!("{}Factory", last.ident);
                    }
                    quote! {
                        #vis fn #with<__R>(self, _: impl #private::core::ops::FnOnce(#parent_factory) -> __R) -> Self { self }
                    }
                });
                setter(f.ident, with.unwrap_or_default())
            })
            .collect(),
        None => match &input.data {
            syn::Data::Struct(data) => data
                .fields
                .iter()
                .filter_map(|f| f.ident.as_ref())
                .filter(unclaimed)
                .map(|field| setter(field, untyped_with(field)))
                .collect(),
            _ => Vec::new(),
        },
    };
    quote! {
        #errors
        #stub

        #[allow(dead_code, clippy::all)]
        impl #ident {
            #vis fn factory() -> #factory {
                #factory(#private::PhantomData)
            }
        }

        #[allow(dead_code, clippy::all)]
        impl #factory {
            #vis fn new() -> Self {
                #factory(#private::PhantomData)
            }
        }

        #[allow(dead_code, clippy::all)]
        impl<#s> #factory<#s> {
            #(#setters)*
            #vis fn seed<__T>(self, _: __T) -> Self { self }
            #vis fn after_build(self, _: impl #private::core::ops::Fn(&mut #ident) + #private::core::marker::Send + #private::core::marker::Sync + 'static) -> Self { self }
            #vis fn after_create<__T>(self, _: __T) -> Self { self }
            #vis fn with_related<__R>(self, _: usize, _: impl #private::core::ops::Fn(&#ident) -> __R) -> Self { self }
            #vis fn in_savepoint(self) -> Self { self }
            #[allow(clippy::should_implement_trait)]
            #vis fn clone(&self) -> Self { #factory(#private::PhantomData) }
            #vis fn with_session<__T>(self, _: __T) -> Self { self }
            #vis fn build(self) -> #ident { #private::core::unreachable!() }
            #vis fn build_batch(self, _: usize) -> #private::Vec<#ident> { #private::core::unreachable!() }
            #vis async fn create(self) -> #private::Result<#ident, #private::Error> {
                #private::core::unreachable!()
            }
            #vis async fn create_batch(self, _: usize) -> #private::Result<#private::Vec<#ident>, #private::Error> {
                #private::core::unreachable!()
            }
            // `insert_many(n)` and its options chain on the stub itself, which awaits to a count.
            #vis fn insert_many(self, _: u64) -> Self { self }
            #vis fn parents_from<__P, __K>(self, _: __K) -> Self { self }
            #vis fn parents_from_table<__P>(self) -> Self { self }
            #vis fn on_progress<__F>(self, _: __F) -> Self { self }
            #vis fn chunk_rows(self, _: usize) -> Self { self }
            #vis fn with_children<__C>(self, _: u64, _: __C) -> Self { self }
            #vis fn returning_keys(self) -> Self { self }
        }

        #[allow(dead_code, clippy::all)]
        impl<#s> #private::core::future::IntoFuture for #factory<#s> {
            type Output = #private::Result<u64, #private::Error>;
            type IntoFuture = #private::core::future::Pending<Self::Output>;
            fn into_future(self) -> Self::IntoFuture { #private::core::future::pending() }
        }
    }
}
