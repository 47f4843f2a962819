//! Code generation. This file holds the entry point and the factory struct with its typestate
//! methods; each other generated item has a file of its own, as in serde_derive and thiserror:
//! `setters.rs` (one per field), `object.rs` (drawing objects and rows), `model.rs` (`Model`,
//! `Association`), `insert.rs` (`Insert<DB>` and parent creation), `fallback.rs` (the stub
//! after a derive error).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, Type};

use crate::ast::{
    Field, Input, UnrawString, Value, is_date_type, is_decimal_type, is_integer_type,
    is_json_document_type, local, option_inner, vec_inner,
};
use crate::ctxt::Ctxt;
use crate::valid;

mod fallback;
mod group;
mod insert;
mod model;
mod object;
mod setters;

use fallback::fallback;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let model = Input::from_syn(&mut cx, input);
    if let Some(model) = &model {
        valid::check(&mut cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) if model.flatten.is_some() => Expander::new(&model).expand_group(),
        (Ok(()), Some(model)) => Expander::new(&model).expand(),
        (Err(errors), model) => fallback(input, errors, model.as_ref()),
        // `from_syn` returns `None` only after reporting an error.
        (Ok(()), None) => TokenStream::new(),
    }
}

struct Expander<'a> {
    input: &'a Input<'a>,
    /// `__sf_<Model>`: the runtime (`::sqlx_factory::__private`), imported under this name in
    /// the model's module (one per model, so two derives in a module do not clash).
    private: Ident,
    factory: Ident,
    /// One type parameter per required field: `Unset` until its setter runs.
    required: Vec<(&'a Field<'a>, Ident)>,
}

impl<'a> Expander<'a> {
    fn new(input: &'a Input<'a>) -> Self {
        let required = input
            .fields
            .iter()
            .filter(|f| f.is_required())
            .enumerate()
            .map(|(i, f)| (f, format_ident!("__R{}", i)))
            .collect();
        Expander {
            input,
            private: format_ident!("__sf_{}", input.ident),
            factory: format_ident!("{}Factory", input.ident),
            required,
        }
    }

