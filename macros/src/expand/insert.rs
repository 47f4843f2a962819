//! The `Insert<DB>` impl: binding a row and creating the parents it refers to, generic over
//! the backend.

use super::*;

impl<'a> Expander<'a> {
    pub(super) fn insert_impl(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let columns: Vec<&Field<'_>> = self.columns().collect();
        // Fields are moved into fresh names: a field called `args` or `set` must not shadow
        // the parameters.
        let column_idents: Vec<&Ident> = columns.iter().map(|f| f.ident).collect();
        let column_vars: Vec<Ident> = (0..columns.len())
            .map(|i| format_ident!("__column{}", i))
            .collect();
        let transient_idents: Vec<&Ident> = self.transients().map(|f| f.ident).collect();
        let transient_vars: Vec<Ident> = (0..transient_idents.len())
            .map(|i| format_ident!("__transient{}", i))
            .collect();
        let binds = self.bind_statements(&column_vars, None);
        let sizes = self.wire_sizes();
        let keys = self.lookup_fields();
        let key_vars: Vec<Ident> = (0..keys.len())
            .map(|i| format_ident!("__key{}", i))
            .collect();
        let key_binds = keys.iter().zip(&key_vars).map(|(f, var)| {
            let value = crate::stored::bind_value(self.input, f, var);
            quote!(#private::ColumnOf::<__DB>::bind(#value, __args)?;)
        });
        let key_sizes = keys.iter().zip(&key_vars).map(|(f, var)| {
            if crate::stored::is_plain(f) {
                quote!((&#private::Probe(#var)).size_on(#private::PhantomData::<__DB>))
            } else {
                quote!((&#private::Probe(#var)).byte_size())
            }
        });
        let encode_bounds = self.encode_bounds();
        // A self-reference needs no bound: inside this impl, `Self: Insert<__DB>` holds.
        let parent_bounds = self.associations().filter_map(|f| {
            let parent = f.association()?;
            // A `back_reference` parent's bound is on `create()` instead: here it would close
            // the cycle of the two models' bounds (rustc's E0275).
            if f.is_self_reference(model) || f.is_deferred() {
                return None;
            }
            Some({
                let spanned_private = private_at(parent.span());
                let on_cycle = crate::cycle::on_cycle(self.input, f);
                quote_spanned!(parent.span()=> #parent: #spanned_private::InsertParent<__DB, #on_cycle>)
            })
        });
        // Associations to a parent's primary key read the key alone back (`create_parent_keys`),
        // decoded as the field's type.
        let key_bounds = self
            .associations()
            .filter(|f| key_only(f))
            .map(|f| {
                let ty = f.ty;
                let private = private_at(ty.span());
                quote_spanned!(ty.span()=> #ty: for<'r> #private::sqlx::Decode<'r, __DB> + #private::sqlx::Type<__DB>)
            });
        // Left to the trait's defaults when the model has no key lookup or parents of the kind.
        let bind_lookup_key = (!keys.is_empty()).then(|| {
            quote! {
                fn lookup_key_size(__key: &Self::LookupKey) -> usize {
                    if !<__DB as #private::Backend>::MEASURES_VALUES {
                        return 0;
                    }
                    #[allow(unused_imports)]
                    use #private::{ByLength as _, BySize as _, EncodedOn as _, LengthOn as _};
                    let (#(#key_vars,)*) = __key;
                    0 #(+ #key_sizes)*
                }

                fn get_or_create(
                    __job: #private::KeyedInsert<'_, __DB, Self>,
                ) -> #private::BoxFuture<'_, #private::Result<(), #private::Error>> {
                    #private::keyed_insert::<__DB, Self>(__job)
                }

                fn bind_lookup_key(
                    __key: Self::LookupKey,
                    __args: &mut <__DB as #private::sqlx::Database>::Arguments,
                ) -> #private::Result<(), #private::sqlx::error::BoxDynError> {
                    let (#(#key_vars,)*) = __key;
                    let __args = &mut #private::Args::<__DB>(__args);
                    #(#key_binds)*
                    #private::Ok(())
                }
            }
        });
        let steps_fn = |name: TokenStream, deferred: bool| {
            let body = self.parent_steps(deferred)?;
            Some(quote! {
                // `let .. else`, not `?`: no instance of `Option`'s `Try` per model.
                #[allow(unused_variables, clippy::question_mark)]
                fn #name<'a>(
                    parents: &mut Self::Parents,
                    rows: &'a mut [Self],
                    conn: &'a mut <__DB as #private::sqlx::Database>::Connection,
                    operation: #private::Operation,
                    seed: #private::Option<u64>,
                ) -> #private::Option<#private::BoxFuture<'a, #private::Result<(), #private::Error>>> {
                    #body
                }
            })
        };
        let create_parents = steps_fn(quote!(create_parents), false);
        let after_insert = steps_fn(quote!(after_insert), true);
        let (check_returned, check_bound) = crate::keys::check_returned(self.input);
        let set_parent_key = self.set_parent_key_fn();
        quote! {
            #[automatically_derived]
            impl<__DB: #private::Backend> #private::Insert<__DB> for #model
            where
                #(#encode_bounds,)*
                #(#parent_bounds,)*
                #(#key_bounds,)*
                #check_bound
                #model: for<'r> #private::sqlx::FromRow<'r, <__DB as #private::sqlx::Database>::Row>,
            {
                #check_returned

                fn bind<__A: #private::ArgSink<__DB>>(
                    self,
                    __set: #private::ColumnSet,
                    __args: &mut __A,
                ) -> #private::Result<Self::Transient, #private::sqlx::error::BoxDynError> {
                    let #model { #(#column_idents: #column_vars,)* #(#transient_idents: #transient_vars,)* .. } = self;
                    let mut __failed = #private::None;
                    #(#binds)*
                    #private::bound(__failed, (#(#transient_vars,)*))
                }

                fn wire_size(&self) -> usize {
                    if !<__DB as #private::Backend>::MEASURES_VALUES {
                        return #private::Model::byte_size(self);
                    }
                    #sizes
                }

                #bind_lookup_key
                #after_insert
                #set_parent_key
                #create_parents
            }
        }
    }

    /// The statements that bind each column's value from its local in `vars`, in column
    /// order: a database-filled one only when `__set` sends it, a group through its own
    /// `bind`. In a group, its bits count from `__offset`.
    pub(super) fn bind_statements(
        &self,
        vars: &[Ident],
        offset: Option<TokenStream>,
    ) -> Vec<TokenStream> {
        let private = &self.private;
        let input = self.input;
        self.columns()
            .zip(vars)
            .map(|(f, var)| {
                let bit = crate::flatten::bit(input, f);
                let bit = match &offset {
                    Some(offset) => quote!(#offset + #bit),
                    None => bit,
                };
                if f.is_flatten() {
                    let group = group_insert(f);
                    return quote! {
                        if __failed.is_none() {
                            if let #private::Result::Err(e) = #group::bind(#var, __set, #bit, __args) {
                                __failed = #private::Some(e);
                            }
                        }
                    };
                }
                let value = crate::stored::bind_value(input, f, var);
                let mut add = quote!(#private::bind_column::<__DB, _, _>(&mut __failed, #value, __args););
                // A conversion's error returns at once (`?`), only when no earlier column
                // failed: the error is the first column's.
                if crate::stored::into_type(f).is_some() {
                    add = quote!(if __failed.is_none() { #add });
                }
                if f.is_db_filled() {
                    quote!(if __set.contains(#bit) { #add })
                } else {
                    add
                }
            })
            .collect()
    }

    /// The body of `wire_size` where the backend measures values. A value bound as the
    /// field's own type is measured by its length when it has one (`String`, `Vec`, ..), else
    /// encoded; a converted one (`json`, `into`, `try_from`) by the probe `Model::byte_size`
    /// uses, as it cannot be borrowed as what it is bound as; a group by its own `wire_size`.
    pub(super) fn wire_sizes(&self) -> TokenStream {
        let private = &self.private;
        let sizes = self.columns().map(|f| {
            let ident = f.ident;
            if f.is_flatten() {
                let group = group_insert(f);
                quote!(#group::wire_size(&self.#ident))
            } else if crate::stored::is_plain(f) {
                quote!((&#private::Probe(&self.#ident)).size_on(#private::PhantomData::<__DB>))
            } else {
                quote!((&#private::Probe(&self.#ident)).byte_size())
            }
        });
        quote! {
            #[allow(unused_imports)]
            use #private::{ByLength as _, BySize as _, EncodedOn as _, LengthOn as _};
            0 #(+ #sizes)*
        }
    }

    /// Per column, what `__DB` must encode: the field's bound type, or a group's columns.
    pub(super) fn encode_bounds(&self) -> Vec<TokenStream> {
        self.columns()
            .map(|f| {
                let ty = f.ty;
                let private = private_at(ty.span());
                if f.is_flatten() {
                    return quote_spanned! {ty.span()=> #ty: #private::FlattenInsert<__DB> };
                }
                let stored = crate::stored::bound_type(f);
                quote_spanned! {ty.span()=> #stored: #private::ColumnOf<__DB> }
            })
            .collect()
    }

    /// The body of `create_parents` (`deferred == false`: parents created before the INSERT)
    /// or of `after_insert` (`back_reference` parents, created after it). Slots are taken out
    /// of `parents` synchronously, so the future borrows only `rows` and `conn`.
    pub(super) fn parent_steps(&self, deferred: bool) -> Option<TokenStream> {
        let private = &self.private;
        let associations: Vec<(usize, &Field<'_>)> = self
            .associations()
            .enumerate()
            .filter(|(_, f)| f.is_deferred() == deferred)
            .collect();
        if associations.is_empty() {
            return None;
        }
        let slots: Vec<Ident> = associations
            .iter()
            .map(|(_, f)| format_ident!("__{}", f.ident))
            .collect();
        // One association to a primary key: its future is the step, with no `async` block of
        // this model's around it.
        if let [(index, f)] = associations[..]
            && !deferred
            && key_only(f)
            && !f.is_self_reference(self.input.ident)
        {
            let on_cycle = crate::cycle::on_cycle(self.input, f);
            let call = self.parent_keys_call(f, index, &on_cycle);
            let slot = syn::Index::from(index);
            return Some(quote! {
                let #private::Some(source) = parents.#slot.take() else {
                    return #private::None;
                };
                #private::Some(#call)
            });
        }
        let indexes = associations.iter().map(|(k, _)| syn::Index::from(*k));
        let steps = associations.iter().zip(&slots).map(|((index, f), slot)| {
            let name = f.name();
            let parent = f.association();
            let assign = parent.map(|parent| crate::refs::assign_keys(self.input, f, parent));
            if deferred {
                let key_column = self
                    .columns()
                    .find(|k| k.attrs.primary_key.is_some())
                    .map(|k| k.column.clone())
                    .unwrap_or_default();
                let column = &f.column;
                let back = f
                    .attrs
                    .back_reference
                    .as_ref()
                    .map(|(_, back)| back.unraw_string())
                    .unwrap_or_default();
                return quote! {
                    if let #private::Some((source, step)) = #slot {
                        static BACK: #private::Back = #private::Back { field: #name, column: #column, key_column: #key_column, back: #back };
                        let step = #private::deferred_fn::<__DB, Self, #parent>(step)
                            .expect("sqlx-factory bug: a back_reference step made for other types");
                        let mut created = step(
                            &mut *conn, source, &mut *rows, &BACK, operation,
                            #private::child_seed(seed, #index),
                        ).await?;
                        for (row, parent) in rows.iter_mut().zip(created.iter_mut()) {
                            #assign
                        }
                    }
                };
            }
            // A self-reference is no edge of the cycle graph: `Self: Insert` holds here.
            let on_cycle = match parent {
                Some(_) if !f.is_self_reference(self.input.ident) => {
                    crate::cycle::on_cycle(self.input, f)
                }
                _ => quote!(false),
            };
            if key_only(f) {
                let call = self.parent_keys_call(f, *index, &on_cycle);
                return quote! {
                    if let #private::Some(source) = #slot {
                        #call.await?;
                    }
                };
            }
            let create = {
                let spanned_private = private_at(parent.span());
                quote_spanned!(parent.span()=> <#parent as #spanned_private::InsertParent<__DB, #on_cycle>>::create_parents)
            };
            quote! {
                if let #private::Some(source) = #slot {
                    let mut created = #create::<Self>(
                        &mut *conn, source, rows.len(), #name, operation,
                        #private::child_seed(seed, #index),
                    ).await?;
                    for (row, parent) in rows.iter_mut().zip(created.iter_mut()) {
                        #assign
                    }
                }
            }
        });
        Some(quote! {
            #(let #slots = parents.#indexes.take();)*
            if true #(&& #slots.is_none())* {
                return #private::None;
            }
            #private::Some(#private::Box::pin(async move {
                #(#steps)*
                #private::Ok(())
            }))
        })
    }

    /// The call of `create_parent_keys` for the association `f` (slot `index`) to a primary
    /// key: `source`, `conn`, `rows`, `operation` and `seed` in scope.
    fn parent_keys_call(&self, f: &Field<'_>, index: usize, on_cycle: &TokenStream) -> TokenStream {
        let private = &self.private;
        let parent = f.association().expect("an association");
        let name = f.name();
        let span = parent.span();
        let spanned_private = private_at(span);
        let create = quote_spanned!(span=> <#parent as #spanned_private::InsertParent<__DB, #on_cycle>>::create_parent_keys);
        // Every mention of the parent spanned at its path, as `assign_keys` does: a
        // parent that is no model is then one error, there.
        let key_column =
            quote_spanned!(span=> <#parent as #spanned_private::Association>::KEY_COLUMN);
        let plain_key =
            quote_spanned!(span=> <#parent as #spanned_private::Association>::PLAIN_KEY);
        let ident = f.ident;
        let ty = f.ty;
        let marker = crate::refs::marker(self.input, f.ident);
        let (key_ty, key_of) = crate::refs::parent_value(parent, None, &marker);
        let ty_private = private_at(ty.span());
        let from_key = quote_spanned!(ty.span()=> <#ty as #ty_private::ForeignKey<#key_ty, #marker>>::from_key(#key_of));
        let index = syn::Index::from(index);
        quote! {
            #create::<Self, #ty>(
                &mut *conn, source, &mut *rows, #name, operation,
                #private::child_seed(seed, #index),
                #private::ParentKey {
                    column: #key_column,
                    plain: #plain_key,
                    from_row: |parent: &#parent| #from_key,
                },
                |row: &mut Self, key: #ty| row.#ident = key,
            )
        }
    }

    /// `S: Deferred<Model, Parent, NAME>` per `back_reference` association: where `S` is
    /// concrete (at `create()`), the parent's `Insert` bound holds without a cycle.
    pub(super) fn deferred_bounds(&self) -> Vec<TokenStream> {
        self.associations()
            .filter(|f| f.is_deferred())
            .map(|f| deferred_bound(self.input.ident, f))
            .map(|bound| {
                let session = &self.input.session;
                quote!(#session: #bound)
            })
            .collect()
    }
}

/// `<Group as FlattenInsert<__DB>>` for a flatten field, spanned at its type.
fn group_insert(f: &Field<'_>) -> TokenStream {
    let ty = f.ty;
    let private = private_at(ty.span());
    quote_spanned!(ty.span()=> <#ty as #private::FlattenInsert<__DB>>)
}

/// An association whose parents are created for their key alone: to the parent's primary key
/// (no `references`, not composite, not `back_reference`), in a field bound as its own type.
fn key_only(f: &Field<'_>) -> bool {
    f.association().is_some()
        && !f.is_deferred()
        && f.attrs.group.is_empty()
        && f.attrs.references.is_none()
        && crate::stored::is_plain(f)
}
