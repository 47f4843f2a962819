//! Connections for the integration tests: SQLite in memory always; PostgreSQL and MariaDB with
//! their feature, each test in a schema (database) of its own so tests run in parallel.
//!
//! A server test exists only with its backend's feature, and without its URL it fails: a test
//! that did not run is never reported as passed.
#![allow(dead_code)] // each test binary uses a different part of this module

#[cfg(any(feature = "postgres", feature = "mysql"))]
use std::env;

use sqlx::Connection;

/// The backend a test body runs on, for the DDL that differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MariaDb,
}

impl Kind {
    /// An auto-incrementing 64-bit primary key column type.
    pub fn serial_pk(self) -> &'static str {
        match self {
            Kind::Sqlite => "INTEGER PRIMARY KEY",
            Kind::Postgres => "BIGSERIAL PRIMARY KEY",
            Kind::MariaDb => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        }
    }

    /// A column type for text that can be UNIQUE (MariaDB cannot index plain TEXT).
    pub fn varchar(self) -> &'static str {
        match self {
            Kind::MariaDb => "VARCHAR(255)",
            _ => "TEXT",
        }
    }

    /// A text column filled by the database with the current time.
    pub fn created_at(self) -> &'static str {
        match self {
            Kind::Sqlite => "TEXT NOT NULL DEFAULT (datetime('now'))",
            Kind::Postgres => "TEXT NOT NULL DEFAULT (now()::text)",
            Kind::MariaDb => "VARCHAR(40) NOT NULL DEFAULT (CAST(NOW() AS CHAR))",
        }
    }
}

/// The URL of a server backend's test database; a test that cannot run fails, naming the variable.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn url(test: &str, backend: &str, var: &str) -> String {
    match env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{test} runs on {backend} (the feature is on) but {var} is not set: give it the URL \
             of a database the tests may create schemas in, or leave the feature off"
        ),
    }
}

pub async fn sqlite() -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .expect("open SQLite in memory")
}

/// A connection whose `search_path` is a fresh schema named after the test.
#[cfg(feature = "postgres")]
pub async fn postgres(test: &str) -> sqlx::PgConnection {
    let url = url(test, "PostgreSQL", "DATABASE_URL_PG");
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to DATABASE_URL_PG={url}: {e}"));
    let schema = format!("sqlx_factory_{test}");
    // A lock left by an earlier, killed run fails the setup after 10 s instead of hanging it.
    let setup = format!(
        "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; \
         SET search_path TO {schema}; SET lock_timeout = 0"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
        .execute(&mut conn)
        .await
        .expect("create the test's schema");
    conn
}

/// The database a MariaDB test works in: named after the URL's database and the test
/// (`test__sf_<test>` for `.../test`), so two checkouts whose URLs name different
/// databases never drop each other's; setup drops only this name, left by an earlier run.
#[cfg(feature = "mysql")]
pub fn mariadb_database(url: &str, test: &str) -> String {
    let options: sqlx::mysql::MySqlConnectOptions = url.parse().expect("DATABASE_URL_MARIADB");
    let base = options.get_database().unwrap_or("test");
    let name = format!("{base}__sf_{test}");
    // MariaDB's names end at 64 characters: a longer one keeps its start and a hash of the rest.
    if name.len() <= 64 {
        return name;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut hasher);
    let start: String = name.chars().take(47).collect();
    format!("{start}_{:016x}", hasher.finish())
}

/// A connection whose default database is a fresh one named after the URL's and the test.
#[cfg(feature = "mysql")]
pub async fn mariadb(test: &str) -> sqlx::MySqlConnection {
    let url = url(test, "MariaDB", "DATABASE_URL_MARIADB");
    let mut conn = sqlx::MySqlConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to DATABASE_URL_MARIADB={url}: {e}"));
    let database = mariadb_database(&url, test);
    // A metadata lock left by an earlier, killed run fails the setup after 10 s instead of
    // hanging it (the server's default wait is a year).
    let setup = format!(
        "SET SESSION lock_wait_timeout = 10; DROP DATABASE IF EXISTS {database}; \
         CREATE DATABASE {database}; USE {database}"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
        .execute(&mut conn)
        .await
        .expect("create the test's database");
    conn
}

/// A pool whose connections all work in the test's fresh schema.
#[cfg(feature = "postgres")]
pub async fn postgres_pool(test: &str) -> sqlx::PgPool {
    postgres_pool_of(test, 8).await
}

/// [`postgres_pool`] with at most `size` connections.
#[cfg(feature = "postgres")]
pub async fn postgres_pool_of(test: &str, size: u32) -> sqlx::PgPool {
    drop(postgres(test).await);
    let url = url(test, "PostgreSQL", "DATABASE_URL_PG");
    let schema = format!("sqlx_factory_{test}");
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("DATABASE_URL_PG");
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(size)
        .connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .expect("PostgreSQL pool")
}

/// A pool whose connections all work in the test's fresh database.
#[cfg(feature = "mysql")]
pub async fn mariadb_pool(test: &str) -> sqlx::MySqlPool {
    mariadb_pool_of(test, 8).await
}

/// [`mariadb_pool`] with at most `size` connections.
#[cfg(feature = "mysql")]
pub async fn mariadb_pool_of(test: &str, size: u32) -> sqlx::MySqlPool {
    drop(mariadb(test).await);
    let url = url(test, "MariaDB", "DATABASE_URL_MARIADB");
    let options: sqlx::mysql::MySqlConnectOptions = url.parse().expect("DATABASE_URL_MARIADB");
    sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(size)
        .connect_with(options.database(&mariadb_database(&url, test)))
        .await
        .expect("MariaDB pool")
}

/// Waits (bounded) until a MariaDB connection runs a statement that starts with `statement`:
/// the connection `thread`, or with `others` any connection but it. Then a moment more, for
/// the server to queue the statement on the lock it waits for.
#[cfg(feature = "mysql")]
pub async fn until_running_mariadb(
    pool: &sqlx::MySqlPool,
    thread: u64,
    others: bool,
    statement: &str,
) {
    let which = if others { "ID <> ?" } else { "ID = ?" };
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE {which} AND INFO LIKE ?"
    );
    for _ in 0..600 {
        let running: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(thread)
            .bind(format!("{statement}%"))
            .fetch_one(pool)
            .await
            .unwrap();
        if running > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no connection ran `{statement}`");
}

/// How long one backend's run of an [`on_every_backend!`] test may take: a hang fails the test
/// instead of blocking CI.
pub const TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// How long one await of a test body may take (see [`bounded`]).
pub const LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Every await of a test body is bounded: a hang fails the test instead of blocking CI.
pub async fn bounded<F: std::future::IntoFuture>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f.into_future())
        .await
        .expect("bounded wait: the operation hung")
}

