//! A caller that opened a transaction with a raw `BEGIN` on a bare connection (sqlx counts no
//! transaction there) and whose single-row `get_or_create` is a deadlock's victim: the
//! operation fails with the deadlock, and nothing is committed behind the caller's back. The
//! deadlocked INSERT is sent again only on a pool's own connection in autocommit
//! (`goc_deadlock_restart.rs`, `goc_single_rows_deadlock_in_autocommit_mariadb`), never here,
//! where the deadlock ended the caller's whole transaction.
#![cfg(any(feature = "mysql", feature = "postgres"))]

mod common;

use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "dr_plans", get_or_create(code))]
struct Plan {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "unset".to_string())]
    code: String,
    #[factory(default = "mine".to_string())]
    title: String,
}

#[cfg(feature = "mysql")]
mod mariadb {
    use super::*;

    const SCHEMA: &str = "DROP TABLE IF EXISTS heavy; DROP TABLE IF EXISTS dr_plans; \
    CREATE TABLE heavy (id BIGINT AUTO_INCREMENT PRIMARY KEY, x INT NOT NULL); \
    CREATE TABLE dr_plans (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(50) NOT NULL UNIQUE, title VARCHAR(50) NOT NULL)";

    /// The caller: raw `BEGIN; INSERT 'b'` on a bare connection, then get_or_create('a'),
    /// then ROLLBACK. A heavier transaction holds 'a' and then inserts 'b': deadlock, the
    /// caller's transaction is the victim (MariaDB rolls all of it back).
    #[tokio::test]
    async fn raw_begin_deadlock_fails_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("raw_begin_dl", 4).await;
            sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
            let mut caller = pool.acquire().await.unwrap().detach();
            let caller_id: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
                .fetch_one(&mut caller)
                .await
                .unwrap();
            sqlx::raw_sql("BEGIN; INSERT INTO dr_plans (code, title) VALUES ('b', 'caller')")
                .execute(&mut caller)
                .await
                .unwrap();
            let mut other = pool.acquire().await.unwrap();
            sqlx::raw_sql(
                "SET SESSION innodb_lock_wait_timeout = 20; BEGIN; \
                 INSERT INTO heavy (x) SELECT seq FROM seq_1_to_300; \
                 INSERT INTO dr_plans (code, title) VALUES ('a', 'other')",
            )
            .execute(&mut *other)
            .await
            .unwrap();
            let task = tokio::spawn(async move {
                let r = Plan::factory()
                    .code("a")
                    .with_session(&mut caller)
                    .get_or_create()
                    .await;
                (r, caller)
            });
            common::until_running_mariadb(&pool, caller_id, false, "INSERT INTO `dr_plans`").await;
            // Deadlock: ours (lighter) is the victim, its whole transaction rolled back.
            sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('b', 'other')")
                .execute(&mut *other)
                .await
                .unwrap();
            sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
            let (result, mut caller) = common::bounded(task).await.unwrap();
            let e = result
                .as_ref()
                .expect_err("the deadlock ended the caller's transaction");
            assert!(e.to_string().contains("Deadlock found"), "{e}");
            // The caller believes it is in its transaction and rolls it back.
            sqlx::query("ROLLBACK").execute(&mut caller).await.unwrap();
            let stored: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, code, title FROM dr_plans ORDER BY code")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            assert!(
                stored.is_empty(),
                "a row stays committed after the caller rolled back its transaction: {stored:?}"
            );
        })
        .await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    const SCHEMA: &str = "DROP TABLE IF EXISTS dr_plans; \
    CREATE TABLE dr_plans (id BIGSERIAL PRIMARY KEY, code VARCHAR(50) NOT NULL UNIQUE, title VARCHAR(50) NOT NULL)";

    /// The same on PostgreSQL: the caller's raw transaction is aborted by the deadlock.
    #[tokio::test]
    async fn raw_begin_deadlock_fails_postgres() {
        common::bounded_test(async {
            let pool = common::postgres_pool_of("raw_begin_dl", 4).await;
            sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
            let mut caller = pool.acquire().await.unwrap().detach();
            let caller_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut caller)
                .await
                .unwrap();
            sqlx::raw_sql("BEGIN; INSERT INTO dr_plans (code, title) VALUES ('b', 'caller')")
                .execute(&mut caller)
                .await
                .unwrap();
            let mut other = pool.acquire().await.unwrap();
            sqlx::raw_sql(
                "SET deadlock_timeout = '5s'; BEGIN; INSERT INTO dr_plans (code, title) VALUES ('a', 'other')",
            )
            .execute(&mut *other)
            .await
            .unwrap();
            let task = tokio::spawn(async move {
                let r = Plan::factory()
                    .code("a")
                    .with_session(&mut caller)
                    .get_or_create()
                    .await;
                (r, caller)
            });
            // Wait until the caller waits on a lock.
            for _ in 0..300 {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                )
                .bind(caller_pid)
                .fetch_one(&pool)
                .await
                .unwrap();
                if waiting > 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            // Deadlock: the caller (deadlock_timeout 1s, ours 5s) detects it and is the victim.
            sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('b', 'other')")
                .execute(&mut *other)
                .await
                .expect("the caller is the deadlock's victim, not the other");
            sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
            let (result, mut caller) = common::bounded(task).await.unwrap();
            let e = result.expect_err("the deadlock aborted the caller's transaction");
            assert!(e.to_string().contains("deadlock detected"), "the error names the deadlock: {e}");
            sqlx::query("ROLLBACK").execute(&mut caller).await.unwrap();
            sqlx::query("SELECT 1").execute(&mut caller).await.unwrap();
            let stored: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, code, title FROM dr_plans ORDER BY code")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            assert!(stored.is_empty(), "nothing of the caller's transaction: {stored:?}");
        })
        .await;
    }
}
