//! What tests/transactions.rs and tests/cancellation.rs share: the models whose rows they
//! count, the schema of their tables, and the bounded wait.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::time::Duration;

use sqlx_factory::Factory;
use tokio::time::timeout;

use crate::common::Kind;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "entries")]
pub struct Entry {
    #[factory(primary_key)]
    pub id: i64,
    // `Option` so that a test can make one row of a batch break the table's NOT NULL.
    #[factory(sequence = |n| Some(format!("entry-{n}")))]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "blobs")]
pub struct Blob {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(default = "x".repeat(100_000))]
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "authors")]
pub struct Author {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "books")]
pub struct Book {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(association = Author)]
    pub author_id: i64,
    #[factory(sequence = |n| format!("book-{n}"))]
    pub title: String,
}

/// Every await of a test body is bounded: a hang fails the test instead of blocking CI.
pub const LIMIT: Duration = Duration::from_secs(60);

pub async fn bounded<F: std::future::IntoFuture>(f: F) -> F::Output {
    timeout(LIMIT, f.into_future())
        .await
        .expect("bounded wait: the operation hung")
}

/// The tables of the models above: `entries`, `authors`, `books` (a CHECK refuses the title
/// 'bad'), `blobs`.
pub fn schema_sql(kind: Kind) -> String {
    let pk = kind.serial_pk();
    let text = kind.varchar();
    // MariaDB's TEXT holds 64 kB: the 100 kB rows of case 11 need LONGTEXT.
    let long = if kind == Kind::MariaDb {
        "LONGTEXT"
    } else {
        "TEXT"
    };
    format!(
        "CREATE TABLE entries (id {pk}, name {text} NOT NULL); \
         CREATE TABLE authors (id {pk}, name TEXT NOT NULL); \
         CREATE TABLE books (id {pk}, author_id BIGINT NOT NULL REFERENCES authors (id), \
             title TEXT NOT NULL CHECK (title <> 'bad')); \
         CREATE TABLE blobs (id {pk}, body {long} NOT NULL)"
    )
}
