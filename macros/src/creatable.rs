//! `impl Creatable<DB>`: the one bound a helper generic over the backend or the
//! model writes, since it cannot write `create()`'s bound per field.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Input, UnrawString};

/// The impl, for a model without `required` fields (those have no default row): its
/// where-clause is `create()`'s, for every lifetime of the session.
pub fn creatable_impl(input: &Input<'_>, factory: &syn::Ident) -> TokenStream {
    if input.fields.iter().any(|f| f.is_required()) {
        return TokenStream::new();
    }
    let private = quote!(::sqlx_factory::__private);
    let model = input.ident;
    if !input
        .fields
        .iter()
        .any(|f| f.attrs.back_reference.is_some())
    {
        // The runtime's blanket `Creatable` impl, over `Insert<DB>`: one impl with a type
        // instead of one with two bodies and a bound per field.
        return quote! {
            #[automatically_derived]
            impl #private::DefaultRows for #model {
                type Unbound = #factory<#private::NoSession>;
            }
        };
    }
    let stores = input.fields.iter().filter(|f| f.is_column()).map(|f| {
        let marker = crate::refs::marker(input, f.ident);
        if f.is_flatten() {
            let ty = f.ty;
            return quote!(for<'__c> #private::Bound<'__c, __DB>: #private::StoresFlatten<#ty, #marker>);
        }
        let stored = crate::stored::bound_type(f);
        quote!(for<'__c> #private::Bound<'__c, __DB>: #private::StoresField<#stored, #marker>)
    });
    let deferred = input.fields.iter().filter_map(|f| {
        let parent = f.association()?;
        let (_, back) = f.attrs.back_reference.as_ref()?;
        let hash = crate::refs::name_hash(&back.unraw_string());
        Some(quote!(for<'__c> #private::Bound<'__c, __DB>: #private::Deferred<#model, #parent, #hash>))
    });
    quote! {
        #[automatically_derived]
        impl<__DB: #private::Backend> #private::Creatable<__DB> for #model
        where
            #model: #private::Insert<__DB>,
            #(#stores,)*
            #(#deferred,)*
        {
            fn create<'c, __A>(
                session: __A,
            ) -> #private::BoxFuture<'c, #private::core::result::Result<Self, #private::Error>>
            where
                __A: #private::SessionArg<'c, Database = __DB>,
            {
                #private::core::future::IntoFuture::into_future(
                    #factory::new().with_session(session).create(),
                )
            }

            fn create_batch<'c, __A>(
                session: __A,
                n: usize,
            ) -> #private::BoxFuture<'c, #private::core::result::Result<#private::Vec<Self>, #private::Error>>
            where
                __A: #private::SessionArg<'c, Database = __DB>,
            {
                #private::core::future::IntoFuture::into_future(
                    #factory::new().with_session(session).create_batch(n),
                )
            }
        }
    }
}
