//! What the tests of the transaction promise share (tests/transactions.rs, cancellation.rs,
//! overlap_panics.rs, create_fast_path.rs, parents_per_chunk.rs): the pool harness, the models
//! whose rows they count, the schema of their tables, the bounded waits, and the steps of a
//! sweep iteration (drop an operation, see what is durable, serve the pool's next user).
#![allow(dead_code, unused_macros)] // each test binary uses a different part of this module

use std::any::Any;
use std::task::Poll;
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

/// Runs `$body` once per backend with `$pool` a pool of ONE connection (so the next user gets
/// the very connection the body left behind), `$observer` a separate pool on the same
/// database, and `$kind`; the calling file's `schema_sql` is run first.
macro_rules! on_every_pool {
    ($(#[$meta:meta])* async fn $name:ident($pool:ident, $observer:ident, $kind:ident) $body:block) => {
        on_dbs! {
            [sqlite, postgres, mariadb]
            $(#[$meta])*
            async fn $name(mk, $observer, $kind) {
                let $pool = mk(1).await.expect("a pool of one connection");
                $body
            }
        }
    };
}

/// How many rows of `table` a second connection sees: what is durable.
macro_rules! durable {
    ($observer:expr, $table:literal) => {{
        let n: i64 = crate::tx::bounded(
            sqlx::query_scalar(concat!("SELECT COUNT(*) FROM ", $table)).fetch_one(&$observer),
        )
        .await
        .unwrap();
        n
    }};
}

/// Every row `$sql` selects, as `$model`, read by a second connection (`$observer`, a pool).
macro_rules! read_back {
    ($observer:expr, $model:ty, $sql:literal) => {{
        let rows: Vec<$model> = crate::tx::bounded(sqlx::query_as($sql).fetch_all(&$observer))
            .await
            .unwrap();
        rows
    }};
}

/// After the body, the pool's one connection must be usable and at depth 0: the next user's
/// `begin .. commit` is durable.
macro_rules! next_user_commits {
    ($pool:expr, $observer:expr) => {{
        let before = durable!($observer, "entries");
        let mut tx = crate::tx::bounded($pool.begin()).await.unwrap();
        crate::tx::bounded(crate::tx::Entry::factory().with_session(&mut tx).create())
            .await
            .unwrap();
        crate::tx::bounded(tx.commit()).await.unwrap();
        assert_eq!(
            durable!($observer, "entries"),
            before + 1,
            "the next pool user's commit is durable"
        );
    }};
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

#[allow(unused_imports)] // each test binary uses a different part of this module
pub use crate::common::{LIMIT, bounded};

/// How long a sweep's step may take before [`try_bounded`] calls it hung.
pub const HANG: Duration = Duration::from_secs(5);

/// Like [`bounded`], but a hang is a finding, not a panic: `None` then (a connection left with
/// an unread answer hangs its next user), so a sweep records it and goes on.
pub async fn try_bounded<F: std::future::IntoFuture>(f: F) -> Option<F::Output> {
    timeout(HANG, f.into_future()).await.ok()
}

/// A step of the caller in a sweep, awaited with [`try_bounded`]: unless it succeeded,
/// `$problems` gets `"$what: <outcome>"` (`None` for a hang).
macro_rules! caller_step {
    ($problems:ident, $what:literal, $step:expr) => {{
        let r = crate::tx::try_bounded($step).await;
        if !matches!(r, Some(Ok(_))) {
            $problems.push(format!(concat!($what, ": {:?}"), r));
        }
    }};
}

/// The caller's own INSERT of the marker `after` on `$executor`, after the operation was
/// dropped or failed, as a [`caller_step!`].
macro_rules! caller_inserts_after {
    ($problems:ident, $executor:expr) => {
        caller_step!(
            $problems,
            "caller's INSERT after",
            sqlx::query("INSERT INTO entries (name) VALUES ('after')").execute($executor)
        )
    };
}

/// The end of a sweep: every finding at once, so one failing run shows all of them.
pub fn assert_no_findings(findings: &[String]) {
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

/// Polls `fut` to its end, catching a panic of any poll (as a test harness or a
/// `tokio::spawn` does around the future).
pub async fn catch<F: std::future::Future>(fut: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    })
    .await
}

/// A caught panic's message (`""` when it is neither `&str` nor `String`).
pub fn panic_text(panic: Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// The tables of the models above: `entries`, `authors`, `books` (a CHECK refuses the title
/// 'bad'), `blobs`.
pub fn schema_sql(kind: Kind) -> String {
    let pk = kind.serial_pk();
    let text = kind.varchar();
    // MariaDB's TEXT holds 64 kB: the 100 kB rows of the statement-size tests need LONGTEXT.
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

/// Whether an operation dropped on the bare PostgreSQL connection `$conn` left it in sqlx's
/// own window (docs/DESIGN.md, "Transactions and atomicity", as `conn.begin()` has it): the
/// operation was dropped while sqlx's `BEGIN` was in flight, and the connection stays in a
/// transaction sqlx does not know of. The first polls only, and longer on a busy machine.
/// Seen as `now()` (the transaction's start) before `statement_timestamp()`, in a simple
/// query (the extended protocol's `Execute` restarts `statement_timestamp()` after its `Parse`
/// began the transaction), with nothing written in that transaction (no transaction id
/// assigned): a transaction of ours left open after a write would hold the write's id, and
/// is not taken for this window. The user's remedy is to close such a connection, which rolls
/// it back; a sweep does so and counts the drop, so it can bound how often it happens.
macro_rules! in_sqlx_begin_window {
    ($conn:expr, $kind:expr) => {
        $kind == crate::common::Kind::Postgres && {
            use sqlx::Row;
            let open = sqlx::raw_sql(
                "SELECT now() <> statement_timestamp() AND txid_current_if_assigned() IS NULL",
            );
            let row = crate::tx::bounded(open.fetch_one($conn)).await.unwrap();
            row.get::<bool, _>(0)
        }
    };
}

/// An operation under test, boxed so the sweeps can drop it at any poll.
pub type Op<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// The pause between two polls of a swept operation: the statement it sent completes on the
/// server meanwhile.
pub const PAUSE: Duration = Duration::from_millis(3);

/// Polls `fut` up to `k` times, sleeping [`PAUSE`] between polls; true if it finished.
pub async fn drive<F: std::future::Future + Unpin>(fut: &mut F, k: usize) -> bool {
    drive_every(fut, k, PAUSE).await
}

/// [`drive`] with another pause between polls.
pub async fn drive_every<F: std::future::Future + Unpin>(
    fut: &mut F,
    k: usize,
    pause: Duration,
) -> bool {
    for i in 0..k {
        let ready = std::future::poll_fn(|cx| {
            Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx).is_ready())
        })
        .await;
        if ready {
            return true;
        }
        if i + 1 < k {
            tokio::time::sleep(pause).await;
        }
    }
    false
}

/// Polls the operation `fut` `k` times (see [`drive`]) and drops it; with `settle`, first
/// waits 10 ms (the statement in flight completes on the server). True if it finished.
pub async fn drop_after(fut: Op<'_>, k: usize, settle: bool) -> bool {
    drop_after_every(fut, k, settle, PAUSE).await
}

/// [`drop_after`] with another pause between polls.
pub async fn drop_after_every(mut fut: Op<'_>, k: usize, settle: bool, pause: Duration) -> bool {
    let completed = drive_every(&mut fut, k, pause).await;
    if settle {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    completed
}

/// What a second connection sees: (markers, [factory entries, books, authors]). A marker is
/// a row of `entries` a test writes by hand (`before`, `after`, `next-tx`, ...): any name but
/// the factories' `entry-N`.
///
/// The three counts are one statement, so one snapshot: a cancelled operation's `COMMIT` may
/// still be landing on the server while they are read, and counted one query each, its
/// entries could be read before it and its books after it (a whole operation seen as half).
macro_rules! seen {
    ($observer:expr) => {{
        let markers: Vec<String> = crate::tx::bounded(
            sqlx::query_scalar(
                "SELECT name FROM entries WHERE name NOT LIKE 'entry-%' ORDER BY name",
            )
            .fetch_all(&$observer),
        )
        .await
        .unwrap();
        let (entries, books, authors): (i64, i64, i64) = crate::tx::bounded(
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM entries WHERE name LIKE 'entry-%'), \
                        (SELECT COUNT(*) FROM books), \
                        (SELECT COUNT(*) FROM authors)",
            )
            .fetch_one(&$observer),
        )
        .await
        .unwrap();
        (markers, [entries, books, authors])
    }};
}

/// Empties the tables the sweeps' operations and markers write (children first), from the
/// observer. A test that writes another table (`slugged`, `pairs`, `duds`) rolls it back.
macro_rules! reset {
    ($observer:expr) => {
        for sql in [
            "DELETE FROM books",
            "DELETE FROM authors",
            "DELETE FROM entries",
        ] {
            crate::tx::bounded(sqlx::query(sql).execute(&$observer))
                .await
                .unwrap();
        }
    };
}

/// The pool's next user: `begin .. commit` of a marker, then an autocommitted marker; each
/// deviation goes to `$problems`. With `$observer`, both markers must also be durable (among
/// whatever else is). Each wait is [`try_bounded`]: a hang is a finding.
macro_rules! next_user {
    ($problems:ident, $pool:expr) => {{
        match crate::tx::try_bounded($pool.begin()).await {
            Some(Ok(mut tx)) => {
                let r = crate::tx::try_bounded(
                    sqlx::query("INSERT INTO entries (name) VALUES ('next-tx')").execute(&mut *tx),
                )
                .await;
                if !matches!(r, Some(Ok(_))) {
                    $problems.push(format!("next user's INSERT: {r:?}"));
                }
                let r = crate::tx::try_bounded(tx.commit()).await;
                if !matches!(r, Some(Ok(_))) {
                    $problems.push(format!("next user's commit: {r:?}"));
                }
            }
            other => $problems.push(format!(
                "next user's begin: {:?}",
                other.map(|r| r.map(|_| ()))
            )),
        }
        let r = crate::tx::try_bounded(
            sqlx::query("INSERT INTO entries (name) VALUES ('next-auto')").execute(&$pool),
        )
        .await;
        if !matches!(r, Some(Ok(_))) {
            $problems.push(format!("next user's autocommit INSERT: {r:?}"));
        }
    }};
    ($problems:ident, $pool:expr, $observer:expr) => {{
        next_user!($problems, $pool);
        let (markers, _) = seen!($observer);
        for m in ["next-auto", "next-tx"] {
            if !markers.iter().any(|x| x == m) {
                $problems.push(format!(
                    "next user's `{m}` is NOT durable (seen: {markers:?})"
                ));
            }
        }
    }};
}

/// The end of one sweep iteration: the finding if any (`$at` names the iteration), then the
/// pool closed and a clean database for the next iteration.
macro_rules! end_iteration {
    ($findings:ident, $problems:ident, $at:expr, $pool:expr, $observer:expr) => {{
        if !$problems.is_empty() {
            let finding = format!("{}: {}", $at, $problems.join("; "));
            eprintln!("FINDING {finding}");
            $findings.push(finding);
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), $pool.close()).await;
        reset!($observer);
    }};
}
