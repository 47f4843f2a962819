//! A get_or_create batch picked as a deadlock's victim is sent again: on MariaDB (1213, the
//! whole transaction rolled back) when it is the first write of a transaction of the
//! library's own; on PostgreSQL (40P01, back to its savepoint) in any transaction. Each
//! deadlock is forced deterministically: the other transaction holds one key and, once ours
//! waits for it, inserts the key ours holds, arranged so that ours is the victim.

#![cfg(any(feature = "mysql", feature = "postgres"))]

mod common;

use std::sync::Mutex;
use std::time::Duration;

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

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "dr_members", get_or_create(plan_id, handle))]
struct Member {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Plan)]
    plan_id: i64,
    #[factory(default = "unset".to_string())]
    handle: String,
}

/// A member keyed by its handle alone: its plan is created in the INSERT of the new members,
/// under a savepoint of theirs. The plans' deadlock, the first write, is begun again: the
/// batch must then succeed, or fail saying so with nothing stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "dr_members", get_or_create(handle))]
struct Handle {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Plan)]
    plan_id: i64,
    #[factory(default = "unset".to_string())]
    handle: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "dr_plans", get_or_create(code))]
struct SeqPlan {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "unset".to_string())]
    code: String,
    #[factory(sequence = |n| format!("seq-{n}"))]
    title: String,
}

fn next_code(codes: &[&str]) -> impl Fn(&mut Plan) + Send + Sync + 'static {
    let codes = Mutex::new(codes.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    move |p: &mut Plan| p.code = codes.lock().unwrap().remove(0)
}

/// The plans as a second connection sees them: (id, code, title) by code.
macro_rules! plans {
    ($pool:expr) => {
        sqlx::query_as::<_, (i64, String, String)>(
            "SELECT id, code, title FROM dr_plans ORDER BY code",
        )
        .fetch_all($pool)
        .await
        .unwrap()
    };
}

/// The members as a second connection sees them: (id, plan_id, handle) by handle.
macro_rules! members {
    ($pool:expr) => {
        sqlx::query_as::<_, (i64, i64, String)>(
            "SELECT id, plan_id, handle FROM dr_members ORDER BY handle",
        )
        .fetch_all($pool)
        .await
        .unwrap()
    };
}

#[cfg(feature = "mysql")]
mod mariadb {
    use super::*;
    use sqlx::MySqlPool;

    const SCHEMA: &str = "CREATE TABLE heavy (id BIGINT AUTO_INCREMENT PRIMARY KEY, x INT NOT NULL); \
    CREATE TABLE dr_plans (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(50) NOT NULL UNIQUE, title VARCHAR(50) NOT NULL); \
    CREATE TABLE dr_members (id BIGINT AUTO_INCREMENT PRIMARY KEY, plan_id BIGINT NOT NULL REFERENCES dr_plans(id), \
      handle VARCHAR(50) NOT NULL, UNIQUE (plan_id, handle))";

