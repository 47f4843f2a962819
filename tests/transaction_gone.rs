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

/// The other transaction: heavier (many rows written), holding the claim's key `x`. Once `go`
/// is notified it waits for the row of `locks` that ours locked, then rolls back. Returns its
/// connection's id and its task.
async fn other_transaction(
    pool: &MySqlPool,
    go: Arc<tokio::sync::Notify>,
) -> (u64, tokio::task::JoinHandle<()>) {
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
    let blocked = tokio::spawn(async move {
        go.notified().await;
        let _ = sqlx::query("UPDATE locks SET v = v + 1 WHERE id = 1")
            .execute(&mut *other)
            .await;
        sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
    });
    (thread, blocked)
}

/// An `Outer` whose hook creates a `Claim` with `.in_savepoint()` and handles its error (as a
/// hook expecting a duplicate does), then a related note: the claim deadlocks with another
/// transaction, in which MariaDB picks ours (the lighter) to roll back. Returns the
/// operation's result and the claim's error text.
async fn deadlock_in_hook(
    pool: &MySqlPool,
    in_tx: bool,
    again: Option<&mut Vec<sqlx_factory::Error>>,
    propagate: bool,
) -> (Result<Outer, sqlx_factory::Error>, String) {
    sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
    let go = Arc::new(tokio::sync::Notify::new());
    let (thread, blocked) = other_transaction(pool, go.clone()).await;
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
                        common::until_running_mariadb(&watcher, thread, false, "UPDATE locks")
                            .await;
                        let claim = Claim::factory()
                            .with_session(&mut *conn)
                            .in_savepoint()
                            .create()
                            .await;
                        *claim_error.lock().unwrap() = match &claim {
                            Ok(claim) => format!("the claim was created: {claim:?}"),
                            Err(e) => e.to_string(),
                        };
                        if propagate {
                            claim?;
                        }
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
        match again {
            // The caller ignores the error, creates again, then drops its transaction.
            Some(again) => {
                *again = create_again(&mut tx).await;
                drop(tx);
            }
            None => {
                let _ = tx.rollback().await;
            }
        }
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
        let (result, claim_error) = deadlock_in_hook(&pool, in_tx, None, false).await;
        assert_gone(result, &claim_error);
        assert_eq!(
            stored(&pool).await,
            (0, 0, 0),
            "nothing of the operation ran outside the transaction"
        );
    })
    .await
}

