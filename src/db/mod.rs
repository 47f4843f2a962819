//! The database layer: the [`Backend`] trait, which holds every difference between the
//! databases the rest of the crate needs, and one module per database implementing it, with
//! that database's quoting, limits and the writers its rows go in with (multi-row INSERTs in
//! `insert`, PostgreSQL's `COPY` in `postgres`), and what the schema check reads of a live
//! table (`catalogue`, each database's queries in its own `catalogue.rs`).

mod backend;
mod catalogue;
pub(crate) mod insert;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use backend::{
    ArgSink, Args, Backend, Chunk, ColumnOf, KeySink, KeyStore, KeyType, KeyedFeed,
    SMALL_BATCH_BYTES, SeedFeed, bind_column, bound, row_too_large,
};
pub use catalogue::{Bound, CheckBackend, ColumnFacts, Constraint, Measure};
