//! The setters of the generated factory: one per settable field, typed so that a literal
//! fits a number field and a wrong type is one short error.

use super::*;

impl<'a> Expander<'a> {
    pub(super) fn setter(&self, f: &Field<'_>) -> TokenStream {
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
                quote!(self.__o.#parent = #private::None;)
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
            let overrides = self.overrides_ident();
            let session = &self.input.session;
            quote! {
                #[doc = #doc]
                pub fn #ident(self, value: #param) -> #factory<#session #(, #params)*> {
                    #factory {
                        __factory: self.__factory,
                        __o: #overrides {
                            #ident: #private::Some(#convert),
                            ..self.__o
                        },
                        __required: #private::PhantomData,
                    }
                }
            }
        } else {
            quote! {
                #[doc = #doc]
                pub fn #ident(mut self, value: #param) -> Self {
                    self.__o.#ident = #private::Some(#convert);
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
            // Spanned so, clippy takes it for the user's code: a field `from_email` or
            // `to_email` must not make `from_email_with(self, ..)` a naming warning of theirs.
            quote_spanned! {span=>
                #[doc = #doc]
                #[allow(clippy::wrong_self_convention)]
                pub fn #with<__Customize, __F>(mut self, customize: __Customize) -> Self
                where
                    __Customize: #private::core::ops::FnOnce(<#parent as #private::Association>::Factory) -> __F,
                    __F: #private::RowSource<#parent> + 'static,
                {
                    let factory = <<#parent as #private::Association>::Factory as #private::Default>::default();
                    self.__o.#parent_field = #private::Some(#private::Source::new(customize(factory)));
                    #(self.__o.#members = #private::None;)*
                    self
                }
            }
        });
        let group_with = f.is_group_drawn().then(|| {
            let with = format_ident!("{}_with", ident);
            let slot = crate::flatten::slot(f);
            // The group's factory as a parameter of a bound that names it, which is checked
            // where `_with` is called: in the signature, a type that is no group would be one
            // more error at the derive.
            let span = ty.span();
            let at = private_at(span);
            let group_factory = quote_spanned!(span=> #at::GroupFactory<__G>);
            let doc = format!(
                "Draws `{ident}` (the columns of `{}`) from its factory as `customize` changes \
                 it, e.g. `|t| t.<column>(..)`; calls add up. Drops a value set with `.{ident}(..)`.",
                quote!(#ty)
            );
            quote! {
                #[doc = #doc]
                pub fn #with<__G>(mut self, customize: impl #private::core::ops::FnOnce(__G) -> __G) -> Self
                where
                    #ty: #group_factory,
                {
                    <#ty as #group_factory>::customize(&mut self.__o.#slot, customize);
                    self.__o.#ident = #private::None;
                    self
                }
            }
        });
        quote!(#main #with #group_with)
    }
}

/// A setter's parameter type and the expression that turns `value` into the field's type.
/// Number fields take their own type (`Option<N>` fields: `N` or `Option<N>`), so an integer
/// literal is inferred as the field's type instead of falling back to `i32`, which
/// `impl Into<i16>` would refuse; every other type takes anything `Into` it.
pub(super) fn setter_param(
    private: &impl quote::ToTokens,
    ty: &syn::Type,
) -> (TokenStream, TokenStream) {
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
pub(super) fn is_number(ty: &syn::Type) -> bool {
    const NUMBERS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
        "f32", "f64",
    ];
    match crate::ast::peel(ty) {
        syn::Type::Path(path) if path.qself.is_none() => path
            .path
            .get_ident()
            .is_some_and(|ident| NUMBERS.contains(&ident.to_string().as_str())),
        _ => false,
    }
}