/// A hook that returns the error of its nested create, which found the transaction gone: the
/// operation's error says so once (the nested error's words), not once per level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_in_hook_returned_says_it_once_mariadb() {
    common::bounded_test(async {
        let pool = common::mariadb_pool("deadlock_in_hook_returned").await;
        let (result, claim_error) = deadlock_in_hook(&pool, false, None, true).await;
        let text = result
            .expect_err("the hook returned the claim's error")
            .to_string();
        assert!(text.contains(&claim_error), "{text}");
        assert_eq!(
            text.matches("the database ended the whole transaction")
                .count(),
            1,
            "said once: {text}"
        );
        assert_eq!(
            stored(&pool).await,
            (0, 0, 0),
            "nothing of the operation stays"
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

/// What a caller that ignores the error does next on its transaction: a plain create (one
/// INSERT), one with a related row (a savepoint of ours), one `.in_savepoint()`. Returns
/// their errors; a create that succeeds fails the test.
async fn create_again(tx: &mut sqlx::MySqlConnection) -> Vec<sqlx_factory::Error> {
    let plain = Claim::factory()
        .code("again".to_string())
        .with_session(&mut *tx)
        .create()
        .await;
    let related = Outer::factory()
        .with_session(&mut *tx)
        .with_related(1, |o: &Outer| OuterNote::factory().outer_id(o.id))
        .create()
        .await;
    let in_savepoint = Claim::factory()
        .code("again2".to_string())
        .with_session(&mut *tx)
        .in_savepoint()
        .create()
        .await;
    vec![
        plain.expect_err("a plain create in a transaction that is gone fails"),
        related.expect_err("a create with a related row in a transaction that is gone fails"),
        in_savepoint.expect_err("an in_savepoint create in a transaction that is gone fails"),
    ]
}

/// Each later operation fails saying the transaction is gone, and wrote nothing.
fn assert_gone_before(errors: &[sqlx_factory::Error]) {
    assert_eq!(errors.len(), 3);
    for err in errors {
        let text = err.to_string();
        assert!(
            text.contains("ended the whole transaction before this operation"),
            "{text}"
        );
        assert!(
            text.contains("nothing of this operation was written"),
            "{text}"
        );
    }
}

/// The caller ignores the error of the operation whose nested savepoint deadlocked and
/// creates again in its transaction: those creates fail too, and once the caller drops its
/// transaction no row of them is seen from another connection (MariaDB would have run them
/// outside any transaction, autocommitted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_after_the_transaction_is_gone_write_nothing_mariadb() {
    common::bounded_test(async {
        let pool = common::mariadb_pool("gone_again").await;
        let mut again = Vec::new();
        let (result, claim_error) = deadlock_in_hook(&pool, true, Some(&mut again), false).await;
        assert_gone(result, &claim_error);
        assert_gone_before(&again);
        assert_eq!(
            stored(&pool).await,
            (0, 0, 0),
            "no create after the transaction was gone is durable"
        );
    })
    .await
}

/// A plain create (one INSERT, no savepoint of ours) in the caller's transaction deadlocks:
/// MariaDB ends the transaction. The error says so, and the caller's next creates, which it
/// makes ignoring that error, fail and leave nothing once it drops the transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_create_deadlocks_then_creates_again_mariadb() {
    common::bounded_test(async {
        let pool = common::mariadb_pool("gone_plain").await;
        sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        // The caller's own work, which the deadlock will undo, and the lock the other
        // transaction will wait for.
        sqlx::query("UPDATE locks SET v = v + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .unwrap();
        // The other transaction waits for our row at once.
        let go = Arc::new(tokio::sync::Notify::new());
        go.notify_one();
        let (thread, blocked) = other_transaction(&pool, go).await;
        common::until_running_mariadb(&pool, thread, false, "UPDATE locks").await;
        let first = Claim::factory().with_session(&mut *tx).create().await;
        let err = first.expect_err("the claim's INSERT deadlocks");
        let text = err.to_string();
        assert!(text.contains("MariaDB error 1213"), "{text}");
        assert!(text.contains("ended the whole transaction"), "{text}");
        assert!(
            !text.contains("before this operation"),
            "this operation met the deadlock: {text}"
        );
        let again = create_again(&mut tx).await;
        assert_gone_before(&again);
        let own = sqlx::query("INSERT INTO outers (name) VALUES ('own')")
            .execute(&mut *tx)
            .await;
        assert!(
            own.is_err(),
            "the caller's own write fails too rather than autocommit"
        );
        drop(tx);
        other_done(blocked).await;
        assert_eq!(
            stored(&pool).await,
            (0, 0, 0),
            "no create after the transaction was gone is durable"
        );
        let locks: i64 = sqlx::query_scalar("SELECT CAST(SUM(v) AS SIGNED) FROM locks")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            locks, 0,
            "the caller's own UPDATE was undone with its transaction"
        );
        // The caller's rollback ended what stood in for its transaction: the connection
        // writes again, for its next user.
        sqlx::query("INSERT INTO outers (name) VALUES ('later')")
            .execute(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored(&pool).await, (1, 0, 0));
    })
    .await
}

/// The schema check on the tables these tests create: no error for models whose creates
/// succeed there.
#[tokio::test]
async fn check_every_model_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("transaction_gone_check").await;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
        check_clean!(
            &mut conn,
            common::Kind::MariaDb,
            Outer,
            Claim,
            OuterNote,
            KeyedClaim
        );
    })
    .await
}

/// A second pool on the database of the test `test` (which `common::mariadb_pool_of` made):
/// the other transaction's connections, so that the caller's pool can hold one connection.
async fn second_pool(test: &str) -> MySqlPool {
    let url = std::env::var("DATABASE_URL_MARIADB").expect("DATABASE_URL_MARIADB");
    let options: sqlx::mysql::MySqlConnectOptions = url.parse().unwrap();
    sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(4)
        .connect_with(options.database(&common::mariadb_database(&url, test)))
        .await
        .unwrap()
}

