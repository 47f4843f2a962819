//! The insert path every creating operation shares: a model's rows in, their parents created
//! first (`parents`), the rows inserted or got or created (`get_or_create`) in statements cut
//! to the server's limits (`send`), then the parents that point back at them (`back`). The
//! rows go through it as a trait object (`insertion`), so that it is compiled once per backend.

mod back;
mod get_or_create;
mod insertion;
mod lookup;
mod parents;
mod race;
mod rows;
mod send;

pub use back::{Back, BackKey, BackSet, Deferred, DeferredFn, deferred_fn};
pub(crate) use insertion::{InsertRows, Insertion};
pub use parents::InsertParent;
pub use rows::keyed_insert;
pub(crate) use rows::{in_span, insert_or_get, insert_rows};
pub use send::ParentKey;
pub(crate) use send::{
    Created, Numbering, no_row_returned, rows_per_statement, send_chunks, unsent_bytes,
};
