//! Code about keys that the INSERT path checks: a key the database was left to fill must come
//! back, or the child would store a key that was never read.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Input, Value};

/// `Insert::check_returned` and the bound it needs (reading a column by position), for models
/// with a `primary_key` field that has no value of its own and cannot hold NULL (a key that is
/// its parent's too is always sent); nothing for the others.
///
/// The database fills such a key (`INTEGER PRIMARY KEY`, `DEFAULT gen_random_uuid()`), or it
/// is the application's to give; in the second case SQLite stores NULL without complaint and
/// the field decodes as `""` or `0`, so the row read back is checked for NULL.
pub fn check_returned(input: &Input<'_>) -> (TokenStream, TokenStream) {
    let private = quote::format_ident!("__sf");
    let checks: Vec<TokenStream> = input
        .fields
        .iter()
        .filter(|f| {
            f.is_column()
                && f.attrs.primary_key.is_some()
                && f.association().is_none()
                && !f.is_option()
                && matches!(f.value(), Value::Dummy)
        })
        .map(|f| {
            let column = &f.from_row_name;
            let name = f.name();
            // RETURNING and the lookup SELECT list every column in field order: read the key by
            // position, which costs no name lookup per row.
            let index = crate::flatten::position(input, f);
            quote!(#private::null_key(__row, #index, #column, #name)?;)
        })
        .collect();
    if checks.is_empty() {
        return (TokenStream::new(), TokenStream::new());
    }
    let method = quote! {
        fn check_returned(
            __row: &<__DB as #private::sqlx::Database>::Row,
        ) -> #private::Result<(), #private::sqlx::Error> {
            #(#checks)*
            #private::Ok(())
        }
    };
    let bound = quote! {
        usize: #private::sqlx::ColumnIndex<<__DB as #private::sqlx::Database>::Row>,
    };
    (method, bound)
}
