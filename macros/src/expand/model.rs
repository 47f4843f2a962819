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
        // Per association, its field and its parent's type as an error names them.
        let asked: Vec<TokenStream> = self
            .associations()
            .map(|f| {
                let field = f.name();
                let parent = f
                    .association()
                    .and_then(|path| path.segments.last())
                    .map(|segment| segment.ident.to_string())
                    .filter(|name| name != "Self")
                    .unwrap_or_else(|| self.input.ident.to_string());
                quote!((#field, #parent))
            })
            .collect::<Vec<_>>();
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
        let back_reference = self.associations().any(|f| f.is_deferred()).then(|| {
            quote!(
                const BACK_REFERENCE: bool = true;
            )
        });
        let get_or_create = (!keys.is_empty()).then(|| {
            quote! {
                const GET_OR_CREATE: &'static [&'static str] = &[#(#key_columns),*];
                const KEY_HAS_PARENT: bool = #key_has_parent;

                #[allow(unused_imports)]
                #[inline]
                fn key_text(_key: &Self::LookupKey) -> #private::String {
                    use #private::{DebugKey as _, OpaqueKey as _};
                    #private::key_text(&[#((#key_names, (&#private::Probe(&_key.#key_indexes2)).key_text())),*])
                }

                #[allow(unused_imports)]
                #[inline]
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

                #[inline]
                fn parent_slots(_parents: &Self::Parents) -> u64 {
                    0 #(| (_parents.#parent_indexes.is_some() as u64) << (#parent_indexes % 64))*
                }

                #[inline]
                fn parent_asked(
                    _parents: &Self::Parents,
                ) -> #private::Option<(&'static str, &'static str)> {
                    #(if _parents.#parent_indexes.is_some() {
                        return #private::Some(#asked);
                    })*
                    #private::None
                }

                #[inline]
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
                #[inline]
                fn lookup_key(&self) -> Self::LookupKey {
                    (#(#private::Clone::clone(&self.#key_idents),)*)
                }

                #[inline]
                fn byte_size(&self) -> usize {
                    #sizes
                }

                #get_or_create
                #back_reference
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

                #[inline]
                fn key(&self) -> #key_ty {
                    #private::Clone::clone(&self.#key_ident)
                }
            }
        }
    }

    /// What each association a seed can fill stores of its parent row: the member fields, and
    /// per member its type, the type of the parent's value and that value read from `parent`
    /// (a `&mut` of the parent). `back_reference` associations are set after the row: none.
    fn seed_shapes(&self) -> Vec<SeedShape<'_>> {
        let mut shapes: Vec<SeedShape<'_>> = self
            .associations()
            .enumerate()
            .filter(|(_, f)| !f.is_deferred())
            .filter_map(|(index, f)| {
                let parent = f.association()?;
                let members: Vec<(&Field<'_>, Option<&Ident>)> = if f.attrs.group.is_empty() {
                    vec![(f, f.attrs.references.as_ref().map(|(_, name)| name))]
                } else {
                    f.attrs
                        .group
                        .iter()
                        .filter_map(|(field, name)| {
                            let member = self.input.fields.iter().find(|m| m.ident == field)?;
                            Some((member, Some(name)))
                        })
                        .collect()
                };
                let names: Vec<String> = members
                    .iter()
                    .filter_map(|(_, name)| name.map(|n| n.unraw_string()))
                    .collect();
                let shape = if names.is_empty() {
                    0
                } else {
                    crate::refs::name_hash(&names.join(","))
                };
                // A `Self` parent named by the model's own name: impl headers and `TypeId` need it.
                let parent = if parent.is_ident("Self") {
                    let model = self.input.ident;
                    quote!(#model)
                } else {
                    quote!(#parent)
                };
                let members = members
                    .into_iter()
                    .map(|(member, name)| {
                        let marker = crate::refs::marker(self.input, member.ident);
                        let path: syn::Path = syn::parse2(parent.clone()).ok()?;
                        let (value_ty, value) = crate::refs::parent_value(&path, name, &marker);
                        Some(SeedMember {
                            field: member,
                            marker,
                            value_ty,
                            value,
                            name: name.map(|n| n.unraw_string()),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(SeedShape {
                    index,
                    nth: 0,
                    parent,
                    shape,
                    members,
                })
            })
            .collect();
        // Each association's place among those to its parent type.
        for i in 0..shapes.len() {
            let parent = shapes[i].parent.to_string();
            shapes[i].nth = shapes[..i]
                .iter()
                .filter(|s| s.parent.to_string() == parent)
                .count();
        }
        shapes
    }

    /// `impl SeedParent<P>` per parent type, from the first association to it: what
    /// `parents_from::<P>` takes and `parents_from_table::<P>()` reads, and the fields of a
    /// second association and of one that stores other values of `P`, which the seeds refuse
    /// to guess about.
    pub(super) fn seed_parent_impls(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let shapes = self.seed_shapes();
        let impls = shapes.iter().filter(|s| s.nth == 0).map(|s| {
            let key = s.parent.to_string();
            let to_same = || shapes.iter().filter(|o| o.parent.to_string() == key);
            let first = &s.members[0].marker;
            let second = to_same()
                .find(|o| o.nth == 1)
                .map_or_else(|| quote!(()), |o| o.members[0].marker.clone());
            let other = to_same()
                .find(|o| o.shape != s.shape)
                .map_or_else(|| quote!(()), |o| o.members[0].marker.clone());
            let SeedShape {
                parent,
                shape,
                members,
                ..
            } = s;
            let shape = *shape;
            let value_tys: Vec<&TokenStream> = members.iter().map(|m| &m.value_ty).collect();
            let values = members.iter().map(|m| &m.value);
            // Spanned as the association's own check is: a parent that is no model is then one
            // error, reported there.
            let span = members[0]
                .field
                .association()
                .map_or_else(proc_macro2::Span::call_site, |path| path.span());
            let spanned = private_at(span);
            let columns = members.iter().map(|m| match &m.name {
                Some(name) => quote!(#private::column_of::<#parent>(#name)),
                None => quote_spanned!(span=> <#parent as #spanned::Association>::KEY_COLUMN),
            });
            let (value_ty, value, from_row) = if members.len() == 1 {
                let value = &members[0].value;
                (quote!(#(#value_tys)*), quote!(#value), quote!(row.0))
            } else {
                (
                    quote!((#(#value_tys,)*)),
                    quote!((#(#values,)*)),
                    quote!(row),
                )
            };
            // The key comes back from the INSERT (`with_children`), never from the row drawn.
            let value_of = if shape == 0 {
                quote!(#private::None)
            } else {
                quote!(#private::Some(|parent: &mut #parent| #value))
            };
            // A parent that is no model leaves the impl out, so the association's own check is
            // the one error: higher-ranked, the bound is no trivially false one (an error of its
            // own), and the items are checked as if it held.
            let bound = (shape == 0)
                .then(|| quote_spanned!(span=> where for<'__a> #parent: #spanned::Association));
            quote! {
                #[automatically_derived]
                impl #private::SeedParent<#parent> for #model #bound {
                    type Value = #value_ty;
                    type Row = (#(#value_tys,)*);
                    type First = #first;
                    type Second = #second;
                    type Other = #other;
                    const SHAPE: u64 = #shape;
                    const PARENT_COLUMNS: &'static [&'static str] = &[#(#columns),*];

                    const VALUE_OF: #private::Option<fn(&mut #parent) -> Self::Value> = #value_of;

                    #[inline]
                    fn from_row(row: Self::Row) -> Self::Value {
                        #from_row
                    }
                }
            }
        });
        quote!(#(#impls)*)
    }

    /// `Insert::set_parent_key` (seeding mode): every association but a `back_reference`
    /// takes the values of its shape given by parent type, into its field (or each field of a
    /// composite key).
    pub(super) fn set_parent_key_fn(&self) -> TokenStream {
        let private = &self.private;
        let arms: Vec<TokenStream> = self
            .seed_shapes()
            .into_iter()
            .map(|s| {
                let SeedShape {
                    index,
                    nth,
                    parent,
                    shape,
                    members,
                } = s;
                // A nullable key left NULL asks for no parent, and is filled all the same.
                let unset_null = members[0].field.is_option().then(|| {
                    let ident = members[0].field.ident;
                    quote!(|| self.#ident.is_none())
                });
                let index = syn::Index::from(index);
                let value_tys: Vec<&TokenStream> = members.iter().map(|m| &m.value_ty).collect();
                let vars: Vec<Ident> = (0..members.len())
                    .map(|i| format_ident!("__value{}", i))
                    .collect();
                let assigns = members.iter().zip(&vars).map(|(m, var)| {
                    let ident = m.field.ident;
                    let ty = m.field.ty;
                    let marker = &m.marker;
                    let value_ty = &m.value_ty;
                    quote!(self.#ident = <#ty as #private::ForeignKey<#value_ty, #marker>>::from_key(#var);)
                });
                let (value_ty, bind) = if members.len() == 1 {
                    (quote!(#(#value_tys)*), quote!(#(#vars)*))
                } else {
                    (quote!((#(#value_tys,)*)), quote!((#(#vars,)*)))
                };
                quote! {
                    if __parent == #private::core::any::TypeId::of::<#parent>() && __shape == #shape {
                        if let #private::Some(__value) = __value(#nth).downcast_ref::<#value_ty>() {
                            if __open & (1u64 << (#index % 64)) != 0 #unset_null {
                                let #bind = #private::Clone::clone(__value);
                                #(#assigns)*
                                __parents.#index = #private::None;
                            }
                            __found = true;
                        }
                    }
                }
            })
            .collect();
        if arms.is_empty() {
            return TokenStream::new();
        }
        quote! {
            fn set_parent_key<'__v>(
                &mut self,
                __parents: &mut Self::Parents,
                __parent: #private::core::any::TypeId,
                __shape: u64,
                __value: &dyn #private::core::ops::Fn(usize) -> &'__v (dyn #private::core::any::Any + #private::core::marker::Send + #private::core::marker::Sync),
                __open: u64,
            ) -> bool {
                let mut __found = false;
                #(#arms)*
                __found
            }
        }
    }
}

/// An association as a seed fills it (see `Expander::seed_shapes`).
struct SeedShape<'f> {
    /// Its slot in `Model::Parents`.
    index: usize,
    /// How many associations to the same parent type come before it.
    nth: usize,
    parent: TokenStream,
    /// `SeedParent::SHAPE`.
    shape: u64,
    members: Vec<SeedMember<'f>>,
}

/// One field of an association and the parent's value it stores.
struct SeedMember<'f> {
    field: &'f Field<'f>,
    marker: TokenStream,
    value_ty: TokenStream,
    value: TokenStream,
    /// The parent's field it stores; `None` for the primary key.
    name: Option<String>,
}
