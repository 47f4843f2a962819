//! A `get_or_create` batch that loses the race for some of its keys only: another connection
//! inserted one key of the batch after the batch looked its keys up, and committed while the
//! batch's INSERT waited on it. The batch returns the stored row for that key and creates the
//! others, through a pool and (PostgreSQL, MariaDB) inside the caller's transaction.
//!
//! SQLite inside the caller's transaction is not raced here: the transaction's lookup holds a
//! read snapshot, and a write after another connection's commit fails with SQLITE_BUSY
//! (SQLite has one writer) rather than with the unique violation this is about.

mod common;

use std::cell::Cell;
use std::time::Duration;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

thread_local! {
    /// The next row's key: `c0`, `c1`, `c2`, ... (reset before each batch; the batch's rows
    /// are drawn on the test's thread).
    static ROW: Cell<usize> = const { Cell::new(0) };
}

fn row_code() -> String {
    let n = ROW.get();
    ROW.set(n + 1);
    format!("c{n}")
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "partial_race", get_or_create(code))]
struct Keyed {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = row_code())]
    code: String,
}

fn schema_sql(kind: Kind) -> String {
    format!(
        "CREATE TABLE partial_race (id {}, code {} NOT NULL UNIQUE)",
        kind.serial_pk(),
        kind.varchar()
    )
}

/// How many statements INSERT into `partial_race` while waiting on a lock (PostgreSQL) or at
/// all (MariaDB: the process list shows the statement while it waits).
fn waiting_sql(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => {
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
             AND query LIKE 'INSERT INTO \"partial_race\"%'"
        }
        Kind::MariaDb => {
            "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO `partial_race`%'"
        }
        Kind::Sqlite => unreachable!("SQLite has no list of waiting statements"),
    }
}

/// The race: `$other` (a connection of `$pool`) inserts `c1` and keeps it uncommitted; the
/// batch of `c0`, `c1`, `c2` runs on `$session` (in the caller's transaction when `$in_tx`),
/// looks its keys up (none stored), and its INSERT waits on `c1`; then `$other` commits.
/// Checks what the batch returns and what is stored, seen from `$observer`.
macro_rules! partial_race {
    ($pool:expr, $observer:expr, $kind:expr, $in_tx:expr) => {{
        let (pool, kind, in_tx) = ($pool, $kind, $in_tx);
        let mut other = tx::bounded(pool.begin()).await.unwrap();
        tx::bounded(
            sqlx::query("INSERT INTO partial_race (code) VALUES ('c1')").execute(&mut *other),
        )
        .await
        .unwrap();
        let batch_pool = pool.clone();
        let task = tokio::spawn(async move {
            ROW.set(0);
            if in_tx {
                let mut conn = batch_pool.acquire().await.unwrap();
                let mut t = conn.begin().await.unwrap();
                let rows = Keyed::factory()
                    .with_session(&mut *t)
                    .get_or_create_batch(3)
                    .await;
                if rows.is_ok() {
                    t.commit().await.unwrap();
                }
                rows
            } else {
                Keyed::factory()
                    .with_session(&batch_pool)
                    .get_or_create_batch(3)
                    .await
            }
        });
        if kind == Kind::Sqlite {
            // The lookup never waits on SQLite; the INSERT waits for the other writer.
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(
                !task.is_finished(),
                "the batch's INSERT did not wait for the other insert"
            );
        } else {
            let mut waited = false;
            for _ in 0..500 {
                let n: i64 =
                    tx::bounded(sqlx::query_scalar(waiting_sql(kind)).fetch_one(&$observer))
                        .await
                        .unwrap();
                if n > 0 {
                    // Seen before it reaches the lock: let it get there.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    waited = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(
                waited,
                "the batch's INSERT never waited on the other insert"
            );
        }
        tx::bounded(other.commit()).await.unwrap();
        let rows = tx::bounded(task)
            .await
            .unwrap()
            .expect("the batch returns the stored row of the key it lost and creates the others");
        let stored: Vec<(i64, String)> = tx::bounded(
            sqlx::query_as("SELECT id, code FROM partial_race ORDER BY code").fetch_all(&$observer),
        )
        .await
        .unwrap();
        let codes: Vec<&str> = stored.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(codes, ["c0", "c1", "c2"], "one row per key");
        let seen: Vec<(i64, &str, bool)> = rows
            .iter()
            .map(|(r, c)| (r.id, r.code.as_str(), *c))
            .collect();
        let want: Vec<(i64, &str, bool)> = stored
            .iter()
            .map(|(id, c)| (*id, c.as_str(), c != "c1"))
            .collect();
        assert_eq!(
            seen, want,
            "the stored rows, in the batch's order; c1 not created by it"
        );
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Through a pool: the batch's INSERT is its one statement.
    async fn partial_race_pool(mk, observer, kind) {
        let pool = mk(2).await.unwrap();
        partial_race!(&pool, observer, kind, false);
    }
}

on_dbs! {
    [postgres, mariadb]
    /// Inside the caller's transaction, which then commits.
    async fn partial_race_caller_transaction(mk, observer, kind) {
        let pool = mk(2).await.unwrap();
        partial_race!(&pool, observer, kind, true);
    }
}

on_every_backend! {
    /// The schema check on the table these tests create: no error for a model whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        exec!(conn, schema_sql(kind));
        check_clean!(&mut *conn, kind, Keyed);
    }
}
