//! What tests/transactions.rs and tests/cancellation.rs share: the models whose rows they
//! count, the schema of their tables, and the bounded wait.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::time::Duration;

use sqlx_factory::Factory;
use tokio::time::timeout;

use crate::common::Kind;

/// One test of a backend for [`on_dbs!`]: `$mk(n)` makes a fresh pool of `n` connections to
/// the test's own database (each iteration of a sweep gets its own), `$observer` is a second
/// pool, and the calling file's `schema_sql` is run first.
macro_rules! db_test {
    (sqlite, $name:ident, $mk:ident, $observer:ident, $kind:ident, $body:block) => {
        #[tokio::test]
        async fn sqlite() {
            let path = std::env::temp_dir().join(format!(
                "sqlx_factory_pool_{}_{}.db",
                stringify!($name),
                std::process::id()
            ));
            let _ = std::fs::remove_file(&path);
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let $mk = |n| {
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(n)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone())
            };
            let $observer = $mk(1).await.expect("SQLite observer");
            let $kind = Kind::Sqlite;
            sqlx::raw_sql(sqlx::AssertSqlSafe(schema_sql($kind))).execute(&$observer).await.unwrap();
            $body
            $observer.close().await;
            let _ = std::fs::remove_file(&path);
        }
    };
    (postgres, $name:ident, $mk:ident, $observer:ident, $kind:ident, $body:block) => {
        #[cfg(feature = "postgres")]
        #[tokio::test]
        async fn postgres() {
            let test = concat!("p_", stringify!($name));
            let conn = common::postgres(test).await;
            drop(conn);
            let url = std::env::var("DATABASE_URL_PG").unwrap();
            let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
            let schema = format!("sqlx_factory_{test}");
            let options = options.options([("search_path", schema.as_str())]);
            let $mk = |n| {
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(n)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone())
            };
            let $observer = $mk(1).await.expect("PostgreSQL observer");
            let $kind = Kind::Postgres;
            sqlx::raw_sql(sqlx::AssertSqlSafe(schema_sql($kind))).execute(&$observer).await.unwrap();
            $body
        }
    };
    (mariadb, $name:ident, $mk:ident, $observer:ident, $kind:ident, $body:block) => {
        #[cfg(feature = "mysql")]
        #[tokio::test]
        async fn mariadb() {
            let test = concat!("p_", stringify!($name));
            let conn = common::mariadb(test).await;
            drop(conn);
            let url = std::env::var("DATABASE_URL_MARIADB").unwrap();
            let options: sqlx::mysql::MySqlConnectOptions = url.parse().unwrap();
            let options = options.database(&common::mariadb_database(&url, test));
            let $mk = |n| {
                sqlx::mysql::MySqlPoolOptions::new()
                    .max_connections(n)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone())
            };
            let $observer = $mk(1).await.expect("MariaDB observer");
            let $kind = Kind::MariaDb;
            sqlx::raw_sql(sqlx::AssertSqlSafe(schema_sql($kind))).execute(&$observer).await.unwrap();
            $body
        }
    };
}

/// Runs `$body` as a test `$name::<backend>` for each backend listed. (tests/cancellation.rs's
/// sweeps leave MariaDB out: sqlx's MariaDB connection is not cancel-safe in the middle of a
/// statement, so a sweep that cancels at every point cannot pass there; the documented idiom
/// for it, closing the connection, is tested in tests/transactions.rs.)
macro_rules! on_dbs {
    ([$($db:ident),+] $(#[$meta:meta])* async fn $name:ident($mk:ident, $observer:ident, $kind:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(db_test!($db, $name, $mk, $observer, $kind, $body);)+
        }
    };
}

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

/// A get-or-create model with a parent; its table (`slugged`, `slug` UNIQUE) is created by
/// the tests that use it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "slugged", get_or_create(slug))]
pub struct Slugged {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(association = Author)]
    pub author_id: i64,
    #[factory(default = "hello".to_string())]
    pub slug: String,
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

/// An operation under test, boxed so the sweeps can drop it at any poll.
pub type Op<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Polls `fut` up to `k` times, sleeping 3 ms between polls (so the statement it sent
/// completes on the server); true if it finished.
pub async fn drive<F: std::future::Future + Unpin>(fut: &mut F, k: usize) -> bool {
    for i in 0..k {
        let ready = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx).is_ready())
        })
        .await;
        if ready {
            return true;
        }
        if i + 1 < k {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }
    false
}
