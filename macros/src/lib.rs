//! Implementation detail of `sqlx-factory`: the `#[derive(Factory)]` macro.
//!
//! Three stages, as in thiserror: `attr` parses `#[factory(..)]` into an `ast` model,
//! `valid` checks it, `expand` writes the code (`check` the schema check's field list).
//! Errors are collected, so one compile shows every mistake in a struct, each under the tokens
//! it is about.

mod ast;
mod attr;
mod check;
mod creatable;
mod ctxt;
mod cycle;
mod expand;
mod flatten;
mod keys;
mod refs;
mod stored;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// See the `sqlx-factory` crate.
// `sqlx` is a helper here too: a model with a hand-written `impl FromRow` (no sqlx derive to
// declare it) still marks its non-columns `#[sqlx(skip)]`, which this derive reads.
#[proc_macro_derive(Factory, attributes(factory, sqlx))]
pub fn derive_factory(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
