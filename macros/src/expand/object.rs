//! Drawing objects: one object with every value, the rows of a create, and the value of a
//! field the factory was not given.

use super::*;

impl<'a> Expander<'a> {
    /// `DrawObject` for the overrides struct: one object, values drawn, lazy fields computed,
    /// hooks run. Not generic, so it is compiled once, whatever the factory's states.
    pub(super) fn object_fn(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let fields = &self.input.fields;
        // A group counts its sequence by its own name: it has no table.
        let counter = match self.input.flatten {
            Some(_) => {
                let name = model.unraw_string();
                quote!(#name)
            }
            None => quote!(<#model as #private::Model>::TABLE),
        };
        let sequence = if fields
            .iter()
            .any(|f| matches!(f.value(), Value::Sequence(_)))
        {
            quote! {
                let __n = #private::next_sequence(__draw, #counter);
            }
        } else {
            TokenStream::new()
        };
        // A group's stub number is the including row's (a parameter).
        let stub = if self.input.flatten.is_none()
            && fields.iter().any(|f| f.is_stubbed() || f.is_group_drawn())
        {
            quote!(let __stub = #private::next_stub(__draw);)
        } else {
            TokenStream::new()
        };
        // Groups are drawn before `__rng` borrows the stream, from their factories.
        let groups = fields.iter().filter(|f| f.is_group_drawn()).map(|f| {
            let ident = f.ident;
            let var = format_ident!("__group_{}", ident);
            let slot = crate::flatten::slot(f);
            let draw_from = crate::flatten::group(f, "draw_from");
            quote! {
                let #var = match &self.#ident {
                    #private::Some(value) => #private::Clone::clone(value),
                    #private::None => #draw_from(&self.#slot, __draw, __stub),
                };
            }
        });
        let values = fields.iter().map(|f| {
            let ident = f.ident;
            if f.is_group_drawn() {
                let var = format_ident!("__group_{}", ident);
                return quote!(#ident: #var);
            }
            let fallback = self.fallback_value(f);
            if f.is_skipped() {
                quote!(#ident: #fallback)
            } else {
                quote! {
                    #ident: match &self.#ident {
                        #private::Some(value) => #private::Clone::clone(value),
                        #private::None => #fallback,
                    }
                }
            }
        });
        let lazies = fields.iter().filter_map(|f| match f.value() {
            Value::Lazy(expr) => {
                let ident = f.ident;
                let ty = f.ty;
                let call = {
                    let spanned_private = private_at(expr.span());
                    let object = local("object");
                    quote_spanned! {expr.span()=>
                        #spanned_private::lazy::<#model, #ty, _>(#expr, &#object)
                    }
                };
                Some(quote! {
                    if self.#ident.is_none() {
                        object.#ident = #call;
                    }
                })
            }
            _ => None,
        });
        let overrides = self.overrides_ident();
        let body = quote! {
            #sequence
            #stub
            #(#groups)*
            let __rng = &mut __draw.rng;
            #[allow(unused_mut)]
            let mut object = #model {
                #(#values,)*
            };
            #(#lazies)*
            #private::after_build(__hooks, &mut object);
            object
        };
        if self.input.flatten.is_none() {
            return quote! {
                #[automatically_derived]
                impl #private::DrawObject<#model> for #overrides {
                fn object(&self, __draw: &mut #private::Draw, __hooks: &#private::AfterBuild) -> #model {
                    #body
                }
                }
            };
        }
        // A group drawn alone (`Group::factory().build()`) takes a stub number of its own.
        quote! {
            #[automatically_derived]
            impl #overrides {
                #[allow(unused_variables)]
                fn __object(&self, __draw: &mut #private::Draw, __hooks: &#private::AfterBuild, __stub: u64) -> #model {
                    #body
                }
            }

            #[automatically_derived]
            impl #private::DrawObject<#model> for #overrides {
                fn object(&self, __draw: &mut #private::Draw, __hooks: &#private::AfterBuild) -> #model {
                    let __stub = #private::next_stub(__draw);
                    self.__object(__draw, __hooks, __stub)
                }
            }
        }
    }

    /// The `ColumnSet` of the values set in `o` (the overrides): a database-filled column is
    /// sent when it has a value attribute or a value; a group's columns as its factory sends
    /// them, or all of them when the group's value is given whole.
    pub(super) fn column_set(&self, o: TokenStream) -> TokenStream {
        let private = &self.private;
        let input = self.input;
        let own = self.columns().filter(|f| f.is_db_filled()).map(|f| {
            let ident = f.ident;
            let bit = crate::flatten::bit(input, f);
            let has_value_attr = !matches!(f.value(), Value::Dummy);
            quote!(.with(#bit, #has_value_attr || #o.#ident.is_some()))
        });
        let groups = self.columns().filter(|f| f.is_flatten()).map(|f| {
            let ident = f.ident;
            let bit = crate::flatten::bit(input, f);
            let db_filled = crate::flatten::group(f, "DB_FILLED");
            let (set, all) = if f.is_group_drawn() {
                let slot = crate::flatten::slot(f);
                let set_from = crate::flatten::group(f, "set_from");
                (quote!(#set_from(&#o.#slot)), quote!(#o.#ident.is_some()))
            } else {
                (quote!(#private::ColumnSet::default()), quote!(true))
            };
            quote!(let __set = #private::group_set(__set, #bit, #db_filled, #set, #all);)
        });
        quote!({
            let __set = #private::ColumnSet::default() #(#own)*;
            #(#groups)*
            __set
        })
    }

    /// `__factory_rows`: the rows of a create, the columns they send and the parents to make.
    /// A model without `back_reference` associations draws them in a non-generic method of
    /// its overrides struct ([`Self::chunk_impl`]): one copy, not one per session state.
    pub(super) fn rows_fn(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let deferred_bounds = self.deferred_bounds();
        let deferred = self.associations().any(|f| f.is_deferred());
        let (rows, chunk) = if deferred {
            let rows = quote! {
                let seed = self.__factory.seed().or(inherited);
                let mut __draw = #private::draw(seed);
                self.__factory_chunk(n, &mut __draw, seed)
            };
            (rows, self.chunk_body(quote!(self.__o)))
        } else {
            let hooks = quote!(self.__factory.after_build_hooks());
            (
                quote!(self.__o.__rows(n, self.__factory.seed().or(inherited), #hooks)),
                quote!(self.__o.__chunk(n, __draw, seed, #hooks)),
            )
        };
        quote! {
            fn __factory_rows(&self, n: usize, inherited: #private::Option<u64>) -> #private::Rows<#model>
            where
                #(#deferred_bounds,)*
            {
                #rows
            }

            /// The next `n` rows of a stream drawn from `__draw` (seeding draws chunk by chunk).
            fn __factory_chunk(&self, n: usize, __draw: &mut #private::Draw, seed: #private::Option<u64>) -> #private::Rows<#model>
            where
                #(#deferred_bounds,)*
            {
                #chunk
            }
        }
    }

    /// The overrides struct's `__chunk` (see [`Self::rows_fn`]); nothing for a model with a
    /// `back_reference` association, whose rows need the session state's step.
    pub(super) fn chunk_impl(&self) -> TokenStream {
        if self.associations().any(|f| f.is_deferred()) {
            return TokenStream::new();
        }
        let private = &self.private;
        let model = self.input.ident;
        let overrides = self.overrides_ident();
        let body = self.chunk_body(quote!((*self)));
        quote! {
            #[automatically_derived]
            impl #overrides {
                fn __rows(&self, n: usize, seed: #private::Option<u64>, __hooks: &#private::AfterBuild) -> #private::Rows<#model> {
                    let mut __draw = #private::draw(seed);
                    self.__chunk(n, &mut __draw, seed, __hooks)
                }

                fn __chunk(&self, n: usize, __draw: &mut #private::Draw, seed: #private::Option<u64>, __hooks: &#private::AfterBuild) -> #private::Rows<#model> {
                    #body
                }
            }
        }
    }

    /// The body that draws `n` rows, the overrides being `o` (with `__hooks` in scope, or the
    /// factory's when `o` is `self.__o`).
    fn chunk_body(&self, o: TokenStream) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let deferred_fields: Vec<&Ident> = self
            .associations()
            .filter(|f| f.is_deferred())
            .map(|f| f.ident)
            .collect();
        let column_set = self.column_set(o.clone());
        let parents = self.associations().map(|f| {
            let ident = f.ident;
            let parent_field = parent_ident(ident);
            let parent = f.association();
            let default_parent = if f.is_option() && f.attrs.create_parent.is_none() {
                // An optional foreign key stays NULL unless a parent is asked for.
                quote!(#private::None)
            } else {
                let span = parent.span();
                {
                    let spanned_private = private_at(span);
                    quote_spanned! {span=>
                        #spanned_private::Some(#spanned_private::default_parent::<#parent>())
                    }
                }
            };
            if f.is_deferred() {
                let deferred = deferred_bound(model, f);
                let session = &self.input.session;
                return quote! {
                    if #o.#ident.is_some() {
                        #private::None
                    } else {
                        let source = match &#o.#parent_field {
                            #private::Some(source) => #private::Clone::clone(source),
                            #private::None => #private::default_parent::<#parent>(),
                        };
                        <#session as #deferred>::deferred().map(|step| (source, step))
                    }
                };
            }
            let members = group_members(f);
            quote! {
                if false #(|| #o.#members.is_some())* {
                    #private::None
                } else {
                    match &#o.#parent_field {
                        #private::Some(source) => #private::Some(#private::Clone::clone(source)),
                        #private::None => #default_parent,
                    }
                }
            }
        });
        let hooks = if deferred_fields.is_empty() {
            TokenStream::new()
        } else {
            quote!(let __hooks = self.__factory.after_build_hooks();)
        };
        quote! {
            #hooks
            let mut rows = #private::objects(&#o, n, __draw, __hooks);
            let set = #column_set;
            let parents = (#(#parents,)*);
            // A `back_reference` key not given is NULL in the INSERT: `after_insert` sets it,
            // or (drawn by an unbound factory, as another row's parent) it stays NULL.
            #(if #o.#deferred_fields.is_none() {
                for row in rows.iter_mut() {
                    row.#deferred_fields = #private::None;
                }
            })*
            #private::Rows { rows, set, parents, seed }
        }
    }

    /// The value of a field the factory was not given, spanned at the user's tokens so a type
    /// error lands on them.
    pub(super) fn fallback_value(&self, f: &Field<'_>) -> TokenStream {
        let private = &self.private;
        let ty = f.ty;
        let (rng, stub, n) = (local("__rng"), local("__stub"), local("__n"));
        // A foreign key is told why `build()` needs a value although it has an attribute.
        let (fake_trait, fake_fn) = if f.association().is_some() || f.attrs.group_first.is_some() {
            (format_ident!("FakeKey"), format_ident!("fake_key"))
        } else {
            (format_ident!("FakeValue"), format_ident!("fake_value"))
        };
        let dummy = {
            let spanned_private = private_at(ty.span());
            quote_spanned! {ty.span()=>
                <#ty as #spanned_private::#fake_trait>::#fake_fn(#rng)
            }
        };
        if let (Some(_), Some(inner)) = (f.association(), f.option_inner()) {
            // Build mode: NULL unless a parent was asked for, as in create mode.
            let parent_field = parent_ident(f.ident);
            let key = {
                let spanned_private = private_at(inner.span());
                quote_spanned! {inner.span()=>
                    <#inner as #spanned_private::#fake_trait>::#fake_fn(#rng)
                }
            };
            // `create_parent`: a parent by default, so a key in build mode too.
            let by_default = f.attrs.create_parent.is_some() || f.is_deferred();
            return quote! {
                if #by_default || self.#parent_field.is_some() {
                    #private::Some(#key)
                } else {
                    #private::None
                }
            };
        }
        if f.is_stubbed() {
            let spanned_private = private_at(ty.span());
            return quote_spanned! {ty.span()=> <#ty as #spanned_private::Stub>::stub(#stub) };
        }
        match f.value() {
            Value::Skip => quote!(#private::Default::default()),
            Value::Default(expr) => {
                quote_spanned! {expr.span()=>
                    { let value: #ty = #expr; value }
                }
            }
            Value::Fake(expr) => {
                let spanned_private = private_at(expr.span());
                quote_spanned! {expr.span()=>
                    #spanned_private::fake::<#ty, _, _>(&(#expr), #rng)
                }
            }
            Value::Sequence(expr) => {
                let spanned_private = private_at(expr.span());
                quote_spanned! {expr.span()=>
                    #spanned_private::sequence::<#ty, _>(#expr, #n)
                }
            }
            Value::Lazy(expr) => {
                let spanned_private = private_at(expr.span());
                quote_spanned! {expr.span()=>
                    <#ty as #spanned_private::LazyPlaceholder>::placeholder()
                }
            }
            // The typestate only lets `build`/`create` run once the setter stored a value.
            Value::Required => {
                quote!(#private::core::unreachable!("required field set by typestate"))
            }
            // An integer bound as another (`u64` as `i64` where the backend has no unsigned
            // type): drawn within both, so that every value converts.
            Value::Dummy => match crate::stored::into_type(f) {
                Some(bound) if is_integer_type(ty) && is_integer_type(&bound) => {
                    let private = private_at(ty.span());
                    quote_spanned! {ty.span()=>
                        #private::integer_within::<#ty, #bound, _>(#rng)
                    }
                }
                _ => stored_value(ty).unwrap_or(dummy),
            },
        }
    }
}

/// A value of `ty` its column stores exactly where fake's own is not: a date (2000 to 2035, in
/// whole seconds), a decimal (two places, at most eight digits before the point), a JSON
/// document (at most four levels deep), or an
/// `Option` or `Vec` of one (a `timestamptz[]` holds what a `timestamptz` does). `None`: fake's value is stored as it is. Spanned at the type, so a type
/// the rule does not know is one error there.
fn stored_value(ty: &Type) -> Option<TokenStream> {
    let private = private_at(ty.span());
    let rng = local("__rng");
    if is_date_type(ty) || is_decimal_type(ty) || is_json_document_type(ty) {
        let draw = drawer(ty)?;
        Some(quote_spanned! {ty.span()=> #draw(#rng) })
    } else if let Some(inner) = option_inner(ty) {
        let draw = drawer(inner)?;
        Some(quote_spanned! {ty.span()=> #private::optional(#rng, #draw) })
    } else if let Some(inner) = vec_inner(ty) {
        let draw = drawer(inner)?;
        Some(quote_spanned! {ty.span()=> #private::elements(#rng, #draw) })
    } else {
        None
    }
}

/// What draws a [`stored_value`] of `ty` from the rng it is called with: the trait's function
/// itself for a date or decimal (a closure around it would be flagged by clippy in the user's
/// code), else a closure around the wrapper's helper.
fn drawer(ty: &Type) -> Option<TokenStream> {
    let private = private_at(ty.span());
    if is_date_type(ty) {
        Some(quote_spanned! {ty.span()=> <#ty as #private::DateValue>::date_value })
    } else if is_decimal_type(ty) {
        Some(quote_spanned! {ty.span()=> <#ty as #private::DecimalValue>::decimal_value })
    } else if is_json_document_type(ty) {
        Some(quote_spanned! {ty.span()=> <#ty as #private::JsonDocument>::json_document })
    } else {
        let value = stored_value(ty)?;
        let rng = local("__rng");
        Some(quote_spanned! {ty.span()=> |#rng| #value })
    }
}
