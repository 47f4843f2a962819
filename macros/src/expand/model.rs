//! The `Model` and `Association` impls: the facts about the table, the same on every
//! backend.

use super::*;

impl<'a> Expander<'a> {
    pub(super) fn model_impl(&self, table: &str, factory_name: &str) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let columns = self.column_list();
        let parent_types = self.associations().map(|f| {
            let source = row_source(f);
            if f.is_deferred() {
                // With the step `create()` made for the bound backend (see `src/insert/back.rs`).
                quote!(#private::Option<(#source, #private::Box<dyn #private::core::any::Any + #private::core::marker::Send>)>)
            } else {
                quote!(#private::Option<#source>)
            }
        });
        let clear_parent = self
            .associations()
            .enumerate()
            .filter(|(_, f)| !f.is_deferred() && f.attrs.group.is_empty())
            .map(|(k, f)| {
                let index = syn::Index::from(k);
                let hash = crate::refs::name_hash(&f.name());
                quote!(if _field == #hash { _parents.#index = #private::None; })
            });
        let parent_indexes: Vec<syn::Index> = (0..self.associations().count())
            .map(syn::Index::from)
            .collect();
        let transient_types = self.transients().map(|f| f.ty);
        let transient_idents: Vec<&Ident> = self.transients().map(|f| f.ident).collect();
        let keys = self.lookup_fields();
        let key_columns = keys.iter().map(|f| &f.column);
        let key_types = keys.iter().map(|f| f.ty);
        let key_idents = keys.iter().map(|f| f.ident);
        let key_indexes = (0..keys.len()).map(syn::Index::from);
        let key_indexes2 = (0..keys.len()).map(syn::Index::from);
        let key_names = keys.iter().map(|f| &f.column);
        let sizes = self.byte_sizes();
        let referable = self.columns().filter(|f| !f.is_flatten()).map(|f| f.name());
        // Items a model without the feature would fill with the trait's default are left out.
        // A `back_reference` key is NULL when the row is inserted: never looked up.
        let key_has_parent = keys.iter().any(|f| {
            (f.association().is_some() || f.attrs.group_first.is_some()) && !f.is_deferred()
        });
        let get_or_create = (!keys.is_empty()).then(|| {
            quote! {
                const GET_OR_CREATE: &'static [&'static str] = &[#(#key_columns),*];
                const KEY_HAS_PARENT: bool = #key_has_parent;

                #[allow(unused_imports)]
                fn key_text(_key: &Self::LookupKey) -> #private::String {
                    use #private::{DebugKey as _, OpaqueKey as _};
                    #private::key_text(&[#((#key_names, (&#private::Probe(&_key.#key_indexes2)).key_text())),*])
                }

                #[allow(unused_imports)]
                fn lookup_key_has_null(_key: &Self::LookupKey) -> bool {
                    use #private::{NonNullKey as _, NullableKey as _};
                    false #(|| (&#private::Probe(&_key.#key_indexes)).is_null_key())*
                }
            }
        });
        let parents = (!parent_indexes.is_empty()).then(|| {
            quote! {
                fn needs_parents(_parents: &Self::Parents) -> bool {
                    false #(|| _parents.#parent_indexes.is_some())*
                }

                fn clear_parent(_parents: &mut Self::Parents, _field: u64) {
                    #(#clear_parent)*
                }
            }
        });
        let transient = (!transient_idents.is_empty()).then(|| {
            quote! {
                fn restore_transient(&mut self, transient: Self::Transient) {
                    let (#(#transient_idents,)*) = transient;
                    #(self.#transient_idents = #transient_idents;)*
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl #private::Model for #model {
                const FACTORY: &'static str = #factory_name;
                const TABLE: &'static str = #table;
                const COLUMNS: &'static [#private::Column] = #columns;
                const REFERABLE: &'static [&'static str] = &[#(#referable),*];

                type Parents = (#(#parent_types,)*);
                type Transient = (#(#transient_types,)*);
                type LookupKey = (#(#key_types,)*);

                fn sql_cache() -> &'static #private::SqlCache {
                    static CACHE: #private::SqlCache = #private::SqlCache::new();
                    &CACHE
                }

                #[allow(clippy::unused_unit)] // `()` for models without `get_or_create`
                fn lookup_key(&self) -> Self::LookupKey {
                    (#(#private::Clone::clone(&self.#key_idents),)*)
                }

                fn byte_size(&self) -> usize {
                    #sizes
                }

                #get_or_create
                #parents
                #transient
            }
        }
    }

    /// The `COLUMNS` list: one `Column` per column field, a group's spliced in.
    pub(super) fn column_list(&self) -> TokenStream {
        let private = &self.private;
        let own = |f: &Field<'_>| {
            let name = &f.column;
            let from_row_name = &f.from_row_name;
            let db_filled = f.is_db_filled();
            quote!(#private::Column { name: #name, from_row_name: #from_row_name, db_filled: #db_filled })
        };
        crate::flatten::spliced(
            self.input,
            quote!(#private::Column),
            quote!(#private::splice_columns),
            own,
            "COLUMNS",
        )
    }

    /// The body of `byte_size`: each column's probe, a group's own `byte_size`.
    pub(super) fn byte_sizes(&self) -> TokenStream {
        let private = &self.private;
        let sizes = self.columns().map(|f| {
            let ident = f.ident;
            if f.is_flatten() {
                let byte_size = crate::flatten::group(f, "byte_size");
                quote!(#byte_size(&self.#ident))
            } else {
                quote!((&#private::Probe(&self.#ident)).byte_size())
            }
        });
        quote! {
            #[allow(unused_imports)]
            use #private::{ByLength as _, BySize as _};
            0 #(+ #sizes)*
        }
    }

    pub(super) fn association_impl(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let Some(key) = self.columns().find(|f| f.attrs.primary_key.is_some()) else {
            return TokenStream::new();
        };
        let key_ident = key.ident;
        let key_ty = key.ty;
        let key_column = &key.column;
        let plain_key = crate::stored::is_plain(key);
        let unset = self.required.iter().map(|_| quote!(#private::Unset));
        let factory_default = {
            let f = &self.factory;
            quote!(#f<#private::NoSession #(, #unset)*>)
        };
        let reach = crate::cycle::association_consts(self.input);
        quote! {
            #[automatically_derived]
            impl #private::Association for #model {
                type Key = #key_ty;
                type Factory = #factory_default;

                const KEY_COLUMN: &'static str = #key_column;
                const PLAIN_KEY: bool = #plain_key;

                #reach

                fn key(&self) -> #key_ty {
                    #private::Clone::clone(&self.#key_ident)
                }
            }
        }
    }

    /// `Insert::set_parent_key` (seeding mode): the associations that store the parent's
    /// primary key in one field take a key given by type; `references`, composite and
    /// `back_reference` associations keep the default (no field takes it).
    pub(super) fn set_parent_key_fn(&self) -> TokenStream {
        let private = &self.private;
        let arms: Vec<TokenStream> = self
            .associations()
            .enumerate()
            .filter(|(_, f)| {
                !f.is_deferred() && f.attrs.group.is_empty() && f.attrs.references.is_none()
            })
            .filter_map(|(index, f)| {
                let parent = f.association()?;
                let index = syn::Index::from(index);
                let ident = f.ident;
                let ty = f.ty;
                let marker = crate::refs::marker(self.input, f.ident);
                let span = parent.span();
                let spanned = private_at(span);
                let key_ty = quote_spanned!(span=> <#parent as #spanned::Association>::Key);
                Some(quote! {
                    if __parent == #private::core::any::TypeId::of::<#parent>() {
                        if let #private::Some(__key) = __key.downcast_ref::<#key_ty>() {
                            self.#ident = <#ty as #private::ForeignKey<#key_ty, #marker>>::from_key(
                                #private::Clone::clone(__key),
                            );
                            __parents.#index = #private::None;
                            __found = true;
                        }
                    }
                })
            })
            .collect();
        if arms.is_empty() {
            return TokenStream::new();
        }
        quote! {
            fn set_parent_key(
                &mut self,
                __parents: &mut Self::Parents,
                __parent: #private::core::any::TypeId,
                __key: &(dyn #private::core::any::Any + #private::core::marker::Send + #private::core::marker::Sync),
            ) -> bool {
                let mut __found = false;
                #(#arms)*
                __found
            }
        }
    }
}
