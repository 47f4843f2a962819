//! The insert path every creating operation shares: a model's rows in, their parents created
//! first (`parents`), the rows inserted or got or created (`get_or_create`) in statements cut
//! to the server's limits (`send`), then the parents that point back at them (`back`).

mod back;
mod get_or_create;
mod parents;
mod rows;
mod send;

pub use back::{Back, BackKey, BackSet, Deferred, DeferredFn, deferred_fn};
pub use parents::InsertParent;
pub use rows::keyed_insert;
pub(crate) use rows::{in_span, insert_or_get, insert_rows};
pub use send::ParentKey;
pub(crate) use send::{Created, Numbering, batch_bytes, rows_per_statement, send_chunks};
