//! Code generation: the factory struct, its typestate methods and the model's insert impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::ast::{Field, Input, Value};
use crate::ctxt::Ctxt;
use crate::valid;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let model = Input::from_syn(&mut cx, input);
    if let Some(model) = &model {
        valid::check(&mut cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand(&model),
        (Err(errors), _) => fallback(input, errors),
        // `from_syn` returns `None` only after reporting an error.
        (Ok(()), None) => TokenStream::new(),
    }
}

/// The errors, plus a stub factory so that the user's other uses of it (a trait `impl`,
/// `Model::factory()`) do not add errors of their own.
fn fallback(input: &DeriveInput, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let ident = &input.ident;
    let vis = &input.vis;
    let factory = format_ident!("{}Factory", ident);
    let private = quote!(::sqlx_factory::__private);
    quote! {
        #errors
        #vis struct #factory<S = #private::NoSession>(#private::core::marker::PhantomData<S>);
    }
}

fn expand(input: &Input<'_>) -> TokenStream {
    let private = quote!(::sqlx_factory::__private);
    let model = input.ident;
    let vis = input.vis;
    let factory = format_ident!("{}Factory", model);
    let factory_name = factory.to_string();
    let table = input.table.as_ref().map(|t| t.value()).unwrap_or_default();

    let columns: Vec<&Field<'_>> = input.fields.iter().filter(|f| !f.is_skipped()).collect();
    let settable: Vec<&Field<'_>> = columns.clone();

    let override_fields = settable.iter().map(|f| {
        let ident = f.ident;
        let ty = f.ty;
        quote!(#ident: #private::core::option::Option<#ty>)
    });
    let override_idents: Vec<_> = settable.iter().map(|f| f.ident).collect();

    let setters = settable.iter().map(|f| {
        let ident = f.ident;
        let ty = f.ty;
        let doc = format!(
            "Sets `{ident}` (column `{}`) for every object this factory makes.",
            f.column
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #ident(mut self, value: impl #private::core::convert::Into<#ty>) -> Self {
                self.#ident = #private::core::option::Option::Some(value.into());
                self
            }
        }
    });

    let uses_sequence = input
        .fields
        .iter()
        .any(|f| matches!(f.value(), Value::Sequence(_)));
    let sequence = if uses_sequence {
        quote! {
            static SEQUENCE: #private::Sequence = #private::Sequence::new();
            let n = SEQUENCE.next();
        }
    } else {
        TokenStream::new()
    };

    let field_values = input.fields.iter().map(|f| {
        let ident = f.ident;
        let fallback = fallback_value(f);
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

    // Bit `k` of the column set: the `k`-th database-filled column, sent when given a value.
    let db_filled: Vec<&Field<'_>> = columns
        .iter()
        .copied()
        .filter(|f| f.is_db_filled())
        .collect();
    let column_set = db_filled.iter().enumerate().map(|(k, f)| {
        let ident = f.ident;
        let has_value_attr = !matches!(f.value(), Value::Dummy);
        quote!(.with(#k, #has_value_attr || self.#ident.is_some()))
    });

    let column_consts = columns.iter().map(|f| {
        let name = &f.column;
        let from_row_name = &f.from_row_name;
        let db_filled = f.is_db_filled();
        quote!(#private::Column { name: #name, from_row_name: #from_row_name, db_filled: #db_filled })
    });

    let column_idents: Vec<_> = columns.iter().map(|f| f.ident).collect();
    let binds = {
        let mut k = 0usize;
        columns
            .iter()
            .map(|f| {
                let ident = f.ident;
                let add = quote!(#private::sqlx::Arguments::add(args, #ident)?;);
                if f.is_db_filled() {
                    let bit = k;
                    k += 1;
                    quote!(if set.contains(#bit) { #add })
                } else {
                    add
                }
            })
            .collect::<Vec<_>>()
    };
    let encode_bounds = columns.iter().map(|f| {
        let ty = f.ty;
        quote_spanned! {ty.span()=>
            for<'q> #ty: #private::sqlx::Encode<'q, DB> + #private::sqlx::Type<DB>
        }
    });

    let factory_doc = format!(
        "Factory for [`{model}`] rows in table `{table}`, made by `#[derive(Factory)]`.\n\n\
         `{model}::factory()` starts one. Setters named after the fields override values; \
         `build()` makes objects in memory, and after `.with_session(&mut tx)`, `create()` and \
         `create_batch(n)` insert rows."
    );

    quote! {
        #[doc = #factory_doc]
        #[must_use]
        #vis struct #factory<S = #private::NoSession> {
            __factory: #private::FactoryState<S>,
            #(#override_fields,)*
        }

        #[automatically_derived]
        impl #model {
            /// A factory for this model, unbound: it can `build`; bind a session to `create`.
            #vis fn factory() -> #factory {
                #factory::new()
            }
        }

        #[automatically_derived]
        impl #factory {
            /// An unbound factory, with no value overridden.
            pub fn new() -> Self {
                #factory {
                    __factory: #private::FactoryState::new(),
                    #(#override_idents: #private::core::option::Option::None,)*
                }
            }
        }

        #[automatically_derived]
        impl #private::core::default::Default for #factory {
            fn default() -> Self {
                Self::new()
            }
        }

        #[automatically_derived]
        impl<S> #factory<S> {
            #(#setters)*

            /// Makes one object in memory; no database is touched.
            pub fn build(self) -> #model {
                self.__factory_object(&mut #private::rng())
            }

            /// Makes `n` objects in memory; no database is touched.
            pub fn build_batch(self, n: usize) -> #private::Vec<#model> {
                let mut rng = #private::rng();
                (0..n).map(|_| self.__factory_object(&mut rng)).collect()
            }

            /// Binds a database session: a `&mut` transaction, pooled connection or connection.
            /// The factory never commits or rolls back on it.
            pub fn with_session<'c, C>(self, session: &'c mut C) -> #factory<#private::Bound<'c, C::Database>>
            where
                S: #private::Unbound,
                C: #private::IntoSession + ?Sized,
            {
                #factory {
                    __factory: self.__factory.bind(session),
                    #(#override_idents: self.#override_idents,)*
                }
            }

            /// Inserts one row with `INSERT ... RETURNING` and returns it as the database stored it.
            pub fn create(self) -> #private::Create<S, #model>
            where
                S: #private::Session<#model>,
            {
                let set = self.__factory_columns();
                let row = self.__factory_object(&mut #private::rng());
                #private::Create::new(self.__factory.session, row, set)
            }

            /// Inserts `n` rows with multi-row `INSERT ... RETURNING` statements, in order.
            pub fn create_batch(self, n: usize) -> #private::CreateBatch<S, #model>
            where
                S: #private::Session<#model>,
            {
                let set = self.__factory_columns();
                let mut rng = #private::rng();
                let rows = (0..n).map(|_| self.__factory_object(&mut rng)).collect();
                #private::CreateBatch::new(self.__factory.session, rows, set)
            }

            fn __factory_object<R: #private::fake::RngExt + ?Sized>(&self, rng: &mut R) -> #model {
                #sequence
                #model {
                    #(#field_values,)*
                }
            }

            fn __factory_columns(&self) -> #private::ColumnSet {
                #private::ColumnSet::default() #(#column_set)*
            }
        }

        #[automatically_derived]
        impl #private::Model for #model {
            const FACTORY: &'static str = #factory_name;
            const TABLE: &'static str = #table;
            const COLUMNS: &'static [#private::Column] = &[#(#column_consts),*];

            fn sql_cache() -> &'static #private::SqlCache {
                static CACHE: #private::SqlCache = #private::SqlCache::new();
                &CACHE
            }
        }

        #[automatically_derived]
        impl<DB: #private::Backend> #private::Insert<DB> for #model
        where
            #(#encode_bounds,)*
            #model: for<'r> #private::sqlx::FromRow<'r, <DB as #private::sqlx::Database>::Row>,
        {
            fn bind(
                self,
                set: #private::ColumnSet,
                args: &mut <DB as #private::sqlx::Database>::Arguments,
            ) -> #private::core::result::Result<(), #private::sqlx::error::BoxDynError> {
                let #model { #(#column_idents,)* .. } = self;
                #(#binds)*
                #private::core::result::Result::Ok(())
            }
        }
    }
}

/// The value of a field the factory was not given, spanned at the user's tokens so a type
/// error lands on them.
fn fallback_value(f: &Field<'_>) -> TokenStream {
    let private = quote!(::sqlx_factory::__private);
    let ty = f.ty;
    match f.value() {
        Value::Skip => quote!(#private::core::default::Default::default()),
        Value::Default(expr) => quote_spanned! {expr.span()=>
            { let value: #ty = #expr; value }
        },
        Value::Fake(expr) => quote_spanned! {expr.span()=>
            #private::fake::<#ty, _, _>(&(#expr), rng)
        },
        Value::Sequence(expr) => quote_spanned! {expr.span()=>
            #private::sequence::<#ty, _>(#expr, n)
        },
        Value::Dummy => quote_spanned! {ty.span()=>
            <#ty as #private::FakeValue>::fake_value(rng)
        },
    }
}
