//! SQLite: quoting, limits and how rows go in (multi-row INSERTs).

mod catalogue;

use std::sync::Arc;

use sqlx::{AssertSqlSafe, Executor};

use super::backend::{Backend, Sealed, fetch_methods, push_quoted};
use super::insert::insert_seed_methods;
use crate::future::BoxFuture;

impl Sealed for sqlx::Sqlite {}

/// SQLite ≥ 3.32 (sqlx bundles a newer one) allows 32 766 parameters.
impl Backend for sqlx::Sqlite {
    const MAX_BIND_PARAMS: usize = 32_766;
    const MAX_ROWS_PER_INSERT: usize = 500;
    const SEED_ROWS_PER_INSERT: usize = 2_000;
    const EMPTY_ROW_VALUES: &'static str = "DEFAULT VALUES";
    const BEGIN: Option<&'static str> = Some("BEGIN IMMEDIATE");

    fn push_ident(sql: &mut String, ident: &str) {
        push_quoted(sql, ident, '"');
    }

    fn push_placeholder(sql: &mut String, _index: usize) {
        sql.push('?');
    }

    fetch_methods!();
    insert_seed_methods!();
}
