//! Code generation: the factory struct, its typestate methods and the model's insert impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident};

use crate::ast::{Field, Input, UnrawString, Value, is_date_type, option_inner};
use crate::ctxt::Ctxt;
use crate::valid;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let model = Input::from_syn(&mut cx, input);
    if let Some(model) = &model {
        valid::check(&mut cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) => Expander::new(&model).expand(),
        (Err(errors), model) => fallback(input, errors, model.as_ref()),
        // `from_syn` returns `None` only after reporting an error.
        (Ok(()), None) => TokenStream::new(),
    }
}

/// The errors, plus a stub factory with every method the real one would have (thiserror's
/// `fallback.rs`), so that the user's other uses of it (`Model::factory()`, a trait `impl`,
/// setters, `build`, `with_session(..).create()`) add no error of their own: one mistake in the
/// derive is one error. The stub's methods accept anything and are never run.
///
/// When the attributes parsed (`model` is `Some`; a check in `valid` failed), the stub follows
/// them: setters for the settable fields, and `<field>_with` only for associations, typed with
/// the parent's factory (`{Parent}Factory`, named by the path so a self-reference needs no
/// `Association` impl), so that `|u| u.admin()` infers.
fn fallback(input: &DeriveInput, errors: syn::Error, model: Option<&Input<'_>>) -> TokenStream {
    let errors = errors.to_compile_error();
    let ident = &input.ident;
    let vis = &input.vis;
    let factory = format_ident!("{}Factory", input.ident);
    let private = quote!(::sqlx_factory::__private);
    let stub = quote! {
        #vis struct #factory<S = #private::NoSession>(#private::core::marker::PhantomData<S>);

        impl<S> #private::core::fmt::Debug for #factory<S> {
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
                let with = f.association().map(|parent| {
                    let with = format_ident!("{}_with", f.ident.unraw_string());
                    let mut parent_factory = parent.clone();
                    if let Some(last) = parent_factory.segments.last_mut() {
                        last.ident = format_ident!("{}Factory", last.ident);
                    }
                    quote! {
                        #vis fn #with<__R>(self, _: impl FnOnce(#parent_factory) -> __R) -> Self { self }
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
                #factory(#private::core::marker::PhantomData)
            }
        }

        #[allow(dead_code, clippy::all)]
        impl #factory {
            #vis fn new() -> Self {
                #factory(#private::core::marker::PhantomData)
            }
        }

        #[allow(dead_code, clippy::all)]
        impl<S> #factory<S> {
            #(#setters)*
            #vis fn seed<__T>(self, _: __T) -> Self { self }
            #vis fn after_build(self, _: impl Fn(&mut #ident) + Send + Sync + 'static) -> Self { self }
            #vis fn after_create<__T>(self, _: __T) -> Self { self }
            #vis fn with_related<__R>(self, _: usize, _: impl Fn(&#ident) -> __R) -> Self { self }
            #vis fn in_savepoint(self) -> Self { self }
            #[allow(clippy::should_implement_trait)]
            #vis fn clone(&self) -> Self { #factory(#private::core::marker::PhantomData) }
            #vis fn with_session<__T>(self, _: __T) -> Self { self }
            #vis fn build(self) -> #ident { #private::core::unreachable!() }
            #vis fn build_batch(self, _: usize) -> #private::Vec<#ident> { #private::core::unreachable!() }
            #vis async fn create(self) -> #private::core::result::Result<#ident, #private::Error> {
                #private::core::unreachable!()
            }
            #vis async fn create_batch(self, _: usize) -> #private::core::result::Result<#private::Vec<#ident>, #private::Error> {
                #private::core::unreachable!()
            }
            // `insert_many(n)` and its options chain on the stub itself, which awaits to a count.
            #vis fn insert_many(self, _: u64) -> Self { self }
            #vis fn parents_from<__P, __K>(self, _: __K) -> Self { self }
            #vis fn on_progress<__F>(self, _: __F) -> Self { self }
            #vis fn chunk_rows(self, _: usize) -> Self { self }
            #vis fn with_children<__C>(self, _: u64, _: __C) -> Self { self }
        }

        #[allow(dead_code, clippy::all)]
        impl<S> #private::core::future::IntoFuture for #factory<S> {
            type Output = #private::core::result::Result<u64, #private::Error>;
            type IntoFuture = #private::core::future::Pending<Self::Output>;
            fn into_future(self) -> Self::IntoFuture { #private::core::future::pending() }
        }
    }
}

