//! A `#[factory(flatten)]` struct (a group of columns): its factory (setters, `after_build`,
//! `build`, no session: it has no table), and the `Flatten` impls through which the models
//! that include it draw, bind, measure and check its columns. The pieces are the model's own
//! (`object_fn`, `setter`, `bind_statements`, the check's lists), so a group reads its
//! attributes exactly as a model does.

use super::*;

impl<'a> Expander<'a> {
    pub(super) fn expand_group(&self) -> TokenStream {
        let Expander {
            input,
            private,
            factory,
            ..
        } = self;
        let model = input.ident;
        let vis = input.vis;
        let overrides = self.overrides_ident();
        let override_fields = self.override_decls();
        let override_idents: Vec<&Ident> = self.settable().map(|f| f.ident).collect();
        let (group_slots, group_decls) = self.group_slots();
        let setters = self.settable().map(|f| self.setter(f));
        let (debug_bounds, debug_values) = self.debug_parts();
        let factory_name = factory.to_string();

        let object = self.object_fn();
        let fields_module = crate::refs::fields_module_def(input);
        let columns = self.column_list();
        let byte_size = self.byte_sizes();
        let column_set = self.column_set(quote!(__factory.__o));
        let own_db_filled = self.columns().filter(|f| f.is_db_filled()).count();
        let mut db_filled: Vec<TokenStream> = self
            .columns()
            .filter(|f| f.is_flatten())
            .map(|f| crate::flatten::group(f, "DB_FILLED"))
            .collect();
        if own_db_filled > 0 {
            db_filled.insert(0, quote!(#own_db_filled));
        }
        let db_filled = crate::flatten::sum(db_filled);
        let facts = crate::check::facts_list(input);
        let field = crate::check::field_body(input);
        let check_columns = crate::check::columns_body(input);
        let check_bounds = crate::check::column_bounds(input);

        let column_idents: Vec<&Ident> = self.columns().map(|f| f.ident).collect();
        let column_vars: Vec<Ident> = (0..column_idents.len())
            .map(|i| format_ident!("__column{}", i))
            .collect();
        let binds = self.bind_statements(&column_vars, Some(quote!(__offset)));
        let wire_size = self.wire_sizes();
        let encode_bounds = self.encode_bounds();
        // What a model's `create()` reads back, each column decoded (a group's by its own impl).
        let decode_bounds = self.columns().filter(|f| !f.is_flatten()).map(|f| {
            let stored = crate::stored::bound_type(f);
            quote!(#stored: for<'__r> #private::sqlx::Decode<'__r, __DB>)
        });

        let factory_doc = format!(
            "Factory for [`{model}`], the columns of the models that include it with \
             `#[sqlx(flatten)]`, made by `#[derive(Factory)]`.\n\n`{model}::factory()` starts \
             one; setters override values and `build()` makes objects in memory. A model's \
             `<field>_with(|f| ..)` customises the one that draws its field."
        );

        quote! {
            #[doc = #factory_doc]
            #[must_use]
            // Named after the model: a model name the user allowed (`Order_v2`) is allowed here too.
            #[allow(non_camel_case_types)]
            #vis struct #factory {
                __factory: #private::FactoryState<#private::NoSession>,
                __o: #overrides,
            }

            #[allow(non_camel_case_types)]
            struct #overrides {
                #(#override_fields,)*
                #(#group_decls,)*
            }

            #fields_module

            use ::sqlx_factory::__private as #private;

            #object

            #[automatically_derived]
            impl #model {
                /// A factory for these columns: it can `build`, and a model that includes them
                /// draws them from it.
                #vis fn factory() -> #factory {
                    #factory::new()
                }
            }

            #[automatically_derived]
            impl #factory {
                /// A factory with no value overridden.
                pub fn new() -> Self {
                    #factory {
                        __factory: #private::FactoryState::new(),
                        __o: #overrides {
                            #(#override_idents: #private::None,)*
                            #(#group_slots: #private::None,)*
                        },
                    }
                }

                #(#setters)*

                /// Runs `hook` on every object right after its values are drawn, alone or in a
                /// row of a model that includes it.
                pub fn after_build(mut self, hook: impl #private::core::ops::Fn(&mut #model) + #private::core::marker::Send + #private::core::marker::Sync + 'static) -> Self {
                    self.__factory.push_after_build(hook);
                    self
                }

                /// Makes one object in memory.
                pub fn build(self) -> #model {
                    let mut __draw = #private::draw(#private::None);
                    #private::DrawObject::object(&self.__o, &mut __draw, self.__factory.after_build_hooks())
                }

                /// Makes `n` objects in memory.
                pub fn build_batch(self, n: usize) -> #private::Vec<#model> {
                    let mut __draw = #private::draw(#private::None);
                    #private::objects(&self.__o, n, &mut __draw, self.__factory.after_build_hooks())
                }
            }

            const _: () = {
            // The autoref probes of the schema check's `measure` (`check.rs`).
            #[allow(unused_imports)]
            use #private::{MeasureKnown as _, MeasureOther as _};
            use ::sqlx_factory::__private as __sf;

            #[automatically_derived]
            impl #private::Default for #factory {
                fn default() -> Self {
                    Self::new()
                }
            }

            #[automatically_derived]
            impl #private::Clone for #factory {
                fn clone(&self) -> Self {
                    #factory {
                        __factory: self.__factory.clone_unbound::<#model>(),
                        __o: #overrides {
                            #(#override_idents: #private::Clone::clone(&self.__o.#override_idents),)*
                            #(#group_slots: #private::Clone::clone(&self.__o.#group_slots),)*
                        },
                    }
                }
            }

            #[automatically_derived]
            impl #private::core::fmt::Debug for #factory
            where
                #(#debug_bounds,)*
            {
                fn fmt(&self, f: &mut #private::core::fmt::Formatter<'_>) -> #private::core::fmt::Result {
                    let mut debug = f.debug_struct(#factory_name);
                    #(#debug_values)*
                    debug.finish()
                }
            }

            #[automatically_derived]
            impl #private::Flatten for #model {
                const COLUMNS: &'static [#private::Column] = #columns;
                const DB_FILLED: usize = #db_filled;
                const FIELDS: &'static [#private::FieldFacts] = #facts;

                type Factory = #factory;

                fn draw(__factory: &#factory, __draw: &mut #private::Draw, __stub: u64) -> Self {
                    __factory.__o.__object(__draw, __factory.__factory.after_build_hooks(), __stub)
                }

                fn column_set(__factory: &#factory) -> #private::ColumnSet {
                    #column_set
                }

                #[inline]
                fn byte_size(&self) -> usize {
                    #byte_size
                }

                #[inline]
                fn field(&self, __field: usize) -> (#private::Measure, &dyn #private::core::any::Any) {
                    #field
                }
            }

            #[automatically_derived]
            impl<__DB: #private::Backend> #private::FlattenInsert<__DB> for #model
            where
                #(#encode_bounds,)*
                #(#decode_bounds,)*
            {
                fn bind<__A: #private::ArgSink<__DB>>(
                    self,
                    __set: #private::ColumnSet,
                    __offset: usize,
                    __args: &mut __A,
                ) -> #private::Result<(), #private::sqlx::error::BoxDynError> {
                    let #model { #(#column_idents: #column_vars,)* .. } = self;
                    let mut __failed = #private::None;
                    #(#binds)*
                    #private::bound(__failed, ())
                }

                fn wire_size(&self) -> usize {
                    if !<__DB as #private::Backend>::MEASURES_VALUES {
                        return #private::Flatten::byte_size(self);
                    }
                    #wire_size
                }
            }

            #[automatically_derived]
            impl<__DB: #private::CheckBackend> #private::FlattenCheck<__DB> for #model
            where
                #(#check_bounds,)*
            {
                fn columns() -> #private::Vec<#private::ColumnFns<__DB>> {
                    #check_columns
                }
            }
            };
        }
    }
}
