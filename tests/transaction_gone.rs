//! MariaDB ends the whole transaction on a deadlock (1213), savepoints included: an operation
//! whose savepoint can no longer be rolled back to fails at once, says that the transaction is
//! gone, and sends nothing more, so none of its statements runs outside a transaction.

#![cfg(feature = "mysql")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{Connection, MySqlPool};
use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "outers")]
struct Outer {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "outer".to_string())]
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "claims")]
struct Claim {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "x".to_string())]
    code: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "outer_notes")]
struct OuterNote {
    #[factory(primary_key)]
    id: i64,
    outer_id: i64,
}

const SCHEMA: &str = "CREATE TABLE locks (id INT PRIMARY KEY, v INT NOT NULL); \
    INSERT INTO locks VALUES (1, 0), (2, 0); \
    CREATE TABLE claims (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(50) NOT NULL UNIQUE); \
    CREATE TABLE outers (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL); \
    CREATE TABLE outer_notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, outer_id BIGINT NOT NULL); \
    CREATE TABLE heavy (id BIGINT AUTO_INCREMENT PRIMARY KEY, x INT NOT NULL)";

/// Waits (bounded) until the connection `thread` runs its UPDATE (which waits for the row
/// our hook locked), and a moment more for the server to queue it on that lock.
async fn until_lock_wait(pool: &MySqlPool, thread: u64) {
    for _ in 0..600 {
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'UPDATE locks%'",
        )
        .bind(thread)
        .fetch_one(pool)
        .await
        .unwrap();
        if running > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the other transaction never ran its UPDATE");
}

/// An `Outer` whose hook creates a `Claim` with `.in_savepoint()` and handles its error (as a
/// hook expecting a duplicate does), then a related note: the claim deadlocks with another
/// transaction, in which MariaDB picks ours (the lighter) to roll back. Returns the
/// operation's result and the claim's error text.
async fn deadlock_in_hook(
    pool: &MySqlPool,
    in_tx: bool,
) -> (Result<Outer, sqlx_factory::Error>, String) {
    sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
    // The other transaction: heavier (many rows written), holding the claim's key.
    let mut other = pool.acquire().await.unwrap();
    let thread: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
        .fetch_one(&mut *other)
        .await
        .unwrap();
    sqlx::raw_sql(
        "SET SESSION innodb_lock_wait_timeout = 20; BEGIN; \
        INSERT INTO heavy (x) SELECT seq FROM seq_1_to_300; \
        INSERT INTO claims (code) VALUES ('x')",
    )
    .execute(&mut *other)
    .await
    .unwrap();
    let go = Arc::new(tokio::sync::Notify::new());
    let blocked = {
        let go = go.clone();
        tokio::spawn(async move {
            go.notified().await;
            // Waits for the row our hook locked.
            let _ = sqlx::query("UPDATE locks SET v = v + 1 WHERE id = 1")
                .execute(&mut *other)
                .await;
            sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
        })
    };
    let claim_error = Arc::new(Mutex::new(String::new()));
    let (watcher, go2, claim_error2) = (pool.clone(), go.clone(), claim_error.clone());
    macro_rules! outer_factory {
        ($session:expr) => {{
            let (go, claim_error, watcher) = (go2.clone(), claim_error2.clone(), watcher.clone());
            Outer::factory()
                .with_session($session)
                .after_create(move |_, conn| {
                    let (go, claim_error, watcher) =
                        (go.clone(), claim_error.clone(), watcher.clone());
                    Box::pin(async move {
                        sqlx::query("UPDATE locks SET v = v + 1 WHERE id = 1")
                            .execute(&mut *conn)
                            .await?;
                        go.notify_one();
                        until_lock_wait(&watcher, thread).await;
                        let claim = Claim::factory()
                            .with_session(&mut *conn)
                            .in_savepoint()
                            .create()
                            .await;
                        *claim_error.lock().unwrap() = match claim {
                            Ok(claim) => format!("the claim was created: {claim:?}"),
                            Err(e) => e.to_string(),
                        };
                        Ok(())
                    })
                })
                .with_related(1, |o: &Outer| OuterNote::factory().outer_id(o.id))
        }};
    }
    let result = if in_tx {
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        let result = outer_factory!(&mut tx).create().await;
        let _ = tx.rollback().await;
        result
    } else {
        outer_factory!(pool).create().await
    };
    tokio::time::timeout(Duration::from_secs(30), blocked)
        .await
        .unwrap()
        .unwrap();
    let claim_error = claim_error.lock().unwrap().clone();
    (result, claim_error)
}

/// What stays, counted from a connection of its own.
async fn stored(pool: &MySqlPool) -> (i64, i64, i64) {
    sqlx::query_as("SELECT (SELECT COUNT(*) FROM outers), (SELECT COUNT(*) FROM outer_notes), (SELECT COUNT(*) FROM claims)")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn assert_gone(result: Result<Outer, sqlx_factory::Error>, claim_error: &str) {
    assert!(
        claim_error.contains("MariaDB error 1213"),
        "the claim deadlocked: {claim_error}"
    );
    assert!(
        claim_error.contains("ended the whole transaction"),
        "{claim_error}"
    );
    let err = result.expect_err("the operation fails: its transaction is gone");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "OuterFactory::create into table `outers` failed in after-create step 1: "
        ),
        "{text}"
    );
    assert!(text.contains("ended the whole transaction"), "{text}");
}

/// The operation fails saying the transaction is gone, and nothing of it stays.
async fn nothing_runs_outside_the_transaction(test: &str, in_tx: bool) {
    common::bounded_test(async {
        let pool = common::mariadb_pool(test).await;
        let (result, claim_error) = deadlock_in_hook(&pool, in_tx).await;
        assert_gone(result, &claim_error);
        assert_eq!(
            stored(&pool).await,
            (0, 0, 0),
            "nothing of the operation ran outside the transaction"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_in_nested_savepoint_caller_transaction_mariadb() {
    nothing_runs_outside_the_transaction("deadlock_nested_tx", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_in_nested_savepoint_pool_mariadb() {
    nothing_runs_outside_the_transaction("deadlock_nested_pool", false).await;
}

/// The schema check on the tables these tests create: no error for models whose creates
/// succeed there.
#[tokio::test]
async fn check_every_model_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("transaction_gone_check").await;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
        check_clean!(&mut conn, common::Kind::MariaDb, Outer, Claim, OuterNote);
    })
    .await
}