/// Runs a test body within [`TEST_LIMIT`].
pub async fn bounded_test<F: std::future::Future<Output = ()>>(body: F) {
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("the test hung: it did not finish within {TEST_LIMIT:?}");
    }
}

/// Runs `$body` once per backend as `#[tokio::test]`s `$name::{sqlite, postgres, mariadb}`,
/// with `$conn` a `&mut` connection of that backend and `$kind` its [`Kind`]. The server
/// variants exist only with their feature (so `cargo test` alone runs and counts SQLite only).
/// Each run is bounded by [`TEST_LIMIT`].
#[macro_export]
macro_rules! on_every_backend {
    ($(#[$meta:meta])* async fn $name:ident($conn:ident, $kind:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::common::Kind;

            #[tokio::test]
            async fn sqlite() {
                $crate::common::bounded_test(async {
                    let mut conn = $crate::common::sqlite().await;
                    let $conn = &mut conn;
                    let $kind = Kind::Sqlite;
                    $body
                })
                .await
            }

            #[cfg(feature = "postgres")]
            #[tokio::test]
            async fn postgres() {
                $crate::common::bounded_test(async {
                    let mut conn = $crate::common::postgres(stringify!($name)).await;
                    let $conn = &mut conn;
                    let $kind = Kind::Postgres;
                    $body
                })
                .await
            }

            #[cfg(feature = "mysql")]
            #[tokio::test]
            async fn mariadb() {
                $crate::common::bounded_test(async {
                    let mut conn = $crate::common::mariadb(stringify!($name)).await;
                    let $conn = &mut conn;
                    let $kind = Kind::MariaDb;
                    $body
                })
                .await
            }
        }
    };
}

/// Runs DDL built for the backend, e.g. `exec(conn, format!("CREATE TABLE t (id {})", kind.serial_pk()))`.
#[macro_export]
macro_rules! exec {
    ($conn:expr, $sql:expr) => {
        sqlx::raw_sql(sqlx::AssertSqlSafe($sql))
            .execute(&mut *$conn)
            .await
            .expect("test setup SQL")
    };
}