struct Expander<'a> {
    input: &'a Input<'a>,
    private: TokenStream,
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
            private: quote!(::sqlx_factory::__private),
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
        let table = input.table.as_ref().map(|t| t.value()).unwrap_or_default();
        let factory_name = factory.to_string();

        let required_params: Vec<&Ident> = self.required.iter().map(|(_, p)| p).collect();
        let required_defaults = required_params.iter().map(|p| quote!(#p = #private::Unset));
        let required_marker = if required_params.is_empty() {
            TokenStream::new()
        } else {
            quote!(__required: #private::core::marker::PhantomData<fn() -> (#(#required_params,)*)>,)
        };
        let required_marker_init = if required_params.is_empty() {
            TokenStream::new()
        } else {
            quote!(__required: #private::core::marker::PhantomData,)
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
        let this = self.factory_type(quote!(S));
        let bound = self.factory_type(quote!(#private::Bound<'c, __DB>));

        let settable: Vec<&Field<'_>> = self.settable().collect();
        let override_fields = settable.iter().map(|f| {
            let ident = f.ident;
            let ty = f.ty;
            quote!(#ident: #private::core::option::Option<#ty>)
        });
        let parent_fields: Vec<Ident> =
            self.associations().map(|f| parent_ident(f.ident)).collect();
        let parent_field_decls = self.associations().map(|f| {
            let ident = parent_ident(f.ident);
            let source = row_source(f);
            quote!(#ident: #private::core::option::Option<#source>)
        });
        let override_idents: Vec<&Ident> = settable.iter().map(|f| f.ident).collect();
        let setters = settable.iter().map(|f| self.setter(f));

        let debug_impl = self.debug_impl();
        let object = self.object_fn();
        let rows = self.rows_fn();
        let model_impl = self.model_impl(&table, &factory_name);
        let insert_impl = self.insert_impl();
        let association_impl = self.association_impl();
        let check_impl = crate::check::check_impl(input, factory, !self.required.is_empty());
        // Issue 11: field markers and `Reference` impls live in `refs.rs`; the per-field
        // storage checks of `create` in `stored.rs`.
        let store_checks = crate::stored::store_checks(input);
        let cycle_checks = crate::cycle::checks(input);
        let deferred_bounds = self.deferred_bounds();
        // Rows are drawn chunk by chunk as they are sent, unless a `back_reference` parent
        // needs the bound session's `Deferred` step, which the unbound drawer does not make.
        let create_batch_body = if self.associations().any(|f| f.is_deferred()) {
            quote! {
                let rows = self.__factory_rows(n, #private::core::option::Option::None);
                #private::CreateBatch::new(self.__factory, rows)
            }
        } else {
            quote! {
                let (state, unbound) = self.__factory.unbind();
                let source: #factory<#private::NoSession #(, #required_params)*> = #factory {
                    __factory: unbound,
                    #(#override_idents: self.#override_idents,)*
                    #(#parent_fields: self.#parent_fields,)*
                    #required_marker_init
                };
                #private::CreateBatch::lazy(state, #private::Box::new(source), n)
            }
        };
        let fields_module = crate::refs::fields_module_def(input);
        let reference_impls = crate::refs::reference_impls(input);

        let factory_doc = format!(
            "Factory for [`{model}`] rows in table `{table}`, made by `#[derive(Factory)]`.\n\n\
             `{model}::factory()` starts one. Setters named after the fields override values; \
             `build()` makes objects in memory, and after `.with_session(&mut tx)`, `create()` and \
             `create_batch(n)` insert rows."
        );

        quote! {
            #[doc = #factory_doc]
            #[must_use]
            #vis struct #factory<S = #private::NoSession #(, #required_defaults)*> {
                __factory: #private::FactoryState<S, #model>,
                #(#override_fields,)*
                #(#parent_field_decls,)*
                #required_marker
            }

            #fields_module
            #reference_impls
            #cycle_checks

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
                        #(#override_idents: #private::core::option::Option::None,)*
                        #(#parent_fields: #private::core::option::Option::None,)*
                        #required_marker_init
                    }
                }
            }

            #[automatically_derived]
            impl #private::core::default::Default for #all_unset {
                fn default() -> Self {
                    Self::new()
                }
            }

            #[automatically_derived]
            impl<S #(, #required_params)*> #this {
                #(#setters)*

                /// Draws every value from this seed instead of the run's stream: the same seed
                /// gives the same objects on every run and machine.
                pub fn seed(mut self, seed: u64) -> Self {
                    self.__factory.set_seed(seed);
                    self
                }

                /// Runs `hook` on every object right after its values are drawn, in build and
                /// create mode (before the INSERT).
                pub fn after_build(mut self, hook: impl Fn(&mut #model) + Send + Sync + 'static) -> Self {
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
                    S: #private::Cloneable<#model>,
                {
                    self.__factory_clone()
                }

                /// Makes one object in memory; no database is touched.
                pub fn build(self) -> #model
                where
                    #(#required_checks,)*
                {
                    let mut __draw = #private::draw(self.__factory.seed());
                    self.__factory_object(&mut __draw)
                }

                /// Makes `n` objects in memory; no database is touched.
                pub fn build_batch(self, n: usize) -> #private::Vec<#model>
                where
                    #(#required_checks,)*
                {
                    let mut __draw = #private::draw(self.__factory.seed());
                    (0..n).map(|_| self.__factory_object(&mut __draw)).collect()
                }

                /// Binds a database session: a `&mut` transaction, pooled connection or connection.
                /// The factory never commits or rolls back on it.
                pub fn with_session<'c, __C, __DB>(self, session: &'c mut __C) -> #bound
                where
                    S: #private::Unbound,
                    S: #private::BindSession<__C, __DB>,
                    __C: ?Sized,
                    __DB: #private::Backend,
                {
                    let conn = <S as #private::BindSession<__C, __DB>>::connection(session);
                    #factory {
                        __factory: self.__factory.bind_connection(conn),
                        #(#override_idents: self.#override_idents,)*
                        #(#parent_fields: self.#parent_fields,)*
                        #required_marker_init
                    }
                }

                /// Inserts one row with `INSERT ... RETURNING` and returns it as the database
                /// stored it; parents of associations are created first, in the same session.
                pub fn create(self) -> #private::Create<S, #model>
                where
                    #(#store_checks,)*
                    #(#deferred_bounds,)*
                    S: #private::ReadsRow<#model>,
                    S: #private::Session<#model> + #private::State<#model>,
                    #(#required_checks,)*
                {
                    let rows = self.__factory_rows(1, #private::core::option::Option::None);
                    #private::Create::new(self.__factory, rows)
                }

                /// Inserts `n` rows with multi-row `INSERT ... RETURNING` statements, in order.
                pub fn create_batch(self, n: usize) -> #private::CreateBatch<S, #model>
                where
                    #(#required_params: 'static,)*
                    #(#store_checks,)*
                    #(#deferred_bounds,)*
                    S: #private::ReadsRow<#model>,
                    S: #private::Session<#model> + #private::State<#model>,
                    #(#required_checks,)*
                {
                    #create_batch_body
                }

                /// Seeding mode: inserts `n` rows drawn chunk by chunk (memory stays flat), with
                /// `COPY` on PostgreSQL and multi-row INSERTs without `RETURNING` elsewhere, and
                /// returns how many were inserted. All or nothing, like every operation.
                pub fn insert_many(self, n: u64) -> #private::InsertMany<S, #model>
                where
                    #(#required_params: 'static,)*
                    #(#store_checks,)*
                    S: #private::Session<#model> + #private::State<#model>,
                    #(#required_checks,)*
                {
                    let (state, unbound) = self.__factory.unbind();
                    let source: #factory<#private::NoSession #(, #required_params)*> = #factory {
                        __factory: unbound,
                        #(#override_idents: self.#override_idents,)*
                        #(#parent_fields: self.#parent_fields,)*
                        #required_marker_init
                    };
                    #private::InsertMany::new(state, #private::Box::new(source), n)
                }

                #object
                #rows

                fn __factory_clone(&self) -> Self
                where
                    S: #private::Cloneable<#model>,
                {
                    #factory {
                        __factory: self.__factory.clone_unbound(),
                        #(#override_idents: #private::core::clone::Clone::clone(&self.#override_idents),)*
                        #(#parent_fields: #private::core::clone::Clone::clone(&self.#parent_fields),)*
                        #required_marker_init
                    }
                }
            }

            #[automatically_derived]
            impl<S: #private::Cloneable<#model> #(, #required_params)*> #private::core::clone::Clone for #this {
                fn clone(&self) -> Self {
                    self.__factory_clone()
                }
            }

            #[automatically_derived]
            impl<#(#required_params),*> #private::ChunkSource<#model> for #factory<#private::NoSession #(, #required_params)*>
            where
                #(#required_checks,)*
            {
                fn draw_chunk(&mut self, n: usize, draw: &mut #private::Draw, seed: #private::core::option::Option<u64>) -> #private::Rows<#model> {
                    self.__factory_chunk(n, draw, seed)
                }
                fn seed(&self) -> #private::core::option::Option<u64> {
                    self.__factory.seed()
                }
            }

            #[automatically_derived]
            impl<'c, __DB: #private::Backend #(, #required_params)*> #bound {
                /// Runs `hook` on every created row, in order, in the same session, after the
                /// INSERT: `|row, conn| Box::pin(async move { .. })`. Its error is returned as
                /// this factory's `Error`.
                pub fn after_create<__F>(mut self, hook: __F) -> Self
                where
                    __F: for<'r> Fn(&'r #model, &'r mut <__DB as #private::sqlx::Database>::Connection)
                            -> #private::BoxFuture<'r, #private::HookResult>
                        + Send
                        + Sync
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
                    __F: Fn(&#model) -> __Source + Send + Sync + 'static,
                {
                    self.__factory.push_after_create(#private::related(n, related));
                    self
                }
            }

            #debug_impl
            #model_impl
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
                fn rows(&self, n: usize, inherited: #private::core::option::Option<u64>) -> #private::Rows<#model> {
                    self.__factory_rows(n, inherited)
                }
            }
        }
    }

    /// `Debug` showing the state and the values set. Each field type's `Debug` is required
    /// through a higher-ranked bound, which is no error when unmet: the factory of a model with
    /// a field type that is not `Debug` is simply not `Debug` itself.
    fn debug_impl(&self) -> TokenStream {
        let private = &self.private;
        let factory_name = self.factory.to_string();
        let required_params: Vec<&Ident> = self.required.iter().map(|(_, p)| p).collect();
        let this = self.factory_type(quote!(S));
        let settable: Vec<&Field<'_>> = self.settable().collect();
        let bounds = settable.iter().map(|f| {
            let ty = f.ty;
            quote!(for<'__a> &'__a #ty: #private::core::fmt::Debug)
        });
        let values = settable.iter().map(|f| {
            let ident = f.ident;
            let name = f.name();
            quote! {
                if let #private::core::option::Option::Some(value) = &self.#ident {
                    debug.field(#name, &value);
                }
            }
        });
        let parents = self.associations().map(|f| {
            let field = parent_ident(f.ident);
            let name = format!("{}_with", f.name());
            quote! {
                if self.#field.is_some() {
                    debug.field(#name, &#private::core::format_args!("<parent factory>"));
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl<S: #private::core::fmt::Debug #(, #required_params)*> #private::core::fmt::Debug for #this
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

    /// The body of `create_parents` (`deferred == false`: parents created before the INSERT)
    /// or of `after_insert` (`back_reference` parents, created after it). Slots are taken out
    /// of `parents` synchronously, so the future borrows only `rows` and `conn`.
    fn parent_steps(&self, deferred: bool) -> TokenStream {
        let private = &self.private;
        let associations: Vec<(usize, &Field<'_>)> = self
            .associations()
            .enumerate()
            .filter(|(_, f)| f.is_deferred() == deferred)
            .collect();
        if associations.is_empty() {
            return quote!(#private::core::option::Option::None);
        }
        let slots: Vec<Ident> = associations
            .iter()
            .map(|(_, f)| format_ident!("__{}", f.ident))
            .collect();
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
                return quote! {
                    if let #private::core::option::Option::Some((source, step)) = #slot {
                        static BACK: #private::Back = #private::Back { field: #name, column: #column, key_column: #key_column };
                        let step = #private::deferred_fn::<__DB, Self, #parent>(step)
                            .expect("sqlx-factory bug: a back_reference step made for other types");
                        let created = step(
                            &mut *conn, source, &*rows, &BACK, operation,
                            #private::child_seed(seed, #index),
                        ).await?;
                        for (row, parent) in rows.iter_mut().zip(&created) {
                            #assign
                        }
                    }
                };
            }
            let create = {
                let spanned_private = private_at(parent.span());
                quote_spanned!(parent.span()=> <#parent as #spanned_private::InsertParent<__DB>>::create_parents)
            };
            quote! {
                if let #private::core::option::Option::Some(source) = #slot {
                    let created = #create::<Self>(
                        &mut *conn, source, rows.len(), #name, operation,
                        #private::child_seed(seed, #index),
                    ).await?;
                    for (row, parent) in rows.iter_mut().zip(&created) {
                        #assign
                    }
                }
            }
        });
        quote! {
            #(let #slots = parents.#indexes.take();)*
            if true #(&& #slots.is_none())* {
                return #private::core::option::Option::None;
            }
            #private::core::option::Option::Some(#private::Box::pin(async move {
                #(#steps)*
                #private::core::result::Result::Ok(())
            }))
        }
    }

    /// `S: Deferred<Model, Parent, NAME>` per `back_reference` association: where `S` is
    /// concrete (at `create()`), the parent's `Insert` bound holds without a cycle.
    fn deferred_bounds(&self) -> Vec<TokenStream> {
        self.associations()
            .filter(|f| f.is_deferred())
            .map(|f| deferred_bound(self.input.ident, f))
            .map(|bound| quote!(S: #bound))
            .collect()
    }

    /// The fields of `get_or_create(..)`, in the order given.
    fn lookup_fields(&self) -> Vec<&'a Field<'a>> {
        self.input
            .get_or_create
            .iter()
            .filter_map(|key| self.input.fields.iter().find(|f| f.ident == key))
            .collect()
    }

    /// The module of the types named after fields (required markers among them): one
    /// module, so each name is unique and rustc prints it bare (`code`, not a path).
    fn marker_module(&self) -> Ident {
        crate::refs::fields_module(self.input)
    }

    fn setter(&self, f: &Field<'_>) -> TokenStream {
        let private = &self.private;
        let ident = f.ident;
        let ty = f.ty;
        let what = if f.is_transient() {
            format!("Sets the transient parameter `{ident}`")
        } else {
            format!("Sets `{ident}` (column `{}`)", f.column)
        };
        let doc = format!("{what} for every object this factory makes.");
        let (param, convert) = setter_param(private, ty);
        // Setting a key field drops its parent; for a composite key, any of its fields does.
        let clear_parent = f
            .attrs
            .group_first
            .as_ref()
            .or(f.association().map(|_| ident))
            .map(|first| {
                let parent = parent_ident(first);
                quote!(self.#parent = #private::core::option::Option::None;)
            });
        let main = if let Some(i) = self.required.iter().position(|(r, _)| r.ident == ident) {
            // Changes this field's type parameter to `Set`: the struct is rebuilt field by field.
            let factory = &self.factory;
            let params = self.required.iter().enumerate().map(|(j, (_, p))| {
                if i == j {
                    quote!(#private::Set)
                } else {
                    quote!(#p)
                }
            });
            let others = self
                .settable()
                .filter(|o| o.ident != ident)
                .map(|o| o.ident);
            let parents = self.associations().map(|a| parent_ident(a.ident));
            quote! {
                #[doc = #doc]
                pub fn #ident(self, value: #param) -> #factory<S #(, #params)*> {
                    #factory {
                        __factory: self.__factory,
                        #ident: #private::core::option::Option::Some(#convert),
                        #(#others: self.#others,)*
                        #(#parents: self.#parents,)*
                        __required: #private::core::marker::PhantomData,
                    }
                }
            }
        } else {
            quote! {
                #[doc = #doc]
                pub fn #ident(mut self, value: #param) -> Self {
                    self.#ident = #private::core::option::Option::Some(#convert);
                    #clear_parent
                    self
                }
            }
        };
        let with = f.association().map(|parent| {
            let members = group_members(f);
            let with = format_ident!("{}_with", ident);
            let parent_field = parent_ident(ident);
            let doc = format!(
                "Creates the `{ident}` parent from `{}::factory()` as `customize` changes it \
                 (create mode), instead of a default one or a fixed key.",
                quote!(#parent)
            );
            // Signature and body are spanned at the parent's path, so that naming a type that
            // is no model is one error, under that path.
            let span = parent.span();
            let private = private_at(span);
            quote_spanned! {span=>
                #[doc = #doc]
                pub fn #with<__Customize, __F>(mut self, customize: __Customize) -> Self
                where
                    __Customize: FnOnce(<#parent as #private::Association>::Factory) -> __F,
                    __F: #private::RowSource<#parent> + 'static,
                {
                    let factory = <<#parent as #private::Association>::Factory as #private::core::default::Default>::default();
                    self.#parent_field = #private::core::option::Option::Some(#private::Arc::new(customize(factory)));
                    #(self.#members = #private::core::option::Option::None;)*
                    self
                }
            }
        });
        quote!(#main #with)
    }

    /// `__factory_object`: one object, values drawn, lazy fields computed, hooks run.
    fn object_fn(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let fields = &self.input.fields;
        let sequence = if fields
            .iter()
            .any(|f| matches!(f.value(), Value::Sequence(_)))
        {
            quote! {
                let __n = #private::next_sequence(__draw, <#model as #private::Model>::TABLE);
            }
        } else {
            TokenStream::new()
        };
        let values = fields.iter().map(|f| {
            let ident = f.ident;
            let fallback = self.fallback_value(f);
            if f.is_skipped() {
                quote!(#ident: #fallback)
            } else {
                quote! {
                    #ident: match &self.#ident {
                        #private::core::option::Option::Some(value) => #private::core::clone::Clone::clone(value),
                        #private::core::option::Option::None => #fallback,
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
                    quote_spanned! {expr.span()=>
                        #spanned_private::lazy::<#model, #ty, _>(#expr, &object)
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
        quote! {
            fn __factory_object(&self, __draw: &mut #private::Draw) -> #model {
                #sequence
                let __rng = &mut __draw.rng;
                #[allow(unused_mut)]
                let mut object = #model {
                    #(#values,)*
                };
                #(#lazies)*
                self.__factory.after_build(&mut object);
                object
            }
        }
    }

    /// `__factory_rows`: the rows of a create, the columns they send and the parents to make.
    fn rows_fn(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let deferred_bounds = self.deferred_bounds();
        let deferred_fields: Vec<&Ident> = self
            .associations()
            .filter(|f| f.is_deferred())
            .map(|f| f.ident)
            .collect();
        // Bit `k` of the column set: the `k`-th database-filled column, sent when given a value.
        let column_set = self
            .columns()
            .filter(|f| f.is_db_filled())
            .enumerate()
            .map(|(k, f)| {
                let ident = f.ident;
                let has_value_attr = !matches!(f.value(), Value::Dummy);
                quote!(.with(#k, #has_value_attr || self.#ident.is_some()))
            });
        let parents = self.associations().map(|f| {
            let ident = f.ident;
            let parent_field = parent_ident(ident);
            let parent = f.association();
            let default_parent = if f.is_option() && f.attrs.create_parent.is_none() {
                // An optional foreign key stays NULL unless a parent is asked for.
                quote!(#private::core::option::Option::None)
            } else {
                let span = parent.span();
                { let spanned_private = private_at(span); quote_spanned!{span=>
                    #spanned_private::core::option::Option::Some(#spanned_private::default_parent::<#parent>())
                } }
            };
            if f.is_deferred() {
                let deferred = deferred_bound(model, f);
                return quote! {
                    if self.#ident.is_some() {
                        #private::core::option::Option::None
                    } else {
                        let source = match &self.#parent_field {
                            #private::core::option::Option::Some(source) => #private::Arc::clone(source),
                            #private::core::option::Option::None => #private::default_parent::<#parent>(),
                        };
                        <S as #deferred>::deferred().map(|step| (source, step))
                    }
                };
            }
            let members = group_members(f);
            quote! {
                if false #(|| self.#members.is_some())* {
                    #private::core::option::Option::None
                } else {
                    match &self.#parent_field {
                        #private::core::option::Option::Some(source) => #private::core::option::Option::Some(#private::Arc::clone(source)),
                        #private::core::option::Option::None => #default_parent,
                    }
                }
            }
        });
        quote! {
            fn __factory_rows(&self, n: usize, inherited: #private::core::option::Option<u64>) -> #private::Rows<#model>
            where
                #(#deferred_bounds,)*
            {
                let seed = self.__factory.seed().or(inherited);
                let mut __draw = #private::draw(seed);
                self.__factory_chunk(n, &mut __draw, seed)
            }

            /// The next `n` rows of a stream drawn from `__draw` (seeding draws chunk by chunk).
            fn __factory_chunk(&self, n: usize, __draw: &mut #private::Draw, seed: #private::core::option::Option<u64>) -> #private::Rows<#model>
            where
                #(#deferred_bounds,)*
            {
                #[allow(unused_mut)]
                let mut rows: #private::Vec<#model> = (0..n).map(|_| self.__factory_object(__draw)).collect();
                let set = #private::ColumnSet::default() #(#column_set)*;
                let parents = (#(#parents,)*);
                // A `back_reference` key not given is NULL in the INSERT: `after_insert` sets it,
                // or (drawn by an unbound factory, as another row's parent) it stays NULL.
                #(if self.#deferred_fields.is_none() {
                    for row in rows.iter_mut() {
                        row.#deferred_fields = #private::core::option::Option::None;
                    }
                })*
                #private::Rows { rows, set, parents, seed }
            }
        }
    }

    /// The value of a field the factory was not given, spanned at the user's tokens so a type
    /// error lands on them.
    fn fallback_value(&self, f: &Field<'_>) -> TokenStream {
        let private = &self.private;
        let ty = f.ty;
        let dummy = {
            let spanned_private = private_at(ty.span());
            quote_spanned! {ty.span()=>
                <#ty as #spanned_private::FakeValue>::fake_value(__rng)
            }
        };
        if let (Some(_), Some(inner)) = (f.association(), f.option_inner()) {
            // Build mode: NULL unless a parent was asked for, as in create mode.
            let parent_field = parent_ident(f.ident);
            let key = {
                let spanned_private = private_at(inner.span());
                quote_spanned! {inner.span()=>
                    <#inner as #spanned_private::FakeValue>::fake_value(__rng)
                }
            };
            // `create_parent`: a parent by default, so a key in build mode too.
            let by_default = f.attrs.create_parent.is_some() || f.is_deferred();
            return quote! {
                if #by_default || self.#parent_field.is_some() {
                    #private::core::option::Option::Some(#key)
                } else {
                    #private::core::option::Option::None
                }
            };
        }
        match f.value() {
            Value::Skip => quote!(#private::core::default::Default::default()),
            Value::Default(expr) => {
                quote_spanned! {expr.span()=>
                    { let value: #ty = #expr; value }
                }
            }
            Value::Fake(expr) => {
                let spanned_private = private_at(expr.span());
                quote_spanned! {expr.span()=>
                    #spanned_private::fake::<#ty, _, _>(&(#expr), __rng)
                }
            }
            Value::Sequence(expr) => {
                let spanned_private = private_at(expr.span());
                quote_spanned! {expr.span()=>
                    #spanned_private::sequence::<#ty, _>(#expr, __n)
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
            Value::Dummy if is_date_type(ty) => {
                let private = private_at(ty.span());
                quote_spanned! {ty.span()=> <#ty as #private::DateValue>::date_value(__rng) }
            }
            Value::Dummy => match option_inner(ty) {
                Some(inner) if is_date_type(inner) => {
                    let private = private_at(inner.span());
                    quote_spanned! {inner.span()=> #private::optional_date::<#inner, _>(__rng) }
                }
                _ => dummy,
            },
        }
    }

    fn model_impl(&self, table: &str, factory_name: &str) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let column_consts = self.columns().map(|f| {
            let name = &f.column;
            let from_row_name = &f.from_row_name;
            let db_filled = f.is_db_filled();
            quote!(#private::Column { name: #name, from_row_name: #from_row_name, db_filled: #db_filled })
        });
        let parent_types = self.associations().map(|f| {
            let source = row_source(f);
            if f.is_deferred() {
                // With the step `create()` made for the bound backend (see `back.rs`).
                quote!(#private::core::option::Option<(#source, #private::Box<dyn #private::core::any::Any + #private::core::marker::Send>)>)
            } else {
                quote!(#private::core::option::Option<#source>)
            }
        });
        let clear_parent = self.associations().enumerate().filter(|(_, f)| !f.is_deferred() && f.attrs.group.is_empty()).map(|(k, f)| {
            let index = syn::Index::from(k);
            let hash = crate::refs::name_hash(&f.name());
            quote!(if _field == #hash { _parents.#index = #private::core::option::Option::None; })
        });
        let parent_indexes: Vec<syn::Index> = (0..self.associations().count())
            .map(syn::Index::from)
            .collect();
        let transient_types = self.transients().map(|f| f.ty);
        let transient_idents: Vec<&Ident> = self.transients().map(|f| f.ident).collect();
        let parent_names = crate::cycle::parents(self.input);
        let keys = self.lookup_fields();
        let key_columns = keys.iter().map(|f| &f.column);
        let key_types = keys.iter().map(|f| f.ty);
        let key_idents = keys.iter().map(|f| f.ident);
        let key_indexes = (0..keys.len()).map(syn::Index::from);
        let sized_idents = self.columns().map(|f| f.ident);
        quote! {
            #[automatically_derived]
            impl #private::Model for #model {
                const FACTORY: &'static str = #factory_name;
                const TABLE: &'static str = #table;
                const COLUMNS: &'static [#private::Column] = &[#(#column_consts),*];

                type Parents = (#(#parent_types,)*);
                type Transient = (#(#transient_types,)*);

                fn sql_cache() -> &'static #private::SqlCache {
                    static CACHE: #private::SqlCache = #private::SqlCache::new();
                    &CACHE
                }

                const GET_OR_CREATE: &'static [&'static str] = &[#(#key_columns),*];

                const PARENTS: &'static [&'static str] = &[#(#parent_names),*];

                type LookupKey = (#(#key_types,)*);

                #[allow(clippy::unused_unit)] // `()` for models without `get_or_create`
                fn lookup_key(&self) -> Self::LookupKey {
                    (#(#private::core::clone::Clone::clone(&self.#key_idents),)*)
                }

                #[allow(unused_imports)]
                fn lookup_key_has_null(_key: &Self::LookupKey) -> bool {
                    use #private::{NonNullKey as _, NullableKey as _};
                    false #(|| (&#private::Probe(&_key.#key_indexes)).is_null_key())*
                }

                fn byte_size(&self) -> usize {
                    use #private::{ByLength as _, BySize as _};
                    0 #(+ (&#private::Probe(&self.#sized_idents)).byte_size())*
                }

                fn needs_parents(_parents: &Self::Parents) -> bool {
                    false #(|| _parents.#parent_indexes.is_some())*
                }

                fn clear_parent(_parents: &mut Self::Parents, _field: u64) {
                    #(#clear_parent)*
                }

                fn restore_transient(&mut self, transient: Self::Transient) {
                    let (#(#transient_idents,)*) = transient;
                    #(self.#transient_idents = #transient_idents;)*
                }
            }
        }
    }

    fn association_impl(&self) -> TokenStream {
        let private = &self.private;
        let model = self.input.ident;
        let Some(key) = self.columns().find(|f| f.attrs.primary_key.is_some()) else {
            return TokenStream::new();
        };
        let key_ident = key.ident;
        let key_ty = key.ty;
        let key_column = &key.column;
        let unset = self.required.iter().map(|_| quote!(#private::Unset));
        let factory_default = {
            let f = &self.factory;
            quote!(#f<#private::NoSession #(, #unset)*>)
        };
        quote! {
            #[automatically_derived]
            impl #private::Association for #model {
                type Key = #key_ty;
                type Factory = #factory_default;

                const KEY_COLUMN: &'static str = #key_column;

                fn key(&self) -> #key_ty {
                    #private::core::clone::Clone::clone(&self.#key_ident)
                }
            }
        }
    }

    /// `Insert::set_parent_key` (seeding mode): the associations that store the parent's
    /// primary key in one field take a key given by type; `references`, composite and
    /// `back_reference` associations keep the default (no field takes it).
    fn set_parent_key_fn(&self) -> TokenStream {
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
                        if let #private::core::option::Option::Some(__key) = __key.downcast_ref::<#key_ty>() {
                            self.#ident = <#ty as #private::ForeignKey<#key_ty, #marker>>::from_key(
                                #private::core::clone::Clone::clone(__key),
                            );
                            __parents.#index = #private::core::option::Option::None;
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
                __key: &(dyn #private::core::any::Any + Send + Sync),
            ) -> bool {
                let mut __found = false;
                #(#arms)*
                __found
            }
        }
    }

    fn insert_impl(&self) -> TokenStream {
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
        let mut k = 0usize;
        let binds = columns.iter().zip(&column_vars).map(|(f, var)| {
            let value = crate::stored::bind_value(self.input, f, var);
            let add = quote!(#private::ColumnOf::<__DB>::bind(#value, __args)?;);
            if f.is_db_filled() {
                let bit = k;
                k += 1;
                quote!(if __set.contains(#bit) { #add })
            } else {
                add
            }
        });
        let keys = self.lookup_fields();
        let key_vars: Vec<Ident> = (0..keys.len())
            .map(|i| format_ident!("__key{}", i))
            .collect();
        let key_binds = keys.iter().zip(&key_vars).map(|(f, var)| {
            let value = crate::stored::bind_value(self.input, f, var);
            quote!(#private::ColumnOf::<__DB>::bind(#value, __args)?;)
        });
        let encode_bounds = columns.iter().map(|f| {
            let ty = f.ty;
            let private = private_at(ty.span());
            let stored = crate::stored::bound_type(f);
            quote_spanned! {ty.span()=> #stored: #private::ColumnOf<__DB> }
        });
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
                quote_spanned!(parent.span()=> #parent: #spanned_private::InsertParent<__DB>)
            })
        });
        let create_parents = self.parent_steps(false);
        let after_insert = self.parent_steps(true);
        let (check_returned, check_bound) = crate::keys::check_returned(self.input);
        let set_parent_key = self.set_parent_key_fn();
        quote! {
            #[automatically_derived]
            impl<__DB: #private::Backend> #private::Insert<__DB> for #model
            where
                #(#encode_bounds,)*
                #(#parent_bounds,)*
                #check_bound
                #model: for<'r> #private::sqlx::FromRow<'r, <__DB as #private::sqlx::Database>::Row>,
            {
                #check_returned

                fn bind<__A: #private::ArgSink<__DB>>(
                    self,
                    __set: #private::ColumnSet,
                    __args: &mut __A,
                ) -> #private::core::result::Result<Self::Transient, #private::sqlx::error::BoxDynError> {
                    let #model { #(#column_idents: #column_vars,)* #(#transient_idents: #transient_vars,)* .. } = self;
                    #(#binds)*
                    #private::core::result::Result::Ok((#(#transient_vars,)*))
                }

                fn bind_lookup_key(
                    __key: Self::LookupKey,
                    __args: &mut <__DB as #private::sqlx::Database>::Arguments,
                ) -> #private::core::result::Result<(), #private::sqlx::error::BoxDynError> {
                    let (#(#key_vars,)*) = __key;
                    #[allow(unused_variables)]
                    let __args = &mut #private::Args::<__DB>(__args);
                    #(#key_binds)*
                    #private::core::result::Result::Ok(())
                }

                #[allow(unused_variables)]
                fn after_insert<'a>(
                    parents: &mut Self::Parents,
                    rows: &'a mut [Self],
                    conn: &'a mut <__DB as #private::sqlx::Database>::Connection,
                    operation: #private::Operation,
                    seed: #private::core::option::Option<u64>,
                ) -> #private::core::option::Option<#private::BoxFuture<'a, #private::core::result::Result<(), #private::Error>>> {
                    #after_insert
                }

                #set_parent_key

                #[allow(unused_variables)]
                fn create_parents<'a>(
                    parents: &mut Self::Parents,
                    rows: &'a mut [Self],
                    conn: &'a mut <__DB as #private::sqlx::Database>::Connection,
                    operation: #private::Operation,
                    seed: #private::core::option::Option<u64>,
                ) -> #private::core::option::Option<#private::BoxFuture<'a, #private::core::result::Result<(), #private::Error>>> {
                    #create_parents
                }
            }
        }
    }
}

/// `::sqlx_factory::__private` spanned at the user's tokens: an obligation of a generated path
/// is reported at its path's span, so the path must carry the user's span too.
fn private_at(span: proc_macro2::Span) -> TokenStream {
    quote_spanned!(span=> ::sqlx_factory::__private)
}

/// `Arc<dyn RowSource<Parent>>`, spanned at the parent's path: shared by the factory's clones.
fn row_source(f: &Field<'_>) -> TokenStream {
    let parent = f.association();
    let span = parent.span();
    let private = private_at(span);
    quote_spanned!(span=> #private::Arc<dyn #private::RowSource<#parent>>)
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

/// A setter's parameter type and the expression that turns `value` into the field's type.
/// Number fields take their own type (`Option<N>` fields: `N` or `Option<N>`), so an integer
/// literal is inferred as the field's type instead of falling back to `i32`, which
/// `impl Into<i16>` would refuse; every other type takes anything `Into` it.
fn setter_param(private: &TokenStream, ty: &syn::Type) -> (TokenStream, TokenStream) {
    if is_number(ty) {
        return (quote!(#ty), quote!(value));
    }
    if let Some(inner) = option_inner(ty).filter(|inner| is_number(inner)) {
        return (
            quote!(impl #private::OptionalNumber<#inner>),
            quote!(#private::OptionalNumber::into_option(value)),
        );
    }
    (
        quote!(impl #private::SetterValue<#ty>),
        quote!(#private::SetterValue::into_value(value)),
    )
}

/// A primitive number type written as such (`i16`, `u64`, `f32`; not an alias of one).
fn is_number(ty: &syn::Type) -> bool {
    const NUMBERS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
        "f32", "f64",
    ];
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => path
            .path
            .get_ident()
            .is_some_and(|ident| NUMBERS.contains(&ident.to_string().as_str())),
        _ => false,
    }
}