    /// Runs `op` against a heavier transaction that holds plan `b`; once `op`'s INSERT of plans
    /// (`a`, `b`) waits, the other inserts `a`: a deadlock, ours the victim. The other then rolls
    /// back. Returns `op`'s result.
    async fn against_deadlock<T: Send + 'static>(
        pool: &MySqlPool,
        op: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
        let mut other = pool.acquire().await.unwrap();
        let thread: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
            .fetch_one(&mut *other)
            .await
            .unwrap();
        sqlx::raw_sql(
            "SET SESSION innodb_lock_wait_timeout = 20; BEGIN; \
        INSERT INTO heavy (x) SELECT seq FROM seq_1_to_300; \
        INSERT INTO dr_plans (code, title) VALUES ('b', 'other')",
        )
        .execute(&mut *other)
        .await
        .unwrap();
        let task = tokio::spawn(op);
        common::until_running_mariadb(pool, thread, true, "INSERT INTO `dr_plans`").await;
        sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('a', 'other')")
            .execute(&mut *other)
            .await
            .unwrap();
        sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
        common::bounded(task).await.unwrap()
    }

    /// A batch of two `$model`s, handles `h1` and `h2`, whose new plans `a` and `b` (their
    /// parents) meet the deadlock; its result.
    macro_rules! parents_deadlock {
        ($model:ident, $pool:expr) => {{
            let p = $pool.clone();
            against_deadlock(&$pool, async move {
                let handles = Mutex::new(vec!["h1".to_string(), "h2".to_string()]);
                $model::factory()
                    .plan_id_with(|p| p.after_build(next_code(&["a", "b"])))
                    .after_build(move |m: &mut $model| m.handle = handles.lock().unwrap().remove(0))
                    .with_session(&p)
                    .get_or_create_batch(2)
                    .await
            })
            .await
        }};
    }

    /// The plans' batch alone: sent again after the deadlock, both stored once.
    #[tokio::test]
    async fn goc_batch_deadlock_is_retried_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_plain", 4).await;
            let p = pool.clone();
            let result = against_deadlock(&pool, async move {
                Plan::factory()
                    .after_build(next_code(&["a", "b"]))
                    .with_session(&p)
                    .get_or_create_batch(2)
                    .await
            })
            .await;
            let rows = result.expect("the batch is sent again after the deadlock");
            let stored = plans!(&pool);
            assert_eq!(stored.len(), 2, "{stored:?}");
            let codes: Vec<_> = rows.iter().map(|(p, c)| (p.code.clone(), *c)).collect();
            assert_eq!(codes, [("a".to_string(), true), ("b".to_string(), true)]);
            for (p, _) in &rows {
                assert!(
                    stored.contains(&(p.id, p.code.clone(), p.title.clone())),
                    "{p:?} {stored:?}"
                );
            }
        })
        .await;
    }

    /// The same batch with a repeated key (`a`, `b`, `a`): it runs in a transaction of the
    /// library's own, so the deadlock is begun again.
    #[tokio::test]
    async fn goc_batch_with_repeat_deadlock_is_retried_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_repeat", 4).await;
            let p = pool.clone();
            let result = against_deadlock(&pool, async move {
                Plan::factory()
                    .after_build(next_code(&["a", "b", "a"]))
                    .with_session(&p)
                    .get_or_create_batch(3)
                    .await
            })
            .await;
            let rows = result.expect("the batch is sent again after the deadlock");
            assert_eq!(plans!(&pool).len(), 2);
            assert_eq!(rows.len(), 3);
        })
        .await;
    }

    /// Members whose plans (their key's parents) deadlock: the plans are the first write of the
    /// transaction, sent again; the members are then created, or the error is the deadlock and
    /// nothing stays.
    #[tokio::test]
    async fn goc_child_parents_deadlock_retry_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_child", 4).await;
            let result = parents_deadlock!(Member, pool);
            let stored = plans!(&pool);
            let members = members!(&pool);
            match result {
                Ok(rows) => {
                    assert_eq!(stored.len(), 2, "{stored:?}");
                    assert_eq!(members.len(), 2, "{members:?}");
                    for (m, created) in &rows {
                        assert!(created);
                        assert!(members.contains(&(m.id, m.plan_id, m.handle.clone())), "{m:?} {members:?}");
                    }
                }
                Err(e) => {
                    panic!("the batch failed after its parents' deadlock: {e}\nplans {stored:?}\nmembers {members:?}");
                }
            }
        })
        .await;
    }

    /// Two tasks through one pool, each a get_or_create batch of the same two new codes in
    /// opposite orders (no repeated key, fits one statement): every batch must return the stored
    /// row of each code, as the library does for a batch with a repeated key.
    #[tokio::test]
    async fn goc_batches_opposite_orders_no_deadlock_error_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_orders", 4).await;
            sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
            let mut failures = Vec::new();
            for round in 0..300 {
                let (a, b) = (format!("a{round}"), format!("b{round}"));
                let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
                let tasks: Vec<_> = [[a.clone(), b.clone()], [b.clone(), a.clone()]]
                    .into_iter()
                    .map(|codes| {
                        let (pool, start) = (pool.clone(), start.clone());
                        tokio::spawn(async move {
                            let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
                            let factory = Plan::factory().after_build(next_code(&codes));
                            start.wait().await;
                            factory.with_session(&pool).get_or_create_batch(2).await
                        })
                    })
                    .collect();
                for task in tasks {
                    if let Err(e) = common::bounded(task).await.unwrap() {
                        failures.push(format!("round {round}: {e}"));
                    }
                }
            }
            let stored = plans!(&pool);
            assert_eq!(stored.len(), 600, "each code stored once");
            assert!(
                failures.is_empty(),
                "{} of 600 batches failed: {:?}",
                failures.len(),
                failures.first()
            );
        })
        .await;
    }

    /// The same deadlock in the caller's transaction: not begun again; the error says the
    /// transaction ended, the caller's earlier row is not committed, and the caller's next
    /// statement does not autocommit.
    #[tokio::test]
    async fn goc_batch_deadlock_in_caller_transaction_mariadb() {
        use sqlx::Connection;
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_caller", 4).await;
            let p = pool.clone();
            let result = against_deadlock(&pool, async move {
                let mut conn = p.acquire().await.unwrap();
                let mut tx = conn.begin().await.unwrap();
                sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('caller', 'x')")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let result = Plan::factory()
                    .after_build(next_code(&["a", "b"]))
                    .with_session(&mut *tx)
                    .get_or_create_batch(2)
                    .await;
                let next = sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('after', 'x')")
                    .execute(&mut *tx)
                    .await;
                drop(tx);
                (result.map(|_| ()), next.is_ok())
            })
            .await;
            let (result, next_ok) = result;
            let e = result.expect_err("the caller's transaction deadlocked");
            let text = e.to_string();
            assert!(text.contains("MariaDB error 1213"), "{text}");
            assert!(text.contains("ended the whole transaction"), "{text}");
            // Nothing was sent again into a transaction the database had ended.
            assert!(!text.contains("sent again"), "{text}");
            assert!(
                !next_ok,
                "the caller's next write must fail, not autocommit"
            );
            assert_eq!(
                plans!(&pool),
                vec![],
                "nothing of the caller's transaction stays"
            );
        })
        .await;
    }

    /// The deadlocked batch with a sequence column and an after-create hook: the sequence values
    /// sent again are the ones drawn (none repeated by the next batch), the hook runs once.
    #[tokio::test]
    async fn goc_batch_deadlock_sequence_and_hook_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_seq", 4).await;
            let p = pool.clone();
            let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let r = runs.clone();
            let result = against_deadlock(&pool, async move {
                let codes = Mutex::new(vec!["a".to_string(), "b".to_string()]);
                SeqPlan::factory()
                    .after_build(move |p: &mut SeqPlan| p.code = codes.lock().unwrap().remove(0))
                    .with_session(&p)
                    .after_create(move |_, _| {
                        r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Box::pin(async { Ok(()) })
                    })
                    .get_or_create_batch(2)
                    .await
            })
            .await;
            let rows = result.expect("sent again after the deadlock");
            assert_eq!(
                runs.load(std::sync::atomic::Ordering::SeqCst),
                2,
                "the hook ran once per row"
            );
            let more = SeqPlan::factory()
                .code("c".to_string())
                .with_session(&pool)
                .create()
                .await
                .unwrap();
            let stored = plans!(&pool);
            let mut titles: Vec<_> = stored.iter().map(|(_, _, t)| t.clone()).collect();
            titles.sort();
            titles.dedup();
            assert_eq!(titles.len(), 3, "no sequence value repeated: {stored:?}");
            for row in rows.iter().map(|(p, _)| p).chain([&more]) {
                assert!(
                    stored.contains(&(row.id, row.code.clone(), row.title.clone())),
                    "{row:?} {stored:?}"
                );
            }
        })
        .await;
    }

    /// The batch cancelled while its second attempt waits (the other transaction holds `a` after
    /// the deadlock): once the other rolls back, nothing of the batch is stored, and the pool's
    /// connections work.
    #[tokio::test]
    async fn goc_batch_cancelled_during_retry_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_cancel", 4).await;
            sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
            let mut other = pool.acquire().await.unwrap();
            let thread: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
                .fetch_one(&mut *other)
                .await
                .unwrap();
            sqlx::raw_sql(
                "SET SESSION innodb_lock_wait_timeout = 20; BEGIN; \
                INSERT INTO heavy (x) SELECT seq FROM seq_1_to_300; \
                INSERT INTO dr_plans (code, title) VALUES ('b', 'other')",
            )
            .execute(&mut *other)
            .await
            .unwrap();
            let p = pool.clone();
            let task = tokio::spawn(async move {
                Plan::factory()
                    .after_build(next_code(&["a", "b"]))
                    .with_session(&p)
                    .get_or_create_batch(2)
                    .await
            });
            common::until_running_mariadb(&pool, thread, true, "INSERT INTO `dr_plans`").await;
            sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('a', 'other')")
                .execute(&mut *other)
                .await
                .unwrap();
            // Ours was rolled back; its second attempt now waits for `a`.
            common::until_running_mariadb(&pool, thread, true, "INSERT INTO `dr_plans`").await;
            task.abort();
            assert!(common::bounded(task).await.unwrap_err().is_cancelled());
            sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
            drop(other);
            // The server may still run the cancelled INSERT: wait until nothing runs.
            for _ in 0..250 {
                let running: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO `dr_plans`%'",
                )
                .fetch_one(&pool)
                .await
                .unwrap();
                if running == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Every connection of the pool used again (the cancelled one's rollback sent).
            let mut conns = Vec::new();
            for _ in 0..4 {
                let mut c = common::bounded(pool.acquire()).await.unwrap();
                sqlx::query("SELECT 1").execute(&mut *c).await.unwrap();
                conns.push(c);
            }
            drop(conns);
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(plans!(&pool), vec![], "nothing of the cancelled batch stays");
            let rows = Plan::factory()
                .after_build(next_code(&["a", "b"]))
                .with_session(&pool)
                .get_or_create_batch(2)
                .await
                .unwrap();
            assert!(rows.iter().all(|(_, created)| *created));
            assert_eq!(plans!(&pool).len(), 2);
        })
        .await;
    }

    #[tokio::test]
    async fn goc_parents_in_savepoint_deadlock_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_handle", 4).await;
            let result = parents_deadlock!(Handle, pool);
            let stored = plans!(&pool);
            let members = members!(&pool);
            // Not begun again under the members' savepoint: the deadlock is the error, nothing stays.
            let rows = match result {
                Ok(rows) => rows,
                Err(e) => {
                    let text = e.to_string();
                    eprintln!("the deadlock stands: {text}");
                    assert!(text.contains("(MariaDB error 1213"), "{text}");
                    assert_eq!((stored, members), (vec![], vec![]), "nothing stays: {text}");
                    return;
                }
            };
            assert_eq!(stored.len(), 2, "{stored:?}");
            assert_eq!(members.len(), 2, "{members:?}");
            for (m, _) in &rows {
                assert!(
                    members.contains(&(m.id, m.plan_id, m.handle.clone())),
                    "{m:?} {members:?}"
                );
            }
        })
        .await;
    }

    /// Two single-row `get_or_create`s of one new key through a pool, each one statement in
    /// autocommit, both waiting on a third transaction's row of that key: when it rolls back,
    /// InnoDB grants both their shared locks on the key and each waits for the other's
    /// exclusive one, a deadlock (found by the randomized invariants, seed 7036364744065532707).
    /// The victim's statement alone was undone, so it is sent again: it finds the winner's row.
    #[tokio::test]
    async fn goc_single_rows_deadlock_in_autocommit_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_autocommit", 4).await;
            sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
            let mut other = pool.acquire().await.unwrap();
            let thread: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
                .fetch_one(&mut *other)
                .await
                .unwrap();
            sqlx::raw_sql("BEGIN; INSERT INTO dr_plans (code, title) VALUES ('k', 'other')")
                .execute(&mut *other)
                .await
                .unwrap();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        Plan::factory()
                            .code("k")
                            .with_session(&pool)
                            .get_or_create()
                            .await
                    })
                })
                .collect();
            // Both INSERTs wait for the other transaction's `k`.
            let mut waiting = 0;
            for _ in 0..500 {
                waiting = sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                     WHERE ID <> ? AND INFO LIKE 'INSERT INTO `dr_plans`%'",
                )
                .bind(thread)
                .fetch_one(&pool)
                .await
                .unwrap();
                if waiting == 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(waiting, 2, "both INSERTs wait for `k`");
            tokio::time::sleep(Duration::from_millis(200)).await;
            sqlx::query("ROLLBACK").execute(&mut *other).await.unwrap();
            let mut results = Vec::new();
            for task in tasks {
                results.push(common::bounded(task).await.unwrap());
            }
            let rows: Vec<(Plan, bool)> = results
                .into_iter()
                .map(|r| r.expect("each get_or_create returns the row of `k`"))
                .collect();
            let stored = plans!(&pool);
            assert_eq!(stored.len(), 1, "{stored:?}");
            assert_eq!(stored[0].1, "k");
            for (plan, _) in &rows {
                assert_eq!(plan.id, stored[0].0, "{rows:?}");
            }
            let inserted: Vec<bool> = rows.iter().map(|(_, inserted)| *inserted).collect();
            assert!(
                inserted == [true, false] || inserted == [false, true],
                "{inserted:?}"
            );
        })
        .await;
    }

    /// A caller's raw `BEGIN; INSERT 'b'` on a bare connection (sqlx counts no transaction),
    /// then its single-row `get_or_create('a')` waits for a heavier transaction's `a`, which
    /// then inserts `b`: a deadlock, and MariaDB rolls the caller's whole transaction back. The
    /// operation fails with the deadlock, and nothing is committed behind the caller's back
    /// (the autocommit resend above is for a pool's own connection only).
    #[tokio::test]
    async fn raw_begin_deadlock_fails_mariadb() {
        common::bounded_test(async {
            let pool = common::mariadb_pool_of("goc_dr_raw_begin", 4).await;
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

    /// The schema check on the tables these tests create.
    #[tokio::test]
    async fn check_every_model_mariadb() {
        common::bounded_test(async {
            let mut conn = common::mariadb("goc_dr_check").await;
            sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
            check_clean!(
                &mut conn,
                common::Kind::MariaDb,
                Plan,
                Member,
                SeqPlan,
                Handle
            );
        })
        .await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use sqlx::{Connection, PgPool};

    const SCHEMA: &str = "CREATE TABLE dr_plans (id BIGSERIAL PRIMARY KEY, \
    code VARCHAR(50) NOT NULL UNIQUE, title VARCHAR(50) NOT NULL); \
    CREATE TABLE dr_members (id BIGSERIAL PRIMARY KEY, plan_id BIGINT NOT NULL REFERENCES dr_plans(id), \
    handle VARCHAR(50) NOT NULL, UNIQUE (plan_id, handle))";

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
         INSERT INTO dr_plans (code, title) VALUES ('b', 'other')",
        )
        .execute(&mut *other)
        .await
        .unwrap();
        let task = tokio::spawn(op);
        until_our_insert_waits(pool, pid).await;
        // Waits for ours until ours is rolled back (the deadlock).
        common::bounded(
            sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('a', 'other')")
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
    /// again. When the other ends with `end`, the batch has inserted both plans (`ROLLBACK`) or
    /// found the other's (`COMMIT`).
    async fn through_a_pool(test: &str, end: &'static str) {
        let pool = common::postgres_pool_of(test, 4).await;
        let p = pool.clone();
        let result = against_deadlock(&pool, end, async move {
            Plan::factory()
                .after_build(next_code(&["a", "b"]))
                .with_session(&p)
                .get_or_create_batch(2)
                .await
        })
        .await;
        let rows = result.expect("the batch is sent again after the deadlock");
        let stored = plans!(&pool);
        let ours = end == "ROLLBACK";
        assert_stored(&rows, &stored, ours);
        let title = if ours { "mine" } else { "other" };
        assert!(stored.iter().all(|s| s.2 == title), "{stored:?}");
    }

    #[tokio::test]
    async fn goc_batch_deadlock_is_retried_postgres() {
        common::bounded_test(through_a_pool("goc_pgdr_pool", "ROLLBACK")).await;
    }

    #[tokio::test]
    async fn goc_batch_deadlock_then_other_commits_postgres() {
        common::bounded_test(through_a_pool("goc_pgdr_commit", "COMMIT")).await;
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
                sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('caller', 'x')")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let result = Plan::factory()
                    .after_build(next_code(&["a", "b"]))
                    .with_session(&mut *tx)
                    .get_or_create_batch(2)
                    .await;
                let next = sqlx::query("INSERT INTO dr_plans (code, title) VALUES ('after', 'x')")
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
            let stored = plans!(&pool);
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

    /// A caller's raw `BEGIN` on a bare connection (sqlx counts no transaction), then a
    /// single-row `get_or_create` that is a deadlock's victim: the operation fails with the
    /// deadlock (40P01, not a 25P02 of a statement sent after it), nothing is stored, and the
    /// connection works after the caller's `ROLLBACK`.
    #[tokio::test]
    async fn raw_begin_deadlock_fails_postgres() {
        common::bounded_test(async {
            let pool = common::postgres_pool_of("goc_dr_raw_begin", 4).await;
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

    /// The schema check on the tables these tests create.
    #[tokio::test]
    async fn check_every_model_postgres() {
        common::bounded_test(async {
            let mut conn = common::postgres("goc_pgdr_check").await;
            sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
            check_clean!(
                &mut conn,
                common::Kind::Postgres,
                Plan,
                Member,
                SeqPlan,
                Handle
            );
        })
        .await;
    }
}