    fn columns(&self) -> impl Iterator<Item = &'a Field<'a>> + '_ {
        self.input.fields.iter().filter(|f| f.is_column())
    }

    fn settable(&self) -> impl Iterator<Item = &'a Field<'a>> + '_ {
        self.input.fields.iter().filter(|f| !f.is_skipped())
    }

    fn associations(&self) -> impl Iterator<Item = &'a Field<'a>> + '_ {
        self.input
            .fields
            .iter()
            .filter(|f| f.association().is_some())
    }

    fn transients(&self) -> impl Iterator<Item = &'a Field<'a>> + '_ {
        self.input.fields.iter().filter(|f| f.is_transient())
    }

    /// `#factory<S, __R0, ..>` with `S` replaced by `state`.
    fn factory_type(&self, state: TokenStream) -> TokenStream {
        let factory = &self.factory;
        let required = self.required.iter().map(|(_, p)| p);
        quote!(#factory<#state #(, #required)*>)
    }

    fn expand(&self) -> TokenStream {
        let Expander {
            input,
            private,
            factory,
            ..
        } = self;
        let model = input.ident;
        let vis = input.vis;
        let s = &input.session;
        let table = input.table.as_ref().map(|t| t.value()).unwrap_or_default();
        let factory_name = factory.to_string();

        let required_params: Vec<&Ident> = self.required.iter().map(|(_, p)| p).collect();
        let required_defaults = required_params.iter().map(|p| quote!(#p = #private::Unset));
        let required_marker = if required_params.is_empty() {
            TokenStream::new()
        } else {
            quote!(__required: #private::PhantomData<fn() -> (#(#required_params,)*)>,)
        };
        let required_marker_init = if required_params.is_empty() {
            TokenStream::new()
        } else {
            quote!(__required: #private::PhantomData,)
        };
        let required_checks: Vec<TokenStream> = self
            .required
            .iter()
            .map(|(f, p)| {
                let marker = marker_ident(f.ident);
                let module = self.marker_module();
                quote!(#p: #private::IsSet<#module::#marker>)
            })
            .collect();
        let unset = self.required.iter().map(|_| quote!(#private::Unset));
        let all_unset = quote!(#factory<#private::NoSession #(, #unset)*>);
        let this = self.factory_type(quote!(#s));
        let bound = self.factory_type(quote!(#private::Bound<'c, __DB>));

        let settable: Vec<&Field<'_>> = self.settable().collect();
        let override_fields = self.override_decls();
        let parent_field_decls = self.associations().map(|f| {
            let ident = parent_ident(f.ident);
            let source = row_source(f);
            quote!(#ident: #private::Option<#source>)
        });
        let (group_slots, group_decls) = self.group_slots();
        let overrides = self.overrides_ident();
        let override_idents: Vec<&Ident> = settable.iter().map(|f| f.ident).collect();
        let parent_fields: Vec<Ident> =
            self.associations().map(|f| parent_ident(f.ident)).collect();
        let setters = settable.iter().map(|f| self.setter(f));

        let debug_impl = self.debug_impl();
        let object = self.object_fn();
        let chunk_impl = self.chunk_impl();
        let rows = self.rows_fn();
        let model_impl = self.model_impl(&table, &factory_name);
        let seed_parent_impls = self.seed_parent_impls();
        let insert_impl = self.insert_impl();
        let association_impl = self.association_impl();
        let check_impl = crate::check::check_impl(input, factory, !self.required.is_empty());
        // Field markers and `Reference` impls live in `refs.rs`, the per-field storage
        // checks of `create` in `stored.rs`, so this file only assembles them.
        let store_checks = crate::stored::store_checks(input);
        let cycle_checks = crate::cycle::checks(input);
        let deferred_bounds = self.deferred_bounds();
        // `(row, inserted)` variants of `create` and `create_batch`, for models whose creates
        // may find a stored row.
        // What `create()` and its variants ask: every field storable, the `back_reference`
        // steps makeable, a bound session that reads the row back, required fields set.
        let create_bounds = quote! {
            #(#store_checks,)*
            #(#deferred_bounds,)*
            #s: #private::ReadsRow<#model>,
            #s: #private::Session<#model> + #private::State<#model>,
            #(#required_checks,)*
        };
        let get_or_create_methods = (!self.lookup_fields().is_empty()).then(|| {
            quote! {
                /// As `create()`, with whether the row was inserted: `false` when a stored row
                /// with this `get_or_create` key was found and returned as stored (its
                /// transient fields hold this call's values, not values it was made from).
                pub fn get_or_create(self) -> #private::GetOrCreate<#s, #model>
                where
                    #create_bounds
                {
                    let rows = self.__factory_rows(1, #private::None);
                    #private::GetOrCreate::new(self.__factory, rows)
                }

                /// As `create_batch(n)`, each row with whether it was inserted (`false` for a
                /// stored row found by its key, and for a key an earlier row of the batch
                /// inserted).
                pub fn get_or_create_batch(self, n: usize) -> #private::GetOrCreateBatch<#s, #model>
                where
                    #create_bounds
                {
                    let rows = self.__factory_rows(n, #private::None);
                    #private::GetOrCreateBatch::new(self.__factory, rows)
                }
            }
        });
        // Rows are drawn chunk by chunk as they are sent, unless a `back_reference` parent
        // needs the bound session's `Deferred` step, which the unbound drawer does not make.
        let create_batch_body = if self.associations().any(|f| f.is_deferred()) {
            quote! {
                let rows = self.__factory_rows(n, #private::None);
                #private::CreateBatch::new(self.__factory, rows)
            }
        } else {
            quote! {
                let (state, unbound) = self.__factory.unbind();
                let source: #factory<#private::NoSession #(, #required_params)*> = #factory {
                    __factory: unbound,
                    __o: self.__o,
                    #required_marker_init
                };
                #private::CreateBatch::lazy(state, #private::Box::new(source), n)
            }
        };
        let fields_module = crate::refs::fields_module_def(input);
        let reference_impls = crate::refs::reference_impls(input);
        let reference_consts = crate::refs::reference_consts(input);
        let back_set_impls = crate::refs::back_set_impls(input);
        let back_key_impls = crate::refs::back_key_impls(input);
        let creatable_impl = crate::creatable::creatable_impl(input, factory);

        let factory_doc = format!(
            "Factory for [`{model}`] rows in table `{table}`, made by `#[derive(Factory)]`.\n\n\
             `{model}::factory()` starts one. Setters named after the fields override values; \
             `build()` makes objects in memory, and after `.with_session(&mut tx)`, `create()` and \
             `create_batch(n)` insert rows."
        );

        quote! {
            #[doc = #factory_doc]
            #[must_use]
            // Named after the model: a model name the user allowed (`Order_v2`) is allowed here too.
            #[allow(non_camel_case_types)]
            #vis struct #factory<#s = #private::NoSession #(, #required_defaults)*> {
                __factory: #private::FactoryState<#s>,
                __o: #overrides,
                #required_marker
            }

            // The values set, apart from the state: moved as one field when the state changes,
            // and drawn from by non-generic code (one copy, not one per session state).
            #[allow(non_camel_case_types)]
            struct #overrides {
                #(#override_fields,)*
                #(#parent_field_decls,)*
                #(#group_decls,)*
            }

            #fields_module
            #cycle_checks

            // `__sf` names the runtime in one token instead of six on every path (paths were a
            // third of the tokens, and every token costs on every rebuild). Inherent impls stay
            // outside the block: inside it, rustc would name their methods
            // `_::<impl UserFactory<S>>::create` in errors.
            use ::sqlx_factory::__private as #private;

            #object
            #chunk_impl

            #[automatically_derived]
            impl #model {
                /// A factory for this model, unbound: it can `build`; bind a session to `create`.
                #vis fn factory() -> #all_unset {
                    #factory::new()
                }
            }

            #[automatically_derived]
            impl #all_unset {
                /// An unbound factory, with no value overridden.
                pub fn new() -> Self {
                    #factory {
                        __factory: #private::FactoryState::new(),
                        __o: #overrides {
                            #(#override_idents: #private::None,)*
                            #(#parent_fields: #private::None,)*
                            #(#group_slots: #private::None,)*
                        },
                        #required_marker_init
                    }
                }
            }

            #[automatically_derived]
            impl<#s #(, #required_params)*> #this {
                #(#setters)*

                /// Draws every value from this seed instead of the run's stream: the same seed
                /// gives the same objects on every run and machine.
                pub fn seed(mut self, seed: u64) -> Self {
                    self.__factory.set_seed(seed);
                    self
                }

                /// Runs `hook` on every object right after its values are drawn, in build and
                /// create mode (before the INSERT).
                pub fn after_build(mut self, hook: impl #private::core::ops::Fn(&mut #model) + #private::core::marker::Send + #private::core::marker::Sync + 'static) -> Self {
                    self.__factory.push_after_build(hook);
                    self
                }

                /// A copy of this unbound factory, to use a configured base more than once: the
                /// overrides are cloned, the hooks and `_with` parent factories shared. A bound
                /// factory holds the connection and cannot be cloned: clone, then bind.
                // Inherent, so `.clone()` on a bound factory is one error in our words
                // (`Cloneable`) instead of rustc's E0599; `Clone` calls the same code.
                #[allow(clippy::should_implement_trait)]
                pub fn clone(&self) -> Self
                where
                    #s: #private::Cloneable<#model>,
                {
                    #factory {
                        __factory: self.__factory.clone_unbound::<#model>(),
                        __o: #overrides {
                            #(#override_idents: #private::Clone::clone(&self.__o.#override_idents),)*
                            #(#parent_fields: #private::Clone::clone(&self.__o.#parent_fields),)*
                            #(#group_slots: #private::Clone::clone(&self.__o.#group_slots),)*
                        },
                        #required_marker_init
                    }
                }

                /// Makes one object in memory; no database is touched.
                pub fn build(self) -> #model
                where
                    #(#required_checks,)*
                {
                    let mut __draw = #private::draw(self.__factory.seed());
                    #private::DrawObject::object(&self.__o, &mut __draw, self.__factory.after_build_hooks())
                }

                /// Makes `n` objects in memory; no database is touched.
                pub fn build_batch(self, n: usize) -> #private::Vec<#model>
                where
                    #(#required_checks,)*
                {
                    let mut __draw = #private::draw(self.__factory.seed());
                    #private::objects(&self.__o, n, &mut __draw, self.__factory.after_build_hooks())
                }

                /// Binds a database session: `&mut` of a transaction or connection (the factory
                /// never commits or rolls back on it), or a pool (each operation takes a
                /// connection and commits what it wrote).
                pub fn with_session<'c, __A, __DB>(self, session: __A) -> #bound
                where
                    #s: #private::Unbound,
                    #s: #private::BindSession<'c, __A, __DB>,
                    __DB: #private::Backend,
                {
                    let bound = <#s as #private::BindSession<'c, __A, __DB>>::bind(session);
                    #factory {
                        __factory: self.__factory.bind(bound),
                        __o: self.__o,
                        #required_marker_init
                    }
                }

                /// Inserts one row with `INSERT ... RETURNING` and returns it as the database
                /// stored it; parents of associations are created first, in the same session.
                pub fn create(self) -> #private::Create<#s, #model>
                where
                    #create_bounds
                {
                    let rows = self.__factory_rows(1, #private::None);
                    #private::Create::new(self.__factory, rows)
                }

                /// Inserts `n` rows with multi-row `INSERT ... RETURNING` statements, in order.
                pub fn create_batch(self, n: usize) -> #private::CreateBatch<#s, #model>
                where
                    #(#required_params: 'static,)*
                    #create_bounds
                {
                    #create_batch_body
                }

                #get_or_create_methods

                /// Seeding mode: inserts `n` rows drawn chunk by chunk (memory stays flat), with
                /// `COPY` on PostgreSQL and multi-row INSERTs without `RETURNING` elsewhere, and
                /// returns how many were inserted. All or nothing, like every operation.
                pub fn insert_many(self, n: u64) -> #private::InsertMany<#s, #model>
                where
                    #(#required_params: 'static,)*
                    #(#store_checks,)*
                    #s: #private::Session<#model> + #private::State<#model>,
                    #(#required_checks,)*
                {
                    let (state, unbound) = self.__factory.unbind();
                    let source: #factory<#private::NoSession #(, #required_params)*> = #factory {
                        __factory: unbound,
                        __o: self.__o,
                        #required_marker_init
                    };
                    #private::InsertMany::new(state, #private::Box::new(source), n)
                }

                #rows
            }

            #[automatically_derived]
            impl<'c, __DB: #private::Backend #(, #required_params)*> #bound {
                /// Runs `hook` on every created row, in order, in the same session, after the
                /// INSERT: `|row, conn| Box::pin(async move { .. })`. Its error is returned as
                /// this factory's `Error`.
                pub fn after_create<__F>(mut self, hook: __F) -> Self
                where
                    __F: for<'r> #private::core::ops::Fn(&'r #model, &'r mut <__DB as #private::sqlx::Database>::Connection)
                            -> #private::BoxFuture<'r, #private::HookResult>
                        + #private::core::marker::Send
                        + #private::core::marker::Sync
                        + 'static,
                {
                    self.__factory.push_after_create(#private::hook(hook));
                    self
                }

                /// Runs the operation inside `SAVEPOINT`: if it fails, the database rolls back to
                /// the savepoint, so the caller's transaction stays usable (PostgreSQL aborts the
                /// whole transaction on a failed statement otherwise). Costs two statements more.
                pub fn in_savepoint(mut self) -> Self {
                    self.__factory.set_savepoint();
                    self
                }

                /// Creates `n` related rows per created row, from the factory `related` returns
                /// for it (e.g. `|user| Post::factory().author_id(user.id)`), in one batch INSERT.
                pub fn with_related<__Child, __Source, __F>(mut self, n: usize, related: __F) -> Self
                where
                    __Child: #private::Insert<__DB>,
                    __Source: #private::RowSource<__Child> + 'static,
                    __F: #private::core::ops::Fn(&#model) -> __Source + #private::core::marker::Send + #private::core::marker::Sync + 'static,
                {
                    self.__factory.push_after_create(#private::related(n, related));
                    self
                }
            }

            const _: () = {
            // The autoref probes of the schema check's `measure` (`check.rs`).
            #[allow(unused_imports)]
            use #private::{MeasureKnown as _, MeasureOther as _};
            use ::sqlx_factory::__private as __sf;

            #reference_impls
            #reference_consts
            #back_set_impls
            #back_key_impls
            #creatable_impl

            #[automatically_derived]
            impl #private::Default for #all_unset {
                fn default() -> Self {
                    Self::new()
                }
            }

            #[automatically_derived]
            impl<#s: #private::Cloneable<#model> #(, #required_params)*> #private::Clone for #this {
                fn clone(&self) -> Self {
                    Self::clone(self)
                }
            }

            #[automatically_derived]
            impl<#(#required_params),*> #private::ChunkSource<#model> for #factory<#private::NoSession #(, #required_params)*>
            where
                #(#required_checks,)*
            {
                fn draw_chunk(&mut self, n: usize, draw: &mut #private::Draw, seed: #private::Option<u64>) -> #private::Rows<#model> {
                    self.__factory_chunk(n, draw, seed)
                }
                fn seed(&self) -> #private::Option<u64> {
                    self.__factory.seed()
                }
                fn parents_seeded(&self) -> bool {
                    false #(|| match &self.__o.#parent_fields { #private::Some(p) => #private::RowSource::seeded(p), #private::None => false })*
                }
            }

            #debug_impl
            #model_impl
            #seed_parent_impls
            #association_impl
            #insert_impl
            #check_impl

            // Reported as `RowSource` ("cannot make rows yet, set the required fields"), not as the
            // marker of the first unset field.
            #[diagnostic::do_not_recommend]
            #[automatically_derived]
            impl<#(#required_params),*> #private::RowSource<#model> for #factory<#private::NoSession #(, #required_params)*>
            where
                #(#required_checks,)*
            {
                fn rows(&self, n: usize, inherited: #private::Option<u64>) -> #private::Rows<#model> {
                    self.__factory_rows(n, inherited)
                }
                fn seeded(&self) -> bool {
                    self.__factory.seed().is_some() || <Self as #private::ChunkSource<#model>>::parents_seeded(self)
                }
            }
            };
        }
    }

    /// `Debug` showing the state and the values set. Each field type's `Debug` is required
    /// through a higher-ranked bound, which is no error when unmet: the factory of a model with
    /// a field type that is not `Debug` is simply not `Debug` itself.
    fn debug_impl(&self) -> TokenStream {
        let private = &self.private;
        let factory_name = self.factory.to_string();
        let required_params: Vec<&Ident> = self.required.iter().map(|(_, p)| p).collect();
        let s = &self.input.session;
        let this = self.factory_type(quote!(#s));
        let (bounds, values) = self.debug_parts();
        let parents = self.associations().map(|f| {
            let field = parent_ident(f.ident);
            let name = format!("{}_with", f.name());
            quote! {
                if self.__o.#field.is_some() {
                    debug.field(#name, &#private::core::format_args!("<parent factory>"));
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl<#s: #private::core::fmt::Debug #(, #required_params)*> #private::core::fmt::Debug for #this
            where
                #(#bounds,)*
            {
                fn fmt(&self, f: &mut #private::core::fmt::Formatter<'_>) -> #private::core::fmt::Result {
                    let mut debug = f.debug_struct(#factory_name);
                    self.__factory.debug_fields(&mut debug);
                    #(#values)*
                    #(#parents)*
                    debug.finish()
                }
            }
        }
    }

    /// The override slots of group-drawn flatten fields (their groups' factories), and their
    /// declarations.
    fn group_slots(&self) -> (Vec<Ident>, Vec<TokenStream>) {
        self.input
            .fields
            .iter()
            .filter(|f| f.is_group_drawn())
            .map(|f| {
                let slot = crate::flatten::slot(f);
                let private = &self.private;
                let decl = quote!(#slot: #private::GroupSlot);
                (slot, decl)
            })
            .unzip()
    }

    /// The fields of the overrides struct: `field: Option<T>` per settable field.
    fn override_decls(&self) -> Vec<TokenStream> {
        let private = &self.private;
        self.settable()
            .map(|f| {
                let ident = f.ident;
                let ty = f.ty;
                quote!(#ident: #private::Option<#ty>)
            })
            .collect()
    }

    /// A factory's `Debug`: each settable field's type must be `Debug` (a higher-ranked bound,
    /// no error when unmet), and the statements that show the values set.
    fn debug_parts(&self) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let private = &self.private;
        self.settable()
            .map(|f| {
                let ty = f.ty;
                let ident = f.ident;
                let name = f.name();
                (
                    quote!(for<'__a> &'__a #ty: #private::core::fmt::Debug),
                    quote!(#private::debug_set(&mut debug, #name, &self.__o.#ident);),
                )
            })
            .unzip()
    }

    /// The fields of `get_or_create(..)`, in the order given.
    fn lookup_fields(&self) -> Vec<&'a Field<'a>> {
        self.input
            .get_or_create
            .iter()
            .filter_map(|key| self.input.fields.iter().find(|f| f.ident == key))
            .collect()
    }

    /// The struct of the values set (`__o`): `__<Model>Overrides`.
    fn overrides_ident(&self) -> Ident {
        format_ident!("__{}Overrides", self.input.ident)
    }

    /// The module of the types named after fields (required markers among them): one
    /// module, so each name is unique and rustc prints it bare (`code`, not a path).
    fn marker_module(&self) -> Ident {
        crate::refs::fields_module(self.input)
    }
}

/// `::sqlx_factory::__private` spanned at the user's tokens: an obligation of a generated path
/// is reported at its path's span, so the path must carry the user's span too.
fn private_at(span: proc_macro2::Span) -> TokenStream {
    quote_spanned!(span=> ::sqlx_factory::__private)
}

/// `Source<Parent>`, spanned at the parent's path: shared by the factory's clones.
fn row_source(f: &Field<'_>) -> TokenStream {
    let parent = f.association();
    let span = parent.span();
    let private = private_at(span);
    quote_spanned!(span=> #private::Source<#parent>)
}

/// The fields one association fills: the field itself, or every field of a composite key.
fn group_members<'f>(f: &'f Field<'_>) -> Vec<&'f Ident> {
    if f.attrs.group.is_empty() {
        vec![f.ident]
    } else {
        f.attrs.group.iter().map(|(field, _)| field).collect()
    }
}

/// `Deferred<Model, Parent, NAME>` for a `back_reference` association, spanned at the
/// `back_reference` name (a field the parent lacks is reported there).
fn deferred_bound(model: &Ident, f: &Field<'_>) -> TokenStream {
    let parent = f.association();
    let Some((_, back)) = &f.attrs.back_reference else {
        return TokenStream::new();
    };
    let span = back.span();
    let private = private_at(span);
    let hash = crate::refs::name_hash(&back.unraw_string());
    quote_spanned!(span=> #private::Deferred<#model, #parent, #hash>)
}

fn parent_ident(field: &Ident) -> Ident {
    format_ident!("__{}_parent", field)
}

fn marker_ident(field: &Ident) -> Ident {
    field.clone()
}