/// The pools of a stand-in test `test`: the caller's, of one connection, and the other
/// transaction's ([`second_pool`]), with the tables made.
async fn pools(test: &str) -> (MySqlPool, MySqlPool) {
    let pool = common::mariadb_pool_of(test, 1).await;
    let others = second_pool(test).await;
    sqlx::raw_sql(SCHEMA).execute(&others).await.unwrap();
    (pool, others)
}

/// Waits (bounded) for the other transaction's task to end.
async fn other_done(blocked: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(Duration::from_secs(30), blocked)
        .await
        .unwrap()
        .unwrap();
}

/// In the caller's transaction `tx`: its own UPDATE of the lock row (which the other
/// transaction, on `others`, then waits for), and a plain create that deadlocks: MariaDB ends
/// the transaction, and the READ ONLY stand-in takes its place. Returns the other's task.
async fn deadlock_in(
    others: &MySqlPool,
    tx: &mut sqlx::MySqlConnection,
) -> tokio::task::JoinHandle<()> {
    sqlx::query("UPDATE locks SET v = v + 1 WHERE id = 1")
        .execute(&mut *tx)
        .await
        .unwrap();
    let go = Arc::new(tokio::sync::Notify::new());
    go.notify_one();
    let (thread, blocked) = other_transaction(others, go).await;
    common::until_running_mariadb(others, thread, false, "UPDATE locks").await;
    let err = Claim::factory()
        .with_session(&mut *tx)
        .create()
        .await
        .expect_err("the claim's INSERT deadlocks");
    assert!(err.to_string().contains("MariaDB error 1213"), "{err}");
    blocked
}

/// The pool's next user (a pool of one: the connection the caller gave back) works as on a
/// fresh connection: no transaction is open on it, it is not READ ONLY, and its transaction's
/// commit and its autocommitted write are durable.
async fn next_user_is_clean(pool: &MySqlPool, others: &MySqlPool) {
    let mut conn = common::bounded(pool.acquire()).await.unwrap();
    let (open, read_only): (i64, i64) =
        sqlx::query_as("SELECT CAST(@@in_transaction AS SIGNED), CAST(@@tx_read_only AS SIGNED)")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        (open, read_only),
        (0, 0),
        "the next user inherits no transaction, READ ONLY or other"
    );
    let mut tx = conn.begin().await.unwrap();
    Claim::factory()
        .code("next-tx".to_string())
        .with_session(&mut *tx)
        .create()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Claim::factory()
        .code("next-auto".to_string())
        .with_session(&mut *conn)
        .create()
        .await
        .unwrap();
    let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM claims ORDER BY code")
        .fetch_all(others)
        .await
        .unwrap();
    assert_eq!(
        codes,
        ["next-auto", "next-tx"],
        "the next user's writes are durable"
    );
}

/// After the deadlock the caller ignores the errors and commits: nothing of the transaction
/// lands (its own write before the deadlock neither: MariaDB undid it), and the connection
/// goes back to its pool clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_then_the_caller_commits_mariadb() {
    common::bounded_test(async {
        let (pool, others) = pools("gone_commit").await;
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO outers (name) VALUES ('mine')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let blocked = deadlock_in(&others, &mut tx).await;
        let again = Claim::factory()
            .code("again".to_string())
            .with_session(&mut *tx)
            .create()
            .await
            .expect_err("a create after the transaction is gone fails");
        assert!(
            again.to_string().contains("before this operation"),
            "{again}"
        );
        // MariaDB's COMMIT of the READ ONLY stand-in succeeds: it commits nothing.
        let commit = tx.commit().await;
        eprintln!("the caller's commit after the transaction was gone: {commit:?}");
        other_done(blocked).await;
        assert_eq!(
            stored(&others).await,
            (0, 0, 0),
            "nothing of the transaction lands"
        );
        drop(conn);
        next_user_is_clean(&pool, &others).await;
    })
    .await
}

/// After the deadlock the caller rolls back and goes on on the same connection: a new
/// transaction works normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_then_the_caller_rolls_back_and_goes_on_mariadb() {
    common::bounded_test(async {
        let (pool, others) = pools("gone_rollback").await;
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        let blocked = deadlock_in(&others, &mut tx).await;
        tx.rollback().await.unwrap();
        other_done(blocked).await;
        let mut tx = conn.begin().await.unwrap();
        let outer = Outer::factory()
            .with_session(&mut *tx)
            .with_related(1, |o: &Outer| OuterNote::factory().outer_id(o.id))
            .create()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(stored(&others).await, (1, 1, 0), "{outer:?} is durable");
        drop(conn);
        sqlx::raw_sql("DELETE FROM outer_notes; DELETE FROM outers")
            .execute(&others)
            .await
            .unwrap();
        next_user_is_clean(&pool, &others).await;
    })
    .await
}

