//! A get_or_create batch whose INSERT PostgreSQL picks as a deadlock's victim (40P01) is sent
//! again one row at a time: the deadlock undid only the batch's statement (its savepoint, or
//! the transaction of its own). Forced deterministically: the other transaction waits on ours
//! with a `deadlock_timeout` longer than ours, so ours detects the cycle and is the victim.

#![cfg(feature = "postgres")]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use sqlx::{Connection, PgPool};
use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pgdr_plans", get_or_create(code))]
struct Plan {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "unset".to_string())]
    code: String,
    #[factory(default = "mine".to_string())]
    title: String,
}

const SCHEMA: &str = "CREATE TABLE pgdr_plans (id BIGSERIAL PRIMARY KEY, \
    code VARCHAR(50) NOT NULL UNIQUE, title VARCHAR(50) NOT NULL)";

fn next_code(codes: &[&str]) -> impl Fn(&mut Plan) + Send + Sync + 'static {
    let codes = Mutex::new(codes.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    move |p: &mut Plan| p.code = codes.lock().unwrap().remove(0)
}

/// Waits (bounded) until a backend waits for the transaction of `other` (ours, its INSERT
/// waiting for the other's key `b`; no other test's backend can wait for it).
async fn until_our_insert_waits(pool: &PgPool, other: i32) {
    for _ in 0..600 {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks w JOIN pg_locks h ON h.transactionid = w.transactionid \
             WHERE h.pid = $1 AND h.granted AND w.pid <> $1 AND NOT w.granted",
        )
        .bind(other)
        .fetch_one(pool)
        .await
        .unwrap();
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("our INSERT never waited");
}

/// Runs `op` against another transaction that holds plan `b`; once `op`'s INSERT of plans
/// (`a`, `b`) waits, the other inserts `a`: a deadlock, ours the victim (the other's
/// `deadlock_timeout` is 20 s, ours the server's 1 s). The other then ends as `end` says
/// (`ROLLBACK` or `COMMIT`). Returns `op`'s result.
async fn against_deadlock<T: Send + 'static>(
    pool: &PgPool,
    end: &str,
    op: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
    let mut other = pool.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *other)
        .await
        .unwrap();
    sqlx::raw_sql(
        "SET deadlock_timeout = '20s'; BEGIN; \
         INSERT INTO pgdr_plans (code, title) VALUES ('b', 'other')",
    )
    .execute(&mut *other)
    .await
    .unwrap();
    let task = tokio::spawn(op);
    until_our_insert_waits(pool, pid).await;
    // Waits for ours until ours is rolled back (the deadlock).
    common::bounded(
        sqlx::query("INSERT INTO pgdr_plans (code, title) VALUES ('a', 'other')")
            .execute(&mut *other),
    )
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "{end}; RESET deadlock_timeout"
    )))
    .execute(&mut *other)
    .await
    .unwrap();
    common::bounded(task).await.unwrap()
}

/// The plans as a second connection sees them: (id, code, title) by code.
async fn plans(pool: &PgPool) -> Vec<(i64, String, String)> {
    sqlx::query_as("SELECT id, code, title FROM pgdr_plans ORDER BY code")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Asserts that `rows` are the stored rows of codes `a` and `b`, in that order, with
/// `created` telling whether each was this batch's.
fn assert_stored(rows: &[(Plan, bool)], stored: &[(i64, String, String)], created: bool) {
    assert_eq!(stored.len(), 2, "each code stored once: {stored:?}");
    let got: Vec<_> = rows
        .iter()
        .map(|(p, c)| ((p.id, p.code.clone(), p.title.clone()), *c))
        .collect();
    let want: Vec<_> = stored.iter().map(|s| (s.clone(), created)).collect();
    assert_eq!(got, want, "the batch returns the stored rows");
}

/// Through a pool: the batch runs in a transaction of its own; after the deadlock it is sent
/// again and inserts both plans once the other rolls back.
#[tokio::test]
async fn goc_batch_deadlock_is_retried_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("goc_pgdr_pool", 4).await;
        let p = pool.clone();
        let result = against_deadlock(&pool, "ROLLBACK", async move {
            Plan::factory()
                .after_build(next_code(&["a", "b"]))
                .with_session(&p)
                .get_or_create_batch(2)
                .await
        })
        .await;
        let rows = result.expect("the batch is sent again after the deadlock");
        let stored = plans(&pool).await;
        assert_stored(&rows, &stored, true);
        assert!(stored.iter().all(|s| s.2 == "mine"), "{stored:?}");
    })
    .await;
}

/// The same, the other committing: the batch sent again finds the other's rows.
#[tokio::test]
async fn goc_batch_deadlock_then_other_commits_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("goc_pgdr_commit", 4).await;
        let p = pool.clone();
        let result = against_deadlock(&pool, "COMMIT", async move {
            Plan::factory()
                .after_build(next_code(&["a", "b"]))
                .with_session(&p)
                .get_or_create_batch(2)
                .await
        })
        .await;
        let rows = result.expect("the batch finds the other's rows after the deadlock");
        let stored = plans(&pool).await;
        assert_stored(&rows, &stored, false);
        assert!(stored.iter().all(|s| s.2 == "other"), "{stored:?}");
    })
    .await;
}

/// In the caller's transaction, after a write of the caller's: PostgreSQL rolls back only the
/// batch's savepoint, so the batch is sent again there; the caller's transaction goes on and
/// commits its row and the batch's.
#[tokio::test]
async fn goc_batch_deadlock_in_caller_transaction_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("goc_pgdr_caller", 4).await;
        let p = pool.clone();
        let result = against_deadlock(&pool, "ROLLBACK", async move {
            let mut conn = p.acquire().await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("INSERT INTO pgdr_plans (code, title) VALUES ('caller', 'x')")
                .execute(&mut *tx)
                .await
                .unwrap();
            let result = Plan::factory()
                .after_build(next_code(&["a", "b"]))
                .with_session(&mut *tx)
                .get_or_create_batch(2)
                .await;
            let next = sqlx::query("INSERT INTO pgdr_plans (code, title) VALUES ('after', 'x')")
                .execute(&mut *tx)
                .await;
            let commit = tx.commit().await;
            (result, next.map(drop), commit)
        })
        .await;
        let (result, next, commit) = result;
        let rows = result.expect("the batch is sent again in the caller's transaction");
        next.expect("the caller's transaction goes on");
        commit.expect("the caller commits");
        let stored = plans(&pool).await;
        let codes: Vec<&str> = stored.iter().map(|s| s.1.as_str()).collect();
        assert_eq!(codes, ["a", "after", "b", "caller"], "{stored:?}");
        let ours: Vec<_> = stored
            .iter()
            .filter(|s| s.1 == "a" || s.1 == "b")
            .cloned()
            .collect();
        assert_stored(&rows, &ours, true);
    })
    .await;
}

/// The schema check on the table these tests create.
#[tokio::test]
async fn check_every_model_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("goc_pgdr_check").await;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
        check_clean!(&mut conn, common::Kind::Postgres, Plan);
    })
    .await;
}