/// The check of a file's models on the tables its tests create: `check!` over models whose
/// creates and reads succeed there, so any error is a false alarm and fails the test with the
/// report. Warnings are allowed (each file says why they are true). Prints how many models it
/// checked on which backend, for the count `--nocapture` shows.
#[macro_export]
macro_rules! check_clean {
    ($conn:expr, $kind:expr, $($model:ty),+ $(,)?) => {{
        let report = $crate::common::bounded(sqlx_factory::check!($conn, $($model),+)).await;
        $crate::common::assert_clean(&report, $kind, &[$(stringify!($model)),+]);
    }};
}

/// `check!` over one model with a planted mismatch: it must report an error on `$column`
/// whose text contains `$message`.
#[macro_export]
macro_rules! check_finds {
    ($conn:expr, $kind:expr, $model:ty, $column:expr, $message:expr) => {{
        let report = $crate::common::bounded(sqlx_factory::check!($conn, $model)).await;
        $crate::common::assert_finds(&report, $kind, stringify!($model), $column, $message);
    }};
}

/// See [`check_clean!`].
pub fn assert_clean(report: &sqlx_factory::CheckReport, kind: Kind, models: &[&str]) {
    assert_eq!(report.checked(), models, "every model listed was checked");
    let errors: Vec<_> = report.errors().collect();
    assert!(
        errors.is_empty(),
        "check! on {kind:?} reports errors for models whose creates and reads succeed:\n{report}"
    );
    eprintln!(
        "check_clean: {} models on {kind:?}: {}",
        models.len(),
        models.join(", ")
    );
    if report.warnings().next().is_some() {
        eprintln!("{report}");
    }
}

/// See [`check_finds!`].
pub fn assert_finds(
    report: &sqlx_factory::CheckReport,
    kind: Kind,
    model: &str,
    column: &str,
    message: &str,
) {
    assert_eq!(report.checked(), [model], "the model was checked");
    assert!(
        report
            .errors()
            .any(|f| f.column == column && f.message.contains(message)),
        "check! on {kind:?} misses the planted mismatch of `{model}` on column `{column}` \
         (expected an error containing {message:?}):\n{report}"
    );
    eprintln!("check_finds: 1 model on {kind:?}: {model} ({column})\n{report}");
}

/// An error of ours (not the database's) as a user prints it: its message, `{:?}` (what
/// `unwrap` shows), anyhow's and eyre's chains, with no prefix of sqlx's; `as_sqlx()`, the
/// database's error, is `None` rather than a decode error sqlx never raised.
pub fn reads_as_ours(err: sqlx_factory::Error) {
    assert!(
        err.as_sqlx().is_none(),
        "an error of ours is no sqlx::Error: as_sqlx() prints {:?}",
        err.as_sqlx().map(ToString::to_string)
    );
    let mut printed = vec![err.to_string(), format!("{err:?}")];
    let anyhow = anyhow::Error::new(err);
    printed.push(format!("{anyhow:#}"));
    printed.push(format!("{anyhow:?}"));
    let eyre = eyre::Report::new(anyhow.downcast::<sqlx_factory::Error>().unwrap());
    printed.push(format!("{eyre:?}"));
    for text in printed {
        for prefix in [
            "encountered unexpected or invalid data",
            "error occurred while decoding",
        ] {
            assert!(!text.contains(prefix), "{prefix:?} in {text}");
        }
    }
}

/// `err` as error reporters print it: (how, text) for `Display`, `Debug`, anyhow's `{:?}` and
/// `{:#}`, and eyre's, the error passed from anyhow on to eyre (still ours under anyhow).
pub fn reports(err: sqlx_factory::Error) -> Vec<(&'static str, String)> {
    let plain = err.to_string();
    let debug = format!("{err:?}");
    let anyhow = anyhow::Error::new(err);
    let (anyhow_debug, anyhow_alt) = (format!("{anyhow:?}"), format!("{anyhow:#}"));
    let eyre = eyre::Report::new(anyhow.downcast::<sqlx_factory::Error>().unwrap());
    let (eyre_debug, eyre_alt) = (format!("{eyre:?}"), format!("{eyre:#}"));
    vec![
        ("{}", plain),
        ("Debug", debug),
        ("anyhow {:?}", anyhow_debug),
        ("anyhow {:#}", anyhow_alt),
        ("eyre {:?}", eyre_debug),
        ("eyre {:#}", eyre_alt),
    ]
}