/// The caller drops its transaction while the stand-in is open, and the connection goes back
/// to the pool: its next user inherits nothing. Also with the operation in a transaction
/// nested in the caller's (sqlx's savepoint): the caller's rollback of the inner level, which
/// names a savepoint MariaDB ended with the transaction, succeeds, a write on the outer level
/// is refused, and the outer rollback succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_when_the_connection_goes_back_to_the_pool_mariadb() {
    common::bounded_test(async {
        let (pool, others) = pools("gone_pool").await;
        // Dropped.
        {
            let mut tx = pool.begin().await.unwrap();
            let blocked = deadlock_in(&others, &mut tx).await;
            drop(tx);
            other_done(blocked).await;
        }
        assert_eq!(stored(&others).await, (0, 0, 0));
        next_user_is_clean(&pool, &others).await;
        sqlx::query("DELETE FROM claims")
            .execute(&others)
            .await
            .unwrap();
        // Nested: the inner level's rollback names a savepoint MariaDB no longer has.
        {
            let mut outer = pool.begin().await.unwrap();
            let mut inner = outer.begin().await.unwrap();
            let blocked = deadlock_in(&others, &mut inner).await;
            let gone = Claim::factory()
                .code("nested-again".to_string())
                .with_session(&mut *inner)
                .in_savepoint()
                .create()
                .await
                .expect_err("a create after the transaction is gone fails");
            assert!(gone.to_string().contains("before this operation"), "{gone}");
            // The stand-in holds the caller's levels too: its rollbacks succeed.
            inner.rollback().await.expect("the inner level's rollback");
            let after = Claim::factory()
                .code("outer-again".to_string())
                .with_session(&mut *outer)
                .create()
                .await
                .expect_err("the outer level is gone too");
            assert!(after.to_string().contains("MariaDB error 1792"), "{after}");
            outer.rollback().await.expect("the outer level's rollback");
            other_done(blocked).await;
        }
        assert_eq!(stored(&others).await, (0, 0, 0));
        next_user_is_clean(&pool, &others).await;
    })
    .await
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "claims", get_or_create(code))]
struct KeyedClaim {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "x".to_string())]
    code: String,
}

/// A `get_or_create` after the transaction is gone: its lookup runs in the READ ONLY
/// stand-in, which sees committed rows only. A key committed by another connection is that
/// stored row (nothing written, nothing to refuse); a key the caller's own transaction had
/// inserted before the deadlock is gone with it, and its INSERT is refused, saying the
/// transaction ended before the operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_or_create_after_the_transaction_is_gone_mariadb() {
    common::bounded_test(async {
        let (pool, others) = pools("gone_goc").await;
        let shared = KeyedClaim::factory()
            .code("shared".to_string())
            .with_session(&others)
            .create()
            .await
            .unwrap();
        let mut tx = pool.begin().await.unwrap();
        let (mine, created) = KeyedClaim::factory()
            .code("mine".to_string())
            .with_session(&mut *tx)
            .get_or_create()
            .await
            .unwrap();
        assert!(created);
        let blocked = deadlock_in(&others, &mut tx).await;
        let (found, created) = KeyedClaim::factory()
            .code("shared".to_string())
            .with_session(&mut *tx)
            .get_or_create()
            .await
            .expect("a committed key is found in the stand-in");
        assert_eq!((found, created), (shared, false));
        let err = KeyedClaim::factory()
            .code("mine".to_string())
            .with_session(&mut *tx)
            .get_or_create()
            .await
            .expect_err("the caller's own key went with its transaction");
        let text = err.to_string();
        assert!(text.contains("before this operation"), "{text} ({mine:?})");
        drop(tx);
        other_done(blocked).await;
        let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM claims ORDER BY code")
            .fetch_all(&others)
            .await
            .unwrap();
        assert_eq!(codes, ["shared"]);
    })
    .await
}
